//! Smoke tests of the interop harness (`tests/common`): each real peer is
//! started on loopback, driven with raw SMTP over `std::net` (or a client
//! program), and what it received is read back and compared byte for byte.
//! These prove the harness before any test relies on it.

use crate::common;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use common::aiosmtpd::Aiosmtpd;
use common::postfix::{queue_id, PostfixSmtpd};
use common::sink::SmtpSink;
use common::smtp::SmtpConn;
use common::{clients, show};

const WAIT: Duration = Duration::from_secs(10);

/// The content a client puts on the wire (dot-stuffed per RFC 5321
/// §4.5.2) and what every server must hand on after unstuffing.
const STUFFED: &[u8] =
    b"Subject: smoke\r\nFrom: <a@sender.test>\r\n\r\n..leading dot\r\nplain line\r\n...\r\n";
const UNSTUFFED: &[u8] =
    b"Subject: smoke\r\nFrom: <a@sender.test>\r\n\r\n.leading dot\r\nplain line\r\n..\r\n";

#[test]
fn smtp_sink_dump_has_envelope_and_unstuffed_content() {
    let Some(sink) = SmtpSink::start_dumping() else {
        return;
    };
    let mut conn = SmtpConn::connect(sink.port());
    let ehlo = conn.expect("EHLO client.esmtp.test", 250);
    assert!(ehlo.lines[0].starts_with(sink.host_name()), "{ehlo:?}");
    conn.expect("MAIL FROM:<a@sender.test> SIZE=100", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.expect("RCPT TO:<c@rcpt.test>", 250);
    conn.expect("DATA", 354);
    conn.send(STUFFED);
    conn.send(b".\r\n");
    assert_eq!(conn.read_reply().code, 250);
    conn.quit();

    let dumps = sink.wait_for_dumps(1, WAIT);
    let dump = &dumps[0];
    assert_eq!(dump.proto, "ESMTP");
    assert_eq!(dump.helo.as_deref(), Some("client.esmtp.test"));
    assert_eq!(dump.mail_args, "<a@sender.test> SIZE=100");
    assert_eq!(dump.rcpt_args, ["<b@rcpt.test>", "<c@rcpt.test>"]);
    assert_eq!(dump.content, UNSTUFFED, "got {}", show(&dump.content));
}

#[test]
fn smtp_sink_fault_option_passes_through() {
    // `-f RCPT` makes smtp-sink reject RCPT with a 5xx reply.
    let Some(sink) = SmtpSink::builder().arg("-f").arg("RCPT").start() else {
        return;
    };
    let mut conn = SmtpConn::connect(sink.port());
    conn.expect("EHLO client.esmtp.test", 250);
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    let reply = conn.cmd("RCPT TO:<b@rcpt.test>");
    assert_eq!(reply.code / 100, 5, "{reply:?}");
}

#[test]
fn stopping_a_peer_frees_its_port() {
    let Some(sink) = SmtpSink::builder().start() else {
        return;
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, sink.port()));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    drop(sink);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "smtp-sink still listening after drop"
    );
}

#[test]
fn postfix_smtpd_holds_exact_content() {
    let Some(pf) = PostfixSmtpd::start() else {
        return;
    };
    // 8-bit text, a dot-stuffed line and a line longer than Postfix's
    // 2048-octet record limit, which it stores in pieces.
    let long = "x".repeat(3000);
    let stuffed = format!(
        "Subject: exact\r\nX-Utf8: caf\u{e9}\r\n\r\n..dot\r\n{long}\r\n\ttab and  spaces  \r\n"
    );
    let unstuffed = format!(
        "Subject: exact\r\nX-Utf8: caf\u{e9}\r\n\r\n.dot\r\n{long}\r\n\ttab and  spaces  \r\n"
    );
    let mut conn = SmtpConn::connect(pf.port());
    let reply = conn.send_mail(
        "a@sender.test",
        &["b@rcpt.test", "c@rcpt.test"],
        stuffed.as_bytes(),
    );
    conn.quit();

    let msg = pf.message(&queue_id(&reply));
    assert_eq!(msg.sender, "a@sender.test");
    assert_eq!(msg.recipients, ["b@rcpt.test", "c@rcpt.test"]);
    assert_eq!(
        msg.content,
        unstuffed.as_bytes(),
        "got {}",
        show(&msg.content)
    );
    assert!(msg.stored.starts_with(b"Received: from "));
    assert_eq!(pf.messages().len(), 1);
}

