//! How hard to try when GitHub is unavailable.
//!
//! Only transient failures are retried: 5xx, 429, timeouts and connection errors. Everything else
//! (401, 403, 404, 422) is an answer that will not change by asking again, so it fails at once.
//! Delays grow exponentially with random jitter (so that many servers recovering from the same
//! outage do not retry in lockstep), and both the number of attempts and the total time slept are
//! bounded, so a finalize request never hangs for long.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::error::{ForgeError, Step};
use crate::failure::{Classifier, Failure};

/// Bounds for retrying one GitHub call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (at least 1).
    pub attempts: u32,
    /// Delay before the first retry; it doubles on each retry (plus jitter).
    pub first_delay: Duration,
    /// Largest delay between two attempts.
    pub max_delay: Duration,
    /// Total time slept between attempts; no retry starts once it would exceed this.
    pub max_total_delay: Duration,
    /// Longest wait for one attempt's answer before it counts as a transient failure.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 0.5 s → 1 s → 2 s apart (plus jitter), at most 8 s of waiting, 30 s per attempt.
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
            max_total_delay: Duration::from_secs(8),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt, for callers that do their own.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        let retries = self.attempts.saturating_sub(1);
        ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(usize::try_from(retries).unwrap_or(usize::MAX))
            .with_total_delay(Some(self.max_total_delay))
            .with_jitter()
    }
}

/// Runs one GitHub call under `policy`: transient failures are retried with backoff, each attempt
/// is bounded by `policy.attempt_timeout`, and the final failure becomes a [`ForgeError`] that
/// says how many attempts were made.
pub(crate) async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    step: Step,
    classifier: &Classifier,
    mut call: F,
) -> Result<T, ForgeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = octocrab::Result<T>>,
{
    let attempts = AtomicU32::new(0);
    let timeout = policy.attempt_timeout;
    let attempt = || {
        attempts.fetch_add(1, Ordering::Relaxed);
        let answer = tokio::time::timeout(timeout, call());
        async move {
            match answer.await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(err)) => Err(classifier.classify(step, err)),
                Err(_) => Err(Failure::Transient {
                    status: None,
                    reason: format!("no answer within {} s", timeout.as_secs_f32()),
                }),
            }
        }
    };
    attempt
        .retry(policy.backoff())
        .when(Failure::is_transient)
        .notify(|failure, delay| {
            if let Failure::Transient { reason, .. } = failure {
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(%step, %reason, retry_in_ms, "GitHub unavailable; retrying");
            }
        })
        .await
        .map_err(|failure| failure.into_error(step, attempts.load(Ordering::Relaxed)))
}
