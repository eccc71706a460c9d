//! DATA framing under arbitrary bytes: the decoder never panics, drains its
//! buffer, gives the same result whole and split, does exactly what the
//! decoder before the fused scan did (`esmtp::testing::dot_reference`:
//! every chunk, every error, every octet left over) at every scan width
//! the CPU has, and the encoder's output always decodes back to the
//! CRLF-normalised input; the BDAT text check passes exactly the content
//! before the first bare CR, bare LF or NUL.
#![no_main]

use bytes::BytesMut;
use esmtp::data::{BareCheck, BarePolicy, ContentError, Decoded, DotDecoder, DotEncoder};
use esmtp::testing::{self, dot_reference};
use libfuzzer_sys::fuzz_target;

/// Every step of a decoder over `wire` fed in `piece`-octet reads, and the
/// octets left after the end.
fn steps(
    mut decode: impl FnMut(&mut BytesMut) -> Decoded,
    wire: &[u8],
    piece: usize,
) -> (Vec<Decoded>, Vec<u8>) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pieces = wire.chunks(piece.max(1));
    loop {
        match decode(&mut buf) {
            Decoded::NeedMore => match pieces.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => return (out, Vec::new()),
            },
            end @ Decoded::End(_) => {
                out.push(end);
                let mut rest = buf.to_vec();
                rest.extend(pieces.flatten());
                return (out, rest);
            }
            content => out.push(content),
        }
    }
}

/// The fused scan against the reference, whole and in `piece`-octet reads.
fn same_as_reference(
    policy: BarePolicy,
    max_line: usize,
    max_size: u64,
    wire: &[u8],
    piece: usize,
) {
    for piece in [wire.len(), piece] {
        let mut new = DotDecoder::new()
            .with_policy(policy)
            .with_max_line(max_line)
            .with_max_size(max_size);
        let mut old = dot_reference::DotDecoder::new()
            .with_policy(policy)
            .with_max_line(max_line)
            .with_max_size(max_size);
        let got = steps(|b| new.decode(b), wire, piece);
        let want = steps(|b| old.decode(b), wire, piece);
        assert_eq!(got, want);
        assert_eq!(new.error(), old.error());
        assert_eq!(new.size(), old.size());
    }
}

/// `BareCheck` over `content` in `piece`-octet chunks: what it passed on
/// and the first offence it reported.
fn bdat_checked(content: &[u8], piece: usize) -> (Vec<u8>, Option<ContentError>) {
    let mut check = BareCheck::new();
    let mut passed = Vec::new();
    for chunk in content.chunks(piece.max(1)) {
        let (clean, result) = check.check(bytes::Bytes::copy_from_slice(chunk));
        passed.extend_from_slice(&clean);
        if let Err(e) = result {
            return (passed, Some(e));
        }
    }
    (passed, check.finish().err())
}

fn run(mut decoder: DotDecoder, wire: &[u8], piece: usize) -> (Vec<u8>, Option<Decoded>, Vec<u8>) {
    let mut buf = BytesMut::new();
    let mut content = Vec::new();
    let mut pieces = wire.chunks(piece.max(1));
    loop {
        match decoder.decode(&mut buf) {
            Decoded::Content(chunk) => {
                assert!(!chunk.is_empty());
                content.extend_from_slice(&chunk);
            }
            Decoded::NeedMore => {
                assert!(buf.is_empty());
                match pieces.next() {
                    Some(piece) => buf.extend_from_slice(piece),
                    None => return (content, None, Vec::new()),
                }
            }
            end @ Decoded::End(_) => {
                let mut rest = buf.to_vec();
                rest.extend(pieces.flatten());
                return (content, Some(end), rest);
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    // Every check at every scan width this CPU has (baseline, AVX2,
    // AVX-512), each against the reference and the rules.
    for width in testing::scan_widths() {
        assert!(testing::force_scan_width(Some(width)));
        check(input);
    }
    testing::force_scan_width(None);
});

fn check(input: &[u8]) {
    let Some((&config, wire)) = input.split_first() else {
        return;
    };
    let policy = if config & 1 == 0 {
        BarePolicy::Reject
    } else {
        BarePolicy::Allow
    };
    let max_line = [1000, 0, 5, usize::MAX][usize::from(config >> 1 & 3)];
    let piece = usize::from(config >> 3) + 1;
    // The fused scan works in windows of about 500 octets: besides the
    // configured split, reads of several windows, with and without a size
    // cap inside the input.
    same_as_reference(policy, max_line, u64::MAX, wire, piece);
    same_as_reference(policy, max_line, u64::MAX, wire, piece * 37);
    same_as_reference(policy, max_line, (wire.len() / 2) as u64, wire, piece * 11);
    // libFuzzer's inputs start short: the same bytes repeated to cross
    // several windows, with the default line limit that the fast path
    // serves.
    if !wire.is_empty() && wire.len() < 1500 {
        let long = wire.repeat(1500 / wire.len() + 1);
        same_as_reference(policy, 1000, u64::MAX, &long, piece * 5);
    }
    // BDAT text (RFC 3030 §3): the check passes exactly the content before
    // the first bare CR, bare LF or NUL and names that offence.
    assert_eq!(
        bdat_checked(wire, piece),
        testing::bare_text_by_the_rules(wire)
    );

    let decoder = DotDecoder::new()
        .with_policy(policy)
        .with_max_line(max_line);

    let whole = run(decoder.clone(), wire, wire.len());
    let split = run(decoder, wire, piece);
    assert_eq!(whole.1, split.1);
    assert_eq!(whole.2, split.2);
    if matches!(whole.1, Some(Decoded::End(Ok(_)))) {
        assert_eq!(whole.0, split.0);
    }

    // Any content, encoded, decodes to itself with CRLF line ends.
    let mut encoded = Vec::new();
    let mut encoder = DotEncoder::new();
    for part in wire.chunks(piece) {
        encoder.encode(part, &mut encoded);
    }
    encoder.finish(&mut encoded);
    // The zero-copy encoder (slices of the content) sends the same octets,
    // whatever the split; the last part goes through `finish_shared`.
    let content_bytes = bytes::Bytes::copy_from_slice(wire);
    let mut shared = Vec::new();
    let mut encoder = DotEncoder::new();
    let mut at = 0;
    while at + piece < wire.len() {
        encoder.encode_shared(&content_bytes.slice(at..at + piece), |b| {
            assert!(!b.is_empty());
            shared.extend_from_slice(&b)
        });
        at += piece;
    }
    encoder.finish_shared(&content_bytes.slice(at..), |b| shared.extend_from_slice(&b));
    assert_eq!(shared, encoded);
    let decoder = DotDecoder::new()
        .with_policy(BarePolicy::Allow)
        .with_max_line(usize::MAX);
    let (content, end, rest) = run(decoder, &encoded, piece);
    assert!(rest.is_empty());
    assert_eq!(end, Some(Decoded::End(Ok(content.len() as u64))));
    // Every line ends with CRLF, and no CR stands anywhere else.
    let lines: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
    if let Some((last, lines)) = lines.split_last() {
        assert!(last.is_empty());
        for line in lines {
            assert_eq!(line.iter().position(|&b| b == b'\r'), Some(line.len() - 1));
        }
    }
}
