//! BURL (RFC 4468) on both machines: advertised with the application's
//! schemes, the URL handed to the application which supplies the content
//! or refuses with the RFC's codes, BURL mixed with BDAT, and a client
//! that sends URL parts only to a server that offers their scheme.

use crate::app_pair;

use std::borrow::Cow;

use app_pair::{accept_all, client_config, envelope, serve, server_config, Link};
use bytes::Bytes;
use esmtp::client::{MessageError, Part};
use esmtp::command::Command;
use esmtp::ehlo::{Keyword, Mechanism};
use esmtp::ext::burl::{Url, SERVER_UNAVAILABLE};
use esmtp::reply::Reply;
use esmtp::server::{ApiError, Event, Server, ServerConfig};
use esmtp::values::{EnhancedStatusCode, ReplyCode};
use esmtp::ParseOptions;
use proptest::prelude::*;

/// RFC 4468 §3.4's URL.
const OUTBOX: &str = "imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25;\
                      urlauth=submit+harry:internal:91354a473744909de610943775f92038";

const FORWARDED: &[u8] = b"Subject: forwarded\r\n\r\nThe message on the IMAP server.\r\n";

fn burl_server(schemes: &[&str]) -> ServerConfig {
    let mut s = server_config();
    s.extensions.burl = Some(schemes.iter().map(|s| s.to_string()).collect());
    s
}

fn url(s: &str) -> Url {
    Url::new(s.to_owned()).unwrap()
}

/// A submission server's application: resolves the test's URLs from a
/// table, stores the content it is given (BDAT chunks and resolved URLs
/// alike) and each message.
#[derive(Default)]
struct Submission {
    content: Vec<u8>,
    messages: Vec<Vec<u8>>,
    urls: Vec<(String, bool)>,
    aborted: usize,
}

impl Submission {
    fn on(&mut self, server: &mut Server, event: Event) {
        match event {
            Event::Burl { url, last } => {
                self.urls.push((url.clone(), last));
                match resolve(&url) {
                    Some(content) => {
                        // Two pieces, as a fetch would deliver them.
                        let (a, b) = content.split_at(content.len() / 2);
                        server.burl_content(Bytes::copy_from_slice(a)).unwrap();
                        server.burl_content(Bytes::copy_from_slice(b)).unwrap();
                        server.accept().unwrap();
                    }
                    None => server.deny().unwrap(),
                }
            }
            Event::Content(c) => self.content.extend_from_slice(&c),
            Event::MessageEnd { size, .. } => {
                assert_eq!(size, self.content.len() as u64, "RFC 1870 §5 size");
                self.messages.push(std::mem::take(&mut self.content));
                server.accept().unwrap();
            }
            Event::MessageAborted { .. } => {
                self.content.clear();
                self.aborted += 1;
            }
            e => accept_all(server, e),
        }
    }
}

fn resolve(url: &str) -> Option<&'static [u8]> {
    if url == OUTBOX {
        Some(FORWARDED)
    } else if url.ends_with("/part2") {
        Some(b"second part\r\n")
    } else {
        None
    }
}

fn send_parts(
    client: esmtp::client::ClientConfig,
    server: ServerConfig,
    parts: Vec<Part>,
) -> (Link, Submission) {
    let mut link = Link::new(client, server);
    link.client
        .submit_parts(envelope(&["ron@gryffindor.example.com"]), parts)
        .unwrap();
    link.client.quit();
    let mut app = Submission::default();
    link.run(&mut |s, e| app.on(s, e));
    (link, app)
}

/// RFC 4468 §3.2, §3.4: MAIL, RCPT and `BURL url LAST` in one round trip
/// with PIPELINING; the server fetches the message and the LAST ends it.
#[test]
fn burl_last_ends_the_message_rfc4468_3() {
    let (link, app) = send_parts(
        client_config(),
        burl_server(&["imap"]),
        vec![Part::Burl(url(OUTBOX))],
    );
    let o = link.outcomes()[0];
    assert!(o.all_delivered(), "{o:?}");
    assert_eq!(app.messages, vec![FORWARDED.to_vec()]);
    assert_eq!(app.urls, vec![(OUTBOX.to_owned(), true)]);
    assert!(link.s2c_text().contains("250-BURL imap\r\n"));
    let wire = link.c2s_text();
    assert!(
        wire.contains(&format!(
            "RCPT TO:<ron@gryffindor.example.com>\r\nBURL {OUTBOX} LAST\r\n"
        )),
        "{wire}"
    );
    assert!(!wire.contains("DATA") && !wire.contains("BDAT") && !wire.contains("SIZE="));
}

