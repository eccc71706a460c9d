//! CHUNKING/BINARYMIME (RFC 3030), LMTP (RFC 2033), MAIL/RCPT parameters
//! of the service extensions, ENHANCEDSTATUSCODES (RFC 2034) and limits.

use crate::support;

use esmtp::ext::future_release::HoldLimits;
use esmtp::reply::Reply;
use esmtp::server::{ApiError, DecisionKind, Event, LmtpMessageEnd, Server, ServerConfig};
use esmtp::values::{DateTime, EnhancedStatusCode, ReplyCode};
use support::{codes, config, ehlo, final_lines, Driver};

const ENVELOPE: &[u8] = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n";

fn reply(code: u16, esc: (u8, u16, u16), text: &str) -> Reply<'_> {
    Reply::single(
        ReplyCode::new(code).unwrap(),
        EnhancedStatusCode::new(esc.0, esc.1, esc.2),
        text,
    )
    .unwrap()
}

/// The pending LMTP end of message, which owes one reply per accepted
/// recipient (RFC 2033 §4.2).
fn lmtp_end(server: &mut Server) -> LmtpMessageEnd<'_> {
    server
        .decision()
        .expect("a decision is pending")
        .lmtp()
        .expect("an LMTP end of message")
}

// ---- CHUNKING (RFC 3030) ----

#[test]
fn bdat_chunks_counted_exactly_with_pipelined_commands_rfc3030_2() {
    let mut d = ehlo(config());
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 7\r\nhe\r\n.\r\nBDAT 12 LAST\r\nllo\r\nQUIT\r\nxNOOP\r\n");
    let out = d.send(&input);
    assert_eq!(
        out,
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.0.0 7 octets received\r\n\
         250 2.0.0 Message accepted for delivery\r\n250 2.0.0 OK\r\n"
    );
    assert_eq!(d.contents(), [b"he\r\n.\r\nllo\r\nQUIT\r\nx".to_vec()]);
    assert_eq!(d.count("MessageEnd { size: 19, recipients: 1 }"), 1);
}

#[test]
fn bdat_split_anywhere_gives_the_same_result_rfc3030_2() {
    let mut input = b"EHLO c\r\n".to_vec();
    input.extend_from_slice(ENVELOPE);
    input.extend_from_slice(b"BDAT 5\r\nabcdeBDAT 0 LAST\r\nNOOP\r\n");
    let mut whole = Driver::new(config());
    let expect = whole.send(&input);
    for size in [1, 2, 3, 7] {
        let mut d = Driver::new(config());
        assert_eq!(d.send_in(&input, size), expect, "reads of {size}");
        assert_eq!(d.contents(), [b"abcde".to_vec()]);
    }
}

#[test]
fn rejected_bdat_without_mail_still_consumes_its_chunk_rfc3030_2() {
    let mut d = ehlo(config());
    let out = d.send(b"BDAT 10\r\nNOOP\r\nXXXXNOOP\r\n");
    assert_eq!(out, "503 5.5.1 Need MAIL command first\r\n250 2.0.0 OK\r\n");
    assert!(d.contents().is_empty());
}

#[test]
fn rejected_bdat_over_size_consumes_chunk_and_needs_rset_rfc3030_2_rfc1870() {
    let mut cfg = config();
    cfg.limits.message_size = Some(10);
    let mut d = ehlo(cfg);
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 20 LAST\r\nMAIL FROM:<e@x>\r\n123NOOP\r\n");
    let out = d.send(&input);
    assert_eq!(
        final_lines(&out)[2..],
        [
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "250 2.0.0 OK"
        ]
    );
    assert_eq!(d.count("Mail"), 1);
    assert_eq!(d.count("MessageEnd"), 0);
    // RFC 3030 §2: after a failed BDAT the transaction needs RSET.
    let out = d.send(b"BDAT 3 LAST\r\nabcRSET\r\n");
    assert_eq!(
        out,
        "503 5.5.1 RSET required after a failed BDAT\r\n250 2.0.0 OK\r\n"
    );
}

#[test]
fn bdat_growing_over_size_aborts_the_message_rfc1870_6_3() {
    let mut cfg = config();
    cfg.limits.message_size = Some(10);
    let mut d = ehlo(cfg);
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 8\r\n12345678BDAT 8 LAST\r\n12345678");
    let out = d.send(&input);
    assert!(
        out.ends_with("250 2.0.0 8 octets received\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n"),
        "{out}"
    );
    assert_eq!(d.count("MessageAborted"), 1);
    assert_eq!(d.count("MessageEnd"), 0);
}

