//! What every benchmark does around its measurements: the tokio runtime, timing, percentiles
//! (nearest rank), milliseconds, the p50/p99 summary, ratios to a baseline, and the machine's load
//! (the machine is shared and noisy, so numbers are read beside it and beside same-run baselines).

use std::fmt;
use std::time::{Duration, Instant};

/// A multi-threaded runtime with every driver enabled; `worker_threads` as given, or one per CPU.
pub fn runtime(worker_threads: Option<usize>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = worker_threads {
        builder.worker_threads(workers);
    }
    builder
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

/// How long `work` takes (its result is dropped).
pub fn timed<T>(work: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    drop(work());
    started.elapsed()
}

/// The `p` quantile (0 < p ≤ 1) of `samples` by nearest rank: the smallest sample that at least a
/// fraction `p` of the samples do not exceed. Panics on no samples.
pub fn percentile<T: Copy + PartialOrd>(samples: &[T], p: f64) -> T {
    assert!(!samples.is_empty(), "a percentile of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Durations in milliseconds.
pub fn millis(samples: &[Duration]) -> Vec<f64> {
    samples.iter().copied().map(ms).collect()
}

/// `a / b`, with `b` kept above a nanosecond.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// The number of samples, their median and their 99th percentile; shown as
/// `p50 1.234 ms  p99 5.678 ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// How many samples.
    pub n: usize,
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
}

impl Stats {
    /// The summary of `samples` (at least one).
    pub fn of(samples: &[Duration]) -> Self {
        Self {
            n: samples.len(),
            p50: percentile(samples, 0.50),
            p99: percentile(samples, 0.99),
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p50 {:.3} ms  p99 {:.3} ms", ms(self.p50), ms(self.p99))
    }
}

/// The 1, 5 and 15 minute load averages of the machine, or `unknown`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(percentile(&samples, 0.5), 50);
        assert_eq!(percentile(&samples, 0.99), 99);
        assert_eq!(percentile(&samples, 1.0), 100);
        assert_eq!(percentile(&[7.5], 0.5), 7.5);
        let stats = Stats::of(&[Duration::from_millis(2), Duration::from_millis(1)]);
        assert_eq!(stats.n, 2);
        assert_eq!(stats.p50, Duration::from_millis(1));
        assert_eq!(stats.to_string(), "p50 1.000 ms  p99 2.000 ms");
    }
}
