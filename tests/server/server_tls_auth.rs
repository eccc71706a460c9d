//! STARTTLS (RFC 3207) and AUTH (RFC 4954) on the server machine.

use crate::support;

#[path = "../../src/sasl/md5.rs"]
#[allow(dead_code)]
mod md5;

use base64::Engine;
use esmtp::ehlo::Mechanism;
use esmtp::server::{CloseReason, Credentials, Event, ServerConfig};
use support::{codes, config, ehlo, Driver};

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn tls_config() -> ServerConfig {
    let mut cfg = config();
    cfg.extensions.starttls = true;
    cfg.extensions.auth = vec![Mechanism::Plain, Mechanism::Login];
    cfg.extensions.requiretls = true;
    cfg
}

fn auth_config() -> ServerConfig {
    let mut cfg = config();
    cfg.extensions.auth = vec![
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ];
    cfg.extensions.auth_requires_tls = false;
    cfg
}

/// Drives STARTTLS to the handshake; returns the driver in auto mode.
fn start_tls(d: &mut Driver, extra: &[u8]) -> String {
    let mut input = b"STARTTLS\r\n".to_vec();
    input.extend_from_slice(extra);
    let out = d.send(&input);
    assert_eq!(d.count("StartTls"), 1, "{out}");
    out
}

#[test]
fn starttls_220_then_event_after_the_reply_rfc3207_4() {
    let mut d = ehlo(tls_config());
    let out = start_tls(&mut d, b"");
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    d.server.tls_established().unwrap();
    assert!(d.server.is_tls());
}

#[test]
fn starttls_injection_never_executed_rfc3207_5_cve_2011_0411() {
    let mut d = ehlo(tls_config());
    let out = start_tls(
        &mut d,
        b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<v@y.example>\r\n",
    );
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    // More plaintext arriving before the handshake completes is dropped too.
    assert_eq!(d.send(b"RSET\r\n"), "");
    d.server.tls_established().unwrap();
    d.pump();
    assert_eq!(d.take(), "", "nothing answered from the plaintext phase");
    assert_eq!(d.count("Mail"), 0);
    assert_eq!(d.count("Rcpt"), 0);
    // RFC 3207 §4.2: the session starts over and needs a new EHLO.
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example>\r\n"),
        "503 5.5.1 Send HELO/EHLO first\r\n"
    );
    assert_eq!(d.server.hello(), None);
}

