//! CHECKPOINT (RFC 1845, experimental): the MAIL `TRANSID=` parameter,
//! the `355` restart reply, and where each side takes the content up again
//! after a lost connection.

use std::borrow::Cow;

use nom::bytes::streaming::take_while1;
use nom::character::streaming::char;
use nom::combinator::{cut, peek, recognize, verify};
use nom::multi::many0_count;
use nom::sequence::{delimited, pair, preceded, separated_pair};

use super::seam::{advertise_if, refuse_if, Extension, MailParamDef, Offer, ParamDef, NOT_OFFERED};
use super::{invalid, parse_digits};
use crate::ehlo::Keyword;
use crate::error::SyntaxError;
use crate::grammar::param::{fail_with, field_until, rest_of_value, Terminated, VRes};
use crate::params::{key, set};
use crate::reply::Reply;
use crate::values::{push_decimal, ReplyCode};

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "CHECKPOINT";
/// The MAIL parameter keyword.
pub const PARAM: &str = "TRANSID";
/// "transid-value may not be longer than 80 characters" (RFC 1845 §3).
pub const MAX_LEN: usize = 80;

/// `transid-value = "<" transid-local "@" transid-domain ">"` (RFC 1845
/// §3): opaque and case-sensitive (unlike keywords, RFC 5321 §2.4), kept without the
/// angle brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransId<'a>(Cow<'a, str>);

/// `transid-atom ::= 1*<any (ASCII) CHAR except SPACE, CTLs, tspecials,
/// or ".">` (RFC 1845 §3; `tspecials` of RFC 2045 §5.1).
fn is_atom_char(b: u8) -> bool {
    (33..127).contains(&b) && !b"()<>@,;:\\\"/[]?=.".contains(&b)
}

/// `transid-token ::= transid-atom *("." transid-atom)` (RFC 1845 §3).
fn transid_token(input: &[u8]) -> VRes<'_, &[u8]> {
    let atom = |i| take_while1(is_atom_char)(i);
    // A "." must start another atom.
    recognize(pair(atom, many0_count(preceded(char('.'), cut(atom)))))(input)
}

/// `transid-spec ::= transid-local "@" transid-domain` (RFC 1845 §3), both
/// `transid-token`s. The "@" is looked for first: without one, the value
/// is not a transaction id.
fn transid_spec(input: &[u8]) -> VRes<'_, &[u8]> {
    let at = peek(pair(field_until(b'@'), char('@')));
    preceded(
        fail_with(invalid("TRANSID without '@'"), at),
        recognize(separated_pair(transid_token, char('@'), transid_token)),
    )(input)
}

/// `transid-value ::= "<" transid-spec ">"` (RFC 1845 §3), at most 80
/// characters. The brackets and the length are looked at first, as what
/// the value is before what is inside.
fn transid_value(input: &[u8]) -> VRes<'_, &[u8]> {
    let bracketed = verify(rest_of_value, |v: &[u8]| {
        v.len() >= 2 && v.starts_with(b"<") && v.ends_with(b">")
    });
    let short = verify(rest_of_value, |v: &[u8]| v.len() <= MAX_LEN);
    preceded(
        pair(
            fail_with(invalid("TRANSID without angle brackets"), peek(bracketed)),
            fail_with(invalid("TRANSID longer than 80 characters"), peek(short)),
        ),
        delimited(char('<'), transid_spec, char('>')),
    )(input)
}

/// Checks a `local@domain` spec (for [`TransId::new`]).
fn check(spec: &[u8]) -> Result<(), SyntaxError> {
    if spec.len() + 2 > MAX_LEN {
        return Err(invalid("TRANSID longer than 80 characters"));
    }
    Terminated::new(spec).parse(transid_spec, invalid("invalid TRANSID"))?;
    Ok(())
}

impl<'a> TransId<'a> {
    /// A transaction id from its `local@domain` spec.
    pub fn new(spec: impl Into<Cow<'a, str>>) -> Result<Self, SyntaxError> {
        let spec = spec.into();
        check(spec.as_bytes())?;
        Ok(TransId(spec))
    }

    /// Parses `<local@domain>`.
    pub fn parse(value: &'a [u8]) -> Result<Self, SyntaxError> {
        let whole = Terminated::new(value);
        let spec = whole.original(whole.parse(transid_value, invalid("invalid TRANSID"))?);
        std::str::from_utf8(spec)
            .map(|s| TransId(Cow::Borrowed(s)))
            .map_err(|_| invalid("invalid TRANSID"))
    }

