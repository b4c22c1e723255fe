//! The JSON shapes of Studio's API: what clients send and what the server answers, defined once
//! for the server, the CLI and the OpenAPI description.
//!
//! `docs/api.md` documents every shape here. They derive `ToSchema`, so `/api/v1/openapi.json` is
//! generated from the same definitions the handlers answer with and the CLI reads. Requests reject
//! unknown fields, so a typo such as `"comit_hash"` is an error that names the field instead of a
//! silently ignored key; responses accept them, so an older client never fails on a newer server's
//! answer.
//!
//! * [`sandbox`]: create, status and list bodies;
//! * [`access`]: preview links and scoped tokens;
//! * [`edit`]: execute, rollback and finalize bodies;
//! * [`files`]: listing and reading a sandbox's files;
//! * [`components`]: the component manifest;
//! * [`logs`]: renderer output, whole or streamed;
//! * [`event`]: WebSocket messages;
//! * [`error`]: the `{"error", "code"}` body of every failure.

pub mod access;
pub mod components;
pub mod edit;
pub mod error;
pub mod event;
pub mod files;
pub mod logs;
pub mod sandbox;

pub use access::{
    CreateTokenRequest, PreviewLinkRequest, PreviewLinkResponse, TokenCreated, TokenList, TokenView,
};
pub use components::{
    ComponentErrorView, ComponentList, ComponentView, ManifestProblemView, PropView,
    RenderStateView, StoryView,
};
pub use edit::{
    ExecuteCommand, ExecuteRequest, ExecuteResponse, FinalizeRequest, FinalizeResponse,
    RollbackRequest, RollbackResponse,
};
pub use error::ErrorBody;
pub use event::EventMessage;
pub use files::{FileContent, FileEntry, FileKind, FileList};
pub use logs::{LogLineView, LogRecord, LogsResponse};
pub use sandbox::{
    CommitView, CreateSandboxRequest, CreateSandboxResponse, OneOrMany, ResourcesView, SandboxList,
    SandboxView,
};

#[cfg(test)]
pub(crate) mod roundtrip {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// Serialises `value`, checks the JSON is `expected` (the field names `docs/api.md` gives),
    /// and that reading it back gives `value` again.
    pub fn check<T>(value: &T, expected: serde_json::Value)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_value(value).expect("serialises");
        assert_eq!(json, expected);
        let back: T = serde_json::from_value(json).expect("deserialises");
        assert_eq!(&back, value);
        let text = serde_json::to_string(value).expect("serialises to text");
        let back: T = serde_json::from_str(&text).expect("deserialises from text");
        assert_eq!(&back, value);
    }
}
