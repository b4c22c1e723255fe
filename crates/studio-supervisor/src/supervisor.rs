//! The supervisor: a registry of units, the port registry, and the cgroup root they share.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::adopt::{self, AdoptionRecord};
use crate::cgroup::CgroupRoot;
use crate::error::SupervisorError;
use crate::logs::LogBuffer;
use crate::ports::PortRegistry;
use crate::spec::UnitSpec;
use crate::status::{UnitState, UnitStatus};
use crate::unit::{Actor, Unit};

/// How a supervisor is set up.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// Where [`PortRegistry::allocate`] takes ports from (ports of the kernel's ephemeral range
    /// inside it are skipped).
    pub port_range: RangeInclusive<u16>,
    pub cgroups: CgroupMode,
    /// Where units' output goes: `<log_dir>/<unit>.out` and `.err`, created by the supervisor
    /// (directory 0700, files 0600), passed to every instance as its stdout and stderr, and
    /// tailed into the unit's log buffer; capped and rotated at
    /// [`LogLimits::max_file_bytes`](crate::LogLimits::max_file_bytes). A unit writing to a file
    /// survives the death of its supervisor however much it logs, and a new supervisor replays
    /// what it wrote meanwhile. `None`: pipes read by the supervisor; a unit that writes while no
    /// supervisor is alive then gets EPIPE or SIGPIPE and may die of it.
    pub log_dir: Option<PathBuf>,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            port_range: 5173..=5999,
            cgroups: CgroupMode::Auto,
            log_dir: None,
        }
    }
}

/// Whether units get their own cgroup v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupMode {
    /// Under `<this process's cgroup>/studio-units` when that is writable; otherwise process
    /// groups only (logged once, as a warning).
    Auto,
    /// Process groups only (a `setsid` grandchild can then escape a stop).
    Disabled,
    /// Under this directory of the cgroup2 mount (created if missing); fails like `Auto`.
    At(PathBuf),
}

/// What the unit tasks share with the supervisor.
#[derive(Debug)]
pub(crate) struct Shared {
    pub cgroups: Option<CgroupRoot>,
    pub ports: PortRegistry,
    pub events: broadcast::Sender<UnitStatus>,
    pub log_dir: Option<PathBuf>,
    units: Mutex<BTreeMap<String, Unit>>,
}

impl Shared {
    pub fn unit_state(&self, name: &str) -> Option<UnitState> {
        self.lock_units().get(name).map(|unit| unit.status().state)
    }

    pub fn deregister(&self, name: &str) {
        self.lock_units().remove(name);
    }

    fn lock_units(&self) -> MutexGuard<'_, BTreeMap<String, Unit>> {
        // Map operations cannot panic halfway; a poisoned map is still consistent.
        self.units
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs units. Cheap to clone; all clones share the units.
///
/// Dropping every handle does not stop anything: units keep running, supervised for as long as
/// the tokio runtime lives, and re-adoptable after. [`Supervisor::shutdown`] stops them all.
#[derive(Debug, Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl Supervisor {
    pub fn new(config: SupervisorConfig) -> Self {
        let prepared = match &config.cgroups {
            CgroupMode::Disabled => Err("disabled by configuration".to_owned()),
            CgroupMode::Auto => CgroupRoot::prepare(None),
            CgroupMode::At(dir) => CgroupRoot::prepare(Some(dir)),
        };
        let cgroups = match prepared {
            Ok(root) => {
                static REPORTED: std::sync::Once = std::sync::Once::new();
                REPORTED.call_once(|| match root.limits().describe() {
                    Ok(line) => tracing::info!("{line}"),
                    Err(line) => tracing::warn!("{line}"),
                });
                Some(root)
            }
            Err(why) => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                if config.cgroups != CgroupMode::Disabled {
                    WARNED.call_once(|| {
                        tracing::warn!(
                            "cgroups unavailable, units are contained by process groups only \
                         (a setsid grandchild can escape a stop): {why}"
                        )
                    });
                }
                None
            }
        };
        let shared = Shared {
            cgroups,
            ports: PortRegistry::new(config.port_range),
            events: broadcast::channel(1024).0,
            log_dir: config.log_dir,
            units: Mutex::new(BTreeMap::new()),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    pub fn ports(&self) -> &PortRegistry {
        &self.shared.ports
    }

    /// Whether units are contained by cgroups (else by process groups only).
    pub fn uses_cgroups(&self) -> bool {
        self.shared.cgroups.is_some()
    }

    /// The resource limits ([`UnitSpec::limits`]) this host cannot enforce: `memory`, `pids`,
    /// `cpu` (no cgroup controller for them), or all three without cgroups.
    pub fn unenforced_limits(&self) -> Vec<&'static str> {
        match &self.shared.cgroups {
            Some(root) => root.limits().missing(),
            None => vec!["memory", "pids", "cpu"],
        }
    }

