//! PIPELINING (RFC 2920), DATA (RFC 5321 §4.1.1.4, §4.5.2), SIZE (RFC 1870)
//! and the SMTP smuggling family, on the server machine.

use crate::support;

use esmtp::data::BarePolicy;
use esmtp::server::{Event, Server};
use support::{codes, config, ehlo, final_lines, Driver};

const ENVELOPE: &[u8] = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";
const SENDER_RCPT_354: &str = "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
                               354 Start mail input; end with <CRLF>.<CRLF>\r\n";

#[test]
fn pipelined_group_replies_in_order_in_one_transmit_rfc2920_3_1() {
    let mut s = Server::new(config());
    let _ = s.poll_transmit();
    s.receive(b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nNOOP\r\nRSET\r\n");
    let mut decisions = 0;
    while let Some(e) = s.poll_event() {
        if e.needs_decision() {
            decisions += 1;
            s.accept().unwrap();
        }
    }
    assert_eq!(decisions, 4);
    let batch = s.poll_transmit().expect("replies");
    assert!(s.poll_transmit().is_none(), "one batch for the whole group");
    let text = String::from_utf8(batch.to_vec()).unwrap();
    assert_eq!(
        &final_lines(&text)[1..],
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "250 2.1.5 Recipient OK",
            "250 2.0.0 OK",
            "250 2.0.0 OK"
        ]
    );
}

#[test]
fn several_transactions_in_one_read_rfc2920_3_1() {
    let mut d = ehlo(config());
    let mut input = Vec::new();
    for i in 0..3 {
        input.extend_from_slice(ENVELOPE);
        input.extend_from_slice(format!("message {i}\r\n.\r\n").as_bytes());
    }
    input.extend_from_slice(b"QUIT\r\n");
    let out = d.send(&input);
    assert_eq!(
        codes(&out),
        [
            "250", "250", "354", "250", "250", "250", "354", "250", "250", "250", "354", "250",
            "221"
        ]
    );
    assert_eq!(
        d.contents(),
        [
            b"message 0\r\n".to_vec(),
            b"message 1\r\n".to_vec(),
            b"message 2\r\n".to_vec()
        ]
    );
    assert_eq!(d.count("MessageEnd"), 3);
}

#[test]
fn data_ends_only_at_crlf_dot_crlf_and_unstuffs_rfc5321_4_5_2() {
    let mut d = ehlo(config());
    let out = d.send(ENVELOPE);
    assert_eq!(out, SENDER_RCPT_354);
    let out = d.send(b"..leading dot\r\n.. \r\n...\r\nmid.dle\r\n.\r\n");
    assert_eq!(out, "250 2.0.0 Message accepted for delivery\r\n");
    assert_eq!(
        d.contents(),
        [b".leading dot\r\n. \r\n..\r\nmid.dle\r\n".to_vec()]
    );
    assert!(d.log.iter().any(
        |l| matches!(l, support::Logged::Event(s) if s == "MessageEnd { size: 31, recipients: 1 }")
    ));
}

#[test]
fn empty_message_rfc5321_4_1_1_4() {
    let mut d = ehlo(config());
    d.send(ENVELOPE);
    assert_eq!(
        d.send(b".\r\n"),
        "250 2.0.0 Message accepted for delivery\r\n"
    );
    assert!(d.contents().is_empty());
    assert_eq!(d.count("MessageEnd { size: 0"), 1);
}

#[test]
fn content_comes_as_bytes_slices_without_waiting_for_the_end_rfc5321_4_1_1_4() {
    let mut d = Driver::manual(config());
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.send(ENVELOPE);
    d.auto = false;
    d.server.receive(b"first part ");
    match d.event() {
        Some(Event::Content(c)) => assert_eq!(&c[..], b"first part "),
        e => panic!("{e:?}"),
    }
    assert!(d.event().is_none());
    d.server.receive(b"second\r\n.\r\n");
    let (end, content) = d.until_decision();
    assert_eq!(content, b"second\r\n");
    assert!(matches!(end, Some(Event::MessageEnd { size: 19, .. })));
}

#[test]
fn end_of_message_decided_later_holds_next_command_rfc5321_4_2_5() {
    let mut d = Driver::manual(config());
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.auto = false;
    d.server.receive(ENVELOPE);
    for _ in 0..2 {
        d.event().unwrap();
        d.server.accept().unwrap();
    }
    d.server.receive(b"x\r\n.\r\nNOOP\r\n");
    let (end, _) = d.until_decision();
    assert!(matches!(end, Some(Event::MessageEnd { .. })));
    assert!(d.event().is_none());
    assert!(!d.take().contains("250 2.0.0 OK"));
    d.server.deny().unwrap();
    assert!(d.event().is_none());
    assert_eq!(d.take(), "554 5.6.0 Message rejected\r\n250 2.0.0 OK\r\n");
}

