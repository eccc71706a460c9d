//! SASL beyond PLAIN/LOGIN/CRAM-MD5, client machine against server machine
//! in memory: SCRAM (RFC 5802, RFC 7677), EXTERNAL (RFC 4422 Appendix A),
//! and mechanisms the application brings on both sides.

use crate::client_support;

use std::sync::{Arc, Mutex};

use client_support::*;
use esmtp::client::{AuthConfig, AuthError, ClientCredentials, Event, MessageError, TlsPolicy};
use esmtp::ehlo::Mechanism;
use esmtp::sasl::scram::{ScramCredentials, ScramHash};
use esmtp::sasl::{ChannelBinding, ClientExchange, ClientMechanism, SaslContext, SaslError};
use esmtp::server::{self, Credentials, Server, ServerConfig};

const SALT: &[u8] = b"NaCl-of-user";

fn stored(hash: ScramHash, password: &str) -> ScramCredentials {
    ScramCredentials::derive(hash, password, SALT, 4096).unwrap()
}

fn server(offered: Vec<Mechanism>) -> ServerConfig {
    let mut s = server_config();
    s.extensions.starttls = true;
    s.extensions.auth = offered;
    s
}

fn client(creds: ClientCredentials, mechanism: Option<Mechanism>) -> esmtp::client::ClientConfig {
    let mut c = client_config();
    c.tls = TlsPolicy::Required;
    let mut a = AuthConfig::new(creds);
    a.mechanism = mechanism;
    c.auth = Some(a);
    c
}

/// The server's stored SCRAM credentials come from `lookup` (by hash); the
/// authorisation then accepts `u` acting as itself.
fn scram_policy(
    lookup: impl Fn(ScramHash) -> Option<ScramCredentials> + 'static,
) -> impl FnMut(&server::Event) -> Decision {
    move |e| match e {
        server::Event::ScramLookup {
            mechanism,
            username,
            ..
        } => {
            let (hash, _) = ScramHash::of(mechanism).unwrap();
            let found = lookup(hash).filter(|_| username == "u");
            Decision::With(Box::new(move |s: &mut Server| {
                let view = s.decision().unwrap().scram_lookup().ok().unwrap();
                match found {
                    Some(c) => view.credentials(c, "server+nonce/1").unwrap(),
                    None => view.deny(),
                }
            }))
        }
        server::Event::Auth(Credentials::Scram {
            username, authzid, ..
        }) if username == "u" && authzid.is_none() => Decision::Accept,
        server::Event::Auth(_) => Decision::Deny,
        _ => Decision::Accept,
    }
}

fn deliver(p: &mut Pair) {
    p.client
        .submit(envelope(&["b@example.org"]), &b"hi\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
}

fn scram_pair(offered: Vec<Mechanism>, password: &str, mech: Option<Mechanism>) -> Pair {
    let mut p = Pair::new(
        client(ClientCredentials::password("u", password), mech),
        server(offered),
    )
    .with_policy(scram_policy(|h| Some(stored(h, "pencil"))));
    p.client.set_sasl_nonce("client-nonce-42").unwrap();
    p
}

fn auth_failed(p: &Pair) -> Option<AuthError> {
    p.client_events.iter().find_map(|e| match e {
        Event::AuthFailed { error, .. } => Some(*error),
        _ => None,
    })
}

#[test]
fn scram_sha_256_is_the_strongest_common_mechanism_rfc7677() {
    let mut p = scram_pair(
        vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::ScramSha1,
            Mechanism::ScramSha256,
        ],
        "pencil",
        None,
    );
    deliver(&mut p);
    let c2s = p.c2s_text();
    assert!(c2s.contains("AUTH SCRAM-SHA-256 "), "{c2s}");
    assert!(p.client.is_authenticated());
    assert!(p.outcomes()[0].all_delivered());
    // The application saw the look-up, then authorised the verified user.
    assert_eq!(
        p.server_events
            .iter()
            .filter(|e| e.starts_with("ScramLookup"))
            .count(),
        1
    );
    assert!(p.server_events.iter().any(|e| e.starts_with("Auth(Scram")));
    // client-first with the command, client-final, then the server
    // signature came as a challenge answered empty (RFC 4954 §4 has no
    // success data).
    let lines: Vec<&str> = c2s.split("\r\n").collect();
    let at = lines.iter().position(|l| l.starts_with("AUTH ")).unwrap();
    assert!(
        !lines[at + 1].is_empty() && lines[at + 2].is_empty(),
        "{c2s}"
    );
    let s2c = String::from_utf8_lossy(&p.s2c).into_owned();
    assert_eq!(s2c.matches("\r\n334 ").count(), 2, "{s2c}");
    assert!(s2c.contains("\r\n235 2.7.0 "), "{s2c}");
    // Nothing secret in the events.
    assert!(!format!("{:?}", p.server_events).contains("pencil"));
}

