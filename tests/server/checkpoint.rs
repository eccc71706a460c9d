//! CHECKPOINT (RFC 1845) on both machines: `TRANSID=` offered, refused,
//! stripped; the `355` restart; a connection lost in the middle of the
//! content and the message resumed, byte for byte, on a new one.

use crate::app_pair;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use app_pair::{accept_all, client_config, envelope, serve, server_config, Link};
use bytes::Bytes;
use esmtp::client::{Envelope, MessageError, ParamPolicy};
use esmtp::command::Command;
use esmtp::ehlo::Keyword;
use esmtp::ext::checkpoint::{resume_offset, TransId};
use esmtp::params::MailParams;
use esmtp::server::{ApiError, Event, Server, ServerConfig};
use esmtp::testing::canonical_line_ends as canonical;
use esmtp::ParseOptions;
use proptest::prelude::*;

fn transid() -> TransId<'static> {
    TransId::new("12345@claremont.edu".to_owned()).unwrap()
}

fn checkpoint_server() -> ServerConfig {
    let mut s = server_config();
    s.extensions.checkpoint = true;
    s
}

/// A message of many lines, some starting with a dot (stuffed for DATA),
/// some ending in a bare LF (CRLF on the wire).
fn long_message() -> Bytes {
    let mut m = b"Subject: checkpoint\r\n\r\n".to_vec();
    for i in 0..120 {
        let end: &[u8] = if i % 3 == 0 { b"\n" } else { b"\r\n" };
        if i % 5 == 0 {
            m.extend_from_slice(b".");
        }
        m.extend_from_slice(format!("line {i:03} of the message body").as_bytes());
        m.extend_from_slice(end);
    }
    Bytes::from(m)
}

/// What a checkpointing server keeps across connections (RFC 1845 §3:
/// "in non-volatile storage"): the content of each interrupted
/// transaction by TRANSID, and the messages delivered.
#[derive(Default)]
struct Store {
    partial: HashMap<String, (Vec<u8>, u32)>,
    delivered: Vec<Vec<u8>>,
    /// Restart at the octets stored, not only at a line start (content
    /// that came with BDAT).
    exact: bool,
}

/// One connection's application over the store.
struct Checkpointing {
    store: Rc<RefCell<Store>>,
    transid: Option<String>,
    content: Vec<u8>,
    recipients: u32,
}

impl Checkpointing {
    fn new(store: &Rc<RefCell<Store>>) -> Self {
        Checkpointing {
            store: Rc::clone(store),
            transid: None,
            content: Vec::new(),
            recipients: 0,
        }
    }

    fn on(&mut self, server: &mut Server, event: Event) {
        match event {
            Event::Mail { params, .. } => {
                self.transid = params
                    .extras()
                    .transid
                    .as_ref()
                    .map(|t| t.spec().to_owned());
                self.content.clear();
                self.recipients = 0;
                let mut store = self.store.borrow_mut();
                let exact = store.exact;
                let stored = self.transid.as_ref().and_then(|t| store.partial.remove(t));
                match stored {
                    Some((mut content, recipients)) => {
                        let offset = if exact {
                            // Any octet but the LF of a CRLF: the
                            // bare-LF check starts afresh at the offset.
                            let cr = content.last() == Some(&b'\r');
                            (content.len() - usize::from(cr)) as u64
                        } else {
                            resume_offset(&content)
                        };
                        content.truncate(offset as usize);
                        self.content = content;
                        self.recipients = recipients;
                        let decision = server.decision().unwrap();
                        decision.restart(offset, recipients).unwrap();
                    }
                    None => server.accept().unwrap(),
                }
            }
            Event::Rcpt { .. } => {
                self.recipients += 1;
                server.accept().unwrap();
            }
            Event::Content(c) => self.content.extend_from_slice(&c),
            Event::MessageEnd { size, .. } => {
                assert_eq!(size, self.content.len() as u64, "RFC 1870 §5 size");
                let content = std::mem::take(&mut self.content);
                self.store.borrow_mut().delivered.push(content);
                server.accept().unwrap();
            }
            Event::MessageAborted { .. } => {
                // Kept for a restart (RFC 1845 §3).
                if let Some(t) = self.transid.clone() {
                    let content = std::mem::take(&mut self.content);
                    let entry = (content, self.recipients);
                    self.store.borrow_mut().partial.insert(t, entry);
                }
            }
            e if e.needs_decision() => server.accept().unwrap(),
            _ => {}
        }
    }
}