#[test]
fn data_after_bdat_503_rfc3030_2() {
    let mut d = ehlo(config());
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 3\r\nabcDATA\r\n");
    let out = d.send(&input);
    assert!(
        out.ends_with("503 5.5.1 DATA not allowed after BDAT\r\n"),
        "{out}"
    );
}

#[test]
fn rcpt_after_bdat_503_rfc3030_2() {
    let mut d = ehlo(config());
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 3\r\nabcRCPT TO:<x@y.example>\r\n");
    let out = d.send(&input);
    assert!(
        out.ends_with("503 5.5.1 Bad sequence of commands\r\n"),
        "{out}"
    );
}

#[test]
fn binarymime_needs_bdat_rfc3030_3() {
    let mut d = ehlo(config());
    let out = d.send(
        b"MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\nDATA\r\nBDAT 2 LAST\r\n\x00\xff",
    );
    assert_eq!(
        final_lines(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "503 5.5.1 BODY=BINARYMIME requires BDAT, not DATA",
            "250 2.0.0 Message accepted for delivery"
        ]
    );
    assert_eq!(d.contents(), [b"\x00\xff".to_vec()]);
}

#[test]
fn bdat_unparsable_size_ends_session_rfc3030_2() {
    // The close is announced with 421 (RFC 5321 §3.8).
    let mut d = ehlo(config());
    let out = d.send(b"BDAT 12x\r\nNOOP\r\n");
    assert!(out.starts_with("421 4.5.2 "), "{out}");
    assert_eq!(codes(&out), ["421"]);
    assert_eq!(d.count("Closed { reason: Desynchronised }"), 1);
}

#[test]
fn bdat_not_offered_502_but_chunk_consumed_rfc3030_2() {
    let mut cfg = config();
    cfg.extensions.chunking = false;
    cfg.extensions.binary_mime = false;
    let mut d = ehlo(cfg);
    let out = d.send(b"BDAT 6\r\nNOOP\r\nNOOP\r\n");
    assert_eq!(out, "502 5.5.1 Command not implemented\r\n250 2.0.0 OK\r\n");
}

#[test]
fn bdat_zero_last_ends_an_empty_message_rfc3030_2() {
    let mut d = ehlo(config());
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 0 LAST\r\n");
    let out = d.send(&input);
    assert!(out.ends_with("250 2.0.0 Message accepted for delivery\r\n"));
    assert_eq!(d.count("MessageEnd { size: 0"), 1);
}

#[test]
fn rset_during_bdat_aborts_message_rfc3030_2() {
    let mut d = ehlo(config());
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(b"BDAT 3\r\nabcRSET\r\n");
    let out = d.send(&input);
    assert!(out.ends_with("250 2.0.0 OK\r\n"));
    assert_eq!(d.count("MessageAborted { reason: Reset }"), 1);
}

// ---- LMTP (RFC 2033) ----

fn lmtp() -> ServerConfig {
    config().lmtp()
}

#[test]
fn lmtp_lhlo_and_no_helo_ehlo_rfc2033_4_1() {
    let mut d = Driver::new(lmtp());
    assert_eq!(
        d.send(b"HELO c\r\n"),
        "500 5.5.1 Command not recognized\r\n"
    );
    assert_eq!(
        d.send(b"EHLO c\r\n"),
        "500 5.5.1 Command not recognized\r\n"
    );
    let caps = d.send(b"LHLO c\r\n");
    assert!(caps.starts_with("250-mx.example.org\r\n"), "{caps}");
    assert!(caps.contains("PIPELINING"), "{caps}");
    assert!(caps.contains("ENHANCEDSTATUSCODES"), "{caps}");
}

#[test]
fn smtp_rejects_lhlo_rfc2033_4_1() {
    let mut d = Driver::new(config());
    assert_eq!(
        d.send(b"LHLO c\r\n"),
        "500 5.5.1 Command not recognized\r\n"
    );
}

