//! The client machine against the server machine in memory for
//! NO-SOLICITING (RFC 3865), MTRK (RFC 3885), SUBMITTER (RFC 4405),
//! CONPERM/CONNEG (RFC 4141), the legacy UTF8SMTP (RFC 5336), VERB/ONEX
//! and SEND/SOML/SAML (RFC 821 §3.4): every extension offered, none
//! offered, some offered; and a property test that what the client is
//! given is what the server hands its application.

use crate::client_support;
use crate::strategies;

use std::cell::RefCell;
use std::rc::Rc;

use client_support::*;
use esmtp::client::{ApiError, Envelope, Event, MessageError, ParamPolicy};
use esmtp::command::{SendMode, Verb};
use esmtp::ehlo::Keyword;
use esmtp::ext::mtrk::Mtrk;
use esmtp::ext::no_soliciting::{self, Solicit};
use esmtp::ext::{conneg, submitter};
use esmtp::params::{MailParams, RcptParams};
use esmtp::reply::Reply;
use esmtp::server::{self, ServerConfig};
use esmtp::values::{ForwardPath, ReversePath, XText};
use proptest::prelude::*;

/// Every extension of this file offered.
fn all_on() -> ServerConfig {
    let mut c = server_config();
    let e = &mut c.extensions;
    e.no_soliciting = Some(Some(Solicit::new("net.example:ADV").unwrap()));
    e.mtrk = true;
    e.submitter = true;
    e.conperm = true;
    e.conneg = true;
    e.utf8smtp = true;
    e.verb = true;
    e.onex = true;
    e.send = true;
    c
}

fn strip() -> esmtp::client::ClientConfig {
    let mut c = client_config();
    c.unsupported_params = ParamPolicy::Strip;
    c
}

/// What the server's application saw of each MAIL and RCPT.
#[derive(Default)]
struct Seen {
    mail: Vec<(ReversePath<'static>, MailParams<'static>, Option<SendMode>)>,
    rcpt: Vec<(ForwardPath<'static>, RcptParams<'static>)>,
}

/// A pair whose server application records MAIL and RCPT and answers
/// each RCPT with `rcpt_reply` (accepts when `None`).
fn recording(
    client: esmtp::client::ClientConfig,
    server: ServerConfig,
    rcpt_reply: Option<Reply<'static>>,
) -> (Pair, Rc<RefCell<Seen>>) {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let s = Rc::clone(&seen);
    let pair = Pair::new(client, server).with_policy(move |e| {
        match e {
            server::Event::Mail { from, params, send } => {
                // The client adds SIZE= itself (RFC 1870): not the caller's.
                let mut params = params.clone();
                params.size = None;
                s.borrow_mut().mail.push((from.clone(), params, *send))
            }
            server::Event::Rcpt { to, params } => {
                s.borrow_mut().rcpt.push((to.clone(), params.clone()));
                if let Some(r) = &rcpt_reply {
                    return Decision::Respond(r.clone());
                }
            }
            _ => {}
        }
        Decision::Accept
    });
    (pair, seen)
}

