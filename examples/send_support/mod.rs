//! What `send` (tokio) and `send_blocking` share: the command line, the
//! endpoint for `esmtp::runtime::client` built from it (TLS, trust,
//! credentials), the report, and for `--atrn` the ODMR customer's side,
//! served by the example server's policy (`examples/support/`). Included
//! by both with `#[path = "send_support/mod.rs"] mod send_support;`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use esmtp::client::{
    ClientConfig, ClientCredentials, CloseReason, Envelope, MessageError, MessageOutcome,
};
use esmtp::reply::Reply;
use esmtp::runtime::client::{Endpoint, Error, Reconnect, TlsError};
use esmtp::runtime::server::ConnectionInfo;
use esmtp::runtime::tls::{self, TlsSetupError, Trust};
use esmtp::server::ServerConfig;
use esmtp::values::{Domain, ForwardPath, Host, ReversePath};

use crate::support::cli::{self, Checked};
use crate::support::maildir::Store;
use crate::support::session::Mailbox;
use crate::support::Shared;

/// Exit status when the message was not accepted for every recipient.
const EXIT_FAILED: u8 = 1;

/// Sends one message over SMTP or LMTP and prints the server's replies:
/// one line per recipient (`<addr>: 250 2.1.5 …`, or `not sent`), then the
/// reply to the content (`message: 250 …`; in LMTP one per recipient,
/// `message <addr>: …`).
#[derive(Parser, Debug)]
#[command(
    name = "send",
    args_override_self = true,
    after_help = "Exit status: 0 when every recipient accepted the message; 1 otherwise, \
                  with the reasons on standard error; 2 for a command-line error."
)]
pub struct Args {
    /// The server (an IPv6 address in brackets: [::1]:25)
    #[arg(long, value_name = "HOST:PORT", value_parser = Checked(server))]
    pub server: (String, u16),
    /// The envelope sender; <> or an empty string for the null reverse path
    #[arg(long, value_name = "ADDR", required_unless_present = "atrn", value_parser = Checked(from))]
    pub from: Option<ReversePath<'static>>,
    /// A recipient (angle brackets optional), or Postmaster; repeatable
    #[arg(long, value_name = "ADDR", required_unless_present = "atrn", value_parser = Checked(to))]
    pub to: Vec<ForwardPath<'static>>,
    /// Require STARTTLS (RFC 3207): nothing is sent without it. Without --starttls or --tls no TLS is used, even when offered
    #[arg(long, conflicts_with = "tls")]
    pub starttls: bool,
    /// TLS from the first octet (RFC 8314)
    #[arg(long)]
    pub tls: bool,
    /// Trust the certificates in this file (CAs, or the server's own self-signed certificate, pinned) rather than the system's CA bundle
    #[arg(long, value_name = "PEM", conflicts_with = "insecure")]
    pub ca: Option<PathBuf>,
    /// Trust any certificate (the handshake's signatures are still checked)
    #[arg(long)]
    pub insecure: bool,
    /// Authenticate (RFC 4954) with the strongest mechanism both sides allow; without TLS only to a loopback server (localhost, 127.0.0.0/8, ::1)
    #[arg(long, value_name = "NAME:PASSWORD", value_parser = Checked(cli::user))]
    pub user: Option<(String, String)>,
    /// Allow --user without TLS to a server that is not on loopback
    #[arg(long)]
    pub allow_plaintext_auth: bool,
    /// Speak LMTP (RFC 2033)
    #[arg(long)]
    pub lmtp: bool,
    /// The name given in EHLO (LHLO)
    #[arg(long, value_name = "NAME", default_value = "localhost", value_parser = Checked(helo))]
    pub helo: Host<'static>,
    /// Do not pipeline commands (RFC 2920) even when offered
    #[arg(long)]
    pub no_pipelining: bool,
    /// Do not use BDAT (RFC 3030) even when CHUNKING is offered
    #[arg(long)]
    pub no_chunking: bool,
    /// The message, as bytes: line ends become CRLF, dots are stuffed [default: standard input]
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Instead of sending, act as an On-Demand Mail Relay client (RFC 2645): authenticate with --user, ask with ATRN for the mail held for these domains (comma-separated; none: every domain the user may retrieve), and receive it over the same connection into --maildir
    #[arg(long, value_name = "DOMAIN,...", num_args = 0..=1, default_missing_value = "", requires = "user", conflicts_with_all = ["from", "to", "file", "lmtp"], value_parser = Checked(domains))]
    pub atrn: Option<Domains>,
    /// With --atrn: the Maildir the mail received goes into
    #[arg(long, value_name = "DIR", default_value = "./maildir")]
    pub maildir: PathBuf,
}

/// `HOST:PORT` or `[V6]:PORT`.
fn server(v: &str) -> Result<(String, u16), String> {
    Endpoint::parse_address(v).map_err(|e| e.to_string())
}

