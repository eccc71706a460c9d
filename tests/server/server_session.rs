//! Server session scenarios (RFC 5321 and the optional commands): one
//! behaviour per test, exact reply codes and enhanced codes (RFC 2034,
//! RFC 3463; RFC 5321 §4.3.2 for which code answers what).

use crate::support;

use std::time::{Duration, Instant};

use esmtp::ehlo::Mechanism;
use esmtp::reply::Reply;
use esmtp::server::{ApiError, CloseReason, DecisionKind, Event, HelloVerb};
use esmtp::values::{EnhancedStatusCode, ReplyCode};
use support::{codes, config, ehlo, final_lines, Driver};

fn reply(code: u16, esc: Option<(u8, u16, u16)>, text: &str) -> Reply<'_> {
    Reply::single(
        ReplyCode::new(code).unwrap(),
        esc.map(|(c, s, d)| EnhancedStatusCode::new(c, s, d).unwrap()),
        text,
    )
    .unwrap()
}

#[test]
fn greeting_is_220_with_hostname_rfc5321_3_1() {
    let mut d = Driver::new(config());
    assert_eq!(d.take(), "");
    assert_eq!(
        String::from_utf8_lossy(&d.wire),
        "220 mx.example.org ESMTP esmtp\r\n"
    );
}

#[test]
fn refused_connection_554_then_503_except_quit_rfc5321_3_1() {
    let mut cfg = config();
    cfg.ask_on_connect = true;
    let mut d = Driver::manual(cfg);
    assert_eq!(d.take(), "", "nothing before the application decides");
    assert!(matches!(d.event(), Some(Event::Connect)));
    d.server.deny().unwrap();
    assert_eq!(d.take(), "554 5.3.2 No SMTP service here\r\n");
    d.auto = true;
    let out = d.send(b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nNOOP\r\nRSET\r\n");
    assert_eq!(codes(&out), ["503", "503", "503", "503"]);
    assert!(out.starts_with("503 5.5.1 "), "{out}");
    assert_eq!(d.count("Hello"), 0);
    let out = d.send(b"QUIT\r\n");
    assert_eq!(out, "221 2.0.0 mx.example.org closing connection\r\n");
    assert!(d.server.is_closed());
    assert_eq!(d.count("Closed { reason: Quit }"), 1);
}

#[test]
fn connect_accepted_later_sends_220_rfc5321_3_1() {
    let mut cfg = config();
    cfg.ask_on_connect = true;
    let mut d = Driver::manual(cfg);
    // A client that talks first is held until the decision.
    d.server.receive(b"EHLO c.example\r\n");
    assert!(matches!(d.event(), Some(Event::Connect)));
    assert!(d.event().is_none());
    d.server.accept().unwrap();
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    d.server.accept().unwrap();
    let out = d.take();
    assert!(out.starts_with("220 mx.example.org ESMTP esmtp\r\n250-mx.example.org\r\n"));
}

#[test]
fn connect_refused_with_521_closes_rfc7504() {
    let mut cfg = config();
    cfg.ask_on_connect = true;
    let mut d = Driver::manual(cfg);
    assert!(matches!(d.event(), Some(Event::Connect)));
    d.server
        .respond(&reply(521, Some((5, 3, 2)), "no mail here"))
        .unwrap();
    assert_eq!(d.take(), "521 5.3.2 no mail here\r\n");
    assert!(matches!(
        d.event(),
        Some(Event::Closed {
            reason: CloseReason::Refused
        })
    ));
}

#[test]
fn ehlo_lists_capabilities_rfc5321_4_1_1_1() {
    let mut d = Driver::new(config());
    let out = d.send(b"EHLO client.example\r\n");
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "250-mx.example.org");
    for kw in [
        "PIPELINING",
        "8BITMIME",
        "CHUNKING",
        "BINARYMIME",
        "SMTPUTF8",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "SIZE 36700160",
        "HELP",
    ] {
        assert!(lines.iter().any(|l| &l[4..] == kw), "{kw} missing: {out}");
    }
    assert!(lines.iter().any(|l| l[4..].starts_with("LIMITS ")), "{out}");
    assert!(!out.contains("STARTTLS") && !out.contains("AUTH"), "{out}");
    assert!(lines.last().unwrap().starts_with("250 "));
    assert!(lines[..lines.len() - 1]
        .iter()
        .all(|l| l.starts_with("250-")));
    assert_eq!(d.server.hello(), Some(HelloVerb::Ehlo));
}

