//! Byte-exact transcripts against canned server replies, for the awkward
//! servers deployed in the field: what the client writes after each read.

use crate::client_support;

use client_support::*;
use esmtp::client::{
    AuthConfig, ClientConfig, ClientCredentials, CloseReason, Event, MessageError, TlsPolicy,
};
use esmtp::ehlo::{Keyword, Mechanism};

fn plain() -> ClientConfig {
    let mut c = client_config();
    c.tls = TlsPolicy::None;
    c.chunking = false;
    // These transcripts have no TLS layer; the AUTH ones opt in to
    // authenticating in clear (tests/client_hardening.rs checks the
    // default refuses).
    c.allow_plaintext_auth = true;
    c
}

const GREETING: &[u8] = b"220 mx.example.org ESMTP\r\n";

#[test]
fn ehlo_reply_ending_in_an_empty_250_line() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.client.quit();
    assert_eq!(s.feed(GREETING), "EHLO client.example\r\n");
    let w = s.feed(b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 \r\n");
    assert_eq!(
        w,
        "MAIL FROM:<a@example.org> SIZE=3\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    );
    assert_eq!(s.feed(b"250 ok\r\n250 ok\r\n354 go\r\n"), "x\r\n.\r\n");
    assert_eq!(s.feed(b"250 queued\r\n"), "QUIT\r\n");
    assert!(s.outcomes()[0].all_delivered());
    s.feed(b"221 bye\r\n");
    assert!(s.client.is_closed());
}

#[test]
fn old_auth_equals_line_is_understood() {
    let mut c = plain();
    c.auth = Some(AuthConfig::new(ClientCredentials::password("u", "p")));
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    let w = s.feed(b"250-mx.example.org\r\n250-AUTH=LOGIN PLAIN\r\n250 8BITMIME\r\n");
    assert_eq!(w, "AUTH PLAIN AHUAcA==\r\n");
    let w = s.feed(b"235 2.7.0 ok\r\n");
    assert_eq!(w, "MAIL FROM:<a@example.org>\r\n");
}

#[test]
fn login_exchange_rfc4954_4() {
    let mut c = plain();
    c.auth = Some(
        AuthConfig::new(ClientCredentials::password("u", "p")).with_mechanism(Mechanism::Login),
    );
    let mut s = Script::new(c);
    s.feed(GREETING);
    assert_eq!(s.feed(b"250-mx\r\n250 AUTH LOGIN\r\n"), "AUTH LOGIN\r\n");
    assert_eq!(s.feed(b"334 VXNlcm5hbWU6\r\n"), "dQ==\r\n");
    assert_eq!(s.feed(b"334 UGFzc3dvcmQ6\r\n"), "cA==\r\n");
    s.feed(b"235 ok\r\n");
    assert!(s.client.is_authenticated());
}

#[test]
fn ehlo_500_falls_back_to_helo_rfc5321_3_2() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    assert_eq!(s.feed(b"500 what?\r\n"), "HELO client.example\r\n");
    // No extensions: one command at a time, no parameters.
    assert_eq!(s.feed(b"250 hello\r\n"), "MAIL FROM:<a@example.org>\r\n");
    assert_eq!(s.feed(b"250 ok\r\n"), "RCPT TO:<b@example.org>\r\n");
    assert_eq!(s.feed(b"250 ok\r\n"), "DATA\r\n");
    assert_eq!(s.feed(b"354 go\r\n"), "x\r\n.\r\n");
    s.feed(b"250 ok\r\n");
    assert!(s.outcomes()[0].all_delivered());
    assert!(s.client.capabilities().is_none());
}

#[test]
fn ehlo_502_and_554_fall_back_too_rfc1869_4_5() {
    for code in ["502", "501", "554"] {
        let mut s = Script::new(plain());
        s.feed(GREETING);
        let w = s.feed(format!("{code} no\r\n").as_bytes());
        assert_eq!(w, "HELO client.example\r\n", "{code}");
    }
}

