//! ETRN and ATRN through the runtime layer, both sides on loopback: the
//! transports' `etrn` and `atrn` (refused locally when not offered, the
//! server's replies typed), and the role reversal of ATRN (RFC 2645 §5.3)
//! end to end — the provider's session hands its connection to
//! `Transport::reversed` and delivers the held mail, the customer's
//! transport hands its connection to `SmtpServer::serve_reversed`, which
//! stores it. Tokio and blocking, clear text and implicit TLS.

use crate::common;
use crate::runtime_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use esmtp::client::{ClientConfig, ClientCredentials, Envelope};
use esmtp::command::Etrn;
use esmtp::ehlo::{Keyword, Mechanism};
use esmtp::reply::Reply;
use esmtp::runtime::client::{self, Endpoint, Error, Reconnect};
use esmtp::runtime::server::{self, Answer, ConnectionInfo, MessageEnd, Reversal};
use esmtp::server::{Credentials, ServerConfig};
use esmtp::values::{Domain, EnhancedStatusCode, Mailbox, ReplyCode};

use runtime_support::tls_pair;

/// The message held for the customer, sent over the reversed connection.
const HELD: &[u8] =
    b"From: queue@provider.example\r\nSubject: held\r\n\r\n.leading dot\r\nheld for you\r\n";

fn domain(s: &str) -> Domain<'static> {
    Domain::parse(s).unwrap().into_owned()
}

fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::parse(s).unwrap().into_owned()
}

fn reply(code: u16, text: &str) -> Answer {
    let esc = EnhancedStatusCode::new((code / 100) as u8, 0, 0);
    let code = ReplyCode::new(code).unwrap();
    Answer::Reply(Reply::new(code, esc, [text.to_owned()]).unwrap())
}

/// What the two sides saw.
#[derive(Default)]
struct Seen {
    /// Every ETRN and ATRN the provider was asked, as `VERB args`.
    asked: Vec<String>,
    /// The provider's reversed delivery: whether every recipient took it.
    delivered: Option<bool>,
    /// After QUIT on the reversed transport, a second message's error.
    after_quit: Option<String>,
    /// What the customer stored, and whether its session was on TLS.
    stored: Vec<Vec<u8>>,
    customer_tls: Option<bool>,
}

type Shared = Arc<Mutex<Seen>>;

/// The provider: AUTH for `customer:secret`, ETRN answered by node as
/// RFC 1985 §5.1 lists, ATRN as RFC 2645 §5.2.1 does.
struct Provider(Shared);

impl Provider {
    fn check(credentials: &Credentials) -> Answer {
        // RFC 2645 §5.1.2: CRAM-MD5 is the mechanism ODMR must support.
        let ok = match credentials {
            Credentials::CramMd5 { .. } => credentials.verify_cram_md5(b"secret"),
            _ => credentials.verify_password("secret"),
        };
        match ok && credentials.username() == Some("customer") {
            true => Answer::Accept,
            false => Answer::Deny,
        }
    }

    fn answer_etrn(&self, request: &Etrn<'_>) -> Answer {
        let node = match request {
            Etrn::Domain(d) => d.to_string(),
            Etrn::Subdomains(d) => format!("@{d}"),
            Etrn::Queue(q) => format!("#{q}"),
        };
        self.0.lock().unwrap().asked.push(format!("ETRN {node}"));
        match node.as_str() {
            "started.example" => Answer::Accept,
            "empty.example" => reply(251, "OK, no messages waiting for node empty.example"),
            "@pending.example" => {
                reply(252, "OK, pending messages for node pending.example started")
            }
            "#q" => reply(253, "OK, 3 pending messages for node q started"),
            "stuck.example" => Answer::Deny,
            _ => reply(459, &format!("Node {node} not allowed: unknown")),
        }
    }

