//! Message content framing: DATA (RFC 5321 §4.1.1.4, §4.5.2) and BDAT
//! (RFC 3030 §2), both directions, including the SMTP-smuggling family.

use crate::support;

use bytes::{Bytes, BytesMut};
use esmtp::data::{
    classify, is_binary, needs_8bit, BarePolicy, Chunk, ChunkDecoder, ContentError, ContentKind,
    Decoded, DotDecoder, DotEncoder,
};
use proptest::prelude::*;

/// What a whole DATA phase produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    content: Vec<u8>,
    chunks: usize,
    end: Option<Result<u64, ContentError>>,
    leftover: Vec<u8>,
}

/// Feeds `wire` to `decoder` in pieces of the given lengths (cycled; the
/// whole input at once if empty), as a server appends each read to its
/// buffer.
fn run(mut decoder: DotDecoder, wire: &[u8], pieces: &[usize]) -> Outcome {
    let mut buf = BytesMut::new();
    let mut content = Vec::new();
    let mut chunks = 0;
    let mut rest = wire;
    let mut sizes = pieces.iter().copied().filter(|&n| n > 0).cycle();
    loop {
        match decoder.decode(&mut buf) {
            Decoded::Content(chunk) => {
                assert!(!chunk.is_empty(), "empty chunk");
                content.extend_from_slice(&chunk);
                chunks += 1;
            }
            Decoded::NeedMore => {
                assert!(buf.is_empty(), "NeedMore must drain the buffer");
                if rest.is_empty() {
                    return Outcome {
                        content,
                        chunks,
                        end: None,
                        leftover: Vec::new(),
                    };
                }
                let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
                let (piece, tail) = rest.split_at(n);
                buf.extend_from_slice(piece);
                rest = tail;
            }
            Decoded::End(end) => {
                // Calling again is harmless and consumes nothing.
                assert_eq!(decoder.decode(&mut buf), Decoded::End(end));
                let mut leftover = buf.to_vec();
                leftover.extend_from_slice(rest);
                return Outcome {
                    content,
                    chunks,
                    end: Some(end),
                    leftover,
                };
            }
        }
    }
}

fn whole(decoder: DotDecoder, wire: &[u8]) -> Outcome {
    run(decoder, wire, &[])
}

fn allow() -> DotDecoder {
    DotDecoder::new().with_policy(BarePolicy::Allow)
}

fn encode(content: &[u8], pieces: &[usize]) -> Vec<u8> {
    let mut encoder = DotEncoder::new();
    let mut out = Vec::new();
    let mut rest = content;
    let mut sizes = pieces.iter().copied().filter(|&n| n > 0).cycle();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        encoder.encode(piece, &mut out);
        rest = tail;
    }
    encoder.finish(&mut out);
    out
}

