//! What one idle renderer takes of the limits that decide how many fit on a machine: inotify
//! instances and watches (per-user limits every renderer shares) and memory, as PSS.
//!
//! The bounds are `studio_sandbox::DensityCheck`'s per-renderer figures (`INSTANCES_PER_RENDERER`,
//! `WATCHES_PER_RENDERER`), which the server's start-up check multiplies by `--max-sandboxes`: if
//! a renderer took more, the check would promise more than the machine holds.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use studio_testkit::procs;
use support::Vite;

/// `studio_sandbox::density::INSTANCES_PER_RENDERER`.
const INSTANCES_PER_RENDERER: u64 = 1;
/// `studio_sandbox::density::WATCHES_PER_RENDERER`.
const WATCHES_PER_RENDERER: u64 = 64;
/// Far above what an idle renderer of the sample takes (about 140 MiB alone, less beside others
/// that share Node's pages): a renderer growing past it would make 100 sandboxes on one machine a
/// fiction.
const PSS_CEILING_MIB: u64 = 300;
/// Trees tools fill at a repository's root, which the watcher leaves out (`dist` is Vite's own
/// rule, the others the template's).
const UNWATCHED: [&str; 3] = ["coverage", "dist", ".turbo"];

/// The inodes of `dir` and everything below it.
#[allow(clippy::unwrap_used)]
fn inodes(dir: &Path) -> BTreeSet<u64> {
    let mut found = BTreeSet::from([fs::symlink_metadata(dir).unwrap().ino()]);
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            found.extend(inodes(&entry.path()));
        } else {
            found.insert(entry.metadata().unwrap().ino());
        }
    }
    found
}

#[tokio::test]
async fn an_idle_renderer_stays_within_the_density_figures() {
    let checkout = support::sample_checkout("density-");
    // Were they watched, these alone would take more watches than the figure allows.
    for tree in UNWATCHED {
        for n in 0..WATCHES_PER_RENDERER {
            fs::create_dir_all(checkout.path().join(tree).join(format!("d{n}"))).unwrap();
        }
    }
    let renderer = support::shared_renderer();
    let prepared = support::prepare(&renderer, &support::spec(checkout.path(), None)).await;
    let vite = Vite::start(&prepared.launch).await;
    let group = vite.pid();

    // Vite's watcher adds its watches after it reports ready, one directory level at a time: the
    // scan is over once every file of the components' tree (the deepest) is watched.
    let sources = inodes(&checkout.path().join("src"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let watched = loop {
        let watched = procs::group_inotify_inodes(group);
        if watched.is_superset(&sources) {
            break watched;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher never watched every source file: {} of {}",
            watched.intersection(&sources).count(),
            sources.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for tree in UNWATCHED {
        let tree = checkout.path().join(tree);
        let tree_inodes = inodes(&tree);
        assert!(
            watched.is_disjoint(&tree_inodes),
            "{} is watched",
            tree.display()
        );
    }

    let (instances, watches) = procs::group_inotify_usage(group);
    let pss_mib = procs::group_pss_kib(group) / 1024;
    let rss_mib = procs::group_rss_kib(group) / 1024;
    println!(
        "idle renderer: {instances} inotify instance(s), {watches} watches, PSS {pss_mib} MiB \
         (RSS {rss_mib} MiB)"
    );
    assert!(
        (1..=INSTANCES_PER_RENDERER).contains(&instances),
        "{instances} inotify instances"
    );
    assert!(
        (1..=WATCHES_PER_RENDERER).contains(&watches),
        "{watches} inotify watches"
    );
    assert!(
        (1..=PSS_CEILING_MIB).contains(&pss_mib),
        "PSS {pss_mib} MiB"
    );

    vite.stop().await;
}