fn send(p: &mut Pair, e: Envelope) {
    p.client
        .submit(e, &b"Subject: x\r\n\r\nHi\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
}

/// An envelope with every parameter of this file: SOLICIT=, MTRK= with
/// its ENVID=, SUBMITTER=, ALT-ADDRESS= on MAIL and RCPT, CONNEG.
fn everything() -> Envelope {
    let mut e = envelope(&[]);
    e.params.envid = Some(XText::new("QQ314159@client.example"));
    let x = e.params.extras_mut();
    x.solicit = Some(Solicit::new("org.example:ADV:ADLT").unwrap());
    x.mtrk = Some(Mtrk::new("2aAb+/c9Q2hZrH0E5XvuBb8YLqY=", Some(3600)).unwrap());
    x.submitter = Some(mailbox("secretary@example.com"));
    x.alt_address = Some(XText::new("a@example.org"));
    let mut rp = RcptParams::default();
    rp.conneg = true;
    rp.extras_mut().alt_address = Some(XText::new("b@example.org"));
    e.to_with(to("b@example.org"), rp)
}

// ---- all offered, none offered, some offered ----

#[test]
fn every_extension_offered_every_parameter_typed() {
    let (mut p, seen) = recording(client_config(), all_on(), None);
    send(&mut p, everything().with_send_mode(SendMode::Saml));
    assert!(p.outcomes()[0].all_delivered(), "{:?}", p.outcomes());
    let seen = seen.borrow();
    let (_, mail, mode) = &seen.mail[0];
    assert_eq!(*mode, Some(SendMode::Saml));
    assert_eq!(mail, &everything().params);
    assert_eq!(seen.rcpt[0].1, everything().recipients[0].params);
    assert!(p
        .c2s_text()
        .starts_with("EHLO client.example\r\nSAML FROM:<a@example.org> "));
}

#[test]
fn no_extension_offered_every_parameter_stripped() {
    let (mut p, seen) = recording(strip(), server_config(), None);
    send(&mut p, everything());
    assert!(p.outcomes()[0].all_delivered(), "{:?}", p.outcomes());
    let seen = seen.borrow();
    // Only ENVID, whose DSN the default server offers, is left.
    let mut want = MailParams::default();
    want.envid = everything().params.envid;
    assert_eq!(seen.mail[0].1, want);
    assert_eq!(seen.rcpt[0].1, RcptParams::default());
    for kw in ["SOLICIT", "MTRK", "SUBMITTER", "ALT-ADDRESS", "CONNEG"] {
        assert!(!p.c2s_text().contains(kw), "{kw} sent");
    }
}

#[test]
fn no_extension_offered_fails_before_anything_is_sent_by_default() {
    let (mut p, seen) = recording(client_config(), server_config(), None);
    send(&mut p, everything());
    // The first extension in the negotiation's order that is missing.
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::NoSoliciting))
    );
    assert!(seen.borrow().mail.is_empty());
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn some_extensions_offered_the_others_stripped() {
    let mut s = server_config();
    s.extensions.no_soliciting = Some(None);
    s.extensions.submitter = true;
    s.extensions.conneg = true;
    let (mut p, seen) = recording(strip(), s, None);
    send(&mut p, everything());
    assert!(p.outcomes()[0].all_delivered());
    let seen = seen.borrow();
    let mail = &seen.mail[0].1;
    assert_eq!(mail.extras().solicit, everything().params.extras().solicit);
    assert_eq!(
        mail.extras().submitter,
        everything().params.extras().submitter
    );
    assert!(mail.extras().mtrk.is_none() && mail.extras().alt_address.is_none());
    let rcpt = &seen.rcpt[0].1;
    assert!(rcpt.conneg && rcpt.extras().alt_address.is_none());
}

// ---- NO-SOLICITING (RFC 3865) ----

