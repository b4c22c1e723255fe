//! `cargo bench -p studio-git --bench git`
//!
//! On the 10,000-file / 5,000-commit repository, prints p50/p99 of:
//! - creating a session checkout from a warm mirror, with a prepared spare and cold,
//! - one-file write + commit,
//! - rollback by one step,
//!
//! each beside the git CLI doing the same job (and `git clone` of the repository for scale),
//! measured in the same process on the same machine.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use studio_core::CommitPattern;
use studio_git::{GitWorkspace, RollbackTarget};
use support::{big_file_path, big_remote, sandbox};

const CHECKOUTS: usize = 12;
const EDITS: usize = 200;
const CLONES: usize = 8;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let remote = big_remote();
    let url = remote.to_str().expect("utf-8 path").to_owned();
    let scratch = tempfile::tempdir().expect("temp dir");
    println!(
        "studio-git benchmark: {} files, {} commits ({}); load average {}",
        support::FILES,
        support::COMMITS,
        remote.display(),
        load_average()
    );

    let clone = time_n(CLONES, |i| {
        let target = scratch.path().join(format!("clone-{i}"));
        let started = Instant::now();
        run_git(
            scratch.path(),
            &["clone", "--quiet", &url, target.to_str().expect("utf-8")],
        );
        let elapsed = started.elapsed();
        let _ = std::fs::remove_dir_all(&target);
        elapsed
    });
    report("baseline: git clone (local)", &clone, None);

    // Session checkouts from a warm mirror.
    let mut config = support::config(&scratch.path().join("data-spare"));
    config.spare_checkouts = true;
    let ws = GitWorkspace::new(config);
    ws.warm_up(&url, None).await.expect("warm up");
    let mut with_spare = Vec::new();
    for i in 0..CHECKOUTS {
        // Not timed: make sure the spare is ready, as it is when sessions are not back to back.
        ws.warm_up(&url, None).await.expect("warm up");
        let id = sandbox(i as u8);
        let started = Instant::now();
        let session = ws
            .open_session(&url, None, &id)
            .await
            .expect("open session");
        with_spare.push(started.elapsed());
        ws.remove_session(&id, &session.info().checkout)
            .await
            .expect("remove");
    }
    let mirror = first_mirror(&scratch.path().join("data-spare"));
    let worktree_add = time_n(CLONES, |i| {
        let target = scratch.path().join(format!("wt-{i}"));
        let started = Instant::now();
        run_git(
            &mirror,
            &[
                "worktree",
                "add",
                "--quiet",
                "--detach",
                target.to_str().expect("utf-8"),
                "refs/remotes/origin/main",
            ],
        );
        let elapsed = started.elapsed();
        run_git(
            &mirror,
            &[
                "worktree",
                "remove",
                "--force",
                target.to_str().expect("utf-8"),
            ],
        );
        elapsed
    });
    report(
        "session checkout, warm mirror, spare ready",
        &with_spare,
        Some(&clone),
    );

    let cold_ws = GitWorkspace::new(support::config(&scratch.path().join("data-cold")));
    cold_ws.warm_up(&url, None).await.expect("warm up");
    let mut cold = Vec::new();
    for i in 0..CHECKOUTS {
        let id = sandbox(100 + i as u8);
        let started = Instant::now();
        let session = cold_ws
            .open_session(&url, None, &id)
            .await
            .expect("open session");
        cold.push(started.elapsed());
        cold_ws
            .remove_session(&id, &session.info().checkout)
            .await
            .expect("remove");
    }
    report(
        "session checkout, warm mirror, cold (no spare)",
        &cold,
        Some(&clone),
    );
    report(
        "baseline: git worktree add (same mirror)",
        &worktree_add,
        Some(&clone),
    );

    // Edits and rollbacks in one session.
    let session = cold_ws
        .open_session(&url, None, &sandbox(250))
        .await
        .expect("open session");
    let pattern = CommitPattern::default();
    let mut writes = Vec::new();
    let mut rollbacks = Vec::new();
    for i in 0..EDITS {
        let path = big_file_path((i * 37) % support::FILES);
        let content = format!("export const Edited{i} = {i};\n");
        let started = Instant::now();
        session
            .write_file(&path, content, "bench edit", &pattern)
            .await
            .expect("write")
            .expect("commit");
        writes.push(started.elapsed());
        if i % 2 == 1 {
            let started = Instant::now();
            session
                .rollback(RollbackTarget::Steps(1))
                .await
                .expect("rollback");
            rollbacks.push(started.elapsed());
        }
    }
    let checkout = session.info().checkout.clone();
    let cli_commit = time_n(EDITS / 4, |i| {
        let path = big_file_path((i * 53) % support::FILES);
        std::fs::write(checkout.join(&path), format!("cli {i}\n")).expect("write");
        let started = Instant::now();
        run_git(&checkout, &["add", "--", &path]);
        run_git(&checkout, &["commit", "--quiet", "-m", "cli edit"]);
        started.elapsed()
    });
    let cli_reset = time_n(EDITS / 8, |_| {
        let started = Instant::now();
        run_git(&checkout, &["reset", "--quiet", "--hard", "HEAD~1"]);
        started.elapsed()
    });
    report("one-file write + commit", &writes, Some(&clone));
    report("baseline: git add + git commit", &cli_commit, Some(&clone));
    report("rollback by one step", &rollbacks, Some(&clone));
    report(
        "baseline: git reset --hard HEAD~1",
        &cli_reset,
        Some(&clone),
    );
    println!("load average at the end: {}", load_average());
}

/// The machine is shared: print how busy it was, so the numbers can be read in context.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn time_n(n: usize, mut once: impl FnMut(usize) -> Duration) -> Vec<Duration> {
    (0..n).map(&mut once).collect()
}

fn run_git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

fn first_mirror(data: &Path) -> std::path::PathBuf {
    std::fs::read_dir(data.join("mirrors"))
        .expect("mirrors")
        .flatten()
        .map(|e| e.path())
        .next()
        .expect("a mirror")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(name: &str, samples: &[Duration], baseline: Option<&[Duration]>) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let (p50, p99) = (percentile(&sorted, 0.5), percentile(&sorted, 0.99));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ratio = baseline
        .map(|b| {
            let mut b = b.to_vec();
            b.sort();
            format!(
                "  ({:.2}x git clone p50)",
                ms(p50) / ms(percentile(&b, 0.5))
            )
        })
        .unwrap_or_default();
    println!(
        "{name:<50} n={:<4} p50 {:>8.2} ms  p99 {:>8.2} ms{ratio}",
        samples.len(),
        ms(p50),
        ms(p99)
    );
}
