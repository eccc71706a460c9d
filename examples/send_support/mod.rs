//! What `send` and `send_blocking` share: the command line, the session
//! configuration, the TLS configuration, the handling of the session's
//! events and the report. Only the I/O differs between the two drivers.
//!
//! Included by both with `#[path = "send_support/mod.rs"] mod send_support;`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use esmtp::client::{
    AuthConfig, Client, ClientConfig, ClientCredentials, CloseReason, Envelope, Event,
    MessageError, MessageId, MessageOutcome, TlsPolicy,
};
use esmtp::reply::Reply;
use esmtp::values::{ForwardPath, Host, ReversePath};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The usage line printed on a command-line error.
pub const USAGE: &str = "usage: send --server HOST:PORT --from ADDR --to ADDR [--to ADDR]... \
[--starttls | --tls] [--ca PEM | --insecure] [--user NAME:PASSWORD] [--lmtp] [--helo NAME] \
[--no-pipelining] [--no-chunking] [--allow-plaintext-auth] [FILE]";

/// How long connecting and a TLS handshake may take (the session's own
/// timeouts, RFC 5321 §4.5.3.2, cover everything else).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit status when the message was not accepted for every recipient, or
/// the session failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status for a command-line error.
pub const EXIT_USAGE: u8 = 2;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS at all, even when the server offers STARTTLS (no flag).
    None,
    /// STARTTLS is required (RFC 3207): the message is not sent without it
    /// (`--starttls`).
    StartTls,
    /// TLS from the first byte (RFC 8314 §3, `--tls`).
    Implicit,
}

/// Which server certificates are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's CA bundle (`SSL_CERT_FILE`, else the usual paths).
    System,
    /// The certificates in this PEM file (`--ca`): CAs, or the server's
    /// own self-signed certificate, which is then pinned.
    Ca(PathBuf),
    /// Anything (`--insecure`): no certificate check at all.
    Insecure,
}

/// The parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    /// The host part of `--server`, brackets removed from an IPv6 address.
    pub host: String,
    /// The port of `--server`.
    pub port: u16,
    /// `--from`.
    pub from: ReversePath<'static>,
    /// Every `--to`, in order.
    pub to: Vec<ForwardPath<'static>>,
    /// `--starttls` / `--tls`.
    pub tls: TlsMode,
    /// `--ca` / `--insecure`.
    pub trust: Trust,
    /// `--user NAME:PASSWORD`.
    pub user: Option<(String, String)>,
    /// `--allow-plaintext-auth`: authenticate without TLS to a server that
    /// is not on a loopback address (loopback is always allowed).
    pub allow_plaintext_auth: bool,
    /// `--lmtp` (RFC 2033).
    pub lmtp: bool,
    /// `--helo` (default `localhost`).
    pub helo: Host<'static>,
    /// Not `--no-pipelining`.
    pub pipelining: bool,
    /// Not `--no-chunking`.
    pub chunking: bool,
    /// The message file; `None` reads standard input.
    pub file: Option<PathBuf>,
}

/// Whether `host` (from `--server`) names this machine: `localhost`, or
/// an address in 127.0.0.0/8 or `::1`.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses `--from`: `<>` or an empty string is the null reverse path; a
/// mailbox may come with or without angle brackets.
fn parse_from(s: &str) -> Result<ReversePath<'static>, String> {
    if s.is_empty() || s == "<>" {
        return Ok(ReversePath::Null);
    }
    let bracketed = if s.starts_with('<') {
        s.to_owned()
    } else {
        format!("<{s}>")
    };
    ReversePath::parse(&bracketed)
        .map(ReversePath::into_owned)
        .map_err(|e| format!("bad --from {s:?}: {e}"))
}

/// Parses `--to`: a mailbox with or without brackets, or `Postmaster`.
fn parse_to(s: &str) -> Result<ForwardPath<'static>, String> {
    let bracketed = if s.starts_with('<') {
        s.to_owned()
    } else {
        format!("<{s}>")
    };
    ForwardPath::parse(&bracketed)
        .map(ForwardPath::into_owned)
        .map_err(|e| format!("bad --to {s:?}: {e}"))
}

