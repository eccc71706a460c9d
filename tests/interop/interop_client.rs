//! Interop of the client with real servers on loopback, through the
//! example drivers' fixed command line (`examples/send.rs`, tokio, and
//! `examples/send_blocking.rs`, std::net): aiosmtpd (byte-exact store,
//! SMTPUTF8 on and off, AUTH), Postfix's smtp-sink (fault injection, LMTP)
//! and a strict private Postfix smtpd (`smtpd_forbid_bare_newline =
//! reject`, CHUNKING on, STARTTLS with a self-signed certificate). What each
//! server stored is read back and compared byte for byte, within the
//! fidelity documented in `tests/common/mod.rs`.
//!
//! The example binaries are built once per test process with `cargo build
//! --example send --example send_blocking` (a no-op when fresh), in the
//! profile and target directory of this test binary.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::aiosmtpd::Aiosmtpd;
use common::clients::{self, ClientOutput};
use common::postfix::PostfixSmtpd;
use common::sink::SmtpSink;
use common::{show, CLIENT_TIMEOUT};

const WAIT: Duration = Duration::from_secs(10);

// ---- the example binaries ----

/// Which driver runs the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `examples/send.rs` (tokio).
    Tokio,
    /// `examples/send_blocking.rs` (std::net).
    Blocking,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Tokio => "send",
            Driver::Blocking => "send_blocking",
        }
    }
}

/// `target/<profile>` of this test binary (`target/<profile>/deps/…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("test binary under target/<profile>/deps")
}

/// Builds both examples once (cargo is a no-op when they are fresh) and
/// returns `target/<profile>/examples`.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let profile_dir = profile_dir();
        let dir = profile_dir.join("examples");
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        // The variables cargo sets for running this test are inputs of
        // some build scripts (ring's reruns on CARGO_MANIFEST_DIR): left
        // in, they would make every run rebuild the TLS stack.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let set_by_cargo_test = key.starts_with("CARGO_PKG_")
                || matches!(
                    &*key,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                        | "OUT_DIR"
                );
            if set_by_cargo_test {
                cmd.env_remove(&*key);
            }
        }
        let out = clients::run(
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["build", "--quiet", "--example", "send"])
                .args(["--example", "send_blocking", "--profile", &profile])
                .arg("--target-dir")
                .arg(&target_dir),
            None,
            Duration::from_secs(600),
        );
        let built = matches!(&out, Ok(o) if o.success());
        let present = [Driver::Tokio, Driver::Blocking]
            .iter()
            .all(|d| dir.join(d.name()).exists());
        match (built, present) {
            (true, true) => {}
            (false, true) => eprintln!(
                "warning: `cargo build --example send` failed; using the binaries in {}: {out:?}",
                dir.display()
            ),
            (_, false) => panic!(
                "cannot build the send examples into {}: {out:?}",
                dir.display()
            ),
        }
        dir
    })
}

/// Runs a driver with `args` and the message on standard input.
fn run(driver: Driver, args: &[String], message: &[u8]) -> ClientOutput {
    let bin = examples_dir().join(driver.name());
    let started = Instant::now();
    let out = clients::run(Command::new(&bin).args(args), Some(message), CLIENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        !out.timed_out(),
        "{} overran {CLIENT_TIMEOUT:?}: {}",
        driver.name(),
        out.describe()
    );
    eprintln!("{} took {:?}", driver.name(), started.elapsed());
    out
}

/// The common arguments: `--server 127.0.0.1:PORT --from FROM --to …`.
fn base_args(port: u16, from: &str, to: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--server".to_owned(),
        format!("127.0.0.1:{port}"),
        "--from".to_owned(),
        from.to_owned(),
    ];
    for t in to {
        v.push("--to".to_owned());
        v.push((*t).to_owned());
    }
    v
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| (*s).to_owned()));
    args
}

fn stdout(out: &ClientOutput) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &ClientOutput) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Panics with the output unless the driver exited with `code`.
fn assert_exit(out: &ClientOutput, code: i32) {
    assert_eq!(
        out.status.and_then(|s| s.code()),
        Some(code),
        "{}",
        out.describe()
    );
}

