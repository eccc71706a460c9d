//! What a client session is allowed to use, and its timeouts.

use std::sync::Arc;
use std::time::Duration;

use crate::ehlo::Mechanism;
use crate::options::Strictness;
use crate::sasl::ClientMechanism;
use crate::server::Secret;
use crate::values::Host;

/// Configuration of one client session. Build it once per destination and
/// share it (`Arc<ClientConfig>`); a [`super::Client`] only reads it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The name sent in EHLO, HELO or LHLO (RFC 5321 §4.1.1.1: the
    /// client's fully-qualified domain name, or an address literal).
    pub hostname: Host<'static>,
    /// Speak LMTP (RFC 2033): LHLO, and one reply per accepted recipient
    /// after the content.
    pub lmtp: bool,
    /// When to use STARTTLS (RFC 3207).
    pub tls: TlsPolicy,
    /// Credentials for AUTH (RFC 4954); `None` never authenticates.
    pub auth: Option<AuthConfig>,
    /// Authenticate on a session without TLS. Off by default: with
    /// [`TlsPolicy::Opportunistic`] a man-in-the-middle can strip STARTTLS
    /// from the EHLO reply, and the credentials would then go out in clear
    /// (RFC 3207 §6). With it off, every message fails with
    /// [`AuthError::PlaintextRefused`](super::AuthError::PlaintextRefused)
    /// and no AUTH is sent. Turn it on for loopback tests or a link
    /// secured otherwise.
    pub allow_plaintext_auth: bool,
    /// Send EHLO again after a successful AUTH. Not required by RFC 4954
    /// (no security layer is negotiated), but some clients do it; a `503`
    /// answer is survived with the capabilities already known.
    pub ehlo_after_auth: bool,
    /// Use PIPELINING (RFC 2920) when offered.
    pub pipelining: bool,
    /// Use CHUNKING (RFC 3030) when offered: content goes out with BDAT.
    pub chunking: bool,
    /// The largest BDAT chunk (and the largest piece of DATA content
    /// encoded at once).
    pub chunk_size: usize,
    /// Content with 8-bit octets to a server without 8BITMIME: `false`
    /// (the default) fails the message before anything is sent, as no MIME
    /// downgrade is implemented (RFC 6152 §3); `true` sends it as is, as
    /// many MTAs do.
    pub allow_8bit_without_8bitmime: bool,
    /// What to do with a MAIL or RCPT parameter whose extension the server
    /// did not offer.
    pub unsupported_params: ParamPolicy,
    /// To a server without SMTPUTF8, write a path whose only non-ASCII is
    /// in its domain with the domain's A-labels (UTS #46, RFC 5891 §4;
    /// on by default). Off, such a message fails with
    /// [`MessageError::SmtpUtf8Unsupported`](super::MessageError::SmtpUtf8Unsupported),
    /// as it always does without the `idna` feature.
    #[cfg(feature = "idna")]
    #[cfg_attr(docsrs, doc(cfg(feature = "idna")))]
    pub idna: bool,
    /// Timeouts waiting for the server (RFC 5321 §4.5.3.2): each runs
    /// until the whole reply is in; octets of a reply do not extend it.
    pub timeouts: Timeouts,
    /// Reply syntax accepted from the server.
    pub strictness: Strictness,
    /// Unparsed reply octets held at most before the session gives up (a
    /// reply larger than this cannot be a valid one). A read of any size
    /// is fine: complete replies in it are handled as they are framed.
    pub max_buffered: usize,
}

/// When to upgrade the connection with STARTTLS (RFC 3207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// Never.
    None,
    /// When the server offers it; carry on in clear text otherwise.
    #[default]
    Opportunistic,
    /// Always: every message fails, before any MAIL is sent, on a server
    /// that does not offer STARTTLS or refuses it.
    Required,
}

/// What to do with a parameter (DSN, DELIVERBY, MT-PRIORITY, FUTURERELEASE,
/// RRVS, NO-SOLICITING, MTRK, CONNEG, ALT-ADDRESS) the server did not
/// advertise. REQUIRETLS, SMTPUTF8 and CONPERM are never stripped: a
/// message that needs them fails; SUBMITTER is always stripped (RFC 4405
/// §4.3). A relay uses [`ParamPolicy::Strip`], as RFC 3461 §4.1 and RFC
/// 3885 §3.3 describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ParamPolicy {
    /// Fail the message before anything is sent for it.
    #[default]
    Fail,
    /// Send the message without the parameter (RFC 3461 §4.1 describes the
    /// same for DSN: the relay then behaves as a non-DSN one).
    Strip,
}

/// Credentials for AUTH and which mechanism to use.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The credentials.
    pub credentials: ClientCredentials,
    /// Use this mechanism only; `None` picks the strongest one that both
    /// the server offers and the credentials allow.
    pub mechanism: Option<Mechanism>,
    /// The most SCRAM iterations computed for a server (RFC 5802 §5.1: it
    /// names the count; a huge one would keep the client busy for
    /// minutes): more fails the exchange.
    pub max_scram_iterations: u32,
}

impl AuthConfig {
    /// Authenticate with `credentials`, picking the mechanism.
    pub fn new(credentials: ClientCredentials) -> Self {
        Self {
            credentials,
            mechanism: None,
            max_scram_iterations: crate::sasl::scram::DEFAULT_MAX_ITERATIONS,
        }
    }

    /// The same, with this mechanism only.
    pub fn with_mechanism(mut self, mechanism: Mechanism) -> Self {
        self.mechanism = Some(mechanism);
        self
    }
}

