//! Differential tests of the fused DATA scan (RFC 5321 §4.5.2, §2.3.8,
//! §4.5.3.1.6; RFC 1870 §6.3): [`DotDecoder`] against the decoder it
//! replaced ([`crate::testing::dot_reference`]), which must agree on every
//! chunk, every error and every octet left in the buffer, for any input
//! and any split of it, at every scan width the CPU has (the baseline,
//! AVX2, AVX-512: `crate::testing::force_scan_width`).

use bytes::BytesMut;
use proptest::prelude::*;

use super::{BarePolicy, Decoded, DotDecoder};
use crate::testing::{self, dot_reference};

/// Runs `f` with the scans at every width this CPU has, narrowest first;
/// every width must give what the baseline gives, which is returned.
fn at_every_width<T: PartialEq + std::fmt::Debug>(f: impl Fn() -> T) -> T {
    let mut baseline: Option<T> = None;
    for width in testing::scan_widths() {
        assert!(testing::force_scan_width(Some(width)));
        let got = f();
        match &baseline {
            Some(want) => assert_eq!(&got, want, "{width:?} differs from the baseline"),
            None => baseline = Some(got),
        }
    }
    testing::force_scan_width(None);
    baseline.expect("the baseline width is always there")
}

/// Everything a decoder did with `wire` fed in `pieces`: each step's
/// result (content chunks with their octets) and what was left unread.
fn steps(
    mut decode: impl FnMut(&mut BytesMut) -> Decoded,
    pieces: &[&[u8]],
) -> (Vec<Decoded>, Vec<u8>) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut next = pieces.iter();
    loop {
        let step = decode(&mut buf);
        match &step {
            Decoded::Content(chunk) => assert!(!chunk.is_empty()),
            Decoded::NeedMore => {
                assert!(buf.is_empty(), "NeedMore must drain the buffer");
                match next.next() {
                    Some(piece) => buf.extend_from_slice(piece),
                    None => return (out, Vec::new()),
                }
                continue;
            }
            Decoded::End(_) => {
                let mut rest = buf.to_vec();
                for piece in next {
                    rest.extend_from_slice(piece);
                }
                out.push(step);
                return (out, rest);
            }
        }
        out.push(step);
    }
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    policy: BarePolicy,
    max_line: usize,
    max_size: u64,
}

/// Runs both decoders on `pieces` and asserts they did the same, at every
/// scan width.
fn same(settings: Settings, pieces: &[&[u8]]) {
    at_every_width(|| same_at_this_width(settings, pieces));
}

fn same_at_this_width(settings: Settings, pieces: &[&[u8]]) {
    let Settings {
        policy,
        max_line,
        max_size,
    } = settings;
    let mut new = DotDecoder::new()
        .with_policy(policy)
        .with_max_line(max_line)
        .with_max_size(max_size);
    let mut old = dot_reference::DotDecoder::new()
        .with_policy(policy)
        .with_max_line(max_line)
        .with_max_size(max_size);
    let got = steps(|b| new.decode(b), pieces);
    let want = steps(|b| old.decode(b), pieces);
    assert_eq!(got, want, "{settings:?}");
    assert_eq!(new.size(), old.size());
    assert_eq!(new.error(), old.error());
    assert_eq!(new.is_done(), old.is_done());
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![4 => Just(BarePolicy::Reject), 1 => Just(BarePolicy::Allow)],
        prop_oneof![
            6 => Just(DotDecoder::DEFAULT_MAX_LINE),
            1 => Just(0usize),
            1 => Just(5usize),
            1 => Just(768usize),
            1 => 985usize..1010,
            1 => Just(usize::MAX),
        ],
        prop_oneof![5 => Just(u64::MAX), 1 => 0u64..5000],
    )
        .prop_map(|(policy, max_line, max_size)| Settings {
            policy,
            max_line,
            max_size,
        })
}

/// Input built from the pieces that matter to the scan: line ends of every
/// kind, dots, NULs, and text runs from short to over-long lines.
fn adversarial() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\n".to_vec()),
        2 => Just(b".".to_vec()),
        2 => Just(b"\r\n.".to_vec()),
        1 => Just(b"\r\n..\r\n".to_vec()),
        1 => Just(b"\r\n.\r\n".to_vec()),
        1 => Just(vec![0u8]),
        6 => (1usize..90).prop_map(|n| vec![b'x'; n]),
        1 => (400usize..1100).prop_map(|n| vec![b'y'; n]),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

