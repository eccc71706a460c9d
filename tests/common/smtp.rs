//! A raw SMTP client over `std::net`, for tests that control every byte.
//! All reads have a timeout and all buffers a cap, so a silent or babbling
//! peer fails the test instead of hanging it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Read timeout for every reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);
/// Cap on one reply (all its lines), far above any sane peer's.
const MAX_REPLY: usize = 64 * 1024;

/// One SMTP reply (RFC 5321 §4.2): the code of its last line and the text
/// of every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text after `ddd-` / `ddd ` on each line.
    pub lines: Vec<String>,
    /// The reply as received, line ends included.
    pub raw: Vec<u8>,
}

impl Reply {
    /// All lines joined with `\n`, for `contains` checks.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A blocking SMTP connection to 127.0.0.1.
pub struct SmtpConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl SmtpConn {
    /// Connects to 127.0.0.1:`port` and reads the greeting, which must be 220.
    pub fn connect(port: u16) -> SmtpConn {
        let (conn, greeting) = Self::connect_raw(port);
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        conn
    }

    /// Connects and returns the greeting whatever its code.
    pub fn connect_raw(port: u16) -> (SmtpConn, Reply) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Self::greeted(stream)
    }

    /// Connects from the loopback address `from` (127.0.0.2 …: each is
    /// another client address to the server) and returns the greeting.
    pub fn connect_from(from: Ipv4Addr, port: u16) -> std::io::Result<(SmtpConn, Reply)> {
        Ok(Self::greeted(connect_from(from, port)?))
    }

    /// Reads the greeting of a connected stream.
    pub fn greeted(stream: TcpStream) -> (SmtpConn, Reply) {
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .expect("set_read_timeout");
        stream
            .set_write_timeout(Some(REPLY_TIMEOUT))
            .expect("set_write_timeout");
        let mut conn = SmtpConn {
            stream,
            buf: Vec::new(),
        };
        let greeting = conn.read_reply();
        (conn, greeting)
    }

    /// Writes bytes exactly as given.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write {}: {e}", bytes.escape_ascii()));
    }

    /// Sends `line` + CRLF and reads one reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Sends a command and asserts the reply code.
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.cmd(line);
        assert_eq!(reply.code, code, "{line:?} got {reply:?}");
        reply
    }

    /// Reads one complete (possibly multi-line) reply. Accepts bare LF as a
    /// line end so a sloppy peer is reported, not hung on.
    pub fn read_reply(&mut self) -> Reply {
        let mut raw = Vec::new();
        let mut lines = Vec::new();
        loop {
            let line = self.read_line();
            raw.extend_from_slice(&line);
            assert!(raw.len() <= MAX_REPLY, "reply over {MAX_REPLY} bytes");
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            let code = body
                .get(..3)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<u16>().ok())
                .unwrap_or_else(|| panic!("malformed reply line {}", line.escape_ascii()));
            let sep = body.get(3).copied();
            lines.push(String::from_utf8_lossy(body.get(4..).unwrap_or_default()).into_owned());
            match sep {
                Some(b'-') => continue,
                None | Some(b' ') => return Reply { code, lines, raw },
                Some(_) => panic!("malformed reply line {}", line.escape_ascii()),
            }
        }
    }

    /// Reads up to and including the next LF.
    fn read_line(&mut self) -> Vec<u8> {
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(nl + 1);
                return std::mem::replace(&mut self.buf, rest);
            }
            assert!(
                self.buf.len() <= MAX_REPLY,
                "reply line over {MAX_REPLY} bytes"
            );
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "peer closed the connection (pending {})",
                    self.buf.escape_ascii()
                ),
                Ok(n) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                // A signal (a peer's child exiting) interrupts a read that
                // has a timeout; it is not an answer.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("read reply: {e} (pending {})", self.buf.escape_ascii()),
            }
        }
    }

    /// True once the peer has closed the connection (reads EOF within the
    /// reply timeout); any bytes read first are discarded.
    pub fn closed_by_peer(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        for _ in 0..64 {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// One whole transaction: `EHLO`, `MAIL FROM:<from>`, one `RCPT TO` per
    /// recipient, `DATA`, the already dot-stuffed `data` (which must end in
    /// CRLF), `.`; asserts each step succeeded and returns the final reply.
    pub fn send_mail(&mut self, from: &str, to: &[&str], stuffed_data: &[u8]) -> Reply {
        self.expect("EHLO client.esmtp.test", 250);
        self.expect(&format!("MAIL FROM:<{from}>"), 250);
        for rcpt in to {
            let reply = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            assert!(matches!(reply.code, 250 | 251), "RCPT {rcpt}: {reply:?}");
        }
        self.expect("DATA", 354);
        self.send(stuffed_data);
        self.send(b".\r\n");
        let reply = self.read_reply();
        assert_eq!(reply.code, 250, "end of data: {reply:?}");
        reply
    }

    /// Sends QUIT and expects 221.
    pub fn quit(mut self) {
        self.expect("QUIT", 221);
    }
}

/// A TCP connection to 127.0.0.1:`port` from the loopback address `from`
/// (std cannot bind before connecting; tokio's socket can).
pub fn connect_from(from: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    thread_local! {
        static RT: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .ok();
    }
    let stream = RT.with(|rt| {
        let rt = rt
            .as_ref()
            .ok_or_else(|| std::io::Error::other("no runtime"))?;
        rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::from((from, 0)))?;
            let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect"))?
        })
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    Ok(stream)
}
