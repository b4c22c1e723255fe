//! Per-connection limits on what a WebSocket client sends: a token bucket for the message rate,
//! and the coalescing of `component-selected` selections before they are stored.
//!
//! Both are plain state owned by the connection's task (no lock, no timer task of their own);
//! the task asks them what to do with each message and when to flush.

use std::time::Duration;

use tokio::time::Instant;

/// Largest client message, in bytes; a larger one closes the connection with 1009.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Refused messages (until the client slows down, see `RateLimiter::check`) after which the
/// client is disconnected.
pub const STRIKES_BEFORE_DISCONNECT: u32 = 50;

/// The per-connection limits on WebSocket clients (`--ws-messages-per-second`,
/// `--ws-selection-interval-ms`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WsLimits {
    /// Messages per second a client may send, on average; it may send twice as many at once.
    pub messages_per_second: f64,
    /// At most one selection per connection is stored (and relayed) per this interval; zero
    /// stores every selection.
    pub selection_interval: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            messages_per_second: 20.0,
            selection_interval: Duration::from_millis(100),
        }
    }
}

impl WsLimits {
    /// Messages a client may send at once before the rate applies.
    pub fn burst(&self) -> f64 {
        (self.messages_per_second * 2.0).max(1.0)
    }
}

/// What to do with one client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: handle it.
    Accept,
    /// Over the rate: drop it; `reply` is true for the first refusal since the client last slowed
    /// down, so a flood is not answered with a flood of errors.
    Refuse { reply: bool },
    /// The client kept flooding: close the connection.
    Disconnect,
}

/// A token bucket of [`WsLimits::burst`] tokens refilled at [`WsLimits::messages_per_second`].
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
    strikes: u32,
}

impl RateLimiter {
    pub fn new(limits: &WsLimits, now: Instant) -> Self {
        Self {
            rate: limits.messages_per_second,
            burst: limits.burst(),
            tokens: limits.burst(),
            updated: now,
            strikes: 0,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            // Refusals are forgiven once the client has slowed down enough for the bucket to
            // refill half-way; a client that keeps flooding never gets there (an occasional
            // refilled token does not reset its count), so it is disconnected.
            if self.tokens >= self.burst / 2.0 {
                self.strikes = 0;
            }
            self.tokens -= 1.0;
            return Verdict::Accept;
        }
        self.strikes += 1;
        if self.strikes >= STRIKES_BEFORE_DISCONNECT {
            Verdict::Disconnect
        } else {
            Verdict::Refuse {
                reply: self.strikes == 1,
            }
        }
    }
}

/// Holds back selections so that at most one is stored per [`WsLimits::selection_interval`];
/// the latest selection of an interval wins, earlier ones in it are dropped.
#[derive(Debug)]
pub struct Coalescer {
    interval: Duration,
    last_stored: Option<Instant>,
    pending: Option<String>,
}

impl Coalescer {
    pub fn new(limits: &WsLimits) -> Self {
        Self {
            interval: limits.selection_interval,
            last_stored: None,
            pending: None,
        }
    }

    /// A new selection: `Some` when it is to be stored now, `None` when it waits for
    /// [`Coalescer::deadline`] (replacing any selection already waiting).
    pub fn offer(&mut self, now: Instant, message: String) -> Option<String> {
        let due = self
            .last_stored
            .is_none_or(|last| now >= last + self.interval);
        if due && self.pending.is_none() {
            self.last_stored = Some(now);
            Some(message)
        } else {
            self.pending = Some(message);
            None
        }
    }

