//! The component manifest: which components and stories a sandbox has, their props, and what the
//! open pages last said about each (see [`crate::component`]).
//!
//! The renderer's Node side lists components, stories and props (`GET /__studio/components` in
//! `studio-template/manifest.mjs`); [`ComponentManifest::apply_states`] adds the states the
//! sandbox's actor keeps. A component with stories is `error` when it or any story failed,
//! `rendered` when every story rendered, else `pending`; one without stories has its own state.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::component::{ComponentReport, ComponentStates, RenderState};

/// `GET /api/v1/sandboxes/{id}/components`, before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentManifest {
    pub components: Vec<ComponentInfo>,
    /// Files the renderer could not analyse (they may still render, or show their error).
    #[serde(default)]
    pub errors: Vec<ManifestProblem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentInfo {
    /// As the page names it: the export, or the file's name for a default export.
    pub name: String,
    pub file: String,
    /// `None` for a card made of a stories file whose component is not one of the component
    /// files (the page shows its stories all the same).
    #[serde(default)]
    pub export: Option<String>,
    #[serde(default)]
    pub props: Vec<PropInfo>,
    #[serde(default)]
    pub stories: Vec<StoryInfo>,
    #[serde(default)]
    pub state: RenderState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ComponentFault>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryInfo {
    /// As Storybook titles it.
    pub name: String,
    /// The story's export: `?component=<name>&story=<export>` shows it alone.
    pub export: String,
    #[serde(default)]
    pub file: String,
    /// `meta.args` ← the story's args, as far as they are literal values.
    #[serde(default)]
    pub args: Map<String, Value>,
    #[serde(default)]
    pub state: RenderState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ComponentFault>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropInfo {
    pub name: String,
    /// The type as written (`"primary" | "secondary"`), or `unknown`.
    #[serde(rename = "type", default = "unknown_type")]
    pub type_name: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn unknown_type() -> String {
    "unknown".to_owned()
}

/// Why a component or story is `error`, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentFault {
    pub message: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestProblem {
    /// `None` when the problem is not one file's (the list was cut).
    #[serde(default)]
    pub file: Option<String>,
    pub message: String,
}

fn state_of(report: Option<ComponentReport>) -> (RenderState, Option<ComponentFault>) {
    match report {
        None => (RenderState::Pending, None),
        Some(report) => (
            report.state,
            (report.state == RenderState::Error).then(|| ComponentFault {
                message: report.message.unwrap_or_default(),
                file: report.file,
                line: report.line,
            }),
        ),
    }
}

impl ComponentManifest {
    /// Fills in every component's and story's state from what the pages reported.
    pub fn apply_states(&mut self, states: &ComponentStates) {
        for component in &mut self.components {
            for story in &mut component.stories {
                (story.state, story.error) =
                    state_of(states.get(&component.name, Some(&story.export)));
            }
            // A file that failed to load is reported for the component itself, stories or not.
            let (own, own_error) = state_of(states.get(&component.name, None));
            (component.state, component.error) = if own == RenderState::Error {
                (own, own_error)
            } else if component.stories.is_empty() {
                (own, None)
            } else if let Some(failed) = component.stories.iter().find(|s| s.error.is_some()) {
                (RenderState::Error, failed.error.clone())
            } else if component
                .stories
                .iter()
                .all(|s| s.state == RenderState::Rendered)
            {
                (RenderState::Rendered, None)
            } else {
                (RenderState::Pending, None)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::component::parse_reports;

    fn manifest() -> ComponentManifest {
        serde_json::from_value(json!({"components": [
            {"name": "Alert", "file": "src/Alert.tsx", "export": "Alert",
             "props": [{"name": "tone", "type": "\"info\" | \"error\"", "required": false}]},
            {"name": "Button", "file": "src/Button.tsx", "export": "Button", "props": [],
             "stories": [{"name": "Primary", "export": "Primary", "file": "src/Button.stories.tsx", "args": {"label": "Go"}},
                         {"name": "Long Label", "export": "LongLabel", "file": "src/Button.stories.tsx", "args": {}}]},
            {"name": "Card", "file": "src/Card.tsx", "export": "Card"}
        ], "parsed": 3}))
        .unwrap()
    }

    fn states(reports: Value) -> ComponentStates {
        let mut states = ComponentStates::default();
        for report in parse_reports(&json!({ "states": reports })).unwrap() {
            states.apply(1, report).unwrap();
        }
        states
    }

    #[test]
    fn nothing_reported_is_pending() {
        let mut m = manifest();
        m.apply_states(&ComponentStates::default());
        assert!(m.components.iter().all(|c| c.state == RenderState::Pending));
        assert_eq!(m.components[0].props[0].type_name, "\"info\" | \"error\"");
        assert_eq!(
            serde_json::to_value(&m.components[2]).unwrap(),
            json!({"name": "Card", "file": "src/Card.tsx", "export": "Card", "props": [], "stories": [], "state": "pending"})
        );
        let odd: ComponentManifest = serde_json::from_value(json!({
            "components": [{"name": "Orphan", "file": "src/Orphan.stories.tsx", "export": null}],
            "errors": [{"file": null, "message": "cut at 2000 files"}]
        }))
        .unwrap();
        assert_eq!(
            (
                odd.components[0].export.as_deref(),
                odd.errors[0].file.as_deref()
            ),
            (None, None)
        );
    }

    #[test]
    fn stories_decide_their_component() {
        let mut m = manifest();
        m.apply_states(&states(json!([
            {"component": "Alert", "state": "rendered", "file": "src/Alert.tsx"},
            {"component": "Button", "story": "Primary", "state": "rendered", "file": "src/Button.stories.tsx"},
        ])));
        assert_eq!(m.components[0].state, RenderState::Rendered);
        // One story of two rendered: the component is not known to render yet.
        assert_eq!(m.components[1].state, RenderState::Pending);
        assert_eq!(m.components[1].stories[0].state, RenderState::Rendered);

        m.apply_states(&states(json!([
            {"component": "Button", "story": "Primary", "state": "rendered", "file": "src/Button.stories.tsx"},
            {"component": "Button", "story": "LongLabel", "state": "error", "file": "src/Button.tsx", "line": 7, "message": "TypeError: x"},
        ])));
        let button = &m.components[1];
        assert_eq!(button.state, RenderState::Error);
        let fault = ComponentFault {
            message: "TypeError: x".into(),
            file: "src/Button.tsx".into(),
            line: Some(7),
        };
        assert_eq!(button.error.as_ref(), Some(&fault));
        assert_eq!(button.stories[1].error.as_ref(), Some(&fault));

        m.apply_states(&states(json!([
            {"component": "Button", "story": "Primary", "state": "rendered", "file": "src/Button.stories.tsx"},
            {"component": "Button", "story": "LongLabel", "state": "rendered", "file": "src/Button.stories.tsx"},
        ])));
        assert_eq!(m.components[1].state, RenderState::Rendered);
        assert_eq!(m.components[1].error, None);
    }

    #[test]
    fn a_broken_file_breaks_its_component_with_stories_too() {
        let mut m = manifest();
        m.apply_states(&states(json!([
            {"component": "Button", "story": "Primary", "state": "rendered", "file": "src/Button.stories.tsx"},
            {"component": "Button", "story": "LongLabel", "state": "rendered", "file": "src/Button.stories.tsx"},
            {"component": "Button", "state": "error", "file": "src/Button.tsx", "line": 2, "message": "SyntaxError"},
        ])));
        assert_eq!(m.components[1].state, RenderState::Error);
        assert_eq!(m.components[1].error.as_ref().unwrap().line, Some(2));
    }
}