/// LHLO, MAIL, three RCPT of which the middle one is refused, then `tail`;
/// stops at the end-of-message decision.
fn lmtp_until_end(tail: &[u8]) -> Driver {
    let mut d = Driver::manual(lmtp());
    d.take();
    d.server.receive(b"LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@d.example>\r\nRCPT TO:<y@d.example>\r\nRCPT TO:<z@d.example>\r\n");
    d.server.receive(tail);
    for i in 0..5 {
        let e = d.event().unwrap();
        assert!(e.needs_decision(), "{e:?}");
        if i == 3 {
            d.server.deny().unwrap();
        } else {
            d.server.accept().unwrap();
        }
    }
    let (end, _) = d.until_decision();
    assert!(
        matches!(end, Some(Event::MessageEnd { recipients: 2, .. })),
        "{end:?}"
    );
    d
}

#[test]
fn lmtp_one_reply_per_accepted_recipient_after_data_rfc2033_4_2() {
    let mut d = lmtp_until_end(b"DATA\r\nhi\r\n.\r\nNOOP\r\n");
    assert_eq!(lmtp_end(&mut d.server).recipients(), 2);
    assert_eq!(
        lmtp_end(&mut d.server).respond_each(&[reply(250, (2, 0, 0), "x")]),
        Err(ApiError::RecipientCount {
            expected: 2,
            given: 1
        })
    );
    // A 3xx reply is the protocol's own (RFC 5321 §4.2.1), never an answer.
    assert_eq!(
        lmtp_end(&mut d.server).respond_each(&[
            reply(250, (2, 0, 0), "x"),
            Reply::single(ReplyCode::new(354).unwrap(), None, "go").unwrap()
        ]),
        Err(ApiError::IntermediateReply)
    );
    // Both errors left the decision pending.
    lmtp_end(&mut d.server)
        .respond_each(&[
            reply(250, (2, 1, 5), "x delivered"),
            reply(452, (4, 2, 2), "z over quota"),
        ])
        .unwrap();
    assert!(d.server.decision().is_none());
    assert!(d.event().is_none());
    let out = d.take();
    assert!(
        out.ends_with("354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.1.5 x delivered\r\n452 4.2.2 z over quota\r\n250 2.0.0 OK\r\n"),
        "{out}"
    );
}

#[test]
fn lmtp_accept_answers_every_recipient_rfc2033_4_2() {
    let mut d = lmtp_until_end(b"DATA\r\nhi\r\n.\r\n");
    d.server.accept().unwrap();
    let out = d.take();
    assert!(
        out.ends_with("250 2.0.0 Message accepted for delivery\r\n250 2.0.0 Message accepted for delivery\r\n"),
        "{out}"
    );
}

/// RFC 2033 §4.2: the same reply for every recipient, through the
/// LMTP view's `respond` and `deny` (and the `Decision` ones it mirrors).
#[test]
fn lmtp_same_reply_for_every_recipient_rfc2033_4_2() {
    let mut d = lmtp_until_end(b"DATA\r\nhi\r\n.\r\n");
    lmtp_end(&mut d.server)
        .respond(&reply(451, (4, 3, 0), "try later"))
        .unwrap();
    let out = d.take();
    assert!(
        out.ends_with("451 4.3.0 try later\r\n451 4.3.0 try later\r\n"),
        "{out}"
    );
    let mut d = lmtp_until_end(b"DATA\r\nhi\r\n.\r\n");
    let decision = d.server.decision().unwrap();
    assert_eq!(decision.kind(), DecisionKind::MessageEnd);
    decision.deny();
    let out = d.take();
    assert!(
        out.ends_with("554 5.6.0 Message rejected\r\n554 5.6.0 Message rejected\r\n"),
        "{out}"
    );
}

#[test]
fn lmtp_one_reply_per_recipient_after_bdat_last_rfc2033_4_3() {
    let mut d = lmtp_until_end(b"BDAT 2\r\nhiBDAT 1 LAST\r\n!");
    lmtp_end(&mut d.server)
        .respond_each(&[reply(250, (2, 0, 0), "ok x"), reply(250, (2, 0, 0), "ok z")])
        .unwrap();
    let out = d.take();
    assert!(
        out.ends_with("250 2.0.0 2 octets received\r\n250 2.0.0 ok x\r\n250 2.0.0 ok z\r\n"),
        "{out}"
    );
}

