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

/// Button's stories in examples/design-system, in the page's order (export names, sorted), with
/// their tile titles and the text each shows. `Unfinished` (`excludeStories`) and `DocsOnly`
/// (`!dev`) are left out.
const BUTTON_STORIES: [(&str, &str, &str); 5] = [
    ("Default", "Default", "Click me"),
    ("LegacyTemplate", "Legacy Template", "Legacy story"),
    ("LongLabel", "Long Label", "Save all pending changes"),
    ("Secondary", "Secondary action", "Cancel order"),
    ("WithLoader", "With Loader", "Loaded label"),
];

/// A component shaped like a real library's: it shows nothing without its story's args. Its
/// stories are typed with Storybook's types (erased, Storybook is not installed) and import
/// `fn` from `@storybook/test`.
const MODAL: &str = r#"import type { ReactNode } from "react";
export interface ModalProps { open?: boolean; title?: string; children?: ReactNode; onClose?: () => void }
export function Modal({ open = false, title, children, onClose }: ModalProps) {
  if (!open) return null;
  return <div role="dialog"><h2>{title}</h2><div>{children}</div><button onClick={onClose}>Close</button></div>;
}
"#;
const MODAL_STORIES: &str = r#"import type { Meta, StoryObj } from "@storybook/react";
import { fn, expect } from "@storybook/test";
import { Modal } from "./Modal";
const meta = {
  component: Modal,
  args: { onClose: fn() },
  includeStories: /^[A-Z]/,
} satisfies Meta<typeof Modal>;
export default meta;
type Story = StoryObj<typeof meta>;
export const modalCopy = { title: "data, not a story" };
export const Closed: Story = {};
export const Open: Story = {
  args: { open: true, title: "Delete file?", children: "This cannot be undone." },
  play: async () => {
    document.body.dataset.played = "yes";
    await expect(1).toBe(2);
  },
};
"#;

fn story_tiles(component: &str) -> String {
    format!(
        "[...document.querySelectorAll('[data-studio-component={component}] [data-studio-story]')]\
         .map(t => [t.dataset.studioStory, t.dataset.studioStoryTitle, t.querySelector('.studio-card__stage').innerText.trim()])"
    )
}

