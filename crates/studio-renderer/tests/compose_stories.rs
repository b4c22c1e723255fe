//! Stories of a repository that depends on `@storybook/react`, rendered in a real Chromium by
//! Storybook's own `composeStories` (from the repository's `node_modules`), and by Studio's evaluator
//! when that package does not load. The fixture (`tests/fixtures/storybook-react`) has stories whose
//! output differs between the two: `globals` and `beforeEach` exist only in Storybook.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use studio_testkit::browser::Browser;
use support::Vite;

const WAIT: Duration = Duration::from_secs(15);

/// The fixture repository's files in the workspace.
fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/storybook-react")
}

#[allow(clippy::unwrap_used)] // a fixture: a panic is how the test reports a broken environment
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_name() == "node_modules" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A session checkout of the fixture (a plain copy, as `support::sample_checkout` makes of the
/// sample) prepared under `repository` (Vite's pre-bundled dependencies are shared per repository).
/// Prints how long the preparation took: the first one installs Storybook.
async fn prepared_checkout(
    prefix: &str,
    repository: &str,
) -> (tempfile::TempDir, studio_renderer::Prepared) {
    let checkout = support::scratch_dir(prefix);
    copy_dir(&fixture(), checkout.path());
    let mut spec = support::spec(checkout.path(), None);
    spec.repository = repository.to_owned();
    let started = Instant::now();
    let prepared = support::prepare(&support::shared_renderer(), &spec).await;
    println!(
        "prepared the Storybook fixture in {:.1?} (dependencies: {:?})",
        started.elapsed(),
        prepared.report.deps.outcome
    );
    (checkout, prepared)
}

/// `[export, title, text]` of each story tile of Badge, in the page's order.
const TILES: &str = "[...document.querySelectorAll('[data-studio-component=Badge] [data-studio-story]')]\
     .map(t => [t.dataset.studioStory, t.dataset.studioStoryTitle, t.querySelector('.studio-card__stage').innerText.trim()])";

/// The `locale` global each story's preview decorator saw.
const LOCALES: &str = "[...document.querySelectorAll('[data-studio-story]')]\
     .map(t => t.querySelector('[data-decorated=preview]')?.dataset.locale ?? null)";

/// The fixture's stories in the page's order (export names, sorted: Vite does not add Storybook's
/// `__namedExportsOrder`), as composeStories renders them. `Hidden` (`!dev`) is left out;
/// `FailingLoader` shows its loader's error.
const COMPOSED: [[&str; 3]; 7] = [
    ["Default", "Default", "New"],
    ["Localised", "Localised", "New (de)"],
    ["Played", "Played", "New"],
    ["Prepared", "Prepared", "beforeEach: yes"],
    ["Rendered", "Rendered", "New!"],
    ["Success", "All good", "Done"],
    ["WithLoader", "With Loader", "3 new"],
];

#[allow(clippy::unwrap_used)] // the page's answer is an array, or the test fails
fn without_failing_loader(tiles: serde_json::Value) -> serde_json::Value {
    let mut tiles = tiles.as_array().unwrap().clone();
    let at = tiles
        .iter()
        .position(|tile| tile[0] == "FailingLoader")
        .unwrap_or_else(|| panic!("no FailingLoader tile: {tiles:?}"));
    assert_eq!(tiles.remove(at)[1], "Failing Loader");
    serde_json::Value::Array(tiles)
}

#[tokio::test]
async fn stories_render_through_the_repositorys_compose_stories() {
    let (checkout, prepared) =
        prepared_checkout("compose-", "file:///studio-tests/storybook-react").await;
    let generated = fs::read_to_string(checkout.path().join(".studio/src/generated.js")).unwrap();
    assert!(
        generated.contains(r#"portable: () => import("@storybook/react")"#),
        "{generated}"
    );
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("all", vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("all").await, 1);
    assert_eq!(browser.component_names("all").await, ["Badge"]);
    assert_eq!(
        browser
            .eval("all", "document.documentElement.dataset.studioStories")
            .await,
        "8"
    );
    // No page problem: @storybook/react loaded. The one error is FailingLoader's, in its tile.
    let errors = browser
        .eval(
            "all",
            "[...document.querySelectorAll('[data-studio-error]')].map(e => [e.closest('[data-studio-story]')?.dataset.studioStory ?? null, e.dataset.studioError])",
        )
        .await;
    assert_eq!(
        errors,
        serde_json::json!([["FailingLoader", "Error: no data today"]]),
        "{}",
        vite.output()
    );
    assert_eq!(
        without_failing_loader(browser.eval("all", TILES).await),
        serde_json::json!(COMPOSED)
    );
    // Storybook's own behaviour: the preview's `initialGlobals`, overridden by a story's `globals`.
    assert_eq!(
        browser.eval("all", LOCALES).await,
        serde_json::json!(["fr", null, "de", "fr", "fr", "fr", "fr", "fr"])
    );
    // Decorators: preview outermost, then meta's; args: the preview's `tone`, then the story's.
    assert_eq!(
        browser
            .eval(
                "all",
                "['Default', 'Success'].map(s => document.querySelector(`[data-studio-story=${s}] [data-decorated=preview] > [data-decorated=meta] > span`)?.dataset.tone)"
            )
            .await,
        serde_json::json!(["neutral", "success"])
    );
    // `play` never runs; the `fn()` spy of the args is Storybook's and clicking calls it.
    assert_eq!(
        browser
            .eval("all", "document.body.dataset.played ?? null")
            .await,
        serde_json::Value::Null
    );
    browser
        .eval(
            "all",
            "document.querySelector('[data-studio-story=Default] span').click()",
        )
        .await;

    // An edited stories file is composed again, without a reload.
    let boot = browser.eval("all", "window.__studioBoot").await;
    let stories = checkout.path().join("src/Badge.stories.tsx");
    let source = fs::read_to_string(&stories).unwrap();
    fs::write(
        &stories,
        source.replace("label: \"Done\"", "label: \"All done\""),
    )
    .unwrap();
    browser
        .wait_for(
            "all",
            "document.querySelector('[data-studio-story=Success] span')?.innerText === 'All done'",
            WAIT,
        )
        .await;
    assert_eq!(
        browser
            .eval(
                "all",
                "document.querySelector('[data-studio-story=Prepared] span').innerText"
            )
            .await,
        "beforeEach: yes"
    );
    assert_eq!(browser.eval("all", "window.__studioBoot").await, boot);

    browser.close().await;
    vite.stop().await;
}

#[tokio::test]
async fn stories_fall_back_to_the_evaluator_when_storybook_does_not_load() {
    let (checkout, prepared) = prepared_checkout(
        "compose-broken-",
        "file:///studio-tests/storybook-react-broken",
    )
    .await;
    // The package's entry throws on import. Replaced, not written to: the installed files are
    // hard links into the shared store.
    let entry = checkout
        .path()
        .join("node_modules/@storybook/react/dist/index.js");
    fs::remove_file(&entry).unwrap();
    fs::write(
        &entry,
        "throw new Error(\"broken on purpose\");\nexport {};\n",
    )
    .unwrap();
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("all", vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("all").await, 1);

    let problems = browser
        .eval(
            "all",
            "[...document.querySelectorAll('[data-studio-error]')].filter(e => !e.closest('[data-studio-component]')).map(e => [e.querySelector('strong').innerText, e.dataset.studioError])",
        )
        .await;
    assert_eq!(
        problems,
        serde_json::json!([[
            "Storybook's composeStories (@storybook/react) is not used: Studio's evaluator renders the stories",
            "Error: broken on purpose"
        ]])
    );
    // The evaluator knows neither globals nor `beforeEach`; everything else is the same.
    let evaluated: Vec<[&str; 3]> = COMPOSED
        .iter()
        .map(|&[export, title, text]| match export {
            "Localised" => [export, title, "New (undefined)"],
            "Prepared" => [export, title, "beforeEach: no"],
            _ => [export, title, text],
        })
        .collect();
    assert_eq!(
        without_failing_loader(browser.eval("all", TILES).await),
        serde_json::json!(evaluated)
    );
    assert_eq!(
        browser
            .eval(
                "all",
                "document.querySelector('[data-studio-story=FailingLoader] [data-studio-error]')?.dataset.studioError"
            )
            .await,
        "Error: no data today"
    );

    browser.close().await;
    vite.stop().await;
}
