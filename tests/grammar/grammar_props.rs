//! Properties of the values and the command grammar: `parse(write(x)) ==
//! x` for every value and command, every strict prefix of a command line
//! is `Incomplete`, and arbitrary bytes never panic.

use crate::strategies;

use std::borrow::Cow;

use esmtp::command::{Command, Etrn, SaslResponse, SendMode, Utf8Reply};
use esmtp::ehlo::Mechanism;
use esmtp::testing::round_trip::{check_prefixes_incomplete, check_round_trip};
use esmtp::values::{
    AddressLiteral, DateTime, Domain, EnhancedStatusCode, ForwardPath, Host, LocalPart, Mailbox,
    ReplyCode, ReversePath, XText,
};
use esmtp::{DecodeError, ParseOptions};
use proptest::prelude::*;
use strategies::*;

fn utf8_mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    ("[a-zé用户ü]{1,6}", "[a-z]{1,5}\\.(例子|bücher|example)").prop_map(|(l, d)| {
        Mailbox::new(
            LocalPart::new(&l).unwrap().into_owned(),
            Domain::parse(&d).unwrap().into_owned(),
        )
    })
}

fn any_mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    prop_oneof![3 => mailbox(), 1 => utf8_mailbox()]
}

fn reverse_path() -> impl Strategy<Value = ReversePath<'static>> {
    prop_oneof![1 => Just(ReversePath::Null), 4 => any_mailbox().prop_map(ReversePath::Mailbox)]
}

fn forward_path() -> impl Strategy<Value = ForwardPath<'static>> {
    prop_oneof![1 => Just(ForwardPath::Postmaster), 4 => any_mailbox().prop_map(ForwardPath::Mailbox)]
}

fn ascii_host() -> impl Strategy<Value = Host<'static>> {
    domain()
}

fn text() -> impl Strategy<Value = Cow<'static, str>> {
    "[!-~]([ -~]{0,20}[!-~])?".prop_map(Cow::Owned)
}

fn atom() -> impl Strategy<Value = Cow<'static, str>> {
    "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,12}".prop_map(Cow::Owned)
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just(Mechanism::Plain),
        Just(Mechanism::Login),
        Just(Mechanism::CramMd5),
        Just(Mechanism::XOAuth2),
        Just(Mechanism::OAuthBearer),
        "[A-Z][A-Z0-9_-]{0,19}".prop_map(|m| Mechanism::parse(m.as_bytes()).unwrap()),
    ]
}

fn sasl_initial() -> impl Strategy<Value = Option<SaslResponse<'static>>> {
    prop_oneof![
        Just(None),
        Just(Some(SaslResponse::Empty)),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(|b| Some(SaslResponse::encode(&b))),
    ]
}

fn etrn() -> impl Strategy<Value = Etrn<'static>> {
    let dom = || {
        domain().prop_filter_map("domain", |h| match h {
            Host::Domain(d) => Some(d),
            _ => None,
        })
    };
    prop_oneof![
        dom().prop_map(Etrn::Domain),
        dom().prop_map(Etrn::Subdomains),
        "[!-~]{1,10}".prop_map(|q| Etrn::Queue(Cow::Owned(q))),
    ]
}

fn utf8_reply() -> impl Strategy<Value = Utf8Reply> {
    prop_oneof![
        Just(Utf8Reply::No),
        Just(Utf8Reply::SmtpUtf8),
        Just(Utf8Reply::Utf8Reply)
    ]
}

