//! The tokio client runtime (`esmtp::runtime::client`) against an in-test
//! server (this crate's server machine on a loopback listener, with
//! faults on demand): reuse of one connection, reconnection after `421`
//! or a dropped connection without sending a message twice, TLS policies,
//! AUTH, LMTP, timeouts and the pool. Real peers are in
//! `runtime_client_peers.rs`.

use crate::common;
use crate::runtime_client_support;

use std::sync::Arc;
use std::time::Duration;

use esmtp::client::{AuthError, ClientCredentials, MessageOutcome};
use esmtp::runtime::client::{Endpoint, Error, Pool, PoolConfig, Reconnect, TlsError, Transport};
use runtime_client_support::{
    assert_each_once, code, config, envelope, message, tls_pair, Behaviour, TestServer, WAIT,
};

fn endpoint(server: &TestServer) -> Endpoint {
    Endpoint::new("127.0.0.1", server.port(), config()).reconnect(Reconnect::new(2, Duration::ZERO))
}

/// Bounds every test: nothing here may hang the suite.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("the test finished in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_one_connection_421_in_the_middle_rfc5321_3_8() {
    bounded(async {
        let mut b = Behaviour::smtp();
        b.shutdown_after = Some(500);
        let server = TestServer::start(b).await;
        let mut transport = Transport::connect(endpoint(&server)).await.unwrap();
        for n in 1..=1000 {
            let to: &[&str] = if n == 700 {
                &["a@test.example", "refuse@test.example"]
            } else {
                &["a@test.example", "b@test.example"]
            };
            let result = transport.send(envelope(to), message(n)).await;
            if n == 700 {
                // One recipient refused: the message went to the other.
                let Err(Error::Rejected(outcome)) = result else {
                    panic!("message 700: {result:?}");
                };
                let r = &outcome.recipients;
                assert!(r[0].delivered(), "{outcome:?}");
                assert_eq!(code(&r[0].content), Some(250));
                assert_eq!(code(&r[1].rcpt), Some(550));
                assert_eq!(code(&r[1].content), None);
                assert_eq!(outcome.delivered().collect::<Vec<_>>(), [0]);
                assert!(!Error::Rejected(outcome).is_transient());
            } else {
                let outcome = result.unwrap_or_else(|e| panic!("message {n}: {e}"));
                assert!(outcome.all_delivered());
                assert!(outcome
                    .recipients
                    .iter()
                    .all(|r| code(&r.rcpt) == Some(250) && code(&r.content) == Some(250)));
            }
        }
        transport.quit().await;
        assert_each_once(&server.record(), 1000);
        let record = server.record();
        // The 421 answered message 501's MAIL: it went again on a second
        // connection, and only there.
        assert_eq!(record.connections, 2);
        assert_eq!(record.count("Mail"), 1001);
        let d501 = record
            .delivered
            .iter()
            .find(|d| d.content.starts_with(b"Message-ID: <501@"))
            .unwrap();
        assert_eq!(d501.connection, 2);
        let d700 = record
            .delivered
            .iter()
            .find(|d| d.content.starts_with(b"Message-ID: <700@"))
            .unwrap();
        assert_eq!(d700.rcpts, ["<a@test.example>"]);
    })
    .await;
}

#[tokio::test]
async fn dropped_connection_between_messages_reconnects() {
    bounded(async {
        for chunking in [true, false] {
            let mut b = Behaviour::smtp();
            b.drop_after = Some(3);
            let server = TestServer::start(b).await;
            let mut config = config();
            config.chunking = chunking;
            let ep = Endpoint::new("127.0.0.1", server.port(), config);
            let mut transport = Transport::connect(ep).await.unwrap();
            for n in 1..=3 {
                transport
                    .send(envelope(&["a@test.example"]), message(n))
                    .await
                    .unwrap();
            }
            // The server closed the connection after the third message.
            tokio::time::timeout(WAIT, server.dropped.notified())
                .await
                .unwrap();
            for n in 4..=6 {
                transport
                    .send(envelope(&["a@test.example"]), message(n))
                    .await
                    .unwrap();
            }
            assert_each_once(&server.record(), 6);
            let record = server.record();
            assert_eq!(record.connections, 2);
            // Found closed before anything was risked on it.
            assert_eq!(record.count("Mail"), 6, "chunking {chunking}");
        }
    })
    .await;
}

