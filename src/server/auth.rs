//! The server side of SASL in AUTH (RFC 4954): the exchanges the machine
//! runs itself — PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), XOAUTH2,
//! OAUTHBEARER (RFC 7628), EXTERNAL (RFC 4422 Appendix A) and SCRAM
//! (RFC 5802, RFC 7677) — step by step. Any other mechanism the
//! application offers is the application's (`Event::AuthStep`).

use std::fmt;

use base64::Engine;

use super::credentials::{Credentials, Secret};
use crate::ehlo::Mechanism;
use crate::sasl::scram::server::{AwaitFinal, Failure, ScramServer};
use crate::sasl::scram::ScramHash;
use crate::sasl::{ChannelBinding, SaslData};

/// Where a SASL exchange stands.
pub(crate) enum Exchange {
    /// Waiting for the one response of PLAIN, XOAUTH2, OAUTHBEARER or
    /// EXTERNAL.
    Single(Mechanism),
    /// LOGIN: waiting for the user name.
    LoginUser,
    /// LOGIN: waiting for the password.
    LoginPassword(String),
    /// CRAM-MD5: waiting for `user SP digest`.
    CramMd5(String),
    /// SCRAM: waiting for client-first.
    ScramFirst(Mechanism),
    /// SCRAM: waiting for the application's stored credentials (a
    /// decision is pending).
    ScramLookup(Mechanism, Box<ScramServer>),
    /// SCRAM: server-first sent, waiting for client-final.
    ScramFinal(Mechanism, Box<AwaitFinal>),
    /// SCRAM: the proof verified and server-final sent as a challenge (RFC
    /// 4954 §4 has no success data), waiting for the empty response.
    ScramVerified(Mechanism, Box<ScramServer>),
    /// The application's mechanism: waiting for the client's next
    /// response, or for the application's answer to the last one.
    Custom(Mechanism),
}

impl fmt::Debug for Exchange {
    /// The state only: no challenge, name or key is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, mechanism) = match self {
            Exchange::Single(m) => ("Single", Some(m)),
            Exchange::LoginUser => ("LoginUser", None),
            Exchange::LoginPassword(_) => ("LoginPassword", None),
            Exchange::CramMd5(_) => ("CramMd5", None),
            Exchange::ScramFirst(m) => ("ScramFirst", Some(m)),
            Exchange::ScramLookup(m, _) => ("ScramLookup", Some(m)),
            Exchange::ScramFinal(m, _) => ("ScramFinal", Some(m)),
            Exchange::ScramVerified(m, _) => ("ScramVerified", Some(m)),
            Exchange::Custom(m) => ("Custom", Some(m)),
        };
        let mut t = f.debug_tuple(state);
        if let Some(m) = mechanism {
            t.field(m);
        }
        t.finish()
    }
}

/// The next step of an exchange after a client response.
pub(crate) enum Step {
    /// Send `334 <base64 challenge>` and wait again.
    Challenge(Exchange, String),
    /// The exchange is complete: the application decides.
    Done(Credentials),
    /// SCRAM: ask the application for the user's stored credentials.
    Lookup(Mechanism, Box<ScramServer>),
    /// The application's mechanism: hand it the response.
    Custom(Mechanism, Option<SaslData>),
    /// The response is malformed (`501 5.5.2`).
    Malformed(&'static str),
    /// The proof (or the channel binding) is wrong (`535 5.7.8`): the
    /// application hears of it, to count it as a failed AUTH.
    Failed {
        mechanism: Mechanism,
        username: Option<String>,
    },
}

/// What an exchange may need from the session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    /// The connection's channel-binding data, from the driver.
    pub(crate) channel_binding: Option<&'a ChannelBinding>,
    /// This session offers a SCRAM `-PLUS` mechanism.
    pub(crate) offers_plus: bool,
}

