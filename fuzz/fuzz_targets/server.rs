//! A whole server session driven by fuzz bytes: the client's input, how it
//! is split into reads, and every application decision come from the
//! input. Invariants: no panic; the transmitted bytes are well-formed reply
//! lines; no more `MessageEnd` events than DATA/BDAT commands sent; the
//! receive buffer never exceeds its limit, nor the reply queue its limit
//! plus one reply; exactly one `Closed` (or `Reversed`); the pending
//! decision is the one the event asked, and the LMTP view exists exactly
//! for an LMTP end of message (and the SCRAM and application-mechanism
//! views for theirs); a BURL's content is supplied in pieces and a MAIL
//! with TRANSID may be restarted; reads of 32 KiB and more take the path
//! that decodes DATA content as it copies it; `poll_timeout` is pure and
//! never behind the time given; with the PROXY protocol on, nothing is
//! written before the header is read (HAProxy's specification §2.1); an
//! accepted XCLIENT returns the session to its start (Postfix's
//! XCLIENT_README).
#![no_main]

use std::time::{Duration, Instant};

use esmtp::data::BarePolicy;
use esmtp::ehlo::Mechanism;
use esmtp::ext::custom::CustomCapability;
use esmtp::proxy::{ProxyOptions, ProxyVersions};
use esmtp::reply::Reply;
use esmtp::sasl::scram::{ScramCredentials, ScramHash};
use esmtp::sasl::ChannelBinding;
use esmtp::server::{ApiError, DecisionKind, Event, Server, ServerConfig};
use esmtp::values::{EnhancedStatusCode, ReplyCode};
use esmtp::Strictness;
use libfuzzer_sys::fuzz_target;

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

fn config(bits: u8) -> ServerConfig {
    let mut cfg = ServerConfig::new("mx.example.org").expect("a valid hostname");
    if bits & 1 != 0 {
        cfg = cfg.lmtp();
    }
    cfg.extensions.starttls = bits & 2 != 0;
    if bits & 4 != 0 {
        cfg.extensions.auth = vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
            Mechanism::ScramSha256,
            Mechanism::ScramSha1,
            Mechanism::ScramSha256Plus,
            Mechanism::External,
            "X-FUZZ".parse().unwrap(),
        ];
        cfg.extensions.auth_requires_tls = bits & 2 != 0;
    }
    if bits & 8 != 0 {
        cfg.limits.command_line = 64;
        cfg.limits.auth_line = 64;
        cfg.limits.data_line = 80;
        cfg.limits.message_size = Some(200);
        cfg.limits.max_buffered = 512;
        cfg.limits.max_queued_replies = 128;
        cfg.limits.recipients = 3;
        cfg.limits.transactions = Some(3);
        cfg.limits.errors = 5;
    }
    if bits & 16 != 0 {
        cfg.bare_line_endings = BarePolicy::Allow;
    }
    cfg.ask_on_connect = bits & 32 != 0;
    if bits & 64 != 0 {
        cfg.strictness = Strictness::Strict;
    }
    if bits & 128 != 0 {
        let e = &mut cfg.extensions;
        e.vrfy = true;
        e.expn = true;
        e.etrn = true;
        e.atrn = true;
        e.turn = true;
        e.send = true;
        e.rrvs = true;
        e.requiretls = true;
        e.deliver_by = Some(60);
        e.mt_priority = Some(None);
        e.checkpoint = true;
        e.burl = Some(vec!["imap".into()]);
        e.no_soliciting = Some(esmtp::ext::no_soliciting::Solicit::new("net.example:ADV").ok());
        e.mtrk = true;
        e.submitter = true;
        e.conperm = true;
        e.conneg = true;
        e.utf8smtp = true;
        e.verb = true;
        e.onex = true;
        cfg.private_verbs = vec!["XCLIENT".into()];
    }
    cfg
}

