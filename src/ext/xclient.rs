//! XCLIENT (Postfix's XCLIENT_README): an authorised client — a proxy, a
//! content filter, a test tool — overrides what the server knows of the
//! SMTP client (name, address, port, HELO, login …) for the rest of the
//! session; the server answers with a new greeting.
//!
//! The command is `XCLIENT 1*(SP attribute-name "=" attribute-value)`,
//! the values xtext (RFC 3461 §4), each typed here ([`Xclient`]); the
//! EHLO keyword lists the attributes the server takes. What both XCLIENT
//! and XFORWARD share is here too (`xclient/attrs.rs`): [`Attr`] (a value,
//! `[UNAVAILABLE]` or `[TEMPUNAVAIL]`), [`AttrName`] and the value
//! grammars.
//!
//! A server offers it only to sessions the application authorises
//! ([`Server::set_xclient_authorized`](crate::server::Server::set_xclient_authorized)),
//! with [`Extensions::xclient`](crate::server::Extensions::xclient) on; a
//! client sends it with [`Client::xclient`](crate::client::Client::xclient)
//! when offered.

mod attrs;

use std::borrow::Cow;
use std::net::IpAddr;

pub(crate) use attrs::{
    arg_error, attr, check_attr, check_for_sending, for_each_attr, is_hostname, is_login, is_word,
    own_attr, parse_addr, parse_port, put, set_once, WireValue, MAX_VALUE,
};
pub use attrs::{Attr, AttrName, AttrNames};

use super::seam::Extension;
use super::{reply, MandatedReply};
use crate::ehlo::Capabilities;
use crate::error::{EncodeError, SyntaxError};
use crate::options::ParseOptions;

/// The EHLO keyword, which is also the verb.
pub const EHLO_KEYWORD: &str = "XCLIENT";

/// XCLIENT in a mail transaction (XCLIENT_README, "server reply codes":
/// 503).
pub const IN_TRANSACTION: MandatedReply = reply(503, 5, 5, 1, "MAIL transaction in progress");

/// A client the application did not authorise (XCLIENT_README: 550).
pub const NOT_AUTHORIZED: MandatedReply = reply(550, 5, 7, 0, "Insufficient authorization");

/// The application refused the new client attributes (XCLIENT_README:
/// "connection rejected by connection-level access decision").
pub const REFUSED: MandatedReply = reply(550, 5, 7, 1, "Access denied");

/// XCLIENT's `PROTO`: the protocol the client is taken to have used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `SMTP`: the client sent HELO.
    Smtp,
    /// `ESMTP`: the client sent EHLO.
    Esmtp,
}

/// The attributes of one XCLIENT command: each `None` when not sent.
/// Built with [`Xclient::default`] and its public fields, or parsed.
///
/// ```
/// use esmtp::ext::xclient::{Attr, Xclient};
///
/// let mut x = Xclient::default();
/// x.name = Some(Attr::Value("spike.porcupine.org".into()));
/// x.addr = Some(Attr::Value("168.100.189.2".parse().unwrap()));
/// let mut wire = Vec::new();
/// x.write_to(&mut wire).unwrap();
/// assert_eq!(wire, b"XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Xclient<'a> {
    /// `NAME`: the client's host name (`[TEMPUNAVAIL]` allowed).
    pub name: Option<Attr<Cow<'a, str>>>,
    /// `REVERSE_NAME`: its reverse-DNS name (`[TEMPUNAVAIL]` allowed).
    pub reverse_name: Option<Attr<Cow<'a, str>>>,
    /// `ADDR`: its address (`IPV6:` before an IPv6 one on the wire).
    pub addr: Option<Attr<IpAddr>>,
    /// `PORT`: its port.
    pub port: Option<Attr<u16>>,
    /// `PROTO`: SMTP or ESMTP.
    pub proto: Option<Attr<Proto>>,
    /// `HELO`: its HELO argument.
    pub helo: Option<Attr<Cow<'a, str>>>,
    /// `LOGIN`: its SASL login name (the session counts as authenticated).
    pub login: Option<Attr<Cow<'a, str>>>,
    /// `DESTADDR`: the server address it reached.
    pub dest_addr: Option<Attr<IpAddr>>,
    /// `DESTPORT`: the server port it reached.
    pub dest_port: Option<Attr<u16>>,
}

/// Every attribute name XCLIENT has, as this crate's server advertises
/// them (Postfix's order).
pub const ATTRIBUTES: AttrNames = AttrNames::EMPTY
    .with(AttrName::Name)
    .with(AttrName::Addr)
    .with(AttrName::Proto)
    .with(AttrName::Helo)
    .with(AttrName::ReverseName)
    .with(AttrName::Port)
    .with(AttrName::Login)
    .with(AttrName::DestAddr)
    .with(AttrName::DestPort);

