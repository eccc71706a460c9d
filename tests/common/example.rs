//! The example servers (`examples/server.rs` on tokio,
//! `examples/server_blocking.rs` on std::net threads) run by the tests:
//! each on a kernel-chosen loopback port (`--listen 127.0.0.1:0`; the
//! port is read from the `listening on` line) with its own temporary
//! Maildir, stopped on drop. The binaries are built once per test run
//! with `cargo build --example …` (a no-op when `cargo test` built them).

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{examples_dir, TempDir};

/// How long a server may take to print its `listening on` line.
const STARTUP: Duration = Duration::from_secs(20);

/// Which driver.
#[derive(Clone, Copy, Debug)]
pub enum Driver {
    Tokio,
    Blocking,
}

impl Driver {
    pub fn example(self) -> &'static str {
        match self {
            Driver::Tokio => "server",
            Driver::Blocking => "server_blocking",
        }
    }
}

/// A running example server, stopped (SIGTERM, then SIGKILL) on drop. It
/// runs under `timeout(1)` in its own process group, like the harness's
/// peers, so a killed test cannot leak it.
pub struct ExampleServer {
    pub child: Option<Child>,
    pub pgid: u32,
    pub port: u16,
    /// The implicit-TLS listener's port (`--tls-listen`).
    pub tls_port: Option<u16>,
    pub host: String,
    pub dir: TempDir,
    pub maildir: PathBuf,
}

impl ExampleServer {
    /// Starts `driver` with `--listen 127.0.0.1:0 --maildir … --hostname …`
    /// and `extra` arguments.
    pub fn start(driver: Driver, extra: &[&str]) -> ExampleServer {
        ExampleServer::start_with_env(driver, extra, &[])
    }

    /// [`ExampleServer::start`] with extra environment variables.
    pub fn start_with_env(driver: Driver, extra: &[&str], env: &[(&str, &str)]) -> ExampleServer {
        let bin = examples_dir().join(driver.example());
        let dir = TempDir::new(driver.example());
        // A name EHLO can carry too (no `_`), for the queue runs.
        let host = super::unique_host_name(&driver.example().replace('_', "-"));
        let maildir = dir.path().join("maildir");
        let stdout = dir.path().join("stdout.log");
        let stderr = dir.path().join("stderr.log");
        let child = Command::new("timeout")
            .args(["--kill-after=5", "600s"])
            .arg(&bin)
            .args(["--listen", "127.0.0.1:0", "--hostname", &host, "--maildir"])
            .arg(&maildir)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("create stdout log"))
            .stderr(File::create(&stderr).expect("create stderr log"))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let pgid = child.id();
        let mut server = ExampleServer {
            child: Some(child),
            pgid,
            port: 0,
            tls_port: None,
            host,
            dir,
            maildir,
        };
        let deadline = Instant::now() + STARTUP;
        let wants_tls = extra.contains(&"--tls-listen");
        loop {
            let out = std::fs::read_to_string(&stdout).unwrap_or_default();
            let listening = |suffix: &str| {
                out.lines()
                    .filter_map(|l| l.strip_prefix("listening on ")?.strip_suffix(suffix))
                    .find_map(|a| a.trim().parse::<SocketAddr>().ok())
                    .map(|a| a.port())
            };
            let tls_port = listening(" (implicit TLS)");
            if let Some(port) = listening("").filter(|_| tls_port.is_some() || !wants_tls) {
                (server.port, server.tls_port) = (port, tls_port);
                return server;
            }
            let exited = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok())
                .flatten();
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "{} did not start ({exited:?}); stderr:\n{}",
                    bin.display(),
                    server.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log (stderr).
    pub fn stderr(&self) -> String {
        super::read_log_tail(&self.dir.path().join("stderr.log"))
    }

    /// A scratch path in this test's temporary directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a self-signed certificate for this server's host name.
    pub fn cert(dir: &TempDir, host: &str) -> Option<(String, String)> {
        let (cert, key) = super::self_signed_cert(dir.path(), host)?;
        Some((
            cert.to_string_lossy().into_owned(),
            key.to_string_lossy().into_owned(),
        ))
    }

    /// Files in `sub` (`new` or `tmp`) as (name, content), in delivery
    /// order (by the counter in the unique name).
    pub fn files(&self, sub: &str) -> Vec<(String, Vec<u8>)> {
        let dir = self.maildir.join(sub);
        let mut files: Vec<(u64, String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| {
                let entry = entry.expect("dir entry");
                let name = entry.file_name().to_string_lossy().into_owned();
                let content = std::fs::read(entry.path()).expect("read message");
                (delivery_counter(&name), name, content)
            })
            .collect();
        files.sort();
        files.into_iter().map(|(_, n, c)| (n, c)).collect()
    }

    /// The delivered messages, in order.
    pub fn delivered(&self) -> Vec<Vec<u8>> {
        self.files("new").into_iter().map(|(_, c)| c).collect()
    }

    /// Asserts nothing is left half-written in `tmp/`.
    pub fn assert_tmp_empty(&self) {
        let tmp = self.files("tmp");
        assert!(
            tmp.is_empty(),
            "files left in tmp/: {:?}",
            tmp.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
    }

    /// Sends a signal to the server's process group.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -s {signal} -- -{} 2>/dev/null", self.pgid))
            .status();
    }

    /// Waits up to `timeout` for the server to exit; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        self.signal("TERM");
        if self.wait_exit(Duration::from_secs(5)).is_none() {
            self.signal("KILL");
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("server log:\n{}", self.stderr());
        }
    }
}

/// `Q<counter>` from a Maildir unique name `SECS.MusecPpidQcounterRrand.host`.
pub fn delivery_counter(name: &str) -> u64 {
    name.split('.')
        .nth(1)
        .and_then(|part| part.split_once('Q'))
        .and_then(|(_, rest)| rest.split_once('R'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(u64::MAX)
}
