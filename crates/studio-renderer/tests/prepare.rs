//! Preparing checkouts: shared stores, installs that happen once, and clear errors.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use studio_renderer::{RendererError, RendererOverrides, StoreOutcome};

#[tokio::test]
async fn the_second_sandbox_of_a_repository_performs_no_install() {
    // Fresh stores (the npm cache stays shared, so this downloads nothing twice across runs).
    let data = support::scratch_dir("data-");
    let renderer = support::renderer_in(data.path());
    let (a, b, c) = (
        support::sample_checkout("first-"),
        support::sample_checkout("second-"),
        support::sample_checkout("third-"),
    );
    let (spec_a, spec_b) = (support::spec(a.path(), None), support::spec(b.path(), None));

    // Two sandboxes of the same repository prepared at once share one install of each store.
    let (first, second) = tokio::join!(renderer.prepare(&spec_a), renderer.prepare(&spec_b));
    let (first, second) = (first.unwrap().report, second.unwrap().report);
    for (store, outcomes) in [
        (
            "template",
            [first.template.outcome, second.template.outcome],
        ),
        ("deps", [first.deps.outcome, second.deps.outcome]),
    ] {
        let installs = outcomes.iter().filter(|o| o.installed()).count();
        assert_eq!(
            installs, 1,
            "{store} store installed {installs} times for two concurrent sandboxes: {outcomes:?}"
        );
    }
    assert_eq!(first.deps.node_modules, second.deps.node_modules);

    // A later sandbox runs no npm at all.
    let third = support::prepare(&renderer, &support::spec(c.path(), None))
        .await
        .report;
    assert_eq!(third.template.outcome, StoreOutcome::Reused);
    assert_eq!(third.deps.outcome, StoreOutcome::Reused);
    assert!(third.deps_relinked, "its own node_modules was linked");

    // The checkout's files are the store's files (hard links), and the store is read-only.
    let in_checkout = c.path().join("node_modules/react/package.json");
    let in_store = third.deps.node_modules.join("react/package.json");
    assert_eq!(
        fs::metadata(&in_checkout).unwrap().ino(),
        fs::metadata(&in_store).unwrap().ino()
    );
    assert_eq!(
        fs::metadata(&in_store).unwrap().permissions().mode() & 0o222,
        0,
        "store files are read-only"
    );
    assert!(
        c.path()
            .join("node_modules")
            .symlink_metadata()
            .unwrap()
            .is_dir(),
        "a real directory, not a symlink"
    );
    // .studio/ links the template store and holds the generated app.
    let vite_bin = c.path().join(".studio/node_modules/vite/bin/vite.js");
    assert!(vite_bin.is_file(), "template store linked into .studio/");
    assert!(
        fs::read_to_string(c.path().join(".studio/src/generated.js"))
            .unwrap()
            .contains("import.meta.glob")
    );

    // Preparing the same checkout again changes nothing, so a running renderer needs no restart.
    let same = support::spec(c.path(), None);
    support::prepare(&renderer, &same).await;
    let again = support::prepare(&renderer, &same).await.report;
    assert!(
        !again.deps_relinked && !again.settings_changed && !again.needs_restart(),
        "{again:?}"
    );
}

#[tokio::test]
async fn launch_spec_runs_vite_with_a_clean_environment() {
    let checkout = support::sample_checkout("launch-");
    let spec = support::spec(checkout.path(), None);
    let prepared = support::prepare(&support::shared_renderer(), &spec).await;
    let launch = &prepared.launch;
    assert_eq!(launch.cwd, checkout.path().canonicalize().unwrap());
    // The template's server (Vite in middleware mode on the inherited socket): no port anywhere.
    let args = &launch.args;
    assert_eq!(args.len(), 1, "{args:?}");
    assert!(args[0].ends_with(".studio/server.mjs"), "{args:?}");
    assert!(checkout.path().join(".studio/server.mjs").is_file());
    let env: Vec<String> = launch.env.keys().cloned().collect();
    for key in [
        "PATH",
        "MIMALLOC_PURGE_DELAY",
        "MIMALLOC_ARENA_EAGER_COMMIT",
        "NODE_OPTIONS",
    ] {
        assert!(env.iter().any(|k| k == key), "{key} missing from {env:?}");
    }
    for (key, _) in std::env::vars() {
        if key.contains("TOKEN") || key.starts_with("STUDIO_") || key.starts_with("CARGO") {
            assert!(
                !env.contains(&key),
                "Studio's {key} leaked into the renderer's environment"
            );
        }
    }
    let settings: serde_json::Value =
        serde_json::from_slice(&fs::read(checkout.path().join(".studio/settings.json")).unwrap())
            .unwrap();
    assert_eq!(
        settings["allowedHosts"],
        serde_json::json!([spec.preview_host])
    );
    assert!(settings.get("port").is_none(), "{settings}");
    assert_eq!(
        settings["cacheDir"],
        checkout
            .path()
            .canonicalize()
            .unwrap()
            .join(".studio/.vite")
            .to_str()
            .unwrap()
    );
}