/// RFC 4468 §3.2: with CHUNKING, BURL and BDAT interleave until one of
/// them carries LAST; the content is joined in order, and a BURL without
/// LAST is answered `250 2.5.0` (§6).
#[test]
fn burl_mixed_with_bdat_rfc4468_3_2() {
    let parts = vec![
        Part::Bytes(Bytes::from_static(
            b"Subject: two parts\r\n\r\nIntro\nline\r\n",
        )),
        Part::Burl(url(OUTBOX)),
        Part::Burl(url("imap://imap.example.com/inbox/;uid=7/part2")),
        Part::Bytes(Bytes::from_static(b"-- \r\nsignature\r\n")),
    ];
    let (link, app) = send_parts(client_config(), burl_server(&["imap"]), parts);
    assert!(link.outcomes()[0].all_delivered(), "{}", link.s2c_text());
    let mut expected = b"Subject: two parts\r\n\r\nIntro\r\nline\r\n".to_vec();
    expected.extend_from_slice(FORWARDED);
    expected.extend_from_slice(b"second part\r\n-- \r\nsignature\r\n");
    assert_eq!(app.messages, vec![expected]);
    let wire = link.c2s_text();
    let order: Vec<&str> = wire
        .lines()
        .filter(|l| l.starts_with("BDAT") || l.starts_with("BURL"))
        .map(|l| &l[..4])
        .collect();
    assert_eq!(order, ["BDAT", "BURL", "BURL", "BDAT"]);
    assert!(wire.contains("BDAT 16 LAST\r\n"), "{wire}");
    assert_eq!(
        link.s2c_text()
            .matches("250 2.5.0 Waiting for additional BURL or BDAT commands\r\n")
            .count(),
        2
    );
}

/// URL parts only, without CHUNKING: BURL alone carries the message
/// (RFC 4468 §3.2); content between URLs needs CHUNKING.
#[test]
fn burl_without_chunking_rfc4468_3_2() {
    let mut server = burl_server(&["imap"]);
    server.extensions.chunking = false;
    let parts = vec![
        Part::Burl(url(OUTBOX)),
        Part::Burl(url("imap://imap.example.com/x/part2")),
    ];
    let (link, app) = send_parts(client_config(), server.clone(), parts);
    assert!(link.outcomes()[0].all_delivered());
    assert_eq!(app.messages, vec![[FORWARDED, b"second part\r\n"].concat()]);

    let parts = vec![
        Part::Burl(url(OUTBOX)),
        Part::Bytes(Bytes::from_static(b"tail\r\n")),
    ];
    let (link, _) = send_parts(client_config(), server, parts);
    assert_eq!(
        link.outcomes()[0].error,
        Some(MessageError::ExtensionUnsupported(Keyword::Chunking))
    );
    assert!(!link.c2s_text().contains("MAIL"));
}

/// None offered, or BURL offered without the URL's scheme (RFC 4468 §3.1,
/// §3.3): the message fails before anything is sent for it.
#[test]
fn burl_not_offered_for_the_scheme_fails_locally_rfc4468_3_1() {
    for server in [server_config(), burl_server(&["imap"]), burl_server(&[])] {
        let parts = vec![Part::Burl(url("https://files.example.com/m.eml"))];
        let (link, app) = send_parts(client_config(), server, parts);
        assert_eq!(
            link.outcomes()[0].error,
            Some(MessageError::ExtensionUnsupported(Keyword::Burl))
        );
        assert!(!link.c2s_text().contains("MAIL"));
        assert!(app.urls.is_empty());
    }
    // `imap://authority` names the scheme too (RFC 4468 §3.3).
    let (link, _) = send_parts(
        client_config(),
        burl_server(&["imap://imap.example.com"]),
        vec![Part::Burl(url(OUTBOX))],
    );
    assert!(link
        .s2c_text()
        .contains("250-BURL imap://imap.example.com\r\n"));
    assert!(link.outcomes()[0].all_delivered());
}

/// RFC 4468 §3.1: BURL with no argument before AUTH says authentication
/// is needed; the arguments come after it.
#[test]
fn burl_is_bare_before_auth_rfc4468_3_1() {
    let mut config = burl_server(&["imap"]);
    config.extensions.auth = vec![Mechanism::Plain];
    config.extensions.auth_requires_tls = false;
    config.extensions.auth_required = true;
    let out = serve(
        config,
        b"EHLO c\r\nAUTH PLAIN AGEAcA==\r\nEHLO c\r\n",
        &mut accept_all,
    );
    let (before, after) = out.split_once("235 ").unwrap();
    assert!(before.contains("250-BURL\r\n"), "{before}");
    assert!(after.contains("250-BURL imap\r\n"), "{after}");
}

