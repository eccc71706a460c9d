//! Python aiosmtpd on loopback, recording every transaction to files (see
//! `tests/peers/aiosmtpd_recorder.py` for the format).
//!
//! The interpreter is [`python`]: `$ESMTP_PYTHON` (exported by `.ci/run`),
//! else the venv `.ci/run` creates at `$HOME/.cache/esmtp-venv`, else
//! `python3` from `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::process::{start_on_free_port, PeerProcess};
use super::{peer_unavailable, poll_until, unique_host_name, TempDir};

/// The Python interpreter the interop tests use (see the module docs).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ESMTP_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let venv = Path::new(&home).join(".cache/esmtp-venv/bin/python3");
        if venv.exists() {
            return venv;
        }
    }
    PathBuf::from("python3")
}

/// The recorder script's path.
pub fn recorder_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/aiosmtpd_recorder.py")
}

/// Whether [`python`] can import aiosmtpd (checked once per test binary).
fn aiosmtpd_importable() -> Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let py = python();
            let out = super::clients::run(
                Command::new(&py).args(["-c", "import aiosmtpd"]),
                None,
                Duration::from_secs(30),
            );
            match out {
                Ok(o) if o.success() => Ok(()),
                Ok(o) => Err(format!(
                    "`{} -c 'import aiosmtpd'` failed: {}",
                    py.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Err(format!("cannot run {}: {e}", py.display())),
            }
        })
        .clone()
}

/// Options for starting aiosmtpd.
#[derive(Default)]
pub struct AiosmtpdBuilder {
    smtputf8: bool,
}

impl AiosmtpdBuilder {
    /// Advertise and accept SMTPUTF8 (aiosmtpd's `-u`).
    pub fn smtputf8(mut self, on: bool) -> Self {
        self.smtputf8 = on;
        self
    }

    /// Starts aiosmtpd, or returns `None` (skip) outside CI when Python or
    /// aiosmtpd is missing.
    pub fn start(self) -> Option<Aiosmtpd> {
        if let Err(why) = aiosmtpd_importable() {
            return peer_unavailable("aiosmtpd", &why);
        }
        let dir = TempDir::new("aiosmtpd");
        let record = dir.path().join("record");
        std::fs::create_dir(&record).expect("create record dir");
        let host = unique_host_name("aiosmtpd");
        let log = dir.path().join("aiosmtpd.log");
        let python = python();
        let script = recorder_script();
        let (process, port) = start_on_free_port("aiosmtpd", &host, |port| {
            let mut args = vec![
                script.display().to_string(),
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--dir".into(),
                record.display().to_string(),
                "--hostname".into(),
                host.clone(),
            ];
            if self.smtputf8 {
                args.push("-u".into());
            }
            PeerProcess::spawn("aiosmtpd", &python, &args, &log)
        });
        Some(Aiosmtpd {
            process,
            port,
            host,
            record,
            _dir: dir,
        })
    }
}

/// A running aiosmtpd; stopped on drop.
pub struct Aiosmtpd {
    process: PeerProcess,
    port: u16,
    host: String,
    record: PathBuf,
    _dir: TempDir,
}

impl Aiosmtpd {
    /// Options for a new aiosmtpd.
    pub fn builder() -> AiosmtpdBuilder {
        AiosmtpdBuilder::default()
    }

    /// Starts aiosmtpd without SMTPUTF8.
    pub fn start() -> Option<Aiosmtpd> {
        Self::builder().start()
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host name in its greeting.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// The peer process (for its log).
    pub fn process(&self) -> &PeerProcess {
        &self.process
    }

    /// Waits (at most `timeout`) until `n` transactions are recorded and
    /// returns them in the order they were accepted.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<AiosmtpdMessage> {
        let env_path = |i: usize| self.record.join(format!("{i}.env"));
        if poll_until(timeout, || env_path(n).exists().then_some(())).is_none() {
            panic!(
                "aiosmtpd: expected {n} message(s) within {timeout:?}; log:\n{}",
                self.process.log_tail()
            );
        }
        (1..=n)
            .map(|i| {
                let env = std::fs::read(env_path(i)).expect("read .env");
                let content =
                    std::fs::read(self.record.join(format!("{i}.eml"))).expect("read .eml");
                AiosmtpdMessage::parse(&env, content)
            })
            .collect()
    }
}

/// One transaction recorded by aiosmtpd.
#[derive(Debug, Clone, Default)]
pub struct AiosmtpdMessage {
    /// The EHLO/HELO argument.
    pub helo: String,
    /// The reverse-path without brackets (empty for `<>`).
    pub mail_from: String,
    /// MAIL parameters, as aiosmtpd split them.
    pub mail_options: Vec<String>,
    /// Forward-paths without brackets, in order.
    pub rcpt_tos: Vec<String>,
    /// `(recipient index, parameter)` pairs.
    pub rcpt_options: Vec<(usize, String)>,
    /// Whether the transaction used SMTPUTF8.
    pub smtp_utf8: bool,
    /// The content after dot-unstuffing, byte for byte as received.
    pub content: Vec<u8>,
}

impl AiosmtpdMessage {
    fn parse(env: &[u8], content: Vec<u8>) -> AiosmtpdMessage {
        let mut m = AiosmtpdMessage {
            content,
            ..AiosmtpdMessage::default()
        };
        for line in String::from_utf8_lossy(env).lines() {
            let (key, value) = line.split_once('\t').unwrap_or((line, ""));
            match key {
                "helo" => m.helo = value.to_owned(),
                // aiosmtpd keeps the null reverse-path as "<>".
                "mail_from" if value == "<>" => m.mail_from.clear(),
                "mail_from" => m.mail_from = value.to_owned(),
                "mail_option" => m.mail_options.push(value.to_owned()),
                "rcpt_to" => m.rcpt_tos.push(value.to_owned()),
                "rcpt_option" => {
                    if let Some((i, opt)) = value.split_once(' ') {
                        if let Ok(i) = i.parse() {
                            m.rcpt_options.push((i, opt.to_owned()));
                        }
                    }
                }
                "smtp_utf8" => m.smtp_utf8 = value == "True",
                _ => {}
            }
        }
        m
    }
}
