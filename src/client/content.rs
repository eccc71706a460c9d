//! The content pump: message content out as DATA with dot-stuffing
//! (RFC 5321 §4.5.2) or as BDAT chunks (RFC 3030 §2), and the URL parts
//! of a message as BURL (RFC 4468 §3.2).

use std::borrow::Cow;
use std::collections::VecDeque;

use bytes::Bytes;

use super::pipeline::Expect;
use super::Client;
use crate::command::Command;
use crate::data::DotEncoder;
use crate::ext::body::Body;
use crate::ext::burl::Part;

#[derive(Debug)]
pub(super) enum Source {
    Whole(Bytes),
    Stream {
        chunks: VecDeque<Bytes>,
        finished: bool,
        /// Content was sent once: it cannot be sent again.
        consumed: bool,
    },
    /// Content and URLs the server fetches (BURL, RFC 4468).
    Parts(Vec<Part>),
}

impl Source {
    pub(super) fn replayable(&self) -> bool {
        match self {
            Source::Whole(_) | Source::Parts(_) => true,
            Source::Stream { consumed, .. } => !consumed,
        }
    }
}

#[derive(Debug)]
pub(super) enum ContentPhase {
    NotStarted,
    /// DATA sent, 354 awaited.
    DataSent,
    Data(DotEncoder),
    Bdat,
    /// Everything sent; the final reply(ies) awaited.
    Sent,
}

/// Turns every bare CR and bare LF into CRLF, streaming (a CRLF may be
/// split between two pieces). Content already canonical is passed on
/// without a copy.
#[derive(Debug, Default)]
pub(super) struct LineEnds {
    /// The last piece ended with a CR, already written as CRLF: an LF
    /// first in the next piece belongs to it.
    after_cr: bool,
}

impl LineEnds {
    pub(super) fn normalise(&mut self, piece: Bytes) -> Bytes {
        let skip_lf = self.after_cr && piece.first() == Some(&b'\n');
        let body = if skip_lf { piece.slice(1..) } else { piece };
        if body.is_empty() {
            // An empty piece changes nothing; an LF-only piece ends the pair.
            if skip_lf {
                self.after_cr = false;
            }
            return body;
        }
        self.after_cr = body.last() == Some(&b'\r');
        if crlf_len(&body) == body.len() as u64 && !self.after_cr {
            return body;
        }
        let mut out = Vec::with_capacity(body.len().saturating_add(body.len() / 16));
        let mut rest: &[u8] = &body;
        while let Some(at) = memchr::memchr2(b'\r', b'\n', rest) {
            let (text, tail) = rest.split_at(at);
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
            let crlf = tail.starts_with(b"\r\n");
            rest = tail.get(if crlf { 2 } else { 1 }..).unwrap_or_default();
        }
        out.extend_from_slice(rest);
        Bytes::from(out)
    }
}

/// The size of content once its line ends are CRLF (RFC 1870 §3 counts
/// the message as transmitted, without dot-stuffing).
pub(super) fn crlf_len(content: &[u8]) -> u64 {
    let mut extra = 0u64;
    for i in memchr::memchr2_iter(b'\r', b'\n', content) {
        let bare = match content.get(i) {
            Some(b'\r') => content.get(i.saturating_add(1)) != Some(&b'\n'),
            _ => i == 0 || content.get(i - 1) != Some(&b'\r'),
        };
        if bare {
            extra += 1;
        }
    }
    (content.len() as u64).saturating_add(extra)
}

