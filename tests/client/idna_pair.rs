//! Internationalised domains (feature `idna`, on in the test build through
//! the crate's dev-dependency on itself): a client delivers an ASCII local
//! part at a U-label domain to a server without SMTPUTF8 by writing the
//! domain's A-labels (RFC 6531 §3.2, RFC 5891 §4). With
//! `ClientConfig::idna` off the client refuses locally, exactly as a
//! build without the feature does (the same code path: the conversion is
//! the only thing the feature adds).
#![cfg(feature = "idna")]

use crate::client_support;

use client_support::*;
use esmtp::client::{Envelope, MessageError};
use esmtp::values::Domain;

fn no_smtputf8() -> esmtp::server::ServerConfig {
    let mut s = server_config();
    s.extensions.smtputf8 = false;
    s
}

fn send(p: &mut Pair, envelope: Envelope) {
    p.client.submit(envelope, &b"hi\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
}

fn u_label_envelope() -> Envelope {
    Envelope::new(mailbox("info@bücher.example")).to(mailbox("kontakt@straße.example"))
}

#[test]
fn u_label_domains_go_as_a_labels_without_smtputf8_rfc6531_3_2() {
    let mut p = Pair::new(client_config(), no_smtputf8());
    send(&mut p, u_label_envelope());
    let c2s = p.c2s_text();
    assert!(
        c2s.contains("MAIL FROM:<info@xn--bcher-kva.example>"),
        "{c2s}"
    );
    assert!(
        c2s.contains("RCPT TO:<kontakt@xn--strae-oqa.example>"),
        "{c2s}"
    );
    assert!(!c2s.contains("SMTPUTF8"), "{c2s}");
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn with_smtputf8_offered_the_u_labels_stay_rfc6531_3_4() {
    let mut p = Pair::new(client_config(), server_config());
    send(&mut p, u_label_envelope());
    let c2s = p.c2s_text();
    let mail = c2s.lines().find(|l| l.starts_with("MAIL")).unwrap();
    assert!(
        mail.starts_with("MAIL FROM:<info@bücher.example> "),
        "{c2s}"
    );
    assert!(mail.ends_with(" SMTPUTF8"), "{c2s}");
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn non_ascii_local_part_still_needs_smtputf8_rfc6530_3() {
    let mut p = Pair::new(client_config(), no_smtputf8());
    send(
        &mut p,
        Envelope::new(mailbox("info@bücher.example")).to(mailbox("jörg@bücher.example")),
    );
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::SmtpUtf8Unsupported)
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn idna_off_refuses_locally_as_without_the_feature() {
    let mut c = client_config();
    c.idna = false;
    let mut p = Pair::new(c, no_smtputf8());
    send(&mut p, u_label_envelope());
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::SmtpUtf8Unsupported)
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn caller_asking_smtputf8_is_not_downgraded_rfc6531_3_4() {
    let mut e = u_label_envelope();
    e.params.smtputf8 = true;
    let mut p = Pair::new(client_config(), no_smtputf8());
    send(&mut p, e);
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::SmtpUtf8Unsupported)
    );
}

#[test]
fn atrn_domains_compare_in_a_label_form_rfc5890_2_3_2_1() {
    let asked = Domain::parse("XN--BCHER-KVA.example").unwrap();
    let held = Domain::parse("bücher.example").unwrap();
    assert!(held.eq_ascii(&asked));
    assert!(!held.eq_ignore_ascii_case(&asked));
}
