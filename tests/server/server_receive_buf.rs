//! `Server::receive_buf`, the zero-copy input path: the same events and
//! transmitted bytes as `Server::receive` however the input is split and
//! whichever way each read arrives, content handed out as slices of the
//! caller's buffer, and the same limits (RFC 5321 §4.5.3.1.4 buffer bound,
//! RFC 3207 §5 STARTTLS discard, nothing read after closing).

use crate::support;

use bytes::BytesMut;
use esmtp::server::{CloseReason, Event};
use proptest::prelude::*;
use support::{config, ehlo, Driver};

/// A pipelined session: two DATA transactions with stuffed dots and a dot
/// on the first line, a BDAT transaction, an error, QUIT.
fn session() -> Vec<u8> {
    let mut s = b"EHLO client.example\r\n".to_vec();
    for n in 0..2 {
        s.extend_from_slice(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
        s.extend_from_slice(b"..first line, stuffed\r\nSubject: x\r\n\r\n");
        for i in 0..40 {
            if i % 7 == n {
                s.push(b'.');
            }
            s.extend_from_slice(format!("line {i} of message {n}\r\n").as_bytes());
        }
        s.extend_from_slice(b".\r\nNOOP\r\n");
    }
    s.extend_from_slice(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    s.extend_from_slice(b"BDAT 7\r\nchunk\r\nBDAT 3 LAST\r\n.\r\n");
    s.extend_from_slice(b"FROB\r\nQUIT\r\n");
    s
}

/// The pieces of `input` cut at `cuts` (sorted, in range).
fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        out.push(&input[at..cut]);
        at = cut;
    }
    out.push(&input[at..]);
    out
}

/// How each read reaches the session.
#[derive(Debug, Clone, Copy)]
enum Way {
    /// `receive(&[u8])`.
    Copy,
    /// `receive_buf` of a buffer of its own.
    Own,
}

/// Runs `input` through a session, read by read.
fn run(reads: &[(&[u8], Way)]) -> Driver {
    let mut d = Driver::new(config());
    for &(read, way) in reads {
        match way {
            Way::Copy => d.server.receive(read),
            Way::Own => d.server.receive_buf(BytesMut::from(read)),
        }
        d.pump();
    }
    d.take();
    d
}

/// Runs `input` through a session fed by splitting one buffer, as a driver
/// that reads into a `BytesMut` and splits off each read does.
fn run_split(input: &[u8], cuts: &[usize]) -> Driver {
    let mut d = Driver::new(config());
    let mut buf = BytesMut::from(input);
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        d.server.receive_buf(buf.split_to(cut - at));
        at = cut;
        d.pump();
    }
    d.take();
    d
}

fn sorted_cuts(mut cuts: Vec<usize>, len: usize) -> Vec<usize> {
    for c in cuts.iter_mut() {
        *c %= len + 1;
    }
    cuts.sort_unstable();
    cuts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// RFC 2920 §3.1: read boundaries, and how the reads are handed over,
    /// change nothing.
    #[test]
    fn any_split_any_mix_gives_the_same_session_as_receive(
        cuts in proptest::collection::vec(any::<usize>(), 0..24),
        ways in proptest::collection::vec(any::<bool>(), 25),
    ) {
        let input = session();
        let whole = run(&[(&input, Way::Copy)]);
        let cuts = sorted_cuts(cuts, input.len());
        let reads: Vec<(&[u8], Way)> = pieces(&input, &cuts)
            .into_iter()
            .zip(ways)
            .map(|(p, own)| (p, if own { Way::Own } else { Way::Copy }))
            .collect();
        let mixed = run(&reads);
        prop_assert_eq!(&mixed.wire, &whole.wire);
        prop_assert_eq!(&mixed.log, &whole.log);
        let split = run_split(&input, &cuts);
        prop_assert_eq!(&split.wire, &whole.wire);
        prop_assert_eq!(&split.log, &whole.log);
        prop_assert!(whole.server.is_closed());
        prop_assert_eq!(whole.count("MessageEnd"), 3);
    }
}

