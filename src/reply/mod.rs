//! Replies: parsing and writing single- and multi-line replies (RFC 5321 §4.2).
//!
//! A parsed [`Reply`] borrows the reply's lines from the input as one raw
//! block and strips codes lazily while iterating, so parsing a reply never
//! allocates. A reply built by the caller ([`Reply::new`]) is validated: text
//! containing CR, LF or another control character (HT excepted) is rejected
//! with a [`ReplyTextError`], so caller text can never inject a line onto the
//! wire.

use std::borrow::Cow;
use std::fmt;

use crate::options::Strictness;
use crate::values::{EnhancedStatusCode, ReplyCode};

use crate::octets::scan;

#[cfg(test)]
mod differential;
mod parse;
#[cfg(test)]
mod tests;

pub(crate) use parse::{scan_line, LineScan};

/// Which command a reply answers, as far as reply syntax depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ReplyContext {
    /// Any reply to a command other than HELO, EHLO or LHLO.
    #[default]
    Command,
    /// The connection greeting, which never carries an enhanced status code
    /// (RFC 2034 §4).
    Greeting,
    /// A reply to HELO, EHLO or LHLO, which never carries an enhanced status
    /// code (RFC 2034 §4): its first line starts with a domain.
    Hello,
}

/// Options for [`Reply::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ReplyParseOptions {
    /// Strict RFC 5321 §4.2 syntax or what deployed servers send.
    ///
    /// Lenient (the default) additionally accepts a bare LF as line end, any
    /// octet but CR and LF in the text (`ehlo-greet`, RFC 5321 §4.1.1.1), and
    /// codes whose second digit is 6–9 (handled by their first digit, RFC
    /// 5321 §4.2.2). Both modes accept `250` with no text and no space and
    /// `250- text` (RFC 4141 §9), which RFC 5321 allows.
    pub strictness: Strictness,
    /// The longest reply line, CRLF included (RFC 5321 §4.5.3.1.5: 512).
    pub max_line: usize,
    /// The most lines one reply may have; bounds the memory a peer can make
    /// the caller buffer.
    pub max_lines: usize,
    /// The server advertised ENHANCEDSTATUSCODES (RFC 2034), or the caller
    /// expects codes anyway: recognise `class.subject.detail` at the start
    /// of the text.
    pub enhanced: bool,
    /// Which command the reply answers.
    pub context: ReplyContext,
}

impl ReplyParseOptions {
    /// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with CRLF.
    pub const DEFAULT_MAX_LINE: usize = 512;
    /// Generous for any EHLO reply seen in practice.
    pub const DEFAULT_MAX_LINES: usize = 128;

    /// Lenient syntax, no enhanced codes expected, default limits.
    pub const fn new() -> Self {
        Self {
            strictness: Strictness::Lenient,
            max_line: Self::DEFAULT_MAX_LINE,
            max_lines: Self::DEFAULT_MAX_LINES,
            enhanced: false,
            context: ReplyContext::Command,
        }
    }

    /// Strict syntax, no enhanced codes expected, default limits.
    pub const fn strict() -> Self {
        Self::new().with_strictness(Strictness::Strict)
    }

    /// These options with another strictness.
    pub const fn with_strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }

    /// These options with enhanced status codes recognised or not.
    pub const fn with_enhanced(mut self, enhanced: bool) -> Self {
        self.enhanced = enhanced;
        self
    }

    /// These options for a reply to another kind of command.
    pub const fn with_context(mut self, context: ReplyContext) -> Self {
        self.context = context;
        self
    }

    /// These options with another line limit (CRLF included).
    pub const fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// These options with another limit on the number of lines.
    pub const fn with_max_lines(mut self, max_lines: usize) -> Self {
        self.max_lines = max_lines;
        self
    }

    pub(crate) const fn lenient(&self) -> bool {
        matches!(self.strictness, Strictness::Lenient)
    }
}