#[test]
fn client_reads_the_servers_solicitation_keywords_rfc3865_2_1() {
    let mut p = Pair::new(client_config(), all_on());
    p.client.quit();
    p.run();
    let caps = p.client_events.iter().find_map(|e| match e {
        Event::Capabilities(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(
        caps.unwrap().no_soliciting_keywords(),
        Some("net.example:ADV")
    );
}

#[test]
fn solicit_refused_with_5_7_1_rfc3865_2_4() {
    let policy = Solicit::new("net.example:ADV").unwrap();
    let mut p = Pair::new(client_config(), all_on()).with_policy(move |e| match e {
        server::Event::Mail { params, .. } => {
            match params
                .extras()
                .solicit
                .as_ref()
                .and_then(|s| s.matched_by(&policy))
            {
                Some(m) => Decision::Respond(no_soliciting::refusal(&m).unwrap()),
                None => Decision::Accept,
            }
        }
        _ => Decision::Accept,
    });
    let mut e = envelope(&["b@example.org"]);
    e.params.extras_mut().solicit = Some(Solicit::new("net.example:ADV,org.example:X").unwrap());
    send(&mut p, e);
    let o = &p.outcomes()[0];
    assert!(!o.all_delivered());
    let r = &o.mail[0];
    assert_eq!(
        (r.code().get(), r.enhanced().unwrap().to_string()),
        (550, "5.7.1".into())
    );
    assert_eq!(r.text(), "SOLICIT=net.example:ADV Solicitation refused");
    assert!(p.stored.is_empty());
}

#[test]
fn solicit_sent_only_when_offered_rfc3865_2_3() {
    let mut e = envelope(&["b@example.org"]);
    e.params.extras_mut().solicit = Some(Solicit::new("org.example:ADV").unwrap());
    let mut p = Pair::new(client_config(), all_on());
    send(&mut p, e.clone());
    assert!(p.c2s_text().contains(" SOLICIT=org.example:ADV\r\n"));
    let mut p = Pair::new(client_config(), server_config());
    send(&mut p, e.clone());
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::NoSoliciting))
    );
    let mut p = Pair::new(strip(), server_config());
    send(&mut p, e);
    assert!(p.outcomes()[0].all_delivered());
    assert!(!p.c2s_text().contains("SOLICIT"));
}

// ---- MTRK (RFC 3885) ----

#[test]
fn mtrk_needs_a_unique_envid_locally_rfc3885_3_2() {
    let mut p = Pair::new(client_config(), all_on());
    let mut e = envelope(&["b@example.org"]);
    e.params.extras_mut().mtrk = Some(Mtrk::new("QUJD", None).unwrap());
    assert!(matches!(
        p.client.submit(e.clone(), &b"x\r\n"[..]),
        Err(ApiError::ParamDependency(_))
    ));
    e.params.envid = Some(XText::new("no-host-part"));
    assert!(matches!(
        p.client.submit(e.clone(), &b"x\r\n"[..]),
        Err(ApiError::ParamDependency(_))
    ));
    e.params.envid = Some(XText::new("1@client.example"));
    p.client.submit(e, &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    assert!(p.outcomes()[0].all_delivered());
    assert!(p
        .c2s_text()
        .contains(" ENVID=1@client.example MTRK=QUJD\r\n"));
}

#[test]
fn mtrk_deleted_for_a_server_without_it_rfc3885_3_3() {
    let mut e = envelope(&["b@example.org"]);
    e.params.envid = Some(XText::new("1@client.example"));
    e.params.extras_mut().mtrk = Some(Mtrk::new("QUJD", Some(60)).unwrap());
    let mut p = Pair::new(strip(), server_config());
    send(&mut p, e.clone());
    assert!(p.outcomes()[0].all_delivered());
    let t = p.c2s_text();
    // "If the downstream MTA is DSN-compliant, then the ENVID and ORCPT
    // parameters MUST NOT be deleted."
    assert!(
        t.contains("ENVID=1@client.example") && !t.contains("MTRK"),
        "{t}"
    );
    let mut p = Pair::new(client_config(), server_config());
    send(&mut p, e);
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Mtrk))
    );
}

#[test]
fn mtrk_not_sent_when_its_envid_was_stripped_rfc3885_3_2() {
    // A server offering MTRK but not DSN (not this crate's: it offers
    // MTRK with DSN only).
    let mut s = Script::new(strip());
    let mut e = envelope(&["b@example.org"]);
    e.params.envid = Some(XText::new("1@client.example"));
    e.params.extras_mut().mtrk = Some(Mtrk::new("QUJD", None).unwrap());
    s.client.submit(e, &b"x\r\n"[..]).unwrap();
    assert_eq!(s.feed(b"220 mx ESMTP\r\n"), "EHLO client.example\r\n");
    let out = s.feed(b"250-mx\r\n250 MTRK\r\n");
    assert_eq!(out, "MAIL FROM:<a@example.org>\r\n");
}

// ---- SUBMITTER (RFC 4405) ----