#[test]
fn one_octet_buffers_give_the_same_session_as_receive() {
    let input = session();
    let whole = run(&[(&input, Way::Copy)]);
    let reads: Vec<(&[u8], Way)> = input.chunks(1).map(|c| (c, Way::Own)).collect();
    let own = run(&reads);
    assert_eq!(own.wire, whole.wire);
    assert_eq!(own.log, whole.log);
    let cuts: Vec<usize> = (1..input.len()).collect();
    let split = run_split(&input, &cuts);
    assert_eq!(split.wire, whole.wire);
    assert_eq!(split.log, whole.log);
}

#[test]
fn content_is_handed_out_from_the_callers_buffer_without_a_copy() {
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    assert!(d.server.buffered_len() == 0);
    let body = b"Subject: zero copy\r\n\r\nline one\r\n..line two\r\n.\r\n";
    let buf = BytesMut::from(&body[..]);
    let range = buf.as_ptr_range();
    d.server.receive_buf(buf);
    let mut content = Vec::new();
    loop {
        match d.server.poll_event() {
            Some(Event::Content(c)) => {
                // Each chunk is a view of the adopted buffer.
                assert!(range.contains(&c.as_ptr()), "chunk was copied");
                content.extend_from_slice(&c);
            }
            Some(Event::MessageEnd { .. }) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        content,
        b"Subject: zero copy\r\n\r\nline one\r\n.line two\r\n"
    );
    d.server.accept().unwrap();
    assert_eq!(d.take(), "250 2.0.0 Message accepted for delivery\r\n");
}

#[test]
fn reads_split_off_one_allocation_complete_the_buffered_line() {
    // A partial line stays buffered; the next read, split off the same
    // allocation right after it (the tokio `read_buf` + `split` pattern,
    // where `unsplit` joins the two in place), completes it.
    let mut d = ehlo(config());
    let mut buf = BytesMut::from(&b"NOOP\r\nNO"[..]);
    buf.reserve(64);
    let mut first = buf.split();
    buf.extend_from_slice(b"OP\r\n");
    let head = first.split_to(6);
    d.server.receive_buf(head);
    d.server.receive_buf(first);
    d.pump();
    assert_eq!(d.take(), "250 2.0.0 OK\r\n");
    assert_eq!(d.server.buffered_len(), 2);
    d.server.receive_buf(buf.split());
    d.pump();
    assert_eq!(d.take(), "250 2.0.0 OK\r\n");
    assert_eq!(d.server.buffered_len(), 0);
}

#[test]
fn consumed_buffer_is_released_for_the_callers_next_read() {
    // The read_buf loop: once the session has consumed a read (and the
    // application dropped what it was handed), the caller's buffer is its
    // own again and `reserve` reuses the allocation.
    let mut d = ehlo(config());
    let mut buf = BytesMut::with_capacity(1024);
    let base = buf.as_ptr();
    for _ in 0..3 {
        buf.reserve(1024);
        assert_eq!(buf.as_ptr(), base, "the read buffer was reallocated");
        buf.extend_from_slice(b"NOOP\r\n");
        d.server.receive_buf(buf.split());
        d.pump();
        assert_eq!(d.take(), "250 2.0.0 OK\r\n");
    }
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    buf.reserve(1024);
    assert_eq!(buf.as_ptr(), base);
    buf.extend_from_slice(b"content\r\n.\r\n");
    d.server.receive_buf(buf.split());
    d.pump();
    assert_eq!(d.take(), "250 2.0.0 Message accepted for delivery\r\n");
    buf.reserve(1024);
    assert_eq!(buf.as_ptr(), base);
}

#[test]
fn empty_buffer_changes_nothing() {
    let mut d = ehlo(config());
    d.server.receive_buf(BytesMut::new());
    d.pump();
    assert_eq!(d.take(), "");
    d.server.receive(b"NO");
    d.server.receive_buf(BytesMut::new());
    d.server.receive_buf(BytesMut::from(&b"OP\r\n"[..]));
    d.pump();
    assert_eq!(d.take(), "250 2.0.0 OK\r\n");
}

/// RFC 5321 §4.5.3.1.4 and the memory bound: a buffer larger than
/// `max_buffered` is refused whole, with `421`, like `receive`.
#[test]
fn buffer_over_max_buffered_closes_with_421() {
    let cfg = config();
    let limit = cfg.limits.max_buffered;
    let mut d = ehlo(cfg);
    d.server
        .receive_buf(BytesMut::from(&vec![b'a'; limit + 1][..]));
    assert_eq!(d.server.buffered_len(), 0);
    d.pump();
    let out = d.take();
    assert!(out.starts_with("421 "), "{out}");
    assert!(d.server.is_closed());
    assert_eq!(d.count("Closed { reason: Overrun }"), 1);
}

#[test]
fn buffer_exactly_at_max_buffered_is_taken() {
    let cfg = config();
    let limit = cfg.limits.max_buffered;
    let mut d = ehlo(cfg);
    let mut input = b"NOOP\r\n".to_vec();
    input.resize(limit, b'a');
    d.server.receive_buf(BytesMut::from(&input[..]));
    assert_eq!(d.server.buffered_len(), limit);
    d.pump();
    // The NOOP is answered; the rest is one overlong line being skipped.
    assert!(d.take().starts_with("250 2.0.0 OK\r\n"));
    assert!(!d.server.is_closed());
    assert!(d.server.buffered_len() <= limit);
}

/// RFC 2920 §3.1: the client keeps pipelining while the application holds
/// a decision; the bound counts the buffered and the new octets together.
#[test]
fn pipelined_buffers_while_a_decision_is_owed_are_bounded() {
    let cfg = config();
    let limit = cfg.limits.max_buffered;
    let mut d = Driver::manual(cfg);
    d.take();
    d.server.receive_buf(BytesMut::from(&b"EHLO c\r\n"[..]));
    assert!(d.event().unwrap().needs_decision());
    let noops = b"NOOP\r\n".repeat(10_000);
    let mut closed = false;
    for _ in 0..10 {
        d.server.receive_buf(BytesMut::from(&noops[..]));
        assert!(d.server.buffered_len() <= limit);
        if d.take().contains("421") {
            closed = true;
            break;
        }
    }
    assert!(closed, "overrun closes the session");
    assert!(d.server.accept().is_err());
    assert!(matches!(
        d.event(),
        Some(Event::Closed {
            reason: CloseReason::Overrun
        })
    ));
}

/// RFC 3207 §5 (CVE-2011-0411): what arrives between STARTTLS and the end
/// of the handshake is dropped, never executed after it.
#[test]
fn buffers_during_starttls_are_discarded_rfc3207_5() {
    let mut cfg = config();
    cfg.extensions.starttls = true;
    let mut d = ehlo(cfg);
    d.server.receive_buf(BytesMut::from(
        &b"STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n"[..],
    ));
    d.pump();
    assert_eq!(d.take(), "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(d.count("StartTls"), 1);
    d.server
        .receive_buf(BytesMut::from(&b"RCPT TO:<v@y.example>\r\n"[..]));
    assert_eq!(d.server.buffered_len(), 0);
    d.server.tls_established().unwrap();
    d.pump();
    assert_eq!(d.take(), "");
    assert_eq!(d.count("Mail"), 0);
    assert_eq!(d.count("Rcpt"), 0);
}

#[test]
fn buffers_after_quit_are_ignored() {
    let mut d = ehlo(config());
    d.server.receive_buf(BytesMut::from(&b"QUIT\r\n"[..]));
    d.pump();
    assert!(d.take().starts_with("221 "));
    assert!(d.server.is_closed());
    d.server.receive_buf(BytesMut::from(&b"NOOP\r\n"[..]));
    assert_eq!(d.server.buffered_len(), 0);
    d.pump();
    assert_eq!(d.take(), "");
}
