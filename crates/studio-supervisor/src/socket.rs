//! A unit's Unix listening socket ([`UnitSpec::listen_socket`](crate::UnitSpec::listen_socket)):
//! binding it without stealing a live path, handing it to the child, and removing it when the
//! unit is done.
//!
//! The supervisor, not the unit, owns the listener. It binds the path before the first spawn and
//! keeps the descriptor open across restarts, so a connection that arrives while the unit is
//! down (crashed, restarting) waits in the kernel's accept queue for the next instance instead of
//! being refused. Every instance gets the listener as fd [`LISTEN_FD`], named by
//! [`LISTEN_FD_VAR`] in its environment.
//!
//! A supervisor that re-adopted a unit has no copy of the listener (it was in the old supervisor
//! process); the adopted instance keeps serving on the path it inherited. When that instance
//! ends, the path is stale and the next spawn binds it afresh.

use std::io::ErrorKind;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

/// The descriptor number a unit finds its listening socket at (the first after stdio, as
/// systemd's socket activation does).
pub const LISTEN_FD: i32 = 3;

/// The environment variable that tells a unit its listening socket is fd [`LISTEN_FD`].
pub const LISTEN_FD_VAR: &str = "STUDIO_LISTEN_FD";

/// Longest path a Unix socket can be bound at (`sun_path` is 108 bytes with its NUL).
pub(crate) const MAX_SOCKET_PATH: usize = 107;

/// Pending connections the kernel queues while no instance accepts (capped by
/// `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A bound, listening Unix socket the supervisor holds for a unit.
#[derive(Debug)]
pub(crate) struct BoundSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl BoundSocket {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// Gives the listening socket a new path (`rename(2)`: connections keep arriving on the same
    /// socket, now through `path`). A stale socket file at `path` is replaced; a live one or a
    /// file that is not a socket is refused, as [`bind`] would.
    pub fn move_to(&mut self, path: &Path) -> Result<(), String> {
        let shown = path.display();
        match inspect(path).map_err(|e| format!("cannot inspect socket path {shown}: {e}"))? {
            PathState::Absent | PathState::Stale => {}
            PathState::Live => {
                return Err(format!(
                    "socket path {shown} is in use: another process accepts connections on it"
                ));
            }
            PathState::NotASocket => {
                return Err(format!(
                    "socket path {shown} exists and is not a socket; refusing to replace it"
                ));
            }
        }
        std::fs::rename(&self.path, path)
            .map_err(|e| format!("cannot move {} to {shown}: {e}", self.path.display()))?;
        self.path = path.to_owned();
        Ok(())
    }

    /// Takes `old`'s path (`rename(2)` over it, atomic: a client connecting meanwhile reaches
    /// one listener or the other, never nothing) and closes `old`'s listener without touching
    /// the path, which is this socket's now. Connections still queued on `old` are reset.
    pub fn take_place_of(&mut self, old: Self) -> Result<(), String> {
        std::fs::rename(&self.path, &old.path).map_err(|e| {
            format!(
                "cannot move {} to {}: {e}",
                self.path.display(),
                old.path.display()
            )
        })?;
        let Self { listener, path } = old;
        drop(listener);
        self.path = path;
        Ok(())
    }

    /// Closes the listener (queued connections are reset), then removes the path unless
    /// someone else accepts on it by now.
    pub fn release(self) {
        let Self { listener, path } = self;
        drop(listener);
        remove_if_stale(&path);
    }
}

/// What is at a socket path.
#[derive(Debug, PartialEq, Eq)]
enum PathState {
    Absent,
    /// A socket file nobody accepts on (its listener was closed: the process died).
    Stale,
    /// A listening socket: someone's server. Never ours to remove.
    Live,
    /// Not a socket at all: never ours to remove either.
    NotASocket,
}

fn inspect(path: &Path) -> std::io::Result<PathState> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(PathState::Absent),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Ok(PathState::NotASocket);
    }
    // A non-blocking connect never waits: a full accept queue (EAGAIN) is still a live listener.
    let probe = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    probe.set_nonblocking(true)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Ok(()) => Ok(PathState::Live),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(PathState::Live),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(PathState::Stale),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(PathState::Absent),
        Err(e) => Err(e),
    }
}

/// Binds and listens on `path`, replacing a stale socket file left by a dead process. Refuses
/// (with a message for the operator) a path someone still accepts on, or that is not a socket.
pub(crate) fn bind(path: &Path) -> Result<BoundSocket, String> {
    let shown = path.display();
    match inspect(path).map_err(|e| format!("cannot inspect socket path {shown}: {e}"))? {
        PathState::Absent => {}
        PathState::Stale => std::fs::remove_file(path)
            .or_else(|e| match e.kind() {
                ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .map_err(|e| format!("cannot remove the stale socket {shown}: {e}"))?,
        PathState::Live => {
            return Err(format!(
                "socket path {shown} is in use: another process accepts connections on it"
            ));
        }
        PathState::NotASocket => {
            return Err(format!(
                "socket path {shown} exists and is not a socket; refusing to replace it"
            ));
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)
        .and_then(|socket| {
            socket.bind(&SockAddr::unix(path)?)?;
            socket.listen(BACKLOG)?;
            Ok(socket)
        })
        .map_err(|e| format!("cannot listen on {shown}: {e}"))?;
    Ok(BoundSocket {
        listener: UnixListener::from(std::os::fd::OwnedFd::from(socket)),
        path: path.to_owned(),
    })
}

/// Removes `path` if it is a socket file nobody accepts on; leaves anything else alone.
pub(crate) fn remove_if_stale(path: &Path) {
    match inspect(path) {
        Ok(PathState::Stale) => match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot remove the unit's socket: {e}")
            }
        },
        Ok(PathState::Live) => {
            tracing::warn!(path = %path.display(), "the unit's socket path is served by another process; left in place")
        }
        Ok(PathState::Absent | PathState::NotASocket) => {}
        Err(e) => tracing::warn!(path = %path.display(), "cannot inspect the unit's socket: {e}"),
    }
}

/// Checks a socket path from a spec: absolute (the child's cwd must not matter) and short enough.
pub(crate) fn validate_path(path: &Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!(
            "the socket path {} must be absolute",
            path.display()
        ));
    }
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(format!(
            "the socket path {} is {len} bytes; a Unix socket path may have at most {MAX_SOCKET_PATH}",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_path_is_never_stolen_and_a_stale_one_is_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("u.sock");
        let first = bind(&path).expect("bind a fresh path");
        let err = bind(&path).expect_err("the path is live");
        assert!(err.contains("in use"), "{err}");
        // Closed without removal, as when the holder is SIGKILLed: the file stays, stale.
        drop(first);
        assert_eq!(inspect(&path).expect("inspect"), PathState::Stale);
        let second = bind(&path).expect("a stale path is replaced");
        second.release();
        assert!(!path.exists(), "release removes the socket file");
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data.sock");
        std::fs::write(&path, "precious").expect("write");
        assert!(bind(&path).is_err());
        remove_if_stale(&path);
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "precious");
    }

    #[test]
    fn socket_paths_must_be_absolute_and_fit_sun_path() {
        assert!(validate_path(Path::new("/run/x.sock")).is_ok());
        assert!(validate_path(Path::new("run/x.sock")).is_err());
        let long = format!("/{}", "d".repeat(MAX_SOCKET_PATH));
        assert!(validate_path(Path::new(&long)).is_err());
    }
}
