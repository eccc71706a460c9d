//! Interop tests of the example servers (`examples/server.rs` on tokio,
//! `examples/server_blocking.rs` on std::net threads) with real clients:
//! Python smtplib, swaks, msmtp, curl and Postfix's smtp-source. Each test
//! starts its own server on a kernel-chosen loopback port (`--listen
//! 127.0.0.1:0`; the port is read from the `listening on` line) with its
//! own temporary Maildir, and checks the delivered files byte for byte: the
//! prepended `Return-Path:`, `Delivered-To:` and `Received:` fields
//! (RFC 5321 §4.4) and the content exactly as sent, after unstuffing.
//!
//! The example binaries are built once per test run with `cargo build
//! --example …` (a no-op when `cargo test` already built them).

use crate::common;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::example::{Driver, ExampleServer};
use common::smtp::SmtpConn;
use common::{clients, show, TempDir};

// ---------------------------------------------------------------------
// Checking a delivered file
// ---------------------------------------------------------------------

/// What a delivered file must hold.
struct Expect<'a> {
    from: &'a str,
    to: &'a [&'a str],
    helo: &'a str,
    /// The `with` protocol (RFC 3848, RFC 6531).
    proto: &'a str,
    content: &'a [u8],
}

/// Checks the prepended trace fields and the content byte for byte;
/// returns the delivery id from the `Received:` field.
///
/// ```text
/// Return-Path: <from>
/// Delivered-To: <to>            (one per recipient, in RCPT order)
/// Received: from HELO ([127.0.0.1])
///         by HOST with PROTO id ID
///         for <to>; DATE        (the for clause only with one recipient)
/// ```
#[track_caller]
fn check_delivery(file: &[u8], host: &str, e: &Expect<'_>) -> String {
    let mut head = format!("Return-Path: <{}>\r\n", e.from);
    for to in e.to {
        head.push_str(&format!("Delivered-To: <{to}>\r\n"));
    }
    head.push_str(&format!(
        "Received: from {} ([127.0.0.1])\r\n\tby {host} with {} id ",
        e.helo, e.proto
    ));
    let rest = file
        .strip_prefix(head.as_bytes())
        .unwrap_or_else(|| panic!("file does not start with\n{head}\ngot\n{}", show(file)));
    let id_len = rest
        .iter()
        .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        .count();
    assert!(id_len >= 8, "no id in {}", show(file));
    let id = String::from_utf8_lossy(&rest[..id_len]).into_owned();
    let mut rest = &rest[id_len..];
    if let [only] = e.to {
        let clause = format!("\r\n\tfor <{only}>");
        rest = rest
            .strip_prefix(clause.as_bytes())
            .unwrap_or_else(|| panic!("no `for <{only}>` clause in {}", show(file)));
    }
    let rest = rest
        .strip_prefix(b"; ")
        .unwrap_or_else(|| panic!("no `; date` in {}", show(file)));
    let eol = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or_else(|| panic!("unterminated Received: in {}", show(file)));
    check_rfc5322_date(&String::from_utf8_lossy(&rest[..eol]));
    let content = &rest[eol + 2..];
    assert_eq!(
        show(content),
        show(e.content),
        "content differs from what the client sent"
    );
    id
}

/// `Sun, 22 Nov 2026 12:00:04 +0000` (RFC 5322 §3.3, as the server writes it).
#[track_caller]
fn check_rfc5322_date(date: &str) {
    let parts: Vec<&str> = date.split(' ').collect();
    let ok = parts.len() == 6
        && ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"].contains(&parts[0])
        && parts[1].len() == 2
        && parts[1].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&parts[2])
        && parts[3].parse::<u16>().is_ok_and(|y| y >= 2024)
        && parts[4].len() == 8
        && parts[4]
            .split(':')
            .all(|f| f.len() == 2 && f.parse::<u8>().is_ok())
        && parts[5] == "+0000";
    assert!(ok, "not an RFC 5322 date: {date:?}");
}

/// The text of every reply line a client transcript shows (swaks marks
/// server lines with `<-  ` or `<~  ` under TLS).
fn swaks_replies(out: &clients::ClientOutput) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("<-  ").or_else(|| l.strip_prefix("<~  ")))
        .map(str::to_owned)
        .collect()
}

/// `curl -sS --max-time 20 URL ARGS… -T -` with `message` on stdin (the
/// harness's `clients::curl` has no URL path, which curl uses as the EHLO
/// name); `None` = skip.
fn curl(url: &str, args: &[&str], message: &[u8]) -> Option<clients::ClientOutput> {
    let program = common::require_program("curl")?;
    let out = clients::run(
        Command::new(program)
            .args(["-sS", "--max-time", "20", url])
            .args(args)
            .args(["-T", "-"]),
        Some(message),
        common::CLIENT_TIMEOUT,
    )
    .expect("run curl");
    Some(out)
}

/// Runs a Python smtplib script (`sys.argv[1]` = port); `None` = skip.
fn python(script: &str, args: &[&str]) -> Option<clients::ClientOutput> {
    let out = clients::python_script(script, args)?;
    out.assert_success("python smtplib script");
    Some(out)
}

