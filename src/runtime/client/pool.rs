//! Connection pools: the limits and the bookkeeping both runtimes share
//! (open slots, idle connections, expiry), and the tokio pool, whose
//! cloneable handle sends from any number of tasks.

use std::time::{Duration, Instant};

/// A pool's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Connections open at once, busy or idle (default 4; at least 1).
    pub max_connections: usize,
    /// An idle connection older than this is closed (with QUIT) rather
    /// than reused (default 60 s, well under the 5 minutes a server waits
    /// for a command, RFC 5321 §4.5.3.2.7).
    pub idle_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 4,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl PoolConfig {
    /// At most `max_connections` connections, idle ones closed after
    /// `idle_timeout`.
    pub fn new(max_connections: usize, idle_timeout: Duration) -> Self {
        Self {
            max_connections: max_connections.max(1),
            idle_timeout,
        }
    }
}

/// What a pool holds, whatever the runtime: `T` is its transport.
#[derive(Debug)]
pub(super) struct Slots<T> {
    config: PoolConfig,
    /// Connections waiting for a message, most recently used last.
    idle: Vec<(T, Instant)>,
    /// Connections open or being opened, idle ones included.
    open: usize,
}

/// What a sender gets from [`Slots::take`].
#[derive(Debug)]
pub(super) enum Take<T> {
    /// An idle connection.
    Idle(T),
    /// A slot for a new connection.
    New,
    /// Every slot is taken: wait for one to come back.
    Wait,
}

impl<T> Slots<T> {
    pub(super) fn new(config: PoolConfig) -> Self {
        Self {
            config: PoolConfig {
                max_connections: config.max_connections.max(1),
                ..config
            },
            idle: Vec::new(),
            open: 0,
        }
    }

    /// The most recently used idle connection (the others may expire), or
    /// a slot, or nothing.
    pub(super) fn take(&mut self) -> Take<T> {
        if let Some((t, _)) = self.idle.pop() {
            return Take::Idle(t);
        }
        if self.open < self.config.max_connections {
            self.open += 1;
            return Take::New;
        }
        Take::Wait
    }

    /// A connection comes back: kept if it is still usable, else its slot
    /// is freed.
    pub(super) fn give_back(&mut self, transport: Option<T>, usable: bool, now: Instant) {
        match transport {
            Some(t) if usable => self.idle.push((t, now)),
            _ => self.release(1),
        }
    }

    /// Frees `n` slots (their connections are closed).
    pub(super) fn release(&mut self, n: usize) {
        self.open = self.open.saturating_sub(n);
    }

    /// Removes the idle connections past the idle timeout, to be closed;
    /// their slots stay taken until [`Slots::release`].
    pub(super) fn expired(&mut self, now: Instant) -> Vec<T> {
        let limit = self.config.idle_timeout;
        let old = |since: &Instant| now.saturating_duration_since(*since) >= limit;
        if !self.idle.iter().any(|(_, since)| old(since)) {
            return Vec::new();
        }
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.idle)
            .into_iter()
            .partition(|(_, since)| old(since));
        self.idle = kept;
        gone.into_iter().map(|(t, _)| t).collect()
    }

    /// Removes every idle connection, to be closed.
    pub(super) fn drain_idle(&mut self) -> Vec<T> {
        std::mem::take(&mut self.idle)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    /// Connections open or being opened.
    pub(super) fn open(&self) -> usize {
        self.open
    }
}

#[cfg(feature = "tokio")]
pub use tokio_pool::Pool;

#[cfg(feature = "tokio")]
mod tokio_pool {
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::Instant;

    use bytes::Bytes;
    use tokio::sync::Notify;

    use super::{PoolConfig, Slots, Take};
    use crate::client::{Envelope, MessageOutcome};
    use crate::runtime::client::{Endpoint, Error, Transport};

    #[derive(Debug)]
    struct Inner {
        endpoint: Endpoint,
        slots: Mutex<Slots<Transport>>,
        /// A connection came back, or a slot was freed.
        returned: Notify,
    }

    impl Inner {
        fn lock(&self) -> MutexGuard<'_, Slots<Transport>> {
            // Every change to `Slots` is one push, pop or counter step: a
            // panic elsewhere cannot leave it half-updated.
            self.slots.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// Frees `n` slots and wakes as many waiting senders.
        fn release(&self, n: usize) {
            self.lock().release(n);
            for _ in 0..n {
                self.returned.notify_one();
            }
        }
    }

    /// A pool of connections to one endpoint, for many concurrent sends on
    /// tokio. Clones share the pool.
    ///
    /// [`send`](Pool::send) takes an idle connection (the most recently
    /// used one), or opens one while fewer than
    /// [`max_connections`](PoolConfig::max_connections) are open, or waits
    /// for one to come back. Each connection is a [`Transport`], so it
    /// connects again and sends messages again under the same rules
    /// ([`Reconnect`](crate::runtime::client::Reconnect)). A connection
    /// whose session ended (a `421`, an error, a cancelled send) does not
    /// go back to the pool; one idle past
    /// [`idle_timeout`](PoolConfig::idle_timeout) is closed, on a task of
    /// its own, at the next use of the pool, or by [`Pool::close`].
    #[derive(Debug, Clone)]
    pub struct Pool {
        inner: Arc<Inner>,
    }

    /// A connection taken from the pool; goes back when dropped, even when
    /// the send was cancelled.
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
                    returned: Notify::new(),
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
        pub async fn send(
            &self,
            envelope: Envelope,
            content: impl Into<Bytes>,
        ) -> Result<MessageOutcome, Error> {
            let mut lease = self.checkout().await;
            let transport = lease
                .transport
                .get_or_insert_with(|| Transport::new(self.inner.endpoint.clone()));
            transport.send(envelope, content).await
        }

        /// An idle connection, or a slot for a new one, waiting for one to
        /// come back when every slot is taken.
        async fn checkout(&self) -> Lease {
            loop {
                // Made before looking: a return in between is not missed.
                let returned = self.inner.returned.notified();
                let take = {
                    let mut slots = self.inner.lock();
                    let expired = slots.expired(Instant::now());
                    if !expired.is_empty() {
                        tokio::spawn(quit_all(self.inner.clone(), expired));
                    }
                    slots.take()
                };
                let transport = match take {
                    Take::Idle(t) => Some(t),
                    Take::New => None,
                    Take::Wait => {
                        returned.await;
                        continue;
                    }
                };
                return Lease {
                    inner: self.inner.clone(),
                    transport,
                };
            }
        }

        /// Closes every idle connection with QUIT. Busy ones go back to
        /// the pool; the pool stays usable.
        pub async fn close(&self) {
            let idle = self.inner.lock().drain_idle();
            quit_all(self.inner.clone(), idle).await;
        }
    }

    /// Frees `n` slots when dropped: once their connections are closed,
    /// or when closing them was cancelled.
    struct Release {
        inner: Arc<Inner>,
        n: usize,
    }

    impl Drop for Release {
        fn drop(&mut self) {
            self.inner.release(self.n);
        }
    }

    /// QUITs `transports`. Their slots are held until then, by a guard
    /// made before the future first runs, so that even a task that never
    /// runs frees them.
    fn quit_all(
        inner: Arc<Inner>,
        transports: Vec<Transport>,
    ) -> impl std::future::Future<Output = ()> {
        let release = Release {
            inner,
            n: transports.len(),
        };
        async move {
            let _release = release;
            for mut t in transports {
                t.quit().await;
            }
        }
    }
}
