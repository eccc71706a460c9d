//! Two-peer scenarios: the client machine against the server machine in
//! memory under a simulated clock, one behaviour per test.

use crate::client_support;

use std::time::Duration;

use bytes::Bytes;
use client_support::*;
use esmtp::client::{
    AuthConfig, AuthError, ClientCredentials, CloseReason, Event, MessageError, ParamPolicy,
    TlsPolicy,
};
use esmtp::data::ContentKind;
use esmtp::ehlo::{Keyword, Mechanism};
use esmtp::ext::deliverby::{By, ByMode};
use esmtp::ext::dsn::{Notify, Ret};
use esmtp::ext::mt_priority::MtPriority;
use esmtp::reply::Reply;
use esmtp::server::{self, Credentials};
use esmtp::values::{EnhancedStatusCode, ReplyCode};

fn deliver_one(pair: &mut Pair, content: &'static [u8]) {
    pair.client
        .submit(envelope(&["b@example.org"]), content)
        .unwrap();
    pair.client.quit();
    pair.run();
}

#[test]
fn delivers_pipelined_rfc2920() {
    let mut p = Pair::new(client_config(), server_config());
    p.client
        .submit(
            envelope(&["b@example.org", "c@example.org"]),
            &b"Hi\r\n"[..],
        )
        .unwrap();
    p.client.quit();
    p.run();
    let o = p.outcomes();
    assert_eq!(o.len(), 1);
    assert!(o[0].all_delivered());
    assert_eq!(p.stored, vec![b"Hi\r\n".to_vec()]);
    // MAIL and both RCPTs went out in one write, with the first BDAT.
    assert!(
        p.c2s_writes
            .iter()
            .any(|w| w.starts_with(b"MAIL FROM:<a@example.org>")
                && w.windows(4).any(|x| x == b"RCPT"))
    );
    assert_eq!(p.closed_reason(), Some(CloseReason::Quit));
    assert!(p.client.is_closed());
}

#[test]
fn one_command_at_a_time_without_pipelining_rfc2920() {
    let mut s = server_config();
    s.extensions.pipelining = false;
    let mut p = Pair::new(client_config(), s);
    p.client
        .submit(
            envelope(&["b@example.org", "c@example.org"]),
            &b"Hi\r\n"[..],
        )
        .unwrap();
    p.client.quit();
    p.run();
    assert!(p.outcomes()[0].all_delivered());
    for w in &p.c2s_writes {
        // Each write holds one command line (a BDAT carries its chunk).
        if !w.starts_with(b"BDAT") {
            assert_eq!(
                w.windows(2).filter(|x| x == b"\r\n").count(),
                1,
                "{:?}",
                String::from_utf8_lossy(w)
            );
        }
    }
}

#[test]
fn data_converts_to_crlf_and_stuffs_dots_rfc5321_4_5_2() {
    let mut c = client_config();
    c.chunking = false;
    let mut p = Pair::new(c, server_config());
    deliver_one(&mut p, b".first\nbare lf\rbare cr\r\n..two\n.");
    assert!(p.outcomes()[0].all_delivered());
    assert!(p
        .c2s_text()
        .contains("DATA\r\n..first\r\nbare lf\r\nbare cr\r\n...two\r\n..\r\n.\r\n"));
    assert_eq!(
        p.stored[0],
        b".first\r\nbare lf\r\nbare cr\r\n..two\r\n.\r\n"
    );
}

#[test]
fn several_messages_queued_in_one_session() {
    let mut p = Pair::new(client_config(), server_config());
    for i in 0..5 {
        p.client
            .submit(
                envelope(&["b@example.org"]),
                Bytes::from(format!("m{i}\r\n")),
            )
            .unwrap();
    }
    p.client.quit();
    p.run();
    assert_eq!(p.outcomes().len(), 5);
    assert!(p.outcomes().iter().all(|o| o.all_delivered()));
    assert_eq!(p.stored.len(), 5);
    assert!(!p.c2s_text().contains("RSET"));
}

