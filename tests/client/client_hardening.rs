//! The client does not give a hostile network or server what it should
//! not: no credentials in clear by accident.

use crate::client_support;

use client_support::*;
use esmtp::client::{self, AuthConfig, AuthError, ClientCredentials, MessageError, TlsPolicy};

const GREETING: &[u8] = b"220 mx.example.org ESMTP\r\n";
/// What a man-in-the-middle leaves of `250-STARTTLS` (RFC 3207 §6: the
/// EHLO reply before TLS is not protected).
const STRIPPED_EHLO: &[u8] =
    b"250-mx.example.org\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 8BITMIME\r\n";

fn with_password() -> esmtp::client::ClientConfig {
    let mut c = client_config();
    c.chunking = false;
    c.auth = Some(AuthConfig::new(ClientCredentials::password(
        "jane", "hunter2",
    )));
    c
}

/// RFC 3207 §6, RFC 4954 §4: with STARTTLS stripped and the default
/// opportunistic policy, no AUTH goes out; each message fails with a typed
/// error and the session ends with QUIT.
#[test]
fn stripped_starttls_sends_no_auth_by_default_rfc3207_6() {
    let c = with_password();
    assert_eq!(c.tls, TlsPolicy::Opportunistic);
    assert!(!c.allow_plaintext_auth, "secure default");
    let mut s = Script::new(c);
    for rcpt in ["b@example.org", "c@example.org"] {
        s.client.submit(envelope(&[rcpt]), &b"x\r\n"[..]).unwrap();
    }
    s.feed(GREETING);
    let w = s.feed(STRIPPED_EHLO);
    assert!(!w.contains("AUTH"), "{w}");
    assert!(!w.contains("MAIL"), "{w}");
    assert_eq!(w, "QUIT\r\n");
    let outcomes = s.outcomes();
    assert_eq!(outcomes.len(), 2);
    for o in outcomes {
        assert_eq!(
            o.error,
            Some(MessageError::Auth(AuthError::PlaintextRefused)),
            "{o:?}"
        );
    }
}

/// The opt-in is explicit: with it, the same session authenticates.
#[test]
fn plaintext_auth_only_when_allowed_rfc4954_4() {
    let mut c = with_password();
    c.allow_plaintext_auth = true;
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    let w = s.feed(STRIPPED_EHLO);
    assert!(w.starts_with("AUTH "), "{w}");
}

/// RFC 4616 §2: PLAIN's fields are separated by NUL, so a NUL inside one
/// (`jane\0admin`) would shift them at the server. Refused before any AUTH
/// is written, for every field.
#[test]
fn nul_in_credentials_is_refused_before_sending_rfc4616_2() {
    let cases = [
        ClientCredentials::password("jane\0admin", "pw"),
        ClientCredentials::password("jane", "pw\0x"),
        ClientCredentials::Password {
            authzid: Some("ad\0min".into()),
            username: "jane".into(),
            password: esmtp::server::Secret::new("pw"),
        },
        ClientCredentials::oauth("jane\u{1}auth=Bearer x", "tok"),
    ];
    for creds in cases {
        assert!(!creds.is_encodable());
        let mut c = client_config();
        c.chunking = false;
        c.allow_plaintext_auth = true;
        c.auth = Some(AuthConfig::new(creds));
        let mut s = Script::new(c);
        s.client
            .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
            .unwrap();
        s.feed(GREETING);
        let w = s.feed(b"250-mx\r\n250 AUTH PLAIN LOGIN OAUTHBEARER XOAUTH2\r\n");
        assert_eq!(w, "QUIT\r\n");
        assert_eq!(
            s.outcomes()[0].error,
            Some(MessageError::Auth(AuthError::UnencodableCredentials))
        );
    }
    assert!(ClientCredentials::password("jane", "pw").is_encodable());
}

/// The BDAT sizes in what the client wrote, in order.
fn bdat_sizes(wire: &[u8]) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut rest = wire;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = &rest[..eol];
        rest = &rest[eol + 2..];
        if let Some(args) = line.strip_prefix(b"BDAT ") {
            let n: usize = String::from_utf8_lossy(args)
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            sizes.push(n);
            rest = &rest[n..];
        }
    }
    sizes
}

