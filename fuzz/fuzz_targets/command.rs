//! Command parsing: arbitrary bytes never panic, and every command that
//! parses is written back in a form that parses to the same value.
#![no_main]

use esmtp::command::Command;
use esmtp::{DecodeError, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mode, input) = match data.split_first() {
        Some((m, rest)) => (*m, rest),
        None => return,
    };
    let opts = match mode % 4 {
        0 => ParseOptions::strict(),
        1 => ParseOptions::lenient(),
        2 => ParseOptions::strict().with_utf8(true),
        _ => ParseOptions::lenient().with_utf8(true).with_max_line(64),
    };
    let mut at = 0;
    while at < input.len() {
        match Command::parse(&input[at..], &opts) {
            Ok((cmd, used)) => {
                assert!(used > 0 && used <= input.len() - at);
                // Whatever the parser accepts, the writer can write.
                let wire = cmd
                    .to_bytes()
                    .unwrap_or_else(|e| panic!("{cmd:?} parsed but cannot be written: {e}"));
                // The writer's form parses back under the options that read
                // the original (lenient-only forms such as free VRFY text
                // stay lenient-only).
                let again_opts = opts.with_max_line(usize::MAX);
                let (again, n) = Command::parse(&wire, &again_opts).unwrap_or_else(|e| {
                    panic!("{cmd:?} wrote {:?}: {e}", String::from_utf8_lossy(&wire))
                });
                assert_eq!(n, wire.len());
                assert_eq!(again, cmd);
                at += used;
            }
            Err(DecodeError::Syntax { consumed, .. }) => {
                assert!(consumed > 0);
                at += consumed;
            }
            Err(DecodeError::LineTooLong { .. }) | Err(DecodeError::Incomplete) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
});
