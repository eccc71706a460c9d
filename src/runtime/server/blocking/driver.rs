//! The per-connection driver on a blocking thread: moves bytes and time
//! between one stream and one machine, calls the session for each
//! decision, and performs TLS handshakes with rustls's `StreamOwned`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::handler::{Backend, Reversal, Session, Stream};
use super::{Registered, Shared, Stop, FORCED, RUNNING};
use crate::runtime::server::answer::{apply, Answer, MessageEnd, Verdict};
use crate::runtime::server::config::{new_machine, RuntimeConfig};
use crate::runtime::server::info::{ConnectionInfo, Direction, SessionEnd, TlsInfo};
use crate::runtime::server::limits::Slot;
use crate::runtime::server::proxy;
use crate::server::{CloseReason, Event, Server};

/// One connection's machine, handler and driver state; kept across
/// STARTTLS.
struct Conn<'a, S> {
    server: Server,
    session: S,
    runtime: &'a RuntimeConfig,
    stop: &'a Stop,
    /// Read into, then split off and handed to the machine.
    buf: BytesMut,
    read_size: usize,
    /// The shutdown level acted on.
    stop_level: u8,
    /// `Server::shutdown` was called.
    shut: bool,
    error: Option<io::Error>,
}

enum Outcome {
    Closed(Option<CloseReason>),
    StartTls,
    Reversed(Bytes),
}

/// What the session allows this connection: XCLIENT, XFORWARD.
fn authorize<S: Session>(server: &mut Server, session: &S) {
    server.set_xclient_authorized(session.xclient_authorized());
    server.set_xforward_authorized(session.xforward_authorized());
}

/// One connection on its own thread, from accept to close. `slot` holds
/// its place in the connection limits until the end.
pub(super) fn connection<B: Backend>(
    shared: Arc<Shared<B>>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    mut slot: Slot,
    implicit: bool,
) {
    let runtime = &shared.runtime;
    let _ = tcp.set_nodelay(true);
    let Ok(local) = tcp.local_addr() else {
        return;
    };
    let id = shared.accepted.fetch_add(1, Ordering::Relaxed) + 1;
    // Registered so that a shutdown can wake this thread from a read.
    let registered = shared.stop.register(id, &tcp);
    let mut info = ConnectionInfo::new(id, peer, local);
    // The PROXY protocol header comes before any TLS, and before the
    // session exists, so that `new_session` sees the client it names.
    if let Some(opts) = &shared.proxy {
        match proxy::read_blocking(&mut tcp, opts, runtime.proxy_header_timeout) {
            Ok(header) => info.set_proxy(header),
            Err(e) => return shared.backend.proxy_failed(peer, &e),
        }
        if let Err(why) = slot.count_against(info.client.ip()) {
            if !implicit && tcp.set_nonblocking(true).is_ok() {
                let _ = tcp.write(why.reply_line(shared.config.hostname()).as_bytes());
            }
            return shared.backend.refused(info.client, why);
        }
    }
    let stream = if implicit {
        match handshake(
            shared.tls.as_ref(),
            tcp,
            runtime.tls_handshake_timeout,
            true,
        ) {
            Ok((tls, tls_info)) => {
                info.tls = Some(tls_info);
                tls
            }
            Err(e) => {
                shared.backend.handshake_failed(peer, &e);
                return;
            }
        }
    } else {
        Stream::Tcp(tcp)
    };
    serve(&shared, stream, info, Bytes::new(), &registered);
}

