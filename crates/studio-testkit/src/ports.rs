//! Free ports for tests: one the kernel hands out now, ones outside the kernel's ephemeral range
//! (which a later bind gets reliably), bases of private port ranges, and the port of a URL.
//!
//! The kernel gives outgoing connections ports from its ephemeral range (32768–60999), so a port
//! chosen there may be taken by accident between the probe and a later bind; the ranges below and
//! above it are not.

use std::net::TcpListener;
use std::ops::Range;

/// A port that is free right now, from the kernel's ephemeral range (bound on 127.0.0.1:0, then
/// released). Right for "nothing listens here" and for binding straight away.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind 127.0.0.1:0 for a free port")
}

/// A free port below the ephemeral range (20000–31999), for a server the test starts later.
pub fn free_port_below_ephemeral() -> u16 {
    free_port_in(20_000..32_000)
}

/// A free port above the ephemeral range (61000–64999) and above the renderer ranges of test
/// servers (10000–30999): nothing takes it by accident before the test binds it, much later.
pub fn reserved_port() -> u16 {
    free_port_in(61_000..65_000)
}

/// A port of `range` that is free right now, starting at a point that differs between processes
/// (tests run in parallel processes).
pub fn free_port_in(range: Range<u16>) -> u16 {
    let span = u64::from(range.end - range.start);
    let start = seed();
    (0..span)
        .map(|i| range.start + ((start + i * 7) % span) as u16)
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .unwrap_or_else(|| panic!("no free port in {range:?}"))
}

/// The first port of a range of 1,000 ports (10000–29999) below the ephemeral range, different
/// for each process: servers of tests running in parallel rarely race for one port.
pub fn port_range_base() -> u16 {
    10_000 + (seed() % 20_000) as u16
}

/// The port of a `http://127.0.0.1:PORT/` URL.
pub fn port_of(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or_else(|| panic!("no port in {url:?}"))
}

/// Differs between processes and between calls: the clock's nanoseconds and the process id.
fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    u64::from(nanos) ^ (u64::from(std::process::id()) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_free_and_in_their_ranges() {
        assert!(TcpListener::bind(("127.0.0.1", free_port())).is_ok());
        assert!((20_000..32_000).contains(&free_port_below_ephemeral()));
        assert!((61_000..65_000).contains(&reserved_port()));
        assert!((10_000..30_000).contains(&port_range_base()));
        assert_eq!(port_of("http://127.0.0.1:5173/"), 5173);
    }
}