#[test]
fn eight_bit_to_helo_server_fails_clearly() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), "\u{e9}\r\n".as_bytes())
        .unwrap();
    s.client.quit();
    s.feed(GREETING);
    s.feed(b"500 no\r\n");
    assert_eq!(s.feed(b"250 hi\r\n"), "QUIT\r\n");
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::EightBitUnsupported)
    );
}

#[test]
fn re_ehlo_after_auth_answered_503_keeps_old_capabilities() {
    let mut c = plain();
    c.auth = Some(AuthConfig::new(ClientCredentials::password("u", "p")));
    c.ehlo_after_auth = true;
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    s.feed(b"250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n");
    assert_eq!(s.feed(b"235 ok\r\n"), "EHLO client.example\r\n");
    let w = s.feed(b"503 5.5.1 already\r\n");
    assert_eq!(
        w,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    );
    assert!(s
        .client
        .capabilities()
        .unwrap()
        .supports(Keyword::Pipelining));
}

#[test]
fn recipient_101_refused_452_goes_in_a_second_transaction_rfc5321_4_5_3_1_10() {
    let mut s = Script::new(plain());
    let rcpts: Vec<String> = (0..101).map(|i| format!("r{i}@example.org")).collect();
    let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    s.client.submit(envelope(&refs), &b"x\r\n"[..]).unwrap();
    s.client.quit();
    s.feed(GREETING);
    let w = s.feed(b"250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(w.matches("RCPT TO:").count(), 101);
    assert!(w.ends_with("RCPT TO:<r100@example.org>\r\nDATA\r\n"));
    let mut replies = String::from("250 ok\r\n");
    replies.push_str(&"250 ok\r\n".repeat(100));
    replies.push_str("452 4.5.3 Too many recipients\r\n354 go\r\n");
    assert_eq!(s.feed(replies.as_bytes()), "x\r\n.\r\n");
    let w = s.feed(b"250 ok\r\n");
    assert_eq!(
        w,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<r100@example.org>\r\nDATA\r\n"
    );
    assert_eq!(s.feed(b"250 ok\r\n250 ok\r\n354 go\r\n"), "x\r\n.\r\n");
    assert_eq!(s.feed(b"250 ok\r\n"), "QUIT\r\n");
    let o = s.outcomes();
    assert!(o[0].all_delivered());
    assert_eq!(o[0].mail.len(), 2);
}

#[test]
fn replies_split_across_reads_and_several_in_one_read() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    let mut written = String::new();
    let server = b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n";
    for b in server {
        written.push_str(&s.feed(&[*b]));
    }
    assert_eq!(
        written,
        "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
    );
    // Three replies in one read, the last one split.
    assert_eq!(s.feed(b"250 ok\r\n250 ok\r\n35"), "");
    assert_eq!(s.feed(b"4 go\r\n"), "x\r\n.\r\n");
    s.feed(b"250 ok\r\n");
    assert!(s.outcomes()[0].all_delivered());
}

#[test]
fn lone_dot_after_354_when_every_recipient_failed_rfc2920_3_1() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.client
        .submit(envelope(&["c@example.org"]), &b"y\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    s.feed(b"250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(s.feed(b"250 ok\r\n550 no\r\n354 go\r\n"), ".\r\n");
    // No desynchronisation: the next transaction runs normally.
    let w = s.feed(b"554 no valid recipients\r\n");
    assert_eq!(
        w,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"
    );
    assert_eq!(s.feed(b"250 ok\r\n250 ok\r\n354 go\r\n"), "y\r\n.\r\n");
    s.feed(b"250 ok\r\n");
    let o = s.outcomes();
    assert!(!o[0].all_delivered());
    assert!(o[1].all_delivered());
}

#[test]
fn negative_mail_reply_does_not_desync_the_pipeline() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.client
        .submit(envelope(&["c@example.org"]), &b"y\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    s.feed(b"250-mx\r\n250 PIPELINING\r\n");
    // MAIL refused: RCPT and DATA get 503; no RSET needed.
    let w = s.feed(b"550 sender no\r\n503 need mail\r\n503 need mail\r\n");
    assert_eq!(
        w,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"
    );
    let o = s.outcomes();
    assert_eq!(o[0].mail[0].code().get(), 550);
}

