//! Connection limits: sessions open in all and per client address, the
//! `421 4.7.0` a client over a limit gets, and the slot an admitted
//! connection holds until it ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Why a connection was refused before its greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// [`RuntimeConfig::max_connections`](super::RuntimeConfig::max_connections)
    /// sessions are open.
    Total,
    /// [`RuntimeConfig::max_connections_per_ip`](super::RuntimeConfig::max_connections_per_ip)
    /// sessions are open from the client's address.
    PerIp,
}

impl Refusal {
    /// The `421 4.7.0` line sent instead of a greeting (RFC 5321 §3.1
    /// allows a 421 there; RFC 3463 §3.8: 4.7.0 is a security or policy
    /// status).
    pub fn reply_line(self, hostname: &str) -> String {
        let text = match self {
            Refusal::Total => "Too many connections",
            Refusal::PerIp => "Too many connections from your address",
        };
        format!("421 4.7.0 {hostname} {text}, try again later\r\n")
    }
}

/// Open sessions, in all and per client address, shared by every listener
/// of one server.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<Open>,
    /// Signalled whenever a session ends, for a blocking shutdown's wait.
    ended: Condvar,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Slot {
    limits: Arc<ConnectionLimits>,
    /// The address it counts against; `None` until a PROXY protocol
    /// header names the client ([`Slot::count_against`]).
    key: Option<IpAddr>,
}

/// The address a connection counts against: an IPv4 address (IPv4-mapped
/// IPv6 included) as it is, an IPv6 address by its /64 prefix, the usual
/// smallest assignment to one subscriber (RFC 6177).
pub(super) fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

impl ConnectionLimits {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            open: Mutex::new(Open::default()),
            ended: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // A panic elsewhere cannot leave the counts inconsistent (each
        // update is one statement): keep going with them.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a place for a connection from `ip`, if one is free.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let key = key(ip);
        let mut open = self.lock();
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let per_ip = open.per_ip.entry(key).or_insert(0);
        if *per_ip >= self.max_per_ip {
            if *per_ip == 0 {
                open.per_ip.remove(&key);
            }
            return Err(Refusal::PerIp);
        }
        *per_ip += 1;
        open.total += 1;
        Ok(Slot {
            limits: Arc::clone(self),
            key: Some(key),
        })
    }

    /// Takes a place in the total only: the address it counts against is
    /// known later, from a PROXY protocol header ([`Slot::count_against`]).
    pub(crate) fn admit_unaddressed(self: &Arc<Self>) -> Result<Slot, Refusal> {
        let mut open = self.lock();
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        open.total += 1;
        Ok(Slot {
            limits: Arc::clone(self),
            key: None,
        })
    }

    /// Sessions open now.
    pub(crate) fn open(&self) -> usize {
        self.lock().total
    }

    /// Waits until no session is open or `timeout` passes; whether none is.
    #[cfg(feature = "blocking")]
    pub(crate) fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        let open = self.lock();
        let (open, _) = self
            .ended
            .wait_timeout_while(open, timeout, |o| o.total > 0)
            .unwrap_or_else(|e| e.into_inner());
        open.total == 0
    }
}

impl Slot {
    /// Counts a slot taken with
    /// [`ConnectionLimits::admit_unaddressed`] against `ip`, if a place is
    /// free for it (a slot already counted stays as it is).
    pub(crate) fn count_against(&mut self, ip: IpAddr) -> Result<(), Refusal> {
        if self.key.is_some() {
            return Ok(());
        }
        let key = key(ip);
        let mut open = self.limits.lock();
        let per_ip = open.per_ip.entry(key).or_insert(0);
        if *per_ip >= self.limits.max_per_ip {
            if *per_ip == 0 {
                open.per_ip.remove(&key);
            }
            return Err(Refusal::PerIp);
        }
        *per_ip += 1;
        self.key = Some(key);
        Ok(())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(key) = self.key {
            if let Some(n) = open.per_ip.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.per_ip.remove(&key);
                }
            }
        }
        drop(open);
        self.limits.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_in_all_and_per_address() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = limits.admit(a).unwrap();
        let _s2 = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::PerIp);
        let _s3 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(b).unwrap_err(), Refusal::Total);
        drop(s1);
        assert_eq!(limits.open(), 2);
        assert!(limits.admit(a).is_ok());
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let limits = ConnectionLimits::new(10, 1);
        let _s = limits.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert_eq!(
            limits
                .admit("2001:db8:1:2::ffff".parse().unwrap())
                .unwrap_err(),
            Refusal::PerIp
        );
        assert!(limits.admit("2001:db8:1:3::1".parse().unwrap()).is_ok());
        let _v4 = limits.admit("192.0.2.7".parse().unwrap()).unwrap();
        assert_eq!(
            limits
                .admit("::ffff:192.0.2.7".parse().unwrap())
                .unwrap_err(),
            Refusal::PerIp
        );
    }

    #[test]
    fn zero_per_address_refuses_without_keeping_an_entry() {
        let limits = ConnectionLimits::new(10, 0);
        assert_eq!(
            limits.admit("192.0.2.1".parse().unwrap()).unwrap_err(),
            Refusal::PerIp
        );
        assert!(limits.lock().per_ip.is_empty());
    }

    /// Behind a proxy, a connection counts against the client its PROXY
    /// header names, once it is read.
    #[test]
    fn unaddressed_slots_count_once_the_client_is_known() {
        let limits = ConnectionLimits::new(3, 1);
        let mut a = limits.admit_unaddressed().unwrap();
        let mut b = limits.admit_unaddressed().unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        a.count_against(ip).unwrap();
        assert_eq!(b.count_against(ip), Err(Refusal::PerIp));
        b.count_against("192.0.2.2".parse().unwrap()).unwrap();
        assert_eq!(limits.admit(ip).unwrap_err(), Refusal::PerIp);
        let _c = limits.admit_unaddressed().unwrap();
        assert_eq!(limits.admit_unaddressed().unwrap_err(), Refusal::Total);
        drop(a);
        let _d = limits.admit(ip).unwrap();
        assert_eq!(limits.open(), 3);
    }

    #[test]
    fn refusal_is_a_421_4_7_0_rfc5321_3_1() {
        assert_eq!(
            Refusal::PerIp.reply_line("mx.example.org"),
            "421 4.7.0 mx.example.org Too many connections from your address, try again later\r\n"
        );
    }
}