#[test]
fn helo_gets_one_line_and_no_extensions_rfc5321_4_1_1_1() {
    let mut d = Driver::new(config());
    let out = d.send(b"HELO client.example\r\n");
    assert_eq!(out, "250 mx.example.org\r\n");
    // RFC 5321 §4.1.1.11 / RFC 1869 §6: no parameters without EHLO.
    let out = d.send(b"MAIL FROM:<a@b.example> SIZE=10\r\n");
    assert_eq!(out, "555 5.5.4 Parameters require EHLO\r\n");
    let out = d.send(b"MAIL FROM:<a@b.example>\r\n");
    assert_eq!(out, "250 2.1.0 Sender OK\r\n");
}

#[test]
fn hello_denied_keeps_client_unidentified_rfc5321_4_1_4() {
    let mut d = Driver::manual(config());
    d.take();
    d.server
        .receive(b"EHLO bad.example\r\nMAIL FROM:<a@b.example>\r\n");
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    d.server.deny().unwrap();
    assert!(d.event().is_none());
    assert_eq!(
        d.take(),
        "550 5.7.1 Hello rejected\r\n503 5.5.1 Send HELO/EHLO first\r\n"
    );
}

#[test]
fn second_ehlo_resets_transaction_rfc5321_4_1_4() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nEHLO again.example\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    assert_eq!(
        final_lines(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "250 VRFY",
            "503 5.5.1 Need MAIL command first",
            "503 5.5.1 Need MAIL command first",
        ]
    );
    // A new transaction can start.
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example>\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn rset_clears_transaction_rfc5321_4_1_1_5() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nRSET\r\nRCPT TO:<c@d.example>\r\n");
    assert_eq!(
        out,
        "250 2.1.0 Sender OK\r\n250 2.0.0 OK\r\n503 5.5.1 Need MAIL command first\r\n"
    );
}

