//! BURL (RFC 4468) and CHECKPOINT (RFC 1845) through the runtime layer
//! over loopback: the server `Session`'s `burl` hook and
//! `Answer::Restart`, the client `Transport::send_parts`, and a message
//! whose connection is lost in the middle of DATA resumed by a transport
//! on a new connection. Every wait is bounded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use esmtp::client::{ClientConfig, Envelope, Part};
use esmtp::ext::burl::Url;
use esmtp::ext::checkpoint::{resume_offset, TransId};
use esmtp::params::{MailParams, RcptParams};
use esmtp::runtime::client::{Endpoint, Error, Reconnect};
use esmtp::runtime::server::{Answer, BurlAnswer, ConnectionInfo, MessageEnd};
use esmtp::server::{AbortReason, ServerConfig};
use esmtp::values::{Domain, ForwardPath, Mailbox, ReversePath};

const WAIT: Duration = Duration::from_secs(10);
const URL: &str = "imap://imap.example.org/outbox;uid=25;urlauth=submit+harry:internal:0123";
const FETCHED: &[u8] = b"Subject: from the IMAP server\r\n\r\nbody\r\n";

/// What every connection of one server shares: content stored by TRANSID
/// when a connection was lost, and the messages delivered.
#[derive(Default)]
struct Shared {
    partial: Mutex<HashMap<String, (Vec<u8>, u32)>>,
    delivered: Mutex<Vec<Vec<u8>>>,
}

/// One connection: a submission server that resolves [`URL`] and
/// restarts interrupted transactions.
struct Submit {
    shared: Arc<Shared>,
    transid: Option<String>,
    content: Vec<u8>,
    recipients: u32,
}

impl Submit {
    fn new(shared: &Arc<Shared>) -> Self {
        Submit {
            shared: Arc::clone(shared),
            transid: None,
            content: Vec::new(),
            recipients: 0,
        }
    }

    fn mail(&mut self, params: &MailParams<'static>) -> Answer {
        self.transid = params
            .extras()
            .transid
            .as_ref()
            .map(|t| t.spec().to_owned());
        self.content.clear();
        self.recipients = 0;
        let stored =
            (self.transid.as_ref()).and_then(|t| self.shared.partial.lock().unwrap().remove(t));
        match stored {
            // RFC 1845 §3: DATA resumes at the start of a line.
            Some((mut content, recipients)) => {
                let offset = resume_offset(&content);
                content.truncate(offset as usize);
                self.content = content;
                self.recipients = recipients;
                Answer::Restart { offset, recipients }
            }
            None => Answer::Accept,
        }
    }

    fn burl(url: &str) -> BurlAnswer {
        if url == URL {
            BurlAnswer::Content(Bytes::from_static(FETCHED))
        } else {
            BurlAnswer::Unavailable
        }
    }

    fn end(&mut self) -> Answer {
        let content = std::mem::take(&mut self.content);
        self.shared.delivered.lock().unwrap().push(content);
        Answer::Accept
    }

    fn aborted(&mut self) {
        if let Some(t) = self.transid.clone() {
            let kept = (std::mem::take(&mut self.content), self.recipients);
            self.shared.partial.lock().unwrap().insert(t, kept);
        }
    }
}

impl esmtp::runtime::server::Session for Submit {
    async fn mail(
        &mut self,
        _: ReversePath<'static>,
        params: MailParams<'static>,
        _: Option<esmtp::command::SendMode>,
    ) -> Answer {
        Submit::mail(self, &params)
    }
    async fn rcpt(&mut self, _: ForwardPath<'static>, _: RcptParams<'static>) -> Answer {
        self.recipients += 1;
        Answer::Accept
    }
    async fn burl(&mut self, url: String, _last: bool) -> BurlAnswer {
        Submit::burl(&url)
    }
    async fn content(&mut self, chunk: Bytes) {
        self.content.extend_from_slice(&chunk);
    }
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.end()
    }
    fn message_aborted(&mut self, _: AbortReason) {
        self.aborted();
    }
}

