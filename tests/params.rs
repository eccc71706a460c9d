//! Properties of MAIL/RCPT parameter lists: `parse(write(x)) == x` for
//! arbitrary typed values, no panic on arbitrary bytes, and
//! case-insensitive keywords (RFC 5321 §2.4, catalog §9 item 23).

use std::net::IpAddr;

use base64::Engine as _;
use esmtp::ext::auth::AuthParam;
use esmtp::ext::body::Body;
use esmtp::ext::checkpoint::TransId;
use esmtp::ext::deliverby::{By, ByMode, MAX_BY_TIME};
use esmtp::ext::dsn::{AddrType, Notify, Orcpt, Ret};
use esmtp::ext::future_release::{Hold, MAX_HOLD_FOR};
use esmtp::ext::mt_priority::MtPriority;
use esmtp::ext::mtrk::{Mtrk, MAX_TIMEOUT};
use esmtp::ext::no_soliciting::Solicit;
use esmtp::ext::rrvs::{Rrvs, RrvsMode};
use esmtp::params::{MailParams, Param, RcptParams};
use esmtp::values::{AddressLiteral, DateTime, Domain, Host, LocalPart, Mailbox, XText};
use esmtp::ParseOptions;
use proptest::prelude::*;

fn opts() -> impl Strategy<Value = ParseOptions> {
    prop_oneof![
        Just(ParseOptions::strict()),
        Just(ParseOptions::lenient()),
        Just(ParseOptions::strict().with_utf8(true)),
        Just(ParseOptions::lenient().with_utf8(true)),
    ]
}

/// Non-empty text of any characters (xtext escapes what it must).
fn xtext() -> impl Strategy<Value = XText<'static>> {
    ".{1,16}".prop_map(XText::new)
}

fn domain() -> impl Strategy<Value = Host<'static>> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?";
    prop_oneof![
        4 => proptest::string::string_regex(&format!("{label}(\\.{label}){{0,3}}\\.[a-zA-Z]{{2,4}}"))
            .unwrap()
            .prop_map(|s| Host::Domain(Domain::parse(&s).unwrap().into_owned())),
        1 => any::<IpAddr>().prop_map(|ip| Host::Literal(AddressLiteral::from(ip))),
    ]
}

/// ASCII mailboxes: dot-strings and quoted local parts of any printable
/// ASCII (written with minimal quoting).
fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    let local = prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9+=_-]{1,5}){0,2}",
        "[ -~]{0,12}",
    ];
    (local, domain()).prop_map(|(l, h)| Mailbox::new(LocalPart::new(&l).unwrap().into_owned(), h))
}

fn date_time(fraction: bool) -> impl Strategy<Value = DateTime> {
    let frac = if fraction { "(\\.[0-9]{1,9})?" } else { "" };
    (
        (0u16..=9999, 1u8..=12, 1u8..=28),
        (0u8..=23, 0u8..=59, 0u8..=60),
        proptest::string::string_regex(frac).unwrap(),
        prop_oneof![
            Just("Z".to_string()),
            (prop::bool::ANY, 0u8..=23, 0u8..=59)
                .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
        ],
    )
        .prop_map(|((y, mo, d), (h, mi, s), f, off)| {
            let s = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{f}{off}");
            DateTime::parse(s.as_bytes()).unwrap()
        })
}

fn by() -> impl Strategy<Value = By> {
    (-MAX_BY_TIME..=MAX_BY_TIME, prop::bool::ANY, prop::bool::ANY).prop_map(|(t, r, trace)| {
        let mode = if r && t > 0 {
            ByMode::Return
        } else {
            ByMode::Notify
        };
        By::new(t, mode, trace).unwrap()
    })
}

fn hold() -> impl Strategy<Value = Hold> {
    prop_oneof![
        (1..=MAX_HOLD_FOR).prop_map(Hold::For),
        date_time(true).prop_map(Hold::Until),
    ]
}

fn solicit() -> impl Strategy<Value = Solicit<'static>> {
    "[a-zA-Z][a-zA-Z0-9._:-]{0,10}(,[a-zA-Z][a-zA-Z0-9._:-]{0,10}){0,3}"
        .prop_map(|s| Solicit::new(s).unwrap())
}