/// What the client puts on the wire for `content`, before dot-stuffing:
/// every bare CR and bare LF becomes CRLF (RFC 5321 §2.3.8), and a final
/// CRLF is added if missing (§4.1.1.4).
fn canonical(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 16);
    let mut i = 0;
    while let Some(&b) = content.get(i) {
        match b {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        i += 1;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The `queued as ID` of Postfix's reply in a `message:` line.
fn queue_id_from(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("message: 250"))
        .unwrap_or_else(|| panic!("no content reply in {stdout:?}"));
    line.rsplit("queued as ")
        .next()
        .filter(|_| line.contains("queued as "))
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|| panic!("no queue id in {line:?}"))
}

/// Content with every line shape the DATA encoder must get right: leading
/// dots (stuffed on the wire, RFC 5321 §4.5.2), a line that is a lone dot,
/// a bare LF, a bare CR, 8-bit text, a final line without its line end.
const TRICKY: &[u8] = b"Subject: tricky\r\nFrom: <a@sender.test>\r\n\r\n\
.leading dot\r\n..two dots\r\n.\r\nbare lf\nnext\r\nbare cr\rnext\r\ncaf\xc3\xa9\r\n.\nlast";

// ---- aiosmtpd: every byte kept ----

#[test]
fn aiosmtpd_stores_the_canonical_content_from_both_drivers() {
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    for (n, driver) in [Driver::Tokio, Driver::Blocking].into_iter().enumerate() {
        let args = base_args(server.port(), "a@sender.test", &["b@rcpt.test"]);
        let out = run(
            driver,
            &with(args, &["--helo", "client.esmtp.test"]),
            TRICKY,
        );
        assert_exit(&out, 0);
        let text = stdout(&out);
        assert!(text.contains("<b@rcpt.test>: 250"), "{text}");
        assert!(text.contains("message: 250 "), "{text}");
        let msgs = server.wait_for_messages(n + 1, WAIT);
        let msg = &msgs[n];
        assert_eq!(msg.helo, "client.esmtp.test");
        assert_eq!(msg.mail_from, "a@sender.test");
        assert_eq!(msg.rcpt_tos, ["b@rcpt.test"]);
        // 8-bit content goes with BODY=8BITMIME (RFC 6152 §3).
        assert!(
            msg.mail_options.iter().any(|o| o == "BODY=8BITMIME"),
            "{msg:?}"
        );
        assert_eq!(
            msg.content,
            canonical(TRICKY),
            "{driver:?} got {}",
            show(&msg.content)
        );
    }
}

#[test]
fn aiosmtpd_smtputf8_address_goes_through_when_offered() {
    // RFC 6531 §3.4: MAIL … SMTPUTF8 for a UTF-8 mailbox.
    let Some(server) = Aiosmtpd::builder().smtputf8(true).start() else {
        return;
    };
    let args = base_args(
        server.port(),
        "j\u{f6}rg@sender.test",
        &["\u{e9}l\u{e8}ve@rcpt.test"],
    );
    let out = run(Driver::Tokio, &args, b"Subject: utf8\r\n\r\nhi\r\n");
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("<\u{e9}l\u{e8}ve@rcpt.test>: 250"),
        "{}",
        out.describe()
    );
    let msg = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(msg.mail_from, "j\u{f6}rg@sender.test");
    assert_eq!(msg.rcpt_tos, ["\u{e9}l\u{e8}ve@rcpt.test"]);
    assert!(msg.smtp_utf8);
    assert_eq!(msg.content, b"Subject: utf8\r\n\r\nhi\r\n");
}

#[test]
fn aiosmtpd_without_smtputf8_utf8_address_is_refused_locally() {
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    for driver in [Driver::Tokio, Driver::Blocking] {
        let args = base_args(
            server.port(),
            "a@sender.test",
            &["\u{e9}l\u{e8}ve@rcpt.test"],
        );
        let out = run(driver, &args, b"Subject: utf8\r\n\r\nhi\r\n");
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("SMTPUTF8"), "{}", out.describe());
        assert!(stdout(&out).contains("not sent"), "{}", out.describe());
    }
    // No transaction reached the server: the first one it records is the
    // plain message sent afterwards.
    let args = base_args(server.port(), "a@sender.test", &["ok@rcpt.test"]);
    assert_exit(
        &run(Driver::Tokio, &args, b"Subject: ascii\r\n\r\nhi\r\n"),
        0,
    );
    let msg = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(msg.rcpt_tos, ["ok@rcpt.test"]);
}

