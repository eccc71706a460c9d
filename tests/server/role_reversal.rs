//! TURN (RFC 821 §3.8) and ATRN (RFC 2645 §5.3) end to end: after the 250
//! the same stream runs the other way. The client machine hands its
//! leftover bytes to a new server machine and the server machine hands its
//! own to a new client machine; a message then flows in the reverse
//! direction over the same in-memory "connection".

use std::time::Instant;

use bytes::Bytes;
use esmtp::client::{self, AuthConfig, Client, ClientConfig, ClientCredentials, Envelope};
use esmtp::ehlo::Mechanism;
use esmtp::server::{self, Server, ServerConfig};
use esmtp::testing::pair::Pair;
use esmtp::values::{Domain, Mailbox};

fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::parse(s).unwrap().into_owned()
}

/// What each side's driver saw at the moment of reversal.
struct Reversal {
    client_leftover: Bytes,
    server_leftover: Bytes,
}

/// Runs `client` against `server` until both have reversed (or a step
/// limit passes), answering every server decision with accept.
fn run_until_reversed(client: &mut Client, server: &mut Server) -> Reversal {
    let mut client_leftover = None;
    let mut server_leftover = None;
    for _ in 0..200 {
        while let Some(e) = server.poll_event() {
            match e {
                server::Event::Reversed { leftover } => server_leftover = Some(leftover),
                e if e.needs_decision() => {
                    if let server::Event::Auth(c) = &e {
                        assert!(c.verify_password("secret"));
                    }
                    server.accept().unwrap();
                }
                _ => {}
            }
        }
        while let Some(b) = server.poll_transmit() {
            client.receive(&b);
        }
        while let Some(e) = client.poll_event() {
            if let client::Event::Reversed { leftover } = e {
                client_leftover = Some(leftover);
            }
        }
        while let Some(b) = client.poll_transmit() {
            server.receive(&b);
        }
        if let (Some(c), Some(s)) = (&client_leftover, &server_leftover) {
            return Reversal {
                client_leftover: c.clone(),
                server_leftover: s.clone(),
            };
        }
    }
    panic!("the roles never reversed");
}

/// After reversal: the old client runs a server, the old server a client.
/// Delivers one message and returns what the new server stored.
fn deliver_reversed(reversal: Reversal, new_server_config: ServerConfig) -> Vec<u8> {
    let mut new_server = Server::new(new_server_config);
    new_server.receive(&reversal.client_leftover);
    let host = Domain::parse("provider.example").unwrap().into_owned();
    let mut new_client = Client::new(ClientConfig::new(host));
    new_client.receive(&reversal.server_leftover);
    let envelope =
        Envelope::new(mailbox("queue@provider.example")).to(mailbox("user@customer.example"));
    new_client
        .submit(envelope, &b"Subject: queued\r\n\r\nheld for you\r\n"[..])
        .unwrap();
    new_client.quit();
    let mut p = Pair::from_machines(new_client, new_server, Instant::now());
    p.run();
    let outcomes = p.outcomes();
    assert!(
        outcomes.len() == 1 && outcomes[0].all_delivered(),
        "the reversed delivery did not complete: {outcomes:?}"
    );
    assert!(p.client.is_closed());
    // The 221 was taken by the client; the server reported its end last.
    let last = p.server_events.last().expect("server events");
    assert!(
        last.starts_with("Closed") && last.contains("Quit"),
        "{last}"
    );
    p.stored.concat()
}

#[test]
fn turn_reverses_the_stream_rfc821_3_8() {
    let mut server_config = ServerConfig::new("provider.example").expect("a valid hostname");
    server_config.extensions.turn = true;
    let mut server = Server::new(server_config);
    let host = Domain::parse("customer.example").unwrap().into_owned();
    let mut client = Client::new(ClientConfig::new(host));
    client.turn().unwrap();
    let reversal = run_until_reversed(&mut client, &mut server);
    assert!(
        client.is_closed() && server.is_closed(),
        "both old machines are done"
    );
    let stored = deliver_reversed(
        reversal,
        ServerConfig::new("customer.example").expect("a valid hostname"),
    );
    assert_eq!(stored, b"Subject: queued\r\n\r\nheld for you\r\n");
}

#[test]
fn atrn_after_auth_reverses_the_stream_rfc2645_5_3() {
    let mut server_config = ServerConfig::new("odmr.provider.example").expect("a valid hostname");
    server_config.extensions.atrn = true;
    server_config.extensions.auth = vec![Mechanism::Plain];
    server_config.extensions.auth_requires_tls = false;
    let mut server = Server::new(server_config);
    let host = Domain::parse("customer.example").unwrap().into_owned();
    let mut config = ClientConfig::new(host);
    config.auth = Some(AuthConfig::new(ClientCredentials::password(
        "customer", "secret",
    )));
    // A loopback-style test without TLS.
    config.allow_plaintext_auth = true;
    let mut client = Client::new(config);
    client
        .atrn(vec![Domain::parse("customer.example")
            .unwrap()
            .into_owned()])
        .unwrap();
    let reversal = run_until_reversed(&mut client, &mut server);
    let stored = deliver_reversed(
        reversal,
        ServerConfig::new("customer.example").expect("a valid hostname"),
    );
    assert_eq!(stored, b"Subject: queued\r\n\r\nheld for you\r\n");
}

#[test]
fn bytes_after_the_250_reach_the_new_server() {
    // The provider's new client may pipeline its first bytes right behind
    // the 250 (they are the start of the reversed session): the old client
    // must hand them over, not drop them.
    let mut server_config = ServerConfig::new("provider.example").expect("a valid hostname");
    server_config.extensions.turn = true;
    let mut server = Server::new(server_config);
    let host = Domain::parse("customer.example").unwrap().into_owned();
    let mut client = Client::new(ClientConfig::new(host));
    client.turn().unwrap();
    // Drive by hand so the 250 and the extra bytes arrive in one read.
    let mut turn_reply_seen = false;
    for _ in 0..50 {
        while let Some(e) = server.poll_event() {
            if e.needs_decision() {
                server.accept().unwrap();
            }
        }
        while let Some(mut b) = server.poll_transmit().map(|b| b.to_vec()) {
            if b.ends_with(b"250 2.0.0 OK\r\n") {
                b.extend_from_slice(b"EHLO provider.example\r\n");
                turn_reply_seen = true;
            }
            client.receive(&b);
        }
        while let Some(e) = client.poll_event() {
            if let client::Event::Reversed { leftover } = e {
                assert!(turn_reply_seen);
                assert_eq!(&leftover[..], b"EHLO provider.example\r\n");
                return;
            }
        }
        while let Some(b) = client.poll_transmit() {
            server.receive(&b);
        }
    }
    panic!("no reversal");
}
