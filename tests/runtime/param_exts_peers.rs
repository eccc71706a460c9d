//! The client against real servers that offer none of NO-SOLICITING,
//! MTRK, SUBMITTER, CONPERM/CONNEG or UTF8SMTP (aiosmtpd, and Postfix's
//! smtpd, which refuses a parameter it does not know): their parameters
//! are stripped, or the message fails before anything is sent, per the
//! policy and the RFCs.

use crate::common;
use crate::runtime_client_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use esmtp::client::{Envelope, MessageError, ParamPolicy};
use esmtp::ehlo::Keyword;
use esmtp::ext::mtrk::Mtrk;
use esmtp::ext::no_soliciting::Solicit;
use esmtp::params::RcptParams;
use esmtp::runtime::client::{Endpoint, Error, Transport};
use esmtp::values::{Mailbox, XText};
use runtime_client_support::{config, envelope, WAIT};

/// Bounds every test: nothing here may hang the suite.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("the test finished in time")
}

fn strip() -> esmtp::client::ClientConfig {
    let mut c = config();
    c.unsupported_params = ParamPolicy::Strip;
    c
}

/// An envelope with SOLICIT=, MTRK= and its ENVID=, SUBMITTER=,
/// ALT-ADDRESS= on MAIL and RCPT, and CONNEG.
fn everything() -> Envelope {
    let mut e = envelope(&[]);
    e.params.envid = Some(XText::new("QQ314159@client.test.example"));
    let x = e.params.extras_mut();
    x.solicit = Some(Solicit::new("org.example:ADV").unwrap());
    x.mtrk = Some(Mtrk::new("2aAb+/c9Q2hZrH0E5XvuBb8YLqY=", Some(3600)).unwrap());
    x.submitter = Some(Mailbox::parse("sender@test.example").unwrap().into_owned());
    x.alt_address = Some(XText::new("sender@test.example"));
    let mut rp = RcptParams::default();
    rp.conneg = true;
    rp.extras_mut().alt_address = Some(XText::new("a@test.example"));
    e.to_with(Mailbox::parse("a@test.example").unwrap().into_owned(), rp)
}

const MESSAGE: &str = "Subject: stripped\r\n\r\nHello.\r\n";

const KEYWORDS: [&str; 6] = [
    "SOLICIT",
    "MTRK",
    "SUBMITTER",
    "ALT-ADDRESS",
    "CONNEG",
    "CONPERM",
];

#[tokio::test]
async fn aiosmtpd_gets_the_message_without_the_parameters_it_does_not_offer() {
    let Some(peer) = common::aiosmtpd::Aiosmtpd::start() else {
        return;
    };
    bounded(async {
        // Fail, the default: nothing is sent for the message (DSN's
        // ENVID is the first parameter found missing, then SOLICIT).
        let ep = Endpoint::new("127.0.0.1", peer.port(), config());
        let mut t = Transport::connect(ep).await.unwrap();
        match t.send(everything(), MESSAGE).await {
            Err(Error::Message(MessageError::ExtensionUnsupported(Keyword::Dsn))) => {}
            other => panic!("{other:?}"),
        }
        let mut e = everything();
        e.params.envid = None;
        e.params.extras_mut().mtrk = None;
        match t.send(e, MESSAGE).await {
            Err(Error::Message(MessageError::ExtensionUnsupported(Keyword::NoSoliciting))) => {}
            other => panic!("{other:?}"),
        }
        // CONPERM is never stripped (RFC 4141 §4.2).
        let mut e = envelope(&["a@test.example"]);
        e.params.conperm = true;
        match t.send(e, MESSAGE).await {
            Err(Error::Message(MessageError::ExtensionUnsupported(Keyword::ConPerm))) => {}
            other => panic!("{other:?}"),
        }
        t.quit().await;
        // Strip: the message goes, without them (RFC 3885 §3.3, RFC
        // 4405 §4.3); aiosmtpd offers no DSN, so ENVID goes too.
        let ep = Endpoint::new("127.0.0.1", peer.port(), strip());
        let mut t = Transport::connect(ep).await.unwrap();
        let outcome = t.send(everything(), MESSAGE).await.unwrap();
        assert!(outcome.all_delivered());
        t.quit().await;
    })
    .await;
    let got = peer.wait_for_messages(1, WAIT);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.content, MESSAGE.as_bytes());
    assert_eq!(m.rcpt_tos, ["a@test.example"]);
    assert!(m.rcpt_options.is_empty(), "{:?}", m.rcpt_options);
    for o in &m.mail_options {
        assert!(
            !KEYWORDS
                .iter()
                .any(|k| o.to_ascii_uppercase().starts_with(k))
                && !o.starts_with("ENVID"),
            "{o} sent"
        );
    }
}

/// One command and its reply's first line, over a raw connection.
fn exchange(w: &mut TcpStream, r: &mut BufReader<TcpStream>, line: &str) -> String {
    w.write_all(line.as_bytes()).unwrap();
    read_reply(r)
}

fn read_reply(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            return all;
        }
        all.push_str(&l);
        if l.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

#[tokio::test]
async fn postfix_refuses_what_it_does_not_offer_so_the_client_strips_it() {
    let Some(pf) = common::postfix::PostfixSmtpd::start() else {
        return;
    };
    // What Postfix does with these parameters when a client sends them
    // anyway (RFC 5321 §4.1.1.11).
    let port = pf.port();
    let raw = tokio::task::spawn_blocking(move || {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        read_reply(&mut r);
        let ehlo = exchange(&mut w, &mut r, "EHLO client.test.example\r\n");
        let mail = exchange(
            &mut w,
            &mut r,
            "MAIL FROM:<sender@test.example> SOLICIT=org.example:ADV\r\n",
        );
        exchange(&mut w, &mut r, "QUIT\r\n");
        (ehlo, mail)
    })
    .await
    .unwrap();
    for kw in [
        "NO-SOLICITING",
        "MTRK",
        "SUBMITTER",
        "CONPERM",
        "CONNEG",
        "UTF8SMTP",
    ] {
        assert!(!raw.0.contains(kw), "Postfix offers {kw}: {}", raw.0);
    }
    assert!(raw.1.starts_with("555 5.5.4"), "{}", raw.1);
    bounded(async {
        let ep = Endpoint::new("127.0.0.1", pf.port(), strip());
        let mut t = Transport::connect(ep).await.unwrap();
        let outcome = t.send(everything(), MESSAGE).await.unwrap();
        assert!(outcome.all_delivered(), "{outcome:?}");
        t.quit().await;
    })
    .await;
    let stored = pf.messages();
    assert_eq!(stored.len(), 1, "{}", pf.maillog());
    assert_eq!(stored[0].recipients, ["a@test.example"]);
    assert_eq!(stored[0].content, MESSAGE.as_bytes());
}
