//! Pull request creation against the GitHub API peer (Prism with `--errors`), for a session of 10
//! commits, against a baseline in the same run: the same request as a raw HTTP/1.1 POST on a
//! keep-alive connection. The difference is what octocrab, our retry wrapper and response
//! decoding cost; Prism's own validation dominates both.
//!
//!     bash tests/setup/npm-github-peer.sh
//!     cargo bench -p studio-forge --bench forge

#![allow(clippy::unwrap_used, clippy::print_stderr)]

#[path = "../tests/support/http.rs"]
mod http;
#[path = "../tests/support/prism.rs"]
mod prism;

use std::time::{Duration, Instant};

use studio_core::{CommitInfo, SecretToken};
use studio_forge::{Forge, GithubRepo, pull_request_body};

const WARMUP: usize = 20;
const SAMPLES: usize = 300;
const HEAD: &str = "design/studio-0123456789abcdef";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let peer = prism::PrismPeer::start().unwrap();
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
        let mut raw = http::RawClient::connect(&peer.url()).await.unwrap();
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
        forge_times.sort();
        raw_times.sort();
        let (f50, f99) = (percentile(&forge_times, 0.5), percentile(&forge_times, 0.99));
        let (r50, r99) = (percentile(&raw_times, 0.5), percentile(&raw_times, 0.99));
        println!("studio-forge bench: open pull request (10-commit session) against Prism --errors, {SAMPLES} samples");
        println!("  Forge::open_pull_request   p50 {:7.2} ms   p99 {:7.2} ms", ms(f50), ms(f99));
        println!("  raw HTTP POST (baseline)   p50 {:7.2} ms   p99 {:7.2} ms", ms(r50), ms(r99));
        println!("  ratio forge/raw            p50 {:7.2}x     p99 {:7.2}x", ms(f50) / ms(r50), ms(f99) / ms(r99));
    });
}
