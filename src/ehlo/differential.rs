//! The fast EHLO walk against the RFC 5321 §4.1.1.1 grammar on nom:
//! `Capabilities::from_reply` and `Capabilities::from_reply_general` read
//! every reply to the same set; and the one-pass `Capabilities::parse`
//! gives what `Reply::parse` then `Capabilities::from_reply` give.

use proptest::prelude::*;

use super::*;
use crate::error::DecodeError;
use crate::options::Strictness;
use crate::reply::{Reply, ReplyContext, ReplyParseOptions};

/// `Reply::parse`, then `Capabilities::from_reply`.
fn in_two_steps(
    input: &[u8],
    opts: &ReplyParseOptions,
) -> Result<(Capabilities<'static>, usize), DecodeError> {
    let (reply, used) = Reply::parse(input, opts)?;
    Capabilities::from_reply(&reply)
        .map(|caps| (caps.into_owned(), used))
        .map_err(|error| DecodeError::Syntax {
            error,
            consumed: used,
        })
}

fn one_pass_agrees(input: &[u8], opts: &ReplyParseOptions) -> Result<(), TestCaseError> {
    let one = Capabilities::parse(input, opts).map(|(caps, used)| (caps.into_owned(), used));
    prop_assert_eq!(
        one,
        in_two_steps(input, opts),
        "{:?} {:?}",
        String::from_utf8_lossy(input),
        opts
    );
    Ok(())
}