    fn answer_atrn(&self, domains: &[Domain<'_>]) -> Answer {
        let list: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
        self.0
            .lock()
            .unwrap()
            .asked
            .push(format!("ATRN {}", list.join(",")));
        match list.join(",").as_str() {
            "customer.example" => Answer::Accept,
            "empty.example" => reply(453, "You have no mail"),
            _ => reply(450, "ATRN request refused"),
        }
    }

    fn envelope() -> Envelope {
        Envelope::new(mailbox("queue@provider.example")).to(mailbox("user@customer.example"))
    }

    fn config() -> ClientConfig {
        ClientConfig::new(domain("provider.example"))
    }

    fn after(&self, delivered: bool, after_quit: Result<(), Error>) {
        let mut seen = self.0.lock().unwrap();
        seen.delivered = Some(delivered);
        seen.after_quit = after_quit.err().map(|e| format!("{e:?}"));
    }
}

impl server::Session for Provider {
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        Answer::Deny
    }

    async fn auth(&mut self, credentials: Credentials) -> Answer {
        Provider::check(&credentials)
    }

    async fn etrn(&mut self, request: Etrn<'static>) -> Answer {
        self.answer_etrn(&request)
    }

    async fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Answer {
        self.answer_atrn(&domains)
    }

    async fn reversed(&mut self, reversal: Reversal) {
        let mut transport = client::Transport::reversed(reversal, Provider::config())
            .await
            .expect("the customer greets and answers EHLO");
        let sent = transport.send(Provider::envelope(), HELD).await;
        transport.quit().await;
        let again = transport.send(Provider::envelope(), HELD).await;
        self.after(sent.is_ok(), again.map(drop));
    }
}

impl server::blocking::Session for Provider {
    fn message_end(&mut self, _: MessageEnd) -> Answer {
        Answer::Deny
    }

    fn auth(&mut self, credentials: Credentials) -> Answer {
        Provider::check(&credentials)
    }

    fn etrn(&mut self, request: Etrn<'static>) -> Answer {
        self.answer_etrn(&request)
    }

    fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Answer {
        self.answer_atrn(&domains)
    }

    fn reversed(&mut self, reversal: server::blocking::Reversal) {
        let mut transport = client::blocking::Transport::reversed(reversal, Provider::config())
            .expect("the customer greets and answers EHLO");
        let sent = transport.send(Provider::envelope(), HELD);
        transport.quit();
        let again = transport.send(Provider::envelope(), HELD);
        self.after(sent.is_ok(), again.map(drop));
    }
}

/// The customer once the roles reversed: stores each message.
struct Customer {
    seen: Shared,
    content: Vec<u8>,
}

impl Customer {
    fn new(seen: &Shared, conn: &ConnectionInfo) -> Customer {
        seen.lock().unwrap().customer_tls = Some(conn.tls.is_some());
        Customer {
            seen: Arc::clone(seen),
            content: Vec::new(),
        }
    }

    fn store(&mut self) -> Answer {
        let content = std::mem::take(&mut self.content);
        self.seen.lock().unwrap().stored.push(content);
        Answer::Accept
    }
}

impl server::Session for Customer {
    async fn content(&mut self, chunk: Bytes) {
        self.content.extend_from_slice(&chunk);
    }

    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.store()
    }
}

impl server::blocking::Session for Customer {
    fn content(&mut self, chunk: Bytes) {
        self.content.extend_from_slice(&chunk);
    }

    fn message_end(&mut self, _: MessageEnd) -> Answer {
        self.store()
    }
}

/// The provider's machine: AUTH in clear text (loopback), ETRN and ATRN
/// as asked.
fn provider_config(etrn: bool, atrn: bool) -> ServerConfig {
    let mut config = ServerConfig::new("provider.example").unwrap();
    config.extensions.auth = vec![Mechanism::Plain, Mechanism::CramMd5];
    config.extensions.auth_requires_tls = false;
    config.extensions.etrn = etrn;
    config.extensions.atrn = atrn;
    config
}

/// The customer's endpoint: authenticates as `customer`.
fn customer_endpoint(addr: SocketAddr) -> Endpoint {
    let mut config = ClientConfig::new(domain("customer.example"));
    config.allow_plaintext_auth = true;
    Endpoint::new(addr.ip().to_string(), addr.port(), config)
        .credentials(ClientCredentials::password("customer", "secret"))
        .reconnect(Reconnect::never())
        .connect_timeout(Duration::from_secs(10))
}

