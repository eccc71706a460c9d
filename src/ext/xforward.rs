//! XFORWARD (Postfix's XFORWARD_README): a content filter or relay passes
//! the original client's attributes (name, address, port, protocol, HELO,
//! message id, local or remote source) on to the next MTA, for its logs.
//! They accumulate over XFORWARD commands and hold for the next mail
//! transaction only.
//!
//! The command is `XFORWARD 1*(SP attribute-name "=" attribute-value)`,
//! xtext values typed as [`Xforward`]; the EHLO keyword lists the
//! attributes taken. The shared value grammars are in
//! [`super::xclient`].
//!
//! A server offers it only to sessions the application authorises
//! ([`Server::set_xforward_authorized`](crate::server::Server::set_xforward_authorized)),
//! with [`Extensions::xforward`](crate::server::Extensions::xforward) on; a
//! client sends it with [`Client::xforward`](crate::client::Client::xforward)
//! when offered.

use std::borrow::Cow;
use std::net::IpAddr;

use super::seam::Extension;
use super::xclient::{
    attr, check_attr, check_for_sending, for_each_attr, is_hostname, is_word, own_attr, parse_addr,
    parse_port, put, set_once, Attr, AttrName, AttrNames, WireValue, MAX_VALUE,
};
use super::{reply, MandatedReply};
use crate::ehlo::Capabilities;
use crate::error::{EncodeError, SyntaxError, SyntaxErrorKind};
use crate::options::ParseOptions;

/// The EHLO keyword, which is also the verb.
pub const EHLO_KEYWORD: &str = "XFORWARD";

/// The attributes were taken (XFORWARD_README, "server reply codes": 250).
pub const OK: MandatedReply = reply(250, 2, 0, 0, "OK");

/// XFORWARD in a mail transaction (XFORWARD_README: 503).
pub const IN_TRANSACTION: MandatedReply = reply(503, 5, 5, 1, "MAIL transaction in progress");

/// A client the application did not authorise (XFORWARD_README: 550).
pub const NOT_AUTHORIZED: MandatedReply = reply(550, 5, 7, 0, "Insufficient authorization");

/// The application refused the attributes.
pub const REFUSED: MandatedReply = reply(550, 5, 7, 1, "Access denied");

/// The longest `PROTO` (XFORWARD_README: "up to 64 characters").
const MAX_PROTO: usize = 64;

/// XFORWARD's `SOURCE`: where the up-stream host got the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// `LOCAL`: from the up-stream host itself.
    Local,
    /// `REMOTE`: from anywhere else.
    Remote,
}

/// The attributes of one XFORWARD command, or those accumulated for a
/// transaction: each `None` when not sent (XFORWARD_README: then
/// `[UNAVAILABLE]`, once any was sent).
///
/// ```
/// use esmtp::ext::xclient::Attr;
/// use esmtp::ext::xforward::Xforward;
///
/// let x = Xforward::parse(Some("NAME=spike.porcupine.org ADDR=168.100.189.2 PROTO=ESMTP"),
///                         &Default::default()).unwrap();
/// assert_eq!(x.proto, Some(Attr::Value("ESMTP".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Xforward<'a> {
    /// `NAME`: the up-stream host name (not necessarily in the DNS).
    pub name: Option<Attr<Cow<'a, str>>>,
    /// `ADDR`: the up-stream address (`IPV6:` before an IPv6 one).
    pub addr: Option<Attr<IpAddr>>,
    /// `PORT`: the up-stream client port.
    pub port: Option<Attr<u16>>,
    /// `PROTO`: the protocol the mail came in by (up to 64 characters,
    /// SMTP or not).
    pub proto: Option<Attr<Cow<'a, str>>>,
    /// `HELO`: the name the up-stream host announced itself with.
    pub helo: Option<Attr<Cow<'a, str>>>,
    /// `IDENT`: the up-stream host's message id.
    pub ident: Option<Attr<Cow<'a, str>>>,
    /// `SOURCE`: LOCAL or REMOTE.
    pub source: Option<Attr<Source>>,
}

/// Every attribute name XFORWARD has, as this crate's server advertises
/// them (Postfix's order).
pub const ATTRIBUTES: AttrNames = AttrNames::EMPTY
    .with(AttrName::Name)
    .with(AttrName::Addr)
    .with(AttrName::Proto)
    .with(AttrName::Helo)
    .with(AttrName::Source)
    .with(AttrName::Port)
    .with(AttrName::Ident);

const EHLO_LINE: &str = "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT";

const fn arg_error(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

impl WireValue for Source {
    fn put_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self {
            Source::Local => b"LOCAL",
            Source::Remote => b"REMOTE",
        });
    }
}

