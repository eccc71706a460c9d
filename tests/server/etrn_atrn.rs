//! ETRN (RFC 1985) and ATRN (RFC 2645) between this crate's client and
//! server machines in memory: every reply code of each reaching the
//! client as sent, the arguments reaching the server typed, and the ATRN
//! reply awaited as long as RFC 2645 §5.2.1 asks.

use crate::client_support;

use std::time::Duration;

use client_support::{client_config, server_config, Decision, Pair};
use esmtp::client::{self, AuthConfig, ClientCredentials, CloseReason};
use esmtp::command::{Etrn, Verb};
use esmtp::ehlo::Mechanism;
use esmtp::reply::Reply;
use esmtp::server::{self, Event};
use esmtp::values::{Domain, EnhancedStatusCode, ReplyCode};

fn domain(s: &str) -> Domain<'static> {
    Domain::parse(s).unwrap().into_owned()
}

fn reply(code: u16, text: &str) -> Decision {
    let esc = EnhancedStatusCode::new((code / 100) as u8, 0, 0);
    Decision::Respond(Reply::new(ReplyCode::new(code).unwrap(), esc, [text.to_owned()]).unwrap())
}

/// The client's command replies, as (verb, code).
fn replies(pair: &Pair) -> Vec<(Verb, u16)> {
    pair.client_events
        .iter()
        .filter_map(|e| match e {
            client::Event::CommandReply { verb, reply } => Some((*verb, reply.code().get())),
            _ => None,
        })
        .collect()
}

/// A provider offering ATRN and AUTH PLAIN in clear text, and a customer
/// that authenticates as `customer` (loopback-style, no TLS).
fn odmr_pair(policy: impl FnMut(&server::Event) -> Decision + 'static) -> Pair {
    let mut server = server_config();
    server.extensions.atrn = true;
    server.extensions.auth = vec![Mechanism::Plain];
    server.extensions.auth_requires_tls = false;
    let mut client = client_config();
    client.auth = Some(AuthConfig::new(ClientCredentials::password(
        "customer", "secret",
    )));
    client.allow_plaintext_auth = true;
    Pair::new(client, server).with_policy(policy)
}

/// RFC 1985 §5.1: 250, 251, 252, 253, 458 and 459 are the server's to
/// choose; the client hands each back, and the node reaches the server
/// with its option character decoded (§5.3: `@` subdomains, `#` queue).
#[test]
fn etrn_every_reply_code_reaches_the_client_rfc1985_5_1() {
    let mut server = server_config();
    server.extensions.etrn = true;
    let mut asked = Vec::new();
    let mut pair = Pair::new(client_config(), server).with_policy(move |e| match e {
        Event::Etrn(node) => {
            asked.push(format!("{node:?}"));
            match node {
                Etrn::Domain(d) if d.to_string() == "started.example" => Decision::Accept,
                Etrn::Domain(d) if d.to_string() == "empty.example" => {
                    reply(251, "OK, no messages waiting for node empty.example")
                }
                Etrn::Subdomains(_) => reply(252, "OK, pending messages for node started"),
                Etrn::Queue(_) => reply(253, "OK, 2 pending messages for node q started"),
                Etrn::Domain(d) if d.to_string() == "stuck.example" => Decision::Deny,
                _ => reply(459, "Node not allowed: unknown"),
            }
        }
        _ => Decision::Accept,
    });
    for node in [
        Etrn::Domain(domain("started.example")),
        Etrn::Domain(domain("empty.example")),
        Etrn::Subdomains(domain("pending.example")),
        Etrn::Queue("q".into()),
        Etrn::Domain(domain("stuck.example")),
        Etrn::Domain(domain("unknown.example")),
    ] {
        pair.client.etrn(node).unwrap();
    }
    pair.run();
    let etrn = |code| (Verb::Etrn, code);
    assert_eq!(
        replies(&pair),
        [
            etrn(250),
            etrn(251),
            etrn(252),
            etrn(253),
            etrn(458),
            etrn(459)
        ]
    );
    let sent = pair.c2s_text();
    for line in [
        "ETRN started.example\r\n",
        "ETRN @pending.example\r\n",
        "ETRN #q\r\n",
    ] {
        assert!(sent.contains(line), "{line:?} not in {sent}");
    }
    // The machine's own refusal is RFC 1985's 458.
    let s2c = String::from_utf8_lossy(&pair.s2c).into_owned();
    assert!(s2c.contains("\r\n458 "), "{s2c}");
}

