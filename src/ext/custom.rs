//! The application's own EHLO keywords (RFC 5321 §4.1.1.1 `ehlo-line`,
//! §4.1.5 private extensions): a keyword with its parameters, checked
//! once when built, added to every EHLO reply of a server that lists it in
//! [`Extensions::custom`](crate::server::Extensions::custom).
//!
//! Their verbs, if any, are served as private verbs
//! ([`ServerConfig::private_verbs`](crate::server::ServerConfig::private_verbs),
//! [`Event::Command`](crate::server::Event::Command)); a client reads a
//! server's with [`Capabilities::unknown_keyword`](crate::ehlo::Capabilities::unknown_keyword)
//! and sends its commands with
//! [`Client::raw_command`](crate::client::Client::raw_command).

use std::fmt;

use super::seam::Extension;
use crate::ehlo::{CapabilityError, Keyword};

/// The longest keyword line: a reply line is at most 512 octets with its
/// `250-` and CRLF (RFC 5321 §4.5.3.1.5).
const MAX_LINE: usize = 512 - 4 - 2;

/// One EHLO keyword of the application's, with its parameters.
///
/// ```
/// use esmtp::ext::custom::CustomCapability;
/// use esmtp::server::{Server, ServerConfig};
///
/// let mut config = ServerConfig::new("mx.example.org").unwrap();
/// config.extensions.custom.push(CustomCapability::new("X-FEATURE", ["a=1", "b"]).unwrap());
/// let mut server = Server::new(config);
/// server.receive(b"EHLO c.example\r\n");
/// while server.poll_event().is_some() {}
/// server.accept().unwrap();
/// let reply = server.poll_transmit().unwrap();
/// assert!(String::from_utf8_lossy(&reply).ends_with("250 X-FEATURE a=1 b\r\n"));
/// // CR and LF cannot reach the wire: refused when built.
/// assert!(CustomCapability::new("X-A", ["b\r\n250 FAKE"]).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CustomCapability {
    /// `keyword *(SP param)`, checked.
    line: String,
}

impl CustomCapability {
    /// `keyword` (`ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT /
    /// "-")`) and its `params` (`ehlo-param = 1*(%d33-126)`), RFC 5321
    /// §4.1.1.1. A keyword this crate knows (SIZE, AUTH …, and XCLIENT or
    /// XFORWARD, which have their own settings) is refused: the machine
    /// advertises those itself, from what it enforces. The whole line
    /// must fit a reply line (506 octets).
    pub fn new<I, P>(keyword: &str, params: I) -> Result<Self, CapabilityError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let kw = keyword.as_bytes();
        let is_keyword = kw.first().is_some_and(u8::is_ascii_alphanumeric)
            && kw.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        if !is_keyword {
            return Err(CapabilityError::new("not an ehlo-keyword"));
        }
        let managed = [super::xclient::EHLO_KEYWORD, super::xforward::EHLO_KEYWORD];
        if Keyword::parse(kw).is_some() || managed.iter().any(|m| m.eq_ignore_ascii_case(keyword)) {
            return Err(CapabilityError::new(
                "a keyword the server advertises itself",
            ));
        }
        let mut line = keyword.to_ascii_uppercase();
        for p in params {
            let p = p.as_ref();
            if !crate::ehlo::is_ehlo_param(p.as_bytes()) {
                return Err(CapabilityError::new("not an ehlo-param"));
            }
            line.push(' ');
            line.push_str(p);
        }
        if line.len() > MAX_LINE {
            return Err(CapabilityError::new("keyword line over 506 octets"));
        }
        Ok(CustomCapability { line })
    }

    /// The keyword (upper case).
    pub fn keyword(&self) -> &str {
        self.line.split(' ').next().unwrap_or_default()
    }

    /// The parameters.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.line.split(' ').skip(1)
    }

    /// The line as advertised: `keyword *(SP param)`.
    pub fn as_str(&self) -> &str {
        &self.line
    }
}

impl fmt::Debug for CustomCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CustomCapability").field(&self.line).finish()
    }
}

/// The application's keywords, after the registered ones, each once.
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        for (i, c) in o.ext().custom.iter().enumerate() {
            let seen = o.ext().custom[..i]
                .iter()
                .any(|d| d.keyword() == c.keyword());
            if !seen {
                // Checked when built.
                let _ = caps.add_unknown(c.as_str());
            }
        }
    },
    ..Extension::NONE
};

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5321 §4.1.1.1: `ehlo-keyword` and `ehlo-param`; nothing else
    /// (no SP inside a parameter, no control, no 8-bit) reaches the line.
    #[test]
    fn keyword_and_params_are_checked_rfc5321_4_1_1_1() {
        let c = CustomCapability::new("x-Feature", ["v=1", "!~"]).unwrap();
        assert_eq!(c.as_str(), "X-FEATURE v=1 !~");
        assert_eq!(c.keyword(), "X-FEATURE");
        assert_eq!(c.params().collect::<Vec<_>>(), ["v=1", "!~"]);
        assert!(CustomCapability::new("X-BARE", [""; 0]).is_ok());
        for (kw, params) in [
            ("", vec![]),
            ("-X", vec![]),
            ("X_Y", vec![]),
            ("X Y", vec![]),
            ("X\r\n250", vec![]),
            ("X", vec![""]),
            ("X", vec!["a b"]),
            ("X", vec!["a\r\n250 FAKE"]),
            ("X", vec!["é"]),
            ("SIZE", vec!["1"]),
            ("auth", vec!["PLAIN"]),
            ("XCLIENT", vec!["NAME"]),
        ] {
            assert!(CustomCapability::new(kw, params).is_err(), "{kw:?}");
        }
        let long = "p".repeat(500);
        assert!(CustomCapability::new("X-LONG", [long.as_str()]).is_err());
    }
}