#[test]
fn scram_sha_1_when_asked_rfc5802() {
    let mut p = scram_pair(
        vec![Mechanism::ScramSha1, Mechanism::ScramSha256],
        "pencil",
        Some(Mechanism::ScramSha1),
    );
    deliver(&mut p);
    assert!(p.c2s_text().contains("AUTH SCRAM-SHA-1 "));
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn scram_not_offered_falls_back_to_cram_md5() {
    let mut p =
        scram_pair(vec![Mechanism::Plain, Mechanism::CramMd5], "pencil", None).with_policy(|e| {
            match e {
                server::Event::Auth(c) if c.verify_cram_md5(b"pencil") => Decision::Accept,
                server::Event::Auth(_) => Decision::Deny,
                _ => Decision::Accept,
            }
        });
    deliver(&mut p);
    assert!(p.c2s_text().contains("AUTH CRAM-MD5\r\n"));
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn scram_needs_a_nonce_else_the_next_mechanism_rfc5802_5_1() {
    let mut p = Pair::new(
        client(ClientCredentials::password("u", "pencil"), None),
        server(vec![Mechanism::Plain, Mechanism::ScramSha256]),
    )
    .with_policy(|e| match e {
        server::Event::Auth(c) if c.verify_password("pencil") => Decision::Accept,
        _ => Decision::Accept,
    });
    deliver(&mut p);
    assert!(p.c2s_text().contains("AUTH PLAIN "));
    assert!(!p.c2s_text().contains("SCRAM"));
}

#[test]
fn scram_wrong_password_535_5_7_8_rfc4954_6() {
    let mut p = scram_pair(vec![Mechanism::ScramSha256], "crayon", None);
    deliver(&mut p);
    assert!(
        String::from_utf8_lossy(&p.s2c).contains("535 5.7.8 "),
        "{}",
        String::from_utf8_lossy(&p.s2c)
    );
    assert_eq!(auth_failed(&p), Some(AuthError::InvalidCredentials));
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::Auth(AuthError::InvalidCredentials))
    );
    assert!(!p.c2s_text().contains("MAIL"));
    // The proof failed in the machine: the application was never asked
    // to authorise.
    assert!(!p.server_events.iter().any(|e| e.starts_with("Auth(")));
    // It heard of the failure, to count it (RFC 4954 §6 throttling).
    assert!(p
        .server_events
        .iter()
        .any(|e| e.starts_with("ScramFailed") && e.contains("Some(\"u\")")));
}

#[test]
fn scram_unknown_user_535_rfc5802_5() {
    let mut p = Pair::new(
        client(ClientCredentials::password("nobody", "pencil"), None),
        server(vec![Mechanism::ScramSha256]),
    )
    .with_policy(scram_policy(|h| Some(stored(h, "pencil"))));
    p.client.set_sasl_nonce("n").unwrap();
    deliver(&mut p);
    assert_eq!(auth_failed(&p), Some(AuthError::InvalidCredentials));
}

