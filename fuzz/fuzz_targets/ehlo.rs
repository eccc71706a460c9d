//! EHLO capability parsing on arbitrary replies: no panic, and the written
//! set parses back to the same set.
#![no_main]

use esmtp::ehlo::Capabilities;
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ReplyParseOptions::new().with_context(ReplyContext::Hello);
    let Ok((reply, _)) = Reply::parse(data, &opts) else {
        return;
    };
    let Ok(caps) = Capabilities::from_reply(&reply) else {
        return;
    };
    let _ = (caps.max_size(), caps.auth_mechanisms(), caps.limits());
    if let Ok(written) = caps.to_reply() {
        let wire = written.to_bytes();
        let (again, n) = Reply::parse(&wire, &opts).expect("written EHLO reply parses");
        assert_eq!(n, wire.len());
        let back = Capabilities::from_reply(&again).expect("written EHLO reply is valid");
        assert_eq!(back, caps);
    }
});