#[test]
fn rset_after_a_transaction_with_no_recipient_rfc5321_4_1_1_5() {
    let mut count = 0;
    let mut p = Pair::new(client_config(), server_config()).with_policy(move |e| match e {
        server::Event::Rcpt { .. } => {
            count += 1;
            if count == 1 {
                Decision::Deny
            } else {
                Decision::Accept
            }
        }
        _ => Decision::Accept,
    });
    p.client
        .submit(envelope(&["b@example.org"]), &b"1\r\n"[..])
        .unwrap();
    p.client
        .submit(envelope(&["c@example.org"]), &b"2\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    let o = p.outcomes();
    assert!(!o[0].all_delivered());
    assert_eq!(o[0].recipients[0].rcpt.as_ref().unwrap().code().get(), 550);
    assert!(
        o[1].all_delivered(),
        "{}\n{}",
        p.c2s_text(),
        String::from_utf8_lossy(&p.s2c)
    );
    let t = p.c2s_text();
    let rset = t.find("RSET").expect("RSET sent");
    assert!(rset < t.rfind("MAIL FROM").unwrap());
}

#[test]
fn size_over_the_server_limit_is_refused_locally_rfc1870_6() {
    let mut s = server_config();
    s.limits.message_size = Some(10);
    let mut p = Pair::new(client_config(), s);
    deliver_one(&mut p, b"this message is longer than ten octets\r\n");
    let o = p.outcomes();
    assert_eq!(
        o[0].error,
        Some(MessageError::TooLarge {
            size: 40,
            limit: 10
        })
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn size_param_declared_rfc1870() {
    let mut p = Pair::new(client_config(), server_config());
    deliver_one(&mut p, b"a\nb\n");
    assert!(p
        .c2s_text()
        .contains("MAIL FROM:<a@example.org> SIZE=6\r\n"));
}

#[test]
fn eight_bit_content_gets_body_8bitmime_rfc6152() {
    let mut c = client_config();
    c.chunking = false;
    let mut p = Pair::new(c, server_config());
    deliver_one(&mut p, "caf\u{e9}\r\n".as_bytes());
    assert!(p.c2s_text().contains("BODY=8BITMIME"));
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn eight_bit_content_fails_without_8bitmime_rfc6152_3() {
    let mut s = server_config();
    s.extensions.eight_bit_mime = false;
    s.extensions.smtputf8 = false;
    let mut p = Pair::new(client_config(), s);
    deliver_one(&mut p, "caf\u{e9}\r\n".as_bytes());
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::EightBitUnsupported)
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn binary_content_uses_bdat_binarymime_rfc3030_3() {
    let mut p = Pair::new(client_config(), server_config());
    deliver_one(&mut p, b"a\0b\r\n");
    assert!(p.c2s_text().contains("BODY=BINARYMIME"));
    assert!(p.c2s_text().contains("BDAT 5 LAST\r\na\0b\r\n"));
    assert_eq!(p.stored[0], b"a\0b\r\n");
}

#[test]
fn binary_content_fails_without_binarymime() {
    let mut s = server_config();
    s.extensions.binary_mime = false;
    let mut p = Pair::new(client_config(), s);
    deliver_one(&mut p, b"a\0b\r\n");
    assert_eq!(p.outcomes()[0].error, Some(MessageError::BinaryUnsupported));
}

#[test]
fn bdat_chunks_of_the_configured_size_rfc3030_2() {
    let mut c = client_config();
    c.chunk_size = 4;
    let mut p = Pair::new(c, server_config());
    deliver_one(&mut p, b"0123456789");
    let t = p.c2s_text();
    assert!(t.contains("BDAT 4\r\n0123BDAT 4\r\n4567BDAT 2 LAST\r\n89"));
    assert_eq!(p.stored[0], b"0123456789");
}

#[test]
fn bdat_text_gets_crlf_line_ends_like_data_rfc5321_2_3_8() {
    // Only BINARYMIME goes out as is (RFC 3030 §3): a strict server
    // refuses a bare LF inside BDAT as inside DATA. The chunk of 4 splits
    // a bare CR from the next octet.
    let mut c = client_config();
    c.chunk_size = 4;
    let mut p = Pair::new(c, server_config());
    deliver_one(&mut p, b"a\nb\rc\r\nd\r\n");
    assert!(p.outcomes()[0].all_delivered());
    let t = p.c2s_text();
    // The chunk size bounds each chunk as sent, CRLF growth included.
    let sizes: Vec<usize> = t
        .split("BDAT ")
        .skip(1)
        .map(|s| s.split([' ', '\r']).next().unwrap().parse().unwrap())
        .collect();
    assert!(sizes.iter().all(|&n| n <= 4), "{t}");
    assert_eq!(sizes.iter().sum::<usize>(), 12, "{t}");
    assert!(t.contains("a\r\nb"), "{t}");
    assert_eq!(p.stored[0], b"a\r\nb\r\nc\r\nd\r\n");
    // SIZE= (RFC 1870 §3) counts the CRLF form, which is what was sent.
    assert!(t.contains("SIZE=12"), "{t}");
}

#[test]
fn smtputf8_when_an_address_needs_it_rfc6531_3_4() {
    let mut p = Pair::new(client_config(), server_config());
    p.client
        .submit(envelope(&["j\u{f6}rg@example.org"]), &b"hi\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    assert!(p.c2s_text().contains(" SMTPUTF8"));
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn smtputf8_missing_fails_before_sending() {
    let mut s = server_config();
    s.extensions.smtputf8 = false;
    let mut p = Pair::new(client_config(), s);
    p.client
        .submit(envelope(&["j\u{f6}rg@example.org"]), &b"hi\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::SmtpUtf8Unsupported)
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

fn dsn_envelope() -> esmtp::client::Envelope {
    let mut e = envelope(&[]);
    e.params.ret = Some(Ret::Hdrs);
    let mut rp = esmtp::params::RcptParams::default();
    rp.notify = Some(Notify {
        success: true,
        failure: true,
        delay: false,
    });
    e.to_with(to("b@example.org"), rp)
}

#[test]
fn dsn_params_sent_when_offered_rfc3461() {
    let mut p = Pair::new(client_config(), server_config());
    p.client.submit(dsn_envelope(), &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    let t = p.c2s_text();
    assert!(t.contains("RET=HDRS"));
    assert!(t.contains("NOTIFY=SUCCESS,FAILURE"));
}

#[test]
fn dsn_not_offered_fails_or_strips_per_policy() {
    let mut s = server_config();
    s.extensions.dsn = false;
    let mut p = Pair::new(client_config(), s.clone());
    p.client.submit(dsn_envelope(), &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Dsn))
    );
    let mut c = client_config();
    c.unsupported_params = ParamPolicy::Strip;
    let mut p = Pair::new(c, s);
    p.client.submit(dsn_envelope(), &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    assert!(p.outcomes()[0].all_delivered());
    assert!(!p.c2s_text().contains("NOTIFY") && !p.c2s_text().contains("RET="));
}

#[test]
fn deliverby_and_mt_priority_only_when_offered() {
    let mk = || {
        let mut e = envelope(&["b@example.org"]);
        e.params.by = Some(By::new(3600, ByMode::Notify, false).unwrap());
        e.params.mt_priority = MtPriority::new(3);
        e
    };
    let mut p = Pair::new(client_config(), server_config());
    p.client.submit(mk(), &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::DeliverBy))
    );
    let mut s = server_config();
    s.extensions.deliver_by = Some(60);
    s.extensions.mt_priority = Some(None);
    let mut p = Pair::new(client_config(), s);
    p.client.submit(mk(), &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    assert!(p.outcomes()[0].all_delivered(), "{:?}", p.outcomes());
    assert!(p.c2s_text().contains("BY=3600;N"));
    assert!(p.c2s_text().contains("MT-PRIORITY=3"));
}

#[test]
fn requiretls_refused_without_tls_rfc8689_4_1() {
    let mut p = Pair::new(client_config(), server_config());
    let mut e = envelope(&["b@example.org"]);
    e.params.requiretls = true;
    p.client.submit(e, &b"x\r\n"[..]).unwrap();
    p.client.quit();
    p.run();
    assert_eq!(p.outcomes()[0].error, Some(MessageError::RequireTls));
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn enhanced_status_codes_parsed_once_advertised_rfc2034() {
    let mut p = Pair::new(client_config(), server_config());
    deliver_one(&mut p, b"x\r\n");
    let o = p.outcomes();
    assert_eq!(o[0].mail[0].enhanced(), EnhancedStatusCode::new(2, 1, 0));
}

#[test]
fn limits_rcptmax_splits_recipients_rfc9422() {
    let mut s = server_config();
    s.limits.recipients = 2;
    let mut p = Pair::new(client_config(), s);
    p.client
        .submit(
            envelope(&["b@x.org", "c@x.org", "d@x.org", "e@x.org", "f@x.org"]),
            &b"x\r\n"[..],
        )
        .unwrap();
    p.client.quit();
    p.run();
    let o = p.outcomes();
    assert!(o[0].all_delivered(), "{:?}", o[0]);
    assert_eq!(o[0].mail.len(), 3);
    assert_eq!(p.stored.len(), 3);
}

#[test]
fn limits_mailmax_respected_rfc9422() {
    let mut s = server_config();
    s.limits.transactions = Some(1);
    let mut p = Pair::new(client_config(), s);
    p.client
        .submit(envelope(&["b@x.org"]), &b"1\r\n"[..])
        .unwrap();
    p.client
        .submit(envelope(&["b@x.org"]), &b"2\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    let o = p.outcomes();
    assert!(o[0].all_delivered());
    assert_eq!(o[1].error, Some(MessageError::SessionLimit));
    assert_eq!(p.c2s_text().matches("MAIL FROM").count(), 1);
}

fn tls_server() -> esmtp::server::ServerConfig {
    let mut s = server_config();
    s.extensions.starttls = true;
    s
}

#[test]
fn starttls_opportunistic_then_ehlo_again_rfc3207_4_2() {
    let mut p = Pair::new(client_config(), tls_server());
    deliver_one(&mut p, b"x\r\n");
    assert!(p.client.is_tls());
    assert!(p.server.is_tls() || p.client.is_closed());
    let t = p.c2s_text();
    assert_eq!(t.matches("EHLO client.example").count(), 2);
    assert!(t.find("STARTTLS").unwrap() < t.find("MAIL").unwrap());
    assert!(p.outcomes()[0].all_delivered());
    // Capabilities reported twice, the second without STARTTLS.
    let caps: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::Capabilities(c) => Some(c.supports(Keyword::StartTls)),
            _ => None,
        })
        .collect();
    assert_eq!(caps, vec![true, false]);
}

/// The capability event carries the set the session keeps (RFC 5321
/// §4.1.1.1, the EHLO reply), shared rather than copied: the same value
/// `Client::capabilities` returns, until STARTTLS forgets it (RFC 3207
/// §4.2) and the second EHLO brings a new one.
#[test]
fn capability_event_shares_the_sessions_set_rfc3207_4_2() {
    let mut p = Pair::new(client_config(), tls_server());
    p.client.quit();
    p.run();
    let sets: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::Capabilities(c) => Some(std::sync::Arc::clone(c)),
            _ => None,
        })
        .collect();
    assert_eq!(sets.len(), 2, "one set per EHLO, before and after STARTTLS");
    let kept = p.client.capabilities().expect("the set after STARTTLS");
    assert!(std::ptr::eq(&*sets[1], kept));
    assert!(!std::ptr::eq(&*sets[0], kept));
    assert!(sets[0].supports(Keyword::StartTls) && !kept.supports(Keyword::StartTls));
}

#[test]
fn starttls_required_without_offer_fails_before_mail() {
    let mut c = client_config();
    c.tls = TlsPolicy::Required;
    let mut p = Pair::new(c, server_config());
    deliver_one(&mut p, b"x\r\n");
    assert_eq!(p.outcomes()[0].error, Some(MessageError::TlsRequired));
    assert!(!p.c2s_text().contains("MAIL"));
    assert!(p.c2s_text().ends_with("QUIT\r\n"));
}

#[test]
fn starttls_policy_none_stays_clear() {
    let mut c = client_config();
    c.tls = TlsPolicy::None;
    let mut p = Pair::new(c, tls_server());
    deliver_one(&mut p, b"x\r\n");
    assert!(!p.c2s_text().contains("STARTTLS"));
    assert!(p.outcomes()[0].all_delivered());
}

fn auth_pair(creds: ClientCredentials, mech: Option<Mechanism>, offered: Vec<Mechanism>) -> Pair {
    let mut s = tls_server();
    s.extensions.auth = offered;
    let mut c = client_config();
    let mut a = AuthConfig::new(creds);
    a.mechanism = mech;
    c.auth = Some(a);
    Pair::new(c, s).with_policy(|e| match e {
        server::Event::Auth(cr) => {
            let ok = match cr {
                Credentials::CramMd5 { .. } => cr.verify_cram_md5(b"secret"),
                Credentials::XOAuth2 { token, .. } | Credentials::OAuthBearer { token, .. } => {
                    token.expose() == "tok"
                }
                _ => cr.verify_password("secret"),
            };
            if ok {
                Decision::Accept
            } else {
                Decision::Deny
            }
        }
        _ => Decision::Accept,
    })
}

fn all_mechs() -> Vec<Mechanism> {
    vec![
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ]
}

#[test]
fn auth_each_mechanism_after_tls_rfc4954() {
    for (creds, mech) in [
        (ClientCredentials::password("u", "secret"), Mechanism::Plain),
        (ClientCredentials::password("u", "secret"), Mechanism::Login),
        (
            ClientCredentials::password("u", "secret"),
            Mechanism::CramMd5,
        ),
        (ClientCredentials::oauth("u", "tok"), Mechanism::XOAuth2),
        (ClientCredentials::oauth("u", "tok"), Mechanism::OAuthBearer),
    ] {
        let mut p = auth_pair(creds, Some(mech.clone()), all_mechs());
        deliver_one(&mut p, b"x\r\n");
        assert!(p.client.is_authenticated(), "{mech:?}");
        assert!(p.outcomes()[0].all_delivered(), "{mech:?}");
        assert!(p
            .client_events
            .iter()
            .any(|e| matches!(e, Event::Authenticated { mechanism } if *mechanism == mech)));
    }
}

#[test]
fn auth_picks_the_strongest_common_mechanism() {
    let mut p = auth_pair(
        ClientCredentials::password("u", "secret"),
        None,
        vec![Mechanism::Login, Mechanism::Plain, Mechanism::CramMd5],
    );
    deliver_one(&mut p, b"x\r\n");
    assert!(p.c2s_text().contains("AUTH CRAM-MD5\r\n"));
    let mut p = auth_pair(
        ClientCredentials::password("u", "secret"),
        None,
        vec![Mechanism::Login, Mechanism::Plain],
    );
    deliver_one(&mut p, b"x\r\n");
    // PLAIN with its initial response (RFC 4954 §4).
    assert!(p.c2s_text().contains("AUTH PLAIN AHUAc2VjcmV0\r\n"));
}

#[test]
fn auth_failure_reported_typed_rfc4954_6() {
    let mut p = auth_pair(
        ClientCredentials::password("u", "wrong"),
        Some(Mechanism::Plain),
        all_mechs(),
    );
    deliver_one(&mut p, b"x\r\n");
    assert!(p.client_events.iter().any(|e| matches!(
        e,
        Event::AuthFailed {
            error: AuthError::InvalidCredentials,
            ..
        }
    )));
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::Auth(AuthError::InvalidCredentials))
    );
    assert!(!p.c2s_text().contains("MAIL"));
}

#[test]
fn auth_with_no_common_mechanism() {
    let mut p = auth_pair(
        ClientCredentials::oauth("u", "tok"),
        None,
        vec![Mechanism::Plain],
    );
    deliver_one(&mut p, b"x\r\n");
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::Auth(AuthError::NoMechanism))
    );
}

#[test]
fn lmtp_one_reply_per_accepted_recipient_rfc2033_4_2() {
    let mut c = client_config().lmtp();
    c.chunking = false;
    let mut p = Pair::new(c, server_config().lmtp()).with_policy(|e| match e {
        server::Event::Rcpt { to, .. } if to.to_string().contains("nobody") => Decision::Deny,
        server::Event::MessageEnd { .. } => Decision::Lmtp(vec![
            Reply::single(ReplyCode::new(250).unwrap(), None, "ok").unwrap(),
            Reply::single(ReplyCode::new(452).unwrap(), None, "full").unwrap(),
        ]),
        _ => Decision::Accept,
    });
    p.client
        .submit(
            envelope(&["b@x.org", "nobody@x.org", "c@x.org"]),
            &b"x\r\n"[..],
        )
        .unwrap();
    p.client.quit();
    p.run();
    assert!(p.c2s_text().starts_with("LHLO client.example\r\n"));
    let o = &p.outcomes()[0];
    assert!(o.recipients[0].delivered());
    assert_eq!(o.recipients[1].rcpt.as_ref().unwrap().code().get(), 550);
    assert!(o.recipients[1].content.is_none());
    assert_eq!(o.recipients[2].content.as_ref().unwrap().code().get(), 452);
    assert_eq!(o.delivered().collect::<Vec<_>>(), vec![0]);
}

#[test]
fn lmtp_with_bdat() {
    let mut p =
        Pair::new(client_config().lmtp(), server_config().lmtp()).with_policy(|e| match e {
            server::Event::MessageEnd { .. } => Decision::Lmtp(vec![
                Reply::single(ReplyCode::new(250).unwrap(), None, "a").unwrap(),
                Reply::single(ReplyCode::new(250).unwrap(), None, "b").unwrap(),
            ]),
            _ => Decision::Accept,
        });
    p.client
        .submit(envelope(&["b@x.org", "c@x.org"]), &b"x\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    assert!(p.c2s_text().contains("BDAT 3 LAST"));
    assert!(p.outcomes()[0].all_delivered());
}

#[test]
fn service_closing_421_mid_transaction_reports_every_message_rfc5321_3_8() {
    let mut p = Pair::new(client_config(), server_config()).with_policy(|e| match e {
        server::Event::Rcpt { .. } => Decision::Shutdown,
        _ => Decision::Accept,
    });
    p.client
        .submit(envelope(&["b@x.org"]), &b"1\r\n"[..])
        .unwrap();
    p.client
        .submit(envelope(&["c@x.org"]), &b"2\r\n"[..])
        .unwrap();
    p.run();
    let o = p.outcomes();
    assert_eq!(o.len(), 2);
    for m in &o {
        assert!(
            matches!(&m.error, Some(MessageError::SessionEnded(Some(r))) if r.code().get() == 421)
        );
    }
    assert_eq!(p.closed_reason(), Some(CloseReason::ServiceClosing));
}

#[test]
fn greeting_timeout_rfc5321_4_5_3_2_1() {
    let mut p = Pair::new(client_config(), server_config());
    // A server that never greets: only the client runs.
    let mut c = esmtp::client::Client::new(client_config());
    let id = c.submit(envelope(&["b@x.org"]), &b"x\r\n"[..]).unwrap();
    assert_eq!(c.poll_timeout(), None, "no time given, no deadline");
    c.handle_timeout(p.base);
    let deadline = c.poll_timeout().unwrap();
    assert_eq!(deadline - p.base, Duration::from_secs(300));
    c.handle_timeout(p.base + Duration::from_secs(299));
    assert!(!c.is_closed());
    c.handle_timeout(deadline);
    assert!(c.is_closed());
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(&events[0], Event::Message(m) if m.id == id && m.error == Some(MessageError::Timeout))
    );
    p.run();
}

#[test]
fn data_termination_timeout_is_ten_minutes_rfc5321_4_5_3_2_6() {
    let mut c = client_config();
    c.chunking = false;
    let mut p = Pair::new(c, server_config()).with_policy(|e| match e {
        server::Event::MessageEnd { .. } => Decision::Hold,
        _ => Decision::Accept,
    });
    p.client
        .submit(envelope(&["b@x.org"]), &b"x\r\n"[..])
        .unwrap();
    p.run();
    assert_eq!(
        p.client.poll_timeout().unwrap() - p.now,
        Duration::from_secs(600)
    );
    p.advance(Duration::from_secs(599));
    assert!(p.outcomes().is_empty());
    p.advance(Duration::from_secs(1));
    assert_eq!(p.outcomes()[0].error, Some(MessageError::Timeout));
    assert_eq!(p.closed_reason(), Some(CloseReason::Timeout));
}

/// RFC 5321 §4.5.3.2.2–3: MAIL and RCPT replies get 5 minutes each, timed
/// per command (§4.5.3.2: "per-command timeouts rather than ... the entire
/// mail transaction").
#[test]
fn mail_and_rcpt_timeouts_rfc5321_4_5_3_2() {
    for held in ["Mail", "Rcpt"] {
        let mut c = client_config();
        c.pipelining = false;
        let mut p = Pair::new(c, server_config()).with_policy(move |e| match e {
            server::Event::Mail { .. } if held == "Mail" => Decision::Hold,
            server::Event::Rcpt { .. } if held == "Rcpt" => Decision::Hold,
            _ => Decision::Accept,
        });
        p.client
            .submit(envelope(&["b@x.org"]), &b"x\r\n"[..])
            .unwrap();
        p.run();
        assert_eq!(
            p.client.poll_timeout().unwrap() - p.now,
            Duration::from_secs(300),
            "{held}"
        );
        p.advance(Duration::from_secs(299));
        assert!(p.outcomes().is_empty(), "{held}");
        p.advance(Duration::from_secs(1));
        assert_eq!(p.outcomes()[0].error, Some(MessageError::Timeout), "{held}");
        assert_eq!(p.closed_reason(), Some(CloseReason::Timeout), "{held}");
    }
}

/// RFC 5321 §4.5.3.2.4: the 354 to DATA gets 2 minutes.
#[test]
fn data_initiation_timeout_rfc5321_4_5_3_2_4() {
    let mut c = client_config();
    c.pipelining = false;
    c.chunking = false;
    let mut client = esmtp::client::Client::new(c);
    client
        .submit(envelope(&["b@x.org"]), &b"x\r\n"[..])
        .unwrap();
    let now = std::time::Instant::now();
    client.handle_timeout(now);
    let mut sent = Vec::new();
    for reply in [
        &b"220 mx ESMTP\r\n"[..],
        b"250 mx\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
    ] {
        client.receive(reply);
        while client.poll_event().is_some() {}
        while let Some(b) = client.poll_transmit() {
            sent.extend_from_slice(&b);
        }
    }
    assert!(
        sent.ends_with(b"DATA\r\n"),
        "{}",
        String::from_utf8_lossy(&sent)
    );
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline - now, Duration::from_secs(120));
    client.handle_timeout(deadline - Duration::from_secs(1));
    assert!(!client.is_closed());
    client.handle_timeout(deadline);
    let mut timed_out = false;
    while let Some(e) = client.poll_event() {
        if let Event::Message(m) = e {
            timed_out = m.error == Some(MessageError::Timeout);
        }
    }
    assert!(timed_out);
}