/// Sends `content` on a connection lost after `cut` octets from the
/// client, then again on a new connection: what the client wrote the
/// second time, and the outcome.
fn lose_and_resume(
    client: esmtp::client::ClientConfig,
    store: &Rc<RefCell<Store>>,
    content: &Bytes,
    cut: usize,
) -> Link {
    let envelope = envelope(&["mrose@dbc.mtview.ca.us"]).with_transid(transid());
    let mut first = Link::new(client.clone(), checkpoint_server());
    first.budget = Some(cut);
    first
        .client
        .submit(envelope.clone(), content.clone())
        .unwrap();
    let mut app = Checkpointing::new(store);
    first.run(&mut |s, e| app.on(s, e));
    assert!(first.server.is_closed(), "the connection was lost");
    let lost = first.outcomes();
    assert_eq!(lost.len(), 1);
    assert!(matches!(
        lost[0].error,
        Some(MessageError::SessionEnded(None))
    ));
    assert!(store.borrow().delivered.is_empty());
    assert_eq!(
        store.borrow().partial.len(),
        1,
        "content kept under the TRANSID"
    );

    let mut second = Link::new(client, checkpoint_server());
    second.client.submit(envelope, content.clone()).unwrap();
    second.client.quit();
    let mut app = Checkpointing::new(store);
    second.run(&mut |s, e| app.on(s, e));
    second
}

/// RFC 1845 §3, §5: the connection breaks in the middle of DATA; on a new
/// connection the same MAIL gets `355 <offset>`, the client sends DATA
/// without RCPT and only the content from the offset on, and the message
/// stored is the original, byte for byte.
#[test]
fn resume_after_a_lost_connection_is_byte_exact_with_data_rfc1845_3() {
    let content = long_message();
    let mut client = client_config();
    client.chunking = false;
    let store = Rc::new(RefCell::new(Store::default()));
    // Past the envelope, in the middle of a line of the content.
    let second = lose_and_resume(client, &store, &content, 1500);

    let outcome = second.outcomes()[0];
    assert!(outcome.all_delivered(), "{outcome:?}");
    let offset = outcome.resumed_at().expect("restarted");
    assert!(offset > 0 && offset < canonical(&content).len() as u64);
    assert!(outcome.recipients[0].restored && outcome.recipients[0].rcpt.is_none());
    let wire = second.c2s_text();
    assert!(
        wire.contains(" TRANSID=<12345@claremont.edu>\r\nDATA\r\n"),
        "{wire}"
    );
    assert!(!wire.contains("RCPT"), "{wire}");
    assert!(second
        .s2c_text()
        .contains(&format!("\r\n355 {offset} is the transaction offset\r\n")));
    // Only the rest went out the second time.
    assert!(second.c2s.len() < content.len());
    let store = store.borrow();
    assert_eq!(store.delivered, vec![canonical(&content)]);
    assert!(store.partial.is_empty());
}

/// The same with BDAT (RFC 1845 §3: any offset, not only a line start),
/// restarted at exactly the octets the server had.
#[test]
fn resume_after_a_lost_connection_is_byte_exact_with_bdat_rfc1845_3() {
    let content = long_message();
    let mut client = client_config();
    client.chunk_size = 700;
    let store = Rc::new(RefCell::new(Store {
        exact: true,
        ..Store::default()
    }));
    let second = lose_and_resume(client, &store, &content, 2000);
    let outcome = second.outcomes()[0];
    assert!(outcome.all_delivered(), "{outcome:?}");
    let offset = outcome.resumed_at().unwrap();
    assert!(!canonical(&content)[..offset as usize].ends_with(b"\r\n"));
    assert!(second.c2s_text().contains("BDAT "));
    assert_eq!(store.borrow().delivered, vec![canonical(&content)]);
}

