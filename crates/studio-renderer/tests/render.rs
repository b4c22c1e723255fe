//! The renderer in a real Chromium: what it shows, and how edits reach the page.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use studio_renderer::{WriteEffect, write_effect};
use studio_testkit::browser::Browser;
use support::Vite;

const WAIT: Duration = Duration::from_secs(15);
/// The components of examples/design-system, in the page's (file) order.
const SAMPLE_COMPONENTS: [&str; 6] = ["Alert", "InlineAlert", "Avatar", "Badge", "Button", "Card"];

#[tokio::test]
async fn renders_every_component_with_setup_wrapper_and_filter() {
    let checkout = support::sample_checkout("render-all-");
    let renderer = support::shared_renderer();
    let prepared = support::prepare(&renderer, &support::spec(checkout.path(), None)).await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    let url = vite.url.as_str();

    browser.open("all", url).await;
    assert_eq!(browser.wait_ready("all").await, 6);
    // Stories, lowercase helpers (`initials`) and capitalised constants (`ALERT_TONES`) are not components.
    assert_eq!(browser.component_names("all").await, SAMPLE_COMPONENTS);
    let badge_file = browser
        .eval(
            "all",
            "document.querySelector('[data-studio-component=Badge]').dataset.studioFile",
        )
        .await;
    assert_eq!(
        badge_file, "src/components/Badge/index.tsx",
        "a default export in Folder/index.tsx is named after the folder"
    );
    let labels = browser
        .eval(
            "all",
            "document.querySelector('[data-studio-component=Card] header').innerText",
        )
        .await;
    assert!(
        labels
            .as_str()
            .unwrap()
            .contains("src/components/Card/Card.tsx"),
        "{labels}"
    );
    assert_eq!(
        browser
            .eval(
                "all",
                "document.querySelectorAll('[data-studio-error], [data-studio-broken-file]').length"
            )
            .await,
        0
    );

    // The CSS module resolves, and its colour comes from the setup stylesheet's design tokens.
    let button_bg = browser.eval("all", "getComputedStyle(document.querySelector('[data-studio-component=Button] button')).backgroundColor").await;
    assert_eq!(button_bg, "rgb(79, 70, 229)");
    // Card imports a plain CSS file and reads the theme through the `@/` tsconfig alias; the theme
    // comes from the wrapper of studio.json. A second React would break its hook.
    let card_radius = browser
        .eval(
            "all",
            "getComputedStyle(document.querySelector('.ds-card')).borderRadius",
        )
        .await;
    assert_eq!(card_radius, "12px");
    let card_text = browser
        .eval(
            "all",
            "document.querySelector('[data-studio-component=Card]').innerText",
        )
        .await;
    assert!(
        card_text.as_str().unwrap().contains("Theme: Acme"),
        "{card_text}"
    );

    browser
        .open("only", &format!("{url}?component=Button"))
        .await;
    assert_eq!(browser.wait_ready("only").await, 1);
    assert_eq!(browser.component_names("only").await, ["Button"]);

    // A second sandbox of the repository starts from the first one's pre-bundled dependencies
    // (published once Vite wrote them), re-stamped for its own root instead of bundled again.
    let second = support::sample_checkout("render-seeded-");
    let spec = support::spec(second.path(), None);
    let deadline = Instant::now() + Duration::from_secs(30);
    let seeded = loop {
        let prepared = support::prepare(&renderer, &spec).await;
        if prepared.report.vite_cache_seeded || Instant::now() > deadline {
            break prepared;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(seeded.report.vite_cache_seeded, "no seed was published");
    let second_vite = Vite::start(&seeded.launch).await;
    browser.open("second", second_vite.url.as_str()).await;
    assert_eq!(browser.wait_ready("second").await, 6);
    let browser_hash = |checkout: &std::path::Path| {
        let metadata = fs::read(checkout.join(".studio/.vite/deps/_metadata.json")).unwrap();
        serde_json::from_slice::<serde_json::Value>(&metadata).unwrap()["browserHash"].clone()
    };
    assert_eq!(
        browser_hash(second.path()),
        browser_hash(checkout.path()),
        "bundled again:\n{}",
        second_vite.output()
    );
    assert!(!second.path().join(".studio/.vite/deps-seed").exists());

    browser.close().await;
    second_vite.stop().await;
    vite.stop().await;
}

#[tokio::test]
async fn edits_new_files_and_deletions_arrive_without_a_reload() {
    let checkout = support::sample_checkout("render-hmr-");
    let renderer = support::shared_renderer();
    let spec = support::spec(checkout.path(), None);
    let prepared = support::prepare(&renderer, &spec).await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;
    let boot = browser.eval("p", "window.__studioBoot").await;

    let button = checkout.path().join("src/components/Button/Button.tsx");
    let source = fs::read_to_string(&button).unwrap();
    let button_shows = |text: &str| {
        format!(
            "document.querySelector('[data-studio-component=Button] button')?.innerText === '{text}'"
        )
    };
    fs::write(&button, source.replace("\"Click me\"", "\"Save changes\"")).unwrap();
    browser
        .wait_for("p", &button_shows("Save changes"), WAIT)
        .await;

    // Saves in quick succession: as soon as one version is on screen the next is written, often
    // within the 50 ms in which Vite's watcher ignores further changes of a file. The last save
    // must still win.
    for round in 0..5 {
        for version in ["first", "second"] {
            let text = format!("{version} {round}");
            fs::write(
                &button,
                source.replace("\"Click me\"", &format!("\"{text}\"")),
            )
            .unwrap();
            browser.wait_for("p", &button_shows(&text), WAIT).await;
        }
    }

    let fresh = checkout.path().join("src/components/Toggle/Toggle.tsx");
    fs::create_dir_all(fresh.parent().unwrap()).unwrap();
    fs::write(&fresh, "export function Toggle() { return <label><input type=\"checkbox\" /> Dark mode</label>; }\n").unwrap();
    browser.wait_for("p", "document.querySelector('[data-studio-component=Toggle]')?.innerText.includes('Dark mode')", WAIT).await;
    assert_eq!(
        browser
            .wait_for(
                "p",
                "document.documentElement.dataset.studioReady === '7' && 7",
                WAIT
            )
            .await,
        7
    );

    fs::remove_file(checkout.path().join("src/components/Avatar.tsx")).unwrap();
    browser
        .wait_for(
            "p",
            "!document.querySelector('[data-studio-component=Avatar]')",
            WAIT,
        )
        .await;
    let names = browser.component_names("p").await;
    assert_eq!(
        names,
        ["Alert", "InlineAlert", "Badge", "Button", "Card", "Toggle"]
    );

    // studio.json narrows the globs: preparing again regenerates .studio/ and the page
    // hot-updates, with no restart.
    let studio_json = r#"{"components": ["src/components/**/*.{tsx,jsx}", "!src/components/Badge/**"],
        "setup": ["src/styles/tokens.css"], "wrapper": "src/theme/ThemeProvider.tsx#ThemeProvider"}"#;
    fs::write(checkout.path().join("studio.json"), studio_json).unwrap();
    assert_eq!(write_effect("studio.json"), WriteEffect::Regenerate);
    let again = support::prepare(&renderer, &spec).await;
    assert!(!again.report.needs_restart(), "{:?}", again.report);
    browser
        .wait_for(
            "p",
            "!document.querySelector('[data-studio-component=Badge]')",
            WAIT,
        )
        .await;
    assert_eq!(
        browser.component_names("p").await,
        ["Alert", "InlineAlert", "Button", "Card", "Toggle"]
    );

    assert_eq!(
        browser.eval("p", "window.__studioBoot").await,
        boot,
        "the page reloaded instead of hot-updating"
    );
    browser.close().await;
    vite.stop().await;
}

#[tokio::test]
async fn a_broken_component_shows_its_error_in_place_and_the_others_stay() {
    let checkout = support::sample_checkout("render-errors-");
    let components = checkout.path().join("src/components");
    fs::write(
        components.join("Boom.tsx"),
        "export function Boom(): never { throw new Error('kaboom: no data'); }\n",
    )
    .unwrap();
    fs::write(
        components.join("Typo.tsx"),
        "export function Typo() { return <div>; }\n",
    )
    .unwrap();
    // A setup module that throws is reported above the components, which still render.
    fs::write(
        checkout.path().join("src/analytics.ts"),
        "throw new Error('analytics: no API key');\n",
    )
    .unwrap();
    let mut spec = support::spec(checkout.path(), None);
    spec.overrides.setup = Some(vec![
        "src/styles/tokens.css".into(),
        "src/analytics.ts".into(),
    ]);
    let prepared = support::prepare(&support::shared_renderer(), &spec).await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;

    let setup_error = browser
        .eval("p", "[...document.querySelectorAll('.studio-page > .studio-error')].map(e => e.innerText).join('\\n')")
        .await;
    let setup_error = setup_error.as_str().unwrap();
    assert!(
        setup_error.contains("src/analytics.ts") && setup_error.contains("no API key"),
        "{setup_error}"
    );
    let boom_error = browser.wait_for("p", "document.querySelector('[data-studio-component=Boom] [data-studio-error]')?.dataset.studioError", WAIT).await;
    assert!(
        boom_error.as_str().unwrap().contains("kaboom: no data"),
        "{boom_error}"
    );
    let typo = browser.wait_for("p", "document.querySelector('[data-studio-broken-file=\"src/components/Typo.tsx\"]')?.innerText", WAIT).await;
    assert!(typo.as_str().unwrap().contains("failed to load"), "{typo}");
    for name in SAMPLE_COMPONENTS {
        let ok = browser
            .eval("p", &format!("(() => {{ const c = document.querySelector('[data-studio-component={name}]'); return !!c && !c.querySelector('[data-studio-error]') && c.querySelector('.studio-card__stage').innerText.length > 0; }})()"))
            .await;
        assert_eq!(ok, true, "{name} should still render");
    }

    // Fixing the component brings it back in place.
    fs::write(
        components.join("Boom.tsx"),
        "export function Boom() { return <p>fixed now</p>; }\n",
    )
    .unwrap();
    browser.wait_for("p", "document.querySelector('[data-studio-component=Boom]')?.innerText.includes('fixed now')", WAIT).await;
    browser.close().await;
    vite.stop().await;
}
