//! The renderer page's key to its own sandbox's event stream.
//!
//! With `STUDIO_API_TOKEN` set, every `/api/` request needs the API token, WebSocket upgrades
//! included. The renderer page (served by Vite to whoever opens the renderer URL) connects to its
//! sandbox's WebSocket too, for `component-selected` and `reload`; giving it the API token would
//! hand the keys of the whole server to every page viewer. Instead it gets a *socket token*:
//! HMAC-SHA256 of the sandbox id under the API token. It opens that one sandbox's stream and
//! nothing else, needs no storage (the API layer recomputes it to check), and changes when the API
//! token does.

use sha2::{Digest, Sha256};
use studio_core::SandboxId;

const BLOCK: usize = 64;
/// Domain separation: the same key may sign other things one day.
const CONTEXT: &[u8] = b"studio-sandbox-socket:";

/// The socket token of `sandbox` under `api_token` (64 hex digits).
pub fn socket_token(api_token: &str, sandbox: &SandboxId) -> String {
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(sandbox.to_string().as_bytes());
    hex(&hmac_sha256(api_token.as_bytes(), &message))
}

/// HMAC (RFC 2104) over SHA-256.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_differ_per_sandbox_and_per_key() {
        let a = SandboxId::from_random([1; 8]);
        let b = SandboxId::from_random([2; 8]);
        assert_ne!(socket_token("k", &a), socket_token("k", &b));
        assert_ne!(socket_token("k", &a), socket_token("k2", &a));
        assert_eq!(socket_token("k", &a), socket_token("k", &a));
        assert_eq!(socket_token("k", &a).len(), 64);
    }
}
