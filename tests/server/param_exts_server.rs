//! The server side of NO-SOLICITING (RFC 3865), MTRK (RFC 3885),
//! SUBMITTER (RFC 4405), CONPERM/CONNEG (RFC 4141), the legacy UTF8SMTP
//! (RFC 5336), sendmail's VERB and ONEX, and SEND/SOML/SAML (RFC 821
//! §3.4): what is advertised, what is accepted and handed over typed, and
//! the replies each RFC gives.

use crate::support;

use esmtp::command::SendMode;
use esmtp::ehlo::{Capabilities, Keyword};
use esmtp::ext::no_soliciting::{self, Solicit};
use esmtp::ext::{conneg, submitter};
use esmtp::reply::{Reply, ReplyParseOptions};
use esmtp::server::{Event, ServerConfig};
use esmtp::values::EnhancedStatusCode;
use support::{config, ehlo, final_lines, Driver};

/// Every extension of this file on.
fn all_on() -> ServerConfig {
    let mut c = config();
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

/// The EHLO reply of a session with `config`, parsed.
fn capabilities(config: ServerConfig) -> Capabilities<'static> {
    let mut d = Driver::new(config);
    let out = d.send(b"EHLO client.example\r\n");
    let (reply, _) = Reply::parse(out.as_bytes(), &ReplyParseOptions::new()).unwrap();
    Capabilities::from_reply(&reply).unwrap().into_owned()
}

/// The next decision's event, in a session driven by hand.
fn decision(d: &mut Driver, input: &[u8]) -> Event {
    d.server.receive(input);
    d.until_decision().0.expect("a decision")
}

/// A hand-driven session after EHLO.
fn manual(config: ServerConfig) -> Driver {
    let mut d = Driver::manual(config);
    assert!(matches!(
        decision(&mut d, b"EHLO client.example\r\n"),
        Event::Hello { .. }
    ));
    d.server.accept().unwrap();
    d.take();
    d
}

fn mail_params(e: Event) -> esmtp::params::MailParams<'static> {
    match e {
        Event::Mail { params, .. } => params,
        other => panic!("not MAIL: {other:?}"),
    }
}

fn rcpt_params(e: Event) -> esmtp::params::RcptParams<'static> {
    match e {
        Event::Rcpt { params, .. } => params,
        other => panic!("not RCPT: {other:?}"),
    }
}

#[test]
fn every_keyword_advertised_when_configured_and_none_by_default() {
    let caps = capabilities(all_on());
    for k in [
        Keyword::NoSoliciting,
        Keyword::Mtrk,
        Keyword::Submitter,
        Keyword::ConPerm,
        Keyword::ConNeg,
        Keyword::Utf8Smtp,
        Keyword::SmtpUtf8,
        Keyword::Verb,
        Keyword::Onex,
        Keyword::Send,
        Keyword::Soml,
        Keyword::Saml,
    ] {
        assert!(caps.supports(k), "{k:?} missing");
    }
    let caps = capabilities(config());
    for k in [
        Keyword::NoSoliciting,
        Keyword::Mtrk,
        Keyword::Submitter,
        Keyword::ConPerm,
        Keyword::ConNeg,
        Keyword::Utf8Smtp,
        Keyword::Verb,
        Keyword::Onex,
        Keyword::Send,
    ] {
        assert!(!caps.supports(k), "{k:?} offered by default");
    }
}

// ---- NO-SOLICITING (RFC 3865) ----

#[test]
fn no_soliciting_keywords_in_the_ehlo_reply_rfc3865_2_1() {
    let mut d = Driver::new(all_on());
    let out = d.send(b"EHLO client.example\r\n");
    assert!(
        out.contains("250-NO-SOLICITING net.example:ADV\r\n"),
        "{out}"
    );
    // No keywords: the "no-op" form that still takes SOLICIT= (§2.2).
    let mut c = config();
    c.extensions.no_soliciting = Some(None);
    let caps = capabilities(c);
    assert!(caps.supports(Keyword::NoSoliciting));
    assert_eq!(caps.no_soliciting_keywords(), None);
    let mut d = ehlo({
        let mut c = config();
        c.extensions.no_soliciting = Some(None);
        c
    });
    let out = d.send(b"MAIL FROM:<a@b.example> SOLICIT=org.example:ADV:ADLT\r\n");
    assert_eq!(out, "250 2.1.0 Sender OK\r\n");
}