/// What a second configuration octet turns on: the PROXY protocol,
/// XCLIENT and XFORWARD (authorised or not), a custom keyword and verb.
fn extra(cfg: &mut ServerConfig, bits: u8) {
    let versions = match bits & 3 {
        0 => None,
        1 => Some(ProxyVersions::V1),
        2 => Some(ProxyVersions::V2),
        _ => Some(ProxyVersions::Any),
    };
    cfg.proxy_protocol = versions.map(|v| {
        let opts = ProxyOptions::new(v);
        if bits & 4 != 0 {
            opts.with_max_len(32)
        } else {
            opts
        }
    });
    cfg.extensions.xclient = bits & 8 != 0;
    cfg.extensions.xforward = bits & 32 != 0;
    if bits & 128 != 0 {
        cfg.extensions
            .custom
            .push(CustomCapability::new("X-FUZZ", ["a=1"]).unwrap());
        cfg.private_verbs.push("X-FUZZ".into());
    }
}

fn reply(code: u16, class: u8) -> Reply<'static> {
    Reply::single(
        ReplyCode::new(code).unwrap(),
        EnhancedStatusCode::new(class, 0, 0),
        "fuzz",
    )
    .unwrap()
}

/// The decision an event asks for.
fn kind_of(event: &Event) -> Option<DecisionKind> {
    Some(match event {
        Event::Connect => DecisionKind::Connect,
        Event::Hello { .. } => DecisionKind::Hello,
        Event::Mail { .. } => DecisionKind::Mail,
        Event::Rcpt { .. } => DecisionKind::Rcpt,
        Event::Burl { .. } => DecisionKind::Burl,
        Event::MessageEnd { .. } => DecisionKind::MessageEnd,
        Event::Auth(_) => DecisionKind::Auth,
        Event::ScramLookup { .. } => DecisionKind::ScramLookup,
        Event::AuthStep { .. } => DecisionKind::AuthStep,
        Event::Vrfy { .. } => DecisionKind::Vrfy,
        Event::Expn { .. } => DecisionKind::Expn,
        Event::Etrn(_) => DecisionKind::Etrn,
        Event::Atrn(_) => DecisionKind::Atrn,
        Event::Turn => DecisionKind::Turn,
        Event::Command { .. } => DecisionKind::Command,
        Event::Xclient(_) => DecisionKind::Xclient,
        Event::Xforward(_) => DecisionKind::Xforward,
        _ => return None,
    })
}

/// The stored SCRAM credentials of every user: password `pencil`, salt
/// `salt`, 4096 iterations (the dictionary holds a client-final with the
/// right proof for the client nonce `abc` and the server nonce `fuzz`).
fn stored(hash: ScramHash) -> ScramCredentials {
    static SHA1: std::sync::OnceLock<ScramCredentials> = std::sync::OnceLock::new();
    static SHA256: std::sync::OnceLock<ScramCredentials> = std::sync::OnceLock::new();
    let cell = if hash == ScramHash::Sha1 {
        &SHA1
    } else {
        &SHA256
    };
    cell.get_or_init(|| ScramCredentials::derive(hash, "pencil", b"salt", 4096).unwrap())
        .clone()
}

struct Checker {
    wire: Vec<u8>,
    input: Vec<u8>,
    message_ends: usize,
    closed: usize,
    max_buffered: usize,
    max_queued: usize,
    /// The PROXY protocol is on and its header not read yet: nothing may
    /// be written.
    awaiting_proxy: bool,
}

/// More than any one reply the server writes (the EHLO reply with every
/// extension is the longest).
const LONGEST_REPLY: usize = 2048;