// ---- Postfix smtpd, strict ----

/// A 10 MiB message of 78-octet lines, some starting with a dot, some
/// 8-bit, some ending in a bare LF.
fn ten_megabytes() -> Vec<u8> {
    let mut m = b"Subject: big\r\nFrom: <a@sender.test>\r\n\r\n".to_vec();
    let mut n = 0u32;
    while m.len() < 10 * 1024 * 1024 {
        n += 1;
        let lead = if n.is_multiple_of(7) { "." } else { "" };
        let eight = if n.is_multiple_of(11) { "\u{e9}" } else { "e" };
        let end = if n.is_multiple_of(13) { "\n" } else { "\r\n" };
        let line = format!("{lead}line {n:08} {eight} {}{end}", "x".repeat(56));
        m.extend_from_slice(line.as_bytes());
    }
    m
}

#[test]
fn postfix_strict_accepts_what_the_client_sends() {
    // smtpd_forbid_bare_newline = reject, CHUNKING offered (so `send`
    // uses BDAT unless told not to), one recipient refused by policy.
    let Some(pf) = PostfixSmtpd::builder()
        .main_cf("message_size_limit", "30000000")
        .main_cf(
            "smtpd_recipient_restrictions",
            "check_recipient_access inline:{bad@rcpt.test=REJECT}",
        )
        .start()
    else {
        return;
    };

    // Leading dots, a lone dot, bare LF and bare CR, 8-bit: over BDAT,
    // over DATA, and without pipelining.
    let cases: [(Driver, &[&str]); 3] = [
        (Driver::Tokio, &[]),
        (Driver::Tokio, &["--no-chunking"]),
        (Driver::Blocking, &["--no-pipelining"]),
    ];
    for (driver, extra) in cases {
        let args = with(
            base_args(pf.port(), "a@sender.test", &["b@rcpt.test"]),
            extra,
        );
        let out = run(driver, &args, TRICKY);
        assert_exit(&out, 0);
        let msg = pf.message(&queue_id_from(&stdout(&out)));
        assert_eq!(msg.sender, "a@sender.test");
        assert_eq!(msg.recipients, ["b@rcpt.test"]);
        assert_eq!(
            msg.content,
            canonical(TRICKY),
            "{driver:?} {extra:?} got {}",
            show(&msg.content)
        );
    }

    // 10 MiB, over BDAT (tokio) and DATA (blocking).
    let big = ten_megabytes();
    for (driver, extra) in [
        (Driver::Tokio, &[][..]),
        (Driver::Blocking, &["--no-chunking"][..]),
    ] {
        let args = with(
            base_args(pf.port(), "a@sender.test", &["b@rcpt.test"]),
            extra,
        );
        let out = run(driver, &args, &big);
        assert_exit(&out, 0);
        let msg = pf.message(&queue_id_from(&stdout(&out)));
        assert!(
            msg.content == canonical(&big),
            "{driver:?}: 10 MiB content differs (got {} octets, want {})",
            msg.content.len(),
            canonical(&big).len()
        );
    }

    // Three recipients, the second refused: delivered to the other two,
    // exit status 1, the refusal on stderr.
    let args = base_args(
        pf.port(),
        "a@sender.test",
        &["b@rcpt.test", "bad@rcpt.test", "c@rcpt.test"],
    );
    let out = run(Driver::Tokio, &args, b"Subject: three\r\n\r\nhi\r\n");
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("<b@rcpt.test>: 250 2.1.5"), "{text}");
    assert!(text.contains("<bad@rcpt.test>: 554 5.7.1"), "{text}");
    assert!(text.contains("<c@rcpt.test>: 250 2.1.5"), "{text}");
    assert!(stderr(&out).contains("bad@rcpt.test"), "{}", out.describe());
    let msg = pf.message(&queue_id_from(&text));
    assert_eq!(msg.recipients, ["b@rcpt.test", "c@rcpt.test"]);
    assert_eq!(msg.content, b"Subject: three\r\n\r\nhi\r\n");
}

/// The self-signed certificate the harness made for a STARTTLS instance.
fn postfix_cert(pf: &PostfixSmtpd) -> PathBuf {
    let cert = pf
        .config_dir()
        .parent()
        .expect("instance directory")
        .join("cert.pem");
    assert!(cert.exists(), "no {}", cert.display());
    cert
}