fn mtrk() -> impl Strategy<Value = Mtrk<'static>> {
    (
        prop::collection::vec(any::<u8>(), 1..40),
        prop::option::of(0..=MAX_TIMEOUT),
    )
        .prop_map(|(b, t)| {
            Mtrk::new(base64::engine::general_purpose::STANDARD.encode(b), t).unwrap()
        })
}

fn transid() -> impl Strategy<Value = TransId<'static>> {
    let atom = "[a-zA-Z0-9!#$%&'*+^_`{|}~-]{1,10}";
    proptest::string::string_regex(&format!(
        "{atom}(\\.{atom}){{0,2}}@{atom}(\\.{atom}){{0,2}}"
    ))
    .unwrap()
    .prop_map(|s| TransId::new(s).unwrap())
}

/// Unknown parameters with distinct keywords; values without `=` so they
/// pass strict parsing too.
fn others() -> impl Strategy<Value = Vec<Param<'static>>> {
    prop::collection::btree_map(0u16..500, prop::option::of("[!-<>-~]{1,10}"), 0..4).prop_map(|m| {
        m.into_iter()
            .map(|(i, v)| Param {
                keyword: format!("X-P{i}").into(),
                value: v.map(Into::into),
            })
            .collect()
    })
}

fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
    let a = (
        prop::option::of(any::<u64>()),
        prop::option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        prop::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        prop::option::of(xtext()),
        prop::option::of(prop_oneof![
            Just(AuthParam::Unknown),
            mailbox().prop_map(AuthParam::Mailbox)
        ]),
        prop::option::of(by()),
        prop::option::of((-9i8..=9).prop_map(|p| MtPriority::new(p).unwrap())),
    );
    let b = (
        prop::option::of(hold()),
        any::<bool>(),
        prop::option::of(solicit()),
        prop::option::of(mtrk()),
        prop::option::of(mailbox()),
        any::<bool>(),
        prop::option::of(transid()),
        prop::option::of(xtext()),
        others(),
    );
    (a, b).prop_map(
        |(
            (size, body, smtputf8, ret, envid, auth, by, mt_priority),
            (hold, requiretls, solicit, mtrk, submitter, conperm, transid, alt_address, other),
        )| MailParams {
            size,
            body,
            smtputf8,
            ret,
            envid,
            auth,
            by,
            mt_priority,
            hold,
            requiretls,
            solicit,
            mtrk,
            submitter,
            conperm,
            transid,
            alt_address,
            other,
        },
    )
}

fn orcpt() -> impl Strategy<Value = Orcpt<'static>> {
    prop_oneof![
        ".{1,20}".prop_map(|a| Orcpt::new(AddrType::Rfc822, a).unwrap()),
        ".{1,20}".prop_map(|a| Orcpt::new(AddrType::Utf8, a).unwrap()),
        ("x-[a-z0-9]{1,6}", ".{1,10}")
            .prop_map(|(t, a)| Orcpt::new(AddrType::Other(t.into()), a).unwrap()),
    ]
}

fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    (
        prop::option::of((any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(success, failure, delay)| Notify {
                success,
                failure,
                delay,
            },
        )),
        prop::option::of(orcpt()),
        prop::option::of(
            (
                date_time(false),
                prop::option::of(prop_oneof![
                    Just(RrvsMode::Continue),
                    Just(RrvsMode::Reject)
                ]),
            )
                .prop_map(|(t, m)| Rrvs::new(t, m).unwrap()),
        ),
        any::<bool>(),
        prop::option::of(xtext()),
        others(),
    )
        .prop_map(
            |(notify, orcpt, rrvs, conneg, alt_address, other)| RcptParams {
                notify,
                orcpt,
                rrvs,
                conneg,
                alt_address,
                other,
            },
        )
}

/// The written list without its leading SP, as the command parser hands
/// it over.
fn wire(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    if !out.is_empty() {
        assert_eq!(out[0], b' ');
        out.remove(0);
    }
    out
}

