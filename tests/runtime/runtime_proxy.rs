//! The runtime layer and what deployed MTAs speak: the PROXY protocol
//! header read by the tokio and blocking servers before TLS and before the
//! session (HAProxy's specification §2.1, §2.2), per-address limits by the
//! proxied client, the client transport sending one, and XCLIENT/XFORWARD
//! authorised per connection (Postfix's XCLIENT_README,
//! XFORWARD_README). Each test starts its servers on loopback and stops
//! them; every wait is bounded.

use crate::common;
use crate::runtime_support;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esmtp::client::ClientConfig;
use esmtp::ext::xclient::Xclient;
use esmtp::proxy::{ProxyAddresses, ProxyHeader, ProxyOptions, ProxyVersion, ProxyVersions, Tlv};
use esmtp::runtime::client::{self, Endpoint};
use esmtp::runtime::server::{
    blocking, Answer, Backend, ConnectionInfo, MessageEnd, Refusal, RuntimeConfig, Session,
    SmtpServer,
};
use esmtp::server::ServerConfig;
use esmtp::values::{Domain, Mailbox};
use runtime_support::{tls_pair, LineClient, HOST, WAIT};

/// What the sessions of one server saw.
#[derive(Default)]
struct Seen {
    connections: Mutex<Vec<ConnectionInfo>>,
    proxy_failures: Mutex<Vec<String>>,
    refused: Mutex<Vec<(SocketAddr, Refusal)>>,
    xclients: Mutex<Vec<String>>,
    messages: Mutex<Vec<Vec<u8>>>,
}

#[derive(Clone)]
struct Recorders(Arc<Seen>);

struct Recorder {
    seen: Arc<Seen>,
    /// XCLIENT for connections from the proxy at 127.0.0.1 only, as
    /// Postfix's `smtpd_authorized_xclient_hosts` would; revoked once a
    /// client address was given.
    trusted: bool,
    content: Vec<u8>,
}

impl Recorders {
    fn session(&self, conn: &ConnectionInfo) -> Recorder {
        self.0.connections.lock().unwrap().push(conn.clone());
        Recorder {
            seen: Arc::clone(&self.0),
            trusted: conn.client.ip().is_loopback(),
            content: Vec::new(),
        }
    }
}

impl Backend for Recorders {
    type Session = Recorder;
    fn new_session(&self, conn: &ConnectionInfo) -> Recorder {
        self.session(conn)
    }
    fn proxy_failed(&self, peer: SocketAddr, error: &io::Error) {
        self.0
            .proxy_failures
            .lock()
            .unwrap()
            .push(format!("{peer} {error}"));
    }
    fn refused(&self, peer: SocketAddr, why: Refusal) {
        self.0.refused.lock().unwrap().push((peer, why));
    }
}

impl blocking::Backend for Recorders {
    type Session = Recorder;
    fn new_session(&self, conn: &ConnectionInfo) -> Recorder {
        self.session(conn)
    }
    fn proxy_failed(&self, peer: SocketAddr, error: &io::Error) {
        self.0
            .proxy_failures
            .lock()
            .unwrap()
            .push(format!("{peer} {error}"));
    }
}

impl Recorder {
    fn store(&mut self) -> Answer {
        self.seen
            .messages
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.content));
        Answer::Accept
    }

    fn took_xclient(&mut self, attrs: Xclient<'static>) -> Answer {
        self.seen
            .xclients
            .lock()
            .unwrap()
            .push(format!("{attrs:?}"));
        if attrs.addr.is_some() {
            self.trusted = false;
        }
        Answer::Accept
    }
}

impl Session for Recorder {
    async fn content(&mut self, chunk: bytes::Bytes) {
        self.content.extend_from_slice(&chunk);
    }
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.store()
    }
    fn xclient_authorized(&self) -> bool {
        self.trusted
    }
    async fn xclient(&mut self, attrs: Xclient<'static>) -> Answer {
        self.took_xclient(attrs)
    }
}

impl blocking::Session for Recorder {
    fn content(&mut self, chunk: bytes::Bytes) {
        self.content.extend_from_slice(&chunk);
    }
    fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.store()
    }
    fn xclient_authorized(&self) -> bool {
        self.trusted
    }
    fn xclient(&mut self, attrs: Xclient<'static>) -> Answer {
        self.took_xclient(attrs)
    }
}

fn proxied_config(versions: ProxyVersions) -> ServerConfig {
    let mut c = ServerConfig::new(HOST).unwrap();
    c.proxy_protocol = Some(ProxyOptions::new(versions));
    c.extensions.xclient = true;
    c
}

