//! The component manifest (`GET /__studio/components`): the page's components, their props and
//! stories, as data, asked over the renderer's socket the way Studio's API asks it.

mod support;

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use studio_testkit::browser::Browser;
use studio_testkit::unix_http;
use support::Vite;

const MANIFEST_PATH: &str = "/__studio/components";

/// What `render.rs` asserts the page shows for the sample plus the Modal fixture: the manifest
/// must use the same names in the same order (the API joins the page's render states by name).
const PAGE_COMPONENTS: [&str; 7] = [
    "Alert",
    "InlineAlert",
    "Avatar",
    "Badge",
    "Button",
    "Card",
    "Modal",
];

/// A component that renders only with its story's args, with an interface of props.
const MODAL: &str = r#"import type { ReactNode } from "react";
export interface ModalProps {
  /** Whether the dialog is shown. */
  open?: boolean;
  title?: string;
  children?: ReactNode;
  onClose?: () => void;
}
export function Modal({ open = false, title, children, onClose }: ModalProps) {
  if (!open) return null;
  return <div role="dialog"><h2>{title}</h2><div>{children}</div><button onClick={onClose}>Close</button></div>;
}
"#;
/// `fn()` in meta's args, `includeStories` leaving out a lowercase data export, a `play`.
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
  args: { ...Closed.args, open: true, title: "Delete file?", children: "This cannot be undone.", offset: -2 },
  play: async () => {
    await expect(1).toBe(2);
  },
};
"#;

/// Exports the page must tell apart: components through `memo`, `forwardRef`, a tagged template,
/// an alias and the default export being one of them again; a context, an enum and constants
/// are none. An index file re-exports them all (the page shows them once per file).
const KIT: &str = r#"import { createContext, forwardRef, memo } from "react";
const styled = { div: (_css: TemplateStringsArray) => function StyledDiv() { return <div>styled</div>; } };
export const KitContext = createContext(null);
export const Memoed = memo(function Memoed({ label = "memo" }: { label?: string }) { return <b>{label}</b>; });
export const Fancy = forwardRef<HTMLDivElement, { tone?: "x" | "y" }>(function Fancy({ tone = "x" }, ref) {
  return <div ref={ref}>{tone}</div>;
});
export const Styled = styled.div`color: red;`;
export const SIZES = { sm: 1 };
export enum Mode { A, B }
function Inner({ n = 0 }: { n?: number }) { return <i>inner {n}</i>; }
export { Inner as Renamed };
export default Inner;
"#;
const KIT_INDEX: &str =
    "export * from \"./Kit\";\nexport { default as KitDefault } from \"./Kit\";\n";
/// CSF 2 stories through `Template.bind`, `__namedExportsOrder`, a RegExp `excludeStories`, a
/// `!dev` story, spreads of another story and values only known at run time.
const KIT_STORIES: &str = r#"import KitThing from "./Kit";
const Template = (args: { n?: number }) => <KitThing {...args} />;
export default { title: "Kit/Things", component: KitThing, args: { base: 1 }, excludeStories: /Data$/ };
export const First = Template.bind({});
First.args = { n: 1, list: [1, "a", null, { deep: true }], when: new Date(0), icon: <b />, text: `plain` };
First.storyName = "The first";
export const Second = { ...First, args: { ...First.args, n: 2 }, tags: ["!dev"] };
export const Third = { args: { ...First.args, n: 3 } as const };
export const SomeData = {};
export const __namedExportsOrder = ["Third", "First", "SomeData", "Second", "Missing"];
"#;
/// Stories whose meta names no discovered component: a card of their own, named by the title.
const LAB_STORIES: &str = "const Swatch = ({ color }: { color: string }) => <span>{color}</span>;\n\
    export default { title: \"Lab/Swatches\", component: Swatch };\n\
    export const Red = { args: { color: `red` } };\n";