#[test]
fn submitter_sent_when_offered_typed_at_the_server_rfc4405_4_1() {
    let mut e = envelope(&["b@example.org"]);
    e.params.extras_mut().submitter = Some(mailbox("a+b@example.com"));
    let (mut p, seen) = recording(client_config(), all_on(), None);
    send(&mut p, e);
    assert!(p.c2s_text().contains("SUBMITTER=a+2Bb@example.com"));
    let seen = seen.borrow();
    let got = seen.mail[0].1.extras().submitter.clone().unwrap();
    assert_eq!(got, mailbox("a+b@example.com"));
}

#[test]
fn submitter_not_allowed_reaches_the_client_rfc4405_4_2() {
    let mut p = Pair::new(client_config(), all_on()).with_policy(|e| match e {
        server::Event::Mail { .. } => {
            let m = submitter::NOT_ALLOWED;
            Decision::Respond(Reply::single(m.code(), Some(m.enhanced()), m.text()).unwrap())
        }
        _ => Decision::Accept,
    });
    let mut e = envelope(&["b@example.org"]);
    e.params.extras_mut().submitter = Some(mailbox("a@example.com"));
    send(&mut p, e);
    let r = &p.outcomes()[0].mail[0];
    assert_eq!(r.code().get(), 550);
    assert_eq!(r.text(), "Submitter not allowed");
}

#[test]
fn submitter_dropped_for_a_server_without_it_whatever_the_policy_rfc4405_4_3() {
    let mut e = envelope(&["b@example.org"]);
    e.params.extras_mut().submitter = Some(mailbox("a@example.com"));
    // ParamPolicy::Fail, the default: SUBMITTER is dropped all the same.
    let mut p = Pair::new(client_config(), server_config());
    send(&mut p, e);
    assert!(p.outcomes()[0].all_delivered());
    assert!(!p.c2s_text().contains("SUBMITTER"));
}

// ---- CONPERM / CONNEG (RFC 4141) ----

#[test]
fn conperm_message_asks_conneg_on_each_rcpt_rfc4141_5_2() {
    let caps = ["(&(type=image/tiff)(color=binary))"];
    let reply = conneg::rcpt_reply(None, "Recipient OK", caps).unwrap();
    let (mut p, seen) = recording(client_config(), all_on(), Some(reply));
    let mut e = envelope(&["b@example.org", "c@example.org"]);
    e.params.conperm = true;
    send(&mut p, e);
    let o = &p.outcomes()[0];
    assert!(o.all_delivered());
    assert!(seen.borrow().mail[0].1.conperm);
    assert!(seen.borrow().rcpt.iter().all(|(_, r)| r.conneg));
    assert!(p.c2s_text().contains("RCPT TO:<c@example.org> CONNEG\r\n"));
    let got: Vec<_> = conneg::capabilities(o.recipients[0].rcpt.as_ref().unwrap()).collect();
    assert_eq!(got, caps);
}

#[test]
fn conperm_without_conneg_sends_the_content_as_it_is_rfc4141_3_2() {
    let mut s = all_on();
    s.extensions.conneg = false;
    let (mut p, seen) = recording(client_config(), s, None);
    let mut e = envelope(&["b@example.org"]);
    e.params.conperm = true;
    send(&mut p, e);
    assert!(p.outcomes()[0].all_delivered());
    assert!(!seen.borrow().rcpt[0].1.conneg);
    assert!(p.c2s_text().contains(" CONPERM\r\n"));
}

#[test]
fn conperm_to_a_server_without_it_permanently_rejected_rfc4141_4_2() {
    let mut e = envelope(&["b@example.org"]);
    e.params.conperm = true;
    // Whatever the policy: stripping would drop the originator's
    // requirement.
    let mut p = Pair::new(strip(), server_config());
    send(&mut p, e);
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::ConPerm))
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn conneg_alone_only_when_offered_rfc4141_5_2() {
    let mut rp = RcptParams::default();
    rp.conneg = true;
    let e = envelope(&[]).to_with(to("b@example.org"), rp);
    let mut p = Pair::new(client_config(), all_on());
    send(&mut p, e.clone());
    assert!(p.c2s_text().contains("RCPT TO:<b@example.org> CONNEG"));
    let mut p = Pair::new(client_config(), server_config());
    send(&mut p, e.clone());
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::ConNeg))
    );
    let mut p = Pair::new(strip(), server_config());
    send(&mut p, e);
    assert!(p.outcomes()[0].all_delivered());
    assert!(!p.c2s_text().contains("CONNEG"));
}