fn from(v: &str) -> Result<ReversePath<'static>, String> {
    ReversePath::parse_address(v).map_err(|e| format!("{v:?}: {e}"))
}

fn to(v: &str) -> Result<ForwardPath<'static>, String> {
    ForwardPath::parse_address(v).map_err(|e| format!("{v:?}: {e}"))
}

/// The domains of `--atrn`.
#[derive(Debug, Clone)]
pub struct Domains(pub Vec<Domain<'static>>);

fn domains(v: &str) -> Result<Domains, String> {
    let each = v.split(',').filter(|d| !d.is_empty());
    let parse = |d: &str| Domain::parse(d).map(Domain::into_owned);
    let list = each.map(|d| parse(d).map_err(|e| format!("{d:?}: {e}")));
    list.collect::<Result<_, _>>().map(Domains)
}

fn helo(v: &str) -> Result<Host<'static>, String> {
    Host::parse(v)
        .map(Host::into_owned)
        .map_err(|e| format!("{v:?}: {e}"))
}

/// The endpoint and the message, or why not.
pub fn prepare(args: &Args) -> Result<(Endpoint, Vec<u8>), String> {
    let message = match &args.file {
        Some(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(buf)
        }
    }?;
    Ok((endpoint(args)?, message))
}

/// The endpoint: TLS, trust and credentials as the command line says.
pub fn endpoint(args: &Args) -> Result<Endpoint, String> {
    let (host, port) = &args.server;
    let mut config = ClientConfig::new(args.helo.clone());
    config.lmtp = args.lmtp;
    config.pipelining = !args.no_pipelining;
    config.chunking = !args.no_chunking;
    // A password never crosses the network in clear unless asked for.
    config.allow_plaintext_auth = args.allow_plaintext_auth;
    // One attempt: what the command line says is what happens on the wire.
    let endpoint = Endpoint::new(host.clone(), *port, config).reconnect(Reconnect::never());
    let mut endpoint = endpoint.allow_plaintext_auth_on_loopback();
    if args.starttls {
        endpoint = endpoint.starttls(tls_config(args)?);
    } else if args.tls {
        endpoint = endpoint.implicit_tls(tls_config(args)?);
    }
    if let Some((name, password)) = &args.user {
        endpoint =
            endpoint.credentials(ClientCredentials::password(name.clone(), password.clone()));
    }
    Ok(endpoint)
}

/// The envelope from `--from` and every `--to`.
pub fn envelope(args: &Args) -> Envelope {
    let envelope = Envelope::new(args.from.clone().unwrap_or(ReversePath::Null));
    args.to.iter().cloned().fold(envelope, Envelope::to)
}

/// A failure before anything could be sent: every recipient `not sent`.
pub fn failed(args: &Args, why: &str) -> ExitCode {
    for to in &args.to {
        println!("{to}: not sent");
    }
    eprintln!("send: {why}");
    ExitCode::from(EXIT_FAILED)
}

/// Prints the replies and returns the exit status: 0 only when every
/// recipient accepted the message.
pub fn report(args: &Args, result: Result<MessageOutcome, Error>) -> ExitCode {
    let (outcome, closed) = match result {
        Ok(outcome) => (outcome, None),
        Err(Error::Rejected(outcome)) => (*outcome, None),
        Err(Error::Interrupted(i)) => (i.outcome, i.reason),
        Err(e) => return failed(args, &setup_failure(args, &e)),
    };
    let (mut out, mut err) = (String::new(), String::new());
    for (to, r) in args.to.iter().zip(&outcome.recipients) {
        let line = match &r.rcpt {
            Some(reply) => format!("{to}: {}", one_line(reply)),
            None => format!("{to}: not sent"),
        };
        if r.rcpt.as_ref().is_some_and(|r| !r.code().is_positive()) {
            let _ = writeln!(err, "send: {line}");
        }
        let _ = writeln!(out, "{line}");
    }
    // The content replies: one per transaction in SMTP, one per accepted
    // recipient in LMTP (RFC 2033 §4.2).
    let mut last = None;
    for (to, r) in args.to.iter().zip(&outcome.recipients) {
        let Some(reply) = &r.content else { continue };
        let text = one_line(reply);
        let line = match args.lmtp {
            true => format!("message {to}: {text}"),
            false if last.as_ref() == Some(&text) => continue,
            false => format!("message: {text}"),
        };
        last = Some(text);
        if !reply.code().is_positive() {
            let _ = writeln!(err, "send: {line}");
        }
        let _ = writeln!(out, "{line}");
    }
    for reply in outcome.mail.iter().filter(|r| !r.code().is_positive()) {
        let _ = writeln!(err, "send: MAIL refused: {}", one_line(reply));
    }
    if let Some(e) = &outcome.error {
        let _ = writeln!(err, "send: {}", local_reason(e, closed));
    }
    print!("{out}");
    if outcome.all_delivered() {
        return ExitCode::SUCCESS;
    }
    eprint!("{err}");
    ExitCode::from(EXIT_FAILED)
}

