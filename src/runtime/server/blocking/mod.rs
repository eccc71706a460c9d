//! The blocking server runtime (feature `blocking`): the same shapes as
//! the tokio one over `std::net`, one thread per connection, their number
//! bounded by the connection limits; STARTTLS and implicit TLS with
//! rustls's `StreamOwned` (feature `rustls`).
//!
//! ```no_run
//! use esmtp::runtime::server::blocking::{Session, SmtpServer};
//! use esmtp::runtime::server::{Answer, ConnectionInfo, MessageEnd};
//! use esmtp::server::ServerConfig;
//!
//! struct Sink;
//! impl Session for Sink {
//!     // Acknowledges every message and drops it, as smtp-sink does.
//!     fn message_end(&mut self, _: MessageEnd) -> Answer {
//!         Answer::Accept
//!     }
//! }
//!
//! let config = ServerConfig::new("mx.example.org").expect("a valid hostname");
//! let server = SmtpServer::new(config, |_: &ConnectionInfo| Sink);
//! let listener = std::net::TcpListener::bind("127.0.0.1:2525")?;
//! server.serve(listener)?; // until server.shutdown_handle().shutdown()
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A shutdown stops the accept loops (a connection to each listener wakes
//! it) and wakes every session blocked in a read by shutting down the read
//! side of its socket, so the session sends `421 4.3.0` between commands;
//! a session receiving a message reads on until it ends, within
//! [`RuntimeConfig::shutdown_timeout`]. To wake sessions, each
//! connection's socket is registered twice (one more file descriptor per
//! session).

mod driver;
mod handler;

pub use handler::{Backend, Reversal, Session, Stream};

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::config::{session_config, RuntimeConfig};
use super::info::ConnectionInfo;
use super::limits::ConnectionLimits;
use crate::proxy::ProxyOptions;
use crate::server::ServerConfig;

/// How long the accept loop waits after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// After the grace period, how long sessions get to write their `421`,
/// and then, their sockets closed, to end.
const FORCED_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// An SMTP or LMTP server over `std::net`: one thread per connection, each
/// driving a [`Server`](crate::server::Server) machine and calling the
/// backend's [`Session`] for every decision. Cheap to clone.
pub struct SmtpServer<B> {
    shared: Arc<Shared<B>>,
}

impl<B> Clone for SmtpServer<B> {
    fn clone(&self) -> Self {
        SmtpServer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<B> std::fmt::Debug for SmtpServer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("hostname", &self.shared.config.hostname())
            .field("runtime", &self.shared.runtime)
            .field("tls", &self.shared.tls.is_some())
            .field("open_sessions", &self.shared.limits.open())
            .finish_non_exhaustive()
    }
}

/// Builds a blocking [`SmtpServer`] with settings beyond the defaults.
pub struct SmtpServerBuilder<B> {
    config: Arc<ServerConfig>,
    backend: B,
    runtime: RuntimeConfig,
    tls: Option<Tls>,
}

impl<B> std::fmt::Debug for SmtpServerBuilder<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServerBuilder")
            .field("config", &self.config)
            .field("runtime", &self.runtime)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The TLS configuration, when there is one (never without the `rustls`
/// feature).
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
struct Tls {
    #[cfg(feature = "rustls")]
    config: Arc<rustls::ServerConfig>,
}

struct Shared<B> {
    backend: B,
    config: Arc<ServerConfig>,
    runtime: RuntimeConfig,
    tls: Option<Tls>,
    limits: Arc<ConnectionLimits>,
    /// Read a PROXY protocol header first, with these options.
    proxy: Option<ProxyOptions>,
    stop: Arc<Stop>,
    accepted: AtomicU64,
}

impl<B: Backend> SmtpServerBuilder<B> {
    /// The runtime's settings (limits, deadlines, buffers).
    pub fn runtime(mut self, runtime: RuntimeConfig) -> Self {
        self.runtime = runtime;
        self
    }

    /// TLS: STARTTLS on plain listeners (unless
    /// [`RuntimeConfig::starttls`] is off) and [`SmtpServer::serve_tls`].
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(Tls { config });
        self
    }

    /// The server.
    pub fn build(self) -> SmtpServer<B> {
        let (config, proxy) = session_config(self.config, &self.runtime, self.tls.is_some());
        let limits = ConnectionLimits::new(
            self.runtime.max_connections,
            self.runtime.max_connections_per_ip,
        );
        SmtpServer {
            shared: Arc::new(Shared {
                backend: self.backend,
                config,
                runtime: self.runtime,
                tls: self.tls,
                limits,
                proxy,
                stop: Arc::new(Stop::default()),
                accepted: AtomicU64::new(0),
            }),
        }
    }
}

impl<B: Backend> SmtpServer<B> {
    /// A server with the default [`RuntimeConfig`] and no TLS.
    pub fn new(config: impl Into<Arc<ServerConfig>>, backend: B) -> Self {
        Self::builder(config, backend).build()
    }

    /// A builder, for runtime settings and TLS.
    pub fn builder(config: impl Into<Arc<ServerConfig>>, backend: B) -> SmtpServerBuilder<B> {
        SmtpServerBuilder {
            config: config.into(),
            backend,
            runtime: RuntimeConfig::default(),
            tls: None,
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.shared.backend
    }

    /// Sessions open now, over every listener.
    pub fn open_sessions(&self) -> usize {
        self.shared.limits.open()
    }

    /// A handle that shuts the server down.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            stop: Arc::clone(&self.shared.stop),
        }
    }

    /// Serves a plain listener (STARTTLS offered when TLS is configured)
    /// on the calling thread until a shutdown; returns once every session
    /// is done or, after [`RuntimeConfig::shutdown_timeout`], had its
    /// socket closed.
    pub fn serve(&self, listener: TcpListener) -> io::Result<()> {
        self.accept_loop(listener, false)
    }

    /// Serves an implicit-TLS listener (RFC 8314 §3.3), as
    /// [`SmtpServer::serve`] does a plain one. An
    /// [`io::ErrorKind::InvalidInput`] error when no TLS is configured.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn serve_tls(&self, listener: TcpListener) -> io::Result<()> {
        if self.shared.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "serve_tls without a TLS configuration (SmtpServerBuilder::tls)",
            ));
        }
        self.accept_loop(listener, true)
    }

    /// Serves one connection whose roles ATRN or TURN reversed, on the
    /// calling thread, this side (which sent the command, with
    /// [`Transport::atrn`](crate::runtime::client::blocking::Transport::atrn))
    /// now the server (RFC 2645 §5.3): the greeting goes out first, the
    /// bytes already read after the `250` are taken before anything more,
    /// and the backend's session answers as on any connection. Returns
    /// when the session is over.
    ///
    /// The connection was not accepted from a listener, so it is not
    /// counted against the connection limits; a shutdown ends it with
    /// `421` as any other. A TLS stream stays TLS (no STARTTLS is
    /// offered); on a plain one STARTTLS is offered when TLS is configured.
    pub fn serve_reversed(&self, reversal: Reversal) -> io::Result<()> {
        let Reversal { stream, leftover } = reversal;
        let tcp = stream.tcp();
        let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
        let _ = tcp.set_nodelay(true);
        let id = self.shared.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        let registered = self.shared.stop.register(id, tcp);
        let mut info = ConnectionInfo::new(id, peer, local);
        info.tls = stream.tls_info();
        driver::serve(&self.shared, stream, info, leftover, &registered);
        Ok(())
    }

    fn accept_loop(&self, listener: TcpListener, implicit: bool) -> io::Result<()> {
        let shared = &self.shared;
        let addr = listener.local_addr()?;
        shared.stop.listen(addr, true);
        while !shared.stop.is_set() {
            match listener.accept() {
                // The connection that wakes the loop at shutdown, or any
                // other that raced it, is dropped.
                Ok(_) if shared.stop.is_set() => break,
                Ok((tcp, peer)) => self.admit(tcp, peer, implicit),
                Err(e) => {
                    shared.backend.accept_failed(&e);
                    std::thread::sleep(ACCEPT_BACKOFF);
                }
            }
        }
        drop(listener);
        shared.stop.listen(addr, false);
        if !shared.limits.wait_idle(shared.runtime.shutdown_timeout) {
            // The grace period is over: 421 now, even in a message; then
            // the sockets of sessions that still hang on are closed.
            shared.stop.raise(FORCED);
            if !shared.limits.wait_idle(FORCED_CLOSE_WAIT) {
                shared.stop.close_all();
                shared.limits.wait_idle(FORCED_CLOSE_WAIT);
            }
        }
        Ok(())
    }

    /// Starts a thread for a new connection, or refuses it with `421
    /// 4.7.0` when over a limit (written without blocking; on an
    /// implicit-TLS listener the connection is just closed).
    fn admit(&self, mut tcp: TcpStream, peer: SocketAddr, implicit: bool) {
        let shared = &self.shared;
        let admitted = if shared.proxy.is_some() && shared.runtime.per_ip_by_proxied_source {
            // Counted against the client once its header is read.
            shared.limits.admit_unaddressed()
        } else {
            shared.limits.admit(peer.ip())
        };
        match admitted {
            Ok(slot) => {
                let shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name(format!("smtp {peer}"))
                    .spawn(move || driver::connection(shared, tcp, peer, slot, implicit));
                if let Err(e) = spawned {
                    self.shared.backend.accept_failed(&e);
                }
            }
            Err(why) => {
                if !implicit && tcp.set_nonblocking(true).is_ok() {
                    let _ = tcp.write(why.reply_line(shared.config.hostname()).as_bytes());
                }
                shared.backend.refused(peer, why);
            }
        }
    }
}

