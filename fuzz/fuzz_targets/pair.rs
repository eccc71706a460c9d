//! This crate's client against its server in memory
//! (`esmtp::testing::pair`), with fuzz-chosen options, policy and
//! messages: no panic, no loop, every submitted message reported exactly
//! once, and a message the server accepted for every recipient stored
//! with DATA exactly as RFC 5321 §2.3.8 and §4.5.2 say the client must
//! send it (line ends as CRLF, a final CRLF added, dots unstuffed back).
#![no_main]

use std::time::Duration;

use esmtp::client::{ClientConfig, Envelope, TlsPolicy};
use esmtp::server::{Event, ServerConfig};
use esmtp::testing::pair::{Decision, Pair};
use esmtp::values::{Domain, Mailbox};
use libfuzzer_sys::fuzz_target;

fn mb(s: &str) -> Mailbox<'static> {
    Mailbox::parse(s).unwrap().into_owned()
}

/// What the server must store for `content` sent with DATA: every CR, LF
/// and CRLF as CRLF, and a CRLF at the end of non-empty content that
/// lacks one.
fn model(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 2);
    let mut i = 0;
    while let Some(&b) = content.get(i) {
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if content.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((&deny, rest)) = rest.split_first() else {
        return;
    };
    let lmtp = flags & 1 != 0;
    let mut client = ClientConfig::new(Domain::parse("client.example").unwrap().into_owned());
    client.tls = TlsPolicy::None;
    client.pipelining = flags & 2 != 0;
    let chunking = flags & 4 != 0;
    client.chunking = chunking;
    client.chunk_size = 1 + usize::from(flags >> 4) * 7;
    let mut server = ServerConfig::new("mx.example.org").expect("a valid hostname");
    server.extensions.pipelining = flags & 8 != 0;
    if lmtp {
        client = client.lmtp();
        server = server.lmtp();
    }
    // Each 0xff separates one message's content from the next; at most
    // four messages, each to two recipients.
    let contents: Vec<&[u8]> = rest.split(|&b| b == 0xff).take(4).collect();
    let mut rcpt = 0u32;
    let mut p = Pair::new(client, server).with_policy(move |e| match e {
        Event::Rcpt { .. } => {
            rcpt += 1;
            if deny >> (rcpt % 8) & 1 != 0 {
                Decision::Deny
            } else {
                Decision::Accept
            }
        }
        _ => Decision::Accept,
    });
    let mut submitted = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let envelope = Envelope::new(mb("a@client.example"))
            .to(mb(&format!("r{i}@mx.example.org")))
            .to(mb(&format!("s{i}@mx.example.org")));
        if p.client.submit(envelope, content.to_vec()).is_ok() {
            submitted.push(*content);
        }
    }
    p.client.quit();
    p.run();
    // A stalled session ends at the client's timeouts (RFC 5321 §4.5.3.2).
    for _ in 0..4 {
        if p.client.is_closed() {
            break;
        }
        p.advance(Duration::from_secs(600));
    }
    assert!(p.client.is_closed(), "session never ended: {p:?}");
    let outcomes = p.outcomes();
    assert_eq!(outcomes.len(), submitted.len(), "{p:?}");
    // Outcomes come in submission order; a message sent with DATA and
    // accepted for every recipient was stored as the model says (BDAT
    // chunks go as the caller gave them).
    if !lmtp && !chunking {
        for (outcome, content) in outcomes.iter().zip(&submitted) {
            if outcome.all_delivered() {
                let want = model(content);
                assert!(p.stored.contains(&want), "{want:?} not stored: {p:?}");
            }
        }
    }
});