/// The attribute list after the EHLO keyword (Postfix's order).
const EHLO_LINE: &str = "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT";

impl WireValue for Proto {
    fn put_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self {
            Proto::Smtp => b"SMTP",
            Proto::Esmtp => b"ESMTP",
        });
    }
}

impl<'a> Xclient<'a> {
    /// Parses the arguments after `XCLIENT ` (XCLIENT_README, "XCLIENT
    /// Command syntax"): at least one pair, names in any case, each at
    /// most once, values checked as Postfix checks them.
    pub fn parse(args: Option<&'a str>, opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let mut x = Xclient::default();
        for_each_attr(args, opts, |name, v| match name {
            AttrName::Name => set_once(
                &mut x.name,
                attr(v, true, |v| is_hostname(&v).then_some(v), "bad NAME syntax"),
            ),
            AttrName::ReverseName => set_once(
                &mut x.reverse_name,
                attr(
                    v,
                    true,
                    |v| is_hostname(&v).then_some(v),
                    "bad REVERSE_NAME syntax",
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
                attr(v, false, |v| parse_proto(&v), "bad PROTO syntax"),
            ),
            AttrName::Helo => set_once(
                &mut x.helo,
                attr(
                    v,
                    false,
                    |v| is_word(&v, MAX_VALUE).then_some(v),
                    "bad HELO syntax",
                ),
            ),
            AttrName::Login => set_once(
                &mut x.login,
                attr(v, false, |v| is_login(&v).then_some(v), "bad LOGIN syntax"),
            ),
            AttrName::DestAddr => set_once(
                &mut x.dest_addr,
                attr(v, false, |v| parse_addr(&v, opts), "bad DESTADDR syntax"),
            ),
            AttrName::DestPort => set_once(
                &mut x.dest_port,
                attr(v, false, |v| parse_port(&v), "bad DESTPORT syntax"),
            ),
            AttrName::Ident | AttrName::Source => Err(arg_error("bad XCLIENT attribute name")),
        })?;
        Ok(x)
    }

    /// The attributes present.
    pub fn names(&self) -> AttrNames {
        let mut n = AttrNames::default();
        let mut add = |present: bool, name| {
            if present {
                n = n.with(name);
            }
        };
        add(self.name.is_some(), AttrName::Name);
        add(self.reverse_name.is_some(), AttrName::ReverseName);
        add(self.addr.is_some(), AttrName::Addr);
        add(self.port.is_some(), AttrName::Port);
        add(self.proto.is_some(), AttrName::Proto);
        add(self.helo.is_some(), AttrName::Helo);
        add(self.login.is_some(), AttrName::Login);
        add(self.dest_addr.is_some(), AttrName::DestAddr);
        add(self.dest_port.is_some(), AttrName::DestPort);
        n
    }

    /// Whether a value (not `[UNAVAILABLE]`) was given for LOGIN: the
    /// session then counts as authenticated.
    pub fn has_login(&self) -> bool {
        matches!(self.login, Some(Attr::Value(_)))
    }

    /// Whether the command can be written: at least one attribute, every
    /// value one the parser takes back. (A client also keeps the line
    /// within 512 octets: [`Client::xclient`](crate::client::Client::xclient).)
    pub fn check(&self) -> Result<(), EncodeError> {
        if self.names() == AttrNames::default() {
            return Err(EncodeError::Empty("XCLIENT attributes"));
        }
        let host = |v: &Cow<'_, str>| is_hostname(v);
        check_attr(&self.name, true, host, "XCLIENT NAME")?;
        check_attr(&self.reverse_name, true, host, "XCLIENT REVERSE_NAME")?;
        check_attr(&self.addr, false, |_| true, "XCLIENT ADDR")?;
        check_attr(&self.port, false, |_| true, "XCLIENT PORT")?;
        check_attr(&self.proto, false, |_| true, "XCLIENT PROTO")?;
        check_attr(&self.helo, false, |v| is_word(v, MAX_VALUE), "XCLIENT HELO")?;
        check_attr(&self.login, false, |v| is_login(v), "XCLIENT LOGIN")?;
        check_attr(&self.dest_addr, false, |_| true, "XCLIENT DESTADDR")?;
        check_attr(&self.dest_port, false, |_| true, "XCLIENT DESTPORT")
    }

    /// [`Xclient::check`], and the limits a client keeps to: each value
    /// within 255 octets as encoded, the line within 512 (XCLIENT_README
    /// Note 1: send the rest in another XCLIENT).
    pub fn check_for_sending(&self) -> Result<(), EncodeError> {
        self.check()?;
        let mut line = Vec::with_capacity(128);
        self.write_checked(&mut line);
        check_for_sending(&line, "XCLIENT")
    }

    /// Appends `XCLIENT NAME=value …` (without CRLF), after
    /// [`Xclient::check`].
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.check()?;
        self.write_checked(out);
        Ok(())
    }