// ---- UTF8SMTP (RFC 5336) ----

fn utf8_envelope() -> Envelope {
    Envelope::new(mailbox("jäne@example.org")).to(mailbox("bøb@example.net"))
}

#[test]
fn server_offering_only_utf8smtp_gets_the_legacy_form_rfc5336_3_2() {
    let mut s = all_on();
    s.extensions.smtputf8 = false;
    let (mut p, seen) = recording(client_config(), s, None);
    send(&mut p, utf8_envelope());
    assert!(p.outcomes()[0].all_delivered(), "{:?}", p.outcomes());
    assert!(!p.c2s_text().contains("SMTPUTF8"));
    assert!(p.c2s_text().contains("MAIL FROM:<jäne@example.org>"));
    assert!(!seen.borrow().mail[0].1.smtputf8);
}

#[test]
fn smtputf8_preferred_when_both_are_offered_rfc6531_3_4() {
    let (mut p, seen) = recording(client_config(), all_on(), None);
    send(&mut p, utf8_envelope());
    assert!(p.outcomes()[0].all_delivered());
    assert!(seen.borrow().mail[0].1.smtputf8);
    assert!(p.c2s_text().contains(" SMTPUTF8"));
}

#[test]
fn neither_offered_fails_locally_rfc5336_3_2() {
    let mut s = server_config();
    s.extensions.smtputf8 = false;
    let mut p = Pair::new(client_config(), s);
    send(&mut p, utf8_envelope());
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::SmtpUtf8Unsupported)
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn alt_address_only_to_a_utf8smtp_server_rfc5336_3_4() {
    let mut rp = RcptParams::default();
    rp.extras_mut().alt_address = Some(XText::new("bob@example.net"));
    let mut e = Envelope::new(mailbox("jäne@example.org")).to_with(to("bøb@example.net"), rp);
    e.params.extras_mut().alt_address = Some(XText::new("jane@example.org"));
    let mut s = all_on();
    s.extensions.smtputf8 = false;
    let (mut p, seen) = recording(client_config(), s, None);
    send(&mut p, e.clone());
    assert!(p.outcomes()[0].all_delivered());
    let seen = seen.borrow();
    assert_eq!(
        seen.mail[0]
            .1
            .extras()
            .alt_address
            .as_ref()
            .unwrap()
            .as_str(),
        "jane@example.org"
    );
    assert_eq!(
        seen.rcpt[0]
            .1
            .extras()
            .alt_address
            .as_ref()
            .unwrap()
            .as_str(),
        "bob@example.net"
    );
    // SMTPUTF8 (RFC 6531) has no ALT-ADDRESS.
    let mut p = Pair::new(client_config(), server_config());
    send(&mut p, e.clone());
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Utf8Smtp))
    );
    let mut p = Pair::new(strip(), server_config());
    send(&mut p, e);
    assert!(p.outcomes()[0].all_delivered());
    assert!(!p.c2s_text().contains("ALT-ADDRESS"));
}

#[test]
fn trace_protocol_names_the_legacy_extension_too_rfc5336_3_7_3() {
    // The application's view of a legacy transaction: no SMTPUTF8
    // parameter, a UTF-8 path; both are "UTF8SMTP" in `with`.
    let utf8 = |from: &ReversePath<'_>, p: &MailParams<'_>| p.smtputf8 || !from.is_ascii();
    let mut s = all_on();
    s.extensions.smtputf8 = false;
    let (mut p, seen) = recording(client_config(), s, None);
    send(&mut p, utf8_envelope());
    let (from, params, _) = &seen.borrow().mail[0];
    assert_eq!(
        esmtp::trace::protocol(
            esmtp::server::HelloVerb::Ehlo,
            false,
            false,
            utf8(from, params)
        ),
        "UTF8SMTP"
    );
}