#[test]
fn postfix_starttls_with_pinned_certificate_or_insecure_rfc3207() {
    let Some(pf) = PostfixSmtpd::builder().starttls(true).start() else {
        return;
    };
    let cert = postfix_cert(&pf);
    let cert = cert.to_str().expect("UTF-8 path");
    let content: &[u8] = b"Subject: tls\r\n\r\nover TLS\r\n";
    let ok_cases: [(Driver, Vec<&str>); 4] = [
        (Driver::Tokio, vec!["--starttls", "--ca", cert]),
        (Driver::Blocking, vec!["--starttls", "--ca", cert]),
        (Driver::Tokio, vec!["--starttls", "--insecure"]),
        (Driver::Blocking, vec!["--starttls", "--insecure"]),
    ];
    for (driver, extra) in ok_cases {
        let args = with(
            base_args(pf.port(), "a@sender.test", &["b@rcpt.test"]),
            &extra,
        );
        let out = run(driver, &args, content);
        assert_exit(&out, 0);
        let msg = pf.message(&queue_id_from(&stdout(&out)));
        assert_eq!(msg.content, content);
        // smtpd notes the TLS session in its Received: header (RFC 3848:
        // "with ESMTPS").
        let stored = String::from_utf8_lossy(&msg.stored);
        assert!(
            stored.contains("with ESMTPS id"),
            "{driver:?} {extra:?}: {stored}"
        );
    }

    // No flag: no TLS even though it is offered.
    let out = run(
        Driver::Tokio,
        &base_args(pf.port(), "a@sender.test", &["b@rcpt.test"]),
        content,
    );
    assert_exit(&out, 0);
    let msg = pf.message(&queue_id_from(&stdout(&out)));
    assert!(String::from_utf8_lossy(&msg.stored).contains("with ESMTP id"));

    // A certificate that is not the server's, or the system roots: the
    // handshake fails and nothing is sent.
    let other_dir = common::TempDir::new("other-cert");
    let Some((other, _key)) = common::self_signed_cert(other_dir.path(), "other.esmtp.test") else {
        return;
    };
    let other = other.to_str().expect("UTF-8 path");
    let held = pf.messages().len();
    for (driver, extra) in [
        (Driver::Tokio, vec!["--starttls", "--ca", other]),
        (Driver::Blocking, vec!["--starttls", "--ca", other]),
    ] {
        let args = with(
            base_args(pf.port(), "a@sender.test", &["b@rcpt.test"]),
            &extra,
        );
        let out = run(driver, &args, content);
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("TLS handshake") && err.contains("certificate"),
            "{driver:?} {extra:?}: {}",
            out.describe()
        );
        assert!(
            stdout(&out).contains("<b@rcpt.test>: not sent"),
            "{}",
            out.describe()
        );
    }
    // The system roots (if any) do not vouch for a self-signed cert.
    let args = with(
        base_args(pf.port(), "a@sender.test", &["b@rcpt.test"]),
        &["--starttls"],
    );
    assert_exit(&run(Driver::Tokio, &args, content), 1);
    assert_eq!(pf.messages().len(), held, "a message got through");
}

// ---- smtp-sink: faults and LMTP ----

#[test]
fn smtp_sink_dump_has_envelope_and_content() {
    let Some(sink) = SmtpSink::start_dumping() else {
        return;
    };
    let args = with(
        base_args(
            sink.port(),
            "a@sender.test",
            &["b@rcpt.test", "c@rcpt.test"],
        ),
        &["--helo", "client.esmtp.test"],
    );
    // The message from FILE this time, not standard input.
    let dir = common::TempDir::new("send-file");
    let file = dir.path().join("message.eml");
    std::fs::write(&file, TRICKY).expect("write message file");
    let args = with(args, &[file.to_str().expect("UTF-8 path")]);
    let out = run(Driver::Blocking, &args, b"");
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("<b@rcpt.test>: 250 2.1.5 Ok"), "{text}");
    assert!(text.contains("<c@rcpt.test>: 250 2.1.5 Ok"), "{text}");
    assert!(text.contains("message: 250 2.0.0 Ok"), "{text}");
    let dump = &sink.wait_for_dumps(1, WAIT)[0];
    assert_eq!(dump.proto, "ESMTP");
    assert_eq!(dump.helo.as_deref(), Some("client.esmtp.test"));
    assert_eq!(dump.mail_args, "<a@sender.test> BODY=8BITMIME");
    assert_eq!(dump.rcpt_args, ["<b@rcpt.test>", "<c@rcpt.test>"]);
    assert_eq!(
        dump.content,
        canonical(TRICKY),
        "got {}",
        show(&dump.content)
    );
}