impl Client {
    /// Produces the next piece of content, if it may go out now.
    pub(super) fn fill(&mut self) {
        if !self.skip_resumed() {
            return;
        }
        let chunk = self.config.chunk_size.max(1);
        let lmtp = self.config.lmtp;
        let can_send = self.can_send();
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let tx = &mut cur.tx;
        match &mut tx.content {
            ContentPhase::Data(enc) => loop {
                // At most `chunk` octets of content per call, handed out
                // as slices of it wherever it is already canonical.
                let (piece, done) = match &mut cur.msg.source {
                    Source::Whole(b) => {
                        let end = tx.offset.saturating_add(chunk).min(b.len());
                        let piece = b.slice(tx.offset.min(end)..end);
                        tx.offset = end;
                        (piece, end >= b.len())
                    }
                    // Sent as BURL and BDAT only.
                    Source::Parts(_) => (Bytes::new(), true),
                    Source::Stream {
                        chunks, finished, ..
                    } => {
                        let piece = match chunks.pop_front() {
                            Some(mut c) => {
                                if c.len() > chunk {
                                    let rest = c.split_off(chunk);
                                    chunks.push_front(rest);
                                }
                                c
                            }
                            None => Bytes::new(),
                        };
                        (piece, *finished && chunks.is_empty())
                    }
                };
                if !self.staging.is_empty() {
                    self.out
                        .push_back(Bytes::from(std::mem::take(&mut self.staging)));
                }
                let before = self.out.len();
                let out = &mut self.out;
                let emit = |b: Bytes| {
                    if !b.is_empty() {
                        out.push_back(b);
                    }
                };
                if done {
                    enc.finish_shared(&piece, emit);
                    tx.content = ContentPhase::Sent;
                    cur.msg.outcome.content_end_sent = true;
                    let ends: Vec<Expect> = if lmtp {
                        tx.accepted.iter().map(|&i| Expect::LmtpEnd(i)).collect()
                    } else {
                        vec![Expect::DataEnd]
                    };
                    for end in ends {
                        self.owe(end);
                    }
                    break;
                }
                enc.encode_shared(&piece, emit);
                // A piece that was only the LF of a split CRLF encodes to
                // nothing: take the next one, unless none has come yet, so
                // that `poll_transmit` does not return `None` mid-message.
                if self.out.len() > before || piece.is_empty() {
                    break;
                }
            },
            ContentPhase::Bdat if can_send && !tx.bdat_failed => {
                // Text content must reach the server in canonical form
                // (RFC 5321 §2.3.8, RFC 3030 §3: only BINARYMIME is sent as
                // is): bare CR and bare LF become CRLF, as for DATA, which
                // also keeps `SIZE=` (counted that way) true.
                let binary = tx.params.body == Some(Body::BinaryMime);
                let (mut piece, mut last, url) = loop {
                    if let Some((carried, last)) = tx.bdat_carry.take() {
                        break (carried, last, None);
                    }
                    let piece = match &mut cur.msg.source {
                        Source::Parts(parts) => match parts.get(tx.part) {
                            // A URL part: BURL instead of BDAT (RFC 4468 §3.2).
                            Some(Part::Burl(url)) => {
                                tx.part += 1;
                                break (Bytes::new(), tx.part >= parts.len(), Some(url.clone()));
                            }
                            Some(Part::Bytes(b)) => {
                                if tx.offset == 0 {
                                    // Each part's line ends are its own.
                                    tx.line_ends = LineEnds::default();
                                }
                                let end = tx.offset.saturating_add(chunk).min(b.len());
                                let piece = b.slice(tx.offset.min(end)..end);
                                tx.offset = end;
                                if end >= b.len() {
                                    tx.part += 1;
                                    tx.offset = 0;
                                }
                                Some((piece, tx.part >= parts.len()))
                            }
                            None => Some((Bytes::new(), true)),
                        },
                        Source::Whole(b) => {
                            let end = tx.offset.saturating_add(chunk).min(b.len());
                            let piece = b.slice(tx.offset.min(end)..end);
                            tx.offset = end;
                            Some((piece, end >= b.len()))
                        }
                        Source::Stream {
                            chunks, finished, ..
                        } => match chunks.pop_front() {
                            Some(mut c) => {
                                if c.len() > chunk {
                                    let rest = c.split_off(chunk);
                                    chunks.push_front(rest);
                                }
                                Some((c, false))
                            }
                            None if *finished => Some((Bytes::new(), true)),
                            None => None,
                        },
                    };
                    let Some((piece, last)) = piece else {
                        return;
                    };
                    let piece = if binary {
                        piece
                    } else {
                        tx.line_ends.normalise(piece)
                    };
                    // A piece that was only the LF of a split CRLF: take
                    // the next one rather than send an empty chunk.
                    if !piece.is_empty() || last {
                        break (piece, last, None);
                    }
                };
                // `chunk_size` is the largest chunk exactly: what
                // normalisation added goes in the next one.
                if piece.len() > chunk {
                    let rest = piece.split_off(chunk);
                    tx.bdat_carry = Some((rest, last));
                    last = false;
                }
                let cmd = match &url {
                    Some(url) => Command::Burl {
                        url: Cow::Borrowed(url.as_str()),
                        last,
                    },
                    None => Command::Bdat {
                        size: piece.len() as u64,
                        last,
                    },
                };
                cmd.write_checked(&mut self.staging);
                if last {
                    tx.content = ContentPhase::Sent;
                    cur.msg.outcome.content_end_sent = true;
                    if lmtp {
                        let ends: Vec<Expect> =
                            tx.accepted.iter().map(|&i| Expect::LmtpEnd(i)).collect();
                        for end in ends {
                            self.owe(end);
                        }
                    } else {
                        self.owe(Expect::BdatLast);
                    }
                } else {
                    self.owe(Expect::Bdat);
                }
                self.push_bytes(piece);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{crlf_len, LineEnds};

    fn normalised(pieces: &[&[u8]]) -> Vec<u8> {
        let mut n = LineEnds::default();
        let mut out = Vec::new();
        for p in pieces {
            out.extend_from_slice(&n.normalise(Bytes::copy_from_slice(p)));
        }
        out
    }

    #[test]
    fn line_ends_become_crlf_across_pieces_rfc5321_2_3_8() {
        assert_eq!(normalised(&[b"a\nb\rc\r\nd"]), b"a\r\nb\r\nc\r\nd");
        assert_eq!(normalised(&[b"a\r", b"\nb"]), b"a\r\nb");
        assert_eq!(normalised(&[b"a\r", b"\n", b"\nb"]), b"a\r\n\r\nb");
        assert_eq!(normalised(&[b"a\r", b"", b"\nb"]), b"a\r\nb");
        assert_eq!(normalised(&[b"a\r", b"\r\n"]), b"a\r\n\r\n");
        assert_eq!(normalised(&[b"\n\n"]), b"\r\n\r\n");
        // Every split of the same content gives the same bytes.
        let whole: &[u8] = b"x\ry\n\r\nz\r\r\n\n.";
        for at in 0..=whole.len() {
            let (a, b) = whole.split_at(at);
            assert_eq!(normalised(&[a, b]), normalised(&[whole]), "split at {at}");
        }
    }

    #[test]
    fn crlf_len_counts_bare_cr_and_lf() {
        assert_eq!(crlf_len(b"a\r\nb"), 4);
        assert_eq!(crlf_len(b"a\nb"), 4);
        assert_eq!(crlf_len(b"a\rb"), 4);
        assert_eq!(crlf_len(b"a\r\r\n"), 5);
        assert_eq!(crlf_len(b"\n\n"), 4);
        assert_eq!(crlf_len(b""), 0);
    }
}