/// RFC 5321 §4.5.3.2: each wait runs from the last progress (here, the
/// EHLO written after the greeting) at the time the driver gave, exactly
/// its timeout long; `poll_timeout` is a pure query.
#[test]
fn client_deadline_is_exactly_the_timeout_after_the_last_progress_rfc5321_4_5_3_2() {
    let mut s = Script::new(client_config());
    s.client
        .submit(envelope(&["b@x.org"]), &b"x\r\n"[..])
        .unwrap();
    let t0 = std::time::Instant::now();
    s.client.handle_timeout(t0);
    assert_eq!(s.client.poll_timeout(), Some(t0 + Duration::from_secs(300)));
    let t1 = t0 + Duration::from_secs(42);
    s.client.handle_timeout(t1);
    // The greeting read at t1; EHLO written at t1.
    assert!(s.feed(b"220 mx ESMTP\r\n").starts_with("EHLO "));
    let deadline = t1 + s.client.config().timeouts.command;
    assert_eq!(s.client.poll_timeout(), Some(deadline));
    assert_eq!(s.client.poll_timeout(), Some(deadline), "a pure query");
    s.client.handle_timeout(deadline - Duration::from_secs(1));
    assert!(!s.client.is_closed());
    assert_eq!(s.client.poll_timeout(), Some(deadline));
    s.client.handle_timeout(deadline);
    assert!(s.client.is_closed());
    s.drain();
    let outcomes = s.outcomes();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].error, Some(MessageError::Timeout));
    assert_eq!(s.client.poll_timeout(), None, "nothing awaited once closed");
}