#[test]
fn starttls_not_offered_again_and_refused_under_tls_rfc3207_4_2() {
    let mut d = ehlo(tls_config());
    start_tls(&mut d, b"");
    d.server.tls_established().unwrap();
    let caps = d.send(b"EHLO c.example\r\n");
    assert!(!caps.contains("STARTTLS"), "{caps}");
    assert_eq!(d.send(b"STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
}

#[test]
fn auth_offered_only_after_tls_when_configured_rfc4954_4() {
    let mut d = Driver::new(tls_config());
    let caps = d.send(b"EHLO c.example\r\n");
    assert!(caps.contains("250-STARTTLS\r\n"), "{caps}");
    assert!(!caps.contains("AUTH"), "{caps}");
    assert_eq!(
        d.send(b"AUTH PLAIN AHUAcA==\r\n"),
        "530 5.7.0 Must issue a STARTTLS command first\r\n"
    );
    start_tls(&mut d, b"");
    d.server.tls_established().unwrap();
    let caps = d.send(b"EHLO c.example\r\n");
    assert!(caps.contains("AUTH PLAIN LOGIN"), "{caps}");
    assert_eq!(
        d.send(b"AUTH PLAIN AHUAcA==\r\n"),
        "235 2.7.0 Authentication successful\r\n"
    );
}

#[test]
fn requiretls_only_after_tls_rfc8689_4() {
    let mut d = ehlo(tls_config());
    let out = d.send(b"MAIL FROM:<a@b.example> REQUIRETLS\r\n");
    assert_eq!(out, "530 5.7.10 REQUIRETLS needs a TLS session\r\n");
    start_tls(&mut d, b"");
    d.server.tls_established().unwrap();
    let caps = d.send(b"EHLO c.example\r\n");
    assert!(caps.contains("-REQUIRETLS\r\n") || caps.contains(" REQUIRETLS\r\n"));
    assert_eq!(
        d.send(b"MAIL FROM:<a@b.example> REQUIRETLS\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn starttls_in_transaction_503_rfc3207_4() {
    let mut d = ehlo(tls_config());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nSTARTTLS\r\n");
    assert!(
        out.ends_with("503 5.5.1 Bad sequence of commands\r\n"),
        "{out}"
    );
    assert_eq!(d.count("StartTls"), 0);
}

#[test]
fn starttls_not_offered_502_rfc3207() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"STARTTLS\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
}

#[test]
fn tls_failure_ends_session_rfc3207_4_1() {
    let mut d = ehlo(tls_config());
    start_tls(&mut d, b"");
    d.server.tls_failed().unwrap();
    d.pump();
    assert_eq!(d.count("Closed { reason: TlsFailed }"), 1);
    assert!(d.server.tls_established().is_err());
}

#[test]
fn tls_established_without_starttls_is_api_error() {
    let mut d = ehlo(tls_config());
    assert!(d.server.tls_established().is_err());
    assert!(d.server.tls_failed().is_err());
}

#[test]
fn auth_plain_with_334_challenge_rfc4954_4() {
    let mut d = ehlo(auth_config());
    assert_eq!(d.send(b"AUTH PLAIN\r\n"), "334 \r\n");
    let out = d.send(format!("{}\r\n", b64(b"\0tim\0tanstaaftanstaaf")).as_bytes());
    assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    assert!(d.server.is_authenticated());
}

#[test]
fn auth_plain_initial_response_rfc4954_4() {
    let mut d = Driver::manual(auth_config());
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.auto = false;
    d.server
        .receive(format!("AUTH PLAIN {}\r\n", b64(b"\0tim\0secret")).as_bytes());
    match d.event() {
        Some(Event::Auth(c)) => {
            assert_eq!(c.mechanism(), Mechanism::Plain);
            assert_eq!(c.username(), Some("tim"));
            assert!(c.verify_password("secret"));
            assert!(!format!("{c:?}").contains("secret"));
        }
        e => panic!("{e:?}"),
    }
    d.server.deny().unwrap();
    assert_eq!(d.take(), "535 5.7.8 Authentication credentials invalid\r\n");
    assert!(!d.server.is_authenticated());
}

#[test]
fn auth_equals_sign_is_an_empty_initial_response_rfc4954_4() {
    let mut d = ehlo(auth_config());
    // An empty PLAIN response is malformed; what matters is that "=" is a
    // response (no 334 is sent).
    let out = d.send(b"AUTH PLAIN =\r\n");
    assert_eq!(codes(&out), ["501"]);
    assert!(out.starts_with("501 5.5.2 "), "{out}");
}

#[test]
fn auth_star_cancels_501_rfc4954_4() {
    let mut d = ehlo(auth_config());
    assert_eq!(d.send(b"AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(d.send(b"*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
    // Back to commands.
    assert_eq!(d.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn auth_bad_base64_501_5_5_2_rfc4954_4() {
    let mut d = ehlo(auth_config());
    d.send(b"AUTH PLAIN\r\n");
    assert_eq!(
        d.send(b"!!!notbase64\r\n"),
        "501 5.5.2 Invalid base64 data\r\n"
    );
    let out = d.send(b"AUTH PLAIN ###\r\n");
    assert!(out.starts_with("501 5.5.2 "), "{out}");
}

#[test]
fn auth_overlong_line_500_5_5_6_rfc4954_4() {
    let mut d = ehlo(auth_config());
    d.send(b"AUTH PLAIN\r\n");
    let mut line = vec![b'A'; 20_000];
    line.extend_from_slice(b"\r\nNOOP\r\n");
    let out = d.send_in(&line, 4096);
    assert_eq!(
        out,
        "500 5.5.6 Authentication Exchange line is too long\r\n250 2.0.0 OK\r\n"
    );
}

#[test]
fn auth_not_during_transaction_503_rfc4954_4() {
    let mut d = ehlo(auth_config());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nAUTH PLAIN AHUAcA==\r\n");
    assert!(out.ends_with("503 5.5.1 AUTH not permitted during a mail transaction\r\n"));
}

#[test]
fn auth_not_twice_503_rfc4954_4() {
    let mut d = ehlo(auth_config());
    d.send(b"AUTH PLAIN AHUAcA==\r\n");
    assert_eq!(
        d.send(b"AUTH PLAIN AHUAcA==\r\n"),
        "503 5.5.1 Already authenticated\r\n"
    );
}

#[test]
fn auth_before_ehlo_503_rfc4954_4() {
    let mut d = Driver::new(auth_config());
    let out = d.send(b"AUTH PLAIN AHUAcA==\r\n");
    assert_eq!(codes(&out), ["503"]);
}

#[test]
fn auth_unknown_mechanism_504_5_5_4_rfc4954_4() {
    let mut d = ehlo(auth_config());
    assert_eq!(
        d.send(b"AUTH GSSAPI\r\n"),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
}

#[test]
fn auth_not_offered_502_rfc4954() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"AUTH PLAIN AHUAcA==\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
}

#[test]
fn auth_login_two_challenges() {
    let mut d = Driver::manual(auth_config());
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.auto = false;
    assert_eq!(d.send(b"AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(
        d.send(format!("{}\r\n", b64(b"tim")).as_bytes()),
        "334 UGFzc3dvcmQ6\r\n"
    );
    d.server
        .receive(format!("{}\r\n", b64(b"hunter2")).as_bytes());
    match d.event() {
        Some(Event::Auth(c)) => {
            assert!(matches!(c, Credentials::Login { .. }));
            assert!(c.verify_password("hunter2"));
            assert!(!format!("{c:?}").contains("hunter2"));
        }
        e => panic!("{e:?}"),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn auth_cram_md5_challenge_from_the_machine_rfc2195_2() {
    let mut d = Driver::manual(auth_config());
    d.server.set_nonce(1896);
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.auto = false;
    let out = d.send(b"AUTH CRAM-MD5\r\n");
    let challenge_b64 = out
        .strip_prefix("334 ")
        .and_then(|s| s.strip_suffix("\r\n"))
        .expect("334 challenge");
    let challenge = base64::engine::general_purpose::STANDARD
        .decode(challenge_b64)
        .unwrap();
    let text = String::from_utf8(challenge.clone()).unwrap();
    assert!(
        text.starts_with("<1896.") && text.ends_with("@mx.example.org>"),
        "{text}"
    );
    let digest = hex(&md5::hmac_md5(b"tanstaaftanstaaf", &challenge));
    d.server
        .receive(format!("{}\r\n", b64(format!("tim {digest}").as_bytes())).as_bytes());
    match d.event() {
        Some(Event::Auth(c)) => {
            assert_eq!(c.username(), Some("tim"));
            assert!(c.verify_cram_md5(b"tanstaaftanstaaf"));
            assert!(!c.verify_cram_md5(b"wrong"));
        }
        e => panic!("{e:?}"),
    }
    // A second exchange gets a different challenge (RFC 2195 §2: unique).
    d.server.deny().unwrap();
    d.take();
    let again = d.send(b"AUTH CRAM-MD5\r\n");
    assert_ne!(again, out);
}

#[test]
fn auth_cram_md5_refuses_initial_response_501_rfc4954_4() {
    let mut d = ehlo(auth_config());
    let out = d.send(b"AUTH CRAM-MD5 dGVzdA==\r\n");
    assert!(out.starts_with("501 "), "{out}");
}

#[test]
fn auth_xoauth2_and_oauthbearer_rfc7628_3_1() {
    let mut d = Driver::manual(auth_config());
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.auto = false;
    let x = b64(b"user=someone@example.com\x01auth=Bearer tok3n\x01\x01");
    d.server.receive(format!("AUTH XOAUTH2 {x}\r\n").as_bytes());
    match d.event() {
        Some(Event::Auth(c)) => {
            assert_eq!(c.mechanism(), Mechanism::XOAuth2);
            assert_eq!(c.username(), Some("someone@example.com"));
            assert!(!format!("{c:?}").contains("tok3n"));
        }
        e => panic!("{e:?}"),
    }
    d.server.deny().unwrap();
    let o = b64(b"n,a=user@example.com,\x01host=mx\x01auth=Bearer s3cr3t\x01\x01");
    d.server
        .receive(format!("AUTH OAUTHBEARER {o}\r\n").as_bytes());
    match d.event() {
        Some(Event::Auth(c)) => {
            assert_eq!(c.mechanism(), Mechanism::OAuthBearer);
            assert_eq!(c.username(), Some("user@example.com"));
            assert!(!format!("{c:?}").contains("s3cr3t"));
        }
        e => panic!("{e:?}"),
    }
    d.server.accept().unwrap();
    assert!(d
        .take()
        .ends_with("235 2.7.0 Authentication successful\r\n"));
}

#[test]
fn mail_auth_param_becomes_null_when_unauthenticated_rfc4954_5() {
    let mut d = ehlo(auth_config());
    d.send(b"MAIL FROM:<a@b.example> AUTH=someone@b.example\r\n");
    let log = format!("{:?}", d.log);
    assert!(!log.contains("someone"), "{log}");
    assert!(log.contains("auth: Some(Unknown)"), "{log}");
    let mut d = ehlo(auth_config());
    d.send(b"AUTH PLAIN AHUAcA==\r\nMAIL FROM:<a@b.example> AUTH=someone@b.example\r\n");
    let log = format!("{:?}", d.log);
    assert!(log.contains("auth: Some(Mailbox("), "{log}");
    assert!(log.contains("someone"), "{log}");
}

#[test]
fn too_many_auth_failures_421_rfc4954_4() {
    let mut cfg = auth_config();
    cfg.limits.auth_attempts = 3;
    let mut d = Driver::manual(cfg);
    d.auto = true;
    d.send(b"EHLO c\r\n");
    d.auto = false;
    for _ in 0..3 {
        d.server.receive(b"AUTH PLAIN AHUAcA==\r\n");
        assert!(matches!(d.event(), Some(Event::Auth(_))));
        d.server.deny().unwrap();
    }
    let out = d.take();
    assert_eq!(codes(&out), ["535", "535", "535", "421"], "{out}");
    assert!(out.ends_with("421 4.7.0 Too many authentication failures, closing connection\r\n"));
    assert!(matches!(
        d.event(),
        Some(Event::Closed {
            reason: CloseReason::TooManyErrors
        })
    ));
}

#[test]
fn malformed_auth_responses_count_as_failures_rfc4954_4() {
    let mut cfg = auth_config();
    cfg.limits.auth_attempts = 2;
    let mut d = ehlo(cfg);
    let out = d.send(b"AUTH PLAIN =\r\nAUTH LOGIN\r\n*\r\nNOOP\r\n");
    assert_eq!(codes(&out), ["501", "334", "501", "421"], "{out}");
}