/// Mostly clean DATA content (78-octet lines, some stuffed) with rare
/// defects, long enough to cross many scan windows.
fn mostly_clean() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        40 => Just(b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ.0123456789\r\n".to_vec()),
        2 => Just(b"..stuffed line\r\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"bare\nlf\r\n".to_vec()),
        1 => Just(b"bare\rcr\r\n".to_vec()),
        1 => Just(b"nul\0\r\n".to_vec()),
        1 => (480usize..1100).prop_map(|n| { let mut v = vec![b'z'; n]; v.extend_from_slice(b"\r\n"); v }),
        1 => Just(b".\r\n".to_vec()),
    ];
    prop::collection::vec(line, 0..120).prop_map(|v| v.concat())
}

/// Cuts `wire` at the given points (sorted, deduplicated, in range).
fn cut<'a>(wire: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|&p| p % (wire.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in points {
        pieces.push(&wire[from..p]);
        from = p;
    }
    pieces.push(&wire[from..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_decode_as_before(
        wire in prop::collection::vec(any::<u8>(), 0..3000),
        points in prop::collection::vec(any::<usize>(), 0..6),
        settings in settings(),
    ) {
        same(settings, &[&wire]);
        same(settings, &cut(&wire, &points));
    }

    #[test]
    fn line_end_mixes_decode_as_before(
        wire in adversarial(),
        points in prop::collection::vec(any::<usize>(), 0..8),
        settings in settings(),
    ) {
        same(settings, &[&wire]);
        same(settings, &cut(&wire, &points));
    }

    #[test]
    fn mostly_clean_content_decodes_as_before(
        wire in mostly_clean(),
        points in prop::collection::vec(any::<usize>(), 0..8),
        piece in 1usize..700,
        settings in settings(),
    ) {
        same(settings, &[&wire]);
        same(settings, &cut(&wire, &points));
        same(settings, &wire.chunks(piece).collect::<Vec<_>>());
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn every_cut_decodes_as_before(wire in adversarial(), settings in settings()) {
        for at in 0..=wire.len() {
            same(settings, &[&wire[..at], &wire[at..]]);
        }
    }
}

/// Each kind of defect at every position of two scan windows and around
/// their edges, in otherwise clean text, under either bare-line-end
/// policy.
#[test]
fn every_defect_at_every_position() {
    let line = b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    let clean: Vec<u8> = line.iter().copied().cycle().take(1200).collect();
    let defects: [&[u8]; 7] = [
        b"\r",
        b"\n",
        b"\0",
        b"\r\n.",
        b"\r\n.\r\n",
        b"\n.",
        b"\r\r\n",
    ];
    for policy in [BarePolicy::Reject, BarePolicy::Allow] {
        let settings = Settings {
            policy,
            max_line: DotDecoder::DEFAULT_MAX_LINE,
            max_size: u64::MAX,
        };
        for defect in defects {
            for at in 0..clean.len() {
                let mut wire = clean.clone();
                wire.splice(at..at, defect.iter().copied());
                wire.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
                same(settings, &[&wire]);
            }
        }
    }
}

/// Lines around the limit (RFC 5321 §4.5.3.1.6), with the open line
/// carried across reads.
#[test]
fn lines_at_the_limit_decode_as_before() {
    for len in [990usize, 997, 998, 999, 1000, 1001, 1500] {
        for offset in [0usize, 1, 77, 495, 496, 497, 700] {
            let mut wire: Vec<u8> = b"ab\r\n".repeat(offset / 4 + 1);
            wire.extend(std::iter::repeat_n(b'q', len));
            wire.extend_from_slice(b"\r\nshort\r\n.\r\n");
            for piece in [1usize, 7, 496, 498, 4096, wire.len()] {
                for max_line in [768usize, 1000, 1001] {
                    let settings = Settings {
                        policy: BarePolicy::Reject,
                        max_line,
                        max_size: u64::MAX,
                    };
                    same(settings, &wire.chunks(piece).collect::<Vec<_>>());
                }
            }
        }
    }
}

/// The DATA wire form of `content` by the rules alone (RFC 5321 §2.3.8,
/// §4.5.2): every bare CR and bare LF becomes CRLF, then a dot is added to
/// every line that begins with one, then the terminator.
fn encoded_by_the_rules(content: &[u8]) -> Vec<u8> {
    let mut lines = Vec::new();
    let mut i = 0;
    while let Some(&octet) = content.get(i) {
        match octet {
            b'\r' => {
                lines.extend_from_slice(b"\r\n");
                if content.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => lines.extend_from_slice(b"\r\n"),
            other => lines.push(other),
        }
        i += 1;
    }
    let mut wire = Vec::with_capacity(lines.len() + 8);
    let mut line_start = true;
    for (k, &octet) in lines.iter().enumerate() {
        if line_start && octet == b'.' {
            wire.push(b'.');
        }
        wire.push(octet);
        line_start = octet == b'\n' && k > 0 && lines[k - 1] == b'\r';
    }
    if !lines.is_empty() && !lines.ends_with(b"\r\n") {
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b".\r\n");
    wire
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The encoder's fused scan over long, mostly clean content (with and
    /// without stray CR, LF and NUL), in any split, copying and not.
    #[test]
    fn encoder_follows_the_rules_rfc5321_4_5_2(
        content in prop_oneof![mostly_clean(), adversarial()],
        points in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let want = encoded_by_the_rules(&content);
        let copied = at_every_width(|| {
            let mut copied = Vec::new();
            let mut encoder = super::DotEncoder::new();
            for piece in cut(&content, &points) {
                encoder.encode(piece, &mut copied);
            }
            encoder.finish(&mut copied);
            copied
        });
        prop_assert_eq!(&copied, &want);
        let whole = bytes::Bytes::copy_from_slice(&content);
        let shared = at_every_width(|| {
            let mut shared = Vec::new();
            super::DotEncoder::new()
                .finish_shared(&whole, |piece| shared.extend_from_slice(&piece));
            shared
        });
        prop_assert_eq!(&shared, &want);
    }
}

/// What the copying encoder writes for `pieces`, then `finish`, the same
/// at every scan width.
fn copied(pieces: &[&[u8]]) -> Vec<u8> {
    at_every_width(|| copied_at_this_width(pieces))
}

fn copied_at_this_width(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = super::DotEncoder::new();
    for piece in pieces {
        encoder.encode(piece, &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// The pieces of the zero-copy encoder for `pieces`, concatenated; the
/// last goes through `finish_shared`; the same at every scan width.
fn shared(pieces: &[&[u8]]) -> Vec<u8> {
    at_every_width(|| shared_at_this_width(pieces))
}

fn shared_at_this_width(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = super::DotEncoder::new();
    let Some((last, rest)) = pieces.split_last() else {
        encoder.finish(&mut out);
        return out;
    };
    for piece in rest {
        encoder.encode_shared(&bytes::Bytes::copy_from_slice(piece), |b| {
            out.extend_from_slice(&b)
        });
    }
    encoder.finish_shared(&bytes::Bytes::copy_from_slice(last), |b| {
        out.extend_from_slice(&b)
    });
    out
}

/// Long content (up to about 40 KiB, so that the scan crosses many
/// windows, and the copying encoder's 32 KiB copy blocks, around each
/// defect) of 78-octet lines, some
/// stuffed, with rare bare CR, bare LF, NUL and `LF "."`.
fn long_content() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        60 => Just(b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ.0123456789\r\n".to_vec()),
        2 => Just(b".stuff me\r\n".to_vec()),
        1 => Just(b"bare\nlf\r\n".to_vec()),
        1 => Just(b"bare\rcr\r\n".to_vec()),
        1 => Just(b"lf\n.dot\r\n".to_vec()),
        1 => Just(b"nul\0\r\n".to_vec()),
        1 => Just(b"\r\r\n\n".to_vec()),
    ];
    prop::collection::vec(line, 0..520).prop_map(|v| v.concat())
}

/// Content for the proptests: any bytes, bytes drawn from `alphabet`
/// (the octets that matter, densely), adversarial line-end mixes, and
/// long mostly clean content, each up to `max` octets where random.
fn any_content(max: usize, alphabet: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..max),
        prop::collection::vec(prop::sample::select(alphabet.to_vec()), 0..max),
        adversarial(),
        long_content(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The copying encoder writes exactly what the zero-copy encoder hands
    /// out, and both what the rules give (RFC 5321 §2.3.8, §4.5.2), on any
    /// bytes, line-end mixes and long content, whole, cut anywhere and in
    /// reads of any size.
    #[test]
    fn copying_and_zero_copy_encoders_agree_rfc5321_4_5_2(
        content in any_content(3000, b"\r\n.x\0"),
        points in prop::collection::vec(any::<usize>(), 0..8),
        piece in 1usize..9000,
    ) {
        let want = encoded_by_the_rules(&content);
        for pieces in [vec![&content[..]], cut(&content, &points), content.chunks(piece).collect()] {
            prop_assert_eq!(&copied(&pieces), &want);
            prop_assert_eq!(&shared(&pieces), &want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Every cut of a line-end mix into two pieces: the state carried
    /// between the pieces (a CR whose LF comes next, a line start before a
    /// dot) gives the octets of the whole, copied or not.
    #[test]
    fn encoders_every_cut_rfc5321_4_5_2(content in adversarial()) {
        let want = encoded_by_the_rules(&content);
        for at in 0..=content.len() {
            let (a, b) = content.split_at(at);
            prop_assert_eq!(&copied(&[a, b]), &want);
            prop_assert_eq!(&shared(&[a, b]), &want);
        }
    }
}

/// Each defect the encoders act on, at every position of the first scan
/// windows and around the window edges near the 4 KiB mark, in otherwise
/// clean text.
#[test]
fn encoders_defects_at_every_position_rfc5321_4_5_2() {
    let line = b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    let clean: Vec<u8> = line.iter().copied().cycle().take(5000).collect();
    let defects: [&[u8]; 7] = [b"\r", b"\n", b"\n.", b"\r\n.", b".", b"\r\r\n", b"\0"];
    let positions = (0..1000).chain(3800..4400);
    for at in positions {
        for defect in defects {
            let mut content = clean.clone();
            content.splice(at..at, defect.iter().copied());
            let want = encoded_by_the_rules(&content);
            assert_eq!(copied(&[&content]), want, "{defect:?} at {at}");
            assert_eq!(shared(&[&content]), want, "{defect:?} at {at}");
        }
    }
}

/// [`super::BareCheck`] over `pieces`: what it passed on, and the first
/// offence it reported (from a piece, or from `finish`).
fn bdat_checked(pieces: &[&[u8]]) -> (Vec<u8>, Option<super::ContentError>) {
    let mut check = super::BareCheck::new();
    let mut passed = Vec::new();
    for piece in pieces {
        let (clean, result) = check.check(bytes::Bytes::copy_from_slice(piece));
        passed.extend_from_slice(&clean);
        if let Err(e) = result {
            return (passed, Some(e));
        }
    }
    (passed, check.finish().err())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The BDAT text check (its vectorised pass and its exact path) passes
    /// on exactly the content before the first bare CR, bare LF or NUL and
    /// reports that offence, however the content is cut, at every scan
    /// width (RFC 5321 §2.3.8, RFC 3030 §3).
    #[test]
    fn bdat_check_follows_the_rules_rfc3030_3(
        content in any_content(2000, b"\r\nx\0"),
        points in prop::collection::vec(any::<usize>(), 0..8),
        piece in 1usize..5000,
    ) {
        let want = testing::bare_text_by_the_rules(&content);
        for pieces in [vec![&content[..]], cut(&content, &points), content.chunks(piece).collect()] {
            prop_assert_eq!(&at_every_width(|| bdat_checked(&pieces)), &want);
        }
    }
}

/// Each BDAT offence at every position of the first scan windows and
/// around their edges, in otherwise clean text, whole and cut just before
/// and after it.
#[test]
fn bdat_check_defects_at_every_position_rfc3030_3() {
    let line = b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    let clean: Vec<u8> = line.iter().copied().cycle().take(1300).collect();
    let defects: [&[u8]; 5] = [b"\r", b"\n", b"\0", b"\r\r\n", b"\n\r"];
    for defect in defects {
        for at in 0..clean.len() {
            let mut content = clean.clone();
            content.splice(at..at, defect.iter().copied());
            let want = testing::bare_text_by_the_rules(&content);
            let cuts = [content.len(), at, at + 1];
            for cut_at in cuts {
                let (a, b) = content.split_at(cut_at.min(content.len()));
                let got = at_every_width(|| bdat_checked(&[a, b]));
                assert_eq!(got, want, "{defect:?} at {at}, cut at {cut_at}");
            }
        }
    }
}