fn customer_server(seen: &Shared) -> server::SmtpServer<impl server::Backend> {
    let seen = Arc::clone(seen);
    let config = ServerConfig::new("customer.example").unwrap();
    server::SmtpServer::new(config, move |c: &ConnectionInfo| Customer::new(&seen, c))
}

fn code(error: &Error) -> Option<u16> {
    match error {
        Error::Refused(reply) => Some(reply.code().get()),
        _ => None,
    }
}

/// Runs `test` on a tokio runtime with a provider on a loopback listener
/// (implicit TLS when `tls` is given), bounded in time.
fn with_provider<F, Fut>(
    config: ServerConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
    test: F,
) -> Shared
where
    F: FnOnce(SocketAddr, Shared) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let seen = Shared::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::clone(&seen);
        let mut builder = server::SmtpServer::builder(config, move |_: &ConnectionInfo| {
            Provider(Arc::clone(&state))
        });
        if let Some(tls) = &tls {
            builder = builder.tls(Arc::clone(tls));
        }
        let provider = builder.build();
        let handle = provider.shutdown_handle();
        let serving = {
            let provider = provider.clone();
            let implicit = tls.is_some();
            tokio::spawn(async move {
                match implicit {
                    true => provider.serve_tls(listener).await,
                    false => provider.serve(listener).await,
                }
            })
        };
        tokio::time::timeout(Duration::from_secs(60), test(addr, Arc::clone(&seen)))
            .await
            .expect("the test finished in time");
        handle.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(10), serving).await;
    });
    seen
}

#[test]
fn atrn_reverses_and_the_held_mail_flows_back_tokio_rfc2645_5_3() {
    let seen = with_provider(
        provider_config(false, true),
        None,
        |addr, seen| async move {
            let mut transport = client::Transport::connect(customer_endpoint(addr))
                .await
                .unwrap();
            // RFC 2645 §5.2.1: 453 when none of the domains has mail, 450 when
            // the user may not retrieve one of them; the session goes on.
            let none = transport
                .atrn(vec![domain("empty.example")])
                .await
                .unwrap_err();
            assert_eq!(code(&none), Some(453), "{none:?}");
            assert!(none.is_transient() && transport.is_connected());
            let refused = transport
                .atrn(vec![domain("customer.example"), domain("other.example")])
                .await
                .unwrap_err();
            assert_eq!(code(&refused), Some(450), "{refused:?}");
            let reversal = transport
                .atrn(vec![domain("customer.example")])
                .await
                .unwrap();
            assert!(!transport.is_connected(), "the connection was handed over");
            customer_server(&seen)
                .serve_reversed(reversal)
                .await
                .unwrap();
        },
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.asked,
        [
            "ATRN empty.example",
            "ATRN customer.example,other.example",
            "ATRN customer.example"
        ]
    );
    assert_eq!(seen.stored, [HELD.to_vec()], "byte for byte, dot unstuffed");
    assert_eq!(seen.delivered, Some(true));
    assert_eq!(seen.customer_tls, Some(false));
    // A reversed connection cannot be made again.
    assert!(
        seen.after_quit
            .as_deref()
            .is_some_and(|e| e.starts_with("Protocol")),
        "{:?}",
        seen.after_quit
    );
}

#[test]
fn atrn_over_implicit_tls_stays_tls_both_ways_rfc2645_5_3() {
    let dir = common::TempDir::new("reversal-tls");
    let Some((server_tls, client_tls)) = tls_pair(dir.path()) else {
        return;
    };
    let seen = with_provider(
        provider_config(false, true),
        Some(server_tls),
        |addr, seen| async move {
            let name = rustls::pki_types::ServerName::try_from(runtime_support::HOST).unwrap();
            let endpoint = customer_endpoint(addr)
                .implicit_tls(client_tls)
                .tls_server_name(name);
            let mut transport = client::Transport::connect(endpoint).await.unwrap();
            let reversal = transport
                .atrn(vec![domain("customer.example")])
                .await
                .unwrap();
            assert!(reversal.stream.is_tls());
            customer_server(&seen)
                .serve_reversed(reversal)
                .await
                .unwrap();
        },
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.stored, [HELD.to_vec()]);
    assert_eq!(
        seen.customer_tls,
        Some(true),
        "the customer's session knows it is TLS"
    );
    assert_eq!(seen.delivered, Some(true));
}

