//! The same server as `examples/server.rs` — same machine, command line and
//! Maildir delivery — driven by `std::net` with one thread per connection
//! and no async runtime. STARTTLS uses rustls's blocking `StreamOwned`.
//!
//! ```sh
//! cargo run --example server_blocking -- --listen 127.0.0.1:2525 --maildir ./maildir
//! ```
//!
//! Without a signal-handling crate there is no graceful stop: Ctrl-C ends
//! the process at once. That loses nothing that was accepted (a message
//! is renamed into `new/` before its 250 is sent); an unfinished one stays
//! in `tmp/`, which Maildir readers ignore.

#[path = "support/mod.rs"]
mod support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use esmtp::server::Server;
use rustls::{ServerConnection, StreamOwned};

use support::session::{Handler, Next};
use support::{ConnectionLimits, Shared, READ_BUFFER, TLS_HANDSHAKE_TIMEOUT};

fn main() -> ExitCode {
    let args = support::args::from_env();
    let shared = match Shared::new(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(args.listen);
    println!("listening on {local}");
    eprintln!("{}", shared.describe());
    let limits = ConnectionLimits::new(args.max_connections, args.max_connections_per_ip);
    loop {
        match listener.accept() {
            Ok((mut tcp, peer)) => {
                let slot = match limits.admit(peer.ip()) {
                    Ok(slot) => slot,
                    Err(why) => {
                        // Without waiting: a client that does not read must
                        // not hold up the accept loop.
                        let _ = tcp.set_nonblocking(true);
                        let _ = tcp.write(why.reply_line(shared.config.hostname()).as_bytes());
                        continue;
                    }
                };
                let shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name(format!("smtp {peer}"))
                    .spawn(move || {
                        // Its drop frees the slot when the session ends.
                        let _slot = slot;
                        serve(tcp, peer, shared)
                    });
                if let Err(e) = spawned {
                    eprintln!("cannot start a thread for {peer}: {e}");
                }
            }
            // E.g. out of file descriptors: back off instead of spinning.
            Err(e) => {
                eprintln!("accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A blocking byte stream whose reads can be given a deadline.
trait Conn: Read + Write {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Conn for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl Conn for StreamOwned<ServerConnection, TcpStream> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }
}

/// How [`drive`] ended.
enum Outcome {
    Closed,
    StartTls,
}

/// One connection: plain text, then (after STARTTLS) the same session over
/// TLS.
fn serve(mut tcp: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    // A client that never reads cannot pin this thread in a write (the TLS
    // stream writes through the same socket).
    let _ = tcp.set_write_timeout(Some(shared.config.timeouts.command));
    let (mut session, sid) = shared.new_session();
    let mut handler = Handler::new(Arc::clone(&shared), peer, sid);
    let mut buf = vec![0u8; READ_BUFFER];
    match drive(&mut tcp, &mut session, &mut handler, &mut buf) {
        Ok(Outcome::Closed) => return,
        Ok(Outcome::StartTls) => {}
        Err(e) => {
            handler.log(format_args!("connection error: {e}"));
            return;
        }
    }
    let mut tls = match handshake(tcp, shared.tls.clone()) {
        Ok(tls) => tls,
        Err(e) => {
            handler.log(format_args!("TLS handshake failed: {e}"));
            let _ = session.tls_failed();
            while let Some(event) = session.poll_event() {
                if let Next::Close = handler.on_event(&mut session, event) {
                    break;
                }
            }
            return;
        }
    };
    // The wait for the new EHLO starts now, not before the handshake.
    session.handle_timeout(Instant::now());
    let _ = session.tls_established();
    handler.log(format_args!("TLS established"));
    match drive(&mut tls, &mut session, &mut handler, &mut buf) {
        Ok(_) => {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        Err(e) => handler.log(format_args!("connection error: {e}")),
    }
}

/// Runs the server side of a TLS handshake to completion.
fn handshake(
    tcp: TcpStream,
    config: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<StreamOwned<ServerConnection, TcpStream>> {
    let config = config.ok_or_else(|| io::Error::other("STARTTLS without a certificate"))?;
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    tls.sock.set_read_timeout(Some(TLS_HANDSHAKE_TIMEOUT))?;
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// The driver loop (see `esmtp::server`): events, then transmit, then read
/// (with the session's deadline as the read timeout), until the session
/// closes or starts TLS.
fn drive<S: Conn>(
    io: &mut S,
    session: &mut Server,
    handler: &mut Handler,
    buf: &mut [u8],
) -> io::Result<Outcome> {
    loop {
        // The session's clock, at every wake-up (after a read, a wait, a
        // handshake): the command lines read are timed from it.
        session.handle_timeout(Instant::now());
        while let Some(event) = session.poll_event() {
            match handler.on_event(session, event) {
                Next::Continue => {}
                Next::Deliver(mut delivery) => {
                    let outcome = handler.deliver_now(&mut delivery);
                    // An fsync may take a while: the answer restarts the
                    // wait for the next command from now.
                    session.handle_timeout(Instant::now());
                    handler.delivered(session, outcome);
                }
                // The machine emits both only once its replies are out.
                Next::StartTls => return Ok(Outcome::StartTls),
                Next::Close => return Ok(Outcome::Closed),
            }
        }
        let mut wrote = false;
        while let Some(bytes) = session.poll_transmit() {
            io.write_all(&bytes)?;
            wrote = true;
        }
        if wrote {
            io.flush()?;
            // Writing may unblock an event (StartTls, Closed).
            continue;
        }
        if session.is_closed() {
            return Ok(Outcome::Closed);
        }
        let now = Instant::now();
        let timeout = session
            .poll_timeout()
            // A zero timeout means "none" to set_read_timeout.
            .map(|deadline| {
                deadline
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            });
        io.set_read_timeout(timeout)?;
        match io.read(buf) {
            Ok(0) => session.peer_closed(),
            Ok(n) => session.receive(buf.get(..n).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {} // the top of the loop gives the time
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                handler.log(format_args!("read error: {e}"));
                session.peer_closed();
            }
        }
    }
}
