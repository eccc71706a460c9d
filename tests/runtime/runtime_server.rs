//! The tokio server runtime (`esmtp::runtime::server`) over loopback: the
//! order of deferred decisions under pipelining, graceful shutdown, the
//! connection limits, STARTTLS and implicit TLS, LMTP's per-recipient
//! replies, role reversal and the write deadline. Each test starts its own
//! server on a runtime of its own and shuts it down; every wait is bounded.

use crate::common;
use crate::runtime_support;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use esmtp::ehlo::Mechanism;
use esmtp::params::RcptParams;
use esmtp::reply::Reply;
use esmtp::runtime::server::{
    Answer, Backend, ConnectionInfo, Direction, LmtpAnswer, MessageEnd, Reversal, RuntimeConfig,
    Session, SessionEnd, SmtpServer, TlsInfo,
};
use esmtp::server::{AbortReason, Credentials, ServerConfig};
use esmtp::values::{EnhancedStatusCode, ForwardPath, ReplyCode};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use runtime_support::{tls_pair, LineClient, HOST, WAIT};

/// What every session of one test server saw.
struct State {
    /// `"<connection id> <what>"`, in order.
    log: Mutex<Vec<String>>,
    /// Messages accepted (content as received).
    messages: Mutex<Vec<Vec<u8>>>,
    /// Closed by the test: a `slow` recipient and a message with an
    /// `X-Gate:` field wait for a permit.
    gate: Semaphore,
    connections: Mutex<Vec<ConnectionInfo>>,
    tls: Mutex<Vec<TlsInfo>>,
    /// What `Session::transcript` saw, in order.
    wire: Mutex<Vec<(Direction, Vec<u8>)>>,
}

impl Default for State {
    fn default() -> Self {
        State {
            log: Mutex::default(),
            messages: Mutex::default(),
            gate: Semaphore::new(0),
            connections: Mutex::default(),
            tls: Mutex::default(),
            wire: Mutex::default(),
        }
    }
}

impl State {
    fn log(&self, id: u64, what: impl Into<String>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{id} {}", what.into()));
    }

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

/// The backend: one [`Recorder`] per connection.
#[derive(Clone)]
struct Recorders(Arc<State>);

impl Backend for Recorders {
    type Session = Recorder;

    fn new_session(&self, conn: &ConnectionInfo) -> Recorder {
        self.0.connections.lock().unwrap().push(conn.clone());
        Recorder {
            state: Arc::clone(&self.0),
            id: conn.id,
            content: Vec::new(),
            recipients: Vec::new(),
        }
    }
}

struct Recorder {
    state: Arc<State>,
    id: u64,
    content: Vec<u8>,
    recipients: Vec<String>,
}

impl Recorder {
    fn log(&self, what: impl Into<String>) {
        self.state.log(self.id, what);
    }

    async fn pass_gate(&self) {
        self.state.gate.acquire().await.unwrap().forget();
    }
}

impl Session for Recorder {
    async fn mail(
        &mut self,
        from: esmtp::values::ReversePath<'static>,
        _params: esmtp::params::MailParams<'static>,
        _send: Option<esmtp::command::SendMode>,
    ) -> Answer {
        self.log(format!("mail {from}"));
        self.content.clear();
        self.recipients.clear();
        Answer::Accept
    }

    async fn rcpt(&mut self, to: ForwardPath<'static>, _params: RcptParams<'static>) -> Answer {
        let to = to.to_string();
        self.log(format!("rcpt {to} asked"));
        if to.contains("slow") {
            self.pass_gate().await;
        }
        self.log(format!("rcpt {to} answered"));
        if to.contains("bad") {
            Answer::Deny
        } else {
            self.recipients.push(to);
            Answer::Accept
        }
    }

    async fn content(&mut self, chunk: Bytes) {
        self.content.extend_from_slice(&chunk);
    }

