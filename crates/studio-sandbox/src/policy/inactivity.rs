//! The inactivity clock: a sandbox nobody has used for its timeout expires, and its clients are
//! warned (`expiring`) a minute before, or half-way when the timeout is under two minutes.
//!
//! The clock owns the rule and the deadlines; the actor tells it about activity
//! ([`InactivityClock::touch`]), waits for its next [`Alarm`] and does what the alarm says.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// How long before expiry the `expiring` warning goes out (or half the timeout when shorter).
const WARNING_LEAD: Duration = Duration::from_secs(60);

/// What the actor does when the clock goes off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Alarm {
    /// Tell the clients the sandbox expires in `seconds_left` (whole seconds) unless used.
    Warn { seconds_left: f64 },
    /// The sandbox sat idle for its whole timeout: tear it down as `expired`.
    Expire,
}

/// Where the current idle period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not warned yet: the next alarm is the warning.
    Idle,
    /// Warned: the next alarm is the expiry.
    Warned,
    /// Expired: no alarm until the next activity.
    Expired,
}

/// A sandbox's inactivity deadlines, restarted by every activity.
#[derive(Debug)]
pub(crate) struct InactivityClock {
    timeout: Duration,
    last_activity: Instant,
    stage: Stage,
}

impl InactivityClock {
    /// A clock whose idle period starts now.
    pub(crate) fn start(timeout: Duration) -> Self {
        Self {
            timeout,
            last_activity: Instant::now(),
            stage: Stage::Idle,
        }
    }

    /// Activity: a new idle period starts now, and it gets its own warning.
    pub(crate) fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.stage = Stage::Idle;
    }

    /// When the sandbox expires if nothing happens before.
    pub(crate) fn expires_at(&self) -> Instant {
        self.last_activity + self.timeout
    }

    /// When the `expiring` warning goes out if nothing happens before.
    pub(crate) fn warns_at(&self) -> Instant {
        self.expires_at() - WARNING_LEAD.min(self.timeout / 2)
    }

    /// Waits for the next alarm of the current idle period. Cancel-safe: the clock only moves on
    /// when the alarm is returned, so a `select!` that picks another branch loses nothing.
    ///
    /// The warning always comes before the expiry, even when its time has passed while the actor
    /// was busy; after the expiry there is no alarm until the next [`InactivityClock::touch`].
    pub(crate) async fn alarm(&mut self) -> Alarm {
        let due = match self.stage {
            Stage::Idle => self.warns_at(),
            Stage::Warned => self.expires_at(),
            Stage::Expired => return std::future::pending().await,
        };
        sleep_until(due).await;
        match self.stage {
            Stage::Idle => {
                self.stage = Stage::Warned;
                let seconds_left = self
                    .expires_at()
                    .saturating_duration_since(Instant::now())
                    .as_secs_f64()
                    .round();
                Alarm::Warn { seconds_left }
            }
            Stage::Warned | Stage::Expired => {
                self.stage = Stage::Expired;
                Alarm::Expire
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::{advance, timeout};

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// Whether an alarm goes off within `within` of (paused) time; the clock is left as the alarm
    /// left it.
    async fn alarm_within(clock: &mut InactivityClock, within: Duration) -> Option<Alarm> {
        timeout(within, clock.alarm()).await.ok()
    }

    #[tokio::test(start_paused = true)]
    async fn warns_a_minute_before_expiry() {
        let mut clock = InactivityClock::start(HOUR);
        let started = Instant::now();
        assert_eq!(clock.warns_at(), started + HOUR - Duration::from_secs(60));
        assert_eq!(clock.alarm().await, Alarm::Warn { seconds_left: 60.0 });
        assert_eq!(Instant::now(), started + HOUR - Duration::from_secs(60));
        assert_eq!(clock.alarm().await, Alarm::Expire);
        assert_eq!(Instant::now(), started + HOUR);
    }

    #[tokio::test(start_paused = true)]
    async fn warns_half_way_when_the_timeout_is_under_two_minutes() {
        // 0.002 h, the end-to-end tests' timeout.
        let timeout = Duration::from_secs_f64(7.2);
        let mut clock = InactivityClock::start(timeout);
        let started = Instant::now();
        assert_eq!(clock.warns_at(), started + timeout / 2);
        assert_eq!(clock.alarm().await, Alarm::Warn { seconds_left: 4.0 });
        assert_eq!(Instant::now(), started + timeout / 2);
        assert_eq!(clock.alarm().await, Alarm::Expire);
        assert_eq!(Instant::now(), started + timeout);
    }

    #[tokio::test(start_paused = true)]
    async fn no_alarm_before_the_warning_is_due() {
        let mut clock = InactivityClock::start(HOUR);
        let early = HOUR - Duration::from_secs(61);
        assert_eq!(alarm_within(&mut clock, early).await, None);
        assert_eq!(
            alarm_within(&mut clock, Duration::from_secs(2)).await,
            Some(Alarm::Warn { seconds_left: 60.0 })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn activity_after_the_warning_postpones_expiry() {
        let mut clock = InactivityClock::start(HOUR);
        assert!(matches!(clock.alarm().await, Alarm::Warn { .. }));
        advance(Duration::from_secs(30)).await;
        clock.touch();
        let touched = Instant::now();
        assert_eq!(clock.expires_at(), touched + HOUR);
        // Where the old expiry was, nothing happens; the new idle period is warned afresh.
        assert_eq!(
            alarm_within(&mut clock, Duration::from_secs(3600 - 61)).await,
            None
        );
        assert_eq!(clock.alarm().await, Alarm::Warn { seconds_left: 60.0 });
        assert_eq!(clock.alarm().await, Alarm::Expire);
        assert_eq!(Instant::now(), touched + HOUR);
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_fires_once() {
        let mut clock = InactivityClock::start(HOUR);
        assert!(matches!(clock.alarm().await, Alarm::Warn { .. }));
        assert_eq!(clock.alarm().await, Alarm::Expire);
        assert_eq!(alarm_within(&mut clock, 100 * HOUR).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_actor_is_still_warned_before_expiry() {
        let mut clock = InactivityClock::start(HOUR);
        // Busy with a command past both deadlines.
        advance(2 * HOUR).await;
        assert_eq!(clock.alarm().await, Alarm::Warn { seconds_left: 0.0 });
        assert_eq!(clock.alarm().await, Alarm::Expire);
    }
}
