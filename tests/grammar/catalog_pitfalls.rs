//! One test per known pitfall of other SMTP implementations that the
//! grammar layer owns (a space after the colon, missing brackets, `AUTH=<>`,
//! number overflow, the `AUTH=` EHLO line …). Each names the RFC section
//! behind it.

use esmtp::command::Command;
use esmtp::ehlo::{Capabilities, Mechanism};
use esmtp::ext::auth::AuthParam;
use esmtp::ext::future_release::Hold;
use esmtp::params::{MailParams, RcptParams};
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use esmtp::values::{AddressLiteral, ForwardPath, Host, ReversePath};
use esmtp::{DecodeError, ParseOptions, SyntaxErrorKind};

fn strict(line: &str) -> Result<Command<'_>, SyntaxErrorKind> {
    Command::parse_line(line.as_bytes(), &ParseOptions::strict()).map_err(|e| e.kind())
}

fn lenient(line: &str) -> Result<Command<'_>, SyntaxErrorKind> {
    Command::parse_line(line.as_bytes(), &ParseOptions::lenient()).map_err(|e| e.kind())
}

fn mail(
    line: &str,
    opts: ParseOptions,
) -> Result<(ReversePath<'_>, MailParams<'_>), SyntaxErrorKind> {
    match Command::parse_line(line.as_bytes(), &opts).map_err(|e| e.kind())? {
        Command::Mail { from, params } => Ok((from, params)),
        other => panic!("not MAIL: {other:?}"),
    }
}

fn rcpt(
    line: &str,
    opts: ParseOptions,
) -> Result<(ForwardPath<'_>, RcptParams<'_>), SyntaxErrorKind> {
    match Command::parse_line(line.as_bytes(), &opts).map_err(|e| e.kind())? {
        Command::Rcpt { to, params } => Ok((to, params)),
        other => panic!("not RCPT: {other:?}"),
    }
}

/// RFC 5321 §3.3: "spaces are not permitted on either side of the
/// colon"; tolerated in lenient mode; the writer is always strict.
#[test]
fn item_01_space_after_from_colon() {
    assert_eq!(
        strict("MAIL FROM: <a@b.org>").unwrap_err(),
        SyntaxErrorKind::Arguments
    );
    let cmd = lenient("MAIL FROM: <a@b.org>").unwrap();
    assert_eq!(cmd.to_bytes().unwrap(), b"MAIL FROM:<a@b.org>\r\n");
    assert!(lenient("RCPT TO: <a@b.org>").is_ok());
}

/// RFC 5321 §4.1.2 (`Path = "<" … ">"`): a path without angle brackets
/// is lenient-only.
#[test]
fn item_02_missing_angle_brackets() {
    assert_eq!(
        strict("MAIL FROM:a@b.org").unwrap_err(),
        SyntaxErrorKind::SenderAddress
    );
    assert_eq!(
        lenient("MAIL FROM:a@b.org").unwrap().to_bytes().unwrap(),
        b"MAIL FROM:<a@b.org>\r\n"
    );
}

/// RFC 5321 §4.1.2: `<>` is a reverse path only.
#[test]
fn item_03_null_path_only_in_mail() {
    assert_eq!(
        mail("MAIL FROM:<>", ParseOptions::strict()).unwrap().0,
        ReversePath::Null
    );
    assert_eq!(
        rcpt("RCPT TO:<>", ParseOptions::lenient()).unwrap_err(),
        SyntaxErrorKind::RecipientAddress
    );
}

/// RFC 4954 §5: `AUTH=<>` is decoded xtext; an empty value is invalid.
#[test]
fn item_04_auth_param() {
    let (_, p) = mail("MAIL FROM:<a@b.org> AUTH=<>", ParseOptions::strict()).unwrap();
    assert_eq!(p.extras().auth, Some(AuthParam::Unknown));
    let (_, p) = mail(
        "MAIL FROM:<a@b.org> AUTH=e+3Dmc2@example.com",
        ParseOptions::strict(),
    )
    .unwrap();
    assert!(
        matches!(p.extras().auth, Some(AuthParam::Mailbox(ref m)) if m.local.as_str() == "e=mc2")
    );
    assert!(mail("MAIL FROM:<a@b.org> AUTH=", ParseOptions::strict()).is_err());
}

