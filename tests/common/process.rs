//! Process-group guards: start a peer in its own process group under
//! `timeout(1)`, stop the whole group on drop with bounded waits.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{read_log_tail, PEER_MAX_LIFETIME};

/// Grace period between SIGTERM and SIGKILL when stopping a group.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running peer process (and its descendants), stopped on drop.
pub struct PeerProcess {
    name: String,
    child: Option<Child>,
    pgid: u32,
    log: PathBuf,
}

impl PeerProcess {
    /// Spawns `program args…` under `timeout` in a new process group, with
    /// stdin closed and stdout/stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> io::Result<PeerProcess> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let child = Command::new("timeout")
            .arg("--kill-after=5")
            .arg(format!("{}s", PEER_MAX_LIFETIME.as_secs()))
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // The group id equals the child's pid: signalling `-pgid` reaches
            // `timeout`, the peer and everything the peer forks.
            .process_group(0)
            .spawn()?;
        let pgid = child.id();
        Ok(PeerProcess {
            name: name.to_owned(),
            child: Some(child),
            pgid,
            log: log.to_path_buf(),
        })
    }

    /// The process group id: the pid of the `timeout(1)` leader.
    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    /// The peer's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log file holding the peer's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last part of the peer's log.
    pub fn log_tail(&self) -> String {
        read_log_tail(&self.log)
    }

    /// True while the group leader has not exited. Does not reap it, so the
    /// process-group id stays reserved until [`PeerProcess::stop`].
    pub fn is_running(&self) -> bool {
        proc_state(self.pgid).is_some_and(|s| s != 'Z' && s != 'X')
    }

    /// Waits until the peer answers a TCP connection on 127.0.0.1:`port`
    /// with a `220` greeting that contains `token` (a name unique to this
    /// peer, so a peer of another test that won a race for the port is not
    /// mistaken for ours). Fails early if the process exits (e.g. the port
    /// was taken), or after `timeout`.
    pub fn wait_for_greeting(
        &self,
        port: u16,
        token: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if !self.is_running() {
                return Err(format!(
                    "{} exited before greeting on port {port}; log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            let last_err = match probe_greeting(addr, token) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} gave no 220 greeting on port {port} within {timeout:?} ({last_err}); log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the whole process group: SIGTERM, up to [`STOP_GRACE`] for
    /// every member to exit, then SIGKILL; finally reaps the leader.
    /// Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal_group(self.pgid, "TERM");
        let deadline = Instant::now() + STOP_GRACE;
        while group_alive(self.pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The leader is our unreaped child, so the group id cannot have been
        // recycled yet: this SIGKILL can only reach our own stragglers.
        if group_alive(self.pgid) {
            signal_group(self.pgid, "KILL");
            let deadline = Instant::now() + STOP_GRACE;
            while group_alive(self.pgid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects, reads one line and checks it is a 220 greeting naming
/// `token`, then quits.
fn probe_greeting(addr: SocketAddr, token: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    // A greeting may be multi-line; its first line already says 220.
    while !buf.contains(&b'\n') && buf.len() < 4096 {
        match s.read(&mut chunk) {
            Ok(0) => return Err("closed before greeting".into()),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) => return Err(e.to_string()),
        }
    }
    let _ = s.write_all(b"QUIT\r\n");
    let first_line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    if !first_line.starts_with(b"220") {
        return Err(format!("unexpected greeting {}", buf.escape_ascii()));
    }
    if !String::from_utf8_lossy(first_line).contains(token) {
        return Err(format!(
            "greeting {} is not from our peer (expected {token}): port race",
            buf.escape_ascii()
        ));
    }
    Ok(())
}

/// Sends `signal` to every process of group `pgid` (via `sh`'s built-in
/// `kill`, so neither libc nor procps is needed).
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -s {signal} -- -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The state letter of process `pid` from `/proc/PID/stat`.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `comm` may contain spaces and parentheses: fields start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    rest.split_whitespace().next()?.chars().next()
}

/// True while any live (non-zombie) process belongs to group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let _ppid = fields.next();
        let pgrp = fields.next().and_then(|f| f.parse::<u32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            return true;
        }
    }
    false
}

/// Starts a listening peer on a fresh loopback port, retrying on a new port
/// (at most [`super::PORT_ATTEMPTS`] times) when the peer dies before
/// greeting — typically because another test took the port first.
pub fn start_on_free_port(
    name: &str,
    token: &str,
    mut spawn: impl FnMut(u16) -> io::Result<PeerProcess>,
) -> (PeerProcess, u16) {
    let mut errors = Vec::new();
    for _ in 0..super::PORT_ATTEMPTS {
        let port = super::free_port();
        let process = match spawn(port) {
            Ok(p) => p,
            Err(e) => panic!("cannot spawn {name}: {e}"),
        };
        match process.wait_for_greeting(port, token, super::STARTUP_TIMEOUT) {
            Ok(()) => return (process, port),
            Err(e) => errors.push(e),
        }
    }
    panic!(
        "{name} did not start after {} attempts:\n{}",
        super::PORT_ATTEMPTS,
        errors.join("\n---\n")
    );
}
