//! Properties of the reply grammar and the EHLO capability set:
//! `parse(write(x)) == x`, every strict prefix is `Incomplete`, and no
//! input makes the parsers panic.

use std::borrow::Cow;

use esmtp::ehlo::{Capabilities, FutureRelease, Keyword, Limits, Mechanism};
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use esmtp::testing::round_trip::check_prefixes_incomplete;
use esmtp::values::{EnhancedStatusCode, ReplyCode};
use esmtp::DecodeError;
use proptest::prelude::*;

fn reply_code() -> impl Strategy<Value = ReplyCode> {
    (2u16..=5, 0u16..=5, 0u16..=9)
        .prop_map(|(a, b, c)| ReplyCode::new(a * 100 + b * 10 + c).unwrap())
}

/// Text lines: printable ASCII, HT and some UTF-8, never CR/LF.
fn text_line() -> impl Strategy<Value = String> {
    "[ -~\t]{0,40}|[a-zé ü€]{0,10}"
}

fn reply() -> impl Strategy<Value = Reply<'static>> {
    (
        reply_code(),
        any::<bool>(),
        0u16..1000,
        0u16..1000,
        prop::collection::vec(text_line(), 0..6),
    )
        .prop_map(|(code, with_esc, s, d, lines)| {
            let class = (code.get() / 100) as u8;
            let esc =
                (with_esc && class != 3).then(|| EnhancedStatusCode::new(class, s, d).unwrap());
            Reply::new(code, esc, lines).unwrap()
        })
}

fn opts_for(r: &Reply<'_>) -> ReplyParseOptions {
    // Without an advertised enhanced code, text such as "2.0.0 x" is text.
    ReplyParseOptions::new().with_enhanced(r.enhanced().is_some())
}

proptest! {
    #[test]
    fn reply_round_trip(r in reply()) {
        let wire = r.to_bytes();
        let (back, n) = Reply::parse(&wire, &opts_for(&r)).unwrap();
        prop_assert_eq!(n, wire.len());
        prop_assert_eq!(&back, &r);
        // Strict mode accepts what the writer emits, apart from UTF-8
        // octets which are 8-bit but not controls.
        let (strict, _) = Reply::parse(&wire, &ReplyParseOptions::strict().with_enhanced(r.enhanced().is_some())).unwrap();
        prop_assert_eq!(&strict, &r);
        prop_assert_eq!(back.into_owned().to_bytes(), wire);
    }

    #[test]
    fn reply_prefixes_are_incomplete(r in reply(), trailing in prop::collection::vec(any::<u8>(), 0..8)) {
        let wire = r.to_bytes();
        let opts = opts_for(&r);
        check_prefixes_incomplete(&wire, |w| Reply::parse(w, &opts)).map_err(TestCaseError::fail)?;
        // Whatever follows a complete reply is not consumed.
        let mut more = wire.clone();
        more.extend_from_slice(&trailing);
        prop_assert_eq!(Reply::parse(&more, &opts).map(|(_, n)| n), Ok(wire.len()));
    }

    #[test]
    fn reply_caller_text_cannot_inject(prefix in "[a-z]{0,5}", ctl in prop::sample::select(vec!['\r', '\n', '\0', '\x1b', '\x7f']), suffix in "[a-z]{0,5}") {
        let text = format!("{prefix}{ctl}{suffix}");
        prop_assert!(Reply::new(ReplyCode::OK, None, [text]).is_err());
    }

    #[test]
    fn reply_arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..600), esc in any::<bool>(), strict in any::<bool>(), max_line in 0usize..600) {
        let mut opts = ReplyParseOptions::new().with_enhanced(esc).with_max_line(max_line);
        if strict { opts = ReplyParseOptions::strict().with_enhanced(esc).with_max_line(max_line); }
        match Reply::parse(&input, &opts) {
            Ok((r, n)) => {
                prop_assert!(n <= input.len());
                let _ = r.text();
                if let Ok(caps) = Capabilities::from_reply(&r) {
                    let _ = caps.to_reply();
                }
            }
            Err(DecodeError::Syntax { consumed, .. }) => prop_assert!(consumed <= input.len() && consumed > 0),
            Err(_) => {}
        }
    }

    #[test]
    fn reply_arbitrary_lines_never_panic(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8)) {
        let mut input = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            input.extend_from_slice(if i + 1 == lines.len() { b"250 " } else { b"250-" });
            input.extend(l.iter().filter(|&&b| b != b'\n'));
            input.extend_from_slice(b"\r\n");
        }
        let opts = ReplyParseOptions::new().with_context(ReplyContext::Hello);
        if let Ok((r, _)) = Reply::parse(&input, &opts) {
            if let Ok(caps) = Capabilities::from_reply(&r) {
                if let Ok(again) = caps.to_reply() {
                    // What the writer emits re-parses to the same set.
                    let wire = again.to_bytes();
                    let (r2, _) = Reply::parse(&wire, &opts).unwrap();
                    let caps2 = Capabilities::from_reply(&r2).unwrap();
                    prop_assert_eq!(caps2, caps);
                }
            }
        }
    }

    #[test]
    fn capabilities_round_trip(c in capabilities()) {
        let wire = c.to_reply().unwrap().to_bytes();
        let opts = ReplyParseOptions::new().with_context(ReplyContext::Hello);
        let (r, n) = Reply::parse(&wire, &opts).unwrap();
        prop_assert_eq!(n, wire.len());
        let back = Capabilities::from_reply(&r).unwrap();
        prop_assert_eq!(&back, &c);
        check_prefixes_incomplete(&wire, |w| Reply::parse(w, &opts)).map_err(TestCaseError::fail)?;
    }
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just(Mechanism::Plain),
        Just(Mechanism::Login),
        Just(Mechanism::CramMd5),
        Just(Mechanism::XOAuth2),
        Just(Mechanism::ScramSha256),
        "[A-Za-z0-9_-]{1,20}".prop_map(|s| Mechanism::parse(s.as_bytes()).unwrap()),
    ]
}

