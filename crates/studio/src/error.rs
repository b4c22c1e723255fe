//! How a failed command ends: one line on stderr, `error: <message> (<code>)`, and an exit code
//! that tells scripts what kind of failure it was.

use crate::client::ClientError;

/// Exit codes of the client subcommands.
pub mod exit {
    pub const OK: u8 = 0;
    /// The server refused the request (its `{"error", "code"}` is printed), or the answer could
    /// not be written to standard output.
    pub const SERVER_ERROR: u8 = 1;
    /// Bad arguments or unreadable local input (clap also exits with 2).
    pub const USAGE: u8 = 2;
    /// The server could not be reached, did not answer in time, or the connection broke.
    pub const UNREACHABLE: u8 = 3;
    /// The server answered something that is not Studio's API.
    pub const BAD_RESPONSE: u8 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Local input the command needs is unusable (a missing `--file`, non-UTF-8 content).
    #[error("{0}")]
    Input(String),
    /// Standard output is gone (e.g. `studio ls | head`); not worth a message.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

impl CliError {
    pub fn code(&self) -> &str {
        match self {
            Self::Client(e) => e.code(),
            Self::Input(_) => "invalid_input",
            Self::Output(_) => "output_error",
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Client(ClientError::Api { .. }) => exit::SERVER_ERROR,
            Self::Client(ClientError::BadResponse { .. }) => exit::BAD_RESPONSE,
            Self::Client(
                ClientError::Unreachable { .. }
                | ClientError::TimedOut { .. }
                | ClientError::ConnectionLost { .. },
            ) => exit::UNREACHABLE,
            Self::Input(_) => exit::USAGE,
            Self::Output(_) => exit::SERVER_ERROR,
        }
    }

    /// The reader stopped reading: end quietly and successfully, like other Unix tools.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The line printed on stderr.
    pub fn report(&self) -> String {
        format!("error: {self} ({})", self.code())
    }
}
