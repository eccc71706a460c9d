//! Hostile framing the server machine must not be tricked by: overlong or
//! unframable BDAT lines (no resynchronisation into the chunk), overlong
//! lines in strict mode (resynchronise on CRLF only), and the reply codes
//! for those errors.

use crate::support;

use esmtp::options::Strictness;
use support::{codes, config, ehlo};

/// A BDAT line longer than the command-line limit can't be framed: the
/// chunk it announces would be read as commands. RFC 3030 §2 (the chunk
/// follows the BDAT line) and RFC 5321 §3.8 (a closing server says 421).
#[test]
fn overlong_bdat_line_closes_instead_of_running_the_chunk_rfc3030_2() {
    let cfg = config();
    let limit = cfg.limits.command_line;
    let mut d = ehlo(cfg);
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    d.take();
    // The chunk is a smuggled transaction.
    let smuggled = b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@d.example>\r\n";
    let mut line = format!("BDAT {} LAST", smuggled.len()).into_bytes();
    line.resize(limit + 10, b' ');
    line.extend_from_slice(b"\r\n");
    line.extend_from_slice(smuggled);
    let out = d.send(&line);
    assert!(out.starts_with("421 4.5.2 "), "{out}");
    assert_eq!(codes(&out), ["421"], "{out}");
    assert!(d.server.is_closed() || d.count("Closed") == 1);
}

/// The same in lower case, and split so the overlong prefix arrives first.
#[test]
fn overlong_bdat_line_split_across_reads_closes_rfc3030_2() {
    let cfg = config();
    let limit = cfg.limits.command_line;
    let mut d = ehlo(cfg);
    let mut line = b"bdat 30 last".to_vec();
    line.resize(limit + 10, b' ');
    let out = d.send(&line);
    let out2 = d.send(b"\r\nMAIL FROM:<evil@x.example>\r\n");
    assert!(out.starts_with("421 "), "{out}");
    assert!(!out2.contains("250"), "{out2}");
}

