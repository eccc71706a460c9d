//! Interop harness: real SMTP peers started by the tests themselves on
//! loopback, and helpers to drive them.
//!
//! Use it from an integration test binary with
//! `#[path = "../common/mod.rs"] mod common;` in its `main.rs`. Every peer is a guard
//! value: dropping it stops the process *and all its children* (the peer runs
//! in its own process group, which is signalled as a whole), with bounded
//! waits. Every peer also runs under `timeout(1)`, so even a test process that
//! is killed outright cannot leave a peer running for more than
//! [`PEER_MAX_LIFETIME`].
//!
//! Peers:
//! - [`sink::SmtpSink`]: Postfix `smtp-sink`, optionally dumping each
//!   transaction to a file (`-d`), with any extra fault options passed through.
//! - [`postfix::PostfixSmtpd`]: a private Postfix instance (own config and
//!   queue directories under a temporary directory) whose `smtpd` listens on
//!   `127.0.0.1:PORT` in strict bare-newline mode; every accepted message is
//!   put on the hold queue and read back byte for byte with `postcat`.
//! - [`aiosmtpd::Aiosmtpd`]: Python aiosmtpd with a recording handler
//!   (`tests/peers/aiosmtpd_recorder.py`), with or without SMTPUTF8.
//!
//! What each peer hands back ("content" is always after dot-unstuffing):
//!
//! | peer | read back with | fidelity |
//! |---|---|---|
//! | aiosmtpd | `wait_for_messages(n, timeout)` | every byte as received (CRLF, bare CR, NUL, 8-bit) |
//! | Postfix smtpd | `message(&queue_id(&reply))`, `messages()` | per line, CRLF ends; own `Received:` removed; cleanup drops `Return-Path:`/`Content-Length:`/`Bcc:`; bare CR becomes a space |
//! | smtp-sink | `wait_for_dumps(n, timeout)` | per line, CRLF ends; bare CR dropped |
//!
//! The example servers ([`example::ExampleServer`]), on a free loopback port
//! with a Maildir of their own.
//!
//! Clients ([`clients`]): swaks, msmtp, curl, fetchmail and Python smtplib scripts, each
//! run with a timeout. [`smtp::SmtpConn`] is a raw SMTP client over
//! `std::net` for tests that want to control every byte.
//!
//! Missing peers: when a peer binary (or aiosmtpd, or root for Postfix) is
//! genuinely missing, the start function prints a `SKIP:` line and returns
//! `None` so the test can return early — unless the `CI` environment variable
//! is set, in which case it panics: under CI a missing peer is a failure.
#![allow(dead_code)]

pub mod aiosmtpd;
pub mod clients;
pub mod example;
pub mod postfix;
pub mod process;
pub mod sink;
pub mod smtp;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bound on how long any peer process may live (enforced by
/// `timeout(1)`), so a test process killed with SIGKILL cannot leak peers.
pub const PEER_MAX_LIFETIME: Duration = Duration::from_secs(600);

/// How long a peer may take to start answering with its 220 greeting.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// How many fresh ports a peer start is tried on before giving up (another
/// test may grab the port between our probe and the peer's bind).
pub const PORT_ATTEMPTS: u32 = 5;

/// Default timeout for client programs (swaks, msmtp, curl, python).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// True when running under CI (`CI` set to anything but empty, `0` or
/// `false`): missing peers are then failures, not skips.
pub fn under_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

/// Reports a peer that cannot be used on this machine: panics under CI,
/// otherwise prints a clear `SKIP:` message and returns `None`.
pub fn peer_unavailable<T>(peer: &str, why: &str) -> Option<T> {
    if under_ci() {
        panic!("CI is set but interop peer `{peer}` is unavailable: {why} (run `bash .ci/run`, which installs it)");
    }
    eprintln!("SKIP: interop peer `{peer}` is unavailable: {why}; install it (see .ci/run) to run this test");
    None
}

/// Finds an executable by name: absolute paths are checked as is, other
/// names are searched in `PATH` and then in `/usr/sbin` and `/usr/bin`
/// (Postfix tools live in sbin, which is not in every user's `PATH`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let candidate = Path::new(name);
    if candidate.is_absolute() {
        return is_exec(candidate).then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| is_exec(p))
}

