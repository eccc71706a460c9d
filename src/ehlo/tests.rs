//! Unit tables for the EHLO capability set.

use super::*;
use crate::octets::pack::upper8;
use crate::reply::{Reply, ReplyParseOptions};
use crate::values::{is_rfc3339_date_time, ReplyCode};

fn caps_of(wire: &[u8]) -> Capabilities<'static> {
    let (reply, n) = Reply::parse(wire, &ReplyParseOptions::new()).unwrap();
    assert_eq!(n, wire.len());
    Capabilities::from_reply(&reply).unwrap().into_owned()
}

#[test]
fn typical_reply_rfc5321_4_1_1_1() {
    let c = caps_of(
        b"250-mx.example.com Hello client [192.0.2.1]\r\n\
          250-SIZE 35882577\r\n\
          250-8BITMIME\r\n\
          250-AUTH PLAIN LOGIN XOAUTH2\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-PIPELINING\r\n\
          250-CHUNKING\r\n\
          250-SMTPUTF8\r\n\
          250-XCLIENT NAME ADDR\r\n\
          250 STARTTLS\r\n",
    );
    assert_eq!(c.domain(), "mx.example.com");
    assert_eq!(c.greet(), Some("Hello client [192.0.2.1]"));
    assert_eq!(c.max_size(), Some(35882577));
    assert_eq!(
        c.auth_mechanisms(),
        [Mechanism::Plain, Mechanism::Login, Mechanism::XOAuth2]
    );
    for kw in [
        Keyword::EightBitMime,
        Keyword::EnhancedStatusCodes,
        Keyword::Pipelining,
        Keyword::Chunking,
        Keyword::SmtpUtf8,
        Keyword::StartTls,
        Keyword::Auth,
        Keyword::Size,
    ] {
        assert!(c.supports(kw), "{kw:?}");
    }
    assert!(!c.supports(Keyword::Dsn));
    assert_eq!(c.unknown().collect::<Vec<_>>(), ["XCLIENT NAME ADDR"]);
}

#[test]
fn lenient_forms() {
    // Lowercase keywords (RFC 5321 §4.1.1.1), a space after the hyphen
    // (RFC 4141 §9), and an empty last line (Postfix smtp-sink).
    let c = caps_of(b"250- example.com\r\n250-pipelining\r\n250-Size\r\n250 \r\n");
    assert_eq!(c.domain(), "example.com");
    assert_eq!(c.greet(), None);
    assert!(c.supports(Keyword::Pipelining));
    assert!(c.supports(Keyword::Size));
    assert_eq!(c.max_size(), None);
    assert_eq!(c.size_param(), Some(None));
    assert_eq!(c.unknown().count(), 0);
    // Single-line reply: just the domain.
    let c = caps_of(b"250 mx.example\r\n");
    assert_eq!(c.domain(), "mx.example");
    assert_eq!(Keyword::ALL.iter().filter(|&&k| c.supports(k)).count(), 0);
}

/// `AUTH=` lines (a pre-RFC 2554 form old servers still send) and `AUTH`
/// lines are merged.
#[test]
fn auth_union_with_old_form() {
    let c = caps_of(
        b"250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250-AUTH PLAIN LOGIN cram-md5\r\n250 auth=x-custom\r\n",
    );
    assert_eq!(
        c.auth_mechanisms()
            .iter()
            .map(Mechanism::as_str)
            .collect::<Vec<_>>(),
        ["LOGIN", "PLAIN", "CRAM-MD5", "X-CUSTOM"]
    );
    // Never written back in the `AUTH=` form.
    let wire = c.to_reply().unwrap().to_bytes();
    assert_eq!(
        wire,
        b"250-mx\r\n250 AUTH LOGIN PLAIN CRAM-MD5 X-CUSTOM\r\n"
    );
    // A bare AUTH (RFC 4405 §5.5 example) and invalid names are tolerated.
    let c = caps_of(b"250-mx\r\n250 AUTH PLAIN bad=name THIS-NAME-IS-FAR-TOO-LONG-X\r\n");
    assert!(c.supports(Keyword::Auth));
    assert_eq!(c.auth_mechanisms(), [Mechanism::Plain]);
}

