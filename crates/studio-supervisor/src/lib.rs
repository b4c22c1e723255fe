//! Studio's process supervisor: runs named **units** (one command each) so that no process and
//! no busy port is ever left behind, restarts never race, and a crash is back to ready fast.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use studio_supervisor::*;
//! # async fn demo() -> Result<(), SupervisorError> {
//! let sup = Supervisor::new(SupervisorConfig { port_range: 5173..=5999, ..Default::default() });
//! let port = sup.ports().allocate()?;
//! let unit = sup
//!     .add(UnitSpec {
//!         name: "sb_1a2b-renderer".into(),
//!         program: "node".into(),
//!         args: vec!["node_modules/.bin/vite".into(), "--port".into(), port.to_string()],
//!         cwd: "/srv/sandboxes/sb_1a2b/renderer".into(),
//!         port: Some(port),
//!         readiness: Some(Probe::http(format!("http://127.0.0.1:{port}/"))),
//!         ..Default::default()
//!     })
//!     .await?;
//! unit.start().await?; // resolves once GET / answers 2xx/3xx
//! unit.restart().await?;
//! unit.wait_for(|s| s.state == UnitState::Running, Duration::from_secs(5)).await?;
//! sup.shutdown().await; // nothing of any unit is alive afterwards
//! # Ok(()) }
//! ```
//!
//! # Serving on a Unix socket instead of a port
//!
//! A unit with [`UnitSpec::listen_socket`] gets its listening socket from the supervisor instead
//! of opening a port (Studio's renderers work this way; nothing of them listens on TCP):
//!
//! ```no_run
//! # use studio_supervisor::*;
//! # async fn demo(sup: Supervisor) -> Result<(), SupervisorError> {
//! let socket = std::path::PathBuf::from("/srv/studio/run/1a2b3c4d5e6f7a8b.sock");
//! let unit = sup
//!     .add(UnitSpec {
//!         name: "sb_1a2b-renderer".into(),
//!         program: "node".into(),
//!         args: vec![".studio/server.mjs".into()], // listens on { fd: 3 }
//!         listen_socket: Some(socket.clone()),
//!         readiness: Some(Probe::http_unix(&socket, "/__studio/health")),
//!         ..Default::default()
//!     })
//!     .await?;
//! unit.start().await?;
//! # Ok(()) }
//! ```
//!
//! - **Hand-over.** Before the first spawn the supervisor binds the path (a stale socket file left
//!   by a dead process is replaced; a path someone still accepts on, or a file that is not a
//!   socket, is never touched: the start fails instead) and passes the listener to every instance
//!   as fd [`LISTEN_FD`] (3), with [`LISTEN_FD_VAR`]`=3` in its environment (`dup2` between fork
//!   and exec).
//! - **Restarts queue, they do not refuse.** The supervisor keeps the listener for the unit's
//!   life, so while a crashed instance is restarted, new connections wait in the accept queue and
//!   are answered by the next instance.
//! - **Probes** ([`Probe::HttpUnix`]) speak HTTP/1.1 over the socket with `Host: localhost`.
//! - **Re-adoption.** A new supervisor process has no copy of the listener: the adopted instance
//!   keeps serving on the socket it inherited. When it ends, the path is stale and the next spawn
//!   binds it afresh.
//! - **Nothing left behind.** When the unit is stopped, fails or is removed, the listener is
//!   closed and the socket file removed (if nobody else accepts on it by then).
//!
//! The port registry ([`Supervisor::ports`]) stays for units that do listen on TCP.
//!
//! # Design
//!
//! Modelled on watchexec's supervisor: each unit is owned by **one task** (`unit/actor.rs`), and
//! the cloneable [`Unit`] handle sends it requests over a bounded channel with oneshot replies.
//! Only that task touches the unit's processes and state, so there is no lock around unit state
//! and a restart can never race another restart: requests are handled one batch at a time and
//! coalesced (100 concurrent restarts cause at most two restarts and leave exactly one instance).
//!
//! # Invariants
//!
//! - **A unit is a process group and a cgroup.** The leader starts a new process group and,
//!   where cgroup v2 is writable, joins a fresh cgroup between fork and exec, so every descendant
//!   is contained, including one that calls `setsid`. Without cgroups (logged once) the process
//!   group alone contains the unit.
//! - **Limits live in the cgroup.** [`UnitSpec::limits`] (memory, processes, CPU weight) are
//!   written into the unit's v2 cgroup, or on hybrid hosts into v1 `memory`/`pids`/`cpu` cgroups
//!   of the same name that the child also joins before exec (removed with it). An out-of-memory
//!   kill ends the instance with [`ExitReason::OutOfMemory`] and is a crash like any other.
//! - **A stop is complete when nothing of the unit is alive, its port is free and its socket
//!   file is gone.** SIGTERM goes
//!   to the whole unit (`killpg`, plus members outside the group one by one), then after the
//!   grace period SIGKILL (`cgroup.kill`). Zombies do not count as alive; the leader is reaped
//!   last, so its PID (the group id) cannot be reused while the group is signalled.
//! - **No signal reaches a stranger.** Processes found by PID are signalled through a pidfd
//!   opened before re-checking membership; adoption verifies start time, boot id, token and
//!   cgroup before trusting a PID. A port held by a process outside the unit is reported with
//!   the holder's PID, never killed.
//! - **The child's environment is explicit:** `PATH`, `HOME`, `LANG`, the spec's variables and the
//!   unit token, nothing else of the supervisor's environment.
//! - **Output never blocks a stop.** Pipes are read by detached tasks into a bounded ring buffer
//!   per unit that survives restarts; a stop never waits for end-of-file.
//! - **Output never kills a unit.** With [`SupervisorConfig::log_dir`], stdout and stderr are
//!   files the supervisor opened (`<unit>.out`, `<unit>.err`), capped and rotated, and tailed into
//!   the same ring buffer; a unit that writes while no supervisor is alive meets no reader-less
//!   pipe, and the next supervisor replays what it wrote.
//! - **Crashes restart with backoff; requests are not crashes.** See [`RestartPolicy`].
//!
//! - **Units outlive their supervisor.** Dropping the [`Supervisor`] or killing its process
//!   leaves units running; a new supervisor re-adopts them from their [`AdoptionRecord`]s
//!   without a restart (which also explains what happens to their logs).
//!   [`Supervisor::shutdown`] is how nothing is left behind.
//!
//! # Cost
//!
//! An idle unit costs its task, two pipe readers and a pidfd registration (a few KB, see the
//! benchmark), and no CPU: nothing polls unless a liveness probe is configured. With a log
//! directory one tailer task replaces the pipe readers; while the unit is quiet it checks two
//! file sizes (`fstat`) every 250 ms.

