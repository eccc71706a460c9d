//! The tokio server: listeners (plain with STARTTLS, implicit TLS), the
//! connection limits applied at accept, one task per connection, and the
//! wait for open sessions at shutdown.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::config::{new_machine, session_config, RuntimeConfig};
use super::driver::{drive, Conn, Outcome};
use super::handler::{Backend, Session};
use super::info::{ConnectionInfo, Direction, SessionEnd};
use super::limits::{ConnectionLimits, Slot};
use super::proxy;
use super::shutdown::{ShutdownHandle, RUNNING};
use super::stream::{Reversal, Stream};
use super::tls::Tls;
use crate::proxy::ProxyOptions;
use crate::server::{Event, ServerConfig};

/// How long the accept loop waits after a failed accept (e.g. out of file
/// descriptors) instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// After the grace period, how long sessions get to write their `421`
/// before they are dropped.
const FORCED_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// An SMTP or LMTP server on tokio: serves listeners with one task per
/// connection, each driving a [`Server`](crate::server::Server) machine
/// and asking the backend's [`Session`] for every decision. Cheap to
/// clone: clones serve the same backend, limits and shutdown.
///
/// Runs inside a tokio runtime with I/O and time enabled
/// (`Builder::enable_all`, or `#[tokio::main]`).
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

/// Builds an [`SmtpServer`] with settings beyond the defaults.
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

struct Shared<B> {
    backend: B,
    /// For plain listeners: STARTTLS offered when TLS is configured.
    config: Arc<ServerConfig>,
    runtime: RuntimeConfig,
    tls: Option<Tls>,
    limits: Arc<ConnectionLimits>,
    /// Read a PROXY protocol header first, with these options.
    proxy: Option<ProxyOptions>,
    stop: ShutdownHandle,
    /// Connections accepted, for [`ConnectionInfo::id`].
    accepted: AtomicU64,
}

impl<B: Backend> SmtpServerBuilder<B> {
    /// The runtime's settings (limits, deadlines, buffers).
    pub fn runtime(mut self, runtime: RuntimeConfig) -> Self {
        self.runtime = runtime;
        self
    }

