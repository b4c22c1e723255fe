//! The file API through the real server: `GET …/files` lists a directory of the checkout (what the
//! path guard refuses hidden), `GET …/files/{path}` reads a file with its git blob id, both under
//! the guard of writes; `execute`'s `expected_hash` refuses a stale edit with `409 stale_file` and
//! writes nothing; a scoped token reaches its own sandbox's files only.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;
use support::api::Api;

const TOKEN: &str = "e2e-files-token-8a41c09e";
const BUTTON: &str = "src/components/Button/Button.tsx";

/// What `git hash-object` prints for these bytes.
fn git_blob_id(bytes: &[u8]) -> String {
    let mut git = Command::new("git")
        .args(["hash-object", "--no-filters", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    git.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = git.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn names(list: &Value) -> Vec<String> {
    list["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries: {list}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(api: &Api, id: &str, path: Option<&str>) -> Value {
    let query = path.map(|p| format!("?path={p}")).unwrap_or_default();
    api.get(&format!("/api/v1/sandboxes/{id}/files{query}"))
        .await
        .expect(200)
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_listed_and_read_under_the_path_guard_and_stale_edits_are_refused() {
    let remote = Remote::new().await;
    let data = DataDir::new("files-");
    let studio = Studio::start(&ServerConfig::new(&data).api_token(TOKEN));
    let api = studio.api();
    let url = remote.url();
    let (ours, other) = tokio::join!(api.create_ok(&url), api.create_ok(&url));
    let id = ours["sandbox_id"].as_str().unwrap().to_owned();
    let other_id = other["sandbox_id"].as_str().unwrap().to_owned();
    let files = format!("/api/v1/sandboxes/{id}/files");
    let repo = PathBuf::from(&studio.config.data_dir)
        .join("sandboxes")
        .join(&id)
        .join("repo");
    assert!(
        repo.join(BUTTON).is_file(),
        "no checkout at {}",
        repo.display()
    );

    // --- the root: directories first, then files; git's and Studio's folders hidden ---
    let root = list(&api, &id, None).await;
    let root_names = names(&root);
    for hidden in [".git", ".studio"] {
        assert!(
            repo.join(hidden).exists(),
            "{hidden} is in the checkout, so hiding it is tested"
        );
    }
    for hidden in [".git", ".studio", "node_modules"] {
        assert!(!root_names.contains(&hidden.to_owned()), "{root_names:?}");
    }
    assert!(root_names.contains(&"src".to_owned()), "{root_names:?}");
    let entries = root["entries"].as_array().unwrap();
    let manifest = entries
        .iter()
        .find(|e| e["name"] == "package.json")
        .unwrap();
    assert_eq!(manifest["kind"], "file");
    assert_eq!(manifest["path"], "package.json");
    assert_eq!(
        manifest["size"].as_u64().unwrap(),
        std::fs::metadata(repo.join("package.json")).unwrap().len()
    );
    let src = entries.iter().find(|e| e["name"] == "src").unwrap();
    assert_eq!(src["kind"], "dir");
    assert!(src.get("size").is_none(), "a directory has no size: {src}");
    let first_file = entries.iter().position(|e| e["kind"] == "file").unwrap();
    assert!(
        entries[first_file..].iter().all(|e| e["kind"] == "file"),
        "directories first: {root}"
    );
    assert_eq!(list(&api, &id, Some("")).await, root);
    assert_eq!(list(&api, &id, Some(".")).await, root);

    // --- a directory ---
    let button_dir = list(&api, &id, Some("src/components/Button")).await;
    assert_eq!(
        names(&button_dir),
        ["Button.module.css", "Button.stories.tsx", "Button.tsx"]
    );
    assert_eq!(button_dir["entries"][2]["path"], BUTTON);

    // --- a file, with its git blob id ---
    let read = api.get(&format!("{files}/{BUTTON}")).await;
    let read = read.expect(200).clone();
    let bytes = std::fs::read(repo.join(BUTTON)).unwrap();
    assert_eq!(read["path"], BUTTON);
    assert_eq!(read["content"].as_str().unwrap().as_bytes(), bytes);
    assert_eq!(read["size"].as_u64().unwrap(), bytes.len() as u64);
    let hash = read["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash, git_blob_id(&bytes));
    // Equal to the blob git committed for it.
    let committed = Command::new("git")
        .args(["rev-parse", &format!("HEAD:{BUTTON}")])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&committed.stdout).trim(), hash);

    // --- the guard: refused with its code, as for writes ---
    for (path, code) in [
        ("..", "path_outside_repo"),
        ("src/../..", "path_outside_repo"),
        (".git", "path_in_git_dir"),
        ("node_modules", "path_generated"),
        (".studio", "path_generated"),
    ] {
        api.get(&format!("{files}?path={path}"))
            .await
            .expect_error(400, code);
    }
    for (path, code) in [
        // `%2F`: a client's URL parser would resolve a literal `..` segment before sending it.
        ("..%2Fetc%2Fpasswd", "path_outside_repo"),
        (".git/HEAD", "path_in_git_dir"),
        ("node_modules/react/package.json", "path_generated"),
        (".studio/main.tsx", "path_generated"),
    ] {
        api.get(&format!("{files}/{path}"))
            .await
            .expect_error(400, code);
    }
    // A link that leads out of the checkout is neither read nor listed.
    std::os::unix::fs::symlink("/etc/hostname", repo.join("src/leak.txt")).unwrap();
    api.get(&format!("{files}/src/leak.txt"))
        .await
        .expect_error(400, "path_symlink_escape");
    assert!(!names(&list(&api, &id, Some("src")).await).contains(&"leak.txt".to_owned()));
    std::fs::remove_file(repo.join("src/leak.txt")).unwrap();

    // --- missing, a directory read, a file listed ---
    api.get(&format!("{files}/src/components/Missing.tsx"))
        .await
        .expect_error(404, "file_not_found");
    api.get(&format!("{files}?path=src/missing"))
        .await
        .expect_error(404, "file_not_found");
    api.get(&format!("{files}/src/components"))
        .await
        .expect_error(422, "path_is_directory");
    api.get(&format!("{files}?path={BUTTON}"))
        .await
        .expect_error(422, "not_a_directory");

    // --- expected_hash: the right one writes, a stale one is 409 and writes nothing ---
    let edited = "export function Button() {\n  return <button>Edited</button>;\n}\n";
    let write = |content: &str, expected: &str| {
        json!({"command": "write_file", "file_path": BUTTON, "content": content,
               "description": "checked edit", "expected_hash": expected})
    };
    api.execute(&id, &write(edited, &hash)).await.commit_hash();
    let now = api.get(&format!("{files}/{BUTTON}")).await;
    let new_hash = now.expect(200)["hash"].as_str().unwrap().to_owned();
    assert_eq!(new_hash, git_blob_id(edited.as_bytes()));
    let message = api
        .execute(&id, &write("export const Lost = 1;\n", &hash))
        .await
        .expect_error(409, "stale_file");
    assert!(
        message.contains(BUTTON) && message.contains(&hash) && message.contains(&new_hash),
        "the message names the path and both hashes: {message}"
    );
    assert_eq!(std::fs::read_to_string(repo.join(BUTTON)).unwrap(), edited);
    // A delete checks it too; a file that does not exist is stale when a hash is expected.
    api.execute(
        &id,
        &json!({"command": "delete_file", "file_path": BUTTON, "expected_hash": hash}),
    )
    .await
    .expect_error(409, "stale_file");
    assert!(repo.join(BUTTON).is_file());
    api.execute(
        &id,
        &json!({"command": "write_file", "file_path": "src/New.tsx", "content": "x",
                "expected_hash": hash}),
    )
    .await
    .expect_error(409, "stale_file");
    assert!(!repo.join("src/New.tsx").exists());
    api.execute(&id, &write(edited, "not-a-hash"))
        .await
        .expect_error(422, "invalid_expected_hash");

    // --- a scoped token: its own sandbox's files, no other sandbox's ---
    let made = api
        .raw("POST", &format!("/api/v1/sandboxes/{id}/tokens"), None)
        .await;
    let scoped = api.with_token(Some(made.expect(201)["token"].as_str().unwrap()));
    assert_eq!(list(&scoped, &id, None).await, root);
    scoped.get(&format!("{files}/{BUTTON}")).await.expect(200);
    for path in [
        format!("/api/v1/sandboxes/{other_id}/files"),
        format!("/api/v1/sandboxes/{other_id}/files/{BUTTON}"),
    ] {
        scoped
            .get(&path)
            .await
            .expect_error(404, "sandbox_not_found");
    }
    api.get(&format!("/api/v1/sandboxes/{other_id}/files/{BUTTON}"))
        .await
        .expect(200);

    // --- no checkout any more: 404 once the sandbox is gone ---
    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    api.get(&files).await.expect_error(404, "sandbox_not_found");
    api.delete(&format!("/api/v1/sandboxes/{other_id}"))
        .await
        .expect(204);
}
