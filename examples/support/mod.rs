//! What `examples/server.rs` (tokio) and `examples/server_blocking.rs`
//! (threads) share: the command line, the configuration built from it, and
//! what every session shares. The policy is in `session.rs`, Maildir
//! delivery in `maildir.rs`, the queue for ETRN and ATRN in `queue.rs`. Included by both with
//! `#[path = "support/mod.rs"] mod support;`.

pub mod cli;
pub mod handlers;
pub mod maildir;
pub mod queue;
pub mod session;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use esmtp::ehlo::Mechanism;
use esmtp::ext::future_release::HoldLimits;
use esmtp::runtime::server::{AuthThrottle, RuntimeConfig};
use esmtp::runtime::tls;
use esmtp::server::ServerConfig;
use esmtp::values::DateTime;

use cli::Checked;
use maildir::Store;
use queue::Queue;

/// A development mail server: accepts mail for any address and stores
/// each message in a Maildir, or drops it (--discard). It prints
/// `listening on ADDR:PORT` on stdout and logs sessions on stderr.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "server",
    args_override_self = true,
    after_help = "ESMTP_EXAMPLE_DELIVERY=inline|thread overrides where messages are made \
                  durable (chosen by timing an fsync at start-up). The tokio server stops on \
                  Ctrl-C or SIGTERM: it sends 421 to open sessions and exits."
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:2525", value_parser = Checked(address))]
    pub listen: SocketAddr,
    /// Also listen here for implicit TLS (RFC 8314); needs --tls-cert and --tls-key
    #[arg(long, value_name = "ADDR:PORT", requires = "tls_cert", value_parser = Checked(address))]
    pub tls_listen: Option<SocketAddr>,
    /// Maildir to deliver into; tmp/, new/ and cur/ are created
    #[arg(long, value_name = "DIR", default_value = "./maildir")]
    pub maildir: PathBuf,
    /// Accept each message and drop it once its content is read, as Postfix's smtp-sink does: nothing is written, nothing logged per message (a load-test target)
    #[arg(long)]
    pub discard: bool,
    /// Name in the greeting, the EHLO reply and Received: (a domain or an address literal) [default: this machine's host name]
    #[arg(long, value_name = "NAME", value_parser = Checked(hostname))]
    pub hostname: Option<String>,
    /// Certificate chain (PEM); with --tls-key, offers STARTTLS (RFC 3207)
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key for --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Offer AUTH PLAIN, LOGIN and CRAM-MD5 and accept this user; repeatable. With a certificate AUTH is offered only under TLS; without one, in the clear only on a loopback listener
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = Checked(cli::user))]
    pub users: Vec<(String, String)>,
    /// Offer AUTH and accept any credentials, logging the user name (to test submission clients); offered as for --user
    #[arg(long)]
    pub auth_any: bool,
    /// Offer AUTH without TLS on a non-loopback listener too
    #[arg(long)]
    pub allow_plaintext_auth: bool,
    /// Largest message accepted, advertised as SIZE [default: 35 MiB]
    #[arg(long, value_name = "BYTES", value_parser = Checked(|v| v.parse::<u64>().map_err(|e| format!("{v}: {e}"))))]
    pub max_size: Option<u64>,
    /// Speak LMTP (RFC 2033) instead of SMTP: LHLO, one reply per recipient
    #[arg(long)]
    pub lmtp: bool,
    /// Sessions at once; one more gets 421 4.7.0 instead of a greeting
    #[arg(long, value_name = "N", default_value = "2000", value_parser = Checked(positive))]
    pub max_connections: usize,
    /// Sessions at once from one client address (as Postfix); more get 421 4.7.0
    #[arg(long, value_name = "N", default_value = "50", value_parser = Checked(positive))]
    pub max_connections_per_ip: usize,
    /// 421 4.4.2 and close when no complete command line came for this long (RFC 5321 4.5.3.2.7): a partial line does not count. Also bounds each write to a client that does not read
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = Checked(seconds))]
    pub command_timeout: Duration,
    /// The same while waiting for message content
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = Checked(seconds))]
    pub data_timeout: Duration,
    /// Most time one message's content may take, however steadily it arrives
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = Checked(seconds))]
    pub message_timeout: Duration,
    /// Store each session's transcript (both directions, timestamped, AUTH secrets redacted) as a file per session in DIR
    #[arg(long, value_name = "DIR")]
    pub log_transcript: Option<PathBuf>,
    /// Hold mail for recipients at DOMAIN in a queue (--queue) instead of the Maildir, until ETRN (RFC 1985) or ATRN (RFC 2645) releases it; repeatable. Offers ETRN
    #[arg(long = "hold-domain", value_name = "DOMAIN", conflicts_with_all = ["discard", "lmtp"], value_parser = Checked(queue::domain_name))]
    pub hold_domains: Vec<String>,
    /// Where held mail is queued: a Maildir-like spool per domain
    #[arg(long, value_name = "DIR", default_value = "./queue")]
    pub queue: PathBuf,
    /// Where ETRN for a held DOMAIN delivers its queue (in production, the domain's MX); repeatable. Without one, ETRN for it gets 458
    #[arg(long = "relay", value_name = "DOMAIN=HOST:PORT", requires = "hold_domains", value_parser = Checked(queue::relay))]
    pub relays: Vec<(String, (String, u16))>,
    /// On-Demand Mail Relay (RFC 2645): offer ATRN, with which a client authenticated as a --user takes the mail held for its --odmr-domain domains over the same connection (ODMR is usually on port 366)
    #[arg(long, requires = "hold_domains")]
    pub odmr: bool,
    /// User NAME may retrieve the mail held for DOMAIN with ATRN; repeatable
    #[arg(long = "odmr-domain", value_name = "NAME=DOMAIN", requires = "odmr", value_parser = Checked(queue::odmr_domain))]
    pub odmr_domains: Vec<(String, String)>,
}

