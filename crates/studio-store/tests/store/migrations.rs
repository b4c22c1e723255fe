//! Schema migrations: from empty, idempotent, and refusing a database that diverged.

use studio_store::{MigrationInfo, StoreError};

use crate::support::{TestDb, insert_sandbox};

pub async fn migrations_apply_to_an_empty_database_and_are_idempotent(db: &TestDb) {
    let first = studio_store::migrate(&db.url)
        .await
        .expect("migrate an empty database");
    assert_eq!(
        first.applied,
        vec![MigrationInfo {
            version: 1,
            description: "initial".into()
        }]
    );
    assert_eq!(first.schema_version, Some(1));

    let second = studio_store::migrate(&db.url).await.expect("migrate again");
    assert!(
        second.applied.is_empty(),
        "nothing left to apply: {second:?}"
    );
    assert_eq!(second.schema_version, Some(1));

    // connect() migrates too (a no-op now), and the schema works.
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    assert!(store.get_sandbox(&id).await.expect("get").is_some());
    store.close().await;
    let third = studio_store::migrate(&db.url)
        .await
        .expect("migrate a used database");
    assert!(third.applied.is_empty());
}

/// A migration changed after it was applied means the code and the database disagree about the
/// schema: start-up must stop and say so, naming the database.
pub async fn an_edited_migration_stops_start_up(db: &TestDb) {
    studio_store::migrate(&db.url).await.expect("migrate");
    db.execute_raw("UPDATE _sqlx_migrations SET checksum = substr(checksum, 2) WHERE version = 1")
        .await;
    let err = studio_store::connect(&db.url)
        .await
        .expect_err("diverged schema");
    assert!(matches!(err, StoreError::Migrate { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&db.url), "names the database: {message}");
    assert!(message.contains("modified"), "says why: {message}");
}