#[test]
fn solicit_typed_to_the_application_rfc3865_2_3() {
    let mut d = manual(all_on());
    let e = decision(
        &mut d,
        b"MAIL FROM:<save@example.com> SOLICIT=org.example:ADV:ADLT,net.example:ADV\r\n",
    );
    let p = mail_params(e);
    let s = p.extras().solicit.as_ref().expect("SOLICIT= typed");
    assert_eq!(
        s.keywords().collect::<Vec<_>>(),
        ["org.example:ADV:ADLT", "net.example:ADV"]
    );
}

#[test]
fn solicit_refused_with_5_7_1_rfc3865_2_4() {
    let policy = Solicit::new("net.example:ADV").unwrap();
    let mut d = manual(all_on());
    let p = mail_params(decision(
        &mut d,
        b"MAIL FROM:<save@example.com> SOLICIT=org.example:ADV:ADLT,net.example:ADV\r\n",
    ));
    let matched = p
        .extras()
        .solicit
        .as_ref()
        .unwrap()
        .matched_by(&policy)
        .unwrap();
    let refusal = no_soliciting::refusal(&matched).unwrap();
    d.server.respond(&refusal).unwrap();
    assert_eq!(
        d.take(),
        "550 5.7.1 SOLICIT=net.example:ADV Solicitation refused\r\n"
    );
    // The refusal is per recipient too, with the recipient's own classes
    // (§2.3's example).
    let mut d = manual(all_on());
    mail_params(decision(
        &mut d,
        b"MAIL FROM:<save@example.com> SOLICIT=org.example:ADV:ADLT\r\n",
    ));
    d.server.accept().unwrap();
    rcpt_params(decision(
        &mut d,
        b"RCPT TO:<grumpy_old_boy@example.net>\r\n",
    ));
    let own = Solicit::new("org.example:ADV:ADLT").unwrap();
    d.server
        .respond(&no_soliciting::refusal(&own).unwrap())
        .unwrap();
    assert!(d
        .take()
        .ends_with("550 5.7.1 SOLICIT=org.example:ADV:ADLT Solicitation refused\r\n"));
}

#[test]
fn solicit_not_offered_555_rfc5321_4_1_1_11() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example> SOLICIT=net.example:ADV\r\n");
    assert_eq!(out, "555 5.5.4 Parameter not recognized\r\n");
    // A bad keyword list is a bad value whatever is offered (§2.2).
    let mut d = ehlo(all_on());
    let out = d.send(b"MAIL FROM:<a@b.example> SOLICIT=1bad\r\n");
    assert!(out.starts_with("501 5.5.4"), "{out}");
}

// ---- MTRK (RFC 3885) ----

#[test]
fn mtrk_typed_with_its_envid_rfc3885_3_1() {
    let mut d = manual(all_on());
    let p = mail_params(decision(
        &mut d,
        b"MAIL FROM:<a@b.example> ENVID=QQ314159@host.example MTRK=2aAb+/c9Q2hZrH0E5XvuBb8YLqY=:3600\r\n",
    ));
    let m = p.extras().mtrk.as_ref().expect("MTRK= typed");
    assert_eq!(m.certifier(), "2aAb+/c9Q2hZrH0E5XvuBb8YLqY=");
    assert_eq!(m.timeout(), Some(3600));
    assert_eq!(p.envid.as_ref().unwrap().as_str(), "QQ314159@host.example");
}

#[test]
fn mtrk_without_a_unique_envid_refused_rfc3885_3_2() {
    let mut d = ehlo(all_on());
    let out = d.send(b"MAIL FROM:<a@b.example> MTRK=QUJD\r\n");
    assert_eq!(out, "501 5.5.4 MTRK requires ENVID\r\n");
    let out = d.send(b"MAIL FROM:<a@b.example> ENVID=QQ314159 MTRK=QUJD\r\n");
    assert_eq!(
        out,
        "501 5.5.4 MTRK requires ENVID of the form local@host\r\n"
    );
    let out = d.send(b"MAIL FROM:<a@b.example> ENVID=QQ@h MTRK=QUJD:60\r\n");
    assert_eq!(out, "250 2.1.0 Sender OK\r\n");
}

