//! Every default a user can override, in one place: the server's flags, a create request's
//! optional fields and the API's limits all start from these values, so a default changes here and
//! nowhere else. (`README.md` and `docs/api.md` quote them.)

use std::time::Duration;

/// Address `studio serve` listens on (`STUDIO_LISTEN`).
pub const LISTEN: &str = "127.0.0.1:7700";

/// Where `studio serve` keeps its database, caches and sandboxes (`STUDIO_DATA_DIR`).
pub const DATA_DIR: &str = "./.studio";

/// Base URL of the server the CLI talks to (`STUDIO_URL`).
pub const SERVER_URL: &str = "http://127.0.0.1:7700";

/// GitHub's REST API (`STUDIO_GITHUB_API_URL`).
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// Inactivity timeout of a sandbox, in hours (`COMPONENT_STUDIO_TIMEOUT_HOURS`, `timeout_hours`).
pub const TIMEOUT_HOURS: f64 = 4.0;

/// [`TIMEOUT_HOURS`] as a duration.
pub const TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// Largest `timeout_hours` a create may ask for, and the most the server's own default may be
/// (`STUDIO_MAX_TIMEOUT_HOURS`).
pub const MAX_TIMEOUT_HOURS: f64 = 24.0;

/// Live sandboxes one server holds at once; the next create is answered 429
/// (`STUDIO_MAX_SANDBOXES`).
pub const MAX_SANDBOXES: usize = 100;

/// npm installs running at once, server-wide (`STUDIO_MAX_INSTALLS`); more wait for a slot. An
/// install takes a core and a few hundred MB: a burst of creates for new repositories must not
/// take the machine from the renderers already serving.
pub const MAX_INSTALLS: usize = 2;

/// Memory one sandbox's renderer (its whole process tree) may use, in bytes; over it the kernel
/// kills it and the sandbox gets an `error` event (`STUDIO_SANDBOX_MEMORY`, default 1 GiB).
pub const SANDBOX_MEMORY_BYTES: u64 = 1 << 30;

/// Processes and threads one sandbox's renderer may run at once (`STUDIO_SANDBOX_PIDS`).
pub const SANDBOX_PIDS: u64 = 512;

/// CPU weight of each sandbox's renderer (cgroup v2 `cpu.weight`, 100 = the kernel's default;
/// v1 `cpu.shares` 1024): sandboxes share the CPU equally, none can starve the server.
pub const SANDBOX_CPU_WEIGHT: u64 = 100;

/// Crashes of a renderer tolerated inside the restart window before its sandbox is `failed`
/// (`COMPONENT_STUDIO_MAX_RESTARTS`, `max_restarts`).
pub const MAX_RESTARTS: u32 = 3;

/// Largest request body the API accepts, in bytes (`STUDIO_MAX_BODY_BYTES`).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How long a renderer may take from start to serving its page.
pub const RENDERER_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Pre-started renderers the pool keeps waiting for a create (`--renderer-pool`); 0 turns the
/// pool off.
pub const RENDERER_POOL: usize = 2;

/// How long events are kept before they are pruned.
pub const EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Bound on the caches Studio may collect (renderer stores, Vite dependency seeds, npm's cache,
/// mirrors no sandbox uses): past it the least recently used entries that no existing sandbox
/// references are removed (`STUDIO_STORE_MAX_BYTES`, 10 GiB).
pub const STORE_MAX_BYTES: u64 = 10 << 30;

/// Unreferenced cache entries unused for this many days are removed whatever their size; the
/// session refs of a deleted sandbox whose work was pushed go that long after its deletion
/// (`STUDIO_STORE_MAX_AGE_DAYS`).
pub const STORE_MAX_AGE_DAYS: f64 = 14.0;

/// How often a running server collects (and once at start).
pub const COLLECT_EVERY: Duration = Duration::from_secs(3600);

/// Domain under which each sandbox's preview has its own host (`STUDIO_PREVIEW_DOMAIN`):
/// `sb-<hex>.localhost`, which browsers resolve to loopback by themselves.
pub const PREVIEW_DOMAIN: &str = "localhost";

/// Components rendered when neither the request nor `studio.json` names any.
pub const COMPONENT_GLOB: &str = "src/components/**/*.{tsx,jsx}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_in_hours_and_as_a_duration_agree() {
        assert_eq!(Duration::from_secs_f64(TIMEOUT_HOURS * 3600.0), TIMEOUT);
    }

    #[test]
    fn the_cli_and_the_server_agree_on_the_address() {
        assert_eq!(SERVER_URL, format!("http://{LISTEN}"));
    }
}