/// Lines `KEY value` printed by a script, for `KEY`.
fn printed(out: &clients::ClientOutput, key: &str) -> Vec<String> {
    let prefix = format!("{key} ");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

// ---------------------------------------------------------------------
// Python smtplib
// ---------------------------------------------------------------------

/// Content with a leading dot (stuffed by the client, RFC 5321 §4.5.2),
/// 8-bit text (RFC 6152) and a long line.
const EIGHT_BIT: &[u8] = b"Subject: plain\r\nFrom: <a@sender.test>\r\n\r\n.leading dot\r\n..two dots\r\ncaf\xc3\xa9 \xe2\x82\xac\r\n\tindented  \r\n";

#[test]
fn smtplib_plain_two_recipients_8bitmime_exact_bytes() {
    let server = ExampleServer::start(Driver::Tokio, &[]);
    let port = server.port().to_string();
    // Step by step, to see the 250 text of the end of data.
    let script = r#"
import smtplib, sys
body = bytes.fromhex(sys.argv[2])
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.esmtp.test', timeout=20) as s:
    code, _ = s.ehlo()
    assert code == 250
    assert s.has_extn('8bitmime') and s.has_extn('pipelining') and s.has_extn('chunking')
    assert s.has_extn('smtputf8') and s.has_extn('dsn') and s.has_extn('enhancedstatuscodes')
    assert s.mail('a@sender.test', ['BODY=8BITMIME'])[0] == 250
    assert s.rcpt('b@rcpt.test')[0] == 250
    assert s.rcpt('c@rcpt.test', ['NOTIFY=SUCCESS,FAILURE'])[0] == 250
    code, text = s.data(body)
    print('DATA', code, text.decode())
    # A second message, one recipient, in the same session.
    s.sendmail('', ['d@rcpt.test'], b'Subject: two\r\n\r\nsecond\r\n')
"#;
    let hex: String = EIGHT_BIT.iter().map(|b| format!("{b:02x}")).collect();
    let Some(out) = python(script, &[&port, &hex]) else {
        return;
    };
    let data = printed(&out, "DATA");
    assert_eq!(data.len(), 1, "{}", out.describe());
    let text = data[0]
        .strip_prefix("250 2.0.0 Message accepted for delivery as ")
        .unwrap_or_else(|| panic!("end of data: {data:?}"));

    let files = server.delivered();
    assert_eq!(files.len(), 2);
    let id = check_delivery(
        &files[0],
        &server.host,
        &Expect {
            from: "a@sender.test",
            to: &["b@rcpt.test", "c@rcpt.test"],
            helo: "client.esmtp.test",
            proto: "ESMTP",
            content: EIGHT_BIT,
        },
    );
    assert_eq!(id, text, "the 250 reply names the Received: id");
    check_delivery(
        &files[1],
        &server.host,
        &Expect {
            from: "",
            to: &["d@rcpt.test"],
            helo: "client.esmtp.test",
            proto: "ESMTP",
            content: b"Subject: two\r\n\r\nsecond\r\n",
        },
    );
    server.assert_tmp_empty();
}

/// AUTH in the clear is allowed only because no certificate is configured
/// (the example sets `auth_requires_tls = false` then).
#[test]
fn smtplib_auth_plain_login_cram_md5() {
    let server = ExampleServer::start(
        Driver::Tokio,
        &["--user", "alice:s3cret pw", "--user", "bob:x"],
    );
    let port = server.port().to_string();
    let script = r#"
import smtplib, sys
port = int(sys.argv[1])
for mech in ['PLAIN', 'LOGIN', 'CRAM-MD5']:
    with smtplib.SMTP('127.0.0.1', port, local_hostname='auth.esmtp.test', timeout=20) as s:
        s.ehlo()
        assert mech in s.esmtp_features['auth'].split(), s.esmtp_features
        s.user, s.password = 'alice', 's3cret pw'
        code, text = s.auth(mech, getattr(s, 'auth_' + mech.lower().replace('-', '_')))
        print('AUTH', mech, code)
        s.sendmail('alice@sender.test', ['r@rcpt.test'], ('Subject: ' + mech + '\r\n\r\nvia ' + mech + '\r\n').encode())
# Refused (RFC 4954 §6: 535 5.7.8): a wrong password, an unknown user,
# PLAIN acting as someone else (RFC 4616 §2). The third failure in one
# session ends it with 421.
import base64
def plain(authz, user, pw):
    return 'PLAIN ' + base64.b64encode(f'{authz}\0{user}\0{pw}'.encode()).decode()
with smtplib.SMTP('127.0.0.1', port, local_hostname='auth.esmtp.test', timeout=20) as s:
    s.ehlo()
    for authz, user, pw in [('', 'alice', 'wrong'), ('', 'mallory', 's3cret pw'), ('bob', 'alice', 's3cret pw')]:
        code, text = s.docmd('AUTH', plain(authz, user, pw))
        print('BAD', code, text.decode())
    code, text = s.getreply()
    print('AFTER', code, text.decode())
"#;
    let Some(out) = python(script, &[&port]) else {
        return;
    };
    assert_eq!(
        printed(&out, "AUTH"),
        ["PLAIN 235", "LOGIN 235", "CRAM-MD5 235"],
        "{}",
        out.describe()
    );
    let bad = printed(&out, "BAD");
    assert_eq!(bad.len(), 3, "{}", out.describe());
    assert!(bad.iter().all(|b| b.starts_with("535 5.7.8")), "{bad:?}");
    let after = printed(&out, "AFTER");
    assert!(after[0].starts_with("421 4.7.0"), "{after:?}");
    let files = server.delivered();
    assert_eq!(files.len(), 3);
    for (file, mech) in files.iter().zip(["PLAIN", "LOGIN", "CRAM-MD5"]) {
        check_delivery(
            file,
            &server.host,
            &Expect {
                from: "alice@sender.test",
                to: &["r@rcpt.test"],
                helo: "auth.esmtp.test",
                // RFC 3848 §2: ESMTPA, authenticated.
                proto: "ESMTPA",
                content: format!("Subject: {mech}\r\n\r\nvia {mech}\r\n").as_bytes(),
            },
        );
    }
}

#[test]
fn smtplib_starttls_then_auth_under_tls() {
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("tls");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    let server = ExampleServer::start(
        Driver::Tokio,
        &["--tls-cert", &cert, "--tls-key", &key, "--user", "alice:pw"],
    );
    let port = server.port().to_string();
    let script = r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
port = int(sys.argv[1])
with smtplib.SMTP('127.0.0.1', port, local_hostname='tls.esmtp.test', timeout=20) as s:
    s.ehlo()
    print('CLEAR', 'starttls' in s.esmtp_features, 'auth' in s.esmtp_features, 'requiretls' in s.esmtp_features)
    s.starttls(context=ctx)
    s.ehlo()
    print('TLS', 'starttls' in s.esmtp_features, s.esmtp_features.get('auth', '').strip(), 'requiretls' in s.esmtp_features)
    s.sendmail('a@sender.test', ['b@rcpt.test'], b'Subject: tls\r\n\r\nover tls\r\n', ['REQUIRETLS'])
    s.login('alice', 'pw')
    s.sendmail('alice@sender.test', ['b@rcpt.test'], b'Subject: tls+auth\r\n\r\nover tls, authenticated\r\n')
"#;
    let Some(out) = python(script, &[&port]) else {
        return;
    };
    // RFC 3207 §4.2 and RFC 4954 §4: AUTH only after STARTTLS here;
    // RFC 8689 §4: REQUIRETLS only under TLS.
    assert_eq!(
        printed(&out, "CLEAR"),
        ["True False False"],
        "{}",
        out.describe()
    );
    assert_eq!(printed(&out, "TLS"), ["False PLAIN LOGIN CRAM-MD5 True"]);
    let files = server.delivered();
    assert_eq!(files.len(), 2);
    check_delivery(
        &files[0],
        &server.host,
        &Expect {
            from: "a@sender.test",
            to: &["b@rcpt.test"],
            helo: "tls.esmtp.test",
            proto: "ESMTPS",
            content: b"Subject: tls\r\n\r\nover tls\r\n",
        },
    );
    check_delivery(
        &files[1],
        &server.host,
        &Expect {
            from: "alice@sender.test",
            to: &["b@rcpt.test"],
            helo: "tls.esmtp.test",
            proto: "ESMTPSA",
            content: b"Subject: tls+auth\r\n\r\nover tls, authenticated\r\n",
        },
    );
}

#[test]
fn smtplib_send_message_smtputf8() {
    let server = ExampleServer::start(Driver::Tokio, &[]);
    let port = server.port().to_string();
    // send_message adds SMTPUTF8 and BODY=8BITMIME itself for non-ASCII
    // addresses (RFC 6531 §3.4); the script prints the exact bytes it
    // flattens the message to, the same way send_message does.
    let script = r#"
import smtplib, sys, email.generator, io
from email.message import EmailMessage
msg = EmailMessage()
msg['From'] = 'jörg@sender.test'
msg['To'] = 'élève@rcpt.test'
msg['Subject'] = 'Grüße'
msg.set_content('Ünïcödé body\n')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='utf8.esmtp.test', timeout=20) as s:
    s.ehlo()
    assert s.has_extn('smtputf8')
    s.send_message(msg)
buf = io.BytesIO()
email.generator.BytesGenerator(buf, policy=msg.policy.clone(utf8=True)).flatten(msg, linesep='\r\n')
print('BODY', buf.getvalue().hex())
"#;
    let Some(out) = python(script, &[&port]) else {
        return;
    };
    let body = unhex(&printed(&out, "BODY")[0]);
    let files = server.delivered();
    assert_eq!(files.len(), 1);
    check_delivery(
        &files[0],
        &server.host,
        &Expect {
            from: "jörg@sender.test",
            to: &["élève@rcpt.test"],
            helo: "utf8.esmtp.test",
            proto: "UTF8SMTP",
            content: &body,
        },
    );
    assert!(String::from_utf8_lossy(&body).contains("From: jörg@sender.test\r\n"));
}

