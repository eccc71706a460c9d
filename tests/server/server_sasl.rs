//! The server machine's SCRAM, EXTERNAL and application-mechanism
//! exchanges, line by line (RFC 4954 §4 framing, RFC 5802, RFC 4422).

use crate::support;

use base64::Engine;
use esmtp::ehlo::Mechanism;
use esmtp::sasl::scram::{ScramCredentials, ScramHash};
use esmtp::server::{ApiError, Credentials, DecisionKind, Event, ServerConfig};
use support::{config, Driver};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn scram_config() -> ServerConfig {
    let mut cfg = config();
    cfg.extensions.auth = vec![
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::External,
        "X-TOY".parse().unwrap(),
    ];
    cfg.extensions.auth_requires_tls = false;
    cfg
}

/// A manual session after EHLO.
fn session() -> Driver {
    let mut d = Driver::manual(scram_config());
    d.server.receive(b"EHLO c.example\r\n");
    let (e, _) = d.until_decision();
    assert!(matches!(e, Some(Event::Hello { .. })));
    d.server.accept().unwrap();
    let caps = d.take();
    assert!(
        caps.contains("AUTH SCRAM-SHA-256 SCRAM-SHA-1 EXTERNAL X-TOY\r\n"),
        "{caps}"
    );
    d
}

const C1: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const SNONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

fn pencil() -> ScramCredentials {
    let salt = base64::engine::general_purpose::STANDARD
        .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
        .unwrap();
    ScramCredentials::derive(ScramHash::Sha256, "pencil", &salt, 4096).unwrap()
}

/// The RFC 7677 §3 exchange through the machine, without an initial
/// response: `334 `, then each message a line.
#[test]
fn scram_sha_256_exchange_line_by_line_rfc7677_3() {
    let mut d = session();
    assert_eq!(d.send(b"AUTH SCRAM-SHA-256\r\n"), "334 \r\n");
    d.server.receive(format!("{}\r\n", b64(C1)).as_bytes());
    let (e, _) = d.until_decision();
    let Some(Event::ScramLookup {
        mechanism,
        username,
        authzid,
    }) = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (mechanism, username.as_str(), authzid),
        (Mechanism::ScramSha256, "user", None)
    );
    assert_eq!(
        d.server.decision().unwrap().kind(),
        DecisionKind::ScramLookup
    );
    let lookup = d.server.decision().unwrap().scram_lookup().ok().unwrap();
    lookup.credentials(pencil(), SNONCE).unwrap();
    let s1 =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    assert_eq!(d.take(), format!("334 {}\r\n", b64(s1)));
    let c2 = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    let s2 = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    assert_eq!(
        d.send(format!("{}\r\n", b64(c2)).as_bytes()),
        format!("334 {}\r\n", b64(s2))
    );
    d.server.receive(b"\r\n");
    let (e, _) = d.until_decision();
    assert!(
        matches!(&e, Some(Event::Auth(Credentials::Scram { username, .. })) if username == "user"),
        "{e:?}"
    );
    d.server.accept().unwrap();
    assert_eq!(d.take(), "235 2.7.0 Authentication successful\r\n");
    assert!(d.server.is_authenticated());
}