/// `ClientConfig::chunk_size` is the largest BDAT chunk exactly, also
/// when bare LFs grow to CRLF (RFC 3030 §2: the size counts the octets
/// sent); the server stores the canonical message.
#[test]
fn chunk_size_bounds_every_bdat_chunk_rfc3030_2() {
    let bodies: [&'static [u8]; 3] = [
        b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n",
        b"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
        b"0123456789abcdef\r\n0123456789abcde\n",
    ];
    for size in [1, 2, 7, 16] {
        for body in bodies {
            let mut c = client_config();
            c.chunk_size = size;
            let mut p = Pair::new(c, server_config());
            p.client.submit(envelope(&["b@example.org"]), body).unwrap();
            p.client.quit();
            p.run();
            let sizes = bdat_sizes(&p.c2s);
            assert!(!sizes.is_empty(), "{}", p.c2s_text());
            assert!(sizes.iter().all(|&n| n <= size), "{size}: {sizes:?}");
            assert!(p.outcomes()[0].all_delivered());
            let canonical = String::from_utf8_lossy(body)
                .replace("\r\n", "\n")
                .replace('\n', "\r\n");
            assert_eq!(p.stored, [canonical.into_bytes()], "{size}");
        }
    }
}

/// RFC 5321 §4.1.2 (esmtp-keyword, esmtp-value): a caller parameter that
/// cannot be written as one esmtp-param is an error from `submit`, not a
/// command line with an injected CRLF or a parameter silently left off.
#[test]
fn invalid_caller_param_is_an_error_from_submit_rfc5321_4_1_2() {
    use esmtp::params::Param;
    let bad = [
        Param {
            keyword: "X-A\r\nRSET".into(),
            value: None,
        },
        Param {
            keyword: "X-A".into(),
            value: Some("1\r\nRSET".into()),
        },
        Param {
            keyword: "-X".into(),
            value: None,
        },
        Param {
            keyword: "X-A".into(),
            value: Some("a b".into()),
        },
    ];
    for p in bad {
        let mut s = Script::new(client_config());
        let mut env = envelope(&["b@example.org"]);
        env.params.extras_mut().other.push(p.clone());
        assert_eq!(
            s.client.submit(env, &b"x\r\n"[..]).err(),
            Some(esmtp::client::ApiError::InvalidParam),
            "{p:?}"
        );
        let mut env = envelope(&["b@example.org"]);
        env.recipients[0].params.extras_mut().other.push(p.clone());
        assert_eq!(
            s.client.submit(env, &b"x\r\n"[..]).err(),
            Some(esmtp::client::ApiError::InvalidParam),
            "{p:?}"
        );
    }
    let mut s = Script::new(client_config());
    let mut env = envelope(&["b@example.org"]);
    env.params.extras_mut().other.push(Param {
        keyword: "X-OK".into(),
        value: Some("1".into()),
    });
    assert!(s.client.submit(env, &b"x\r\n"[..]).is_ok());
}

/// `Debug` of a client whose AUTH PLAIN response is queued shows no
/// password and no base64 of it (RFC 4616 §2 puts the password in the
/// response; logs must not).
#[test]
fn debug_prints_no_queued_auth_response_rfc4616_2() {
    let mut c = with_password();
    c.allow_plaintext_auth = true;
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    s.client
        .receive(b"250-mx.example.org\r\n250 AUTH PLAIN\r\n");
    let dbg = format!("{:?}", s.client);
    let w = s.feed(b"");
    assert!(w.contains("AUTH "), "{w}");
    let line = w.lines().find(|l| l.starts_with("AUTH ")).unwrap();
    let secret = line.rsplit(' ').next().unwrap();
    assert!(secret.len() > 8, "{line}");
    assert!(!dbg.contains(secret) && !dbg.contains("hunter2"), "{dbg}");
    assert!(dbg.contains("queued_output"), "{dbg}");
}

/// RFC 5321 §4.5.3.2: the client waits a bounded time for each reply. A
/// server that trickles the greeting one octet at a time, each within the
/// timeout, must not extend the wait past the greeting timeout.
#[test]
fn trickled_reply_does_not_extend_its_deadline_rfc5321_4_5_3_2() {
    use esmtp::client::CloseReason;
    use std::time::{Duration, Instant};
    let c = client_config();
    let limit = c.timeouts.greeting;
    let mut s = Script::new(c);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    let start = Instant::now();
    s.client.handle_timeout(start);
    let deadline = s.client.poll_timeout().expect("a reply is awaited");
    assert_eq!(deadline, start + limit);
    let step = limit / 4;
    let mut now = start;
    let mut closed_at = None;
    for &b in b"220 mx.example.org ESMTP ready and waiting\r\n".iter() {
        now += step;
        s.client.handle_timeout(now);
        s.drain();
        if s.client.is_closed()
            || s.events
                .iter()
                .any(|e| matches!(e, esmtp::client::Event::Closed { .. }))
        {
            closed_at = Some(now);
            break;
        }
        s.client.receive(&[b]);
        s.drain();
        // The time was given before the octet: had it counted as
        // progress, the deadline would have moved to `now + limit`.
        let d = s.client.poll_timeout().expect("still waiting");
        assert!(d <= start + limit, "deadline moved to {:?}", d - start);
    }
    let closed_at = closed_at.expect("closed by the timeout");
    assert!(closed_at - start <= limit + step, "{:?}", closed_at - start);
    assert!(
        s.events.iter().any(|e| matches!(
            e,
            esmtp::client::Event::Closed {
                reason: CloseReason::Timeout
            }
        )),
        "{:?}",
        s.events
    );
    // A whole reply does restart the clock for the next one.
    let mut s = Script::new(client_config());
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    let t0 = Instant::now();
    s.client.handle_timeout(t0);
    let t1 = t0 + Duration::from_secs(60);
    s.client.handle_timeout(t1);
    s.feed(GREETING);
    assert!(s.client.poll_timeout().unwrap() > t0 + limit);
}