/// What the client authenticates with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientCredentials {
    /// A user name and password: SCRAM-SHA-256 (RFC 7677, `-PLUS` first
    /// with channel-binding data), SCRAM-SHA-1 (RFC 5802), CRAM-MD5 (RFC
    /// 2195), PLAIN (RFC 4616) or LOGIN, in that order of preference.
    /// SCRAM needs a nonce ([`super::Client::set_sasl_nonce`]): without
    /// one it is not chosen.
    Password {
        /// Act as this identity (PLAIN and SCRAM), when different.
        authzid: Option<String>,
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth 2.0 bearer token: OAUTHBEARER (RFC 7628) or XOAUTH2.
    OAuth {
        /// The user.
        username: String,
        /// The token.
        token: Secret,
    },
    /// EXTERNAL (RFC 4422 Appendix A): what the connection established
    /// authenticates the client (a TLS client certificate the driver
    /// presented).
    External {
        /// The identity to act as; `None` lets the server derive it from
        /// the external credentials.
        authzid: Option<String>,
    },
    /// Mechanisms the application brings (for example GSSAPI through its
    /// own library): see [`ClientMechanism`].
    Custom(Arc<dyn ClientMechanism>),
}

impl ClientCredentials {
    /// Password credentials.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        ClientCredentials::Password {
            authzid: None,
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// Bearer-token credentials.
    pub fn oauth(username: impl Into<String>, token: impl Into<String>) -> Self {
        ClientCredentials::OAuth {
            username: username.into(),
            token: Secret::new(token),
        }
    }

    /// EXTERNAL credentials, acting as `authzid` if given.
    pub fn external(authzid: Option<String>) -> Self {
        ClientCredentials::External { authzid }
    }

    /// The application's own mechanisms.
    pub fn custom(mechanism: Arc<dyn ClientMechanism>) -> Self {
        ClientCredentials::Custom(mechanism)
    }

    /// Whether the credentials can be sent as they are: no NUL in a
    /// password credential (PLAIN separates authzid, authcid and password
    /// with NUL, RFC 4616 §2, so `jane\0admin` would shift the fields at
    /// the server) and no NUL or ^A in an OAuth one (RFC 7628 §3.1 and
    /// XOAUTH2 separate fields with ^A).
    pub fn is_encodable(&self) -> bool {
        match self {
            ClientCredentials::Password {
                authzid,
                username,
                password,
            } => {
                let clean = |s: &str| !s.contains('\0');
                authzid.as_deref().is_none_or(clean) && clean(username) && clean(password.expose())
            }
            ClientCredentials::OAuth { username, token } => {
                let clean = |s: &str| !s.contains(['\0', '\u{1}']);
                clean(username) && clean(token.expose())
            }
            ClientCredentials::External { authzid } => {
                authzid.as_deref().is_none_or(|a| !a.contains('\0'))
            }
            ClientCredentials::Custom(_) => true,
        }
    }

    /// The mechanisms these credentials can drive, strongest first.
    pub fn mechanisms(&self) -> &[Mechanism] {
        match self {
            ClientCredentials::Password { .. } => &[
                Mechanism::ScramSha256Plus,
                Mechanism::ScramSha256,
                Mechanism::ScramSha1Plus,
                Mechanism::ScramSha1,
                Mechanism::CramMd5,
                Mechanism::Plain,
                Mechanism::Login,
            ],
            ClientCredentials::OAuth { .. } => &[Mechanism::OAuthBearer, Mechanism::XOAuth2],
            ClientCredentials::External { .. } => &[Mechanism::External],
            ClientCredentials::Custom(c) => c.mechanisms(),
        }
    }
}

/// Client timeouts (RFC 5321 §4.5.3.2). Each runs while the client waits
/// for the named reply.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Timeouts {
    /// The 220 greeting (§4.5.3.2.1: 5 minutes).
    pub greeting: Duration,
    /// Replies to commands other than the ones below: EHLO, RSET, AUTH,
    /// NOOP… (5 minutes, as for MAIL).
    pub command: Duration,
    /// The reply to MAIL (§4.5.3.2.2: 5 minutes).
    pub mail: Duration,
    /// The reply to each RCPT (§4.5.3.2.3: 5 minutes).
    pub rcpt: Duration,
    /// The 354 after DATA (§4.5.3.2.4: 2 minutes).
    pub data_init: Duration,
    /// Each non-final BDAT reply; also the wait for the caller's next
    /// content chunk once it was asked for (§4.5.3.2.5: 3 minutes).
    pub data_block: Duration,
    /// The reply after the final `.` or `BDAT … LAST` (§4.5.3.2.6: 10
    /// minutes).
    pub data_termination: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            greeting: Duration::from_secs(300),
            command: Duration::from_secs(300),
            mail: Duration::from_secs(300),
            rcpt: Duration::from_secs(300),
            data_init: Duration::from_secs(120),
            data_block: Duration::from_secs(180),
            data_termination: Duration::from_secs(600),
        }
    }
}

impl ClientConfig {
    /// A configuration with RFC defaults for a client called `hostname`.
    pub fn new(hostname: impl Into<Host<'static>>) -> Self {
        Self {
            hostname: hostname.into(),
            lmtp: false,
            tls: TlsPolicy::Opportunistic,
            auth: None,
            allow_plaintext_auth: false,
            ehlo_after_auth: false,
            pipelining: true,
            chunking: true,
            chunk_size: 64 * 1024,
            allow_8bit_without_8bitmime: false,
            unsupported_params: ParamPolicy::Fail,
            #[cfg(feature = "idna")]
            idna: true,
            timeouts: Timeouts::default(),
            strictness: Strictness::Lenient,
            max_buffered: 256 * 1024,
        }
    }

    /// The same configuration in LMTP mode (RFC 2033).
    pub fn lmtp(mut self) -> Self {
        self.lmtp = true;
        self
    }
}