// ---- VERB and ONEX ----

#[test]
fn verb_and_onex_sent_only_when_offered() {
    let mut p = Pair::new(client_config(), all_on());
    // Before the capabilities are known: refused locally.
    assert_eq!(p.client.verb(), Err(ApiError::NotOffered("VERB")));
    p.run();
    p.client.verb().unwrap();
    p.client.onex().unwrap();
    p.client
        .submit(envelope(&["b@example.org"]), &b"x\r\n"[..])
        .unwrap();
    p.client
        .submit(envelope(&["b@example.org"]), &b"y\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    let replies: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::CommandReply { verb, reply } => Some((*verb, reply.code().get())),
            _ => None,
        })
        .collect();
    assert_eq!(replies, [(Verb::Verb, 250), (Verb::Onex, 250)]);
    assert!(p.server.is_closed());
    let o = p.outcomes();
    // The server holds the client to its word: one transaction.
    assert!(o[0].all_delivered());
    assert_eq!(o[1].mail[0].code().get(), 503);
    let mut p = Pair::new(client_config(), server_config());
    p.run();
    assert_eq!(p.client.verb(), Err(ApiError::NotOffered("VERB")));
    assert_eq!(p.client.onex(), Err(ApiError::NotOffered("ONEX")));
}

// ---- SEND, SOML, SAML (RFC 821 §3.4) ----

#[test]
fn send_soml_saml_sent_when_offered_rfc821_3_4() {
    for mode in [SendMode::Send, SendMode::Soml, SendMode::Saml] {
        let (mut p, seen) = recording(client_config(), all_on(), None);
        send(&mut p, envelope(&["b@example.org"]).with_send_mode(mode));
        assert!(p.outcomes()[0].all_delivered());
        assert_eq!(seen.borrow().mail[0].2, Some(mode));
        let verb = esmtp::ext::rfc821::keyword(mode).name();
        assert!(p
            .c2s_text()
            .contains(&format!("{verb} FROM:<a@example.org>")));
    }
}

#[test]
fn send_not_offered_fails_locally_whatever_the_policy_rfc5321_app_f_6() {
    let mut p = Pair::new(strip(), server_config());
    send(
        &mut p,
        envelope(&["b@example.org"]).with_send_mode(SendMode::Soml),
    );
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Soml))
    );
    assert!(!p.c2s_text().contains("SOML") && !p.c2s_text().contains("MAIL"));
}

#[test]
fn send_partly_offered_rfc5321_app_f_6() {
    // A server that offers SEND only.
    let mut s = Script::new(client_config());
    let e = || envelope(&["b@example.org"]);
    s.client
        .submit(e().with_send_mode(SendMode::Saml), &b"x\r\n"[..])
        .unwrap();
    s.client
        .submit(e().with_send_mode(SendMode::Send), &b"x\r\n"[..])
        .unwrap();
    s.feed(b"220 mx ESMTP\r\n");
    let out = s.feed(b"250-mx\r\n250 SEND\r\n");
    assert_eq!(out, "SEND FROM:<a@example.org>\r\n");
    assert_eq!(
        s.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Saml))
    );
}

// ---- round trip: what the client is given, the application gets ----

fn solicit() -> impl Strategy<Value = Solicit<'static>> {
    proptest::collection::vec("[a-zA-Z][a-zA-Z0-9._:-]{0,15}", 1..4)
        .prop_map(|ws| Solicit::new(ws.join(",")).unwrap())
}

fn alt_address() -> impl Strategy<Value = XText<'static>> {
    strategies::mailbox().prop_map(|m| XText::new(m.to_string()))
}