/// In strict mode only CRLF ends a line (RFC 5321 §2.3.8): skipping an
/// overlong line must not stop at a bare LF, where a hidden command would
/// be run.
#[test]
fn strict_overlong_line_resynchronises_on_crlf_only_rfc5321_2_3_8() {
    let mut cfg = config();
    cfg.strictness = Strictness::Strict;
    let limit = cfg.limits.command_line;
    let mut d = ehlo(cfg);
    let mut line = vec![b'x'; limit + 10];
    line.extend_from_slice(b"\nRSET\r\nNOOP\r\n");
    let out = d.send(&line);
    // One line (ending at the CRLF after RSET) is skipped; NOOP is run.
    assert_eq!(out, "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
}

/// A CRLF split across reads still ends the skipped line in strict mode.
#[test]
fn strict_skip_finds_crlf_split_across_reads_rfc5321_2_3_8() {
    let mut cfg = config();
    cfg.strictness = Strictness::Strict;
    let limit = cfg.limits.command_line;
    let mut d = ehlo(cfg);
    let mut line = vec![b'x'; limit + 10];
    line.push(b'\r');
    let out = d.send(&line);
    assert_eq!(out, "500 5.5.2 Line too long\r\n");
    assert_eq!(d.send(b"\nNOOP\r\n"), "250 2.0.0 OK\r\n");
}

/// X.5.6 is registered for "authentication exchange line is too long"
/// only (RFC 4954 §6, RFC 5248); an ordinary overlong command is a syntax
/// error, 500 5.5.2.
#[test]
fn overlong_command_is_500_5_5_2_rfc5248() {
    let cfg = config();
    let limit = cfg.limits.command_line;
    let mut d = ehlo(cfg);
    let mut line = b"NOOP ".to_vec();
    line.resize(limit + 1, b'y');
    line.extend_from_slice(b"\r\n");
    assert_eq!(d.send(&line), "500 5.5.2 Line too long\r\n");
    let kind = esmtp::error::SyntaxErrorKind::LineTooLong;
    let (code, esc) = kind.reply();
    assert_eq!((code.get(), esc.to_string()), (500, "5.5.2".to_owned()));
}

/// An unknown BODY= value: MAIL has no 504 among its replies (RFC 5321
/// §4.3.2); an unimplemented parameter is 555 5.5.4 (§4.1.1.11), a value
/// outside RFC 6152 §2's syntax 501 5.5.4.
#[test]
fn unknown_body_value_is_555_malformed_is_501_rfc5321_4_1_1_11() {
    let mut d = ehlo(config());
    let out = d.send(b"MAIL FROM:<a@b.example> BODY=9BIT\r\n");
    assert!(out.starts_with("555 5.5.4 "), "{out}");
    let out = d.send(b"MAIL FROM:<a@b.example> BODY=\r\n");
    assert!(out.starts_with("501 5.5.4 "), "{out}");
}

/// Drives `input` through a fresh session in one `receive`, draining
/// transmit whenever the session stops; returns (replies, largest queue).
fn amplify(input: &[u8]) -> (usize, usize, esmtp::server::Server) {
    let mut server = esmtp::server::Server::new(config());
    server.receive(input);
    let (mut replies, mut peak) = (0, 0);
    for _ in 0..1_000_000 {
        while let Some(e) = server.poll_event() {
            assert!(!e.needs_decision(), "{e:?}");
        }
        peak = peak.max(server.queued_reply_len());
        let Some(out) = server.poll_transmit() else {
            break;
        };
        replies += out.windows(2).filter(|w| w == b"\r\n").count();
    }
    (replies, peak, server)
}

/// Invariant: memory stays within the configured limits whatever the peer
/// sends. Pipelined HELP (RFC 2920 §3.1 lets a client send a whole group)
/// used to queue 13× its size in replies from one `receive`.
#[test]
fn pipelined_help_queues_bounded_replies_rfc2920_3_1() {
    let limit = config().limits.max_queued_replies;
    let input = b"HELP\r\n".repeat(256 * 1024 / 6);
    let (lines, peak, server) = amplify(&input);
    // One reply per HELP (each may have several lines) plus the
    // greeting, none lost.
    assert!(lines > 256 * 1024 / 6, "{lines}");
    assert!(peak <= limit + 1024, "queued {peak} > {limit} + one reply");
    assert_eq!(server.buffered_len(), 0);
    assert!(!server.is_closed());
}

/// The same for NOOP: every one answered, the queue bounded.
#[test]
fn pipelined_noop_queues_bounded_replies_rfc5321_4_1_1_9() {
    let limit = config().limits.max_queued_replies;
    let count = 200 * 1024 / 6;
    let input = b"NOOP\r\n".repeat(count);
    let (lines, peak, _) = amplify(&input);
    assert_eq!(lines, count + 1, "the greeting and one 250 per NOOP");
    assert!(peak <= limit + 64, "queued {peak} > {limit} + one reply");
}

/// A configured value must not wrap: a DELIVERBY minimum of 3,000,000,000 s
/// used to become negative (`as i32`), accepting every by-time. RFC 2852 §4
/// caps min-by-time at nine digits; the server advertises and enforces
/// that cap.
#[test]
fn huge_deliver_by_minimum_does_not_wrap_rfc2852_4() {
    let mut cfg = config();
    cfg.extensions.deliver_by = Some(3_000_000_000);
    let mut d = support::Driver::new(cfg);
    let ehlo = d.send(b"EHLO c\r\n");
    assert!(ehlo.contains("DELIVERBY 999999999\r\n"), "{ehlo}");
    let out = d.send(b"MAIL FROM:<a@b.example> BY=120;R\r\n");
    assert!(out.starts_with("555 5.5.4 "), "{out}");
}

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, in lenient mode
/// too (the 64-octet local-part limit stays strict-only).
#[test]
fn path_over_256_octets_refused_in_both_modes_rfc5321_4_5_3_1_3() {
    use esmtp::command::Command;
    use esmtp::ParseOptions;
    let long = format!("RCPT TO:<{}@{}example>", "a".repeat(60), "b.".repeat(100));
    let ok = format!("RCPT TO:<{}@{}example>", "a".repeat(60), "b.".repeat(90));
    for opts in [ParseOptions::strict(), ParseOptions::lenient()] {
        assert!(
            Command::parse_line(long.as_bytes(), &opts).is_err(),
            "{opts:?}"
        );
        assert!(
            Command::parse_line(ok.as_bytes(), &opts).is_ok(),
            "{opts:?}"
        );
    }
    // A bare lenient path is measured as written, brackets included: 255
    // octets bare are 257 on the wire (found by the command fuzz target).
    let bare = |n: usize| format!("RCPT TO:{}@a.example", "x".repeat(n));
    let lenient = ParseOptions::lenient();
    assert!(Command::parse_line(bare(245).as_bytes(), &lenient).is_err());
    assert!(Command::parse_line(bare(244).as_bytes(), &lenient).is_ok());
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\n");
    let out = d.send(format!("{long}\r\n").as_bytes());
    assert!(
        out.starts_with("553 5.1.3 ") || out.starts_with("501 "),
        "{out}"
    );
}

/// U-labels and UTF-8 local parts (SMTPUTF8, RFC 6531 §3.3) may not hide
/// C1 controls or bidi overrides/isolates (RFC 5891 §4.2, RFC 5893 §2):
/// `ad\u{202e}moc.example` would display as another name.
#[test]
fn u_labels_with_controls_or_bidi_overrides_refused_rfc5891_4_2() {
    use esmtp::command::Command;
    use esmtp::values::{Domain, Mailbox};
    use esmtp::ParseOptions;
    for bad in [
        "ex\u{202e}lpmaxe.org",
        "b\u{85}.example",
        "\u{2066}x.example",
    ] {
        assert!(Domain::parse(bad).is_err(), "{bad:?}");
        let line = format!("RCPT TO:<u@{bad}>");
        let opts = ParseOptions::strict().with_utf8(true);
        assert!(
            Command::parse_line(line.as_bytes(), &opts).is_err(),
            "{bad:?}"
        );
    }
    for bad in ["j\u{202e}ane@x.example", "\"j\u{9b}ane\"@x.example"] {
        assert!(Mailbox::parse(bad).is_err(), "{bad:?}");
    }
    assert!(Domain::parse("bücher.example").is_ok());
    assert!(Mailbox::parse("jürgen@bücher.example").is_ok());
}

/// RFC 5321 §4.2 (`textstring` has no controls) and §4.5.3.1.5 (512
/// octets a line): a relay that parses an upstream reply leniently and
/// passes it on through `respond` writes no NUL, no bare CR or LF and no
/// overlong line to its own client, as if the reply were built by
/// `Reply::new`.
#[test]
fn relayed_upstream_reply_is_written_as_a_textstring_rfc5321_4_2() {
    use esmtp::reply::{Reply, ReplyParseOptions};
    use esmtp::server::Event;
    let opts = ReplyParseOptions::new()
        .with_strictness(Strictness::Lenient)
        .with_max_line(4096);
    let mut upstream = b"550-no\x00such\x1b[2J user\r\n550 ".to_vec();
    upstream.extend(std::iter::repeat_n("\u{e9}", 600).flat_map(|s| s.bytes()));
    upstream.extend_from_slice(b"\r\n");
    let (reply, _) = Reply::parse(&upstream, &opts).expect("lenient parse");
    let mut d = support::Driver::manual(config());
    while let Some(e) = d.event() {
        if e.needs_decision() {
            d.server.accept().unwrap();
        }
    }
    d.take();
    d.server
        .receive(b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@d.example>\r\n");
    loop {
        match d.event() {
            Some(Event::Rcpt { .. }) => break,
            Some(e) if e.needs_decision() => d.server.accept().unwrap(),
            Some(_) => {}
            None => panic!("no RCPT event"),
        }
    }
    d.server.respond(&reply).unwrap();
    while d.event().is_some() {}
    let out = d.take();
    let rcpt = &out[out.find("550-").expect(&out)..];
    support::assert_well_formed(rcpt.as_bytes());
    for line in rcpt.split_terminator("\r\n") {
        assert!(line.len() + 2 <= 512, "{}", line.len());
        assert!(!line.bytes().any(|b| b < 0x20 && b != b'\t'), "{line:?}");
    }
    assert!(
        rcpt.starts_with("550-no such [2J user\r\n550 \u{e9}"),
        "{rcpt:?}"
    );
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn auth_config() -> esmtp::server::ServerConfig {
    use esmtp::ehlo::Mechanism;
    let mut cfg = config();
    cfg.extensions.auth = vec![Mechanism::Plain, Mechanism::CramMd5];
    cfg.extensions.auth_requires_tls = false;
    cfg
}

/// The invariant "no secret in logs": `Debug` of the server while an AUTH
/// line is buffered, and of the credentials it hands out, shows no
/// password, no base64 of it, no CRAM-MD5 challenge or digest (RFC 4954
/// §4 responses carry the secret; RFC 2195 §4: challenge and digest allow
/// an offline dictionary attack).
#[test]
fn debug_prints_no_secret_material_rfc4954_4() {
    use esmtp::server::Event;
    let response = b64(b"\0jane\0hunter2");
    let mut d = support::Driver::manual(auth_config());
    d.server.set_nonce(1896);
    d.auto = true;
    d.send(b"EHLO c.example\r\n");
    d.auto = false;
    d.send(format!("AUTH PLAIN {response}").as_bytes());
    let dbg = format!("{:?}", d.server);
    assert!(dbg.contains("buffered_input"), "{dbg}");
    assert!(
        !dbg.contains(&response[..12]) && !dbg.contains("hunter2"),
        "{dbg}"
    );
    d.server.receive(b"\r\n");
    match d.event() {
        Some(Event::Auth(c)) => {
            let dbg = format!("{c:?}");
            assert!(dbg.contains("jane") && !dbg.contains("hunter2"), "{dbg}");
            assert!(c.verify_password("hunter2") && !c.verify_password("hunter3"));
        }
        e => panic!("{e:?}"),
    }
    d.server.deny().unwrap();
    d.take();
    let out = d.send(b"AUTH CRAM-MD5\r\n");
    let challenge = out.strip_prefix("334 ").unwrap().trim_end().to_string();
    let dbg = format!("{:?}", d.server);
    assert!(!dbg.contains("1896") && !dbg.contains(&challenge), "{dbg}");
    let digest = "0123456789abcdef0123456789abcdef";
    d.server
        .receive(format!("{}\r\n", b64(format!("tim {digest}").as_bytes())).as_bytes());
    match d.event() {
        Some(Event::Auth(c)) => {
            let dbg = format!("{c:?}");
            assert!(dbg.contains("tim"), "{dbg}");
            assert!(!dbg.contains(digest) && !dbg.contains("1896"), "{dbg}");
        }
        e => panic!("{e:?}"),
    }
}

/// `Secret` equality is by content (decided in constant time, see
/// `subtle`), and `Debug` redacts it.
#[test]
fn secret_compares_by_content_and_redacts() {
    use esmtp::server::Secret;
    assert_eq!(Secret::new("hunter2"), Secret::new("hunter2"));
    assert_ne!(Secret::new("hunter2"), Secret::new("hunter3"));
    assert_ne!(Secret::new("hunter2"), Secret::new("hunter22"));
    assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
}

/// Only `BODY=BINARYMIME` content may hold bare CR, bare LF or NUL (RFC
/// 3030 §3; RFC 5321 §2.3.8 for text): BDAT text gets DATA's default
/// `BarePolicy::Reject`, so an application relaying it into another DATA
/// stack cannot be smuggled a `<LF>.<LF>` downstream. The BDAT that
/// carries it is answered 550 5.6.0 and the transaction has failed (RFC
/// 3030 §2: later BDATs are refused until RSET).
#[test]
fn bdat_text_gets_the_bare_octet_policy_of_data_rfc3030_3() {
    for (content, why) in [
        (&b"a\n.\nMAIL FROM:<x@y>\n"[..], "Bare LF"),
        (&b"a\r.\r\n"[..], "Bare CR"),
        (&b"a\0b\r\n"[..], "NUL"),
    ] {
        let mut d = ehlo(config());
        d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
        d.take();
        let mut input = format!("BDAT {}\r\n", content.len()).into_bytes();
        input.extend_from_slice(content);
        input.extend_from_slice(b"BDAT 2 LAST\r\n\r\nRSET\r\n");
        let out = d.send(&input);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("550 5.6.0 ") && lines[0].contains(why),
            "{out}"
        );
        assert!(lines[1].starts_with("503 "), "{out}");
        assert!(lines[2].starts_with("250 "), "{out}");
        assert_eq!(d.count("MessageEnd"), 0);
        assert_eq!(d.count("MessageAborted"), 1, "{out}");
    }
}

/// A CRLF split across two chunks is one line end; a CR that ends the
/// last chunk is bare; BINARYMIME content and `BarePolicy::Allow` pass as
/// they are.
#[test]
fn bdat_bare_check_spans_chunks_and_spares_binarymime_rfc3030_3() {
    use esmtp::data::BarePolicy;
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    d.take();
    let out = d.send(b"BDAT 2\r\na\rBDAT 3 LAST\r\n\nb\r");
    assert!(out.starts_with("250 "), "{out}");
    assert!(out.contains("550 5.6.0 Bare CR"), "{out}");
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    let out = d.send(b"BDAT 2\r\na\rBDAT 3 LAST\r\n\nb\n");
    assert!(out.contains("550 5.6.0 Bare LF"), "{out}");
    let mut d = ehlo(config());
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    let out = d.send(b"BDAT 2\r\na\rBDAT 4 LAST\r\n\nb\r\n");
    assert_eq!(codes(&out), ["250", "250"], "{out}");
    assert_eq!(d.contents(), [b"a\r\nb\r\n".to_vec()]);
    let mut cfg = config();
    cfg.extensions.binary_mime = true;
    let mut d = ehlo(cfg);
    d.send(b"MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n");
    let out = d.send(b"BDAT 5 LAST\r\na\n\0\rb");
    assert_eq!(codes(&out), ["250"], "{out}");
    let mut cfg = config();
    cfg.bare_line_endings = BarePolicy::Allow;
    let mut d = ehlo(cfg);
    d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    let out = d.send(b"BDAT 5 LAST\r\na\n.\nb");
    assert_eq!(codes(&out), ["250"], "{out}");
}

/// RFC 5321 §4.5.3.2.7: the server waits a bounded time for the next
/// command. Octets of an incomplete (or overlong, skipped) line do not
/// restart the wait, so a slowloris client sending one octet at a time is
/// closed with `421 4.4.2` once `Timeouts::command` has passed since its
/// last complete line.
#[test]
fn trickled_command_line_does_not_restart_the_idle_timer_rfc5321_4_5_3_2_7() {
    use std::time::{Duration, Instant};
    for overlong in [false, true] {
        let cfg = config();
        let limit = cfg.timeouts.command;
        let mut d = ehlo(cfg);
        let t0 = Instant::now();
        d.server.handle_timeout(t0);
        let deadline = d.server.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + limit);
        let line = if overlong {
            vec![b'x'; 4000]
        } else {
            b"NOOP and some more text, trickled one octet at a time".to_vec()
        };
        let step = Duration::from_secs(10);
        let mut now = t0;
        let mut closed_after = None;
        for piece in line.chunks(if overlong { 100 } else { 1 }) {
            now += step;
            d.server.handle_timeout(now);
            d.pump();
            if d.server.is_closed() {
                closed_after = Some(now - t0);
                break;
            }
            let out = d.send(piece);
            assert!(!out.starts_with("250"), "{out}");
            // The time was given before the octets: had they counted as
            // progress, the deadline would have moved to `now + limit`.
            let next = d.server.poll_timeout().unwrap();
            assert!(
                next <= deadline,
                "overlong={overlong}: moved by {:?}",
                next - deadline
            );
        }
        let after = closed_after.expect("closed by the idle timer");
        assert!(after <= limit + step, "{after:?}");
        assert!(
            String::from_utf8_lossy(&d.wire).contains("421 4.4.2 "),
            "{}",
            String::from_utf8_lossy(&d.wire)
        );
        assert_eq!(d.count("Closed { reason: Timeout }"), 1);
    }
}

/// A message's content has a wall-clock bound (`Timeouts::message`), so
/// content trickled just fast enough for the per-read `data` timeout
/// still ends with `421 4.4.2` and an aborted message (RFC 5321
/// §4.5.3.2.7 in spirit: no client holds a session forever).
#[test]
fn trickled_message_content_is_bounded_by_the_message_timeout() {
    use std::time::{Duration, Instant};
    for bdat in [false, true] {
        let mut cfg = config();
        cfg.timeouts.data = Duration::from_secs(30);
        cfg.timeouts.message = Duration::from_secs(120);
        let mut d = ehlo(cfg);
        d.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
        d.send(if bdat {
            b"BDAT 100000\r\n"
        } else {
            b"DATA\r\n"
        });
        let t0 = Instant::now();
        d.server.handle_timeout(t0);
        let mut now = t0;
        let mut closed_after = None;
        for _ in 0..100 {
            now += Duration::from_secs(20);
            d.server.handle_timeout(now);
            d.pump();
            if d.server.is_closed() {
                closed_after = Some(now - t0);
                break;
            }
            d.send(b"x");
            let deadline = d.server.poll_timeout().unwrap();
            assert!(deadline <= t0 + Duration::from_secs(120), "bdat={bdat}");
        }
        let after = closed_after.expect("closed by the message timeout");
        assert!(after <= Duration::from_secs(140), "{after:?}");
        assert!(
            String::from_utf8_lossy(&d.wire).contains("421 4.4.2 "),
            "{}",
            String::from_utf8_lossy(&d.wire)
        );
        assert_eq!(d.count("MessageAborted"), 1, "bdat={bdat}");
    }
}