#[test]
fn mtrk_offered_only_with_dsn_rfc3885_3_2() {
    let mut c = all_on();
    c.extensions.dsn = false;
    assert!(!capabilities(c.clone()).supports(Keyword::Mtrk));
    let mut d = ehlo(c);
    let out = d.send(b"MAIL FROM:<a@b.example> MTRK=QUJD\r\n");
    assert_eq!(out, "555 5.5.4 Parameter not recognized\r\n");
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example> ENVID=a@b MTRK=QUJD\r\n");
    assert_eq!(out, "555 5.5.4 Parameter not recognized\r\n");
}

// ---- SUBMITTER (RFC 4405) ----

#[test]
fn submitter_typed_decoded_from_xtext_rfc4405_4() {
    let mut d = manual(all_on());
    let p = mail_params(decision(
        &mut d,
        b"MAIL FROM:<> SUBMITTER=mailer-daemon+2Bx@almamater.edu.example\r\n",
    ));
    let s = p.extras().submitter.as_ref().expect("SUBMITTER= typed");
    assert_eq!(s.to_string(), "mailer-daemon+x@almamater.edu.example");
}

#[test]
fn submitter_replies_rfc4405_4_2() {
    let reply = |m: esmtp::ext::MandatedReply| {
        Reply::single(m.code(), Some(m.enhanced()), m.text()).unwrap()
    };
    // Not authorised: refused at MAIL.
    let mut d = manual(all_on());
    mail_params(decision(
        &mut d,
        b"MAIL FROM:<alice@example.com> SUBMITTER=alice@example.com\r\n",
    ));
    d.server.respond(&reply(submitter::NOT_ALLOWED)).unwrap();
    assert_eq!(d.take(), "550 5.7.1 Submitter not allowed\r\n");
    // The header disagrees, or names no submitter: refused at the end of
    // the content.
    for (m, want) in [
        (
            submitter::DOES_NOT_MATCH_HEADER,
            "550 5.7.1 Submitter does not match header\r\n",
        ),
        (
            submitter::CANNOT_VERIFY,
            "554 5.7.7 Cannot verify submitter address\r\n",
        ),
    ] {
        let mut d = manual(all_on());
        mail_params(decision(
            &mut d,
            b"MAIL FROM:<alice@example.com> SUBMITTER=alice@example.com\r\n",
        ));
        d.server.accept().unwrap();
        decision(&mut d, b"RCPT TO:<bob@company.com.example>\r\n");
        d.server.accept().unwrap();
        let e = decision(&mut d, b"DATA\r\nFrom: eve@example.net\r\n\r\nHi\r\n.\r\n");
        assert!(matches!(e, Event::MessageEnd { .. }), "{e:?}");
        d.take();
        d.server.respond(&reply(m)).unwrap();
        assert_eq!(d.take(), want);
    }
}

#[test]
fn submitter_not_offered_555_rfc5321_4_1_1_11() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example> SUBMITTER=a@b.example\r\n");
    assert_eq!(out, "555 5.5.4 Parameter not recognized\r\n");
}

// ---- CONPERM / CONNEG (RFC 4141) ----

#[test]
fn conperm_and_conneg_typed_when_offered_rfc4141_4_2() {
    let mut d = manual(all_on());
    assert!(
        mail_params(decision(
            &mut d,
            b"MAIL FROM:<May@some.example.com> CONPERM\r\n"
        ))
        .conperm
    );
    d.server.accept().unwrap();
    let p = rcpt_params(decision(&mut d, b"RCPT TO:<fax@example.org> CONNEG\r\n"));
    assert!(p.conneg);
    // The recipient's capabilities, as the multi-line reply §5.2 gives.
    let caps = ["(&(image-file-structure=TIFF-minimal)(color=binary))"];
    let r = conneg::rcpt_reply(EnhancedStatusCode::new(2, 1, 5), "Recipient OK", caps).unwrap();
    d.server.respond(&r).unwrap();
    assert_eq!(
        d.take(),
        "250 2.1.0 Sender OK\r\n250-2.1.5 Recipient OK\r\n\
         250 2.1.5 CONNEG (&(image-file-structure=TIFF-minimal)(color=binary))\r\n"
    );
}