impl esmtp::runtime::server::blocking::Session for Submit {
    fn mail(
        &mut self,
        _: ReversePath<'static>,
        params: MailParams<'static>,
        _: Option<esmtp::command::SendMode>,
    ) -> Answer {
        Submit::mail(self, &params)
    }
    fn rcpt(&mut self, _: ForwardPath<'static>, _: RcptParams<'static>) -> Answer {
        self.recipients += 1;
        Answer::Accept
    }
    fn burl(&mut self, url: String, _last: bool) -> BurlAnswer {
        Submit::burl(&url)
    }
    fn content(&mut self, chunk: Bytes) {
        self.content.extend_from_slice(&chunk);
    }
    fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.end()
    }
    fn message_aborted(&mut self, _: AbortReason) {
        self.aborted();
    }
}

/// A session with only what it must have: BURL keeps its default.
struct Plain;

impl esmtp::runtime::server::Session for Plain {
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        Answer::Accept
    }
}

fn server_config() -> ServerConfig {
    let mut s = ServerConfig::new("mx.example.org").unwrap();
    s.extensions.burl = Some(vec!["imap".into()]);
    s.extensions.checkpoint = true;
    s
}

/// With `chunking` off, content goes with DATA.
fn client_config(chunking: bool) -> ClientConfig {
    let mut c = ClientConfig::new(Domain::parse("client.example").unwrap().into_owned());
    c.chunking = chunking;
    c
}

fn envelope() -> Envelope {
    Envelope::new(Mailbox::parse("harry@example.org").unwrap().into_owned()).to(Mailbox::parse(
        "ron@example.org",
    )
    .unwrap()
    .into_owned())
}

fn parts() -> Vec<Part> {
    vec![
        Part::Bytes(Bytes::from_static(b"X-Note: forwarded below\r\n")),
        Part::Burl(Url::new(URL).unwrap()),
    ]
}

fn until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends MAIL with `TRANSID=`, RCPT, DATA and the first `sent` octets of
/// `content` over a raw connection, then drops it: a connection lost in
/// the middle of the content.
fn lose_connection_mid_data(addr: SocketAddr, transid: &str, content: &[u8], sent: usize) {
    let tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut reader = BufReader::new(tcp.try_clone().unwrap());
    let mut w = tcp;
    let mut reply = |w: &mut TcpStream, line: &str| {
        if !line.is_empty() {
            w.write_all(line.as_bytes()).unwrap();
        }
        loop {
            let mut l = String::new();
            reader.read_line(&mut l).unwrap();
            if l.as_bytes().get(3) != Some(&b'-') {
                return l;
            }
        }
    };
    assert!(reply(&mut w, "").starts_with("220"));
    assert!(reply(&mut w, "EHLO client.example\r\n").starts_with("250"));
    let mail = format!("MAIL FROM:<harry@example.org> TRANSID=<{transid}>\r\n");
    assert!(reply(&mut w, &mail).starts_with("250"));
    assert!(reply(&mut w, "RCPT TO:<ron@example.org>\r\n").starts_with("250"));
    assert!(reply(&mut w, "DATA\r\n").starts_with("354"));
    w.write_all(&content[..sent]).unwrap();
    w.flush().unwrap();
    drop(w);
}

fn message() -> Vec<u8> {
    let mut m = b"Subject: resumed\r\n\r\n".to_vec();
    for i in 0..200 {
        m.extend_from_slice(format!("line {i} of a long message\r\n").as_bytes());
    }
    m
}

