//! EHLO capability parsing on arbitrary replies: no panic; the fast walk
//! agrees with the nom grammar (`Capabilities::from_reply` against
//! `Capabilities::from_reply_general`); the one-pass `Capabilities::parse`
//! agrees with `Reply::parse` then `Capabilities::from_reply`; and the
//! written set parses back to the same set.
#![no_main]

use esmtp::ehlo::Capabilities;
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use esmtp::{DecodeError, Strictness};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let strictness = if flags & 1 == 0 {
        Strictness::Lenient
    } else {
        Strictness::Strict
    };
    let mut opts = ReplyParseOptions::new()
        .with_strictness(strictness)
        .with_enhanced(flags & 2 != 0)
        .with_context(if flags & 4 == 0 {
            ReplyContext::Hello
        } else {
            ReplyContext::Command
        });
    if flags & 8 != 0 {
        opts = opts
            .with_max_line(usize::from(flags >> 4) + 4)
            .with_max_lines(usize::from(flags >> 6) + 1);
    }
    let in_two = Reply::parse(data, &opts).and_then(|(reply, used)| {
        Capabilities::from_reply(&reply)
            .map(|caps| (caps.into_owned(), used))
            .map_err(|error| DecodeError::Syntax {
                error,
                consumed: used,
            })
    });
    let one_pass = Capabilities::parse(data, &opts).map(|(caps, used)| (caps.into_owned(), used));
    assert_eq!(one_pass, in_two, "{:?}", String::from_utf8_lossy(data));
    let Ok((reply, _)) = Reply::parse(data, &opts) else {
        return;
    };
    let parsed = Capabilities::from_reply(&reply);
    assert_eq!(
        parsed,
        Capabilities::from_reply_general(&reply),
        "{:?}",
        String::from_utf8_lossy(data)
    );
    let Ok(caps) = parsed else {
        return;
    };
    let _ = (caps.max_size(), caps.auth_mechanisms(), caps.limits());
    if let Ok(written) = caps.to_reply() {
        let wire = written.to_bytes();
        let lenient = ReplyParseOptions::new().with_context(ReplyContext::Hello);
        let (again, n) = Reply::parse(&wire, &lenient).expect("written EHLO reply parses");
        assert_eq!(n, wire.len());
        let back = Capabilities::from_reply(&again).expect("written EHLO reply is valid");
        assert_eq!(back, caps);
    }
});
