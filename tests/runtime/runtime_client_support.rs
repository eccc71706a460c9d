//! An in-test SMTP/LMTP server for the client runtime's tests: this
//! crate's server machine driven by a small hand loop on a tokio listener
//! (loopback only), with faults on demand — a `421` after so many
//! messages, a connection dropped between messages or after the content,
//! refused recipients — and a record of what it delivered and saw.
//!
//! It does not use the server runtime layer, which is written apart.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esmtp::ehlo::Mechanism;
use esmtp::reply::Reply;
use esmtp::server::{Event, Server, ServerConfig};
use esmtp::values::ReplyCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How long any test waits for anything.
pub const WAIT: Duration = Duration::from_secs(20);

/// The client's session configuration.
pub fn config() -> esmtp::client::ClientConfig {
    let host = esmtp::values::Domain::parse("client.test.example").unwrap();
    esmtp::client::ClientConfig::new(host.into_owned())
}

/// An envelope from `sender@test.example` to `to`.
pub fn envelope(to: &[&str]) -> esmtp::client::Envelope {
    let mailbox = |s: &str| esmtp::values::Mailbox::parse(s).unwrap().into_owned();
    to.iter().fold(
        esmtp::client::Envelope::new(mailbox("sender@test.example")),
        |e, t| e.to(mailbox(t)),
    )
}

/// A message whose content names it, so that a server's record can be
/// checked for each message exactly once.
pub fn message(n: usize) -> String {
    format!("Message-ID: <{n}@test.example>\r\nSubject: {n}\r\n\r\nBody of {n}.\r\n")
}

/// A reply's code.
pub fn code(r: &Option<Reply<'static>>) -> Option<u16> {
    r.as_ref().map(|r| r.code().get())
}

/// Message number → how many times it was delivered.
pub fn delivered_ids(record: &Record) -> BTreeMap<usize, usize> {
    let mut ids = BTreeMap::new();
    for d in &record.delivered {
        let text = String::from_utf8_lossy(&d.content);
        let n: usize = text
            .strip_prefix("Message-ID: <")
            .and_then(|t| t.split('@').next())
            .and_then(|n| n.parse().ok())
            .expect("a numbered message");
        *ids.entry(n).or_default() += 1;
    }
    ids
}

/// Messages 1..=n were each delivered exactly once, and no other.
pub fn assert_each_once(record: &Record, n: usize) {
    let ids = delivered_ids(record);
    assert_eq!(ids.len(), n, "distinct messages delivered");
    assert_eq!(ids.keys().next_back().copied(), (n > 0).then_some(n));
    let twice: Vec<_> = ids.iter().filter(|(_, c)| **c != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
}

/// What the server does.
#[derive(Clone)]
pub struct Behaviour {
    pub config: ServerConfig,
    /// STARTTLS (when the config offers it) and implicit TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TLS from the first octet (RFC 8314).
    pub implicit_tls: bool,
    /// Once this many messages were delivered in all, the next MAIL gets
    /// `421` and the connection closes (once).
    pub shutdown_after: Option<usize>,
    /// Once this many messages were delivered in all, the connection is
    /// closed right after the `250` (once); `dropped` is notified.
    pub drop_after: Option<usize>,
    /// The end of message number `n` (1-based, in all) is never answered:
    /// the connection closes instead (once).
    pub vanish_at_end: Option<usize>,
    /// AUTH credentials accepted (any when `None`).
    pub password: Option<(String, String)>,
    /// MAIL is never answered (to test the client's timeouts).
    pub hold_mail: bool,
    /// The greeting is `554` (RFC 5321 §3.1).
    pub refuse_connect: bool,
}

impl Behaviour {
    /// An SMTP server with the machine's default extensions (PIPELINING,
    /// CHUNKING, 8BITMIME, …).
    pub fn smtp() -> Self {
        Self::with(ServerConfig::new("mx.test.example").expect("hostname"))
    }

    pub fn with(config: ServerConfig) -> Self {
        Self {
            config,
            tls: None,
            implicit_tls: false,
            shutdown_after: None,
            drop_after: None,
            vanish_at_end: None,
            password: None,
            hold_mail: false,
            refuse_connect: false,
        }
    }

    /// An LMTP server (RFC 2033).
    pub fn lmtp() -> Self {
        let mut config = ServerConfig::new("lmtp.test.example").expect("hostname");
        config.lmtp = true;
        Self::with(config)
    }

    /// Offers AUTH PLAIN and LOGIN in clear text.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.config.extensions.auth = vec![Mechanism::Plain, Mechanism::Login];
        self.config.extensions.auth_requires_tls = false;
        self.password = Some((user.to_owned(), password.to_owned()));
        self
    }
}

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub from: String,
    pub rcpts: Vec<String>,
    pub content: Vec<u8>,
    /// The connection (1-based) it came on.
    pub connection: usize,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Record {
    pub delivered: Vec<Delivered>,
    /// Connections accepted.
    pub connections: usize,
    /// Connections open now.
    pub open: usize,
    /// The most connections open at once.
    pub max_open: usize,
    /// Events by name (`Mail`, `Auth`, `StartTls`, …), counted.
    pub events: BTreeMap<String, usize>,
    /// Messages whose end was never answered (`vanish_at_end`).
    pub vanished: usize,
    shutdown_done: bool,
    drop_done: bool,
}