#[tokio::test]
async fn stories_render_with_their_args_decorators_and_loaders() {
    let checkout = support::sample_checkout("render-stories-");
    let components = checkout.path().join("src/components");
    fs::create_dir_all(components.join("Modal")).unwrap();
    fs::write(components.join("Modal/Modal.tsx"), MODAL).unwrap();
    fs::write(components.join("Modal/Modal.stories.tsx"), MODAL_STORIES).unwrap();
    // A stories file without a default export (no meta) is ignored: Avatar stays a bare tile.
    fs::write(
        components.join("Avatar.stories.tsx"),
        "import { Avatar } from \"./Avatar\";\nexport const Big = () => <Avatar name=\"Grace Hopper\" size={80} />;\n",
    )
    .unwrap();
    let prepared = support::prepare(
        &support::shared_renderer(),
        &support::spec(checkout.path(), None),
    )
    .await;
    let vite = Vite::start(&prepared.launch).await;
    let mut browser = Browser::launch().await;
    let url = vite.url.as_str();

    browser.open("all", url).await;
    assert_eq!(browser.wait_ready("all").await, 7);
    assert_eq!(
        browser.component_names("all").await,
        [
            "Alert",
            "InlineAlert",
            "Avatar",
            "Badge",
            "Button",
            "Card",
            "Modal"
        ]
    );
    assert_eq!(
        browser
            .eval(
                "all",
                "document.querySelectorAll('[data-studio-error], [data-studio-broken-file]').length"
            )
            .await,
        0,
        "{}",
        browser.eval("all", "document.body.innerText").await
    );
    assert_eq!(
        browser
            .eval("all", "document.documentElement.dataset.studioStories")
            .await,
        "7"
    );
    let expected: Vec<[&str; 3]> = BUTTON_STORIES.iter().map(|&(e, t, x)| [e, t, x]).collect();
    assert_eq!(
        browser.eval("all", &story_tiles("Button")).await,
        serde_json::json!(expected)
    );
    assert_eq!(
        browser
            .eval(
                "all",
                "document.querySelector('[data-studio-story=Default] .studio-story__label').innerText"
            )
            .await,
        "Button · Default"
    );
    // Decorators: the preview's outermost, then meta's, then the story's own; all inside the
    // wrapper of studio.json.
    let decorated = browser
        .eval(
            "all",
            "[...document.querySelectorAll('[data-studio-component=Button] [data-studio-story]')]\
             .every(t => t.querySelector('[data-theme] [data-decorated=preview] > [data-decorated=meta] button'))",
        )
        .await;
    assert_eq!(decorated, true);
    assert_eq!(
        browser
            .eval(
                "all",
                "[...document.querySelectorAll('[data-decorated=story]')].map(d => d.closest('[data-studio-story]').dataset.studioStory)"
            )
            .await,
        serde_json::json!(["LongLabel"])
    );
    assert_eq!(
        browser
            .eval("all", "!!document.querySelector('[data-studio-story=LongLabel] [data-decorated=meta] > [data-decorated=story] > div > button')")
            .await,
        true,
        "the story's render function and decorator"
    );
    // Args reach the component: meta's variant, overridden by the story's.
    let variants = browser
        .eval(
            "all",
            "['Default', 'Secondary'].map(s => document.querySelector(`[data-studio-story=${s}] button`).className.includes('secondary'))",
        )
        .await;
    assert_eq!(variants, serde_json::json!([false, true]));
    let text = browser.eval("all", "document.body.innerText").await;
    let text = text.as_str().unwrap();
    for absent in ["Not ready yet", "Only in the docs", "data, not a story"] {
        assert!(!text.contains(absent), "{absent} shown:\n{text}");
    }

    // The real-library-shaped component renders with its story's args; `play` never runs.
    assert_eq!(
        browser.eval("all", &story_tiles("Modal")).await,
        serde_json::json!([
            ["Closed", "Closed", ""],
            [
                "Open",
                "Open",
                "Delete file?\nThis cannot be undone.\nClose"
            ]
        ])
    );
    assert_eq!(
        browser
            .eval("all", "document.body.dataset.played ?? null")
            .await,
        serde_json::Value::Null
    );
    // Avatar's stories file has no meta: Avatar keeps its bare tile.
    assert_eq!(
        browser
            .eval("all", "(() => { const c = document.querySelector('[data-studio-component=Avatar]'); return [!!c.querySelector('[data-studio-story]'), c.querySelector('.studio-card__stage').innerText]; })()")
            .await,
        serde_json::json!([false, "AL"])
    );
    // Clicking a story's button calls the fn() spy of its args (a no-op one): nothing breaks.
    browser
        .eval(
            "all",
            "document.querySelector('[data-studio-story=Default] button').click()",
        )
        .await;

    // Stories hot-update like components: an edited story, and a new stories file that turns a
    // bare component into its stories, without a reload.
    let boot = browser.eval("all", "window.__studioBoot").await;
    let stories_file = components.join("Button/Button.stories.tsx");
    let source = fs::read_to_string(&stories_file).unwrap();
    fs::write(&stories_file, source.replace("Cancel order", "Cancel now")).unwrap();
    browser
        .wait_for(
            "all",
            "document.querySelector('[data-studio-story=Secondary] button')?.innerText === 'Cancel now'",
            WAIT,
        )
        .await;
    fs::write(
        components.join("Card/Card.stories.tsx"),
        r#"import { Card } from "./Card";
export default { component: Card };
export const EmptyReport = { args: { title: "Empty report", children: "No data yet" } };
"#,
    )
    .unwrap();
    let card = browser
        .wait_for(
            "all",
            "document.querySelector('[data-studio-component=Card] [data-studio-story=EmptyReport]')?.innerText",
            WAIT,
        )
        .await;
    let card = card.as_str().unwrap();
    assert!(
        card.contains("Card · Empty Report")
            && card.contains("No data yet")
            && card.contains("Theme: Acme"),
        "{card}"
    );
    assert_eq!(browser.component_names("all").await.len(), 7);
    assert_eq!(browser.eval("all", "window.__studioBoot").await, boot);

    // One story alone: the URL a design tool embeds.
    browser
        .open("one", &format!("{url}?component=Button&story=Secondary"))
        .await;
    assert_eq!(browser.wait_ready("one").await, 1);
    assert_eq!(browser.component_names("one").await, ["Button"]);
    assert_eq!(
        browser.eval("one", &story_tiles("Button")).await,
        serde_json::json!([["Secondary", "Secondary action", "Cancel now"]])
    );
    browser
        .open("modal", &format!("{url}?component=Modal&story=Open"))
        .await;
    assert_eq!(browser.wait_ready("modal").await, 1);
    assert_eq!(
        browser
            .eval(
                "modal",
                "document.querySelectorAll('[data-studio-story]').length"
            )
            .await,
        1
    );
    browser
        .open("none", &format!("{url}?component=Button&story=Unfinished"))
        .await;
    assert_eq!(browser.wait_ready("none").await, 0);

    browser.close().await;
    vite.stop().await;
}
