//! `cargo bench -p studio-git --bench git`
//!
//! On the 10,000-file / 5,000-commit repository, prints p50/p99 of:
//! - creating a session checkout from a warm mirror, with a prepared spare and cold,
//! - one-file write + commit,
//! - rollback by one step,
//!
//! each beside `git clone` of the same repository (for scale) and the git CLI doing the same job.
//! The machine is shared and noisy, so every operation is interleaved with its baselines: each
//! round runs ours and theirs back to back, and all of them see the same load.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use studio_core::CommitPattern;
use studio_git::{GitWorkspace, RollbackTarget};
use support::{big_file_path, big_remote, sandbox};

const CHECKOUT_ROUNDS: usize = 10;
const EDIT_ROUNDS: usize = 100;

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
    // Scratch space beside the fixture, in the target directory rather than /tmp: on this shared
    // machine /tmp's inode groups are churned by every test suite, and creating a file there
    // can cost milliseconds (ext4 scans recently deleted inodes), which would drown what we
    // measure. Ours and the baselines run in the same place either way.
    let scratch_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let scratch = tempfile::tempdir_in(&scratch_root).expect("temp dir");
    let dir = scratch.path();
    println!(
        "studio-git benchmark: {} files, {} commits; load average {}",
        support::FILES,
        support::COMMITS,
        load_average()
    );

    // Checkouts. Spare and cold sessions use separate workspaces (and mirrors) of the repository.
    let mut config = support::config(&dir.join("data-spare"));
    config.spare_checkouts = true;
    let spare_ws = GitWorkspace::new(config);
    let cold_ws = GitWorkspace::new(support::config(&dir.join("data-cold")));
    spare_ws.warm_up(&url, None).await.expect("warm up");
    cold_ws.warm_up(&url, None).await.expect("warm up");
    let mirror = first_mirror(&dir.join("data-cold"));
    let (mut clone, mut worktree_add, mut spare, mut cold) = (vec![], vec![], vec![], vec![]);
    for round in 0..CHECKOUT_ROUNDS {
        let target = dir.join(format!("clone-{round}"));
        clone.push(timed(|| {
            git(dir, &["clone", "--quiet", &url, path_str(&target)])
        }));
        std::fs::remove_dir_all(&target).expect("remove clone");

        let target = dir.join(format!("worktree-{round}"));
        let add = [
            "worktree",
            "add",
            "--quiet",
            "--detach",
            path_str(&target),
            "refs/remotes/origin/main",
        ];
        worktree_add.push(timed(|| git(&mirror, &add)));
        git(
            &mirror,
            &["worktree", "remove", "--force", path_str(&target)],
        );

        // Not timed: the spare is ready, as it is when sessions do not start back to back.
        spare_ws.warm_up(&url, None).await.expect("warm up");
        for (ws, samples, n) in [
            (&spare_ws, &mut spare, round),
            (&cold_ws, &mut cold, 100 + round),
        ] {
            let id = sandbox(n as u8);
            let started = Instant::now();
            let session = ws
                .open_session(&url, None, &id)
                .await
                .expect("open session");
            samples.push(started.elapsed());
            ws.remove_session(&id, &session.info().checkout)
                .await
                .expect("remove");
        }
    }

    // Edits and rollbacks: our session beside a plain clone driven by the git CLI.
    let session = cold_ws
        .open_session(&url, None, &sandbox(250))
        .await
        .expect("open session");
    let cli = dir.join("cli-clone");
    git(dir, &["clone", "--quiet", &url, path_str(&cli)]);
    let pattern = CommitPattern::default();
    let (mut writes, mut rollbacks, mut cli_commits, mut cli_resets) =
        (vec![], vec![], vec![], vec![]);
    for round in 0..EDIT_ROUNDS {
        for step in 0..2 {
            let n = round * 2 + step;
            let path = big_file_path((n * 37) % support::FILES);
            let content = format!("export const Edited{n} = {n};\n");
            let started = Instant::now();
            let commit = session
                .write_file(&path, content.as_str(), "bench edit", &pattern)
                .await;
            writes.push(started.elapsed());
            commit.expect("write").expect("a commit");

            std::fs::write(cli.join(&path), &content).expect("write");
            cli_commits.push(timed(|| {
                git(&cli, &["add", "--", &path]);
                git(&cli, &["commit", "--quiet", "-m", "bench edit"]);
            }));
        }
        let started = Instant::now();
        let rolled = session.rollback(RollbackTarget::Steps(1)).await;
        rollbacks.push(started.elapsed());
        rolled.expect("rollback");
        cli_resets.push(timed(|| {
            git(&cli, &["reset", "--quiet", "--hard", "HEAD~1"])
        }));
    }

    println!(
        "{:<48} {:>5} {:>10} {:>10}   p50 relative to",
        "operation", "n", "p50 ms", "p99 ms"
    );
    let clone = Stats::of(&clone);
    clone.print("baseline: git clone (local)", &[]);
    Stats::of(&spare).print(
        "session checkout, warm mirror, spare ready",
        &[("git clone", &clone)],
    );
    let worktree_add = Stats::of(&worktree_add);
    Stats::of(&cold).print(
        "session checkout, warm mirror, cold (no spare)",
        &[("git clone", &clone), ("git worktree add", &worktree_add)],
    );
    worktree_add.print(
        "baseline: git worktree add (same mirror)",
        &[("git clone", &clone)],
    );
    let cli_commits = Stats::of(&cli_commits);
    Stats::of(&writes).print(
        "one-file write + commit",
        &[("git clone", &clone), ("git add+commit", &cli_commits)],
    );
    cli_commits.print("baseline: git add + git commit", &[("git clone", &clone)]);
    let cli_resets = Stats::of(&cli_resets);
    Stats::of(&rollbacks).print(
        "rollback by one step",
        &[("git clone", &clone), ("git reset --hard", &cli_resets)],
    );
    cli_resets.print(
        "baseline: git reset --hard HEAD~1",
        &[("git clone", &clone)],
    );
    println!("load average at the end: {}", load_average());
}

struct Stats {
    n: usize,
    p50: Duration,
    p99: Duration,
}

impl Stats {
    fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
        Self {
            n: sorted.len(),
            p50: at(0.50),
            p99: at(0.99),
        }
    }

    fn print(&self, name: &str, baselines: &[(&str, &Stats)]) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ratios: Vec<String> = baselines
            .iter()
            .map(|(label, b)| format!("{:.3}x {label}", ms(self.p50) / ms(b.p50)))
            .collect();
        println!(
            "{name:<48} {:>5} {:>10.2} {:>10.2}   {}",
            self.n,
            ms(self.p50),
            ms(self.p99),
            ratios.join(", ")
        );
    }
}

fn timed(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

fn git(dir: &Path, args: &[&str]) {
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

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn first_mirror(data: &Path) -> PathBuf {
    std::fs::read_dir(data.join("mirrors"))
        .expect("mirrors")
        .flatten()
        .map(|e| e.path())
        .next()
        .expect("a mirror")
}

/// The machine is shared: print how busy it was, so the numbers can be read in context.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
