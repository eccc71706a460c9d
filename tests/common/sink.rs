//! Postfix `smtp-sink` on loopback.
//!
//! Started as `smtp-sink [-u nobody] -c -h NAME [-d DIR/dump.] [extra…]
//! 127.0.0.1:PORT 100`. Fault options (`-f`, `-q`, `-r`, `-b`, `-B`, `-w`,
//! `-L` for LMTP, …) pass through [`SmtpSinkBuilder::arg`].
//!
//! Reading back: with [`SmtpSinkBuilder::dump`], each transaction is written
//! to one file; [`SmtpSink::wait_for_dumps`] parses them. smtp-sink writes
//! lines terminated by LF, so [`SinkDump::content`] has every line end
//! turned back into CRLF — what the client sent after dot-unstuffing,
//! provided the client sent only CRLF line ends. smtp-sink drops a bare CR
//! inside a line from its dump (pinned by `tests/peers_smoke.rs`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::process::{start_on_free_port, PeerProcess};
use super::{is_root, lf_to_crlf, poll_until, require_program, unique_host_name, TempDir};

/// Options for starting a sink.
#[derive(Default)]
pub struct SmtpSinkBuilder {
    dump: bool,
    extra: Vec<String>,
}

impl SmtpSinkBuilder {
    /// Dump each transaction to a file (`-d`).
    pub fn dump(mut self, on: bool) -> Self {
        self.dump = on;
        self
    }

    /// Passes one more option through to smtp-sink, before the address
    /// (e.g. `.arg("-f").arg("RCPT")` rejects RCPT with 5xx).
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra.push(arg.to_owned());
        self
    }

    /// Starts the sink, or returns `None` (skip) when smtp-sink is missing
    /// outside CI.
    pub fn start(self) -> Option<SmtpSink> {
        let program = require_program("smtp-sink")?;
        let dir = TempDir::new("smtp-sink");
        let dump_dir = dir.path().join("dump");
        std::fs::create_dir(&dump_dir).expect("create dump dir");
        {
            use std::os::unix::fs::PermissionsExt;
            // smtp-sink writes dumps after dropping to `nobody`.
            std::fs::set_permissions(&dump_dir, std::fs::Permissions::from_mode(0o777))
                .expect("chmod dump dir");
        }
        let host = unique_host_name("sink");
        let log = dir.path().join("smtp-sink.log");
        let (process, port) = start_on_free_port("smtp-sink", &host, |port| {
            let mut args = Vec::new();
            if is_root() {
                args.extend(["-u".to_owned(), "nobody".to_owned()]);
            }
            args.extend(["-c".to_owned(), "-h".to_owned(), host.clone()]);
            if self.dump {
                args.push("-d".to_owned());
                // strftime template; smtp-sink appends a random hex suffix.
                args.push(format!("{}/dump.", dump_dir.display()));
            }
            args.extend(self.extra.iter().cloned());
            args.push(format!("127.0.0.1:{port}"));
            args.push("100".to_owned());
            PeerProcess::spawn("smtp-sink", &program, &args, &log)
        });
        Some(SmtpSink {
            process,
            port,
            host,
            dump_dir,
            _dir: dir,
        })
    }
}

/// A running smtp-sink; stopped on drop.
pub struct SmtpSink {
    process: PeerProcess,
    port: u16,
    host: String,
    dump_dir: PathBuf,
    // Dropped after `process` (field order): the peer stops before its
    // directory goes away.
    _dir: TempDir,
}

impl SmtpSink {
    /// Options for a new sink.
    pub fn builder() -> SmtpSinkBuilder {
        SmtpSinkBuilder::default()
    }