#[test]
fn noop_250_any_time_rfc5321_4_1_1_9() {
    let mut d = Driver::new(config());
    assert_eq!(d.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(d.send(b"NOOP some text\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn quit_221_then_closed_and_nothing_more_rfc5321_4_1_1_10() {
    let mut d = ehlo(config());
    let out = d.send(b"QUIT\r\nNOOP\r\n");
    assert_eq!(out, "221 2.0.0 mx.example.org closing connection\r\n");
    assert!(d.server.is_closed());
    assert_eq!(d.count("Closed { reason: Quit }"), 1);
    assert_eq!(d.send(b"NOOP\r\n"), "");
    assert!(d.server.poll_event().is_none());
}

#[test]
fn quit_during_transaction_discards_it_rfc5321_4_1_1_10() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n");
    assert!(out.ends_with("221 2.0.0 mx.example.org closing connection\r\n"));
    assert_eq!(d.count("MessageEnd"), 0);
}

#[test]
fn help_214_rfc5321_4_1_1_8() {
    let mut d = Driver::new(config());
    let out = d.send(b"HELP\r\n");
    assert!(out.starts_with("214 2.0.0 Commands:"), "{out}");
    let out = d.send(b"HELP MAIL\r\n");
    assert_eq!(codes(&out), ["214"]);
    let mut cfg = config();
    cfg.extensions.help = false;
    let mut d = Driver::new(cfg);
    assert_eq!(d.send(b"HELP\r\n"), "502 5.5.1 Command not implemented\r\n");
}

#[test]
fn vrfy_252_by_default_rfc5321_3_5_3() {
    let mut d = Driver::new(config());
    let out = d.send(b"VRFY postmaster\r\n");
    assert_eq!(
        out,
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
    );
    assert_eq!(d.count("Vrfy"), 0);
}

#[test]
fn expn_252_by_default_rfc5321_3_5_3() {
    let mut d = Driver::new(config());
    let out = d.send(b"EXPN staff\r\n");
    assert_eq!(
        out,
        "252 2.5.0 Cannot EXPN list, but will accept message and attempt delivery\r\n"
    );
}

#[test]
fn shutdown_sends_421_with_the_callers_text_rfc5321_3_8() {
    let mut d = Driver::new(config());
    d.take();
    d.server.shutdown("maintenance\r\nRSET");
    d.pump();
    assert_eq!(
        d.take(),
        "421 4.3.0 mx.example.org maintenance  RSET\r\n",
        "CR and LF from the caller become spaces"
    );
    assert!(d.server.is_closed());
}

#[test]
fn vrfy_decided_by_application_when_enabled_rfc5321_3_5_1() {
    let mut cfg = config();
    cfg.extensions.vrfy = true;
    let mut d = Driver::manual(cfg);
    d.take();
    d.server
        .receive(b"VRFY smith\r\nVRFY nobody\r\nVRFY \"Fred\"\r\n");
    match d.event() {
        Some(Event::Vrfy { target, .. }) => assert_eq!(target, "smith"),
        e => panic!("{e:?}"),
    }
    d.server
        .respond(&reply(
            250,
            Some((2, 1, 5)),
            "Fred Smith <smith@mx.example.org>",
        ))
        .unwrap();
    assert!(matches!(d.event(), Some(Event::Vrfy { .. })));
    d.server.deny().unwrap();
    assert!(matches!(d.event(), Some(Event::Vrfy { .. })));
    d.server.accept().unwrap();
    assert_eq!(
        d.take(),
        "250 2.1.5 Fred Smith <smith@mx.example.org>\r\n550 5.1.1 User unknown\r\n\
         252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
    );
}

#[test]
fn expn_decided_by_application_when_enabled_rfc5321_3_5_2() {
    let mut cfg = config();
    cfg.extensions.expn = true;
    let mut d = Driver::manual(cfg);
    d.take();
    d.server.receive(b"EXPN staff\r\n");
    match d.event() {
        Some(Event::Expn { target, .. }) => assert_eq!(target, "staff"),
        e => panic!("{e:?}"),
    }
    d.server.deny().unwrap();
    assert_eq!(codes(&d.take()), ["550"]);
    // Accepted without a list: the 252 names EXPN, not VRFY.
    d.server.receive(b"EXPN staff\r\n");
    assert!(matches!(d.event(), Some(Event::Expn { .. })));
    d.server.accept().unwrap();
    assert_eq!(
        d.take(),
        "252 2.5.0 Cannot EXPN list, but will accept message and attempt delivery\r\n"
    );
}

#[test]
fn etrn_decided_by_application_rfc1985() {
    let mut cfg = config();
    cfg.extensions.etrn = true;
    let mut d = Driver::manual(cfg);
    d.take();
    d.server
        .receive(b"ETRN example.org\r\nETRN @example.com\r\n");
    assert!(matches!(d.event(), Some(Event::Etrn(_))));
    d.server.accept().unwrap();
    assert!(matches!(d.event(), Some(Event::Etrn(_))));
    d.server.deny().unwrap();
    assert_eq!(
        d.take(),
        "250 2.0.0 Queuing started\r\n458 4.0.0 Unable to queue messages\r\n"
    );
}

#[test]
fn etrn_not_offered_is_502_rfc1985() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"ETRN example.org\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
}

#[test]
fn etrn_inside_transaction_is_503_rfc1985_5() {
    let mut cfg = config();
    cfg.extensions.etrn = true;
    let mut d = ehlo(cfg);
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nETRN example.org\r\n");
    assert!(out.ends_with("503 5.5.1 ETRN not permitted during a mail transaction\r\n"));
}

fn auth_plain_config() -> esmtp::server::ServerConfig {
    let mut cfg = config();
    cfg.extensions.auth = vec![Mechanism::Plain];
    cfg.extensions.auth_requires_tls = false;
    cfg
}

#[test]
fn atrn_needs_auth_rfc2645_5() {
    let mut cfg = auth_plain_config();
    cfg.extensions.atrn = true;
    let mut d = ehlo(cfg);
    assert!(d.take().is_empty());
    let out = d.send(b"ATRN example.org\r\n");
    assert_eq!(out, "530 5.7.0 Authentication required\r\n");
    assert_eq!(d.count("Atrn"), 0);
}

#[test]
fn atrn_after_auth_reverses_with_leftover_rfc2645_5() {
    let mut cfg = auth_plain_config();
    cfg.extensions.atrn = true;
    let mut d = ehlo(cfg);
    // "\0u\0p"
    let out = d.send(b"AUTH PLAIN AHUAcA==\r\n");
    assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    let out = d.send(b"ATRN example.org,example.net\r\n220 client ready\r\n");
    assert_eq!(out, "250 2.0.0 OK\r\n");
    assert_eq!(d.count("Atrn"), 1);
    let reversed = d
        .log
        .iter()
        .any(|l| matches!(l, support::Logged::Event(s) if s.contains("Reversed") && s.contains("220 client ready")));
    assert!(reversed, "{:?}", d.log);
    assert!(d.server.is_closed());
}

#[test]
fn atrn_not_offered_is_502_rfc2645() {
    let mut d = ehlo(auth_plain_config());
    assert_eq!(
        d.send(b"ATRN example.org\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
}

#[test]
fn turn_refused_502_unless_enabled_rfc821_3_8() {
    let mut d = ehlo(config());
    assert_eq!(d.send(b"TURN\r\n"), "502 5.5.1 Command not implemented\r\n");
    let mut cfg = config();
    cfg.extensions.turn = true;
    let mut d = Driver::manual(cfg);
    d.take();
    d.server.receive(b"TURN\r\n");
    assert!(matches!(d.event(), Some(Event::Turn)));
    d.server.deny().unwrap();
    assert_eq!(d.take(), "450 4.7.1 Request refused\r\n");
}

#[test]
fn send_soml_saml_502_unless_enabled_rfc821_3_4() {
    let mut d = ehlo(config());
    let out = d
        .send(b"SEND FROM:<a@b.example>\r\nSOML FROM:<a@b.example>\r\nSAML FROM:<a@b.example>\r\n");
    assert_eq!(codes(&out), ["502", "502", "502"]);
    assert_eq!(d.count("Mail"), 0);
}

#[test]
fn send_handed_over_as_mail_variant_when_enabled_rfc821_3_4() {
    let mut cfg = config();
    cfg.extensions.send = true;
    let mut d = ehlo(cfg);
    let out = d.send(b"SAML FROM:<a@b.example>\r\n");
    assert_eq!(out, "250 2.1.0 Sender OK\r\n");
    assert_eq!(d.count("Mail { from: "), 1);
    assert!(format!("{:?}", d.log).contains("send: Some(Saml)"));
}

#[test]
fn unknown_command_500_rfc5321_4_2_4() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"FROB x\r\n"),
        "500 5.5.1 Command not recognized\r\n"
    );
    assert_eq!(
        d.send(b"XCLIENT ADDR=1.2.3.4\r\n"),
        "500 5.5.1 Command not recognized\r\n"
    );
}

