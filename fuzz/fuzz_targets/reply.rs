//! Reply parsing on arbitrary bytes with arbitrary options: no panic, sane
//! `consumed`, what parses re-writes and re-parses to the same reply, and
//! the hand-tuned fast path agrees with the nom grammar
//! (`Reply::parse` against `Reply::parse_general`: value, length, error).
#![no_main]

use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use esmtp::{DecodeError, Strictness};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    let opts = ReplyParseOptions::new()
        .with_strictness(if flags & 1 == 0 {
            Strictness::Lenient
        } else {
            Strictness::Strict
        })
        .with_enhanced(flags & 2 != 0)
        .with_context(match flags >> 2 & 3 {
            0 => ReplyContext::Command,
            1 => ReplyContext::Greeting,
            _ => ReplyContext::Hello,
        })
        .with_max_lines(usize::from(flags >> 4) + 1);
    let mut rest = input;
    while !rest.is_empty() {
        for o in [opts, opts.with_max_line(24)] {
            assert_eq!(
                Reply::parse(rest, &o),
                Reply::parse_general(rest, &o),
                "{:?}",
                String::from_utf8_lossy(rest)
            );
        }
        match Reply::parse(rest, &opts) {
            Ok((reply, n)) => {
                assert!(n > 0 && n <= rest.len());
                let _ = reply.text();
                // The canonical form re-parses to the same reply. Lenient
                // text may hold controls, and a line may exceed 512 octets;
                // the writer emits a textstring (RFC 5321 §4.2, §4.5.3.1.5),
                // so those come back as SP or cut short (and a control
                // after an enhanced code may then let it be recognised).
                let wire = reply.to_bytes();
                let (again, m) = Reply::parse(
                    &wire,
                    &opts.with_max_line(usize::MAX).with_max_lines(usize::MAX),
                )
                .expect("canonical form re-parses");
                assert_eq!(m, wire.len());
                assert_eq!(again.code(), reply.code());
                assert_eq!(again.lines().count(), reply.lines().count());
                let plain = reply.lines().all(|l| {
                    l.len() <= 480
                        && l.iter()
                            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
                });
                if plain {
                    assert_eq!(again, reply);
                }
                rest = &rest[n..];
            }
            Err(DecodeError::Syntax { consumed, .. }) => {
                assert!(consumed > 0 && consumed <= rest.len());
                rest = &rest[consumed..];
            }
            Err(_) => break,
        }
    }
});
