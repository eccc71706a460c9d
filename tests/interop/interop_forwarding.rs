//! Interop with real peers for what deployed MTAs speak beyond the
//! registry, all on loopback, each peer started and stopped by its test:
//!
//! - HAProxy in front of this crate's tokio server runtime, with
//!   `send-proxy` (version 1) and `send-proxy-v2` (with CRC32C and
//!   UNIQUE_ID TLVs, and LOCAL health checks) — HAProxy's "The PROXY
//!   protocol" §2.1, §2.2;
//! - this crate's client sending PROXY headers (both versions) to Postfix
//!   smtpd with `smtpd_upstream_proxy_protocol = haproxy`;
//! - this crate's client sending XCLIENT and XFORWARD to Postfix smtpd
//!   with `smtpd_authorized_xclient_hosts` / `_xforward_hosts`, what
//!   Postfix took read back from the stored `Received:` header and its
//!   log (XCLIENT_README, XFORWARD_README);
//! - Postfix's own smtp client relaying through this crate's server with
//!   `smtp_send_xforward_command = yes`: the XFORWARD attributes Postfix
//!   sends, typed on arrival;
//! - Postfix's lmtp client delivering into this crate's server in LMTP
//!   mode: LHLO, and one reply per recipient at the end of the message
//!   (RFC 2033 §4.2), each taken by Postfix for its own recipient.
//!
//! Postfix needs root: without it the Postfix tests print `SKIP:` (and
//! fail under `CI`), as HAProxy's do when it is not installed.

use crate::common;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::postfix::PostfixSmtpd;
use common::process::{start_on_free_port, PeerProcess};
use common::{free_port, poll_until, require_program, unique_host_name, TempDir};
use esmtp::client::{self, Client, ClientConfig, Envelope};
use esmtp::ext::xclient::{Attr, Xclient};
use esmtp::ext::xforward::{Source, Xforward};
use esmtp::params::RcptParams;
use esmtp::proxy::{
    ProxyAddresses, ProxyCommand, ProxyHeader, ProxyOptions, ProxyVersion, ProxyVersions, Tlv,
};
use esmtp::reply::Reply;
use esmtp::runtime::server::{
    Answer, Backend, ConnectionInfo, LmtpAnswer, MessageEnd, Session, SmtpServer,
};
use esmtp::server::ServerConfig;
use esmtp::values::{Domain, EnhancedStatusCode, ForwardPath, Mailbox, ReplyCode};

const WAIT: Duration = Duration::from_secs(20);

// ---- this crate's server, recording ----

#[derive(Default)]
struct Seen {
    connections: Mutex<Vec<ConnectionInfo>>,
    xforwards: Mutex<Vec<Xforward<'static>>>,
    messages: Mutex<Vec<Vec<u8>>>,
}

#[derive(Clone)]
struct Recorders(Arc<Seen>);

struct Recorder {
    seen: Arc<Seen>,
    content: Vec<u8>,
    /// This transaction's recipients, in RCPT order (LMTP answers each).
    rcpts: Vec<String>,
}

impl Backend for Recorders {
    type Session = Recorder;
    fn new_session(&self, conn: &ConnectionInfo) -> Recorder {
        self.0.connections.lock().unwrap().push(conn.clone());
        Recorder {
            seen: Arc::clone(&self.0),
            content: Vec::new(),
            rcpts: Vec::new(),
        }
    }
}

impl Session for Recorder {
    async fn content(&mut self, chunk: bytes::Bytes) {
        self.content.extend_from_slice(&chunk);
    }
    async fn rcpt(&mut self, to: ForwardPath<'static>, _: RcptParams<'static>) -> Answer {
        self.rcpts.push(to.to_string());
        Answer::Accept
    }
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.rcpts.clear();
        let content = std::mem::take(&mut self.content);
        self.seen.messages.lock().unwrap().push(content);
        Answer::Accept
    }
    /// In LMTP a recipient whose local part is `refuse` gets `550 5.1.1`,
    /// every other one `250`.
    async fn lmtp_message_end(&mut self, _: MessageEnd) -> LmtpAnswer {
        let replies = std::mem::take(&mut self.rcpts)
            .iter()
            .map(|to| {
                let (code, esc, text) = if to.starts_with("<refuse@") {
                    (
                        ReplyCode::MAILBOX_UNAVAILABLE,
                        (5, 1, 1),
                        "No such user here",
                    )
                } else {
                    (ReplyCode::OK, (2, 0, 0), "Delivered")
                };
                let esc = EnhancedStatusCode::new(esc.0, esc.1, esc.2);
                Reply::single(code, esc, text).unwrap().into_owned()
            })
            .collect();
        let content = std::mem::take(&mut self.content);
        self.seen.messages.lock().unwrap().push(content);
        LmtpAnswer::Each(replies)
    }
    // Postfix's smtp client on loopback is the one relay trusted.
    fn xforward_authorized(&self) -> bool {
        true
    }
    async fn xforward(&mut self, attrs: Xforward<'static>) -> Answer {
        self.seen.xforwards.lock().unwrap().push(attrs);
        Answer::Accept
    }
}