    async fn message_end(&mut self, _end: MessageEnd) -> Answer {
        if self.content.windows(7).any(|w| w == b"X-Gate:") {
            self.log("end waits");
            self.pass_gate().await;
        }
        self.state
            .messages
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.content));
        self.log("stored");
        Answer::Accept
    }

    async fn lmtp_message_end(&mut self, end: MessageEnd) -> LmtpAnswer {
        assert_eq!(end.recipients as usize, self.recipients.len());
        self.state
            .messages
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.content));
        // RFC 2033 §4.2: one reply per recipient; a full mailbox is a 452.
        let replies = self
            .recipients
            .iter()
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
            .collect();
        LmtpAnswer::Each(replies)
    }

    fn message_aborted(&mut self, reason: AbortReason) {
        self.content.clear();
        self.log(format!("aborted {reason:?}"));
    }

    async fn auth(&mut self, credentials: Credentials) -> Answer {
        if credentials.username() == Some("user") && credentials.verify_password("secret") {
            Answer::Accept
        } else {
            Answer::Deny
        }
    }

    async fn turn(&mut self) -> Answer {
        Answer::Accept
    }

    async fn reversed(&mut self, mut reversal: Reversal) {
        self.log(format!("reversed {:?}", reversal.leftover));
        let _ = reversal
            .stream
            .write_all(b"HELO reversed.example\r\n")
            .await;
        let _ = reversal.stream.shutdown().await;
    }

    fn tls_established(&mut self, tls: &TlsInfo) {
        self.state.tls.lock().unwrap().push(tls.clone());
    }

    fn transcript(&mut self, direction: Direction, bytes: &[u8]) {
        let wire = &mut self.state.wire.lock().unwrap();
        wire.push((direction, bytes.to_vec()));
    }

    fn closed(&mut self, end: SessionEnd) {
        self.log(format!("closed {end:?}"));
    }
}

/// A server on its own runtime, with a plain and (given TLS) an
/// implicit-TLS listener; shut down and awaited on drop.
struct Running {
    server: SmtpServer<Recorders>,
    state: Arc<State>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    serving: Vec<tokio::task::JoinHandle<io::Result<()>>>,
    runtime: tokio::runtime::Runtime,
}

impl Running {
    fn start(
        config: ServerConfig,
        runtime_config: RuntimeConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(State::default());
        let mut builder =
            SmtpServer::builder(config, Recorders(Arc::clone(&state))).runtime(runtime_config);
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
        Running {
            server,
            state,
            addr,
            tls_addr,
            serving,
            runtime,
        }
    }

    fn plain(config: ServerConfig) -> Running {
        Running::start(config, RuntimeConfig::default(), None)
    }

    fn connect(&self) -> LineClient<std::net::TcpStream> {
        let mut c = LineClient::connect(self.addr);
        assert_eq!(c.reply().code, 220);
        c
    }

    /// Shuts down and waits for every `serve` to return.
    fn stop(&mut self) {
        self.server.shutdown_handle().shutdown();
        for task in self.serving.drain(..) {
            let done = self
                .runtime
                .block_on(async { tokio::time::timeout(WAIT * 4, task).await });
            done.expect("serve returns after the shutdown")
                .expect("serve task")
                .expect("serve");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.shutdown_handle().shutdown();
        for task in self.serving.drain(..) {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(WAIT, task).await });
        }
    }
}

fn config() -> ServerConfig {
    ServerConfig::new(HOST).unwrap()
}