// ---------------------------------------------------------------------
// swaks, msmtp, curl
// ---------------------------------------------------------------------

/// What swaks, msmtp and curl send, with LF line ends: the clients turn
/// them into CRLF (and stuff the dot).
const LF_MESSAGE: &[u8] = b"Subject: client\nFrom: <a@sender.test>\n\n.dot line\nbody line\n";
/// swaks ends DATA with CRLF `.` CRLF after the data as given, so a final
/// line end of its own would add an empty line.
const SWAKS_DATA: &[u8] = b"Subject: client\nFrom: <a@sender.test>\n\n.dot line\nbody line";
const CRLF_MESSAGE: &[u8] =
    b"Subject: client\r\nFrom: <a@sender.test>\r\n\r\n.dot line\r\nbody line\r\n";

#[test]
fn swaks_pipeline_tls_and_auth() {
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("swaks");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    let server = ExampleServer::start(
        Driver::Tokio,
        &["--tls-cert", &cert, "--tls-key", &key, "--user", "sam:pa55"],
    );
    let data = server.scratch("message.txt");
    std::fs::write(&data, SWAKS_DATA).expect("write message");
    let data = data.to_string_lossy().into_owned();
    let common_args = [
        "--helo",
        "swaks.esmtp.test",
        "--from",
        "a@sender.test",
        "--to",
        "b@rcpt.test",
        "--data",
        &data,
    ];
    let runs: [(&[&str], &str); 3] = [
        (&["--pipeline"], "ESMTP"),
        (&["--tls"], "ESMTPS"),
        (
            &[
                "--tls",
                "--pipeline",
                "--auth",
                "CRAM-MD5",
                "--auth-user",
                "sam",
                "--auth-password",
                "pa55",
            ],
            "ESMTPSA",
        ),
    ];
    for (extra, _) in runs {
        let args: Vec<&str> = common_args.iter().chain(extra).copied().collect();
        let Some(out) = clients::swaks(server.port(), &args) else {
            return;
        };
        out.assert_success(&format!("swaks {extra:?}"));
        let replies = swaks_replies(&out);
        assert!(
            replies
                .iter()
                .any(|r| r.starts_with("250 2.0.0 Message accepted")),
            "{}",
            out.describe()
        );
    }
    let files = server.delivered();
    assert_eq!(files.len(), 3);
    for (file, (_, proto)) in files.iter().zip(runs) {
        check_delivery(
            file,
            &server.host,
            &Expect {
                from: "a@sender.test",
                to: &["b@rcpt.test"],
                helo: "swaks.esmtp.test",
                proto,
                content: CRLF_MESSAGE,
            },
        );
    }
}