/// The tokio server runtime on a loopback port of its own.
struct Ours {
    server: SmtpServer<Recorders>,
    seen: Arc<Seen>,
    port: u16,
    host: String,
    runtime: tokio::runtime::Runtime,
    serving: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl Ours {
    fn start(configure: impl FnOnce(&mut ServerConfig)) -> Ours {
        let host = unique_host_name("esmtp");
        let mut config = ServerConfig::new(host.clone()).unwrap();
        configure(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let seen = Arc::new(Seen::default());
        let server = SmtpServer::new(config, Recorders(Arc::clone(&seen)));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = server.clone();
        let serving = runtime.spawn(async move { s.serve(listener).await });
        Ours {
            server,
            seen,
            port,
            host,
            runtime,
            serving: Some(serving),
        }
    }

    fn wait_messages(&self, n: usize) -> Vec<Vec<u8>> {
        poll_until(WAIT, || {
            let m = self.seen.messages.lock().unwrap().clone();
            (m.len() >= n).then_some(m)
        })
        .unwrap_or_else(|| panic!("fewer than {n} messages arrived"))
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        self.server.shutdown_handle().shutdown();
        if let Some(task) = self.serving.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(WAIT, task).await });
        }
    }
}

// ---- HAProxy ----

/// A private HAProxy (`haproxy -db`, foreground) with one TCP frontend on
/// a free loopback port relaying to `backend` with `server_options`.
fn haproxy(
    dir: &Path,
    backend: u16,
    token: &str,
    server_options: &str,
) -> Option<(PeerProcess, u16)> {
    let program = require_program("haproxy")?;
    let cfg = dir.join("haproxy.cfg");
    let log = dir.join("haproxy.log");
    Some(start_on_free_port("haproxy", token, |port| {
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 64\n\
                 defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
                 frontend fe\n  bind 127.0.0.1:{port}\n  unique-id-format %ci-%cp-%rt\n  default_backend be\n\
                 backend be\n  option smtpchk HELO haproxy.example\n\
                 \x20 server ours 127.0.0.1:{backend} {server_options}\n"
            ),
        )?;
        let args = vec!["-f".to_owned(), cfg.display().to_string(), "-db".to_owned()];
        PeerProcess::spawn("haproxy", &program, &args, &log)
    }))
}

/// Sends one message over a raw connection through `port`, from the
/// loopback address `from`.
fn send_through(from: Ipv4Addr, port: u16, token: &str) {
    let stream = common::smtp::connect_from(from, port).expect("connect");
    let (mut conn, greeting) = common::smtp::SmtpConn::greeted(stream);
    assert!(greeting.text().contains(token), "{greeting:?}");
    for (line, code) in [
        ("EHLO client.example", 250),
        ("MAIL FROM:<a@example.org>", 250),
        ("RCPT TO:<b@example.org>", 250),
        ("DATA", 354),
    ] {
        assert_eq!(conn.cmd(line).code, code, "{line}");
    }
    conn.send(b"through haproxy\r\n.\r\n");
    assert_eq!(conn.read_reply().code, 250);
    assert_eq!(conn.cmd("QUIT").code, 221);
}