/// The content as the wire must carry it: every CR, LF and CRLF a CRLF,
/// and a final CRLF (RFC 5321 §4.1.1.4: the content ends with one).
fn canonical(content: &[u8]) -> Vec<u8> {
    let mut out = support::crlf_line_ends(content);
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// An independent, octet-at-a-time statement of the rules: unstuff
/// (RFC 5321 §4.5.2), stop at the first `<CRLF>.<CRLF>`, then judge the
/// content at exact positions (size, line, bare LF, bare CR, NUL).
fn model(
    wire: &[u8],
    strict: bool,
    max_line: usize,
    max_size: u64,
) -> Option<(Vec<u8>, Result<u64, ContentError>, usize)> {
    let mut content = Vec::new();
    let mut i = 0;
    let consumed = loop {
        let b = *wire.get(i)?;
        let line_start = i == 0 || (i >= 2 && &wire[i - 2..i] == b"\r\n");
        if line_start && b == b'.' {
            if wire.get(i + 1..i + 3)? == b"\r\n" {
                break i + 3;
            }
            i += 1;
            continue;
        }
        content.push(b);
        i += 1;
    };
    let mut line = 0usize;
    let mut prev_cr = false;
    for (pos, &b) in content.iter().enumerate() {
        line += 1;
        let error = if pos as u64 + 1 > max_size {
            Some(ContentError::TooBig { limit: max_size })
        } else if line > max_line {
            Some(ContentError::LineTooLong { limit: max_line })
        } else if strict && b == b'\n' && !prev_cr {
            Some(ContentError::BareLf)
        } else if strict && prev_cr && b != b'\n' {
            Some(ContentError::BareCr)
        } else if strict && b == 0 {
            Some(ContentError::Nul)
        } else {
            None
        };
        if let Some(error) = error {
            return Some((content, Err(error), consumed));
        }
        if b == b'\n' {
            line = 0;
        }
        prev_cr = b == b'\r';
    }
    let size = content.len() as u64;
    Some((content, Ok(size), consumed))
}

// RFC 5321 §4.5.2: a line beginning with "." gets one more; the receiver
// drops it.
#[test]
fn rfc5321_4_5_2_transparency() {
    let out = whole(
        DotDecoder::new(),
        b"Hello\r\n..signature\r\n...\r\n. \r\nend\r\n.\r\n",
    );
    assert_eq!(out.content, b"Hello\r\n.signature\r\n..\r\n \r\nend\r\n");
    assert_eq!(out.end, Some(Ok(out.content.len() as u64)));
    assert!(out.leftover.is_empty());
}

// RFC 5321 §4.5.2: the first line follows the DATA command's CRLF, so its dot
// is stuffing too.
#[test]
fn rfc5321_4_5_2_first_line_dot_is_unstuffed() {
    let out = whole(DotDecoder::new(), b"..first\r\nsecond\r\n.\r\n");
    assert_eq!(out.content, b".first\r\nsecond\r\n");
}

// RFC 5321 §4.1.1.4: ".CRLF" right after DATA is an empty message.
#[test]
fn rfc5321_4_1_1_4_empty_message() {
    let out = whole(DotDecoder::new(), b".\r\nQUIT\r\n");
    assert_eq!(out.content, b"");
    assert_eq!(out.chunks, 0);
    assert_eq!(out.end, Some(Ok(0)));
    assert_eq!(out.leftover, b"QUIT\r\n");
}

// RFC 5321 §4.1.1.4: the CRLF before the dot is content; the ".CRLF" is not.
#[test]
fn rfc5321_4_1_1_4_final_crlf_is_content() {
    let out = whole(DotDecoder::new(), b"a\r\n.\r\n");
    assert_eq!(out.content, b"a\r\n");
    assert_eq!(out.end, Some(Ok(3)));
}

// RFC 2920: pipelined commands after the terminator stay in the buffer.
#[test]
fn bytes_after_terminator_stay_in_buffer() {
    let out = whole(
        DotDecoder::new(),
        b"body\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
    );
    assert_eq!(out.content, b"body\r\n");
    assert_eq!(out.leftover, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
}

#[test]
fn dot_line_that_is_not_the_terminator() {
    // ".x" and ".\r" + non-LF are stuffed lines, not the end.
    let out = whole(allow(), b"a\r\n.x\r\n.\rb\r\n.\r\n");
    assert_eq!(out.content, b"a\r\nx\r\n\rb\r\n");
    assert_eq!(out.end, Some(Ok(out.content.len() as u64)));
    let out = whole(DotDecoder::new(), b"a\r\n.\rb\r\n.\r\n");
    assert_eq!(out.end, Some(Err(ContentError::BareCr)));
}

const SMUGGLING: [&[u8]; 5] = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n\0.\r\n"];
const SMUGGLED: &[u8] = b"MAIL FROM:<x>\r\nRCPT TO:<y>\r\nDATA\r\nevil\r\n";

fn smuggling_wire(seq: &[u8]) -> Vec<u8> {
    [
        b"Subject: hi\r\n\r\nbody".as_slice(),
        seq,
        SMUGGLED,
        b".\r\nQUIT\r\n",
    ]
    .concat()
}

// RFC 5321 §2.3.8 / §4.1.1.4: a smuggled end-of-data never
// ends the message, so the command after it stays content. Allowed bare
// octets: one message carrying the smuggled text.
#[test]
fn smuggling_allow_gives_one_message_with_the_text() {
    for seq in SMUGGLING {
        let wire = smuggling_wire(seq);
        for pieces in [&[][..], &[1][..], &[3, 1, 7][..]] {
            let out = run(allow(), &wire, pieces);
            let want = [b"Subject: hi\r\n\r\nbody".as_slice(), seq, SMUGGLED].concat();
            // A stuffed-looking dot after a real CRLF is dropped.
            let want = if seq == b"\r\n.\n" {
                [b"Subject: hi\r\n\r\nbody\r\n\n".as_slice(), SMUGGLED].concat()
            } else {
                want
            };
            assert_eq!(out.content, want, "{seq:?} {pieces:?}");
            assert_eq!(out.end, Some(Ok(want.len() as u64)), "{seq:?}");
            assert_eq!(out.leftover, b"QUIT\r\n", "{seq:?}");
        }
    }
}

// Same, rejecting (the default): one message, rejected, never two.
#[test]
fn smuggling_reject_gives_one_rejected_message() {
    let reasons = [
        ContentError::BareLf,
        ContentError::BareLf,
        ContentError::BareLf,
        ContentError::BareCr,
        ContentError::Nul,
    ];
    for (seq, reason) in SMUGGLING.iter().zip(reasons) {
        let wire = smuggling_wire(seq);
        for pieces in [&[][..], &[1][..], &[2, 5][..]] {
            let out = run(DotDecoder::new(), &wire, pieces);
            assert_eq!(out.end, Some(Err(reason)), "{seq:?} {pieces:?}");
            assert_eq!(out.leftover, b"QUIT\r\n", "{seq:?}");
            // Nothing after the smuggled octets is handed out.
            let text = String::from_utf8_lossy(&out.content);
            assert!(!text.contains("MAIL FROM"), "{seq:?}: {text:?}");
        }
    }
}

// RFC 5321 §4.5.3.1.6: 1000 octets with CRLF is fine, 1001 is not; a stuffed
// dot does not count.
#[test]
fn rfc5321_4_5_3_1_6_line_limit() {
    let ok = [vec![b'x'; 998], b"\r\n.\r\n".to_vec()].concat();
    assert_eq!(whole(DotDecoder::new(), &ok).end, Some(Ok(1000)));
    let stuffed = [b".".to_vec(), vec![b'.'; 998], b"\r\n.\r\n".to_vec()].concat();
    assert_eq!(whole(DotDecoder::new(), &stuffed).end, Some(Ok(1000)));
    let long = [vec![b'x'; 999], b"\r\n.\r\n".to_vec()].concat();
    assert_eq!(
        whole(DotDecoder::new(), &long).end,
        Some(Err(ContentError::LineTooLong { limit: 1000 }))
    );
    let custom = DotDecoder::new().with_max_line(10);
    assert_eq!(
        whole(custom, b"12345678\r\n123456789\r\n.\r\n").end,
        Some(Err(ContentError::LineTooLong { limit: 10 }))
    );
    let off = DotDecoder::new().with_max_line(usize::MAX);
    assert_eq!(whole(off, &long).end, Some(Ok(1001)));
}

// RFC 1870 §5/§6.3: the size excludes stuffed dots; over the cap the message
// is consumed to the end and nothing more is handed out.
#[test]
fn rfc1870_size_counts_unstuffed_octets_and_caps() {
    let wire = b"..ab\r\n.\r\nNOOP\r\n";
    assert_eq!(whole(DotDecoder::new(), wire).end, Some(Ok(5)));
    assert_eq!(
        whole(DotDecoder::new().with_max_size(5), wire).end,
        Some(Ok(5))
    );
    let out = whole(DotDecoder::new().with_max_size(4), wire);
    assert_eq!(out.end, Some(Err(ContentError::TooBig { limit: 4 })));
    assert_eq!(out.leftover, b"NOOP\r\n");
    let mut decoder = DotDecoder::new().with_max_size(4);
    let mut buf = BytesMut::from(&b"ab\r\ncd\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Decoded::NeedMore);
    assert_eq!(decoder.size(), 8);
    assert_eq!(decoder.error(), Some(ContentError::TooBig { limit: 4 }));
    assert!(!decoder.is_done());
}

#[test]
fn content_error_replies() {
    let code = |e: ContentError| {
        let (reply, enhanced) = e.reply();
        (reply.get(), enhanced.to_string())
    };
    assert_eq!(
        code(ContentError::TooBig { limit: 1 }),
        (552, "5.3.4".into())
    );
    assert_eq!(code(ContentError::BareLf), (550, "5.6.0".into()));
    assert_eq!(
        code(ContentError::LineTooLong { limit: 1 }),
        (500, "5.6.0".into())
    );
}

// A peer that never sends a line break: 100 MB streamed through with the
// decoder holding nothing and the buffer drained after every call.
#[test]
fn hundred_megabyte_line_streams_with_bounded_memory() {
    const MIB: usize = 1 << 20;
    assert!(std::mem::size_of::<DotDecoder>() <= 64);
    let piece = vec![b'a'; MIB];
    for (decoder, streamed) in [
        (DotDecoder::new(), 1000u64),
        (allow().with_max_line(usize::MAX), 100 * MIB as u64),
    ] {
        let mut decoder = decoder;
        let mut buf = BytesMut::with_capacity(MIB);
        let mut handed_out = 0u64;
        for _ in 0..100 {
            buf.extend_from_slice(&piece);
            loop {
                match decoder.decode(&mut buf) {
                    Decoded::Content(chunk) => handed_out += chunk.len() as u64,
                    Decoded::NeedMore => break,
                    Decoded::End(_) => panic!("no terminator was sent"),
                }
            }
            assert!(buf.is_empty());
            // The chunks are dropped, so the buffer reuses its storage.
            assert!(buf.capacity() <= 2 * MIB, "capacity {}", buf.capacity());
        }
        assert!(handed_out <= streamed, "{handed_out} > {streamed}");
        buf.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        let end = loop {
            if let Decoded::End(end) = decoder.decode(&mut buf) {
                break end;
            }
        };
        assert_eq!(decoder.size(), 100 * MIB as u64 + 2);
        if streamed == 1000 {
            assert_eq!(end, Err(ContentError::LineTooLong { limit: 1000 }));
        } else {
            assert_eq!(end, Ok(100 * MIB as u64 + 2));
            assert_eq!(handed_out, 100 * MIB as u64);
        }
        assert_eq!(&buf[..], b"QUIT\r\n");
    }
}

// Chunks are slices of the receive buffer, not copies.
#[test]
fn chunks_share_the_receive_buffer() {
    let mut buf = BytesMut::from(&b"abc\r\n..def\r\n.\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let mut decoder = DotDecoder::new();
    let Decoded::Content(first) = decoder.decode(&mut buf) else {
        panic!()
    };
    assert_eq!(first, Bytes::from_static(b"abc\r\n"));
    assert_eq!(first.as_ptr() as usize, base);
    let Decoded::Content(second) = decoder.decode(&mut buf) else {
        panic!()
    };
    assert_eq!(second, Bytes::from_static(b".def\r\n"));
    assert_eq!(second.as_ptr() as usize, base + 6);
    assert_eq!(decoder.decode(&mut buf), Decoded::End(Ok(11)));
}

// RFC 3030 §2: exactly N octets, even with the next command behind them.
#[test]
fn rfc3030_bdat_consumes_exactly_the_count() {
    let mut decoder = ChunkDecoder::new(5);
    let mut buf = BytesMut::from(&b"he"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Chunk::Content(Bytes::from_static(b"he"))
    );
    assert_eq!(decoder.decode(&mut buf), Chunk::NeedMore);
    buf.extend_from_slice(b"l\r\n.BDAT 0 LAST\r\n");
    assert_eq!(
        decoder.decode(&mut buf),
        Chunk::Content(Bytes::from_static(b"l\r\n"))
    );
    assert_eq!(decoder.remaining(), 0);
    assert_eq!(decoder.decode(&mut buf), Chunk::Done);
    assert_eq!(&buf[..], b".BDAT 0 LAST\r\n");
    assert_eq!(ChunkDecoder::new(0).decode(&mut buf), Chunk::Done);
}

// RFC 3030 §2: a rejected BDAT's chunk is consumed all the same.
#[test]
fn rfc3030_rejected_bdat_chunk_is_discarded() {
    let mut decoder = ChunkDecoder::discard(10);
    let mut buf = BytesMut::from(&b"QUIT\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Chunk::NeedMore);
    assert!(buf.is_empty());
    buf.extend_from_slice(b"RSETNOOP\r\n");
    assert_eq!(decoder.decode(&mut buf), Chunk::Done);
    assert_eq!(&buf[..], b"NOOP\r\n");
    let mut huge = ChunkDecoder::new(u64::MAX);
    assert_eq!(
        huge.decode(&mut buf),
        Chunk::Content(Bytes::from_static(b"NOOP\r\n"))
    );
    assert_eq!(huge.remaining(), u64::MAX - 6);
}

// RFC 5321 §4.5.2 and RUSTSEC-2026-0561: normalise to CRLF, then stuff, the
// first line included; finish adds the missing CRLF and ".CRLF".
#[test]
fn encoder_normalises_then_stuffs() {
    assert_eq!(encode(b"", &[]), b".\r\n");
    assert_eq!(encode(b"abc", &[]), b"abc\r\n.\r\n");
    assert_eq!(encode(b"abc\r\n", &[]), b"abc\r\n.\r\n");
    assert_eq!(encode(b".a\r\n.\r\n", &[]), b"..a\r\n..\r\n.\r\n");
    assert_eq!(
        encode(b"x\n.\nMAIL FROM:<a>\n", &[]),
        b"x\r\n..\r\nMAIL FROM:<a>\r\n.\r\n"
    );
    assert_eq!(encode(b"x\r.\r\n", &[1]), b"x\r\n..\r\n.\r\n");
    assert_eq!(encode(b"x\r\r\n\n.", &[]), b"x\r\n\r\n\r\n..\r\n.\r\n");
    for pieces in [&[1][..], &[2][..], &[1, 3][..]] {
        assert_eq!(
            encode(b"a\r\n.b\r\n\r.\n.", pieces),
            encode(b"a\r\n.b\r\n\r.\n.", &[])
        );
    }
}

#[test]
fn classifier_picks_the_body_type() {
    assert_eq!(classify(b"plain\r\ntext\r\n"), ContentKind::SevenBit);
    assert_eq!(classify("caf\u{e9}\r\n".as_bytes()), ContentKind::EightBit);
    assert_eq!(classify(b"a\0b\r\n"), ContentKind::Binary);
    assert!(needs_8bit(&[0x80]));
    assert!(!needs_8bit(b"ascii"));
    let ok = [vec![b'x'; 998], b"\r\n".to_vec(), vec![b'y'; 998]].concat();
    assert!(!is_binary(&ok));
    let long = [b"a\r\n".to_vec(), vec![b'x'; 999], b"\r\n".to_vec()].concat();
    assert!(is_binary(&long));
    assert!(is_binary(&vec![b'x'; 999]));
}

fn octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(b'\r'),
        4 => Just(b'\n'),
        4 => Just(b'.'),
        1 => Just(0u8),
        4 => Just(b'a'),
        2 => any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    // Any content → encode (in any pieces) → decode = the CRLF-normalised
    // content (RFC 5321 §4.5.2), with nothing left over.
    #[test]
    fn encode_decode_round_trip(
        content in prop::collection::vec(octet(), 0..300),
        enc in prop::collection::vec(1usize..20, 0..4),
        dec in prop::collection::vec(1usize..20, 0..4),
    ) {
        let wire = encode(&content, &enc);
        prop_assert_eq!(&wire, &encode(&content, &[]));
        let want = canonical(&content);
        let out = run(allow().with_max_line(usize::MAX), &wire, &dec);
        prop_assert_eq!(&out.content, &want);
        prop_assert_eq!(out.end, Some(Ok(want.len() as u64)));
        prop_assert!(out.leftover.is_empty());
        // The encoder's output is canonical: only a NUL can upset a strict
        // decoder.
        let strict = run(DotDecoder::new().with_max_line(usize::MAX), &wire, &dec);
        let want_end = if content.contains(&0) { Err(ContentError::Nul) } else { Ok(want.len() as u64) };
        prop_assert_eq!(strict.end, Some(want_end));
    }

    // Whatever the split, the same content, result and leftover, and the
    // same as the octet-at-a-time model.
    #[test]
    fn split_anywhere_matches_model(
        body in prop::collection::vec(octet(), 0..300),
        tail in prop::collection::vec(octet(), 0..20),
        pieces in prop::collection::vec(1usize..40, 1..6),
        strict in any::<bool>(),
        max_line in prop_oneof![Just(1000usize), 0usize..12],
        max_size in prop_oneof![Just(u64::MAX), 0u64..300],
    ) {
        let wire = [body.as_slice(), b"\r\n.\r\n", &tail].concat();
        let decoder = DotDecoder::new()
            .with_policy(if strict { BarePolicy::Reject } else { BarePolicy::Allow })
            .with_max_line(max_line)
            .with_max_size(max_size);
        let whole_out = run(decoder.clone(), &wire, &[]);
        let split = run(decoder.clone(), &wire, &pieces);
        let bytewise = run(decoder, &wire, &[1]);
        let (content, end, consumed) = model(&wire, strict, max_line, max_size).expect("terminated");
        prop_assert_eq!(whole_out.end, Some(end));
        prop_assert_eq!(split.end, Some(end));
        prop_assert_eq!(bytewise.end, Some(end));
        prop_assert_eq!(&whole_out.leftover, &wire[consumed..].to_vec());
        prop_assert_eq!(&split.leftover, &wire[consumed..].to_vec());
        prop_assert_eq!(&bytewise.leftover, &wire[consumed..].to_vec());
        if end.is_ok() {
            prop_assert_eq!(&whole_out.content, &content);
            prop_assert_eq!(&split.content, &content);
            prop_assert_eq!(&bytewise.content, &content);
        } else {
            // Whatever was handed out before the rejection is content.
            prop_assert!(content.starts_with(&split.content));
            prop_assert!(content.starts_with(&bytewise.content));
        }
    }

    // No input makes the decoder panic, and without a terminator it never
    // ends; the buffer is always drained.
    #[test]
    fn arbitrary_input_never_panics(
        wire in prop::collection::vec(octet(), 0..400),
        pieces in prop::collection::vec(1usize..40, 1..6),
    ) {
        let out = run(DotDecoder::new(), &wire, &pieces);
        let model_end = model(&wire, true, 1000, u64::MAX).map(|(_, end, _)| end);
        prop_assert_eq!(out.end, model_end);
    }

    // RFC 3030 §2: any split, the chunk is exactly the first N octets.
    #[test]
    fn bdat_any_split(
        data in prop::collection::vec(any::<u8>(), 0..200),
        n in 0usize..200,
        pieces in prop::collection::vec(1usize..30, 1..5),
    ) {
        let n = n.min(data.len());
        let mut decoder = ChunkDecoder::new(n as u64);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = data.as_slice();
        let mut sizes = pieces.iter().copied().cycle();
        loop {
            match decoder.decode(&mut buf) {
                Chunk::Content(c) => got.extend_from_slice(&c),
                Chunk::NeedMore => {
                    prop_assert!(!rest.is_empty());
                    let k = sizes.next().unwrap_or(1).min(rest.len());
                    buf.extend_from_slice(&rest[..k]);
                    rest = &rest[k..];
                }
                Chunk::Done => break,
            }
        }
        prop_assert_eq!(&got[..], &data[..n]);
        let mut left = buf.to_vec();
        left.extend_from_slice(rest);
        prop_assert_eq!(&left[..], &data[n..]);
    }
}

/// Lines of any length around the limit, a few with a dot, a bare CR / LF
/// or a NUL somewhere: the long-run paths of the decoder.
fn long_lines() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        0usize..1300,
        prop_oneof![8 => Just(None), 1 => (0usize..1300, prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), Just(b'.')]).prop_map(Some)],
        any::<bool>(),
    );
    prop::collection::vec(line, 0..40).prop_map(|lines| {
        let mut out = Vec::new();
        for (len, special, dot) in lines {
            let start = out.len();
            if dot {
                out.extend_from_slice(b"..");
            }
            out.extend(std::iter::repeat_n(b'x', len));
            if let Some((at, b)) = special {
                if let Some(slot) = out.get_mut(start + at.min(len)) {
                    *slot = b;
                }
            }
            out.extend_from_slice(b"\r\n");
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // Long runs (the vectorised path) agree with the model under any split.
    #[test]
    fn long_lines_match_model(
        body in long_lines(),
        pieces in prop::collection::vec(1usize..5000, 1..4),
        strict in any::<bool>(),
        max_line in prop_oneof![Just(768usize), Just(1000), Just(1001), Just(2000), 0usize..800],
        max_size in prop_oneof![4 => Just(u64::MAX), 1 => 0u64..40000],
    ) {
        let wire = [body.as_slice(), b".\r\nQUIT\r\n"].concat();
        let decoder = DotDecoder::new()
            .with_policy(if strict { BarePolicy::Reject } else { BarePolicy::Allow })
            .with_max_line(max_line)
            .with_max_size(max_size);
        let (content, end, consumed) = model(&wire, strict, max_line, max_size).expect("terminated");
        for out in [run(decoder.clone(), &wire, &[]), run(decoder.clone(), &wire, &pieces)] {
            prop_assert_eq!(out.end, Some(end));
            prop_assert_eq!(&out.leftover, &wire[consumed..].to_vec());
            if end.is_ok() {
                prop_assert_eq!(&out.content, &content);
            }
        }
    }
}

/// The straightforward reading of RFC 5321 §2.3.8: the offset of the first
/// CR not followed by LF, LF not preceded by CR, or NUL.
fn first_bare(content: &[u8]) -> Option<usize> {
    content.iter().enumerate().position(|(i, &b)| match b {
        0 => true,
        b'\r' => content.get(i + 1) != Some(&b'\n'),
        b'\n' => i == 0 || content[i - 1] != b'\r',
        _ => false,
    })
}

proptest! {
    /// `BareCheck` finds a bare CR, bare LF or NUL wherever the chunks are
    /// cut (RFC 3030 §2: chunk boundaries carry no meaning), and passes on
    /// exactly the content before it.
    #[test]
    fn bare_check_agrees_with_the_definition_across_cuts(
        content in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), Just(b'a')], 0..40),
        cuts in proptest::collection::vec(0usize..40, 0..5),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= content.len()).collect();
        cuts.push(0);
        cuts.push(content.len());
        cuts.sort_unstable();
        let mut check = esmtp::data::BareCheck::new();
        let mut ok = true;
        let mut passed = Vec::new();
        for w in cuts.windows(2) {
            let (out, result) = check.check(Bytes::copy_from_slice(&content[w[0]..w[1]]));
            passed.extend_from_slice(&out);
            if result.is_err() {
                ok = false;
                break;
            }
        }
        ok = ok && check.finish().is_ok();
        let expected = first_bare(&content);
        prop_assert_eq!(ok, expected.is_none(), "{:?}", content);
        prop_assert_eq!(&passed[..], &content[..expected.unwrap_or(content.len())], "{:?}", content);
    }
}
