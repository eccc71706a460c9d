//! The command parser: frame one line, then read it. A strict prefix of a
//! line is `Incomplete`; a complete line is a command or a precise error.

use std::borrow::Cow;

use super::{Command, Etrn, SaslResponse, SendMode, Utf8Reply};
use crate::ehlo::{Keyword, Mechanism};
use crate::error::{DecodeError, SyntaxError, SyntaxErrorKind};
use crate::ext;
use crate::grammar::{
    split_lenient_path_arguments, split_path_arguments, split_path_then_parameters, PathCommand,
    SplitError,
};
use crate::octets::line::frame_line;
use crate::options::ParseOptions;
use crate::params::{MailParams, RcptParams};
use crate::values::{
    parse_forward_path, parse_reverse_path, Domain, DomainRules, Host, PathRules, MAX_PATH_LEN,
};
use crate::values::{ForwardPath, ReversePath};

/// The detail of a strict MAIL/RCPT line that the nom grammar refused but
/// the value parsers found nothing wrong with. The differential tests and
/// the `grammar` fuzz target assert that it never occurs.
#[doc(hidden)]
pub const OUTSIDE_GRAMMAR: &str = "path or parameters outside the RFC 5321 grammar";

const fn args(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

impl<'a> Command<'a> {
    /// Parses one command from the start of `input`, returning it and the
    /// number of octets it used (CRLF included).
    ///
    /// A prefix of a line is [`DecodeError::Incomplete`]; a line longer
    /// than `opts.max_line` is [`DecodeError::LineTooLong`]; a malformed
    /// line is [`DecodeError::Syntax`] with the reply it deserves.
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<(Self, usize), DecodeError> {
        if let Some((fast, used)) = super::fast::scan(input, opts) {
            return Ok(fast.build(used));
        }
        let (line, used) = frame_line(input, opts.max_line, opts.lenient_mode())?;
        parse_framed(line, used, opts)
    }

    /// [`Command::parse`] without the fused fast path in front: the same
    /// result on every input (the differential tests and the `grammar`
    /// fuzz target hold the two to it), only slower. For testing a
    /// parser against this crate's, or this crate's two readings against
    /// each other.
    pub fn parse_general(
        input: &'a [u8],
        opts: &ParseOptions,
    ) -> Result<(Self, usize), DecodeError> {
        let (line, used) = frame_line(input, opts.max_line, opts.lenient_mode())?;
        parse_framed(line, used, opts)
    }

    /// Parses one command line given without its CRLF.
    pub fn parse_line(line: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        match parse_framed(line, 0, opts) {
            Ok((cmd, _)) => Ok(cmd),
            Err(DecodeError::Syntax { error, .. }) => Err(error),
            // `parse_framed` reports nothing else.
            Err(_) => Err(SyntaxError::new(
                SyntaxErrorKind::Command,
                "not a command line",
            )),
        }
    }
}

/// Parses a line without its CRLF; `used` is what it took of the input.
///
/// Every command is built in the tail expression of its arm, so it is
/// written straight into the caller's result: a `Command` is large (MAIL
/// parameters), and moving a finished one from temporary to result would
/// cost a copy of the whole enum.
#[inline(always)]
pub(super) fn parse_framed<'a>(
    line: &'a [u8],
    used: usize,
    opts: &ParseOptions,
) -> Result<(Command<'a>, usize), DecodeError> {
    let fail = |error| DecodeError::Syntax {
        error,
        consumed: used,
    };
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Err(fail(e)),
            }
        };
    }
    // RFC 5321 §4.1.1: "SMTP receivers SHOULD tolerate trailing white
    // space before the terminating <CRLF>".
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let line = tri!(check_characters(&line[..end], opts.utf8));
    // Split at an ASCII SP: both sides are UTF-8.
    let (verb, rest) = split_once_byte(line, b' ');
    let p = Parser { opts, rest };
    let w = match verb_word(verb) {
        Some(w) => w,
        None if verb.eq_ignore_ascii_case(Keyword::StartTls.name()) => {
            tri!(p.no_args());
            return Ok((Command::StartTls, used));
        }
        None if verb.eq_ignore_ascii_case(ext::xclient::EHLO_KEYWORD) => {
            let x = tri!(ext::xclient::Xclient::parse(p.rest, opts));
            return Ok((Command::Xclient(Box::new(x)), used));
        }
        None if verb.eq_ignore_ascii_case(ext::xforward::EHLO_KEYWORD) => {
            let x = tri!(ext::xforward::Xforward::parse(p.rest, opts));
            return Ok((Command::Xforward(Box::new(x)), used));
        }
        None => return Ok((tri!(p.other(verb)), used)),
    };
    const MAIL: u32 = word(b"mail");
    const RCPT: u32 = word(b"rcpt");
    const DATA: u32 = word(b"data");
    const BDAT: u32 = word(b"bdat");
    const EHLO: u32 = word(b"ehlo");
    const HELO: u32 = word(b"helo");
    const LHLO: u32 = word(b"lhlo");
    const RSET: u32 = word(b"rset");
    const QUIT: u32 = word(b"quit");
    const NOOP: u32 = word(b"noop");
    const VRFY: u32 = keyword_word(Keyword::Vrfy);
    const EXPN: u32 = keyword_word(Keyword::Expn);
    const HELP: u32 = keyword_word(Keyword::Help);
    const AUTH: u32 = keyword_word(Keyword::Auth);
    const ETRN: u32 = keyword_word(Keyword::Etrn);
    const ATRN: u32 = keyword_word(Keyword::Atrn);
    const TURN: u32 = keyword_word(Keyword::Turn);
    const SEND: u32 = keyword_word(Keyword::Send);
    const SOML: u32 = keyword_word(Keyword::Soml);
    const SAML: u32 = keyword_word(Keyword::Saml);
    const BURL: u32 = keyword_word(Keyword::Burl);
    const VERB: u32 = keyword_word(Keyword::Verb);
    const ONEX: u32 = keyword_word(Keyword::Onex);
    let send = |mode| {
        let (from, params) = p.mail()?;
        Ok(Command::Send { mode, from, params })
    };
    match w {
        MAIL => {
            let (from, params) = tri!(p.mail_path("FROM"));
            let mut out = Ok((
                Command::Mail {
                    from,
                    params: MailParams::default(),
                },
                used,
            ));
            // Filled where it lies: MailParams is large (320 octets).
            if let Ok((Command::Mail { params: mp, .. }, _)) = &mut out {
                tri!(mp.fill_str(params, opts));
            }
            out
        }
        RCPT => {
            let (to, params) = tri!(p.rcpt_path());
            let mut rp = RcptParams::default();
            tri!(rp.fill_str(params, opts));
            Ok((Command::Rcpt { to, params: rp }, used))
        }
        DATA => {
            tri!(p.no_args());
            Ok((Command::Data, used))
        }
        RSET => {
            tri!(p.no_args());
            Ok((Command::Rset, used))
        }
        QUIT => {
            tri!(p.no_args());
            Ok((Command::Quit, used))
        }
        TURN => {
            tri!(p.no_args());
            Ok((Command::Turn, used))
        }
        VERB => {
            tri!(p.no_args());
            Ok((Command::Verb, used))
        }
        ONEX => {
            tri!(p.no_args());
            Ok((Command::Onex, used))
        }
        EHLO => Ok((Command::Ehlo(tri!(p.hello())), used)),
        HELO => Ok((Command::Helo(tri!(p.hello())), used)),
        LHLO => Ok((Command::Lhlo(tri!(p.hello())), used)),
        BDAT => {
            let (size, last) = tri!(p.bdat());
            Ok((Command::Bdat { size, last }, used))
        }
        NOOP => Ok((Command::Noop(tri!(p.text())), used)),
        HELP => Ok((Command::Help(tri!(p.text())), used)),
        VRFY => {
            let (target, utf8) = tri!(p.vrfy());
            Ok((Command::Vrfy { target, utf8 }, used))
        }
        EXPN => {
            let (target, utf8) = tri!(p.vrfy());
            Ok((Command::Expn { target, utf8 }, used))
        }
        AUTH => Ok((tri!(p.auth()), used)),
        ETRN => Ok((tri!(p.etrn()), used)),
        ATRN => Ok((tri!(p.atrn()), used)),
        SEND => Ok((tri!(send(SendMode::Send)), used)),
        SOML => Ok((tri!(send(SendMode::Soml)), used)),
        SAML => Ok((tri!(send(SendMode::Saml)), used)),
        BURL => Ok((tri!(p.burl()), used)),
        _ => Ok((tri!(p.other(verb)), used)),
    }
}

