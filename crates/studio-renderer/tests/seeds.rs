//! Vite's dependency seeds with the real Vite of `studio-template`: a repository with a `patches/`
//! directory (whose mtime Vite hashes) reuses its seed, and a seed grows by the dependencies a
//! sandbox discovers, so that the next sandbox starts without optimizing them again.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use studio_renderer::{Prepared, Renderer, SandboxSpec};
use studio_testkit::browser::Browser;
use support::Vite;

/// How long a seed may take to be published or to grow (the checkout is looked at every few
/// seconds).
const SEED_WITHIN: Duration = Duration::from_secs(30);
/// What Vite 8 logs when it bundles dependencies its cache lacks (`dependency optimized: x`,
/// 200 ms after the fact), or throws the cache away.
const REOPTIMIZED: [&str; 4] = [
    "dependency optimized",
    "dependencies optimized",
    "optimized dependencies changed",
    "Re-optimizing dependencies",
];

/// A repository name of this run's own: its seed is shared with no other test or earlier run.
fn repository(name: &str) -> String {
    format!("file:///studio-tests/{name}-{:08x}", rand::random::<u32>())
}

fn spec(checkout: &Path, repository: &str) -> SandboxSpec {
    let mut spec = support::spec(checkout, None);
    spec.repository = repository.to_owned();
    spec
}

/// The seed a test's repository made, removed from the shared stores when the test ends.
struct OwnSeed(PathBuf);

impl OwnSeed {
    /// The seed `checkout` was prepared with (named in its `.studio/seed-key`).
    #[allow(clippy::unwrap_used)]
    fn of(checkout: &Path) -> Self {
        let key = fs::read_to_string(checkout.join(".studio/seed-key")).unwrap();
        let seeds = support::shared_data_dir().join("renderer/vite-deps");
        Self(seeds.join(key.trim()))
    }
}

impl Drop for OwnSeed {
    #[allow(clippy::print_stderr)] // nowhere else to say it from a drop
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("could not remove the test's seed {}: {e}", self.0.display());
        }
    }
}

