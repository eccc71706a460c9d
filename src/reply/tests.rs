//! Unit tables for the reply grammar (RFC 5321 §4.2).

use super::parse::enhanced_prefix;
use super::*;
use crate::error::{DecodeError, SyntaxErrorKind};

fn lenient() -> ReplyParseOptions {
    ReplyParseOptions::new()
}

fn esc(c: u8, s: u16, d: u16) -> Option<EnhancedStatusCode> {
    EnhancedStatusCode::new(c, s, d)
}

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

/// (input, consumed, code, lines).
type ValidCase<'t> = (&'t [u8], usize, u16, &'t [&'t [u8]]);

/// (input, options, enhanced code, first line text).
type EnhancedCase<'t> = (
    &'t [u8],
    ReplyParseOptions,
    Option<EnhancedStatusCode>,
    &'t [u8],
);

/// Well-formed replies, lenient mode.
#[test]
fn parse_valid_table_rfc5321_4_2() {
    let table: &[ValidCase<'_>] = &[
        (b"250 Ok\r\n", 8, 250, &[b"Ok"]),
        (b"250 Ok\r\nrest", 8, 250, &[b"Ok"]),
        // §4.2: the code alone, with or without a trailing space.
        (b"250\r\n", 5, 250, &[b""]),
        (b"250 \r\n", 6, 250, &[b""]),
        (
            b"250-mx.example Hello\r\n250-SIZE 100\r\n250 8BITMIME\r\n",
            50,
            250,
            &[b"mx.example Hello", b"SIZE 100", b"8BITMIME"],
        ),
        // RFC 4141 §9: a space after the hyphen stays part of the text.
        (
            b"250- example.com\r\n250 DSN\r\n",
            27,
            250,
            &[b" example.com", b"DSN"],
        ),
        (b"250-\r\n250 end\r\n", 15, 250, &[b"", b"end"]),
        // ehlo-greet: any octet but CR and LF (§4.1.1.1), lenient.
        (b"250 a\x00b\xff\x7f\r\n", 11, 250, &[b"a\x00b\xff\x7f"]),
        // Unknown codes are handled by their first digit (§4.2.2).
        (b"299 odd\r\n", 9, 299, &[b"odd"]),
        (b"354 go ahead\r\n", 14, 354, &[b"go ahead"]),
        // Lenient: bare LF as line end.
        (b"250-a\n250 b\n", 12, 250, &[b"a", b"b"]),
    ];
    for (input, consumed, c, lines) in table {
        let (reply, n) = Reply::parse(input, &lenient())
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
        assert_eq!(n, *consumed, "{input:?}");
        assert_eq!(reply.code().get(), *c, "{input:?}");
        assert_eq!(reply.enhanced(), None, "{input:?}");
        assert_eq!(reply.lines().collect::<Vec<_>>(), *lines, "{input:?}");
        assert_eq!(reply.line_count(), lines.len());
    }
}

