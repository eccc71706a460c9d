//! EHLO capability parsing on arbitrary replies: no panic, the fast walk
//! agrees with the nom grammar (`Capabilities::from_reply` against
//! `Capabilities::from_reply_general`), and the written set parses back to
//! the same set.
#![no_main]

use esmtp::ehlo::Capabilities;
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use esmtp::Strictness;
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
    let opts = ReplyParseOptions::new()
        .with_context(ReplyContext::Hello)
        .with_strictness(strictness);
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