/// One read holding more than `max_buffered` octets of valid pipelined
/// replies is handled reply by reply, not refused as an overrun (RFC 2920
/// §3.1: a server may send all its replies at once).
#[test]
fn large_read_of_valid_replies_does_not_desync_rfc2920_3_1() {
    let mut c = client_config();
    c.chunking = false;
    c.max_buffered = 600;
    let mut s = Script::new(c);
    let rcpts: Vec<String> = (0..40).map(|i| format!("r{i}@example.org")).collect();
    let rcpt_refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    s.client
        .submit(envelope(&rcpt_refs), &b"x\r\n"[..])
        .unwrap();
    s.feed(GREETING);
    let w = s.feed(b"250-mx.example.org\r\n250 PIPELINING\r\n");
    assert!(w.contains("MAIL FROM:") && w.contains("DATA\r\n"), "{w}");
    let mut replies = b"250 2.1.0 Sender ok\r\n".to_vec();
    for _ in &rcpts {
        replies.extend_from_slice(b"250 2.1.5 Recipient ok\r\n");
    }
    replies.extend_from_slice(b"354 Go ahead\r\n");
    assert!(replies.len() > 600);
    let w = s.feed(&replies);
    assert!(w.ends_with("x\r\n.\r\n"), "{w}");
    s.feed(b"250 2.0.0 Queued\r\n");
    let o = s.outcomes();
    assert_eq!(o.len(), 1);
    assert!(o[0].all_delivered(), "{o:?}");
}

/// A streamed message whose 354 arrives in the same read as bytes that
/// end the session (here an unasked reply, RFC 5321 §4.2 makes every
/// reply answer a command): the driver is not asked for content the
/// client would refuse; the message's failure is reported instead.
#[test]
fn no_stale_content_wanted_after_a_desync_in_the_same_read_rfc5321_4_2() {
    let mut s = Script::new(client_config());
    let id = s
        .client
        .submit_streaming(
            envelope(&["b@example.org"]),
            esmtp::data::ContentKind::SevenBit,
            None,
        )
        .unwrap();
    s.feed(b"220 mx ESMTP\r\n");
    s.feed(b"250 mx\r\n");
    s.feed(b"250 2.1.0 OK\r\n");
    assert_eq!(s.feed(b"250 2.1.5 OK\r\n"), "DATA\r\n");
    s.feed(b"354 go ahead\r\n250 unasked\r\n");
    assert!(
        !s.events
            .iter()
            .any(|e| matches!(e, client::Event::ContentWanted(_))),
        "{:?}",
        s.events
    );
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::SessionEnded(None))
    );
    assert_eq!(s.outcomes()[0].id, id);
    assert!(s.client.is_closed());
}

/// A session with one queued message, `x` to `b@example.org`, under
/// `config`.
fn one_message(config: esmtp::client::ClientConfig) -> Script {
    let mut s = Script::new(config);
    s.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    s
}

/// [`one_message`] with MAIL and RCPT accepted: DATA was just written.
fn at_data() -> Script {
    let mut s = one_message(client_config());
    s.feed(GREETING);
    s.feed(b"250 mx\r\n");
    s.feed(b"250 2.1.0 OK\r\n");
    assert_eq!(s.feed(b"250 2.1.5 OK\r\n"), "DATA\r\n");
    s
}

/// [`one_message`] with LOGIN in the clear: the user name and password
/// went out, a third challenge came, and the client cancelled with `*`
/// (LOGIN has no third step).
fn login_cancelled() -> Script {
    let mut c = with_password();
    c.allow_plaintext_auth = true;
    let mut s = one_message(c);
    s.feed(GREETING);
    assert_eq!(
        s.feed(b"250-mx.example.org\r\n250 AUTH LOGIN\r\n"),
        "AUTH LOGIN\r\n"
    );
    assert_eq!(s.feed(b"334 VXNlcm5hbWU6\r\n"), "amFuZQ==\r\n");
    assert_eq!(s.feed(b"334 UGFzc3dvcmQ6\r\n"), "aHVudGVyMg==\r\n");
    assert_eq!(s.feed(b"334 VXNlcm5hbWU6\r\n"), "*\r\n");
    s
}

