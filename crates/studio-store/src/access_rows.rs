//! Rows of the preview-access tables (scoped tokens), read the same way from both databases.

use studio_core::SandboxId;
use time::OffsetDateTime;

use crate::error::{Result, corrupt};
use crate::model::{PreviewGate, SandboxToken};

/// The columns of `sandbox_tokens` a [`TokenRow`] reads (never the hash).
macro_rules! token_columns {
    () => {
        "id, sandbox_id, created_at, expires_at"
    };
}
pub(crate) use token_columns;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: String,
    sandbox_id: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl TryFrom<TokenRow> for SandboxToken {
    type Error = crate::StoreError;

    fn try_from(row: TokenRow) -> Result<Self> {
        Ok(Self {
            id: row.id,
            sandbox_id: row
                .sandbox_id
                .parse::<SandboxId>()
                .map_err(|e| corrupt("token's sandbox id", e))?,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

/// A stored epoch back to the domain's unsigned counter.
pub(crate) fn epoch(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|e| corrupt("preview epoch", e))
}

/// A `(status, preview_epoch)` row of `sandboxes` as both databases return it.
pub(crate) fn preview_gate((status, epoch): (String, i64)) -> Result<PreviewGate> {
    Ok(PreviewGate {
        status: status.parse().map_err(|e| corrupt("sandbox status", e))?,
        epoch: self::epoch(epoch)?,
    })
}
