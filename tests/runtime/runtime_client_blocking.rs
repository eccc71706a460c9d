//! The blocking client runtime (`esmtp::runtime::client::blocking`)
//! against the in-test server on a thread of its own: the same basics as
//! the tokio transport — reuse, `421` and a dropped connection between
//! messages, a message sent in full never sent again, TLS policies, AUTH,
//! LMTP, and the pool from many threads.

use crate::common;
use crate::runtime_client_support;

use std::time::Duration;

use esmtp::client::{AuthError, ClientCredentials};
use esmtp::runtime::client::blocking::{Pool, Transport};
use esmtp::runtime::client::{Endpoint, Error, PoolConfig, Reconnect, TlsError};
use runtime_client_support::{
    assert_each_once, code, config, envelope, message, tls_pair, Behaviour, ThreadServer,
};

fn endpoint(server: &ThreadServer) -> Endpoint {
    Endpoint::new("127.0.0.1", server.port(), config()).reconnect(Reconnect::new(2, Duration::ZERO))
}

#[test]
fn messages_over_one_connection_421_in_the_middle_rfc5321_3_8() {
    let mut b = Behaviour::smtp();
    b.shutdown_after = Some(20);
    let server = ThreadServer::start(b);
    let mut transport = Transport::connect(endpoint(&server)).unwrap();
    for n in 1..=50 {
        let to: &[&str] = if n == 30 {
            &["refuse@test.example", "a@test.example"]
        } else {
            &["a@test.example", "b@test.example"]
        };
        match transport.send(envelope(to), message(n)) {
            Err(Error::Rejected(outcome)) if n == 30 => {
                let r = &outcome.recipients;
                assert_eq!((code(&r[0].rcpt), code(&r[0].content)), (Some(550), None));
                assert!(r[1].delivered());
            }
            Ok(outcome) if n != 30 => assert!(outcome.all_delivered()),
            other => panic!("message {n}: {other:?}"),
        }
    }
    transport.quit();
    assert_each_once(&server.record(), 50);
    let record = server.record();
    assert_eq!(record.connections, 2);
    assert_eq!(
        record.count("Mail"),
        51,
        "message 21 met the 421 and went again"
    );
}

#[test]
fn dropped_connection_between_messages_reconnects() {
    let mut b = Behaviour::smtp();
    b.drop_after = Some(2);
    let server = ThreadServer::start(b);
    let mut transport = Transport::connect(endpoint(&server)).unwrap();
    for n in 1..=2 {
        transport
            .send(envelope(&["a@test.example"]), message(n))
            .unwrap();
    }
    // Until the server has closed the first connection.
    let closed = common::poll_until(runtime_client_support::WAIT, || {
        (server.record().open == 0).then_some(())
    });
    assert!(closed.is_some());
    for n in 3..=4 {
        transport
            .send(envelope(&["a@test.example"]), message(n))
            .unwrap();
    }
    assert_each_once(&server.record(), 4);
    assert_eq!(server.record().connections, 2);
    assert_eq!(server.record().count("Mail"), 4);
}

#[test]
fn content_sent_and_unanswered_is_never_sent_again_rfc5321_4_1_1_4() {
    let mut b = Behaviour::smtp();
    b.vanish_at_end = Some(1);
    let server = ThreadServer::start(b);
    let mut transport = Transport::new(endpoint(&server));
    let result = transport.send(envelope(&["a@test.example"]), message(1));
    let Err(Error::Interrupted(i)) = result else {
        panic!("{result:?}");
    };
    assert!(i.maybe_accepted);
    transport
        .send(envelope(&["a@test.example"]), message(2))
        .unwrap();
    assert_eq!(server.record().count("Mail"), 2);
}

