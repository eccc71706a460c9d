//! The PROXY protocol header a connection starts with (HAProxy's
//! specification, §2.1 and §2.2), read before any TLS handshake and
//! before the session exists, so that [`ConnectionInfo`](super::ConnectionInfo)
//! carries the addresses it names.
//!
//! The header is read exactly: what is available is peeked at, parsed,
//! and only the header's own octets are taken from the socket, so what
//! follows (a TLS ClientHello, an early command) stays for whoever reads
//! next. A header announcing more than its limit is refused from its
//! first 16 octets; nothing beyond the limit is ever held.

use std::io;

use crate::proxy::{ProxyError, ProxyHeader, ProxyOptions};

/// Where a header stands after a peek of `peeked` octets following the
/// `taken` ones already consumed: done (with the octets still to take),
/// or more to read (all of `peeked` belongs to the header).
enum Step {
    Done(ProxyHeader, usize),
    More,
}

fn step(taken: &mut Vec<u8>, peeked: &[u8], opts: &ProxyOptions) -> io::Result<Step> {
    if peeked.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection ended before its PROXY header",
        ));
    }
    let before = taken.len();
    taken.extend_from_slice(peeked);
    match ProxyHeader::parse(taken, opts) {
        Ok((header, used)) => Ok(Step::Done(header, used - before)),
        // Every octet seen is part of the header: take them all.
        Err(ProxyError::Incomplete) => Ok(Step::More),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
    }
}

/// Room for what may still belong to the header.
fn room(opts: &ProxyOptions, taken: usize) -> usize {
    opts.max_len.saturating_sub(taken).max(1)
}

/// Reads the header from a tokio socket.
#[cfg(feature = "tokio")]
pub(super) async fn read(
    tcp: &mut tokio::net::TcpStream,
    opts: &ProxyOptions,
) -> io::Result<ProxyHeader> {
    use tokio::io::AsyncReadExt;
    let mut taken = Vec::new();
    let mut buf = vec![0u8; room(opts, 0)];
    loop {
        let want = room(opts, taken.len()).min(buf.len());
        let n = tcp.peek(&mut buf[..want]).await?;
        match step(&mut taken, &buf[..n], opts)? {
            Step::Done(header, rest) => {
                tcp.read_exact(&mut buf[..rest]).await?;
                return Ok(header);
            }
            Step::More => {
                tcp.read_exact(&mut buf[..n]).await?;
            }
        }
    }
}

/// Reads the header from a blocking socket, within `limit` in all.
#[cfg(feature = "blocking")]
pub(super) fn read_blocking(
    tcp: &mut std::net::TcpStream,
    opts: &ProxyOptions,
    limit: std::time::Duration,
) -> io::Result<ProxyHeader> {
    use std::io::Read;
    use std::time::Instant;
    let deadline = Instant::now() + limit;
    let mut taken = Vec::new();
    let mut buf = vec![0u8; room(opts, 0)];
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no PROXY header in time",
            ));
        }
        tcp.set_read_timeout(Some(left))?;
        let want = room(opts, taken.len()).min(buf.len());
        let n = match tcp.peek(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        match step(&mut taken, &buf[..n], opts) {
            Ok(Step::Done(header, rest)) => {
                break tcp.read_exact(&mut buf[..rest]).map(|()| header)
            }
            Ok(Step::More) => {
                if let Err(e) = tcp.read_exact(&mut buf[..n]) {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    let _ = tcp.set_read_timeout(None);
    result
}
