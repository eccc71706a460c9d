//! The receive buffer stays within `Limits::max_buffered` whatever the peer
//! sends: a 100 MB command line without LF, a 100 MB message that never
//! ends, and pipelined input while a decision is owed.

use crate::support;

use support::{config, ehlo, Driver};

const READ: usize = 64 * 1024;
const TOTAL: usize = 100 * 1024 * 1024;

#[test]
fn hundred_megabyte_command_line_is_bounded_rfc5321_4_5_3_1_4() {
    let cfg = config();
    let limit = cfg.limits.max_buffered;
    let mut d = ehlo(cfg);
    let read = vec![b'a'; READ];
    let mut out = String::new();
    let mut fed = 0;
    while fed < TOTAL {
        out.push_str(&d.send(&read));
        fed += READ;
        assert!(d.server.buffered_len() <= limit);
    }
    assert!(d.max_buffered <= limit, "{} > {limit}", d.max_buffered);
    // One error for the one line, and the session goes on after its end.
    assert_eq!(out, "500 5.5.2 Line too long\r\n");
    assert_eq!(d.send(b"\r\nNOOP\r\n"), "250 2.0.0 OK\r\n");
    assert!(!d.server.is_closed());
}

#[test]
fn hundred_megabyte_endless_data_is_bounded_rfc5321_4_5_3_1_7() {
    let mut cfg = config();
    cfg.limits.message_size = None;
    let limit = cfg.limits.max_buffered;
    let mut d = ehlo(cfg);
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    // 78-octet lines, some dot-stuffed, running across read boundaries.
    let mut pattern = Vec::with_capacity(READ);
    let mut i = 0u32;
    while pattern.len() < READ {
        if i.is_multiple_of(100) {
            pattern.push(b'.');
        }
        pattern.extend_from_slice(&[b'x'; 76]);
        pattern.extend_from_slice(b"\r\n");
        i += 1;
    }
    pattern.truncate(READ);
    let mut fed = 0;
    let mut content = 0usize;
    while fed < TOTAL {
        d.server.receive(&pattern);
        fed += READ;
        while let Some(e) = d.server.poll_event() {
            match e {
                esmtp::server::Event::Content(c) => content += c.len(),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(d.server.buffered_len() <= limit);
        assert!(d.server.poll_transmit().is_none());
    }
    // Every octet but the stuffed dots came out (the last partial line too).
    assert!(content > TOTAL - TOTAL / 50, "{content}");
    let out = d.send(b"\r\n.\r\n");
    assert_eq!(out, "250 2.0.0 Message accepted for delivery\r\n");
}

#[test]
fn endless_data_over_size_limit_is_bounded_and_rejected_rfc1870_6_3() {
    let mut cfg = config();
    cfg.limits.message_size = Some(1024 * 1024);
    let limit = cfg.limits.max_buffered;
    let mut d = ehlo(cfg);
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    let line = b"0123456789012345678901234567890123456789012345678901234567890123456789012345\r\n";
    let read: Vec<u8> = line.iter().copied().cycle().take(READ).collect();
    for _ in 0..(8 * 1024 * 1024 / READ) {
        d.send(&read);
    }
    assert!(d.max_buffered <= limit);
    let out = d.send(b"\r\n.\r\n");
    assert_eq!(
        out,
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(d.count("MessageEnd"), 0);
    assert_eq!(d.count("MessageAborted"), 1);
}

#[test]
fn pipelined_input_while_a_decision_is_owed_is_bounded_rfc2920_3_1() {
    let cfg = config();
    let limit = cfg.limits.max_buffered;
    let mut d = Driver::manual(cfg);
    d.take();
    d.server.receive(b"EHLO c\r\n");
    assert!(d.event().unwrap().needs_decision());
    // The application is slow; the client keeps pipelining.
    let noops = b"NOOP\r\n".repeat(10_000);
    let mut closed = false;
    for _ in 0..10 {
        d.server.receive(&noops);
        assert!(d.server.buffered_len() <= limit);
        if d.take().contains("421") {
            closed = true;
            break;
        }
    }
    assert!(closed, "overrun closes the session");
    assert!(d.server.buffered_len() <= limit);
    // The decision can no longer be answered after the 421.
    assert!(d.server.accept().is_err());
    assert!(matches!(
        d.event(),
        Some(esmtp::server::Event::Closed {
            reason: esmtp::server::CloseReason::Overrun
        })
    ));
    assert_eq!(d.take(), "");
}
