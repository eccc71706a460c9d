//! An SMTP (or LMTP) server on tokio that delivers into a Maildir, driving
//! `esmtp`'s sans-IO [`Server`] machine: one task per connection, STARTTLS
//! with tokio-rustls, AUTH PLAIN/LOGIN/CRAM-MD5 for `--user`s.
//!
//! ```sh
//! cargo run --example server -- --listen 127.0.0.1:2525 --maildir ./maildir
//! ```
//!
//! See `--help` (or `examples/support/args.rs`) for every flag. Ctrl-C or
//! SIGTERM stops accepting, ends open sessions with `421` and exits.

#[path = "support/mod.rs"]
mod support;

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use esmtp::server::Server;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use support::session::{Handler, Next};
use support::{Shared, READ_BUFFER, TLS_HANDSHAKE_TIMEOUT};

/// How long open sessions get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let args = support::args::from_env();
    let shared = match Shared::new(&args) {
        Ok(s) => s,
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

    let acceptor = shared.tls.clone().map(TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let shared = Arc::clone(&shared);
                    let acceptor = acceptor.clone();
                    let stop = stop_rx.clone();
                    sessions.spawn(serve(tcp, peer, shared, acceptor, stop));
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
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let (mut session, sid) = shared.new_session();
    let mut handler = Handler::new(Arc::clone(&shared), peer, sid);
    let mut buf = vec![0u8; READ_BUFFER];
    match drive(&mut tcp, &mut session, &mut handler, &mut buf, &mut stop).await {
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
            let _ = session.tls_established();
            handler.log(format_args!("TLS established"));
            let result = drive(&mut tls, &mut session, &mut handler, &mut buf, &mut stop).await;
            match result {
                Ok(_) => {
                    // close_notify; the peer may already be gone.
                    let _ = tls.shutdown().await;
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

/// The driver loop (see `esmtp::server`): events, then transmit, then
/// read or time out, until the session closes or starts TLS.
async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    session: &mut Server,
    handler: &mut Handler,
    buf: &mut [u8],
    stop: &mut watch::Receiver<bool>,
) -> io::Result<Outcome> {
    let mut stopping = *stop.borrow();
    if stopping {
        session.shutdown("shutting down");
    }
    loop {
        while let Some(event) = session.poll_event() {
            // Content goes through a 64 KiB buffered file writer, cheap
            // enough to run on the worker; fsync and rename at the end of
            // a message block, so the runtime moves other tasks off this
            // worker meanwhile.
            let end = matches!(event, esmtp::server::Event::MessageEnd { .. });
            let next = if end {
                tokio::task::block_in_place(|| handler.on_event(session, event))
            } else {
                handler.on_event(session, event)
            };
            match next {
                Next::Continue => {}
                // The machine emits both only once its replies are out.
                Next::StartTls => return Ok(Outcome::StartTls),
                Next::Close => return Ok(Outcome::Closed),
            }
        }
        let mut wrote = false;
        while let Some(bytes) = session.poll_transmit() {
            io.write_all(&bytes).await?;
            wrote = true;
        }
        if wrote {
            io.flush().await?;
            // Writing may unblock an event (StartTls, Closed).
            continue;
        }
        if session.is_closed() {
            return Ok(Outcome::Closed);
        }
        let deadline = session.poll_timeout(Instant::now());
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = io.read(buf) => match read {
                Ok(0) => session.peer_closed(),
                Ok(n) => session.receive(buf.get(..n).unwrap_or_default()),
                Err(e) => {
                    handler.log(format_args!("read error: {e}"));
                    session.peer_closed();
                }
            },
            () = sleep => session.handle_timeout(Instant::now()),
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    session.shutdown("shutting down");
                }
            }
        }
    }
}