/// A tokio server with a plain and an optional implicit-TLS listener.
struct Tokio {
    server: SmtpServer<Recorders>,
    seen: Arc<Seen>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    serving: Vec<tokio::task::JoinHandle<io::Result<()>>>,
    runtime: tokio::runtime::Runtime,
}

impl Tokio {
    fn start(
        config: ServerConfig,
        runtime_config: RuntimeConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Tokio {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let seen = Arc::new(Seen::default());
        let mut builder =
            SmtpServer::builder(config, Recorders(Arc::clone(&seen))).runtime(runtime_config);
        if let Some(tls) = &tls {
            builder = builder.tls(Arc::clone(tls));
        }
        let server = builder.build();
        let (plain, implicit) = runtime.block_on(async {
            let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let implicit = match tls {
                Some(_) => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
                None => None,
            };
            (plain, implicit)
        });
        let addr = plain.local_addr().unwrap();
        let tls_addr = implicit.as_ref().map(|l| l.local_addr().unwrap());
        let mut serving = Vec::new();
        let s = server.clone();
        serving.push(runtime.spawn(async move { s.serve(plain).await }));
        if let Some(listener) = implicit {
            let s = server.clone();
            serving.push(runtime.spawn(async move { s.serve_tls(listener).await }));
        }
        Tokio {
            server,
            seen,
            addr,
            tls_addr,
            serving,
            runtime,
        }
    }
}

impl Drop for Tokio {
    fn drop(&mut self) {
        self.server.shutdown_handle().shutdown();
        for task in self.serving.drain(..) {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(WAIT * 4, task).await });
        }
    }
}

fn header() -> ProxyHeader {
    ProxyHeader::proxied(
        ProxyAddresses::tcp(
            "203.0.113.7:40001".parse().unwrap(),
            "198.51.100.25:25".parse().unwrap(),
        )
        .unwrap(),
    )
}

