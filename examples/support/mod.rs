//! Code shared by `examples/server.rs` (tokio) and
//! `examples/server_blocking.rs` (std::net threads): the command line, the
//! session policy, Maildir delivery and the trace fields. Included by both
//! with `#[path = "support/mod.rs"] mod support;`.

pub mod args;
pub mod maildir;
pub mod received;
pub mod session;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use esmtp::ehlo::Mechanism;
use esmtp::ext::future_release::HoldLimits;
use esmtp::server::{Server, ServerConfig};
use esmtp::values::DateTime;

use args::Args;
use maildir::Maildir;

/// The largest buffer a connection reads into. The session's own limit
/// ([`esmtp::server::Limits::max_buffered`], 256 KiB by default) is kept
/// above it plus the longest line (see [`Shared::new`]).
pub const READ_BUFFER: usize = 64 * 1024;

/// The buffer an idle connection reads into; a read that fills it doubles
/// the next one, up to [`READ_BUFFER`], so a thousand idle connections
/// hold a few MiB, not 64 MiB.
// Only the tokio example grows its buffer.
#[allow(dead_code)]
pub const FIRST_READ: usize = 2 * 1024;

/// AUTH failures from one address within [`AUTH_FAILURE_WINDOW`] before
/// its AUTH commands are refused unchecked (`454 4.7.0`) until the window
/// passes: a password guesser gets five tries per quarter hour per
/// address, however many connections it opens.
pub const AUTH_FAILURES_ALLOWED: u32 = 5;