fn parse_source(v: &str) -> Option<Source> {
    if v.eq_ignore_ascii_case("LOCAL") {
        Some(Source::Local)
    } else if v.eq_ignore_ascii_case("REMOTE") {
        Some(Source::Remote)
    } else {
        None
    }
}

impl<'a> Xforward<'a> {
    /// Parses the arguments after `XFORWARD ` (XFORWARD_README, "XFORWARD
    /// Command syntax"): at least one pair, names in any case, each at
    /// most once, values checked as Postfix checks them.
    pub fn parse(args: Option<&'a str>, opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let mut x = Xforward::default();
        let word = |v: Cow<'a, str>| is_word(&v, MAX_VALUE).then_some(v);
        for_each_attr(args, opts, |name, v| match name {
            AttrName::Name => set_once(
                &mut x.name,
                attr(
                    v,
                    false,
                    |v| is_hostname(&v).then_some(v),
                    "bad NAME syntax",
                ),
            ),
            AttrName::Addr => set_once(
                &mut x.addr,
                attr(v, false, |v| parse_addr(&v, opts), "bad ADDR syntax"),
            ),
            AttrName::Port => set_once(
                &mut x.port,
                attr(v, false, |v| parse_port(&v), "bad PORT syntax"),
            ),
            AttrName::Proto => set_once(
                &mut x.proto,
                attr(
                    v,
                    false,
                    |v| is_word(&v, MAX_PROTO).then_some(v),
                    "bad PROTO syntax",
                ),
            ),
            AttrName::Helo => set_once(&mut x.helo, attr(v, false, word, "bad HELO syntax")),
            AttrName::Ident => set_once(&mut x.ident, attr(v, false, word, "bad IDENT syntax")),
            AttrName::Source => set_once(
                &mut x.source,
                attr(v, false, |v| parse_source(&v), "bad SOURCE syntax"),
            ),
            _ => Err(arg_error("bad XFORWARD attribute name")),
        })?;
        Ok(x)
    }

    /// The attributes present.
    pub fn names(&self) -> AttrNames {
        [
            (self.name.is_some(), AttrName::Name),
            (self.addr.is_some(), AttrName::Addr),
            (self.port.is_some(), AttrName::Port),
            (self.proto.is_some(), AttrName::Proto),
            (self.helo.is_some(), AttrName::Helo),
            (self.ident.is_some(), AttrName::Ident),
            (self.source.is_some(), AttrName::Source),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(AttrNames::default(), |n, (_, name)| n.with(name))
    }

    /// Takes the attributes `newer` carries, keeping the others
    /// (XFORWARD_README: "With each valid XFORWARD command, the server
    /// updates XFORWARD attributes with the specified values").
    pub fn update(&mut self, newer: Xforward<'a>) {
        fn take<T>(slot: &mut Option<T>, newer: Option<T>) {
            if newer.is_some() {
                *slot = newer;
            }
        }
        take(&mut self.name, newer.name);
        take(&mut self.addr, newer.addr);
        take(&mut self.port, newer.port);
        take(&mut self.proto, newer.proto);
        take(&mut self.helo, newer.helo);
        take(&mut self.ident, newer.ident);
        take(&mut self.source, newer.source);
    }

    /// Whether the command can be written: at least one attribute, every
    /// value one the parser takes back. (A client also keeps the line
    /// within 512 octets: [`Client::xforward`](crate::client::Client::xforward).)
    pub fn check(&self) -> Result<(), EncodeError> {
        if self.names() == AttrNames::default() {
            return Err(EncodeError::Empty("XFORWARD attributes"));
        }
        let word = |v: &Cow<'_, str>| is_word(v, MAX_VALUE);
        check_attr(&self.name, false, |v| is_hostname(v), "XFORWARD NAME")?;
        check_attr(&self.addr, false, |_| true, "XFORWARD ADDR")?;
        check_attr(&self.port, false, |_| true, "XFORWARD PORT")?;
        check_attr(
            &self.proto,
            false,
            |v| is_word(v, MAX_PROTO),
            "XFORWARD PROTO",
        )?;
        check_attr(&self.helo, false, word, "XFORWARD HELO")?;
        check_attr(&self.ident, false, word, "XFORWARD IDENT")?;
        check_attr(&self.source, false, |_| true, "XFORWARD SOURCE")
    }

    /// [`Xforward::check`], and the limits a client keeps to: each value
    /// within 255 octets as encoded, the line within 512 (XFORWARD_README
    /// Notes 1 and 2).
    pub fn check_for_sending(&self) -> Result<(), EncodeError> {
        self.check()?;
        let mut line = Vec::with_capacity(128);
        self.write_checked(&mut line);
        check_for_sending(&line, "XFORWARD")
    }

    /// Appends `XFORWARD NAME=value …` (without CRLF), after
    /// [`Xforward::check`].
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.check()?;
        self.write_checked(out);
        Ok(())
    }