/// §2.1 with a real sender: HAProxy's `send-proxy` line before the
/// session; the runtime sees the client behind HAProxy (127.0.0.2), not
/// HAProxy (127.0.0.1).
#[test]
fn haproxy_send_proxy_v1_section_2_1() {
    let ours = Ours::start(|c| c.proxy_protocol = Some(ProxyOptions::new(ProxyVersions::V1)));
    let dir = TempDir::new("haproxy-v1");
    let Some((_haproxy, port)) = haproxy(dir.path(), ours.port, &ours.host, "send-proxy") else {
        return;
    };
    send_through(Ipv4Addr::new(127, 0, 0, 2), port, &ours.host);
    assert_eq!(ours.wait_messages(1), [b"through haproxy\r\n".to_vec()]);
    let connections = ours.seen.connections.lock().unwrap().clone();
    let mine = connections
        .iter()
        .find(|c| c.client.ip() == Ipv4Addr::new(127, 0, 0, 2))
        .expect("a connection from the client behind HAProxy");
    assert_eq!(mine.peer.ip(), Ipv4Addr::LOCALHOST);
    assert_eq!(mine.client.ip(), Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(mine.proxy.as_ref().unwrap().command, ProxyCommand::Proxy);
    assert_eq!(
        mine.proxy.as_ref().unwrap().destination().unwrap().port(),
        port
    );
}

/// §2.2 with a real sender: `send-proxy-v2` with HAProxy's CRC32C
/// (§2.2.3, verified by this crate) and UNIQUE_ID (§2.2.5) TLVs; its
/// health checks arrive as LOCAL headers (§2.2: "the connection endpoints
/// are the sender and the receiver").
#[test]
fn haproxy_send_proxy_v2_with_tlvs_and_local_checks_section_2_2() {
    let ours = Ours::start(|c| c.proxy_protocol = Some(ProxyOptions::new(ProxyVersions::V2)));
    let dir = TempDir::new("haproxy-v2");
    let options =
        "send-proxy-v2 proxy-v2-options crc32c,unique-id check check-send-proxy inter 200ms";
    let Some((_haproxy, port)) = haproxy(dir.path(), ours.port, &ours.host, options) else {
        return;
    };
    send_through(Ipv4Addr::new(127, 0, 0, 3), port, &ours.host);
    ours.wait_messages(1);
    let local = poll_until(WAIT, || {
        ours.seen
            .connections
            .lock()
            .unwrap()
            .iter()
            .find(|c| {
                c.proxy
                    .as_ref()
                    .is_some_and(|h| h.command == ProxyCommand::Local)
            })
            .cloned()
    })
    .expect("a LOCAL health check");
    assert_eq!(local.client, local.peer, "LOCAL: the real endpoints");
    let connections = ours.seen.connections.lock().unwrap().clone();
    let mine = connections
        .iter()
        .find(|c| c.client.ip() == Ipv4Addr::new(127, 0, 0, 3))
        .expect("a connection from the client behind HAProxy");
    let header = mine.proxy.as_ref().unwrap();
    assert!(header.tlvs.contains(&Tlv::Crc32c), "{header:?}");
    let id = String::from_utf8(header.unique_id().expect("UNIQUE_ID").to_vec()).unwrap();
    assert!(id.starts_with("127.0.0.3-"), "{id}");
}

// ---- this crate's client against Postfix ----

/// Runs a client machine over a fresh connection to `port` until it
/// closes; its events. `before` is sent first, as it is (a PROXY header).
fn run_client(mut client: Client, port: u16) -> Vec<client::Event> {
    let mut tcp = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), WAIT)
        .expect("connect");
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut events = Vec::new();
    let started = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        assert!(
            started.elapsed() < WAIT * 2,
            "session never ended: {events:?}"
        );
        client.handle_timeout(Instant::now());
        while let Some(bytes) = client.poll_transmit() {
            tcp.write_all(&bytes).expect("write");
        }
        while let Some(e) = client.poll_event() {
            events.push(e);
        }
        if client.is_closed() {
            return events;
        }
        match tcp.read(&mut buf) {
            Ok(0) => client.peer_closed(),
            Ok(n) => client.receive(&buf[..n]),
            Err(e) => panic!("read: {e}; events: {events:?}"),
        }
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(Domain::parse("client.example").unwrap().into_owned())
}

fn envelope() -> Envelope {
    Envelope::new(Mailbox::parse("a@example.org").unwrap().into_owned()).to(Mailbox::parse(
        "b@example.org",
    )
    .unwrap()
    .into_owned())
}

fn delivered(events: &[client::Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, client::Event::Message(m) if m.all_delivered()))
}

