//! The blocking server runtime (`esmtp::runtime::server::blocking`) over
//! loopback: the same basics as the tokio runtime's tests — decisions in
//! pipelined order, graceful shutdown, connection limits, STARTTLS and
//! implicit TLS, LMTP. Each test starts its own server on threads of its
//! own and shuts it down; every wait is bounded.

use crate::common;
use crate::runtime_support;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use esmtp::ehlo::Mechanism;
use esmtp::params::RcptParams;
use esmtp::reply::Reply;
use esmtp::runtime::server::blocking::{Backend, Session, SmtpServer};
use esmtp::runtime::server::{
    Answer, ConnectionInfo, Direction, LmtpAnswer, MessageEnd, RuntimeConfig, SessionEnd,
};
use esmtp::server::{AbortReason, Credentials, ServerConfig};
use esmtp::values::{EnhancedStatusCode, ForwardPath, ReplyCode};

use runtime_support::{tls_pair, LineClient, HOST, WAIT};

/// A counting gate the test opens for a handler that waits.
#[derive(Default)]
struct Gate {
    permits: Mutex<u32>,
    opened: Condvar,
}

impl Gate {
    fn pass(&self) {
        let permits = self.permits.lock().unwrap();
        let (mut permits, timeout) = self
            .opened
            .wait_timeout_while(permits, WAIT, |p| *p == 0)
            .unwrap();
        assert!(!timeout.timed_out(), "the gate never opened");
        *permits -= 1;
    }

    fn open(&self) {
        *self.permits.lock().unwrap() += 1;
        self.opened.notify_all();
    }
}

#[derive(Default)]
struct State {
    log: Mutex<Vec<String>>,
    messages: Mutex<Vec<Vec<u8>>>,
    gate: Gate,
    connections: Mutex<Vec<ConnectionInfo>>,
    /// What `Session::transcript` saw, in order.
    wire: Mutex<Vec<(Direction, Vec<u8>)>>,
}

