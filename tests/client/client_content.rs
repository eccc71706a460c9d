//! What the client writes for DATA content (RFC 5321 §4.5.2, §2.3.8): the
//! exact wire bytes against a simple model, for any content and any split,
//! whether the encoder copies ([`DotEncoder::encode`]) or hands out slices
//! of the content ([`DotEncoder::encode_shared`], which the client uses),
//! and that the wire decodes back to the content with CRLF line ends.

use crate::support;

use bytes::{Bytes, BytesMut};
use esmtp::client::{Client, ClientConfig, Envelope, TlsPolicy};
use esmtp::data::{classify, Decoded, DotDecoder, DotEncoder};
use esmtp::values::{Domain, Mailbox};
use proptest::prelude::*;

/// The DATA wire form, one line at a time: canonical line ends, a dot
/// added to each line that starts with one (RFC 5321 §4.5.2), a CRLF if
/// the content does not end with one, then `.CRLF` (§4.1.1.4).
fn model(content: &[u8]) -> Vec<u8> {
    let text = support::crlf_line_ends(content);
    let mut out = Vec::new();
    let mut line_start = true;
    for (i, &b) in text.iter().enumerate() {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n' && i > 0 && text[i - 1] == b'\r';
    }
    if !text.is_empty() && !text.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// `content` cut at the given lengths (cycled).
fn split(content: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    let whole = Bytes::copy_from_slice(content);
    let mut pieces = Vec::new();
    let mut at = 0;
    let mut sizes = sizes.iter().copied().filter(|&n| n > 0).cycle();
    while at < whole.len() {
        let n = sizes.next().unwrap_or(whole.len());
        let end = (at + n).min(whole.len());
        pieces.push(whole.slice(at..end));
        at = end;
    }
    pieces
}

fn encode_copy(pieces: &[Bytes]) -> Vec<u8> {
    let mut enc = DotEncoder::new();
    let mut out = Vec::new();
    for p in pieces {
        enc.encode(p, &mut out);
    }
    enc.finish(&mut out);
    out
}

/// Through `encode_shared` and `finish_shared`, with the pieces handed out.
fn encode_shared(pieces: &[Bytes]) -> Vec<Bytes> {
    let mut enc = DotEncoder::new();
    let mut out = Vec::new();
    match pieces.split_last() {
        None => enc.finish_shared(&Bytes::new(), |b| out.push(b)),
        Some((last, init)) => {
            for p in init {
                enc.encode_shared(p, |b| out.push(b));
            }
            enc.finish_shared(last, |b| out.push(b));
        }
    }
    out
}

/// What a server's decoder makes of `wire`: the content, and whether the
/// terminator ended it with nothing left over.
fn decode(wire: &[u8]) -> (Vec<u8>, bool) {
    let mut decoder = DotDecoder::new();
    let mut buf = BytesMut::from(wire);
    let mut content = Vec::new();
    loop {
        match decoder.decode(&mut buf) {
            Decoded::Content(c) => content.extend_from_slice(&c),
            Decoded::End(end) => return (content, end.is_ok() && buf.is_empty()),
            Decoded::NeedMore => return (content, false),
        }
    }
}

/// Lines of `a`s, some starting with a dot, ending in CRLF (mostly), bare
/// LF, bare CR or nothing: short lines, as DATA needs (RFC 5321 §4.5.3.1.6).
fn lines() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        any::<bool>(),
        0usize..120,
        prop_oneof![
            8 => Just(&b"\r\n"[..]),
            1 => Just(&b"\n"[..]),
            1 => Just(&b"\r"[..]),
            1 => Just(&b""[..]),
        ],
    );
    prop::collection::vec(line, 0..300).prop_map(|ls| {
        let mut v = Vec::new();
        for (dot, n, end) in ls {
            if dot {
                v.push(b'.');
            }
            v.resize(v.len() + n, b'a');
            v.extend_from_slice(end);
        }
        v
    })
}

/// Any mix of the octets that matter, in any order.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(&[b'a', b'.', b'\r', b'\n'][..]),
        0..400,
    )
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![lines(), soup()]
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..5000, 0..6)
}