#[test]
fn etrn_replies_are_typed_rfc1985_5_1() {
    let seen = with_provider(provider_config(true, false), None, |addr, _| async move {
        let mut transport = client::Transport::connect(customer_endpoint(addr))
            .await
            .unwrap();
        let r = transport
            .etrn(Etrn::Domain(domain("started.example")))
            .await
            .unwrap();
        assert_eq!(r.code().get(), 250);
        let r = transport
            .etrn(Etrn::Domain(domain("empty.example")))
            .await
            .unwrap();
        assert_eq!(r.code().get(), 251);
        let r = transport
            .etrn(Etrn::Subdomains(domain("pending.example")))
            .await
            .unwrap();
        assert_eq!(r.code().get(), 252);
        let r = transport.etrn(Etrn::Queue("q".into())).await.unwrap();
        assert_eq!(r.code().get(), 253);
        let e = transport
            .etrn(Etrn::Domain(domain("stuck.example")))
            .await
            .unwrap_err();
        assert_eq!(code(&e), Some(458), "{e:?}");
        assert!(e.is_transient());
        let e = transport
            .etrn(Etrn::Domain(domain("unknown.example")))
            .await
            .unwrap_err();
        assert_eq!(code(&e), Some(459), "{e:?}");
        // ATRN is not offered here: refused before anything is sent.
        let e = transport
            .atrn(vec![domain("customer.example")])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotOffered(Keyword::Atrn)), "{e:?}");
        assert!(transport.is_connected());
        transport.quit().await;
    });
    assert_eq!(
        seen.lock().unwrap().asked,
        [
            "ETRN started.example",
            "ETRN empty.example",
            "ETRN @pending.example",
            "ETRN #q",
            "ETRN stuck.example",
            "ETRN unknown.example"
        ]
    );
}

#[test]
fn etrn_not_offered_is_refused_locally_rfc1985_3() {
    let seen = with_provider(provider_config(false, false), None, |addr, _| async move {
        let mut transport = client::Transport::connect(customer_endpoint(addr))
            .await
            .unwrap();
        let e = transport
            .etrn(Etrn::Domain(domain("a.example")))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotOffered(Keyword::Etrn)), "{e:?}");
        transport.quit().await;
    });
    assert!(seen.lock().unwrap().asked.is_empty());
}

#[test]
fn atrn_reverses_and_the_held_mail_flows_back_blocking_rfc2645_5_3() {
    let seen = Shared::default();
    let state = Arc::clone(&seen);
    let provider = server::blocking::SmtpServer::new(
        provider_config(true, true),
        move |_: &ConnectionInfo| Provider(Arc::clone(&state)),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = {
        let provider = provider.clone();
        std::thread::spawn(move || provider.serve(listener))
    };
    let mut transport = client::blocking::Transport::connect(customer_endpoint(addr)).unwrap();
    let r = transport
        .etrn(Etrn::Domain(domain("empty.example")))
        .unwrap();
    assert_eq!(r.code().get(), 251);
    let none = transport.atrn(vec![domain("empty.example")]).unwrap_err();
    assert_eq!(code(&none), Some(453), "{none:?}");
    let reversal = transport.atrn(vec![domain("customer.example")]).unwrap();
    let customer = {
        let seen = Arc::clone(&seen);
        let config = ServerConfig::new("customer.example").unwrap();
        server::blocking::SmtpServer::new(config, move |c: &ConnectionInfo| Customer::new(&seen, c))
    };
    customer.serve_reversed(reversal).unwrap();
    provider.shutdown_handle().shutdown();
    serving.join().unwrap().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.asked,
        [
            "ETRN empty.example",
            "ATRN empty.example",
            "ATRN customer.example"
        ]
    );
    assert_eq!(seen.stored, [HELD.to_vec()]);
    assert_eq!(seen.delivered, Some(true));
    assert!(seen
        .after_quit
        .as_deref()
        .is_some_and(|e| e.starts_with("Protocol")));
}
