//! The store's shared suite. Every case is an `async fn(&TestDb)` written once and run twice:
//! as `sqlite::<case>` on a fresh SQLite file and as `postgres::<case>` on a fresh PostgreSQL
//! database (see `support`). Tests that concern one backend, or the start-up errors, live in
//! `startup` and `durability`.

mod access;
mod commits;
mod durability;
mod events;
mod migrations;
mod sandboxes;
mod startup;
mod status_events;
mod support;

/// Generates `sqlite::$case` and `postgres::$case` for each `$module::$case`. The database is
/// dropped even when the case panics; the panic is then re-raised.
macro_rules! shared_suite {
    ($($module:ident :: $case:ident),* $(,)?) => {
        shared_suite!(@backend sqlite, Sqlite, $($module::$case),*);
        shared_suite!(@backend postgres, Postgres, $($module::$case),*);
    };
    (@backend $backend:ident, $kind:ident, $($module:ident :: $case:ident),*) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = crate::support::TestDb::create(crate::support::Kind::$kind).await;
                    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                        crate::$module::$case(&db),
                    ))
                    .await;
                    db.destroy().await;
                    if let Err(panic) = outcome {
                        std::panic::resume_unwind(panic);
                    }
                }
            )*
        }
    };
}

shared_suite!(
    migrations::migrations_apply_to_an_empty_database_and_are_idempotent,
    access::preview_epochs_count_up_and_survive_a_restart,
    access::a_link_nonce_is_used_once_until_it_expires,
    access::tokens_are_listed_found_by_hash_revoked_and_deleted_with_their_sandbox,
    migrations::an_edited_migration_stops_start_up,
    migrations::the_renderer_sockets_migration_drops_the_port_registry,
    sandboxes::a_sandbox_round_trips_every_field_across_a_restart,
    sandboxes::duplicates_and_unknown_sandboxes_are_reported,
    sandboxes::terminal_statuses_stamp_finished_at_once,
    sandboxes::list_filters_by_status_oldest_first,
    sandboxes::activity_only_moves_forward,
    sandboxes::delete_removes_commits_and_events,
    sandboxes::concurrent_writers_on_two_stores_never_fail,
    commits::commits_keep_their_order_and_rollback_marks,
    events::event_seqs_are_gap_free_under_50_concurrent_appenders,
    events::event_seqs_survive_restarts_and_pruning,
    events::events_since_pages_in_order,
    status_events::a_status_and_its_event_are_stored_together_in_seq_order,
    status_events::a_status_whose_event_fails_is_not_stored,
);