#[test]
fn lmtp_bdat_last_without_recipients_gets_no_reply_rfc2033_4_3() {
    let mut d = Driver::new(lmtp());
    d.auto = false;
    d.server
        .receive(b"LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@d.example>\r\nBDAT 5 LAST\r\nhelloNOOP\r\n");
    for deny in [false, false, true] {
        d.event().unwrap();
        if deny {
            d.server.deny().unwrap();
        } else {
            d.server.accept().unwrap();
        }
    }
    assert!(d.event().is_none());
    let out = d.take();
    assert!(
        out.ends_with("550 5.1.1 Recipient rejected\r\n250 2.0.0 OK\r\n"),
        "{out}"
    );
    assert_eq!(d.count("MessageEnd"), 0);
}

#[test]
fn lmtp_data_without_recipients_503_rfc2033_4_2() {
    let mut d = ehlo(lmtp());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nDATA\r\n");
    assert!(
        out.ends_with("503 5.5.1 Need RCPT command first\r\n"),
        "{out}"
    );
}

// ---- Parameters ----

#[test]
fn smtputf8_sender_needs_the_parameter_rfc6531_3_5() {
    let mut d = ehlo(config());
    let out = d.send("MAIL FROM:<jöe@b.example>\r\n".as_bytes());
    assert_eq!(
        out,
        "550 5.6.7 Non-ASCII addresses not permitted for that sender\r\n"
    );
    let out = d.send("MAIL FROM:<jöe@b.example> SMTPUTF8\r\n".as_bytes());
    assert_eq!(out, "250 2.1.0 Sender OK\r\n");
    let out = d.send("RCPT TO:<ünï@d.example>\r\n".as_bytes());
    assert_eq!(out, "250 2.1.5 Recipient OK\r\n");
}

#[test]
fn smtputf8_recipient_needs_the_parameter_553_5_6_7_rfc6531_3_5() {
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\n");
    let out = d.send("RCPT TO:<ünï@d.example>\r\n".as_bytes());
    assert_eq!(
        out,
        "553 5.6.7 Non-ASCII addresses not permitted for that recipient\r\n"
    );
}

#[test]
fn dsn_parameters_accepted_and_handed_over_rfc3461_4() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159\r\nRCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example\r\n");
    assert_eq!(codes(&out), ["250", "250"]);
    let log = format!("{:?}", d.log);
    assert!(log.contains("QQ314159"), "{log}");
    let mut cfg = config();
    cfg.extensions.dsn = false;
    let mut d = ehlo(cfg);
    let out = d.send(b"MAIL FROM:<a@b.example> RET=HDRS\r\n");
    assert_eq!(out, "555 5.5.4 Parameter not recognized\r\n");
}

#[test]
fn unknown_parameters_555_5_5_4_rfc5321_4_1_1_11() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> FOO=bar\r\n"),
        "555 5.5.4 Parameter not recognized\r\n"
    );
    d.send(b"MAIL FROM:<a@b.example>\r\n");
    assert_eq!(
        d.send(b"RCPT TO:<c@d.example> XYZZY\r\n"),
        "555 5.5.4 Parameter not recognized\r\n"
    );
    // Parameters of extensions not offered are unknown too.
    assert_eq!(
        d.send(b"RCPT TO:<c@d.example> RRVS=2014-04-03T23:01:00Z\r\n"),
        "555 5.5.4 Parameter not recognized\r\n"
    );
}

#[test]
fn deliverby_rfc2852_4() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> BY=120;R\r\n"),
        "555 5.5.4 Parameter not recognized\r\n"
    );
    let mut cfg = config();
    cfg.extensions.deliver_by = Some(60);
    let mut d = Driver::new(cfg);
    assert!(d.send(b"EHLO c\r\n").contains("DELIVERBY 60"));
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> BY=120;R\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    d.send(b"RSET\r\n");
    let out = d.send(b"MAIL FROM:<a@b.example> BY=30;R\r\n");
    assert!(out.starts_with("555 5.5.4 "), "{out}");
}

#[test]
fn mt_priority_rfc6710_3() {
    let mut cfg = config();
    cfg.extensions.mt_priority = Some(Some("MIXER".into()));
    let mut d = Driver::new(cfg);
    assert!(d.send(b"EHLO c\r\n").contains("MT-PRIORITY MIXER"));
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> MT-PRIORITY=3\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> MT-PRIORITY=3\r\n"),
        "555 5.5.4 Parameter not recognized\r\n"
    );
}

