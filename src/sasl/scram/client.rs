//! The client's side of a SCRAM exchange (RFC 5802 §5): client-first,
//! then client-final from the server-first, then the server signature
//! checked — a mismatch means the server is not who it claims to be.

use std::fmt;

use zeroize::Zeroizing;

use super::message::{is_nonce, CbindFlag, ClientFinal, ClientFirst, Gs2Header, ServerFinal};
use super::{auth_message, saslprep, xor, Keys, ScramHash, ServerFirst, MIN_ITERATIONS};
use crate::sasl::{constant_time_eq, ChannelBinding, ClientExchange, SaslError};

/// One client exchange.
pub(crate) struct ScramClient {
    hash: ScramHash,
    password: Zeroizing<String>,
    first: ClientFirst,
    /// The channel-binding data sent in `c=` after the GS2 header, when
    /// `p=` was sent.
    cb_data: Option<Vec<u8>>,
    max_iterations: u32,
    state: State,
}

enum State {
    Start,
    /// client-first sent.
    SentFirst,
    /// client-final sent: the server signature to expect.
    SentFinal(Zeroizing<Vec<u8>>),
    /// The server proved itself.
    Verified,
    Failed,
}

impl fmt::Debug for ScramClient {
    /// The mechanism and the step; never the password or a key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.state {
            State::Start => "start",
            State::SentFirst => "client-first sent",
            State::SentFinal(_) => "client-final sent",
            State::Verified => "verified",
            State::Failed => "failed",
        };
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .field("step", &step)
            .finish_non_exhaustive()
    }
}

/// What a client exchange is started with.
pub(crate) struct Params<'a> {
    pub(crate) hash: ScramHash,
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    pub(crate) authzid: Option<&'a str>,
    pub(crate) nonce: &'a str,
    /// `Some` for a `-PLUS` mechanism: bind to this.
    pub(crate) bind: Option<&'a ChannelBinding>,
    /// The client could bind, but no `-PLUS` mechanism is used: `y`.
    pub(crate) could_bind: bool,
    pub(crate) max_iterations: u32,
}

impl ScramClient {
    /// Starts an exchange. The user name and password are SASLprep'd
    /// (RFC 5802 §5.1); the nonce must be printable without `,`.
    pub(crate) fn new(p: Params<'_>) -> Result<Self, SaslError> {
        if !is_nonce(p.nonce) {
            return Err(SaslError::Unusable("the nonce is not printable text"));
        }
        let username = saslprep(p.username)?;
        if username.is_empty() {
            return Err(SaslError::Unusable("empty user name"));
        }
        let cbind = match (p.bind, p.could_bind) {
            (Some(cb), _) => CbindFlag::Required(cb.name().to_owned()),
            (None, true) => CbindFlag::ClientOnly,
            (None, false) => CbindFlag::None,
        };
        Ok(ScramClient {
            hash: p.hash,
            password: saslprep(p.password)?,
            first: ClientFirst {
                gs2: Gs2Header {
                    cbind,
                    authzid: p.authzid.filter(|a| !a.is_empty()).map(str::to_owned),
                },
                username: username.to_string(),
                nonce: p.nonce.to_owned(),
            },
            cb_data: p.bind.map(|cb| cb.data().to_vec()),
            max_iterations: p.max_iterations,
            state: State::Start,
        })
    }

    /// client-final from server-first (RFC 5802 §3), and the server
    /// signature to expect.
    fn client_final(&self, server_first: &[u8]) -> Result<(String, Vec<u8>), SaslError> {
        let text = std::str::from_utf8(server_first)
            .map_err(|_| SaslError::Malformed("server-first is not UTF-8"))?;
        let sf = ServerFirst::parse(text)?;
        // The server appends its part to ours (RFC 5802 §5.1): a nonce that
        // does not start with ours, or adds nothing, is a replay.
        if !sf.nonce.starts_with(&self.first.nonce) || sf.nonce.len() == self.first.nonce.len() {
            return Err(SaslError::Malformed(
                "the server nonce does not extend ours",
            ));
        }
        if sf.iterations < MIN_ITERATIONS {
            return Err(SaslError::Unusable("fewer than 4096 iterations"));
        }
        if sf.iterations > self.max_iterations {
            return Err(SaslError::Unusable("more iterations than allowed"));
        }
        let mut cb = Vec::new();
        {
            let mut gs2 = String::new();
            self.first.gs2.write_to(&mut gs2);
            cb.extend_from_slice(gs2.as_bytes());
        }
        if let Some(data) = &self.cb_data {
            cb.extend_from_slice(data);
        }
        let mut last = ClientFinal {
            channel_binding: cb,
            nonce: sf.nonce,
            proof: Vec::new(),
        };
        let keys = Keys::derive(self.hash, &self.password, &sf.salt, sf.iterations)?;
        let auth = auth_message(&self.first.bare(), text, &last.without_proof());
        let stored_key = self.hash.hash(&keys.client_key);
        let client_signature = self.hash.hmac(&stored_key, &auth);
        last.proof = xor(&keys.client_key, &client_signature);
        let server_signature = self.hash.hmac(&keys.server_key, &auth);
        Ok((last.to_text(), server_signature))
    }
}

impl ClientExchange for ScramClient {
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        match self.state {
            State::Start => {
                self.state = State::SentFirst;
                Ok(Some(self.first.to_text().into_bytes()))
            }
            _ => Err(SaslError::Malformed("SCRAM started twice")),
        }
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        match state {
            State::SentFirst => {
                let (text, signature) = self.client_final(challenge)?;
                self.state = State::SentFinal(Zeroizing::new(signature));
                Ok(text.into_bytes())
            }
            State::SentFinal(expected) => {
                let text = std::str::from_utf8(challenge)
                    .map_err(|_| SaslError::Malformed("server-final is not UTF-8"))?;
                match ServerFinal::parse(text)? {
                    ServerFinal::Verifier(v) if constant_time_eq(&v, &expected) => {
                        self.state = State::Verified;
                        // RFC 4954 §4 has no success data: the signature
                        // came as a challenge, answered empty.
                        Ok(Vec::new())
                    }
                    ServerFinal::Verifier(_) => Err(SaslError::ServerUnverified),
                    ServerFinal::Error(e) => Err(SaslError::Peer(e)),
                }
            }
            State::Start | State::Verified | State::Failed => {
                Err(SaslError::Malformed("unexpected SCRAM challenge"))
            }
        }
    }

    fn complete(&mut self) -> Result<(), SaslError> {
        match self.state {
            State::Verified => Ok(()),
            // A 235 before the server signature: the server never proved
            // it knows the credentials (RFC 5802 §9).
            _ => Err(SaslError::ServerUnverified),
        }
    }
}