#[test]
fn conperm_not_supported_504_rfc4141_4_2() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example> CONPERM\r\n");
    assert_eq!(out, "504 5.5.4 CONPERM not supported\r\n");
}

#[test]
fn conneg_not_supported_504_rfc4141_5_2() {
    let mut c = all_on();
    c.extensions.conneg = false;
    let mut d = ehlo(c);
    let out = d.send(b"MAIL FROM:<a@b.example> CONPERM\r\nRCPT TO:<c@d.example> CONNEG\r\n");
    assert_eq!(
        final_lines(&out),
        ["250 2.1.0 Sender OK", "504 5.5.4 CONNEG not supported"]
    );
}

// ---- UTF8SMTP (RFC 5336) ----

#[test]
fn utf8smtp_advertised_beside_smtputf8_with_8bitmime_rfc5336_3_1() {
    let caps = capabilities(all_on());
    assert!(caps.supports(Keyword::Utf8Smtp) && caps.supports(Keyword::SmtpUtf8));
    // "Servers offering this extension MUST provide support for, and
    // announce, the 8BITMIME extension" (item 7).
    let mut c = all_on();
    c.extensions.eight_bit_mime = false;
    assert!(!capabilities(c).supports(Keyword::Utf8Smtp));
}

#[test]
fn utf8_envelope_without_parameter_when_utf8smtp_offered_rfc5336_3_2() {
    let input = "MAIL FROM:<jäne@example.org>\r\nRCPT TO:<bøb@example.net>\r\n";
    let mut d = ehlo(all_on());
    assert_eq!(
        final_lines(&d.send(input.as_bytes())),
        ["250 2.1.0 Sender OK", "250 2.1.5 Recipient OK"]
    );
    // An ASCII sender, a UTF-8 recipient: RFC 5336 has no MAIL parameter
    // that would announce it.
    let mut d = ehlo(all_on());
    let out = d.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<bøb@example.net>\r\n".as_bytes());
    assert_eq!(
        final_lines(&out),
        ["250 2.1.0 Sender OK", "250 2.1.5 Recipient OK"]
    );
    // SMTPUTF8 only: the parameter is needed (RFC 6531 §3.4).
    let mut c = all_on();
    c.extensions.utf8smtp = false;
    let mut d = ehlo(c);
    let out = d.send(input.as_bytes());
    assert!(out.starts_with("550 5.6.7"), "{out}");
    // UTF8SMTP alone, without SMTPUTF8: still taken.
    let mut c = all_on();
    c.extensions.smtputf8 = false;
    let mut d = ehlo(c);
    assert_eq!(
        final_lines(&d.send(input.as_bytes())),
        ["250 2.1.0 Sender OK", "250 2.1.5 Recipient OK"]
    );
    // ...but not after HELO, which offers nothing.
    let mut c = all_on();
    c.extensions.smtputf8 = false;
    let mut d = Driver::new(c);
    d.send(b"HELO client.example\r\n");
    assert!(d.send(input.as_bytes()).starts_with("550 5.6.7"));
}

#[test]
fn alt_address_typed_when_utf8smtp_offered_rfc5336_3_4() {
    let mut d = manual(all_on());
    let p = mail_params(decision(
        &mut d,
        "MAIL FROM:<jäne@example.org> ALT-ADDRESS=jane+2Bx@example.org\r\n".as_bytes(),
    ));
    assert_eq!(
        p.extras().alt_address.as_ref().unwrap().as_str(),
        "jane+x@example.org"
    );
    d.server.accept().unwrap();
    let p = rcpt_params(decision(
        &mut d,
        "RCPT TO:<bøb@example.net> ALT-ADDRESS=bob@example.net\r\n".as_bytes(),
    ));
    assert_eq!(
        p.extras().alt_address.as_ref().unwrap().as_str(),
        "bob@example.net"
    );
}