fn raw(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    tcp
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Delivers one message over a line client whose greeting is read.
fn deliver(c: &mut LineClient<impl io::Read + Write>) {
    assert_eq!(c.command("EHLO client.example").code, 250);
    assert_eq!(c.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(c.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(c.command("DATA").code, 354);
    c.send(b"proxied\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.command("QUIT").code, 221);
}

/// §2.1 and §2.2 on the tokio runtime: both versions, the header read
/// before the greeting, the session created with the client it names.
#[test]
fn tokio_reads_v1_and_v2_headers_section_2_1_2_2() {
    let srv = Tokio::start(
        proxied_config(ProxyVersions::Any),
        RuntimeConfig::default(),
        None,
    );
    for version in [ProxyVersion::V1, ProxyVersion::V2] {
        let mut tcp = raw(srv.addr);
        let h = if version == ProxyVersion::V2 {
            header().with_tlv(Tlv::Crc32c)
        } else {
            header()
        };
        tcp.write_all(&h.to_bytes(version).unwrap()).unwrap();
        let mut c = LineClient::new(tcp);
        assert_eq!(c.reply().code, 220);
        deliver(&mut c);
    }
    let connections = srv.seen.connections.lock().unwrap().clone();
    assert_eq!(connections.len(), 2);
    for conn in &connections {
        assert_eq!(conn.client, "203.0.113.7:40001".parse().unwrap());
        assert!(conn.peer.ip().is_loopback());
        assert!(conn.proxy.is_some());
    }
    assert_eq!(srv.seen.messages.lock().unwrap().len(), 2);
}

/// §2.1: a header followed by nothing else closes nothing; a missing or
/// malformed one closes the connection without a reply, and the backend
/// hears why.
#[test]
fn tokio_bad_header_closes_without_a_reply_section_2_1() {
    let mut runtime = RuntimeConfig::default();
    runtime.proxy_header_timeout = Duration::from_millis(300);
    let srv = Tokio::start(proxied_config(ProxyVersions::Any), runtime, None);
    for bad in [
        &b"EHLO client.example\r\n"[..],
        b"PROXY TCP4 1.2.3.4\n",
        b"",
    ] {
        let mut tcp = raw(srv.addr);
        tcp.write_all(bad).unwrap();
        let mut all = Vec::new();
        let read = io::Read::read_to_end(&mut tcp, &mut all);
        assert!(read.is_ok() || all.is_empty(), "{read:?}");
        assert!(all.is_empty(), "{}", String::from_utf8_lossy(&all));
    }
    wait_for("three failures", || {
        srv.seen.proxy_failures.lock().unwrap().len() == 3
    });
    assert!(srv.seen.connections.lock().unwrap().is_empty());
    let failures = srv.seen.proxy_failures.lock().unwrap().clone();
    assert!(failures[2].contains("in time"), "{failures:?}");
}

/// §2.2: a v2 header announcing 65535 octets is refused from its 16
/// octets; the server does not wait for the rest.
#[test]
fn tokio_huge_v2_header_is_refused_at_once_section_2_2() {
    let srv = Tokio::start(
        proxied_config(ProxyVersions::V2),
        RuntimeConfig::default(),
        None,
    );
    let mut tcp = raw(srv.addr);
    let mut fixed = esmtp::proxy::V2_SIGNATURE.to_vec();
    fixed.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
    let started = Instant::now();
    tcp.write_all(&fixed).unwrap();
    let mut all = Vec::new();
    let _ = io::Read::read_to_end(&mut tcp, &mut all);
    assert!(all.is_empty());
    assert!(started.elapsed() < WAIT);
    wait_for("the failure", || {
        !srv.seen.proxy_failures.lock().unwrap().is_empty()
    });
}

/// RFC 8314 §3.3 behind a proxy: the header comes before the TLS
/// ClientHello on an implicit-TLS listener (§2.1: "prepended before any
/// data").
#[test]
fn tokio_header_before_implicit_tls_rfc8314_3_3() {
    let dir = common::TempDir::new("proxy-tls");
    let Some((server_tls, client_tls)) = tls_pair(dir.path()) else {
        return;
    };
    let srv = Tokio::start(
        proxied_config(ProxyVersions::V1),
        RuntimeConfig::default(),
        Some(server_tls),
    );
    let mut tcp = raw(srv.tls_addr.unwrap());
    tcp.write_all(&header().to_bytes(ProxyVersion::V1).unwrap())
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
    let conn = rustls::ClientConnection::new(client_tls, name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    let mut c = LineClient::new(tls);
    assert_eq!(c.reply().code, 220);
    deliver(&mut c);
    let conn = srv.seen.connections.lock().unwrap()[0].clone();
    assert_eq!(conn.client.ip().to_string(), "203.0.113.7");
    assert!(conn.tls.as_ref().is_some_and(|t| t.implicit));
}

/// Per-address limits count the client the header names when the
/// application asks (`per_ip_by_proxied_source`); otherwise the proxy.
#[test]
fn tokio_per_ip_limit_by_proxied_source() {
    let mut runtime = RuntimeConfig::default();
    runtime.max_connections_per_ip = 1;
    runtime.per_ip_by_proxied_source = true;
    let srv = Tokio::start(proxied_config(ProxyVersions::V1), runtime, None);
    let open = |src: &str| {
        let mut tcp = raw(srv.addr);
        let line = format!("PROXY TCP4 {src} 198.51.100.25 40000 25\r\n");
        tcp.write_all(line.as_bytes()).unwrap();
        let mut c = LineClient::new(tcp);
        let code = c.try_reply().map(|r| r.code);
        (c, code)
    };
    // Two clients behind one proxy address: each gets its own place.
    let (_a, a) = open("203.0.113.1");
    let (_b, b) = open("203.0.113.2");
    assert_eq!((a, b), (Some(220), Some(220)));
    // The same client twice: the second is over its limit.
    let (_c, c) = open("203.0.113.1");
    assert_eq!(c, Some(421));
    wait_for("the refusal", || {
        srv.seen.refused.lock().unwrap().len() == 1
    });
    let (who, why) = srv.seen.refused.lock().unwrap()[0];
    assert_eq!(who.ip().to_string(), "203.0.113.1");
    assert_eq!(why, Refusal::PerIp);

    // Without the setting, the proxy's own address is what counts.
    let mut runtime = RuntimeConfig::default();
    runtime.max_connections_per_ip = 1;
    let srv = Tokio::start(proxied_config(ProxyVersions::V1), runtime, None);
    let mut first = raw(srv.addr);
    first
        .write_all(b"PROXY TCP4 203.0.113.1 198.51.100.25 1 25\r\n")
        .unwrap();
    let mut first = LineClient::new(first);
    assert_eq!(first.reply().code, 220);
    let mut second = LineClient::new(raw(srv.addr));
    assert_eq!(second.reply().code, 421);
}

/// The client transport sends the endpoint's header first (§2.1), and the
/// server runtime sees the client it names.
#[test]
fn client_transport_sends_the_endpoint_header_section_2_1() {
    let srv = Tokio::start(
        proxied_config(ProxyVersions::V2),
        RuntimeConfig::default(),
        None,
    );
    let config = ClientConfig::new(Domain::parse("relay.example").unwrap().into_owned());
    let endpoint = Endpoint::new("127.0.0.1", srv.addr.port(), config)
        .proxy_header(&header(), ProxyVersion::V2)
        .unwrap();
    let envelope =
        esmtp::client::Envelope::new(Mailbox::parse("a@example.org").unwrap().into_owned())
            .to(Mailbox::parse("b@example.org").unwrap().into_owned());
    let outcome = srv.runtime.block_on(async {
        let mut transport = client::Transport::connect(endpoint.clone()).await.unwrap();
        let outcome = transport.send(envelope.clone(), &b"Hi\r\n"[..]).await;
        transport.quit().await;
        outcome
    });
    assert!(outcome.unwrap().all_delivered());
    // The blocking transport too.
    let mut transport = client::blocking::Transport::connect(endpoint).unwrap();
    assert!(transport
        .send(envelope, &b"Hi\r\n"[..])
        .unwrap()
        .all_delivered());
    transport.quit();
    let connections = srv.seen.connections.lock().unwrap().clone();
    assert_eq!(connections.len(), 2);
    assert!(connections
        .iter()
        .all(|c| c.client == "203.0.113.7:40001".parse().unwrap()));
}

/// The blocking runtime reads the header the same way (§2.1, §2.2).
#[test]
fn blocking_reads_the_header_section_2_2() {
    let seen = Arc::new(Seen::default());
    let mut runtime = RuntimeConfig::default();
    runtime.proxy_header_timeout = Duration::from_millis(300);
    let server = blocking::SmtpServer::builder(
        proxied_config(ProxyVersions::Any),
        Recorders(Arc::clone(&seen)),
    )
    .runtime(runtime)
    .build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = {
        let server = server.clone();
        std::thread::spawn(move || server.serve(listener))
    };
    let mut tcp = raw(addr);
    tcp.write_all(&header().to_bytes(ProxyVersion::V2).unwrap())
        .unwrap();
    let mut c = LineClient::new(tcp);
    assert_eq!(c.reply().code, 220);
    deliver(&mut c);
    let mut bad = raw(addr);
    bad.write_all(b"HELO x\r\n").unwrap();
    let mut all = Vec::new();
    let _ = io::Read::read_to_end(&mut bad, &mut all);
    assert!(all.is_empty());
    // Nothing sent at all: closed at the header timeout.
    let mut silent = raw(addr);
    let _ = io::Read::read_to_end(&mut silent, &mut all);
    assert!(all.is_empty());
    server.shutdown_handle().shutdown();
    serving.join().unwrap().unwrap();
    let connections = seen.connections.lock().unwrap().clone();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].client.ip().to_string(), "203.0.113.7");
    assert_eq!(seen.proxy_failures.lock().unwrap().len(), 2);
}

/// XCLIENT_README on the runtime: offered to the connection the session
/// trusts (a proxy on loopback), served by the session, and withdrawn once
/// it gave a client address, as Postfix re-evaluates
/// `smtpd_authorized_xclient_hosts`.
#[test]
fn tokio_xclient_authorised_per_connection_xclient_readme() {
    let mut config = ServerConfig::new(HOST).unwrap();
    config.extensions.xclient = true;
    let srv = Tokio::start(config, RuntimeConfig::default(), None);
    let mut c = LineClient::new(raw(srv.addr));
    assert_eq!(c.reply().code, 220);
    let ehlo = c.command("EHLO proxy.example");
    assert!(ehlo.text().contains("XCLIENT NAME ADDR"), "{ehlo:?}");
    let greeting = c.command("XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2");
    assert_eq!(greeting.code, 220, "{greeting:?}");
    let ehlo = c.command("EHLO spike.porcupine.org");
    assert!(!ehlo.text().contains("XCLIENT"), "{ehlo:?}");
    assert_eq!(
        c.command("XCLIENT NAME=other.example").code,
        550,
        "no longer authorised"
    );
    deliver_after_ehlo(&mut c);
    let xclients = srv.seen.xclients.lock().unwrap().clone();
    assert_eq!(xclients.len(), 1);
    assert!(xclients[0].contains("168.100.189.2"), "{xclients:?}");
}

fn deliver_after_ehlo(c: &mut LineClient<impl io::Read + Write>) {
    assert_eq!(c.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(c.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(c.command("DATA").code, 354);
    c.send(b"after XCLIENT\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.command("QUIT").code, 221);
}