#[test]
fn streamed_content_with_push_and_finish() {
    for chunking in [true, false] {
        let mut c = client_config();
        c.chunking = chunking;
        let mut p = Pair::new(c, server_config());
        let id = p
            .client
            .submit_streaming(envelope(&["b@x.org"]), ContentKind::SevenBit, None)
            .unwrap();
        p.run();
        assert!(p
            .client_events
            .iter()
            .any(|e| matches!(e, Event::ContentWanted(i) if *i == id)));
        p.client.push_content(id, &b"line one\n.dot"[..]).unwrap();
        p.run();
        p.client.push_content(id, &b" line\r\n"[..]).unwrap();
        p.client.finish_content(id).unwrap();
        p.client.quit();
        p.run();
        assert!(p.outcomes()[0].all_delivered());
        // Text content has CRLF line ends over BDAT as over DATA.
        assert_eq!(p.stored[0], b"line one\r\n.dot line\r\n");
        assert!(p.client.push_content(id, &b"late"[..]).is_err());
    }
}

#[test]
fn noop_vrfy_help_replies_as_events_rfc5321_4_1_1() {
    let mut p = Pair::new(client_config(), server_config());
    p.client.noop().unwrap();
    p.client.vrfy("someone").unwrap();
    p.client.help(None).unwrap();
    p.client.quit();
    p.run();
    let verbs: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::CommandReply { verb, reply } => Some((*verb, reply.code().get())),
            _ => None,
        })
        .collect();
    use esmtp::command::Verb;
    assert_eq!(
        verbs,
        vec![(Verb::Noop, 250), (Verb::Vrfy, 252), (Verb::Help, 214)]
    );
    assert_eq!(
        p.client.vrfy("a\r\nRSET").err(),
        Some(esmtp::client::ApiError::InvalidText)
    );
}