#[test]
fn alt_address_must_be_an_ascii_mailbox_rfc5336_3_4() {
    let mut d = ehlo(all_on());
    for bad in [
        "ALT-ADDRESS=not-a-mailbox",
        "ALT-ADDRESS=j+C3+A4ne@example.org",
    ] {
        let out = d.send(format!("MAIL FROM:<a@example.org> {bad}\r\n").as_bytes());
        assert_eq!(
            out, "501 5.5.4 ALT-ADDRESS is not an ASCII mailbox\r\n",
            "{bad}"
        );
    }
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@example.org> ALT-ADDRESS=a@example.org\r\n");
    assert_eq!(out, "555 5.5.4 Parameter not recognized\r\n");
}

// ---- VERB and ONEX (sendmail) ----

#[test]
fn verb_and_onex_502_unless_enabled() {
    let mut d = ehlo(config());
    assert_eq!(
        d.send(b"VERB\r\nONEX\r\n"),
        "502 5.5.1 Command not implemented\r\n502 5.5.1 Command not implemented\r\n"
    );
    assert!(!d.server.is_verbose());
}

#[test]
fn verb_turns_verbose_mode_on() {
    let mut d = ehlo(all_on());
    assert!(!d.server.is_verbose());
    assert_eq!(d.send(b"VERB\r\n"), "250 2.0.0 Verbose mode\r\n");
    assert!(d.server.is_verbose());
}

#[test]
fn onex_allows_one_transaction_only() {
    let mut d = ehlo(all_on());
    assert_eq!(d.send(b"ONEX\r\n"), "250 2.0.0 Only one transaction\r\n");
    let out = d.send(
        b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nHi\r\n.\r\n\
          MAIL FROM:<a@b.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n",
    );
    assert_eq!(
        final_lines(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "354 Start mail input; end with <CRLF>.<CRLF>",
            "250 2.0.0 Message accepted for delivery",
            "503 5.5.1 Only one transaction after ONEX",
            "250 2.0.0 OK",
            "503 5.5.1 Only one transaction after ONEX",
        ]
    );
    // A refused MAIL did not use the one transaction.
    let mut d = Driver::manual(all_on());
    decision(&mut d, b"EHLO c\r\n");
    d.server.accept().unwrap();
    decision(&mut d, b"ONEX\r\nMAIL FROM:<a@b.example>\r\n");
    d.server.deny().unwrap();
    decision(&mut d, b"MAIL FROM:<a@b.example>\r\n");
    d.server.accept().unwrap();
    assert!(d
        .take()
        .ends_with("550 5.7.1 Sender rejected\r\n250 2.1.0 Sender OK\r\n"));
}

// ---- SEND, SOML, SAML (RFC 821 §3.4) ----

#[test]
fn send_soml_saml_handed_over_as_mail_when_offered_rfc821_3_4() {
    for (verb, mode) in [
        ("SEND", SendMode::Send),
        ("SOML", SendMode::Soml),
        ("SAML", SendMode::Saml),
    ] {
        let mut d = manual(all_on());
        match decision(&mut d, format!("{verb} FROM:<a@b.example>\r\n").as_bytes()) {
            Event::Mail { send, .. } => assert_eq!(send, Some(mode)),
            other => panic!("{other:?}"),
        }
        let mut d = ehlo(config());
        let out = d.send(format!("{verb} FROM:<a@b.example>\r\n").as_bytes());
        assert_eq!(out, "502 5.5.1 Command not implemented\r\n");
    }
}

/// XCLIENT_README: an accepted XCLIENT returns the session to the
/// greeting, so the VERB and ONEX sent before it no longer apply.
#[test]
fn verb_and_onex_end_with_xclient() {
    let mut c = all_on();
    c.extensions.xclient = true;
    let mut d = ehlo(c);
    d.server.set_xclient_authorized(true);
    d.send(b"VERB\r\nONEX\r\nMAIL FROM:<a@b.example>\r\nRSET\r\n");
    assert!(d.server.is_verbose());
    let out = d.send(b"XCLIENT NAME=spike.porcupine.org\r\nEHLO client.example\r\n");
    assert!(out.starts_with("220 "), "{out}");
    assert!(!d.server.is_verbose());
    let out = d.send(b"MAIL FROM:<a@b.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n");
    assert_eq!(
        final_lines(&out),
        ["250 2.1.0 Sender OK", "250 2.0.0 OK", "250 2.1.0 Sender OK"]
    );
}