impl Record {
    pub fn count(&self, event: &str) -> usize {
        self.events.get(event).copied().unwrap_or(0)
    }
}

/// A running server; stopped (with every session) on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub record: Arc<Mutex<Record>>,
    /// Notified when `drop_after` closed a connection.
    pub dropped: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts on the current tokio runtime, on 127.0.0.1 and a free port.
    pub async fn start(behaviour: Behaviour) -> TestServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let record = Arc::new(Mutex::new(Record::default()));
        let dropped = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            behaviour,
            record: record.clone(),
            dropped: dropped.clone(),
        });
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                sessions.spawn(async move { serve(tcp, shared).await });
                // Reap finished sessions as we go.
                while sessions.try_join_next().is_some() {}
            }
        });
        TestServer {
            addr,
            record,
            dropped,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap()
    }
}

/// A server on a thread of its own (for the blocking tests); stopped on
/// drop.
pub struct ThreadServer {
    pub addr: SocketAddr,
    pub record: Arc<Mutex<Record>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadServer {
    pub fn start(behaviour: Behaviour) -> ThreadServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let server = TestServer::start(behaviour).await;
                let _ = tx.send((server.addr, server.record.clone()));
                let _ = tokio::time::timeout(Duration::from_secs(300), stopped).await;
                drop(server);
            });
        });
        let (addr, record) = rx.recv_timeout(WAIT).expect("server started");
        ThreadServer {
            addr,
            record,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap()
    }
}

impl Drop for ThreadServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Shared {
    behaviour: Behaviour,
    record: Arc<Mutex<Record>>,
    dropped: Arc<Notify>,
}

fn reply(code: u16, text: &str) -> Reply<'static> {
    Reply::single(ReplyCode::new(code).unwrap(), None, text)
        .unwrap()
        .into_owned()
}

/// How one run of the loop ended.
enum Next {
    Closed,
    StartTls,
}

/// The message being received.
#[derive(Default)]
struct Msg {
    from: String,
    rcpts: Vec<String>,
    content: Vec<u8>,
}

struct Conn {
    server: Server,
    msg: Msg,
    id: usize,
}

async fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let id = {
        let mut r = shared.record.lock().unwrap();
        r.connections += 1;
        r.open += 1;
        r.max_open = r.max_open.max(r.open);
        r.connections
    };
    let mut conn = Conn {
        server: Server::new(shared.behaviour.config.clone()),
        msg: Msg::default(),
        id,
    };
    let b = &shared.behaviour;
    let acceptor = b.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    if b.implicit_tls {
        if let Some(acceptor) = &acceptor {
            if let Ok(mut tls) = acceptor.accept(tcp).await {
                conn.server.set_implicit_tls();
                drive(&mut tls, &mut conn, &shared).await;
            }
        }
    } else {
        let mut tcp = tcp;
        if let Next::StartTls = drive(&mut tcp, &mut conn, &shared).await {
            if let Some(acceptor) = &acceptor {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    conn.server.handle_timeout(Instant::now());
                    let _ = conn.server.tls_established();
                    drive(&mut tls, &mut conn, &shared).await;
                }
            }
        }
    }
    shared.record.lock().unwrap().open -= 1;
}

/// After a `421`: stop writing, read what the client still sends until it
/// closes (so it gets the `421` rather than a reset), briefly.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.shutdown().await;
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(n)) = tokio::time::timeout_at(until, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}