impl Default for ReplyParseOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Why caller-supplied reply content cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyTextError {
    /// A line holds CR, LF or another control character (HT is allowed):
    /// RFC 5321 §4.2 `textstring`. Rejected rather than rewritten so a
    /// caller never sends something other than what it meant.
    #[error("reply line {line} contains control character 0x{byte:02x}")]
    Control {
        /// Index of the offending line.
        line: usize,
        /// The offending octet.
        byte: u8,
    },
    /// A line would exceed 512 octets on the wire (RFC 5321 §4.5.3.1.5).
    #[error("reply line {line} is {len} octets on the wire, over 512")]
    TooLong {
        /// Index of the offending line.
        line: usize,
        /// Its wire length, code and CRLF included.
        len: usize,
    },
    /// An enhanced status code on a 3xx reply, or whose class differs from
    /// the reply code's first digit (RFC 3463 §2, RFC 2034 §4).
    #[error("enhanced status code does not fit the reply code")]
    EnhancedMismatch,
}

/// The text lines of a reply.
#[derive(Clone)]
enum Repr<'a> {
    /// The reply's lines exactly as received, terminators included; codes,
    /// separators and enhanced codes are stripped when iterating.
    Wire(Cow<'a, [u8]>),
    /// Text lines given by the caller, already validated.
    Lines(Vec<Cow<'a, [u8]>>),
}

/// An SMTP reply: a code, an optional enhanced status code and one or more
/// text lines (RFC 5321 §4.2, RFC 2034).
///
/// Two replies are equal when their codes, enhanced codes and text lines are
/// equal, whatever their wire form was.
#[derive(Clone)]
pub struct Reply<'a> {
    code: ReplyCode,
    enhanced: Option<EnhancedStatusCode>,
    repr: Repr<'a>,
}

/// RFC 5321 §4.5.3.1.5.
const MAX_WIRE_LINE: usize = 512;

/// Appends one line's text as a `textstring` (RFC 5321 §4.2): controls but
/// HT become SP, and the text stops where the line, begun at `start` in
/// `out`, would pass 512 octets with its CRLF. Text that [`Reply::new`]
/// accepted passes through unchanged.
fn push_text(out: &mut Vec<u8>, text: &[u8], start: usize) {
    let room = MAX_WIRE_LINE.saturating_sub(out.len() - start + 2);
    let mut text = text;
    if text.len() > room {
        // Cut at a UTF-8 character boundary: never before a continuation
        // octet.
        let mut cut = room;
        while cut > 0 && text[cut] & 0xc0 == 0x80 {
            cut -= 1;
        }
        text = &text[..cut];
    }
    let is_control = |b: u8| (b < 0x20 && b != b'\t') || b == 0x7f;
    if !text.iter().any(|&b| is_control(b)) {
        out.extend_from_slice(text);
        return;
    }
    out.extend(text.iter().map(|&b| if is_control(b) { b' ' } else { b }));
}

impl<'a> Reply<'a> {
    /// A reply with the given text lines; no lines means one empty line.
    ///
    /// Every line is written with the same code and, when given, the same
    /// enhanced code (RFC 5321 §4.2.1, RFC 2034 §4). Lines containing CR, LF
    /// or another control but HT, lines longer than 512 octets on the wire,
    /// and an enhanced code on a 3xx reply or of another class are rejected.
    pub fn new<I, S>(
        code: ReplyCode,
        enhanced: Option<EnhancedStatusCode>,
        lines: I,
    ) -> Result<Self, ReplyTextError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'a, str>>,
    {
        if let Some(esc) = enhanced {
            if code.is_intermediate() || u16::from(esc.class()) != code.get() / 100 {
                return Err(ReplyTextError::EnhancedMismatch);
            }
        }
        // Code, separator and CRLF, plus the enhanced code and its SP.
        let overhead = 6 + enhanced.map_or(0, |esc| {
            let mut buf = Vec::with_capacity(10);
            esc.write_to(&mut buf);
            buf.len() + 1
        });
        let mut out = Vec::new();
        for (i, line) in lines.into_iter().enumerate() {
            let line: Cow<'a, str> = line.into();
            if let Some(&byte) = line
                .as_bytes()
                .iter()
                .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            {
                return Err(ReplyTextError::Control { line: i, byte });
            }
            let len = line.len().saturating_add(overhead);
            if len > MAX_WIRE_LINE {
                return Err(ReplyTextError::TooLong { line: i, len });
            }
            out.push(match line {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            });
        }
        if out.is_empty() {
            out.push(Cow::Borrowed(&b""[..]));
        }
        Ok(Self {
            code,
            enhanced,
            repr: Repr::Lines(out),
        })
    }

