//! Pull request creation against the GitHub API peer (Prism with `--errors`), for a session of 10
//! commits, against a baseline in the same run: the same request as a raw HTTP/1.1 POST on a
//! keep-alive connection. The difference is what octocrab, our retry wrapper and response
//! decoding cost; Prism's own validation dominates both.
//!
//!     bash tests/setup/npm-github-peer.sh
//!     cargo bench -p studio-forge --bench forge

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::Instant;

use studio_core::{CommitInfo, SecretToken};
use studio_forge::{Forge, GithubRepo, pull_request_body};
use studio_testkit::bench::{self, Stats, ms};
use studio_testkit::http::RawClient;
use studio_testkit::prism::PrismPeer;

const WARMUP: usize = 20;
const SAMPLES: usize = 300;
const HEAD: &str = "design/studio-0123456789abcdef";

fn main() {
    let runtime = bench::runtime(Some(2));
    let peer = PrismPeer::start().unwrap();
    runtime.block_on(async {
        let commits: Vec<CommitInfo> = (0..10)
            .map(|i| CommitInfo {
                hash: format!("{:040x}", 0xfeed_0000_u64 + i),
                message: format!("AI: Updated Button radius step {i} - 2026-11-22 14:3{i}"),
                timestamp: time::OffsetDateTime::UNIX_EPOCH,
            })
            .collect();
        let body = pull_request_body("Rounder buttons, as discussed.", &commits);
        let forge = Forge::new(&peer.url(), SecretToken::new("ghp_benchToken")).unwrap();
        let repo: GithubRepo = "octo-org/hello".parse().unwrap();
        let raw_body = serde_json::json!({"title": "Rounder buttons", "head": HEAD, "base": "main", "body": body}).to_string();
        let mut raw = RawClient::connect(&peer.url()).await.unwrap();
        let auth = [("Authorization", "Bearer ghp_benchToken")];

        let mut forge_times = Vec::with_capacity(SAMPLES);
        let mut raw_times = Vec::with_capacity(SAMPLES);
        // Interleaved, so that noise from other work on the machine hits both sides alike.
        for i in 0..WARMUP + SAMPLES {
            let start = Instant::now();
            let pr = forge.open_pull_request(&repo, HEAD, "main", "Rounder buttons", &body).await.unwrap();
            let forge_time = start.elapsed();
            assert_eq!(pr.number, 1347);

            let start = Instant::now();
            let answer = raw.request("POST", "/repos/octo-org/hello/pulls", &auth, Some(&raw_body)).await.unwrap();
            let raw_time = start.elapsed();
            assert_eq!(answer.status(), 201, "{answer:?}");

            if i >= WARMUP {
                forge_times.push(forge_time);
                raw_times.push(raw_time);
            }
        }
        let (forge_stats, raw_stats) = (Stats::of(&forge_times), Stats::of(&raw_times));
        let (f50, f99) = (forge_stats.p50, forge_stats.p99);
        let (r50, r99) = (raw_stats.p50, raw_stats.p99);
        println!("studio-forge bench: open pull request (10-commit session) against Prism --errors, {SAMPLES} samples");
        println!("  Forge::open_pull_request   p50 {:7.2} ms   p99 {:7.2} ms", ms(f50), ms(f99));
        println!("  raw HTTP POST (baseline)   p50 {:7.2} ms   p99 {:7.2} ms", ms(r50), ms(r99));
        println!("  ratio forge/raw            p50 {:7.2}x     p99 {:7.2}x", ms(f50) / ms(r50), ms(f99) / ms(r99));
    });
}
