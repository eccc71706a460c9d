//! A whole client session against arbitrary server bytes, with queued
//! messages (CHECKPOINT restarts and BURL parts among them): no panic, no
//! loop, and every message reported exactly once once the session is over;
//! no AUTH in clear unless allowed (RFC 3207 §6); no mail to a server
//! whose SCRAM signature failed (RFC 5802 §9); a PROXY header first when
//! asked (HAProxy's specification §2.1); XCLIENT and XFORWARD (Postfix's)
//! only to a server that named them; no message reported delivered whose
//! content's end was not written (RFC 5321 §4.1.1.4).
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use esmtp::client::{
    AuthConfig, AuthError, Client, ClientConfig, ClientCredentials, Envelope, Event, Part,
    TlsPolicy,
};
use esmtp::data::ContentKind;
use esmtp::ext::burl::Url;
use esmtp::ext::checkpoint::TransId;
use esmtp::ext::xclient::{Attr, Xclient};
use esmtp::ext::xforward::Xforward;
use esmtp::proxy::{ProxyAddresses, ProxyHeader, ProxyVersion};
use esmtp::values::{Domain, Mailbox};
use libfuzzer_sys::fuzz_target;

fn mb(s: &str) -> Mailbox<'static> {
    Mailbox::parse(s).unwrap().into_owned()
}

/// The size of each BDAT the client wrote, skipping each chunk's octets.
fn bdat_sizes(wire: &[u8]) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut rest = wire;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = &rest[..eol];
        rest = &rest[eol + 2..];
        if let Some(args) = line.strip_prefix(b"BDAT ") {
            let digits = args.iter().take_while(|b| b.is_ascii_digit()).count();
            let Some(n) = std::str::from_utf8(&args[..digits])
                .ok()
                .and_then(|d| d.parse().ok())
            else {
                break;
            };
            sizes.push(n);
            rest = rest.get(n..).unwrap_or_default();
        }
    }
    sizes
}

/// An envelope with the rarer extensions' parameters (RFC 3865, 3885,
/// 4405, 4141, 5336) and, by `n`, a UTF-8 address, CONPERM and a
/// SEND/SOML/SAML verb, so the negotiation of each is reached.
fn rare_params(n: usize) -> Envelope {
    use esmtp::command::SendMode;
    use esmtp::values::XText;
    let mut rp = esmtp::params::RcptParams::default();
    rp.conneg = n & 4 != 0;
    rp.extras_mut().alt_address = Some(XText::new("b@example.org"));
    let to = if n & 8 != 0 {
        "b\u{f6}@example.org"
    } else {
        "b@example.org"
    };
    let mut e = Envelope::new(mb("a@example.org")).to_with(mb(to), rp);
    e.params.envid = Some(XText::new("id@client.example"));
    e.params.conperm = n & 16 != 0;
    let x = e.params.extras_mut();
    x.solicit = esmtp::ext::no_soliciting::Solicit::new("org.example:ADV").ok();
    x.mtrk = esmtp::ext::mtrk::Mtrk::new("QUJD", Some(60)).ok();
    x.submitter = Some(mb("a@example.org"));
    x.alt_address = Some(XText::new("a@example.org"));
    e.send = [
        None,
        Some(SendMode::Send),
        Some(SendMode::Soml),
        Some(SendMode::Saml),
    ][n >> 5 & 3];
    e
}