#[test]
fn registered_private_verb_goes_to_application_rfc5321_4_2_4() {
    let mut cfg = config();
    cfg.private_verbs = vec!["XCLIENT".into()];
    let mut d = Driver::manual(cfg);
    d.take();
    d.server.receive(b"xclient ADDR=1.2.3.4\r\nXOTHER\r\n");
    match d.event() {
        Some(Event::Command { verb, args }) => {
            assert!(verb.eq_ignore_ascii_case("XCLIENT"));
            assert_eq!(args.as_deref(), Some("ADDR=1.2.3.4"));
        }
        e => panic!("{e:?}"),
    }
    d.server
        .respond(&reply(220, Some((2, 0, 0)), "fine"))
        .unwrap();
    assert!(d.event().is_none());
    assert_eq!(
        d.take(),
        "220 2.0.0 fine\r\n500 5.5.1 Command not recognized\r\n"
    );
}

#[test]
fn commands_out_of_order_503_rfc5321_4_1_4() {
    let mut d = Driver::new(config());
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example>\r\n"),
        "503 5.5.1 Send HELO/EHLO first\r\n"
    );
    d.send(b"EHLO c.example\r\n");
    assert_eq!(
        d.send(b"RCPT TO:<a@b.example>\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
    assert_eq!(d.send(b"DATA\r\n"), "503 5.5.1 Need MAIL command first\r\n");
    d.send(b"MAIL FROM:<a@b.example>\r\n");
    assert_eq!(d.send(b"DATA\r\n"), "503 5.5.1 Need RCPT command first\r\n");
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example>\r\n"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
}

#[test]
fn data_after_all_recipients_refused_is_554_rfc5321_3_3() {
    let mut d = Driver::manual(config());
    d.server
        .receive(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n");
    for _ in 0..2 {
        d.event().unwrap();
        d.server.accept().unwrap();
    }
    assert!(matches!(d.event(), Some(Event::Rcpt { .. })));
    d.server.deny().unwrap();
    assert!(d.event().is_none());
    let out = d.take();
    assert!(
        out.ends_with("550 5.1.1 Recipient rejected\r\n554 5.5.1 No valid recipients\r\n"),
        "{out}"
    );
}

#[test]
fn syntax_errors_501_and_bad_mailbox_553_rfc5321_4_3_2() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@@b.example>\r\n");
    // "553 … mailbox syntax incorrect" (RFC 5321 §4.2.2, RFC 3463 5.1.7).
    assert_eq!(codes(&out), ["553"]);
    assert!(out.starts_with("553 5.1.7 "), "{out}");
    let out = d.send(b"RCPT\r\n");
    assert!(out.starts_with("501 5.5.4 "), "{out}");
}

#[test]
fn decisions_answered_later_hold_pipelined_commands_rfc2920_3_1() {
    let mut d = Driver::manual(config());
    d.take();
    d.server.receive(
        b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nRCPT TO:<z@y.example>\r\nNOOP\r\n",
    );
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    d.server.accept().unwrap();
    assert!(matches!(d.event(), Some(Event::Mail { .. })));
    // Nothing moves while the decision is owed, however often we poll.
    for _ in 0..3 {
        assert!(d.event().is_none());
    }
    let so_far = d.take();
    assert!(so_far.ends_with("250 VRFY\r\n"), "{so_far}");
    d.server.accept().unwrap();
    assert!(matches!(d.event(), Some(Event::Rcpt { .. })));
    d.server.deny().unwrap();
    assert!(matches!(d.event(), Some(Event::Rcpt { .. })));
    d.server.accept().unwrap();
    assert!(d.event().is_none());
    assert_eq!(
        d.take(),
        "250 2.1.0 Sender OK\r\n550 5.1.1 Recipient rejected\r\n250 2.1.5 Recipient OK\r\n250 2.0.0 OK\r\n"
    );
}

#[test]
fn answering_without_a_pending_decision_is_an_api_error() {
    let mut d = Driver::new(config());
    assert_eq!(d.server.accept(), Err(ApiError::NoPendingDecision));
    assert_eq!(d.server.deny(), Err(ApiError::NoPendingDecision));
    assert_eq!(
        d.server.respond(&reply(250, None, "x")),
        Err(ApiError::NoPendingDecision)
    );
    assert!(d.server.decision().is_none());
}

/// An SMTP end of message owes one reply (RFC 5321 §4.1.1.4): it has no
/// per-recipient view, and the decision comes back to be answered.
#[test]
fn smtp_message_end_has_no_lmtp_view_rfc5321_4_1_1_4() {
    let mut d = Driver::manual(config());
    d.server.receive(
        b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\nx\r\n.\r\n",
    );
    let kinds = [
        DecisionKind::Hello,
        DecisionKind::Mail,
        DecisionKind::Rcpt,
        DecisionKind::Rcpt,
    ];
    for kind in kinds {
        assert!(d.until_decision().0.is_some());
        assert_eq!(d.server.decision().unwrap().kind(), kind);
        d.server.accept().unwrap();
    }
    let (end, _) = d.until_decision();
    assert!(
        matches!(end, Some(Event::MessageEnd { recipients: 2, .. })),
        "{end:?}"
    );
    let decision = d.server.decision().unwrap();
    let decision = decision
        .lmtp()
        .expect_err("SMTP has no per-recipient replies");
    assert_eq!(decision.kind(), DecisionKind::MessageEnd);
    decision.accept();
    assert!(d.take().ends_with("354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted for delivery\r\n"));
    assert_eq!(d.server.accept(), Err(ApiError::NoPendingDecision));
}

#[test]
fn a_3xx_reply_cannot_answer_an_event() {
    let mut d = Driver::manual(config());
    d.server.receive(b"EHLO c\r\n");
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    assert_eq!(
        d.server.respond(&reply(354, None, "go")),
        Err(ApiError::IntermediateReply)
    );
    // Still pending.
    d.server.accept().unwrap();
}

#[test]
fn command_timeout_421_and_close_rfc5321_4_5_3_2_7() {
    let mut d = ehlo(config());
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    let deadline = d.server.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(300));
    d.server.handle_timeout(t0 + Duration::from_secs(299));
    d.pump();
    assert_eq!(d.take(), "");
    d.server.handle_timeout(deadline);
    d.pump();
    assert_eq!(
        d.take(),
        "421 4.4.2 Timeout exceeded, closing connection\r\n"
    );
    assert_eq!(d.count("Closed { reason: Timeout }"), 1);
    assert!(d.server.is_closed());
}