    /// TLS: STARTTLS on plain listeners (unless
    /// [`RuntimeConfig::starttls`] is off) and
    /// [`SmtpServer::serve_tls`]. Build the configuration with the crypto
    /// provider of your choice.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(Tls::new(config));
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
                stop: ShutdownHandle::new(),
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
        self.shared.stop.clone()
    }

    /// Serves a plain listener (STARTTLS offered when TLS is configured)
    /// until a shutdown; returns once this listener's sessions are done
    /// or were dropped at the end of
    /// [`RuntimeConfig::shutdown_timeout`].
    ///
    /// The sessions belong to this future: dropping it (say, in a
    /// `select!` with a signal) aborts them at once. To stop gracefully,
    /// call [`ShutdownHandle::shutdown`] and keep awaiting `serve`:
    ///
    /// ```no_run
    /// # use esmtp::runtime::server::{ConnectionInfo, Session, SmtpServer};
    /// # struct Sink;
    /// # impl Session for Sink {
    /// #     async fn message_end(&mut self, _: esmtp::runtime::server::MessageEnd) -> esmtp::runtime::server::Answer {
    /// #         esmtp::runtime::server::Answer::Accept
    /// #     }
    /// # }
    /// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// # let config = esmtp::server::ServerConfig::new("mx.example.org").unwrap();
    /// let server = SmtpServer::new(config, |_: &ConnectionInfo| Sink);
    /// let handle = server.shutdown_handle();
    /// tokio::spawn(async move {
    ///     let _ = tokio::signal::ctrl_c().await;
    ///     handle.shutdown(); // 421 to open sessions, between commands
    /// });
    /// server.serve(listener).await // returns once the sessions are done
    /// # }
    /// ```
    pub async fn serve(&self, listener: TcpListener) -> io::Result<()> {
        self.accept_loop(listener, false).await;
        Ok(())
    }

    /// Serves an implicit-TLS listener (RFC 8314 §3.3, e.g. port 465): the
    /// handshake first, then the session, which offers no STARTTLS. An
    /// [`io::ErrorKind::InvalidInput`] error when no TLS is configured.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub async fn serve_tls(&self, listener: TcpListener) -> io::Result<()> {
        if self.shared.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "serve_tls without a TLS configuration (SmtpServerBuilder::tls)",
            ));
        }
        self.accept_loop(listener, true).await;
        Ok(())
    }

    /// Serves one connection whose roles ATRN or TURN reversed, this side
    /// (which sent the command, with
    /// [`Transport::atrn`](crate::runtime::client::Transport::atrn)) now
    /// the server (RFC 2645 §5.3): the greeting goes out first, the bytes
    /// already read after the `250` are taken before anything more, and
    /// the backend's session answers as on any connection. Returns when
    /// the session is over.
    ///
    /// The connection was not accepted from a listener, so it is not
    /// counted against the connection limits; a shutdown ends it with
    /// `421` as any other. A TLS stream stays TLS (no STARTTLS is
    /// offered); on a plain one STARTTLS is offered when TLS is configured.
    pub async fn serve_reversed(&self, reversal: Reversal) -> io::Result<()> {
        let Reversal { stream, leftover } = reversal;
        let tcp = stream.tcp();
        let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
        let id = self.shared.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        let mut info = ConnectionInfo::new(id, peer, local);
        info.tls = stream.tls_info();
        serve(&self.shared, stream, &info, leftover).await;
        Ok(())
    }

    async fn accept_loop(&self, listener: TcpListener, implicit: bool) {
        let mut stop = self.shared.stop.subscribe();
        let mut sessions = JoinSet::new();
        let mut stopping = *stop.borrow_and_update() != RUNNING;
        // A listener on one address is every connection's local address:
        // no getsockname per connection.
        let bound = listener
            .local_addr()
            .ok()
            .filter(|a| !a.ip().is_unspecified());
        while !stopping {
            let accepted = {
                let mut stopped = pin!(stop.changed());
                poll_fn(|cx| {
                    if stopped.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    // Finished sessions give their memory back now, not
                    // at shutdown.
                    while let Poll::Ready(Some(_)) = sessions.poll_join_next(cx) {}
                    listener.poll_accept(cx).map(Some)
                })
                .await
            };
            match accepted {
                None => stopping = true,
                Some(Ok((tcp, peer))) => self.admit(&mut sessions, tcp, (peer, bound), implicit),
                Some(Err(e)) => {
                    self.shared.backend.accept_failed(&e);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        drop(listener);
        let drained = tokio::time::timeout(self.shared.runtime.shutdown_timeout, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // The grace period is over: 421 now, even in a message, and a
            // moment for it to be written.
            self.shared.stop.force();
            let closed = tokio::time::timeout(FORCED_CLOSE_WAIT, async {
                while sessions.join_next().await.is_some() {}
            })
            .await;
            if closed.is_err() {
                sessions.shutdown().await;
            }
        }
    }

    /// Starts a session for a new connection, or refuses it with `421
    /// 4.7.0` when over a limit. The refusal is written without waiting (it
    /// fits any socket buffer, and a client that does not read must not
    /// hold up the accept loop); on an implicit-TLS listener, where it
    /// could only be sent after a handshake, the connection is just closed.
    /// `addrs` are the peer's and, when the listener's is a specific one,
    /// the local address.
    fn admit(
        &self,
        sessions: &mut JoinSet<()>,
        tcp: TcpStream,
        addrs: (SocketAddr, Option<SocketAddr>),
        implicit: bool,
    ) {
        let peer = addrs.0;
        let shared = &self.shared;
        let admitted = if shared.proxy.is_some() && shared.runtime.per_ip_by_proxied_source {
            // Counted against the client once its header is read.
            shared.limits.admit_unaddressed()
        } else {
            shared.limits.admit(peer.ip())
        };
        match admitted {
            Ok(slot) => {
                sessions.spawn(connection(Arc::clone(shared), tcp, addrs, slot, implicit));
            }
            Err(why) => {
                if !implicit {
                    let _ = tcp.try_write(why.reply_line(shared.config.hostname()).as_bytes());
                }
                shared.backend.refused(peer, why);
            }
        }
    }
}

/// One connection, from accept to close. `slot` holds its place in the
/// connection limits until the end. `addrs`: the peer's address, and the
/// local one when the listener's says it.
async fn connection<B: Backend>(
    shared: Arc<Shared<B>>,
    mut tcp: TcpStream,
    (peer, local): (SocketAddr, Option<SocketAddr>),
    mut slot: Slot,
    implicit: bool,
) {
    let runtime = &shared.runtime;
    // Replies go out in one write per pipelined group: no reason to wait
    // for more.
    let _ = tcp.set_nodelay(true);
    let Some(local) = local.or_else(|| tcp.local_addr().ok()) else {
        return;
    };
    let id = shared.accepted.fetch_add(1, Ordering::Relaxed) + 1;
    let mut info = ConnectionInfo::new(id, peer, local);
    // The PROXY protocol header comes before any TLS, and before the
    // session exists, so that `new_session` sees the client it names.
    if let Some(opts) = &shared.proxy {
        let read = tokio::time::timeout(runtime.proxy_header_timeout, proxy::read(&mut tcp, opts));
        match read.await {
            Ok(Ok(header)) => info.set_proxy(header),
            Ok(Err(e)) => return shared.backend.proxy_failed(peer, &e),
            Err(_) => {
                let e = io::Error::new(io::ErrorKind::TimedOut, "no PROXY header in time");
                return shared.backend.proxy_failed(peer, &e);
            }
        }
        if let Err(why) = slot.count_against(info.client.ip()) {
            if !implicit {
                let _ = tcp.try_write(why.reply_line(shared.config.hostname()).as_bytes());
            }
            return shared.backend.refused(info.client, why);
        }
    }
    let stream = if implicit {
        let Some(tls) = &shared.tls else {
            return;
        };
        match tls
            .handshake(tcp, runtime.tls_handshake_timeout, true)
            .await
        {
            Ok((tls_stream, tls_info)) => {
                info.tls = Some(tls_info);
                tls_stream
            }
            Err(e) => {
                shared.backend.handshake_failed(peer, &e);
                return;
            }
        }
    } else {
        Stream::Tcp(tcp)
    };
    serve(&shared, stream, &info, Bytes::new()).await;
}

/// Runs one session on `stream` until it ends: the machine (TLS from the
/// start when the stream is), the backend's session, STARTTLS, the end or
/// a reversal. `leftover` is input already read, taken first.
async fn serve<B: Backend>(
    shared: &Shared<B>,
    mut stream: Stream,
    info: &ConnectionInfo,
    leftover: Bytes,
) {
    let runtime = &shared.runtime;
    let session = shared.backend.new_session(info);
    let mut conn = Conn {
        server: new_machine(&shared.config, info.tls.is_some()),
        session,
        runtime,
        read_size: runtime.read_bounds().0,
        stop: shared.stop.subscribe(),
        stop_level: RUNNING,
        shut: false,
        error: None,
    };
    conn.authorize();
    if !leftover.is_empty() {
        conn.session.transcript(Direction::Received, &leftover);
        conn.server.receive(&leftover);
    }
    loop {
        match drive(&mut stream, &mut conn).await {
            Outcome::Closed(reason) => {
                let end = match conn.error.take() {
                    Some(e) => SessionEnd::Failed(e),
                    None => {
                        // TLS close_notify after the last reply (the
                        // client may be gone already); a plain stream's
                        // FIN goes with the close.
                        if !matches!(stream, Stream::Tcp(_)) {
                            let _ = tokio::time::timeout(runtime.write_timeout, stream.shutdown())
                                .await;
                        }
                        SessionEnd::Closed(reason.unwrap_or(crate::server::CloseReason::PeerClosed))
                    }
                };
                conn.session.closed(end);
                return;
            }
            Outcome::Reversed(leftover) => {
                conn.session.reversed(Reversal { stream, leftover }).await;
                return;
            }
            Outcome::StartTls => {
                let upgraded = match (stream, &shared.tls) {
                    (Stream::Tcp(tcp), Some(tls)) => {
                        tls.handshake(tcp, runtime.tls_handshake_timeout, false)
                            .await
                    }
                    _ => Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "STARTTLS without TLS to start",
                    )),
                };
                match upgraded {
                    Ok((tls_stream, tls_info)) => {
                        stream = tls_stream;
                        // The wait for the new EHLO starts now.
                        conn.server.handle_timeout(Instant::now());
                        let _ = conn.server.tls_established();
                        conn.session.tls_established(&tls_info);
                    }
                    Err(e) => {
                        tls_failed(&mut conn);
                        conn.session.closed(SessionEnd::Failed(e));
                        return;
                    }
                }
            }
        }
    }
}

