//! Load and fault tests of the tokio example server (`examples/server.rs`)
//! as a deployed program: a crowd of idle connections, a client that
//! pipelines without reading, a slowloris client, and a connection flood
//! from one address. Each test starts its own server on loopback, every
//! loop is bounded in count and time, and the server is stopped on drop.
//!
//! Several client addresses come from 127.0.0.0/8 (127.0.0.2 …), which
//! Linux routes to loopback without configuration.

use crate::common;

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::process::PeerProcess;
use common::smtp::SmtpConn;
use common::{examples_dir, free_port, poll_until, TempDir};

/// A running example server.
struct Server {
    process: PeerProcess,
    port: u16,
    maildir: PathBuf,
    _dir: TempDir,
}

impl Server {
    /// Starts `examples/server` on a free loopback port with `extra` flags.
    fn start(label: &str, extra: &[&str]) -> Server {
        raise_fd_limit();
        let bin = examples_dir().join("server");
        for _ in 0..5 {
            let dir = TempDir::new(label);
            let maildir = dir.path().join("maildir");
            let port = free_port();
            let host = common::unique_host_name(label);
            let mut args: Vec<String> = vec![
                "--listen".into(),
                format!("127.0.0.1:{port}"),
                "--maildir".into(),
                maildir.display().to_string(),
                "--hostname".into(),
                host.clone(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let log = dir.path().join("server.log");
            let process = PeerProcess::spawn(label, &bin, &args, &log).expect("spawn server");
            if process
                .wait_for_greeting(port, &host, Duration::from_secs(20))
                .is_ok()
            {
                return Server {
                    process,
                    port,
                    maildir,
                    _dir: dir,
                };
            }
        }
        panic!("the example server did not start");
    }

    /// The server's resident set in KiB (`VmRSS` of the process that
    /// `timeout(1)` started).
    fn rss_kib(&self) -> u64 {
        let pid = self.process.pgid();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let server = children
            .split_whitespace()
            .next()
            .expect("the server process under timeout");
        let status = std::fs::read_to_string(format!("/proc/{server}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// Messages in `new/`.
    fn delivered(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new")).map_or(0, |d| d.count())
    }

    /// One whole delivery from `from`, which must finish within `within`.
    fn deliver_from(&self, from: Ipv4Addr, within: Duration) {
        let start = Instant::now();
        let before = self.delivered();
        let (mut c, greeting) = SmtpConn::connect_from(from, self.port).expect("connect");
        assert_eq!(greeting.code, 220, "{greeting:?}");
        c.send_mail(
            "a@example.org",
            &["b@example.org"],
            b"Subject: t\r\n\r\nhello\r\n",
        );
        c.quit();
        let took = start.elapsed();
        assert!(took < within, "delivery from {from} took {took:?}");
        assert_eq!(self.delivered(), before + 1);
    }

    fn alive(&self) -> bool {
        self.process.is_running()
    }
}

/// Raises this process's open-file limit to its hard limit (the tests hold
/// a thousand or two connections).
fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        // rlim_t is u64 on Linux, not everywhere.
        #[allow(clippy::unnecessary_cast)]
        let cur = lim.rlim_cur as u64;
        cur
    }
}

/// How many connections this process can hold, leaving room for the rest.
fn connection_budget(want: usize) -> usize {
    let fds = raise_fd_limit() as usize;
    let n = want.min(fds.saturating_sub(128));
    if n < want {
        eprintln!("open-file limit {fds}: holding {n} connections instead of {want}");
    }
    n
}

/// 1,000 idle connections from 25 client addresses (40 each, under the
/// per-address limit of 50) are held open; a fresh client from 127.0.0.1
/// still gets its greeting and delivers within 5 s. The server's RSS per
/// idle connection is printed and bounded.
#[test]
fn idle_crowd_does_not_starve_a_fresh_client() {
    let server = Server::start("load-idle", &[]);
    let n = connection_budget(1000);
    let base = server.rss_kib();
    let mut idle = Vec::with_capacity(n);
    for i in 0..n {
        let from = Ipv4Addr::new(127, 0, 0, 2 + (i / 40) as u8);
        let (c, greeting) = SmtpConn::connect_from(from, server.port)
            .unwrap_or_else(|e| panic!("idle connection {i} from {from}: {e}"));
        assert_eq!(greeting.code, 220, "idle connection {i}: {greeting:?}");
        idle.push(c);
    }
    // Let the sessions settle into their read.
    std::thread::sleep(Duration::from_millis(500));
    let loaded = server.rss_kib();
    let per = (loaded.saturating_sub(base) * 1024) / n.max(1) as u64;
    eprintln!(
        "RSS: {base} KiB at start, {loaded} KiB with {n} idle connections: {per} octets each"
    );
    server.deliver_from(Ipv4Addr::LOCALHOST, Duration::from_secs(5));
    // Goal 16 KiB; the bound leaves room for allocator noise.
    assert!(per <= 32 * 1024, "{per} octets per idle connection");
    drop(idle);
    assert!(server.alive());
}

/// A client that pipelines 20 MB of NOOP and never reads its replies:
/// the server stops reading it once its replies are queued (the machine's
/// `max_queued_replies`, the write timeout), its RSS stays under 64 MB,
/// and other clients are served meanwhile.
#[test]
fn pipelining_without_reading_is_bounded() {
    let server = Server::start("load-noop", &["--command-timeout", "10"]);
    let base = server.rss_kib();
    let stream = common::smtp::connect_from(Ipv4Addr::new(127, 0, 0, 9), server.port).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = stream;
        let block = b"NOOP\r\n".repeat(64 * 1024 / 6);
        let mut sent = 0usize;
        let deadline = Instant::now() + Duration::from_secs(20);
        while sent < 20_000_000 && Instant::now() < deadline {
            match stream.write(&block) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        (stream, sent)
    });
    let mut peak = 0;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(300));
        peak = peak.max(server.rss_kib());
    }
    server.deliver_from(Ipv4Addr::LOCALHOST, Duration::from_secs(5));
    let (stream, sent) = writer.join().unwrap();
    peak = peak.max(server.rss_kib());
    eprintln!("pipelined {sent} octets of NOOP unread; RSS {base} KiB → peak {peak} KiB");
    assert!(peak < 64 * 1024, "RSS peak {peak} KiB");
    drop(stream);
    assert!(server.alive());
}