    /// The `local@domain` spec.
    pub fn spec(&self) -> &str {
        &self.0
    }

    /// Appends `<spec>`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(b'<');
        out.extend_from_slice(self.0.as_bytes());
        out.push(b'>');
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> TransId<'static> {
        TransId(Cow::Owned(self.0.into_owned()))
    }
}

/// The code a server answers a re-sent MAIL with when it holds part of
/// the transaction (RFC 1845 §3); a 3xx reply carries no enhanced code.
pub const RESTART_CODE: ReplyCode = ReplyCode::new_unchecked(355);

/// Appends the text of the 355 reply: `<octet-offset> is the transaction
/// offset` (RFC 1845 §3).
pub fn write_restart_text(offset: u64, out: &mut Vec<u8>) {
    push_decimal(out, offset);
    out.extend_from_slice(b" is the transaction offset");
}

/// The octet offset of a `355` reply to MAIL: `octet-offset ::= 1*DIGIT`,
/// first on the first line and followed by linear white space or nothing
/// (RFC 1845 §3). `None` for any other reply.
pub fn restart_offset(reply: &Reply<'_>) -> Option<u64> {
    if reply.code() != RESTART_CODE {
        return None;
    }
    let line = reply.lines().next()?;
    let end = line
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(line.len());
    match line.get(end) {
        None | Some(b' ' | b'\t') => parse_digits(line.get(..end)?, 20),
        Some(_) => None,
    }
}

/// The offset a server can restart content received with DATA at: the
/// octets of `stored` up to its last CRLF, since "the offset must also
/// correspond to the beginning of a line" (RFC 1845 §3). A server keeps
/// those and drops the rest before answering with it.
pub fn resume_offset(stored: &[u8]) -> u64 {
    memchr::memmem::rfind(stored, b"\r\n").map_or(0, |at| at as u64 + 2)
}

/// A client skipping the octets the server already holds (RFC 1845 §3),
/// a piece of its content at a time. The offset counts the content in the
/// canonical form it is sent in: each bare CR or bare LF as the CRLF it
/// becomes, BINARYMIME content as is; dot-stuffing is not counted.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    /// Canonical octets still to skip.
    left: u64,
    /// BINARYMIME: every octet counts as itself.
    binary: bool,
    /// The last octet was a CR, counted as CRLF: an LF next belongs to it.
    after_cr: bool,
    /// The offset reached so far starts a line.
    line_start: bool,
    /// The offset fell between the CR and the LF of a CRLF made of a bare
    /// CR or LF: the LF is still to send.
    lf_owed: bool,
}

/// What [`Resume::take`] did with a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// All of it was skipped: the offset lies further on.
    More,
    /// The offset is reached: send from octet `at` of the piece, after an
    /// LF when `lf_first`.
    Done { lf_first: bool, at: usize },
}

impl Resume {
    pub(crate) fn new(offset: u64, binary: bool) -> Self {
        Resume {
            left: offset,
            binary,
            after_cr: false,
            line_start: true,
            lf_owed: false,
        }
    }

    /// Skips what it can of `piece`.
    pub(crate) fn take(&mut self, piece: &[u8]) -> Skipped {
        let budget = |left: u64| usize::try_from(left).unwrap_or(usize::MAX);
        if self.binary {
            let n = budget(self.left).min(piece.len());
            self.left -= n as u64;
            return if self.left == 0 {
                Skipped::Done {
                    lf_first: false,
                    at: n,
                }
            } else {
                Skipped::More
            };
        }
        let mut i = 0;
        while i < piece.len() {
            let rest = piece.get(i..).unwrap_or_default();
            let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
            if run > 0 {
                // Octets without CR or LF count one each.
                if self.left == 0 {
                    break;
                }
                let n = run.min(budget(self.left));
                self.left -= n as u64;
                i += n;
                self.after_cr = false;
                self.line_start = false;
                continue;
            }
            let octet = rest[0];
            if self.after_cr && octet == b'\n' {
                // The LF of a CRLF counted at its CR.
                self.after_cr = false;
                i += 1;
                continue;
            }
            if self.left == 0 {
                break;
            }
            self.after_cr = octet == b'\r';
            i += 1;
            if self.left >= 2 {
                self.left -= 2;
                self.line_start = true;
            } else {
                self.left = 0;
                self.lf_owed = true;
                self.line_start = false;
            }
        }
        // After a CR that ends the piece, the next octet may be its LF.
        if self.left == 0 && (i < piece.len() || !self.after_cr) {
            Skipped::Done {
                lf_first: std::mem::take(&mut self.lf_owed),
                at: i,
            }
        } else {
            Skipped::More
        }
    }

