//! SASL (RFC 4422) beyond the AUTH command's framing: SCRAM (RFC 5802,
//! RFC 7677) on both sides, the seam a client plugs its own mechanisms
//! into ([`ClientMechanism`], [`ClientExchange`]), and what both sides
//! share (errors, channel-binding data, secret octets).
//!
//! The AUTH command and its continuation lines (RFC 4954: base64, `*`,
//! the line limit, `=` for an empty initial response) are the machines';
//! a mechanism only ever sees and produces decoded octets.
//!
//! # Channel binding
//!
//! SCRAM can bind the exchange to the TLS connection under it (RFC 5802
//! §6, the `-PLUS` mechanisms). The machines never see TLS, so the driver
//! that performed the handshake gives them the binding data
//! ([`ChannelBinding`], e.g. `tls-exporter`, RFC 9266) with
//! `Server::set_channel_binding` and `Client::set_channel_binding`. Without
//! it a server refuses a client's `p=` and a client never sends one; with
//! it a client that is offered no `-PLUS` mechanism says `y` (it could
//! bind), and a server that offers one fails a client's `y` (a
//! man-in-the-middle removed the offer).
//!
//! The runtime layer (`runtime`) does not give the machines binding data
//! yet: there, offer no `-PLUS` mechanism.

mod exchange;
pub(crate) mod md5;
pub mod scram;

use std::fmt;

pub use exchange::{ClientExchange, ClientMechanism, SaslContext};

/// Why a SASL exchange cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The peer's message does not follow the mechanism's grammar.
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
    /// The server did not prove that it knows the credentials (a SCRAM
    /// server signature that differs or never came, RFC 5802 §9): it is
    /// not the server it claims to be.
    #[error("the server did not prove its identity")]
    ServerUnverified,
    /// The credentials or the session cannot drive this mechanism (a
    /// password SASLprep prohibits, no nonce, no channel-binding data).
    #[error("unusable with this mechanism: {0}")]
    Unusable(&'static str),
    /// The peer reported a failure (a SCRAM `e=` server error).
    #[error("the peer reported: {0}")]
    Peer(String),
    /// A failure of an application's own mechanism.
    #[error("{0}")]
    Mechanism(String),
}

/// Channel-binding data for the connection (RFC 5056): its type name, as
/// SCRAM's `p=` names it (`tls-exporter`, RFC 9266; `tls-server-end-point`,
/// RFC 5929 §4), and the octets the TLS library gives for it.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    name: String,
    data: Vec<u8>,
}

impl ChannelBinding {
    /// Binding data of type `name` (`1*(ALPHA / DIGIT / "." / "-")`,
    /// RFC 5802 §7 `cb-name`); `None` for an invalid name or empty data.
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>) -> Option<Self> {
        let name = name.into();
        let data = data.into();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        (valid && !data.is_empty()).then_some(ChannelBinding { name, data })
    }

    /// `tls-exporter` (RFC 9266): the 32 octets exported with the label
    /// `EXPORTER-Channel-Binding` and no context, on TLS 1.3.
    pub fn tls_exporter(data: impl Into<Vec<u8>>) -> Option<Self> {
        Self::new("tls-exporter", data)
    }

    /// The type name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The binding octets.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBinding")
            .field("name", &self.name)
            .field("len", &self.data.len())
            .finish()
    }
}

/// Decoded octets of one SASL message, which may carry a secret: `Debug`
/// shows only the length, and the memory is zeroed when dropped.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SaslData(Vec<u8>);

impl SaslData {
    /// Wraps decoded octets.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SaslData(bytes.into())
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether there are none (an empty response, `=` or an empty line).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for SaslData {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for SaslData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SaslData({} octets)", self.0.len())
    }
}

/// Equality that takes the same time wherever the inputs differ (the
/// `subtle` crate keeps the optimiser from short-circuiting it); only the
/// lengths may show.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_binding_names_rfc5802_7() {
        assert!(ChannelBinding::new("tls-exporter", vec![1]).is_some());
        assert!(ChannelBinding::new("tls-server-end-point", vec![1]).is_some());
        assert!(ChannelBinding::new("tls,exporter", vec![1]).is_none());
        assert!(ChannelBinding::new("", vec![1]).is_none());
        assert!(ChannelBinding::tls_exporter(Vec::new()).is_none());
        let cb = ChannelBinding::tls_exporter([7u8; 32]).unwrap();
        assert!(!format!("{cb:?}").contains('7'));
    }

    #[test]
    fn sasl_data_never_prints() {
        let d = SaslData::new(b"hunter2".to_vec());
        assert_eq!(format!("{d:?}"), "SaslData(7 octets)");
    }
}