#[test]
fn postfix_smtpd_strict_mode_rejects_bare_lf_in_data() {
    // RFC 5321 §2.3.8: lines end in CRLF; with
    // smtpd_forbid_bare_newline = reject (no exclusions) Postfix refuses.
    let Some(pf) = PostfixSmtpd::start() else {
        return;
    };
    let mut conn = SmtpConn::connect(pf.port());
    conn.expect("EHLO client.esmtp.test", 250);
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.expect("DATA", 354);
    conn.send(b"Subject: bare\r\n\r\nline one\nline two\r\n.\r\n");
    let reply = conn.read_reply();
    assert_eq!(reply.code, 550, "{reply:?}");
    assert!(reply.text().contains("bare <LF>"), "{reply:?}");
    assert!(pf.messages().is_empty(), "a message was queued");
}

/// Content with the bytes the peers disagree on: header fields Postfix's
/// cleanup deletes, a bare CR inside a line, a NUL and 8-bit text.
const ODD: &[u8] = b"Return-Path: <x@sender.test>\r\nBcc: z@rcpt.test\r\nContent-Length: 5\r\nTo: t\r\n\r\nbare\rcr\r\n\x00nul \xc3\xa9\r\n";

#[test]
fn postfix_smtpd_edits_are_the_documented_ones() {
    // Pins the list in tests/common/postfix.rs.
    let Some(pf) = PostfixSmtpd::start() else {
        return;
    };
    let mut conn = SmtpConn::connect(pf.port());
    let reply = conn.send_mail("", &["b@rcpt.test"], ODD);
    conn.quit();
    let msg = pf.message(&queue_id(&reply));
    assert_eq!(msg.sender, "", "null reverse-path");
    assert_eq!(
        msg.content,
        b"To: t\r\n\r\nbare cr\r\n\x00nul \xc3\xa9\r\n",
        "got {}",
        show(&msg.content)
    );
}

#[test]
fn smtp_sink_dump_drops_bare_cr() {
    // Pins the note in tests/common/sink.rs.
    let Some(sink) = SmtpSink::start_dumping() else {
        return;
    };
    let mut conn = SmtpConn::connect(sink.port());
    conn.send_mail("", &["b@rcpt.test"], ODD);
    conn.quit();
    let dump = &sink.wait_for_dumps(1, WAIT)[0];
    let mut expected = ODD.to_vec();
    expected.retain(|&b| b != b'\r');
    let expected = common::lf_to_crlf(&expected);
    assert_eq!(dump.content, expected, "got {}", show(&dump.content));
}

#[test]
fn aiosmtpd_keeps_every_byte() {
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    let mut conn = SmtpConn::connect(server.port());
    conn.send_mail("", &["b@rcpt.test"], ODD);
    conn.quit();
    let msg = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(msg.mail_from, "");
    assert_eq!(msg.content, ODD, "got {}", show(&msg.content));
}

#[test]
fn aiosmtpd_records_exact_content_and_envelope() {
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    let mut conn = SmtpConn::connect(server.port());
    let ehlo = conn.expect("EHLO client.esmtp.test", 250);
    assert!(!ehlo.text().contains("SMTPUTF8"), "{ehlo:?}");
    conn.send_mail("a@sender.test", &["b@rcpt.test"], STUFFED);
    conn.quit();

    let msgs = server.wait_for_messages(1, WAIT);
    let msg = &msgs[0];
    assert_eq!(msg.helo, "client.esmtp.test");
    assert_eq!(msg.mail_from, "a@sender.test");
    assert_eq!(msg.rcpt_tos, ["b@rcpt.test"]);
    assert!(!msg.smtp_utf8);
    assert_eq!(msg.content, UNSTUFFED, "got {}", show(&msg.content));
}