#[tokio::test]
async fn content_sent_and_unanswered_is_never_sent_again_rfc5321_4_1_1_4() {
    bounded(async {
        for chunking in [true, false] {
            let mut b = Behaviour::smtp();
            b.vanish_at_end = Some(2);
            let server = TestServer::start(b).await;
            let mut config = config();
            config.chunking = chunking;
            let ep = Endpoint::new("127.0.0.1", server.port(), config);
            let mut transport = Transport::new(ep);
            transport
                .send(envelope(&["a@test.example"]), message(1))
                .await
                .unwrap();
            let result = transport
                .send(envelope(&["a@test.example"]), message(2))
                .await;
            let Err(Error::Interrupted(i)) = result else {
                panic!("message 2: {result:?}");
            };
            assert!(i.maybe_accepted, "{i:?}");
            assert!(i.outcome.content_end_sent);
            let e = Error::Interrupted(i);
            assert!(!e.is_transient());
            assert!(e.to_string().contains("may have been accepted"), "{e}");
            transport
                .send(envelope(&["a@test.example"]), message(3))
                .await
                .unwrap();
            let record = server.record();
            assert_eq!(record.vanished, 1);
            assert_eq!(record.count("Mail"), 3, "message 2 was sent once");
            assert_eq!(record.connections, 2);
        }
    })
    .await;
}

#[tokio::test]
async fn reply_timeout_retries_only_before_the_content_end_rfc5321_4_5_3_2() {
    bounded(async {
        // Without CHUNKING the content waits for 354, so a MAIL never
        // answered means nothing was sent: retried. With BDAT the whole
        // message goes in the first group (RFC 3030 §4): it may have
        // been accepted, so it is not.
        for (chunking, mails) in [(false, 3), (true, 1)] {
            let mut b = Behaviour::smtp();
            b.hold_mail = true;
            let server = TestServer::start(b).await;
            let mut config = config();
            config.chunking = chunking;
            config.timeouts.mail = Duration::from_millis(200);
            let ep = Endpoint::new("127.0.0.1", server.port(), config)
                .reconnect(Reconnect::new(2, Duration::from_millis(10)));
            let mut transport = Transport::new(ep);
            let result = transport
                .send(envelope(&["a@test.example"]), message(1))
                .await;
            let Err(Error::Interrupted(i)) = result else {
                panic!("{result:?}");
            };
            assert_eq!(i.maybe_accepted, chunking);
            assert_eq!(i.outcome.error, Some(esmtp::client::MessageError::Timeout));
            assert_eq!(server.record().count("Mail"), mails, "chunking {chunking}");
        }
    })
    .await;
}

#[tokio::test]
async fn starttls_required_but_not_offered_sends_no_mail_rfc3207_4() {
    bounded(async {
        let server = TestServer::start(Behaviour::smtp()).await;
        let tls = no_roots_tls();
        let result = Transport::connect(endpoint(&server).starttls(tls.clone())).await;
        assert!(
            matches!(result, Err(Error::Tls(TlsError::NotOffered))),
            "{result:?}"
        );
        let mut lazy = Transport::new(endpoint(&server).starttls(tls));
        let result = lazy.send(envelope(&["a@test.example"]), message(1)).await;
        assert!(
            matches!(result, Err(Error::Tls(TlsError::NotOffered))),
            "{result:?}"
        );
        let record = server.record();
        assert_eq!(record.count("Mail"), 0);
        assert!(record.delivered.is_empty());
    })
    .await;
}

/// A client TLS configuration that trusts nothing (for tests that never
/// reach a handshake).
fn no_roots_tls() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    )
}