/// RFC 5321 §4.1.2 and App. C: source routes accepted and dropped.
#[test]
fn item_05_source_routes() {
    let (from, _) = mail(
        "MAIL FROM:<@hosta.int,@jkl.org:userc@d.bar.org>",
        ParseOptions::strict(),
    )
    .unwrap();
    assert_eq!(from.to_string(), "<userc@d.bar.org>");
}

/// RFC 5321 §4.1.1.3: `<Postmaster>` has its own variant.
#[test]
fn item_06_postmaster() {
    assert_eq!(
        rcpt("RCPT TO:<postmaster>", ParseOptions::strict())
            .unwrap()
            .0,
        ForwardPath::Postmaster
    );
}

/// RFC 5321 §4.1.2: quoted forms are equivalent; minimal quoting.
#[test]
fn item_07_quoted_local_parts() {
    let (a, _) = mail("MAIL FROM:<\"john\"@x.org>", ParseOptions::strict()).unwrap();
    let (b, _) = mail("MAIL FROM:<john@x.org>", ParseOptions::strict()).unwrap();
    assert_eq!(a, b);
    let (c, _) = mail("MAIL FROM:<\"a b\"@x.org>", ParseOptions::strict()).unwrap();
    assert_eq!(c.to_string(), "<\"a b\"@x.org>");
    // HTAB is not quoted-pairSMTP.
    assert!(mail("MAIL FROM:<\"a\\\tb\"@x.org>", ParseOptions::strict()).is_err());
}

/// RFC 5321 §4.1.3: IPv6 group rules, registered tags only.
#[test]
fn item_08_ipv6_literals() {
    assert!(AddressLiteral::parse(b"[IPv6:2001:db8::1]").is_ok());
    assert!(AddressLiteral::parse(b"[ipv6:2001:db8::1]").is_ok());
    assert!(AddressLiteral::parse(b"[IPv6:1:2:3:4:5:6:7::]").is_err());
    assert!(AddressLiteral::parse(b"[2001:db8::1]").is_err());
    assert_eq!(
        AddressLiteral::parse(b"[010.001.0.1]").unwrap(),
        AddressLiteral::Ipv4([10, 1, 0, 1].into())
    );
}

/// RFC 5321 §4.1.1.1: `HELO [literal]`, and trailing text after the
/// EHLO domain in lenient mode.
#[test]
fn item_09_helo_literal_and_trailing_text() {
    assert!(matches!(
        strict("HELO [192.0.2.1]").unwrap(),
        Command::Helo(Host::Literal(_))
    ));
    assert!(strict("EHLO a.example (client)").is_err());
    assert!(lenient("EHLO a.example (client)").is_ok());
}

/// RFC 5321 §4.1.2 `esmtp-value` excludes `=`, yet MTRK's base64 may end
/// in `=` padding (RFC 3885 §3.1): parameters are split at the first `=`.
#[test]
fn item_10_split_at_first_equals() {
    let (_, p) = mail(
        "MAIL FROM:<a@b.org> ENVID=x MTRK=YWJjZA==:3600",
        ParseOptions::strict(),
    )
    .unwrap();
    let mtrk = p.extras().mtrk.as_ref().expect("MTRK parsed");
    let mut out = Vec::new();
    mtrk.write_to(&mut out);
    assert_eq!(out, b"YWJjZA==:3600");
}

/// RFC 5321 §4.1.2: an `esmtp-keyword` may contain `-` (MT-PRIORITY).
#[test]
fn item_11_keywords_with_hyphen() {
    let (_, p) = mail("MAIL FROM:<a@b.org> MT-PRIORITY=3", ParseOptions::strict()).unwrap();
    assert_eq!(p.mt_priority.map(|m| m.get()), Some(3));
    let (_, p) = mail("MAIL FROM:<a@b.org> X-MY-PARAM=1", ParseOptions::strict()).unwrap();
    assert_eq!(p.extras().other[0].keyword, "X-MY-PARAM");
}