fn address(v: &str) -> Result<SocketAddr, String> {
    v.parse().map_err(|e| format!("{v}: {e} (want ADDR:PORT)"))
}

fn hostname(v: &str) -> Result<String, String> {
    ServerConfig::new(v)
        .map(|_| v.to_owned())
        .map_err(|e| format!("{v:?}: {e}"))
}

fn positive(v: &str) -> Result<usize, String> {
    match v.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{v}: want a positive number")),
    }
}

fn seconds(v: &str) -> Result<Duration, String> {
    positive(v).map(|n| Duration::from_secs(n as u64))
}

/// Everything the sessions share.
pub struct Shared {
    pub hostname: String,
    pub lmtp: bool,
    /// AUTH users as (name, password).
    pub users: Vec<(String, String)>,
    /// `--auth-any`.
    pub auth_any: bool,
    /// Where messages go; `None` with `--discard`.
    pub store: Option<Store>,
    /// Where mail for `--hold-domain` goes.
    pub queue: Option<Arc<Queue>>,
    /// `--log-transcript`.
    pub transcripts: Option<PathBuf>,
    /// Five AUTH failures per address per quarter hour, then `454 4.7.0`
    /// unchecked: a password guesser gets five tries, however many
    /// connections it opens.
    pub throttle: AuthThrottle,
}

impl Shared {
    /// For a server that only receives into `store`, as `hostname`
    /// (`send --atrn`).
    #[allow(dead_code)] // not in the servers
    pub fn receiving(hostname: String, store: Store) -> Arc<Shared> {
        Arc::new(Shared {
            hostname,
            lmtp: false,
            users: Vec::new(),
            auth_any: false,
            store: Some(store),
            queue: None,
            transcripts: None,
            throttle: AuthThrottle::new(5, Duration::from_secs(15 * 60)),
        })
    }

    /// Where a message goes: queue `hold`, or the Maildir.
    pub fn store_for(&self, hold: Option<usize>) -> Option<&Store> {
        match (hold, &self.queue) {
            (Some(i), Some(queue)) => Some(queue.store(i)),
            _ => self.store.as_ref(),
        }
    }
}

/// The server, ready to run: the machine's and the runtime's
/// configuration, TLS, what the sessions share, and the listeners.
pub struct Setup {
    pub config: ServerConfig,
    pub runtime: RuntimeConfig,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub shared: Arc<Shared>,
    /// `--listen`, and `--tls-listen` if given.
    pub listeners: (TcpListener, Option<TcpListener>),
}

