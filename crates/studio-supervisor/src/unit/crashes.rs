//! The restart policy's memory: recent crashes and the backoff schedule.

use std::collections::VecDeque;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::Instant;

use crate::spec::RestartPolicy;

/// What to do about a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    RetryAfter(Duration),
    GiveUp,
}

#[derive(Debug)]
pub(super) struct CrashTracker {
    policy: RestartPolicy,
    /// When the crashes inside the window happened, oldest first.
    recent: VecDeque<Instant>,
    backoff: ExponentialBackoff,
}

impl CrashTracker {
    pub fn new(policy: RestartPolicy) -> Self {
        let backoff = build_backoff(&policy);
        Self {
            policy,
            recent: VecDeque::new(),
            backoff,
        }
    }

    /// Records a crash at `now`: restart at once if it is the only crash inside the window,
    /// after the next backoff delay if not, or give up when this is crash number
    /// `max_crashes + 1` inside the window. (A single crash says nothing about a crash loop;
    /// waiting before the first restart would only lengthen the outage.)
    pub fn record(&mut self, now: Instant) -> Verdict {
        while self
            .recent
            .front()
            .is_some_and(|&at| now.duration_since(at) > self.policy.window)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        if self.count() > self.policy.max_crashes {
            Verdict::GiveUp
        } else if self.count() == 1 {
            Verdict::RetryAfter(Duration::ZERO)
        } else {
            Verdict::RetryAfter(self.backoff.next().unwrap_or(self.policy.backoff_max))
        }
    }

    /// Crashes inside the window.
    pub fn count(&self) -> u32 {
        u32::try_from(self.recent.len()).unwrap_or(u32::MAX)
    }

    /// Forgets past crashes and restarts the backoff schedule from its first delay.
    pub fn reset(&mut self) {
        self.recent.clear();
        self.backoff = build_backoff(&self.policy);
    }

    /// When a unit running since `running_since` will have been healthy long enough to forget
    /// its crashes; `None` when there is nothing to forget.
    pub fn healthy_at(&self, running_since: Instant) -> Option<Instant> {
        (!self.recent.is_empty()).then(|| running_since + self.policy.healthy_after)
    }

    pub fn window(&self) -> Duration {
        self.policy.window
    }
}

fn build_backoff(policy: &RestartPolicy) -> ExponentialBackoff {
    let builder = ExponentialBuilder::default()
        .with_min_delay(policy.backoff_min)
        .with_max_delay(policy.backoff_max)
        .with_factor(policy.backoff_factor)
        .without_max_times();
    if policy.jitter {
        builder.with_jitter().build()
    } else {
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_crashes: u32, jitter: bool) -> RestartPolicy {
        RestartPolicy {
            max_crashes,
            window: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            jitter,
            ..RestartPolicy::default()
        }
    }

    #[test]
    fn delays_grow_exponentially_up_to_the_cap_then_the_unit_gives_up() {
        let mut tracker = CrashTracker::new(policy(4, false));
        let now = Instant::now();
        // Whole milliseconds: backon computes in f32, so 200 ms may come out as 200.000003 ms.
        let delays: Vec<Option<u128>> = (0..5)
            .map(|_| match tracker.record(now) {
                Verdict::RetryAfter(delay) => Some(delay.as_millis()),
                Verdict::GiveUp => None,
            })
            .collect();
        assert_eq!(delays, [Some(0), Some(100), Some(200), Some(350), None]);
    }

    #[test]
    fn jitter_adds_at_most_the_delay_itself() {
        let mut tracker = CrashTracker::new(policy(100, true));
        let now = Instant::now();
        assert_eq!(tracker.record(now), Verdict::RetryAfter(Duration::ZERO));
        for base in [100, 200, 350, 350] {
            let Verdict::RetryAfter(delay) = tracker.record(now) else {
                panic!("gave up")
            };
            assert!(
                delay >= Duration::from_millis(base) && delay < Duration::from_millis(2 * base),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn crashes_outside_the_window_and_after_a_reset_are_forgotten() {
        let mut tracker = CrashTracker::new(policy(1, false));
        let start = Instant::now();
        assert!(matches!(tracker.record(start), Verdict::RetryAfter(_)));
        assert!(matches!(
            tracker.record(start + Duration::from_secs(11)),
            Verdict::RetryAfter(_)
        ));
        assert_eq!(tracker.count(), 1);
        assert_eq!(
            tracker.record(start + Duration::from_secs(12)),
            Verdict::GiveUp
        );
        tracker.reset();
        assert_eq!(tracker.count(), 0);
        // After a reset the schedule starts over: the first crash is restarted at once.
        assert_eq!(tracker.record(start), Verdict::RetryAfter(Duration::ZERO));
        assert_eq!(tracker.count(), 1);
    }
}