/// Flips the case of keyword letters (the text before `=`, or a whole
/// flag), chosen by `seed`, leaving values alone.
fn flip_keyword_case(line: &[u8], seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut in_keyword = true;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b' ' => in_keyword = true,
            b'=' if in_keyword => in_keyword = false,
            _ => {}
        }
        let flip = in_keyword && (seed >> (i % 64)) & 1 == 1;
        out.push(if flip {
            if b.is_ascii_uppercase() {
                b.to_ascii_lowercase()
            } else {
                b.to_ascii_uppercase()
            }
        } else {
            b
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mail_params_round_trip(p in mail_params(), o in opts()) {
        let line = wire(|out| p.write_to(out));
        let parsed = MailParams::parse(&line, &o);
        prop_assert_eq!(parsed.as_ref(), Ok(&p), "{}", String::from_utf8_lossy(&line));
        prop_assert_eq!(p.is_empty(), line.is_empty());
    }

    #[test]
    fn rcpt_params_round_trip(p in rcpt_params(), o in opts()) {
        let line = wire(|out| p.write_to(out));
        let parsed = RcptParams::parse(&line, &o);
        prop_assert_eq!(parsed.as_ref(), Ok(&p), "{}", String::from_utf8_lossy(&line));
        prop_assert_eq!(p.is_empty(), line.is_empty());
    }

    #[test]
    fn written_form_is_canonical(p in mail_params()) {
        // Writing what was parsed gives back the same bytes.
        let line = wire(|out| p.write_to(out));
        let again = MailParams::parse(&line, &ParseOptions::strict()).unwrap();
        prop_assert_eq!(wire(|out| again.write_to(out)), line);
    }

    #[test]
    fn mail_keywords_are_case_insensitive(mut p in mail_params(), seed in any::<u64>()) {
        p.other.clear();
        let line = wire(|out| p.write_to(out));
        let flipped = flip_keyword_case(&line, seed);
        prop_assert_eq!(MailParams::parse(&flipped, &ParseOptions::strict()), Ok(p));
    }

    #[test]
    fn rcpt_keywords_are_case_insensitive(mut p in rcpt_params(), seed in any::<u64>()) {
        p.other.clear();
        let line = wire(|out| p.write_to(out));
        let flipped = flip_keyword_case(&line, seed);
        prop_assert_eq!(RcptParams::parse(&flipped, &ParseOptions::strict()), Ok(p));
    }

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200), o in opts()) {
        if let Ok(p) = MailParams::parse(&bytes, &o) {
            let line = wire(|out| p.write_to(out));
            prop_assert_eq!(MailParams::parse(&line, &o), Ok(p));
        }
        if let Ok(p) = RcptParams::parse(&bytes, &o) {
            let line = wire(|out| p.write_to(out));
            prop_assert_eq!(RcptParams::parse(&line, &o), Ok(p));
        }
    }

    #[test]
    fn never_panics_on_parameter_shaped_input(
        parts in prop::collection::vec(
            (
                prop_oneof![
                    Just("SIZE"), Just("BODY"), Just("AUTH"), Just("BY"), Just("RET"),
                    Just("ENVID"), Just("MT-PRIORITY"), Just("HOLDFOR"), Just("HOLDUNTIL"),
                    Just("MTRK"), Just("SUBMITTER"), Just("TRANSID"), Just("SOLICIT"),
                    Just("NOTIFY"), Just("ORCPT"), Just("RRVS"), Just("ALT-ADDRESS"),
                    Just("SMTPUTF8"), Just("X-Y"),
                ],
                prop::option::of("[!-~\u{80}-\u{10ffff}]{0,12}"),
            ),
            0..6,
        ),
        o in opts(),
    ) {
        let line = parts
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        if let Ok(p) = MailParams::parse(line.as_bytes(), &o) {
            let w = wire(|out| p.write_to(out));
            prop_assert_eq!(MailParams::parse(&w, &o), Ok(p));
        }
        if let Ok(p) = RcptParams::parse(line.as_bytes(), &o) {
            let w = wire(|out| p.write_to(out));
            prop_assert_eq!(RcptParams::parse(&w, &o), Ok(p));
        }
    }
}