impl Setup {
    /// Loads the certificate, opens the Maildir (unless `--discard`) and
    /// the transcript directory, binds the listeners and says so: on
    /// stdout `listening on ADDR:PORT` for each, on stderr what is offered.
    pub fn new(args: &Args) -> Result<Setup, String> {
        let hostname = args.hostname.clone().unwrap_or_else(system_hostname);
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = tls::server_config(cert, key, provider);
                Some(config.map_err(|e| format!("--tls-cert/--tls-key: {e}"))?)
            }
            _ => None,
        };
        let config = server_config(args, &hostname, tls.is_some())?;
        let store = match args.discard {
            true => None,
            false => Some(Store::open(&args.maildir, &hostname)?),
        };
        let queue = Queue::open(args, &hostname)?;
        if let Some(dir) = &args.log_transcript {
            let created = maildir::private_dirs().create(dir);
            created.map_err(|e| format!("--log-transcript {}: {e}", dir.display()))?;
        }
        let mut runtime = RuntimeConfig::default();
        runtime.max_connections = args.max_connections;
        runtime.max_connections_per_ip = args.max_connections_per_ip;
        runtime.write_timeout = args.command_timeout;
        // Ctrl-C stops at once: 421 to every session, even one in the
        // middle of a message (not stored); one being stored is answered
        // first, so nothing acknowledged is lost.
        runtime.shutdown_timeout = Duration::ZERO;
        let bind = |addr: SocketAddr, what: &str| -> Result<TcpListener, String> {
            let listener =
                TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            println!(
                "listening on {}{what}",
                listener.local_addr().unwrap_or(addr)
            );
            Ok(listener)
        };
        let plain = bind(args.listen, "")?;
        let implicit = args
            .tls_listen
            .map(|a| bind(a, " (implicit TLS)"))
            .transpose()?;
        let offered = [
            (tls.is_some(), ", STARTTLS".to_owned()),
            (implicit.is_some(), ", implicit TLS".to_owned()),
            (
                !args.users.is_empty(),
                format!(", AUTH for {} user(s)", args.users.len()),
            ),
            (args.auth_any, ", AUTH for anyone".to_owned()),
            (args.discard, ", discarding every message".to_owned()),
            (
                !args.hold_domains.is_empty(),
                format!(", holding {} domain(s)", args.hold_domains.len()),
            ),
            (args.odmr, ", ATRN".to_owned()),
            (!args.discard, format!(" into {}", args.maildir.display())),
        ];
        let offered: String = offered
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, s)| s)
            .collect();
        eprintln!(
            "{} as {hostname}{offered}",
            if args.lmtp { "LMTP" } else { "SMTP" }
        );
        raise_fd_limit();
        let shared = Arc::new(Shared {
            hostname,
            lmtp: args.lmtp,
            users: args.users.clone(),
            auth_any: args.auth_any,
            store,
            queue,
            transcripts: args.log_transcript.clone(),
            throttle: AuthThrottle::new(5, Duration::from_secs(15 * 60)),
        });
        let listeners = (plain, implicit);
        Ok(Setup {
            config,
            runtime,
            tls,
            shared,
            listeners,
        })
    }
}

/// The machine's configuration: every extension it enforces, AUTH as the
/// command line says.
pub fn server_config(args: &Args, hostname: &str, tls: bool) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::new(hostname).map_err(|e| format!("--hostname: {e}"))?;
    if args.lmtp {
        config = config.lmtp();
    }
    // On by default: PIPELINING, 8BITMIME, CHUNKING, BINARYMIME, SMTPUTF8,
    // DSN, ENHANCEDSTATUSCODES, HELP, LIMITS; VRFY and EXPN answer 252.
    let ext = &mut config.extensions;
    if !args.users.is_empty() || args.auth_any {
        ext.auth = vec![Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5];
        // RFC 4954 §4: PLAIN and LOGIN only under TLS when there is TLS.
        // Without a certificate AUTH goes in the clear: only on a loopback
        // listener (a local test) unless --allow-plaintext-auth.
        let clear_ok = args.listen.ip().is_loopback() || args.allow_plaintext_auth;
        ext.auth_requires_tls = tls || !clear_ok;
        if !tls && !clear_ok {
            eprintln!(
                "warning: AUTH is not offered: no --tls-cert, and {} is not loopback \
                 (--allow-plaintext-auth to offer it in the clear)",
                args.listen
            );
        }
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
        .and_then(|until| HoldLimits::new(week, until).ok());
    ext.rrvs = true;
    ext.etrn = !args.hold_domains.is_empty();
    // RFC 2645 §5.1.1: the EHLO reply of an ODMR server includes AUTH
    // and ATRN.
    ext.atrn = args.odmr;
    if args.odmr && ext.auth.is_empty() {
        return Err("--odmr: ATRN needs AUTH (--user or --auth-any)".into());
    }
    // Advertised only once the session is under TLS.
    ext.requiretls = tls;
    if let Some(max) = args.max_size {
        config.limits.message_size = Some(max);
    }
    config.timeouts.command = args.command_timeout;
    config.timeouts.data = args.data_timeout;
    config.timeouts.message = args.message_timeout;
    Ok(config)
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

/// A random 64-bit value from the standard library's per-process hash
/// keys, for unique names.
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Raises the soft limit on open files to the hard limit: each session is
/// a descriptor, and the default soft limit (often 1024) is below
/// `--max-connections`.
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