/// RFC 4468 §3.2 through the tokio runtime: `Transport::send_parts` sends
/// BDAT then `BURL url LAST`; the `burl` hook resolves it and the content
/// reaches `content` in order. The default hook refuses `554 5.6.6`.
#[test]
fn tokio_burl_hook_and_send_parts_rfc4468_3_2() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let shared = Arc::new(Shared::default());
        let backend = {
            let shared = Arc::clone(&shared);
            move |_: &ConnectionInfo| Submit::new(&shared)
        };
        let server = esmtp::runtime::server::SmtpServer::new(server_config(), backend);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = server.clone();
        let serving = tokio::spawn(async move { s.serve(listener).await });
        let ep = Endpoint::new("127.0.0.1", port, client_config(true));
        let mut transport = esmtp::runtime::client::Transport::connect(ep)
            .await
            .unwrap();
        let outcome = tokio::time::timeout(WAIT, transport.send_parts(envelope(), parts()))
            .await
            .unwrap()
            .unwrap();
        assert!(outcome.all_delivered());
        let expected = [&b"X-Note: forwarded below\r\n"[..], FETCHED].concat();
        assert_eq!(*shared.delivered.lock().unwrap(), vec![expected]);
        let unknown = vec![Part::Burl(
            Url::new("imap://imap.example.org/gone").unwrap(),
        )];
        match transport.send_parts(envelope(), unknown).await {
            Err(Error::Rejected(o)) => {
                let reply = o.recipients[0].content.as_ref().unwrap();
                assert_eq!(reply.code().get(), 554);
                assert_eq!(reply.enhanced().unwrap().to_string(), "5.6.6");
            }
            other => panic!("{other:?}"),
        }
        transport.quit().await;
        server.shutdown_handle().shutdown();
        let _ = tokio::time::timeout(WAIT, serving).await;

        // The default `burl` hook.
        let server =
            esmtp::runtime::server::SmtpServer::new(server_config(), |_: &ConnectionInfo| Plain);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = server.clone();
        let serving = tokio::spawn(async move { s.serve(listener).await });
        let ep = Endpoint::new("127.0.0.1", port, client_config(true));
        let mut transport = esmtp::runtime::client::Transport::connect(ep)
            .await
            .unwrap();
        let result = tokio::time::timeout(WAIT, transport.send_parts(envelope(), parts()))
            .await
            .unwrap();
        assert!(matches!(result, Err(Error::Rejected(_))), "{result:?}");
        transport.quit().await;
        server.shutdown_handle().shutdown();
        let _ = tokio::time::timeout(WAIT, serving).await;
    });
}

/// RFC 1845 §3, §5 through the tokio runtime: a connection lost in the
/// middle of DATA leaves the content stored under its TRANSID; a
/// `Transport` sending the same message with the same TRANSID gets `355`
/// from `Answer::Restart`, sends only the rest, and the message delivered
/// is the original byte for byte.
#[test]
fn tokio_restart_resumes_a_lost_message_rfc1845_3() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shared = Arc::new(Shared::default());
    let backend = {
        let shared = Arc::clone(&shared);
        move |_: &ConnectionInfo| Submit::new(&shared)
    };
    let server = esmtp::runtime::server::SmtpServer::new(server_config(), backend);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    let serving = runtime.spawn(async move { s.serve(listener).await });

    let content = message();
    lose_connection_mid_data(addr, "m1@client.example", &content, 2500);
    until("the partial content is stored", || {
        !shared.partial.lock().unwrap().is_empty()
    });

    let transid = TransId::new("m1@client.example").unwrap();
    let outcome = runtime.block_on(async {
        let ep = Endpoint::new("127.0.0.1", addr.port(), client_config(false));
        let mut transport = esmtp::runtime::client::Transport::connect(ep)
            .await
            .unwrap();
        let env = envelope().with_transid(transid.into_owned());
        let sent = tokio::time::timeout(WAIT, transport.send(env, content.clone())).await;
        transport.quit().await;
        sent.unwrap().unwrap()
    });
    assert!(outcome.all_delivered());
    let offset = outcome.resumed_at().expect("restarted");
    assert!(offset > 0 && offset <= 2500);
    assert_eq!(*shared.delivered.lock().unwrap(), vec![content]);
    server.shutdown_handle().shutdown();
    let _ = runtime.block_on(async { tokio::time::timeout(WAIT, serving).await });
}