/// A four-letter alphanumeric verb, case folded into one integer so that
/// dispatch is a single `match`; `None` for anything else.
#[inline(always)]
fn verb_word(verb: &str) -> Option<u32> {
    match verb.as_bytes() {
        // `| 0x20` folds ASCII case; the alphanumeric check guards against
        // octets that fold onto letters (e.g. '@' | 0x20 == '`').
        v @ [a, b, c, d] if v.iter().all(u8::is_ascii_alphanumeric) => {
            Some(u32::from_le_bytes([*a, *b, *c, *d]) | 0x2020_2020)
        }
        _ => None,
    }
}

/// Controls are never part of a command; 8-bit octets only with SMTPUTF8
/// (RFC 5321 §2.4: "500 syntax error - invalid character"). The line is
/// checked as UTF-8 once, here: every later part is a slice of the
/// returned text, cut beside ASCII delimiters, never checked again.
#[inline]
fn check_characters(line: &[u8], utf8: bool) -> Result<&str, SyntaxError> {
    // Branch-free reductions, in one pass, so the compiler vectorises it.
    let (ctl, high) = line.iter().fold((false, 0u8), |(ctl, high), &b| {
        (ctl | (b < 0x20) | (b == 0x7f), high | b)
    });
    if ctl {
        return Err(SyntaxError::new(
            SyntaxErrorKind::Character,
            "control character in command",
        ));
    }
    if high >= 0x80 && !utf8 {
        return Err(SyntaxError::new(
            SyntaxErrorKind::Character,
            "8-bit character without SMTPUTF8",
        ));
    }
    std::str::from_utf8(line)
        .map_err(|_| SyntaxError::new(SyntaxErrorKind::Character, "invalid UTF-8 in command"))
}