#[test]
fn input_restarts_the_timer_at_the_latest_time_rfc5321_4_5_3_2() {
    let mut d = ehlo(config());
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    let first = d.server.poll_timeout().unwrap();
    // A pure query, and time alone does not move the deadline.
    assert_eq!(d.server.poll_timeout(), Some(first));
    d.server.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(d.server.poll_timeout(), Some(first));
    // A complete line read at t1: the next wait is `command` from t1.
    let t1 = t0 + Duration::from_secs(100);
    d.server.handle_timeout(t1);
    d.send(b"NOOP\r\n");
    assert_eq!(d.server.poll_timeout(), Some(t1 + Duration::from_secs(300)));
    assert_eq!(d.server.poll_timeout(), Some(t1 + Duration::from_secs(300)));
    d.server.handle_timeout(first);
    d.pump();
    assert_eq!(d.take(), "", "the old deadline no longer applies");
    d.server.handle_timeout(t1 + Duration::from_secs(299));
    d.pump();
    assert_eq!(d.take(), "");
    d.server.handle_timeout(t1 + Duration::from_secs(300));
    d.pump();
    assert_eq!(
        d.take(),
        "421 4.4.2 Timeout exceeded, closing connection\r\n",
        "exactly `command` after the last progress"
    );
}

/// Before the first time given the session has no deadline; the first
/// tick starts the wait for a client silent after connecting.
#[test]
fn no_deadline_before_the_first_time_rfc5321_4_5_3_2() {
    let mut d = Driver::new(config());
    assert_eq!(d.server.poll_timeout(), None);
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    assert_eq!(d.server.poll_timeout(), Some(t0 + Duration::from_secs(300)));
}