#[test]
fn scram_cancel_at_each_step_501_rfc4954_4() {
    let mut d = session();
    // `*` is no initial response (RFC 4954 §8: base64 or `=`).
    assert_eq!(
        d.send(b"AUTH SCRAM-SHA-256 *\r\n"),
        "501 5.5.2 invalid base64\r\n"
    );
    d.send(b"AUTH SCRAM-SHA-256\r\n");
    assert_eq!(d.send(b"*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
    // At client-final, after the look-up.
    d.server
        .receive(format!("AUTH SCRAM-SHA-256 {}\r\n", b64(C1)).as_bytes());
    d.until_decision();
    let lookup = d.server.decision().unwrap().scram_lookup().ok().unwrap();
    lookup.credentials(pencil(), SNONCE).unwrap();
    d.take();
    assert_eq!(d.send(b"*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
    assert!(!d.server.is_authenticated());
}

#[test]
fn scram_malformed_client_first_501_5_5_2_rfc4954_4() {
    let mut d = session();
    let out = d.send(format!("AUTH SCRAM-SHA-256 {}\r\n", b64("n,,r=x,n=u")).as_bytes());
    assert!(out.starts_with("501 5.5.2 "), "{out}");
    // m= is a mandatory extension nobody knows (RFC 5802 §7).
    let out = d.send(format!("AUTH SCRAM-SHA-256 {}\r\n", b64("n,,m=x,n=u,r=x")).as_bytes());
    assert!(out.starts_with("501 5.5.2 "), "{out}");
}

#[test]
fn scram_lookup_answers_rfc5802_5() {
    let mut d = session();
    d.server
        .receive(format!("AUTH SCRAM-SHA-256 {}\r\n", b64(C1)).as_bytes());
    d.until_decision();
    // A nonce that cannot go on the wire, or credentials of another hash:
    // typed errors, the decision still pending.
    let lookup = d.server.decision().unwrap().scram_lookup().ok().unwrap();
    assert_eq!(
        lookup.credentials(pencil(), "a,b"),
        Err(ApiError::InvalidNonce)
    );
    let sha1 = ScramCredentials::derive(ScramHash::Sha1, "pencil", b"s", 4096).unwrap();
    let lookup = d.server.decision().unwrap().scram_lookup().ok().unwrap();
    assert_eq!(
        lookup.credentials(sha1, "n"),
        Err(ApiError::ScramHashMismatch)
    );
    assert!(d.server.decision().unwrap().auth_step().is_err());
    // Accepting has nothing to go on: the exchange fails.
    d.server.accept().unwrap();
    assert_eq!(d.take(), "535 5.7.8 Authentication credentials invalid\r\n");
    // The session goes on.
    assert_eq!(d.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn scram_overlong_line_500_5_5_6_rfc4954_4() {
    let mut cfg = scram_config();
    cfg.limits.auth_line = 64;
    let mut d = Driver::new(cfg);
    d.send(b"EHLO c\r\n");
    assert_eq!(d.send(b"AUTH SCRAM-SHA-256\r\n"), "334 \r\n");
    let out = d.send(format!("{}\r\n", "A".repeat(100)).as_bytes());
    assert!(out.starts_with("500 5.5.6 "), "{out}");
}

#[test]
fn external_initial_and_continued_rfc4422_appendix_a() {
    let mut d = session();
    d.server.receive(b"AUTH EXTERNAL =\r\n");
    let (e, _) = d.until_decision();
    assert!(matches!(
        e,
        Some(Event::Auth(Credentials::External { authzid: None }))
    ));
    d.server.deny().unwrap();
    assert_eq!(d.take(), "535 5.7.8 Authentication credentials invalid\r\n");
    assert_eq!(d.send(b"AUTH EXTERNAL\r\n"), "334 \r\n");
    d.server.receive(format!("{}\r\n", b64("admin")).as_bytes());
    let (e, _) = d.until_decision();
    assert!(matches!(
        &e,
        Some(Event::Auth(Credentials::External { authzid: Some(a) })) if a == "admin"
    ));
    d.server.accept().unwrap();
    assert!(d.server.is_authenticated());
}

#[test]
fn application_mechanism_steps_as_events() {
    let mut d = session();
    d.server.receive(b"AUTH X-TOY\r\n");
    let (e, _) = d.until_decision();
    assert!(
        matches!(&e, Some(Event::AuthStep { response: None, mechanism }) if mechanism.as_str() == "X-TOY"),
        "{e:?}"
    );
    let step = d.server.decision().unwrap().auth_step().ok().unwrap();
    step.challenge(b"hello");
    assert_eq!(d.take(), "334 aGVsbG8=\r\n");
    d.server.receive(b"d29ybGQ=\r\n");
    let (e, _) = d.until_decision();
    let Some(Event::AuthStep {
        response: Some(r), ..
    }) = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(r.as_bytes(), b"world");
    assert!(!format!("{r:?}").contains("world"));
    d.server.accept().unwrap();
    assert_eq!(d.take(), "235 2.7.0 Authentication successful\r\n");
    assert!(d.server.is_authenticated());
}

#[test]
fn application_mechanism_initial_response_and_refusal() {
    let mut d = session();
    d.server.receive(b"AUTH X-TOY =\r\n");
    let (e, _) = d.until_decision();
    assert!(matches!(&e, Some(Event::AuthStep { response: Some(r), .. }) if r.is_empty()));
    d.server.deny().unwrap();
    assert_eq!(d.take(), "535 5.7.8 Authentication credentials invalid\r\n");
    // Not offered: 504 as before.
    assert_eq!(
        d.send(b"AUTH GSSAPI\r\n"),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
}
