//! Writes on SQLite that change a sandbox's status and its event stream together: the event
//! append (its `seq` taken in the same transaction as the insert) and the status change that
//! commits with its `status` event. The [`Store`](crate::Store) methods of `queries.rs` call these.

use serde_json::Value;
use sqlx::SqliteConnection;
use sqlx::types::Json;
use studio_core::{Event, EventKind, SandboxId, SandboxStatus};
use time::OffsetDateTime;

use super::{SqliteStore, ts};
use crate::error::{Result, StoreError};

impl SqliteStore {
    pub(super) async fn append_event_tx(
        &self,
        id: &SandboxId,
        kind: EventKind,
        payload: Value,
    ) -> Result<Event> {
        let mut tx = self.begin_write().await?;
        let event = append_in(&mut tx, id, kind, payload).await?;
        tx.commit().await?;
        Ok(event)
    }

    pub(super) async fn status_with_event(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
        payload: Value,
    ) -> Result<Event> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sandboxes SET status = $2, \
               finished_at = CASE WHEN $3 THEN COALESCE(finished_at, $4) ELSE finished_at END \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(status.is_terminal())
        .bind(ts(at)?)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::SandboxNotFound(id.clone()));
        }
        let event = append_in(&mut tx, id, EventKind::Status, payload).await?;
        // Dropping the transaction on any error above rolls the status back with the event.
        tx.commit().await?;
        Ok(event)
    }
}

/// Takes the next `seq` and inserts the event inside the caller's transaction: a failed insert
/// rolls the counter back too, so the sequence never has a gap.
async fn append_in(
    conn: &mut SqliteConnection,
    id: &SandboxId,
    kind: EventKind,
    payload: Value,
) -> Result<Event> {
    let now = ts(OffsetDateTime::now_utc())?;
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE sandboxes SET next_event_seq = next_event_seq + 1 WHERE id = $1 \
         RETURNING next_event_seq - 1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let seq = seq.ok_or_else(|| StoreError::SandboxNotFound(id.clone()))?;
    sqlx::query(
        "INSERT INTO events (sandbox_id, seq, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(seq)
    .bind(kind.as_str())
    .bind(Json(&payload))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let seq = u64::try_from(seq).map_err(|e| crate::error::corrupt("event seq", e))?;
    Ok(Event { kind, payload, seq })
}