#[test]
fn bare_lf_rejected_by_default_rfc5321_2_3_8() {
    let mut d = ehlo(config());
    d.send(ENVELOPE);
    let out = d.send(b"line one\nline two\r\n.\r\n");
    assert_eq!(out, "550 5.6.0 Bare LF not allowed in message content\r\n");
    assert_eq!(d.count("MessageAborted"), 1);
    assert_eq!(d.count("MessageEnd"), 0);
    // The transaction is over; a new one may start.
    assert_eq!(
        d.send(b"RCPT TO:<c@d.example>\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
}

#[test]
fn bare_cr_rejected_by_default_rfc5321_2_3_8() {
    let mut d = ehlo(config());
    d.send(ENVELOPE);
    let out = d.send(b"line one\rline two\r\n.\r\n");
    assert_eq!(out, "550 5.6.0 Bare CR not allowed in message content\r\n");
    assert_eq!(d.count("MessageAborted"), 1);
}

#[test]
fn bare_lf_passed_through_when_allowed_rfc5321_2_3_8() {
    let mut cfg = config();
    cfg.bare_line_endings = BarePolicy::Allow;
    let mut d = ehlo(cfg);
    d.send(ENVELOPE);
    let out = d.send(b"a\nb\r\n.\r\n");
    assert_eq!(out, "250 2.0.0 Message accepted for delivery\r\n");
    assert_eq!(d.contents(), [b"a\nb\r\n".to_vec()]);
}

#[test]
fn data_line_over_limit_rejected_at_end_rfc5321_4_5_3_1_6() {
    let mut d = ehlo(config());
    d.send(ENVELOPE);
    let mut body = vec![b'x'; 999];
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(b".\r\nNOOP\r\n");
    let out = d.send(&body);
    assert_eq!(out, "500 5.6.0 Message line too long\r\n250 2.0.0 OK\r\n");
    assert_eq!(d.count("MessageAborted"), 1);
    // 998 octets plus CRLF is the longest line allowed.
    d.send(ENVELOPE);
    let mut body = vec![b'x'; 998];
    body.extend_from_slice(b"\r\n.\r\n");
    assert_eq!(d.send(&body), "250 2.0.0 Message accepted for delivery\r\n");
}

#[test]
fn command_line_over_limit_500_5_5_6_rfc5321_4_5_3_1_4() {
    let mut d = ehlo(config());
    let mut line = b"NOOP ".to_vec();
    line.resize(5000, b'a');
    line.extend_from_slice(b"\r\nNOOP\r\n");
    let out = d.send(&line);
    assert_eq!(out, "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
}

#[test]
fn overlong_command_line_in_small_reads_still_one_reply_rfc5321_4_5_3_1_4() {
    let mut d = ehlo(config());
    let mut line = b"MAIL FROM:<".to_vec();
    line.resize(10_000, b'a');
    line.extend_from_slice(b">\r\nNOOP\r\n");
    let out = d.send_in(&line, 100);
    assert_eq!(out, "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
}

#[test]
fn declared_size_over_limit_552_5_3_4_rfc1870_6_1() {
    let mut cfg = config();
    cfg.limits.message_size = Some(1000);
    let mut d = ehlo(cfg);
    let out = d.send(b"MAIL FROM:<a@b.example> SIZE=1001\r\n");
    assert_eq!(codes(&out), ["552"]);
    assert!(out.starts_with("552 5.3.4 "), "{out}");
    assert_eq!(d.count("Mail"), 0);
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> SIZE=1000\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn actual_size_over_limit_aborts_without_message_end_rfc1870_6_3() {
    let mut cfg = config();
    cfg.limits.message_size = Some(100);
    let mut d = ehlo(cfg);
    d.send(ENVELOPE);
    let mut body = Vec::new();
    for _ in 0..10 {
        body.extend_from_slice(b"0123456789012345678\r\n");
    }
    body.extend_from_slice(b".\r\n");
    let out = d.send_in(&body, 7);
    assert_eq!(
        out,
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(d.count("MessageAborted"), 1);
    assert_eq!(d.count("MessageEnd"), 0);
    let handed: usize = d.contents().iter().map(Vec::len).sum();
    assert!(handed <= 100, "{handed} octets handed out");
}

#[test]
fn size_is_advertised_rfc1870_4() {
    let mut cfg = config();
    cfg.limits.message_size = Some(12345);
    let mut d = Driver::new(cfg);
    assert!(d.send(b"EHLO c\r\n").contains("250-SIZE 12345\r\n"));
}

/// RFC 5321 §2.3.8 / §4.1.1.4; CVE-2023-51764 and relatives: each variant
/// of a fake terminator, a smuggled transaction, then the real terminator.
const SMUGGLE: [&[u8]; 5] = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n\0.\r\n"];

fn smuggling_input(fake: &[u8]) -> Vec<u8> {
    let mut input = Vec::from(ENVELOPE);
    input.extend_from_slice(b"Subject: hi\r\n\r\nreal body");
    input.extend_from_slice(fake);
    input.extend_from_slice(
        b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@d.example>\r\nDATA\r\nsmuggled body",
    );
    input.extend_from_slice(fake);
    input.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
    input
}

#[test]
fn smuggling_rejected_by_default_rfc5321_2_3_8() {
    for fake in SMUGGLE {
        let mut d = ehlo(config());
        let out = d.send(&smuggling_input(fake));
        let why = if fake.contains(&0) {
            "NUL"
        } else if fake.starts_with(b"\r.") {
            "Bare CR"
        } else {
            "Bare LF"
        };
        assert_eq!(
            out,
            format!("{SENDER_RCPT_354}550 5.6.0 {why} not allowed in message content\r\n250 2.0.0 OK\r\n"),
            "{fake:?}"
        );
        assert_eq!(d.count("Mail"), 1, "{fake:?}");
        assert_eq!(d.count("Rcpt"), 1, "{fake:?}");
        assert_eq!(d.count("MessageEnd"), 0, "{fake:?}");
        assert_eq!(d.count("MessageAborted"), 1, "{fake:?}");
    }
}

#[test]
fn smuggling_never_splits_a_message_when_bare_endings_allowed_rfc5321_4_1_1_4() {
    for fake in SMUGGLE {
        let mut cfg = config();
        cfg.bare_line_endings = BarePolicy::Allow;
        let mut d = ehlo(cfg);
        let input = smuggling_input(fake);
        // One byte at a time: no split point reveals a terminator.
        let out = d.send_in(&input, 1);
        assert_eq!(
            out,
            format!("{SENDER_RCPT_354}250 2.0.0 Message accepted for delivery\r\n250 2.0.0 OK\r\n"),
            "{fake:?}"
        );
        assert_eq!(d.count("Mail"), 1, "{fake:?}");
        assert_eq!(d.count("Rcpt"), 1, "{fake:?}");
        assert_eq!(d.count("MessageEnd"), 1, "{fake:?}");
        let contents = d.contents();
        assert_eq!(contents.len(), 1, "{fake:?}");
        let text = &contents[0];
        assert!(
            text.windows(8).any(|w| w == b"smuggled"),
            "the smuggled text is content: {fake:?}"
        );
    }
}

/// The same with the content arriving in one read after the 354, when
/// `Server::receive` unstuffs it while copying it in: still one message,
/// and the smuggled commands never answered.
#[test]
fn smuggling_in_one_read_during_data_rfc5321_4_1_1_4() {
    for policy in [BarePolicy::Reject, BarePolicy::Allow] {
        for fake in SMUGGLE {
            let mut cfg = config();
            cfg.bare_line_endings = policy;
            let mut d = ehlo(cfg);
            let input = smuggling_input(fake);
            assert_eq!(d.send(ENVELOPE), SENDER_RCPT_354);
            let out = d.send(&input[ENVELOPE.len()..]);
            let end = if policy == BarePolicy::Allow {
                assert_eq!(d.count("MessageEnd"), 1, "{fake:?}");
                "250 2.0.0 Message accepted for delivery"
            } else {
                assert_eq!(d.count("MessageAborted"), 1, "{fake:?}");
                "550 5.6.0"
            };
            assert!(out.starts_with(end), "{fake:?}: {out}");
            assert!(out.ends_with("\r\n250 2.0.0 OK\r\n"), "{fake:?}: {out}");
            assert_eq!(codes(&out).len(), 2, "{fake:?}: {out}");
            assert_eq!(d.count("Mail"), 1, "{fake:?}");
            assert_eq!(d.count("Rcpt"), 1, "{fake:?}");
        }
    }
}

/// A chunk's octets are never commands (RFC 3030 §2). Under the default
/// policy its bare LFs fail the message (RFC 3030 §3: only BINARYMIME may
/// hold them); with `BarePolicy::Allow` it is plain content.
#[test]
fn smuggling_in_bdat_chunk_is_plain_content_rfc3030_2() {
    let chunk = b"x\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\n.\r\n";
    let mut input = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n".to_vec();
    input.extend_from_slice(format!("BDAT {} LAST\r\n", chunk.len()).as_bytes());
    input.extend_from_slice(chunk);
    for policy in [BarePolicy::Reject, BarePolicy::Allow] {
        let mut cfg = config();
        cfg.bare_line_endings = policy;
        let mut d = ehlo(cfg);
        let out = d.send(&input);
        let end = if policy == BarePolicy::Allow {
            "250"
        } else {
            "550"
        };
        assert_eq!(
            codes(&out),
            ["250", "250", end],
            "no reply to the smuggled commands: {out}"
        );
        if policy == BarePolicy::Allow {
            assert_eq!(d.contents(), [chunk.to_vec()]);
        }
        assert_eq!(d.count("Mail"), 1);
    }
}