#[test]
fn data_timeout_aborts_message_then_421_rfc5321_4_5_3_2_6() {
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nsome text\r\n");
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    let deadline = d.server.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(300));
    d.take();
    d.server.handle_timeout(deadline);
    d.pump();
    assert_eq!(
        d.take(),
        "421 4.4.2 Timeout exceeded, closing connection\r\n"
    );
    assert_eq!(d.count("MessageAborted"), 1);
    assert_eq!(d.count("MessageEnd"), 0);
    assert_eq!(d.count("Closed { reason: Timeout }"), 1);
}

/// `Timeouts::message` runs on the same clock: from the latest time given
/// when the content began (the 354), whatever the content's rate.
#[test]
fn message_timeout_starts_when_content_begins_at_the_latest_time() {
    let mut cfg = config();
    cfg.timeouts.data = Duration::from_secs(30);
    cfg.timeouts.message = Duration::from_secs(120);
    let mut d = ehlo(cfg);
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    let t1 = t0 + Duration::from_secs(50);
    d.server.handle_timeout(t1);
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    assert_eq!(d.server.poll_timeout(), Some(t1 + Duration::from_secs(30)));
    let mut now = t1;
    for _ in 0..5 {
        now += Duration::from_secs(20);
        d.server.handle_timeout(now);
        d.send(b"line\r\n");
    }
    // Content consumed at t1+100 restarts `data` (to t1+130), but the
    // message is bounded at t1+120.
    assert_eq!(d.server.poll_timeout(), Some(t1 + Duration::from_secs(120)));
    d.server.handle_timeout(t1 + Duration::from_secs(120));
    d.pump();
    assert!(d.take().contains("421 4.4.2 "));
    assert_eq!(d.count("MessageAborted"), 1);
}