#[test]
fn msmtp_and_curl_plain_starttls_and_auth() {
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("clients");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    let server = ExampleServer::start(
        Driver::Tokio,
        &["--tls-cert", &cert, "--tls-key", &key, "--user", "mo:pw"],
    );
    let port = server.port();
    let Some(out) = clients::msmtp(
        port,
        &[
            "--domain=msmtp.esmtp.test",
            "--from=a@sender.test",
            "b@rcpt.test",
        ],
        LF_MESSAGE,
    ) else {
        return;
    };
    out.assert_success("msmtp");
    let Some(out) = clients::msmtp(
        port,
        &[
            "--domain=msmtp.esmtp.test",
            "--tls=on",
            "--tls-starttls=on",
            "--tls-certcheck=off",
            "--auth=plain",
            "--user=mo",
            "--passwordeval=echo pw",
            "--from=a@sender.test",
            "b@rcpt.test",
        ],
        LF_MESSAGE,
    ) else {
        return;
    };
    out.assert_success("msmtp --tls --auth");
    // curl says EHLO with the URL's path, or its own name without one.
    let url = format!("smtp://127.0.0.1:{port}/curl.esmtp.test");
    for extra in [
        &[][..],
        &[
            "--ssl-reqd",
            "-k",
            "--user",
            "mo:pw",
            "--login-options",
            "AUTH=LOGIN",
        ][..],
    ] {
        // curl sends the upload as is unless told: without --crlf the
        // bare LFs are refused (RFC 5321 §2.3.8).
        let mut args = vec![
            "--crlf",
            "--mail-from",
            "a@sender.test",
            "--mail-rcpt",
            "b@rcpt.test",
        ];
        args.extend_from_slice(extra);
        let Some(out) = curl(&url, &args, LF_MESSAGE) else {
            return;
        };
        out.assert_success(&format!("curl {extra:?}"));
    }
    let files = server.delivered();
    assert_eq!(files.len(), 4);
    for (file, (helo, proto)) in files.iter().zip([
        ("msmtp.esmtp.test", "ESMTP"),
        ("msmtp.esmtp.test", "ESMTPSA"),
        ("curl.esmtp.test", "ESMTP"),
        ("curl.esmtp.test", "ESMTPSA"),
    ]) {
        check_delivery(
            file,
            &server.host,
            &Expect {
                from: "a@sender.test",
                to: &["b@rcpt.test"],
                helo,
                proto,
                content: CRLF_MESSAGE,
            },
        );
    }
}

// ---------------------------------------------------------------------
// Postfix smtp-source: many concurrent sessions
// ---------------------------------------------------------------------

#[test]
fn smtp_source_5000_messages_each_delivered_once() {
    smtp_source_5000("thread");
}

/// The same load with the message files written on the sessions' worker,
/// as the example does on a memory file system.
#[test]
fn smtp_source_5000_messages_delivered_inline() {
    smtp_source_5000("inline");
}

/// smtp-source's 5000 messages against the tokio example with delivery
/// `mode` (`ESMTP_EXAMPLE_DELIVERY`): each is in `new/` once, byte for byte.
fn smtp_source_5000(mode: &str) {
    let Some(source) = common::require_program("smtp-source") else {
        return;
    };
    let server =
        ExampleServer::start_with_env(Driver::Tokio, &[], &[("ESMTP_EXAMPLE_DELIVERY", mode)]);
    let wanted = if mode == "inline" {
        "delivering on the sessions' workers"
    } else {
        "delivering on a group-commit thread"
    };
    assert!(server.stderr().contains(wanted), "{}", server.stderr());
    // 10 parallel sessions, 5000 messages, several per connection (-d);
    // -N numbers the recipients so each message can be told apart.
    let started = Instant::now();
    let out = clients::run(
        Command::new(source).args([
            "-s",
            "10",
            "-m",
            "5000",
            "-N",
            "-M",
            "source.esmtp.test",
            "-f",
            "s@sender.test",
            "-t",
            "r@rcpt.test",
            "-d",
            &format!("127.0.0.1:{}", server.port()),
        ]),
        None,
        Duration::from_secs(120),
    )
    .expect("run smtp-source");
    out.assert_success("smtp-source");
    eprintln!("smtp-source: 5000 messages in {:?}", started.elapsed());

    let files = server.delivered();
    assert_eq!(files.len(), 5000, "messages delivered");
    let mut seen = vec![false; 5001];
    for file in &files {
        // `-N` prefixes a sequence number 1..=5000 to the local part.
        let text = String::from_utf8_lossy(file);
        let n: usize = text
            .strip_prefix("Return-Path: <s@sender.test>\r\nDelivered-To: <")
            .and_then(|r| r.split_once("r@rcpt.test>\r\n"))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected file {}", show(file)));
        assert!(
            (1..=5000).contains(&n) && !seen[n],
            "recipient {n} twice or out of range"
        );
        seen[n] = true;
        let rcpt = format!("{n}r@rcpt.test");
        // smtp-source says HELO: plain SMTP. Its content: own headers,
        // then "La de da de da N." lines.
        let content_start = text
            .find("From: <s@sender.test>\r\n")
            .expect("smtp-source content");
        check_delivery(
            file,
            &server.host,
            &Expect {
                from: "s@sender.test",
                to: &[&rcpt],
                helo: "source.esmtp.test",
                proto: "SMTP",
                content: &file[content_start..],
            },
        );
        assert!(text.ends_with("\r\n\r\nLa de da de da 1.\r\nLa de da de da 2.\r\nLa de da de da 3.\r\nLa de da de da 4.\r\n"), "{}", show(file));
    }
    server.assert_tmp_empty();
}