/// Tells the machine the handshake failed and lets it finish: the
/// connection is gone, nothing more is written.
fn tls_failed<S: Session>(conn: &mut Conn<'_, S>) {
    let _ = conn.server.tls_failed();
    while let Some(event) = conn.server.poll_event() {
        if let Event::MessageAborted { reason } = event {
            conn.session.message_aborted(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::server::{Answer, MessageEnd};

    struct Idle;
    impl Session for Idle {
        async fn message_end(&mut self, _: MessageEnd) -> Answer {
            Answer::Accept
        }
    }

    /// The task of an idle plain session is its future: TLS state and
    /// handshakes are boxed so that they do not make every task bigger.
    #[test]
    fn a_connection_task_stays_small() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = SmtpServer::new(
                ServerConfig::new("mx.example.org").unwrap(),
                |_: &ConnectionInfo| Idle,
            );
            let client = TcpStream::connect(addr).await.unwrap();
            let (tcp, peer) = listener.accept().await.unwrap();
            let slot = server.shared.limits.admit(peer.ip()).unwrap();
            let task = connection(Arc::clone(&server.shared), tcp, (peer, None), slot, false);
            let size = std::mem::size_of_val(&task);
            println!("connection future: {size} bytes");
            assert!(size <= 2048, "{size} bytes");
            drop(client);
        });
    }
}
