//! BURL (RFC 4468): the EHLO keyword and its URL-scheme arguments, the
//! `absolute-URI` a BURL command carries, the parts of a message a client
//! sends as BURL and BDAT, and the replies of RFC 4468 §6.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use super::seam::{Extension, Negotiation, Offer};
use super::{reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::{SyntaxError, SyntaxErrorKind};

/// The EHLO keyword (`BURL [imap / imap://authority]`, RFC 4468 §3).
pub const EHLO_KEYWORD: &str = "BURL";

/// RFC 5321 `ehlo-param = 1*(%d33-126)`, the form every BURL argument
/// takes.
pub(crate) fn is_argument(p: &[u8]) -> bool {
    crate::ehlo::is_ehlo_param(p)
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// The scheme of an `absolute-URI = scheme ":" hier-part [ "?" query ]`
/// (RFC 3986 §4.3) as a BURL command carries it (RFC 4468 §3.5): a valid
/// scheme, a colon, then printable ASCII without space. `None` for
/// anything else.
pub(crate) fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    (is_scheme(scheme.as_bytes()) && uri.bytes().all(|b| b.is_ascii_graphic())).then_some(scheme)
}

/// The scheme a BURL EHLO argument names: `imap` for both `imap` and
/// `imap://authority` (RFC 4468 §3.3).
fn argument_scheme(arg: &str) -> &str {
    arg.split_once(':').map_or(arg, |(scheme, _)| scheme)
}

/// Whether a server offering `caps` takes BURL URLs of `scheme`: BURL is
/// advertised with an argument of that scheme (RFC 4468 §3.1: with no
/// argument, BURL needs authentication first, and names no scheme).
pub fn offers_scheme(caps: &Capabilities<'_>, scheme: &str) -> bool {
    caps.supports(Keyword::Burl)
        && caps
            .burl_args()
            .any(|a| argument_scheme(a).eq_ignore_ascii_case(scheme))
}

/// Whether a server configured with `args` resolves URLs of `scheme`:
/// with no argument configured, the application decides every URL.
pub(crate) fn serves_scheme(args: &[String], scheme: &str) -> bool {
    args.is_empty()
        || args
            .iter()
            .any(|a| argument_scheme(a).eq_ignore_ascii_case(scheme))
}

/// The URL of a BURL command: an `absolute-URI` (RFC 3986 §4.3; RFC 4468
/// §3.5), such as a URLAUTH IMAP URL (RFC 4467). Checked when built, so
/// it always writes as one word.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url(Cow<'static, str>);

impl Url {
    /// Checks `uri`: a scheme (RFC 3986 §3.1), a colon, and printable
    /// ASCII without space.
    pub fn new(uri: impl Into<Cow<'static, str>>) -> Result<Self, SyntaxError> {
        let uri = uri.into();
        if uri_scheme(&uri).is_none() {
            return Err(SyntaxError::new(
                SyntaxErrorKind::Arguments,
                "invalid BURL URL",
            ));
        }
        Ok(Url(uri))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its scheme (`imap`), as written.
    pub fn scheme(&self) -> &str {
        uri_scheme(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Url {
    /// URLAUTH URLs (RFC 4467) carry an access token: only the scheme is
    /// shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({}:…)", self.scheme())
    }
}

/// One part of a message submitted with
/// [`Client::submit_parts`](crate::client::Client::submit_parts): content
/// the client sends (with BDAT), or a URL the server fetches the content
/// of (with BURL, RFC 4468 §3.2). The parts are joined in order.
#[derive(Debug, Clone)]
pub enum Part {
    /// Content sent by the client, as with [`Client::submit`](crate::client::Client::submit):
    /// its line ends become CRLF (not for BINARYMIME).
    Bytes(Bytes),
    /// Content the server fetches from this URL.
    Burl(Url),
}

impl From<Url> for Part {
    fn from(url: Url) -> Self {
        Part::Burl(url)
    }
}

impl From<Bytes> for Part {
    fn from(content: Bytes) -> Self {
        Part::Bytes(content)
    }
}

/// A BURL or BDAT that did not end the message, resolved (RFC 4468 §6).
pub const WAITING: MandatedReply =
    reply(250, 2, 5, 0, "Waiting for additional BURL or BDAT commands");

/// BURL with no RCPT sent (RFC 4468 §6: "Valid RCPT TO required before
/// BURL").
pub const RCPT_REQUIRED: MandatedReply = reply(503, 5, 5, 0, "Valid RCPT TO required before BURL");

/// BURL after every RCPT failed (RFC 4468 §3.4, §6).
pub const NO_RECIPIENTS: MandatedReply = reply(554, 5, 5, 0, "No recipients have been specified");

/// The URL could not be resolved (RFC 4468 §5: X.6.6 "Message content not
/// available"; §6 "URL resolution failed"): what a server answers by
/// default.
pub const RESOLUTION_FAILED: MandatedReply = reply(554, 5, 6, 6, "URL resolution failed");

/// The server of the URL is not one the submission server trusts (RFC
/// 4468 §5, §6: X.7.8).
pub const TRUST_REQUIRED: MandatedReply =
    reply(554, 5, 7, 8, "URL resolution requires trust relationship");

/// The server the URL names could not be reached (RFC 4468 §6).
pub const SERVER_UNAVAILABLE: MandatedReply = reply(451, 4, 4, 1, "IMAP server unavailable");

/// The content needs a conversion the server does not do (RFC 4468 §4,
/// §6).
pub const CONVERSION_REQUIRED: MandatedReply =
    reply(554, 5, 6, 3, "Conversion required but not supported");

/// The message grew past the size limit with the URL's content (RFC 4468
/// §6).
pub const TOO_BIG: MandatedReply = reply(554, 5, 3, 4, "Message too big for system");

/// A URL whose scheme the server did not advertise (RFC 5321 §4.2.4: a
/// parameter not implemented).
pub const SCHEME_NOT_OFFERED: MandatedReply = reply(504, 5, 5, 4, "URL scheme not supported");

/// BURL or BDAT after one failed: the transaction stays failed until RSET
/// (RFC 4468 §3.2, RFC 3030 §2).
pub const AFTER_FAILURE: MandatedReply =
    reply(503, 5, 5, 1, "RSET required after a failed BURL or BDAT");

/// BURL: offered (on submission, RFC 4468 §3.1; never in LMTP) with
/// the schemes of [`Extensions::burl`](crate::server::Extensions::burl),
/// bare before AUTH when AUTH is required; a client sends the URL parts of
/// a message when their scheme is offered, else fails it before sending.
pub(crate) const EXTENSION: Extension = Extension {
    advertise,
    require,
    ..Extension::NONE
};

/// RFC 4468 §3.1: the arguments may change after AUTH, and BURL with none
/// before it says that authentication is needed to use it.
fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    let Some(args) = o.ext().burl.as_deref() else {
        return;
    };
    if o.lmtp() {
        return;
    }
    let bare = o.ext().auth_required && !o.authenticated;
    let named = args
        .iter()
        .filter(|a| !bare && is_argument(a.as_bytes()))
        .map(|a| Cow::Borrowed(a.as_str()));
    // Every argument passed `is_argument`: this cannot fail.
    let _ = caps.set_burl(named);
}

/// A message with URL parts needs BURL for each URL's scheme, and
/// CHUNKING for the content it sends between them; it goes as BURL and
/// BDAT commands whatever else is offered (RFC 4468 §3.2).
fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if !n.parts.iter().any(|p| matches!(p, Part::Burl(_))) {
        return Ok(());
    }
    for part in n.parts {
        if let Part::Burl(url) = part {
            if !offers_scheme(n.caps, url.scheme()) {
                return Err(MessageError::ExtensionUnsupported(Keyword::Burl));
            }
        }
    }
    let sends_content = n
        .parts
        .iter()
        .any(|p| matches!(p, Part::Bytes(b) if !b.is_empty()));
    if sends_content && !(n.config.chunking && n.has(Keyword::Chunking)) {
        return Err(MessageError::ExtensionUnsupported(Keyword::Chunking));
    }
    n.bdat = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_rfc4468_3_5() {
        let u = Url::new(
            "imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25;\
             urlauth=submit+harry:internal:91354a473744909de610943775f92038",
        )
        .unwrap();
        assert_eq!(u.scheme(), "imap");
        assert_eq!(format!("{u:?}"), "Url(imap:…)");
        assert_eq!(Url::new("x-y.z+1:").unwrap().scheme(), "x-y.z+1");
        for bad in [
            "",
            "imap",
            ":x",
            "1map://x",
            "im/ap://x",
            "imap://a b",
            "imap://\u{e9}",
        ] {
            assert!(Url::new(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ehlo_arguments_name_schemes_rfc4468_3_3() {
        assert_eq!(argument_scheme("imap"), "imap");
        assert_eq!(argument_scheme("imap://imap.example.com"), "imap");
        let mut caps = Capabilities::new("mx.example.org").unwrap();
        caps.set_burl(["IMAP://imap.example.com"]).unwrap();
        assert!(offers_scheme(&caps, "imap"));
        assert!(!offers_scheme(&caps, "https"));
        caps.set_burl(Vec::<&str>::new()).unwrap();
        assert!(!offers_scheme(&caps, "imap"), "bare BURL names no scheme");
        assert!(serves_scheme(&[], "https"));
        assert!(serves_scheme(&["imap".into()], "IMAP"));
        assert!(!serves_scheme(&["imap".into()], "https"));
    }

    #[test]
    fn replies_rfc4468_5_6() {
        for (r, code, esc) in [
            (WAITING, 250, "2.5.0"),
            (RCPT_REQUIRED, 503, "5.5.0"),
            (NO_RECIPIENTS, 554, "5.5.0"),
            (RESOLUTION_FAILED, 554, "5.6.6"),
            (TRUST_REQUIRED, 554, "5.7.8"),
            (SERVER_UNAVAILABLE, 451, "4.4.1"),
            (CONVERSION_REQUIRED, 554, "5.6.3"),
            (TOO_BIG, 554, "5.3.4"),
            (SCHEME_NOT_OFFERED, 504, "5.5.4"),
            (AFTER_FAILURE, 503, "5.5.1"),
        ] {
            assert_eq!(r.code().get(), code, "{}", r.text());
            assert_eq!(r.enhanced().to_string(), esc, "{}", r.text());
        }
    }
}