/// A `250` that came with the greeting, before EHLO was written, cannot
/// be EHLO's reply (RFC 5321 §4.2: a reply answers a command the server
/// has read). Taken as one, every later reply would answer the command
/// before it, and DATA's `250` would pass for the message's acceptance.
/// The session ends before EHLO goes out, and the message fails.
#[test]
fn reply_before_its_command_ends_the_session_rfc5321_4_2() {
    let mut s = one_message(client_config());
    let w = s.feed(b"220 mx ESMTP\r\n250 unasked\r\n");
    assert!(!w.contains("EHLO"), "{w}");
    assert!(s.client.is_closed());
    let o = s.outcomes();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].error, Some(MessageError::SessionEnded(None)));
    assert!(!o[0].all_delivered(), "{o:?}");
    assert!(s.events.iter().any(|e| matches!(
        e,
        client::Event::Closed {
            reason: client::CloseReason::Desynchronised
        }
    )));
}

/// The same for a partial reply: the octets were sent before the command
/// that they would answer.
#[test]
fn partial_reply_before_its_command_ends_the_session_rfc5321_4_2() {
    let mut s = one_message(client_config());
    s.feed(b"220 mx ESMTP\r\n25");
    s.feed(b"0 mx\r\n");
    assert!(s.client.is_closed());
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::SessionEnded(None))
    );
}

/// `421` alone may come unasked (RFC 5321 §3.8): it ends the session with
/// its reply, as it does at any other time.
#[test]
fn unasked_421_with_the_greeting_ends_with_its_reply_rfc5321_3_8() {
    let mut s = one_message(client_config());
    s.feed(b"220 mx ESMTP\r\n421 4.3.2 going down\r\n");
    assert!(s.client.is_closed());
    match &s.outcomes()[0].error {
        Some(MessageError::SessionEnded(Some(r))) => assert_eq!(r.code().get(), 421),
        other => panic!("{other:?}"),
    }
}

/// DATA is answered by `354` or a refusal (RFC 5321 §4.3.2). A `250` to
/// DATA is not the message's acceptance: no content was sent, so the
/// message must not be reported delivered.
#[test]
fn positive_reply_to_data_is_not_delivery_rfc5321_4_3_2() {
    for reply in [&b"250 2.0.0 ok\r\n"[..], b"220 hello\r\n", b"334 what\r\n"] {
        let mut s = at_data();
        let w = s.feed(reply);
        assert!(!w.contains("x\r\n"), "content sent after {reply:?}: {w}");
        let o = s.outcomes();
        assert_eq!(o.len(), 1);
        assert!(!o[0].all_delivered(), "{reply:?}: {o:?}");
        assert_eq!(o[0].error, Some(MessageError::SessionEnded(None)));
        assert!(s.client.is_closed());
    }
}

/// A refusal of DATA is still an ordinary failure of the message, and
/// the session goes on.
#[test]
fn refused_data_fails_the_message_and_keeps_the_session_rfc5321_4_3_2() {
    let mut s = at_data();
    s.feed(b"554 5.7.1 no thanks\r\n");
    let o = s.outcomes();
    assert_eq!(o.len(), 1);
    assert!(!o[0].all_delivered());
    assert!(!s.client.is_closed());
}

/// After the client cancels an AUTH exchange with `*`, the server must
/// refuse it with `501` (RFC 4954 §4). One that sends another challenge
/// instead does not get `*` after `*` for as long as it likes: the
/// session ends, and the message fails without MAIL.
#[test]
fn challenge_after_cancel_ends_the_session_rfc4954_4() {
    let mut s = login_cancelled();
    let w = s.feed(b"334 VXNlcm5hbWU6\r\n");
    assert!(!w.contains('*') && !w.contains("MAIL"), "{w}");
    assert!(s.client.is_closed());
    let o = s.outcomes();
    assert_eq!(o.len(), 1);
    assert!(o[0].error.is_some(), "{o:?}");
}

/// The `501` that RFC 4954 §4 prescribes after `*` fails the exchange
/// as before, with the reason the client cancelled.
#[test]
fn refusal_after_cancel_fails_authentication_rfc4954_4() {
    let mut s = login_cancelled();
    let w = s.feed(b"501 5.7.0 cancelled\r\n");
    assert!(!w.contains("MAIL"), "{w}");
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::Auth(AuthError::Other))
    );
}