fn config(chunk_size: usize) -> ClientConfig {
    let mut c = ClientConfig::new(Domain::parse("client.example").unwrap().into_owned());
    c.tls = TlsPolicy::None;
    c.chunking = false;
    c.chunk_size = chunk_size;
    c
}

fn envelope() -> Envelope {
    Envelope::new(Mailbox::parse("a@example.org").unwrap().into_owned()).to(Mailbox::parse(
        "b@example.org",
    )
    .unwrap()
    .into_owned())
}

/// A client through to the 354 (with PIPELINING, one round trip), and
/// every piece it transmits after it, up to `None`.
fn content_pieces(
    mut client: Client,
    streamed: Option<(esmtp::client::MessageId, &[Bytes])>,
) -> Vec<Bytes> {
    client.receive(b"220 mx\r\n");
    while client.poll_transmit().is_some() {}
    client.receive(b"250-mx\r\n250 PIPELINING\r\n");
    let mut commands = Vec::new();
    while let Some(b) = client.poll_transmit() {
        commands.extend_from_slice(&b);
    }
    assert!(commands.ends_with(b"DATA\r\n"), "{commands:?}");
    client.receive(b"250 ok\r\n250 ok\r\n354 go\r\n");
    if let Some((id, chunks)) = streamed {
        for c in chunks {
            client.push_content(id, c.clone()).unwrap();
        }
        client.finish_content(id).unwrap();
    }
    let mut pieces = Vec::new();
    while let Some(b) = client.poll_transmit() {
        assert!(!b.is_empty(), "empty transmit");
        pieces.push(b);
    }
    pieces
}

fn concat(pieces: &[Bytes]) -> Vec<u8> {
    pieces.iter().flat_map(|p| p.iter().copied()).collect()
}

/// Whether `piece` lies inside `content`'s memory: handed out, not copied.
fn borrowed(piece: &Bytes, content: &Bytes) -> bool {
    let c = content.as_ptr_range();
    let p = piece.as_ptr_range();
    !piece.is_empty() && c.start <= p.start && p.end <= c.end
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Both encoder paths give the model's bytes for any content and any
    /// split, and the wire decodes back to the canonical content.
    #[test]
    fn encoders_match_the_model_rfc5321_4_5_2(content in content(), sizes in sizes()) {
        let want = model(&content);
        let pieces = split(&content, &sizes);
        prop_assert_eq!(&encode_copy(&pieces), &want);
        let shared = encode_shared(&pieces);
        prop_assert!(shared.iter().all(|p| !p.is_empty()));
        prop_assert_eq!(&concat(&shared), &want);
        // The content as a server stores it: canonical, ending in a line
        // end (the one the terminator needs, §4.1.1.4).
        let mut stored = support::crlf_line_ends(&content);
        if !stored.is_empty() && !stored.ends_with(b"\r\n") {
            stored.extend_from_slice(b"\r\n");
        }
        let (decoded, ended) = decode(&want);
        prop_assert!(ended);
        prop_assert_eq!(decoded, stored);
    }

    /// What a client writes after the 354, for content given whole or
    /// streamed in pieces, with any piece size: the model's bytes, in a
    /// bounded number of writes.
    #[test]
    fn client_transmits_the_model_rfc5321_2_3_8(
        content in lines(),
        sizes in sizes(),
        chunk in prop_oneof![1usize..6000, Just(64 * 1024)],
        streamed in any::<bool>(),
    ) {
        let want = model(&content);
        let whole = Bytes::from(content.clone());
        let mut client = Client::new(config(chunk));
        let chunks = split(&content, &sizes);
        let pieces = if streamed {
            let id = client
                .submit_streaming(envelope(), classify(&content), None)
                .unwrap();
            content_pieces(client, Some((id, &chunks)))
        } else {
            client.submit(envelope(), whole.clone()).unwrap();
            content_pieces(client, None)
        };
        prop_assert_eq!(&concat(&pieces), &want);
        // Every piece but the copied ones is at least 2 KiB of the
        // content; the copies sit between them: at most about two pieces
        // per 2 KiB, plus one per window and the terminator.
        let windows = if streamed {
            chunks.iter().map(|c| c.len().div_ceil(chunk)).sum::<usize>()
        } else {
            content.len().div_ceil(chunk)
        };
        prop_assert!(
            pieces.len() <= 2 * (want.len() / 2048) + windows + 2,
            "{} pieces for {} octets", pieces.len(), want.len()
        );
    }
}

