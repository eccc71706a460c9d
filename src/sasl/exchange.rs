//! The client's mechanism seam: credentials that start exchanges
//! ([`ClientMechanism`]) and one exchange in progress ([`ClientExchange`]).
//! The built-in mechanisms go through it too (`client/auth.rs`).

use std::fmt;

use super::{ChannelBinding, SaslError};
use crate::ehlo::Mechanism;

/// What a mechanism may need from the session when it starts.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SaslContext<'a> {
    /// The nonce the driver gave the client machine
    /// (`Client::set_sasl_nonce`): fresh random printable text, for
    /// mechanisms that need one (SCRAM's client nonce, RFC 5802 §5.1).
    pub nonce: Option<&'a str>,
    /// The connection's channel-binding data, when the driver gave it.
    pub channel_binding: Option<&'a ChannelBinding>,
    /// The mechanisms the server offered (SCRAM looks for `-PLUS` ones,
    /// RFC 5802 §6).
    pub offered: &'a [Mechanism],
}

/// One SASL exchange on the client side. The client machine calls it with
/// each server challenge, decoded, and sends back what it returns,
/// encoded; it handles the base64 framing, the `*` that cancels, and
/// whether an initial response fits on the AUTH line (RFC 4954 §4).
///
/// An implementation plugs in a mechanism the crate does not know (for
/// example GSSAPI through the application's own library): return it from
/// [`ClientMechanism::start`].
pub trait ClientExchange: Send + fmt::Debug {
    /// The initial response of a client-first mechanism, or `None` to wait
    /// for the server's first challenge. Called once, before anything is
    /// sent; an empty response is written `=` (RFC 4954 §4).
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError>;

    /// The response to one challenge. An error cancels the exchange with
    /// `*` (RFC 4954 §4) and fails the session's messages.
    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError>;

    /// The server accepted (`235`): an error when the mechanism has not
    /// seen what it needs to trust the server (SCRAM's server signature,
    /// RFC 5802 §9), and the client then sends nothing more but QUIT.
    fn complete(&mut self) -> Result<(), SaslError> {
        Ok(())
    }
}

/// Credentials that can drive some mechanisms: the client's side of a
/// mechanism the application brings
/// (`ClientCredentials::Custom`).
///
/// ```
/// use esmtp::ehlo::Mechanism;
/// use esmtp::sasl::{ClientExchange, ClientMechanism, SaslContext, SaslError};
///
/// /// A toy server-first mechanism: answers the challenge reversed.
/// #[derive(Debug)]
/// struct Reverse;
/// #[derive(Debug)]
/// struct ReverseExchange;
///
/// impl ClientExchange for ReverseExchange {
///     fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
///         Ok(None)
///     }
///     fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
///         Ok(challenge.iter().rev().copied().collect())
///     }
/// }
///
/// impl ClientMechanism for Reverse {
///     fn mechanisms(&self) -> &[Mechanism] {
///         static NAMES: std::sync::OnceLock<[Mechanism; 1]> = std::sync::OnceLock::new();
///         NAMES.get_or_init(|| ["X-REVERSE".parse().unwrap()])
///     }
///     fn start(&self, _: &Mechanism, _: &SaslContext<'_>)
///         -> Result<Box<dyn ClientExchange>, SaslError> {
///         Ok(Box::new(ReverseExchange))
///     }
/// }
/// ```
pub trait ClientMechanism: Send + Sync + fmt::Debug {
    /// The mechanisms these credentials can drive, strongest first: the
    /// client picks the first the server offers.
    fn mechanisms(&self) -> &[Mechanism];

    /// Starts one exchange of `mechanism` (one of
    /// [`ClientMechanism::mechanisms`]). An error sends nothing: the
    /// session's messages fail and it quits.
    fn start(
        &self,
        mechanism: &Mechanism,
        context: &SaslContext<'_>,
    ) -> Result<Box<dyn ClientExchange>, SaslError>;

    /// Whether [`ClientMechanism::start`] can succeed for `mechanism` in
    /// this context; the client skips the ones that cannot when it picks.
    fn can_start(&self, mechanism: &Mechanism, context: &SaslContext<'_>) -> bool {
        let _ = (mechanism, context);
        true
    }
}