async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &mut Conn,
    shared: &Shared,
) -> Next {
    let b = &shared.behaviour;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        conn.server.handle_timeout(Instant::now());
        let mut starttls = false;
        let mut drop_now = false;
        while let Some(event) = conn.server.poll_event() {
            let name = format!("{event:?}");
            let name = name
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned();
            *shared
                .record
                .lock()
                .unwrap()
                .events
                .entry(name)
                .or_default() += 1;
            match event {
                Event::Mail { from, .. } => {
                    let mut r = shared.record.lock().unwrap();
                    if b.shutdown_after
                        .is_some_and(|n| r.delivered.len() >= n && !r.shutdown_done)
                    {
                        r.shutdown_done = true;
                        drop(r);
                        conn.server.shutdown("closing for a test");
                        continue;
                    }
                    drop(r);
                    if b.hold_mail {
                        // Unanswered: later input waits behind it.
                        break;
                    }
                    conn.msg = Msg {
                        from: from.to_string(),
                        ..Msg::default()
                    };
                    conn.server.accept().unwrap();
                }
                Event::Rcpt { to, .. } => {
                    let to = to.to_string();
                    if to.starts_with("<refuse") {
                        conn.server
                            .respond(&reply(550, "5.1.1 no such user"))
                            .unwrap();
                    } else {
                        conn.msg.rcpts.push(to);
                        conn.server.accept().unwrap();
                    }
                }
                Event::Content(chunk) => conn.msg.content.extend_from_slice(&chunk),
                Event::MessageEnd { .. } => {
                    let mut r = shared.record.lock().unwrap();
                    let n = r.delivered.len() + r.vanished + 1;
                    if b.vanish_at_end == Some(n) && r.vanished == 0 {
                        r.vanished += 1;
                        return Next::Closed;
                    }
                    let msg = std::mem::take(&mut conn.msg);
                    let mut delivered: Vec<String> = msg.rcpts.clone();
                    if conn.server.config().lmtp {
                        // RFC 2033 §4.2: one reply per accepted recipient;
                        // a mailbox named "full…" is over quota.
                        let replies: Vec<Reply<'static>> = msg
                            .rcpts
                            .iter()
                            .map(|to| {
                                if to.starts_with("<full") {
                                    reply(452, "4.2.2 mailbox full")
                                } else {
                                    reply(250, "2.0.0 delivered")
                                }
                            })
                            .collect();
                        delivered.retain(|to| !to.starts_with("<full"));
                        let d = conn.server.decision().unwrap();
                        d.lmtp().ok().unwrap().respond_each(&replies).unwrap();
                    } else {
                        conn.server.accept().unwrap();
                    }
                    r.delivered.push(Delivered {
                        from: msg.from,
                        rcpts: delivered,
                        content: msg.content,
                        connection: conn.id,
                    });
                    if b.drop_after
                        .is_some_and(|n| r.delivered.len() >= n && !r.drop_done)
                    {
                        r.drop_done = true;
                        drop_now = true;
                    }
                }
                Event::MessageAborted { .. } => conn.msg = Msg::default(),
                Event::Auth(credentials) => {
                    let ok = match &b.password {
                        None => true,
                        Some((u, p)) => {
                            credentials.username() == Some(u.as_str())
                                && credentials.verify_password(p)
                        }
                    };
                    if ok {
                        conn.server.accept().unwrap();
                    } else {
                        conn.server.deny().unwrap();
                    }
                }
                Event::StartTls => {
                    starttls = true;
                    break;
                }
                Event::Connect if b.refuse_connect => conn.server.deny().unwrap(),
                Event::Closed { .. } => {}
                e if e.needs_decision() => conn.server.accept().unwrap(),
                _ => {}
            }
        }
        let mut out = Vec::new();
        while let Some(bytes) = conn.server.poll_transmit() {
            out.extend_from_slice(&bytes);
        }
        if !out.is_empty()
            && (stream.write_all(&out).await.is_err() || stream.flush().await.is_err())
        {
            return Next::Closed;
        }
        if starttls {
            return Next::StartTls;
        }
        if drop_now {
            let _ = stream.shutdown().await;
            shared.dropped.notify_one();
            return Next::Closed;
        }
        if !out.is_empty() {
            // Some events (STARTTLS) come once their reply is out.
            continue;
        }
        if conn.server.is_closed() {
            linger(stream).await;
            return Next::Closed;
        }
        let deadline = conn
            .server
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => conn.server.peer_closed(),
            Ok(Ok(n)) => conn.server.receive(&buf[..n]),
        }
    }
}

/// A test CA and a certificate it signed for `localhost` (made with
/// openssl, once per test binary), as a rustls server configuration and a
/// client configuration trusting the CA; `None` (skip) when openssl is
/// missing outside CI.
pub fn tls_pair() -> Option<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::OnceLock;
    static PEMS: OnceLock<Option<Pems>> = OnceLock::new();
    let (ca, leaf, key) = PEMS.get_or_init(make_certs).clone()?;
    let ca = CertificateDer::from_pem_slice(&ca).expect("parse CA");
    let leaf = CertificateDer::from_pem_slice(&leaf).expect("parse cert");
    let key = PrivateKeyDer::from_pem_slice(&key).expect("parse key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .expect("server cert");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).expect("trust anchor");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some((Arc::new(server), Arc::new(client)))
}

/// `(CA certificate, leaf certificate, leaf key)` as PEM.
type Pems = (Vec<u8>, Vec<u8>, Vec<u8>);

fn make_certs() -> Option<Pems> {
    let openssl = crate::common::require_program("openssl")?;
    let dir = crate::common::TempDir::new("runtime-tls");
    let p = |name: &str| dir.path().join(name);
    std::fs::write(
        p("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .ok()?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let run = |args: &[&str]| {
        let out = crate::common::clients::run(
            std::process::Command::new(&openssl)
                .current_dir(dir.path())
                .args(args),
            None,
            crate::common::CLIENT_TIMEOUT,
        )
        .expect("run openssl");
        out.assert_success("openssl");
    };
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=esmtp test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
    run(&csr);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    Some((
        std::fs::read(p("ca.pem")).ok()?,
        std::fs::read(p("leaf.pem")).ok()?,
        std::fs::read(p("leaf.key")).ok()?,
    ))
}
