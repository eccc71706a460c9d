//! The same session however it is read: one server gets the client's
//! octets in one read of 32 KiB or more (which decodes DATA content as it
//! copies it), another in reads of a fuzz-chosen size (which copy, then
//! decode), and a third through `receive_buf`. With every decision
//! accepted, they must write the same bytes and report the same events
//! and the same content of every message not aborted (RFC 5321 §4.5.2
//! unstuffing, the §4.5.3.1.6 line limit, RFC 1870 SIZE, the bare CR/LF
//! policy of §2.3.8), whatever the reads: a server may not depend on
//! where they end (RFC 2920 §3).
#![no_main]

use std::sync::Arc;

use bytes::BytesMut;
use esmtp::data::BarePolicy;
use esmtp::server::{Event, Server, ServerConfig};
use libfuzzer_sys::fuzz_target;

/// What a session did, with the content of each message joined and that
/// of aborted messages left out (a message is checked a run at a time, so
/// how much of an aborted one comes out first depends on the reads).
#[derive(Debug, PartialEq, Default)]
struct Seen {
    wire: Vec<u8>,
    events: Vec<String>,
}

fn config(bits: u8) -> Arc<ServerConfig> {
    let mut cfg = ServerConfig::new("mx.example.org").unwrap();
    if bits & 1 != 0 {
        cfg.bare_line_endings = BarePolicy::Allow;
    }
    if bits & 2 != 0 {
        cfg.limits.message_size = Some(20_000 + u64::from(bits >> 4) * 2_000);
    }
    if bits & 4 != 0 {
        cfg.limits.data_line = 100;
    }
    if bits & 8 != 0 {
        cfg = cfg.lmtp();
    }
    cfg.limits.max_buffered = 1 << 20;
    Arc::new(cfg)
}

fn drain(s: &mut Server, seen: &mut Seen, content: &mut Vec<u8>) {
    loop {
        while let Some(event) = s.poll_event() {
            match event {
                Event::Content(chunk) => content.extend_from_slice(&chunk),
                e => {
                    if matches!(e, Event::MessageAborted { .. }) {
                        content.clear();
                    } else if !content.is_empty() {
                        seen.events
                            .push(format!("content {:?}", std::mem::take(content)));
                    }
                    seen.events.push(format!("{e:?}"));
                    if e.needs_decision() {
                        let _ = s.accept();
                    }
                }
            }
        }
        let mut any = false;
        while let Some(out) = s.poll_transmit() {
            seen.wire.extend_from_slice(&out);
            any = true;
        }
        if !any {
            return;
        }
    }
}

/// Drives a session: the envelope, then `rest` cut by `read` (`None`:
/// one read), through `receive` or `receive_buf`.
fn session(bits: u8, head: &[u8], rest: &[u8], read: Option<usize>, buf: bool) -> Seen {
    let mut s = Server::new(config(bits));
    let (mut seen, mut content) = (Seen::default(), Vec::new());
    drain(&mut s, &mut seen, &mut content);
    let give = |s: &mut Server, data: &[u8]| {
        if buf {
            s.receive_buf(BytesMut::from(data));
        } else {
            s.receive(data);
        }
    };
    give(&mut s, head);
    drain(&mut s, &mut seen, &mut content);
    for piece in rest.chunks(read.unwrap_or(rest.len()).max(1)) {
        give(&mut s, piece);
        drain(&mut s, &mut seen, &mut content);
    }
    s.peer_closed();
    drain(&mut s, &mut seen, &mut content);
    seen
}

fuzz_target!(|data: &[u8]| {
    let [bits, r0, r1, l0, l1, data @ ..] = data else {
        return;
    };
    // The fuzz input, up to a "|", is a body pattern repeated to make the
    // content long; what follows is sent after it as is (the end of the
    // message, more commands, another DATA).
    let (pattern, tail) = match data.iter().position(|&b| b == b'|') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if pattern.is_empty() {
        // Nothing to repeat: the read would be short, not the large read
        // this target is for.
        return;
    }
    let head: &[u8] = if bits & 8 != 0 {
        b"LHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\n"
    } else {
        b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
    };
    let len = 32 * 1024 + usize::from(u16::from_le_bytes([*l0, *l1])) % (32 * 1024);
    let mut rest: Vec<u8> = pattern.iter().copied().cycle().take(len).collect();
    rest.extend_from_slice(tail);
    rest.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
    // Read sizes from 1 to about 16 KiB, small ones as likely as large.
    let read = (1usize << (r0 % 15)) + usize::from(*r1);

    let whole = session(*bits, head, &rest, None, false);
    let pieces = session(*bits, head, &rest, Some(read), false);
    assert_eq!(whole, pieces, "one read vs reads of {read}");
    let adopted = session(*bits, head, &rest, Some(read), true);
    assert_eq!(whole, adopted, "one read vs receive_buf of {read}");
});