#[test]
fn greeting_554_sends_quit_rfc5321_3_1() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    assert_eq!(s.feed(b"554 no service\r\n"), "QUIT\r\n");
    assert!(
        matches!(&s.outcomes()[0].error, Some(MessageError::SessionEnded(Some(r))) if r.code().get() == 554)
    );
    s.feed(b"221 bye\r\n");
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::Closed {
            reason: CloseReason::Refused
        }
    )));
}

#[test]
fn greeting_421_closes_at_once() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    assert_eq!(s.feed(b"421 busy\r\n"), "");
    assert!(s.client.is_closed());
    assert_eq!(s.outcomes().len(), 1);
}

#[test]
fn bytes_after_starttls_220_are_discarded_rfc3207_4_2() {
    let mut c = plain();
    c.tls = TlsPolicy::Required;
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    assert_eq!(s.feed(b"250-mx\r\n250 STARTTLS\r\n"), "STARTTLS\r\n");
    // A man in the middle appends a reply after the 220.
    assert_eq!(
        s.feed(b"220 go ahead\r\n250-injected\r\n250 PIPELINING\r\n"),
        ""
    );
    assert!(s.events.iter().any(|e| matches!(e, Event::StartTls)));
    assert_eq!(s.feed(b"250 more injected\r\n"), "");
    s.client.tls_established().unwrap();
    assert_eq!(s.drain(), "EHLO client.example\r\n");
    assert!(s.client.capabilities().is_none());
    // Without PIPELINING from the real server, MAIL goes alone.
    assert_eq!(
        s.feed(b"250-mx\r\n250 8BITMIME\r\n"),
        "MAIL FROM:<a@example.org>\r\n"
    );
}

#[test]
fn starttls_refused_under_required_policy_fails_messages() {
    let mut c = plain();
    c.tls = TlsPolicy::Required;
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    s.feed(b"250-mx\r\n250 STARTTLS\r\n");
    assert_eq!(s.feed(b"454 TLS not available\r\n"), "QUIT\r\n");
    assert_eq!(s.outcomes()[0].error, Some(MessageError::TlsRequired));
}

#[test]
fn unsolicited_421_ends_the_session() {
    let mut s = Script::new(plain());
    s.feed(GREETING);
    s.feed(b"250 mx\r\n");
    assert!(s.client.is_idle());
    s.feed(b"421 4.3.0 going down\r\n");
    assert!(s.client.is_closed());
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::Closed {
            reason: CloseReason::ServiceClosing
        }
    )));
}

#[test]
fn garbage_reply_desynchronises_cleanly() {
    let mut s = Script::new(plain());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(b"hello there\r\n");
    assert!(s.client.is_closed());
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::SessionEnded(None))
    );
}

#[test]
fn cram_md5_challenge_response_rfc2195() {
    let mut c = plain();
    c.auth = Some(AuthConfig::new(ClientCredentials::password(
        "tim",
        "tanstaaftanstaaf",
    )));
    let mut s = Script::new(c);
    s.feed(GREETING);
    assert_eq!(
        s.feed(b"250-mx\r\n250 AUTH PLAIN CRAM-MD5\r\n"),
        "AUTH CRAM-MD5\r\n"
    );
    let w = s.feed(b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    assert_eq!(w, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
}

#[test]
fn auth_temporary_failure_454_is_typed() {
    let mut c = plain();
    c.auth = Some(AuthConfig::new(ClientCredentials::password("u", "p")));
    let mut s = Script::new(c);
    s.feed(GREETING);
    s.feed(b"250-mx\r\n250 AUTH PLAIN\r\n");
    assert_eq!(s.feed(b"454 4.7.0 try later\r\n"), "QUIT\r\n");
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::AuthFailed {
            error: esmtp::client::AuthError::Temporary,
            ..
        }
    )));
}