const USERNAME: &str = "VXNlcm5hbWU6"; // "Username:"
const PASSWORD: &str = "UGFzc3dvcmQ6"; // "Password:"

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The first server challenge for `mechanism` when the client gave no
/// initial response: `(exchange, base64 challenge text)`; `None` for a
/// mechanism the machine does not run (the application's).
pub(crate) fn start(
    mechanism: &Mechanism,
    cram_challenge: impl FnOnce() -> String,
) -> Option<(Exchange, String)> {
    Some(match mechanism {
        Mechanism::Login => (Exchange::LoginUser, USERNAME.to_string()),
        Mechanism::CramMd5 => {
            let challenge = cram_challenge();
            let text = b64(challenge.as_bytes());
            (Exchange::CramMd5(challenge), text)
        }
        // The rest are client-first: an empty challenge asks for the
        // response (RFC 4954 §4: "334 ").
        Mechanism::Plain | Mechanism::XOAuth2 | Mechanism::OAuthBearer | Mechanism::External => {
            (Exchange::Single(mechanism.clone()), String::new())
        }
        m if ScramHash::of(m).is_some() => (Exchange::ScramFirst(m.clone()), String::new()),
        _ => return None,
    })
}

/// Feeds one decoded client response to the exchange.
pub(crate) fn step(exchange: Exchange, response: Vec<u8>, cx: Context<'_>) -> Step {
    match exchange {
        Exchange::Single(Mechanism::Plain) => plain(&response),
        Exchange::Single(Mechanism::XOAuth2) => xoauth2(&response),
        Exchange::Single(Mechanism::OAuthBearer) => oauthbearer(&response),
        Exchange::Single(Mechanism::External) => external(response),
        Exchange::Single(_) => Step::Malformed("mechanism not supported"),
        Exchange::LoginUser => match String::from_utf8(response) {
            Ok(u) if !u.is_empty() => {
                Step::Challenge(Exchange::LoginPassword(u), PASSWORD.to_string())
            }
            _ => Step::Malformed("invalid user name"),
        },
        Exchange::LoginPassword(username) => match String::from_utf8(response) {
            Ok(p) => Step::Done(Credentials::Login {
                username,
                password: Secret::new(p),
            }),
            Err(_) => Step::Malformed("invalid password encoding"),
        },
        Exchange::CramMd5(challenge) => cram_md5(challenge, response),
        Exchange::ScramFirst(m) => {
            let Some((hash, plus)) = ScramHash::of(&m) else {
                return Step::Malformed("mechanism not supported");
            };
            match ScramServer::client_first(
                hash,
                plus,
                &response,
                cx.channel_binding,
                cx.offers_plus,
            ) {
                Ok(server) => Step::Lookup(m, Box::new(server)),
                Err(f) => failure(f, m, None),
            }
        }
        Exchange::ScramFinal(m, state) => {
            let username = state.username().to_owned();
            match state.verify(&response) {
                Ok((server_final, server)) => Step::Challenge(
                    Exchange::ScramVerified(m, Box::new(server)),
                    b64(server_final.as_bytes()),
                ),
                Err(f) => failure(f, m, Some(username)),
            }
        }
        Exchange::ScramVerified(mechanism, server) if response.is_empty() => {
            Step::Done(Credentials::Scram {
                mechanism,
                username: server.username().to_owned(),
                authzid: server.authzid().map(str::to_owned),
            })
        }
        Exchange::ScramVerified(..) => Step::Malformed("expected an empty response"),
        // A response while the application is asked cannot happen: the
        // machine reads nothing until the decision is answered.
        Exchange::ScramLookup(..) => Step::Malformed("unexpected response"),
        Exchange::Custom(m) => Step::Custom(m, Some(SaslData::new(response))),
    }
}

fn failure(f: Failure, mechanism: Mechanism, username: Option<String>) -> Step {
    match f {
        Failure::Malformed(why) => Step::Malformed(why),
        Failure::Invalid => Step::Failed {
            mechanism,
            username,
        },
    }
}

