//! Code shared by `examples/server.rs` (tokio) and
//! `examples/server_blocking.rs` (std::net threads): the command line, the
//! session policy, Maildir delivery and the trace fields. Included by both
//! with `#[path = "support/mod.rs"] mod support;`.

pub mod args;
pub mod maildir;
pub mod received;
pub mod session;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use esmtp::ehlo::Mechanism;
use esmtp::server::{Server, ServerConfig};
use esmtp::values::DateTime;

use args::Args;
use maildir::Maildir;

/// Size of the buffer each connection reads into. The session's own limit
/// ([`esmtp::server::Limits::max_buffered`], 256 KiB by default) is kept
/// above it plus the longest line (see [`Shared::new`]).
pub const READ_BUFFER: usize = 64 * 1024;

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
        let mut config = ServerConfig::new(hostname);
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
            // TLS; without a certificate (a loopback test) AUTH is offered
            // in the clear.
            ext.auth_requires_tls = tls.is_some();
        }
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
            .map(|until| (week, until));
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
        }))
    }

    /// A new session with its own CRAM-MD5 nonce, and its number.
    pub fn new_session(&self) -> (Server, u64) {
        let sid = self.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let mut session = Server::new(Arc::clone(&self.config));
        session.set_nonce(maildir::random_u64());
        (session, sid)
    }

    /// One line describing what is offered, for the startup log.
    pub fn describe(&self) -> String {
        format!(
            "{} as {} into {}{}{}",
            if self.config.lmtp { "LMTP" } else { "SMTP" },
            self.config.hostname,
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
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
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