/// Runs one session on `stream` until it ends: the machine (TLS from the
/// start when the stream is), the backend's session, STARTTLS, the end or
/// a reversal. `leftover` is input already read, taken first.
pub(super) fn serve<B: Backend>(
    shared: &Shared<B>,
    mut stream: Stream,
    info: ConnectionInfo,
    leftover: Bytes,
    registered: &Registered<'_>,
) {
    let runtime = &shared.runtime;
    let session = shared.backend.new_session(&info);
    let mut conn = Conn {
        server: new_machine(&shared.config, info.tls.is_some()),
        session,
        runtime,
        stop: &shared.stop,
        buf: BytesMut::new(),
        read_size: runtime.read_bounds().0,
        stop_level: RUNNING,
        shut: false,
        error: None,
    };
    authorize(&mut conn.server, &conn.session);
    drop(info);
    if !leftover.is_empty() {
        conn.session.transcript(Direction::Received, &leftover);
        conn.server.receive(&leftover);
    }
    loop {
        match drive(&mut stream, &mut conn, registered) {
            Outcome::Closed(reason) => {
                let end = match conn.error.take() {
                    Some(e) => SessionEnd::Failed(e),
                    None => {
                        stream.close();
                        SessionEnd::Closed(reason.unwrap_or(CloseReason::PeerClosed))
                    }
                };
                conn.session.closed(end);
                return;
            }
            Outcome::Reversed(leftover) => {
                let _ = stream.tcp().set_read_timeout(None);
                conn.session.reversed(Reversal { stream, leftover });
                return;
            }
            Outcome::StartTls => {
                let upgraded = match stream {
                    Stream::Tcp(tcp) => handshake(
                        shared.tls.as_ref(),
                        tcp,
                        runtime.tls_handshake_timeout,
                        false,
                    ),
                    #[cfg(feature = "rustls")]
                    Stream::Tls(_) | Stream::ClientTls(_) => Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "STARTTLS on a TLS connection",
                    )),
                };
                match upgraded {
                    Ok((tls, tls_info)) => {
                        stream = tls;
                        // The wait for the new EHLO starts now.
                        conn.server.handle_timeout(Instant::now());
                        let _ = conn.server.tls_established();
                        conn.session.tls_established(&tls_info);
                    }
                    Err(e) => {
                        let _ = conn.server.tls_failed();
                        while let Some(event) = conn.server.poll_event() {
                            if let Event::MessageAborted { reason } = event {
                                conn.session.message_aborted(reason);
                            }
                        }
                        conn.session.closed(SessionEnd::Failed(e));
                        return;
                    }
                }
            }
        }
    }
}

impl<S: Session> Conn<'_, S> {
    /// Acts on a shutdown level that rose: `421` between commands; a
    /// message being received may finish unless the level is forced (see
    /// the async driver, which does the same).
    fn try_shut_down(&mut self) {
        self.stop_level = self.stop_level.max(self.stop.level());
        if self.shut || self.stop_level == RUNNING {
            return;
        }
        if self.stop_level >= FORCED || !self.server.in_message() {
            self.shut_down_now();
        }
    }

    fn shut_down_now(&mut self) {
        self.shut = true;
        self.server.shutdown(&self.runtime.shutdown_text);
    }

    fn fail(&mut self, error: io::Error) {
        self.error.get_or_insert(error);
        self.server.peer_closed();
    }
}

/// Runs the session on `stream` until it closes, starts TLS or reverses;
/// the same order as the async driver (time → receive → events → transmit
/// → deadline), with the machine's deadline as the read timeout.
fn drive<S: Session>(
    stream: &mut Stream,
    c: &mut Conn<'_, S>,
    registered: &Registered<'_>,
) -> Outcome {
    loop {
        c.server.handle_timeout(Instant::now());
        loop {
            c.try_shut_down();
            let Some(event) = c.server.poll_event() else {
                break;
            };
            match event {
                Event::Content(chunk) => c.session.content(chunk),
                Event::MessageAborted { reason } => c.session.message_aborted(reason),
                Event::ScramFailed {
                    mechanism,
                    username,
                } => c.session.scram_failed(mechanism, username),
                // The runtime reads the header itself, before TLS, into
                // `ConnectionInfo::proxy`: its machines never wait for one.
                Event::Proxy(_) => {}
                Event::StartTls => return Outcome::StartTls,
                Event::Reversed { leftover } => return Outcome::Reversed(leftover),
                Event::Closed { reason } => return Outcome::Closed(Some(reason)),
                event => {
                    let lmtp = c.server.config().lmtp;
                    let xclient = matches!(event, Event::Xclient(_));
                    let verdict = ask(&mut c.session, event, lmtp);
                    c.server.handle_timeout(Instant::now());
                    let _ = apply(&mut c.server, verdict);
                    if xclient {
                        // Postfix decides again with the new attributes.
                        authorize(&mut c.server, &c.session);
                    }
                }
            }
        }
        let tap = |b: &[u8]| c.session.transcript(Direction::Sent, b);
        match transmit(stream, &mut c.server, c.runtime.write_timeout, tap) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                c.fail(e);
                continue;
            }
        }
        if c.server.is_closed() {
            return Outcome::Closed(None);
        }
        let now = Instant::now();
        // A zero timeout would mean none at all to `set_read_timeout`.
        let timeout = c.server.poll_timeout().map(|deadline| {
            deadline
                .saturating_duration_since(now)
                .max(Duration::from_millis(1))
        });
        if let Err(e) = stream.tcp().set_read_timeout(timeout) {
            c.fail(e);
            continue;
        }
        let limit = c.server.config().limits.max_buffered;
        let room = limit.saturating_sub(c.server.buffered_len()).max(1);
        let size = c.read_size.min(room);
        registered.set_in_message(c.server.in_message());
        c.buf.clear();
        c.buf.resize(size, 0);
        let read = stream.read(&mut c.buf);
        match read {
            Ok(n) if n > 0 => {
                c.read_size = c.runtime.next_read(size, n);
                c.buf.truncate(n);
                c.session.transcript(Direction::Received, &c.buf);
                // Content chunks are slices of this buffer: no copy.
                let data = c.buf.split();
                c.server.receive_buf(data);
            }
            // The machine's deadline (the top of the loop gives the time).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            // A shutdown wakes the read with the end of the stream (or, on
            // TLS, an unexpected end): 421 rather than a hang-up. Nothing
            // more can be read, so even a message under way ends here.
            _ if c.stop.is_set() && !c.shut => c.shut_down_now(),
            // A TLS client that hangs up without close_notify has closed
            // as surely as a TCP one.
            Ok(_) => c.server.peer_closed(),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => c.server.peer_closed(),
            Err(e) => c.fail(e),
        }
    }
}