/// RFC 1845 §3: the offset counts the canonical content; one that falls
/// between the CR and the LF of a CRLF the client made of a bare LF is
/// resumed with that LF. (A server whose bare-LF check starts afresh at the
/// offset would refuse that LF alone: this one lets bare line ends pass.)
#[test]
fn resume_inside_a_crlf_made_of_a_bare_lf_rfc1845_3() {
    let mut stored = b"abc\r".to_vec();
    let mut server = checkpoint_server();
    server.bare_line_endings = esmtp::data::BarePolicy::Allow;
    let mut link = Link::new(client_config(), server);
    let env = envelope(&["b@example.org"]).with_transid(transid());
    link.client.submit(env, &b"abc\ndef"[..]).unwrap();
    link.client.quit();
    link.run(&mut |s, e| match e {
        Event::Mail { .. } => s.decision().unwrap().restart(4, 1).unwrap(),
        Event::Content(c) => stored.extend_from_slice(&c),
        e => accept_all(s, e),
    });
    assert!(
        link.outcomes()[0].all_delivered(),
        "{}{}",
        link.c2s_text(),
        link.s2c_text()
    );
    assert!(
        link.c2s_text().contains("BDAT 1\r\n\n"),
        "{}",
        link.c2s_text()
    );
    assert_eq!(stored, b"abc\r\ndef");
}

/// RFC 1845 §3: with DATA "the offset must also correspond to the
/// beginning of a line". A server that gives another, or one past the end
/// of the content, gets no content: the message fails, and the transaction
/// is reset before the next one.
#[test]
fn an_offset_data_cannot_resume_at_fails_the_message_rfc1845_3() {
    for offset in [3, 99] {
        let mut client = client_config();
        client.chunking = false;
        let mut link = Link::new(client, checkpoint_server());
        let env = envelope(&["b@example.org"]).with_transid(transid());
        link.client.submit(env, &b"abcdef\r\n"[..]).unwrap();
        link.client
            .submit(envelope(&["c@example.org"]), &b"next\r\n"[..])
            .unwrap();
        link.client.quit();
        link.run(&mut |s, e| match e {
            Event::Mail { params, .. } if params.extras().transid.is_some() => {
                s.decision().unwrap().restart(offset, 1).unwrap()
            }
            e => accept_all(s, e),
        });
        let o = link.outcomes();
        assert_eq!(o[0].error, Some(MessageError::CannotResume { offset }));
        assert!(!o[0].all_delivered() && o[1].all_delivered());
        let wire = link.c2s_text();
        assert!(
            wire.contains("TRANSID=<12345@claremont.edu>\r\nRSET\r\nMAIL FROM:<a@example.org>"),
            "{wire}"
        );
        assert_eq!(wire.matches("DATA").count(), 1, "{wire}");
    }
}

