//! Resource limits through cgroups, with real processes: a unit over its memory limit is
//! OOM-killed and says so, a unit at its pids limit cannot fork, and the limit cgroups (v1 ones on
//! a hybrid host) are gone after the unit is removed.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use studio_supervisor::{ExitReason, ResourceLimits, RestartPolicy, UnitState};

const MIB: u64 = 1 << 20;

/// Fails (never skips) when the host cannot enforce `controllers`: CI runs as root on hosts
/// that have them.
fn require(sup: &TestSupervisor, controllers: &[&str]) {
    assert!(sup.uses_cgroups(), "these tests need cgroups (run as root)");
    let missing = sup.unenforced_limits();
    for c in controllers {
        assert!(
            !missing.contains(c),
            "the {c} cgroup controller is not available here (neither v2 nor v1): {missing:?}"
        );
    }
}

/// Unit cgroup directories named after `unit` in the v1 hierarchies of this process.
fn v1_cgroups_of(unit: &str) -> Vec<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup is readable");
    let mut found = Vec::new();
    for controller in ["memory", "pids", "cpu"] {
        let Some(path) = own.lines().find_map(|line| {
            let mut f = line.splitn(3, ':');
            let (_, names, path) = (f.next()?, f.next()?, f.next()?);
            names.split(',').any(|n| n == controller).then_some(path)
        }) else {
            continue;
        };
        let units = PathBuf::from("/sys/fs/cgroup")
            .join(controller)
            .join(path.trim_start_matches('/'))
            .join("studio-units");
        for entry in std::fs::read_dir(&units).into_iter().flatten().flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{unit}."))
            {
                found.push(entry.path());
            }
        }
    }
    found
}

#[tokio::test]
async fn a_unit_over_its_memory_limit_is_oom_killed_says_so_and_restarts_per_policy() {
    let sup = supervisor();
    require(&sup, &["memory"]);
    let name = format!("oom-{}", std::process::id());
    // Allocates (and touches) 8 MiB at a time, 64 times at most: far past the limit.
    let script = "const k=[];for(let i=0;i<64;i++){k.push(Buffer.alloc(8<<20,1))}\
                  console.log('survived');";
    let mut spec = shell(&name, "");
    spec.program = "node".into();
    spec.args = vec!["-e".into(), script.into()];
    spec.limits = ResourceLimits {
        memory_bytes: Some(64 * MIB),
        ..Default::default()
    };
    spec.restart = RestartPolicy {
        max_crashes: 1,
        backoff_min: Duration::from_millis(10),
        jitter: false,
        ..RestartPolicy::default()
    };
    let unit = sup.add(spec).await.unwrap();
    let mut statuses = unit.watch();
    unit.start().await.unwrap();

    // One crash is restarted, the second makes the unit failed: both out of memory.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut restarted_after_oom = false;
    loop {
        let status = statuses.borrow_and_update().clone();
        if status.state == UnitState::Restarting
            && status.last_exit
                == Some(ExitReason::OutOfMemory {
                    limit_bytes: 64 * MIB,
                })
        {
            restarted_after_oom = true;
        }
        if status.state == UnitState::Failed {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "not failed after 60 s: {status:?}");
        let _ = tokio::time::timeout(left, statuses.changed()).await;
    }
    let status = unit.status();
    assert!(
        restarted_after_oom,
        "no restart after an OOM kill: {status:?}"
    );
    assert!(status.restarts >= 1, "{status:?}");
    assert_eq!(
        status.last_exit,
        Some(ExitReason::OutOfMemory {
            limit_bytes: 64 * MIB
        })
    );
    let message = status.message.unwrap_or_default();
    assert!(
        message.contains("ran out of memory (limit 64 MiB)"),
        "{message}"
    );
    assert!(
        !unit.logs(100).iter().any(|l| l.text.contains("survived")),
        "the allocation was not stopped by the limit"
    );

    unit.remove().await.unwrap();
    assert_eq!(
        v1_cgroups_of(&name),
        Vec::<PathBuf>::new(),
        "limit cgroups left behind"
    );
}