/// Calls the session for the decision `event` waits for.
fn ask<S: Session>(session: &mut S, event: Event, lmtp: bool) -> Verdict {
    let answer = match event {
        Event::Connect => session.connect(),
        Event::Hello { verb, host } => session.hello(verb, host),
        Event::Mail { from, params, send } => session.mail(from, params, send),
        Event::Rcpt { to, params } => session.rcpt(to, params),
        Event::Burl { url, last } => return Verdict::Burl(session.burl(url, last)),
        Event::MessageEnd { size, recipients } => {
            let end = MessageEnd::new(size, recipients);
            if lmtp {
                return Verdict::Lmtp(session.lmtp_message_end(end));
            }
            session.message_end(end)
        }
        Event::ScramLookup {
            mechanism,
            username,
            authzid,
        } => {
            return Verdict::Scram(session.scram_credentials(mechanism, username, authzid));
        }
        Event::AuthStep {
            mechanism,
            response,
        } => return Verdict::Sasl(session.auth_step(mechanism, response)),
        Event::Auth(credentials) => session.auth(credentials),
        Event::Vrfy { target, utf8 } => session.vrfy(target, utf8),
        Event::Expn { target, utf8 } => session.expn(target, utf8),
        Event::Etrn(request) => session.etrn(request),
        Event::Atrn(domains) => session.atrn(domains),
        Event::Turn => session.turn(),
        Event::Command { verb, args } => session.command(verb, args),
        Event::Xclient(attrs) => session.xclient(*attrs),
        Event::Xforward(attrs) => session.xforward(*attrs),
        Event::Content(_)
        | Event::MessageAborted { .. }
        | Event::ScramFailed { .. }
        | Event::StartTls
        | Event::Reversed { .. }
        | Event::Proxy(_)
        | Event::Closed { .. } => Answer::Deny,
    };
    Verdict::Answer(answer)
}

/// Writes and flushes every reply owed within `limit` for the lot: each
/// write may block only for what is left of it. Each buffer written goes
/// to `tap`.
fn transmit(
    stream: &mut Stream,
    server: &mut Server,
    limit: Duration,
    mut tap: impl FnMut(&[u8]),
) -> io::Result<bool> {
    let Some(mut bytes) = server.poll_transmit() else {
        return Ok(false);
    };
    let deadline = Instant::now() + limit;
    let left = || {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client does not read its replies",
            ))
        } else {
            Ok(left)
        }
    };
    loop {
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            stream.tcp().set_write_timeout(Some(left()?))?;
            match stream.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, e))
                }
                Err(e) => return Err(e),
            }
        }
        tap(&bytes);
        match server.poll_transmit() {
            Some(more) => bytes = more,
            None => break,
        }
    }
    stream.tcp().set_write_timeout(Some(left()?))?;
    stream.flush()?;
    Ok(true)
}

/// Runs the server side of a TLS handshake on `tcp` within `limit`.
fn handshake(
    tls: Option<&super::Tls>,
    tcp: TcpStream,
    limit: Duration,
    implicit: bool,
) -> io::Result<(Stream, TlsInfo)> {
    #[cfg(feature = "rustls")]
    if let Some(tls) = tls {
        let conn =
            rustls::ServerConnection::new(Arc::clone(&tls.config)).map_err(io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        let deadline = Instant::now() + limit;
        while stream.conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
            stream.sock.set_read_timeout(Some(left))?;
            stream.sock.set_write_timeout(Some(left))?;
            stream.conn.complete_io(&mut stream.sock)?;
        }
        let info = TlsInfo::from_rustls(&stream.conn, implicit);
        return Ok((Stream::Tls(Box::new(stream)), info));
    }
    let _ = (tls, tcp, limit, implicit);
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no TLS configuration",
    ))
}
