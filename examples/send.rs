//! `send`: deliver one message over SMTP or LMTP with the sans-IO
//! [`esmtp::client::Client`], driven by tokio and tokio-rustls.
//!
//! ```text
//! send --server HOST:PORT --from ADDR --to ADDR [--to ADDR]...
//!      [--starttls | --tls] [--ca PEM | --insecure] [--user NAME:PASSWORD]
//!      [--lmtp] [--helo NAME] [--no-pipelining] [--no-chunking] [FILE]
//! ```
//!
//! The message is read as bytes from FILE, or standard input; line ends
//! are converted to CRLF and dots stuffed by the session.
//!
//! - `--starttls`: STARTTLS is required (RFC 3207); nothing is sent without
//!   it. `--tls`: TLS from the first byte (RFC 8314). Neither: no TLS at
//!   all, even if the server offers STARTTLS.
//! - `--ca PEM` trusts the certificates in PEM (CAs, or the server's own
//!   self-signed certificate, pinned); `--insecure` checks no certificate.
//!   By default the system CA bundle is used.
//! - `--user` authenticates (RFC 4954) with the strongest mechanism both
//!   sides allow. `--helo` names the client (default `localhost`).
//!
//! Output: one line per recipient, `<addr>: 250 2.1.5 Ok` (its RCPT reply,
//! or `not sent`), then the content reply, `message: 250 2.0.0 …` (in
//! LMTP one per accepted recipient, `message <addr>: 250 …`). The exit
//! status is 0 only when every recipient accepted the message; otherwise
//! it is 1 and the reasons (server replies, or the local reason such as
//! "message too large for the server's SIZE 1000") go to standard error.
//! A command-line error exits with 2.

#[path = "send_support/mod.rs"]
mod send_support;

use std::io;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use send_support::{Args, Session, Step, TlsMode, CONNECT_TIMEOUT, EXIT_FAILED};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The connection: clear text until STARTTLS, or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Upgrades a clear-text connection (bounded by [`CONNECT_TIMEOUT`]).
async fn handshake(conn: Conn, connector: &TlsConnector, args: &Args) -> Result<Conn, String> {
    let Conn::Plain(tcp) = conn else {
        return Err("TLS requested twice".into());
    };
    let name = args.server_name()?;
    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => Ok(Conn::Tls(Box::new(tls))),
        Ok(Err(e)) => Err(format!("TLS handshake with {}: {e}", args.host)),
        Err(_) => Err(format!("TLS handshake with {} timed out", args.host)),
    }
}

async fn connect(args: &Args) -> Result<TcpStream, String> {
    let target = (args.host.as_str(), args.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(format!(
            "cannot connect to {}:{}: {e}",
            args.host, args.port
        )),
        Err(_) => Err(format!(
            "connecting to {}:{} timed out",
            args.host, args.port
        )),
    }
}

/// Runs the session to its end: events → transmit → read or wait for the
/// session's deadline (the drain order of [`esmtp::client`]).
async fn drive(
    session: &mut Session,
    mut conn: Conn,
    connector: Option<&TlsConnector>,
    args: &Args,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // The session's clock, at every wake-up (after a read, a wait, a
        // handshake): progress restarts its wait from the latest time.
        session.client.handle_timeout(Instant::now());
        if session.handle_events() == Step::StartTls {
            let upgraded = match connector {
                Some(c) => handshake(conn, c, args).await,
                None => Err("STARTTLS without a TLS configuration".into()),
            };
            match upgraded {
                Ok(tls) => {
                    conn = tls;
                    let _ = session.client.tls_established();
                }
                Err(e) => {
                    let _ = session.client.tls_failed();
                    session.io_failed(e);
                    return;
                }
            }
            continue;
        }
        let mut write_error = None;
        while let Some(bytes) = session.client.poll_transmit() {
            if let Err(e) = conn.write_all(&bytes).await {
                write_error = Some(e);
                break;
            }
        }
        if write_error.is_none() {
            write_error = conn.flush().await.err();
        }
        if let Some(e) = write_error {
            // The server may have said why before closing: read what is left.
            read_rest(session, &mut conn, &mut buf).await;
            session.io_failed(format!("writing to the server: {e}"));
            return;
        }
        if session.client.is_closed() {
            // Close cleanly (TLS close_notify), but never wait long.
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.shutdown()).await;
            let _ = session.handle_events();
            return;
        }
        let deadline = session.client.poll_timeout();
        // No deadline only while nothing is awaited; wake up anyway.
        let wait = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(300));
        tokio::select! {
            read = conn.read(&mut buf) => {
                // What was read arrived now: a reply it completes restarts
                // the wait from here, not from before the read.
                session.client.handle_timeout(Instant::now());
                match read {
                    Ok(0) => session.client.peer_closed(),
                    Ok(n) => session.client.receive(buf.get(..n).unwrap_or_default()),
                    Err(e) => session.io_failed(format!("reading from the server: {e}")),
                }
            }
            // The top of the loop gives the session the time.
            () = tokio::time::sleep_until(wait.into()) => {}
        }
    }
}

/// After a failed write: hand the session whatever the server sent before
/// it went away (a `421` or `550` explaining why), briefly.
async fn read_rest(session: &mut Session, conn: &mut Conn, buf: &mut [u8]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while !session.client.is_closed() {
        match tokio::time::timeout_at(deadline, conn.read(buf)).await {
            Ok(Ok(n)) if n > 0 => session.client.receive(buf.get(..n).unwrap_or_default()),
            _ => return,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match send_support::args_or_exit() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let prepared = send_support::read_message(&args).and_then(|content| {
        let tls = if args.tls == TlsMode::None {
            None
        } else {
            Some(TlsConnector::from(send_support::tls_config(&args)?))
        };
        Ok((Session::new(&args, content)?, tls))
    });
    let (mut session, connector) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("send: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let conn = match connect(&args).await {
        Ok(tcp) => Conn::Plain(tcp),
        Err(e) => {
            eprintln!("send: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let conn = if args.tls == TlsMode::Implicit {
        let Some(connector) = connector.as_ref() else {
            return ExitCode::from(EXIT_FAILED);
        };
        match handshake(conn, connector, &args).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("send: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    } else {
        conn
    };
    drive(&mut session, conn, connector.as_ref(), &args).await;
    session.report(&args)
}