#[tokio::test]
async fn a_unit_at_its_pids_limit_cannot_fork_and_stop_leaves_nothing() {
    let sup = supervisor();
    require(&sup, &["pids"]);
    let name = format!("pids-{}", std::process::id());
    let mark = marker();
    // The shell and 15 sleeps are 16 processes: the 16th sleep cannot be forked.
    let mut spec = shell(
        &name,
        "i=0; while [ $i -lt 20 ]; do sleep 300 & i=$((i+1)); echo started $i; done; wait",
    );
    spec.env.insert("LIMIT_MARK".into(), mark.clone());
    spec.limits = ResourceLimits {
        pids: Some(16),
        ..Default::default()
    };
    spec.restart = RestartPolicy::never();
    let unit = sup.add(spec).await.unwrap();
    unit.start().await.unwrap();
    let status = unit
        .wait_for(|s| s.state == UnitState::Failed, Duration::from_secs(30))
        .await
        .unwrap();
    let logs: Vec<String> = unit.logs(100).into_iter().map(|l| l.text).collect();
    assert!(logs.iter().any(|l| l == "started 15"), "{logs:?}");
    assert!(
        !logs.iter().any(|l| l == "started 16"),
        "forked past the limit: {logs:?}"
    );
    assert_eq!(
        status.last_exit,
        Some(ExitReason::Exited { code: 2 }),
        "{logs:?}"
    );

    unit.remove().await.unwrap();
    assert_eq!(processes_with_env("LIMIT_MARK", &mark), Vec::<u32>::new());
    assert_eq!(
        v1_cgroups_of(&name),
        Vec::<PathBuf>::new(),
        "limit cgroups left behind"
    );
}

#[tokio::test]
async fn the_v1_limit_cgroups_of_a_running_unit_hold_its_processes_and_go_with_it() {
    let sup = supervisor();
    require(&sup, &["memory", "pids", "cpu"]);
    let name = format!("v1-{}", std::process::id());
    let mut spec = shell(&name, "sleep 300");
    spec.limits = ResourceLimits {
        memory_bytes: Some(256 * MIB),
        pids: Some(32),
        cpu_weight: Some(50),
    };
    let unit = sup.add(spec).await.unwrap();
    let pid = unit.start().await.unwrap().pid.unwrap();
    let cgroups = v1_cgroups_of(&name);
    // Pure v2 hosts have none: the limits are in the v2 cgroup there.
    for dir in &cgroups {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "{} lacks {pid}",
            dir.display()
        );
        if dir.join("memory.limit_in_bytes").exists() {
            let limit = std::fs::read_to_string(dir.join("memory.limit_in_bytes")).unwrap();
            assert_eq!(limit.trim(), (256 * MIB).to_string());
        }
        if dir.join("pids.max").exists() {
            assert_eq!(
                std::fs::read_to_string(dir.join("pids.max"))
                    .unwrap()
                    .trim(),
                "32"
            );
        }
        if dir.join("cpu.shares").exists() {
            assert_eq!(
                std::fs::read_to_string(dir.join("cpu.shares"))
                    .unwrap()
                    .trim(),
                "512"
            );
        }
    }
    unit.remove().await.unwrap();
    assert!(!alive(pid));
    assert_eq!(
        v1_cgroups_of(&name),
        Vec::<PathBuf>::new(),
        "limit cgroups left behind"
    );
}

#[tokio::test]
async fn a_spawn_that_fails_leaves_no_limit_cgroup() {
    let sup = supervisor();
    require(&sup, &["memory", "pids"]);
    let name = format!("nospawn-{}", std::process::id());
    let mut spec = shell(&name, "");
    spec.program = "/nonexistent/program".into();
    spec.limits = ResourceLimits {
        memory_bytes: Some(64 * MIB),
        pids: Some(8),
        cpu_weight: None,
    };
    let unit = sup.add(spec).await.unwrap();
    assert!(unit.start().await.is_err());
    assert_eq!(
        v1_cgroups_of(&name),
        Vec::<PathBuf>::new(),
        "limit cgroups left behind"
    );
    unit.remove().await.unwrap();
}

/// `UnitSpec::run_as`: the child joins its (v1) limit cgroups with the supervisor's privileges,
/// then gives up its groups, gid and uid for good before exec.
#[tokio::test]
async fn a_unit_run_as_another_user_is_in_its_cgroups_and_holds_no_privilege() {
    let sup = supervisor();
    require(&sup, &["memory", "pids"]);
    let name = format!("runas-{}", std::process::id());
    let mut spec = shell(&name, "sleep 300");
    spec.cwd = PathBuf::from("/");
    spec.limits = ResourceLimits {
        memory_bytes: Some(128 * MIB),
        pids: Some(8),
        cpu_weight: None,
    };
    // `nobody`: a user that exists on every Debian host and owns nothing here.
    spec.run_as = Some(studio_supervisor::RunAs {
        uid: 65534,
        gid: 65534,
    });
    let unit = sup.add(spec).await.unwrap();
    let pid = unit.start().await.unwrap().pid.unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        field("Uid:"),
        ["65534"; 4],
        "real, effective, saved, fs uid"
    );
    assert_eq!(
        field("Gid:"),
        ["65534"; 4],
        "real, effective, saved, fs gid"
    );
    assert_eq!(
        field("Groups:"),
        Vec::<&str>::new(),
        "no supplementary group"
    );
    let cgroups = v1_cgroups_of(&name);
    for dir in &cgroups {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "{} lacks {pid}: the cgroup must be joined before the uid is dropped",
            dir.display()
        );
    }
    unit.remove().await.unwrap();
    assert_eq!(v1_cgroups_of(&name), Vec::<PathBuf>::new());
}