/// RFC 1870 §4: SIZE with no number or 0 means no fixed limit.
#[test]
fn size_forms_rfc1870_4() {
    for (wire, max, param) in [
        (&b"250-mx\r\n250 SIZE\r\n"[..], None, Some(None)),
        (b"250-mx\r\n250 SIZE 0\r\n", None, Some(Some(0))),
        (b"250-mx\r\n250 SIZE 1000\r\n", Some(1000), Some(Some(1000))),
        (
            b"250-mx\r\n250 SIZE 18446744073709551615\r\n",
            Some(u64::MAX),
            Some(Some(u64::MAX)),
        ),
        // Overflow and junk: not offered, kept verbatim.
        (b"250-mx\r\n250 SIZE 18446744073709551616\r\n", None, None),
        (b"250-mx\r\n250 SIZE 10MB\r\n", None, None),
    ] {
        let c = caps_of(wire);
        assert_eq!(c.max_size(), max, "{wire:?}");
        assert_eq!(c.size_param(), param, "{wire:?}");
        assert_eq!(
            c.unknown().count(),
            usize::from(param.is_none()),
            "{wire:?}"
        );
    }
}

#[test]
fn parameterised_keywords() {
    let c = caps_of(
        b"250-mx\r\n\
          250-DELIVERBY 240\r\n\
          250-MT-PRIORITY MIXER\r\n\
          250-FUTURERELEASE 604800 2030-01-31T23:59:59Z\r\n\
          250-LIMITS MAILMAX=1000 RCPTMAX=0 RCPTDOMAINMAX=50 FOO=bar BAZ\r\n\
          250-BURL imap://imap.example.com\r\n\
          250-NO-SOLICITING net.example:ADV,org.example:SPAM\r\n\
          250 SMTPUTF8 ignored-param\r\n",
    );
    assert_eq!(c.deliver_by_min(), Some(240));
    assert_eq!(c.mt_priority_profile(), Some("MIXER"));
    let fr = c.future_release().unwrap();
    assert_eq!(fr.max_interval(), 604800);
    assert_eq!(fr.max_date_time(), "2030-01-31T23:59:59Z");
    let l = c.limits().unwrap();
    assert_eq!(l.mail_max(), Some(1000));
    // RFC 9422 §3.7: a bad limit is ignored, unknown ones kept.
    assert_eq!(l.rcpt_max(), None);
    assert_eq!(l.rcpt_domain_max(), Some(50));
    assert_eq!(
        l.unknown().collect::<Vec<_>>(),
        [("FOO", Some("bar")), ("BAZ", None)]
    );
    assert_eq!(
        c.burl_args().collect::<Vec<_>>(),
        ["imap://imap.example.com"]
    );
    assert_eq!(
        c.no_soliciting_keywords(),
        Some("net.example:ADV,org.example:SPAM")
    );
    // RFC 6531 §3.3: parameters of SMTPUTF8 are ignored.
    assert!(c.supports(Keyword::SmtpUtf8));
    assert_eq!(c.unknown().count(), 0);
}

#[test]
fn malformed_known_keywords_are_kept_verbatim() {
    for line in [
        "DELIVERBY -5",
        "DELIVERBY 1234567890",
        "MT-PRIORITY bad/profile",
        "FUTURERELEASE 604800",
        "FUTURERELEASE 0 2030-01-31T23:59:59Z",
        "FUTURERELEASE 604800 2030-02-30T00:00:00Z",
        "FUTURERELEASE 604800 1234567890",
        "LIMITS MAILMAX=1;2",
        "LIMITS BAD.NAME=1",
        "NO-SOLICITING 1bad",
    ] {
        let wire = format!("250-mx\r\n250 {line}\r\n");
        let c = caps_of(wire.as_bytes());
        let kw = Keyword::parse(line.split(' ').next().unwrap().as_bytes()).unwrap();
        assert!(!c.supports(kw), "{line}");
        assert_eq!(c.unknown().collect::<Vec<_>>(), [line]);
        // And written back unchanged.
        assert_eq!(c.to_reply().unwrap().to_bytes(), wire.as_bytes());
    }
}

#[test]
fn unknown_and_private_keywords_round_trip() {
    let wire =
        b"250-mx.example\r\n250-PIPELINING\r\n250-XFORWARD NAME ADDR PROTO\r\n250 X-NEW-THING\r\n";
    let c = caps_of(wire);
    assert_eq!(
        c.unknown().collect::<Vec<_>>(),
        ["XFORWARD NAME ADDR PROTO", "X-NEW-THING"]
    );
    assert_eq!(c.to_reply().unwrap().to_bytes(), wire);
}