#[test]
fn smtp_sink_lmtp_replies_per_recipient_rfc2033_4_2() {
    let Some(sink) = SmtpSink::builder().dump(true).arg("-L").start() else {
        return;
    };
    let args = with(
        base_args(
            sink.port(),
            "a@sender.test",
            &["b@rcpt.test", "c@rcpt.test"],
        ),
        &["--lmtp"],
    );
    let out = run(Driver::Tokio, &args, b"Subject: lmtp\r\n\r\nhi\r\n");
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("message <b@rcpt.test>: 250"), "{text}");
    assert!(text.contains("message <c@rcpt.test>: 250"), "{text}");
    let dump = &sink.wait_for_dumps(1, WAIT)[0];
    assert_eq!(dump.proto, "LMTP");
    assert_eq!(dump.content, b"Subject: lmtp\r\n\r\nhi\r\n");
}

#[test]
fn smtp_sink_rejected_rcpt_fails_with_the_reply() {
    // -f RCPT: every RCPT gets smtp-sink's hard error.
    let Some(sink) = SmtpSink::builder()
        .arg("-f")
        .arg("RCPT")
        .arg("-B")
        .arg("550 5.1.1 No such user")
        .start()
    else {
        return;
    };
    for driver in [Driver::Tokio, Driver::Blocking] {
        let args = base_args(sink.port(), "a@sender.test", &["b@rcpt.test"]);
        let out = run(driver, &args, b"Subject: x\r\n\r\nhi\r\n");
        assert_exit(&out, 1);
        assert!(
            stdout(&out).contains("<b@rcpt.test>: 550 5.1.1 No such user"),
            "{}",
            out.describe()
        );
        assert!(
            stderr(&out).contains("550 5.1.1 No such user"),
            "{}",
            out.describe()
        );
        // No content was sent: no content reply.
        assert!(!stdout(&out).contains("message:"), "{}", out.describe());
    }
}

#[test]
fn smtp_sink_421_ends_the_session_rfc5321_3_8() {
    // -r MAIL with a 421 as the soft error reply.
    let Some(sink) = SmtpSink::builder()
        .arg("-r")
        .arg("MAIL")
        .arg("-b")
        .arg("421 4.3.2 Going away")
        .start()
    else {
        return;
    };
    for driver in [Driver::Tokio, Driver::Blocking] {
        let args = base_args(sink.port(), "a@sender.test", &["b@rcpt.test"]);
        let out = run(driver, &args, b"Subject: x\r\n\r\nhi\r\n");
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("421 4.3.2 Going away"),
            "{}",
            out.describe()
        );
    }
}

#[test]
fn smtp_sink_disconnect_is_a_failure() {
    // -q RCPT: smtp-sink hangs up on RCPT without a reply.
    let Some(sink) = SmtpSink::builder().arg("-q").arg("RCPT").start() else {
        return;
    };
    for driver in [Driver::Tokio, Driver::Blocking] {
        let args = base_args(sink.port(), "a@sender.test", &["b@rcpt.test"]);
        let out = run(driver, &args, b"Subject: x\r\n\r\nhi\r\n");
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("closed the connection"),
            "{}",
            out.describe()
        );
    }
}

// ---- AUTH against aiosmtpd ----

/// aiosmtpd with the recorder's `--auth NAME:PASSWORD` (AUTH PLAIN and
/// LOGIN in clear text, only these credentials accepted).
struct AuthServer {
    process: common::process::PeerProcess,
    port: u16,
    record: PathBuf,
    _dir: common::TempDir,
}

