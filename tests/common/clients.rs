//! Client programs (swaks, msmtp, curl, Python smtplib scripts) run against
//! a loopback server with a timeout. A client that overruns its timeout has
//! its whole process group killed and is reported as timed out.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::process::group_alive;
use super::{require_program, CLIENT_TIMEOUT};

/// What a client program did.
#[derive(Debug)]
pub struct ClientOutput {
    /// The exit status; `None` when it was killed for overrunning.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

impl ClientOutput {
    /// True when the program exited with status 0 in time.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// True when it was killed for overrunning its timeout.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// stdout and stderr as text, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }

    /// Panics with the full output unless the program succeeded.
    pub fn assert_success(&self, what: &str) {
        assert!(self.success(), "{what} failed: {}", self.describe());
    }
}

/// Runs `cmd` in its own process group, feeding it `stdin` (then closing
/// it), and kills the group if it runs longer than `timeout`.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> io::Result<ClientOutput> {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pgid = child.id();
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            // A client that exits without reading all input gives EPIPE: fine.
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            kill_group(pgid);
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Descendants that outlive the client would keep the pipes open.
    if group_alive(pgid) {
        kill_group(pgid);
    }
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(ClientOutput {
        status,
        stdout,
        stderr,
    })
}

fn kill_group(pgid: u32) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -s KILL -- -{pgid} 2>/dev/null"))
        .status();
}

/// Runs a program found by [`require_program`] with a timeout; `None` means
/// the program is missing (skip, outside CI).
fn run_program(name: &str, args: &[String], stdin: Option<&[u8]>) -> Option<ClientOutput> {
    let program: PathBuf = require_program(name)?;
    let out = run(Command::new(&program).args(args), stdin, CLIENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("run {name}: {e}"));
    Some(out)
}

/// `swaks --server 127.0.0.1 --port PORT ARGS…` (add `--from`, `--to`,
/// `--data` etc. in `args`). swaks prints the whole transcript on stdout.
pub fn swaks(port: u16, args: &[&str]) -> Option<ClientOutput> {
    let mut all = vec![
        "--server".to_owned(),
        "127.0.0.1".to_owned(),
        "--port".to_owned(),
        port.to_string(),
        "--timeout".to_owned(),
        "20".to_owned(),
    ];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    run_program("swaks", &all, None)
}

/// `msmtp --host=127.0.0.1 --port=PORT ARGS…` with the message on stdin
/// (e.g. `args = ["--from=a@x.test", "b@y.test"]`). No config file is
/// read; TLS and auth are off unless `args` turn them on; msmtp is told
/// not to add From/Date/Message-ID headers, so the content arrives as given.
pub fn msmtp(port: u16, args: &[&str], message: &[u8]) -> Option<ClientOutput> {
    let mut all = vec![
        "--file=/dev/null".to_owned(),
        "--host=127.0.0.1".to_owned(),
        format!("--port={port}"),
        "--tls=off".to_owned(),
        "--auth=off".to_owned(),
        "--timeout=20".to_owned(),
        "--set-from-header=off".to_owned(),
        "--set-date-header=off".to_owned(),
        "--set-msgid-header=off".to_owned(),
    ];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    run_program("msmtp", &all, Some(message))
}

/// `curl -sS --max-time 20 smtp://127.0.0.1:PORT ARGS… -T -` with the
/// message on stdin (e.g. `args = ["--mail-from", "a@x.test",
/// "--mail-rcpt", "b@y.test"]`).
pub fn curl(port: u16, args: &[&str], message: &[u8]) -> Option<ClientOutput> {
    let mut all = vec![
        "-sS".to_owned(),
        "--max-time".to_owned(),
        "20".to_owned(),
        format!("smtp://127.0.0.1:{port}"),
    ];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    all.extend(["-T".to_owned(), "-".to_owned()]);
    run_program("curl", &all, Some(message))
}

/// Runs a Python script (source text) with the interop interpreter
/// ([`super::aiosmtpd::python`]), `sys.argv[1:] = args`. Use it for smtplib
/// clients: the script can read the port from `sys.argv`.
pub fn python_script(source: &str, args: &[&str]) -> Option<ClientOutput> {
    let py = super::aiosmtpd::python();
    let probe = run(Command::new(&py).arg("-V"), None, CLIENT_TIMEOUT);
    if !probe.as_ref().is_ok_and(|o| o.success()) {
        return super::peer_unavailable("python", &format!("cannot run {}", py.display()));
    }
    let out = run(
        Command::new(&py).arg("-c").arg(source).args(args),
        None,
        CLIENT_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("run python: {e}"));
    Some(out)
}

/// `fetchmail -f RC --nosyslog -N -v` with `rc` as its run-control file
/// (written 0600 into a fresh 0700 `FETCHMAILHOME`, also its `HOME`, as
/// fetchmail insists), in the foreground, bounded by [`CLIENT_TIMEOUT`]
/// (put a `timeout` in `rc` below it). Its exit status says what happened:
/// 0 mail was sent on, 1 no mail, 3 authentication failed, 4 a protocol
/// error.
pub fn fetchmail(rc: &str) -> Option<ClientOutput> {
    use std::os::unix::fs::PermissionsExt;
    let program = require_program("fetchmail")?;
    let home = super::TempDir::new("fetchmail");
    let mode = |m| std::fs::Permissions::from_mode(m);
    std::fs::set_permissions(home.path(), mode(0o700)).expect("chmod fetchmail home");
    let rcfile = home.path().join("fetchmailrc");
    std::fs::write(&rcfile, rc).expect("write fetchmailrc");
    std::fs::set_permissions(&rcfile, mode(0o600)).expect("chmod fetchmailrc");
    let mut cmd = Command::new(program);
    // As root fetchmail locks /var/run/fetchmail.pid whatever
    // FETCHMAILHOME says: a lock file of its own lets tests run at once.
    cmd.arg("-f")
        .arg(&rcfile)
        .arg("--pidfile")
        .arg(home.path().join("fetchmail.pid"))
        .args(["--nosyslog", "-N", "-v"])
        .env("FETCHMAILHOME", home.path())
        .env("HOME", home.path());
    let out = run(&mut cmd, None, CLIENT_TIMEOUT).unwrap_or_else(|e| panic!("run fetchmail: {e}"));
    Some(out)
}
