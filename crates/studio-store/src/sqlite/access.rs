//! Preview access on SQLite: the preview epoch, redeemed link nonces and scoped tokens. The
//! [`Store`](crate::Store) methods of `queries.rs` call these.

use studio_core::SandboxId;
use time::OffsetDateTime;

use super::{SqliteStore, ts};
use crate::access_rows::{self, TokenRow, token_columns};
use crate::error::{Result, StoreError, for_sandbox};
use crate::model::{NewSandboxToken, PreviewGate, SandboxToken};
use crate::rows;

impl SqliteStore {
    pub(super) async fn read_preview_epoch(&self, id: &SandboxId) -> Result<Option<u64>> {
        Ok(self.read_preview_gate(id).await?.map(|gate| gate.epoch))
    }

    pub(super) async fn read_preview_gate(&self, id: &SandboxId) -> Result<Option<PreviewGate>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT status, preview_epoch FROM sandboxes WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.reader)
                .await?;
        row.map(access_rows::preview_gate).transpose()
    }

    pub(super) async fn increment_preview_epoch(&self, id: &SandboxId) -> Result<u64> {
        let epoch: Option<i64> = sqlx::query_scalar(
            "UPDATE sandboxes SET preview_epoch = preview_epoch + 1 WHERE id = $1 \
             RETURNING preview_epoch",
        )
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?;
        access_rows::epoch(epoch.ok_or_else(|| StoreError::SandboxNotFound(id.clone()))?)
    }

    pub(super) async fn record_nonce(
        &self,
        id: &SandboxId,
        nonce: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM preview_link_nonces WHERE expires_at < $1")
            .bind(ts(now)?)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO preview_link_nonces (nonce, sandbox_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(id.to_string())
        .bind(ts(expires_at)?)
        .execute(&mut *tx)
        .await
        .map_err(|e| for_sandbox(e, id))?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn store_token(&self, token: &NewSandboxToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO sandbox_tokens (id, sandbox_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.id)
        .bind(token.sandbox_id.to_string())
        .bind(&token.token_hash)
        .bind(ts(token.created_at)?)
        .bind(ts(token.expires_at)?)
        .execute(&self.writer)
        .await
        .map_err(|e| for_sandbox(e, &token.sandbox_id))?;
        Ok(())
    }

    pub(super) async fn list_tokens(&self, id: &SandboxId) -> Result<Vec<SandboxToken>> {
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            " FROM sandbox_tokens WHERE sandbox_id = $1 ORDER BY created_at, id"
        );
        let found: Vec<TokenRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows::rows_into(found)
    }

    pub(super) async fn find_token(&self, token_hash: &str) -> Result<Option<SandboxToken>> {
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            " FROM sandbox_tokens WHERE token_hash = $1"
        );
        let found: Option<TokenRow> = sqlx::query_as(sql)
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await?;
        found.map(SandboxToken::try_from).transpose()
    }

    pub(super) async fn remove_token(&self, id: &SandboxId, token_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sandbox_tokens WHERE id = $1 AND sandbox_id = $2")
            .bind(token_id)
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn remove_expired_tokens(&self, now: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sandbox_tokens WHERE expires_at < $1")
            .bind(ts(now)?)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