fn capabilities() -> impl Strategy<Value = Capabilities<'static>> {
    let flags = prop::collection::vec(prop::sample::select(Keyword::ALL.to_vec()), 0..12);
    (
        "[a-z0-9]{1,10}(\\.[a-z]{2,5}){0,2}",
        prop::option::of("[ -~]{1,30}"),
        flags,
        prop::option::of(prop::option::of(any::<u64>())),
        prop::collection::vec(mechanism(), 0..5),
        prop::option::of((
            1u32..=999_999,
            1u32..=999_999,
            prop::option::of("[A-Z]{1,8}"),
        )),
        prop::option::of((1u32..=999_999_999, 1970u32..2100, 1u32..=12, 1u32..=28)),
        prop::collection::vec("X-[A-Z0-9]{1,8}( [!-~]{1,8}){0,3}", 0..3),
        (
            prop::option::of(prop::option::of(0u32..=999_999_999)),
            prop::option::of(prop::option::of("[A-Za-z0-9._-]{1,20}")),
        ),
    )
        .prop_map(
            |(domain, greet, flags, size, mechs, limits, fr, other, (by, prio))| {
                let mut c = Capabilities::new(domain).unwrap();
                if let Some(g) = greet {
                    c = c.with_greet(g).unwrap();
                }
                for k in flags {
                    if k != Keyword::FutureRelease {
                        c.insert(k).unwrap();
                    }
                }
                if let Some(s) = size {
                    c.set_size(s);
                }
                for m in mechs {
                    c.add_auth_mechanism(m);
                }
                if let Some((m, r, unknown)) = limits {
                    let mut l = Limits::new()
                        .with_mail_max(m)
                        .unwrap()
                        .with_rcpt_max(r)
                        .unwrap();
                    if let Some(u) = unknown {
                        l = l
                            .with_unknown(format!("X{u}"), Some(Cow::Owned(u)))
                            .unwrap();
                    }
                    c.set_limits(l);
                }
                if let Some((i, y, mo, d)) = fr {
                    let dt = format!("{y:04}-{mo:02}-{d:02}T12:00:00Z");
                    c.set_future_release(FutureRelease::new(i, dt).unwrap());
                }
                for o in other {
                    c.add_unknown(o).unwrap();
                }
                if let Some(b) = by {
                    c.set_deliver_by(b).unwrap();
                }
                if let Some(p) = prio {
                    c.set_mt_priority(p.map(Cow::Owned)).unwrap();
                }
                c
            },
        )
}