/// Canonical content without dots to stuff goes out as slices of the
/// message, one per window, and the terminator as a piece of its own.
#[test]
fn canonical_content_is_handed_out_not_copied() {
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    let content: Bytes = line.repeat(3000).into();
    let mut client = Client::new(config(64 * 1024));
    client.submit(envelope(), content.clone()).unwrap();
    let pieces = content_pieces(client, None);
    assert_eq!(pieces.len(), content.len().div_ceil(64 * 1024) + 1);
    let (last, init) = pieces.split_last().unwrap();
    assert!(init.iter().all(|p| borrowed(p, &content)));
    assert_eq!(&last[..], b".\r\n");
    assert_eq!(concat(&pieces), model(&content));
}

/// A stuffed dot costs no copy: the run before it ends with the dot and
/// the run after it starts with the same dot (RFC 5321 §4.5.2).
#[test]
fn stuffed_dots_split_runs_without_a_copy() {
    let mut text = b"x".repeat(3000);
    text.extend_from_slice(b"\r\n.");
    text.extend_from_slice(&b"y".repeat(3000));
    text.extend_from_slice(b"\r\n");
    let content = Bytes::from(text);
    let mut enc = DotEncoder::new();
    let mut pieces = Vec::new();
    enc.encode_shared(&content, |b| pieces.push(b));
    assert_eq!(pieces.len(), 2);
    assert!(pieces.iter().all(|p| borrowed(p, &content)));
    assert!(pieces[0].ends_with(b"\r\n."));
    assert!(pieces[1].starts_with(b".y"));
    let mut copied = Vec::new();
    DotEncoder::new().encode(&content, &mut copied);
    assert_eq!(concat(&pieces), copied);
}

/// Short content is one piece with the terminator, as before.
#[test]
fn a_short_message_is_one_write() {
    let mut client = Client::new(config(64 * 1024));
    client
        .submit(envelope(), &b"Subject: hi\r\n\r\n.dot\nbare"[..])
        .unwrap();
    let pieces = content_pieces(client, None);
    assert_eq!(pieces.len(), 1);
    assert_eq!(&pieces[0][..], b"Subject: hi\r\n\r\n..dot\r\nbare\r\n.\r\n");
}

/// Line ends split between calls: a CR last in one piece and its LF first
/// in the next make one CRLF; a dot after them is still stuffed.
#[test]
fn a_crlf_split_between_pieces_is_one_line_end_rfc5321_2_3_8() {
    for (pieces, want) in [
        (&[&b"a\r"[..], b"\n.b"][..], &b"a\r\n..b\r\n.\r\n"[..]),
        (&[b"a\r", b"\n", b"."], b"a\r\n..\r\n.\r\n"),
        (&[b"a\r", b"\r\n"], b"a\r\n\r\n.\r\n"),
        (&[b"a\r", b"."], b"a\r\n..\r\n.\r\n"),
        (&[b"a\n", b"\n"], b"a\r\n\r\n.\r\n"),
        (&[b"a\r\n", b".", b".\r\n"], b"a\r\n...\r\n.\r\n"),
    ] {
        let pieces: Vec<Bytes> = pieces.iter().map(|p| Bytes::copy_from_slice(p)).collect();
        assert_eq!(concat(&encode_shared(&pieces)), want, "{pieces:?}");
        assert_eq!(encode_copy(&pieces), want, "{pieces:?}");
    }
}

/// Found by `client_transmits_the_model_rfc5321_2_3_8`: empty lines sent
/// one octet per piece must all go out.
#[test]
fn empty_lines_in_one_octet_pieces_all_go_out_rfc5321_4_5_2() {
    let content = b"\r\n\r\n".to_vec();
    let mut client = Client::new(config(1));
    client
        .submit(envelope(), Bytes::from(content.clone()))
        .unwrap();
    let pieces = content_pieces(client, None);
    assert_eq!(concat(&pieces), model(&content));
}