#[tokio::test]
async fn starttls_then_messages_over_tls_rfc3207() {
    bounded(async {
        let Some((server_tls, client_tls)) = tls_pair() else {
            return;
        };
        let mut b = Behaviour::smtp();
        b.config.extensions.starttls = true;
        b.tls = Some(server_tls);
        let server = TestServer::start(b).await;
        let ep = Endpoint::new("localhost", server.port(), config()).starttls(client_tls.clone());
        let mut transport = Transport::connect(ep).await.unwrap();
        assert!(transport.is_tls());
        for n in 1..=3 {
            transport
                .send(envelope(&["a@test.example"]), message(n))
                .await
                .unwrap();
        }
        transport.quit().await;
        assert_each_once(&server.record(), 3);
        assert_eq!(server.record().count("StartTls"), 1);

        // A certificate that is not trusted: the handshake fails, no mail.
        let ep = Endpoint::new("localhost", server.port(), config()).starttls(no_roots_tls());
        let result = Transport::connect(ep).await;
        assert!(
            matches!(result, Err(Error::Tls(TlsError::Handshake(_)))),
            "{result:?}"
        );
        assert_eq!(server.record().count("Mail"), 3);
    })
    .await;
}

#[tokio::test]
async fn opportunistic_starttls_uses_tls_when_offered_rfc3207() {
    bounded(async {
        let Some((server_tls, client_tls)) = tls_pair() else {
            return;
        };
        let mut b = Behaviour::smtp();
        b.config.extensions.starttls = true;
        b.tls = Some(server_tls);
        let offering = TestServer::start(b).await;
        let plain = TestServer::start(Behaviour::smtp()).await;
        // An IP address to connect to, the certificate's name to check.
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        for (server, tls) in [(&offering, true), (&plain, false)] {
            let ep = Endpoint::new("127.0.0.1", server.port(), config())
                .opportunistic_starttls(client_tls.clone())
                .tls_server_name(name.clone());
            let mut transport = Transport::connect(ep).await.unwrap();
            assert_eq!(transport.is_tls(), tls);
            transport
                .send(envelope(&["a@test.example"]), message(1))
                .await
                .unwrap();
            transport.quit().await;
            assert_each_once(&server.record(), 1);
        }
    })
    .await;
}

#[tokio::test]
async fn implicit_tls_from_the_first_octet_rfc8314_3() {
    bounded(async {
        let Some((server_tls, client_tls)) = tls_pair() else {
            return;
        };
        let mut b = Behaviour::smtp();
        b.tls = Some(server_tls);
        b.implicit_tls = true;
        let server = TestServer::start(b).await;
        let ep = Endpoint::new("localhost", server.port(), config()).implicit_tls(client_tls);
        let mut transport = Transport::connect(ep).await.unwrap();
        assert!(transport.is_tls());
        transport
            .send(envelope(&["a@test.example"]), message(1))
            .await
            .unwrap();
        transport.quit().await;
        assert_each_once(&server.record(), 1);
        assert_eq!(server.record().count("StartTls"), 0);
    })
    .await;
}

#[tokio::test]
async fn auth_refused_in_clear_text_by_default_rfc4954_4() {
    bounded(async {
        let server = TestServer::start(Behaviour::smtp().auth("jane", "secret")).await;
        let creds = ClientCredentials::password("jane", "secret");
        let result = Transport::connect(endpoint(&server).credentials(creds.clone())).await;
        let Err(Error::Auth { error, reply }) = result else {
            panic!("{result:?}");
        };
        assert_eq!(error, AuthError::PlaintextRefused);
        assert!(reply.is_none());
        assert_eq!(server.record().count("Auth"), 0, "no credentials went out");
        assert_eq!(server.record().count("Mail"), 0);

        // Allowed on purpose (a loopback link): AUTH, then mail.
        let mut allowed = config();
        allowed.allow_plaintext_auth = true;
        let ep = Endpoint::new("127.0.0.1", server.port(), allowed.clone()).credentials(creds);
        let mut transport = Transport::connect(ep).await.unwrap();
        transport
            .send(envelope(&["a@test.example"]), message(1))
            .await
            .unwrap();
        transport.quit().await;
        assert_eq!(server.record().count("Auth"), 1);

        // Wrong password: 535, typed.
        let ep = Endpoint::new("127.0.0.1", server.port(), allowed)
            .credentials(ClientCredentials::password("jane", "wrong"));
        let result = Transport::connect(ep).await;
        let Err(Error::Auth { error, reply }) = result else {
            panic!("{result:?}");
        };
        assert_eq!(error, AuthError::InvalidCredentials);
        assert_eq!(code(&reply), Some(535));
        assert_each_once(&server.record(), 1);
    })
    .await;
}

