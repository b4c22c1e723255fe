//! The component manifest: `GET /api/v1/sandboxes/{id}/components`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What the open renderer pages last said of a component or story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RenderStateView {
    /// No open page has reported it (or none is open).
    Pending,
    Rendered,
    Error,
}

/// Why a component or story is `error`, and where: the source file and line (through the
/// renderer's source maps), or the file that failed to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComponentErrorView {
    pub message: String,
    /// Repository-relative.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// A prop, from the component's TypeScript types or propTypes (react-docgen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PropView {
    pub name: String,
    /// The type as written, e.g. `"primary" | "secondary"`.
    #[serde(rename = "type")]
    pub type_name: String,
    pub required: bool,
    /// The default value's source text, when the component has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One story of a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoryView {
    /// As Storybook titles it (its `name`, else the export name in start case).
    pub name: String,
    /// The export name: the preview's `?component=<name>&story=<export>` shows it alone.
    pub export: String,
    /// The stories file.
    pub file: String,
    /// `meta.args` merged with the story's args, as far as they are literal values (a function
    /// is `"[function]"`, anything else not literal `"[unknown]"`).
    #[schema(value_type = Object)]
    pub args: Map<String, Value>,
    pub state: RenderStateView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ComponentErrorView>,
}

/// One component, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentView {
    /// The name the preview gives it (`?component=<name>`): the export, or the file's name for a
    /// default export.
    pub name: String,
    /// Repository-relative.
    pub file: String,
    /// The export (`default` for a default export); `null` for a card made of a stories file whose
    /// component is not in a component file (the preview shows its stories all the same).
    pub export: Option<String>,
    /// Its stories, if a stories file names it; shown instead of the bare component.
    pub stories: Vec<StoryView>,
    pub props: Vec<PropView>,
    /// With stories: `error` if any failed, `rendered` once all did, else `pending`.
    pub state: RenderStateView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ComponentErrorView>,
}

/// A file the renderer could not analyse (it may still render, or show its error on the page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManifestProblemView {
    /// `null` when the problem is not one file's (the list was cut at 2,000 files).
    pub file: Option<String>,
    pub message: String,
}

/// `GET /api/v1/sandboxes/{id}/components`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentList {
    pub components: Vec<ComponentView>,
    /// Files that could not be analysed.
    pub errors: Vec<ManifestProblemView>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    #[test]
    fn a_component_with_a_failed_story() {
        let error = ComponentErrorView {
            message: "Error: boom".into(),
            file: "src/Button.tsx".into(),
            line: Some(4),
        };
        let view = ComponentView {
            name: "Button".into(),
            file: "src/Button.tsx".into(),
            export: Some("Button".into()),
            stories: vec![StoryView {
                name: "Primary".into(),
                export: "Primary".into(),
                file: "src/Button.stories.tsx".into(),
                args: json!({"label": "Go"}).as_object().cloned().unwrap(),
                state: RenderStateView::Error,
                error: Some(error.clone()),
            }],
            props: vec![PropView {
                name: "label".into(),
                type_name: "string".into(),
                required: true,
                default: None,
                description: None,
            }],
            state: RenderStateView::Error,
            error: Some(error),
        };
        let error_json = json!({"message": "Error: boom", "file": "src/Button.tsx", "line": 4});
        check(
            &view,
            json!({
                "name": "Button", "file": "src/Button.tsx", "export": "Button",
                "stories": [{"name": "Primary", "export": "Primary", "file": "src/Button.stories.tsx",
                             "args": {"label": "Go"}, "state": "error", "error": error_json}],
                "props": [{"name": "label", "type": "string", "required": true}],
                "state": "error", "error": error_json,
            }),
        );
        check(&RenderStateView::Pending, json!("pending"));
    }
}