/// The manifest, asked over the socket with `Host: localhost` (as the API does).
async fn manifest(vite: &Vite) -> Value {
    let socket = vite.socket.clone();
    let answer = tokio::task::spawn_blocking(move || unix_http::get(&socket, MANIFEST_PATH))
        .await
        .expect("the request task panicked")
        .expect("no answer from the renderer");
    assert_eq!(answer.status, 200, "{}\n{}", answer.body, vite.output());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    serde_json::from_str(&answer.body).expect("the manifest is not JSON")
}

fn names(manifest: &Value) -> Vec<&str> {
    manifest["components"]
        .as_array()
        .expect("components is a list")
        .iter()
        .map(|component| component["name"].as_str().expect("a name"))
        .collect()
}

fn component<'a>(manifest: &'a Value, name: &str) -> &'a Value {
    manifest["components"]
        .as_array()
        .expect("components is a list")
        .iter()
        .find(|component| component["name"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {manifest:#}"))
}

fn write(checkout: &Path, file: &str, content: &str) {
    let path = checkout.join(file);
    fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
    fs::write(path, content).expect("write the fixture");
}

#[tokio::test]
async fn lists_the_pages_components_with_props_and_stories_and_follows_edits() {
    let checkout = support::sample_checkout("manifest-");
    let root = checkout.path();
    write(root, "src/components/Modal/Modal.tsx", MODAL);
    write(
        root,
        "src/components/Modal/Modal.stories.tsx",
        MODAL_STORIES,
    );
    // Without a default export (meta), a stories file is ignored: Avatar keeps no stories.
    write(
        root,
        "src/components/Avatar.stories.tsx",
        "import { Avatar } from \"./Avatar\";\nexport const Big = () => <Avatar size={80} />;\n",
    );
    write(
        root,
        "src/components/Typo.tsx",
        "export function Typo() {\n  return <div>;\n}\n",
    );
    let prepared = support::prepare(&support::shared_renderer(), &support::spec(root, None)).await;
    let vite = Vite::start(&prepared.launch).await;

    let first = manifest(&vite).await;
    assert_eq!(names(&first), PAGE_COMPONENTS, "{first:#}");
    let badge = component(&first, "Badge");
    assert_eq!(badge["file"], "src/components/Badge/index.tsx");
    assert_eq!(badge["export"], "default");
    assert_eq!(
        component(&first, "InlineAlert")["file"],
        "src/components/Alert.tsx"
    );
    assert_eq!(component(&first, "Avatar")["stories"], json!([]));

    // Meta's args merged under each story's; `Unfinished` (excludeStories) and `DocsOnly`
    // (`!dev`) left out; titled by `name`, else the export in start case; `fn()` is a function.
    let stories = "src/components/Button/Button.stories.tsx";
    let story = |export: &str, name: &str, args: Value| json!({"name": name, "export": export, "file": stories, "args": args});
    assert_eq!(
        component(&first, "Button")["stories"],
        json!([
            story(
                "Default",
                "Default",
                json!({"variant": "primary", "onClick": "[function]"})
            ),
            story(
                "LegacyTemplate",
                "Legacy Template",
                json!({"variant": "secondary", "onClick": "[function]", "children": "Legacy story"})
            ),
            story(
                "LongLabel",
                "Long Label",
                json!({"variant": "primary", "onClick": "[function]", "children": "Save all pending changes"})
            ),
            story(
                "Secondary",
                "Secondary action",
                json!({"variant": "secondary", "onClick": "[function]", "children": "Cancel order"})
            ),
            story(
                "WithLoader",
                "With Loader",
                json!({"variant": "primary", "onClick": "[function]"})
            ),
        ])
    );

    let modal = component(&first, "Modal");
    assert_eq!(modal["file"], "src/components/Modal/Modal.tsx");
    assert_eq!(modal["export"], "Modal");
    assert_eq!(
        modal["props"],
        json!([
            {"name": "open", "type": "boolean", "required": false, "default": "false",
             "description": "Whether the dialog is shown."},
            {"name": "title", "type": "string", "required": false},
            {"name": "children", "type": "ReactNode", "required": false},
            {"name": "onClose", "type": "() => void", "required": false},
        ])
    );
    let modal_stories = "src/components/Modal/Modal.stories.tsx";
    assert_eq!(
        modal["stories"],
        json!([
            {"name": "Closed", "export": "Closed", "file": modal_stories, "args": {"onClose": "[function]"}},
            {"name": "Open", "export": "Open", "file": modal_stories, "args": {
                "onClose": "[function]", "open": true, "title": "Delete file?",
                "children": "This cannot be undone.", "offset": -2}},
        ])
    );
    assert_eq!(
        first["errors"].as_array().map(Vec::len),
        Some(1),
        "{first:#}"
    );
    let error = &first["errors"][0];
    assert_eq!(error["file"], "src/components/Typo.tsx");
    assert_eq!(error["line"], 2, "{error}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{error}"
    );
    // 7 component files, 3 stories files and the preview.
    assert_eq!(first["parsed"], 11, "{first:#}");

    // Nothing changed: nothing is parsed again, and the answer is the same.
    let mut second = manifest(&vite).await;
    assert_eq!(second["parsed"], 0, "{second:#}");
    second["parsed"] = first["parsed"].clone();
    assert_eq!(second, first);

    // A new prop appears in the next answer (no watcher involved); only that file is parsed.
    let edited = MODAL.replace(
        "  onClose?: () => void;\n",
        "  onClose?: () => void;\n  size: \"sm\" | \"lg\";\n",
    );
    write(root, "src/components/Modal/Modal.tsx", &edited);
    let third = manifest(&vite).await;
    assert_eq!(third["parsed"], 1, "{third:#}");
    let props = component(&third, "Modal")["props"]
        .as_array()
        .expect("props is a list");
    assert_eq!(
        props.last(),
        Some(&json!({"name": "size", "type": "\"sm\" | \"lg\"", "required": true}))
    );

    // A stories file whose meta names no discovered component is a card of its own (named after
    // its title), in file order; fixing the broken file clears its error and adds its component.
    write(root, "src/components/Lab/Lab.stories.tsx", LAB_STORIES);
    write(
        root,
        "src/components/Typo.tsx",
        "export function Typo() {\n  return <div />;\n}\n",
    );
    let fourth = manifest(&vite).await;
    assert_eq!(
        names(&fourth),
        [
            "Alert",
            "InlineAlert",
            "Avatar",
            "Badge",
            "Button",
            "Card",
            "Swatches",
            "Modal",
            "Typo"
        ]
    );
    let lab = component(&fourth, "Swatches");
    assert_eq!(lab["export"], Value::Null);
    assert_eq!(lab["file"], "src/components/Lab/Lab.stories.tsx");
    assert_eq!(lab["stories"][0]["args"], json!({"color": "red"}));
    assert_eq!(fourth["errors"], json!([]));

    // A manifest that cannot be built is a 500 with its reason, and the renderer lives on.
    let globs = root.join(".studio/components.json");
    let saved = globs.with_extension("saved");
    fs::rename(&globs, &saved).expect("move components.json away");
    let socket = vite.socket.clone();
    let failed = tokio::task::spawn_blocking(move || unix_http::get(&socket, MANIFEST_PATH))
        .await
        .expect("the request task panicked")
        .expect("no answer from the renderer");
    assert_eq!(failed.status, 500, "{failed:?}");
    let reason: Value = serde_json::from_str(&failed.body).expect("the error is JSON");
    assert!(
        reason["error"]
            .as_str()
            .is_some_and(|e| e.contains("components.json")),
        "{reason}"
    );
    fs::rename(&saved, &globs).expect("restore components.json");
    assert_eq!(names(&manifest(&vite).await).len(), 9);

    vite.stop().await;
}

/// `[name, [[story export, story title]]]` per card, in order.
fn cards(manifest: &Value) -> Value {
    manifest["components"]
        .as_array()
        .expect("components is a list")
        .iter()
        .map(|component| {
            let stories: Vec<Value> = component["stories"]
                .as_array()
                .expect("stories is a list")
                .iter()
                .map(|story| json!([story["export"], story["name"]]))
                .collect();
            json!([component["name"], stories])
        })
        .collect()
}

#[tokio::test]
async fn names_what_the_page_shows_for_tricky_exports_and_stories() {
    let checkout = support::sample_checkout("manifest-page-");
    let root = checkout.path();
    write(root, "src/components/Kit/Kit.tsx", KIT);
    write(root, "src/components/Kit/index.tsx", KIT_INDEX);
    write(root, "src/components/Kit/Kit.stories.tsx", KIT_STORIES);
    write(root, "src/components/Lab/Lab.stories.tsx", LAB_STORIES);
    let prepared = support::prepare(&support::shared_renderer(), &support::spec(root, None)).await;
    let vite = Vite::start(&prepared.launch).await;
    let found = manifest(&vite).await;
    assert_eq!(found["errors"], json!([]), "{found:#}");

    let mut browser = Browser::launch().await;
    browser.open("p", vite.url.as_str()).await;
    browser.wait_ready("p").await;
    assert_eq!(
        browser
            .eval(
                "p",
                "document.querySelectorAll('[data-studio-broken-file]').length"
            )
            .await,
        0,
        "{}",
        browser.eval("p", "document.body.innerText").await
    );
    let shown = browser
        .eval(
            "p",
            "[...document.querySelectorAll('[data-studio-component]')].map(card => [card.dataset.studioComponent, \
             [...card.querySelectorAll('[data-studio-story]')].map(s => [s.dataset.studioStory, s.dataset.studioStoryTitle])])",
        )
        .await;
    assert_eq!(cards(&found), shown);
    // Pinned too, so that the page and the manifest cannot drift apart together unnoticed.
    let kit = |name: &str| json!([name, []]);
    let kit_stories = json!([["Third", "Third"], ["First", "The first"]]);
    let expected = json!([
        ["Alert", []],
        ["InlineAlert", []],
        ["Avatar", []],
        ["Badge", []],
        [
            "Button",
            [
                ["Default", "Default"],
                ["LegacyTemplate", "Legacy Template"],
                ["LongLabel", "Long Label"],
                ["Secondary", "Secondary action"],
                ["WithLoader", "With Loader"]
            ]
        ],
        ["Card", []],
        kit("Fancy"),
        kit("Memoed"),
        ["Renamed", kit_stories],
        kit("Styled"),
        kit("Fancy"),
        kit("KitDefault"),
        kit("Memoed"),
        kit("Renamed"),
        kit("Styled"),
        ["Swatches", [["Red", "Red"]]],
    ]);
    assert_eq!(cards(&found), expected);

    let renamed = component(&found, "Renamed");
    assert_eq!(
        renamed["stories"][0]["args"],
        json!({"base": 1, "n": 3, "list": [1, "a", null, {"deep": true}], "when": "[unknown]",
               "icon": "[unknown]", "text": "plain"})
    );
    assert_eq!(
        renamed["props"],
        json!([{"name": "n", "type": "number", "required": false, "default": "0"}])
    );
    // The index file's re-export is documented where it is declared.
    let fancies: Vec<&Value> = found["components"]
        .as_array()
        .expect("components is a list")
        .iter()
        .filter(|component| component["name"] == "Fancy")
        .collect();
    assert_eq!(fancies[1]["file"], "src/components/Kit/index.tsx");
    assert_eq!(fancies[0]["props"], fancies[1]["props"]);
    assert_eq!(
        fancies[0]["props"],
        json!([{"name": "tone", "type": "\"x\" | \"y\"", "required": false, "default": "\"x\""}])
    );

    browser.close().await;
    vite.stop().await;
}
