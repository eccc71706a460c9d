//! The server side of SASL in AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN,
//! CRAM-MD5 (RFC 2195), XOAUTH2 and OAUTHBEARER (RFC 7628).

use std::fmt;

use base64::Engine;

use crate::ehlo::Mechanism;
use crate::sasl::md5::{hex, hmac_md5};

/// A secret (password or token): `Debug` never prints it, equality is
/// decided in constant time, and its memory is zeroed when it is dropped
/// (with the `zeroize` crate, so the compiler cannot elide the wipe).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Secret {
    /// Constant time in the contents (the length may show): a timing
    /// side channel must not reveal how much of a guess was right.
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Credentials from a completed SASL exchange, for the application to
/// check. `Debug` shows the mechanism and identities, never a password,
/// token, CRAM-MD5 digest or challenge.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.
    Plain {
        /// The identity to act as, when given and different.
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
        /// The password.
        password: Secret,
    },
    /// LOGIN: username and password, one per exchange.
    Login {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// CRAM-MD5 (RFC 2195): verify with [`Credentials::verify_cram_md5`]
    /// against the user's shared secret.
    CramMd5 {
        /// The user name.
        username: String,
        /// The challenge this session sent.
        challenge: String,
        /// The client's lowercase-hex HMAC-MD5 digest.
        digest: String,
    },
    /// XOAUTH2: a bearer token for a user.
    XOAuth2 {
        /// The user.
        username: String,
        /// The bearer token.
        token: Secret,
    },
    /// OAUTHBEARER (RFC 7628).
    OAuthBearer {
        /// The authorization identity from the GS2 header, if any.
        authzid: Option<String>,
        /// The bearer token.
        token: Secret,
    },
}

impl Credentials {
    /// The mechanism that produced these credentials.
    pub fn mechanism(&self) -> Mechanism {
        match self {
            Credentials::Plain { .. } => Mechanism::Plain,
            Credentials::Login { .. } => Mechanism::Login,
            Credentials::CramMd5 { .. } => Mechanism::CramMd5,
            Credentials::XOAuth2 { .. } => Mechanism::XOAuth2,
            Credentials::OAuthBearer { .. } => Mechanism::OAuthBearer,
        }
    }

    /// The user name or authorization identity the client claims.
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Plain { username, .. }
            | Credentials::Login { username, .. }
            | Credentials::CramMd5 { username, .. }
            | Credentials::XOAuth2 { username, .. } => Some(username),
            Credentials::OAuthBearer { authzid, .. } => authzid.as_deref(),
        }
    }

    /// For PLAIN and LOGIN: whether the password equals `expected`
    /// (compared in constant time).
    pub fn verify_password(&self, expected: &str) -> bool {
        match self {
            Credentials::Plain { password, .. } | Credentials::Login { password, .. } => {
                constant_time_eq(password.expose().as_bytes(), expected.as_bytes())
            }
            _ => false,
        }
    }

    /// For CRAM-MD5: whether the digest is HMAC-MD5(secret, challenge)
    /// (RFC 2195 §2), compared in constant time.
    pub fn verify_cram_md5(&self, secret: &[u8]) -> bool {
        match self {
            Credentials::CramMd5 {
                challenge, digest, ..
            } => {
                let expected = hex(&hmac_md5(secret, challenge.as_bytes()));
                constant_time_eq(expected.as_bytes(), digest.to_ascii_lowercase().as_bytes())
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const REDACTED: &str = "<redacted>";
        match self {
            Credentials::Plain {
                authzid, username, ..
            } => f
                .debug_struct("Plain")
                .field("authzid", authzid)
                .field("username", username)
                .field("password", &REDACTED)
                .finish(),
            Credentials::Login { username, .. } => f
                .debug_struct("Login")
                .field("username", username)
                .field("password", &REDACTED)
                .finish(),
            // The challenge and digest together allow an offline
            // dictionary attack on the shared secret (RFC 2195 §4).
            Credentials::CramMd5 { username, .. } => f
                .debug_struct("CramMd5")
                .field("username", username)
                .field("challenge", &REDACTED)
                .field("digest", &REDACTED)
                .finish(),
            Credentials::XOAuth2 { username, .. } => f
                .debug_struct("XOAuth2")
                .field("username", username)
                .field("token", &REDACTED)
                .finish(),
            Credentials::OAuthBearer { authzid, .. } => f
                .debug_struct("OAuthBearer")
                .field("authzid", authzid)
                .field("token", &REDACTED)
                .finish(),
        }
    }
}

/// Equality that takes the same time wherever the inputs differ (the
/// `subtle` crate keeps the optimiser from short-circuiting it); only the
/// lengths may show.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Where a SASL exchange stands.
#[derive(Clone)]
pub(crate) enum Exchange {
    /// Waiting for the one response of PLAIN, XOAUTH2 or OAUTHBEARER.
    Single(Mechanism),
    /// LOGIN: waiting for the user name.
    LoginUser,
    /// LOGIN: waiting for the password.
    LoginPassword(String),
    /// CRAM-MD5: waiting for `user SP digest`.
    CramMd5(String),
}

impl fmt::Debug for Exchange {
    /// The state only: a CRAM-MD5 challenge is not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exchange::Single(m) => f.debug_tuple("Single").field(m).finish(),
            Exchange::LoginUser => f.write_str("LoginUser"),
            Exchange::LoginPassword(_) => f.write_str("LoginPassword"),
            Exchange::CramMd5(_) => f.write_str("CramMd5"),
        }
    }
}