    /// The content ended while skipping: whether the offset is its end,
    /// or with DATA (`data`) the end of the CRLF that DATA adds to content
    /// that lacks one (RFC 5321 §4.1.1.4); and whether an LF is owed.
    pub(crate) fn finish(&mut self, data: bool) -> Option<bool> {
        if self.left == 0 {
            return Some(std::mem::take(&mut self.lf_owed));
        }
        if data && self.left == 2 && !self.line_start {
            self.left = 0;
            self.line_start = true;
            return Some(false);
        }
        None
    }

    /// Whether the offset reached starts a line: DATA can resume only
    /// there (RFC 1845 §3).
    pub(crate) fn line_start(&self) -> bool {
        self.line_start
    }
}

/// Where to resume whole `content` at canonical `offset` (RFC 1845 §3):
/// the octet of `content` to send from, and whether an LF goes first.
/// `None` when the offset is past the end, or, with DATA (`data`), not at
/// the start of a line.
pub(crate) fn resume_whole(
    content: &[u8],
    offset: u64,
    binary: bool,
    data: bool,
) -> Option<(usize, bool)> {
    let mut resume = Resume::new(offset, binary);
    let (at, lf_first) = match resume.take(content) {
        Skipped::Done { lf_first, at } => (at, lf_first),
        Skipped::More => (content.len(), resume.finish(data)?),
    };
    if data && (lf_first || !resume.line_start()) {
        return None;
    }
    Some((at, lf_first))
}

/// CHECKPOINT: offered when [`Extensions::checkpoint`](crate::server::Extensions::checkpoint)
/// is set (never in LMTP, whose per-recipient replies a restart cannot
/// restate); `TRANSID=` refused unless offered (RFC 5321 §4.1.1.11); a
/// client sends the caller's `TRANSID=` when offered, else strips or fails
/// it per [`ParamPolicy`](crate::client::ParamPolicy).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[TRANSID],
    advertise: |o, caps| advertise_if(caps, Keyword::Checkpoint, offered_by(o)),
    check_mail: |p, o| refuse_if(p.extras().transid.is_some() && !offered_by(o), NOT_OFFERED),
    choose: |n| {
        if n.strip_unless(n.params.extras().transid.is_some(), Keyword::Checkpoint)? {
            n.params.extras_mut().transid = None;
        }
        Ok(())
    },
    ..Extension::NONE
};

fn offered_by(o: &Offer<'_>) -> bool {
    o.ext().checkpoint && !o.lmtp()
}

