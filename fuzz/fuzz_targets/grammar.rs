//! The crate's readings of a command line agree on every input: the fused
//! fast path with the general parser (`Command::parse` against
//! `Command::parse_general`), and, for strict MAIL/RCPT lines, the nom
//! grammar with the value parsers (a line the grammar refuses is one the
//! value parsers refuse too, so `OUTSIDE_GRAMMAR` is never the answer).
#![no_main]

use esmtp::command::{Command, OUTSIDE_GRAMMAR};
use esmtp::{DecodeError, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mode, input) = match data.split_first() {
        Some((m, rest)) => (*m, rest),
        None => return,
    };
    let opts = match mode % 6 {
        0 => ParseOptions::strict(),
        1 => ParseOptions::strict().with_utf8(true),
        2 => ParseOptions::lenient(),
        3 => ParseOptions::lenient().with_utf8(true),
        4 => ParseOptions::strict().with_max_line(40),
        _ => ParseOptions::lenient().with_max_line(12),
    };
    let mut at = 0;
    while at < input.len() {
        let rest = &input[at..];
        let fast = Command::parse(rest, &opts);
        let general = Command::parse_general(rest, &opts);
        assert_eq!(fast, general, "{:?}", String::from_utf8_lossy(rest));
        if let Err(DecodeError::Syntax { error, .. }) = &general {
            assert_ne!(
                error.detail(),
                OUTSIDE_GRAMMAR,
                "the grammar refused what the value parsers accept: {:?}",
                String::from_utf8_lossy(rest)
            );
        }
        at += match general {
            Ok((_, used)) | Err(DecodeError::Syntax { consumed: used, .. }) if used > 0 => used,
            _ => break,
        };
    }
});