/// Finds a program, or reports it unavailable (see [`peer_unavailable`]).
pub fn require_program(name: &str) -> Option<PathBuf> {
    match find_program(name) {
        Some(p) => Some(p),
        None => peer_unavailable(name, "not found in PATH, /usr/sbin or /usr/bin"),
    }
}

/// True when the test process runs as root (needed for a private Postfix
/// instance, and for `smtp-sink -u`).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A loopback port that was free a moment ago. The caller must still cope
/// with losing a race for it (see [`PORT_ATTEMPTS`]).
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 to probe a free port");
    listener
        .local_addr()
        .expect("local_addr of probe listener")
        .port()
}

/// Polls `f` every 20 ms until it returns `Some`, for at most `timeout`.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A directory under the system temp dir, removed on drop unless
/// `ESMTP_KEEP_TMP` is set (handy when debugging a peer's logs).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, world-traversable (0755) directory whose name says
    /// which peer it belongs to.
    pub fn new(label: &str) -> TempDir {
        use std::os::unix::fs::PermissionsExt;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "esmtp-{label}-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        // Peers drop privileges (smtp-sink -u nobody, Postfix daemons run as
        // `postfix`), so they must be able to traverse the directory.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        TempDir { path }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("ESMTP_KEEP_TMP").is_some() {
            eprintln!("keeping {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Reads a log file for an error message, capped so a runaway log cannot
/// flood the test output.
pub fn read_log_tail(path: &Path) -> String {
    const CAP: usize = 8 * 1024;
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(CAP);
            String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned()
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

/// Converts LF line ends to CRLF (for stores that keep lines, not bytes).
pub fn lf_to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Shows bytes with CR and LF visible, for assertion messages.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// A host name unique to one peer instance (used as its greeting host name,
/// so the harness can tell its own peer from another test's on a port race).
pub fn unique_host_name(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{label}-{}-{n}.esmtp.test", std::process::id())
}

/// Writes a fresh self-signed certificate and key for `host` into `dir`
/// with `openssl req` (for STARTTLS interop) and returns `(cert, key)`.
pub fn self_signed_cert(dir: &Path, host: &str) -> Option<(PathBuf, PathBuf)> {
    let openssl = require_program("openssl")?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = clients::run(
        std::process::Command::new(openssl)
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .arg("-subj")
            .arg(format!("/CN={host}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        None,
        CLIENT_TIMEOUT,
    )
    .expect("run openssl");
    out.assert_success("openssl req");
    Some((cert, key))
}

/// The directory holding the example binaries (`target/<profile>/examples`),
/// after building the example servers and clients once for this test
/// process.
///
/// The test executable lives in `target/<profile>/deps/`. `cargo test`
/// builds examples too, but `cargo test --test interop` does not,
/// so cargo is run here; the environment cargo gives a running test
/// (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, …) is removed first, otherwise
/// build scripts that watch those variables (ring's does) would rebuild.
pub fn examples_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable is in target/<profile>/deps")
            .to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.arg("build")
            .args(["--example", "server", "--example", "server_blocking"])
            .args(["--example", "send", "--example", "send_blocking"])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target_dir);
        }
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            let injected = key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_BIN_")
                || matches!(
                    key,
                    "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                        | "OUT_DIR"
                );
            if injected {
                cmd.env_remove(key);
            }
        }
        let out = clients::run(&mut cmd, None, Duration::from_secs(900)).expect("run cargo build");
        out.assert_success("cargo build --example server … --example send_blocking");
        profile_dir.join("examples")
    })
}
