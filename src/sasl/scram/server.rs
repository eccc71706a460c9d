//! The server's side of a SCRAM exchange (RFC 5802 §5): the client-first
//! read, the server-first written from the stored credentials the
//! application supplies, the client proof verified in constant time and
//! the server signature written.

use std::fmt;

use super::message::{is_nonce, CbindFlag, ClientFinal, ClientFirst, ServerFinal};
use super::{auth_message, xor, ScramCredentials, ScramHash, ServerFirst};
use crate::sasl::{constant_time_eq, ChannelBinding, SaslError};

/// Why the server fails an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The message does not parse, or breaks a rule of the exchange
    /// (`501 5.5.2`).
    Malformed(&'static str),
    /// The proof (or the channel binding) is wrong (`535 5.7.8`).
    Invalid,
}

impl From<SaslError> for Failure {
    fn from(e: SaslError) -> Self {
        match e {
            SaslError::Malformed(why) => Failure::Malformed(why),
            _ => Failure::Malformed("invalid SCRAM message"),
        }
    }
}

/// After client-first: waiting for the application's stored credentials.
pub(crate) struct ScramServer {
    hash: ScramHash,
    /// The GS2 header as sent, which `c=` must echo.
    gs2: String,
    bare: String,
    client_nonce: String,
    /// The channel-binding data `c=` must carry after the header (`p=`).
    cb_data: Option<Vec<u8>>,
    username: String,
    authzid: Option<String>,
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramServer")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// After server-first: waiting for client-final.
pub(crate) struct AwaitFinal {
    first: ScramServer,
    nonce: String,
    server_first: String,
    credentials: ScramCredentials,
}

impl fmt::Debug for AwaitFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.first.fmt(f)
    }
}

impl ScramServer {
    /// Reads client-first for a mechanism of `hash` (`plus`: a `-PLUS`
    /// one). `cb` is the connection's binding data, if the driver gave it;
    /// `offers_plus`: this session offers a `-PLUS` mechanism.
    pub(crate) fn client_first(
        hash: ScramHash,
        plus: bool,
        message: &[u8],
        cb: Option<&ChannelBinding>,
        offers_plus: bool,
    ) -> Result<Self, Failure> {
        let text = std::str::from_utf8(message)
            .map_err(|_| Failure::Malformed("client-first is not UTF-8"))?;
        let (first, gs2, bare) = ClientFirst::parse(text)?;
        // RFC 5802 §6: `p=` only on a -PLUS mechanism and for binding data
        // the server has; a -PLUS mechanism without `p=` is a downgrade;
        // `y` from a client that could bind, to a server that offered to,
        // means the offer was stripped on the way.
        let cb_data = match (&first.gs2.cbind, plus) {
            (CbindFlag::Required(name), true) => match cb {
                Some(cb) if cb.name() == name => Some(cb.data().to_vec()),
                _ => return Err(Failure::Malformed("unsupported channel-binding type")),
            },
            (CbindFlag::Required(_), false) => {
                return Err(Failure::Malformed(
                    "channel binding needs a -PLUS mechanism",
                ))
            }
            (_, true) => return Err(Failure::Malformed("a -PLUS mechanism needs p=")),
            (CbindFlag::ClientOnly, false) if offers_plus && cb.is_some() => {
                return Err(Failure::Invalid)
            }
            (CbindFlag::ClientOnly | CbindFlag::None, false) => None,
        };
        Ok(ScramServer {
            hash,
            gs2: gs2.to_owned(),
            bare: bare.to_owned(),
            client_nonce: first.nonce,
            cb_data,
            username: first.username,
            authzid: first.gs2.authzid,
        })
    }

    /// The user name from client-first, unescaped.
    pub(crate) fn username(&self) -> &str {
        &self.username
    }

    /// The authorization identity from the GS2 header, if any.
    pub(crate) fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    /// server-first from the stored credentials and the server's part of
    /// the nonce (printable text without `,`, checked by the caller with
    /// [`valid_nonce`]).
    pub(crate) fn server_first(
        self,
        credentials: ScramCredentials,
        server_nonce: &str,
    ) -> (AwaitFinal, String) {
        let nonce = format!("{}{}", self.client_nonce, server_nonce);
        let text = ServerFirst {
            nonce: nonce.clone(),
            salt: credentials.salt().to_vec(),
            iterations: credentials.iterations(),
        }
        .to_text();
        let next = AwaitFinal {
            first: self,
            nonce,
            server_first: text.clone(),
            credentials,
        };
        (next, text)
    }
}

/// Whether the application's nonce can go on the wire (RFC 5802 §7
/// `printable`, no `,`).
pub(crate) fn valid_nonce(nonce: &str) -> bool {
    is_nonce(nonce)
}

impl AwaitFinal {
    /// The user name from client-first.
    pub(crate) fn username(&self) -> &str {
        &self.first.username
    }

    /// Verifies client-final: the channel binding, the nonce, then the
    /// proof (RFC 5802 §3: `H(ClientProof XOR ClientSignature) ==
    /// StoredKey`, compared in constant time). Returns server-final and
    /// the identities.
    pub(crate) fn verify(self, message: &[u8]) -> Result<(String, ScramServer), Failure> {
        let text = std::str::from_utf8(message)
            .map_err(|_| Failure::Malformed("client-final is not UTF-8"))?;
        let (last, without_proof) = ClientFinal::parse(text)?;
        let mut cb = self.first.gs2.as_bytes().to_vec();
        if let Some(data) = &self.first.cb_data {
            cb.extend_from_slice(data);
        }
        if !constant_time_eq(&last.channel_binding, &cb) {
            return Err(Failure::Invalid);
        }
        if last.nonce != self.nonce {
            return Err(Failure::Malformed("nonce mismatch"));
        }
        let hash = self.first.hash;
        let creds = &self.credentials;
        if last.proof.len() != hash.output_len() {
            return Err(Failure::Invalid);
        }
        let auth = auth_message(&self.first.bare, &self.server_first, without_proof);
        let client_signature = hash.hmac(creds.stored_key(), &auth);
        let client_key = zeroize::Zeroizing::new(xor(&last.proof, &client_signature));
        if !constant_time_eq(&hash.hash(&client_key), creds.stored_key()) {
            return Err(Failure::Invalid);
        }
        let verifier = ServerFinal::Verifier(hash.hmac(creds.server_key(), &auth)).to_text();
        Ok((verifier, self.first))
    }
}
