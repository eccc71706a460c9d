//! Table tests: (input, expected value or error kind), citing the RFC.

use super::*;
use crate::error::{DecodeError, SyntaxErrorKind};
use crate::values::{AddressLiteral, Mailbox};
use crate::ParseOptions;

fn strict(line: &str) -> Result<Command<'_>, SyntaxErrorKind> {
    Command::parse_line(line.as_bytes(), &ParseOptions::strict()).map_err(|e| e.kind())
}

fn lenient(line: &str) -> Result<Command<'_>, SyntaxErrorKind> {
    Command::parse_line(line.as_bytes(), &ParseOptions::lenient()).map_err(|e| e.kind())
}

fn utf8(line: &str) -> Result<Command<'_>, SyntaxErrorKind> {
    Command::parse_line(line.as_bytes(), &ParseOptions::strict().with_utf8(true))
        .map_err(|e| e.kind())
}

fn mailbox(s: &str) -> Mailbox<'_> {
    Mailbox::parse(s).unwrap()
}

fn from(c: Command<'_>) -> ReversePath<'_> {
    match c {
        Command::Mail { from, .. } => from,
        other => panic!("not MAIL: {other:?}"),
    }
}

fn to(c: Command<'_>) -> ForwardPath<'_> {
    match c {
        Command::Rcpt { to, .. } => to,
        other => panic!("not RCPT: {other:?}"),
    }
}

/// Writing the parsed command and parsing it again gives the same value.
fn round_trip(line: &str) {
    let c = lenient(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
    let w = c.to_bytes().unwrap();
    let (again, used) = Command::parse(&w, &ParseOptions::strict().with_utf8(true)).unwrap();
    assert_eq!(used, w.len());
    assert_eq!(again, c, "{line}");
}

#[test]
fn verbs_are_case_insensitive_rfc5321_2_4() {
    for v in ["DATA", "data", "DaTa"] {
        assert_eq!(strict(v), Ok(Command::Data));
    }
    assert_eq!(strict("starttls"), Ok(Command::StartTls));
    assert_eq!(
        from(strict("mail from:<a@b.org>").unwrap()),
        ReversePath::Mailbox(mailbox("a@b.org"))
    );
    assert!(matches!(
        strict("rcpt To:<a@b.org>"),
        Ok(Command::Rcpt { .. })
    ));
    // Octets that fold onto letters with `| 0x20` are not letters.
    assert!(matches!(strict("D@T@"), Err(SyntaxErrorKind::Command)));
}

#[test]
fn hello_rfc5321_4_1_1_1() {
    fn host(d: &str) -> Host<'_> {
        Host::parse(d).unwrap()
    }
    assert_eq!(
        strict("EHLO mail.example.org"),
        Ok(Command::Ehlo(host("mail.example.org")))
    );
    assert_eq!(
        strict("HELO relay.example"),
        Ok(Command::Helo(host("relay.example")))
    );
    assert_eq!(
        strict("LHLO lmtp.example"),
        Ok(Command::Lhlo(host("lmtp.example")))
    );
    // RFC 5321 §4.1.3: an address literal with HELO.
    assert_eq!(
        strict("HELO [192.0.2.1]"),
        Ok(Command::Helo(Host::Literal(AddressLiteral::Ipv4(
            [192, 0, 2, 1].into()
        ))))
    );
    assert!(matches!(
        strict("EHLO [IPv6:2001:db8::1]"),
        Ok(Command::Ehlo(Host::Literal(_)))
    ));
    assert_eq!(strict("EHLO"), Err(SyntaxErrorKind::Arguments));
    // RFC 2821 clients may add text after the domain (§4.1.1.1).
    assert_eq!(
        strict("EHLO a.example some text"),
        Err(SyntaxErrorKind::Arguments)
    );
    assert_eq!(
        lenient("EHLO a.example some text"),
        Ok(Command::Ehlo(host("a.example")))
    );
    assert_eq!(
        strict("EHLO bad_host.example"),
        Err(SyntaxErrorKind::Arguments)
    );
    assert!(lenient("EHLO bad_host.example").is_ok());
    // RFC 6531 §3.7.1: the EHLO argument is ASCII even with SMTPUTF8.
    assert!(utf8("EHLO bücher.example").is_err());
}

#[test]
fn mail_rfc5321_4_1_1_2() {
    assert_eq!(from(strict("MAIL FROM:<>").unwrap()), ReversePath::Null);
    assert_eq!(
        from(strict("MAIL FROM:<Smith@bar.com>").unwrap()),
        ReversePath::Mailbox(mailbox("Smith@bar.com"))
    );
    // RFC 5321 §3.3 allows no space after the colon (lenient mode does, for
    // the RFC 2645 §6 example).
    assert_eq!(
        strict("MAIL FROM: <a@b.org>"),
        Err(SyntaxErrorKind::Arguments)
    );
    assert_eq!(
        from(lenient("MAIL FROM: <a@b.org>").unwrap()),
        ReversePath::Mailbox(mailbox("a@b.org"))
    );
    assert_eq!(
        from(lenient("MAIL FROM : <a@b.org>").unwrap()),
        ReversePath::Mailbox(mailbox("a@b.org"))
    );
    // RFC 5321 §4.1.2 requires the angle brackets (lenient mode does not,
    // for the RFC 4141 §9.1 example).
    assert_eq!(
        strict("MAIL FROM:a@b.org"),
        Err(SyntaxErrorKind::SenderAddress)
    );
    assert_eq!(
        from(lenient("MAIL FROM:May@some.example.com CONPERM").unwrap()),
        ReversePath::Mailbox(mailbox("May@some.example.com"))
    );
    // RFC 5321 §4.1.2, App. C: source routes accepted and dropped.
    assert_eq!(
        from(strict("MAIL FROM:<@a.org,@b.org:user@c.org>").unwrap()),
        ReversePath::Mailbox(mailbox("user@c.org"))
    );
    // A quoted local part may hold '>' and SP.
    assert_eq!(
        from(strict("MAIL FROM:<\"a> b\"@c.org>").unwrap()).to_string(),
        "<\"a> b\"@c.org>"
    );
    assert_eq!(
        strict("MAIL FROM:<a@b.org"),
        Err(SyntaxErrorKind::Arguments)
    );
    assert_eq!(strict("MAIL TO:<a@b.org>"), Err(SyntaxErrorKind::Arguments));
    assert_eq!(strict("MAIL"), Err(SyntaxErrorKind::Arguments));
    assert_eq!(
        strict("MAIL FROM:<a@b.org>  SIZE=1"),
        Err(SyntaxErrorKind::Arguments)
    );
    assert_eq!(
        strict("MAIL FROM:<a@@b.org>"),
        Err(SyntaxErrorKind::SenderAddress)
    );
}

#[test]
fn rcpt_rfc5321_4_1_1_3() {
    assert_eq!(
        to(strict("RCPT TO:<Jones@XYZ.COM>").unwrap()),
        ForwardPath::Mailbox(mailbox("Jones@XYZ.COM"))
    );
    // RFC 5321 §4.1.1.3, §4.5.1: <Postmaster> without a domain, any case.
    assert_eq!(
        to(strict("RCPT TO:<postMaster>").unwrap()),
        ForwardPath::Postmaster
    );
    // RFC 5321 §4.1.1.3: <> is not a forward path.
    assert_eq!(strict("RCPT TO:<>"), Err(SyntaxErrorKind::RecipientAddress));
    assert_eq!(
        strict("RCPT TO:<a>"),
        Err(SyntaxErrorKind::RecipientAddress)
    );
    assert_eq!(
        to(lenient("RCPT TO: b@c.org").unwrap()),
        ForwardPath::Mailbox(mailbox("b@c.org"))
    );
    assert_eq!(
        strict("RCPT FROM:<a@b.org>"),
        Err(SyntaxErrorKind::Arguments)
    );
}

#[test]
fn utf8_addresses_need_smtputf8_rfc6531_3_3() {
    assert_eq!(
        strict("MAIL FROM:<用户@例子.广告>"),
        Err(SyntaxErrorKind::Character)
    );
    let c = utf8("MAIL FROM:<用户@例子.广告>").unwrap();
    assert!(!from(c).is_ascii());
    assert_eq!(strict("NOOP é"), Err(SyntaxErrorKind::Character));
    assert!(Command::parse_line(b"NOOP \xff", &ParseOptions::strict().with_utf8(true)).is_err());
}

#[test]
fn limits_rfc5321_4_5_3_1() {
    let local = "a".repeat(65);
    let line = format!("MAIL FROM:<{local}@b.org>");
    assert_eq!(strict(&line), Err(SyntaxErrorKind::SenderAddress));
    assert!(lenient(&line).is_ok());
    let opts = ParseOptions::strict().with_max_line(512);
    let long = format!("NOOP {}\r\n", "x".repeat(505));
    assert_eq!(long.len(), 512);
    assert!(Command::parse(long.as_bytes(), &opts).is_ok());
    let longer = format!("NOOP {}\r\n", "x".repeat(506));
    assert_eq!(
        Command::parse(longer.as_bytes(), &opts),
        Err(DecodeError::LineTooLong { limit: 512 })
    );
}

#[test]
fn data_rset_quit_take_no_arguments_rfc5321_4_3_2() {
    for v in ["DATA x", "RSET x", "QUIT now", "STARTTLS x", "TURN x"] {
        assert_eq!(strict(v), Err(SyntaxErrorKind::Arguments), "{v}");
    }
    // §4.1.1: trailing white space is tolerated.
    assert_eq!(strict("QUIT  \t"), Ok(Command::Quit));
}

#[test]
fn bdat_rfc3030_2() {
    assert_eq!(
        strict("BDAT 1000"),
        Ok(Command::Bdat {
            size: 1000,
            last: false
        })
    );
    assert_eq!(
        strict("BDAT 0 LAST"),
        Ok(Command::Bdat {
            size: 0,
            last: true
        })
    );
    assert_eq!(
        strict("bdat 5 last"),
        Ok(Command::Bdat {
            size: 5,
            last: true
        })
    );
    // Numbers are checked, never wrapped.
    assert_eq!(
        strict("BDAT 18446744073709551615"),
        Ok(Command::Bdat {
            size: u64::MAX,
            last: false
        })
    );
    assert_eq!(
        strict("BDAT 18446744073709551616"),
        Err(SyntaxErrorKind::Arguments)
    );
    assert_eq!(strict("BDAT -1"), Err(SyntaxErrorKind::Arguments));
    assert_eq!(strict("BDAT 10 FIRST"), Err(SyntaxErrorKind::Arguments));
    assert_eq!(strict("BDAT"), Err(SyntaxErrorKind::Arguments));
}

#[test]
fn vrfy_expn_help_noop_rfc5321_4_1_1_6_to_9() {
    assert_eq!(
        strict("VRFY Smith"),
        Ok(Command::Vrfy {
            target: "Smith".into(),
            utf8: Utf8Reply::No
        })
    );
    assert_eq!(
        strict("EXPN Example-People"),
        Ok(Command::Expn {
            target: "Example-People".into(),
            utf8: Utf8Reply::No
        })
    );
    assert_eq!(
        utf8("VRFY 用户 SMTPUTF8"),
        Ok(Command::Vrfy {
            target: "用户".into(),
            utf8: Utf8Reply::SmtpUtf8
        })
    );
    assert_eq!(
        strict("VRFY joe utf8reply"),
        Ok(Command::Vrfy {
            target: "joe".into(),
            utf8: Utf8Reply::Utf8Reply
        })
    );
    assert_eq!(
        strict("VRFY \"John Smith\""),
        Ok(Command::Vrfy {
            target: "\"John Smith\"".into(),
            utf8: Utf8Reply::No
        })
    );
    assert_eq!(strict("VRFY John Smith"), Err(SyntaxErrorKind::Arguments));
    assert!(lenient("VRFY John Smith").is_ok());
    assert_eq!(strict("VRFY"), Err(SyntaxErrorKind::Arguments));
    assert_eq!(strict("HELP"), Ok(Command::Help(None)));
    assert_eq!(strict("HELP MAIL"), Ok(Command::Help(Some("MAIL".into()))));
    assert_eq!(strict("NOOP"), Ok(Command::Noop(None)));
    assert_eq!(
        strict("NOOP hello there"),
        Ok(Command::Noop(Some("hello there".into())))
    );
}

#[test]
fn auth_rfc4954_4() {
    assert_eq!(
        strict("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ="),
        Ok(Command::Auth {
            mechanism: Mechanism::parse(b"PLAIN").unwrap(),
            initial: Some(SaslResponse::Data("dGVzdAB0ZXN0ADEyMzQ=".into()))
        })
    );
    assert_eq!(
        strict("auth login"),
        Ok(Command::Auth {
            mechanism: Mechanism::parse(b"LOGIN").unwrap(),
            initial: None
        })
    );
    assert_eq!(
        strict("AUTH EXTERNAL ="),
        Ok(Command::Auth {
            mechanism: Mechanism::parse(b"EXTERNAL").unwrap(),
            initial: Some(SaslResponse::Empty)
        })
    );
    assert_eq!(strict("AUTH PLAIN dGVzd!=="), Err(SyntaxErrorKind::Base64));
    assert_eq!(strict("AUTH PLAIN =AAA"), Err(SyntaxErrorKind::Base64));
    assert_eq!(strict("AUTH"), Err(SyntaxErrorKind::Arguments));
    assert!(strict("AUTH THIS-MECHANISM-NAME-IS-TOO-LONG").is_err());
}

#[test]
fn etrn_rfc1985_5() {
    fn d(s: &str) -> Domain<'_> {
        Domain::parse(s).unwrap()
    }
    assert_eq!(
        strict("ETRN example.com"),
        Ok(Command::Etrn(Etrn::Domain(d("example.com"))))
    );
    assert_eq!(
        strict("ETRN @example.com"),
        Ok(Command::Etrn(Etrn::Subdomains(d("example.com"))))
    );
    assert_eq!(
        strict("ETRN #queue1"),
        Ok(Command::Etrn(Etrn::Queue("queue1".into())))
    );
    assert_eq!(strict("ETRN"), Err(SyntaxErrorKind::Arguments));
    assert_eq!(strict("ETRN #"), Err(SyntaxErrorKind::Arguments));
}

#[test]
fn atrn_rfc2645_5_2_2() {
    assert_eq!(strict("ATRN"), Ok(Command::Atrn(vec![])));
    assert_eq!(
        strict("ATRN foo.example.com,bar.example.net"),
        Ok(Command::Atrn(vec![
            Domain::parse("foo.example.com").unwrap(),
            Domain::parse("bar.example.net").unwrap()
        ]))
    );
    // RFC 2645 §5.2.2: at least one dot.
    assert_eq!(strict("ATRN localhost"), Err(SyntaxErrorKind::Arguments));
}

#[test]
fn send_soml_saml_turn_rfc821_3_4() {
    assert!(matches!(
        strict("SEND FROM:<a@b.org>"),
        Ok(Command::Send {
            mode: SendMode::Send,
            ..
        })
    ));
    assert!(matches!(
        strict("soml FROM:<a@b.org>"),
        Ok(Command::Send {
            mode: SendMode::Soml,
            ..
        })
    ));
    assert!(matches!(
        strict("SAML FROM:<>"),
        Ok(Command::Send {
            mode: SendMode::Saml,
            ..
        })
    ));
    assert_eq!(strict("TURN"), Ok(Command::Turn));
}

#[test]
fn burl_rfc4468_3() {
    assert_eq!(
        strict("BURL imap://harry@gryffindor.example.com/outbox;UIDVALIDITY=1078863300/;uid=25;urlauth=submit+harry:internal:91354a473744909de610943775f92038 LAST"),
        Ok(Command::Burl {
            url: "imap://harry@gryffindor.example.com/outbox;UIDVALIDITY=1078863300/;uid=25;urlauth=submit+harry:internal:91354a473744909de610943775f92038".into(),
            last: true
        })
    );
    assert_eq!(strict("BURL nourl"), Err(SyntaxErrorKind::Arguments));
}

#[test]
fn private_and_unknown_verbs_are_kept_rfc5321_4_1_5() {
    assert_eq!(
        strict("X-CLIENT ADDR=192.0.2.1 NAME=spike.example"),
        Ok(Command::Other {
            verb: "X-CLIENT".into(),
            args: Some("ADDR=192.0.2.1 NAME=spike.example".into())
        })
    );
    // Postfix's XCLIENT and XFORWARD are typed (ext/xclient.rs,
    // ext/xforward.rs).
    assert!(matches!(
        strict("XCLIENT ADDR=192.0.2.1 NAME=spike.example"),
        Ok(Command::Xclient(_))
    ));
    assert!(matches!(
        strict("xforward IDENT=1"),
        Ok(Command::Xforward(_))
    ));
    assert_eq!(
        strict("X-FOO"),
        Ok(Command::Other {
            verb: "X-FOO".into(),
            args: None
        })
    );
    assert_eq!(strict("VERB"), Ok(Command::Verb));
    assert_eq!(strict("ONEX"), Ok(Command::Onex));
    assert_eq!(strict(""), Err(SyntaxErrorKind::Command));
    assert_eq!(strict(" DATA"), Err(SyntaxErrorKind::Command));
    assert_eq!(strict("<html>"), Err(SyntaxErrorKind::Command));
}

#[test]
fn controls_and_line_ends() {
    assert_eq!(strict("DATA\rRSET"), Err(SyntaxErrorKind::Character));
    assert_eq!(strict("NOOP a\0b"), Err(SyntaxErrorKind::Character));
    let s = ParseOptions::strict();
    assert!(matches!(
        Command::parse(b"RSET\nQUIT\r\n", &s),
        Err(DecodeError::Syntax { consumed: 5, .. })
    ));
    assert_eq!(
        Command::parse(b"RSET\nQUIT\r\n", &ParseOptions::lenient()),
        Ok((Command::Rset, 5))
    );
}

#[test]
fn prefixes_are_incomplete() {
    let line = b"MAIL FROM:<a@b.org> SIZE=10\r\n";
    crate::testing::round_trip::check_prefixes_incomplete(line, |w| {
        Command::parse(w, &ParseOptions::strict())
    })
    .unwrap();
    assert_eq!(
        Command::parse(line, &ParseOptions::strict()).unwrap().1,
        line.len()
    );
}

#[test]
fn pipelined_lines_parse_one_at_a_time_rfc2920() {
    let input = b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n";
    let mut at = 0;
    let mut verbs = Vec::new();
    while at < input.len() {
        let (c, used) = Command::parse(&input[at..], &ParseOptions::strict()).unwrap();
        verbs.push(c.verb());
        at += used;
    }
    assert_eq!(verbs, [Verb::Mail, Verb::Rcpt, Verb::Data]);
}

#[test]
fn writer_round_trips() {
    for line in [
        "EHLO mail.example.org",
        "HELO [192.0.2.1]",
        "LHLO [IPv6:::1]",
        "MAIL FROM:<>",
        "MAIL FROM:<\"a b\"@c.org>",
        "mail from: <a@b.org>",
        "RCPT TO:<Postmaster>",
        "DATA",
        "BDAT 42 LAST",
        "RSET",
        "VRFY Smith SMTPUTF8",
        "EXPN lists",
        "HELP",
        "NOOP x y",
        "QUIT",
        "STARTTLS",
        "AUTH PLAIN AGZvbwBiYXI=",
        "AUTH EXTERNAL =",
        "ETRN #q",
        "ETRN @example.org",
        "ATRN a.example,b.example",
        "TURN",
        "SAML FROM:<a@b.org>",
        "BURL imap://x.example/y LAST",
        "VERB",
        "ONEX",
        "XCLIENT NAME=x",
    ] {
        round_trip(line);
    }
}

#[test]
fn verbs_that_end_a_pipelined_group_rfc2920_3_1() {
    for (line, may) in [
        ("RSET", true),
        ("MAIL FROM:<>", true),
        ("RCPT TO:<a@b.org>", true),
        ("BDAT 1", true),
        ("EHLO x.org", false),
        ("DATA", false),
        ("VRFY x", false),
        ("EXPN x", false),
        ("TURN", false),
        ("QUIT", false),
        ("NOOP", false),
        ("STARTTLS", false),
        ("AUTH LOGIN", false),
        ("ETRN x.org", false),
        ("ATRN", false),
    ] {
        assert_eq!(strict(line).unwrap().verb().may_pipeline(), may, "{line}");
    }
}

#[test]
fn etrn_node_matches_its_queues_rfc1985_5_3() {
    let domain = |s| Domain::parse(s).unwrap();
    let exact = Etrn::Domain(domain("Example.org"));
    assert!(exact.matches("example.org"));
    assert!(!exact.matches("mx.example.org"));
    let under = Etrn::Subdomains(domain("example.org"));
    assert!(under.matches("EXAMPLE.org"));
    assert!(under.matches("mx.example.org"));
    assert!(!under.matches("badexample.org"));
    assert!(!under.matches("org"));
    assert!(!under.matches("é.example.or"));
    let queue = Etrn::Queue("held.example".into());
    assert!(queue.matches("Held.Example"));
    assert!(!queue.matches("x.held.example"));
    assert_eq!(
        [exact.to_string(), under.to_string(), queue.to_string()],
        ["Example.org", "@example.org", "#held.example"]
    );
}