/// See [`AUTH_FAILURES_ALLOWED`].
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Addresses whose AUTH failures are remembered at most (the table is
/// bounded whatever the number of guessers).
const AUTH_FAILURE_TABLE: usize = 16 * 1024;

/// How long a STARTTLS handshake may take.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the sessions of one listener share.
pub struct Shared {
    /// The machine's configuration.
    pub config: Arc<ServerConfig>,
    /// Where messages go.
    pub maildir: Maildir,
    /// AUTH users as (name, password).
    pub users: Vec<(String, String)>,
    /// The TLS configuration when STARTTLS is offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Sessions started, for log lines.
    sessions: AtomicU64,
    /// Recent AUTH failures per client address: (count, first failure).
    auth_failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Shared {
    /// Builds the configuration from the command line: opens the Maildir,
    /// loads the certificate, and offers every extension the machine
    /// supports.
    pub fn new(args: &Args) -> Result<Arc<Shared>, String> {
        let hostname = args.hostname.clone().unwrap_or_else(system_hostname);
        let tls = match &args.tls {
            Some((cert, key)) => Some(load_tls(cert, key)?),
            None => None,
        };
        let maildir = Maildir::create(&args.maildir, &hostname)
            .map_err(|e| format!("maildir {}: {e}", args.maildir.display()))?;
        let mut config = ServerConfig::new(hostname).map_err(|e| format!("--hostname: {e}"))?;
        if args.lmtp {
            config = config.lmtp();
        }
        let ext = &mut config.extensions;
        // On by default: PIPELINING, 8BITMIME, CHUNKING, BINARYMIME,
        // SMTPUTF8, DSN, ENHANCEDSTATUSCODES, HELP, LIMITS; VRFY and
        // EXPN answer 252 (RFC 5321 §3.5.3).
        ext.starttls = tls.is_some();
        if !args.users.is_empty() {
            ext.auth = vec![Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5];
            // RFC 4954 §4: PLAIN and LOGIN only over TLS when there is
            // TLS. Without a certificate AUTH goes in the clear, which is
            // only offered on a loopback listener (a local test) unless
            // --allow-plaintext-auth says otherwise.
            let clear_ok = args.listen.ip().is_loopback() || args.allow_plaintext_auth;
            ext.auth_requires_tls = tls.is_some() || !clear_ok;
            if tls.is_none() && !clear_ok {
                eprintln!(
                    "warning: AUTH is not offered: no --tls-cert, and {} is not loopback \
                     (--allow-plaintext-auth to offer it in the clear)",
                    args.listen
                );
            }
        }
        config.timeouts.command = args.command_timeout;
        config.timeouts.data = args.data_timeout;
        config.timeouts.message = args.message_timeout;
        // Delivery is immediate, so any by-time, priority or hold is met
        // trivially; they are accepted to show the parameters parsed.
        ext.deliver_by = Some(0);
        ext.mt_priority = Some(None);
        let week = 7 * 24 * 3600;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        ext.future_release = i64::try_from(now + u64::from(week))
            .ok()
            .and_then(DateTime::from_unix)
            .and_then(|until| HoldLimits::new(week, until).ok());
        ext.rrvs = true;
        // Advertised only once the session is under TLS.
        ext.requiretls = tls.is_some();
        if let Some(max) = args.max_size {
            config.limits.message_size = Some(max);
        }
        // The drivers read only once the events are drained, when the
        // session holds at most one incomplete line: one more read on top
        // of the longest line must fit, or a fast client would get 421.
        let limits = &mut config.limits;
        let longest = limits
            .command_line
            .max(limits.auth_line)
            .max(limits.data_line);
        limits.max_buffered = limits.max_buffered.max(READ_BUFFER + longest);
        Ok(Arc::new(Shared {
            config: Arc::new(config),
            maildir,
            users: args.users.clone(),
            tls,
            sessions: AtomicU64::new(0),
            auth_failures: Mutex::new(HashMap::new()),
        }))
    }

    /// A new session with its own CRAM-MD5 nonce, and its number.
    pub fn new_session(&self) -> (Server, u64) {
        let sid = self.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let mut session = Server::new(Arc::clone(&self.config));
        session.set_nonce(maildir::random_u64());
        (session, sid)
    }

    /// Whether AUTH from `ip` is refused for now (too many recent
    /// failures).
    pub fn auth_throttled(&self, ip: IpAddr) -> bool {
        let table = self.auth_failures.lock().unwrap_or_else(|e| e.into_inner());
        table.get(&ip).is_some_and(|&(n, since)| {
            n >= AUTH_FAILURES_ALLOWED && since.elapsed() < AUTH_FAILURE_WINDOW
        })
    }

    /// Counts an AUTH failure from `ip`.
    pub fn auth_failed(&self, ip: IpAddr) {
        let mut table = self.auth_failures.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= AUTH_FAILURE_TABLE && !table.contains_key(&ip) {
            table.retain(|_, (_, since)| since.elapsed() < AUTH_FAILURE_WINDOW);
            if table.len() >= AUTH_FAILURE_TABLE {
                // Still full of fresh entries: forget them rather than grow.
                table.clear();
            }
        }
        let entry = table.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= AUTH_FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// One line describing what is offered, for the startup log.
    pub fn describe(&self) -> String {
        format!(
            "{} as {} into {}{}{}",
            if self.config.lmtp { "LMTP" } else { "SMTP" },
            self.config.hostname(),
            self.maildir.root().display(),
            if self.tls.is_some() { ", STARTTLS" } else { "" },
            if self.users.is_empty() {
                String::new()
            } else {
                format!(", AUTH for {} user(s)", self.users.len())
            }
        )
    }
}

/// The system's host name, or `localhost`.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| ServerConfig::new(s.as_str()).is_ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Loads a certificate chain and key (PEM) into a rustls configuration
/// using the ring provider.
fn load_tls(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("--tls-cert {}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    Ok(Arc::new(config))
}

/// Open sessions, in all and per client address, for the connection
/// limits: a flood from one address cannot take every slot, and no flood
/// can exhaust file descriptors.
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; dropping it frees its slot.
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` sessions are open.
    Total,
    /// `--max-connections-per-ip` sessions are open from this address.
    PerIp,
}

impl ConnectionLimits {
    /// Limits of `max_total` sessions and `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes a slot for a connection from `ip`, if one is free.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.max_total {
            return Err(Refusal::Total);
        }
        let per_ip = open.1.entry(ip).or_insert(0);
        if *per_ip >= self.max_per_ip {
            return Err(Refusal::PerIp);
        }
        *per_ip += 1;
        open.0 += 1;
        Ok(Slot {
            limits: Arc::clone(self),
            ip,
        })
    }
}

impl Refusal {
    /// The `421 4.7.0` line sent instead of a greeting (RFC 5321 §3.1
    /// allows a 421 there).
    pub fn reply_line(self, hostname: &str) -> String {
        let text = match self {
            Refusal::Total => "Too many connections",
            Refusal::PerIp => "Too many connections from your address",
        };
        format!("421 4.7.0 {hostname} {text}, try again later\r\n")
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}
