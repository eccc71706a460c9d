//! The grammar against RFC 5321's own examples, prefixes of valid lines,
//! and the hand-written value parsers on the same productions.

use proptest::prelude::*;

use super::path::{address_literal, domain, mailbox, reverse_path};
use super::{
    split_lenient_path_arguments, split_path_arguments, split_path_then_parameters, PathCommand,
    SplitError,
};
use crate::values::{parse_reverse_path, AddressLiteral, Domain, DomainRules, PathRules};

/// Whether the parser takes all of the text followed by LF (a delimiter
/// no production here takes), so that a streaming parser sees its end.
macro_rules! whole {
    ($parser:expr, $text:expr) => {{
        let owned: Vec<u8> = $text.to_vec();
        let text: &[u8] = &owned;
        let mut input = text.to_vec();
        input.push(b'\n');
        #[allow(unused_mut)]
        let mut parser = $parser;
        let verdict = matches!(parser(&input[..]), Ok((rest, got)) if rest == b"\n" && got == text);
        verdict
    }};
}

#[test]
fn rfc5321_examples_4_1_2_and_4_1_3() {
    for ok in [
        "<>",
        "<a@b.example>",
        "<@relay.example,@r2.example:user@host.example>",
        "<\"with space\"@example.org>",
        "<\"quoted\\\"pair\"@example.org>",
        "<user@[192.0.2.1]>",
        "<user@[IPv6:2001:db8::1]>",
        "<user@[IPv6:::ffff:192.0.2.1]>",
        "<user@[ipv6:1:2:3:4:5:6:7:8]>",
    ] {
        assert!(whole!(reverse_path(false), ok.as_bytes()), "{ok}");
    }
    for bad in [
        "<a@-b.example>",
        "<a@b-.example>",
        "<a..b@example.org>",
        "<a@[256.0.0.1]>",
        "<a@[IPv6:1:2:3:4:5:6:7::8:9]>",
        "<a@[2001:db8::1]>",
        "<a @b.example>",
        "<a@b.example",
    ] {
        assert!(!whole!(reverse_path(false), bad.as_bytes()), "{bad}");
    }
}

#[test]
fn size_limits_rfc5321_4_5_3_1() {
    let local = "a".repeat(64);
    assert!(whole!(
        mailbox(false),
        format!("{local}@x.example").as_bytes()
    ));
    assert!(!whole!(
        mailbox(false),
        format!("a{local}@x.example").as_bytes()
    ));
    let label = "b".repeat(63);
    assert!(whole!(domain(false), label.as_bytes()));
    assert!(!whole!(domain(false), format!("b{label}").as_bytes()));
    let long = [label.as_str(); 4].join(".");
    assert_eq!(long.len(), 255);
    assert!(whole!(domain(false), long.as_bytes()));
    assert!(!whole!(domain(false), format!("c.{long}").as_bytes()));
}

#[test]
fn every_prefix_of_a_valid_line_is_incomplete() {
    let line = b"FROM:<\"q\"@[IPv6:2001:db8::1]> SIZE=100 BODY=8BITMIME MTRK=YWJj=:60\r\n";
    let mut parse = super::path_arguments(PathCommand::From, false);
    assert!(parse(line).is_ok());
    for end in 0..line.len() {
        assert!(
            matches!(parse(&line[..end]), Err(nom::Err::Incomplete(_))),
            "{:?}",
            String::from_utf8_lossy(&line[..end])
        );
    }
}

#[test]
fn splits_path_and_parameters_rfc5321_4_1_1_2() {
    let args = b"FROM:<a@b.example> SIZE=1 RET=HDRS";
    let (path, params) = split_path_arguments(args, PathCommand::From, false).unwrap();
    assert_eq!(&args[path], b"<a@b.example>");
    assert_eq!(&args[params], b"SIZE=1 RET=HDRS");
    let args = b"TO:<Postmaster>";
    let (path, params) = split_path_arguments(args, PathCommand::To, false).unwrap();
    assert_eq!(&args[path], b"<Postmaster>");
    assert!(params.is_empty());
    // RFC 5321 §3.3: no space on either side of the colon.
    assert!(split_path_arguments(b"FROM: <a@b.example>", PathCommand::From, false).is_none());
    assert!(split_path_arguments(b"TO:<>", PathCommand::To, false).is_none());
    assert!(
        split_path_arguments(b"FROM:<a@b.example>  SIZE=1", PathCommand::From, false).is_none()
    );
}

