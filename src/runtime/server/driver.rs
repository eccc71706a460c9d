//! The per-connection driver on tokio: moves bytes and time between one
//! stream and one machine, and asks the session for each decision, in the
//! machine's order (time → receive → events → transmit → deadline).

use std::future::{pending, poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::answer::{apply, Answer, MessageEnd, Verdict};
use super::config::RuntimeConfig;
use super::handler::Session;
use super::info::Direction;
use super::shutdown::{FORCED, RUNNING};
use super::stream::Stream;
use crate::server::{CloseReason, Event, Server};

/// One connection's machine, handler and driver state; kept across
/// STARTTLS, when the stream under it changes.
pub(super) struct Conn<'a, S> {
    pub(super) server: Server,
    pub(super) session: S,
    pub(super) runtime: &'a RuntimeConfig,
    /// The most the next read takes (see [`RuntimeConfig::next_read`]).
    pub(super) read_size: usize,
    pub(super) stop: watch::Receiver<u8>,
    /// The shutdown level acted on (see [`super::shutdown`]).
    pub(super) stop_level: u8,
    /// `Server::shutdown` was called.
    pub(super) shut: bool,
    /// The connection failed: reported when the machine has closed.
    pub(super) error: Option<io::Error>,
}

/// Why [`drive`] returned.
pub(super) enum Outcome {
    /// The session is over (`None`: the machine was already closed).
    Closed(Option<CloseReason>),
    /// STARTTLS was accepted and its `220` written: hand-shake now.
    StartTls,
    /// TURN or ATRN was accepted and its `250` written.
    Reversed(Bytes),
}

/// What ended a wait for input.
enum Wake {
    Stop,
    Deadline,
    /// `Ok(None)`: the client closed its side.
    Read(io::Result<Option<BytesMut>>),
}

impl<S: Session> Conn<'_, S> {
    /// The shutdown reached `level`.
    fn on_stop(&mut self, level: u8) {
        self.stop_level = self.stop_level.max(level);
        self.try_shut_down();
    }

    /// Once a shutdown is asked for, ends the session with `421` (RFC 5321
    /// §3.8) between commands. The driver only calls this between events,
    /// so a decision under way (an end of message being stored) is
    /// answered first; a message whose content is arriving may finish,
    /// until the grace period is over.
    fn try_shut_down(&mut self) {
        if self.shut || self.stop_level == RUNNING {
            return;
        }
        if self.stop_level >= FORCED || !self.server.in_message() {
            self.shut = true;
            self.server.shutdown(&self.runtime.shutdown_text);
        }
    }

    /// What the session allows this connection: XCLIENT, XFORWARD.
    pub(super) fn authorize(&mut self) {
        self.server
            .set_xclient_authorized(self.session.xclient_authorized());
        self.server
            .set_xforward_authorized(self.session.xforward_authorized());
    }

    /// The connection failed: the machine closes as if the client had
    /// hung up (aborting content, dropping replies), and the error is
    /// reported when it has.
    fn fail(&mut self, error: io::Error) {
        self.error.get_or_insert(error);
        self.server.peer_closed();
    }
}