/// A server that holds nothing under the TRANSID accepts the MAIL: the
/// message goes as usual. Without pipelining past the MAIL: its reply
/// says whether the recipients are restored (RFC 1845 §5).
#[test]
fn offered_and_nothing_stored_sends_everything_rfc1845_3() {
    let store = Rc::new(RefCell::new(Store::default()));
    let mut link = Link::new(client_config(), checkpoint_server());
    let env = envelope(&["b@example.org"]).with_transid(transid());
    link.client.submit(env, &b"Hi\r\n"[..]).unwrap();
    link.client.quit();
    let mut app = Checkpointing::new(&store);
    link.run(&mut |s, e| app.on(s, e));
    let o = link.outcomes()[0];
    assert!(o.all_delivered() && o.resumed_at().is_none());
    assert!(
        link.s2c_text().contains("250 CHECKPOINT\r\n"),
        "{}",
        link.s2c_text()
    );
    let wire = link.c2s_text();
    assert!(
        wire.contains(" TRANSID=<12345@claremont.edu>\r\n"),
        "{wire}"
    );
    assert_eq!(store.borrow().delivered, vec![b"Hi\r\n".to_vec()]);

    // With PIPELINING, the MAIL still goes out alone.
    let mut client = esmtp::client::Client::new(client_config());
    let env = envelope(&["b@example.org"]).with_transid(transid());
    client.submit(env, &b"Hi\r\n"[..]).unwrap();
    let written = |c: &mut esmtp::client::Client| {
        let mut out = Vec::new();
        while let Some(b) = c.poll_transmit() {
            out.extend_from_slice(&b);
        }
        String::from_utf8(out).unwrap()
    };
    client.receive(b"220 mx\r\n");
    assert_eq!(written(&mut client), "EHLO client.example\r\n");
    client.receive(b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 CHECKPOINT\r\n");
    assert_eq!(
        written(&mut client),
        "MAIL FROM:<a@example.org> TRANSID=<12345@claremont.edu>\r\n"
    );
    client.receive(b"250 ok\r\n");
    assert_eq!(
        written(&mut client),
        "RCPT TO:<b@example.org>\r\nBDAT 4 LAST\r\nHi\r\n"
    );
}

/// Not offered: `TRANSID=` fails the message before anything is sent
/// ([`ParamPolicy::Fail`]), or goes without it ([`ParamPolicy::Strip`])
/// (RFC 5321 §4.1.1.11).
#[test]
fn not_offered_fails_or_strips_transid_rfc1845_3() {
    let env = || envelope(&["b@example.org"]).with_transid(transid());
    let mut link = Link::new(client_config(), server_config());
    link.client.submit(env(), &b"Hi\r\n"[..]).unwrap();
    link.client.quit();
    link.run(&mut accept_all);
    assert_eq!(
        link.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Checkpoint))
    );
    assert!(!link.c2s_text().contains("MAIL"));

    let mut strip = client_config();
    strip.unsupported_params = ParamPolicy::Strip;
    let mut link = Link::new(strip, server_config());
    link.client.submit(env(), &b"Hi\r\n"[..]).unwrap();
    link.client.quit();
    link.run(&mut accept_all);
    assert!(link.outcomes()[0].all_delivered());
    assert!(!link.c2s_text().contains("TRANSID"));
}

/// RFC 1845 §3 grammar on the server: a malformed value is `501 5.5.4`;
/// a well-formed one when CHECKPOINT is not offered is `555 5.5.4` (RFC
/// 5321 §4.1.1.11), as it is in LMTP, which never offers it.
#[test]
fn server_refuses_bad_or_unoffered_transid_rfc1845_3() {
    let out = serve(
        checkpoint_server(),
        b"EHLO c\r\nMAIL FROM:<a@x.org> TRANSID=12345@host\r\n\
          MAIL FROM:<a@x.org> TRANSID=<a..b@x>\r\nMAIL FROM:<a@x.org> TRANSID=<a@x> TRANSID=<b@x>\r\n",
        &mut accept_all,
    );
    assert_eq!(out.matches("\r\n501 5.5.4 ").count(), 3, "{out}");
    let out = serve(
        server_config(),
        b"EHLO c\r\nMAIL FROM:<a@x.org> TRANSID=<1@x>\r\n",
        &mut accept_all,
    );
    assert!(!out.contains("CHECKPOINT"));
    assert!(
        out.ends_with("555 5.5.4 Parameter not recognized\r\n"),
        "{out}"
    );
    let mut lmtp = checkpoint_server().lmtp();
    lmtp.extensions.checkpoint = true;
    let out = serve(
        lmtp,
        b"LHLO c\r\nMAIL FROM:<a@x.org> TRANSID=<1@x>\r\n",
        &mut accept_all,
    );
    assert!(!out.contains("CHECKPOINT"));
    assert!(
        out.ends_with("555 5.5.4 Parameter not recognized\r\n"),
        "{out}"
    );
}

/// RFC 1845 §3: the server answers the restart `355 <offset> ...`; the
/// content continues the stored octets, [`Event::MessageEnd`] counts them,
/// and so does the SIZE limit (RFC 1870 §6.3).
#[test]
fn server_restart_reply_and_size_rfc1845_3() {
    let input = b"EHLO c\r\nMAIL FROM:<ned@ymir.claremont.edu> TRANSID=<12345@claremont.edu>\r\n\
                  DATA\r\nrest\r\n.\r\n";
    let mut sizes = Vec::new();
    let out = serve(checkpoint_server(), input, &mut |s, e| match e {
        Event::Mail { .. } => s.decision().unwrap().restart(6135, 1).unwrap(),
        Event::MessageEnd { size, recipients } => {
            sizes.push((size, recipients));
            s.accept().unwrap();
        }
        e => accept_all(s, e),
    });
    assert!(
        out.contains("\r\n355 6135 is the transaction offset\r\n354 "),
        "{out}"
    );
    assert_eq!(sizes, vec![(6141, 1)]);

    let mut small = checkpoint_server();
    small.limits.message_size = Some(100);
    let out = serve(small, input, &mut |s, e| match e {
        Event::Mail { .. } => s.decision().unwrap().restart(97, 1).unwrap(),
        e => accept_all(s, e),
    });
    assert!(out.ends_with("552 5.3.4 Message size exceeds fixed maximum message size\r\n"));
}