impl Checker {
    fn drain(&mut self, s: &mut Server, c: &mut Cursor<'_>) {
        loop {
            let lmtp = s.config().lmtp;
            while let Some(event) = s.poll_event() {
                assert!(s.buffered_len() <= self.max_buffered);
                assert!(
                    s.queued_reply_len() <= self.max_queued + LONGEST_REPLY,
                    "reply queue {} over its limit",
                    s.queued_reply_len()
                );
                match &event {
                    Event::MessageEnd { .. } => {
                        self.message_ends += 1;
                        // Each end of message needs its own DATA, BDAT
                        // or BURL.
                        let commands = count_ci(&self.input, b"DATA")
                            + count_ci(&self.input, b"BDAT")
                            + count_ci(&self.input, b"BURL");
                        assert!(
                            self.message_ends <= commands,
                            "MessageEnd without DATA/BDAT/BURL"
                        );
                    }
                    // Reversed (TURN/ATRN) hands the connection over: it is
                    // the last event, like Closed.
                    Event::Closed { .. } | Event::Reversed { .. } => self.closed += 1,
                    Event::Proxy(_) => {
                        assert!(self.awaiting_proxy, "a second PROXY header");
                        self.awaiting_proxy = false;
                    }
                    _ => {}
                }
                assert!(self.closed <= 1, "two final events");
                if let Event::Burl { .. } = event {
                    // The URL's content, in fuzz-sized pieces: a piece
                    // over a limit refuses the BURL and answers it.
                    let pieces = c.byte().unwrap_or(0) % 4;
                    let mut refused = false;
                    for _ in 0..pieces {
                        let n = usize::from(c.byte().unwrap_or(0));
                        let piece = bytes::Bytes::copy_from_slice(c.take(n));
                        match s.burl_content(piece) {
                            Ok(()) => {}
                            Err(ApiError::BurlRefused) => {
                                refused = true;
                                break;
                            }
                            Err(e) => panic!("{e:?} for a pending BURL"),
                        }
                    }
                    if refused {
                        assert!(s.decision().is_none(), "a refused BURL is answered");
                        continue;
                    }
                }
                let Some(decision) = s.decision() else {
                    assert!(!event.needs_decision(), "{event:?} left no decision");
                    continue;
                };
                assert_eq!(Some(decision.kind()), kind_of(&event), "{event:?}");
                let choice = c.byte().unwrap_or(0) % 8;
                // SCRAM's look-up and the application's mechanism have
                // their own views.
                let decision = match decision.scram_lookup() {
                    Ok(lookup) => {
                        let Event::ScramLookup { mechanism, .. } = &event else {
                            panic!("a SCRAM view for {event:?}");
                        };
                        let (hash, _) = ScramHash::of(mechanism).unwrap();
                        if choice < 5 {
                            lookup.credentials(stored(hash), "fuzz").unwrap();
                        } else {
                            lookup.deny();
                        }
                        continue;
                    }
                    Err(decision) => decision,
                };
                let decision = match decision.auth_step() {
                    Ok(step) => {
                        assert!(matches!(event, Event::AuthStep { .. }), "{event:?}");
                        if choice < 3 {
                            step.challenge(b"fuzz");
                            continue;
                        }
                        drop(step);
                        s.decision().unwrap()
                    }
                    Err(decision) => decision,
                };
                let decision = match decision.lmtp() {
                    Ok(end) => {
                        let Event::MessageEnd { recipients, .. } = event else {
                            panic!("an LMTP view for {event:?}");
                        };
                        assert_eq!(end.recipients(), recipients as usize);
                        if choice < 5 {
                            let replies: Vec<_> = (0..recipients)
                                .map(|i| {
                                    if i % 2 == 0 {
                                        reply(250, 2)
                                    } else {
                                        reply(550, 5)
                                    }
                                })
                                .collect();
                            end.respond_each(&replies).unwrap();
                            continue;
                        }
                        // The shorthands answer the view itself.
                        drop(end);
                        s.decision().unwrap()
                    }
                    Err(decision) => {
                        assert!(!(lmtp && matches!(event, Event::MessageEnd { .. })));
                        decision
                    }
                };
                match choice {
                    0 | 1 => decision.accept(),
                    2 => decision.deny(),
                    3 => decision.respond(&reply(250, 2)).unwrap(),
                    4 => decision.respond(&reply(421, 4)).unwrap(),
                    5 => s.accept().unwrap(),
                    6 => s.respond(&reply(550, 5)).unwrap(),
                    // A CHECKPOINT restart (RFC 1845 §3): only a MAIL
                    // with TRANSID takes it; any other stays pending.
                    _ => {
                        let offset = u64::from(c.byte().unwrap_or(0)) * 3;
                        let transid = matches!(
                            &event,
                            Event::Mail { params, .. } if params.extras().transid.is_some()
                        );
                        match decision.restart(offset, 1) {
                            Ok(()) => assert!(transid, "restarted {event:?}"),
                            Err(ApiError::CannotRestart) => s.accept().unwrap(),
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                }
                if matches!(event, Event::Xclient(_)) && matches!(choice, 0 | 1 | 3 | 5) {
                    // Back at the greeting: EHLO again (XCLIENT_README).
                    assert!(s.hello().is_none(), "XCLIENT accepted, still greeted");
                    assert!(s.xforward().is_none());
                }
            }
            let mut any = false;
            assert!(s.queued_reply_len() <= self.max_queued + LONGEST_REPLY);
            while let Some(bytes) = s.poll_transmit() {
                assert!(!bytes.is_empty());
                assert!(!self.awaiting_proxy, "written before the PROXY header");
                self.wire.extend_from_slice(&bytes);
                any = true;
            }
            if !any {
                break;
            }
        }
        assert!(s.buffered_len() <= self.max_buffered);
    }
}

fn count_ci(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .filter(|w| w.eq_ignore_ascii_case(needle))
        .count()
}

fn check_wire(wire: &[u8]) {
    let mut open: Option<[u8; 3]> = None;
    let mut rest = wire;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("every transmitted line ends in CRLF");
        let line = &rest[..end];
        assert!(
            line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit),
            "{line:?}"
        );
        assert!(!line.contains(&b'\r') && !line.contains(&b'\n'), "{line:?}");
        let code = [line[0], line[1], line[2]];
        if let Some(prev) = open {
            assert_eq!(prev, code, "multi-line reply changed code");
        }
        open = match line.get(3) {
            None | Some(b' ') => None,
            Some(b'-') => Some(code),
            Some(_) => panic!("bad separator {line:?}"),
        };
        rest = &rest[end + 2..];
    }
    assert!(open.is_none(), "multi-line reply left open");
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor(data);
    let Some(bits) = c.byte() else { return };
    let mut cfg = config(bits);
    let more = c.byte().unwrap_or(0);
    extra(&mut cfg, more);
    let awaiting_proxy = cfg.proxy_protocol.is_some();
    let max_buffered = cfg.limits.max_buffered;
    let max_queued = cfg.limits.max_queued_replies;
    let mut s = Server::new(cfg);
    s.set_nonce(7);
    s.set_xclient_authorized(more & 16 != 0);
    s.set_xforward_authorized(more & 64 != 0);
    let mut k = Checker {
        wire: Vec::new(),
        input: Vec::new(),
        message_ends: 0,
        closed: 0,
        max_buffered,
        max_queued,
        awaiting_proxy,
    };
    let start = Instant::now();
    let mut now = start;
    // A driver gives the time at the top of its loop.
    s.handle_timeout(now);
    k.drain(&mut s, &mut c);
    while let Some(op) = c.byte() {
        match op % 16 {
            0..=11 => {
                let n = usize::from(c.byte().unwrap_or(0)) + 1;
                let read = c.take(n);
                k.input.extend_from_slice(read);
                s.receive(read);
            }
            12 => {
                now += Duration::from_secs(u64::from(c.byte().unwrap_or(0)) * 4);
                s.handle_timeout(now);
                // Past its deadline the session closed: what is left is
                // later than the time given, and asking twice changes
                // nothing.
                let deadline = s.poll_timeout();
                assert!(deadline.is_none_or(|d| d > now), "a deadline missed");
                assert_eq!(s.poll_timeout(), deadline);
            }
            13 => {
                let _ = s.tls_established();
            }
            14 => {
                let _ = s.tls_failed();
            }
            _ => match c.byte().unwrap_or(0) {
                0 => s.peer_closed(),
                1 => s.set_channel_binding(ChannelBinding::tls_exporter([1u8; 32]).unwrap()),
                2 => {
                    // A read long enough (32 KiB or more) for `receive` to
                    // decode DATA content as it copies it: a chosen
                    // pattern, repeated.
                    let n = usize::from(c.byte().unwrap_or(0)) + 1;
                    let pattern = c.take(n);
                    let len = 32 * 1024 + usize::from(c.byte().unwrap_or(0)) * 97;
                    let read: Vec<u8> = pattern.iter().copied().cycle().take(len).collect();
                    k.input.extend_from_slice(&read);
                    s.receive(&read);
                }
                _ => {}
            },
        }
        k.drain(&mut s, &mut c);
    }
    s.peer_closed();
    k.drain(&mut s, &mut c);
    assert!(s.is_closed(), "peer_closed ends the session");
    assert_eq!(k.closed, 1, "exactly one Closed or Reversed");
    check_wire(&k.wire);
});
