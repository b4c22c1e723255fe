//! Reading a sandbox's files: `GET /api/v1/sandboxes/{id}/files` and `…/files/{path}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `kind` of a listed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileEntry {
    /// The name in its directory.
    pub name: String,
    /// Relative to the repository root: what the read route and `execute` take.
    pub path: String,
    pub kind: FileKind,
    /// Bytes of a file; absent for a directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `GET /api/v1/sandboxes/{id}/files?path=dir`: directories first, then files, each by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileList {
    pub entries: Vec<FileEntry>,
}

/// `GET /api/v1/sandboxes/{id}/files/{path}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileContent {
    /// The normalized path relative to the repository root.
    pub path: String,
    /// The file's text (UTF-8).
    pub content: String,
    /// The content's git blob id (`git hash-object`), 40 hex digits: `expected_hash` of an edit.
    pub hash: String,
    /// Bytes.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    #[test]
    fn file_kind_spelling() {
        check(&FileKind::File, json!("file"));
        check(&FileKind::Dir, json!("dir"));
    }

    #[test]
    fn file_list_sizes_only_files() {
        let list = FileList {
            entries: vec![
                FileEntry {
                    name: "components".into(),
                    path: "src/components".into(),
                    kind: FileKind::Dir,
                    size: None,
                },
                FileEntry {
                    name: "index.ts".into(),
                    path: "src/index.ts".into(),
                    kind: FileKind::File,
                    size: Some(42),
                },
            ],
        };
        check(
            &list,
            json!({"entries": [
                {"name": "components", "path": "src/components", "kind": "dir"},
                {"name": "index.ts", "path": "src/index.ts", "kind": "file", "size": 42},
            ]}),
        );
    }

    #[test]
    fn file_content() {
        let file = FileContent {
            path: "src/index.ts".into(),
            content: "export {}\n".into(),
            hash: "8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345".into(),
            size: 10,
        };
        check(
            &file,
            json!({"path": "src/index.ts", "content": "export {}\n",
                   "hash": "8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345", "size": 10}),
        );
    }
}