/// A restart answers only a MAIL that carries `TRANSID=`, with a
/// recipient (RFC 1845 §3); otherwise the decision stays pending.
#[test]
fn restart_is_only_for_a_mail_with_transid() {
    let mut errors = Vec::new();
    let out = serve(
        checkpoint_server(),
        b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRSET\r\nMAIL FROM:<a@x.org> TRANSID=<1@x>\r\n",
        &mut |s, e| match e {
            Event::Mail { params, .. } => {
                let zero = s.decision().unwrap().restart(10, 0);
                errors.push(zero.unwrap_err());
                if params.extras().transid.is_none() {
                    errors.push(s.decision().unwrap().restart(10, 1).unwrap_err());
                }
                s.accept().unwrap();
            }
            Event::Hello { .. } => {
                errors.push(s.decision().unwrap().restart(1, 1).unwrap_err());
                s.accept().unwrap();
            }
            e => accept_all(s, e),
        },
    );
    assert_eq!(errors, vec![ApiError::CannotRestart; 4]);
    assert!(!out.contains("355"));
}

fn transid_spec() -> impl Strategy<Value = String> {
    // transid-atom: CHAR but SPACE, CTLs, tspecials and "." (RFC 1845 §3).
    let atom = "[!#$%&'*+0-9A-Z^_`a-z{|}~-]{1,8}";
    let token = proptest::collection::vec(atom, 1..4).prop_map(|a| a.join("."));
    (token.clone(), token).prop_map(|(l, d)| format!("{l}@{d}"))
}

proptest! {
    /// `parse(write(x)) == x` for the MAIL parameter and the command that
    /// carries it (RFC 1845 §3).
    #[test]
    fn transid_round_trips_rfc1845_3(spec in transid_spec()) {
        let t = TransId::new(spec.clone()).unwrap();
        prop_assert_eq!(t.spec(), spec.as_str());
        let mut params = MailParams::default();
        params.extras_mut().transid = Some(t);
        let mut wire = Vec::new();
        params.write_to(&mut wire);
        let expected = format!(" TRANSID=<{spec}>");
        prop_assert_eq!(&wire, expected.as_bytes());
        let again = MailParams::parse(&wire[1..], &ParseOptions::strict()).unwrap();
        prop_assert_eq!(&again, &params);
        let env = Envelope::new(esmtp::values::Mailbox::parse("a@b.example").unwrap().into_owned())
            .with_params(params);
        let cmd = Command::Mail { from: env.from.clone(), params: env.params.clone() };
        let line = cmd.to_bytes().unwrap();
        let (parsed, used) = Command::parse(&line, &ParseOptions::strict()).unwrap();
        prop_assert_eq!(used, line.len());
        prop_assert_eq!(parsed, cmd);
    }
}

/// Streamed content (`submit_streaming`) is skipped as it is pushed, up to
/// the server's offset, with BDAT; with DATA it cannot be checked before
/// DATA goes out, so the message fails instead (RFC 1845 §3).
#[test]
fn streamed_content_resumes_with_bdat_only_rfc1845_3() {
    let content = long_message();
    let full = canonical(&content);
    for chunking in [true, false] {
        let mut client = client_config();
        client.chunking = chunking;
        let mut stored = full[..1001].to_vec();
        let mut link = Link::new(client, checkpoint_server());
        let env = envelope(&["b@example.org"]).with_transid(transid());
        let kind = esmtp::data::ContentKind::SevenBit;
        let id = link.client.submit_streaming(env, kind, None).unwrap();
        for piece in content.chunks(333) {
            link.client
                .push_content(id, Bytes::copy_from_slice(piece))
                .unwrap();
        }
        link.client.finish_content(id).unwrap();
        link.client.quit();
        link.run(&mut |s, e| match e {
            Event::Mail { .. } => s.decision().unwrap().restart(1001, 1).unwrap(),
            Event::Content(c) => stored.extend_from_slice(&c),
            e => accept_all(s, e),
        });
        let o = link.outcomes()[0];
        if chunking {
            assert!(o.all_delivered(), "{o:?}");
            assert_eq!(stored, full);
        } else {
            assert_eq!(o.error, Some(MessageError::CannotResume { offset: 1001 }));
            assert!(!link.c2s_text().contains("DATA"));
        }
    }
}