    pub(crate) fn write_checked(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(EHLO_KEYWORD.as_bytes());
        put(out, AttrName::Name, &self.name);
        put(out, AttrName::ReverseName, &self.reverse_name);
        put(out, AttrName::Addr, &self.addr);
        put(out, AttrName::Port, &self.port);
        put(out, AttrName::Proto, &self.proto);
        put(out, AttrName::Helo, &self.helo);
        put(out, AttrName::Login, &self.login);
        put(out, AttrName::DestAddr, &self.dest_addr);
        put(out, AttrName::DestPort, &self.dest_port);
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Xclient<'static> {
        Xclient {
            name: own_attr(self.name),
            reverse_name: own_attr(self.reverse_name),
            addr: self.addr,
            port: self.port,
            proto: self.proto,
            helo: own_attr(self.helo),
            login: own_attr(self.login),
            dest_addr: self.dest_addr,
            dest_port: self.dest_port,
        }
    }
}

fn parse_proto(v: &str) -> Option<Proto> {
    if v.eq_ignore_ascii_case("SMTP") {
        Some(Proto::Smtp)
    } else if v.eq_ignore_ascii_case("ESMTP") {
        Some(Proto::Esmtp)
    } else {
        None
    }
}

/// The attributes a server's EHLO reply offers for XCLIENT, or `None`
/// when it does not offer XCLIENT.
pub fn offered(caps: &Capabilities<'_>) -> Option<AttrNames> {
    caps.unknown_keyword(EHLO_KEYWORD)
        .map(AttrNames::from_ehlo_params)
}