impl AuthServer {
    fn start(credentials: &str) -> Option<AuthServer> {
        let python = common::aiosmtpd::python();
        let check = clients::run(
            Command::new(&python).args(["-c", "import aiosmtpd"]),
            None,
            CLIENT_TIMEOUT,
        );
        if !matches!(&check, Ok(o) if o.success()) {
            return common::peer_unavailable("aiosmtpd", &format!("{check:?}"));
        }
        let dir = common::TempDir::new("aiosmtpd-auth");
        let record = dir.path().join("record");
        std::fs::create_dir(&record).expect("create record dir");
        let host = common::unique_host_name("aiosmtpd-auth");
        let log = dir.path().join("aiosmtpd.log");
        let script = common::aiosmtpd::recorder_script();
        let (process, port) = common::process::start_on_free_port("aiosmtpd", &host, |port| {
            let args = vec![
                script.display().to_string(),
                "--port".into(),
                port.to_string(),
                "--dir".into(),
                record.display().to_string(),
                "--hostname".into(),
                host.clone(),
                "--auth".into(),
                credentials.to_owned(),
            ];
            common::process::PeerProcess::spawn("aiosmtpd", &python, &args, &log)
        });
        Some(AuthServer {
            process,
            port,
            record,
            _dir: dir,
        })
    }

    /// The envelope record of transaction `n` (1-based), waiting for it.
    fn envelope(&self, n: usize) -> String {
        let path = self.record.join(format!("{n}.env"));
        if common::poll_until(WAIT, || path.exists().then_some(())).is_none() {
            panic!("no message {n}; log:\n{}", self.process.log_tail());
        }
        std::fs::read_to_string(path).expect("read .env")
    }
}

#[test]
fn aiosmtpd_auth_with_good_and_bad_credentials_rfc4954() {
    let Some(server) = AuthServer::start("alice:s3cr:et") else {
        return;
    };
    let content: &[u8] = b"Subject: auth\r\n\r\nhi\r\n";
    for (n, driver) in [Driver::Tokio, Driver::Blocking].into_iter().enumerate() {
        let args = with(
            base_args(server.port, "a@sender.test", &["b@rcpt.test"]),
            &["--user", "alice:s3cr:et"],
        );
        let out = run(driver, &args, content);
        assert_exit(&out, 0);
        let env = server.envelope(n + 1);
        assert!(env.contains("auth_login\talice\n"), "{env}");
        let eml = std::fs::read(server.record.join(format!("{}.eml", n + 1))).expect("read .eml");
        assert_eq!(eml, content);
    }
    let args = with(
        base_args(server.port, "a@sender.test", &["b@rcpt.test"]),
        &["--user", "alice:wrong"],
    );
    let out = run(Driver::Tokio, &args, content);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("authentication failed: 535"),
        "{}",
        out.describe()
    );
    assert!(
        stdout(&out).contains("<b@rcpt.test>: not sent"),
        "{}",
        out.describe()
    );
    assert!(
        !server.record.join("3.env").exists(),
        "sent after a failed AUTH"
    );
}

// ---- local refusals: nothing is sent ----

/// A one-connection scripted server: greets, answers EHLO with
/// `capabilities`, QUIT with 221 and anything else with 250, and returns
/// every line the client sent.
fn scripted_server(capabilities: &'static str) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    let handle = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let Ok((stream, _)) = listener.accept() else {
            return lines;
        };
        let _ = stream.set_read_timeout(Some(WAIT));
        let mut writer = stream.try_clone().expect("clone stream");
        let _ = writer.write_all(b"220 fake.esmtp.test ESMTP\r\n");
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = line.trim_end().to_owned();
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" => capabilities.to_owned(),
                "QUIT" => "221 2.0.0 Bye\r\n".to_owned(),
                _ => "250 2.0.0 Ok\r\n".to_owned(),
            };
            lines.push(line);
            let _ = writer.write_all(reply.as_bytes());
            if verb == "QUIT" {
                break;
            }
        }
        lines
    });
    (port, handle)
}

#[test]
fn message_over_the_server_size_is_refused_locally_rfc1870_6() {
    for driver in [Driver::Tokio, Driver::Blocking] {
        let (port, server) = scripted_server(
            "250-fake.esmtp.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
        );
        let big = vec![b'x'; 2000];
        let out = run(
            driver,
            &base_args(port, "a@sender.test", &["b@rcpt.test"]),
            &big,
        );
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("message too large for the server's SIZE 1000"),
            "{}",
            out.describe()
        );
        let lines = server.join().expect("server thread");
        assert_eq!(lines, ["EHLO localhost", "QUIT"], "{driver:?}");
    }
}