/// Shuts a blocking server down; cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    stop: Arc<Stop>,
}

impl ShutdownHandle {
    /// Starts the shutdown: the `serve` calls stop accepting and return
    /// once their sessions are done. Asking again does nothing more.
    pub fn shutdown(&self) {
        self.stop.raise(GRACEFUL);
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.stop.is_set()
    }
}

/// Serving.
const RUNNING: u8 = 0;
/// Shutting down: `421` between commands, messages under way may finish.
const GRACEFUL: u8 = 1;
/// The grace period is over: `421` now, whatever is under way.
const FORCED: u8 = 2;

/// The shutdown state: its level, and what to wake when it rises.
#[derive(Debug, Default)]
struct Stop {
    level: AtomicU8,
    /// A second descriptor of each open session's socket, by connection
    /// id, and whether the session is receiving a message.
    sockets: Mutex<HashMap<u64, Entry>>,
    /// The addresses of the listeners being served.
    listeners: Mutex<Vec<SocketAddr>>,
}

#[derive(Debug)]
struct Entry {
    socket: TcpStream,
    in_message: Arc<AtomicBool>,
}

/// A session's socket in [`Stop::sockets`]; dropping it unregisters.
struct Registered<'a> {
    stop: &'a Stop,
    id: u64,
    in_message: Arc<AtomicBool>,
}

