//! Stopping whole process trees: stubborn grandchildren, `setsid` escapees, held pipes, and the
//! child's environment.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use studio_supervisor::{CgroupMode, SupervisorConfig, TOKEN_VAR, UnitState};

#[tokio::test]
async fn a_tree_whose_grandchildren_ignore_sigterm_stops_within_grace_plus_100ms() {
    let sup = supervisor();
    let grace = Duration::from_millis(400);
    // `trap "" TERM` is inherited across fork and exec: every process of the tree ignores TERM.
    let mut spec = shell(
        "stubborn",
        "trap '' TERM; sleep 300 & sleep 300 & (sleep 300 & wait) & wait",
    );
    spec.stop_grace = grace;
    let unit = sup.add(spec).await.unwrap();
    let leader = unit.start().await.unwrap().pid.unwrap();
    eventually("the tree", Duration::from_secs(10), || {
        group_members(leader).len() >= 5
    })
    .await;
    let tree = group_members(leader);

    let started = Instant::now();
    let status = unit.stop().await.unwrap();
    let took = started.elapsed();

    assert_eq!(status.state, UnitState::Stopped);
    let survivors: Vec<u32> = tree.iter().copied().filter(|&pid| alive(pid)).collect();
    assert!(survivors.is_empty(), "survivors: {survivors:?}");
    assert!(
        took >= grace,
        "SIGKILL came before the grace period ended: {took:?}"
    );
    assert!(
        took < grace + Duration::from_millis(100),
        "stop took {took:?} (grace {grace:?})"
    );
}

#[tokio::test]
async fn a_setsid_grandchild_is_contained_by_the_cgroup_and_gone_after_stop() {
    let sup = supervisor();
    assert!(
        sup.uses_cgroups(),
        "this machine runs as root with cgroup v2: cgroups must be used"
    );
    let spec = shell("escapee", "setsid sleep 300 & echo escapee $!; wait");
    let unit = sup.add(spec).await.unwrap();
    let leader = unit.start().await.unwrap().pid.unwrap();
    let mut escapee = None;
    eventually("the escapee's PID", Duration::from_secs(10), || {
        escapee = unit
            .logs(10)
            .iter()
            .find_map(|l| l.text.strip_prefix("escapee ")?.parse::<u32>().ok());
        escapee.is_some_and(|pid| proc_stat(pid).is_some_and(|s| s.3 == pid))
    })
    .await;
    let escapee = escapee.unwrap();
    // It left the unit's session and process group: killpg alone would miss it.
    let (_, _, pgrp, session) = proc_stat(escapee).unwrap();
    assert_ne!(pgrp, leader);
    assert_eq!(session, escapee);

    unit.stop().await.unwrap();
    assert!(!alive(escapee), "the setsid grandchild survived the stop");
    let cgroup = unit.record();
    assert!(cgroup.is_none(), "no record after stop");
}

#[tokio::test]
async fn a_grandchild_holding_stdout_open_does_not_block_stop() {
    // Without cgroups, a setsid grandchild escapes the stop and keeps the stdout pipe open: the
    // stop must still complete promptly (it never waits for end-of-file).
    let sup = supervisor_with(SupervisorConfig {
        cgroups: CgroupMode::Disabled,
        ..Default::default()
    });
    let mut spec = shell(
        "holder",
        "setsid sh -c 'echo holder $$; exec sleep 300' & wait",
    );
    spec.stop_grace = Duration::from_millis(300);
    let unit = sup.add(spec).await.unwrap();
    unit.start().await.unwrap();
    let mut holder = None;
    eventually("the holder's PID", Duration::from_secs(10), || {
        holder = unit
            .logs(10)
            .iter()
            .find_map(|l| l.text.strip_prefix("holder ")?.parse::<u32>().ok());
        holder.is_some()
    })
    .await;
    let holder = holder.unwrap();

    let started = Instant::now();
    unit.stop().await.unwrap();
    let took = started.elapsed();
    let still_holding = alive(holder);
    // Clean up the escapee ourselves before asserting anything.
    let _ = Command::new("kill")
        .args(["-9", &holder.to_string()])
        .status();
    assert!(
        still_holding,
        "the holder was supposed to escape (no cgroup) and hold the pipe"
    );
    assert!(
        took < Duration::from_millis(300 + 500),
        "stop blocked on the held pipe: {took:?}"
    );
}

#[tokio::test]
async fn a_childs_environment_holds_only_what_the_spec_passes() {
    // The supervisor runs as its own process, with a secret in *its* environment.
    let spec = serde_json::json!({
        "name": "env-check",
        "program": "sh",
        "args": ["-c", "env; echo END-OF-ENV; exec sleep 300"],
        "env": { "GIVEN_BY_SPEC": "yes" },
    });
    let mut host = Command::new(env!("CARGO_BIN_EXE_studio-supervise"))
        .arg("run")
        .env("STUDIO_TEST_SUPERVISOR_SECRET", "must-not-leak")
        .env("PATH", std::env::var("PATH").unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = host.stdin.take().unwrap();
    writeln!(stdin, "{spec}").unwrap();
    let mut child_env = Vec::new();
    let mut events = BufReader::new(host.stdout.take().unwrap()).lines();
    for line in events.by_ref() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_ne!(event["event"], "error", "{event}");
        let Some(text) = event["line"]["text"].as_str() else {
            continue;
        };
        if text == "END-OF-ENV" {
            break;
        }
        if event["line"]["stream"] == "stdout" {
            child_env.push(text.to_owned());
        }
    }
    writeln!(stdin, "stop").unwrap();
    let stopped = events.find(|l| l.as_ref().is_ok_and(|l| l.contains("\"stopped\"")));
    assert!(stopped.is_some(), "the host did not report the stop");
    drop(stdin);
    assert!(host.wait().unwrap().success());

    let names: Vec<&str> = child_env
        .iter()
        .filter_map(|v| v.split('=').next())
        .collect();
    assert!(
        child_env.iter().any(|v| v == "GIVEN_BY_SPEC=yes"),
        "{child_env:?}"
    );
    assert!(
        names.contains(&"PATH") && names.contains(&TOKEN_VAR),
        "{names:?}"
    );
    assert!(
        !names.contains(&"STUDIO_TEST_SUPERVISOR_SECRET"),
        "the supervisor's secret leaked"
    );
    // Nothing else of the supervisor's environment: only the allowed names (and what sh adds).
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        TOKEN_VAR,
        "GIVEN_BY_SPEC",
        "PWD",
        "SHLVL",
        "_",
        "OLDPWD",
    ];
    let unexpected: Vec<&&str> = names.iter().filter(|n| !allowed.contains(n)).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected variables: {unexpected:?}"
    );
}