/// Splits `s` at its first `needle` (an ASCII octet): the parts on either
/// side are UTF-8.
#[inline]
fn split_once_byte(s: &str, needle: u8) -> (&str, Option<&str>) {
    match memchr::memchr(needle, s.as_bytes()) {
        Some(i) => (
            s.get(..i).unwrap_or_default(),
            Some(s.get(i + 1..).unwrap_or_default()),
        ),
        None => (s, None),
    }
}

const fn word(v: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*v) | 0x2020_2020
}

/// [`word`] of an extension's four-letter verb, spelled by its keyword.
const fn keyword_word(k: Keyword) -> u32 {
    let v = k.name().as_bytes();
    word(&[v[0], v[1], v[2], v[3]])
}

struct Parser<'o, 'a> {
    opts: &'o ParseOptions,
    /// Everything after the verb and one SP, if there was a SP.
    rest: Option<&'a str>,
}

impl<'a> Parser<'_, 'a> {
    fn lenient(&self) -> bool {
        self.opts.lenient_mode()
    }

    /// A command without arguments.
    #[inline(always)]
    fn no_args(&self) -> Result<(), SyntaxError> {
        // RFC 5321 §4.3.2: parameters to DATA, RSET, QUIT deserve 501.
        match self.rest {
            None => Ok(()),
            Some(_) => Err(args("this command takes no arguments")),
        }
    }

    /// Private and unknown verbs are kept verbatim so that the application
    /// can serve them (RFC 5321 §4.1.5); anything not shaped like a
    /// keyword is not a command at all.
    fn other(&self, verb: &'a str) -> Result<Command<'a>, SyntaxError> {
        let v = verb.as_bytes();
        let keyword = v.first().is_some_and(u8::is_ascii_alphanumeric)
            && v.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        if !keyword {
            return Err(SyntaxError::new(
                SyntaxErrorKind::Command,
                "command not recognized",
            ));
        }
        Ok(Command::Other {
            verb: Cow::Borrowed(verb),
            args: self.rest.map(Cow::Borrowed),
        })
    }

    fn required(&self, what: &'static str) -> Result<&'a str, SyntaxError> {
        match self.rest {
            Some(r) if !r.is_empty() => Ok(r),
            _ => Err(args(what)),
        }
    }

    /// HELO/EHLO/LHLO argument. Lenient mode drops text after the domain
    /// (RFC 5321 §4.1.1.1 tells servers to expect it) and tolerates `_`.
    fn hello(&self) -> Result<Host<'a>, SyntaxError> {
        let mut arg = self.required("domain or address literal required")?;
        if self.lenient() {
            arg = split_once_byte(arg.trim_matches(' '), b' ').0;
        }
        let rules = DomainRules {
            // RFC 6531 §3.7.1: the EHLO argument is ASCII.
            utf8: false,
            underscore: self.lenient(),
        };
        Host::parse_str(arg, rules)
    }

    fn path_rules(&self) -> PathRules {
        PathRules {
            utf8: self.opts.utf8,
            bare: self.lenient(),
            // Even lenient: a receiver must be able to store 256 octets and
            // no more is owed (RFC 5321 §4.5.3.1.3); a longer path is a
            // relay or storage overflow waiting to happen downstream.
            max_len: MAX_PATH_LEN,
            local_limit: !self.lenient(),
        }
    }

    /// Splits `FROM:<path> params` after the keyword: `(path, params)`.
    /// Strict: exactly `KEYWORD:` then the path (RFC 5321 §3.3: "spaces
    /// are not permitted on either side of the colon"); lenient: spaces
    /// around, and a path without brackets. Either way the nom grammar
    /// decides the shape and splits it.
    fn path_and_params(&self, keyword: &str) -> Result<(&'a str, &'a str), SyntaxError> {
        let rest = self.rest.ok_or(args("missing path"))?;
        let command = if keyword == "FROM" {
            PathCommand::From
        } else {
            PathCommand::To
        };
        if self.lenient() {
            let (path, params) =
                split_lenient_path_arguments(rest.as_bytes(), command).map_err(split_error)?;
            // Both spans start and end beside ASCII octets.
            return match (rest.get(path), rest.get(params)) {
                (Some(path), Some(params)) => Ok((path, params)),
                _ => Err(args(OUTSIDE_GRAMMAR)),
            };
        }
        if let Some((path, params)) = split_path_arguments(rest.as_bytes(), command, self.opts.utf8)
        {
            if let (Some(path), Some(params)) = (rest.get(path), rest.get(params)) {
                return Ok((path, params));
            }
        }
        // The code below only words the error of a line the grammar
        // refuses.
        match self.explain_strict_path(rest, keyword) {
            Err(e) => Err(e),
            Ok(()) => Err(args(OUTSIDE_GRAMMAR)),
        }
    }

    /// Why a strict MAIL/RCPT line the grammar refused is wrong: the hand
    /// reading of the same rules, for its precise error. `Ok` means it
    /// found nothing wrong, which the differential tests keep from
    /// happening.
    fn explain_strict_path(&self, rest: &'a str, keyword: &str) -> Result<(), SyntaxError> {
        let r = strip_prefix_str(rest, keyword)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or(args("expected FROM:<path> or TO:<path>"))?;
        if r.starts_with(' ') {
            return Err(args("space after the colon"));
        }
        let (path, params) = split_path_then_parameters(r.as_bytes()).map_err(split_error)?;
        let (Some(path), Some(params)) = (r.get(path), r.get(params)) else {
            return Ok(());
        };
        if keyword == "FROM" {
            parse_reverse_path(path, self.path_rules())?;
            MailParams::parse(params.as_bytes(), self.opts)?;
        } else {
            parse_forward_path(path, self.path_rules())?;
            RcptParams::parse(params.as_bytes(), self.opts)?;
        }
        Ok(())
    }

    /// The reverse path of MAIL (or SEND, SOML, SAML) and the unparsed
    /// parameters after it.
    #[inline]
    fn mail_path(&self, keyword: &str) -> Result<(ReversePath<'a>, &'a str), SyntaxError> {
        let (path, params) = self.path_and_params(keyword)?;
        Ok((parse_reverse_path(path, self.path_rules())?, params))
    }

    /// The reverse path and parameters of MAIL, SEND, SOML and SAML.
    #[inline(always)]
    fn mail(&self) -> Result<(ReversePath<'a>, MailParams<'a>), SyntaxError> {
        let (from, params) = self.mail_path("FROM")?;
        let mut p = MailParams::default();
        p.fill_str(params, self.opts)?;
        Ok((from, p))
    }

    /// The forward path of RCPT and the unparsed parameters after it.
    #[inline]
    fn rcpt_path(&self) -> Result<(ForwardPath<'a>, &'a str), SyntaxError> {
        let (path, params) = self.path_and_params("TO")?;
        Ok((parse_forward_path(path, self.path_rules())?, params))
    }

    /// `BDAT chunk-size [SP LAST]`, the size with checked arithmetic
    /// (checked, never wrapped).
    fn bdat(&self) -> Result<(u64, bool), SyntaxError> {
        let rest = self.required("BDAT requires a chunk size")?;
        let (size, last) = split_once_byte(rest, b' ');
        let size = parse_u64(size.as_bytes()).ok_or(args("invalid BDAT chunk size"))?;
        let last = match last {
            None => false,
            Some(l) if l.eq_ignore_ascii_case("LAST") => true,
            Some(_) => return Err(args("expected LAST after the chunk size")),
        };
        Ok((size, last))
    }

    /// HELP and NOOP take optional free text.
    fn text(&self) -> Result<Option<Cow<'a, str>>, SyntaxError> {
        match self.rest {
            None => Ok(None),
            Some(r) => Ok(Some(Cow::Borrowed(r))),
        }
    }

    /// `VRFY String [SP SMTPUTF8]`. Strict: String is an Atom or a
    /// Quoted-string (RFC 5321 §4.1.1.6); lenient: any text.
    fn vrfy(&self) -> Result<(Cow<'a, str>, Utf8Reply), SyntaxError> {
        let rest = self.required("VRFY and EXPN require an argument")?;
        let (target, utf8) = match rest.rsplit_once(' ') {
            Some((t, w)) if w.eq_ignore_ascii_case(ext::smtputf8::EHLO_KEYWORD) => {
                (t, Utf8Reply::SmtpUtf8)
            }
            Some((t, w)) if w.eq_ignore_ascii_case("UTF8REPLY") => (t, Utf8Reply::Utf8Reply),
            _ => (rest, Utf8Reply::No),
        };
        if target.is_empty() {
            return Err(args("VRFY and EXPN require an argument"));
        }
        if !self.lenient() && !is_smtp_string(target.as_bytes()) {
            return Err(args("argument is not an atom or a quoted string"));
        }
        Ok((Cow::Borrowed(target), utf8))
    }

    /// `AUTH mechanism [SP initial-response]` (RFC 4954 §4).
    fn auth(&self) -> Result<Command<'a>, SyntaxError> {
        let rest = self.required("AUTH requires a mechanism")?;
        let (mech, initial) = split_once_byte(rest, b' ');
        let mechanism = Mechanism::parse(mech.as_bytes())?;
        let initial = match initial {
            None => None,
            Some("=") => Some(SaslResponse::Empty),
            Some(r) => Some(super::sasl::parse_base64(r.as_bytes())?),
        };
        Ok(Command::Auth { mechanism, initial })
    }

    /// `ETRN [option-char] node-name` (RFC 1985 §5); bare ETRN is a 500
    /// per §7 but reported here as missing arguments.
    fn etrn(&self) -> Result<Command<'a>, SyntaxError> {
        let rest = self.required("ETRN requires a node name")?;
        let rules = DomainRules::default();
        Ok(Command::Etrn(if let Some(d) = rest.strip_prefix('@') {
            Etrn::Subdomains(Domain::parse_str(d, rules)?)
        } else if let Some(q) = rest.strip_prefix('#') {
            if q.is_empty() || !q.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(args("invalid ETRN queue name"));
            }
            Etrn::Queue(Cow::Borrowed(q))
        } else {
            Etrn::Domain(Domain::parse_str(rest, rules)?)
        }))
    }

    /// `ATRN [SP domain *("," domain)]`, each domain with at least one dot
    /// (RFC 2645 §5.2.2).
    fn atrn(&self) -> Result<Command<'a>, SyntaxError> {
        let Some(rest) = self.rest else {
            return Ok(Command::Atrn(Vec::new()));
        };
        let mut domains = Vec::new();
        for d in rest.split(',') {
            let domain = Domain::parse_str(d, DomainRules::default())?;
            if !d.contains('.') {
                return Err(args("ATRN domain needs at least one dot"));
            }
            domains.push(domain);
        }
        Ok(Command::Atrn(domains))
    }

    /// `BURL absolute-URI [SP LAST]` (RFC 4468 §3.2).
    fn burl(&self) -> Result<Command<'a>, SyntaxError> {
        let rest = self.required("BURL requires a URL")?;
        let (url, last) = match split_once_byte(rest, b' ') {
            (url, Some(l)) if l.eq_ignore_ascii_case("LAST") => (url, true),
            (_, Some(_)) => return Err(args("expected LAST after the URL")),
            (url, None) => (url, false),
        };
        if crate::ext::burl::uri_scheme(url).is_none() {
            return Err(args("invalid BURL URL"));
        }
        Ok(Command::Burl {
            url: Cow::Borrowed(url),
            last,
        })
    }
}