    /// Registers a unit (stopped; `unit.start()` starts it). Its port, if any, is marked
    /// allocated in [`Supervisor::ports`] until the unit is removed.
    pub async fn add(&self, spec: UnitSpec) -> Result<Unit, SupervisorError> {
        spec.validate()?;
        self.register(spec, None)
    }

    /// Takes over a unit that a previous supervisor process started, without restarting it.
    ///
    /// Fails with [`SupervisorError::Adoption`] when the record does not match a live process
    /// (dead, PID reused, token or cgroup differ); nothing is registered then and no process
    /// other than proven leftovers of the unit was signalled. Register it with
    /// [`Supervisor::add`] and start it instead.
    pub async fn adopt(
        &self,
        spec: UnitSpec,
        record: AdoptionRecord,
    ) -> Result<Unit, SupervisorError> {
        spec.validate()?;
        self.ensure_unregistered(&spec.name)?;
        let logs = Arc::new(LogBuffer::new(spec.log_limits));
        let log_dir = self.shared.log_dir.as_deref();
        let instance = adopt::adopt(&spec.name, &record, &logs, log_dir)
            .await
            .map_err(|reason| SupervisorError::Adoption {
                name: spec.name.clone(),
                pid: record.pid,
                reason,
            })?;
        self.register(spec, Some((instance, logs, None)))
    }

    pub(crate) fn ensure_unregistered(&self, name: &str) -> Result<(), SupervisorError> {
        match self.shared.lock_units().contains_key(name) {
            true => Err(SupervisorError::DuplicateUnit {
                name: name.to_owned(),
            }),
            false => Ok(()),
        }
    }

    /// Registers `spec`'s unit, supervising `running` (an adopted or transferred instance, its
    /// log buffer and, for a transfer, the listening socket it serves on) if given.
    pub(crate) fn register(
        &self,
        spec: UnitSpec,
        running: Option<(
            crate::process::Instance,
            Arc<LogBuffer>,
            Option<crate::socket::BoundSocket>,
        )>,
    ) -> Result<Unit, SupervisorError> {
        let mut units = self.shared.lock_units();
        if units.contains_key(&spec.name) {
            return Err(SupervisorError::DuplicateUnit { name: spec.name });
        }
        if let Some(port) = spec.port.filter(|&p| !self.shared.ports.is_allocated(p)) {
            self.shared.ports.reserve(port)?;
        }
        let (instance, logs, socket) = match running {
            Some((instance, logs, socket)) => (Some(instance), logs, socket),
            None => (None, Arc::new(LogBuffer::new(spec.log_limits)), None),
        };
        let (unit, channels) = Unit::new(UnitStatus::new(&spec.name, spec.port), logs.clone());
        units.insert(spec.name.clone(), unit.clone());
        let mut actor = Actor::new(
            spec,
            self.shared.clone(),
            logs,
            channels.status,
            channels.record,
            channels.usage,
        )
        .with_replacement(channels.replacement);
        if let Some(instance) = instance {
            actor = actor.with_adopted(instance, socket);
        }
        tokio::spawn(actor.run(channels.inbox));
        Ok(unit)
    }

    /// The cgroup root units are created in, if cgroups are used.
    pub(crate) fn log_dir(&self) -> Option<&std::path::Path> {
        self.shared.log_dir.as_deref()
    }

    pub(crate) fn cgroup_root(&self) -> Option<&CgroupRoot> {
        self.shared.cgroups.as_ref()
    }

    /// The unit with this name, if registered.
    pub fn unit(&self, name: &str) -> Option<Unit> {
        self.shared.lock_units().get(name).cloned()
    }

    /// All registered units, by name.
    pub fn units(&self) -> Vec<Unit> {
        self.shared.lock_units().values().cloned().collect()
    }

    /// Every status change of every unit, in order. A receiver more than 1024 changes behind
    /// gets `RecvError::Lagged`.
    pub fn events(&self) -> broadcast::Receiver<UnitStatus> {
        self.shared.events.subscribe()
    }

    /// Stops and removes every unit, concurrently. When it returns, no process of any unit is
    /// alive (except survivors of SIGKILL, which are logged).
    pub async fn shutdown(&self) {
        let mut removals = tokio::task::JoinSet::new();
        for unit in self.units() {
            removals.spawn(async move { (unit.name().to_owned(), unit.remove().await) });
        }
        while let Some(joined) = removals.join_next().await {
            if let Ok((name, Err(e))) = joined {
                tracing::warn!(unit = %name, "shutdown: {e}");
            }
        }
    }
}
