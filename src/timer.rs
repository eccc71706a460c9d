//! The idle timer both machines share: a deadline that progress restarts
//! (RFC 5321 §4.5.3.2: each timeout bounds the wait for the next step, not
//! the whole session).
//!
//! The machines take time only as an argument (`poll_timeout(now)`,
//! `handle_timeout(now)`), so input marks the timer stale and the next
//! `poll_timeout` starts the new period from the time it is given.

use std::time::{Duration, Instant};

/// A restartable deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timer {
    deadline: Option<Instant>,
    /// Progress was made since the deadline was set: the next
    /// [`Timer::arm`] starts a new period.
    stale: bool,
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer {
    /// A timer with no deadline; the first [`Timer::arm`] sets one.
    pub(crate) const fn new() -> Self {
        Self {
            deadline: None,
            stale: true,
        }
    }

    /// Progress: the current period ends, the next `arm` starts another.
    pub(crate) fn restart(&mut self) {
        self.stale = true;
    }

    /// Nothing is awaited: no deadline until the next `arm`.
    pub(crate) fn stop(&mut self) {
        self.deadline = None;
        self.stale = true;
    }

    /// The deadline for a wait of `period`, starting at `now` unless a
    /// period is already running. `None` when the sum overflows `Instant`
    /// (a period so long it never ends).
    pub(crate) fn arm(&mut self, now: Instant, period: Duration) -> Option<Instant> {
        if self.stale || self.deadline.is_none() {
            self.deadline = now.checked_add(period);
            self.stale = false;
        }
        self.deadline
    }

    /// Whether a running period has ended at `now`. A stale timer has not:
    /// progress came after its deadline was set.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        !self.stale && self.deadline.is_some_and(|d| now >= d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_restarts_the_period_rfc5321_4_5_3_2() {
        let t0 = Instant::now();
        let period = Duration::from_secs(300);
        let mut timer = Timer::new();
        assert_eq!(timer.arm(t0, period), Some(t0 + period));
        // Asking again later does not move a running deadline.
        assert_eq!(
            timer.arm(t0 + Duration::from_secs(10), period),
            Some(t0 + period)
        );
        assert!(!timer.expired(t0 + Duration::from_secs(299)));
        assert!(timer.expired(t0 + period));
        // Progress: the deadline no longer applies until re-armed.
        timer.restart();
        assert!(!timer.expired(t0 + period));
        let t1 = t0 + Duration::from_secs(100);
        assert_eq!(timer.arm(t1, period), Some(t1 + period));
        timer.stop();
        assert!(!timer.expired(t1 + period));
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(timer.arm(t2, period), Some(t2 + period));
    }
}
