//! The jail every renderer and every npm install runs in.
//!
//! A repository's code runs in the renderer's Node (its `postcss.config.*`, its components, the
//! packages it depends on). Studio therefore starts that process, and npm, through
//! [bubblewrap](https://github.com/containers/bubblewrap) (`bwrap`, what Flatpak uses):
//!
//! * **An unprivileged host uid.** When Studio runs as root, the jailed process first drops to
//!   the `studio-sandbox` system user ([`Identity`]) and only then starts `bwrap`, which builds
//!   its namespaces as that user. (`bwrap --unshare-user --uid N` started as root would map N to
//!   host uid 0: never used.) One uid is shared by every sandbox: the mount namespaces below are
//!   what keep sandboxes apart, the uid is what keeps them away from everything that is Studio's.
//!   When Studio itself runs unprivileged (the Docker image), jailed processes keep Studio's uid
//!   and rely on the namespaces alone.
//! * **Only the paths it needs** ([`JailSpec`]): `/usr` and a few `/etc` files read-only, a fresh
//!   `/proc` of a new PID namespace, a minimal `/dev`, size-capped tmpfs `HOME` and `/tmp`, then
//!   the caller's binds. The data directory, the database, other checkouts and the server's
//!   `/proc/<pid>/environ` do not exist inside.
//! * **No network** ([`Network::None`]): a new network namespace holding only `lo`. A renderer
//!   serves on the Unix socket it inherits as fd 3; npm reaches the registry only through the
//!   registry proxy's socket bound into its jail.
//! * **No new user namespaces inside** (`--disable-userns`), a new IPC, UTS and cgroup namespace.
//!
//! [`Jail::detect`] checks at start that all of this works on this host (bubblewrap installed,
//! the user exists, user namespaces allowed, the data directory reachable by the jail's uid) and
//! says why not; the server then refuses to start renderers unless the operator passed
//! `--insecure-no-jail`.

mod command;
mod detect;
mod error;
mod identity;
mod ownership;
mod propagate;

pub use command::{JailSpec, Network};
pub use detect::{Jail, JailSettings};
pub use error::JailError;
pub use identity::Identity;
pub use propagate::{
    drop_in, drop_points_supported, mounts_below, prepare_drop_point, remove_drop_point,
};

/// The system user jailed processes run as when Studio runs as root.
pub const DEFAULT_SANDBOX_USER: &str = "studio-sandbox";

/// `HOME` inside every jail: an empty tmpfs.
pub const JAIL_HOME: &str = "/home/sandbox";