    pub(crate) fn write_checked(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(EHLO_KEYWORD.as_bytes());
        put(out, AttrName::Name, &self.name);
        put(out, AttrName::Addr, &self.addr);
        put(out, AttrName::Port, &self.port);
        put(out, AttrName::Proto, &self.proto);
        put(out, AttrName::Helo, &self.helo);
        put(out, AttrName::Ident, &self.ident);
        put(out, AttrName::Source, &self.source);
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Xforward<'static> {
        Xforward {
            name: own_attr(self.name),
            addr: self.addr,
            port: self.port,
            proto: own_attr(self.proto),
            helo: own_attr(self.helo),
            ident: own_attr(self.ident),
            source: self.source,
        }
    }
}

/// The attributes a server's EHLO reply offers for XFORWARD, or `None`
/// when it does not offer XFORWARD.
pub fn offered(caps: &Capabilities<'_>) -> Option<AttrNames> {
    caps.unknown_keyword(EHLO_KEYWORD)
        .map(AttrNames::from_ehlo_params)
}

/// XFORWARD: advertised with its attribute list to sessions the
/// application authorised (kept among the unknown EHLO keywords, where a
/// client finds it: [`offered`]).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        if o.ext().xforward && o.xforward_authorized {
            // A constant line of valid keyword and parameters.
            let _ = caps.add_unknown(EHLO_LINE);
        }
    },
    ..Extension::NONE
};

#[cfg(test)]
mod tests {
    use super::*;

    /// XFORWARD_README's example: two commands, accumulated.
    #[test]
    fn readme_example_accumulates_xforward_readme() {
        let opts = ParseOptions::default();
        let mut acc = Xforward::parse(
            Some("NAME=spike.porcupine.org ADDR=168.100.189.2 PROTO=ESMTP"),
            &opts,
        )
        .unwrap();
        let helo = Xforward::parse(Some("HELO=spike.porcupine.org"), &opts).unwrap();
        acc.update(helo);
        assert_eq!(acc.name, Some(Attr::Value("spike.porcupine.org".into())));
        assert_eq!(acc.helo, Some(Attr::Value("spike.porcupine.org".into())));
        assert_eq!(acc.proto, Some(Attr::Value("ESMTP".into())));
        let newer = Xforward::parse(Some("ADDR=[UNAVAILABLE]"), &opts).unwrap();
        acc.update(newer);
        assert_eq!(acc.addr, Some(Attr::Unavailable));
        assert_eq!(acc.name, Some(Attr::Value("spike.porcupine.org".into())));
    }

    /// XFORWARD_README: NAME ADDR PORT PROTO HELO IDENT SOURCE, no
    /// `[TEMPUNAVAIL]`, no XCLIENT-only names; values of at most 255
    /// octets (Note 1), PROTO at most 64.
    #[test]
    fn attributes_and_their_values_xforward_readme() {
        let opts = ParseOptions::default();
        let x = Xforward::parse(
            Some("name=a.example ADDR=IPv6:::1 PORT=25 PROTO=SMTP HELO=b IDENT=4Ab12 SOURCE=local"),
            &opts,
        )
        .unwrap();
        assert_eq!(x.source, Some(Attr::Value(Source::Local)));
        assert_eq!(x.addr, Some(Attr::Value("::1".parse().unwrap())));
        assert_eq!(x.names(), ATTRIBUTES);
        let mut wire = Vec::new();
        x.write_to(&mut wire).unwrap();
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            "XFORWARD NAME=a.example ADDR=IPV6:::1 PORT=25 PROTO=SMTP HELO=b IDENT=4Ab12 SOURCE=LOCAL"
        );
        for bad in [
            "NAME=[TEMPUNAVAIL]",
            "LOGIN=x",
            "DESTADDR=192.0.2.1",
            "SOURCE=ELSEWHERE",
            "IDENT=a+20b",
        ] {
            let e = Xforward::parse(Some(bad), &opts).unwrap_err();
            assert_eq!(e.reply().0.get(), 501, "{bad}");
        }
        let proto = format!("PROTO={}", "P".repeat(65));
        assert!(Xforward::parse(Some(&proto), &opts).is_err());
    }

    #[test]
    fn offered_reads_the_ehlo_attribute_list_xforward_readme() {
        let mut caps = Capabilities::new("mx.example.org").unwrap();
        caps.add_unknown(EHLO_LINE).unwrap();
        assert_eq!(offered(&caps), Some(ATTRIBUTES));
    }
}