mod adopt;
mod cgroup;
mod checks;
mod error;
mod instance_move;
mod leftovers;
mod limits;
mod log_files;
mod log_limits;
mod logs;
mod ports;
mod probe;
mod process;
mod procinfo;
mod socket;
mod spec;
mod status;
mod supervisor;
mod target;
mod token;
mod transfer;
mod unit;
mod usage;

pub use adopt::AdoptionRecord;
pub use checks::{Dependency, Liveness, Probe};
pub use error::{AdoptionMismatch, PortError, SupervisorError};
pub use leftovers::LeftoverCgroup;
pub use limits::ResourceLimits;
pub use log_limits::LogLimits;
pub use logs::{LogLine, LogStream};
pub use ports::{PortCheck, PortRegistry, check_port, ephemeral_range};
pub use procinfo::{cpu_ticks, pss_bytes, rss_bytes};
pub use socket::{LISTEN_FD, LISTEN_FD_VAR};
pub use spec::{RestartPolicy, RunAs, UnitSpec};
pub use status::{ExitReason, UnitState, UnitStatus};
pub use supervisor::{CgroupMode, Supervisor, SupervisorConfig};
pub use token::TOKEN_VAR;
pub use unit::{Replacement, ReplacementFuture, ReplacementSource, Unit};
pub use usage::Resources;