#[test]
fn utf8_address_without_smtputf8_sends_nothing_rfc6531_3_4() {
    let (port, server) = scripted_server("250-fake.esmtp.test\r\n250 8BITMIME\r\n");
    let args = base_args(port, "a@sender.test", &["\u{e9}l\u{e8}ve@rcpt.test"]);
    let out = run(Driver::Tokio, &args, b"hi\r\n");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("SMTPUTF8"), "{}", out.describe());
    let lines = server.join().expect("server thread");
    assert_eq!(lines, ["EHLO localhost", "QUIT"]);
}

// ---- implicit TLS (RFC 8314) ----

/// A TLS terminator on loopback in front of `backend` (one connection):
/// what `--tls` talks to, since none of the peers does implicit TLS on
/// its own. Returns the port and the certificate to trust.
fn tls_front(backend: u16, dir: &Path) -> Option<(u16, PathBuf, std::thread::JoinHandle<()>)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = common::self_signed_cert(dir, "localhost")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .expect("read cert")
        .collect::<Result<_, _>>()
        .expect("parse cert");
    let key = PrivateKeyDer::from_pem_file(&key).expect("read key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let serve = async {
                let (tcp, _) = listener.accept().await?;
                let mut tls = acceptor.accept(tcp).await?;
                let mut plain =
                    tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, backend)).await?;
                tokio::io::copy_bidirectional(&mut tls, &mut plain).await?;
                Ok::<(), std::io::Error>(())
            };
            // Bounded: the test never waits on a stuck proxy.
            let _ = tokio::time::timeout(CLIENT_TIMEOUT, serve).await;
        });
    });
    Some((port, cert, handle))
}

#[test]
fn implicit_tls_from_the_first_byte_rfc8314_3() {
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    let content: &[u8] = b"Subject: implicit\r\n\r\nwrapped\r\n";
    for (n, driver) in [Driver::Tokio, Driver::Blocking].into_iter().enumerate() {
        let dir = common::TempDir::new("tls-front");
        let Some((port, cert, proxy)) = tls_front(server.port(), dir.path()) else {
            return;
        };
        let cert = cert.to_str().expect("UTF-8 path").to_owned();
        let args = with(
            base_args(port, "a@sender.test", &["b@rcpt.test"]),
            &["--tls", "--ca", &cert],
        );
        // `--server 127.0.0.1:PORT` checks the name "127.0.0.1"; the
        // certificate, pinned with --ca, is accepted as is.
        let out = run(driver, &args, content);
        assert_exit(&out, 0);
        proxy.join().expect("proxy thread");
        let msgs = server.wait_for_messages(n + 1, WAIT);
        assert_eq!(msgs[n].content, content);
    }
}

// ---- the command line ----

#[test]
fn command_line_errors_exit_2_with_usage() {
    let cases: [&[&str]; 6] = [
        &["--from", "a@sender.test", "--to", "b@rcpt.test"],
        &["--server", "127.0.0.1:25", "--to", "b@rcpt.test"],
        &["--server", "127.0.0.1:25", "--from", "a@sender.test"],
        &[
            "--server",
            "127.0.0.1:25",
            "--from",
            "a@x.test",
            "--to",
            "b@x.test",
            "--tls",
            "--starttls",
        ],
        &[
            "--server",
            "127.0.0.1:25",
            "--from",
            "a@x.test",
            "--to",
            "b@x.test",
            "--user",
            "nocolon",
        ],
        &[
            "--server",
            "127.0.0.1:25",
            "--from",
            "a@x.test",
            "--to",
            "b@x.test",
            "--bogus",
        ],
    ];
    for driver in [Driver::Tokio, Driver::Blocking] {
        for case in cases {
            let args: Vec<String> = case.iter().map(|s| (*s).to_owned()).collect();
            let out = run(driver, &args, b"");
            assert_exit(&out, 2);
            // clap's usage line: `Usage: send [OPTIONS] --server …`.
            assert!(
                stderr(&out).contains("Usage: send"),
                "{case:?}: {}",
                out.describe()
            );
        }
    }
}