/// The next step of an exchange after a client response.
pub(crate) enum Step {
    /// Send `334 <base64 challenge>` and wait again.
    Challenge(Exchange, &'static str),
    /// The exchange is complete.
    Done(Credentials),
    /// The response is malformed (`501 5.5.2`).
    Malformed(&'static str),
}

const USERNAME: &str = "VXNlcm5hbWU6"; // "Username:"
const PASSWORD: &str = "UGFzc3dvcmQ6"; // "Password:"

/// The first server challenge for `mechanism` when the client gave no
/// initial response: `(exchange, base64 challenge text)`.
pub(crate) fn start(
    mechanism: &Mechanism,
    cram_challenge: impl FnOnce() -> String,
) -> (Exchange, String) {
    match mechanism {
        Mechanism::Login => (Exchange::LoginUser, USERNAME.to_string()),
        Mechanism::CramMd5 => {
            let challenge = cram_challenge();
            let b64 = base64::engine::general_purpose::STANDARD.encode(challenge.as_bytes());
            (Exchange::CramMd5(challenge), b64)
        }
        // PLAIN and the token mechanisms are client-first: an empty
        // challenge asks for the response (RFC 4954 §4: "334 ").
        other => (Exchange::Single(other.clone()), String::new()),
    }
}

/// Feeds one decoded client response to the exchange.
pub(crate) fn step(exchange: Exchange, response: Vec<u8>) -> Step {
    match exchange {
        Exchange::Single(Mechanism::Plain) => plain(&response),
        Exchange::Single(Mechanism::XOAuth2) => xoauth2(&response),
        Exchange::Single(Mechanism::OAuthBearer) => oauthbearer(&response),
        Exchange::Single(_) => Step::Malformed("mechanism not supported"),
        Exchange::LoginUser => match String::from_utf8(response) {
            Ok(u) if !u.is_empty() => Step::Challenge(Exchange::LoginPassword(u), PASSWORD),
            _ => Step::Malformed("invalid user name"),
        },
        Exchange::LoginPassword(username) => match String::from_utf8(response) {
            Ok(p) => Step::Done(Credentials::Login {
                username,
                password: Secret(p),
            }),
            Err(_) => Step::Malformed("invalid password encoding"),
        },
        Exchange::CramMd5(challenge) => {
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
                password: Secret(pass),
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
            token: Secret(token),
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
            token: Secret(token),
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
}
