//! A private Postfix `smtpd` on loopback, in strict mode, whose accepted
//! messages can be read back byte for byte.
//!
//! # Design
//!
//! Each [`PostfixSmtpd`] is a whole private Postfix instance: its own
//! `config_directory` (`main.cf`, `master.cf`), `queue_directory` and
//! `data_directory` under a temporary directory, and its own `master -d`
//! process (foreground, in its own process group, stopped on drop). It never
//! touches the system instance in `/etc/postfix` or `/var/spool/postfix`.
//!
//! - `master.cf` has `127.0.0.1:PORT inet n - n - - smtpd` and the internal
//!   services smtpd needs (cleanup, trivial-rewrite, qmgr, bounce, anvil …),
//!   none chrooted; `inet_interfaces = loopback-only`, IPv4 only.
//! - Strict mode: `smtpd_forbid_bare_newline = reject` with
//!   `smtpd_forbid_bare_newline_exclusions =` cleared, so even loopback
//!   clients get `550 5.5.2 Error: bare <LF> received` (and a disconnect)
//!   for a line ending in bare LF.
//! - Nothing is delivered: `smtpd_client_restrictions = check_client_access
//!   static:HOLD` puts every accepted message on the hold queue, where it
//!   stays. `local_header_rewrite_clients =`, `always_add_missing_headers =
//!   no` and `receive_override_options = no_address_mappings,
//!   no_header_body_checks, no_unknown_recipient_checks, no_milters` keep
//!   cleanup from editing the content.
//! - `maillog_file` is `DIR/maillog` (via `postlogd`): the log a failing
//!   test prints.
//!
//! # Reading back what was received
//!
//! The `250 2.0.0 Ok: queued as ID` reply names the queue file
//! ([`queue_id`]); [`PostfixSmtpd::message`] then runs `postcat -e` (envelope)
//! and `postcat -bh` (content) on `hold/ID`, and [`PostfixSmtpd::messages`]
//! does so for every held message, oldest first.
//!
//! [`PostfixMessage::content`] is the content exactly as the client sent it
//! after dot-unstuffing, with these documented reconstructions:
//! - Postfix stores *lines*, so every line end comes back as CRLF (a bare LF
//!   cannot get this far in strict mode; a bare CR inside a line is kept).
//!   Lines longer than `line_length_limit` (2048) are stored in pieces and
//!   joined again by postcat.
//! - smtpd prepends its own `Received:` header; `content` has it removed
//!   (it is in [`PostfixMessage::stored`]).
//!
//! And these Postfix edits that no setting turns off (pinned by
//! `tests/peers_smoke.rs`, so a change in Postfix shows up there first):
//! - cleanup deletes `Return-Path:`, `Content-Length:` and `Bcc:` header
//!   fields;
//! - a bare CR inside a line arrives as a space.
//!
//! For byte-exact checks of odd bytes use aiosmtpd, which keeps everything.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::process::{start_on_free_port, PeerProcess};
use super::smtp::Reply;
use super::{
    find_program, is_root, lf_to_crlf, peer_unavailable, poll_until, require_program,
    unique_host_name, TempDir,
};