/// A server that stole only `StoredKey` accepts any proof it can check,
/// but cannot sign: the client cancels (`*`, answered 501) and sends no
/// mail (RFC 5802 §9, RFC 4954 §4).
#[test]
fn scram_server_signature_mismatch_client_aborts_rfc5802_9() {
    let real = stored(ScramHash::Sha256, "pencil");
    let forged = ScramCredentials::new(
        ScramHash::Sha256,
        real.salt().to_vec(),
        real.iterations(),
        real.stored_key().to_vec(),
        vec![0u8; 32],
    )
    .unwrap();
    let mut p = scram_pair(vec![Mechanism::ScramSha256], "pencil", None)
        .with_policy(scram_policy(move |_| Some(forged.clone())));
    deliver(&mut p);
    let s2c = String::from_utf8_lossy(&p.s2c).into_owned();
    assert!(p.c2s_text().contains("\r\n*\r\n"), "{}", p.c2s_text());
    assert!(s2c.contains("501 5.7.0 Authentication cancelled"), "{s2c}");
    assert_eq!(auth_failed(&p), Some(AuthError::ServerUnverified));
    assert!(!p.client.is_authenticated());
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn scram_plus_binds_to_the_channel_rfc5802_6() {
    let offered = vec![Mechanism::ScramSha256, Mechanism::ScramSha256Plus];
    let cb = ChannelBinding::tls_exporter([5u8; 32]).unwrap();
    let mut p = scram_pair(offered.clone(), "pencil", None);
    p.client.set_channel_binding(cb.clone());
    p.server.set_channel_binding(cb.clone());
    deliver(&mut p);
    assert!(p.c2s_text().contains("AUTH SCRAM-SHA-256-PLUS "));
    assert!(p.outcomes()[0].all_delivered());

    // Another channel on each end (a man-in-the-middle between two TLS
    // sessions): the echoed binding differs and the proof is refused.
    let mut p = scram_pair(offered, "pencil", None);
    p.client.set_channel_binding(cb);
    p.server
        .set_channel_binding(ChannelBinding::tls_exporter([6u8; 32]).unwrap());
    deliver(&mut p);
    assert_eq!(auth_failed(&p), Some(AuthError::InvalidCredentials));
}

#[test]
fn external_with_and_without_authzid_rfc4422_appendix_a() {
    for (authzid, wire) in [
        (None, "AUTH EXTERNAL =\r\n"),
        (
            Some("admin@example.org"),
            "AUTH EXTERNAL YWRtaW5AZXhhbXBsZS5vcmc=\r\n",
        ),
    ] {
        let seen = Arc::new(Mutex::new(None));
        let seen2 = Arc::clone(&seen);
        let mut p = Pair::new(
            client(
                ClientCredentials::external(authzid.map(str::to_owned)),
                None,
            ),
            server(vec![Mechanism::Plain, Mechanism::External]),
        )
        .with_policy(move |e| {
            if let server::Event::Auth(Credentials::External { authzid }) = e {
                *seen2.lock().unwrap() = Some(authzid.clone());
            }
            Decision::Accept
        });
        deliver(&mut p);
        assert!(p.c2s_text().contains(wire), "{}", p.c2s_text());
        assert_eq!(
            *seen.lock().unwrap(),
            Some(authzid.map(str::to_owned)),
            "{wire}"
        );
        assert!(p.outcomes()[0].all_delivered());
    }
}

#[test]
fn external_not_offered_fails_locally() {
    let mut p = Pair::new(
        client(ClientCredentials::external(None), None),
        server(vec![Mechanism::Plain]),
    );
    deliver(&mut p);
    assert_eq!(auth_failed(&p), Some(AuthError::NoMechanism));
    assert!(!p.c2s_text().contains("AUTH"));
}

/// A toy two-step mechanism on both sides: the server sends a word, the
/// client answers it reversed, the server sends "ok?", the client "yes".
#[derive(Debug)]
struct Toy {
    names: Vec<Mechanism>,
    fail: bool,
}

#[derive(Debug)]
struct ToyExchange {
    fail: bool,
}

impl ClientExchange for ToyExchange {
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(None)
    }
    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if self.fail {
            return Err(SaslError::Mechanism("no ticket".into()));
        }
        Ok(match challenge {
            b"ok?" => b"yes".to_vec(),
            c => c.iter().rev().copied().collect(),
        })
    }
}