#[tokio::test]
async fn lmtp_one_reply_per_recipient_rfc2033_4_2() {
    bounded(async {
        let server = TestServer::start(Behaviour::lmtp()).await;
        let ep = Endpoint::new("127.0.0.1", server.port(), config().lmtp());
        let mut transport = Transport::connect(ep).await.unwrap();
        let to = [
            "a@test.example",
            "full@test.example",
            "b@test.example",
            "refuse@test.example",
        ];
        let result = transport.send(envelope(&to), message(1)).await;
        let Err(Error::Rejected(outcome)) = result else {
            panic!("{result:?}");
        };
        let r = &outcome.recipients;
        assert_eq!(
            r.iter()
                .map(|r| (code(&r.rcpt), code(&r.content)))
                .collect::<Vec<_>>(),
            [
                (Some(250), Some(250)),
                (Some(250), Some(452)),
                (Some(250), Some(250)),
                (Some(550), None)
            ]
        );
        assert_eq!(outcome.delivered().collect::<Vec<_>>(), [0, 2]);
        // Every recipient fine: Ok, one reply each.
        let outcome = transport
            .send(envelope(&["a@test.example", "b@test.example"]), message(2))
            .await
            .unwrap();
        assert!(outcome
            .recipients
            .iter()
            .all(|r| code(&r.content) == Some(250)));
        transport.quit().await;
        assert_each_once(&server.record(), 2);
    })
    .await;
}

