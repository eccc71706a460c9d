//! The clock and idle timer both machines share: the latest time the
//! driver gave, and when the current wait began (RFC 5321 §4.5.3.2: each
//! timeout bounds the wait for the next step, not the whole session).
//!
//! Time is an input. The driver gives it with `handle_timeout(now)`; the
//! machine never reads a clock. Progress restarts the wait at the latest
//! time given, and the deadline is a pure function of that start and the
//! period that applies, so `poll_timeout(&self)` can be asked any number
//! of times with the same answer.

use std::time::{Duration, Instant};

/// The latest time given and the start of the current wait.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timer {
    /// The latest time the driver gave; `None` before the first.
    now: Option<Instant>,
    /// When the current wait began; `None` until a time is known.
    since: Option<Instant>,
}

impl Timer {
    /// A timer that knows no time yet, so has no deadline: the first
    /// [`Timer::tick`] starts the first wait.
    pub(crate) const fn new() -> Self {
        Self {
            now: None,
            since: None,
        }
    }

    /// The driver's clock. Time never goes back: an instant before the
    /// latest one given is ignored. The first tick starts a wait that no
    /// progress has started yet.
    pub(crate) fn tick(&mut self, now: Instant) {
        let now = match self.now {
            Some(latest) if latest > now => latest,
            _ => now,
        };
        self.now = Some(now);
        if self.since.is_none() {
            self.since = Some(now);
        }
    }

    /// The latest time given, if any.
    pub(crate) fn now(&self) -> Option<Instant> {
        self.now
    }

    /// Progress: a new wait begins at the latest time given (or at the
    /// first tick, when none was given yet).
    pub(crate) fn restart(&mut self) {
        self.since = self.now;
    }

    /// The end of a wait of `period` begun at the last restart. `None`
    /// before any time is known, or when the sum overflows `Instant` (a
    /// period so long it never ends).
    pub(crate) fn deadline(&self, period: Duration) -> Option<Instant> {
        self.since?.checked_add(period)
    }

    /// Whether the latest time given has reached `deadline`.
    pub(crate) fn reached(&self, deadline: Instant) -> bool {
        self.now.is_some_and(|now| now >= deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(300);

    #[test]
    fn no_deadline_before_the_first_time() {
        let mut timer = Timer::new();
        assert_eq!(timer.deadline(PERIOD), None);
        // Progress without a clock starts nothing either.
        timer.restart();
        assert_eq!(timer.deadline(PERIOD), None);
        let t0 = Instant::now();
        timer.tick(t0);
        assert_eq!(timer.deadline(PERIOD), Some(t0 + PERIOD));
    }

    #[test]
    fn ticks_do_not_move_a_running_wait_rfc5321_4_5_3_2() {
        let t0 = Instant::now();
        let mut timer = Timer::new();
        timer.tick(t0);
        for s in [1, 10, 299] {
            timer.tick(t0 + Duration::from_secs(s));
            assert_eq!(timer.deadline(PERIOD), Some(t0 + PERIOD));
            assert!(!timer.reached(t0 + PERIOD));
        }
        timer.tick(t0 + PERIOD);
        assert!(timer.reached(t0 + PERIOD));
    }

    #[test]
    fn progress_restarts_the_wait_at_the_latest_time_rfc5321_4_5_3_2() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(100);
        let mut timer = Timer::new();
        timer.tick(t0);
        timer.tick(t1);
        timer.restart();
        assert_eq!(timer.deadline(PERIOD), Some(t1 + PERIOD));
        // The query is pure: asking again gives the same answer.
        assert_eq!(timer.deadline(PERIOD), timer.deadline(PERIOD));
        // The old deadline has not been reached by the new wait.
        timer.tick(t0 + PERIOD);
        assert!(!timer.reached(t1 + PERIOD));
    }

    #[test]
    fn time_never_goes_back() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(50);
        let mut timer = Timer::new();
        timer.tick(t1);
        timer.tick(t0);
        assert_eq!(timer.now(), Some(t1));
        timer.restart();
        assert_eq!(timer.deadline(PERIOD), Some(t1 + PERIOD));
    }

    #[test]
    fn an_endless_period_has_no_deadline() {
        let mut timer = Timer::new();
        timer.tick(Instant::now());
        assert_eq!(timer.deadline(Duration::MAX), None);
    }
}
