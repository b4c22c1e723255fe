//! The inactivity clock: a sandbox nobody has used for its timeout expires, and its clients are
//! warned (`expiring`) a minute before, or half-way when the timeout is under two minutes.
//!
//! The clock owns the rule and the deadlines; the actor tells it about activity
//! ([`InactivityClock::touch`]), waits for its next [`Alarm`] and does what the alarm says. After
//! a server restart the clock resumes from the stored last activity
//! ([`InactivityClock::resume`]): the time the server was down counts as idle, so a restart
//! neither extends nor shortens a sandbox's life.

use std::time::Duration;

use time::OffsetDateTime;
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
    /// Kept rather than the last activity: a resumed clock's last activity may lie before the
    /// monotonic clock's origin (the host rebooted meanwhile), its deadline never does.
    expires_at: Instant,
    stage: Stage,
}

impl InactivityClock {
    /// A clock whose idle period starts now.
    pub(crate) fn start(timeout: Duration) -> Self {
        Self {
            timeout,
            expires_at: Instant::now() + timeout,
            stage: Stage::Idle,
        }
    }

    /// A clock whose idle period started at `last_activity` (as stored), `now` being the wall
    /// clock's time: it expires `timeout` after `last_activity`, at once if that has passed
    /// (warned first, as always). A last activity in the future (the wall clock was set back)
    /// counts as now.
    pub(crate) fn resume(
        timeout: Duration,
        last_activity: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        let idle_for = Duration::try_from(now - last_activity).unwrap_or(Duration::ZERO);
        Self {
            timeout,
            expires_at: Instant::now() + timeout.saturating_sub(idle_for),
            stage: Stage::Idle,
        }
    }

    /// Activity: a new idle period starts now, and it gets its own warning.
    pub(crate) fn touch(&mut self) {
        self.expires_at = Instant::now() + self.timeout;
        self.stage = Stage::Idle;
    }

    /// When the sandbox expires if nothing happens before.
    pub(crate) fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// When the `expiring` warning goes out if nothing happens before.
    pub(crate) fn warns_at(&self) -> Instant {
        let lead = WARNING_LEAD.min(self.timeout / 2);
        // Only a resumed clock's deadline can lie closer to the monotonic origin than the lead.
        self.expires_at.checked_sub(lead).unwrap_or(self.expires_at)
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
    const MINUTE: Duration = Duration::from_secs(60);

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
    async fn a_resumed_clock_keeps_the_stored_deadline() {
        let stored = time::macros::datetime!(2026-11-22 10:00 UTC);
        // The server comes back 20 minutes after the last activity: 40 minutes are left.
        let mut clock = InactivityClock::resume(HOUR, stored, stored + time::Duration::minutes(20));
        let resumed = Instant::now();
        assert_eq!(clock.expires_at(), resumed + 40 * MINUTE);
        assert_eq!(clock.alarm().await, Alarm::Warn { seconds_left: 60.0 });
        assert_eq!(Instant::now(), resumed + 39 * MINUTE);
        assert_eq!(clock.alarm().await, Alarm::Expire);
        assert_eq!(Instant::now(), resumed + 40 * MINUTE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_resumed_past_its_deadline_warns_then_expires_at_once() {
        let stored = time::macros::datetime!(2026-11-22 10:00 UTC);
        let mut clock = InactivityClock::resume(HOUR, stored, stored + time::Duration::hours(3));
        let resumed = Instant::now();
        assert_eq!(clock.alarm().await, Alarm::Warn { seconds_left: 0.0 });
        assert_eq!(clock.alarm().await, Alarm::Expire);
        assert_eq!(Instant::now(), resumed, "no time passes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stored_activity_in_the_future_counts_as_now() {
        let stored = time::macros::datetime!(2026-11-22 10:00 UTC);
        let clock = InactivityClock::resume(HOUR, stored, stored - time::Duration::minutes(5));
        assert_eq!(clock.expires_at(), Instant::now() + HOUR);
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
