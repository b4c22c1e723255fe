//! The signed formats of preview links and cookies. Pure functions: the key, the claims and the
//! clock come in, so every rule is tested without a server.
//!
//! A link token is `<sandbox hex>.<expiry>.<nonce>.<mac>` and a cookie value
//! `<sandbox hex>.<epoch>.<expiry>.<mac>`: expiries in Unix seconds, the nonce 32 hex digits,
//! the MAC HMAC-SHA256 (64 hex digits) under the server key of the sandbox id and the other
//! fields, with a different context string for each kind so a link can never pass as a cookie.
//! Every character is `[0-9a-f.]`: safe in a query string and a cookie value without escaping.

use studio_core::SandboxId;

use crate::socket_auth::{hex, hmac_sha256};

const LINK_CONTEXT: &str = "studio-preview-link";
const COOKIE_CONTEXT: &str = "studio-preview-cookie";

/// What a valid link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LinkClaims {
    pub expires: i64,
    pub nonce: String,
}

/// Why a link or cookie is refused (for the log; the visitor gets the same page for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Invalid {
    /// Not of the format, or of another sandbox.
    Malformed,
    /// The MAC does not match: forged, altered, or signed with another server's key.
    Forged,
    Expired,
}

fn mac(key: &[u8], context: &str, sandbox: &SandboxId, fields: &[&str]) -> String {
    let mut message = format!("{context}:{sandbox}");
    for field in fields {
        message.push('|');
        message.push_str(field);
    }
    hex(&hmac_sha256(key, message.as_bytes()))
}

/// Compares in time independent of where the first difference is (equal lengths: a MAC always
/// has 64 digits, so the length tells nothing).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(super) fn sign_link(key: &[u8], sandbox: &SandboxId, expires: i64, nonce: &str) -> String {
    let expires = expires.to_string();
    let mac = mac(key, LINK_CONTEXT, sandbox, &[&expires, nonce]);
    format!("{}.{expires}.{nonce}.{mac}", sandbox.hex())
}

pub(super) fn open_link(
    key: &[u8],
    sandbox: &SandboxId,
    token: &str,
    now: i64,
) -> Result<LinkClaims, Invalid> {
    let [hex_id, expires, nonce, given] = split4(token)?;
    if hex_id != sandbox.hex() || nonce.len() != 32 || !is_hex(nonce) {
        return Err(Invalid::Malformed);
    }
    let expires_at: i64 = expires.parse().map_err(|_| Invalid::Malformed)?;
    if !same(&mac(key, LINK_CONTEXT, sandbox, &[expires, nonce]), given) {
        return Err(Invalid::Forged);
    }
    if now >= expires_at {
        return Err(Invalid::Expired);
    }
    Ok(LinkClaims {
        expires: expires_at,
        nonce: nonce.to_owned(),
    })
}

pub(super) fn sign_cookie(key: &[u8], sandbox: &SandboxId, epoch: u64, expires: i64) -> String {
    let (epoch, expires) = (epoch.to_string(), expires.to_string());
    let mac = mac(key, COOKIE_CONTEXT, sandbox, &[&epoch, &expires]);
    format!("{}.{epoch}.{expires}.{mac}", sandbox.hex())
}

/// The epoch a valid, unexpired cookie of `sandbox` carries.
pub(super) fn open_cookie(
    key: &[u8],
    sandbox: &SandboxId,
    value: &str,
    now: i64,
) -> Result<u64, Invalid> {
    let [hex_id, epoch, expires, given] = split4(value)?;
    if hex_id != sandbox.hex() {
        return Err(Invalid::Malformed);
    }
    let epoch_value: u64 = epoch.parse().map_err(|_| Invalid::Malformed)?;
    let expires_at: i64 = expires.parse().map_err(|_| Invalid::Malformed)?;
    if !same(&mac(key, COOKIE_CONTEXT, sandbox, &[epoch, expires]), given) {
        return Err(Invalid::Forged);
    }
    if now >= expires_at {
        return Err(Invalid::Expired);
    }
    Ok(epoch_value)
}

fn split4(s: &str) -> Result<[&str; 4], Invalid> {
    let mut parts = s.split('.');
    let out = [(); 4].map(|()| parts.next().unwrap_or_default());
    if parts.next().is_some() || out.iter().any(|p| p.is_empty()) || s.len() > 256 {
        return Err(Invalid::Malformed);
    }
    Ok(out)
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[7; 32];
    const NONCE: &str = "0123456789abcdef0123456789abcdef";

    fn ids() -> (SandboxId, SandboxId) {
        (
            SandboxId::from_random([0xaa; 8]),
            SandboxId::from_random([0xbb; 8]),
        )
    }

    #[test]
    fn a_link_opens_for_its_sandbox_until_it_expires() {
        let (a, b) = ids();
        let link = sign_link(KEY, &a, 1_000, NONCE);
        assert!(link.starts_with("aaaaaaaaaaaaaaaa.1000."), "{link}");
        assert!(link.bytes().all(|c| c == b'.' || c.is_ascii_hexdigit()));
        assert_eq!(
            open_link(KEY, &a, &link, 999),
            Ok(LinkClaims {
                expires: 1_000,
                nonce: NONCE.into()
            })
        );
        assert_eq!(open_link(KEY, &a, &link, 1_000), Err(Invalid::Expired));
        assert_eq!(open_link(KEY, &b, &link, 999), Err(Invalid::Malformed));
        assert_eq!(open_link(&[8; 32], &a, &link, 999), Err(Invalid::Forged));
        // A later expiry, another nonce, or a cookie presented as a link: the MAC no longer fits.
        let stretched = link.replacen(".1000.", ".9000.", 1);
        assert_eq!(open_link(KEY, &a, &stretched, 999), Err(Invalid::Forged));
        let other_nonce = link.replacen(NONCE, &"f".repeat(32), 1);
        assert_eq!(open_link(KEY, &a, &other_nonce, 999), Err(Invalid::Forged));
        let cookie = sign_cookie(KEY, &a, 0, 1_000);
        assert!(open_link(KEY, &a, &cookie, 999).is_err());
        for junk in [
            "",
            "...",
            "a.b.c.d",
            &format!("{link}.x"),
            "aaaaaaaaaaaaaaaa.1.zz.00",
        ] {
            assert_eq!(
                open_link(KEY, &a, junk, 999),
                Err(Invalid::Malformed),
                "{junk}"
            );
        }
    }

    #[test]
    fn a_cookie_names_its_sandbox_and_epoch() {
        let (a, b) = ids();
        let cookie = sign_cookie(KEY, &a, 3, 5_000);
        assert_eq!(open_cookie(KEY, &a, &cookie, 4_999), Ok(3));
        assert_eq!(open_cookie(KEY, &a, &cookie, 5_000), Err(Invalid::Expired));
        assert_eq!(open_cookie(KEY, &b, &cookie, 1), Err(Invalid::Malformed));
        let b_cookie = sign_cookie(KEY, &b, 3, 5_000);
        assert!(
            open_cookie(KEY, &a, &b_cookie, 1).is_err(),
            "B's cookie on A"
        );
        let older_epoch = cookie.replacen(".3.", ".2.", 1);
        assert_eq!(open_cookie(KEY, &a, &older_epoch, 1), Err(Invalid::Forged));
        let link = sign_link(KEY, &a, 5_000, NONCE);
        assert!(
            open_cookie(KEY, &a, &link, 1).is_err(),
            "a link is no cookie"
        );
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abcd", "abc"));
    }
}
