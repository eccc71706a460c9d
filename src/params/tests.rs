//! Unit tables for the parameter lists: RFC examples and the deviations
//! deployed peers make from them.

use std::borrow::Cow;

use super::*;
use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::ext::deliverby::ByMode;
use crate::ext::dsn::AddrType;
use crate::ext::rrvs::RrvsMode;
use crate::options::ParseOptions;

const STRICT: ParseOptions = ParseOptions::strict();
const LENIENT: ParseOptions = ParseOptions::lenient();

fn mail(s: &str, o: &ParseOptions) -> Result<MailParams<'static>, SyntaxError> {
    MailParams::parse(s.as_bytes(), o).map(MailParams::into_owned)
}

fn rcpt(s: &str, o: &ParseOptions) -> Result<RcptParams<'static>, SyntaxError> {
    RcptParams::parse(s.as_bytes(), o).map(RcptParams::into_owned)
}

fn mail_kind(s: &str, o: &ParseOptions) -> SyntaxErrorKind {
    mail(s, o).expect_err(s).kind()
}

fn rcpt_kind(s: &str, o: &ParseOptions) -> SyntaxErrorKind {
    rcpt(s, o).expect_err(s).kind()
}

fn wmail(p: &MailParams<'_>) -> String {
    let mut v = Vec::new();
    p.write_to(&mut v);
    String::from_utf8(v).unwrap()
}

fn wrcpt(p: &RcptParams<'_>) -> String {
    let mut v = Vec::new();
    p.write_to(&mut v);
    String::from_utf8(v).unwrap()
}

#[test]
fn empty_list_writes_nothing() {
    for o in [STRICT, LENIENT] {
        let m = MailParams::parse(b"", &o).unwrap();
        assert!(m.is_empty());
        assert_eq!(wmail(&m), "");
        assert!(RcptParams::parse(b"", &o).unwrap().is_empty());
    }
}

#[test]
fn rfc_examples_mail() {
    // RFC 1870 §7; RFC 6152 §4; RFC 3461 §6.2; RFC 4954 §7 (AUTH=);
    // RFC 2852 §4; RFC 6710 §6; RFC 4865 §3; RFC 8689 §4.1; RFC 1845 §5.
    let m = mail(
        "SIZE=500000 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=e+3Dmc2@example.com \
         BY=120;R MT-PRIORITY=3 HOLDFOR=3600 REQUIRETLS TRANSID=<12345@host.example.com>",
        &STRICT,
    )
    .unwrap();
    assert_eq!(m.size, Some(500_000));
    assert_eq!(m.body, Some(Body::EightBitMime));
    assert_eq!(m.ret, Some(Ret::Hdrs));
    assert_eq!(m.envid.as_ref().unwrap().as_str(), "QQ314159");
    let Some(AuthParam::Mailbox(a)) = &m.extras().auth else {
        panic!("AUTH mailbox expected")
    };
    assert_eq!(a.local.as_str(), "e=mc2");
    let by = m.by.unwrap();
    assert_eq!(
        (by.time(), by.mode(), by.trace()),
        (120, ByMode::Return, false)
    );
    assert_eq!(m.mt_priority.unwrap().get(), 3);
    assert_eq!(m.extras().hold, Some(Hold::For(3600)));
    assert!(m.requiretls);
    assert_eq!(
        m.extras().transid.as_ref().unwrap().spec(),
        "12345@host.example.com"
    );
    assert!(m.extras().other.is_empty());
    assert_eq!(
        wmail(&m),
        " SIZE=500000 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=e+3Dmc2@example.com \
         BY=120;R MT-PRIORITY=3 HOLDFOR=3600 REQUIRETLS TRANSID=<12345@host.example.com>"
    );
    // RFC 4141 §9.1 (its MAIL lacks the brackets RFC 5321 §4.1.2 requires; only the
    // parameter is taken from it).
    assert!(mail("CONPERM", &STRICT).unwrap().conperm);
    // RFC 6531 §3.4 and RFC 4405 §8.
    let m = mail("SMTPUTF8 SUBMITTER=secretary@example.com", &STRICT).unwrap();
    assert!(m.smtputf8);
    assert_eq!(
        m.extras().submitter.as_ref().unwrap().to_string(),
        "secretary@example.com"
    );
}