/// RFC 4468 §3.1, §3.2, §6: the server's refusals. BURL needs a
/// transaction (503), a recipient (503 5.5.0 with none sent, 554 5.5.0
/// when all failed), a scheme it offered (504 5.5.4); is not implemented
/// when not offered (502, RFC 5321 §4.2.4), nor in LMTP. A refused BURL
/// fails the transaction until RSET.
#[test]
fn burl_refusals_rfc4468_6() {
    let out = serve(
        server_config(),
        b"EHLO c\r\nBURL imap://x/y LAST\r\n",
        &mut accept_all,
    );
    assert!(
        out.ends_with("502 5.5.1 Command not implemented\r\n"),
        "{out}"
    );
    assert!(!out.contains("BURL"));

    let out = serve(
        burl_server(&["imap"]),
        b"EHLO c\r\nBURL imap://x/y LAST\r\nMAIL FROM:<a@x.org>\r\nBURL imap://x/y LAST\r\n\
          RSET\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<no@x.org>\r\nBURL imap://x/y LAST\r\nBDAT 2 LAST\r\nhi\
          RSET\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBURL https://x/y LAST\r\nBURL imap://x/y\r\n",
        &mut |s, e| match e {
            Event::Rcpt { to, .. } if to.to_string().contains("no@") => s.deny().unwrap(),
            Event::Burl { .. } => panic!("refused before the application"),
            e => accept_all(s, e),
        },
    );
    let replies: Vec<&str> = out.lines().filter(|l| !l.starts_with("250")).collect();
    assert_eq!(
        replies,
        [
            "220 mx.example.org ESMTP esmtp",
            "503 5.5.1 Need MAIL command first",
            "503 5.5.0 Valid RCPT TO required before BURL",
            "550 5.1.1 Recipient rejected",
            "554 5.5.0 No recipients have been specified",
            "503 5.5.1 RSET required after a failed BDAT",
            "504 5.5.4 URL scheme not supported",
            "503 5.5.1 RSET required after a failed BURL or BDAT",
        ],
        "{out}"
    );

    let out = serve(
        burl_server(&["imap"]).lmtp(),
        b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBURL imap://x/y LAST\r\n",
        &mut accept_all,
    );
    assert!(!out.contains("BURL"));
    assert!(
        out.ends_with("502 5.5.1 Command not implemented\r\n"),
        "{out}"
    );
}

/// RFC 4468 §5, §6: the application refuses with `554 5.6.6` by default,
/// or its own code (`451 4.4.1`); the transaction fails, content already
/// handed over is aborted, and DATA is out of sequence after BURL
/// (§3.1: BURL replaces DATA).
#[test]
fn burl_resolution_failures_rfc4468_6() {
    let input = b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 5\r\nabc\r\n\
                  BURL imap://x/unknown LAST\r\nDATA\r\nRSET\r\n\
                  MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBURL imap://x/down LAST\r\n";
    let mut app = Submission::default();
    let out = serve(burl_server(&["imap"]), input, &mut |s, e| match e {
        Event::Burl { url, .. } if url.ends_with("down") => {
            let reply = Reply::new(
                SERVER_UNAVAILABLE.code(),
                Some(SERVER_UNAVAILABLE.enhanced()),
                [SERVER_UNAVAILABLE.text()],
            )
            .unwrap();
            s.respond(&reply).unwrap();
        }
        e => app.on(s, e),
    });
    assert!(out.contains("\r\n554 5.6.6 URL resolution failed\r\n503 5.5.1 DATA not allowed after BDAT\r\n250 2.0.0 OK\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n451 4.4.1 IMAP server unavailable\r\n"),
        "{out}"
    );
    // Each failed message is aborted, whatever it had received.
    assert_eq!(app.aborted, 2);
    assert!(app.messages.is_empty());
}