/// Every option `Capabilities::parse` looks at, limits small enough to be
/// hit.
fn options() -> impl Strategy<Value = ReplyParseOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        0..3u8,
        prop_oneof![Just(ReplyParseOptions::DEFAULT_MAX_LINE), 4..30usize],
        prop_oneof![Just(ReplyParseOptions::DEFAULT_MAX_LINES), 1..5usize],
    )
        .prop_map(|(strict, enhanced, context, max_line, max_lines)| {
            ReplyParseOptions::new()
                .with_strictness(if strict {
                    Strictness::Strict
                } else {
                    Strictness::Lenient
                })
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

fn agree(wire: &[u8], strict: bool) -> Result<(), TestCaseError> {
    let strictness = if strict {
        Strictness::Strict
    } else {
        Strictness::Lenient
    };
    let opts = ReplyParseOptions::new()
        .with_context(ReplyContext::Hello)
        .with_strictness(strictness);
    if let Ok((reply, _)) = Reply::parse(wire, &opts) {
        prop_assert_eq!(
            Capabilities::from_reply(&reply),
            Capabilities::from_reply_general(&reply),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
    Ok(())
}

/// Keyword lines built from what the walk turns on: known keywords in any
/// case, the `AUTH=` form, words that are not keywords, keywords of 16 to
/// 25 octets (the walk's word loads end there), parameters of every kind,
/// runs of SP before, between and after, blank lines.
fn adversarial_line() -> impl Strategy<Value = Vec<u8>> {
    const WORDS: &[&[u8]] = &[
        b"PIPELINING",
        b"pipelining",
        b"SIZE",
        b"size",
        b"AUTH",
        b"AUTH=",
        b"auth=PLAIN",
        b"AUTH=",
        b"DSN",
        b"ENHANCEDSTATUSCODES",
        b"EnhancedStatusCodes",
        b"ENHANCEDSTATUSCODESX",
        b"DELIVERBY",
        b"MT-PRIORITY",
        b"FUTURERELEASE",
        b"LIMITS",
        b"BURL",
        b"NO-SOLICITING",
        b"X-ABCDEFGHIJKLMNOPQRSTUVW",
        b"X-ABCDEFGHIJKLMN",
        b"XFORWARD",
        b"X_FOO",
        b"-DASH",
        b"8BITMIME",
        b"SMTPUTF8",
    ];
    const PARAMS: &[&[u8]] = &[
        b"100",
        b"0",
        b"abc",
        b"PLAIN",
        b"login",
        b"CRAM-MD5",
        b"SCRAM-SHA-256-PLUS",
        b"3600",
        b"3600,x",
        b"604800",
        b"2030-01-31T23:59:59Z",
        b"MAILMAX=10",
        b"RCPTMAX=1;2",
        b"imap",
        b"\t",
        b"\xc3\xa9",
        b"\xff",
        b"=",
        b"\x00",
    ];
    const SPACES: &[&[u8]] = &[b"", b" ", b" ", b"  "];
    (
        prop::sample::select(SPACES),
        prop::option::of(prop::sample::select(WORDS)),
        prop::collection::vec(
            (prop::sample::select(SPACES), prop::sample::select(PARAMS)),
            0..4,
        ),
        prop::sample::select(SPACES),
    )
        .prop_map(|(lead, word, params, trail)| {
            let mut line = lead.to_vec();
            line.extend_from_slice(word.unwrap_or_default());
            for (sp, p) in params {
                line.push(b' ');
                line.extend_from_slice(sp);
                line.extend_from_slice(p);
            }
            line.extend_from_slice(trail);
            line
        })
}

/// The reply of `first` and `lines`; line `i` ends in a bare LF when bit
/// `i % 8` of `bare_lf` is set, else in CRLF.
fn wire_of(first: &[u8], lines: &[Vec<u8>], bare_lf: u8) -> Vec<u8> {
    let mut wire = Vec::new();
    let all = core::iter::once(first).chain(lines.iter().map(Vec::as_slice));
    let n = lines.len() + 1;
    for (i, l) in all.enumerate() {
        wire.extend_from_slice(if i + 1 == n { b"250 " } else { b"250-" });
        wire.extend_from_slice(l);
        let lf = bare_lf >> (i % 8) & 1 == 1;
        wire.extend_from_slice(if lf { b"\n" } else { b"\r\n" });
    }
    wire
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn agree_on_arbitrary_replies(wire in prop::collection::vec(any::<u8>(), 0..64), strict in any::<bool>()) {
        agree(&wire, strict)?;
    }

    #[test]
    fn one_pass_agrees_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..64),
        opts in options(),
    ) {
        one_pass_agrees(&input, &opts)?;
    }

    /// Adversarial EHLO replies, whole and every prefix (a prefix is
    /// `Incomplete` both ways, RFC 5321 §4.2), with every option.
    #[test]
    fn one_pass_agrees_on_adversarial_replies(
        first in prop::sample::select(vec![&b"mx.example"[..], b" mx", b"mx  hi there ", b"", b"2.0.0 mx"]),
        lines in prop::collection::vec(adversarial_line(), 0..8),
        bare_lf in any::<u8>(),
        code in prop::sample::select(vec![&b"250"[..], b"250", b"251", b"550"]),
        opts in options(),
    ) {
        let mut wire = wire_of(first, &lines, bare_lf);
        if code != b"250" {
            wire[..3].copy_from_slice(code);
        }
        one_pass_agrees(&wire, &opts)?;
        let roomy = opts.with_max_line(usize::MAX).with_max_lines(usize::MAX);
        one_pass_agrees(&wire, &roomy)?;
        for end in (0..wire.len()).step_by(3) {
            one_pass_agrees(&wire[..end], &opts)?;
        }
    }

    #[test]
    fn agree_on_arbitrary_lines(
        first in prop::collection::vec(any::<u8>(), 0..12),
        lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..5),
        bare_lf in any::<u8>(),
    ) {
        agree(&wire_of(&first, &lines, bare_lf), false)?;
    }

    #[test]
    fn agree_on_adversarial_lines(
        first in prop::sample::select(vec![&b"mx.example"[..], b" mx", b"mx  hi there ", b"mx ", b"", b"  "]),
        lines in prop::collection::vec(adversarial_line(), 0..8),
        bare_lf in any::<u8>(),
        strict in any::<bool>(),
    ) {
        agree(&wire_of(first, &lines, bare_lf), strict)?;
    }

    /// A caller's unknown keyword line is refused exactly when it is not an
    /// `ehlo-line` of an unknown keyword (RFC 5321 §4.1.1.1): the grammar
    /// against the hand check it replaced.
    #[test]
    fn add_unknown_takes_ehlo_lines(line in "[A-Za-z0-9=_ !~-]{0,12}") {
        let kw = line.split(' ').next().unwrap_or_default().as_bytes();
        let kw_ok = kw.first().is_some_and(u8::is_ascii_alphanumeric)
            && kw.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        let hand = kw_ok
            && Keyword::parse(kw).is_none()
            && line.split(' ').skip(1).all(|p| is_ehlo_param(p.as_bytes()));
        let mut caps = Capabilities::new("mx").unwrap();
        prop_assert_eq!(caps.add_unknown(line.clone()).is_ok(), hand, "{:?}", line);
    }
}

/// Replies on the edges of what the one pass reads itself, each with
/// every option: bare LF after a CRLF first line (a strict reply refuses
/// it), keyword lines at the line and line-count limits, numbers at the
/// digit limits, a code that changes, a bare code last, enhanced codes.
#[test]
fn one_pass_agrees_on_edge_replies_rfc5321_4_2() {
    let replies: &[&[u8]] = &[
        b"250-mx\r\n250-PIPELINING\n250 DSN\r\n",
        b"250-mx\r\n250 DSN\n",
        b"250-mx\r\n250-SIZE 100\n250 DSN\r\n",
        b"250-mx\r\n250-SIZE 1234567890123456789\r\n250 DSN\r\n",
        b"250-mx\r\n250-SIZE 12345678901234567890\r\n250 DSN\r\n",
        b"250-mx\r\n250-SIZE 123456789012345678901\r\n250 DSN\r\n",
        b"250-mx\r\n250-DELIVERBY 999999999\r\n250 DSN\r\n",
        b"250-mx\r\n250-DELIVERBY 1000000000\r\n250 DSN\r\n",
        b"250-mx\r\n250-DELIVERBY 3600,x\r\n250 DSN\r\n",
        b"250-mx\r\n250-SIZE\r\n250 SIZE 5\r\n",
        b"250-mx\r\n251-DSN\r\n250 DSN\r\n",
        b"250-mx\r\n250-DSN\r\n250\r\n",
        b"250-mx\r\n250-DSN\r\n250-\r\n250 \r\n",
        b"250-mx\r\n250-dsn\r\n250 Pipelining\r\n",
        b"250-2.0.0 mx\r\n250 2.0.0 DSN\r\n",
        b"250-mx\r\n250-ENHANCEDSTATUSCODES\r\n250 X-ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n",
        b"250-mx\r\n250-AUTH=PLAIN LOGIN\r\n250 AUTH login\r\n",
        b"250-mx\r\n250-DSN\x7f\r\n250 DSN\r\n",
        b"250-mx\r\n250-DSN\t\r\n250 DSN\r\n",
        b"250-mx\r\n250-DSN\r\r\n250 DSN\r\n",
        b"550-mx\r\n550 DSN\r\n",
        b"250 mx\r\n",
        b"250\r\n",
    ];
    for wire in replies {
        for strict in [false, true] {
            for enhanced in [false, true] {
                for context in [ReplyContext::Command, ReplyContext::Hello] {
                    for max_line in [8, 11, 12, 13, 22, 512] {
                        for max_lines in [1, 2, 3, 128] {
                            let opts = ReplyParseOptions::new()
                                .with_strictness(if strict {
                                    Strictness::Strict
                                } else {
                                    Strictness::Lenient
                                })
                                .with_enhanced(enhanced)
                                .with_context(context)
                                .with_max_line(max_line)
                                .with_max_lines(max_lines);
                            for end in 0..=wire.len() {
                                one_pass_agrees(&wire[..end], &opts).unwrap();
                            }
                        }
                    }
                }
            }
        }
    }
}