/// Runs the session on `stream` until it closes, starts TLS or reverses.
/// Reads only when every event is handled and every reply written, so a
/// pending decision or a queue of replies holds the client back, and a
/// read never takes more than the machine may still buffer.
pub(super) async fn drive<S: Session>(stream: &mut Stream, c: &mut Conn<'_, S>) -> Outcome {
    let level = *c.stop.borrow_and_update();
    c.on_stop(level);
    loop {
        // The clock, at every wake-up: what was read is timed from it.
        c.server.handle_timeout(Instant::now());
        loop {
            c.try_shut_down();
            let Some(event) = c.server.poll_event() else {
                break;
            };
            match event {
                Event::Content(chunk) => c.session.content(chunk).await,
                Event::MessageAborted { reason } => c.session.message_aborted(reason),
                Event::ScramFailed {
                    mechanism,
                    username,
                } => c.session.scram_failed(mechanism, username),
                // The runtime reads the header itself, before TLS, into
                // `ConnectionInfo::proxy`: its machines never wait for one.
                Event::Proxy(_) => {}
                // The machine emits these once its replies are written.
                Event::StartTls => return Outcome::StartTls,
                Event::Reversed { leftover } => return Outcome::Reversed(leftover),
                Event::Closed { reason } => return Outcome::Closed(Some(reason)),
                event => {
                    let lmtp = c.server.config().lmtp;
                    let mut owed = Vec::new();
                    let xclient = matches!(event, Event::Xclient(_));
                    let verdict = {
                        let mut asked = pin!(ask(&mut c.session, event, lmtp));
                        match poll_once(asked.as_mut()).await {
                            Some(verdict) => verdict,
                            None => {
                                // A decision that takes a while: the
                                // replies already owed go out meanwhile,
                                // for the transcript once it is answered.
                                let limit = c.runtime.write_timeout;
                                let tap = |b: &Bytes| owed.push(b.clone());
                                if let Err(e) = transmit(stream, &mut c.server, limit, tap).await {
                                    c.error.get_or_insert(e);
                                }
                                // Even when the connection is gone, the
                                // handler finishes what it started (a
                                // delivery is not cut in half).
                                asked.await
                            }
                        }
                    };
                    for sent in owed.drain(..) {
                        c.session.transcript(Direction::Sent, &sent);
                    }
                    // The answer restarts the wait from now, not from
                    // before a slow decision.
                    c.server.handle_timeout(Instant::now());
                    let _ = apply(&mut c.server, verdict);
                    if xclient {
                        // Postfix decides again with the new attributes.
                        c.authorize();
                    }
                    if let Some(e) = c.error.take() {
                        c.fail(e);
                    }
                }
            }
        }
        let tap = |b: &Bytes| c.session.transcript(Direction::Sent, b);
        match transmit(stream, &mut c.server, c.runtime.write_timeout, tap).await {
            // Writing may let the machine go on (StartTls, Closed, input
            // held back by queued replies).
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
        // Never more than the machine may still hold: at the limit one
        // octet more lets it close with its own 421.
        let limit = c.server.config().limits.max_buffered;
        let room = limit.saturating_sub(c.server.buffered_len()).max(1);
        let size = c.read_size.min(room);
        let stop = (!c.shut && c.stop_level < FORCED).then_some(&mut c.stop);
        match wait(stream, size, c.server.poll_timeout(), stop).await {
            Wake::Stop => {
                let level = *c.stop.borrow_and_update();
                c.on_stop(level);
            }
            // The top of the loop gives the machine the time.
            Wake::Deadline => {}
            Wake::Read(Ok(Some(buf))) => {
                c.session.transcript(Direction::Received, &buf);
                c.read_size = c.runtime.next_read(size, buf.len());
                c.server.receive_buf(buf);
            }
            // A TLS client that hangs up without close_notify has closed
            // as surely as a TCP one.
            Wake::Read(Ok(None)) => c.server.peer_closed(),
            Wake::Read(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                c.server.peer_closed()
            }
            Wake::Read(Err(e)) => c.fail(e),
        }
    }
}

/// Asks the session for the decision `event` waits for.
async fn ask<S: Session>(session: &mut S, event: Event, lmtp: bool) -> Verdict {
    let answer = match event {
        Event::Connect => session.connect().await,
        Event::Hello { verb, host } => session.hello(verb, host).await,
        Event::Mail { from, params, send } => session.mail(from, params, send).await,
        Event::Rcpt { to, params } => session.rcpt(to, params).await,
        Event::Burl { url, last } => return Verdict::Burl(session.burl(url, last).await),
        Event::MessageEnd { size, recipients } => {
            let end = MessageEnd::new(size, recipients);
            if lmtp {
                return Verdict::Lmtp(session.lmtp_message_end(end).await);
            }
            session.message_end(end).await
        }
        Event::ScramLookup {
            mechanism,
            username,
            authzid,
        } => {
            return Verdict::Scram(
                session
                    .scram_credentials(mechanism, username, authzid)
                    .await,
            );
        }
        Event::AuthStep {
            mechanism,
            response,
        } => return Verdict::Sasl(session.auth_step(mechanism, response).await),
        Event::Auth(credentials) => session.auth(credentials).await,
        Event::Vrfy { target, utf8 } => session.vrfy(target, utf8).await,
        Event::Expn { target, utf8 } => session.expn(target, utf8).await,
        Event::Etrn(request) => session.etrn(request).await,
        Event::Atrn(domains) => session.atrn(domains).await,
        Event::Turn => session.turn().await,
        Event::Command { verb, args } => session.command(verb, args).await,
        Event::Xclient(attrs) => session.xclient(*attrs).await,
        Event::Xforward(attrs) => session.xforward(*attrs).await,
        // Not decisions: the driver handles them before asking.
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

/// Polls `fut` once: its output if it is ready at once.
fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> impl Future<Output = Option<F::Output>> + '_ {
    poll_fn(move |cx| {
        Poll::Ready(match fut.as_mut().poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
}

/// Writes and flushes every reply the machine owes, within `limit` for
/// the lot: a client reading one octet a minute cannot stretch it. Each
/// buffer written goes to `tap`. Whether anything was written.
pub(super) async fn transmit(
    stream: &mut Stream,
    server: &mut Server,
    limit: Duration,
    mut tap: impl FnMut(&Bytes),
) -> io::Result<bool> {
    let Some(first) = server.poll_transmit() else {
        return Ok(false);
    };
    let write = async {
        let mut bytes = first;
        loop {
            stream.write_all(&bytes).await?;
            tap(&bytes);
            match server.poll_transmit() {
                Some(more) => bytes = more,
                None => break,
            }
        }
        stream.flush().await
    };
    match tokio::time::timeout(limit, write).await {
        Ok(result) => result.map(|()| true),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client does not read its replies",
        )),
    }
}

/// Waits for input, the machine's deadline or a shutdown, whichever comes
/// first. No buffer is held while waiting: each time the stream may be
/// readable a buffer of `size` octets is allocated, and dropped again if
/// there was nothing to read after all, so an idle session holds none.
async fn wait(
    stream: &mut Stream,
    size: usize,
    deadline: Option<Instant>,
    stop: Option<&mut watch::Receiver<u8>>,
) -> Wake {
    let mut sleep = pin!(async move {
        match deadline {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => pending().await,
        }
    });
    let mut stopped = pin!(async move {
        match stop {
            // An error means the server is gone: stop as well.
            Some(stop) => drop(stop.changed().await),
            None => pending().await,
        }
    });
    poll_fn(|cx| {
        if stopped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Wake::Stop);
        }
        let mut buf = BytesMut::with_capacity(size);
        if let Poll::Ready(read) = pin!(stream.read_buf(&mut buf)).poll(cx) {
            return Poll::Ready(Wake::Read(match read {
                Ok(0) => Ok(None),
                Ok(_) => Ok(Some(buf)),
                Err(e) => Err(e),
            }));
        }
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Wake::Deadline);
        }
        Poll::Pending
    })
    .await
}