#[tokio::test]
async fn bad_settings_and_unusable_repositories_get_clear_errors() {
    let renderer = support::shared_renderer();

    let checkout = support::sample_checkout("bad-setup-");
    let mut spec = support::spec(checkout.path(), None);
    spec.overrides = RendererOverrides {
        setup: Some(vec!["src/styles/missing.css".into()]),
        ..Default::default()
    };
    let err = renderer.prepare(&spec).await.unwrap_err();
    assert!(
        matches!(err, RendererError::InvalidSetting { field: "setup", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("src/styles/missing.css"), "{err}");
    assert!(
        !checkout.path().join("node_modules").exists(),
        "nothing is installed for a rejected request"
    );

    fs::write(checkout.path().join("studio.json"), "{ not json").unwrap();
    let err = renderer
        .prepare(&support::spec(checkout.path(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RendererError::StudioJson { .. }) && err.to_string().contains("studio.json"),
        "{err}"
    );

    let empty = support::scratch_dir("no-package-");
    let err = renderer
        .prepare(&support::spec(empty.path(), None))
        .await
        .unwrap_err();
    assert!(matches!(err, RendererError::NoPackageJson(_)), "{err}");

    // A repository without React (and without a lockfile: `npm install` runs instead of `npm ci`).
    fs::write(
        empty.path().join("package.json"),
        r#"{"name": "no-react", "private": true}"#,
    )
    .unwrap();
    let err = renderer
        .prepare(&support::spec(empty.path(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RendererError::MissingPackage { package: "react" }),
        "{err}"
    );
}

#[tokio::test]
async fn a_repository_without_a_lockfile_still_gets_its_dependencies() {
    let renderer = support::shared_renderer();
    let locked = support::sample_checkout("locked-");
    let unlocked = support::sample_checkout("unlocked-");
    fs::remove_file(unlocked.path().join("package-lock.json")).unwrap();

    let with_lock = support::prepare(&renderer, &support::spec(locked.path(), None)).await;
    let without = support::prepare(&renderer, &support::spec(unlocked.path(), None)).await;
    assert_ne!(
        without.report.deps.key, with_lock.report.deps.key,
        "resolved by npm install: a store entry of its own"
    );
    for package in ["react", "react-dom", "typescript"] {
        let manifest = unlocked
            .path()
            .join("node_modules")
            .join(package)
            .join("package.json");
        assert!(manifest.is_file(), "{package} missing");
    }
    assert!(
        !unlocked.path().join("package-lock.json").exists(),
        "Studio never writes a lockfile into the repository"
    );
}

#[tokio::test]
async fn the_template_and_the_sample_type_check() {
    // TypeScript comes from the sample's own dependencies, as in a designer's checkout.
    let checkout = support::sample_checkout("typecheck-");
    support::prepare(
        &support::shared_renderer(),
        &support::spec(checkout.path(), None),
    )
    .await;
    let tsc = checkout.path().join("node_modules/typescript/bin/tsc");
    for project in ["tsconfig.json", ".studio/tsconfig.json"] {
        let output = tokio::process::Command::new("node")
            .arg(&tsc)
            .args(["--noEmit", "-p", project])
            .current_dir(checkout.path())
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{project} does not type-check:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
