//! `GET /api/v1/sandboxes/{id}/components`: the component manifest. The list, stories and props
//! come from the renderer, the states from what open pages reported (`Manager::components`).

use axum::Json;
use axum::extract::State;
use studio_core::component::RenderState;
use studio_core::manifest::{ComponentFault, ComponentInfo, ComponentManifest, StoryInfo};
use studio_wire::{
    ComponentErrorView, ComponentList, ComponentView, ErrorBody, ManifestProblemView, PropView,
    RenderStateView, StoryView,
};

use crate::error::ApiError;
use crate::json::PathParam;
use crate::state::AppState;

/// The sandbox's components as the preview shows them: each with its file, export, stories (with
/// their args), props (from its TypeScript types), and whether it rendered on an open page.
#[utoipa::path(get, path = "/api/v1/sandboxes/{id}/components", tag = "components",
    params(("id" = String, Path, description = "sb_<hex>")),
    responses(
        (status = 200, body = ComponentList),
        (status = 404, description = "`sandbox_not_found`", body = ErrorBody),
        (status = 409, description = "`renderer_not_running` (stopped: start it), `sandbox_not_active` (expired, finalized, deleted)", body = ErrorBody),
        (status = 502, description = "`renderer_failed`: the renderer did not answer (the message says why)", body = ErrorBody),
    ))]
pub async fn components(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<ComponentList>, ApiError> {
    let manifest = state.manager.components(&id).await?;
    Ok(Json(list_view(manifest)))
}

fn list_view(manifest: ComponentManifest) -> ComponentList {
    ComponentList {
        components: manifest
            .components
            .into_iter()
            .map(component_view)
            .collect(),
        errors: manifest
            .errors
            .into_iter()
            .map(|p| ManifestProblemView {
                file: p.file,
                message: p.message,
            })
            .collect(),
    }
}

fn component_view(c: ComponentInfo) -> ComponentView {
    ComponentView {
        name: c.name,
        file: c.file,
        export: c.export,
        stories: c.stories.into_iter().map(story_view).collect(),
        props: c
            .props
            .into_iter()
            .map(|p| PropView {
                name: p.name,
                type_name: p.type_name,
                required: p.required,
                default: p.default,
                description: p.description,
            })
            .collect(),
        state: state_view(c.state),
        error: c.error.map(error_view),
    }
}

fn story_view(s: StoryInfo) -> StoryView {
    StoryView {
        name: s.name,
        export: s.export,
        file: s.file,
        args: s.args,
        state: state_view(s.state),
        error: s.error.map(error_view),
    }
}

fn state_view(state: RenderState) -> RenderStateView {
    match state {
        RenderState::Pending => RenderStateView::Pending,
        RenderState::Rendered => RenderStateView::Rendered,
        RenderState::Error => RenderStateView::Error,
    }
}

fn error_view(e: ComponentFault) -> ComponentErrorView {
    ComponentErrorView {
        message: e.message,
        file: e.file,
        line: e.line,
    }
}
