//! The views that answer the SASL decisions beyond accept and deny: the
//! stored credentials of a SCRAM exchange ([`ScramLookup`]) and the
//! challenges of the application's own mechanisms ([`AuthStep`]).

use std::fmt;

use base64::Engine;

use super::auth::Exchange;
use super::decision::{Decision, Pending};
use super::event::ApiError;
use super::output::Answer;
use super::replies::AUTH_FAILED;
use super::{Core, Phase};
use crate::ehlo::Mechanism;
use crate::reply::Reply;
use crate::sasl::scram::server::valid_nonce;
use crate::sasl::scram::{ScramCredentials, ScramHash};

/// A SCRAM exchange waits for the user's stored credentials (RFC 5802 §5,
/// [`super::Event::ScramLookup`]). Reached through
/// [`Decision::scram_lookup`]; consumed by its answer, as [`Decision`] is.
///
/// ```
/// use base64::Engine;
/// use esmtp::ehlo::Mechanism;
/// use esmtp::sasl::scram::{ScramCredentials, ScramHash};
/// use esmtp::server::{Event, Server, ServerConfig};
///
/// let mut config = ServerConfig::new("mx.example.org").unwrap();
/// config.extensions.auth = vec![Mechanism::ScramSha256];
/// config.extensions.auth_requires_tls = false; // a test: no TLS here
/// let mut server = Server::new(config);
/// let first = base64::engine::general_purpose::STANDARD.encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
/// server.receive(format!("EHLO c\r\nAUTH SCRAM-SHA-256 {first}\r\n").as_bytes());
/// loop {
///     match server.poll_event() {
///         Some(Event::ScramLookup { username, .. }) => {
///             assert_eq!(username, "user");
///             break;
///         }
///         Some(e) if e.needs_decision() => server.accept().unwrap(),
///         _ => {}
///     }
/// }
/// // Kept when the password was set: never the password itself.
/// let stored = ScramCredentials::derive(ScramHash::Sha256, "pencil", b"salt", 4096).unwrap();
/// let lookup = server.decision().unwrap().scram_lookup().ok().unwrap();
/// lookup.credentials(stored, "fresh-random-text").unwrap();
/// let out = server.poll_transmit().unwrap();
/// assert!(out.ends_with(b"\r\n334 cj1yT3ByTkdmd0ViZVJXZ2JORWtxT2ZyZXNoLXJhbmRvbS10ZXh0LHM9YzJGc2RBPT0saT00MDk2\r\n"));
/// ```
pub struct ScramLookup<'a> {
    core: &'a mut Core,
}

/// The application's mechanism waits for its next move
/// ([`super::Event::AuthStep`]): a challenge, or success or failure.
/// Reached through [`Decision::auth_step`]; consumed by its answer.
pub struct AuthStep<'a> {
    core: &'a mut Core,
}

impl fmt::Debug for ScramLookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramLookup").finish_non_exhaustive()
    }
}

impl fmt::Debug for AuthStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthStep").finish_non_exhaustive()
    }
}

impl<'a> Decision<'a> {
    /// The SCRAM look-up view; the decision itself back for any other.
    pub fn scram_lookup(self) -> Result<ScramLookup<'a>, Decision<'a>> {
        if self.pending == Pending::ScramLookup {
            Ok(ScramLookup { core: self.core })
        } else {
            Err(self)
        }
    }

    /// The view of the application's mechanism step; the decision itself
    /// back for any other.
    pub fn auth_step(self) -> Result<AuthStep<'a>, Decision<'a>> {
        if self.pending == Pending::AuthStep {
            Ok(AuthStep { core: self.core })
        } else {
            Err(self)
        }
    }
}

impl ScramLookup<'_> {
    /// The SCRAM mechanism.
    pub fn mechanism(&self) -> Option<&Mechanism> {
        match &self.core.phase {
            Phase::Auth(Exchange::ScramLookup(m, _)) => Some(m),
            _ => None,
        }
    }

    /// Continues with the user's stored credentials and the server's part
    /// of the nonce — fresh random printable text without `,` for every
    /// exchange (RFC 5802 §5.1; e.g. 18 random octets in base64): sends
    /// server-first. [`ApiError::InvalidNonce`] or
    /// [`ApiError::ScramHashMismatch`] leave the decision pending.
    ///
    /// For an unknown user, answering with made-up credentials (derived
    /// from a server secret, so that they stay the same) rather than
    /// denying keeps the user's existence hidden (RFC 5802 §9).
    pub fn credentials(self, credentials: ScramCredentials, nonce: &str) -> Result<(), ApiError> {
        if !valid_nonce(nonce) {
            return Err(ApiError::InvalidNonce);
        }
        let core = self.core;
        let Phase::Auth(Exchange::ScramLookup(m, _)) = &core.phase else {
            return Err(ApiError::NoPendingDecision);
        };
        if ScramHash::of(m).map(|(h, _)| h) != Some(credentials.hash()) {
            return Err(ApiError::ScramHashMismatch);
        }
        let Phase::Auth(Exchange::ScramLookup(m, server)) =
            std::mem::replace(&mut core.phase, Phase::Command)
        else {
            return Err(ApiError::NoPendingDecision);
        };
        core.answered();
        let (next, server_first) = server.server_first(credentials, nonce);
        let text = base64::engine::general_purpose::STANDARD.encode(server_first.as_bytes());
        core.challenge(&text);
        core.phase = Phase::Auth(Exchange::ScramFinal(m, Box::new(next)));
        Ok(())
    }

    /// Fails the exchange (`535 5.7.8`): no such user, or no SCRAM
    /// credentials kept for it.
    pub fn deny(self) {
        self.core.answered();
        self.core
            .deny(Pending::ScramLookup, Answer::Mandated(AUTH_FAILED));
    }
}

impl<'a> AuthStep<'a> {
    /// Sends `334` with `challenge`, base64-encoded, and waits for the
    /// client's next response (another [`super::Event::AuthStep`]).
    pub fn challenge(self, challenge: &[u8]) {
        let core = self.core;
        core.answered();
        let text = base64::engine::general_purpose::STANDARD.encode(challenge);
        core.challenge(&text);
    }

    /// The client is authenticated: `235 2.7.0`.
    pub fn accept(self) {
        self.decision().accept();
    }

    /// The exchange fails: `535 5.7.8`.
    pub fn deny(self) {
        self.decision().deny();
    }

    /// Ends the exchange with `reply`, as [`Decision::respond`] does.
    pub fn respond(self, reply: &Reply<'_>) -> Result<(), ApiError> {
        self.decision().respond(reply)
    }

    fn decision(self) -> Decision<'a> {
        Decision {
            core: self.core,
            pending: Pending::AuthStep,
        }
    }
}