/// RFC 2645 §5.2.1: 450 when the user may not retrieve a domain asked for,
/// 451 when access cannot be checked now, 453 when none has mail; the
/// session goes on, and a later ATRN for the right domain reverses (§5.3).
#[test]
fn atrn_refused_unable_no_mail_then_allowed_rfc2645_5_2_1() {
    let mut pair = odmr_pair(|e| match e {
        Event::Atrn(domains) => {
            let list: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
            match list.join(",").as_str() {
                "customer.example" => reply(250, "OK now reversing the connection"),
                "empty.example" => reply(453, "You have no mail"),
                "later.example" => reply(451, "Unable to process ATRN request now"),
                _ => Decision::Deny,
            }
        }
        _ => Decision::Accept,
    });
    for list in [
        vec![domain("customer.example"), domain("other.example")],
        vec![domain("later.example")],
        vec![domain("empty.example")],
        vec![domain("customer.example")],
    ] {
        pair.client.atrn(list).unwrap();
    }
    pair.run();
    let atrn = |code| (Verb::Atrn, code);
    assert_eq!(replies(&pair), [atrn(450), atrn(451), atrn(453)]);
    let reversed = pair
        .client_events
        .iter()
        .any(|e| matches!(e, client::Event::Reversed { .. }));
    assert!(reversed, "the allowed ATRN reversed the roles");
    assert_eq!(pair.closed_reason(), Some(CloseReason::Reversed));
    assert!(pair.server.is_closed());
    let sent = pair.c2s_text();
    assert!(
        sent.contains("ATRN customer.example,other.example\r\n"),
        "{sent}"
    );
}

/// RFC 2645 §5.2.1: ATRN before AUTH is refused with 530.
#[test]
fn atrn_without_auth_is_530_rfc2645_5_2_1() {
    let mut server = server_config();
    server.extensions.atrn = true;
    server.extensions.auth = vec![Mechanism::Plain];
    server.extensions.auth_requires_tls = false;
    let mut pair = Pair::new(client_config(), server);
    pair.client.atrn(vec![domain("customer.example")]).unwrap();
    pair.run();
    assert_eq!(replies(&pair), [(Verb::Atrn, 530)]);
    assert!(!pair.server_events.iter().any(|e| e.starts_with("Atrn")));
}

/// RFC 2645 §5.2.1: "The timeout for this command MUST be at least 10
/// minutes to allow the provider time to process its mail queue", even
/// when the client's command timeout is shorter.
#[test]
fn atrn_reply_is_awaited_ten_minutes_rfc2645_5_2_1() {
    let mut pair = odmr_pair(|e| match e {
        Event::Atrn(_) => Decision::Hold,
        _ => Decision::Accept,
    });
    assert_eq!(
        pair.client.config().timeouts.command,
        Duration::from_secs(300)
    );
    pair.client.atrn(vec![domain("customer.example")]).unwrap();
    pair.run();
    let asked = pair.now;
    pair.advance(Duration::from_secs(599));
    assert_eq!(pair.closed_reason(), None, "still waiting after 9:59");
    assert_eq!(
        pair.client.poll_timeout(),
        Some(asked + Duration::from_secs(600))
    );
    pair.advance(Duration::from_secs(1));
    assert_eq!(pair.closed_reason(), Some(CloseReason::Timeout));
}
