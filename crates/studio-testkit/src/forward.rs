//! A TCP → Unix socket forwarder for tests whose client can only speak TCP (Chromium cannot open
//! a Unix socket): it listens on `127.0.0.1:<free port>` and pipes every connection, bytes as
//! they are (HTTP, WebSocket upgrades), to the socket. At most [`MAX_CONNECTIONS`] at once;
//! everything stops when the forwarder is dropped.
//!
//! The client sends `Host: 127.0.0.1:<port>`, which Vite accepts like `localhost` (an IP address
//! cannot be a DNS-rebinding host).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::{TcpListener, UnixStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Connections forwarded at once; more wait in the listener's backlog.
pub const MAX_CONNECTIONS: usize = 256;

/// A running forwarder; dropping it closes the listener and every forwarded connection.
#[derive(Debug)]
pub struct UnixForwarder {
    addr: SocketAddr,
    target: PathBuf,
    tasks: JoinSet<()>,
}

impl UnixForwarder {
    /// Starts forwarding `127.0.0.1:<free port>` to the Unix socket at `target`. Needs a tokio
    /// runtime.
    pub async fn start(target: &Path) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a forwarder on 127.0.0.1");
        let addr = listener.local_addr().expect("the forwarder's address");
        let mut tasks = JoinSet::new();
        let socket = target.to_owned();
        tasks.spawn(async move {
            let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
            // The accepted connections are tasks of this set: aborting the accept loop (drop)
            // drops the set, which aborts them too.
            let mut connections = JoinSet::new();
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let socket = socket.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    if let Ok(mut upstream) = UnixStream::connect(&socket).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                // Reap finished connections so the set stays as small as the live ones.
                while connections.try_join_next().is_some() {}
            }
        });
        Self {
            addr,
            target: target.to_owned(),
            tasks,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The Unix socket connections go to.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Stops accepting and closes every forwarded connection (as dropping does).
    pub fn stop(mut self) {
        self.tasks.abort_all();
    }
}