#[test]
fn futurerelease_rfc4865_3() {
    let mut cfg = config();
    let max_date = DateTime::parse(b"2030-01-01T00:00:00Z").unwrap();
    cfg.extensions.future_release = Some(HoldLimits::new(86400, max_date).unwrap());
    let mut d = Driver::new(cfg);
    let caps = d.send(b"EHLO c\r\n");
    assert!(
        caps.contains("FUTURERELEASE 86400 2030-01-01T00:00:00Z"),
        "{caps}"
    );
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> HOLDFOR=3600\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    d.send(b"RSET\r\n");
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> HOLDFOR=86401\r\n"),
        "501 5.5.4 Invalid future release parameter\r\n"
    );
}

#[test]
fn rrvs_rfc7293_3() {
    let mut cfg = config();
    cfg.extensions.rrvs = true;
    let mut d = Driver::new(cfg);
    assert!(d.send(b"EHLO c\r\n").contains("RRVS"));
    let out =
        d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example> RRVS=2014-04-03T23:01:00Z\r\n");
    assert_eq!(codes(&out), ["250", "250"]);
}

#[test]
fn limits_advertised_rfc9422_3() {
    let mut cfg = config();
    cfg.limits.recipients = 50;
    cfg.limits.transactions = Some(5);
    let mut d = Driver::new(cfg);
    let caps = d.send(b"EHLO c\r\n");
    assert!(
        caps.contains("LIMITS RCPTMAX=50 MAILMAX=5")
            || caps.contains("LIMITS MAILMAX=5 RCPTMAX=50"),
        "{caps}"
    );
}

#[test]
fn enhanced_codes_on_every_reply_that_should_carry_one_rfc2034_3() {
    let mut cfg = config();
    cfg.limits.errors = 100;
    let mut d = ehlo(cfg);
    let out = d.send(
        b"NOOP\r\nRSET\r\nVRFY x\r\nHELP\r\nFROB\r\nRCPT TO:<a@b.example>\r\nMAIL FROM:<a@b.example> FOO\r\n\
          MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n\
          MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 1\r\nxBDAT 0 LAST\r\nSTARTTLS\r\nQUIT\r\n",
    );
    let mut n = 0;
    for line in out.split_terminator("\r\n") {
        let code = &line[..3];
        if code == "354" {
            continue;
        }
        let esc = line[4..].split(' ').next().unwrap();
        let parts: Vec<&str> = esc.split('.').collect();
        assert_eq!(parts.len(), 3, "no enhanced code in {line:?}");
        assert_eq!(parts[0], &code[..1], "class mismatch in {line:?}");
        n += 1;
    }
    assert!(n >= 16, "{out}");
}

// ---- Limits ----

#[test]
fn recipients_beyond_limit_452_4_5_3_rfc5321_4_5_3_1_10() {
    let mut cfg = config();
    cfg.limits.recipients = 2;
    let mut d = ehlo(cfg);
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<a@d.example>\r\nRCPT TO:<b@d.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n");
    assert_eq!(
        final_lines(&out)[..4],
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "250 2.1.5 Recipient OK",
            "452 4.5.3 Too many recipients"
        ]
    );
    assert!(out.ends_with("250 2.0.0 Message accepted for delivery\r\n"));
    assert_eq!(d.count("Rcpt"), 2);
}

#[test]
fn too_many_bad_commands_421_rfc5321_4_3_2() {
    let mut cfg = config();
    cfg.limits.errors = 3;
    let mut d = ehlo(cfg);
    let out = d.send(b"FROB\r\nFROB\r\nFROB\r\nNOOP\r\n");
    assert_eq!(codes(&out), ["500", "500", "500", "421"]);
    assert!(out.ends_with("421 4.7.0 Too many errors, closing connection\r\n"));
    assert_eq!(d.count("Closed { reason: TooManyErrors }"), 1);
}

#[test]
fn transactions_beyond_mailmax_452_rfc9422_4_1() {
    let mut cfg = config();
    cfg.limits.transactions = Some(1);
    let mut d = ehlo(cfg);
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n");
    assert_eq!(
        final_lines(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.0.0 OK",
            "452 4.5.3 Too many transactions in this session"
        ]
    );
}
