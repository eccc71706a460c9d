//! proptest strategies shared by the grammar property tests.
#![allow(dead_code)]

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

pub fn opts() -> impl Strategy<Value = ParseOptions> {
    prop_oneof![
        Just(ParseOptions::strict()),
        Just(ParseOptions::lenient()),
        Just(ParseOptions::strict().with_utf8(true)),
        Just(ParseOptions::lenient().with_utf8(true)),
    ]
}

/// Non-empty text of any characters (xtext escapes what it must).
pub fn xtext() -> impl Strategy<Value = XText<'static>> {
    ".{1,16}".prop_map(XText::new)
}

pub fn domain() -> impl Strategy<Value = Host<'static>> {
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
pub fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    let local = prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9+=_-]{1,5}){0,2}",
        "[ -~]{0,12}",
    ];
    (local, domain()).prop_map(|(l, h)| Mailbox::new(LocalPart::new(&l).unwrap().into_owned(), h))
}

pub fn date_time(fraction: bool) -> impl Strategy<Value = DateTime> {
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

pub fn by() -> impl Strategy<Value = By> {
    (-MAX_BY_TIME..=MAX_BY_TIME, prop::bool::ANY, prop::bool::ANY).prop_map(|(t, r, trace)| {
        let mode = if r && t > 0 {
            ByMode::Return
        } else {
            ByMode::Notify
        };
        By::new(t, mode, trace).unwrap()
    })
}

pub fn hold() -> impl Strategy<Value = Hold> {
    prop_oneof![
        (1..=MAX_HOLD_FOR).prop_map(Hold::For),
        date_time(true).prop_map(Hold::Until),
    ]
}

pub fn solicit() -> impl Strategy<Value = Solicit<'static>> {
    "[a-zA-Z][a-zA-Z0-9._:-]{0,10}(,[a-zA-Z][a-zA-Z0-9._:-]{0,10}){0,3}"
        .prop_map(|s| Solicit::new(s).unwrap())
}

pub fn mtrk() -> impl Strategy<Value = Mtrk<'static>> {
    (
        prop::collection::vec(any::<u8>(), 1..40),
        prop::option::of(0..=MAX_TIMEOUT),
    )
        .prop_map(|(b, t)| {
            Mtrk::new(base64::engine::general_purpose::STANDARD.encode(b), t).unwrap()
        })
}

pub fn transid() -> impl Strategy<Value = TransId<'static>> {
    let atom = "[a-zA-Z0-9!#$%&'*+^_`{|}~-]{1,10}";
    proptest::string::string_regex(&format!(
        "{atom}(\\.{atom}){{0,2}}@{atom}(\\.{atom}){{0,2}}"
    ))
    .unwrap()
    .prop_map(|s| TransId::new(s).unwrap())
}

/// Unknown parameters with distinct keywords; values without `=` so they
/// pass strict parsing too.
pub fn others() -> impl Strategy<Value = Vec<Param<'static>>> {
    prop::collection::btree_map(0u16..500, prop::option::of("[!-<>-~]{1,10}"), 0..4).prop_map(|m| {
        m.into_iter()
            .map(|(i, v)| Param {
                keyword: format!("X-P{i}").into(),
                value: v.map(Into::into),
            })
            .collect()
    })
}

pub fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
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
        )| {
            let mut p = MailParams::default();
            (p.size, p.body, p.smtputf8, p.ret) = (size, body, smtputf8, ret);
            (p.requiretls, p.conperm) = (requiretls, conperm);
            (p.envid, p.by, p.mt_priority) = (envid, by, mt_priority);
            // Set only when one is present, as the parser does: equality
            // holds either way, but the allocation path is exercised too.
            let any_extra = auth.is_some()
                || hold.is_some()
                || solicit.is_some()
                || mtrk.is_some()
                || submitter.is_some()
                || transid.is_some()
                || alt_address.is_some()
                || !other.is_empty();
            if any_extra {
                let x = p.extras_mut();
                (x.auth, x.hold) = (auth, hold);
                (x.solicit, x.mtrk, x.submitter, x.transid) = (solicit, mtrk, submitter, transid);
                (x.alt_address, x.other) = (alt_address, other);
            }
            p
        },
    )
}

pub fn orcpt() -> impl Strategy<Value = Orcpt<'static>> {
    prop_oneof![
        ".{1,20}".prop_map(|a| Orcpt::new(AddrType::Rfc822, a).unwrap()),
        ".{1,20}".prop_map(|a| Orcpt::new(AddrType::Utf8, a).unwrap()),
        ("x-[a-z0-9]{1,6}", ".{1,10}")
            .prop_map(|(t, a)| Orcpt::new(AddrType::Other(t.into()), a).unwrap()),
    ]
}

pub fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
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
        .prop_map(|(notify, orcpt, rrvs, conneg, alt_address, other)| {
            let mut p = RcptParams::default();
            (p.notify, p.orcpt, p.conneg) = (notify, orcpt, conneg);
            if rrvs.is_some() || alt_address.is_some() || !other.is_empty() {
                let x = p.extras_mut();
                (x.rrvs, x.alt_address, x.other) = (rrvs, alt_address, other);
            }
            p
        })
}