impl ClientMechanism for Toy {
    fn mechanisms(&self) -> &[Mechanism] {
        &self.names
    }
    fn start(
        &self,
        _: &Mechanism,
        _: &SaslContext<'_>,
    ) -> Result<Box<dyn ClientExchange>, SaslError> {
        Ok(Box::new(ToyExchange { fail: self.fail }))
    }
}

fn toy() -> Mechanism {
    "X-TOY".parse().unwrap()
}

fn toy_pair(fail: bool) -> Pair {
    let creds = ClientCredentials::custom(Arc::new(Toy {
        names: vec![toy()],
        fail,
    }));
    let mut steps = 0;
    Pair::new(client(creds, None), server(vec![Mechanism::Plain, toy()])).with_policy(move |e| {
        let server::Event::AuthStep { response, .. } = e else {
            return Decision::Accept;
        };
        steps += 1;
        let response = response.as_ref().map(|r| r.as_bytes().to_vec());
        let next: Option<&'static [u8]> = match (steps, response.as_deref()) {
            (1, None) => Some(b"olleh"),
            (2, Some(b"hello")) => Some(b"ok?"),
            (3, Some(b"yes")) => None,
            _ => return Decision::Deny,
        };
        match next {
            Some(challenge) => Decision::With(Box::new(move |s: &mut Server| {
                s.decision()
                    .unwrap()
                    .auth_step()
                    .ok()
                    .unwrap()
                    .challenge(challenge)
            })),
            None => Decision::Accept,
        }
    })
}

#[test]
fn application_mechanism_on_both_sides_rfc4954_4() {
    let mut p = toy_pair(false);
    deliver(&mut p);
    let c2s = p.c2s_text();
    assert!(c2s.contains("AUTH X-TOY\r\naGVsbG8=\r\neWVz\r\n"), "{c2s}");
    assert!(p.client.is_authenticated());
    assert!(p.outcomes()[0].all_delivered());
    assert_eq!(
        p.server_events
            .iter()
            .filter(|e| e.starts_with("AuthStep"))
            .count(),
        3
    );
}

#[test]
fn application_mechanism_cancelled_501_rfc4954_4() {
    let mut p = toy_pair(true);
    deliver(&mut p);
    assert!(
        p.c2s_text().contains("AUTH X-TOY\r\n*\r\n"),
        "{}",
        p.c2s_text()
    );
    assert!(String::from_utf8_lossy(&p.s2c).contains("501 5.7.0 Authentication cancelled"));
    assert_eq!(auth_failed(&p), Some(AuthError::Other));
    assert!(!p.c2s_text().contains("MAIL"));
}

/// A server that says 235 before proving itself (no server-final) is not
/// trusted: the client quits without sending mail (RFC 5802 §9).
#[test]
fn scram_success_without_server_signature_is_refused_rfc5802_9() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut c = client(ClientCredentials::password("u", "pencil"), None);
    c.tls = TlsPolicy::None;
    c.allow_plaintext_auth = true;
    let mut s = Script::new(c);
    s.client.set_sasl_nonce("abc").unwrap();
    s.client
        .submit(envelope(&["b@example.org"]), &b"hi\r\n"[..])
        .unwrap();
    assert_eq!(s.feed(b"220 mx\r\n"), "EHLO client.example\r\n");
    let out = s.feed(b"250-mx\r\n250 AUTH SCRAM-SHA-256\r\n");
    assert_eq!(
        out,
        format!("AUTH SCRAM-SHA-256 {}\r\n", b64("n,,n=u,r=abc"))
    );
    let first = b64("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096");
    let out = s.feed(format!("334 {first}\r\n").as_bytes());
    assert!(out.starts_with(&b64("c=biws,r=abcdef,p=")[..20]), "{out}");
    let out = s.feed(b"235 2.7.0 ok\r\n");
    assert_eq!(out, "QUIT\r\n");
    assert!(!s.client.is_authenticated());
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::AuthFailed {
            error: AuthError::ServerUnverified,
            ..
        }
    )));
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::Auth(AuthError::ServerUnverified))
    );
}
