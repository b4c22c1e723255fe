//! The [`Store`] implementation of [`PgStore`]: one method, one statement (or transaction).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use studio_core::{CommitInfo, Event, EventKind, SandboxId, SandboxStatus};
use time::OffsetDateTime;

use super::PgStore;
use crate::Store;
use crate::error::{Result, StoreError, constraint_violation, for_sandbox};
use crate::model::{
    NewSandbox, PullRequest, RuntimeState, SandboxFilter, SandboxRecord, StoredCommit,
};
use crate::model::{NewSandboxToken, PreviewGate, SandboxToken};
use crate::rows::{
    self, CommitRow, EventRow, SandboxParams, SandboxRow, commit_columns, event_columns,
    sandbox_columns,
};
use crate::url::Backend;

fn ensure_found(rows_affected: u64, id: &SandboxId) -> Result<()> {
    if rows_affected == 0 {
        return Err(StoreError::SandboxNotFound(id.clone()));
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn insert_sandbox(&self, new: &NewSandbox) -> Result<SandboxRecord> {
        let p = SandboxParams::new(new)?;
        let sql = concat!(
            "INSERT INTO sandboxes (id, kind, repository, base_branch, branch, work_dir, status, \
               auto_commit, commit_pattern, timeout_secs, max_restarts, components, github_repo, \
               setup, wrapper, created_at, last_activity_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
             RETURNING ",
            sandbox_columns!()
        );
        let row: SandboxRow = sqlx::query_as(sql)
            .bind(new.id.to_string())
            .bind(&new.kind)
            .bind(&new.repository)
            .bind(&new.base_branch)
            .bind(&new.branch)
            .bind(p.work_dir)
            .bind(new.status.as_str())
            .bind(new.config.auto_commit)
            .bind(&new.config.commit_pattern.0)
            .bind(p.timeout_secs)
            .bind(p.max_restarts)
            .bind(p.components)
            .bind(&new.config.github_repo)
            .bind(p.setup)
            .bind(&new.config.wrapper)
            .bind(new.created_at)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match constraint_violation(&e) {
                Some(sqlx::error::ErrorKind::UniqueViolation) => {
                    StoreError::SandboxExists(new.id.clone())
                }
                _ => e.into(),
            })?;
        row.try_into()
    }

    async fn get_sandbox(&self, id: &SandboxId) -> Result<Option<SandboxRecord>> {
        let sql = concat!(
            "SELECT ",
            sandbox_columns!(),
            " FROM sandboxes WHERE id = $1"
        );
        let row: Option<SandboxRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(SandboxRecord::try_from).transpose()
    }

    async fn list_sandboxes(&self, filter: &SandboxFilter) -> Result<Vec<SandboxRecord>> {
        let sql = concat!(
            "SELECT ",
            sandbox_columns!(),
            " FROM sandboxes WHERE $1::text[] IS NULL OR status = ANY($1) \
             ORDER BY created_at, id"
        );
        let found: Vec<SandboxRow> = sqlx::query_as(sql)
            .bind(filter.status_strings())
            .fetch_all(&self.pool)
            .await?;
        rows::rows_into(found)
    }

    async fn delete_sandbox(&self, id: &SandboxId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sandboxes WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_status(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandboxes SET status = $2, \
               finished_at = CASE WHEN $3 THEN COALESCE(finished_at, $4) ELSE finished_at END \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(status.is_terminal())
        .bind(at)
        .execute(&self.pool)
        .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn set_status_with_event(
        &self,
        id: &SandboxId,
        status: SandboxStatus,
        at: OffsetDateTime,
        payload: Value,
    ) -> Result<Event> {
        self.status_with_event(id, status, at, payload).await
    }

    async fn update_runtime(&self, id: &SandboxId, runtime: &RuntimeState) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandboxes SET renderer_port = $2, adoption = $3, restarts = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(runtime.renderer_port.map(i32::from))
        .bind(runtime.adoption.as_ref().map(Json))
        .bind(rows::to_i32("restart count", runtime.restarts)?)
        .execute(&self.pool)
        .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn touch_activity(&self, id: &SandboxId, at: OffsetDateTime) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sandboxes SET last_activity_at = GREATEST(last_activity_at, $2) WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(at)
        .execute(&self.pool)
        .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn set_pull_request(&self, id: &SandboxId, pr: &PullRequest) -> Result<()> {
        let done = sqlx::query("UPDATE sandboxes SET pr_url = $2, pr_number = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(&pr.url)
            .bind(rows::to_i64("pull request number", pr.number)?)
            .execute(&self.pool)
            .await?;
        ensure_found(done.rows_affected(), id)
    }

    async fn record_commit(&self, id: &SandboxId, commit: &CommitInfo) -> Result<()> {
        sqlx::query(
            "INSERT INTO commits (sandbox_id, hash, message, committed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sandbox_id, hash) DO UPDATE SET rolled_back = FALSE",
        )
        .bind(id.to_string())
        .bind(&commit.hash)
        .bind(&commit.message)
        .bind(commit.timestamp)
        .execute(&self.pool)
        .await
        .map_err(|e| for_sandbox(e, id))?;
        Ok(())
    }

    async fn mark_rolled_back(&self, id: &SandboxId, hashes: &[String]) -> Result<u64> {
        self.set_rolled_back(id, hashes, true).await
    }

    async fn mark_restored(&self, id: &SandboxId, hashes: &[String]) -> Result<u64> {
        self.set_rolled_back(id, hashes, false).await
    }

    async fn commits(&self, id: &SandboxId) -> Result<Vec<StoredCommit>> {
        let sql = concat!(
            "SELECT ",
            commit_columns!(),
            " FROM commits WHERE sandbox_id = $1 ORDER BY id"
        );
        let found: Vec<CommitRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(found.into_iter().map(StoredCommit::from).collect())
    }

    async fn append_event(&self, id: &SandboxId, kind: EventKind, payload: Value) -> Result<Event> {
        // One statement, so one atomic unit: the UPDATE takes the sandbox row's lock (concurrent
        // appenders of the same sandbox queue on it) and the INSERT commits with it. No row
        // comes back when the sandbox does not exist.
        let seq: Option<i64> = sqlx::query_scalar(
            "WITH next AS ( \
               UPDATE sandboxes SET next_event_seq = next_event_seq + 1 WHERE id = $1 \
               RETURNING next_event_seq - 1 AS seq) \
             INSERT INTO events (sandbox_id, seq, kind, payload, created_at) \
             SELECT $1, seq, $2, $3, $4 FROM next RETURNING seq",
        )
        .bind(id.to_string())
        .bind(kind.as_str())
        .bind(Json(&payload))
        .bind(OffsetDateTime::now_utc())
        .fetch_optional(&self.pool)
        .await?;
        let seq = seq.ok_or_else(|| StoreError::SandboxNotFound(id.clone()))?;
        let seq = u64::try_from(seq).map_err(|e| crate::error::corrupt("event seq", e))?;
        Ok(Event { kind, payload, seq })
    }

    async fn events_since(&self, id: &SandboxId, since: u64, limit: u32) -> Result<Vec<Event>> {
        let sql = concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE sandbox_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let found: Vec<EventRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .bind(rows::seq_bound(since))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows::rows_into(found)
    }

    async fn prune_events(&self, older_than: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(older_than)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn preview_epoch(&self, id: &SandboxId) -> Result<Option<u64>> {
        self.read_preview_epoch(id).await
    }

    async fn preview_gate(&self, id: &SandboxId) -> Result<Option<PreviewGate>> {
        self.read_preview_gate(id).await
    }

    async fn bump_preview_epoch(&self, id: &SandboxId) -> Result<u64> {
        self.increment_preview_epoch(id).await
    }

    async fn use_preview_nonce(
        &self,
        id: &SandboxId,
        nonce: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.record_nonce(id, nonce, expires_at, now).await
    }

    async fn insert_token(&self, token: &NewSandboxToken) -> Result<()> {
        self.store_token(token).await
    }

    async fn tokens(&self, id: &SandboxId) -> Result<Vec<SandboxToken>> {
        self.list_tokens(id).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<SandboxToken>> {
        self.find_token(token_hash).await
    }

    async fn delete_token(&self, id: &SandboxId, token_id: &str) -> Result<bool> {
        self.remove_token(id, token_id).await
    }

    async fn prune_expired_tokens(&self, now: OffsetDateTime) -> Result<u64> {
        self.remove_expired_tokens(now).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl PgStore {
    async fn set_rolled_back(
        &self,
        id: &SandboxId,
        hashes: &[String],
        rolled_back: bool,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE commits SET rolled_back = $3 \
             WHERE sandbox_id = $1 AND rolled_back <> $3 AND hash = ANY($2)",
        )
        .bind(id.to_string())
        .bind(hashes)
        .bind(rolled_back)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