/// How long a queue file may take to appear after the 250 reply.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// `main.cf` settings every instance gets (later settings override them).
fn base_main_cf(dir: &Path, host: &str) -> Vec<(String, String)> {
    let d = dir.display();
    [
        ("compatibility_level", "3.6".to_owned()),
        ("queue_directory", format!("{d}/queue")),
        ("data_directory", format!("{d}/data")),
        ("mail_owner", "postfix".to_owned()),
        ("setgid_group", "postdrop".to_owned()),
        ("myhostname", host.to_owned()),
        ("mydomain", "esmtp.test".to_owned()),
        ("myorigin", "$myhostname".to_owned()),
        ("mydestination", String::new()),
        ("inet_interfaces", "loopback-only".to_owned()),
        ("inet_protocols", "ipv4".to_owned()),
        ("mynetworks", "127.0.0.0/8".to_owned()),
        ("smtpd_banner", "$myhostname ESMTP Postfix".to_owned()),
        (
            "smtpd_client_restrictions",
            "check_client_access static:HOLD".to_owned(),
        ),
        (
            "smtpd_relay_restrictions",
            "permit_mynetworks, reject".to_owned(),
        ),
        ("smtpd_recipient_restrictions", String::new()),
        ("local_header_rewrite_clients", String::new()),
        ("remote_header_rewrite_domain", String::new()),
        ("always_add_missing_headers", "no".to_owned()),
        (
            "receive_override_options",
            "no_address_mappings, no_header_body_checks, no_unknown_recipient_checks, no_milters"
                .to_owned(),
        ),
        ("smtpd_forbid_bare_newline", "reject".to_owned()),
        ("smtpd_forbid_bare_newline_exclusions", String::new()),
        ("smtputf8_enable", "yes".to_owned()),
        ("biff", "no".to_owned()),
        ("smtpd_peername_lookup", "no".to_owned()),
        ("smtp_dns_support_level", "disabled".to_owned()),
        ("maillog_file", format!("{d}/maillog")),
        ("maillog_file_prefixes", d.to_string()),
        ("alias_maps", String::new()),
        ("alias_database", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `master.cf` for one port: smtpd on loopback plus the internal services
/// it and cleanup talk to, none chrooted, and `extra` lines.
fn master_cf(port: u16, smtpd_options: &[String], extra: &[String]) -> String {
    let mut smtpd = format!("127.0.0.1:{port} inet n - n - - smtpd");
    for opt in smtpd_options {
        smtpd.push_str("\n  -o ");
        smtpd.push_str(opt);
    }
    format!(
        "{smtpd}
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
error     unix  - - n - - error
discard   unix  - - n - - discard
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
{}",
        extra.iter().map(|l| format!("{l}\n")).collect::<String>()
    )
}

/// Options for a private smtpd.
#[derive(Default)]
pub struct PostfixSmtpdBuilder {
    main_cf: Vec<(String, String)>,
    smtpd_options: Vec<String>,
    master_lines: Vec<String>,
    starttls: bool,
}

impl PostfixSmtpdBuilder {
    /// Offers STARTTLS (RFC 3207) with a fresh self-signed certificate
    /// (`smtpd_tls_security_level = may`).
    pub fn starttls(mut self, on: bool) -> Self {
        self.starttls = on;
        self
    }

    /// Sets (or overrides) a `main.cf` parameter, e.g.
    /// `.main_cf("smtpd_forbid_bare_newline", "normalize")`.
    pub fn main_cf(mut self, name: &str, value: &str) -> Self {
        self.main_cf.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Appends a line to `master.cf` as it is: another service (a second
    /// smtpd on a port of the test's choosing, the `smtp` client for a
    /// relay).
    pub fn master_cf_line(mut self, line: &str) -> Self {
        self.master_lines.push(line.to_owned());
        self
    }

    /// Adds `-o name=value` to the smtpd line of `master.cf`.
    pub fn smtpd_option(mut self, name_value: &str) -> Self {
        self.smtpd_options.push(name_value.to_owned());
        self
    }

    /// Starts the instance, or returns `None` (skip) when Postfix is not
    /// installed or the tests do not run as root, outside CI.
    pub fn start(self) -> Option<PostfixSmtpd> {
        let postfix = require_program("postfix")?;
        let postcat = require_program("postcat")?;
        let postconf = require_program("postconf")?;
        if !is_root() {
            return peer_unavailable(
                "postfix smtpd",
                "a private Postfix instance needs root (its daemons run as `postfix`)",
            );
        }
        let daemon_dir = Command::new(&postconf)
            .args(["-d", "-h", "daemon_directory"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/usr/lib/postfix/sbin".to_owned());
        let Some(master) = find_program(&format!("{daemon_dir}/master")) else {
            return peer_unavailable("postfix smtpd", &format!("no {daemon_dir}/master"));
        };

        let dir = TempDir::new("postfix");
        let conf = dir.path().join("conf");
        let data = dir.path().join("data");
        for d in [&conf, &data, &dir.path().join("queue")] {
            std::fs::create_dir_all(d).expect("create postfix dir");
        }
        let host = unique_host_name("postfix");
        let mut settings = base_main_cf(dir.path(), &host);
        if self.starttls {
            let (cert, key) = super::self_signed_cert(dir.path(), &host)?;
            settings.extend([
                ("smtpd_tls_security_level".to_owned(), "may".to_owned()),
                ("smtpd_tls_cert_file".to_owned(), cert.display().to_string()),
                ("smtpd_tls_key_file".to_owned(), key.display().to_string()),
                ("smtpd_tls_session_cache_database".to_owned(), String::new()),
            ]);
        }
        for (k, v) in self.main_cf {
            settings.retain(|(name, _)| *name != k);
            settings.push((k, v));
        }
        let main: String = settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        std::fs::write(conf.join("main.cf"), main).expect("write main.cf");
        std::fs::write(conf.join("master.cf"), master_cf(0, &[], &[])).expect("write master.cf");

        // The data directory must belong to mail_owner; `postfix check`
        // creates the queue subdirectories with their owners and modes.
        run_checked(Command::new("chown").arg("postfix").arg(&data));
        run_checked(Command::new(&postfix).arg("-c").arg(&conf).arg("check"));

        let log = dir.path().join("master.log");
        let maillog = dir.path().join("maillog");
        let (process, port) = start_on_free_port("postfix master", &host, |port| {
            std::fs::write(
                conf.join("master.cf"),
                master_cf(port, &self.smtpd_options, &self.master_lines),
            )
            .expect("write master.cf");
            let args = vec!["-c".to_owned(), conf.display().to_string(), "-d".to_owned()];
            PeerProcess::spawn("postfix master", &master, &args, &log)
        });
        Some(PostfixSmtpd {
            process,
            port,
            host,
            conf,
            postcat,
            maillog,
            queue: dir.path().join("queue"),
            _dir: dir,
        })
    }
}

/// Runs a setup command and panics with its output if it fails.
fn run_checked(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running private Postfix instance; stopped (master and all daemons) on
/// drop.
pub struct PostfixSmtpd {
    process: PeerProcess,
    port: u16,
    host: String,
    conf: PathBuf,
    postcat: PathBuf,
    maillog: PathBuf,
    queue: PathBuf,
    // Dropped last: daemons stop before their queue disappears.
    _dir: TempDir,
}

impl PostfixSmtpd {
    /// Options for a new instance.
    pub fn builder() -> PostfixSmtpdBuilder {
        PostfixSmtpdBuilder::default()
    }

    /// Starts an instance with the default strict settings.
    pub fn start() -> Option<PostfixSmtpd> {
        Self::builder().start()
    }

    /// The loopback port smtpd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `myhostname`, which smtpd announces in its greeting.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// The instance's `config_directory`.
    pub fn config_dir(&self) -> &Path {
        &self.conf
    }

    /// The instance's mail log (for assertion messages).
    pub fn maillog(&self) -> String {
        super::read_log_tail(&self.maillog)
    }

    /// Reads back the held message `queue_id` (see the module docs for
    /// what `content` is). Waits up to 10 s for the queue file.
    pub fn message(&self, queue_id: &str) -> PostfixMessage {
        assert!(
            !queue_id.is_empty() && queue_id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "bad queue id {queue_id:?}"
        );
        let path = self.queue.join("hold").join(queue_id);
        if poll_until(QUEUE_WAIT, || path.exists().then_some(())).is_none() {
            panic!(
                "no held message {queue_id} after {QUEUE_WAIT:?}; maillog:\n{}",
                self.maillog()
            );
        }
        let envelope = self.postcat(&["-e", "-q", queue_id]);
        let stored = self.postcat(&["-bh", "-q", queue_id]);
        PostfixMessage::new(queue_id, &envelope, stored)
    }

    /// Every message on the hold queue, oldest first.
    pub fn messages(&self) -> Vec<PostfixMessage> {
        let mut ids: Vec<(std::time::SystemTime, String)> =
            std::fs::read_dir(self.queue.join("hold"))
                .map(|rd| {
                    rd.flatten()
                        .filter_map(|e| {
                            let mtime = e.metadata().and_then(|m| m.modified()).ok()?;
                            Some((mtime, e.file_name().to_string_lossy().into_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
        ids.sort();
        ids.into_iter().map(|(_, id)| self.message(&id)).collect()
    }

    /// Runs postcat against this instance's queue.
    fn postcat(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new(&self.postcat)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run postcat: {e}"));
        assert!(
            out.status.success(),
            "postcat {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// The queue id in smtpd's `250 2.0.0 Ok: queued as ID` reply.
pub fn queue_id(reply: &Reply) -> String {
    let text = reply.text();
    let id = text
        .rsplit("queued as ")
        .next()
        .filter(|_| text.contains("queued as "))
        .unwrap_or_else(|| panic!("no queue id in {reply:?}"));
    id.trim().to_owned()
}

/// A message read back from the hold queue.
#[derive(Debug, Clone)]
pub struct PostfixMessage {
    /// Postfix's queue id.
    pub queue_id: String,
    /// The envelope sender (empty for the null reverse-path `<>`).
    pub sender: String,
    /// The envelope recipients, in order.
    pub recipients: Vec<String>,
    /// The content as the client sent it after dot-unstuffing: smtpd's
    /// `Received:` header removed, CRLF line ends.
    pub content: Vec<u8>,
    /// postcat's output as is (LF line ends, `Received:` included).
    pub stored: Vec<u8>,
}

impl PostfixMessage {
    fn new(queue_id: &str, envelope: &[u8], stored: Vec<u8>) -> PostfixMessage {
        let envelope = String::from_utf8_lossy(envelope);
        let mut sender = String::new();
        let mut recipients = Vec::new();
        for line in envelope.lines() {
            if let Some(v) = line.strip_prefix("sender: ") {
                sender = v.to_owned();
            } else if line == "sender:" {
                sender.clear();
            } else if let Some(v) = line.strip_prefix("recipient: ") {
                recipients.push(v.to_owned());
            }
        }
        let content = lf_to_crlf(strip_own_received(&stored));
        PostfixMessage {
            queue_id: queue_id.to_owned(),
            sender,
            recipients,
            content,
            stored,
        }
    }
}

/// Removes the first header field when it is the `Received:` header smtpd
/// prepended (the field and its folded continuation lines).
fn strip_own_received(stored: &[u8]) -> &[u8] {
    if !stored.starts_with(b"Received: ") {
        return stored;
    }
    let mut rest = stored;
    let mut first = true;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let continuation = matches!(rest.first(), Some(b' ' | b'\t'));
        if !first && !continuation {
            break;
        }
        first = false;
        rest = rest.get(nl + 1..).unwrap_or_default();
    }
    rest
}