/// What lenient mode accepts of MAIL/RCPT arguments (the forms the hand
/// splitter took before the grammar did, shown equal to it by a
/// differential proptest of 300,000 cases per property): spaces around
/// the colon (RFC 5321 §3.3 forbids them), a bare address (§4.1.2 wants
/// brackets), runs of SP before and between parameters.
#[test]
fn lenient_split_rfc5321_3_3_forms() {
    type Case<'t> = (&'t str, PathCommand, Result<(&'t str, &'t str), SplitError>);
    let table: &[Case<'_>] = &[
        (
            "FROM:<a@b.example>",
            PathCommand::From,
            Ok(("<a@b.example>", "")),
        ),
        ("  from : <a@b> ", PathCommand::From, Ok(("<a@b>", ""))),
        (
            "FROM: a@b  SIZE=1   BODY=7BIT",
            PathCommand::From,
            Ok(("a@b", "SIZE=1   BODY=7BIT")),
        ),
        (
            "TO:<\"a> b\"@c>  X=1",
            PathCommand::To,
            Ok(("<\"a> b\"@c>", "X=1")),
        ),
        (
            "TO:<\"a\\\">\"@c>",
            PathCommand::To,
            Ok(("<\"a\\\">\"@c>", "")),
        ),
        // Empty: for the value parser to refuse.
        ("FROM:", PathCommand::From, Ok(("", ""))),
        ("FROM :  ", PathCommand::From, Ok(("", ""))),
        ("TO:<a@b>", PathCommand::From, Err(SplitError::Keyword)),
        ("FRO:<a@b>", PathCommand::From, Err(SplitError::Keyword)),
        ("FROMX:<a@b>", PathCommand::From, Err(SplitError::Colon)),
        ("FROM <a@b>", PathCommand::From, Err(SplitError::Colon)),
        ("FROM:<a@b", PathCommand::From, Err(SplitError::Bracket)),
        ("FROM:<\"a>@b", PathCommand::From, Err(SplitError::Bracket)),
        (
            "FROM:<a\\\">@b",
            PathCommand::From,
            Err(SplitError::Bracket),
        ),
        (
            "FROM:<a@b>SIZE=1",
            PathCommand::From,
            Err(SplitError::Separator),
        ),
    ];
    for (args, command, want) in table {
        let got = split_lenient_path_arguments(args.as_bytes(), *command)
            .map(|(path, params)| (&args[path], &args[params]));
        assert_eq!(got, *want, "{args:?}");
    }
    // After the colon of a strict line: exactly one SP before parameters.
    let strict = |s: &'static str| {
        split_path_then_parameters(s.as_bytes()).map(|(path, params)| (&s[path], &s[params]))
    };
    assert_eq!(strict("<a@b> SIZE=1"), Ok(("<a@b>", "SIZE=1")));
    assert_eq!(strict("a@b SIZE=1"), Ok(("a@b", "SIZE=1")));
    assert_eq!(strict("<a@b>  SIZE=1"), Err(SplitError::Separator));
    assert_eq!(strict("<a@b"), Err(SplitError::Bracket));
}

/// Paths built from the characters that matter to the grammar: the
/// delimiters, quoting, literal syntax and ordinary letters.
fn path_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("@".to_owned()),
        Just(".".to_owned()),
        Just("-".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(" ".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("IPv6:".to_owned()),
        "[0-9]{1,4}",
        "[a-fA-F]{1,4}",
        "[a-z]{1,6}",
        "[!#$%&'*+/=?^_`{|}~]",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn strict_rules() -> PathRules {
    PathRules {
        utf8: false,
        bare: false,
        max_len: crate::values::MAX_PATH_LEN,
        local_limit: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The nom `Reverse-path` and the hand parser accept the same paths.
    #[test]
    fn reverse_path_agrees_with_the_value_parser(
        body in path_like(),
        wrap in any::<bool>(),
    ) {
        let text = if wrap { format!("<{body}>") } else { body };
        let nom = whole!(reverse_path(false), text.as_bytes());
        let hand = parse_reverse_path(&text, strict_rules()).is_ok();
        prop_assert_eq!(nom, hand, "{:?}", text);
    }

    /// The nom `Domain` / `address-literal` and the value parsers agree.
    #[test]
    fn domains_and_literals_agree(text in path_like()) {
        let rules = DomainRules { utf8: false, underscore: false };
        prop_assert_eq!(
            whole!(domain(false), text.as_bytes()),
            Domain::parse_with(text.as_bytes(), rules).is_ok(),
            "{:?}", text
        );
        let literal = format!("[{text}]");
        prop_assert_eq!(
            whole!(address_literal, literal.as_bytes()),
            AddressLiteral::parse(literal.as_bytes()).is_ok(),
            "{:?}", literal
        );
    }

    /// Where the strict grammar splits a line, lenient mode splits it the
    /// same way: leniency only adds forms (RFC 5321 §3.3, §4.1.2).
    #[test]
    fn lenient_split_extends_the_strict_one(
        body in path_like(),
        params in prop::collection::vec("[A-Z]{1,4}(=[a-z0-9]{1,3})?", 0..3),
        to in any::<bool>(),
    ) {
        let (keyword, command) = if to { ("TO", PathCommand::To) } else { ("FROM", PathCommand::From) };
        let mut args = format!("{keyword}:<{body}>");
        for p in &params {
            args.push(' ');
            args.push_str(p);
        }
        if let Some(strict) = split_path_arguments(args.as_bytes(), command, false) {
            let lenient = split_lenient_path_arguments(args.as_bytes(), command);
            prop_assert_eq!(lenient, Ok(strict), "{:?}", args);
        }
    }
}