/// This crate's client sends PROXY headers (§2.1 and §2.2) to Postfix
/// smtpd with `smtpd_upstream_proxy_protocol = haproxy`, which takes the
/// client they name: its `Received:` header says so.
#[test]
fn client_proxy_header_to_postfix_section_2_1_2_2() {
    let proxied = free_port();
    let Some(pf) = PostfixSmtpd::builder()
        .main_cf("mynetworks", "127.0.0.0/8 203.0.113.0/24")
        .master_cf_line(&format!(
            "127.0.0.1:{proxied} inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy"
        ))
        .start()
    else {
        return;
    };
    for (version, source) in [
        (ProxyVersion::V1, "203.0.113.7:40001"),
        (ProxyVersion::V2, "203.0.113.8:40002"),
    ] {
        let header = ProxyHeader::proxied(
            ProxyAddresses::tcp(
                source.parse().unwrap(),
                SocketAddr::from((Ipv4Addr::LOCALHOST, proxied)),
            )
            .unwrap(),
        );
        let mut client = Client::new(client_config());
        client.send_proxy_header(&header, version).unwrap();
        client
            .submit(envelope(), &b"Subject: proxied\r\n\r\nHi\r\n"[..])
            .unwrap();
        client.quit();
        let events = run_client(client, proxied);
        assert!(
            delivered(&events),
            "{version:?}: {events:?}\n{}",
            pf.maillog()
        );
    }
    let messages = poll_until(WAIT, || {
        let m = pf.messages();
        (m.len() == 2).then_some(m)
    })
    .unwrap_or_else(|| panic!("two held messages; maillog:\n{}", pf.maillog()));
    let received: Vec<String> = messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.stored).into_owned())
        .collect();
    assert!(
        received.iter().any(|r| r.contains("[203.0.113.7]")),
        "{received:?}"
    );
    assert!(
        received.iter().any(|r| r.contains("[203.0.113.8]")),
        "{received:?}"
    );
}

/// XCLIENT_README against Postfix: offered to 127.0.0.1 only
/// (`smtpd_authorized_xclient_hosts`), sent by this crate's client, which
/// greets again after Postfix's 220; Postfix takes the new client name and
/// address (its `Received:` header). Without the authorisation Postfix
/// does not offer it and the client refuses locally.
#[test]
fn client_xclient_to_postfix_xclient_readme() {
    let Some(pf) = PostfixSmtpd::builder()
        .main_cf("mynetworks", "127.0.0.0/8 168.100.189.0/24")
        .main_cf("smtpd_authorized_xclient_hosts", "127.0.0.1")
        .start()
    else {
        return;
    };
    let mut x = Xclient::default();
    x.name = Some(Attr::Value("spike.porcupine.org".into()));
    x.addr = Some(Attr::Value("168.100.189.2".parse().unwrap()));
    x.helo = Some(Attr::Value("spike.porcupine.org".into()));
    let mut client = Client::new(client_config());
    client.xclient(x.clone()).unwrap();
    client
        .submit(envelope(), &b"Subject: xclient\r\n\r\nHi\r\n"[..])
        .unwrap();
    client.quit();
    let events = run_client(client, pf.port());
    assert!(
        events.iter().any(|e| matches!(e,
            client::Event::CommandReply { verb: esmtp::command::Verb::Xclient, reply } if reply.code().get() == 220)),
        "{events:?}"
    );
    assert!(delivered(&events), "{events:?}\n{}", pf.maillog());
    let stored = poll_until(WAIT, || pf.messages().first().cloned())
        .unwrap_or_else(|| panic!("a held message; maillog:\n{}", pf.maillog()));
    let text = String::from_utf8_lossy(&stored.stored);
    assert!(
        text.contains("spike.porcupine.org [168.100.189.2]"),
        "{text}"
    );

    // Not authorised: not offered, refused before anything is sent.
    let Some(plain) = PostfixSmtpd::start() else {
        return;
    };
    let mut client = Client::new(client_config());
    client.xclient(x).unwrap();
    client.noop().unwrap();
    client.quit();
    let events = run_client(client, plain.port());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, client::Event::CommandRefused { .. })),
        "{events:?}"
    );
}

/// XFORWARD_README against Postfix: offered to loopback
/// (`smtpd_authorized_xforward_hosts`), sent before MAIL; Postfix logs
/// the forwarded client and message id with the transaction.
#[test]
fn client_xforward_to_postfix_xforward_readme() {
    let Some(pf) = PostfixSmtpd::builder()
        .main_cf("smtpd_authorized_xforward_hosts", "127.0.0.0/8")
        .start()
    else {
        return;
    };
    let mut x = Xforward::default();
    x.name = Some(Attr::Value("spike.porcupine.org".into()));
    x.addr = Some(Attr::Value("168.100.189.2".parse().unwrap()));
    x.proto = Some(Attr::Value("ESMTP".into()));
    x.helo = Some(Attr::Value("spike.porcupine.org".into()));
    x.ident = Some(Attr::Value("UPSTREAM42".into()));
    x.source = Some(Attr::Value(Source::Remote));
    let mut client = Client::new(client_config());
    client.xforward(x).unwrap();
    client
        .submit(envelope(), &b"Subject: xforward\r\n\r\nHi\r\n"[..])
        .unwrap();
    client.quit();
    let events = run_client(client, pf.port());
    assert!(delivered(&events), "{events:?}\n{}", pf.maillog());
    let logged = poll_until(WAIT, || {
        let log = pf.maillog();
        log.contains("orig_queue_id=UPSTREAM42").then_some(log)
    })
    .unwrap_or_else(|| panic!("no XFORWARD in the log:\n{}", pf.maillog()));
    assert!(
        logged.contains("orig_client=spike.porcupine.org[168.100.189.2]"),
        "{logged}"
    );
}