#[test]
fn turn_hands_the_stream_over_rfc821_3_8() {
    let mut s = server_config();
    s.extensions.turn = true;
    let mut p = Pair::new(client_config(), s);
    p.client.turn().unwrap();
    p.run();
    assert!(p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::Reversed { .. })));
    assert_eq!(p.closed_reason(), Some(CloseReason::Reversed));
    // The old client now serves: it greets the old server, now a client.
    let mut new_server = esmtp::server::Server::new(server_config());
    let greeting = new_server.poll_transmit().unwrap();
    assert!(greeting.starts_with(b"220 "));
}

#[test]
fn peer_closed_fails_pending_messages() {
    let mut p = Pair::new(client_config(), server_config()).with_policy(|e| match e {
        server::Event::Mail { .. } => Decision::Hold,
        _ => Decision::Accept,
    });
    p.client
        .submit(envelope(&["b@x.org"]), &b"x\r\n"[..])
        .unwrap();
    p.run();
    p.client.peer_closed();
    p.run();
    assert_eq!(
        p.outcomes()[0].error,
        Some(MessageError::SessionEnded(None))
    );
    assert_eq!(p.closed_reason(), Some(CloseReason::PeerClosed));
}

/// A failed handshake ends the session under its messages, under any TLS
/// policy (RFC 3207 §4.1: the client should close the connection).
#[test]
fn tls_failure_ends_the_session_rfc3207_4_1() {
    let mut c = client_config();
    c.tls = esmtp::client::TlsPolicy::Opportunistic;
    let mut client = esmtp::client::Client::new(c);
    client
        .submit(envelope(&["b@x.org"]), &b"x\r\n"[..])
        .unwrap();
    let mut asked = false;
    for reply in [
        &b"220 mx ESMTP\r\n"[..],
        b"250-mx\r\n250 STARTTLS\r\n",
        b"220 go ahead\r\n",
    ] {
        client.receive(reply);
        while let Some(e) = client.poll_event() {
            asked |= matches!(e, Event::StartTls);
        }
        while client.poll_transmit().is_some() {}
    }
    assert!(asked);
    client.tls_failed().unwrap();
    let mut outcome = None;
    let mut reason = None;
    while let Some(e) = client.poll_event() {
        match e {
            Event::Message(m) => outcome = m.error,
            Event::Closed { reason: r } => reason = Some(r),
            _ => {}
        }
    }
    assert_eq!(outcome, Some(MessageError::SessionEnded(None)));
    assert_eq!(reason, Some(CloseReason::TlsFailed));
    assert!(client.is_closed());
}