fn send_mode() -> impl Strategy<Value = Option<SendMode>> {
    prop_oneof![
        Just(None),
        Just(Some(SendMode::Send)),
        Just(Some(SendMode::Soml)),
        Just(Some(SendMode::Saml)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every parameter form of these extensions, and the transaction
    /// verbs, written by the client and read by the server into the same
    /// typed values (RFC 3865 §2.3, RFC 3885 §3.1, RFC 4405 §4, RFC 4141
    /// §4.3 and §5.3, RFC 5336 §3.4, RFC 821 §3.4).
    #[test]
    fn client_to_application_round_trip(
        solicit in proptest::option::of(solicit()),
        mtrk in proptest::option::of(strategies::mtrk()),
        submitter in proptest::option::of(strategies::mailbox()),
        alt in proptest::option::of(alt_address()),
        rcpt_alt in proptest::option::of(alt_address()),
        conperm in any::<bool>(),
        conneg in any::<bool>(),
        mode in send_mode(),
    ) {
        let mut e = envelope(&[]);
        if mtrk.is_some() {
            e.params.envid = Some(XText::new("id@client.example"));
        }
        e.params.conperm = conperm;
        let x = e.params.extras_mut();
        (x.solicit, x.mtrk, x.submitter, x.alt_address) = (solicit, mtrk, submitter, alt);
        let mut rp = RcptParams::default();
        rp.conneg = conneg;
        if rcpt_alt.is_some() {
            rp.extras_mut().alt_address = rcpt_alt;
        }
        let mut e = e.to_with(to("b@example.org"), rp.clone());
        e.send = mode;
        let (mut p, seen) = recording(client_config(), all_on(), None);
        send(&mut p, e.clone());
        prop_assert!(p.outcomes()[0].all_delivered(), "{:?}", p.outcomes());
        let seen = seen.borrow();
        prop_assert_eq!(&seen.mail[0].1, &e.params);
        prop_assert_eq!(seen.mail[0].2, mode);
        // A CONPERM message asks for CONNEG on each RCPT (RFC 4141 §5.2).
        rp.conneg |= conperm;
        prop_assert_eq!(&seen.rcpt[0].1, &rp);
    }

    /// The CONNEG capability lines a server writes are the ones a client
    /// reads back (RFC 4141 §5.2).
    #[test]
    fn conneg_capabilities_round_trip(
        caps in proptest::collection::vec("\\([!-~]{1,30}\\)", 0..5),
        enhanced in any::<bool>(),
    ) {
        let esc = enhanced.then(|| esmtp::values::EnhancedStatusCode::new(2, 1, 5)).flatten();
        let r = conneg::rcpt_reply(esc, "Recipient OK", caps.iter().map(String::as_str)).unwrap();
        let wire = r.to_bytes();
        let opts = esmtp::reply::ReplyParseOptions::new().with_enhanced(enhanced);
        let (parsed, used) = Reply::parse(&wire, &opts).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(conneg::capabilities(&parsed).collect::<Vec<_>>(), caps);
    }

    /// NO-SOLICITING's keyword list and SUBMITTER, written in an EHLO
    /// reply and read back (RFC 3865 §2.1, RFC 4405 §4).
    #[test]
    fn ehlo_keywords_round_trip(keywords in proptest::option::of(solicit()), submitter in any::<bool>()) {
        let mut c = server_config();
        c.extensions.no_soliciting = Some(keywords.clone());
        c.extensions.submitter = submitter;
        let mut p = Pair::new(client_config(), c);
        p.client.quit();
        p.run();
        let caps = p.client.capabilities().cloned().or_else(|| {
            p.client_events.iter().find_map(|e| match e {
                Event::Capabilities(c) => Some(esmtp::ehlo::Capabilities::clone(c)),
                _ => None,
            })
        }).unwrap();
        prop_assert!(caps.supports(Keyword::NoSoliciting));
        prop_assert_eq!(caps.no_soliciting_keywords(), keywords.as_ref().map(Solicit::as_str));
        prop_assert_eq!(caps.supports(Keyword::Submitter), submitter);
    }
}
