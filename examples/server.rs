//! An SMTP (or LMTP) server on tokio that delivers into a Maildir, driving
//! `esmtp`'s sans-IO [`Server`] machine: one task per connection, STARTTLS
//! with tokio-rustls, AUTH PLAIN/LOGIN/CRAM-MD5 for `--user`s. A complete
//! message is acknowledged only once it is durable (fsync, rename into
//! `new/`, fsync of `new/`). Where an fsync costs disk time, that work runs
//! on a delivery thread that commits messages in groups (one fsync of
//! `new/` per group) so the sessions' workers never block on the disk;
//! where it is free (a memory file system such as tmpfs, found by timing a
//! few fsyncs at start-up) the session's worker delivers at once, since a
//! hop to another thread would cost more than the delivery.
//! `ESMTP_EXAMPLE_DELIVERY=thread` or `=inline` overrides the choice.
//!
//! ```sh
//! cargo run --example server -- --listen 127.0.0.1:2525 --maildir ./maildir
//! ```
//!
//! See `--help` (or `examples/support/args.rs`) for every flag. Ctrl-C or
//! SIGTERM stops accepting, ends open sessions with `421` and exits.

#[path = "support/mod.rs"]
mod support;

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use esmtp::server::Server;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use support::session::{Delivery, Handler, Next};
use support::{ConnectionLimits, Shared, Slot, FIRST_READ, READ_BUFFER, TLS_HANDSHAKE_TIMEOUT};

/// How long open sessions get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    // One core is left to the delivery thread, which spends its time in
    // file system calls, or (inline delivery) to the kernel's share of the
    // work and the peers on the same machine: on 2 cores with smtp-source
    // alongside, one worker ran 20% faster than two.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server, on the runtime.
async fn run() -> ExitCode {
    let args = support::args::from_env();
    let shared = match Shared::new(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let deliveries = match Deliveries::start(&shared) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(args.listen);
    println!("listening on {local}");
    eprintln!("{}", shared.describe());

    raise_fd_limit();
    let limits = ConnectionLimits::new(args.max_connections, args.max_connections_per_ip);
    let acceptor = shared.tls.clone().map(TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let slot = match limits.admit(peer.ip()) {
                        Ok(slot) => slot,
                        Err(why) => {
                            refuse(&tcp, &shared, why);
                            continue;
                        }
                    };
                    let shared = Arc::clone(&shared);
                    let acceptor = acceptor.clone();
                    let stop = stop_rx.clone();
                    let deliveries = deliveries.clone();
                    sessions.spawn(serve(tcp, peer, slot, shared, acceptor, deliveries, stop));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            () = &mut stop => break,
        }
    }
    drop(listener);
    eprintln!("shutting down: {} open session(s)", sessions.len());
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        sessions.abort_all();
    }
    ExitCode::SUCCESS
}

/// Over a connection limit: `421 4.7.0` instead of a greeting, written
/// without waiting (it fits any socket
/// buffer, and a client that does not read must not hold up the accept
/// loop), then the connection is dropped.
fn refuse(tcp: &TcpStream, shared: &Shared, why: support::Refusal) {
    let _ = tcp.try_write(why.reply_line(shared.config.hostname()).as_bytes());
}

/// Raises the soft limit on open files to the hard limit: each session is
/// a descriptor, and the default soft limit (often 1024) is below
/// `--max-connections`.
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A complete message for the delivery thread, and where its outcome goes.
type Job = (Box<Delivery>, oneshot::Sender<io::Result<PathBuf>>);

/// Where complete messages are made durable.
#[derive(Clone)]
enum Deliveries {
    /// On the session's worker, at once: the file system's fsync is free.
    Inline,
    /// On the delivery thread, in groups.
    Thread(mpsc::Sender<Job>),
}

/// Below this cost of making a message durable (see
/// `Maildir::sync_cost`), messages are delivered inline. A tmpfs takes
/// 1–3 µs, the disks we measured 250 µs and more.
const INLINE_SYNC: Duration = Duration::from_micros(20);