#[test]
fn build_and_write_server_side() {
    let mut c = Capabilities::new("mx.example")
        .unwrap()
        .with_greet("ESMTP ready")
        .unwrap();
    c.set_size(Some(10_000_000));
    c.add_auth_mechanism(Mechanism::Plain);
    c.add_auth_mechanism(Mechanism::Plain);
    c.insert(Keyword::Pipelining).unwrap();
    c.insert(Keyword::EightBitMime).unwrap();
    c.set_limits(Limits::new().with_rcpt_max(100).unwrap());
    c.set_future_release(FutureRelease::new(86400, "2030-01-01T00:00:00+01:00").unwrap());
    c.add_unknown("XCLIENT NAME").unwrap();
    let wire = c.to_reply().unwrap().to_bytes();
    assert_eq!(
        wire,
        &b"250-mx.example ESMTP ready\r\n250-SIZE 10000000\r\n250-AUTH PLAIN\r\n\
           250-8BITMIME\r\n250-PIPELINING\r\n250-FUTURERELEASE 86400 2030-01-01T00:00:00+01:00\r\n\
           250-LIMITS RCPTMAX=100\r\n250 XCLIENT NAME\r\n"[..]
    );
    assert_eq!(caps_of(&wire), c);
    c.remove(Keyword::Size);
    assert_eq!(c.max_size(), None);
    assert!(!c.supports(Keyword::Size));
}

#[test]
fn builder_validation() {
    assert!(Capabilities::new("").is_err());
    assert!(Capabilities::new("a b").is_err());
    let c = Capabilities::new("mx").unwrap();
    assert!(c.clone().with_greet("hi\r\n250 INJECTED").is_err());
    let mut c = c;
    assert!(c.add_unknown("SIZE 5").is_err());
    assert!(c.add_unknown("X-A b\r\nc").is_err());
    assert!(c.add_unknown("-X").is_err());
    assert!(c.insert(Keyword::FutureRelease).is_err());
    assert!(c.set_deliver_by(Some(1_000_000_000)).is_err());
    assert!(c.set_mt_priority(Some("a b".into())).is_err());
    assert!(c.set_no_soliciting(Some("ok,".into())).is_err());
    assert!(c.set_burl(["imap", ""]).is_err());
    assert!(Limits::new().with_mail_max(0).is_err());
    assert!(Limits::new().with_mail_max(1_000_000).is_err());
    assert!(Limits::new().with_unknown("MAILMAX", None).is_err());
    assert!(Limits::new().with_unknown("X", Some("a;b".into())).is_err());
    assert!(FutureRelease::new(1_000_000_000, "2030-01-01T00:00:00Z").is_err());
}

#[test]
fn not_an_ehlo_reply() {
    let (r, _) = Reply::parse(b"550 no\r\n", &ReplyParseOptions::new()).unwrap();
    assert!(Capabilities::from_reply(&r).is_err());
    let (r, _) = Reply::parse(b"250 \r\n", &ReplyParseOptions::new()).unwrap();
    assert!(Capabilities::from_reply(&r).is_err());
}

