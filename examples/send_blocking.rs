//! `send_blocking`: the same as `send` (same command line, output and exit
//! status; see `examples/send.rs`) over blocking `std::net` sockets and
//! rustls's `StreamOwned`, without an async runtime. The session's
//! deadline becomes the socket's read timeout.

#[path = "send_support/mod.rs"]
mod send_support;

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConnection, StreamOwned};
use send_support::{Args, Session, Step, TlsMode, CONNECT_TIMEOUT, EXIT_FAILED};

/// The connection: clear text until STARTTLS, or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Upgrades a clear-text connection; the handshake is bounded by
/// [`CONNECT_TIMEOUT`] through the socket timeouts.
fn handshake(conn: Conn, config: &Arc<rustls::ClientConfig>, args: &Args) -> Result<Conn, String> {
    let Conn::Plain(mut tcp) = conn else {
        return Err("TLS requested twice".into());
    };
    let name = args.server_name()?;
    let mut tls =
        ClientConnection::new(config.clone(), name).map_err(|e| format!("TLS set-up: {e}"))?;
    let _ = tcp.set_read_timeout(Some(CONNECT_TIMEOUT));
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp)
            .map_err(|e| format!("TLS handshake with {}: {e}", args.host))?;
    }
    Ok(Conn::Tls(Box::new(StreamOwned::new(tls, tcp))))
}

fn connect(args: &Args) -> Result<TcpStream, String> {
    let addrs = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", args.host))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                // A server that stops reading must not block us forever.
                let _ = s.set_write_timeout(Some(CONNECT_TIMEOUT * 10));
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("cannot connect to {}:{}: {e}", args.host, args.port),
        None => format!("{} has no address", args.host),
    })
}

/// Runs the session to its end: events → transmit → read until the
/// session's deadline (the drain order of `esmtp::client`).
fn drive(
    session: &mut Session,
    mut conn: Conn,
    tls: Option<&Arc<rustls::ClientConfig>>,
    args: &Args,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // The session's clock, at every wake-up (after a read, a wait, a
        // handshake): progress restarts its wait from the latest time.
        session.client.handle_timeout(Instant::now());
        if session.handle_events() == Step::StartTls {
            let upgraded = match tls {
                Some(c) => handshake(conn, c, args),
                None => Err("STARTTLS without a TLS configuration".into()),
            };
            match upgraded {
                Ok(c) => {
                    conn = c;
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
            if let Err(e) = conn.write_all(&bytes) {
                write_error = Some(e);
                break;
            }
        }
        if write_error.is_none() {
            write_error = conn.flush().err();
        }
        if let Some(e) = write_error {
            read_rest(session, &mut conn, &mut buf);
            session.io_failed(format!("writing to the server: {e}"));
            return;
        }
        if session.client.is_closed() {
            if let Conn::Tls(s) = &mut conn {
                s.conn.send_close_notify();
                let _ = s.flush();
            }
            let _ = session.handle_events();
            return;
        }
        let now = Instant::now();
        let wait = session
            .client
            .poll_timeout()
            .map_or(Duration::from_secs(300), |d| {
                d.saturating_duration_since(now)
            })
            // A zero timeout means "block forever" to the socket.
            .max(Duration::from_millis(1));
        let _ = conn.tcp().set_read_timeout(Some(wait));
        let read = conn.read(&mut buf);
        // What was read arrived now: a reply it completes restarts the
        // wait from here, not from before the read.
        session.client.handle_timeout(Instant::now());
        match read {
            Ok(0) => session.client.peer_closed(),
            Ok(n) => session.client.receive(buf.get(..n).unwrap_or_default()),
            // The deadline passed: the time was just given.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => session.io_failed(format!("reading from the server: {e}")),
        }
    }
}

/// After a failed write: hand the session whatever the server sent before
/// it went away (a `421` or `550` explaining why), briefly.
fn read_rest(session: &mut Session, conn: &mut Conn, buf: &mut [u8]) {
    let _ = conn.tcp().set_read_timeout(Some(Duration::from_secs(2)));
    while !session.client.is_closed() {
        match conn.read(buf) {
            Ok(n) if n > 0 => session.client.receive(buf.get(..n).unwrap_or_default()),
            _ => return,
        }
    }
}

fn main() -> ExitCode {
    let args = match send_support::args_or_exit() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let prepared = send_support::read_message(&args).and_then(|content| {
        let tls = if args.tls == TlsMode::None {
            None
        } else {
            Some(send_support::tls_config(&args)?)
        };
        let conn = Conn::Plain(connect(&args)?);
        let conn = match (&tls, args.tls) {
            (Some(config), TlsMode::Implicit) => handshake(conn, config, &args)?,
            _ => conn,
        };
        Ok((Session::new(&args, content)?, tls, conn))
    });
    let (mut session, tls, conn) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("send: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    drive(&mut session, conn, tls.as_ref(), &args);
    session.report(&args)
}