impl Deliveries {
    /// Chooses inline delivery or the delivery thread for this Maildir (or
    /// as `ESMTP_EXAMPLE_DELIVERY` says) and logs the choice.
    fn start(shared: &Arc<Shared>) -> Result<Deliveries, String> {
        let forced = std::env::var("ESMTP_EXAMPLE_DELIVERY").ok();
        let cost = shared.maildir.sync_cost();
        let inline = match (forced.as_deref(), &cost) {
            (Some("inline"), _) => true,
            (Some("thread"), _) => false,
            (Some(other), _) => {
                return Err(format!(
                    "ESMTP_EXAMPLE_DELIVERY={other}: expected inline or thread"
                ))
            }
            (None, Ok(cost)) => *cost < INLINE_SYNC,
            (None, Err(_)) => false,
        };
        let how = match &cost {
            Ok(cost) => format!("an fsync costs {cost:?}"),
            Err(e) => format!("cannot time an fsync: {e}"),
        };
        if inline {
            eprintln!("delivering on the sessions' workers ({how})");
            Ok(Deliveries::Inline)
        } else {
            eprintln!("delivering on a group-commit thread ({how})");
            spawn_delivery(Arc::clone(shared))
                .map(Deliveries::Thread)
                .map_err(|e| format!("cannot start the delivery thread: {e}"))
        }
    }
}

/// The most messages one group commit takes.
const GROUP_MAX: usize = 256;

/// Starts the thread that makes messages durable. Sessions keep running on
/// the runtime's workers meanwhile instead of blocking one of them in
/// `fsync` and `rename`.
fn spawn_delivery(shared: Arc<Shared>) -> io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("delivery".into())
        .spawn(move || deliver(&shared, &rx))?;
    Ok(tx)
}

/// The delivery thread: takes whatever messages are waiting (a group),
/// fsyncs and renames each into `new/`, then fsyncs `new/` once for the
/// whole group before any of them is acknowledged (group commit). The
/// group's log lines go out in one write.
fn deliver(shared: &Shared, jobs: &mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    let mut outcomes = Vec::with_capacity(GROUP_MAX);
    let mut log = Vec::new();
    while let Ok(job) = jobs.recv() {
        group.push(job);
        while group.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        for (mut delivery, reply) in group.drain(..) {
            let outcome = delivery.spool.finish();
            if let Ok(path) = &outcome {
                delivery.log_line(path, &mut log);
            }
            outcomes.push((outcome, reply));
        }
        if outcomes.iter().any(|(o, _)| o.is_ok()) {
            if let Err(e) = shared.maildir.sync_new() {
                // The renames may not survive a crash: no 250 for them.
                for (outcome, _) in &mut outcomes {
                    if outcome.is_ok() {
                        *outcome = Err(io::Error::new(e.kind(), e.to_string()));
                    }
                }
            }
        }
        let _ = io::stderr().write_all(&log);
        log.clear();
        for (outcome, reply) in outcomes.drain(..) {
            // The session may be gone (the client hung up).
            let _ = reply.send(outcome);
        }
    }
}

/// How [`drive`] ended.
enum Outcome {
    Closed,
    StartTls,
}

/// One connection: plain text, then (after STARTTLS) the same session over
/// TLS.
async fn serve(
    mut tcp: TcpStream,
    peer: SocketAddr,
    // Held for the whole session: its drop frees the connection slot.
    _slot: Slot,
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    deliveries: Deliveries,
    mut stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let (mut session, sid) = shared.new_session();
    let mut handler = Handler::new(Arc::clone(&shared), peer, sid);
    let mut conn = Conn {
        buf: BytesMut::new(),
        next_read: FIRST_READ,
        deliveries,
        write_timeout: shared.config.timeouts.command,
    };
    match drive(&mut tcp, &mut session, &mut handler, &mut conn, &mut stop).await {
        Ok(Outcome::Closed) => return,
        Ok(Outcome::StartTls) => {}
        Err(e) => {
            handler.log(format_args!("connection error: {e}"));
            return;
        }
    }
    let handshake = async {
        match acceptor {
            Some(acceptor) => acceptor.accept(tcp).await,
            None => Err(io::Error::other("STARTTLS without a certificate")),
        }
    };
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(mut tls)) => {
            // The wait for the new EHLO starts now, not before the handshake.
            session.handle_timeout(Instant::now());
            let _ = session.tls_established();
            handler.log(format_args!("TLS established"));
            let result = drive(&mut tls, &mut session, &mut handler, &mut conn, &mut stop).await;
            match result {
                Ok(_) => {
                    // close_notify; the peer may already be gone, or may
                    // never read it.
                    let _ = tokio::time::timeout(conn.write_timeout, tls.shutdown()).await;
                }
                Err(e) => handler.log(format_args!("connection error: {e}")),
            }
        }
        Ok(Err(e)) => tls_failed(&mut session, &mut handler, &e.to_string()),
        Err(_) => tls_failed(&mut session, &mut handler, "handshake timed out"),
    }
}

/// Tells the session the handshake failed and lets the handler see the
/// end of it.
fn tls_failed(session: &mut Server, handler: &mut Handler, why: &str) {
    handler.log(format_args!("TLS handshake failed: {why}"));
    let _ = session.tls_failed();
    while let Some(event) = session.poll_event() {
        if let Next::Close = handler.on_event(session, event) {
            break;
        }
    }
}

