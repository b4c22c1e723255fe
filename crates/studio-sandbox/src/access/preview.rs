//! The manager's side of preview access: issuing one-time links, redeeming them into cookies,
//! and checking cookies. Whether access is checked at all is the server's choice: only when the
//! API requires a token (`STUDIO_API_TOKEN`); without one, previews are open like the API.

use std::time::Duration;

use studio_core::SandboxId;
use time::OffsetDateTime;

use super::signing::{self, Invalid};
use crate::error::ManagerError;
use crate::manager::Manager;

/// How long a preview link may wait before it is used.
pub const LINK_LIFETIME: Duration = Duration::from_secs(180);
/// How long a preview cookie lasts (unless the sandbox's cookies are revoked first).
pub const COOKIE_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A one-time link: `<preview URL>` + the redeem path + `?t=<token>` (the path is the API's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLink {
    /// The sandbox's preview URL, with a trailing slash.
    pub preview_url: String,
    /// The signed token of the link.
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// The preview cookie's value and how long it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewCookie {
    pub value: String,
    pub max_age: Duration,
}

/// Why a link was not redeemed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewRefusal {
    #[error("the preview link is not valid for this sandbox")]
    Invalid,
    #[error("the preview link has expired")]
    Expired,
    #[error("the preview link was used already")]
    Used,
    #[error("the sandbox does not exist")]
    NoSandbox,
    /// The store failed: not the visitor's fault.
    #[error("{0}")]
    Unavailable(ManagerError),
}

fn unix(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

impl Manager {
    /// Whether previews need the cookie: when the API requires a token.
    pub fn preview_access_required(&self) -> bool {
        self.shared.config.urls.api_token.is_some()
    }

    /// A one-time link that sets the preview cookie of sandbox `id` (404 for an unknown one).
    pub async fn preview_link(&self, id: &str) -> Result<PreviewLink, ManagerError> {
        let sandbox: SandboxId = id.parse().map_err(|_| ManagerError::not_found(id))?;
        if self.shared.store.preview_epoch(&sandbox).await?.is_none() {
            return Err(ManagerError::not_found(id));
        }
        let expires_at = OffsetDateTime::now_utc() + LINK_LIFETIME;
        let nonce = crate::socket_auth::hex(&rand::random::<[u8; 16]>());
        let token = signing::sign_link(
            self.shared.preview_key.bytes(),
            &sandbox,
            unix(expires_at),
            &nonce,
        );
        Ok(PreviewLink {
            preview_url: self.shared.config.urls.preview(&sandbox),
            token,
            expires_at,
        })
    }

    /// Redeems a link token once: the cookie for the sandbox's current epoch.
    pub async fn redeem_preview_link(
        &self,
        id: &SandboxId,
        token: &str,
    ) -> Result<PreviewCookie, PreviewRefusal> {
        let now = OffsetDateTime::now_utc();
        let key = self.shared.preview_key.bytes();
        let claims = signing::open_link(key, id, token, unix(now)).map_err(|e| match e {
            Invalid::Expired => PreviewRefusal::Expired,
            Invalid::Malformed | Invalid::Forged => PreviewRefusal::Invalid,
        })?;
        let store = &self.shared.store;
        let link_expires = OffsetDateTime::from_unix_timestamp(claims.expires)
            .map_err(|_| PreviewRefusal::Invalid)?;
        let first = store
            .use_preview_nonce(id, &claims.nonce, link_expires, now)
            .await
            .map_err(|e| match e {
                studio_store::StoreError::SandboxNotFound(_) => PreviewRefusal::NoSandbox,
                other => PreviewRefusal::Unavailable(other.into()),
            })?;
        if !first {
            return Err(PreviewRefusal::Used);
        }
        let epoch = store
            .preview_epoch(id)
            .await
            .map_err(|e| PreviewRefusal::Unavailable(e.into()))?
            .ok_or(PreviewRefusal::NoSandbox)?;
        let expires = unix(now + COOKIE_LIFETIME);
        Ok(PreviewCookie {
            value: signing::sign_cookie(key, id, epoch, expires),
            max_age: COOKIE_LIFETIME,
        })
    }

    /// Whether `value` is a valid, unexpired, unrevoked preview cookie of sandbox `id`.
    pub async fn preview_cookie_valid(
        &self,
        id: &SandboxId,
        value: &str,
    ) -> Result<bool, ManagerError> {
        Ok(match self.shared.store.preview_epoch(id).await? {
            Some(epoch) => self.preview_cookie_matches(id, value, epoch),
            None => false,
        })
    }

    /// Whether `value` is a valid, unexpired preview cookie of sandbox `id` issued at the
    /// sandbox's current preview `epoch` (the front door read it with the sandbox's status).
    /// Stop, delete, finalize and expiry move the epoch on: older cookies stop working.
    pub fn preview_cookie_matches(&self, id: &SandboxId, value: &str, epoch: u64) -> bool {
        let now = unix(OffsetDateTime::now_utc());
        signing::open_cookie(self.shared.preview_key.bytes(), id, value, now) == Ok(epoch)
    }
}
