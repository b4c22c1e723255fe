//! Port checks and the port registry.
//!
//! "Is this port free?" has two classic wrong answers (measured, see the crate docs):
//! a bind probe on `127.0.0.1` says *free* while a server listens on `[::1]`, and a probe without
//! `SO_REUSEADDR` says *busy* while only `TIME_WAIT` sockets remain. [`check_port`] therefore asks
//! the kernel's socket table first (any `LISTEN` entry on the port, IPv4 or IPv6, means busy, and
//! tells us which process holds it) and then confirms with a dual-stack bind that sets
//! `SO_REUSEADDR`, which conflicts with every listener but not with `TIME_WAIT` leftovers.

use std::collections::BTreeSet;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use socket2::{Domain, Socket, Type};

use crate::error::PortError;
use crate::procinfo;

/// The answer of [`check_port`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortCheck {
    /// Nothing listens on the port and a server may bind it now.
    Free,
    /// Something holds the port; `pid` is the holder when `/proc` lets us find it.
    Busy { pid: Option<u32> },
}

impl PortCheck {
    pub fn is_free(self) -> bool {
        self == Self::Free
    }
}

/// Checks whether a server could bind `port` right now (on any address, IPv4 or IPv6).
///
/// Blocking (reads `/proc`, and scans `/proc/*/fd` to name the holder when busy): call it from
/// `spawn_blocking` in async code, as the supervisor does.
pub fn check_port(port: u16) -> PortCheck {
    match procinfo::listening_socket_inodes(port) {
        Ok(inodes) if !inodes.is_empty() => {
            return PortCheck::Busy {
                pid: procinfo::socket_holder(&inodes),
            };
        }
        // An unreadable socket table is not proof of anything: fall through to the bind probe.
        _ => {}
    }
    if bind_probe(port) {
        PortCheck::Free
    } else {
        PortCheck::Busy { pid: None }
    }
}

/// Binds (never listens) a dual-stack socket with `SO_REUSEADDR`; `true` when that succeeded.
fn bind_probe(port: u16) -> bool {
    let dual_stack = || -> std::io::Result<()> {
        let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
        socket.set_only_v6(false)?;
        socket.set_reuse_address(true)?;
        socket.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())
    };
    match dual_stack() {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => false,
        // No IPv6 on this host: the IPv4 wildcard is then the whole picture.
        Err(_) => {
            let v4 = || -> std::io::Result<()> {
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
                socket.set_reuse_address(true)?;
                socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())
            };
            v4().is_ok()
        }
    }
}

/// The kernel's ephemeral port range (`ip_local_port_range`): ports outgoing connections use. A
/// server port inside it can be taken at any moment by some client's connection, so the registry
/// never hands those out.
pub fn ephemeral_range() -> RangeInclusive<u16> {
    let fallback = 32768..=60999;
    let Ok(text) = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") else {
        return fallback;
    };
    let mut bounds = text
        .split_whitespace()
        .filter_map(|n| n.parse::<u16>().ok());
    match (bounds.next(), bounds.next()) {
        (Some(low), Some(high)) if low <= high => low..=high,
        _ => fallback,
    }
}

/// Hands out ports from a configured range, each checked free and outside the ephemeral range.
///
/// The registry remembers what it handed out (so two sandboxes never get the same port even
/// before either server binds it) until [`PortRegistry::release`]. Removing a unit releases its
/// port.
#[derive(Debug)]
pub struct PortRegistry {
    range: RangeInclusive<u16>,
    ephemeral: RangeInclusive<u16>,
    state: Mutex<Allocations>,
}

#[derive(Debug)]
struct Allocations {
    taken: BTreeSet<u16>,
    /// Where the next search starts: round-robin, so a just-released port (maybe still in
    /// `TIME_WAIT`, or about to be re-bound by a straggler) is the last one reused.
    cursor: u16,
}

impl PortRegistry {
    pub fn new(range: RangeInclusive<u16>) -> Self {
        Self::with_ephemeral_range(range, ephemeral_range())
    }

    fn with_ephemeral_range(range: RangeInclusive<u16>, ephemeral: RangeInclusive<u16>) -> Self {
        let cursor = *range.start();
        Self {
            range,
            ephemeral,
            state: Mutex::new(Allocations {
                taken: BTreeSet::new(),
                cursor,
            }),
        }
    }

    /// The configured range.
    pub fn range(&self) -> RangeInclusive<u16> {
        self.range.clone()
    }

    /// A port from the range that is not allocated, not ephemeral, and free right now.
    pub fn allocate(&self) -> Result<u16, PortError> {
        let mut state = self.lock();
        let (start, end) = (*self.range.start(), *self.range.end());
        let len = u32::from(end - start) + 1;
        for step in 0..len {
            let offset = (u32::from(state.cursor.saturating_sub(start)) + step) % len;
            let port = start + offset as u16; // offset < len <= 65536 - start, so this fits
            if state.taken.contains(&port) || self.ephemeral.contains(&port) {
                continue;
            }
            if check_port(port).is_free() {
                state.taken.insert(port);
                state.cursor = if port == end { start } else { port + 1 };
                return Ok(port);
            }
        }
        Err(PortError::Exhausted {
            range: self.range.clone(),
            ephemeral: self.ephemeral.clone(),
        })
    }

    /// Marks a specific port as allocated (a fixed port, or one re-adopted from a record). It
    /// need not be free: its owner may be running.
    pub fn reserve(&self, port: u16) -> Result<(), PortError> {
        if self.lock().taken.insert(port) {
            Ok(())
        } else {
            Err(PortError::AlreadyAllocated { port })
        }
    }

    /// Gives a port back; a no-op for ports this registry did not hand out.
    pub fn release(&self, port: u16) {
        self.lock().taken.remove(&port);
    }

    pub fn is_allocated(&self, port: u16) -> bool {
        self.lock().taken.contains(&port)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Allocations> {
        // The critical sections never panic, so a poisoned lock still holds consistent data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_listener_on_ipv6_loopback_is_busy_and_names_its_holder() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            return;
        }; // host without IPv6
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            check_port(port),
            PortCheck::Busy {
                pid: Some(std::process::id())
            }
        );
        drop(listener);
        assert_eq!(check_port(port), PortCheck::Free);
    }

    #[test]
    fn a_listener_on_ipv4_loopback_is_busy() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            check_port(port),
            PortCheck::Busy {
                pid: Some(std::process::id())
            }
        );
    }

    #[test]
    fn allocation_skips_ephemeral_taken_and_busy_ports() {
        // Three consecutive ports: one busy (ours), one declared ephemeral, and one free.
        let (busy, busy_port) = (0..50)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .map(|l| {
                let port = l.local_addr().unwrap().port();
                (l, port)
            })
            .find(|&(_, port)| port < 65000 && check_port(port + 2).is_free())
            .expect("no listener with a free port two above it");
        let registry = PortRegistry::with_ephemeral_range(
            busy_port..=busy_port + 2,
            busy_port + 1..=busy_port + 1,
        );
        let port = registry.allocate().unwrap();
        assert_eq!(port, busy_port + 2);
        assert!(registry.is_allocated(port));
        assert!(matches!(
            registry.allocate(),
            Err(PortError::Exhausted { .. })
        ));
        registry.release(port);
        assert_eq!(registry.allocate().unwrap(), port);
        drop(busy);
    }

    #[test]
    fn ephemeral_range_is_read_from_the_kernel() {
        let range = ephemeral_range();
        assert!(range.start() < range.end());
    }
}
