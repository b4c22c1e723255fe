//! The real `studio serve` under test: `studio_testkit`'s [`Server`] started from this crate's
//! binary, with a client of its API.

use std::ops::Deref;
use std::path::Path;
use std::process::ExitStatus;

use studio_testkit::server::{Server, ServerConfig};

use super::api::Api;

/// A running `studio serve` (everything of [`Server`], plus [`Studio::api`]).
pub struct Studio {
    server: Server,
}

impl Studio {
    /// Starts this crate's `studio` binary as `config` says; returns once it listens.
    pub fn start(config: &ServerConfig) -> Self {
        Self {
            server: Server::start(Path::new(env!("CARGO_BIN_EXE_studio")), config),
        }
    }

    /// A client of the server's API, sending the config's client token.
    pub fn api(&self) -> Api {
        Api::new(&self.base, self.config.client_token.clone())
    }

    /// SIGTERM, then waits (bounded) for the process to exit; its status and complete log.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.server.terminate()
    }

    /// SIGKILL of the server process alone: what a crash looks like to its renderers.
    pub fn kill(self) -> String {
        self.server.kill()
    }
}

impl Deref for Studio {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}
