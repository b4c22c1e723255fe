//! Who may see a sandbox's preview and who may call its endpoints, besides the API token: the
//! preview cookie with the one-time link that sets it, and scoped tokens for design tools.
//!
//! * `key`: the server key that signs links and cookies, in the data dir (0600, never logged);
//! * `signing`: the signed formats of links and cookies (pure: key, claims and clock in);
//! * `preview`: the [`Manager`](crate::Manager) side of links and cookies: issuing, redeeming
//!   once (nonces in the store), checking against the sandbox's preview epoch;
//! * `tokens`: scoped tokens, random and shown once, stored as SHA-256 only.
//!
//! Revocation is the preview epoch: a counter on the sandbox's row that every cookie carries and
//! that the actor increments when the sandbox stops, is deleted, finalized or expires
//! (`actor/lifecycle.rs`), so no cookie issued before works afterwards, across restarts too.
//! The HTTP side (headers, the 401 page, which routes a token may call) is `studio-api`'s.

mod key;
mod preview;
mod signing;
mod tokens;

#[cfg(test)]
mod tests;

pub(crate) use key::PreviewKey;
pub use preview::{COOKIE_LIFETIME, LINK_LIFETIME, PreviewCookie, PreviewLink, PreviewRefusal};
pub use tokens::{DEFAULT_TOKEN_HOURS, MAX_TOKEN_HOURS, NewToken, TOKEN_PREFIX, TokenInfo};