/// Every command, with values the strict writer can express.
fn command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        ascii_host().prop_map(Command::Helo),
        ascii_host().prop_map(Command::Ehlo),
        ascii_host().prop_map(Command::Lhlo),
        (reverse_path(), mail_params()).prop_map(|(from, params)| Command::Mail { from, params }),
        (forward_path(), rcpt_params()).prop_map(|(to, params)| Command::Rcpt { to, params }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        (atom(), utf8_reply()).prop_map(|(target, utf8)| Command::Vrfy { target, utf8 }),
        (atom(), utf8_reply()).prop_map(|(target, utf8)| Command::Expn { target, utf8 }),
        proptest::option::of(text()).prop_map(Command::Help),
        proptest::option::of(text()).prop_map(Command::Noop),
        Just(Command::Quit),
        Just(Command::StartTls),
        (mechanism(), sasl_initial())
            .prop_map(|(mechanism, initial)| Command::Auth { mechanism, initial }),
        etrn().prop_map(Command::Etrn),
        proptest::collection::vec("[a-z]{1,6}\\.[a-z]{2,4}", 0..4).prop_map(|ds| {
            Command::Atrn(
                ds.iter()
                    .map(|d| Domain::parse(d).unwrap().into_owned())
                    .collect(),
            )
        }),
        Just(Command::Turn),
        (
            prop_oneof![
                Just(SendMode::Send),
                Just(SendMode::Soml),
                Just(SendMode::Saml)
            ],
            reverse_path(),
            mail_params()
        )
            .prop_map(|(mode, from, params)| Command::Send { mode, from, params }),
        ("[a-z]{3,6}://[!-~]{1,20}", any::<bool>()).prop_map(|(url, last)| Command::Burl {
            url: Cow::Owned(url),
            last
        }),
        Just(Command::Verb),
        Just(Command::Onex),
        ("X[A-Z0-9-]{0,10}", proptest::option::of(text())).prop_map(|(verb, args)| {
            Command::Other {
                verb: Cow::Owned(verb),
                args,
            }
        }),
    ]
}

fn full() -> ParseOptions {
    ParseOptions::strict()
        .with_utf8(true)
        .with_max_line(usize::MAX)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn command_round_trip(cmd in command()) {
        let wire = cmd.to_bytes().expect("generated commands are writable");
        check_round_trip(&cmd, &wire, |w| Command::parse(w, &full())).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn command_prefixes_are_incomplete(cmd in command()) {
        let wire = cmd.to_bytes().expect("generated commands are writable");
        check_prefixes_incomplete(&wire, |w| Command::parse(w, &full())).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn commands_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), mode in 0u8..4) {
        let opts = match mode {
            0 => ParseOptions::strict(),
            1 => ParseOptions::lenient(),
            2 => ParseOptions::strict().with_utf8(true),
            _ => ParseOptions::lenient().with_utf8(true).with_max_line(40),
        };
        let mut at = 0;
        while at < bytes.len() {
            match Command::parse(&bytes[at..], &opts) {
                Ok((_, n)) | Err(DecodeError::Syntax { consumed: n, .. }) => {
                    prop_assert!(n > 0);
                    at += n;
                }
                Err(_) => break,
            }
        }
        let _ = SaslResponse::parse_line(&bytes, 100);
    }

    #[test]
    fn command_shaped_input_never_panics(
        verb in "(MAIL FROM:|RCPT TO:|EHLO |HELO |BDAT |AUTH |ETRN |ATRN |VRFY |BURL )",
        rest in "[ -~\\x80-\\xff]{0,80}",
    ) {
        let line = format!("{verb}{rest}\r\n");
        let _ = Command::parse(line.as_bytes(), &ParseOptions::lenient().with_utf8(true));
        let _ = Command::parse(line.as_bytes(), &ParseOptions::strict());
    }

    #[test]
    fn mailbox_round_trip(m in any_mailbox()) {
        let wire = m.to_wire_string();
        prop_assert_eq!(Mailbox::parse(&wire).unwrap(), m);
    }

    #[test]
    fn paths_round_trip(r in reverse_path(), f in forward_path()) {
        let (rs, fs) = (r.to_string(), f.to_string());
        prop_assert_eq!(ReversePath::parse(&rs).unwrap(), r);
        prop_assert_eq!(ForwardPath::parse(&fs).unwrap(), f);
    }

    #[test]
    fn domain_and_literal_round_trip(h in domain()) {
        let s = h.to_string();
        prop_assert_eq!(Host::parse(&s).unwrap(), h.clone());
        if let Host::Literal(l) = h {
            let mut out = Vec::new();
            l.write_to(&mut out);
            prop_assert_eq!(AddressLiteral::parse(&out).unwrap(), l);
        }
    }

    #[test]
    fn xtext_round_trip(s in ".{0,20}") {
        let x = XText::new(s.clone());
        let mut out = Vec::new();
        x.write_to(&mut out);
        prop_assert_eq!(out.len(), x.encoded_len());
        let decoded = XText::decode(&out, false).unwrap();
        prop_assert_eq!(decoded.as_str(), s.as_str());
    }

    #[test]
    fn date_time_round_trip(d in date_time(true)) {
        prop_assert_eq!(DateTime::parse(d.to_string().as_bytes()).unwrap(), d);
        let unix = d.unix_timestamp();
        if let Some(utc) = DateTime::from_unix(unix) {
            prop_assert_eq!(utc.unix_timestamp(), unix);
        }
    }

    #[test]
    fn codes_round_trip(code in 200u16..560, class in prop_oneof![Just(2u8), Just(4), Just(5)], s in 0u16..1000, d in 0u16..1000) {
        if let Some(c) = ReplyCode::new(code) {
            prop_assert_eq!(ReplyCode::from_ascii(&c.to_ascii()), Some(c));
        }
        let e = EnhancedStatusCode::new(class, s, d).unwrap();
        let mut out = Vec::new();
        e.write_to(&mut out);
        prop_assert_eq!(EnhancedStatusCode::parse(&out), Some(e));
    }

    #[test]
    fn values_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = AddressLiteral::parse(&bytes);
        let _ = XText::decode(&bytes, true);
        let _ = DateTime::parse(&bytes);
        let _ = EnhancedStatusCode::parse(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Mailbox::parse(s);
            let _ = ReversePath::parse(s);
            let _ = ForwardPath::parse(s);
            let _ = Domain::parse(s);
        }
    }
}