const TRANSID: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.extras_mut().transid, || TransId::parse(v.need()?)),
    write: |p, out| {
        if let Some(t) = &p.extras().transid {
            key(out, PARAM);
            t.write_to(out);
        }
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transid_rfc1845_3() {
        // RFC 1845 §5 example.
        let t = TransId::parse(b"<12345@host.example.com>").unwrap();
        assert_eq!(t.spec(), "12345@host.example.com");
        let mut out = Vec::new();
        t.write_to(&mut out);
        assert_eq!(out, b"<12345@host.example.com>");
        // Case-sensitive: kept as written.
        assert_ne!(
            TransId::parse(b"<Ab@x>").unwrap(),
            TransId::parse(b"<ab@x>").unwrap()
        );
        for v in [
            "12345@host",
            "<12345>",
            "<@x>",
            "<a@>",
            "<a..b@x>",
            "<a@b@c>",
            "<a b@x>",
            "<a=b@x>",
        ] {
            assert!(TransId::parse(v.as_bytes()).is_err(), "{v}");
        }
        let long = format!("<{}@x>", "a".repeat(77));
        assert!(TransId::parse(long.as_bytes()).is_err());
        let max = format!("<{}@x>", "a".repeat(76));
        assert!(TransId::parse(max.as_bytes()).is_ok());
        let mut out = Vec::new();
        write_restart_text(4096, &mut out);
        assert_eq!(out, b"4096 is the transaction offset");
        assert_eq!(RESTART_CODE.get(), 355);
    }

    #[test]
    fn restart_offset_is_first_on_the_355_line_rfc1845_3() {
        use crate::reply::ReplyParseOptions;
        let parse = |wire: &[u8]| {
            let (reply, _) =
                Reply::parse(wire, &ReplyParseOptions::new().with_enhanced(true)).expect("a reply");
            restart_offset(&reply)
        };
        // RFC 1845 §5 example.
        assert_eq!(parse(b"355 6135 is the transaction offset\r\n"), Some(6135));
        assert_eq!(parse(b"355 0\r\n"), Some(0));
        assert_eq!(parse(b"355 12\tok\r\n"), Some(12));
        assert_eq!(parse(b"355-7 is\r\n355 the offset\r\n"), Some(7));
        for wire in [
            &b"355 offset 6135\r\n"[..],
            b"355 6135octets\r\n",
            b"355 \r\n",
            b"355 99999999999999999999999 is too big\r\n",
            b"250 6135 is the transaction offset\r\n",
        ] {
            assert_eq!(parse(wire), None, "{}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn a_server_resumes_data_at_a_line_start_rfc1845_3() {
        assert_eq!(resume_offset(b""), 0);
        assert_eq!(resume_offset(b"Subject: x\r\n\r\nbod"), 14);
        assert_eq!(resume_offset(b"a\r\nb\r\n"), 6);
        assert_eq!(resume_offset(b"no line end yet"), 0);
    }

    /// Every offset of a content, whatever its line ends and however it
    /// is split, resumes to the same canonical octets the server lacks.
    #[test]
    fn skipping_counts_canonical_octets_rfc1845_3() {
        let canonical = crate::testing::canonical_line_ends;
        let content: &[u8] = b"a\r\nb\nc\rd\r\r\n\n.e\r";
        let full = canonical(content);
        for offset in 0..=full.len() as u64 + 3 {
            for split in 0..=content.len() {
                let mut r = Resume::new(offset, false);
                let (head, tail) = content.split_at(split);
                let mut resumed = None;
                for (base, piece) in [(0, head), (split, tail)] {
                    if let Skipped::Done { lf_first, at } = r.take(piece) {
                        resumed = Some((lf_first, base + at));
                        break;
                    }
                }
                let resumed = resumed.or_else(|| r.finish(false).map(|lf| (lf, content.len())));
                if offset > full.len() as u64 {
                    assert_eq!(resumed, None, "offset {offset}");
                    continue;
                }
                let (lf_first, at) = resumed.expect("within the content");
                let mut sent = if lf_first { b"\n".to_vec() } else { Vec::new() };
                // The rest, its leading LF already counted with a CR.
                let rest = &content[at..];
                sent.extend_from_slice(&canonical(rest));
                assert_eq!(
                    &full[offset as usize..],
                    &sent[..],
                    "offset {offset}, split {split}"
                );
            }
        }
        // BINARYMIME content counts as is.
        let mut r = Resume::new(3, true);
        assert_eq!(r.take(b"a\n"), Skipped::More);
        assert_eq!(
            r.take(b"\rbc"),
            Skipped::Done {
                lf_first: false,
                at: 1
            }
        );
    }

    #[test]
    fn data_resumes_only_at_a_line_start_rfc1845_3() {
        let content = b"one\ntwo\r\nthree";
        assert_eq!(resume_whole(content, 0, false, true), Some((0, false)));
        // "one\r\n" is five canonical octets for four sent.
        assert_eq!(resume_whole(content, 5, false, true), Some((4, false)));
        assert_eq!(resume_whole(content, 10, false, true), Some((9, false)));
        assert_eq!(resume_whole(content, 4, false, true), None);
        assert_eq!(resume_whole(content, 4, false, false), Some((4, true)));
        assert_eq!(resume_whole(content, 7, false, true), None);
        assert_eq!(resume_whole(content, 7, false, false), Some((6, false)));
        // DATA ends content without a line end with one (RFC 5321
        // §4.1.1.4): the server may hold it.
        assert_eq!(resume_whole(content, 15, false, true), None);
        assert_eq!(resume_whole(content, 16, false, true), None);
        assert_eq!(resume_whole(content, 17, false, true), Some((14, false)));
        assert_eq!(resume_whole(content, 17, false, false), None);
        assert_eq!(resume_whole(content, 18, false, true), None);
    }

    #[test]
    fn transid_productions_stream_rfc1845_3() {
        use crate::grammar::param::assert_streaming;
        assert_streaming!(transid_value, &["<12345@host.example.com>", "<a@b>"]);
        assert_streaming!(transid_spec, &["12345@host.example.com"]);
        assert_streaming!(transid_token, &["host.example.com", "a"]);
    }
}