/// Prepares `spec` again and again until `planted` says the planted seed is the one wanted.
async fn prepare_until(
    renderer: &Renderer,
    spec: &SandboxSpec,
    planted: impl Fn(&Prepared) -> bool,
) -> Prepared {
    let deadline = Instant::now() + SEED_WITHIN;
    loop {
        let prepared = support::prepare(renderer, spec).await;
        if planted(&prepared) {
            return prepared;
        }
        assert!(
            Instant::now() < deadline,
            "the seed wanted was not planted within {SEED_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[allow(clippy::unwrap_used)]
fn json(path: &Path) -> Value {
    let content = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&content).unwrap()
}

fn cache_metadata(checkout: &Path) -> Value {
    json(&checkout.join(".studio/.vite/deps/_metadata.json"))
}

fn planted_metadata(checkout: &Path) -> Option<Value> {
    let path = checkout.join(".studio/.vite/deps-seed/_metadata.json");
    path.is_file().then(|| json(&path))
}

fn assert_not_reoptimized(vite: &Vite) {
    let output = vite.output();
    for line in REOPTIMIZED {
        assert!(!output.contains(line), "Vite optimized again:\n{output}");
    }
}

/// Gives `checkout` a `patches/` directory (as patch-package uses) modified at `modified`.
#[allow(clippy::unwrap_used)]
fn add_patches(checkout: &Path, modified: SystemTime) {
    let patches = checkout.join("patches");
    fs::create_dir_all(&patches).unwrap();
    fs::write(patches.join("react+19.2.0.patch"), "").unwrap();
    let times = fs::FileTimes::new().set_modified(modified);
    fs::File::open(&patches).unwrap().set_times(times).unwrap();
}

#[tokio::test]
async fn a_repository_with_a_patches_directory_reuses_its_seed() {
    let repository = repository("design-system-with-patches");
    let repository = repository.as_str();
    let renderer = support::shared_renderer();
    let mut browser = Browser::launch().await;
    let day = Duration::from_secs(86_400);

    // Each checkout's `patches/` has its own mtime, and Vite hashes it into the cache's stamp.
    let first = support::sample_checkout("seeds-patches-a-");
    add_patches(first.path(), SystemTime::now() - 2 * day);
    let prepared = support::prepare(&renderer, &spec(first.path(), repository)).await;
    let _seed = OwnSeed::of(first.path());
    let cold = Instant::now();
    let first_vite = Vite::start(&prepared.launch).await;
    browser.open("first", first_vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("first").await, 6);
    let cold = cold.elapsed();

    let second = support::sample_checkout("seeds-patches-b-");
    add_patches(second.path(), SystemTime::now() - day);
    let seeded = prepare_until(&renderer, &spec(second.path(), repository), |p| {
        p.report.vite_cache_seeded
    })
    .await;
    let origin = json(&second.path().join(".studio/.vite/deps-seed/origin.json"));
    assert_ne!(
        origin["lockfileSuffix"], "",
        "the seed does not know the patches/ part of its stamp: {origin}"
    );
    let warm = Instant::now();
    let second_vite = Vite::start(&seeded.launch).await;
    browser.open("second", second_vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("second").await, 6);
    println!(
        "start → every component on the page: {cold:?} without a seed, {:?} seeded",
        warm.elapsed()
    );

    let (first_meta, second_meta) = (cache_metadata(first.path()), cache_metadata(second.path()));
    assert_not_reoptimized(&second_vite);
    assert_eq!(
        second_meta["browserHash"],
        first_meta["browserHash"],
        "bundled again:\n{}",
        second_vite.output()
    );
    // Re-stamped for this checkout's own `patches/` (else the next start would bundle again).
    assert_ne!(second_meta["lockfileHash"], first_meta["lockfileHash"]);

    browser.close().await;
    second_vite.stop().await;
    first_vite.stop().await;
}

/// A component of the sample's own dependencies that no other component imports.
const DOM_VERSION: &str = r#"import { version } from "react-dom";

export function DomVersion() {
  return <span>React DOM {version}</span>;
}
"#;

#[tokio::test]
async fn a_seed_grows_by_what_a_sandbox_discovers() {
    let repository = repository("design-system-growing");
    let repository = repository.as_str();
    let renderer = support::shared_renderer();
    let mut browser = Browser::launch().await;
    let optimizes_react_dom = |metadata: &Value| metadata["optimized"].get("react-dom").is_some();

    // The seed: what the sample's components need (React, not `react-dom` itself).
    let first = support::sample_checkout("seeds-grow-a-");
    let prepared = support::prepare(&renderer, &spec(first.path(), repository)).await;
    let _seed = OwnSeed::of(first.path());
    let first_vite = Vite::start(&prepared.launch).await;
    browser.open("first", first_vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("first").await, 6);
    assert!(!optimizes_react_dom(&cache_metadata(first.path())));

    // A session with a component that imports `react-dom` starts from it and discovers more.
    let dom_version = Path::new("src/components/DomVersion.tsx");
    let second = support::sample_checkout("seeds-grow-b-");
    fs::write(second.path().join(dom_version), DOM_VERSION).unwrap();
    let seeded = prepare_until(&renderer, &spec(second.path(), repository), |p| {
        p.report.vite_cache_seeded
    })
    .await;
    let planted = planted_metadata(second.path()).unwrap();
    assert!(!optimizes_react_dom(&planted), "{planted}");
    first_vite.stop().await;
    let second_vite = Vite::start(&seeded.launch).await;
    browser.open("second", second_vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("second").await, 7);
    // The page waited for Vite to bundle `react-dom`, which it wrote before serving it.
    assert!(
        optimizes_react_dom(&cache_metadata(second.path())),
        "{}",
        second_vite.output()
    );

    // The next session of the repository gets a seed with `react-dom` and optimizes nothing.
    let third = support::sample_checkout("seeds-grow-c-");
    fs::write(third.path().join(dom_version), DOM_VERSION).unwrap();
    let prepared = prepare_until(&renderer, &spec(third.path(), repository), |_| {
        planted_metadata(third.path()).is_some_and(|m| optimizes_react_dom(&m))
    })
    .await;
    let planted = planted_metadata(third.path()).unwrap();
    second_vite.stop().await;
    let third_vite = Vite::start(&prepared.launch).await;
    browser.open("third", third_vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("third").await, 7);
    assert_not_reoptimized(&third_vite);
    // Vite keeps the browser hash when it adds a dependency without a reload: the dependencies
    // tell whether it bundled anything.
    let cache = cache_metadata(third.path());
    let optimized = |metadata: &Value| metadata["optimized"].as_object().map(|o| o.len());
    assert_eq!(
        (&cache["browserHash"], optimized(&cache)),
        (&planted["browserHash"], optimized(&planted)),
        "bundled again:\n{}",
        third_vite.output()
    );

    browser.close().await;
    third_vite.stop().await;
}