#[test]
fn rfc_examples_rcpt() {
    // RFC 3461 §6.2.
    let r = rcpt(
        "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.COM",
        &STRICT,
    )
    .unwrap();
    assert_eq!(
        r.notify,
        Some(Notify {
            success: true,
            failure: true,
            delay: false
        })
    );
    let o = r.orcpt.as_ref().unwrap();
    assert_eq!(
        (o.addr_type(), o.address()),
        (&AddrType::Rfc822, "Bob@Example.COM")
    );
    assert_eq!(
        wrcpt(&r),
        " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.COM"
    );
    // RFC 7293 §4; RFC 4141 §5.
    let r = rcpt("RRVS=2014-04-03T23:01:00Z;C CONNEG", &STRICT).unwrap();
    assert_eq!(r.extras().rrvs.unwrap().mode(), Some(RrvsMode::Continue));
    assert!(r.conneg);
    assert_eq!(wrcpt(&r), " RRVS=2014-04-03T23:01:00Z;C CONNEG");
}

#[test]
fn keywords_are_case_insensitive_rfc5321_2_4() {
    let m = mail(
        "size=10 Body=8bitmime smtputf8 mt-priority=-2 Alt-Address=a@b",
        &STRICT,
    )
    .unwrap();
    assert_eq!(m.size, Some(10));
    assert_eq!(m.body, Some(Body::EightBitMime));
    assert!(m.smtputf8);
    assert_eq!(m.mt_priority.unwrap().get(), -2);
    assert_eq!(m.extras().alt_address.as_ref().unwrap().as_str(), "a@b");
    assert_eq!(
        wmail(&m),
        " SIZE=10 BODY=8BITMIME SMTPUTF8 MT-PRIORITY=-2 ALT-ADDRESS=a@b"
    );
    let r = rcpt("notify=never orcpt=RFC822;x@y", &STRICT).unwrap();
    assert_eq!(r.notify, Some(Notify::NEVER));
}

#[test]
fn spaces_strict_and_lenient() {
    for s in [
        "SIZE=1  BODY=7BIT",
        " SIZE=1",
        "SIZE=1 ",
        "SIZE=1\tBODY=7BIT",
        " ",
    ] {
        assert!(mail(s, &STRICT).is_err(), "{s:?}");
    }
    assert_eq!(
        mail("SIZE=1  BODY=7BIT", &STRICT).unwrap_err().kind(),
        SyntaxErrorKind::Arguments
    );
    for s in [
        "SIZE=1  BODY=7BIT",
        " SIZE=1 BODY=7BIT",
        "SIZE=1 BODY=7BIT \t",
        "SIZE=1\tBODY=7BIT",
    ] {
        let m = mail(s, &LENIENT).unwrap();
        assert_eq!((m.size, m.body), (Some(1), Some(Body::SevenBit)), "{s:?}");
    }
    assert!(mail("   ", &LENIENT).unwrap().is_empty());
}

#[test]
fn split_at_first_equals_rfc5321_4_1_2() {
    // MTRK's base64 certifier may end in '=' padding.
    let m = mail("MTRK=2aAb+/c9Q2hZrH0E5XvuBb8YLqY=:3600", &STRICT).unwrap();
    assert_eq!(
        m.extras().mtrk.as_ref().unwrap().certifier(),
        "2aAb+/c9Q2hZrH0E5XvuBb8YLqY="
    );
    assert_eq!(wmail(&m), " MTRK=2aAb+/c9Q2hZrH0E5XvuBb8YLqY=:3600");
    // Elsewhere '=' breaks esmtp-value; unknown parameters keep it only
    // when lenient.
    assert_eq!(mail_kind("ENVID=a=b", &LENIENT), SyntaxErrorKind::Arguments);
    assert_eq!(mail_kind("X-FOO=a=b", &STRICT), SyntaxErrorKind::Arguments);
    let m = mail("X-FOO=a=b", &LENIENT).unwrap();
    assert_eq!(m.extras().other[0].value.as_deref(), Some("a=b"));
    assert_eq!(wmail(&m), " X-FOO=a=b");
}