/// Postfix as the XFORWARD client (XFORWARD_README, "Logging after
/// SMTP-based content filter"): a Postfix relaying to this crate's server
/// with `smtp_send_xforward_command = yes` sends the original client's
/// attributes, which arrive typed — its queue id as IDENT, the client's
/// HELO and address.
#[test]
fn postfix_relays_with_xforward_to_our_server_xforward_readme() {
    let ours = Ours::start(|c| c.extensions.xforward = true);
    let Some(pf) = PostfixSmtpd::builder()
        .main_cf("smtpd_client_restrictions", "")
        .main_cf("relayhost", &format!("[127.0.0.1]:{}", ours.port))
        .main_cf("smtp_send_xforward_command", "yes")
        .main_cf("smtp_tls_security_level", "none")
        .master_cf_line("smtp      unix  - - n - - smtp")
        .start()
    else {
        return;
    };
    let stream = common::smtp::connect_from(Ipv4Addr::new(127, 0, 0, 4), pf.port()).unwrap();
    let (mut conn, _) = common::smtp::SmtpConn::greeted(stream);
    for (line, code) in [
        ("EHLO origin.example", 250),
        ("MAIL FROM:<a@example.org>", 250),
        ("RCPT TO:<b@example.org>", 250),
        ("DATA", 354),
    ] {
        assert_eq!(conn.cmd(line).code, code, "{line}\n{}", pf.maillog());
    }
    conn.send(b"Subject: relayed\r\n\r\nHi\r\n.\r\n");
    let queued = conn.read_reply();
    assert_eq!(queued.code, 250);
    let queue_id = common::postfix::queue_id(&queued);
    let _ = conn.cmd("QUIT");
    let messages = poll_until(WAIT, || {
        let m = ours.seen.messages.lock().unwrap().clone();
        (!m.is_empty()).then_some(m)
    })
    .unwrap_or_else(|| panic!("nothing relayed; maillog:\n{}", pf.maillog()));
    assert!(String::from_utf8_lossy(&messages[0]).contains("Hi\r\n"));
    let xforwards = ours.seen.xforwards.lock().unwrap().clone();
    assert!(
        !xforwards.is_empty(),
        "no XFORWARD; maillog:\n{}",
        pf.maillog()
    );
    let mut all = Xforward::default();
    for x in xforwards {
        all.update(x);
    }
    assert_eq!(all.ident, Some(Attr::Value(queue_id.into())), "{all:?}");
    assert_eq!(
        all.helo,
        Some(Attr::Value("origin.example".into())),
        "{all:?}"
    );
    assert_eq!(
        all.addr,
        Some(Attr::Value("127.0.0.4".parse().unwrap())),
        "{all:?}"
    );
    assert_eq!(all.proto, Some(Attr::Value("ESMTP".into())), "{all:?}");
}