/// The error of a MAIL or RCPT line the grammar could not split.
fn split_error(e: SplitError) -> SyntaxError {
    args(match e {
        SplitError::Keyword => "expected FROM: or TO:",
        SplitError::Colon => "expected ':' after FROM or TO",
        SplitError::Bracket => "path without closing '>'",
        SplitError::Separator => "expected SP before parameters",
    })
}

/// `s` without `prefix` (ASCII, matched in any case).
#[inline]
fn strip_prefix_str<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    match (s.get(..prefix.len()), s.get(prefix.len()..)) {
        (Some(head), Some(tail)) if head.eq_ignore_ascii_case(prefix) => Some(tail),
        _ => None,
    }
}

/// `Atom / Quoted-string` (RFC 5321 §4.1.2 `String`).
fn is_smtp_string(s: &[u8]) -> bool {
    match s {
        [b'"', inner @ .., b'"'] => {
            let mut esc = false;
            inner.iter().all(|&b| {
                let ok = esc || (b != b'"');
                esc = !esc && b == b'\\';
                ok
            }) && !esc
        }
        _ => s
            .iter()
            .all(|&b| crate::octets::class::is_atext(b) || b >= 0x80),
    }
}

pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add((d - b'0') as u64)
        } else {
            None
        }
    })
}