/// Every command that carries caller text, built from `text`.
fn text_commands(text: &str) -> Vec<Command<'_>> {
    let t = || Cow::Borrowed(text);
    vec![
        Command::Vrfy {
            target: t(),
            utf8: Utf8Reply::No,
        },
        Command::Expn {
            target: t(),
            utf8: Utf8Reply::SmtpUtf8,
        },
        Command::Help(Some(t())),
        Command::Noop(Some(t())),
        Command::Etrn(Etrn::Queue(t())),
        Command::Burl {
            url: t(),
            last: true,
        },
        Command::Other {
            verb: t(),
            args: None,
        },
        Command::Other {
            verb: Cow::Borrowed("XFOO"),
            args: Some(t()),
        },
        Command::Auth {
            mechanism: Mechanism::Plain,
            initial: Some(SaslResponse::Data(t())),
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// RFC 5321 §2.3.8: a command is one line ending in CRLF. Whatever
    /// text a caller puts in a command, writing it gives exactly one line
    /// (no CR, LF or NUL inside) or an error and nothing written.
    #[test]
    fn caller_text_writes_one_line_or_an_error(
        text in prop_oneof![
            any::<String>(),
            "[ -~]{0,12}(\r\n|\n|\r|\0)[ -~]{0,12}",
            "[A-Za-z0-9+/=\r\n -]{0,16}",
        ]
    ) {
        for cmd in text_commands(&text) {
            let mut out = b"prefix".to_vec();
            match cmd.write_to(&mut out) {
                Ok(()) => {
                    let line = &out[6..];
                    prop_assert!(line.ends_with(b"\r\n"), "{:?}", cmd);
                    let body = &line[..line.len() - 2];
                    prop_assert!(
                        !body.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0),
                        "{:?} wrote {:?}", cmd, String::from_utf8_lossy(line)
                    );
                }
                Err(_) => prop_assert_eq!(&out, b"prefix", "{:?}", cmd),
            }
        }
    }
}

/// The checks refuse exactly what would break the line, with a typed
/// error naming the field.
#[test]
fn caller_text_errors_are_typed_rfc5321_4_1_1() {
    use esmtp::EncodeError;
    assert_eq!(
        Command::Noop(Some("a\r\nRSET".into())).to_bytes(),
        Err(EncodeError::Control {
            field: "NOOP string",
            byte: b'\r'
        })
    );
    assert_eq!(
        Command::Burl {
            url: "imap://a b".into(),
            last: false
        }
        .to_bytes(),
        Err(EncodeError::Space("BURL URI"))
    );
    assert_eq!(
        Command::Auth {
            mechanism: Mechanism::Plain,
            initial: Some(SaslResponse::Data("AGE\r\nQUIT".into()))
        }
        .to_bytes(),
        Err(EncodeError::Base64)
    );
    assert_eq!(
        Command::Other {
            verb: "X FOO".into(),
            args: None
        }
        .to_bytes(),
        Err(EncodeError::Verb("X FOO".into()))
    );
    assert_eq!(
        Command::Noop(Some("hello world".into()))
            .to_bytes()
            .unwrap(),
        b"NOOP hello world\r\n"
    );
    let mut out = Vec::new();
    assert_eq!(
        SaslResponse::Data("a\r\n".into()).write_to(&mut out, false),
        Err(EncodeError::Base64)
    );
    assert!(out.is_empty());
}