/// RFC 5321 §4.1.1.11 and §4.2.4: each failure names its reply.
#[test]
fn item_12_reply_for_each_failure() {
    let reply = |line: &str| {
        let err = Command::parse_line(line.as_bytes(), &ParseOptions::strict()).unwrap_err();
        let (code, esc) = err.reply();
        (code.get(), esc.to_string())
    };
    assert_eq!(reply("FROBNICATE?"), (500, "5.5.2".into()));
    assert_eq!(reply("MAIL FROM:<a@b.org> SIZE=x"), (501, "5.5.4".into()));
    // MAIL's replies (RFC 5321 §4.3.2) have no 504: an unimplemented
    // parameter value is 555 (§4.1.1.11), as Postfix answers.
    assert_eq!(
        reply("MAIL FROM:<a@b.org> BODY=9BIT"),
        (555, "5.5.4".into())
    );
    assert_eq!(reply("RCPT TO:<a@@b.org>"), (553, "5.1.3".into()));
    assert_eq!(reply("MAIL FROM:<a@@b.org>"), (553, "5.1.7".into()));
    assert_eq!(reply("AUTH PLAIN !!!!"), (501, "5.5.2".into()));
    // An unknown parameter parses; the server answers 555 for it.
    let (_, p) = mail("MAIL FROM:<a@b.org> FOO=BAR", ParseOptions::strict()).unwrap();
    assert_eq!(p.extras().other.len(), 1);
    let over = format!("NOOP {}\r\n", "x".repeat(600));
    assert_eq!(
        Command::parse(over.as_bytes(), &ParseOptions::strict().with_max_line(512)),
        Err(DecodeError::LineTooLong { limit: 512 })
    );
}

/// RFC 3461 §4: uppercase hex is emitted; lowercase only lenient.
#[test]
fn item_13_xtext_hex_case() {
    assert!(mail("MAIL FROM:<a@b.org> ENVID=a+2bb", ParseOptions::strict()).is_err());
    let (_, p) = mail("MAIL FROM:<a@b.org> ENVID=a+2bb", ParseOptions::lenient()).unwrap();
    assert_eq!(p.envid.as_ref().unwrap().as_str(), "a+b");
    let mut out = Vec::new();
    p.write_to(&mut out);
    assert_eq!(out, b" ENVID=a+2Bb");
}

/// RFC 3461 §4.1: NEVER alone, keywords in any case.
#[test]
fn item_14_notify_list() {
    assert!(rcpt(
        "RCPT TO:<a@b.org> NOTIFY=NEVER,SUCCESS",
        ParseOptions::strict()
    )
    .is_err());
    let (_, p) = rcpt(
        "RCPT TO:<a@b.org> NOTIFY=success,Delay",
        ParseOptions::strict(),
    )
    .unwrap();
    let n = p.notify.unwrap();
    assert!(n.success && n.delay && !n.failure);
    assert!(rcpt(
        "RCPT TO:<a@b.org> NOTIFY=SUCCESS,,DELAY",
        ParseOptions::strict()
    )
    .is_err());
}

/// Checked arithmetic and range checks everywhere: SIZE's `1*20DIGIT`
/// (RFC 1870 §3) can exceed `u64`, BDAT's `chunk-size` (RFC 3030 §2) is
/// unbounded, MT-PRIORITY (RFC 6710 §7), BY (RFC 2852 §4) and HOLDFOR
/// (RFC 4865 §3) have ranges.
#[test]
fn item_15_number_overflow() {
    assert!(mail(
        "MAIL FROM:<a@b.org> SIZE=99999999999999999999",
        ParseOptions::strict()
    )
    .is_err());
    assert!(mail(
        "MAIL FROM:<a@b.org> SIZE=18446744073709551615",
        ParseOptions::strict()
    )
    .is_ok());
    assert!(strict("BDAT 99999999999999999999").is_err());
    for bad in ["+5", "-0", "05", "10", "-10"] {
        let line = format!("MAIL FROM:<a@b.org> MT-PRIORITY={bad}");
        assert!(mail(&line, ParseOptions::strict()).is_err(), "{bad}");
    }
    assert!(mail(
        "MAIL FROM:<a@b.org> BY=1000000000;N",
        ParseOptions::strict()
    )
    .is_err());
    assert!(mail("MAIL FROM:<a@b.org> BY=0;R", ParseOptions::strict()).is_err());
    assert!(mail(
        "MAIL FROM:<a@b.org> HOLDFOR=1000000000",
        ParseOptions::strict()
    )
    .is_err());
}

/// RFC 4865 §3: HOLDUNTIL is an RFC 3339 date-time, not a number.
#[test]
fn item_16_holduntil_is_a_date_time() {
    let (_, p) = mail(
        "MAIL FROM:<a@b.org> HOLDUNTIL=2026-12-01T10:00:00Z",
        ParseOptions::strict(),
    )
    .unwrap();
    assert!(matches!(p.extras().hold, Some(Hold::Until(_))));
    assert!(mail(
        "MAIL FROM:<a@b.org> HOLDUNTIL=1798279200",
        ParseOptions::strict()
    )
    .is_err());
}