/// Only the reply to the end of the content accepts a message (RFC 5321
/// §4.1.1.4, RFC 3030 §2): a recipient reported delivered means the end
/// was written. A `250` that came unasked or answered DATA must not pass
/// for it.
fn assert_delivered_after_content(m: &esmtp::client::MessageOutcome) {
    assert!(
        m.delivered().next().is_none() || m.content_end_sent,
        "delivered without its content: {m:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut input)) = data.split_first() else {
        return;
    };
    let host = Domain::parse("client.example").unwrap().into_owned();
    let mut config = ClientConfig::new(host);
    config.lmtp = flags & 1 != 0;
    config.pipelining = flags & 2 != 0;
    config.chunking = flags & 4 != 0;
    config.tls = match flags >> 3 & 3 {
        0 => TlsPolicy::None,
        1 => TlsPolicy::Opportunistic,
        _ => TlsPolicy::Required,
    };
    if flags & 32 != 0 {
        let mut auth = AuthConfig::new(match (flags & 64 != 0, data.len() % 3) {
            (true, _) => ClientCredentials::password("user", "pencil"),
            (false, 0) => ClientCredentials::external(Some("admin".into())),
            (false, _) => ClientCredentials::oauth("user", "token"),
        });
        // A server naming a huge count would make each run slow.
        auth.max_scram_iterations = 8192;
        config.auth = Some(auth);
    }
    config.ehlo_after_auth = flags & 128 != 0;
    config.allow_plaintext_auth = data.len() & 1 != 0;
    let allow_plaintext_auth = config.allow_plaintext_auth;
    config.chunk_size = 1 + data.len() % 13;
    if data.len() & 2 != 0 {
        config.unsupported_params = esmtp::client::ParamPolicy::Strip;
    }
    let chunk_size = config.chunk_size;
    let mut client = Client::new(config);
    if data.len() & 8 != 0 {
        // SCRAM's client nonce (the dictionary's server-first extends it).
        client.set_sasl_nonce("abc").unwrap();
    }
    let proxy = data.len() & 2 != 0;
    if proxy {
        let addresses = ProxyAddresses::tcp(
            "192.0.2.1:1024".parse().unwrap(),
            "192.0.2.2:25".parse().unwrap(),
        );
        let version = if data.len() & 4 != 0 {
            ProxyVersion::V2
        } else {
            ProxyVersion::V1
        };
        client
            .send_proxy_header(&ProxyHeader::proxied(addresses.unwrap()), version)
            .unwrap();
    }
    // Queued before the offer is known: sent only if the server names
    // them (the session starts over after XCLIENT's 220).
    let mut xclient = Xclient::default();
    xclient.name = Some(Attr::Value("spike.porcupine.org".into()));
    xclient.login = Some(Attr::Unavailable);
    client.xclient(xclient).unwrap();
    let mut xforward = Xforward::default();
    xforward.ident = Some(Attr::Value("42".into()));
    client.xforward(xforward).unwrap();
    client.raw_command("X-FUZZ", Some("a=1")).unwrap();
    let mut ids = HashSet::new();
    let env = || {
        Envelope::new(mb("a@example.org"))
            .to(mb("b@example.org"))
            .to(mb("c@example.org"))
    };
    ids.insert(
        client
            .submit(env(), &b"Hello\r\n.\r\nbare\nlf\r"[..])
            .unwrap(),
    );
    ids.insert(client.submit(env(), "caf\u{e9}\0".as_bytes()).unwrap());
    let streamed = client
        .submit_streaming(env(), ContentKind::SevenBit, Some(10))
        .unwrap();
    ids.insert(streamed);
    // CHECKPOINT (RFC 1845): whatever offset a `355` gives.
    let transid = TransId::new("1.2@client.example").unwrap();
    let content = &b".dot\r\nbare\nlf\rcr\r\nend"[..];
    ids.insert(
        client
            .submit(env().with_transid(transid.clone()), content)
            .unwrap(),
    );
    let kind = ContentKind::SevenBit;
    let resumed = client
        .submit_streaming(env().with_transid(transid), kind, None)
        .unwrap();
    ids.insert(resumed);
    // BURL (RFC 4468): URL parts between content.
    let parts = vec![
        Part::Bytes(Bytes::from_static(b"head\r\n")),
        Part::Burl(Url::new("imap://x/;uid=1").unwrap()),
        Part::Bytes(Bytes::from_static(b"tail\r")),
    ];
    ids.insert(client.submit_parts(env(), parts).unwrap());
    ids.insert(
        client
            .submit(rare_params(data.len()), &b"x\r\n"[..])
            .unwrap(),
    );
    let _ = client.noop();
    client.quit();

    let base = Instant::now();
    let mut now = base;
    let mut reported = HashSet::new();
    let mut closed = false;
    let mut written = 0usize;
    let mut clear = Vec::new();
    let mut wire = Vec::new();
    // Where the wire stood when a server failed to prove itself (SCRAM).
    let mut unverified_at = None;
    let server_input = input.to_vec();
    // A driver gives the time at the top of its loop.
    client.handle_timeout(now);
    // Each read: one length octet, then that many octets.
    loop {
        while let Some(e) = client.poll_event() {
            match e {
                Event::Message(m) => {
                    assert!(reported.insert(m.id), "reported twice");
                    assert_delivered_after_content(&m);
                }
                Event::StartTls => {
                    if input.first().is_some_and(|b| b & 1 == 0) {
                        client.tls_established().unwrap();
                    } else {
                        client.tls_failed().unwrap();
                    }
                }
                Event::ContentWanted(id) => {
                    client.push_content(id, &b"streamed\n"[..]).unwrap();
                    client.push_content(id, &b"\nmore"[..]).unwrap();
                    client.finish_content(id).unwrap();
                }
                Event::Closed { .. } => closed = true,
                Event::AuthFailed {
                    error: AuthError::ServerUnverified,
                    ..
                } => unverified_at = Some(wire.len()),
                _ => {}
            }
        }
        while let Some(b) = client.poll_transmit() {
            written += b.len();
            if !client.is_tls() {
                clear.extend_from_slice(&b);
            }
            wire.extend_from_slice(&b);
            assert!(written < 1 << 20, "runaway output");
        }
        // A pure query, never behind the time given (past its deadline
        // the session closed).
        let deadline = client.poll_timeout();
        assert!(deadline.is_none_or(|d| d >= now), "a deadline missed");
        assert_eq!(client.poll_timeout(), deadline);
        let Some((&n, rest)) = input.split_first() else {
            break;
        };
        if n == 0xff {
            now += Duration::from_secs(601);
            client.handle_timeout(now);
            input = rest;
            continue;
        }
        let n = usize::from(n).min(rest.len());
        let (read, rest) = rest.split_at(n);
        client.receive(read);
        input = rest;
    }
    client.peer_closed();
    while let Some(e) = client.poll_event() {
        match e {
            Event::Message(m) => {
                assert!(reported.insert(m.id), "reported twice");
                assert_delivered_after_content(&m);
            }
            Event::Closed { .. } => closed = true,
            _ => {}
        }
    }
    assert!(closed && client.is_closed());
    assert_eq!(reported, ids, "every message reported once");
    for size in bdat_sizes(&wire) {
        assert!(
            size <= chunk_size,
            "BDAT {size} over chunk_size {chunk_size}"
        );
    }
    if let Some(at) = unverified_at {
        // RFC 5802 §9: nothing but QUIT to a server that did not prove
        // itself.
        assert!(
            !wire[at..].windows(5).any(|w| w == b"MAIL "),
            "mail sent to an unverified server"
        );
    }
    if proxy {
        assert!(wire.starts_with(b"PROXY ") || wire.starts_with(&esmtp::proxy::V2_SIGNATURE));
    }
    for verb in [&b"XCLIENT "[..], b"XFORWARD "] {
        let sent = wire.windows(verb.len()).any(|w| w == verb);
        let named = server_input
            .windows(verb.len() - 1)
            .any(|w| w.eq_ignore_ascii_case(&verb[..verb.len() - 1]));
        assert!(
            !sent || named,
            "{} sent unoffered",
            String::from_utf8_lossy(verb)
        );
    }
    if !allow_plaintext_auth {
        let auth_in_clear = clear
            .split(|&b| b == b'\n')
            .any(|line| line.starts_with(b"AUTH "));
        assert!(!auth_in_clear, "AUTH sent without TLS");
    }
});