/// XCLIENT: advertised with its attribute list to sessions the
/// application authorised (the EHLO line is kept among the unknown
/// keywords, where a client finds it: [`offered`]).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        if o.ext().xclient && o.xclient_authorized {
            // A constant line of valid keyword and parameters.
            let _ = caps.add_unknown(EHLO_LINE);
        }
    },
    ..Extension::NONE
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SyntaxErrorKind;

    fn lenient() -> ParseOptions {
        ParseOptions::default()
    }

    /// XCLIENT_README's example command.
    #[test]
    fn readme_example_parses_xclient_readme() {
        let x = Xclient::parse(
            Some("NAME=spike.porcupine.org ADDR=168.100.189.2"),
            &lenient(),
        )
        .unwrap();
        assert_eq!(x.name, Some(Attr::Value("spike.porcupine.org".into())));
        assert_eq!(x.addr, Some(Attr::Value("168.100.189.2".parse().unwrap())));
        assert_eq!(
            x.names(),
            AttrNames::default()
                .with(AttrName::Name)
                .with(AttrName::Addr)
        );
    }

    /// XCLIENT_README: IPv6 after `IPV6:`, `[UNAVAILABLE]` and
    /// `[TEMPUNAVAIL]` in any case (Note 2), names in any case.
    #[test]
    fn every_attribute_and_the_no_value_words_xclient_readme() {
        let x = Xclient::parse(
            Some(
                "name=[tempunavail] REVERSE_NAME=[UNAVAILABLE] Addr=ipv6:2001:db8::1 PORT=65535 \
                 PROTO=esmtp HELO=[192.0.2.1] LOGIN=user+40example.org DESTADDR=192.0.2.2 \
                 DESTPORT=[unavailable]",
            ),
            &lenient(),
        )
        .unwrap();
        assert_eq!(x.name, Some(Attr::TempUnavailable));
        assert_eq!(x.reverse_name, Some(Attr::Unavailable));
        assert_eq!(x.addr, Some(Attr::Value("2001:db8::1".parse().unwrap())));
        assert_eq!(x.port, Some(Attr::Value(65535)));
        assert_eq!(x.proto, Some(Attr::Value(Proto::Esmtp)));
        assert_eq!(x.helo, Some(Attr::Value("[192.0.2.1]".into())));
        assert_eq!(x.login, Some(Attr::Value("user@example.org".into())));
        assert!(x.has_login());
        assert_eq!(x.dest_port, Some(Attr::Unavailable));
        assert_eq!(x.names(), ATTRIBUTES);
        let mut wire = Vec::new();
        x.write_to(&mut wire).unwrap();
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            "XCLIENT NAME=[TEMPUNAVAIL] REVERSE_NAME=[UNAVAILABLE] ADDR=IPV6:2001:db8::1 \
             PORT=65535 PROTO=ESMTP HELO=[192.0.2.1] LOGIN=user@example.org \
             DESTADDR=192.0.2.2 DESTPORT=[UNAVAILABLE]"
        );
    }

    /// XCLIENT_README: "attribute-name = ( NAME | ADDR | … )", values
    /// checked as Postfix checks them (its replies: 501).
    #[test]
    fn bad_commands_are_syntax_errors_xclient_readme() {
        for args in [
            None,
            Some(""),
            Some("NAME"),
            Some("NAME="),
            Some("NAME=a NAME=b"),
            Some("IDENT=x"),
            Some("FOO=x"),
            Some("ADDR=[192.0.2.1]"),
            Some("ADDR=999.1.1.1"),
            Some("PORT=65536"),
            Some("PORT=-1"),
            Some("PROTO=LMTP"),
            Some("NAME=a<b"),
            Some("ADDR=[TEMPUNAVAIL]"),
        ] {
            let e = Xclient::parse(args, &lenient()).unwrap_err();
            assert_eq!(e.kind(), SyntaxErrorKind::Arguments, "{args:?}");
            assert_eq!(e.reply().0.get(), 501, "{args:?}");
        }
        let long = format!("HELO={}", "a".repeat(256));
        assert!(Xclient::parse(Some(&long), &lenient()).is_err());
    }

    /// XCLIENT_README Note 3: Postfix before 2.3 sent values without
    /// xtext; a lenient reader takes them as they are, a strict one not.
    #[test]
    fn unencoded_values_only_when_lenient_xclient_readme_note_3() {
        let strict = ParseOptions::strict();
        assert!(Xclient::parse(Some("LOGIN=a+b"), &strict).is_err());
        let x = Xclient::parse(Some("LOGIN=a+b"), &lenient()).unwrap();
        assert_eq!(x.login, Some(Attr::Value("a+b".into())));
        // A bare IPv6 address likewise.
        assert!(Xclient::parse(Some("ADDR=2001:db8::1"), &strict).is_err());
        assert!(Xclient::parse(Some("ADDR=2001:db8::1"), &lenient()).is_ok());
    }

    /// XCLIENT_README Note 1: a client's command stays within 512 octets;
    /// the writer refuses what the reader would (no value may smuggle a
    /// line: xtext encodes CR and LF).
    #[test]
    fn writer_refuses_what_cannot_be_read_back_xclient_readme_note_1() {
        let mut x = Xclient::default();
        assert!(x.check().is_err());
        x.login = Some(Attr::Value("evil\r\nRSET".into()));
        assert!(x.check().is_err());
        x.login = Some(Attr::Value("a b+c=d".into()));
        let mut wire = Vec::new();
        x.write_to(&mut wire).unwrap();
        assert_eq!(wire, b"XCLIENT LOGIN=a+20b+2Bc+3Dd");
        x.login = Some(Attr::Value("[UNAVAILABLE]".into()));
        assert!(x.check().is_err());
        x.login = None;
        x.port = Some(Attr::TempUnavailable);
        assert!(x.check().is_err());
        let long = Xclient {
            helo: Some(Attr::Value("h".repeat(255).into())),
            name: Some(Attr::Value("n".repeat(255).into())),
            ..Xclient::default()
        };
        assert!(long.check().is_ok());
        assert!(matches!(
            long.check_for_sending(),
            Err(EncodeError::TooLong { limit: 512, .. })
        ));
        // 100 spaces encode to 300 octets: within the value's 255, not
        // within the wire's.
        let spaced = Xclient {
            login: Some(Attr::Value(" ".repeat(100).into())),
            ..Xclient::default()
        };
        assert!(spaced.check().is_ok());
        assert!(matches!(
            spaced.check_for_sending(),
            Err(EncodeError::TooLong { limit: 255, .. })
        ));
    }

    /// The EHLO keyword's attribute list (XCLIENT_README, "the keyword …
    /// is followed by the names of the attributes").
    #[test]
    fn offered_reads_the_ehlo_attribute_list_xclient_readme() {
        let mut caps = Capabilities::new("mx.example.org").unwrap();
        assert_eq!(offered(&caps), None);
        caps.add_unknown("XCLIENT NAME ADDR PROTO HELO FUTURE")
            .unwrap();
        let names = offered(&caps).unwrap();
        assert!(names.contains(AttrName::Helo) && !names.contains(AttrName::Login));
        assert_eq!(names.iter().count(), 4);
        assert_eq!(AttrNames::from_ehlo_params(&EHLO_LINE[8..]), ATTRIBUTES);
    }
}
