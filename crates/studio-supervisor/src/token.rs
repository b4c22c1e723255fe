//! The unit token: the environment variable that carries it ([`TOKEN_VAR`]) and how a fresh
//! one is made. Spawning sets it; spec validation and re-adoption check it.

/// The environment variable carrying a unit instance's unique token. Re-adoption checks it in
/// `/proc/<pid>/environ` before trusting a PID.
pub const TOKEN_VAR: &str = "STUDIO_UNIT_TOKEN";

/// A fresh random token (128 bits from the kernel).
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut urandom) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut urandom, &mut bytes);
    }
    if bytes == [0; 16] {
        // No /dev/urandom: still unique per process and moment, which is all a token needs.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = (nanos ^ (u128::from(std::process::id()) << 96)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
