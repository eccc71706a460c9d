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

mod common;

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
        let out = clients::run(
            Command::new(cargo)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
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

#[test]
fn postfix_strict_accepts_tricky_content_over_bdat_and_data() {
    let Some(pf) = PostfixSmtpd::start() else {
        return;
    };
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
}
