//! `MessageOutcome::content_end_sent`: whether the final `.` or
//! `BDAT … LAST` went out, so that a driver knows whether a message whose
//! session ended without its final reply may have been accepted (RFC 5321
//! §4.1.1.4) and must not be sent again.

use crate::client_support;

use client_support::{client_config, envelope, Script};

fn ready(chunking: bool) -> Script {
    let mut config = client_config();
    config.chunking = chunking;
    let mut s = Script::new(config);
    s.client
        .submit(envelope(&["b@example.org"]), &b"Hi\r\n"[..])
        .unwrap();
    s.feed(b"220 mx.example.org\r\n");
    s
}

#[test]
fn data_end_not_sent_before_354_rfc5321_4_1_1_4() {
    let mut s = ready(false);
    let w = s.feed(b"250-mx.example.org\r\n250 PIPELINING\r\n");
    assert!(w.ends_with("DATA\r\n"), "{w}");
    // The connection drops before the 354: the content never went out.
    s.client.peer_closed();
    s.drain();
    let outcome = s.outcomes()[0].clone();
    assert!(outcome.error.is_some());
    assert!(!outcome.content_end_sent);
}

#[test]
fn data_end_sent_after_354_rfc5321_4_1_1_4() {
    let mut s = ready(false);
    s.feed(b"250-mx.example.org\r\n250 PIPELINING\r\n");
    let w = s.feed(b"250 ok\r\n250 ok\r\n354 go\r\n");
    assert!(w.ends_with("Hi\r\n.\r\n"), "{w}");
    s.client.peer_closed();
    s.drain();
    let outcome = s.outcomes()[0].clone();
    assert!(outcome.content_end_sent, "the reply to the dot was owed");
    assert!(outcome.recipients[0].content.is_none());
}

#[test]
fn bdat_last_sent_with_the_first_group_rfc3030_4() {
    let mut s = ready(true);
    let w = s.feed(b"250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
    assert!(w.contains("BDAT 4 LAST\r\nHi\r\n"), "{w}");
    s.client.peer_closed();
    s.drain();
    assert!(s.outcomes()[0].content_end_sent);
}

#[test]
fn delivered_message_has_its_end_sent() {
    let mut s = ready(true);
    s.feed(b"250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
    s.feed(b"250 ok\r\n250 ok\r\n250 queued\r\n");
    let outcome = s.outcomes()[0].clone();
    assert!(outcome.all_delivered());
    assert!(outcome.content_end_sent);
}