/// The same two through the blocking runtime: its `burl` hook with the
/// blocking `Transport::send_parts`, and `Answer::Restart` resuming a
/// message lost in the middle of DATA (RFC 4468 §3.2, RFC 1845 §3).
#[test]
fn blocking_burl_hook_and_restart_rfc4468_3_2_rfc1845_3() {
    let shared = Arc::new(Shared::default());
    let backend = {
        let shared = Arc::clone(&shared);
        move |_: &ConnectionInfo| Submit::new(&shared)
    };
    let server = esmtp::runtime::server::blocking::SmtpServer::new(server_config(), backend);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    let serving = std::thread::spawn(move || s.serve(listener));

    let ep = Endpoint::new("127.0.0.1", addr.port(), client_config(true));
    let mut transport = esmtp::runtime::client::blocking::Transport::connect(ep).unwrap();
    let outcome = transport.send_parts(envelope(), parts()).unwrap();
    assert!(outcome.all_delivered());

    let content = message();
    lose_connection_mid_data(addr, "m2@client.example", &content, 1234);
    until("the partial content is stored", || {
        !shared.partial.lock().unwrap().is_empty()
    });
    let env = envelope().with_transid(TransId::new("m2@client.example").unwrap());
    let outcome = transport.send(env, content.clone()).unwrap();
    assert!(outcome.resumed_at().is_some() && outcome.all_delivered());
    transport.quit();
    let delivered = shared.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[1], content);
    server.shutdown_handle().shutdown();
    let start = Instant::now();
    while !serving.is_finished() {
        assert!(start.elapsed() < WAIT * 2, "serve did not return");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A loopback relay to `upstream` whose first connection carries only
/// `cut` octets from the client: then the server's side is closed, and
/// once `server_saw_it` holds, the client's too (so that the client's
/// next connection finds the content stored). Later connections are
/// relayed whole.
fn cutting_relay(
    upstream: SocketAddr,
    cut: usize,
    server_saw_it: impl Fn() -> bool + Send + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = TcpStream::connect_timeout(&upstream, WAIT) else {
                return;
            };
            let (mut from_server, mut to_client) =
                (server.try_clone().unwrap(), client.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut from_server, &mut to_client));
            let mut left = if n == 0 { cut } else { usize::MAX };
            let mut buf = [0u8; 4096];
            while left > 0 {
                let got = match client.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(got) => got,
                };
                let take = got.min(left);
                if server.write_all(&buf[..take]).is_err() {
                    break;
                }
                left -= take;
            }
            let _ = server.shutdown(Shutdown::Both);
            if n == 0 {
                until("the server saw the connection lost", &server_saw_it);
            }
            let _ = client.shutdown(Shutdown::Both);
        }
    });
    addr
}

/// RFC 1845 §3, §5 with the transport's own reconnect: its connection is
/// lost in the middle of DATA, the server keeps the content under the
/// TRANSID, and the transport, retrying on a new connection (the end of
/// the content was never sent), gets `355` and sends only the rest; the
/// message delivered is the original, byte for byte, delivered once.
#[test]
fn transport_reconnects_and_resumes_mid_data_rfc1845_3() {
    let shared = Arc::new(Shared::default());
    let backend = {
        let shared = Arc::clone(&shared);
        move |_: &ConnectionInfo| Submit::new(&shared)
    };
    let server = esmtp::runtime::server::blocking::SmtpServer::new(server_config(), backend);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = listener.local_addr().unwrap();
    let s = server.clone();
    let serving = std::thread::spawn(move || s.serve(listener));
    let stored = {
        let shared = Arc::clone(&shared);
        move || !shared.partial.lock().unwrap().is_empty()
    };
    let relay = cutting_relay(upstream, 3000, stored);

    // Larger than what the sockets buffer, so that the end of the content
    // is not yet written when the connection is lost (else the server may
    // have taken the message, and the transport does not send it again).
    let line = b"a line of a message too long for the socket buffers\r\n";
    let content = line.repeat((8 << 20) / line.len());
    let ep = Endpoint::new("127.0.0.1", relay.port(), client_config(false))
        .reconnect(Reconnect::new(1, Duration::ZERO));
    let mut transport = esmtp::runtime::client::blocking::Transport::connect(ep).unwrap();
    let env = envelope().with_transid(TransId::new("m3@client.example").unwrap());
    let outcome = transport.send(env, content.clone()).unwrap();
    transport.quit();
    assert!(outcome.all_delivered(), "{outcome:?}");
    let offset = outcome.resumed_at().expect("restarted");
    assert!(offset > 0 && offset < content.len() as u64, "{offset}");
    assert!(outcome.recipients[0].restored);
    assert_eq!(*shared.delivered.lock().unwrap(), vec![content]);
    assert!(shared.partial.lock().unwrap().is_empty());
    server.shutdown_handle().shutdown();
    let start = Instant::now();
    while !serving.is_finished() {
        assert!(start.elapsed() < WAIT * 2, "serve did not return");
        std::thread::sleep(Duration::from_millis(5));
    }
}