/// Postfix's lmtp client (`default_transport = lmtp:inet:…`) delivering
/// one message for two recipients into this crate's server in LMTP mode:
/// after the content the server owes one reply per accepted recipient
/// (RFC 2033 §4.2), here `250` for one and `550 5.1.1` for the other, and
/// Postfix takes each as its own recipient's status: delivered for the
/// first, bounced with our text for the second.
#[test]
fn postfix_lmtp_client_takes_one_reply_per_recipient_rfc2033_4_2() {
    let ours = Ours::start(|c| c.lmtp = true);
    let Some(pf) = PostfixSmtpd::builder()
        .main_cf("smtpd_client_restrictions", "")
        .main_cf(
            "default_transport",
            &format!("lmtp:inet:127.0.0.1:{}", ours.port),
        )
        .main_cf("lmtp_tls_security_level", "none")
        .master_cf_line("lmtp      unix  - - n - - lmtp")
        .start()
    else {
        return;
    };
    let stream = common::smtp::connect_from(Ipv4Addr::new(127, 0, 0, 5), pf.port()).unwrap();
    let (mut conn, _) = common::smtp::SmtpConn::greeted(stream);
    // The null sender: the refused recipient's bounce goes nowhere.
    for (line, code) in [
        ("EHLO origin.example", 250),
        ("MAIL FROM:<>", 250),
        ("RCPT TO:<b@example.org>", 250),
        ("RCPT TO:<refuse@example.org>", 250),
        ("DATA", 354),
    ] {
        assert_eq!(conn.cmd(line).code, code, "{line}\n{}", pf.maillog());
    }
    conn.send(b"Subject: over LMTP\r\n\r\nHi\r\n.\r\n");
    assert_eq!(conn.read_reply().code, 250);
    let _ = conn.cmd("QUIT");
    let messages = ours.wait_messages(1);
    assert!(String::from_utf8_lossy(&messages[0]).contains("Hi\r\n"));
    let log = poll_until(WAIT, || {
        let log = pf.maillog();
        (log.contains("to=<b@example.org>") && log.contains("to=<refuse@example.org>"))
            .then_some(log)
    })
    .unwrap_or_else(|| panic!("no delivery status for both; maillog:\n{}", pf.maillog()));
    let line_of = |rcpt: &str| {
        log.lines()
            .find(|l| l.contains(&format!("to=<{rcpt}>")) && l.contains("status="))
            .unwrap_or_else(|| panic!("no status for {rcpt}:\n{log}"))
            .to_owned()
    };
    let sent = line_of("b@example.org");
    assert!(sent.contains("relay=127.0.0.1[127.0.0.1]"), "{sent}");
    assert!(sent.contains("status=sent"), "{sent}");
    assert!(sent.contains("250 2.0.0 Delivered"), "{sent}");
    let bounced = line_of("refuse@example.org");
    assert!(bounced.contains("status=bounced"), "{bounced}");
    assert!(bounced.contains("550 5.1.1 No such user here"), "{bounced}");
    assert_eq!(ours.seen.messages.lock().unwrap().len(), 1);
}

/// Postfix's smtp-sink lists fewer attributes (`XCLIENT NAME HELO`,
/// `XFORWARD NAME ADDR PROTO HELO`): the client sends what it lists and
/// refuses the rest locally (XCLIENT_README: the keyword "is followed by
/// the names of the attributes that the XCLIENT implementation
/// supports"); smtp-sink answers XCLIENT with 250, not 220, so the session
/// does not start over.
#[test]
fn client_against_smtp_sink_partly_offered_xclient_readme() {
    let Some(sink) = common::sink::SmtpSink::builder().start() else {
        return;
    };
    let mut name_only = Xclient::default();
    name_only.name = Some(Attr::Value("spike.porcupine.org".into()));
    let mut with_addr = name_only.clone();
    with_addr.addr = Some(Attr::Value("168.100.189.2".parse().unwrap()));
    let mut ident = Xforward::default();
    ident.ident = Some(Attr::Value("UPSTREAM42".into()));
    let mut helo = Xforward::default();
    helo.helo = Some(Attr::Value("spike.porcupine.org".into()));

    let mut client = Client::new(client_config());
    client.xclient(with_addr).unwrap();
    client.xclient(name_only).unwrap();
    client.xforward(ident).unwrap();
    client.xforward(helo).unwrap();
    client
        .submit(envelope(), &b"Subject: sink\r\n\r\nHi\r\n"[..])
        .unwrap();
    client.quit();
    let events = run_client(client, sink.port());
    let refused: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            client::Event::CommandRefused { verb, error } => Some((*verb, error.clone())),
            _ => None,
        })
        .collect();
    use esmtp::client::ApiError;
    use esmtp::command::Verb;
    use esmtp::ext::xclient::AttrName;
    assert_eq!(
        refused,
        vec![
            (Verb::Xclient, ApiError::AttributeNotOffered(AttrName::Addr)),
            (
                Verb::Xforward,
                ApiError::AttributeNotOffered(AttrName::Ident)
            ),
        ]
    );
    let replies: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            client::Event::CommandReply { verb, reply } => Some((*verb, reply.code().get())),
            _ => None,
        })
        .collect();
    assert_eq!(replies, vec![(Verb::Xclient, 250), (Verb::Xforward, 250)]);
    assert!(delivered(&events), "{events:?}");
}