async fn pool_run(server: &TestServer, pool: &Pool, tasks: usize, each: usize) {
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let pool = pool.clone();
        set.spawn(async move {
            for i in 0..each {
                let n = t * each + i + 1;
                let outcome: MessageOutcome = pool
                    .send(envelope(&["a@test.example"]), message(n))
                    .await
                    .unwrap_or_else(|e| panic!("message {n}: {e}"));
                assert!(outcome.all_delivered());
            }
        });
    }
    // The pool's own count, sampled while the senders run.
    let watch = pool.clone();
    let monitor = tokio::spawn(async move {
        let mut most = 0;
        loop {
            most = most.max(watch.connections());
            if most > 4 {
                return most;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    });
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    monitor.abort();
    if let Ok(most) = monitor.await {
        panic!("{most} connections open at once");
    }
    // The server may still be closing a replaced connection as the new
    // one arrives: one more than the pool's limit at most.
    let record = server.record();
    assert!(record.max_open <= 5, "{record:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_concurrent_sends_each_delivered_once() {
    bounded(async {
        let mut b = Behaviour::smtp();
        // One pooled connection gets a 421 on the way: it is replaced.
        b.shutdown_after = Some(77);
        let server = TestServer::start(b).await;
        let pool = Pool::new(
            endpoint(&server),
            PoolConfig::new(4, Duration::from_secs(60)),
        );
        pool_run(&server, &pool, 20, 10).await;
        assert_eq!(pool.connections(), 4, "every slot used, none closed");
        assert!(pool.connections() <= 4);
        pool.close().await;
        assert_eq!(pool.connections(), 0);
        assert_each_once(&server.record(), 200);
        let record = server.record();
        assert_eq!(record.count("Mail"), 201, "one MAIL got the 421");
        assert!(
            record.connections >= 2 && record.connections <= 5,
            "{record:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn pool_closes_idle_connections_past_the_idle_timeout() {
    bounded(async {
        let server = TestServer::start(Behaviour::smtp()).await;
        let pool = Pool::new(
            endpoint(&server),
            PoolConfig::new(2, Duration::from_millis(100)),
        );
        pool.send(envelope(&["a@test.example"]), message(1))
            .await
            .unwrap();
        pool.send(envelope(&["a@test.example"]), message(2))
            .await
            .unwrap();
        assert_eq!(server.record().connections, 1, "reused while fresh");
        tokio::time::sleep(Duration::from_millis(300)).await;
        pool.send(envelope(&["a@test.example"]), message(3))
            .await
            .unwrap();
        assert_eq!(server.record().connections, 2, "a new one after expiry");
        // The expired one was closed with QUIT, on a task of its own.
        let closed = async {
            while server.record().open > 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(WAIT, closed).await.unwrap();
        assert_eq!(pool.connections(), 1);
        pool.close().await;
        assert_each_once(&server.record(), 3);
    })
    .await;
}

#[tokio::test]
async fn connect_errors_are_typed() {
    bounded(async {
        // A port nobody listens on.
        let port = common::free_port();
        let ep = Endpoint::new("127.0.0.1", port, config());
        let result = Transport::connect(ep).await;
        let Err(e @ Error::Connect { .. }) = result else {
            panic!("{result:?}");
        };
        assert!(e.is_transient());
        // An envelope without a recipient is the caller's error.
        let server = TestServer::start(Behaviour::smtp()).await;
        let mut transport = Transport::connect(endpoint(&server)).await.unwrap();
        let result = transport.send(envelope(&[]), message(1)).await;
        assert!(matches!(result, Err(Error::Api(_))), "{result:?}");
        // The connection is still good.
        transport
            .send(envelope(&["a@test.example"]), message(1))
            .await
            .unwrap();
        assert_eq!(server.record().connections, 1);
    })
    .await;
}

/// A large message with dot-led lines, sent whole over DATA or BDAT, in
/// clear text or TLS: what the server stored is what was given (RFC 5321
/// §4.5.2 stuffing undone; BDAT as is).
#[tokio::test]
async fn large_content_arrives_byte_exact_rfc5321_4_5_2() {
    bounded(async {
        let mut content = b"Subject: big\r\n\r\n".to_vec();
        for i in 0..20_000 {
            content.extend_from_slice(format!(".line {i} with a leading dot\r\n").as_bytes());
        }
        let tls = tls_pair();
        for chunking in [true, false] {
            for implicit in [false, true] {
                let mut config = config();
                config.chunking = chunking;
                let mut b = Behaviour::smtp();
                let client_tls = match (&tls, implicit) {
                    (_, false) => None,
                    (Some((server_tls, client_tls)), true) => {
                        b.tls = Some(server_tls.clone());
                        b.implicit_tls = true;
                        Some(client_tls.clone())
                    }
                    (None, true) => continue,
                };
                let server = TestServer::start(b).await;
                let mut ep = Endpoint::new("localhost", server.port(), config);
                if let Some(client_tls) = client_tls {
                    ep = ep.implicit_tls(client_tls);
                }
                let mut t = Transport::connect(ep).await.unwrap();
                t.send(envelope(&["a@test.example"]), content.clone())
                    .await
                    .unwrap();
                t.quit().await;
                let stored = server.record().delivered[0].content.clone();
                assert!(stored == content, "chunking {chunking}, TLS {implicit}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn refused_greeting_is_a_protocol_error_rfc5321_3_1() {
    bounded(async {
        let mut b = Behaviour::smtp();
        b.config.ask_on_connect = true;
        b.refuse_connect = true;
        let server = TestServer::start(b).await;
        let result = Transport::connect(endpoint(&server)).await;
        let Err(e @ Error::Protocol { .. }) = result else {
            panic!("{result:?}");
        };
        let Error::Protocol { reason, reply, .. } = &e else {
            unreachable!()
        };
        assert_eq!(*reason, esmtp::client::CloseReason::Refused);
        assert_eq!(code(reply), Some(554));
        assert!(!e.is_transient(), "a 5yz greeting is permanent");
        // Said for a person, not as a Rust variant name.
        let said = e.to_string();
        assert!(
            said.starts_with("the SMTP session failed: the server refused the session (554"),
            "{said}"
        );
        assert_eq!(server.record().count("Mail"), 0);
    })
    .await;
}

#[tokio::test]
async fn a_cancelled_send_leaves_no_connection_in_an_unknown_state() {
    bounded(async {
        let mut b = Behaviour::smtp();
        b.hold_mail = true;
        let server = TestServer::start(b).await;
        let mut transport = Transport::connect(endpoint(&server)).await.unwrap();
        assert!(transport.is_connected());
        let send = transport.send(envelope(&["a@test.example"]), message(1));
        assert!(tokio::time::timeout(Duration::from_millis(100), send)
            .await
            .is_err());
        // Half a transaction may be on the wire: never reused.
        assert!(!transport.is_connected());
    })
    .await;
}
