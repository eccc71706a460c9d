//! The RFC test vectors on both sides, the failure paths, and property
//! tests of the messages.

use base64::Engine;
use proptest::prelude::*;

use super::client::Params;
use super::server::{Failure, ScramServer};
use super::*;
use crate::sasl::{ChannelBinding, ClientExchange};

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn client(hash: ScramHash, nonce: &str) -> ScramClient {
    ScramClient::new(Params {
        hash,
        username: "user",
        password: "pencil",
        authzid: None,
        nonce,
        bind: None,
        could_bind: false,
        max_iterations: DEFAULT_MAX_ITERATIONS,
    })
    .unwrap()
}

/// Runs `vector` on the client, then on the server, checking every
/// message as the RFC gives it.
fn vector(hash: ScramHash, salt: &str, snonce: &str, exchange: [&str; 4]) {
    let [c1, s1, c2, s2] = exchange;
    let cnonce = c1.rsplit_once("r=").unwrap().1;
    let mut c = client(hash, cnonce);
    assert_eq!(c.initial_response().unwrap().unwrap(), c1.as_bytes());
    assert_eq!(c.respond(s1.as_bytes()).unwrap(), c2.as_bytes());
    assert_eq!(c.respond(s2.as_bytes()).unwrap(), b"");
    c.complete().unwrap();

    let creds = ScramCredentials::derive(hash, "pencil", &b64(salt), 4096).unwrap();
    let s = ScramServer::client_first(hash, false, c1.as_bytes(), None, false).unwrap();
    assert_eq!(s.username(), "user");
    let (s, first) = s.server_first(creds, snonce);
    assert_eq!(first, s1);
    let (last, s) = s.verify(c2.as_bytes()).unwrap();
    assert_eq!(last, s2);
    assert_eq!(s.authzid(), None);
}

#[test]
fn scram_sha_256_example_rfc7677_3() {
    vector(
        ScramHash::Sha256,
        "W22ZaJ0SNY7soEsUEjb6gQ==",
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        [
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ],
    );
}