#[test]
fn keyword_grammar_rfc5321_4_1_2() {
    for s in ["=5", "-X=1", "X_Y=1", "A.B", "SIZE==5"] {
        let k = mail_kind(s, &STRICT);
        assert!(matches!(k, SyntaxErrorKind::Arguments), "{s}: {k:?}");
    }
    assert_eq!(mail_kind("SIZE=", &STRICT), SyntaxErrorKind::Arguments);
    assert_eq!(mail_kind("AUTH=", &STRICT), SyntaxErrorKind::Arguments);
    assert_eq!(mail_kind("X\u{1}=1", &LENIENT), SyntaxErrorKind::Character);
    let m = mail("X-A1-=v 9X", &STRICT).unwrap();
    assert_eq!(m.extras().other.len(), 2);
    assert_eq!(
        m.extras().other[1],
        Param {
            keyword: "9X".into(),
            value: None
        }
    );
}

#[test]
fn unknown_parameters_are_kept_verbatim_and_borrowed() {
    let input = b"SIZE=5 x-Custom=Value NOTIFY=NEVER";
    let m = MailParams::parse(input, &STRICT).unwrap();
    // NOTIFY is a RCPT parameter: on MAIL it is unknown (555).
    assert_eq!(m.extras().other.len(), 2);
    assert!(matches!(
        m.extras().other[0].keyword,
        Cow::Borrowed("x-Custom")
    ));
    assert!(matches!(
        m.extras().other[0].value,
        Some(Cow::Borrowed("Value"))
    ));
    assert_eq!(wmail(&m), " SIZE=5 x-Custom=Value NOTIFY=NEVER");
    let r = RcptParams::parse(b"SIZE=5", &STRICT).unwrap();
    assert_eq!(r.extras().other[0].keyword, "SIZE");
    // A value without escapes is borrowed too.
    let m = MailParams::parse(b"ENVID=abc", &STRICT).unwrap();
    assert_eq!(m.envid, Some(XText::new("abc")));
}

#[test]
fn duplicates_are_errors() {
    for s in [
        "SIZE=1 SIZE=2",
        "SIZE=1 size=1",
        "BODY=7BIT BODY=8BITMIME",
        "SMTPUTF8 SMTPUTF8",
        "RET=FULL RET=HDRS",
        "ENVID=a ENVID=a",
        "X-A=1 x-a=2",
        "X-A X-A",
        // RFC 4865 §4 item 9: one hold-param only.
        "HOLDFOR=5 HOLDUNTIL=2030-01-01T00:00:00Z",
        "HOLDUNTIL=2030-01-01T00:00:00Z HOLDFOR=5",
    ] {
        assert_eq!(
            mail_kind(s, &LENIENT),
            SyntaxErrorKind::ParameterValue,
            "{s}"
        );
    }
    for s in ["NOTIFY=NEVER NOTIFY=DELAY", "CONNEG CONNEG", "X=1 x"] {
        assert_eq!(
            rcpt_kind(s, &LENIENT),
            SyntaxErrorKind::ParameterValue,
            "{s}"
        );
    }
}

#[test]
fn flags_and_values() {
    for s in ["SMTPUTF8=YES", "REQUIRETLS=1", "CONPERM=x"] {
        assert_eq!(
            mail_kind(s, &LENIENT),
            SyntaxErrorKind::ParameterValue,
            "{s}"
        );
    }
    assert_eq!(
        rcpt_kind("CONNEG=1", &LENIENT),
        SyntaxErrorKind::ParameterValue
    );
    for s in ["SIZE", "BODY", "AUTH", "BY", "HOLDUNTIL", "MTRK", "TRANSID"] {
        assert_eq!(
            mail_kind(s, &LENIENT),
            SyntaxErrorKind::ParameterValue,
            "{s}"
        );
    }
    assert_eq!(
        rcpt_kind("ORCPT", &LENIENT),
        SyntaxErrorKind::ParameterValue
    );
}