// ---------------------------------------------------------------------
// LMTP
// ---------------------------------------------------------------------

#[test]
fn lmtp_swaks_one_reply_per_recipient() {
    let server = ExampleServer::start(Driver::Tokio, &["--lmtp"]);
    let data = server.scratch("message.txt");
    std::fs::write(&data, SWAKS_DATA).expect("write message");
    let data = data.to_string_lossy().into_owned();
    let Some(out) = clients::swaks(
        server.port(),
        &[
            "--protocol",
            "LMTP",
            "--helo",
            "lmtp.esmtp.test",
            "--from",
            "a@sender.test",
            "--to",
            "b@rcpt.test,c@rcpt.test",
            "--data",
            &data,
        ],
    ) else {
        return;
    };
    out.assert_success("swaks --protocol LMTP");
    // RFC 2033 §4.2: after the final dot, one reply per accepted recipient.
    let per_rcpt: Vec<String> = swaks_replies(&out)
        .into_iter()
        .filter(|r| r.contains("Message accepted"))
        .collect();
    assert_eq!(per_rcpt.len(), 2, "{}", out.describe());
    assert!(
        per_rcpt[0].starts_with("250 2.0.0 <b@rcpt.test> "),
        "{per_rcpt:?}"
    );
    assert!(
        per_rcpt[1].starts_with("250 2.0.0 <c@rcpt.test> "),
        "{per_rcpt:?}"
    );
    let files = server.delivered();
    assert_eq!(files.len(), 1, "one file for both recipients");
    check_delivery(
        &files[0],
        &server.host,
        &Expect {
            from: "a@sender.test",
            to: &["b@rcpt.test", "c@rcpt.test"],
            helo: "lmtp.esmtp.test",
            proto: "LMTP",
            content: CRLF_MESSAGE,
        },
    );
}

// ---------------------------------------------------------------------
// Raw sessions: BDAT, refusals, aborts, shutdown
// ---------------------------------------------------------------------