impl State {
    fn logged(&self, what: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(what))
    }

    fn wait_logged(&self, what: &str) {
        let start = Instant::now();
        while !self.logged(what) {
            assert!(
                start.elapsed() < WAIT,
                "never logged {what:?}: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        self.messages.lock().unwrap().clone()
    }
}

struct Recorders(Arc<State>);

impl Backend for Recorders {
    type Session = Recorder;

    fn new_session(&self, conn: &ConnectionInfo) -> Recorder {
        self.0.connections.lock().unwrap().push(conn.clone());
        Recorder {
            state: Arc::clone(&self.0),
            content: Vec::new(),
            recipients: Vec::new(),
        }
    }
}

struct Recorder {
    state: Arc<State>,
    content: Vec<u8>,
    recipients: Vec<String>,
}

impl Recorder {
    fn log(&self, what: String) {
        self.state.log.lock().unwrap().push(what);
    }
}

impl Session for Recorder {
    fn rcpt(&mut self, to: ForwardPath<'static>, _params: RcptParams<'static>) -> Answer {
        let to = to.to_string();
        self.log(format!("rcpt {to}"));
        if to.contains("bad") {
            return Answer::Deny;
        }
        self.recipients.push(to);
        Answer::Accept
    }

    fn content(&mut self, chunk: Bytes) {
        self.content.extend_from_slice(&chunk);
    }

    fn message_end(&mut self, _end: MessageEnd) -> Answer {
        if self.content.windows(7).any(|w| w == b"X-Gate:") {
            self.log("end waits".into());
            self.state.gate.pass();
        }
        let content = std::mem::take(&mut self.content);
        self.state.messages.lock().unwrap().push(content);
        self.recipients.clear();
        Answer::Accept
    }

    fn lmtp_message_end(&mut self, _end: MessageEnd) -> LmtpAnswer {
        let content = std::mem::take(&mut self.content);
        self.state.messages.lock().unwrap().push(content);
        LmtpAnswer::Each(
            self.recipients
                .drain(..)
                .map(|to| {
                    let (code, esc) = if to.contains("full") {
                        (
                            ReplyCode::INSUFFICIENT_STORAGE,
                            EnhancedStatusCode::new(4, 2, 2),
                        )
                    } else {
                        (ReplyCode::OK, EnhancedStatusCode::new(2, 0, 0))
                    };
                    Reply::new(code, esc, [format!("{to} done")]).unwrap()
                })
                .collect(),
        )
    }

    fn message_aborted(&mut self, reason: AbortReason) {
        self.content.clear();
        self.log(format!("aborted {reason:?}"));
    }

    fn auth(&mut self, credentials: Credentials) -> Answer {
        if credentials.username() == Some("user") && credentials.verify_password("secret") {
            Answer::Accept
        } else {
            Answer::Deny
        }
    }

    fn transcript(&mut self, direction: Direction, bytes: &[u8]) {
        let wire = &mut self.state.wire.lock().unwrap();
        wire.push((direction, bytes.to_vec()));
    }

    fn closed(&mut self, end: SessionEnd) {
        self.log(format!("closed {end:?}"));
    }
}

/// A blocking server serving on threads of its own; shut down and joined
/// on drop.
struct Running {
    server: SmtpServer<Recorders>,
    state: Arc<State>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    serving: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(
        config: ServerConfig,
        runtime: RuntimeConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Running {
        let state = Arc::new(State::default());
        let mut builder =
            SmtpServer::builder(config, Recorders(Arc::clone(&state))).runtime(runtime);
        if let Some(tls) = &tls {
            builder = builder.tls(Arc::clone(tls));
        }
        let server = builder.build();
        let plain = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = plain.local_addr().unwrap();
        let s = server.clone();
        let mut serving = vec![std::thread::spawn(move || s.serve(plain))];
        let mut tls_addr = None;
        if tls.is_some() {
            let implicit = TcpListener::bind("127.0.0.1:0").unwrap();
            tls_addr = Some(implicit.local_addr().unwrap());
            let s = server.clone();
            serving.push(std::thread::spawn(move || s.serve_tls(implicit)));
        }
        Running {
            server,
            state,
            addr,
            tls_addr,
            serving,
        }
    }

    fn connect(&self) -> LineClient<TcpStream> {
        let mut c = LineClient::connect(self.addr);
        assert_eq!(c.reply().code, 220);
        c
    }

    fn stop(&mut self) {
        self.server.shutdown_handle().shutdown();
        let start = Instant::now();
        for thread in self.serving.drain(..) {
            while !thread.is_finished() {
                assert!(start.elapsed() < WAIT * 4, "serve did not return");
                std::thread::sleep(Duration::from_millis(5));
            }
            thread.join().unwrap().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.shutdown_handle().shutdown();
        for thread in self.serving.drain(..) {
            let start = Instant::now();
            while !thread.is_finished() && start.elapsed() < WAIT {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn config() -> ServerConfig {
    ServerConfig::new(HOST).unwrap()
}

/// RFC 2920 §3.1: pipelined commands answered in order, each decision by
/// the handler on the connection's thread; the content handed over
/// dot-unstuffed (RFC 5321 §4.5.2).
#[test]
fn blocking_session_answers_pipelined_commands_in_order_rfc2920_3_1() {
    let srv = Running::start(config(), RuntimeConfig::default(), None);
    let mut c = srv.connect();
    assert_eq!(c.command("EHLO client.example").code, 250);
    c.send(
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<one@example.org>\r\n\
          RCPT TO:<bad@example.org>\r\nRCPT TO:<two@example.org>\r\nDATA\r\n",
    );
    let codes: Vec<u16> = (0..5).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 250, 550, 250, 354]);
    c.send(b"..dot\r\nline\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.command("QUIT").code, 221);
    assert!(c.try_reply().is_none());
    assert_eq!(srv.state.messages(), [b".dot\r\nline\r\n".to_vec()]);
    let rcpts: Vec<String> = srv
        .state
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("rcpt"))
        .cloned()
        .collect();
    assert_eq!(
        rcpts,
        [
            "rcpt <one@example.org>",
            "rcpt <bad@example.org>",
            "rcpt <two@example.org>"
        ]
    );
    srv.state.wait_logged("closed Closed(Quit)");
}

/// RFC 5321 §3.8 on a blocking server: idle sessions get `421 4.3.0`; a
/// message being received may finish and an end of message being answered
/// is answered first; `serve` returns.
#[test]
fn blocking_shutdown_sends_421_and_loses_no_acknowledged_message_rfc5321_3_8() {
    let mut srv = Running::start(config(), RuntimeConfig::default(), None);
    let state = Arc::clone(&srv.state);
    let mut idle = srv.connect();
    assert_eq!(idle.command("EHLO idle.example").code, 250);
    let mut partial = srv.connect();
    assert_eq!(partial.command("EHLO partial.example").code, 250);
    assert_eq!(partial.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(partial.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(partial.command("DATA").code, 354);
    partial.send(b"part of a message\r\n");
    let mut ending = srv.connect();
    assert_eq!(ending.command("EHLO ending.example").code, 250);
    assert_eq!(ending.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(ending.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(ending.command("DATA").code, 354);
    ending.send(b"X-Gate: yes\r\n\r\nkept\r\n.\r\n");
    state.wait_logged("end waits");

    srv.server.shutdown_handle().shutdown();
    let reply = idle.reply();
    assert!(
        reply.text().starts_with(&format!("421 4.3.0 {HOST} ")),
        "{reply:?}"
    );
    assert!(idle.try_reply().is_none());
    partial.send(b"and its end\r\n.\r\n");
    assert_eq!(partial.reply().code, 250, "the message under way finishes");
    assert_eq!(partial.reply().code, 421);
    state.gate.open();
    assert_eq!(ending.reply().code, 250, "the answer under way is sent");
    assert_eq!(ending.reply().code, 421);
    srv.stop();
    let messages = state.messages();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].ends_with(b"and its end\r\n"));
    assert!(messages[1].ends_with(b"kept\r\n"));
}

/// The end of the grace period on a blocking server: a message still
/// arriving is aborted with `421`, not stored.
#[test]
fn blocking_shutdown_grace_period_ends_with_421_inside_a_message_rfc5321_3_8() {
    let mut runtime = RuntimeConfig::default();
    runtime.shutdown_timeout = Duration::from_millis(300);
    let mut srv = Running::start(config(), runtime, None);
    let mut c = srv.connect();
    assert_eq!(c.command("EHLO c.example").code, 250);
    assert_eq!(c.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(c.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(c.command("DATA").code, 354);
    c.send(b"a message that never ends\r\n");
    srv.server.shutdown_handle().shutdown();
    let reply = c.reply();
    assert!(reply.text().starts_with("421 4.3.0 "), "{reply:?}");
    srv.stop();
    assert!(srv.state.messages().is_empty());
    assert!(srv.state.logged("aborted Disconnected"));
}

/// RFC 5321 §3.1 / RFC 3463 §3.8: `421 4.7.0` over the connection limits.
#[test]
fn blocking_connection_limits_refuse_with_421_4_7_0_rfc5321_3_1() {
    let mut runtime = RuntimeConfig::default();
    runtime.max_connections = 2;
    runtime.max_connections_per_ip = 1;
    let srv = Running::start(config(), runtime, None);
    let greet = |from: [u8; 4]| {
        let mut c = LineClient::connect_from(Ipv4Addr::from(from), srv.addr);
        let reply = c.reply();
        (c, reply)
    };
    let (mut first, reply) = greet([127, 0, 0, 1]);
    assert_eq!(reply.code, 220);
    let (_, reply) = greet([127, 0, 0, 1]);
    assert!(reply.text().starts_with("421 4.7.0 "), "{reply:?}");
    assert!(reply.text().contains("from your address"), "{reply:?}");
    let (_second, reply) = greet([127, 0, 0, 2]);
    assert_eq!(reply.code, 220);
    let (_, reply) = greet([127, 0, 0, 3]);
    assert_eq!(
        reply.text(),
        format!("421 4.7.0 {HOST} Too many connections, try again later")
    );
    assert_eq!(first.command("QUIT").code, 221);
    let start = Instant::now();
    while srv.server.open_sessions() > 1 {
        assert!(start.elapsed() < WAIT);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(greet([127, 0, 0, 1]).1.code, 220);
}

/// RFC 3207 and RFC 8314 §3.3 on the blocking server: STARTTLS on the
/// plain listener, implicit TLS on the other, AUTH only under TLS.
#[test]
fn blocking_starttls_and_implicit_tls_rfc3207_rfc8314() {
    let dir = common::TempDir::new("runtime-blocking-tls");
    let Some((server_tls, client_tls)) = tls_pair(dir.path()) else {
        return;
    };
    let mut config = config();
    config.extensions.auth = vec![Mechanism::Plain];
    let srv = Running::start(config, RuntimeConfig::default(), Some(server_tls));
    let handshake = |tcp: TcpStream| {
        let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
        let conn = rustls::ClientConnection::new(Arc::clone(&client_tls), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
        }
        LineClient::new(tls)
    };

    let mut plain = srv.connect();
    let ehlo = plain.command("EHLO client.example");
    assert!(
        ehlo.text().contains("STARTTLS") && !ehlo.text().contains("AUTH"),
        "{ehlo:?}"
    );
    assert_eq!(plain.command("STARTTLS").code, 220);
    let mut tls = handshake(plain.into_inner());
    let ehlo = tls.command("EHLO client.example");
    assert!(
        !ehlo.text().contains("STARTTLS") && ehlo.text().contains("AUTH PLAIN"),
        "{ehlo:?}"
    );
    assert_eq!(tls.command("AUTH PLAIN AHVzZXIAc2VjcmV0").code, 235);
    assert_eq!(tls.command("QUIT").code, 221);

    let tcp = TcpStream::connect_timeout(&srv.tls_addr.unwrap(), WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = handshake(tcp);
    assert_eq!(tls.reply().code, 220);
    let ehlo = tls.command("EHLO client.example");
    assert!(
        !ehlo.text().contains("STARTTLS") && ehlo.text().contains("AUTH PLAIN"),
        "{ehlo:?}"
    );
    assert_eq!(tls.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(tls.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(tls.command("DATA").code, 354);
    tls.send(b"over implicit TLS\r\n.\r\n");
    assert_eq!(tls.reply().code, 250);
    assert_eq!(tls.command("QUIT").code, 221);
    let connections = srv.state.connections.lock().unwrap().clone();
    assert!(connections[1].tls.as_ref().is_some_and(|t| t.implicit));
    assert_eq!(srv.state.messages(), [b"over implicit TLS\r\n".to_vec()]);
}

/// RFC 2033 §4.2 on the blocking server: one reply per recipient.
#[test]
fn blocking_lmtp_answers_each_recipient_rfc2033_4_2() {
    let srv = Running::start(config().lmtp(), RuntimeConfig::default(), None);
    let mut c = srv.connect();
    assert_eq!(c.command("LHLO client.example").code, 250);
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<one@example.org>\r\nRCPT TO:<full@example.org>\r\nDATA\r\n");
    let codes: Vec<u16> = (0..4).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 354]);
    c.send(b"Hi\r\n.\r\n");
    assert_eq!(c.reply().text(), "250 2.0.0 <one@example.org> done");
    assert_eq!(c.reply().text(), "452 4.2.2 <full@example.org> done");
    assert_eq!(c.command("QUIT").code, 221);
}

/// `Session::transcript` on the blocking server: every octet both ways,
/// in order, the greeting first and the 221 last.
#[test]
fn blocking_transcript_tap_sees_every_octet_both_ways() {
    let srv = Running::start(config(), RuntimeConfig::default(), None);
    let mut c = srv.connect();
    let input =
        b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n";
    c.send(input);
    let codes: Vec<u16> = (0..4).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 354]);
    c.send(b"Hi\r\n.\r\nQUIT\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.reply().code, 221);
    srv.state.wait_logged("closed");
    let wire = srv.state.wire.lock().unwrap().clone();
    let joined = |direction| -> Vec<u8> {
        wire.iter()
            .filter(|(d, _)| *d == direction)
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    };
    assert_eq!(
        joined(Direction::Received),
        [&input[..], b"Hi\r\n.\r\nQUIT\r\n"].concat()
    );
    let sent = String::from_utf8(joined(Direction::Sent)).unwrap();
    assert!(
        sent.starts_with("220 ") && sent.contains("\r\n354 "),
        "{sent}"
    );
    assert!(sent.ends_with("closing connection\r\n"), "{sent}");
    assert!(wire[0].0 == Direction::Sent, "{wire:?}");
    assert_eq!(wire.last().map(|w| w.0), Some(Direction::Sent), "{wire:?}");
}