/// RFC 2920 §3.1: a server answers pipelined commands in order, and a
/// decision the handler takes its time over holds later commands back.
/// The replies already owed go out meanwhile.
#[test]
fn deferred_rcpt_decision_holds_pipelined_commands_in_order_rfc2920_3_1() {
    let srv = Running::plain(config());
    let state = &srv.state;
    let mut c = srv.connect();
    assert_eq!(c.command("EHLO client.example").code, 250);
    c.send(
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<slow@example.org>\r\n\
          RCPT TO:<bad@example.org>\r\nRCPT TO:<fast@example.org>\r\nDATA\r\n",
    );
    // MAIL's reply comes while the slow recipient is still being decided.
    assert_eq!(c.reply().code, 250);
    state.wait_logged("rcpt <slow@example.org> asked");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !state.logged("<bad@example.org>") && !state.logged("<fast@example.org>"),
        "later commands ran early: {:?}",
        state.log.lock().unwrap()
    );
    state.gate.add_permits(1);
    let codes: Vec<u16> = (0..4).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 550, 250, 354]);
    c.send(b"Hello\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.command("QUIT").code, 221);
    assert!(c.try_reply().is_none());
    let log: Vec<String> = state
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("rcpt"))
        .map(|l| l.split_once(' ').unwrap().1.to_owned())
        .collect();
    assert_eq!(
        log,
        [
            "rcpt <slow@example.org> asked",
            "rcpt <slow@example.org> answered",
            "rcpt <bad@example.org> asked",
            "rcpt <bad@example.org> answered",
            "rcpt <fast@example.org> asked",
            "rcpt <fast@example.org> answered",
        ]
    );
    assert_eq!(state.messages(), [b"Hello\r\n".to_vec()]);
}