    /// When the waiting selection is to be stored; `None` when nothing waits.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref()?;
        Some(self.last_stored? + self.interval)
    }

    /// The waiting selection, whatever its deadline (the connection is ending).
    pub fn take(&mut self) -> Option<String> {
        self.pending.take()
    }

    /// The waiting selection, once its deadline has passed.
    pub fn flush(&mut self, now: Instant) -> Option<String> {
        if self.deadline().is_some_and(|d| now >= d) {
            self.last_stored = Some(now);
            self.pending.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_applies_and_a_flood_is_disconnected() {
        let mut limiter = RateLimiter::new(&WsLimits::default(), Instant::now());
        for _ in 0..40 {
            assert_eq!(limiter.check(Instant::now()), Verdict::Accept);
        }
        assert_eq!(
            limiter.check(Instant::now()),
            Verdict::Refuse { reply: true }
        );
        assert_eq!(
            limiter.check(Instant::now()),
            Verdict::Refuse { reply: false }
        );
        // 50 ms refill one token at 20/s: accepted, but the flood is not forgiven.
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(limiter.check(Instant::now()), Verdict::Accept);
        let verdicts: Vec<_> = (0..60).map(|_| limiter.check(Instant::now())).collect();
        assert_eq!(verdicts[0], Verdict::Refuse { reply: false });
        assert_eq!(verdicts[46], Verdict::Refuse { reply: false });
        assert_eq!(verdicts[47], Verdict::Disconnect, "the 50th refusal");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_slows_down_is_forgiven() {
        let mut limiter = RateLimiter::new(&WsLimits::default(), Instant::now());
        for _ in 0..40 {
            assert_eq!(limiter.check(Instant::now()), Verdict::Accept);
        }
        for _ in 0..30 {
            assert_ne!(limiter.check(Instant::now()), Verdict::Disconnect);
        }
        // A second of quiet refills the bucket: the count starts over, and is reported again.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..20 {
            assert_eq!(limiter.check(Instant::now()), Verdict::Accept);
        }
        assert_eq!(
            limiter.check(Instant::now()),
            Verdict::Refuse { reply: true }
        );
        for _ in 0..48 {
            assert_eq!(
                limiter.check(Instant::now()),
                Verdict::Refuse { reply: false }
            );
        }
        assert_eq!(limiter.check(Instant::now()), Verdict::Disconnect);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_client_within_the_rate_is_never_refused() {
        let mut limiter = RateLimiter::new(&WsLimits::default(), Instant::now());
        for _ in 0..500 {
            tokio::time::advance(Duration::from_millis(50)).await;
            assert_eq!(limiter.check(Instant::now()), Verdict::Accept);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn selections_are_coalesced_and_the_latest_wins() {
        let mut c = Coalescer::new(&WsLimits::default());
        const SELECTION_INTERVAL: Duration = Duration::from_millis(100);
        assert_eq!(c.offer(Instant::now(), "a".into()).as_deref(), Some("a"));
        assert_eq!(c.deadline(), None);
        for s in ["b", "c", "d"] {
            assert_eq!(c.offer(Instant::now(), s.into()), None);
        }
        let deadline = c.deadline().expect("a selection waits");
        assert_eq!(deadline, Instant::now() + SELECTION_INTERVAL);
        assert_eq!(c.flush(Instant::now()), None, "not before the deadline");
        tokio::time::advance(SELECTION_INTERVAL).await;
        assert_eq!(c.flush(Instant::now()).as_deref(), Some("d"));
        assert_eq!(c.deadline(), None);
        // Right after a flush, the next selection waits again.
        assert_eq!(c.offer(Instant::now(), "e".into()), None);
        tokio::time::advance(SELECTION_INTERVAL).await;
        assert_eq!(c.flush(Instant::now()).as_deref(), Some("e"));
        // After a quiet interval, a selection is stored at once.
        tokio::time::advance(SELECTION_INTERVAL).await;
        assert_eq!(c.offer(Instant::now(), "f".into()).as_deref(), Some("f"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_interval_stores_every_selection() {
        let mut c = Coalescer::new(&WsLimits {
            selection_interval: Duration::ZERO,
            ..WsLimits::default()
        });
        for s in ["a", "b", "c"] {
            assert_eq!(c.offer(Instant::now(), s.into()).as_deref(), Some(s));
        }
        assert_eq!(c.deadline(), None);
    }
}