#[test]
fn bdat_delivers_raw_and_refused_or_aborted_messages_leave_nothing() {
    let server = ExampleServer::start(Driver::Tokio, &["--max-size", "2000"]);
    let mut conn = SmtpConn::connect(server.port());
    let ehlo = conn.expect("EHLO raw.esmtp.test", 250);
    assert!(ehlo.lines.iter().any(|l| l == "SIZE 2000"), "{ehlo:?}");
    assert!(ehlo.lines.iter().any(|l| l == "BINARYMIME"), "{ehlo:?}");

    // RFC 3030: BINARYMIME content goes by count, no stuffing, any octet.
    let binary: &[u8] = b"Subject: bin\r\n\r\n\x00\x01.\r\n.\r\nbare\nlf\rcr\xff";
    conn.expect("MAIL FROM:<a@sender.test> BODY=BINARYMIME", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.send(format!("BDAT {}\r\n", 10).as_bytes());
    conn.send(&binary[..10]);
    assert_eq!(conn.read_reply().code, 250);
    conn.send(format!("BDAT {} LAST\r\n", binary.len() - 10).as_bytes());
    conn.send(&binary[10..]);
    let reply = conn.read_reply();
    assert_eq!(reply.code, 250, "{reply:?}");

    // Refused content (RFC 5321 §2.3.8: bare LF) and an oversized message
    // (RFC 1870: 552) leave no file behind.
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.expect("DATA", 354);
    conn.send(b"Subject: bare\r\n\r\nbare\nlf\r\n.\r\n");
    let reply = conn.read_reply();
    assert_eq!(reply.code / 100, 5, "{reply:?}");
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.expect("DATA", 354);
    for _ in 0..40 {
        conn.send(&[b'x'; 98]);
        conn.send(b"\r\n");
    }
    conn.send(b".\r\n");
    let reply = conn.read_reply();
    assert_eq!(reply.code, 552, "{reply:?}");
    // A BDAT transfer abandoned with RSET (RFC 3030 §2).
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.send(b"BDAT 5\r\nhello");
    assert_eq!(conn.read_reply().code, 250);
    conn.expect("RSET", 250);
    // An empty message is still a message.
    conn.expect("MAIL FROM:<> SIZE=0", 250);
    conn.expect("RCPT TO:<Postmaster>", 250);
    conn.expect("DATA", 354);
    conn.send(b".\r\n");
    assert_eq!(conn.read_reply().code, 250);
    // And a connection dropped in the middle of DATA.
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.expect("DATA", 354);
    conn.send(b"Subject: cut\r\n\r\nhalf a mess");
    drop(conn);

    // The server notices the drop asynchronously: wait until its log says so.
    let closed = common::poll_until(Duration::from_secs(10), || {
        server.stderr().contains("closed: PeerClosed").then_some(())
    });
    assert!(closed.is_some(), "{}", server.stderr());
    server.assert_tmp_empty();
    let files = server.delivered();
    assert_eq!(files.len(), 2, "only the BDAT and the empty message");
    check_delivery(
        &files[0],
        &server.host,
        &Expect {
            from: "a@sender.test",
            to: &["b@rcpt.test"],
            helo: "raw.esmtp.test",
            proto: "ESMTP",
            content: binary,
        },
    );
    check_delivery(
        &files[1],
        &server.host,
        &Expect {
            from: "",
            to: &["Postmaster"],
            helo: "raw.esmtp.test",
            proto: "ESMTP",
            content: b"",
        },
    );
}

#[test]
fn sigint_ends_open_sessions_with_421_and_exits() {
    let mut server = ExampleServer::start(Driver::Tokio, &[]);
    let mut conn = SmtpConn::connect(server.port());
    conn.expect("EHLO sig.esmtp.test", 250);
    conn.expect("MAIL FROM:<a@sender.test>", 250);
    conn.expect("RCPT TO:<b@rcpt.test>", 250);
    conn.expect("DATA", 354);
    conn.send(b"Subject: interrupted\r\n\r\npartial\r\n");
    // Let the server read the partial content before the signal.
    std::thread::sleep(Duration::from_millis(200));
    server.signal("INT");
    let reply = conn.read_reply();
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(conn.closed_by_peer());
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    assert!(server.delivered().is_empty());
    server.assert_tmp_empty();
    // The listener is gone.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}

// ---------------------------------------------------------------------
// The blocking driver
// ---------------------------------------------------------------------

#[test]
fn blocking_server_smtplib_and_swaks_tls() {
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("blocking");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    let server = ExampleServer::start(
        Driver::Blocking,
        &["--tls-cert", &cert, "--tls-key", &key, "--user", "bo:pw"],
    );
    let port = server.port().to_string();
    let script = r#"
import smtplib, ssl, sys
body = bytes.fromhex(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='blk.esmtp.test', timeout=20) as s:
    s.sendmail('a@sender.test', ['b@rcpt.test', 'c@rcpt.test'], body, ['BODY=8BITMIME'])
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='blk.esmtp.test', timeout=20) as s:
    s.starttls(context=ctx)
    s.login('bo', 'pw')
    s.sendmail('bo@sender.test', ['b@rcpt.test'], body)
"#;
    let hex: String = EIGHT_BIT.iter().map(|b| format!("{b:02x}")).collect();
    let Some(_) = python(script, &[&port, &hex]) else {
        return;
    };
    let data = server.scratch("message.txt");
    std::fs::write(&data, SWAKS_DATA).expect("write message");
    let data = data.to_string_lossy().into_owned();
    let Some(out) = clients::swaks(
        server.port(),
        &[
            "--tls",
            "--pipeline",
            "--helo",
            "blk.esmtp.test",
            "--from",
            "a@sender.test",
            "--to",
            "b@rcpt.test",
            "--data",
            &data,
        ],
    ) else {
        return;
    };
    out.assert_success("swaks --tls");

    let files = server.delivered();
    assert_eq!(files.len(), 3);
    check_delivery(
        &files[0],
        &server.host,
        &Expect {
            from: "a@sender.test",
            to: &["b@rcpt.test", "c@rcpt.test"],
            helo: "blk.esmtp.test",
            proto: "ESMTP",
            content: EIGHT_BIT,
        },
    );
    check_delivery(
        &files[1],
        &server.host,
        &Expect {
            from: "bo@sender.test",
            to: &["b@rcpt.test"],
            helo: "blk.esmtp.test",
            proto: "ESMTPSA",
            content: EIGHT_BIT,
        },
    );
    check_delivery(
        &files[2],
        &server.host,
        &Expect {
            from: "a@sender.test",
            to: &["b@rcpt.test"],
            helo: "blk.esmtp.test",
            proto: "ESMTPS",
            content: CRLF_MESSAGE,
        },
    );
    server.assert_tmp_empty();
}

/// CVE-2011-0411: commands pipelined after STARTTLS, in the clear, must
/// not run inside the TLS session (RFC 3207 §4.2: the server discards
/// them). Both drivers hand every byte to the machine, which drops them.
#[test]
fn starttls_discards_commands_pipelined_in_the_clear_both_drivers() {
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("inject");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    let script = r#"
import socket, ssl, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
f = s.makefile('rb')
assert f.readline().startswith(b'220')
s.sendall(b'EHLO inject.esmtp.test\r\nSTARTTLS\r\nMAIL FROM:<evil@sender.test>\r\n')
while not f.readline().startswith(b'250 '):
    pass
print('STARTTLS', f.readline().decode().strip())
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.sendall(b'EHLO inject.esmtp.test\r\nRCPT TO:<b@rcpt.test>\r\nQUIT\r\n')
data = b''
while True:
    chunk = t.recv(4096)
    if not chunk:
        break
    data += chunk
for line in data.decode().splitlines()[-2:]:
    print('TLS', line)
"#;
    for driver in [Driver::Tokio, Driver::Blocking] {
        let server = ExampleServer::start(driver, &["--tls-cert", &cert, "--tls-key", &key]);
        let port = server.port().to_string();
        let Some(out) = python(script, &[&port]) else {
            return;
        };
        assert_eq!(
            printed(&out, "STARTTLS"),
            ["220 2.0.0 Ready to start TLS"],
            "{driver:?}"
        );
        // The MAIL sent in the clear was not run: RCPT needs MAIL first.
        let tls = printed(&out, "TLS");
        assert_eq!(
            tls,
            [
                "503 5.5.1 Need MAIL command first".to_owned(),
                format!("221 2.0.0 {} closing connection", server.host)
            ],
            "{driver:?}"
        );
        assert!(server.delivered().is_empty());
    }
}

// ---------------------------------------------------------------------
// The dev-sink flags: --auth-any, --tls-listen, --discard, --log-transcript
// ---------------------------------------------------------------------

/// Writes [`SWAKS_DATA`] to the server's scratch directory for `--data`.
fn swaks_data(server: &ExampleServer) -> String {
    let data = server.scratch("message.txt");
    std::fs::write(&data, SWAKS_DATA).expect("write message");
    data.to_string_lossy().into_owned()
}

/// `--auth-any` (RFC 4954): AUTH is offered (in the clear, on loopback,
/// as for `--user`) and any credentials are accepted with every mechanism,
/// the user name logged; the messages are marked authenticated (RFC 3848:
/// ESMTPA). Both drivers, swaks as the submission client.
#[test]
fn auth_any_accepts_any_credentials_and_logs_the_user_rfc4954() {
    for driver in [Driver::Tokio, Driver::Blocking] {
        let server = ExampleServer::start(driver, &["--auth-any"]);
        let data = swaks_data(&server);
        let runs = [("PLAIN", "pat"), ("LOGIN", "lou"), ("CRAM-MD5", "cram")];
        for (mechanism, user) in runs {
            let password = format!("anything-{user}");
            let args = [
                "--helo",
                "any.esmtp.test",
                "--from",
                "a@sender.test",
                "--to",
                "b@rcpt.test",
                "--data",
                &data,
                "--auth",
                mechanism,
                "--auth-user",
                user,
                "--auth-password",
                &password,
            ];
            let Some(out) = clients::swaks(server.port(), &args) else {
                return;
            };
            out.assert_success(&format!("{driver:?} swaks --auth {mechanism}"));
            assert!(
                swaks_replies(&out)
                    .iter()
                    .any(|r| r.starts_with("235 2.7.0")),
                "{}",
                out.describe()
            );
        }
        let log = server.stderr();
        for (_, user) in runs {
            let wanted = format!("as \"{user}\": accepted (--auth-any)");
            assert!(log.contains(&wanted), "{driver:?}: no {wanted:?} in\n{log}");
        }
        let files = server.delivered();
        assert_eq!(files.len(), 3, "{driver:?}");
        for file in &files {
            check_delivery(
                file,
                &server.host,
                &Expect {
                    from: "a@sender.test",
                    to: &["b@rcpt.test"],
                    helo: "any.esmtp.test",
                    proto: "ESMTPA",
                    content: CRLF_MESSAGE,
                },
            );
        }
    }
}

/// `--tls-listen` (RFC 8314 §3): implicit TLS on a second listener beside
/// the plain one. Python's `SMTP_SSL` and `swaks --tls-on-connect` talk
/// TLS from the first octet; no STARTTLS is offered there, AUTH is (the
/// session is under TLS, RFC 4954 §4); the plain listener still offers
/// STARTTLS. Both drivers.
#[test]
fn tls_listen_serves_implicit_tls_beside_the_plain_listener_rfc8314_3() {
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("implicit");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    let script = r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP_SSL('127.0.0.1', int(sys.argv[1]), local_hostname='ssl.esmtp.test', context=ctx, timeout=20) as s:
    s.ehlo()
    print('EHLO', 'starttls' in s.esmtp_features, s.esmtp_features.get('auth', '').strip())
    s.login('ivy', 'pw')
    s.sendmail('ivy@sender.test', ['b@rcpt.test'], b'Subject: implicit\r\n\r\nfrom the first octet\r\n')
"#;
    for driver in [Driver::Tokio, Driver::Blocking] {
        let server = ExampleServer::start(
            driver,
            &[
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--user",
                "ivy:pw",
                "--tls-listen",
                "127.0.0.1:0",
            ],
        );
        let tls_port = server.tls_port.expect("the implicit-TLS port").to_string();
        let Some(out) = python(script, &[&tls_port]) else {
            return;
        };
        assert_eq!(
            printed(&out, "EHLO"),
            ["False PLAIN LOGIN CRAM-MD5"],
            "{driver:?}"
        );
        let data = swaks_data(&server);
        let common_args = [
            "--helo",
            "ssl.esmtp.test",
            "--from",
            "a@sender.test",
            "--to",
            "b@rcpt.test",
            "--data",
            &data,
        ];
        let mut implicit = vec!["--tls-on-connect", "--port", &tls_port];
        implicit.extend(common_args);
        // swaks takes the last --port given.
        let Some(out) = clients::swaks(server.port(), &implicit) else {
            return;
        };
        out.assert_success(&format!("{driver:?} swaks --tls-on-connect"));
        let Some(out) = clients::swaks(server.port(), &common_args) else {
            return;
        };
        out.assert_success(&format!("{driver:?} swaks on the plain listener"));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("STARTTLS"),
            "{}",
            out.describe()
        );

        let files = server.delivered();
        assert_eq!(files.len(), 3, "{driver:?}");
        let expect = |from, proto, content| Expect {
            from,
            to: &["b@rcpt.test"],
            helo: "ssl.esmtp.test",
            proto,
            content,
        };
        let first = b"Subject: implicit\r\n\r\nfrom the first octet\r\n";
        check_delivery(
            &files[0],
            &server.host,
            &expect("ivy@sender.test", "ESMTPSA", first),
        );
        check_delivery(
            &files[1],
            &server.host,
            &expect("a@sender.test", "ESMTPS", CRLF_MESSAGE),
        );
        check_delivery(
            &files[2],
            &server.host,
            &expect("a@sender.test", "ESMTP", CRLF_MESSAGE),
        );
    }
}

