//! The status change that commits with its `status` event, on PostgreSQL. The
//! [`Store`](crate::Store) method of `queries.rs` calls this.

use serde_json::Value;
use sqlx::types::Json;
use studio_core::{Event, EventKind, SandboxId, SandboxStatus};
use time::OffsetDateTime;

use super::PgStore;
use crate::error::{Result, StoreError};

impl PgStore {
    pub(super) async fn status_with_event(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
        payload: Value,
    ) -> Result<Event> {
        // One statement, so one atomic unit, as `append_event`: the UPDATE sets the status and
        // takes the seq under the sandbox row's lock, and the INSERT commits with it. No row
        // comes back (and nothing changes) when the sandbox does not exist.
        let seq: Option<i64> = sqlx::query_scalar(
            "WITH next AS ( \
               UPDATE sandboxes SET status = $2, \
                 finished_at = CASE WHEN $3 THEN COALESCE(finished_at, $4) ELSE finished_at END, \
                 next_event_seq = next_event_seq + 1 \
               WHERE id = $1 \
               RETURNING next_event_seq - 1 AS seq) \
             INSERT INTO events (sandbox_id, seq, kind, payload, created_at) \
             SELECT $1, seq, $5, $6, $7 FROM next RETURNING seq",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(status.is_terminal())
        .bind(at)
        .bind(EventKind::Status.as_str())
        .bind(Json(&payload))
        .bind(OffsetDateTime::now_utc())
        .fetch_optional(&self.pool)
        .await?;
        let seq = seq.ok_or_else(|| StoreError::SandboxNotFound(id.clone()))?;
        let seq = u64::try_from(seq).map_err(|e| crate::error::corrupt("event seq", e))?;
        Ok(Event {
            kind: EventKind::Status,
            payload,
            seq,
        })
    }
}