/// Splits `HOST:PORT`, `[V6]:PORT`.
fn parse_server(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("--server {s:?} is not HOST:PORT"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("bad port in --server {s:?}"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(format!("no host in --server {s:?}"));
    }
    Ok((host.to_owned(), port))
}

impl Args {
    /// Parses the command line (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut server = None;
        let mut from = None;
        let mut to = Vec::new();
        let mut tls = TlsMode::None;
        let mut trust = Trust::System;
        let mut user = None;
        let mut lmtp = false;
        let mut helo = None;
        let mut pipelining = true;
        let mut chunking = true;
        let mut allow_plaintext_auth = false;
        let mut file = None;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--server" => server = Some(parse_server(&value("--server")?)?),
                "--from" => from = Some(parse_from(&value("--from")?)?),
                "--to" => to.push(parse_to(&value("--to")?)?),
                "--starttls" | "--tls" => {
                    let mode = if arg == "--tls" {
                        TlsMode::Implicit
                    } else {
                        TlsMode::StartTls
                    };
                    if tls != TlsMode::None && tls != mode {
                        return Err("--starttls and --tls exclude each other".into());
                    }
                    tls = mode;
                }
                "--ca" | "--insecure" => {
                    let new = if arg == "--ca" {
                        Trust::Ca(PathBuf::from(value("--ca")?))
                    } else {
                        Trust::Insecure
                    };
                    if trust != Trust::System {
                        return Err("--ca and --insecure exclude each other".into());
                    }
                    trust = new;
                }
                "--user" => {
                    let v = value("--user")?;
                    let (name, password) = v.split_once(':').ok_or("--user needs NAME:PASSWORD")?;
                    user = Some((name.to_owned(), password.to_owned()));
                }
                "--lmtp" => lmtp = true,
                "--helo" => {
                    let v = value("--helo")?;
                    let host = Host::parse(&v)
                        .map(Host::into_owned)
                        .map_err(|e| format!("bad --helo {v:?}: {e}"))?;
                    helo = Some(host);
                }
                "--no-pipelining" => pipelining = false,
                "--no-chunking" => chunking = false,
                "--allow-plaintext-auth" => allow_plaintext_auth = true,
                "--" => {
                    file = it.next().map(PathBuf::from);
                    if it.next().is_some() {
                        return Err("only one FILE".into());
                    }
                }
                s if s.starts_with("--") => return Err(format!("unknown option {s}")),
                _ if file.is_some() => return Err("only one FILE".into()),
                _ => file = Some(PathBuf::from(arg)),
            }
        }
        let (host, port) = server.ok_or("--server is required")?;
        let from = from.ok_or("--from is required")?;
        if to.is_empty() {
            return Err("at least one --to is required".into());
        }
        let helo = match helo {
            Some(h) => h,
            None => Host::parse("localhost")
                .map(Host::into_owned)
                .map_err(|e| e.to_string())?,
        };
        Ok(Args {
            host,
            port,
            from,
            to,
            tls,
            trust,
            user,
            allow_plaintext_auth,
            lmtp,
            helo,
            pipelining,
            chunking,
            file,
        })
    }

    /// The session configuration. Without `--starttls` the policy is
    /// [`TlsPolicy::None`]: a server's STARTTLS offer is ignored, so what
    /// the command line says is exactly what happens on the wire.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(self.helo.clone());
        config.lmtp = self.lmtp;
        config.tls = match self.tls {
            TlsMode::StartTls => TlsPolicy::Required,
            // Implicit TLS: the session is told with `set_implicit_tls`.
            TlsMode::None | TlsMode::Implicit => TlsPolicy::None,
        };
        config.pipelining = self.pipelining;
        config.chunking = self.chunking;
        config.auth = self.user.as_ref().map(|(name, password)| {
            AuthConfig::new(ClientCredentials::password(name.clone(), password.clone()))
        });
        // A password never crosses the network in clear unless asked for;
        // on loopback there is no network to cross.
        config.allow_plaintext_auth = self.allow_plaintext_auth || is_loopback(&self.host);
        config
    }

    /// The envelope.
    pub fn envelope(&self) -> Envelope {
        self.to
            .iter()
            .cloned()
            .fold(Envelope::new(self.from.clone()), Envelope::to)
    }

    /// The name the server certificate must be valid for.
    pub fn server_name(&self) -> Result<ServerName<'static>, String> {
        ServerName::try_from(self.host.clone()).map_err(|e| {
            format!(
                "{:?} cannot be checked against a certificate: {e}",
                self.host
            )
        })
    }
}

/// Reads the message: FILE, or standard input when none is given.
pub fn read_message(args: &Args) -> Result<Vec<u8>, String> {
    use std::io::Read;
    match &args.file {
        Some(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(buf)
        }
    }
}