/// `--discard` (Postfix's smtp-sink): every message accepted once its
/// content is read, and dropped: no Maildir is even created, nothing is
/// logged per message. smtp-source's 2000 messages over reused
/// connections, and LMTP's per-recipient replies (RFC 2033 §4.2).
#[test]
fn discard_accepts_and_drops_every_message_like_smtp_sink() {
    let Some(source) = common::require_program("smtp-source") else {
        return;
    };
    for driver in [Driver::Tokio, Driver::Blocking] {
        let server = ExampleServer::start(driver, &["--discard"]);
        let out = clients::run(
            Command::new(&source).args([
                "-s",
                "10",
                "-m",
                "2000",
                "-M",
                "source.esmtp.test",
                "-f",
                "s@sender.test",
                "-t",
                "r@rcpt.test",
                "-d",
                &format!("127.0.0.1:{}", server.port()),
            ]),
            None,
            Duration::from_secs(120),
        )
        .expect("run smtp-source");
        out.assert_success(&format!("{driver:?} smtp-source"));
        assert!(
            !server.maildir.exists(),
            "{driver:?}: a Maildir was created"
        );
        let log = server.stderr();
        assert!(log.contains("discarding every message"), "{log}");
        assert!(!log.contains("delivered"), "{log}");
    }
    let server = ExampleServer::start(Driver::Tokio, &["--discard", "--lmtp"]);
    let data = swaks_data(&server);
    let args = [
        "--protocol",
        "LMTP",
        "--from",
        "a@sender.test",
        "--to",
        "b@rcpt.test,c@rcpt.test",
        "--data",
        &data,
    ];
    let Some(out) = clients::swaks(server.port(), &args) else {
        return;
    };
    out.assert_success("swaks --protocol LMTP");
    let replies: Vec<String> = swaks_replies(&out)
        .into_iter()
        .filter(|r| r.contains("discarded"))
        .collect();
    assert_eq!(
        replies,
        [
            "250 2.0.0 <b@rcpt.test> Ok, discarded",
            "250 2.0.0 <c@rcpt.test> Ok, discarded"
        ],
        "{}",
        out.describe()
    );
    assert!(!server.maildir.exists());
}