/// RFC 4468 §6: content that takes the message past the size limit is
/// refused `554 5.3.4`; the application is told to stop supplying it.
/// Bare line ends in it are refused as in BDAT content.
#[test]
fn burl_content_is_counted_and_checked_rfc4468_6() {
    let mut small = burl_server(&["imap"]);
    small.limits.message_size = Some(9);
    let input = b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 5\r\nabc\r\n\
                  BURL imap://x/y LAST\r\nBDAT 1 LAST\r\nx";
    let mut results = Vec::new();
    let out = serve(small, input, &mut |s, e| match e {
        Event::Burl { .. } => {
            results.push(s.burl_content(Bytes::from_static(b"1234")));
            results.push(s.burl_content(Bytes::from_static(b"5")));
            results.push(s.accept());
        }
        e => accept_all(s, e),
    });
    assert_eq!(
        results,
        [
            Ok(()),
            Err(ApiError::BurlRefused),
            Err(ApiError::NoPendingDecision)
        ]
    );
    assert!(
        out.contains("\r\n554 5.3.4 Message too big for system\r\n503 5.5.1 RSET"),
        "{out}"
    );

    let out = serve(
        burl_server(&["imap"]),
        b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBURL imap://x/y LAST\r\n",
        &mut |s, e| match e {
            Event::Burl { .. } => {
                assert_eq!(
                    s.burl_content(Bytes::from_static(b"bare\nlf")),
                    Err(ApiError::BurlRefused)
                );
            }
            e => accept_all(s, e),
        },
    );
    assert!(
        out.ends_with("550 5.6.0 Bare LF not allowed in message content\r\n"),
        "{out}"
    );
    // Content for no BURL is a misuse.
    let mut server = Server::new(burl_server(&["imap"]));
    assert_eq!(server.burl_content(Bytes::new()), Err(ApiError::NoBurl));
}

/// A BURL answered with a 2xx reply of the application's for a part
/// (not LAST) sends that reply (RFC 4468 §6 lists `250 2.5.0` and
/// `250 2.6.4`).
#[test]
fn burl_part_reply_is_the_applications_rfc4468_6() {
    let reply = Reply::new(
        ReplyCode::OK,
        EnhancedStatusCode::new(2, 6, 4),
        ["MIME header conversion with loss performed"],
    )
    .unwrap();
    let out = serve(
        burl_server(&[]),
        b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBURL https://x/y\r\n",
        &mut |s, e| match e {
            Event::Burl { url, last } => {
                assert_eq!((url.as_str(), last), ("https://x/y", false));
                s.burl_content(Bytes::from_static(b"a\r\n")).unwrap();
                s.respond(&reply).unwrap();
            }
            e => accept_all(s, e),
        },
    );
    assert!(
        out.contains("250-BURL\r\n"),
        "bare: every scheme is the application's"
    );
    assert!(
        out.ends_with("250 2.6.4 MIME header conversion with loss performed\r\n"),
        "{out}"
    );
}

proptest! {
    /// `parse(write(x)) == x` for `BURL absolute-URI [LAST]` (RFC 4468
    /// §3.5), from the [`Url`] a client builds.
    #[test]
    fn burl_round_trips_rfc4468_3_5(
        scheme in "[a-zA-Z][a-zA-Z0-9+.-]{0,8}",
        rest in "[!-~]{0,40}",
        last in any::<bool>(),
    ) {
        let u = Url::new(format!("{scheme}:{rest}")).unwrap();
        prop_assert_eq!(u.scheme(), scheme.as_str());
        let cmd = Command::Burl { url: Cow::Borrowed(u.as_str()), last };
        let wire = cmd.to_bytes().unwrap();
        let (parsed, used) = Command::parse(&wire, &ParseOptions::strict()).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(parsed, cmd);
    }

    /// What is not an absolute-URI is refused by both the client's [`Url`]
    /// and the server's parser.
    #[test]
    fn burl_rejects_what_is_no_uri_rfc4468_3_5(s in "[ -~]{0,20}( (LAST|last|x))?") {
        let uri = |u: &str| {
            u.split_once(':').is_some_and(|(sc, _)| {
                sc.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && sc.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            }) && !u.contains(' ')
        };
        prop_assert_eq!(Url::new(s.clone()).is_ok(), uri(&s));
        let line = format!("BURL {s}\r\n");
        let parsed = Command::parse(line.as_bytes(), &ParseOptions::strict());
        // RFC 5321 §4.1.1: trailing white space before CRLF is tolerated.
        let words = s.trim_end_matches(' ');
        let expected = match words.split_once(' ') {
            Some((u, end)) => uri(u) && end.eq_ignore_ascii_case("LAST"),
            None => uri(words),
        };
        prop_assert_eq!(parsed.is_ok(), expected, "{:?}", s);
    }
}