/// An offset past the end of streamed content is found while skipping,
/// before any chunk goes out: the message fails (RFC 1845 §3).
#[test]
fn streamed_content_shorter_than_the_offset_fails_rfc1845_3() {
    let mut link = Link::new(client_config(), checkpoint_server());
    let env = envelope(&["b@example.org"]).with_transid(transid());
    let kind = esmtp::data::ContentKind::SevenBit;
    let id = link.client.submit_streaming(env, kind, None).unwrap();
    link.client.push_content(id, &b"short\r\n"[..]).unwrap();
    link.client.finish_content(id).unwrap();
    link.client
        .submit(envelope(&["c@example.org"]), &b"next\r\n"[..])
        .unwrap();
    link.client.quit();
    link.run(&mut |s, e| match e {
        Event::Mail { params, .. } if params.extras().transid.is_some() => {
            s.decision().unwrap().restart(100, 1).unwrap()
        }
        e => accept_all(s, e),
    });
    let o = link.outcomes();
    assert_eq!(o[0].error, Some(MessageError::CannotResume { offset: 100 }));
    assert!(o[1].all_delivered());
    let wire = link.c2s_text();
    assert_eq!(wire.matches("BDAT").count(), 1, "{wire}");
    assert!(wire.contains("\r\nRSET\r\nMAIL"), "{wire}");
}

/// Partly offered: CHECKPOINT without CHUNKING or PIPELINING. The client
/// sends the restarted content with DATA, from the line the server's
/// offset starts (RFC 1845 §3), and the message stored is the original.
#[test]
fn offered_without_chunking_resumes_with_data_rfc1845_3() {
    let content = long_message();
    let full = canonical(&content);
    let offset = resume_offset(&full[..1234]);
    let mut server = checkpoint_server();
    server.extensions.chunking = false;
    server.extensions.pipelining = false;
    let mut stored = full[..offset as usize].to_vec();
    let mut link = Link::new(client_config(), server);
    let env = envelope(&["b@example.org"]).with_transid(transid());
    link.client.submit(env, content.clone()).unwrap();
    link.client.quit();
    link.run(&mut |s, e| match e {
        Event::Mail { .. } => s.decision().unwrap().restart(offset, 1).unwrap(),
        Event::Content(c) => stored.extend_from_slice(&c),
        e => accept_all(s, e),
    });
    let o = link.outcomes()[0];
    assert!(o.all_delivered(), "{o:?}");
    assert_eq!(o.resumed_at(), Some(offset));
    let wire = link.c2s_text();
    assert!(
        wire.contains("\r\nDATA\r\n") && !wire.contains("BDAT"),
        "{wire}"
    );
    assert!(!wire.contains("RCPT"), "{wire}");
    assert_eq!(stored, full);
}

proptest! {
    /// The `355` reply a server writes carries the offset a client reads
    /// back (RFC 1845 §3: `octet-offset` first on the line).
    #[test]
    fn restart_reply_round_trips_rfc1845_3(offset in any::<u64>()) {
        use esmtp::ext::checkpoint::{restart_offset, write_restart_text, RESTART_CODE};
        use esmtp::reply::{Reply, ReplyParseOptions};
        let mut wire = RESTART_CODE.to_ascii().to_vec();
        wire.push(b' ');
        write_restart_text(offset, &mut wire);
        wire.extend_from_slice(b"\r\n");
        let (reply, used) = Reply::parse(&wire, &ReplyParseOptions::new()).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(restart_offset(&reply), Some(offset));
    }
}