#[test]
fn scram_sha_1_example_rfc5802_5() {
    vector(
        ScramHash::Sha1,
        "QSXCR+Q6sek8bf92",
        "3rfcNHYJY1ZVvWVs7j",
        [
            "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        ],
    );
}

const S1: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

#[test]
fn client_refuses_a_wrong_server_signature_rfc5802_9() {
    let mut c = client(ScramHash::Sha256, "rOprNGfwEbeRWgbNEkqO");
    c.initial_response().unwrap();
    c.respond(S1.as_bytes()).unwrap();
    assert_eq!(
        c.respond(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        Err(SaslError::ServerUnverified)
    );
    assert_eq!(c.complete(), Err(SaslError::ServerUnverified));
}

#[test]
fn client_refuses_success_without_a_server_signature_rfc5802_9() {
    let mut c = client(ScramHash::Sha256, "rOprNGfwEbeRWgbNEkqO");
    c.initial_response().unwrap();
    c.respond(S1.as_bytes()).unwrap();
    assert_eq!(c.complete(), Err(SaslError::ServerUnverified));
}

#[test]
fn client_checks_nonce_and_iterations_rfc7677_4() {
    let mut c = client(ScramHash::Sha256, "abc");
    c.initial_response().unwrap();
    // The server must extend our nonce, not replace or repeat it.
    assert!(c.respond(b"r=xyz1,s=QSXCR+Q6sek8bf92,i=4096").is_err());
    let mut c = client(ScramHash::Sha256, "abc");
    c.initial_response().unwrap();
    assert!(c.respond(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096").is_err());
    let mut c = client(ScramHash::Sha256, "abc");
    c.initial_response().unwrap();
    assert_eq!(
        c.respond(b"r=abcd,s=QSXCR+Q6sek8bf92,i=4095"),
        Err(SaslError::Unusable("fewer than 4096 iterations"))
    );
    let mut c = client(ScramHash::Sha256, "abc");
    c.initial_response().unwrap();
    assert_eq!(
        c.respond(b"r=abcd,s=QSXCR+Q6sek8bf92,i=4000000000"),
        Err(SaslError::Unusable("more iterations than allowed"))
    );
    let mut c = client(ScramHash::Sha256, "abc");
    c.initial_response().unwrap();
    c.respond(S1.replace("rOprNGfwEbeRWgbNEkqO", "abc").as_bytes())
        .unwrap();
    assert_eq!(
        c.respond(b"e=invalid-proof"),
        Err(SaslError::Peer("invalid-proof".into()))
    );
}

#[test]
fn server_refuses_a_wrong_proof_rfc5802_3() {
    let creds = ScramCredentials::derive(ScramHash::Sha256, "other", b"salt", 4096).unwrap();
    let s = ScramServer::client_first(
        ScramHash::Sha256,
        false,
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        None,
        false,
    )
    .unwrap();
    let (s, _) = s.server_first(creds, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    let c2 = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    assert_eq!(s.verify(c2.as_bytes()).unwrap_err(), Failure::Invalid);
}

#[test]
fn server_checks_echoed_header_and_nonce_rfc5802_7() {
    let creds = || ScramCredentials::derive(ScramHash::Sha256, "pencil", b"salt", 4096).unwrap();
    let start = || {
        ScramServer::client_first(ScramHash::Sha256, false, b"n,,n=user,r=abc", None, false)
            .unwrap()
            .server_first(creds(), "def")
            .0
    };
    // c= must be base64("n,,"): "biws".
    assert_eq!(
        start().verify(b"c=eSws,r=abcdef,p=AAAA").unwrap_err(),
        Failure::Invalid
    );
    assert!(matches!(
        start().verify(b"c=biws,r=abcxyz,p=AAAA").unwrap_err(),
        Failure::Malformed(_)
    ));
    assert!(matches!(
        start().verify(b"c=biws,r=abcdef").unwrap_err(),
        Failure::Malformed(_)
    ));
}

#[test]
fn channel_binding_flags_rfc5802_6() {
    let cb = ChannelBinding::tls_exporter([9u8; 32]).unwrap();
    let first = |msg: &[u8], plus, cb, offers| {
        ScramServer::client_first(ScramHash::Sha256, plus, msg, cb, offers).map(|_| ())
    };
    // p= without binding data, or on a mechanism without -PLUS: refused.
    assert!(first(b"p=tls-exporter,,n=u,r=a", true, None, true).is_err());
    assert!(first(b"p=tls-exporter,,n=u,r=a", false, Some(&cb), true).is_err());
    assert!(first(b"p=tls-unique,,n=u,r=a", true, Some(&cb), true).is_err());
    assert!(first(b"p=tls-exporter,,n=u,r=a", true, Some(&cb), true).is_ok());
    // -PLUS without p=: refused.
    assert!(first(b"n,,n=u,r=a", true, Some(&cb), true).is_err());
    // y to a server that offered -PLUS and can bind: a downgrade.
    assert_eq!(
        first(b"y,,n=u,r=a", false, Some(&cb), true),
        Err(Failure::Invalid)
    );
    assert!(first(b"y,,n=u,r=a", false, Some(&cb), false).is_ok());
    assert!(first(b"y,,n=u,r=a", false, None, true).is_ok());
}

#[test]
fn channel_binding_round_trip_rfc5802_6() {
    let cb = ChannelBinding::tls_exporter([9u8; 32]).unwrap();
    let mut c = ScramClient::new(Params {
        hash: ScramHash::Sha256,
        username: "u",
        password: "p",
        authzid: Some("admin"),
        nonce: "abc",
        bind: Some(&cb),
        could_bind: true,
        max_iterations: DEFAULT_MAX_ITERATIONS,
    })
    .unwrap();
    let c1 = c.initial_response().unwrap().unwrap();
    assert!(c1.starts_with(b"p=tls-exporter,a=admin,"));
    let s = ScramServer::client_first(ScramHash::Sha256, true, &c1, Some(&cb), true).unwrap();
    assert_eq!(s.authzid(), Some("admin"));
    let creds = ScramCredentials::derive(ScramHash::Sha256, "p", b"NaCl", 4096).unwrap();
    let (s, s1) = s.server_first(creds, "xyz");
    let c2 = c.respond(s1.as_bytes()).unwrap();
    let (s2, _) = s.verify(&c2).unwrap();
    c.respond(s2.as_bytes()).unwrap();
    c.complete().unwrap();
}

#[test]
fn saslprep_of_the_password_rfc4013_2() {
    // U+00A0 (no-break space) maps to a space; U+00AD (soft hyphen) to
    // nothing (RFC 4013 §2.1): both give the same keys as the plain form.
    let a = ScramCredentials::derive(ScramHash::Sha256, "pen\u{a0}cil", b"s", 4096).unwrap();
    let b = ScramCredentials::derive(ScramHash::Sha256, "pen cil", b"s", 4096).unwrap();
    let c = ScramCredentials::derive(ScramHash::Sha256, "pen\u{ad}cil", b"s", 4096).unwrap();
    let d = ScramCredentials::derive(ScramHash::Sha256, "pencil", b"s", 4096).unwrap();
    assert_eq!(a, b);
    assert_eq!(c, d);
    // A control character is prohibited (RFC 4013 §2.3).
    assert!(ScramCredentials::derive(ScramHash::Sha256, "pen\u{7}cil", b"s", 4096).is_err());
    assert!(ScramCredentials::derive(ScramHash::Sha256, "pencil", b"s", 4095).is_err());
    assert!(ScramCredentials::derive(ScramHash::Sha256, "pencil", b"", 4096).is_err());
    assert!(!format!("{d:?}").contains("stored"));
}

#[test]
fn stored_credentials_check_lengths() {
    let d = ScramCredentials::derive(ScramHash::Sha1, "pencil", b"s", 4096).unwrap();
    let again = ScramCredentials::new(
        ScramHash::Sha1,
        d.salt().to_vec(),
        d.iterations(),
        d.stored_key().to_vec(),
        d.server_key().to_vec(),
    )
    .unwrap();
    assert_eq!(d, again);
    assert!(ScramCredentials::new(
        ScramHash::Sha256,
        b"s".to_vec(),
        4096,
        vec![0; 20],
        vec![0; 20]
    )
    .is_err());
}

fn saslname() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9=,é@. ]{1,12}"
}

fn nonce() -> impl Strategy<Value = String> {
    "[!-+--~]{1,24}"
}

fn gs2() -> impl Strategy<Value = Gs2Header> {
    (
        prop_oneof![
            Just(CbindFlag::None),
            Just(CbindFlag::ClientOnly),
            "[a-z0-9.-]{1,16}".prop_map(CbindFlag::Required),
        ],
        proptest::option::of(saslname()),
    )
        .prop_map(|(cbind, authzid)| Gs2Header { cbind, authzid })
}

proptest! {
    #[test]
    fn client_first_round_trips(gs2 in gs2(), username in saslname(), nonce in nonce()) {
        let m = ClientFirst { gs2, username, nonce };
        let text = m.to_text();
        let (parsed, _, bare) = ClientFirst::parse(&text).unwrap();
        prop_assert_eq!(bare, m.bare());
        prop_assert_eq!(parsed, m);
    }

    #[test]
    fn server_first_round_trips(nonce in nonce(), salt in proptest::collection::vec(any::<u8>(), 1..40), iterations in 1u32..) {
        let m = ServerFirst { nonce, salt, iterations };
        prop_assert_eq!(ServerFirst::parse(&m.to_text()).unwrap(), m);
    }

    #[test]
    fn client_final_round_trips(cb in proptest::collection::vec(any::<u8>(), 0..40), nonce in nonce(), proof in proptest::collection::vec(any::<u8>(), 1..40)) {
        let m = ClientFinal { channel_binding: cb, nonce, proof };
        let text = m.to_text();
        let (parsed, without) = ClientFinal::parse(&text).unwrap();
        prop_assert_eq!(without, m.without_proof());
        prop_assert_eq!(parsed, m);
    }

    #[test]
    fn server_final_round_trips(v in proptest::collection::vec(any::<u8>(), 1..40), e in "[a-z-]{1,20}", error: bool) {
        let m = if error { ServerFinal::Error(e) } else { ServerFinal::Verifier(v) };
        prop_assert_eq!(ServerFinal::parse(&m.to_text()).unwrap(), m);
    }

    #[test]
    fn no_panic_on_arbitrary_messages(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = ClientFirst::parse(&text);
        let _ = ServerFirst::parse(&text);
        let _ = ClientFinal::parse(&text);
        let _ = ServerFinal::parse(&text);
        let _ = unescape_saslname(&text);
        if let Ok(s) = ScramServer::client_first(ScramHash::Sha256, false, &bytes, None, false) {
            let creds = ScramCredentials::derive(ScramHash::Sha1, "p", b"s", 4096).unwrap();
            let _ = s.server_first(creds, "n").0.verify(&bytes);
        }
        let mut c = client(ScramHash::Sha256, "abc");
        c.initial_response().unwrap();
        let _ = c.respond(&bytes);
        let _ = c.respond(&bytes);
    }
}