/// A slowloris client sends one octet of a command every 300 ms: partial
/// lines do not restart the idle timer, so with `--command-timeout 2` it
/// is closed with `421 4.4.2` within the documented bound (the timeout
/// after its last complete line), while the server stays up.
#[test]
fn slowloris_is_closed_within_the_command_timeout() {
    let server = Server::start("load-slow", &["--command-timeout", "2"]);
    let mut stream = common::smtp::connect_from(Ipv4Addr::new(127, 0, 0, 10), server.port).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut closed = None;
    let line = b"EHLO a-very-slow-client.example.org and more text to trickle\r\n";
    for &b in line.iter().cycle().take(200) {
        let _ = stream.write_all(&[b]);
        let mut buf = [0u8; 512];
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = Some(start.elapsed());
                break;
            }
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if start.elapsed() > Duration::from_secs(15) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&seen);
    let closed = closed.unwrap_or_else(|| panic!("not closed after 15 s; saw {text:?}"));
    eprintln!("slowloris closed after {closed:?}: {text:?}");
    assert!(text.contains("421 4.4.2 "), "{text:?}");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
    assert!(server.alive());
}

/// 2,000 connections from one address: the per-address limit (50) caps
/// them, each one over it gets `421 4.7.0` and is closed, a fresh client
/// from another address is served, and the server does not crash.
#[test]
fn connection_flood_from_one_address_is_capped() {
    let server = Server::start("load-flood", &[]);
    let n = connection_budget(2000);
    let flooder = Ipv4Addr::new(127, 0, 0, 77);
    let mut held = Vec::with_capacity(n);
    let (mut greeted, mut refused, mut failed) = (0, 0, 0);
    for _ in 0..n {
        match common::smtp::connect_from(flooder, server.port) {
            Ok(s) => held.push(s),
            Err(_) => failed += 1,
        }
    }
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
        }
        if got.starts_with(b"220 ") {
            greeted += 1;
        } else if got.starts_with(b"421 4.7.0 ") {
            refused += 1;
        } else {
            failed += 1;
        }
    }
    eprintln!("flood of {n}: {greeted} greeted, {refused} refused with 421 4.7.0, {failed} failed");
    assert!(greeted <= 50, "{greeted} sessions from one address");
    assert!(refused + greeted + failed == n);
    assert!(refused >= n - 50 - failed, "{refused}");
    server.deliver_from(Ipv4Addr::new(127, 0, 0, 78), Duration::from_secs(5));
    drop(held);
    assert!(server.alive());
    // The slots come back once the flood is gone.
    let back = poll_until(Duration::from_secs(5), || {
        let (_c, g) = SmtpConn::connect_from(flooder, server.port).ok()?;
        (g.code == 220).then_some(())
    });
    assert!(back.is_some(), "the address stayed locked out");
}

/// Mail is private to the server's user: Maildir directories are created
/// `0700` and messages `0600`, and no file is left in `tmp/`.
#[test]
fn maildir_is_private_and_tmp_is_clean() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start("load-perm", &[]);
    server.deliver_from(Ipv4Addr::LOCALHOST, Duration::from_secs(5));
    for sub in ["tmp", "new", "cur"] {
        let mode = std::fs::metadata(server.maildir.join(sub))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{sub}/ is {mode:o}");
    }
    let new: Vec<_> = std::fs::read_dir(server.maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(new.len(), 1);
    let mode = std::fs::metadata(&new[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let leftovers: Vec<_> = std::fs::read_dir(server.maildir.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().starts_with(".sync-probe"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Password guessing is throttled per client address: after five failed
/// AUTHs (RFC 4954 §4: 535) from one address, its AUTH commands get
/// `454 4.7.0` without being checked, on any connection; another address
/// still authenticates.
#[test]
fn auth_failures_are_throttled_per_address() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let server = Server::start("load-auth", &["--user", "jane:secret"]);
    let guesser = Ipv4Addr::new(127, 0, 0, 30);
    let mut codes = Vec::new();
    for i in 0..8 {
        let (mut c, g) = SmtpConn::connect_from(guesser, server.port).unwrap();
        assert_eq!(g.code, 220);
        c.expect("EHLO guesser.example", 250);
        let guess = if i == 7 { "secret" } else { "wrong" };
        let reply = c.cmd(&format!("AUTH PLAIN {}", b64(&format!("\0jane\0{guess}"))));
        codes.push(reply.code);
    }
    assert_eq!(codes[..5], [535; 5], "{codes:?}");
    assert_eq!(
        codes[5..],
        [454; 3],
        "even the right password waits: {codes:?}"
    );
    let (mut c, _) = SmtpConn::connect_from(Ipv4Addr::new(127, 0, 0, 31), server.port).unwrap();
    c.expect("EHLO other.example", 250);
    let reply = c.cmd(&format!("AUTH PLAIN {}", b64("\0jane\0secret")));
    assert_eq!(reply.code, 235, "{reply:?}");
}