#[test]
fn no_timeout_while_application_decides() {
    let mut d = Driver::manual(config());
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    d.server.receive(b"EHLO c\r\n");
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    assert_eq!(d.server.poll_timeout(), None);
}

/// A pending decision pauses the idle timer (the wait is the
/// application's, not the client's); answering restarts it at the time of
/// the answer (RFC 5321 §4.5.3.2).
#[test]
fn pending_decision_pauses_the_timer_and_the_answer_restarts_it_rfc5321_4_5_3_2() {
    let mut d = Driver::manual(config());
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    d.server.receive(b"EHLO c\r\n");
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    // Long past any deadline: nothing fires while the decision is owed.
    let t1 = t0 + Duration::from_secs(3 * 300);
    d.server.handle_timeout(t1);
    assert_eq!(d.server.poll_timeout(), None);
    assert!(!d.server.is_closed());
    d.server.decision().unwrap().accept();
    assert_eq!(d.server.poll_timeout(), Some(t1 + Duration::from_secs(300)));
    let out = d.take();
    assert!(out.contains("\r\n250-mx.example.org"), "{out}");
    d.server.handle_timeout(t1 + Duration::from_secs(299));
    assert!(d.event().is_none());
    assert_eq!(d.take(), "");
    d.server.handle_timeout(t1 + Duration::from_secs(300));
    assert!(matches!(
        d.event(),
        Some(Event::Closed {
            reason: CloseReason::Timeout
        })
    ));
    assert_eq!(
        d.take(),
        "421 4.4.2 Timeout exceeded, closing connection\r\n"
    );
}

#[test]
fn peer_close_ends_session_without_reply() {
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nabc");
    d.take();
    d.server.peer_closed();
    d.pump();
    assert_eq!(d.take(), "");
    assert_eq!(d.count("MessageAborted"), 1);
    assert_eq!(d.count("Closed { reason: PeerClosed }"), 1);
}