/// The pre-standard `AUTH=` EHLO line (Outlook Express 4 era) is merged
/// with the RFC 4954 §3 `AUTH` line.
#[test]
fn item_19_old_auth_equals_line() {
    let raw = b"250-mx.example\r\n250-AUTH=LOGIN PLAIN\r\n250 AUTH CRAM-MD5 PLAIN\r\n";
    let (reply, _) = Reply::parse(
        raw,
        &ReplyParseOptions::new().with_context(ReplyContext::Hello),
    )
    .unwrap();
    let caps = Capabilities::from_reply(&reply).unwrap();
    let mechs = caps.auth_mechanisms();
    for m in [Mechanism::Login, Mechanism::Plain, Mechanism::CramMd5] {
        assert!(mechs.contains(&m), "{m}");
    }
    let mut out = Vec::new();
    caps.write_to(&mut out).unwrap();
    assert!(!String::from_utf8_lossy(&out).contains("AUTH="));
}

/// RFC 5321 §4.2: lenient reply forms, same code on every line.
#[test]
fn item_21_lenient_replies() {
    let opts = ReplyParseOptions::new();
    assert_eq!(Reply::parse(b"250\r\n", &opts).unwrap().0.code().get(), 250);
    assert!(Reply::parse(b"250- example.com\r\n250 OK\r\n", &opts).is_ok());
    assert!(Reply::parse(b"250-a\r\n251 b\r\n", &opts).is_err());
    assert!(Reply::parse(b"650 nope\r\n", &opts).is_err());
    let long = format!("250 {}\r\n", "x".repeat(600));
    assert!(matches!(
        Reply::parse(long.as_bytes(), &opts),
        Err(DecodeError::LineTooLong { .. })
    ));
}

/// RFC 2034 §4 / RFC 3463 §2: enhanced codes only where meaningful.
#[test]
fn item_22_enhanced_code_detection() {
    let on = ReplyParseOptions::new().with_enhanced(true);
    let (r, _) = Reply::parse(b"250 2.1.0 Ok\r\n", &on).unwrap();
    assert_eq!(r.enhanced().map(|e| e.to_string()), Some("2.1.0".into()));
    let (r, _) = Reply::parse(b"250 1.2.3.4 accepted\r\n", &on).unwrap();
    assert_eq!(r.enhanced(), None);
    let (r, _) = Reply::parse(b"250 2.1.0 Ok\r\n", &ReplyParseOptions::new()).unwrap();
    assert_eq!(r.enhanced(), None);
    let (r, _) = Reply::parse(b"354 2.0.0 go\r\n", &on).unwrap();
    assert_eq!(r.enhanced(), None);
    let (r, _) = Reply::parse(b"550 4.1.1 mismatch\r\n", &on).unwrap();
    assert_eq!(r.enhanced(), None);
}

/// RFC 5321 §2.4: verbs, keywords and values are case-insensitive;
/// local parts and base64 are not.
#[test]
fn item_23_case_insensitivity() {
    let (from, p) = mail(
        "mail from:<Joe@X.org> body=8bitmime smtputf8",
        ParseOptions::strict(),
    )
    .unwrap();
    assert_eq!(from.to_string(), "<Joe@X.org>");
    assert!(p.smtputf8 && p.body.is_some());
    assert!(strict("auth plain AGpvZQBwdw==").is_ok());
    assert_eq!(Mechanism::parse(b"cram-md5").unwrap(), Mechanism::CramMd5);
}

/// The faulty RFC examples are not used as vectors; their intent
/// is checked instead (RFC 3030 §4.2 sizes, RFC 4141 §9 forms).
#[test]
fn item_31_faulty_rfc_examples() {
    // RFC 3030 §4.2 says "BDAT 100000" beside "First 10000 octets": the
    // count is what the command says.
    assert_eq!(
        strict("BDAT 10000"),
        Ok(Command::Bdat {
            size: 10000,
            last: false
        })
    );
    // RFC 4141 §9 `250- example.com` and a bracket-less MAIL: lenient.
    assert!(lenient("MAIL FROM:May@some.example.com CONPERM").is_ok());
    assert!(Reply::parse(
        b"250- example.com\r\n250 CONNEG\r\n",
        &ReplyParseOptions::new()
    )
    .is_ok());
}