/// What [`drive`] keeps across a STARTTLS.
struct Conn {
    /// Read into, then handed to the session without a copy
    /// (`Server::receive_buf`).
    buf: BytesMut,
    /// How much the next read may take: [`FIRST_READ`], doubled after a
    /// read that filled it, up to [`READ_BUFFER`].
    next_read: usize,
    /// Where messages are delivered.
    deliveries: Deliveries,
    /// How long a write (or flush) may block: a peer that never reads
    /// cannot pin the session.
    write_timeout: Duration,
}

/// The driver loop (see `esmtp::server`): events, then transmit, then
/// read or time out, until the session closes or starts TLS. While a
/// message is being delivered the session waits for the answer and
/// nothing more is read.
async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    session: &mut Server,
    handler: &mut Handler,
    conn: &mut Conn,
    stop: &mut watch::Receiver<bool>,
) -> io::Result<Outcome> {
    let mut stopping = *stop.borrow();
    if stopping {
        session.shutdown("shutting down");
    }
    let mut delivering = None;
    loop {
        // The session's clock, at every wake-up (after a read, a wait, a
        // delivery): the command lines read are timed from it.
        session.handle_timeout(Instant::now());
        while let Some(event) = session.poll_event() {
            match handler.on_event(session, event) {
                Next::Continue => {}
                Next::Deliver(mut delivery) => match &conn.deliveries {
                    Deliveries::Inline => {
                        let outcome = handler.deliver_now(&mut delivery);
                        // An fsync may take a while: the answer restarts
                        // the wait for the next command from now.
                        session.handle_timeout(Instant::now());
                        handler.delivered(session, outcome);
                    }
                    Deliveries::Thread(thread) => {
                        let (tx, rx) = oneshot::channel();
                        match thread.send((delivery, tx)) {
                            Ok(()) => delivering = Some(rx),
                            Err(mpsc::SendError((delivery, _))) => {
                                // Dropping the spool deletes its file.
                                drop(delivery);
                                let gone = io::Error::other("delivery thread gone");
                                handler.delivered(session, Err(gone));
                            }
                        }
                    }
                },
                // The machine emits both only once its replies are out.
                Next::StartTls => return Ok(Outcome::StartTls),
                Next::Close => return Ok(Outcome::Closed),
            }
        }
        // Replies come out as one buffer per flush: one write.
        let mut wrote = false;
        let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "peer does not read");
        while let Some(bytes) = session.poll_transmit() {
            tokio::time::timeout(conn.write_timeout, io.write_all(&bytes))
                .await
                .map_err(|_| timed_out())??;
            wrote = true;
        }
        if wrote {
            tokio::time::timeout(conn.write_timeout, io.flush())
                .await
                .map_err(|_| timed_out())??;
            // Writing may unblock an event (StartTls, Closed).
            continue;
        }
        if session.is_closed() {
            return Ok(Outcome::Closed);
        }
        if let Some(rx) = delivering.take() {
            // Bounded by the file system; a shutdown waits for it, so a
            // message made durable is also acknowledged.
            let outcome = rx
                .await
                .unwrap_or_else(|_| Err(io::Error::other("delivery thread gone")));
            // The answer restarts the wait for the next command from now,
            // not from before the delivery.
            session.handle_timeout(Instant::now());
            handler.delivered(session, outcome);
            continue;
        }
        let deadline = session.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        // Reuses the allocation once the session and the content chunks
        // have let go of it; at most READ_BUFFER octets per read, which
        // the session's max_buffered allows for (see Shared::new).
        if conn.buf.capacity() < conn.next_read {
            conn.buf.reserve(conn.next_read);
        }
        let mut room = (&mut conn.buf).limit(conn.next_read);
        let read = tokio::select! {
            read = io.read_buf(&mut room) => Some(read),
            // The top of the loop gives the session the time.
            () = sleep => None,
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    session.shutdown("shutting down");
                }
                None
            }
        };
        match read {
            None => {}
            Some(Ok(0)) => session.peer_closed(),
            Some(Ok(n)) => {
                // A busy client earns a bigger buffer; an idle one keeps
                // a small one.
                conn.next_read = if n == conn.next_read {
                    (conn.next_read * 2).min(READ_BUFFER)
                } else {
                    (conn.next_read / 2).max(FIRST_READ)
                };
                session.receive_buf(conn.buf.split());
            }
            Some(Err(e)) => {
                handler.log(format_args!("read error: {e}"));
                session.peer_closed();
            }
        }
    }
}