impl Registered<'_> {
    /// Whether the session is receiving a message: a graceful shutdown
    /// lets it read on until the message ends.
    fn set_in_message(&self, in_message: bool) {
        self.in_message.store(in_message, Ordering::Relaxed);
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.stop.sockets).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Stop {
    fn level(&self) -> u8 {
        self.level.load(Ordering::Acquire)
    }

    fn is_set(&self) -> bool {
        self.level() != RUNNING
    }

    /// Raises the level to `level`. A session blocked in a read is woken
    /// by shutting down the read side of its socket: it sees the end of
    /// the stream and, finding the level raised, sends its 421. Sessions
    /// receiving a message are left to read on, until the level is
    /// [`FORCED`].
    fn raise(&self, level: u8) {
        let before = self.level.fetch_max(level, Ordering::AcqRel);
        if before >= level {
            return;
        }
        for entry in lock(&self.sockets).values() {
            if level >= FORCED || !entry.in_message.load(Ordering::Relaxed) {
                let _ = entry.socket.shutdown(Shutdown::Read);
            }
        }
        if before == RUNNING {
            let listeners = lock(&self.listeners).clone();
            for addr in listeners {
                let _ = TcpStream::connect_timeout(&reachable(addr), Duration::from_secs(1));
            }
        }
    }

    /// Registers a session's socket; a session that registers after the
    /// level rose sees it at the top of its loop.
    fn register(&self, id: u64, tcp: &TcpStream) -> Registered<'_> {
        let in_message = Arc::new(AtomicBool::new(false));
        if let Ok(socket) = tcp.try_clone() {
            let entry = Entry {
                socket,
                in_message: Arc::clone(&in_message),
            };
            lock(&self.sockets).insert(id, entry);
        }
        Registered {
            stop: self,
            id,
            in_message,
        }
    }

    fn listen(&self, addr: SocketAddr, on: bool) {
        let mut listeners = lock(&self.listeners);
        if on {
            listeners.push(addr);
        } else if let Some(i) = listeners.iter().position(|a| *a == addr) {
            listeners.swap_remove(i);
        }
    }

    /// Every session's socket is closed.
    fn close_all(&self) {
        for entry in lock(&self.sockets).values() {
            let _ = entry.socket.shutdown(Shutdown::Both);
        }
    }
}

/// An address a connection can reach the listener bound to `addr` at: the
/// loopback address for an unspecified one.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