/// `--log-transcript DIR`: one file per session, mode 0600, every line both
/// ways timestamped (RFC 3339 UTC with milliseconds), the secrets of AUTH
/// (RFC 4954 §4: the PLAIN initial response, LOGIN's answers to each 334)
/// redacted, the TLS handshake noted; messages still delivered. Both
/// drivers; swaks as the client.
#[test]
fn log_transcript_keeps_each_session_with_auth_redacted_rfc4954_4() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("server-cert");
    let host = common::unique_host_name("transcript");
    let Some((cert, key)) = ExampleServer::cert(&dir, &host) else {
        return;
    };
    for driver in [Driver::Tokio, Driver::Blocking] {
        let transcripts = dir.path().join(format!("transcripts-{driver:?}"));
        let transcripts_arg = transcripts.to_string_lossy().into_owned();
        let server = ExampleServer::start(
            driver,
            &[
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--user",
                "tess:s3cret",
                "--log-transcript",
                &transcripts_arg,
            ],
        );
        let data = swaks_data(&server);
        for mechanism in ["PLAIN", "LOGIN"] {
            let args = [
                "--tls",
                "--helo",
                "log.esmtp.test",
                "--from",
                "a@sender.test",
                "--to",
                "b@rcpt.test",
                "--data",
                &data,
                "--auth",
                mechanism,
                "--auth-user",
                "tess",
                "--auth-password",
                "s3cret",
            ];
            let Some(out) = clients::swaks(server.port(), &args) else {
                return;
            };
            out.assert_success(&format!("{driver:?} swaks --auth {mechanism}"));
        }
        assert_eq!(server.delivered().len(), 2, "{driver:?}");
        let mode = std::fs::metadata(&transcripts)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        // The sessions' ends are logged after the client saw the 221.
        let closed = common::poll_until(Duration::from_secs(10), || {
            (server.stderr().matches("closed: ").count() >= 2).then_some(())
        });
        assert!(closed.is_some(), "{}", server.stderr());
        let mut files: Vec<_> = std::fs::read_dir(&transcripts)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2, "{driver:?}: {files:?}");
        for (path, mechanism) in files.iter().zip(["PLAIN", "LOGIN"]) {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
            let text = std::fs::read_to_string(path).unwrap();
            for line in text.lines() {
                let (stamp, rest) = line.split_at(24);
                assert!(
                    stamp.len() == 24
                        && stamp.as_bytes()[10] == b'T'
                        && stamp.ends_with('Z')
                        && stamp.as_bytes()[19] == b'.',
                    "not a timestamp: {line:?}"
                );
                assert!(
                    rest.starts_with(" C: ")
                        || rest.starts_with(" S: ")
                        || rest.starts_with(" -- "),
                    "{line:?}"
                );
            }
            let lines: Vec<&str> = text.lines().map(|l| &l[25..]).collect();
            let has = |wanted: &str| lines.contains(&wanted);
            assert!(lines[0].starts_with("-- connect from 127.0.0.1:"), "{text}");
            assert!(lines[1].starts_with("S: 220 "), "{text}");
            for wanted in [
                "C: EHLO log.esmtp.test",
                "C: STARTTLS",
                "C: MAIL FROM:<a@sender.test>",
                "C: Subject: client",
                "C: .",
                "C: QUIT",
            ] {
                assert!(has(wanted), "{driver:?}: no {wanted:?} in\n{text}");
            }
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("-- TLS established: TLSv1_")),
                "{text}"
            );
            assert!(
                lines.iter().any(|l| l.starts_with("S: 235 2.7.0")),
                "{text}"
            );
            assert!(lines.iter().any(|l| l.starts_with("S: 221 ")), "{text}");
            assert!(lines.last().unwrap().starts_with("-- closed: "), "{text}");
            // The password, and its base64 forms, never appear.
            for secret in ["s3cret", "czNjcmV0", "AHRlc3MAczNjcmV0", "dGVzcwBzM2NyZXQ"] {
                assert!(!text.contains(secret), "{driver:?}: {secret} in\n{text}");
            }
            match mechanism {
                "PLAIN" => assert!(has("C: AUTH PLAIN [redacted]"), "{text}"),
                _ => {
                    assert!(has("C: AUTH LOGIN"), "{text}");
                    let redacted = lines.iter().filter(|l| **l == "C: [redacted]").count();
                    assert_eq!(redacted, 2, "user name and password: {text}");
                }
            }
        }
    }
}