#[test]
fn aiosmtpd_with_smtputf8_accepts_utf8_mailbox() {
    // RFC 6531 §3.4: MAIL ... SMTPUTF8 allows a UTF-8 local part.
    let Some(server) = Aiosmtpd::builder().smtputf8(true).start() else {
        return;
    };
    let mut conn = SmtpConn::connect(server.port());
    let ehlo = conn.expect("EHLO client.esmtp.test", 250);
    assert!(ehlo.text().contains("SMTPUTF8"), "{ehlo:?}");
    conn.expect("MAIL FROM:<j\u{f6}rg@sender.test> SMTPUTF8", 250);
    conn.expect("RCPT TO:<\u{e9}l\u{e8}ve@rcpt.test>", 250);
    conn.expect("DATA", 354);
    conn.send(b"Subject: utf8\r\n\r\nhi\r\n.\r\n");
    assert_eq!(conn.read_reply().code, 250);
    conn.quit();

    let msg = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(msg.mail_from, "j\u{f6}rg@sender.test");
    assert_eq!(msg.rcpt_tos, ["\u{e9}l\u{e8}ve@rcpt.test"]);
    assert!(msg.smtp_utf8);
    assert!(msg.mail_options.iter().any(|o| o == "SMTPUTF8"), "{msg:?}");
}

#[test]
fn client_programs_reach_the_peers() {
    // swaks → smtp-sink
    let Some(sink) = SmtpSink::start_dumping() else {
        return;
    };
    let Some(out) = clients::swaks(
        sink.port(),
        &[
            "--from",
            "a@sender.test",
            "--to",
            "b@rcpt.test",
            "--body",
            "via swaks",
        ],
    ) else {
        return;
    };
    out.assert_success("swaks");
    let dump = &sink.wait_for_dumps(1, WAIT)[0];
    assert_eq!(dump.rcpt_args, ["<b@rcpt.test>"]);
    assert!(
        show(&dump.content).contains("via swaks"),
        "{}",
        show(&dump.content)
    );

    // msmtp and curl → aiosmtpd
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    let msg = b"Subject: m\r\n\r\nvia msmtp\r\n";
    let Some(out) = clients::msmtp(server.port(), &["--from=a@sender.test", "b@rcpt.test"], msg)
    else {
        return;
    };
    out.assert_success("msmtp");
    let msg = b"Subject: c\r\n\r\nvia curl\r\n";
    let Some(out) = clients::curl(
        server.port(),
        &["--mail-from", "a@sender.test", "--mail-rcpt", "c@rcpt.test"],
        msg,
    ) else {
        return;
    };
    out.assert_success("curl");
    let port = server.port().to_string();
    let script = "import smtplib, sys\n\
        with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20) as s:\n\
        \x20   s.sendmail('a@sender.test', ['d@rcpt.test'], b'Subject: p\\r\\n\\r\\nvia smtplib\\r\\n')\n";
    let Some(out) = clients::python_script(script, &[&port]) else {
        return;
    };
    out.assert_success("python smtplib");

    let msgs = server.wait_for_messages(3, WAIT);
    assert_eq!(msgs[0].content, b"Subject: m\r\n\r\nvia msmtp\r\n");
    assert_eq!(msgs[1].rcpt_tos, ["c@rcpt.test"]);
    assert_eq!(msgs[1].content, b"Subject: c\r\n\r\nvia curl\r\n");
    assert_eq!(msgs[2].rcpt_tos, ["d@rcpt.test"]);
    assert_eq!(msgs[2].content, b"Subject: p\r\n\r\nvia smtplib\r\n");
}

#[test]
fn client_timeout_kills_the_program() {
    let out = clients::run(
        std::process::Command::new("sh").args(["-c", "sleep 30 & sleep 30"]),
        None,
        Duration::from_millis(300),
    )
    .expect("run sh");
    assert!(out.timed_out(), "{}", out.describe());
}

#[test]
fn swaks_starttls_to_postfix_smtpd() {
    // RFC 3207: STARTTLS offered, negotiated, then the transaction.
    let Some(pf) = PostfixSmtpd::builder().starttls(true).start() else {
        return;
    };
    let mut conn = SmtpConn::connect(pf.port());
    let ehlo = conn.expect("EHLO client.esmtp.test", 250);
    assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
    conn.quit();
    let Some(out) = clients::swaks(
        pf.port(),
        &[
            "--tls",
            "--from",
            "a@sender.test",
            "--to",
            "b@rcpt.test",
            "--body",
            "over tls",
        ],
    ) else {
        return;
    };
    out.assert_success("swaks --tls");
    let msgs = pf.messages();
    assert_eq!(msgs.len(), 1);
    assert!(show(&msgs[0].content).contains("over tls"));
    assert!(
        show(&msgs[0].stored).contains(" with ESMTPS id "),
        "RFC 3848: the Received protocol should be ESMTPS: {}",
        show(&msgs[0].stored)
    );
}
