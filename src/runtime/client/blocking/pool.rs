//! The blocking connection pool: the tokio pool's shape over a mutex and
//! a condition variable, shared by any number of threads.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;

use super::super::endpoint::Endpoint;
use super::super::error::Error;
use super::super::pool::{PoolConfig, Slots, Take};
use super::Transport;
use crate::client::{Envelope, MessageOutcome};

#[derive(Debug)]
struct Inner {
    endpoint: Endpoint,
    slots: Mutex<Slots<Transport>>,
    /// A connection came back, or a slot was freed.
    returned: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Slots<Transport>> {
        // Every change to `Slots` is one push, pop or counter step: a
        // panic elsewhere cannot leave it half-updated.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pool of blocking connections to one endpoint, for sends from many
/// threads: the twin of the tokio [`Pool`](crate::runtime::client::Pool),
/// with the same rules. Clones share the pool. Idle connections past the
/// idle timeout are closed (with QUIT) by the thread that next takes a
/// connection, before it sends.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

/// A connection taken from the pool; goes back when dropped, even when
/// the send panicked.
struct Lease {
    inner: Arc<Inner>,
    transport: Option<Transport>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let transport = self.transport.take();
        let usable = transport.as_ref().is_some_and(Transport::is_connected);
        self.inner
            .lock()
            .give_back(transport, usable, Instant::now());
        self.inner.returned.notify_one();
    }
}

impl Pool {
    /// A pool for `endpoint`; it connects on demand.
    pub fn new(endpoint: Endpoint, config: PoolConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint,
                slots: Mutex::new(Slots::new(config)),
                returned: Condvar::new(),
            }),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Connections open now, busy or idle.
    pub fn connections(&self) -> usize {
        self.inner.lock().open()
    }

    /// Sends one message on a pooled connection: the same result as
    /// [`Transport::send`].
    pub fn send(
        &self,
        envelope: Envelope,
        content: impl Into<Bytes>,
    ) -> Result<MessageOutcome, Error> {
        let mut lease = self.checkout();
        let transport = lease
            .transport
            .get_or_insert_with(|| Transport::new(self.inner.endpoint.clone()));
        transport.send(envelope, content)
    }

    /// An idle connection, or a slot for a new one, waiting for one to
    /// come back when every slot is taken.
    fn checkout(&self) -> Lease {
        let mut slots = self.inner.lock();
        loop {
            let expired = slots.expired(Instant::now());
            if !expired.is_empty() {
                drop(slots);
                self.quit_all(expired);
                slots = self.inner.lock();
                continue;
            }
            match slots.take() {
                Take::Idle(t) => return self.lease(Some(t)),
                Take::New => return self.lease(None),
                Take::Wait => {
                    slots = self
                        .inner
                        .returned
                        .wait(slots)
                        .unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    fn lease(&self, transport: Option<Transport>) -> Lease {
        Lease {
            inner: self.inner.clone(),
            transport,
        }
    }

    /// QUITs `transports`, then frees their slots.
    fn quit_all(&self, transports: Vec<Transport>) {
        let n = transports.len();
        for mut t in transports {
            t.quit();
        }
        self.inner.lock().release(n);
        for _ in 0..n {
            self.inner.returned.notify_one();
        }
    }

    /// Closes every idle connection with QUIT. Busy ones go back to the
    /// pool; the pool stays usable.
    pub fn close(&self) {
        let idle = self.inner.lock().drain_idle();
        self.quit_all(idle);
    }
}
