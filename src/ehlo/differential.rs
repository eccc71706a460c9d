//! The fast EHLO walk against the RFC 5321 §4.1.1.1 grammar on nom:
//! `Capabilities::from_reply` and `Capabilities::from_reply_general` read
//! every reply to the same set.

use proptest::prelude::*;

use super::*;
use crate::options::Strictness;
use crate::reply::{Reply, ReplyContext, ReplyParseOptions};

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

fn wire_of(first: &[u8], lines: &[Vec<u8>], bare_lf: bool) -> Vec<u8> {
    let end: &[u8] = if bare_lf { b"\n" } else { b"\r\n" };
    let mut wire = Vec::new();
    let all = core::iter::once(first).chain(lines.iter().map(Vec::as_slice));
    let n = lines.len() + 1;
    for (i, l) in all.enumerate() {
        wire.extend_from_slice(if i + 1 == n { b"250 " } else { b"250-" });
        wire.extend_from_slice(l);
        wire.extend_from_slice(end);
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
    fn agree_on_arbitrary_lines(
        first in prop::collection::vec(any::<u8>(), 0..12),
        lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..5),
        bare_lf in any::<bool>(),
    ) {
        agree(&wire_of(&first, &lines, bare_lf), false)?;
    }

    #[test]
    fn agree_on_adversarial_lines(
        first in prop::sample::select(vec![&b"mx.example"[..], b" mx", b"mx  hi there ", b"mx ", b"", b"  "]),
        lines in prop::collection::vec(adversarial_line(), 0..8),
        bare_lf in any::<bool>(),
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