/// (input, consumed) for malformed replies: a Reply syntax error covering
/// the reply up to the bad line.
#[test]
fn parse_invalid_table_rfc5321_4_2() {
    let table: &[(&[u8], usize)] = &[
        (b"150 odd first digit\r\n", 21),
        (b"650 odd first digit\r\n", 21),
        (b"050 x\r\n", 7),
        (b"abc\r\n", 5),
        (b"25\r\n", 4),
        (b"\r\n", 2),
        (b"250x\r\n", 6),
        (b"250_text\r\n", 10),
        // §4.2.1: every line carries the same code.
        (b"250-a\r\n251 b\r\n", 14),
        (b"250-a\r\n250-b\r\n550 c\r\n", 21),
        // A CR that does not start a CRLF.
        (b"250 a\rb\r\n", 9),
        (b"250-a\r\r\n250 b\r\n", 8),
        // NUL octets pack like no code at all: still not a code (found by
        // the reply fuzz target).
        (b"\0\0\0\0\n", 5),
        (b"\0\0\0 x\r\n", 7),
        (b"\0\0\0-x\r\n250 y\r\n", 7),
    ];
    for (input, consumed) in table {
        match Reply::parse(input, &lenient()) {
            Err(DecodeError::Syntax { error, consumed: n }) => {
                assert_eq!(error.kind(), SyntaxErrorKind::Reply, "{input:?}");
                assert_eq!(n, *consumed, "{input:?}");
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }
}

#[test]
fn strict_mode_rejects_lenient_forms() {
    let strict = ReplyParseOptions::strict();
    for input in [
        &b"250 ok\n"[..],
        b"250 a\x00b\r\n",
        b"250 del\x7f\r\n",
        b"260 odd second digit\r\n",
    ] {
        assert!(
            matches!(
                Reply::parse(input, &strict),
                Err(DecodeError::Syntax { .. })
            ),
            "{input:?}"
        );
    }
    // These are RFC 5321 §4.2 syntax, not leniency.
    for input in [
        &b"250\r\n"[..],
        b"250- x\r\n250 y\r\n",
        b"250 tab\there\r\n",
    ] {
        assert!(Reply::parse(input, &strict).is_ok(), "{input:?}");
    }
}

#[test]
fn every_strict_prefix_is_incomplete() {
    let full: &[u8] = b"250-mx.example\r\n250-2.0.0 x\r\n250 2.0.0 done\r\n";
    for opts in [lenient(), ReplyParseOptions::strict().with_enhanced(true)] {
        crate::testing::round_trip::check_prefixes_incomplete(full, |w| Reply::parse(w, &opts))
            .unwrap();
        assert_eq!(Reply::parse(full, &opts).unwrap().1, full.len());
    }
}

#[test]
fn line_limit_rfc5321_4_5_3_1_5() {
    let mut line = b"250 ".to_vec();
    line.resize(510, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), 512);
    assert!(Reply::parse(&line, &lenient()).is_ok());
    let mut long = line[..510].to_vec();
    long.extend_from_slice(b"y\r\n");
    assert_eq!(
        Reply::parse(&long, &lenient()).map(|(_, n)| n),
        Err(DecodeError::LineTooLong { limit: 512 })
    );
    // Without a line end, 512 octets are already too many...
    assert_eq!(
        Reply::parse(&long[..512], &lenient()).map(|(_, n)| n),
        Err(DecodeError::LineTooLong { limit: 512 })
    );
    // ...but 511 may still end in time.
    assert_eq!(
        Reply::parse(&long[..511], &lenient()).map(|(_, n)| n),
        Err(DecodeError::Incomplete)
    );
    let opts = lenient().with_max_line(8);
    assert!(Reply::parse(b"250 abc\r\n", &opts).is_err());
    assert!(Reply::parse(b"250 ab\r\n", &opts).is_ok());
}

#[test]
fn line_count_limit() {
    let opts = lenient().with_max_lines(2);
    assert!(Reply::parse(b"250-a\r\n250 b\r\n", &opts).is_ok());
    match Reply::parse(b"250-a\r\n250-b\r\n250 c\r\n", &opts) {
        Err(DecodeError::Syntax { consumed, .. }) => assert_eq!(consumed, 21),
        other => panic!("{other:?}"),
    }
}

/// (input, options, expected enhanced code, first line text): RFC 2034
/// §4 (codes may come without EHLO), RFC 3463 §2.
#[test]
fn enhanced_code_detection_rfc2034() {
    let on = lenient().with_enhanced(true);
    let table: &[EnhancedCase<'_>] = &[
        (b"250 2.1.0 Ok\r\n", on, esc(2, 1, 0), b"Ok"),
        (b"250 2.1.0\r\n", on, esc(2, 1, 0), b""),
        (b"550 5.7.1 no\r\n", on, esc(5, 7, 1), b"no"),
        (b"452 4.5.3 too many\r\n", on, esc(4, 5, 3), b"too many"),
        // Not advertised: the text is left alone.
        (b"250 2.1.0 Ok\r\n", lenient(), None, b"2.1.0 Ok"),
        // An IP address is not a status code.
        (b"250 1.2.3.4 accepted\r\n", on, None, b"1.2.3.4 accepted"),
        // The class must equal the first digit of the code.
        (b"250 5.1.0 Ok\r\n", on, None, b"5.1.0 Ok"),
        // Leading zeros are not allowed.
        (b"250 2.01.0 Ok\r\n", on, None, b"2.01.0 Ok"),
        // Never on 3xx.
        (b"354 2.0.0 go\r\n", on, None, b"2.0.0 go"),
        // Never in the greeting or a HELO/EHLO reply.
        (
            b"220 2.0.0 ready\r\n",
            on.with_context(ReplyContext::Greeting),
            None,
            b"2.0.0 ready",
        ),
        (
            b"250 2.0.0 hi\r\n",
            on.with_context(ReplyContext::Hello),
            None,
            b"2.0.0 hi",
        ),
        // Must be followed by SP or the line end.
        (b"250 2.1.0Ok\r\n", on, None, b"2.1.0Ok"),
        // Only the one SP after it is removed.
        (b"250 2.1.0  Ok\r\n", on, esc(2, 1, 0), b" Ok"),
        (b"250\r\n", on, None, b""),
    ];
    for (input, opts, want, text) in table {
        let (reply, _) = Reply::parse(input, opts).unwrap();
        assert_eq!(reply.enhanced(), *want, "{input:?}");
        assert_eq!(reply.lines().next().unwrap(), *text, "{input:?}");
    }
    // Every line of a multi-line reply repeats the code; each copy is removed.
    let (reply, _) = Reply::parse(b"550-5.1.1 no such\r\n550 5.1.1 user\r\n", &on).unwrap();
    assert_eq!(reply.enhanced(), esc(5, 1, 1));
    assert_eq!(
        reply.lines().collect::<Vec<_>>(),
        [&b"no such"[..], b"user"]
    );
    assert_eq!(reply.text(), "no such\nuser");
}

#[test]
fn parse_does_not_copy_and_into_owned_keeps_value() {
    let input = b"250 2.1.0 Ok\r\n".to_vec();
    let opts = lenient().with_enhanced(true);
    let (reply, _) = Reply::parse(&input, &opts).unwrap();
    assert!(matches!(reply.repr, Repr::Wire(Cow::Borrowed(_))));
    assert!(matches!(reply.text(), Cow::Borrowed("Ok")));
    let owned: Reply<'static> = reply.clone().into_owned();
    drop(input);
    assert_eq!(owned.text(), "Ok");
    assert_eq!(owned.enhanced(), esc(2, 1, 0));
}

#[test]
fn write_canonical_forms_rfc5321_4_2_1() {
    let table: &[(Reply<'_>, &[u8])] = &[
        (Reply::single(code(250), None, "Ok").unwrap(), b"250 Ok\r\n"),
        (Reply::single(code(250), None, "").unwrap(), b"250\r\n"),
        (
            Reply::new(code(250), None, Vec::<&str>::new()).unwrap(),
            b"250\r\n",
        ),
        (
            Reply::single(code(250), esc(2, 1, 0), "Ok").unwrap(),
            b"250 2.1.0 Ok\r\n",
        ),
        (
            Reply::single(code(250), esc(2, 1, 0), "").unwrap(),
            b"250 2.1.0\r\n",
        ),
        (
            Reply::new(code(550), esc(5, 1, 1), ["no such", "", "user"]).unwrap(),
            b"550-5.1.1 no such\r\n550-5.1.1\r\n550 5.1.1 user\r\n",
        ),
        (
            Reply::new(code(250), None, ["a", "", "b"]).unwrap(),
            b"250-a\r\n250-\r\n250 b\r\n",
        ),
        (
            Reply::single(code(354), None, "go ahead").unwrap(),
            b"354 go ahead\r\n",
        ),
    ];
    for (reply, wire) in table {
        assert_eq!(reply.to_bytes(), *wire);
        let opts = lenient().with_enhanced(reply.enhanced().is_some());
        let (back, n) = Reply::parse(wire, &opts).unwrap();
        assert_eq!(n, wire.len());
        assert_eq!(&back, reply);
    }
}

/// The crate's guarantee: caller text never puts CR or LF on the wire.
#[test]
fn writer_rejects_control_characters() {
    for (text, byte) in [
        ("a\r\n250 injected", b'\r'),
        ("a\nb", b'\n'),
        ("a\rb", b'\r'),
        ("nul\0", 0),
        ("del\x7f", 0x7f),
        ("esc\x1b[0m", 0x1b),
    ] {
        assert_eq!(
            Reply::new(code(250), None, ["fine", text]).err(),
            Some(ReplyTextError::Control { line: 1, byte }),
            "{text:?}"
        );
    }
    assert!(Reply::single(code(250), None, "tab\tok, ütf-8 ok").is_ok());
}

#[test]
fn writer_rejects_overlong_lines_and_mismatched_codes() {
    let ok = "x".repeat(506);
    assert_eq!(
        Reply::single(code(250), None, &ok)
            .unwrap()
            .to_bytes()
            .len(),
        512
    );
    let long = "x".repeat(507);
    assert!(matches!(
        Reply::single(code(250), None, &long),
        Err(ReplyTextError::TooLong { line: 0, len: 513 })
    ));
    assert_eq!(
        Reply::single(code(354), esc(2, 0, 0), "x").err(),
        Some(ReplyTextError::EnhancedMismatch)
    );
    assert_eq!(
        Reply::single(code(250), esc(5, 0, 0), "x").err(),
        Some(ReplyTextError::EnhancedMismatch)
    );
}

/// A CR inside a line takes the slow path of the line-end search: it is
/// still an error, whose `consumed` covers the line (RFC 5321 §2.3.8), and
/// still incomplete while the line has no LF.
#[test]
fn lone_cr_in_text_rfc5321_2_3_8() {
    let cr_error = |input: &[u8], consumed: usize| match Reply::parse(input, &lenient()) {
        Err(DecodeError::Syntax { error, consumed: c }) => {
            assert_eq!(error.kind(), SyntaxErrorKind::Reply);
            assert_eq!(c, consumed, "{input:?}");
        }
        other => panic!("{input:?}: {other:?}"),
    };
    cr_error(b"250 a\rb\r\n", 9);
    cr_error(b"250-ok\r\n250 a\rb\n", 16);
    cr_error(b"250 a\r\r\n", 8);
    for partial in [&b"250 a\r"[..], b"250 a\rb", b"250 a\rb\r"] {
        assert_eq!(
            Reply::parse(partial, &lenient()).map(|(_, n)| n),
            Err(DecodeError::Incomplete)
        );
    }
    // CR as the last octet of the line window, its LF past it.
    let long = [&b"250 "[..], &[b'x'; 507], b"\r\n"].concat();
    assert_eq!(
        Reply::parse(&long, &lenient()).map(|(_, n)| n),
        Err(DecodeError::LineTooLong { limit: 512 })
    );
    let fits = [&b"250 "[..], &[b'x'; 506], b"\r\n"].concat();
    assert_eq!(Reply::parse(&fits, &lenient()).map(|(_, n)| n), Ok(512));
}

proptest::proptest! {
    /// The one-pass enhanced code reader accepts what
    /// `EnhancedStatusCode::parse` accepts for the text before the end
    /// octet (RFC 3463 §2).
    #[test]
    fn enhanced_prefix_matches_parse(text in "[0-9.2-5 x]{0,12}") {
        let text = text.as_bytes();
        let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        let want = EnhancedStatusCode::parse(&text[..end]).map(|esc| (esc, end));
        proptest::prop_assert_eq!(enhanced_prefix(text, |b| b == b' '), want);
    }

    /// Lines strip a repeated enhanced code by comparing octets with the
    /// first line's: the same as reading a code and comparing values, as
    /// a code has one written form (RFC 3463 §2, RFC 2034 §4).
    #[test]
    fn strip_by_octets_matches_strip_by_value(
        text in "[0-9.2-5 x]{0,12}",
        class in proptest::sample::select(vec![2u8, 4, 5]),
        subject in 0u16..12,
        detail in proptest::sample::select(vec![0u16, 1, 5, 10, 99, 100, 999]),
    ) {
        let text = text.as_bytes();
        let esc = EnhancedStatusCode::new(class, subject, detail).unwrap();
        let mut written = Vec::new();
        esc.write_to(&mut written);
        proptest::prop_assert_eq!(written.len(), esc_wire_len(esc));
        let by_value = match enhanced_prefix(text, |b| b == b' ') {
            Some((found, end)) if found == esc => text.get(end + 1..).unwrap_or_default(),
            _ => text,
        };
        proptest::prop_assert_eq!(strip_enhanced(text, &written), by_value);
        let prefixed = [&written[..], b" ", text].concat();
        proptest::prop_assert_eq!(strip_enhanced(&prefixed, &written), text);
    }
}

#[test]
fn sanitized_reply_is_one_clean_line_rfc5321_4_5_3_1_5() {
    let code = ReplyCode::new(451).unwrap();
    let esc = EnhancedStatusCode::new(4, 3, 0);
    let r = Reply::sanitized(code, esc, "disk\r\nfull\u{7f}");
    assert_eq!(r.to_bytes(), b"451 4.3.0 disk  full \r\n");
    let long = "é".repeat(400);
    let wire = Reply::sanitized(code, esc, &long).to_bytes();
    assert!(
        wire.len() <= 512 && wire.ends_with(b"\r\n"),
        "{}",
        wire.len()
    );
    assert!(std::str::from_utf8(&wire).is_ok());
    // An enhanced code of another class is left off (RFC 3463 §2).
    let r = Reply::sanitized(ReplyCode::OK, esc, "ok");
    assert_eq!(r.to_bytes(), b"250 ok\r\n");
}