#[test]
fn shutdown_sends_421_rfc5321_3_8() {
    let mut d = ehlo(config());
    d.server.shutdown("maintenance");
    d.pump();
    let out = d.take();
    assert!(out.starts_with("421 4.3.0 "), "{out}");
    assert_eq!(d.count("Closed { reason: Shutdown }"), 1);
}

#[test]
fn without_enhancedstatuscodes_replies_carry_none_rfc2034_3() {
    let mut cfg = config();
    cfg.extensions.enhanced_status_codes = false;
    let mut d = Driver::new(cfg);
    let out = d.send(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nFROB\r\nQUIT\r\n");
    assert!(!out.contains("ENHANCEDSTATUSCODES"));
    let finals = final_lines(&out);
    assert_eq!(
        &finals[finals.len() - 4..],
        [
            "250 Sender OK",
            "250 OK",
            "500 Command not recognized",
            "221 mx.example.org closing connection"
        ]
    );
}

#[test]
fn refused_session_stays_refused_after_an_overlong_line_rfc5321_3_1() {
    let mut cfg = config();
    cfg.ask_on_connect = true;
    let mut d = Driver::manual(cfg);
    assert!(matches!(d.event(), Some(Event::Connect)));
    d.server.deny().unwrap();
    d.take();
    d.auto = true;
    let mut line = b"EHLO ".to_vec();
    line.resize(6000, b'a');
    line.extend_from_slice(b"\r\nEHLO c\r\n");
    let out = d.send_in(&line, 1000);
    assert_eq!(
        out,
        "500 5.5.2 Line too long\r\n503 5.5.1 Bad sequence of commands\r\n"
    );
    assert_eq!(d.count("Hello"), 0);
}

#[test]
fn application_421_closes_the_session_rfc5321_3_8() {
    let mut d = Driver::manual(config());
    d.take();
    d.server
        .receive(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nNOOP\r\n");
    assert!(matches!(d.event(), Some(Event::Hello { .. })));
    d.server.accept().unwrap();
    assert!(matches!(d.event(), Some(Event::Mail { .. })));
    d.server
        .respond(&reply(421, Some((4, 3, 2)), "going down"))
        .unwrap();
    assert!(matches!(
        d.event(),
        Some(Event::Closed {
            reason: CloseReason::Shutdown
        })
    ));
    let out = d.take();
    assert!(out.ends_with("421 4.3.2 going down\r\n"), "{out}");
    assert!(
        !out.contains("250 2.0.0 OK"),
        "NOOP after 421 answered: {out}"
    );
}

#[test]
fn help_lists_only_commands_served_rfc5321_4_1_1_8() {
    let mut d = Driver::new(config());
    let out = d.send(b"HELP\r\n");
    assert_eq!(
        out,
        "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY EXPN BDAT\r\n"
    );
    let mut cfg = config();
    cfg.extensions.starttls = true;
    cfg.extensions.etrn = true;
    let mut d = Driver::new(cfg);
    let out = d.send(b"HELP\r\n");
    assert!(out.contains(" STARTTLS") && out.contains(" ETRN"), "{out}");
    assert!(!out.contains("AUTH") && !out.contains("TURN"), "{out}");
}

#[test]
fn stale_deadline_after_input_does_not_fire_rfc5321_4_5_3_2() {
    let mut d = ehlo(config());
    let t0 = Instant::now();
    d.server.handle_timeout(t0);
    let deadline = d.server.poll_timeout().unwrap();
    // Input arrives just before the deadline; the driver's old timer fires.
    d.server.handle_timeout(deadline - Duration::from_secs(1));
    assert_eq!(d.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
    d.server.handle_timeout(deadline);
    d.pump();
    assert_eq!(d.take(), "");
    assert!(!d.server.is_closed());
}