#[test]
fn starttls_required_but_not_offered_sends_no_mail_rfc3207_4() {
    let Some((_, client_tls)) = tls_pair() else {
        return;
    };
    let server = ThreadServer::start(Behaviour::smtp());
    let result = Transport::connect(endpoint(&server).starttls(client_tls));
    assert!(
        matches!(result, Err(Error::Tls(TlsError::NotOffered))),
        "{result:?}"
    );
    assert_eq!(server.record().count("Mail"), 0);
}

#[test]
fn starttls_and_implicit_tls_rfc3207_rfc8314() {
    let Some((server_tls, client_tls)) = tls_pair() else {
        return;
    };
    let mut b = Behaviour::smtp();
    b.config.extensions.starttls = true;
    b.tls = Some(server_tls.clone());
    let server = ThreadServer::start(b);
    let ep = Endpoint::new("localhost", server.port(), config()).starttls(client_tls.clone());
    let mut transport = Transport::connect(ep).unwrap();
    assert!(transport.is_tls());
    for n in 1..=3 {
        transport
            .send(envelope(&["a@test.example"]), message(n))
            .unwrap();
    }
    transport.quit();
    assert_each_once(&server.record(), 3);

    let mut b = Behaviour::smtp();
    b.tls = Some(server_tls);
    b.implicit_tls = true;
    let server = ThreadServer::start(b);
    let ep = Endpoint::new("localhost", server.port(), config()).implicit_tls(client_tls);
    let mut transport = Transport::connect(ep).unwrap();
    assert!(transport.is_tls());
    transport
        .send(envelope(&["a@test.example"]), message(1))
        .unwrap();
    transport.quit();
    assert_each_once(&server.record(), 1);
}

#[test]
fn auth_refused_in_clear_text_by_default_rfc4954_4() {
    let server = ThreadServer::start(Behaviour::smtp().auth("jane", "secret"));
    let creds = ClientCredentials::password("jane", "secret");
    let result = Transport::connect(endpoint(&server).credentials(creds.clone()));
    assert!(
        matches!(
            result,
            Err(Error::Auth {
                error: AuthError::PlaintextRefused,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(server.record().count("Auth"), 0);
    let mut allowed = config();
    allowed.allow_plaintext_auth = true;
    let ep = Endpoint::new("127.0.0.1", server.port(), allowed).credentials(creds);
    let mut transport = Transport::connect(ep).unwrap();
    transport
        .send(envelope(&["a@test.example"]), message(1))
        .unwrap();
    assert_eq!(server.record().count("Auth"), 1);
}

#[test]
fn lmtp_one_reply_per_recipient_rfc2033_4_2() {
    let server = ThreadServer::start(Behaviour::lmtp());
    let ep = Endpoint::new("127.0.0.1", server.port(), config().lmtp());
    let mut transport = Transport::connect(ep).unwrap();
    let result = transport.send(
        envelope(&["a@test.example", "full@test.example"]),
        message(1),
    );
    let Err(Error::Rejected(outcome)) = result else {
        panic!("{result:?}");
    };
    assert_eq!(code(&outcome.recipients[0].content), Some(250));
    assert_eq!(code(&outcome.recipients[1].content), Some(452));
    // Only temporary refusals: worth trying again later.
    assert!(Error::Rejected(outcome).is_transient());
}

#[test]
fn pool_from_many_threads_each_delivered_once() {
    let mut b = Behaviour::smtp();
    b.shutdown_after = Some(33);
    let server = ThreadServer::start(b);
    let pool = Pool::new(
        endpoint(&server),
        PoolConfig::new(3, Duration::from_secs(60)),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let n = t * 10 + i + 1;
                    let outcome = pool
                        .send(envelope(&["a@test.example"]), message(n))
                        .unwrap_or_else(|e| panic!("message {n}: {e}"));
                    assert!(outcome.all_delivered());
                    assert!(pool.connections() <= 3);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(pool.connections() <= 3);
    pool.close();
    assert_eq!(pool.connections(), 0);
    assert_each_once(&server.record(), 80);
    assert_eq!(server.record().count("Mail"), 81);
}
