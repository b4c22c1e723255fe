//! Scoped tokens: a design tool's key to one sandbox. The token is `stk_` and 64 random hex
//! digits, shown once; the store keeps its SHA-256 only, so a copy of the database opens nothing.

use std::time::Duration;

use sha2::{Digest, Sha256};
use studio_core::{SandboxId, SecretToken};
use studio_store::{NewSandboxToken, SandboxToken};
use time::OffsetDateTime;

use crate::error::ManagerError;
use crate::manager::Manager;
use crate::socket_auth::hex;

/// Every scoped token starts with this, so the API can tell it from the API token at a glance.
pub const TOKEN_PREFIX: &str = "stk_";
/// Longest life of a scoped token, in hours (30 days).
pub const MAX_TOKEN_HOURS: u32 = 24 * 30;
/// Life of a scoped token whose request names none, in hours.
pub const DEFAULT_TOKEN_HOURS: u32 = 24;

/// What may be shown of a token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl From<SandboxToken> for TokenInfo {
    fn from(t: SandboxToken) -> Self {
        Self {
            id: t.id,
            created_at: t.created_at,
            expires_at: t.expires_at,
        }
    }
}

/// A token just made: its one showing.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub info: TokenInfo,
    pub token: SecretToken,
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Manager {
    /// Makes a scoped token for sandbox `id`, valid `hours` (default 24, at most 720).
    pub async fn create_token(
        &self,
        id: &str,
        hours: Option<u32>,
    ) -> Result<NewToken, ManagerError> {
        let hours = hours.unwrap_or(DEFAULT_TOKEN_HOURS);
        if !(1..=MAX_TOKEN_HOURS).contains(&hours) {
            return Err(ManagerError::invalid(
                "invalid_token_lifetime",
                format!("expires_in_hours must be 1 to {MAX_TOKEN_HOURS} (30 days), not {hours}"),
            ));
        }
        let sandbox = self.existing_sandbox(id).await?;
        let now = OffsetDateTime::now_utc();
        // The store keeps microseconds: answer what a later listing will show.
        let now = now - time::Duration::nanoseconds(i64::from(now.nanosecond() % 1000));
        // Expired tokens of any sandbox go now: nobody needs to see them listed for long.
        if let Err(e) = self.shared.store.prune_expired_tokens(now).await {
            tracing::warn!("could not prune expired tokens: {e}");
        }
        let secret = format!("{TOKEN_PREFIX}{}", hex(&rand::random::<[u8; 32]>()));
        let new = NewSandboxToken {
            id: format!("tok_{}", hex(&rand::random::<[u8; 8]>())),
            sandbox_id: sandbox,
            token_hash: digest(&secret),
            created_at: now,
            expires_at: now + Duration::from_secs(u64::from(hours) * 3600),
        };
        self.shared.store.insert_token(&new).await?;
        let token = SecretToken::new(secret)
            .ok_or_else(|| ManagerError::internal("an empty token was generated"))?;
        Ok(NewToken {
            info: TokenInfo {
                id: new.id,
                created_at: new.created_at,
                expires_at: new.expires_at,
            },
            token,
        })
    }

    /// The sandbox's tokens, oldest first.
    pub async fn tokens(&self, id: &str) -> Result<Vec<TokenInfo>, ManagerError> {
        let sandbox = self.existing_sandbox(id).await?;
        let tokens = self.shared.store.tokens(&sandbox).await?;
        Ok(tokens.into_iter().map(TokenInfo::from).collect())
    }

    /// Revokes one token of the sandbox.
    pub async fn revoke_token(&self, id: &str, token_id: &str) -> Result<(), ManagerError> {
        let sandbox = self.existing_sandbox(id).await?;
        match self.shared.store.delete_token(&sandbox, token_id).await? {
            true => Ok(()),
            false => Err(ManagerError::new(
                crate::ErrorKind::NotFound,
                "token_not_found",
                format!("sandbox {id} has no token {token_id:?}"),
            )),
        }
    }

    /// The sandbox a scoped token opens: `None` for anything that is not a live token.
    pub async fn token_scope(&self, token: &str) -> Result<Option<SandboxId>, ManagerError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        // Looked up by hash: the index finds it, and the token itself is never compared or stored.
        let found = self.shared.store.token_by_hash(&digest(token)).await?;
        Ok(found
            .filter(|t| t.expires_at > OffsetDateTime::now_utc())
            .map(|t| t.sandbox_id))
    }

    async fn existing_sandbox(&self, id: &str) -> Result<SandboxId, ManagerError> {
        let sandbox: SandboxId = id.parse().map_err(|_| ManagerError::not_found(id))?;
        match self.shared.store.preview_epoch(&sandbox).await? {
            Some(_) => Ok(sandbox),
            None => Err(ManagerError::not_found(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hashed_with_sha256() {
        // FIPS 180-2 test vector.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