/// The command line, or the exit status after printing the error.
pub fn args_or_exit() -> Result<Args, ExitCode> {
    Args::parse(std::env::args().skip(1)).map_err(|e| {
        eprintln!("send: {e}\n{USAGE}");
        ExitCode::from(EXIT_USAGE)
    })
}

// ---- TLS ----

/// The crypto provider: ring only (aws-lc needs cmake to build).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Places where the system CA bundle usually lives.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn load_pem(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

/// The TLS client configuration for the trust the command line asks for.
pub fn tls_config(args: &Args) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match &args.trust {
        Trust::Insecure => Arc::new(AcceptAnyCert { provider }),
        Trust::Ca(path) => Arc::new(PinningVerifier::new(load_pem(path)?, provider)?),
        Trust::System => {
            let path = std::env::var_os("SSL_CERT_FILE")
                .map(PathBuf::from)
                .or_else(|| {
                    SYSTEM_BUNDLES
                        .iter()
                        .map(PathBuf::from)
                        .find(|p| p.exists())
                })
                .ok_or("no system CA bundle found: use --ca PEM")?;
            Arc::new(PinningVerifier::new(load_pem(&path)?, provider)?)
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks the server's certificate chain against the trusted
/// certificates (name included), or accepts an end-entity certificate
/// that is itself one of them: a self-signed server certificate given
/// with `--ca` is pinned, byte for byte, which no CA can forge. Handshake
/// signatures are always checked.
#[derive(Debug)]
struct PinningVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl PinningVerifier {
    fn new(
        certs: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        // A certificate that cannot be a trust anchor may still be pinned.
        let _ = roots.add_parsable_certificates(certs.iter().cloned());
        let webpki = if roots.is_empty() {
            None
        } else {
            let roots = Arc::new(roots);
            Some(
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| format!("TLS set-up: {e}"))?,
            )
        };
        Ok(Self {
            webpki,
            pinned: certs,
            provider,
        })
    }
}

/// Both verifiers check the handshake signatures with the crypto
/// provider's algorithms; only the certificate decision differs.
macro_rules! handshake_signatures_checked_by_provider {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(w) => {
                w.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    handshake_signatures_checked_by_provider!();
}

/// `--insecure`: any certificate, any name. The handshake signatures are
/// still checked, so the peer holds the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures_checked_by_provider!();
}

// ---- the session ----

/// What the driver must do after [`Session::handle_events`].
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing special: transmit, then read or wait.
    Continue,
    /// The server accepted STARTTLS: handshake now, then call
    /// [`Client::tls_established`] or [`Client::tls_failed`].
    StartTls,
}

/// One run of `send`: the client session and what it reported.
pub struct Session {
    /// The sans-IO client.
    pub client: Client,
    id: Option<MessageId>,
    outcome: Option<MessageOutcome>,
    auth_failure: Option<String>,
    closed: Option<CloseReason>,
    /// A local failure (I/O, TLS) that ended the session.
    io_error: Option<String>,
    lmtp: bool,
}

impl Session {
    /// A session with the message queued and QUIT after it.
    pub fn new(args: &Args, content: Vec<u8>) -> Result<Session, String> {
        let mut client = Client::new(args.client_config());
        if args.tls == TlsMode::Implicit {
            client.set_implicit_tls();
        }
        let id = client
            .submit(args.envelope(), content)
            .map_err(|e| e.to_string())?;
        client.quit();
        Ok(Session {
            client,
            id: Some(id),
            outcome: None,
            auth_failure: None,
            closed: None,
            io_error: None,
            lmtp: args.lmtp,
        })
    }

    /// Takes the session's events; stops at one that needs the driver.
    pub fn handle_events(&mut self) -> Step {
        while let Some(event) = self.client.poll_event() {
            match event {
                Event::StartTls => return Step::StartTls,
                Event::Message(outcome) if Some(outcome.id) == self.id => {
                    self.outcome = Some(outcome);
                }
                Event::AuthFailed { error, reply, .. } => {
                    self.auth_failure = Some(match reply {
                        Some(r) => format!("authentication failed: {}", one_line(&r)),
                        None => format!("authentication failed: {error:?}"),
                    });
                }
                Event::Closed { reason } => self.closed = Some(reason),
                _ => {}
            }
        }
        Step::Continue
    }

