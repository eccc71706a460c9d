//! XCLIENT and XFORWARD (Postfix's XCLIENT_README and XFORWARD_README),
//! the application's own EHLO keywords and raw commands (RFC 5321
//! §4.1.1.1, §4.1.5): client machine against server machine in memory,
//! and the server's replies byte for byte. One behaviour per test.

use crate::client_support;
use crate::support;

use client_support::*;
use esmtp::client::{ApiError, Event as ClientEvent};
use esmtp::command::Verb;
use esmtp::ext::custom::CustomCapability;
use esmtp::ext::xclient::{self, Attr, AttrName, Proto, Xclient};
use esmtp::ext::xforward::{self, Source, Xforward};
use esmtp::server::{self, DecisionKind, Event, ServerConfig};
use support::{config, Driver};

fn forwarding_config() -> ServerConfig {
    let mut c = server_config();
    c.extensions.xclient = true;
    c.extensions.xforward = true;
    c
}

fn spike() -> Xclient<'static> {
    let mut x = Xclient::default();
    x.name = Some(Attr::Value("spike.porcupine.org".into()));
    x.addr = Some(Attr::Value("168.100.189.2".parse().unwrap()));
    x
}

fn upstream() -> Xforward<'static> {
    let mut x = Xforward::default();
    x.name = Some(Attr::Value("spike.porcupine.org".into()));
    x.addr = Some(Attr::Value("168.100.189.2".parse().unwrap()));
    x.proto = Some(Attr::Value("ESMTP".into()));
    x.ident = Some(Attr::Value("3CF6B2AAE8".into()));
    x.source = Some(Attr::Value(Source::Remote));
    x
}

fn command_replies(p: &Pair) -> Vec<(Verb, u16)> {
    p.client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::CommandReply { verb, reply } => Some((*verb, reply.code().get())),
            _ => None,
        })
        .collect()
}

fn refusals(p: &Pair) -> Vec<(Verb, ApiError)> {
    p.client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::CommandRefused { verb, error } => Some((*verb, error.clone())),
            _ => None,
        })
        .collect()
}

// ---- XCLIENT ----

