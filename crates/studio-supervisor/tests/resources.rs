//! What a running unit uses, read from its cgroups: memory its processes hold and CPU time they
//! burnt show in `Unit::resources`, and nothing shows once the unit is stopped.

mod common;

use std::time::Duration;

use common::*;
use studio_supervisor::ResourceLimits;

const MIB: u64 = 1 << 20;

#[tokio::test]
async fn a_running_unit_reports_the_memory_and_cpu_time_of_its_tree() {
    let sup = supervisor();
    assert!(sup.uses_cgroups(), "this test needs cgroups (run as root)");
    let name = format!("usage-{}", std::process::id());
    // Holds 50 MiB it has written to (so the pages are really charged), burns at least 200 ms
    // of CPU time as Node itself counts it, says so, then idles.
    let script = "globalThis.held=Buffer.alloc(50<<20,1);\
                  const t=()=>{const u=process.cpuUsage();return u.user+u.system};\
                  while(t()<200000){}\
                  console.log('ready');setInterval(()=>{},1000);";
    let mut spec = shell(&name, "");
    spec.program = "node".into();
    spec.args = vec!["-e".into(), script.into()];
    // A memory limit puts the unit in a memory cgroup of its own on hybrid hosts too (where the
    // v2 tree has no memory controller); far above what it uses.
    spec.limits = ResourceLimits {
        memory_bytes: Some(512 * MIB),
        ..Default::default()
    };
    let unit = sup.add(spec).await.unwrap();
    assert_eq!(unit.resources(), None, "nothing runs yet");
    unit.start().await.unwrap();
    eventually(
        "the unit to allocate and burn CPU",
        Duration::from_secs(30),
        || unit.logs(10).iter().any(|l| l.text == "ready"),
    )
    .await;

    let used = unit
        .resources()
        .expect("a running unit with a memory limit has its use readable");
    assert!(
        used.memory_bytes >= 50 * MIB,
        "50 MiB are held, {} bytes reported",
        used.memory_bytes
    );
    assert!(
        used.memory_bytes < 512 * MIB,
        "more than the limit reported: {} bytes",
        used.memory_bytes
    );
    assert!(
        used.cpu_usage_usec >= 200_000,
        "200 ms of CPU time were burnt, {} µs reported",
        used.cpu_usage_usec
    );

    unit.stop().await.unwrap();
    assert_eq!(unit.resources(), None, "a stopped unit reports nothing");
    unit.remove().await.unwrap();
}
