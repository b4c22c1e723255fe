//! Schema migrations: from empty, idempotent, and refusing a database that diverged.

use studio_store::{MigrationInfo, StoreError};

use crate::support::{TestDb, insert_sandbox};

pub async fn migrations_apply_to_an_empty_database_and_are_idempotent(db: &TestDb) {
    let first = studio_store::migrate(&db.url)
        .await
        .expect("migrate an empty database");
    // Later migrations may follow; these come first, in order.
    assert_eq!(
        first.applied[..2],
        [
            MigrationInfo {
                version: 1,
                description: "initial".into()
            },
            MigrationInfo {
                version: 2,
                description: "renderer sockets".into()
            }
        ]
    );
    let latest = first.applied.last().map(|m| m.version);
    assert_eq!(first.schema_version, latest);

    let second = studio_store::migrate(&db.url).await.expect("migrate again");
    assert!(
        second.applied.is_empty(),
        "nothing left to apply: {second:?}"
    );
    assert_eq!(second.schema_version, latest);

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

/// Renderers serve on Unix sockets since migration 2: no port is leased, the registry is gone.
/// (A sandbox row keeps its `renderer_port`: that is how an old sandbox is recognised.)
pub async fn the_renderer_sockets_migration_drops_the_port_registry(db: &TestDb) {
    studio_store::migrate(&db.url).await.expect("migrate");
    let err = db
        .try_execute_raw("SELECT port FROM port_leases")
        .await
        .expect_err("port_leases is gone");
    assert!(err.contains("port_leases"), "{err}");
    db.try_execute_raw("SELECT renderer_port FROM sandboxes")
        .await
        .expect("renderer_port stays");
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