/// XCLIENT_README's example, both machines: offered to an authorised
/// session, sent, answered with a new 220 greeting; the client greets
/// again and delivers.
#[test]
fn xclient_offered_resets_to_the_greeting_xclient_readme() {
    let mut p = Pair::new(client_config(), forwarding_config());
    p.server.set_xclient_authorized(true);
    p.client.xclient(spike()).unwrap();
    p.client
        .submit(envelope(&["user@example.com"]), &b"Hi\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    let c2s = p.c2s_text();
    assert!(
        c2s.contains(
            "XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2\r\nEHLO client.example\r\n"
        ),
        "{c2s}"
    );
    let s2c = String::from_utf8_lossy(&p.s2c);
    assert!(
        s2c.contains("XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT\r\n")
    );
    assert_eq!(s2c.matches("220 mx.example.org").count(), 2, "{s2c}");
    assert_eq!(command_replies(&p), vec![(Verb::Xclient, 220)]);
    assert_eq!(
        p.server_events
            .iter()
            .filter(|e| e.starts_with("Hello"))
            .count(),
        2
    );
    assert!(p
        .server_events
        .iter()
        .any(|e| e.starts_with("Xclient(") && e.contains("spike.porcupine.org")));
    assert!(p.outcomes()[0].all_delivered());
}

/// None offered: the extension is off, so XCLIENT is not in the EHLO
/// reply; the client refuses it locally — at once when the offer is
/// known, at its turn when it was queued before.
#[test]
fn xclient_not_offered_is_refused_locally_xclient_readme() {
    let mut p = Pair::new(client_config(), server_config());
    p.client.xclient(spike()).unwrap();
    p.client.noop().unwrap();
    p.run();
    assert_eq!(
        refusals(&p),
        vec![(Verb::Xclient, ApiError::NotOffered("XCLIENT"))]
    );
    assert!(!p.c2s_text().contains("XCLIENT"));
    assert_eq!(command_replies(&p), vec![(Verb::Noop, 250)]);
    assert_eq!(
        p.client.xclient(spike()),
        Err(ApiError::NotOffered("XCLIENT"))
    );
}

/// Partly offered: on but not authorised for this session — neither
/// advertised nor served (XCLIENT_README: 550 "insufficient
/// authorization"); and a server that lists fewer attributes than the
/// client sends.
#[test]
fn xclient_unauthorised_or_attribute_not_offered_xclient_readme() {
    let mut p = Pair::new(client_config(), forwarding_config());
    p.client.noop().unwrap();
    p.run();
    assert_eq!(
        p.client.xclient(spike()),
        Err(ApiError::NotOffered("XCLIENT"))
    );
    // A client forcing it gets 550 5.7.0.
    let mut d = support::ehlo(forwarding_config());
    let out = d.send(b"XCLIENT NAME=spike.porcupine.org\r\n");
    assert_eq!(out, "550 5.7.0 Insufficient authorization\r\n");
    // A server listing NAME and ADDR only: LOGIN is refused here.
    let mut s = Script::new(client_config());
    s.feed(b"220 mx.example.org ESMTP\r\n");
    s.feed(b"250-mx.example.org\r\n250-XCLIENT NAME ADDR\r\n250 PIPELINING\r\n");
    let mut x = spike();
    x.login = Some(Attr::Value("wietse".into()));
    assert_eq!(
        s.client.xclient(x),
        Err(ApiError::AttributeNotOffered(AttrName::Login))
    );
    s.client.xclient(spike()).unwrap();
    assert!(s
        .drain()
        .contains("XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2\r\n"));
}

/// XCLIENT_README, server reply codes: 503 in a transaction, 501 bad
/// syntax; an application refusal leaves the session as it was.
#[test]
fn xclient_server_replies_xclient_readme() {
    let mut d = support::ehlo(forwarding_config());
    d.server.set_xclient_authorized(true);
    assert_eq!(
        d.send(b"MAIL FROM:<a@example.org>\r\nXCLIENT NAME=x.example\r\n"),
        "250 2.1.0 Sender OK\r\n503 5.5.1 MAIL transaction in progress\r\n"
    );
    assert_eq!(d.send(b"RSET\r\n"), "250 2.0.0 OK\r\n");
    let out = d.send(b"XCLIENT NAME=a<b\r\n");
    assert!(out.starts_with("501 5.5.4"), "{out}");
    let out = d.send(b"XCLIENT\r\n");
    assert!(out.starts_with("501 5.5.4"), "{out}");
    // Refused by the application: 550 5.7.1, still greeted, MAIL works.
    let mut d = support::ehlo(forwarding_config());
    d.server.set_xclient_authorized(true);
    d.auto = false;
    d.server
        .receive(b"XCLIENT ADDR=IPV6:2001:db8::1 PROTO=ESMTP\r\n");
    let Some(Event::Xclient(x)) = d.event() else {
        panic!("no XCLIENT decision");
    };
    assert_eq!(x.addr, Some(Attr::Value("2001:db8::1".parse().unwrap())));
    assert_eq!(x.proto, Some(Attr::Value(Proto::Esmtp)));
    assert_eq!(d.server.decision().unwrap().kind(), DecisionKind::Xclient);
    d.server.deny().unwrap();
    assert_eq!(d.take(), "550 5.7.1 Access denied\r\n");
    d.auto = true;
    assert!(d
        .send(b"MAIL FROM:<a@example.org>\r\n")
        .starts_with("250 2.1.0"));
}

/// XCLIENT_README, "XCLIENT Server response": accepted, the session is
/// back at its start — a new 220, EHLO needed for MAIL, the transaction
/// and XFORWARD attributes gone; authenticated only with LOGIN.
#[test]
fn xclient_accepted_starts_the_session_over_xclient_readme() {
    let mut d = support::ehlo(forwarding_config());
    d.server.set_xclient_authorized(true);
    d.server.set_xforward_authorized(true);
    d.send(b"XFORWARD IDENT=1\r\n");
    assert!(d.server.xforward().is_some());
    let out = d.send(b"XCLIENT LOGIN=wietse HELO=spike.porcupine.org\r\n");
    assert_eq!(out, "220 mx.example.org ESMTP esmtp\r\n");
    assert!(d.server.is_authenticated());
    assert!(d.server.hello().is_none());
    assert!(d.server.xforward().is_none());
    let out = d.send(b"MAIL FROM:<a@example.org>\r\n");
    assert!(out.starts_with("503 5.5.1"), "{out}");
    let out = d.send(b"EHLO spike.porcupine.org\r\n");
    assert!(out.contains("250-XCLIENT"), "{out}");
    // Without LOGIN, not authenticated.
    d.send(b"XCLIENT NAME=[TEMPUNAVAIL]\r\n");
    assert!(!d.server.is_authenticated());
}

/// A client whose XCLIENT carries LOGIN does not authenticate again
/// (XCLIENT_README: LOGIN is the SASL login name; the server counts the
/// session as authenticated).
#[test]
fn xclient_login_counts_as_authenticated_client_side_xclient_readme() {
    let mut p = Pair::new(client_config(), forwarding_config());
    p.server.set_xclient_authorized(true);
    let mut x = spike();
    x.login = Some(Attr::Value("wietse".into()));
    p.client.xclient(x).unwrap();
    p.client.quit();
    p.run();
    assert!(p.client.is_authenticated());
    assert!(p.server.is_authenticated() || p.server.is_closed());
    assert!(!p.c2s_text().contains("AUTH "));
}

/// With the extension off, an application that served XCLIENT as a
/// private verb still gets it, as written (RFC 5321 §4.1.5).
#[test]
fn xclient_as_a_private_verb_when_off_rfc5321_4_1_5() {
    let mut c = config();
    c.private_verbs.push("xclient".into());
    let mut d = Driver::manual(c);
    d.take();
    d.server
        .receive(b"XCLIENT name=a.example addr=192.0.2.1\r\n");
    let Some(Event::Command { verb, args }) = d.event() else {
        panic!("no private command");
    };
    assert_eq!(verb, "XCLIENT");
    assert_eq!(args.as_deref(), Some("NAME=a.example ADDR=192.0.2.1"));
    // Not registered: unknown, as any verb.
    let mut d = support::ehlo(config());
    assert!(d.send(b"XFORWARD NAME=a\r\n").starts_with("500 5.5.1"));
}

// ---- XFORWARD ----

/// XFORWARD_README: offered to an authorised session, sent before MAIL,
/// the attributes in force for that transaction and reset after it.
#[test]
fn xforward_offered_holds_for_one_transaction_xforward_readme() {
    let mut p = Pair::new(client_config(), forwarding_config());
    p.server.set_xforward_authorized(true);
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = std::rc::Rc::clone(&seen);
    p = p.with_policy(move |e| {
        if let server::Event::Xforward(x) = e {
            log.borrow_mut().push(x.ident.clone());
        }
        Decision::Accept
    });
    p.client.xforward(upstream()).unwrap();
    p.client
        .submit(envelope(&["user@example.com"]), &b"Hi\r\n"[..])
        .unwrap();
    p.run();
    let c2s = p.c2s_text();
    assert!(c2s.contains(
        "XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2 PROTO=ESMTP IDENT=3CF6B2AAE8 SOURCE=REMOTE\r\n"
    ), "{c2s}");
    assert!(String::from_utf8_lossy(&p.s2c)
        .contains("XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n"));
    assert_eq!(command_replies(&p), vec![(Verb::Xforward, 250)]);
    assert_eq!(seen.borrow().len(), 1);
    assert!(p.outcomes()[0].all_delivered());
    // Reset after the transaction (XFORWARD_README, "Server operation").
    assert!(p.server.xforward().is_none());
}

/// XFORWARD_README: attributes accumulate until MAIL and are readable at
/// the MAIL decision; RSET resets them; 503 in a transaction.
#[test]
fn xforward_accumulates_and_resets_xforward_readme() {
    let mut d = support::ehlo(forwarding_config());
    d.server.set_xforward_authorized(true);
    assert_eq!(
        d.send(b"XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2 PROTO=ESMTP\r\n"),
        "250 2.0.0 OK\r\n"
    );
    assert_eq!(
        d.send(b"XFORWARD HELO=spike.porcupine.org\r\n"),
        "250 2.0.0 OK\r\n"
    );
    let x = d.server.xforward().unwrap();
    assert_eq!(x.helo, Some(Attr::Value("spike.porcupine.org".into())));
    assert_eq!(x.addr, Some(Attr::Value("168.100.189.2".parse().unwrap())));
    d.auto = false;
    d.server.receive(b"MAIL FROM:<a@example.org>\r\n");
    assert!(matches!(d.event(), Some(Event::Mail { .. })));
    assert_eq!(
        d.server.xforward().and_then(|x| x.proto.clone()),
        Some(Attr::Value("ESMTP".into()))
    );
    d.server.accept().unwrap();
    d.auto = true;
    d.take();
    assert_eq!(
        d.send(b"XFORWARD IDENT=1\r\n"),
        "503 5.5.1 MAIL transaction in progress\r\n"
    );
    d.send(b"RSET\r\n");
    assert!(d.server.xforward().is_none());
    // A refused XFORWARD changes nothing.
    d.auto = false;
    d.server.receive(b"XFORWARD IDENT=2\r\n");
    assert!(matches!(d.event(), Some(Event::Xforward(_))));
    d.server.deny().unwrap();
    assert_eq!(d.take(), "550 5.7.1 Access denied\r\n");
    assert!(d.server.xforward().is_none());
}

/// None offered and partly offered: XFORWARD is refused locally when the
/// server does not list it (off, or not authorised); a client forcing it
/// gets 550 (XFORWARD_README).
#[test]
fn xforward_not_offered_xforward_readme() {
    let mut p = Pair::new(client_config(), forwarding_config());
    p.server.set_xclient_authorized(true);
    p.client.xforward(upstream()).unwrap();
    p.client.quit();
    p.run();
    assert_eq!(
        refusals(&p),
        vec![(Verb::Xforward, ApiError::NotOffered("XFORWARD"))]
    );
    assert!(!p.c2s_text().contains("XFORWARD"));
    let mut d = support::ehlo(forwarding_config());
    assert_eq!(
        d.send(b"XFORWARD IDENT=1\r\n"),
        "550 5.7.0 Insufficient authorization\r\n"
    );
}

// ---- custom capabilities and raw commands ----

fn custom_config() -> ServerConfig {
    let mut c = server_config();
    c.extensions
        .custom
        .push(CustomCapability::new("X-PING", ["v=2", "fast"]).unwrap());
    c.private_verbs.push("X-PING".into());
    c
}

/// RFC 5321 §4.1.1.1 and §4.1.5: the application's keyword (with its
/// parameters) in the EHLO reply, read by the client; its verb sent raw
/// and answered by the application.
#[test]
fn custom_keyword_and_raw_command_rfc5321_4_1_5() {
    let mut p = Pair::new(client_config(), custom_config()).with_policy(|e| match e {
        server::Event::Command { verb, args } if verb == "X-PING" => {
            assert_eq!(args.as_deref(), Some("now"));
            Decision::Respond(
                esmtp::reply::Reply::single(esmtp::values::ReplyCode::OK, None, "pong").unwrap(),
            )
        }
        _ => Decision::Accept,
    });
    p.client.raw_command("X-PING", Some("now")).unwrap();
    p.client.quit();
    p.run();
    let caps = p
        .client_events
        .iter()
        .find_map(|e| match e {
            ClientEvent::Capabilities(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(caps.unknown_keyword("x-ping"), Some("v=2 fast"));
    assert!(p.c2s_text().contains("X-PING now\r\n"));
    assert_eq!(command_replies(&p), vec![(Verb::Other, 250)]);
}

/// None offered: a server without the verb answers 500 (RFC 5321
/// §4.2.4); the client hands that reply over as well.
#[test]
fn raw_command_to_a_server_without_it_rfc5321_4_2_4() {
    let mut p = Pair::new(client_config(), server_config());
    p.client.raw_command("X-PING", None).unwrap();
    p.client.quit();
    p.run();
    assert_eq!(command_replies(&p), vec![(Verb::Other, 500)]);
}

/// Raw commands are checked: never two lines, never a verb whose state
/// the machine keeps, never over 512 octets (RFC 5321 §2.3.8,
/// §4.5.3.1.4).
#[test]
fn raw_commands_are_checked_rfc5321_2_3_8() {
    let mut client = esmtp::client::Client::new(client_config());
    for (verb, args) in [
        ("X-A", Some("b\r\nRSET")),
        ("X-A", Some("b\nc")),
        ("X A", None),
        ("", None),
        ("X-A\r\nRSET", None),
    ] {
        assert!(
            matches!(client.raw_command(verb, args), Err(ApiError::Unwritable(_))),
            "{verb:?} {args:?}"
        );
    }
    for verb in [
        "MAIL", "rcpt", "Data", "BDAT", "RSET", "QUIT", "EHLO", "STARTTLS", "AUTH", "XCLIENT",
        "XFORWARD", "TURN", "ATRN", "BURL",
    ] {
        assert!(
            matches!(
                client.raw_command(verb, None),
                Err(ApiError::ManagedVerb(_))
            ),
            "{verb}"
        );
    }
    // "X-A", SP, the arguments and CRLF: 512 octets at most.
    let long = "a".repeat(507);
    assert!(client.raw_command("X-A", Some(&long)).is_err());
    assert!(client.raw_command("X-A", Some(&long[..506])).is_ok());
    assert!(client.raw_command("NOOP", Some("private")).is_ok());
}

/// HELP names the private verbs a server serves (RFC 5321 §4.1.1.8), and
/// the EHLO reply keeps the application's keywords last, each once.
#[test]
fn private_verbs_in_help_and_keywords_once_rfc5321_4_1_1_8() {
    let mut c = custom_config();
    c.extensions
        .custom
        .push(CustomCapability::new("x-ping", ["other"]).unwrap());
    c.private_verbs.push("bad verb".into());
    let mut d = Driver::new(c);
    let help = d.send(b"HELP\r\n");
    assert!(help.trim_end().ends_with(" X-PING"), "{help}");
    let ehlo = d.send(b"EHLO client.example\r\n");
    assert_eq!(ehlo.matches("X-PING").count(), 1, "{ehlo}");
    assert!(ehlo.ends_with("250 X-PING v=2 fast\r\n"), "{ehlo}");
}

/// The EHLO line of each extension parses back to what the server takes.
#[test]
fn advertised_attribute_lists_are_complete() {
    let mut d = Driver::new(forwarding_config());
    d.server.set_xclient_authorized(true);
    d.server.set_xforward_authorized(true);
    let out = d.send(b"EHLO client.example\r\n");
    let reply = esmtp::reply::Reply::parse(out.as_bytes(), &Default::default())
        .unwrap()
        .0;
    let caps = esmtp::ehlo::Capabilities::from_reply(&reply).unwrap();
    assert_eq!(xclient::offered(&caps), Some(xclient::ATTRIBUTES));
    assert_eq!(xforward::offered(&caps), Some(xforward::ATTRIBUTES));
}
