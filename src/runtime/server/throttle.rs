//! AUTH throttling: failed authentications counted per client address, so
//! that a password guesser gets a few tries per window however many
//! connections it opens.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::answer::Answer;
use super::limits::key;
use crate::reply::Reply;
use crate::values::{EnhancedStatusCode, ReplyCode};

/// Addresses remembered at most: the table stays bounded whatever the
/// number of guessers.
const CAPACITY: usize = 16 * 1024;

/// Failed authentications per client address (an IPv6 client by its /64,
/// as the connection limits count it). After
/// [`max_failures`](AuthThrottle::new) within a window, AUTH from that
/// address is refused unchecked until the window, which starts at its
/// first failure, has passed. Share one among all sessions (in the
/// backend); memory stays bounded.
///
/// ```
/// use esmtp::runtime::server::AuthThrottle;
/// use std::time::Duration;
///
/// let throttle = AuthThrottle::new(5, Duration::from_secs(15 * 60));
/// let ip = "192.0.2.7".parse().unwrap();
/// for _ in 0..5 {
///     assert!(throttle.refusal(ip).is_none()); // check the credentials…
///     throttle.failed(ip); // …which were wrong
/// }
/// assert!(throttle.refusal(ip).is_some()); // 454 4.7.0, unchecked
/// ```
#[derive(Debug)]
pub struct AuthThrottle {
    max_failures: u32,
    window: Duration,
    /// Per address: failures, and when the first of them was.
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AuthThrottle {
    /// `max_failures` failures per address within `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        AuthThrottle {
            max_failures,
            window,
            failures: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer to an AUTH from `ip` while it is throttled, given
    /// without checking the credentials: `454 4.7.0` (RFC 4954 §6, a
    /// temporary failure); `None` when `ip` may try.
    pub fn refusal(&self, ip: IpAddr) -> Option<Answer> {
        self.refusal_at(ip, Instant::now())
    }

    /// Counts a failed authentication from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        self.failed_at(ip, Instant::now());
    }

    fn refusal_at(&self, ip: IpAddr, now: Instant) -> Option<Answer> {
        let throttled = self.lock().get(&key(ip)).is_some_and(|&(n, first)| {
            n >= self.max_failures && now.saturating_duration_since(first) < self.window
        });
        throttled.then(|| {
            let text = "Too many authentication failures, try again later";
            let esc = EnhancedStatusCode::new(4, 7, 0);
            Reply::single(ReplyCode::TEMPORARY_AUTH_FAILURE, esc, text)
                .map_or(Answer::Deny, Answer::Reply)
        })
    }

    fn failed_at(&self, ip: IpAddr, now: Instant) {
        let (ip, window) = (key(ip), self.window);
        let fresh = |first: Instant| now.saturating_duration_since(first) < window;
        let mut table = self.lock();
        if table.len() >= CAPACITY && !table.contains_key(&ip) {
            table.retain(|_, (_, first)| fresh(*first));
            if table.len() >= CAPACITY {
                // Still full of fresh entries: forget them rather than grow.
                table.clear();
            }
        }
        let entry = table.entry(ip).or_insert((0, now));
        if !fresh(entry.1) {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4954 §6: 454 is the temporary AUTH failure; 4.7.0 a security
    /// or policy status (RFC 3463 §3.8).
    #[test]
    fn throttled_after_the_failures_until_the_window_passes_rfc4954_6() {
        let t = AuthThrottle::new(2, Duration::from_secs(60));
        let (ip, other) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let start = Instant::now();
        t.failed_at(ip, start);
        assert!(t.refusal_at(ip, start).is_none());
        t.failed_at(ip, start + Duration::from_secs(1));
        let Some(Answer::Reply(reply)) = t.refusal_at(ip, start + Duration::from_secs(2)) else {
            panic!("not throttled")
        };
        assert_eq!(
            reply.to_bytes(),
            b"454 4.7.0 Too many authentication failures, try again later\r\n"
        );
        assert!(t.refusal_at(other, start).is_none());
        // The window counts from the first failure.
        let later = start + Duration::from_secs(60);
        assert!(t.refusal_at(ip, later).is_none());
        t.failed_at(ip, later);
        assert!(t.refusal_at(ip, later).is_none(), "a new window");
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let t = AuthThrottle::new(1, Duration::from_secs(60));
        t.failed("2001:db8:1:2::1".parse().unwrap());
        assert!(t.refusal("2001:db8:1:2::99".parse().unwrap()).is_some());
        assert!(t.refusal("2001:db8:1:3::1".parse().unwrap()).is_none());
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = AuthThrottle::new(1, Duration::from_secs(60));
        for i in 0..(CAPACITY as u32 + 10) {
            t.failed(IpAddr::from((0x0a00_0000u32 + i).to_be_bytes()));
        }
        assert!(t.lock().len() <= CAPACITY);
    }
}