/// Sends a whole message on a greeted client and returns the reply to its
/// end.
fn send_message(c: &mut LineClient<std::net::TcpStream>, body: &str) -> runtime_support::Reply {
    assert_eq!(c.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(c.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(c.command("DATA").code, 354);
    c.send(format!("{body}\r\n.\r\n").as_bytes());
    c.reply()
}

/// Graceful shutdown (RFC 5321 §3.8: `421` closes the channel): open
/// sessions get `421 4.3.0` between commands; an end of message the
/// handler is answering is answered first, and a message being received
/// may finish; a message acknowledged is stored exactly once.
#[test]
fn shutdown_sends_421_between_commands_and_loses_no_acknowledged_message_rfc5321_3_8() {
    let mut srv = Running::plain(config());
    let state = Arc::clone(&srv.state);
    // A: delivered before the shutdown.
    let mut a = srv.connect();
    assert_eq!(a.command("EHLO a.example").code, 250);
    assert_eq!(send_message(&mut a, "message A").code, 250);
    // B: in the middle of its content.
    let mut b = srv.connect();
    assert_eq!(b.command("EHLO b.example").code, 250);
    assert_eq!(b.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(b.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(b.command("DATA").code, 354);
    b.send(b"Subject: B\r\n\r\npart of B\r\n");
    // C: idle.
    let mut c = srv.connect();
    assert_eq!(c.command("EHLO c.example").code, 250);
    // D: its end of message is being answered when the shutdown comes.
    let mut d = srv.connect();
    assert_eq!(d.command("EHLO d.example").code, 250);
    assert_eq!(d.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(d.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(d.command("DATA").code, 354);
    d.send(b"X-Gate: yes\r\n\r\nmessage D\r\n.\r\n");
    state.wait_logged("end waits");

    srv.server.shutdown_handle().shutdown();
    for (name, client) in [("A", &mut a), ("C", &mut c)] {
        let reply = client.reply();
        assert_eq!(reply.code, 421, "{name}: {reply:?}");
        assert!(
            reply.text().starts_with(&format!("421 4.3.0 {HOST} ")),
            "{name}: {reply:?}"
        );
        assert!(client.try_reply().is_none(), "{name}: more after the 421");
    }
    // B finishes its message, then gets the 421.
    b.send(b"rest of B\r\n.\r\n");
    assert_eq!(b.reply().code, 250);
    assert_eq!(b.reply().code, 421);
    assert!(b.try_reply().is_none());
    state.gate.add_permits(1);
    assert_eq!(d.reply().code, 250, "the answer under way is sent");
    assert_eq!(d.reply().code, 421);
    assert!(d.try_reply().is_none());

    srv.stop();
    let messages = state.messages();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].ends_with(b"message A\r\n"));
    assert!(messages[1].ends_with(b"rest of B\r\n"));
    assert!(messages[2].ends_with(b"message D\r\n"));
    // The listener is closed: no greeting for a latecomer.
    if let Ok(tcp) = std::net::TcpStream::connect_timeout(&srv.addr, WAIT) {
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let mut byte = [0u8; 1];
        assert!(matches!((&tcp).read(&mut byte), Ok(0) | Err(_)));
    }
}

/// At the end of the grace period a message still arriving is aborted
/// with `421` (RFC 5321 §3.8): never acknowledged, never stored, and the
/// handler is told.
#[test]
fn shutdown_grace_period_ends_with_421_inside_a_message_rfc5321_3_8() {
    let mut runtime = RuntimeConfig::default();
    runtime.shutdown_timeout = Duration::from_millis(300);
    let mut srv = Running::start(config(), runtime, None);
    let state = Arc::clone(&srv.state);
    let mut c = srv.connect();
    assert_eq!(c.command("EHLO c.example").code, 250);
    assert_eq!(c.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(c.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(c.command("DATA").code, 354);
    c.send(b"a message that never ends\r\n");
    let start = Instant::now();
    srv.server.shutdown_handle().shutdown();
    let reply = c.reply();
    assert!(reply.text().starts_with("421 4.3.0 "), "{reply:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "421 before the grace period ended"
    );
    assert!(c.try_reply().is_none());
    srv.stop();
    assert!(state.messages().is_empty());
    assert!(state.logged("aborted Disconnected"));
    assert!(state.logged("closed Closed(Shutdown)"));
}

/// RFC 5321 §3.1: a server may refuse a connection with `421` in place of
/// the greeting; over a limit the runtime does, with `4.7.0` (RFC 3463
/// §3.8), counting in all and per client address.
#[test]
fn connection_limits_refuse_with_421_4_7_0_rfc5321_3_1() {
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
    let (mut same_ip, reply) = greet([127, 0, 0, 1]);
    assert_eq!(
        reply.text(),
        format!("421 4.7.0 {HOST} Too many connections from your address, try again later")
    );
    assert!(same_ip.try_reply().is_none(), "closed after the 421");
    let (_second, reply) = greet([127, 0, 0, 2]);
    assert_eq!(reply.code, 220);
    let (_, reply) = greet([127, 0, 0, 3]);
    assert_eq!(
        reply.text(),
        format!("421 4.7.0 {HOST} Too many connections, try again later")
    );
    // A session that ends frees its place.
    assert_eq!(first.command("QUIT").code, 221);
    let start = Instant::now();
    while srv.server.open_sessions() > 1 {
        assert!(start.elapsed() < WAIT);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(greet([127, 0, 0, 1]).1.code, 220);
}

/// A TLS client over `tcp`, handshake done.
fn tls_client(
    client: &Arc<rustls::ClientConfig>,
    tcp: std::net::TcpStream,
) -> LineClient<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>> {
    let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(client), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    LineClient::new(tls)
}

/// RFC 3207 (STARTTLS on the plain listener) and RFC 8314 §3.3 (implicit
/// TLS on a second listener), served by one server: after STARTTLS the
/// client must greet again and STARTTLS is no longer offered; AUTH PLAIN
/// is offered only under TLS (RFC 4954 §4).
#[test]
fn starttls_and_implicit_tls_on_one_server_rfc3207_rfc8314() {
    let dir = common::TempDir::new("runtime-tls");
    let Some((server_tls, client_tls)) = tls_pair(dir.path()) else {
        return;
    };
    let mut config = config();
    config.extensions.auth = vec![Mechanism::Plain];
    let srv = Running::start(config, RuntimeConfig::default(), Some(server_tls));
    let auth = "AUTH PLAIN AHVzZXIAc2VjcmV0"; // \0user\0secret

    // STARTTLS.
    let mut plain = srv.connect();
    let ehlo = plain.command("EHLO client.example");
    assert!(ehlo.text().contains("STARTTLS"), "{ehlo:?}");
    assert!(!ehlo.text().contains("AUTH"), "AUTH in the clear: {ehlo:?}");
    assert_eq!(plain.command("STARTTLS").code, 220);
    let mut tls = tls_client(&client_tls, plain.into_inner());
    assert_eq!(
        tls.command("MAIL FROM:<a@example.org>").code,
        503,
        "EHLO again first"
    );
    let ehlo = tls.command("EHLO client.example");
    assert!(!ehlo.text().contains("STARTTLS"), "{ehlo:?}");
    assert!(ehlo.text().contains("AUTH PLAIN"), "{ehlo:?}");
    assert_eq!(tls.command(auth).code, 235);
    assert_eq!(tls.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(tls.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(tls.command("DATA").code, 354);
    tls.send(b"over STARTTLS\r\n.\r\n");
    assert_eq!(tls.reply().code, 250);
    assert_eq!(tls.command("QUIT").code, 221);
    let negotiated = srv.state.tls.lock().unwrap().clone();
    assert_eq!(negotiated.len(), 1);
    assert!(!negotiated[0].implicit);
    assert!(negotiated[0].protocol.is_some());
    assert_eq!(negotiated[0].server_name.as_deref(), Some(HOST));

    // Implicit TLS.
    let tcp = std::net::TcpStream::connect_timeout(&srv.tls_addr.unwrap(), WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = tls_client(&client_tls, tcp);
    assert_eq!(tls.reply().code, 220);
    let ehlo = tls.command("EHLO client.example");
    assert!(!ehlo.text().contains("STARTTLS"), "{ehlo:?}");
    assert!(ehlo.text().contains("AUTH PLAIN"), "{ehlo:?}");
    assert_eq!(tls.command(auth).code, 235);
    assert_eq!(tls.command("MAIL FROM:<a@example.org>").code, 250);
    assert_eq!(tls.command("RCPT TO:<b@example.org>").code, 250);
    assert_eq!(tls.command("DATA").code, 354);
    tls.send(b"over implicit TLS\r\n.\r\n");
    assert_eq!(tls.reply().code, 250);
    assert_eq!(tls.command("QUIT").code, 221);

    let connections = srv.state.connections.lock().unwrap().clone();
    assert_eq!(connections.len(), 2);
    assert!(connections[0].tls.is_none());
    let implicit = connections[1].tls.as_ref().expect("TLS state at connect");
    assert!(implicit.implicit);
    assert_eq!(
        srv.state.messages(),
        [
            b"over STARTTLS\r\n".to_vec(),
            b"over implicit TLS\r\n".to_vec()
        ]
    );
}

/// RFC 2033 §4.2: after the content of an LMTP message, one reply per
/// accepted recipient, in RCPT order, each from the handler.
#[test]
fn lmtp_answers_each_recipient_in_order_rfc2033_4_2() {
    let srv = Running::plain(config().lmtp());
    let mut c = srv.connect();
    assert_eq!(c.command("LHLO client.example").code, 250);
    c.send(
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<one@example.org>\r\n\
          RCPT TO:<bad@example.org>\r\nRCPT TO:<full@example.org>\r\nDATA\r\n",
    );
    let codes: Vec<u16> = (0..5).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 250, 550, 250, 354]);
    c.send(b"Hi\r\n.\r\n");
    assert_eq!(c.reply().text(), "250 2.0.0 <one@example.org> done");
    assert_eq!(c.reply().text(), "452 4.2.2 <full@example.org> done");
    assert_eq!(c.command("QUIT").code, 221);
    assert_eq!(srv.state.messages(), [b"Hi\r\n".to_vec()]);
}

/// RFC 821 §3.8: after TURN's 250 the connection runs the other way; the
/// handler gets the stream and the bytes that followed the command.
#[test]
fn turn_hands_the_stream_and_leftover_to_the_handler_rfc821_3_8() {
    let mut config = config();
    config.extensions.turn = true;
    let srv = Running::plain(config);
    let mut c = srv.connect();
    assert_eq!(c.command("EHLO client.example").code, 250);
    c.send(b"TURN\r\n220 client.example ready\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.rest(), b"HELO reversed.example\r\n");
    srv.state
        .wait_logged("reversed b\"220 client.example ready\\r\\n\"");
}

/// The machine's idle timeout (RFC 5321 §4.5.3.2.7) runs through the
/// runtime's clock: `421 4.4.2` when no command comes.
#[test]
fn idle_client_gets_421_4_4_2_from_the_machine_timeout_rfc5321_4_5_3_2_7() {
    let mut config = config();
    config.timeouts.command = Duration::from_millis(300);
    let srv = Running::plain(config);
    let mut c = srv.connect();
    let start = Instant::now();
    let reply = c.reply();
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(reply.text().starts_with("421 4.4.2"), "{reply:?}");
    assert!(start.elapsed() < WAIT);
    srv.state.wait_logged("closed Closed(Timeout)");
}

/// A client that pipelines commands and never reads its replies is cut
/// off at the write deadline rather than holding its session forever.
#[test]
fn client_that_never_reads_is_closed_at_the_write_deadline() {
    let mut runtime = RuntimeConfig::default();
    runtime.write_timeout = Duration::from_millis(500);
    let srv = Running::start(config(), runtime, None);
    let mut tcp = std::net::TcpStream::connect_timeout(&srv.addr, WAIT).unwrap();
    tcp.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let helps = b"HELP\r\n".repeat(1000);
    let start = Instant::now();
    // Write until the server stops reading (its replies are stuck) or
    // drops the connection.
    while start.elapsed() < WAIT && tcp.write_all(&helps).is_ok() {}
    srv.state.wait_logged("closed Failed");
    assert!(
        srv.state.logged("TimedOut"),
        "{:?}",
        srv.state.log.lock().unwrap()
    );
}

/// The octets one direction of a transcript carried, joined.
fn joined(wire: &[(Direction, Vec<u8>)], direction: Direction) -> Vec<u8> {
    wire.iter()
        .filter(|(d, _)| *d == direction)
        .flat_map(|(_, b)| b.iter().copied())
        .collect()
}

/// `Session::transcript` sees every octet both ways, in order: what the
/// client sent exactly, and every reply it read, including the replies
/// written while a slow RCPT decision was awaited (RFC 2920 §3.1).
#[test]
fn transcript_tap_sees_every_octet_both_ways_in_order() {
    let srv = Running::plain(config());
    let mut tcp = std::net::TcpStream::connect(srv.addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut read = Vec::new();
    let mut read_until = |tcp: &mut std::net::TcpStream, done: &dyn Fn(&str) -> bool| {
        let mut buf = [0u8; 4096];
        while !done(&String::from_utf8_lossy(&read)) {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&read));
            read.extend_from_slice(&buf[..n]);
        }
    };
    read_until(&mut tcp, &|r| r.ends_with("\r\n"));
    let ehlo = b"EHLO client.example\r\n";
    let pipelined = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<slow@example.org>\r\nQUIT\r\n";
    tcp.write_all(ehlo).unwrap();
    read_until(&mut tcp, &|r| r.contains("\r\n250 ") && r.ends_with("\r\n"));
    tcp.write_all(pipelined).unwrap();
    srv.state.wait_logged("rcpt <slow@example.org> asked");
    // MAIL's reply goes out while the RCPT is pending.
    read_until(&mut tcp, &|r| r.ends_with("250 2.1.0 Sender OK\r\n"));
    srv.state.gate.add_permits(1);
    read_until(&mut tcp, &|r| r.contains("\r\n221 ") && r.ends_with("\r\n"));
    srv.state.wait_logged("closed");
    let wire = srv.state.wire.lock().unwrap().clone();
    assert_eq!(
        joined(&wire, Direction::Received),
        [&ehlo[..], pipelined].concat()
    );
    assert_eq!(joined(&wire, Direction::Sent), read);
    // In order: the greeting first, MAIL's reply after the input that
    // carried it and before the RCPT's, the 221 last.
    let at = |what: &[u8]| {
        wire.iter()
            .position(|(_, b)| b.windows(what.len()).any(|w| w == what))
            .unwrap_or_else(|| panic!("{:?} not in {wire:?}", String::from_utf8_lossy(what)))
    };
    assert!(wire[0].0 == Direction::Sent && wire[0].1.starts_with(b"220 "));
    assert!(at(b"MAIL FROM") < at(b"Sender OK"), "{wire:?}");
    assert!(at(b"Sender OK") < at(b"Recipient OK"), "{wire:?}");
    assert_eq!(at(b"221 "), wire.len() - 1, "{wire:?}");
}