#[test]
fn value_errors_and_their_replies() {
    use SyntaxErrorKind::*;
    let cases: &[(&str, SyntaxErrorKind)] = &[
        ("BODY=9BIT", UnsupportedParameterValue),
        ("RET=PARTIAL", UnsupportedParameterValue),
        // Numbers are checked, never wrapped.
        ("SIZE=99999999999999999999", ParameterValue),
        ("SIZE=-1", ParameterValue),
        ("MT-PRIORITY=+5", ParameterValue),
        ("MT-PRIORITY=-0", ParameterValue),
        ("MT-PRIORITY=05", ParameterValue),
        // RFC 2852 §4: R with a time ≤ 0 is 501.
        ("BY=0;R", ParameterValue),
        ("BY=-5;R", ParameterValue),
        ("BY=1000000000;N", ParameterValue),
        ("HOLDFOR=0", ParameterValue),
        ("HOLDFOR=1000000000", ParameterValue),
        // RFC 4865 §3.
        ("HOLDUNTIL=1700000000", ParameterValue),
        ("AUTH=nobody", ParameterValue),
        ("AUTH=a+2", ParameterValue),
        ("SUBMITTER=<>", ParameterValue),
        ("TRANSID=12345@host", ParameterValue),
        ("SOLICIT=1a", ParameterValue),
        ("MTRK=Q===", ParameterValue),
    ];
    for (s, kind) in cases {
        assert_eq!(mail_kind(s, &LENIENT), *kind, "{s}");
    }
    // RFC 5321 §4.1.1.11: an unimplemented parameter (value) is 555.
    assert_eq!(mail("BODY=9BIT", &STRICT).unwrap_err().reply().0.get(), 555);
    assert_eq!(mail("RET=x=", &STRICT).unwrap_err().reply().0.get(), 501);
    let rcases: &[(&str, SyntaxErrorKind)] = &[
        ("NOTIFY=NEVER,SUCCESS", ParameterValue),
        ("NOTIFY=SOMETIMES", UnsupportedParameterValue),
        ("ORCPT=rfc822", ParameterValue),
        ("RRVS=2014-04-03T23:01:00.5Z", ParameterValue),
        ("RRVS=2014-04-03T23:01:00Z;X", ParameterValue),
    ];
    for (s, kind) in rcases {
        assert_eq!(rcpt_kind(s, &LENIENT), *kind, "{s}");
    }
}

#[test]
fn auth_null_and_empty_rfc4954_5() {
    assert_eq!(
        mail("AUTH=<>", &STRICT).unwrap().extras().auth,
        Some(AuthParam::Unknown)
    );
    assert_eq!(wmail(&mail("AUTH=+3C+3E", &STRICT).unwrap()), " AUTH=<>");
    assert!(mail("AUTH=", &LENIENT).is_err());
}

#[test]
fn xtext_hex_case_rfc3461_4() {
    assert!(mail("ENVID=a+2b", &STRICT).is_err());
    let m = mail("ENVID=a+2b", &LENIENT).unwrap();
    assert_eq!(m.envid.as_ref().unwrap().as_str(), "a+");
    assert_eq!(wmail(&m), " ENVID=a+2B");
}

#[test]
fn utf8_values_need_smtputf8_rfc6531_3_3() {
    let s = "X-NAME=caf\u{e9}";
    assert_eq!(mail_kind(s, &STRICT), SyntaxErrorKind::Character);
    let utf8 = STRICT.with_utf8(true);
    let m = mail(s, &utf8).unwrap();
    assert_eq!(m.extras().other[0].value.as_deref(), Some("caf\u{e9}"));
    assert_eq!(
        MailParams::parse(b"X-N=\xff", &utf8).unwrap_err().kind(),
        SyntaxErrorKind::Character
    );
    assert_eq!(
        MailParams::parse(b"X-N=a\x7f", &utf8).unwrap_err().kind(),
        SyntaxErrorKind::Character
    );
    // RFC 6533 §3: utf-8-addr-unitext in ORCPT only with SMTPUTF8.
    let r = "ORCPT=utf-8;d\u{e9}@x.org";
    assert!(rcpt(r, &STRICT).is_err());
    let p = rcpt(r, &utf8).unwrap();
    assert_eq!(p.orcpt.as_ref().unwrap().address(), "d\u{e9}@x.org");
    assert_eq!(wrcpt(&p), " ORCPT=utf-8;d\\x{E9}@x.org");
    assert_eq!(rcpt(&wrcpt(&p)[1..], &STRICT).unwrap(), p);
}

#[test]
fn writer_never_emits_invalid_params() {
    let mut m = MailParams::default();
    let x = m.extras_mut();
    x.other = vec![
        Param {
            keyword: "X-OK".into(),
            value: Some("1".into()),
        },
        Param {
            keyword: "X-BAD".into(),
            value: Some("a\r\nRSET".into()),
        },
        Param {
            keyword: "BAD KEY".into(),
            value: None,
        },
        Param {
            keyword: "X-EMPTY".into(),
            value: Some("".into()),
        },
    ];
    x.hold = Some(Hold::For(0));
    m.envid = Some(XText::new(""));
    assert_eq!(wmail(&m), " HOLDFOR=1 X-OK=1");
}