    /// A one-line reply from any text, never an error: controls but HT
    /// become spaces, the text is cut (at a character boundary) where the
    /// line would pass 512 octets (RFC 5321 §4.5.3.1.5), and an enhanced
    /// code that does not fit the reply code (RFC 3463 §2) is left off.
    /// For text that comes from elsewhere, such as a peer's name or an
    /// error message.
    pub fn sanitized(
        code: ReplyCode,
        enhanced: Option<EnhancedStatusCode>,
        text: &str,
    ) -> Reply<'static> {
        let fits = |esc: &EnhancedStatusCode| {
            !code.is_intermediate() && u16::from(esc.class()) == code.get() / 100
        };
        let enhanced = enhanced.filter(fits);
        // Code, separator and CRLF, plus the enhanced code and its SP.
        let room = MAX_WIRE_LINE - 6 - enhanced.map_or(0, |esc| esc.to_string().len() + 1);
        let mut cut = text.len().min(room);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut line = Vec::with_capacity(cut);
        // Within 510 octets: only the controls are replaced.
        push_text(&mut line, &text.as_bytes()[..cut], 0);
        Reply {
            code,
            enhanced,
            repr: Repr::Lines(vec![Cow::Owned(line)]),
        }
    }

    /// A one-line reply.
    pub fn single(
        code: ReplyCode,
        enhanced: Option<EnhancedStatusCode>,
        text: &'a str,
    ) -> Result<Self, ReplyTextError> {
        Self::new(code, enhanced, [text])
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code, if one was given or recognised.
    pub fn enhanced(&self) -> Option<EnhancedStatusCode> {
        self.enhanced
    }

    /// The text of each line, without the code, the separator after it and
    /// the enhanced code with the one space that follows it.
    pub fn lines(&self) -> Lines<'_> {
        match &self.repr {
            Repr::Wire(block) => Lines {
                inner: LinesInner::Wire(block),
                // The parser recognised the code at the start of the first
                // line's text, after the reply code and its separator.
                esc: self
                    .enhanced
                    .and_then(|esc| block.get(4..4 + esc_wire_len(esc)))
                    .unwrap_or_default(),
            },
            Repr::Lines(lines) => Lines {
                inner: LinesInner::Lines(lines.iter()),
                esc: &[],
            },
        }
    }

    /// The lines exactly as parsed, codes and line ends included, when the
    /// reply was parsed and carries no enhanced code: a caller that walks
    /// them itself can find a line's end and its first word in one look.
    pub(crate) fn wire_lines(&self) -> Option<&[u8]> {
        match &self.repr {
            Repr::Wire(block) if self.enhanced.is_none() => Some(block),
            _ => None,
        }
    }

    /// The number of lines.
    pub fn line_count(&self) -> usize {
        match &self.repr {
            Repr::Wire(block) => memchr::memchr_iter(b'\n', block).count(),
            Repr::Lines(lines) => lines.len(),
        }
    }

    /// All text lines joined with `\n`; invalid UTF-8 is replaced with
    /// U+FFFD. Borrows when the reply has one line of valid UTF-8.
    pub fn text(&self) -> Cow<'_, str> {
        let mut lines = self.lines();
        let first = lines.next().unwrap_or_default();
        match lines.next() {
            None => String::from_utf8_lossy(first),
            Some(second) => {
                let mut s = String::from_utf8_lossy(first).into_owned();
                for line in core::iter::once(second).chain(lines) {
                    s.push('\n');
                    s.push_str(&String::from_utf8_lossy(line));
                }
                Cow::Owned(s)
            }
        }
    }

    /// The same reply, owning its text.
    pub fn into_owned(self) -> Reply<'static> {
        Reply {
            code: self.code,
            enhanced: self.enhanced,
            repr: match self.repr {
                Repr::Wire(block) => Repr::Wire(Cow::Owned(block.into_owned())),
                Repr::Lines(lines) => Repr::Lines(
                    lines
                        .into_iter()
                        .map(|l| Cow::Owned(l.into_owned()))
                        .collect(),
                ),
            },
        }
    }

    /// Appends the reply in its canonical wire form: `code-text` lines and
    /// a final `code SP text` line (just `code` when it has no text), each
    /// carrying the enhanced code when there is one.
    ///
    /// Whatever the reply came from, what is written is what [`Reply::new`]
    /// accepts: a reply parsed leniently from an upstream peer may hold
    /// NUL or other controls, which go out as SP, and lines longer than 512
    /// octets, which are cut at a character boundary (RFC 5321 §4.2
    /// `textstring`, §4.5.3.1.5). A relay passing a reply on can thus never
    /// write a control or a second line to its own peer.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let code = self.code.to_ascii();
        let mut lines = self.lines().peekable();
        while let Some(line) = lines.next() {
            let start = out.len();
            out.extend_from_slice(&code);
            let last = lines.peek().is_none();
            match self.enhanced {
                Some(esc) => {
                    out.push(if last { b' ' } else { b'-' });
                    esc.write_to(out);
                    if !line.is_empty() {
                        out.push(b' ');
                        push_text(out, line, start);
                    }
                }
                None if line.is_empty() => {
                    if !last {
                        out.push(b'-');
                    }
                }
                None => {
                    out.push(if last { b' ' } else { b'-' });
                    push_text(out, line, start);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The reply in its canonical wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// The length of `esc` as written: `class "." subject "." detail`, the
/// numbers without leading zeros (RFC 3463 §2).
fn esc_wire_len(esc: EnhancedStatusCode) -> usize {
    let digits = |n: u16| 1 + usize::from(n >= 10) + usize::from(n >= 100);
    3 + digits(esc.subject()) + digits(esc.detail())
}

/// `text` without a leading enhanced code written as `esc` and the one SP
/// after it. An enhanced code has one written form (no leading zeros, RFC
/// 3463 §2), so comparing octets compares codes.
fn strip_enhanced<'t>(text: &'t [u8], esc: &[u8]) -> &'t [u8] {
    match text.strip_prefix(esc) {
        Some([]) => &[],
        Some([b' ', after @ ..]) => after,
        _ => text,
    }
}

/// Iterator over a reply's text lines (see [`Reply::lines`]).
#[derive(Clone)]
pub struct Lines<'r> {
    inner: LinesInner<'r>,
    /// The enhanced code as the first line writes it, to strip from each
    /// line that repeats it; empty when there is none.
    esc: &'r [u8],
}

