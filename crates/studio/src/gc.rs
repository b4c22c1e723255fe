//! `studio gc`: one collection of a data dir, printed.
//!
//! It opens the data dir and its database itself (no server needed). A server running on the
//! same data dir meanwhile is safe: its preparations pause while this one scans and removes, and
//! nothing an existing sandbox (or any checkout on disk) uses is touched (`studio_sandbox`'s
//! `collect`).

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use clap::Args;
use studio_core::defaults;
use studio_sandbox::{CollectOptions, CollectReport, Collected, Collector, ManagerConfig};

use crate::store_bounds::StoreBounds;

/// `studio gc`
#[derive(Debug, Clone, Args)]
pub struct GcArgs {
    #[arg(long, env = "STUDIO_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The server's template: its dependencies' store entry is kept.
    #[arg(long, env = "COMPONENT_STUDIO_TEMPLATE_DIR")]
    pub template_dir: Option<PathBuf>,
    /// The server's `--npm-cache`, if it has one (such a cache is never collected).
    #[arg(long, env = "STUDIO_NPM_CACHE")]
    pub npm_cache: Option<PathBuf>,
    #[command(flatten)]
    pub bounds: StoreBounds,
    /// Print what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove the refs of deleted sandboxes' commits that were never pushed (once deleted
    /// longer ago than the age bound): that work is then lost.
    #[arg(long)]
    pub include_unpushed: bool,
}

/// Collects once and prints each removal and the total.
pub async fn gc(args: GcArgs) -> Result<()> {
    let data_dir = std::fs::canonicalize(&args.data_dir)
        .with_context(|| format!("no data directory at {}", args.data_dir.display()))?;
    let url = crate::server::database_url(&data_dir, args.database_url.as_deref());
    let store = studio_store::connect(&url).await?;
    let template_dir = crate::server::template_dir(args.template_dir.as_deref())?;
    let mut config = ManagerConfig::new(&data_dir, template_dir, defaults::SERVER_URL);
    config.npm_cache = args.npm_cache.clone();
    let collector = Collector::open(config, store)?;
    let options = CollectOptions {
        bounds: args.bounds.bounds(),
        dry_run: args.dry_run,
        include_unpushed: args.include_unpushed,
    };
    let outcome = collector.collect(options).await;
    collector.close().await;
    let report = outcome?;
    for line in report_lines(&report) {
        println!("{line}");
    }
    // The rest was removed and printed; what was not is the error (exit status 1).
    if !report.failures.is_empty() {
        bail!(
            "could not remove {} entries:\n{}",
            report.failures.len(),
            report.failures.join("\n")
        );
    }
    Ok(())
}

/// One line per entry, then the total.
pub fn report_lines(report: &CollectReport) -> Vec<String> {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut lines: Vec<String> = report
        .removed
        .iter()
        .map(|entry| entry_line(verb, entry))
        .collect();
    let (freed, now) = match report.dry_run {
        true => ("would free", "data dir would be"),
        false => ("freed", "data dir now"),
    };
    lines.push(format!(
        "{freed} {} bytes ({}); {now} {} bytes, bound {}; took {} ms",
        report.freed_bytes,
        mib(report.freed_bytes),
        report.data_dir_bytes,
        report.max_bytes,
        report.duration.as_millis()
    ));
    lines
}

fn entry_line(verb: &str, entry: &Collected) -> String {
    format!(
        "{verb} {} {} {} bytes, last used {}",
        entry.kind,
        entry.path.display(),
        entry.bytes,
        rfc3339(entry.last_used)
    )
}

fn mib(bytes: u64) -> String {
    // Display only: a float's rounding is fine here.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / f64::from(1u32 << 20);
    format!("{mib:.1} MiB")
}

fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_report_names_each_entry_and_the_total() {
        let entry = Collected {
            kind: "deps-store",
            path: PathBuf::from("/data/renderer/deps/abc"),
            bytes: 3 << 20,
            last_used: SystemTime::UNIX_EPOCH,
        };
        let mut report = CollectReport {
            dry_run: true,
            removed: vec![entry],
            freed_bytes: 3 << 20,
            data_dir_bytes_before: 5 << 20,
            data_dir_bytes: 2 << 20,
            max_bytes: 1,
            failures: Vec::new(),
            duration: Duration::from_millis(7),
        };
        assert_eq!(
            report_lines(&report),
            [
                "would remove deps-store /data/renderer/deps/abc 3145728 bytes, last used 1970-01-01T00:00:00Z",
                "would free 3145728 bytes (3.0 MiB); data dir would be 2097152 bytes, bound 1; took 7 ms",
            ]
        );
        report.dry_run = false;
        assert!(report_lines(&report)[0].starts_with("removed deps-store "));
        assert!(
            report_lines(&report)[1]
                .starts_with("freed 3145728 bytes (3.0 MiB); data dir now 2097152 bytes")
        );
    }
}
