//! SCRAM (RFC 7677) end to end on the runtime layer, on loopback: the
//! tokio and blocking servers ask their session for the stored
//! credentials and draw the server nonce; the tokio and blocking client
//! transports draw the client nonce and pick SCRAM-SHA-256 over CRAM-MD5
//! and PLAIN.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use esmtp::client::{AuthError, ClientConfig, ClientCredentials, Envelope};
use esmtp::ehlo::Mechanism;
use esmtp::runtime::client::{blocking, Endpoint, Error, Transport};
use esmtp::runtime::server::{Answer, MessageEnd, Session, SmtpServer};
use esmtp::sasl::scram::{ScramCredentials, ScramHash};
use esmtp::server::{Credentials, ServerConfig};
use esmtp::values::{Domain, Mailbox};

type Log = Arc<Mutex<Vec<String>>>;

/// Keeps stored credentials for `jane`, never her password.
struct Users {
    log: Log,
    stored: ScramCredentials,
}

impl Users {
    fn new(log: &Log) -> Self {
        Users {
            log: Arc::clone(log),
            stored: ScramCredentials::derive(ScramHash::Sha256, "secret", b"jane's salt", 4096)
                .unwrap(),
        }
    }

    fn lookup(&self, mechanism: &Mechanism, username: &str) -> Option<ScramCredentials> {
        self.log
            .lock()
            .unwrap()
            .push(format!("lookup {mechanism} {username}"));
        (username == "jane").then(|| self.stored.clone())
    }

    fn authorise(&self, credentials: &Credentials) -> Answer {
        self.log.lock().unwrap().push(format!("{credentials:?}"));
        match credentials {
            Credentials::Scram { username, .. } if username == "jane" => Answer::Accept,
            _ => Answer::Deny,
        }
    }
}

impl Session for Users {
    async fn scram_credentials(
        &mut self,
        mechanism: Mechanism,
        username: String,
        _: Option<String>,
    ) -> Option<ScramCredentials> {
        self.lookup(&mechanism, &username)
    }
    async fn auth(&mut self, credentials: Credentials) -> Answer {
        self.authorise(&credentials)
    }
    fn scram_failed(&mut self, mechanism: Mechanism, username: Option<String>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("failed {mechanism} {username:?}"));
    }
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        Answer::Accept
    }
}

impl esmtp::runtime::server::blocking::Session for Users {
    fn scram_credentials(
        &mut self,
        mechanism: Mechanism,
        username: String,
        _: Option<String>,
    ) -> Option<ScramCredentials> {
        self.lookup(&mechanism, &username)
    }
    fn auth(&mut self, credentials: Credentials) -> Answer {
        self.authorise(&credentials)
    }
    fn message_end(&mut self, _: MessageEnd) -> Answer {
        Answer::Accept
    }
}

fn server_config() -> ServerConfig {
    let mut config = ServerConfig::new("mx.test.example").unwrap();
    config.extensions.auth = vec![Mechanism::Plain, Mechanism::CramMd5, Mechanism::ScramSha256];
    // Loopback only: no TLS in this test.
    config.extensions.auth_requires_tls = false;
    config
}

fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(Domain::parse("client.test.example").unwrap().into_owned());
    c.allow_plaintext_auth = true;
    c
}

fn envelope() -> Envelope {
    Envelope::new(Mailbox::parse("jane@test.example").unwrap().into_owned()).to(Mailbox::parse(
        "b@test.example",
    )
    .unwrap()
    .into_owned())
}

fn assert_scram(log: &Log) {
    let log = log.lock().unwrap();
    assert!(
        log.iter().any(|l| l == "lookup SCRAM-SHA-256 jane"),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.starts_with("Scram {")), "{log:?}");
    assert!(!format!("{log:?}").contains("secret"));
}

#[test]
fn scram_sha_256_over_the_tokio_runtime_rfc7677() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            let log = Log::default();
            let users = Arc::clone(&log);
            let server = SmtpServer::new(server_config(), move |_: &_| Users::new(&users));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let s = server.clone();
            let serving = tokio::spawn(async move { s.serve(listener).await });

            let ep = Endpoint::new("127.0.0.1", port, client_config())
                .credentials(ClientCredentials::password("jane", "secret"));
            let mut transport = Transport::connect(ep).await.unwrap();
            let outcome = transport
                .send(envelope(), "Subject: x\r\n\r\nhi\r\n")
                .await
                .unwrap();
            assert!(outcome.all_delivered());
            transport.quit().await;
            assert_scram(&log);

            // The wrong password: the machine's proof check fails, typed.
            let ep = Endpoint::new("127.0.0.1", port, client_config())
                .credentials(ClientCredentials::password("jane", "guess"));
            let result = Transport::connect(ep).await;
            let Err(Error::Auth { error, .. }) = result else {
                panic!("{result:?}");
            };
            assert_eq!(error, AuthError::InvalidCredentials);
            // The session heard of the failed proof, to throttle.
            assert!(log
                .lock()
                .unwrap()
                .contains(&"failed SCRAM-SHA-256 Some(\"jane\")".to_owned()));

            server.shutdown_handle().shutdown();
            let _ = serving.await;
        })
        .await
        .expect("the test finished in time");
    });
}

#[test]
fn scram_sha_256_over_the_blocking_runtime_rfc7677() {
    let log = Log::default();
    let users = Arc::clone(&log);
    let server =
        esmtp::runtime::server::blocking::SmtpServer::new(server_config(), move |_: &_| {
            Users::new(&users)
        });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = server.clone();
    let serving = std::thread::spawn(move || s.serve(listener));

    let ep = Endpoint::new("127.0.0.1", port, client_config())
        .credentials(ClientCredentials::password("jane", "secret"))
        .connect_timeout(Duration::from_secs(10));
    let mut transport = blocking::Transport::connect(ep).unwrap();
    let outcome = transport
        .send(envelope(), "Subject: x\r\n\r\nhi\r\n")
        .unwrap();
    assert!(outcome.all_delivered());
    transport.quit();
    assert_scram(&log);

    server.shutdown_handle().shutdown();
    let _ = serving.join();
}
