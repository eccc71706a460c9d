//! The tokio client runtime against real peers on loopback: aiosmtpd
//! (each of many messages stored once, byte for byte, over one
//! connection) and Postfix's smtp-sink (LMTP replies per recipient; a
//! `421` on every MAIL, retried and then reported as interrupted).

use crate::common;
use crate::runtime_client_support;

use std::time::Duration;

use esmtp::runtime::client::{Endpoint, Error, Reconnect, Transport};
use runtime_client_support::{code, config, envelope, message, WAIT};

/// Bounds every test: nothing here may hang the suite.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("the test finished in time")
}

#[tokio::test]
async fn aiosmtpd_gets_each_message_once_over_one_connection() {
    let Some(peer) = common::aiosmtpd::Aiosmtpd::start() else {
        return;
    };
    bounded(async {
        let ep = Endpoint::new("127.0.0.1", peer.port(), config());
        let mut transport = Transport::connect(ep).await.unwrap();
        for n in 1..=100 {
            transport
                .send(envelope(&["a@test.example", "b@test.example"]), message(n))
                .await
                .unwrap_or_else(|e| panic!("message {n}: {e}"));
        }
        transport.quit().await;
    })
    .await;
    let got = peer.wait_for_messages(100, WAIT);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.content, message(i + 1).as_bytes());
        assert_eq!(m.rcpt_tos, ["a@test.example", "b@test.example"]);
    }
}

#[tokio::test]
async fn smtp_sink_lmtp_replies_per_recipient_rfc2033_4_2() {
    let Some(sink) = common::sink::SmtpSink::builder().arg("-L").start() else {
        return;
    };
    bounded(async {
        let ep = Endpoint::new("127.0.0.1", sink.port(), config().lmtp());
        let mut transport = Transport::connect(ep).await.unwrap();
        for n in 1..=20 {
            let outcome = transport
                .send(
                    envelope(&["a@test.example", "b@test.example", "c@test.example"]),
                    message(n),
                )
                .await
                .unwrap();
            assert_eq!(outcome.recipients.len(), 3);
            assert!(outcome
                .recipients
                .iter()
                .all(|r| code(&r.content) == Some(250)));
        }
        transport.quit().await;
    })
    .await;
}

#[tokio::test]
async fn smtp_sink_421_on_mail_is_retried_then_reported() {
    // smtp-sink -Q MAIL answers every MAIL with 421 and hangs up: each
    // retry meets the same, and the message fails as interrupted, never
    // possibly accepted.
    let Some(sink) = common::sink::SmtpSink::builder()
        .arg("-Q")
        .arg("MAIL")
        .start()
    else {
        return;
    };
    bounded(async {
        let ep = Endpoint::new("127.0.0.1", sink.port(), config())
            .reconnect(Reconnect::new(2, Duration::from_millis(10)));
        let mut transport = Transport::new(ep);
        let result = transport
            .send(envelope(&["a@test.example"]), message(1))
            .await;
        let Err(Error::Interrupted(i)) = result else {
            panic!("{result:?}");
        };
        assert!(!i.maybe_accepted);
        assert!(matches!(
            &i.outcome.error,
            Some(esmtp::client::MessageError::SessionEnded(Some(r))) if r.code().get() == 421
        ));
    })
    .await;
}