/// RFC 4422 Appendix A: `external-resp = *( UTF8-char-no-nul )`, the
/// authorization identity, empty to derive it from the external
/// credentials.
fn external(r: Vec<u8>) -> Step {
    match String::from_utf8(r) {
        Ok(a) if !a.contains('\0') => Step::Done(Credentials::External {
            authzid: Some(a).filter(|a| !a.is_empty()),
        }),
        _ => Step::Malformed("invalid EXTERNAL authorization identity"),
    }
}

/// RFC 2195 §2: `user SP digest`, the digest 32 hex digits.
fn cram_md5(challenge: String, response: Vec<u8>) -> Step {
    let text = match String::from_utf8(response) {
        Ok(t) => t,
        Err(_) => return Step::Malformed("invalid CRAM-MD5 response"),
    };
    match text.rsplit_once(' ') {
        Some((user, digest))
            if !user.is_empty()
                && digest.len() == 32
                && digest.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Step::Done(Credentials::CramMd5 {
                username: user.to_string(),
                challenge,
                digest: digest.to_string(),
            })
        }
        _ => Step::Malformed("invalid CRAM-MD5 response"),
    }
}

/// RFC 4616 §2: `[authzid] UTF8NUL authcid UTF8NUL passwd`.
fn plain(r: &[u8]) -> Step {
    let mut parts = r.split(|&b| b == 0);
    let (Some(authz), Some(authc), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Step::Malformed("invalid PLAIN response");
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    match (text(authz), text(authc), text(pass)) {
        (Some(authz), Some(user), Some(pass)) if !user.is_empty() => {
            Step::Done(Credentials::Plain {
                authzid: Some(authz).filter(|a| !a.is_empty() && *a != user),
                username: user,
                password: Secret::new(pass),
            })
        }
        _ => Step::Malformed("invalid PLAIN response"),
    }
}

/// `user=USER ^A auth=Bearer TOKEN ^A ^A`.
fn xoauth2(r: &[u8]) -> Step {
    let Ok(text) = std::str::from_utf8(r) else {
        return Step::Malformed("invalid XOAUTH2 response");
    };
    let mut user = None;
    let mut token = None;
    for kv in text.split('\x01').filter(|s| !s.is_empty()) {
        if let Some(u) = kv.strip_prefix("user=") {
            user = Some(u.to_string());
        } else if let Some(a) = kv.strip_prefix("auth=") {
            token = bearer(a);
        }
    }
    match (user, token) {
        (Some(username), Some(token)) => Step::Done(Credentials::XOAuth2 {
            username,
            token: Secret::new(token),
        }),
        _ => Step::Malformed("invalid XOAUTH2 response"),
    }
}

/// RFC 7628 §3.1: `gs2-header kvsep *(kvpair) kvsep`.
fn oauthbearer(r: &[u8]) -> Step {
    let Ok(text) = std::str::from_utf8(r) else {
        return Step::Malformed("invalid OAUTHBEARER response");
    };
    let Some((gs2, rest)) = text.split_once('\x01') else {
        return Step::Malformed("invalid OAUTHBEARER response");
    };
    // gs2-header = "n," [ "a=" saslname ] ","
    let authzid = match gs2.strip_prefix("n,").or_else(|| gs2.strip_prefix("y,")) {
        Some(a) => a
            .strip_suffix(',')
            .map(|a| a.strip_prefix("a=").unwrap_or("").to_string()),
        None => None,
    };
    let Some(authzid) = authzid else {
        return Step::Malformed("invalid OAUTHBEARER GS2 header");
    };
    let token = rest
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth=").and_then(bearer));
    match token {
        Some(token) => Step::Done(Credentials::OAuthBearer {
            authzid: Some(authzid).filter(|a| !a.is_empty()),
            token: Secret::new(token),
        }),
        None => Step::Malformed("invalid OAUTHBEARER response"),
    }
}

fn bearer(auth: &str) -> Option<String> {
    let (scheme, token) = auth.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CX: Context<'static> = Context {
        channel_binding: None,
        offers_plus: false,
    };

    fn step(exchange: Exchange, response: Vec<u8>) -> Step {
        super::step(exchange, response, CX)
    }

    fn done(s: Step) -> Credentials {
        match s {
            Step::Done(c) => c,
            _ => panic!("exchange not complete"),
        }
    }

    #[test]
    fn plain_rfc4616_2() {
        let c = done(step(
            Exchange::Single(Mechanism::Plain),
            b"\0tim\0tanstaaftanstaaf".to_vec(),
        ));
        assert_eq!(c.username(), Some("tim"));
        assert!(c.verify_password("tanstaaftanstaaf"));
        assert!(!c.verify_password("wrong"));
        let c = done(step(
            Exchange::Single(Mechanism::Plain),
            b"Ursel\0Kurt\0xipj3plmq".to_vec(),
        ));
        assert!(matches!(c, Credentials::Plain { authzid: Some(ref a), .. } if a == "Ursel"));
        assert!(matches!(
            step(Exchange::Single(Mechanism::Plain), b"a\0b".to_vec()),
            Step::Malformed(_)
        ));
        assert!(matches!(
            step(Exchange::Single(Mechanism::Plain), b"\0\0p".to_vec()),
            Step::Malformed(_)
        ));
    }

    #[test]
    fn secrets_never_print() {
        let c = done(step(
            Exchange::Single(Mechanism::Plain),
            b"\0tim\0hunter2".to_vec(),
        ));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn cram_md5_rfc2195_2() {
        let challenge = "<1896.697170952@postoffice.reston.mci.net>".to_string();
        let c = done(step(
            Exchange::CramMd5(challenge),
            b"tim b913a602c7eda7a495b4e6e7334d3890".to_vec(),
        ));
        assert!(c.verify_cram_md5(b"tanstaaftanstaaf"));
        assert!(!c.verify_cram_md5(b"other"));
    }

    #[test]
    fn token_mechanisms() {
        let c = done(step(
            Exchange::Single(Mechanism::XOAuth2),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01".to_vec(),
        ));
        assert_eq!(c.username(), Some("someuser@example.com"));
        // RFC 7628 §4.1 example.
        let c = done(step(
            Exchange::Single(Mechanism::OAuthBearer),
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01".to_vec(),
        ));
        assert_eq!(c.username(), Some("user@example.com"));
        assert!(matches!(
            step(Exchange::Single(Mechanism::OAuthBearer), b"junk".to_vec()),
            Step::Malformed(_)
        ));
    }

    #[test]
    fn external_authzid_rfc4422_appendix_a() {
        let c = done(step(Exchange::Single(Mechanism::External), Vec::new()));
        assert_eq!(c, Credentials::External { authzid: None });
        let c = done(step(
            Exchange::Single(Mechanism::External),
            b"admin@example.org".to_vec(),
        ));
        assert_eq!(c.username(), Some("admin@example.org"));
        assert_eq!(c.mechanism(), Mechanism::External);
        for bad in [&b"a\0b"[..], b"\xff"] {
            assert!(matches!(
                step(Exchange::Single(Mechanism::External), bad.to_vec()),
                Step::Malformed(_)
            ));
        }
    }

    #[test]
    fn application_mechanisms_are_not_started_here() {
        assert!(start(&Mechanism::Gssapi, String::new).is_none());
        assert!(start(&"X-TOY".parse().unwrap(), String::new).is_none());
        assert!(start(&Mechanism::ScramSha256, String::new).is_some());
        assert!(matches!(
            step(Exchange::Custom(Mechanism::Gssapi), b"tok".to_vec()),
            Step::Custom(Mechanism::Gssapi, Some(d)) if d.as_bytes() == b"tok"
        ));
    }
}
