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
//!
//! Edits and rollbacks are measured twice: durable (the default: files, objects and refs fsync'd
//! before an edit returns) and not (`GitConfig::durable = false`), to show what durability costs.
//! libgit2's fsync switch is process-wide and, once on, stays on, so the non-durable rounds run
//! first, before any durable workspace exists; they are not interleaved with the durable ones.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use studio_core::CommitPattern;
use studio_git::{GitWorkspace, RollbackTarget};
use studio_testkit::bench::{self, Stats, load_average, ms, timed};
use studio_testkit::git::git;
use support::{big_file_path, big_remote, sandbox};

const CHECKOUT_ROUNDS: usize = 10;
const EDIT_ROUNDS: usize = 100;

fn main() {
    bench::runtime(Some(2)).block_on(run());
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

    // Before anything durable exists (see the module documentation).
    let (buffered_writes, buffered_rollbacks) = buffered_edits(&url, dir).await;

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
    print_row("baseline: git clone (local)", &clone, &[]);
    print_row(
        "session checkout, warm mirror, spare ready",
        &Stats::of(&spare),
        &[("git clone", &clone)],
    );
    let worktree_add = Stats::of(&worktree_add);
    print_row(
        "session checkout, warm mirror, cold (no spare)",
        &Stats::of(&cold),
        &[("git clone", &clone), ("git worktree add", &worktree_add)],
    );
    print_row(
        "baseline: git worktree add (same mirror)",
        &worktree_add,
        &[("git clone", &clone)],
    );
    let cli_commits = Stats::of(&cli_commits);
    let buffered_writes = Stats::of(&buffered_writes);
    print_row(
        "one-file write + commit, durable (fsync)",
        &Stats::of(&writes),
        &[
            ("not durable", &buffered_writes),
            ("git add+commit", &cli_commits),
        ],
    );
    print_row(
        "one-file write + commit, not durable (no fsync)",
        &buffered_writes,
        &[("git clone", &clone), ("git add+commit", &cli_commits)],
    );
    print_row(
        "baseline: git add + git commit",
        &cli_commits,
        &[("git clone", &clone)],
    );
    let cli_resets = Stats::of(&cli_resets);
    let buffered_rollbacks = Stats::of(&buffered_rollbacks);
    print_row(
        "rollback by one step, durable (fsync)",
        &Stats::of(&rollbacks),
        &[
            ("not durable", &buffered_rollbacks),
            ("git reset --hard", &cli_resets),
        ],
    );
    print_row(
        "rollback by one step, not durable (no fsync)",
        &buffered_rollbacks,
        &[("git clone", &clone), ("git reset --hard", &cli_resets)],
    );
    print_row(
        "baseline: git reset --hard HEAD~1",
        &cli_resets,
        &[("git clone", &clone)],
    );
    println!("load average at the end: {}", load_average());
}

/// The edit rounds of the main loop (two write + commits, one rollback) in a workspace with
/// `durable: false`; returns the write and the rollback samples.
async fn buffered_edits(
    url: &str,
    dir: &Path,
) -> (Vec<std::time::Duration>, Vec<std::time::Duration>) {
    let mut config = support::config(&dir.join("data-buffered"));
    config.durable = false;
    let ws = GitWorkspace::new(config);
    let session = ws
        .open_session(url, None, &sandbox(251))
        .await
        .expect("open session");
    let pattern = CommitPattern::default();
    let (mut writes, mut rollbacks) = (vec![], vec![]);
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
        }
        let started = Instant::now();
        let rolled = session.rollback(RollbackTarget::Steps(1)).await;
        rollbacks.push(started.elapsed());
        rolled.expect("rollback");
    }
    ws.remove_session(&sandbox(251), &session.info().checkout)
        .await
        .expect("remove");
    (writes, rollbacks)
}

/// One row: `stats` and the ratio of its p50 to each baseline's.
fn print_row(name: &str, stats: &Stats, baselines: &[(&str, &Stats)]) {
    let ratios: Vec<String> = baselines
        .iter()
        .map(|(label, b)| format!("{:.3}x {label}", ms(stats.p50) / ms(b.p50)))
        .collect();
    println!(
        "{name:<48} {:>5} {:>10.2} {:>10.2}   {}",
        stats.n,
        ms(stats.p50),
        ms(stats.p99),
        ratios.join(", ")
    );
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
