//! The fast reply path against the nom grammar of RFC 5321 §4.2 (the
//! general parser): the same reply, length and error on every input, and
//! the fast path declines only what the grammar refuses.

use proptest::prelude::*;

use super::*;
use crate::error::DecodeError;

/// Every option the parsers look at, limits small enough to be hit.
fn options() -> impl Strategy<Value = ReplyParseOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        0..3u8,
        prop_oneof![Just(ReplyParseOptions::DEFAULT_MAX_LINE), 1..24usize],
        prop_oneof![Just(ReplyParseOptions::DEFAULT_MAX_LINES), 1..4usize],
    )
        .prop_map(|(strict, enhanced, context, max_line, max_lines)| {
            let strictness = if strict {
                Strictness::Strict
            } else {
                Strictness::Lenient
            };
            ReplyParseOptions::new()
                .with_strictness(strictness)
                .with_enhanced(enhanced)
                .with_context(match context {
                    0 => ReplyContext::Command,
                    1 => ReplyContext::Greeting,
                    _ => ReplyContext::Hello,
                })
                .with_max_line(max_line)
                .with_max_lines(max_lines)
        })
}

/// `Reply::parse` and `Reply::parse_general` agree, and the fast path on
/// its own either agrees or declined a reply the grammar refuses.
fn agree(input: &[u8], opts: &ReplyParseOptions) -> Result<(), TestCaseError> {
    let general = Reply::parse_general(input, opts);
    prop_assert_eq!(&Reply::parse(input, opts), &general, "{:?}", input);
    match Reply::parse_fast(input, opts) {
        Some(fast) => prop_assert_eq!(fast, general, "{:?}", input),
        None => prop_assert!(
            matches!(general, Err(DecodeError::Syntax { .. })),
            "fast path declined {:?}: {:?}",
            input,
            general
        ),
    }
    Ok(())
}

/// Lines built from what reply syntax turns on: codes in and out of range,
/// every separator, enhanced codes and near misses, controls, lone CR and
/// LF, 8-bit text, every line end.
fn adversarial_reply() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just("250"),
        Just("220"),
        Just("550"),
        Just("354"),
        Just("299"),
        Just("260"),
        Just("650"),
        Just("2x0"),
        Just("\0\0\0"),
        Just("25"),
        Just(""),
    ];
    let sep = prop_oneof![Just(""), Just(" "), Just("-"), Just("x"), Just("\t")];
    const TEXT: &[&[u8]] = &[
        b"ok",
        b"2.1.0",
        b"5.7.1 ",
        b"2.01.0",
        b"2.1.05",
        b"1.2.3.4",
        b" ",
        b"\t",
        b"\x00",
        b"\x7f",
        b"\r",
        b"\n",
        "\u{e9}".as_bytes(),
        b"\xff",
    ];
    const END: &[&[u8]] = &[b"\r\n", b"\r\n", b"\n", b"\r", b"", b"\r\r\n"];
    let text = prop::collection::vec(prop::sample::select(TEXT), 0..4).prop_map(|v| v.concat());
    let end = prop::sample::select(END);
    let line = (code, sep, text, end)
        .prop_map(|(c, s, t, e)| [c.as_bytes(), s.as_bytes(), &t, e].concat());
    prop::collection::vec(line, 1..5).prop_map(|v| v.concat())
}

/// Well-formed replies: one code, `-` on every line but the last, text
/// that strict mode takes, CRLF.
fn valid_reply() -> impl Strategy<Value = Vec<u8>> {
    (
        "[2-5][0-5][0-9]",
        prop::collection::vec("([245]\\.[1-9]\\.[0-9] )?[ -~\t]{0,12}", 1..5),
        any::<bool>(),
    )
        .prop_map(|(code, texts, bare_last)| {
            let mut out = Vec::new();
            let last = texts.len() - 1;
            for (i, text) in texts.iter().enumerate() {
                out.extend_from_slice(code.as_bytes());
                match (i == last, bare_last && text.is_empty()) {
                    (true, true) => {}
                    (true, false) => out.push(b' '),
                    (false, _) => out.push(b'-'),
                }
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn agree_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..48),
        opts in options(),
    ) {
        agree(&input, &opts)?;
    }

    #[test]
    fn agree_on_adversarial_replies(input in adversarial_reply(), opts in options()) {
        agree(&input, &opts)?;
    }

    /// A valid reply parses whole in both readings; every strict prefix
    /// is `Incomplete` in both (RFC 5321 §4.2).
    #[test]
    fn agree_on_valid_replies_and_their_prefixes(input in valid_reply(), opts in options()) {
        agree(&input, &opts)?;
        let roomy = opts
            .with_max_line(usize::MAX)
            .with_max_lines(usize::MAX);
        let (_, n) = Reply::parse_general(&input, &roomy).unwrap();
        prop_assert_eq!(n, input.len());
        for end in 0..input.len() {
            agree(&input[..end], &roomy)?;
            prop_assert_eq!(
                Reply::parse_general(&input[..end], &roomy).map(|(_, n)| n),
                Err(DecodeError::Incomplete)
            );
        }
    }
}