/// `--atrn`, the customer's side of ODMR (RFC 2645): once ATRN reversed
/// the roles, the connection is served by the example server's policy
/// into `--maildir`, as `--helo`.
pub struct Odmr {
    pub config: ServerConfig,
    shared: Arc<Shared>,
    new: PathBuf,
    before: usize,
}

/// The endpoint, the Maildir opened and the server's configuration, or
/// why not.
pub fn odmr(args: &Args) -> Result<(Endpoint, Odmr), String> {
    let endpoint = endpoint(args)?;
    let name = args.helo.to_string();
    let config = ServerConfig::new(name.as_str()).map_err(|e| format!("--helo: {e}"))?;
    let store = Store::open(&args.maildir, &name)?;
    let new = args.maildir.join("new");
    let before = count(&new);
    let shared = Shared::receiving(name, store);
    let odmr = Odmr {
        config,
        shared,
        new,
        before,
    };
    Ok((endpoint, odmr))
}

fn count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

impl Odmr {
    /// A session per connection: the example server's, as `wrap`s it.
    pub fn sessions<S>(&self, wrap: fn(Mailbox) -> S) -> impl Fn(&ConnectionInfo) -> S {
        let shared = Arc::clone(&self.shared);
        move |conn| wrap(Mailbox::new(&shared, conn))
    }

    /// Says how many messages arrived (exit status 0), or why none could
    /// (1): ATRN refused (RFC 2645 §5.2.1: 450, 451, 453, 530) or a
    /// failure.
    pub fn report(&self, args: &Args, result: Result<std::io::Result<()>, Error>) -> ExitCode {
        let why = match result {
            Ok(Ok(())) => {
                let n = count(&self.new).saturating_sub(self.before);
                println!("received {n} message(s) into {}", args.maildir.display());
                return ExitCode::SUCCESS;
            }
            Ok(Err(e)) => format!("the reversed session failed: {e}"),
            Err(Error::Refused(reply)) => format!("ATRN refused: {}", one_line(&reply)),
            Err(e) => setup_failure(args, &e),
        };
        eprintln!("send: {why}");
        ExitCode::from(EXIT_FAILED)
    }
}

/// Why the connection could not be set up.
fn setup_failure(args: &Args, e: &Error) -> String {
    match e {
        Error::Tls(TlsError::Handshake(e)) => {
            format!("TLS handshake with {} failed: {e}", args.server.0)
        }
        Error::Auth {
            reply: Some(reply), ..
        } => format!("authentication failed: {}", one_line(reply)),
        Error::Auth { error, .. } => format!("authentication failed: {error}"),
        Error::Message(e) => local_reason(e, None),
        Error::Protocol {
            reply: Some(reply), ..
        } => {
            format!("the server ended the session: {}", one_line(reply))
        }
        other => other.to_string(),
    }
}

fn local_reason(e: &MessageError, closed: Option<CloseReason>) -> String {
    match e {
        MessageError::TooLarge { size, limit } => {
            format!("message too large for the server's SIZE {limit} ({size} octets); nothing sent")
        }
        MessageError::SmtpUtf8Unsupported => "an address needs SMTPUTF8 (RFC 6531), which the \
                                              server does not offer; nothing sent"
            .to_owned(),
        MessageError::SessionEnded(Some(reply)) => {
            format!("the server ended the session: {}", one_line(reply))
        }
        MessageError::SessionEnded(None) => match closed {
            Some(CloseReason::PeerClosed) | None => {
                "the server closed the connection before the message was done".to_owned()
            }
            Some(other) => format!("the session ended before the message was done: {other}"),
        },
        other => format!("{other}; nothing more sent"),
    }
}

/// A reply on one line: code, enhanced code, the text lines joined by a
/// space, control characters escaped.
fn one_line(reply: &Reply<'_>) -> String {
    let mut s = reply.code().get().to_string();
    if let Some(e) = reply.enhanced() {
        let _ = write!(s, " {e}");
    }
    for line in reply.lines() {
        s.push(' ');
        for c in String::from_utf8_lossy(line).chars() {
            match c.is_control() {
                true => s.extend(c.escape_default()),
                false => s.push(c),
            }
        }
    }
    s
}

/// The TLS client configuration (ring provider) for the trust asked for.
fn tls_config(args: &Args) -> Result<Arc<rustls::ClientConfig>, String> {
    let trust = match (&args.ca, args.insecure) {
        (Some(path), _) => Trust::Certificates(path.clone()),
        (None, true) => Trust::Any,
        (None, false) => Trust::System,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    tls::client_config(&trust, provider).map_err(|e| match e {
        TlsSetupError::NoSystemBundle => format!("{e}: use --ca PEM"),
        e => format!("TLS set-up: {e}"),
    })
}