/// RFC 3339 §5.6.
#[test]
fn rfc3339_date_time() {
    for ok in [
        "2030-01-31T23:59:59Z",
        "2024-02-29T00:00:00z",
        "2016-12-31t23:59:60Z",
        "2030-01-01T00:00:00.123+05:30",
        "2030-01-01T00:00:00-00:00",
    ] {
        assert!(is_rfc3339_date_time(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "2023-02-29T00:00:00Z",
        "2030-13-01T00:00:00Z",
        "2030-01-01T24:00:00Z",
        "2030-01-01 00:00:00Z",
        "2030-01-01T00:00:00",
        "2030-01-01T00:00:00.Z",
        "2030-01-01T00:00:00+0530",
        "2030-01-01T00:00:00+24:00",
        "1234567890",
        "",
    ] {
        assert!(!is_rfc3339_date_time(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn parse_borrows_from_reply() {
    let wire = b"250-mx.example hi\r\n250 MT-PRIORITY MIXER\r\n";
    let (r, _) = Reply::parse(wire, &ReplyParseOptions::new()).unwrap();
    let c = Capabilities::from_reply(&r).unwrap();
    assert!(matches!(c.first.0, Cow::Borrowed(_)));
    assert!(matches!(
        c.rare.as_ref().unwrap().mt_priority,
        Some(Cow::Borrowed(_))
    ));
}

/// The keyword lookup before the packed-key table: a case-insensitive
/// comparison with every name (RFC 5321 §4.1.1.1).
fn keyword_by_name(name: &[u8]) -> Option<Keyword> {
    Keyword::ALL
        .iter()
        .copied()
        .find(|k| k.name().as_bytes().eq_ignore_ascii_case(name))
}

#[test]
fn keyword_lookup_pins_case_length_and_octets_rfc5321_4_1_1_1() {
    for &kw in Keyword::ALL {
        let name = kw.name();
        assert_eq!(Keyword::parse(name.as_bytes()), Some(kw), "{name}");
        assert_eq!(
            Keyword::parse(name.to_ascii_lowercase().as_bytes()),
            Some(kw)
        );
        // Trailing NUL or more octets, a missing octet, a non-ASCII octet
        // that is a letter with the high bit set: never the keyword.
        let mut longer = name.as_bytes().to_vec();
        longer.push(0);
        assert_eq!(Keyword::parse(&longer), None, "{name}\\0");
        longer.pop();
        longer.push(b'S');
        assert_eq!(Keyword::parse(&longer), keyword_by_name(&longer));
        assert_eq!(
            Keyword::parse(&name.as_bytes()[1..]),
            keyword_by_name(&name.as_bytes()[1..])
        );
        let mut high = name.as_bytes().to_vec();
        high[0] |= 0x80;
        assert_eq!(Keyword::parse(&high), None);
    }
    // Past 16 octets the key holds only the first 16.
    assert_eq!(
        Keyword::parse(b"EnhancedStatusCodes"),
        Some(Keyword::EnhancedStatusCodes)
    );
    assert_eq!(Keyword::parse(b"ENHANCEDSTATUSCO"), None);
    assert_eq!(Keyword::parse(b"ENHANCEDSTATUSCODEZ"), None);
    assert_eq!(Keyword::parse(b"ENHANCEDSTATUSCODESS"), None);
    assert_eq!(Keyword::parse(b""), None);
}

#[test]
fn upper8_changes_exactly_ascii_lower_case() {
    for b in 0..=255u8 {
        for at in 0..8 {
            let word = u64::from(b) << (8 * at) | 0x4100_0000_0000_007a_u64 & !(0xff << (8 * at));
            let want: Vec<u8> = word
                .to_le_bytes()
                .iter()
                .map(u8::to_ascii_uppercase)
                .collect();
            assert_eq!(upper8(word).to_le_bytes().to_vec(), want, "{b:#x} at {at}");
        }
    }
}

/// The lines of `wire` through the parsed reply's raw-line walk, and the
/// same lines through a caller-built reply (which only the grammar reads);
/// the grammar on the parsed reply is checked equal to the walk too.
fn both_paths(lines: &[String]) -> (Capabilities<'static>, Capabilities<'static>) {
    let mut wire = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        wire.extend_from_slice(if i + 1 == lines.len() {
            b"250 "
        } else {
            b"250-"
        });
        wire.extend_from_slice(l.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    let (parsed, _) = Reply::parse(&wire, &ReplyParseOptions::new()).unwrap();
    assert!(parsed.wire_lines().is_some());
    let fast = Capabilities::from_reply(&parsed).unwrap().into_owned();
    let general = Capabilities::from_reply_general(&parsed).unwrap();
    assert_eq!(general, fast);
    let built = Reply::new(ReplyCode::OK, None, lines.iter().map(String::as_str)).unwrap();
    assert!(built.wire_lines().is_none());
    let slow = Capabilities::from_reply(&built).unwrap().into_owned();
    (fast, slow)
}

#[test]
fn raw_line_walk_matches_line_by_line() {
    let lines: Vec<String> = [
        "mx.example Hi",
        "PIPELINING",
        "pipelining extra",
        " SIZE 100",
        "size",
        "",
        "ENHANCEDSTATUSCODES",
        "enhancedstatuscodesx",
        "X-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "AUTH=login",
        "auth plain  LOGIN ",
        "DELIVERBY 30",
        "8BITMIME ",
        "EXPN",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (fast, slow) = both_paths(&lines);
    assert_eq!(fast, slow);
    assert!(fast.supports(Keyword::EnhancedStatusCodes));
    assert_eq!(fast.size_param(), Some(None));
    assert_eq!(fast.auth_mechanisms(), [Mechanism::Login, Mechanism::Plain]);
    assert_eq!(
        fast.unknown().collect::<Vec<_>>(),
        ["enhancedstatuscodesx", "X-ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    );
}

proptest::proptest! {
    #[test]
    fn keyword_lookup_matches_name_comparison(name in proptest::collection::vec(
        proptest::sample::select(b"SIZEauthNMTP-8BRLCXD\0\xc9 ".to_vec()), 0..22)) {
        proptest::prop_assert_eq!(Keyword::parse(&name), keyword_by_name(&name));
    }

    #[test]
    fn keyword_names_in_any_case(i in 0..Keyword::ALL.len(), flips in proptest::num::u32::ANY) {
        let kw = Keyword::ALL[i];
        let name: Vec<u8> = kw.name().bytes().enumerate()
            .map(|(j, b)| if flips >> (j % 32) & 1 == 1 { b.to_ascii_lowercase() } else { b })
            .collect();
        proptest::prop_assert_eq!(Keyword::parse(&name), Some(kw));
    }

    #[test]
    fn raw_line_walk_matches_line_by_line_generated(lines in proptest::collection::vec(
        "( ?(SIZE|size|AUTH|auth=|DSN|ENHANCEDSTATUSCODES|EnhancedStatusCodes|X-[A-Z]{0,20}|LIMITS|BURL|DELIVERBY|MT-PRIORITY)( [A-Za-z0-9=,-]{0,12}){0,3} ?)?",
        1..8)) {
        let mut lines = lines;
        lines.insert(0, "mx.example".to_string());
        let (fast, slow) = both_paths(&lines);
        proptest::prop_assert_eq!(fast, slow);
    }
}

#[test]
fn unknown_keywords_are_found_by_name_rfc5321_2_4() {
    let reply = Reply::new(
        ReplyCode::OK,
        None,
        [
            "mx.example",
            "X-EXPS GSSAPI NTLM",
            "XFORWARD NAME ADDR",
            "X-LINK2STATE",
        ],
    )
    .unwrap();
    let caps = Capabilities::from_reply(&reply).unwrap();
    assert_eq!(caps.unknown_keyword("x-exps"), Some("GSSAPI NTLM"));
    assert_eq!(caps.unknown_keyword("XFORWARD"), Some("NAME ADDR"));
    assert_eq!(caps.unknown_keyword("X-LINK2STATE"), Some(""));
    assert_eq!(caps.unknown_keyword("X-LINK"), None);
    assert_eq!(caps.unknown_keyword("SIZE"), None);
}

/// A parsed set is returned and moved by value: at 128 octets the
/// compiler moves it with a few vector stores instead of a `memcpy` call.
#[test]
fn capabilities_stay_at_128_octets() {
    assert!(std::mem::size_of::<Capabilities<'_>>() <= 128);
}

/// The domain and greeting are kept as one text (RFC 5321 §4.1.1.1,
/// `Domain [ SP ehlo-greet ]`): each reads back on its own, a lone SP after
/// the domain is no greeting, and octets that are not UTF-8 are repaired
/// in each without moving where the domain ends.
#[test]
fn first_line_domain_and_greeting_rfc5321_4_1_1_1() {
    let c = caps_of(b"250 mx.example \r\n");
    assert_eq!((c.domain(), c.greet()), ("mx.example", None));
    let c = caps_of(b"250 mx.example  two  spaces\r\n");
    assert_eq!(
        (c.domain(), c.greet()),
        ("mx.example", Some(" two  spaces"))
    );
    let c = caps_of(b"250-mx\xff.example hi \xc3\r\n250 DSN\r\n");
    assert_eq!(c.domain(), "mx\u{fffd}.example");
    assert_eq!(c.greet(), Some("hi \u{fffd}"));
    assert!(c.supports(Keyword::Dsn));
    let (reply, _) = Reply::parse(
        b"250-mx\xff.example hi \xc3\r\n250 DSN\r\n",
        &ReplyParseOptions::new(),
    )
    .unwrap();
    assert_eq!(Capabilities::from_reply_general(&reply).unwrap(), c);
    // The builder: a greeting replaced, then removed.
    let c = Capabilities::new("mx.example").unwrap();
    let c = c.with_greet("ready").unwrap();
    assert_eq!((c.domain(), c.greet()), ("mx.example", Some("ready")));
    let shown = format!("{c:?}");
    assert!(
        shown.contains(r#"domain: "mx.example", greet: Some("ready")"#),
        "{shown}"
    );
    let c = c.with_greet("").unwrap();
    assert_eq!((c.domain(), c.greet()), ("mx.example", None));
    assert_eq!(c, Capabilities::new("mx.example").unwrap());
}
