//! What a completed SASL exchange hands the application
//! ([`Credentials`]), and the [`Secret`] wrapper for passwords and tokens.

use std::fmt;

use crate::ehlo::Mechanism;
use crate::sasl::constant_time_eq;
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
    /// EXTERNAL (RFC 4422 Appendix A): the client authenticates with what
    /// the connection already established — a TLS client certificate
    /// (the runtime's `TlsInfo::peer_certificates`), IPsec, a Unix
    /// socket's peer. Decide from those; nothing here proves anything.
    External {
        /// The identity the client asks to act as; `None` when it sent
        /// an empty one (derive it from the external credentials).
        authzid: Option<String>,
    },
    /// SCRAM (RFC 5802, RFC 7677): the machine has verified the client's
    /// proof against the stored credentials the application gave for
    /// `username`; what is left is authorization (may `username` act as
    /// `authzid`?). Accepting sends `235 2.7.0`.
    Scram {
        /// The SCRAM mechanism used.
        mechanism: Mechanism,
        /// The authenticated user name (SASLprep'd by the client).
        username: String,
        /// The identity to act as (`a=`), if any.
        authzid: Option<String>,
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
            Credentials::External { .. } => Mechanism::External,
            Credentials::Scram { mechanism, .. } => mechanism.clone(),
        }
    }

    /// The user name or authorization identity the client claims (for
    /// EXTERNAL, the authorization identity, if one was sent).
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Plain { username, .. }
            | Credentials::Login { username, .. }
            | Credentials::CramMd5 { username, .. }
            | Credentials::XOAuth2 { username, .. }
            | Credentials::Scram { username, .. } => Some(username),
            Credentials::OAuthBearer { authzid, .. } | Credentials::External { authzid } => {
                authzid.as_deref()
            }
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

    /// Whether these credentials prove `user` with `password`, as a server
    /// with a table of users checks them: the user name equal to `user`,
    /// then PLAIN and LOGIN by the password, CRAM-MD5 by its digest (RFC
    /// 2195 §2), all compared in constant time. A PLAIN authzid other than
    /// `user` (asking to act as someone else, RFC 4616 §2) fails: a server
    /// that allows that checks the authzid itself. Other mechanisms fail.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        if self.username() != Some(user) {
            return false;
        }
        match self {
            Credentials::Plain {
                authzid: Some(z), ..
            } if z != user => false,
            Credentials::CramMd5 { .. } => self.verify_cram_md5(password.as_bytes()),
            _ => self.verify_password(password),
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
            Credentials::External { authzid } => f
                .debug_struct("External")
                .field("authzid", authzid)
                .finish(),
            Credentials::Scram {
                mechanism,
                username,
                authzid,
            } => f
                .debug_struct("Scram")
                .field("mechanism", mechanism)
                .field("username", username)
                .field("authzid", authzid)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(authzid: Option<&str>, username: &str, password: &str) -> Credentials {
        Credentials::Plain {
            authzid: authzid.map(str::to_owned),
            username: username.to_owned(),
            password: Secret::new(password),
        }
    }

    #[test]
    fn verify_by_user_table_rfc4616_2_and_rfc2195_2() {
        assert!(plain(None, "jane", "secret").verify("jane", "secret"));
        assert!(!plain(None, "jane", "secret").verify("jane", "Secret"));
        assert!(!plain(None, "jane", "secret").verify("bob", "secret"));
        // Acting as oneself is fine; as someone else is not (RFC 4616 §2).
        assert!(plain(Some("jane"), "jane", "secret").verify("jane", "secret"));
        assert!(!plain(Some("bob"), "jane", "secret").verify("jane", "secret"));
        let login = Credentials::Login {
            username: "jane".into(),
            password: Secret::new("secret"),
        };
        assert!(login.verify("jane", "secret"));
        // RFC 2195 §2's example: tim, tanstaaftanstaaf.
        let cram = |digest: &str| Credentials::CramMd5 {
            username: "tim".into(),
            challenge: "<1896.697170952@postoffice.reston.mci.net>".into(),
            digest: digest.into(),
        };
        assert!(cram("b913a602c7eda7a495b4e6e7334d3890").verify("tim", "tanstaaftanstaaf"));
        assert!(!cram("b913a602c7eda7a495b4e6e7334d3891").verify("tim", "tanstaaftanstaaf"));
        let external = Credentials::External {
            authzid: Some("jane".into()),
        };
        assert!(!external.verify("jane", "secret"));
    }
}
