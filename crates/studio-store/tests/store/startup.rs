//! Databases that cannot be opened stop start-up with a message naming the URL (password
//! redacted) and the reason.

use serde_json::json;
use studio_core::EventKind;
use studio_store::StoreError;

use crate::support::{Kind, TestDb, insert_sandbox, postgres_admin_url};

async fn open_error(url: &str) -> StoreError {
    match studio_store::connect(url).await {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_names_the_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir");
    let url = studio_store::default_sqlite_url(&missing);
    let err = open_error(&url).await;
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!missing.exists(), "nothing was created");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = b"these are somebody's notes, not a database\n".repeat(200);
    std::fs::write(dir.path().join("studio.db"), &garbage).expect("write");
    let url = studio_store::default_sqlite_url(dir.path());
    let err = open_error(&url).await;
    let message = err.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("not a database"), "{message}");
    assert_eq!(
        std::fs::read(dir.path().join("studio.db")).expect("read"),
        garbage,
        "the file is untouched"
    );
}

#[tokio::test]
async fn unreachable_postgres_is_reported_without_the_password() {
    // A port nobody listens on: bound, then released.
    let port = studio_testkit::ports::free_port();
    let url = format!("postgres://studio:hunter2@127.0.0.1:{port}/studio");
    let err = open_error(&url).await;
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("postgres://studio:***@127.0.0.1:{port}/studio")),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        !format!("{err:?}").contains("hunter2"),
        "Debug leaks: {err:?}"
    );
    assert!(
        message.to_lowercase().contains("refused"),
        "says why: {message}"
    );
}

#[tokio::test]
async fn a_missing_postgres_database_is_named() {
    let mut url = url::Url::parse(&postgres_admin_url()).expect("admin URL");
    url.set_path("/studio_no_such_database");
    let _ = url.set_password(Some("s3cret"));
    let err = open_error(url.as_str()).await;
    let message = err.to_string();
    assert!(message.contains("studio_no_such_database"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn unsupported_urls_are_rejected_with_the_password_redacted() {
    for url in ["mysql://root:pw123@db/studio", "studio.db", ""] {
        let err = open_error(url).await;
        assert!(
            matches!(err, StoreError::UnsupportedUrl { .. }),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("pw123"), "{err}");
    }
}

/// `sqlite::memory:` works (one connection serves reads and writes), e.g. for throwaway runs.
#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = studio_store::connect("sqlite::memory:")
        .await
        .expect("in-memory");
    let id = insert_sandbox(&*store).await;
    let ev = store
        .append_event(&id, EventKind::Reload, json!({}))
        .await
        .expect("append");
    assert_eq!(ev.seq, 1);
    assert_eq!(
        store.events_since(&id, 0, 10).await.expect("read"),
        vec![ev]
    );
    store.close().await;
}

/// The store keeps no copy of the URL that `{:?}` could print.
#[tokio::test]
async fn a_postgres_store_never_prints_its_password() {
    let db = TestDb::create(Kind::Postgres).await;
    // The test cluster trusts local connections, so any password is accepted.
    let mut url = url::Url::parse(&db.url).expect("test database URL");
    if url.username().is_empty() {
        let _ = url.set_username("postgres");
    }
    let _ = url.set_password(Some("hunter2-in-url"));
    let store = studio_store::connect(url.as_str()).await.expect("connect");
    let debug = format!("{store:?}");
    store.close().await;
    db.destroy().await;
    assert!(!debug.contains("hunter2-in-url"), "{debug}");
}