    /// Starts a sink that dumps every transaction.
    pub fn start_dumping() -> Option<SmtpSink> {
        Self::builder().dump(true).start()
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host name it announces in its greeting and EHLO reply.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// The peer process (for its log).
    pub fn process(&self) -> &PeerProcess {
        &self.process
    }

    /// Waits (at most `timeout`) until `n` complete dump files exist and
    /// returns them all, oldest first.
    ///
    /// A file counts as complete once its size stopped changing between two
    /// looks 50 ms apart (smtp-sink keeps the file open during a
    /// transaction). Panics with the sink's log on timeout.
    pub fn wait_for_dumps(&self, n: usize, timeout: Duration) -> Vec<SinkDump> {
        let mut last_sizes: Vec<(PathBuf, u64)> = Vec::new();
        let found = poll_until(timeout, || {
            let files = list_files(&self.dump_dir);
            let sizes: Vec<(PathBuf, u64)> = files
                .iter()
                .map(|(p, _)| {
                    (
                        p.clone(),
                        std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
                    )
                })
                .collect();
            let stable =
                files.len() >= n && sizes == last_sizes && sizes.iter().all(|(_, s)| *s > 0);
            last_sizes = sizes;
            if stable {
                std::thread::sleep(Duration::from_millis(50));
                Some(files)
            } else {
                std::thread::sleep(Duration::from_millis(30));
                None
            }
        });
        let Some(files) = found else {
            panic!(
                "smtp-sink: expected {n} dump(s) within {timeout:?}, have {}; log:\n{}",
                list_files(&self.dump_dir).len(),
                self.process.log_tail()
            );
        };
        files
            .into_iter()
            .map(|(p, _)| {
                let raw = std::fs::read(&p).expect("read dump");
                SinkDump::parse(&p, raw)
            })
            .collect()
    }
}

/// Regular files of `dir`, oldest first (ties broken by name).
fn list_files(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut files: Vec<(PathBuf, SystemTime)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .map(|e| {
                    let mtime = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    (e.path(), mtime)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    files
}

/// One transaction as dumped by smtp-sink (`-d`).
#[derive(Debug, Clone)]
pub struct SinkDump {
    /// The dump file.
    pub path: PathBuf,
    /// `X-Client-Proto`: SMTP, ESMTP or LMTP.
    pub proto: String,
    /// `X-Helo-Args`, if HELO/EHLO was seen.
    pub helo: Option<String>,
    /// `X-Mail-Args`: everything after `MAIL FROM:` (path and parameters).
    pub mail_args: String,
    /// `X-Rcpt-Args`, one per RCPT, in order.
    pub rcpt_args: Vec<String>,
    /// The message content after dot-unstuffing, with CRLF line ends.
    pub content: Vec<u8>,
    /// The dump file's bytes, unchanged.
    pub raw: Vec<u8>,
}

impl SinkDump {
    /// Parses smtp-sink's dump format: `X-…` records, a three-line
    /// `Received:` header that ends them, the content, one empty line.
    fn parse(path: &Path, raw: Vec<u8>) -> SinkDump {
        let mut dump = SinkDump {
            path: path.to_path_buf(),
            proto: String::new(),
            helo: None,
            mail_args: String::new(),
            rcpt_args: Vec::new(),
            content: Vec::new(),
            raw: raw.clone(),
        };
        let mut rest: &[u8] = &raw;
        let mut in_received = false;
        loop {
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                panic!(
                    "truncated smtp-sink dump {}: {}",
                    path.display(),
                    super::show(&raw)
                );
            };
            let (line, tail) = rest.split_at(nl);
            let line = String::from_utf8_lossy(line).into_owned();
            let next = tail.get(1..).unwrap_or_default();
            if in_received {
                if line.starts_with('\t') || line.starts_with(' ') {
                    rest = next;
                    continue;
                }
                break;
            }
            rest = next;
            if let Some(v) = line.strip_prefix("X-Client-Proto: ") {
                dump.proto = v.to_owned();
            } else if let Some(v) = line.strip_prefix("X-Helo-Args: ") {
                dump.helo = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
                dump.mail_args = v.to_owned();
            } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ") {
                dump.rcpt_args.push(v.to_owned());
            } else if line.starts_with("Received: ") {
                in_received = true;
            }
        }
        // smtp-sink appends one empty line after the content.
        let body = rest.strip_suffix(b"\n").unwrap_or(rest);
        dump.content = lf_to_crlf(body);
        dump
    }
}