    /// Records a local failure (connection lost, TLS handshake failed):
    /// the session ends as if the server had closed.
    pub fn io_failed(&mut self, what: String) {
        if self.io_error.is_none() {
            self.io_error = Some(what);
        }
        self.client.peer_closed();
        let _ = self.handle_events();
    }

    /// Prints the result and returns the exit status: 0 only when every
    /// recipient accepted the message.
    pub fn report(self, args: &Args) -> ExitCode {
        let mut out = String::new();
        let mut err = String::new();
        let delivered = match &self.outcome {
            None => {
                let _ = writeln!(err, "send: the session ended without a result");
                false
            }
            Some(outcome) => {
                self.describe(args, outcome, &mut out, &mut err);
                outcome.all_delivered()
            }
        };
        if let Some(e) = &self.io_error {
            let _ = writeln!(err, "send: {e}");
        }
        print!("{out}");
        if delivered {
            ExitCode::SUCCESS
        } else {
            eprint!("{err}");
            ExitCode::from(EXIT_FAILED)
        }
    }

    fn describe(&self, args: &Args, outcome: &MessageOutcome, out: &mut String, err: &mut String) {
        for (to, r) in args.to.iter().zip(&outcome.recipients) {
            let line = match &r.rcpt {
                Some(reply) => format!("{to}: {}", one_line(reply)),
                None => format!("{to}: not sent"),
            };
            let _ = writeln!(out, "{line}");
            if !r.rcpt.as_ref().is_some_and(|r| r.code().is_positive()) && r.rcpt.is_some() {
                let _ = writeln!(err, "send: {line}");
            }
        }
        // The content replies: one per transaction in SMTP, one per
        // accepted recipient in LMTP (RFC 2033 §4.2).
        let mut last: Option<String> = None;
        for (to, r) in args.to.iter().zip(&outcome.recipients) {
            let Some(reply) = &r.content else { continue };
            let text = one_line(reply);
            let line = if self.lmtp {
                format!("message {to}: {text}")
            } else if last.as_deref() == Some(text.as_str()) {
                continue;
            } else {
                last = Some(text.clone());
                format!("message: {text}")
            };
            let _ = writeln!(out, "{line}");
            if !reply.code().is_positive() {
                let _ = writeln!(err, "send: {line}");
            }
        }
        for reply in outcome.mail.iter().filter(|r| !r.code().is_positive()) {
            let _ = writeln!(err, "send: MAIL refused: {}", one_line(reply));
        }
        if let Some(e) = &self.auth_failure {
            let _ = writeln!(err, "send: {e}");
        }
        if let Some(e) = &outcome.error {
            let _ = writeln!(err, "send: {}", self.local_reason(e));
        }
    }

    fn local_reason(&self, e: &MessageError) -> String {
        match e {
            MessageError::TooLarge { size, limit } => format!(
                "message too large for the server's SIZE {limit} ({size} octets); nothing sent"
            ),
            MessageError::SmtpUtf8Unsupported => "an address needs SMTPUTF8 (RFC 6531), which \
                 the server does not offer; nothing sent"
                .to_owned(),
            MessageError::SessionEnded(Some(reply)) => {
                format!("the server ended the session: {}", one_line(reply))
            }
            MessageError::SessionEnded(None) => match self.closed {
                Some(CloseReason::PeerClosed) => {
                    "the server closed the connection before the message was done".to_owned()
                }
                Some(CloseReason::Desynchronised) => {
                    "the server's replies could not be understood".to_owned()
                }
                Some(CloseReason::TlsFailed) => "the TLS handshake failed".to_owned(),
                _ => "the session ended before the message was done".to_owned(),
            },
            MessageError::TlsRequired if self.closed == Some(CloseReason::TlsFailed) => {
                "the TLS handshake failed; nothing sent".to_owned()
            }
            MessageError::TlsRequired => {
                "STARTTLS is required but the server does not offer it or refused it".to_owned()
            }
            other => format!("{other}; nothing more sent"),
        }
    }
}

/// A reply on one line: code, enhanced code, the text lines joined by a
/// space, control characters escaped.
pub fn one_line(reply: &Reply<'_>) -> String {
    let mut s = reply.code().get().to_string();
    if let Some(e) = reply.enhanced() {
        let _ = write!(s, " {e}");
    }
    for line in reply.lines() {
        s.push(' ');
        for c in String::from_utf8_lossy(line).chars() {
            if c.is_control() {
                s.extend(c.escape_default());
            } else {
                s.push(c);
            }
        }
    }
    s
}