#[derive(Clone)]
enum LinesInner<'r> {
    Wire(&'r [u8]),
    Lines(core::slice::Iter<'r, Cow<'r, [u8]>>),
}

impl fmt::Debug for Lines<'_> {
    /// The lines still to come, as text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.clone().map(String::from_utf8_lossy))
            .finish()
    }
}

impl<'r> Iterator for Lines<'r> {
    type Item = &'r [u8];

    fn next(&mut self) -> Option<&'r [u8]> {
        match &mut self.inner {
            LinesInner::Lines(it) => it.next().map(|l| &**l),
            LinesInner::Wire(block) => {
                if block.is_empty() {
                    return None;
                }
                let nl = scan::find(block, b'\n').unwrap_or(block.len());
                let (line, rest) = block.split_at(nl);
                *block = rest.get(1..).unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                // Code and separator; the parser guaranteed the code.
                let text = line.get(4..).unwrap_or_default();
                Some(match self.esc {
                    [] => text,
                    esc => strip_enhanced(text, esc),
                })
            }
        }
    }
}

impl PartialEq for Reply<'_> {
    fn eq(&self, other: &Reply<'_>) -> bool {
        self.code == other.code && self.enhanced == other.enhanced && self.lines().eq(other.lines())
    }
}

impl Eq for Reply<'_> {}

impl fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code)
            .field("enhanced", &self.enhanced)
            .field(
                "lines",
                &self
                    .lines()
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for Reply<'_> {
    /// The canonical wire form, line ends included, non-UTF-8 replaced.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
