//! SCRAM-SHA-256 (RFC 7677) against an independent implementation, the
//! Python `scramp` library (in the interop venv, `.ci/install-peers`):
//! this crate's client against aiosmtpd offering SCRAM through scramp
//! (`tests/peers/aiosmtpd_scram.py`), and Python smtplib driving a scramp
//! client against this crate's tokio server. curl (built without
//! libgsasl here), swaks and msmtp speak no SCRAM over SMTP.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::aiosmtpd::python;
use common::process::{start_on_free_port, PeerProcess};
use common::{clients, peer_unavailable, poll_until, unique_host_name, TempDir};
use esmtp::client::{AuthError, ClientConfig, ClientCredentials, Envelope};
use esmtp::ehlo::Mechanism;
use esmtp::runtime::client::{blocking, Endpoint, Error};
use esmtp::runtime::server::{Answer, MessageEnd, Session, SmtpServer};
use esmtp::sasl::scram::{ScramCredentials, ScramHash};
use esmtp::server::{Credentials, ServerConfig};
use esmtp::values::{Domain, Mailbox};

/// Whether the interop Python has aiosmtpd and scramp.
fn scramp_available() -> Option<()> {
    let out = clients::run(
        Command::new(python()).args(["-c", "import aiosmtpd, scramp"]),
        None,
        Duration::from_secs(30),
    );
    match out {
        Ok(o) if o.success() => Some(()),
        Ok(o) => peer_unavailable("scramp", &String::from_utf8_lossy(&o.stderr)),
        Err(e) => peer_unavailable("scramp", &e.to_string()),
    }
}

/// aiosmtpd with SCRAM-SHA-256 for jane:secret.
struct ScramPeer {
    process: PeerProcess,
    port: u16,
    _dir: TempDir,
}

impl ScramPeer {
    fn start(bad_signature: bool) -> Option<Self> {
        scramp_available()?;
        let dir = TempDir::new("aiosmtpd-scram");
        let log = dir.path().join("peer.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/aiosmtpd_scram.py");
        let host = unique_host_name("scram");
        let (process, port) = start_on_free_port("aiosmtpd-scram", &host, |port| {
            let mut args = vec![
                script.display().to_string(),
                "--port".into(),
                port.to_string(),
                "--hostname".into(),
                host.clone(),
                "--user".into(),
                "jane:secret".into(),
            ];
            if bad_signature {
                args.push("--bad-signature".into());
            }
            PeerProcess::spawn("aiosmtpd-scram", &python(), &args, &log)
        });
        Some(ScramPeer {
            process,
            port,
            _dir: dir,
        })
    }

    /// Waits until the peer's log has a line starting with `prefix`.
    fn wait_for(&self, prefix: &str) -> String {
        poll_until(Duration::from_secs(20), || {
            let log = std::fs::read_to_string(self.process.log_path()).ok()?;
            log.lines()
                .find(|l| l.starts_with(prefix))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{}", self.process.log_tail()))
    }
}

fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(Domain::parse("client.test.example").unwrap().into_owned());
    // Loopback: no TLS in this test.
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

fn endpoint(port: u16, password: &str) -> Endpoint {
    Endpoint::new("127.0.0.1", port, client_config())
        .credentials(ClientCredentials::password("jane", password))
        .connect_timeout(Duration::from_secs(10))
}

#[test]
fn client_scram_sha_256_against_aiosmtpd_scramp_rfc7677() {
    let Some(peer) = ScramPeer::start(false) else {
        return;
    };
    let mut transport = blocking::Transport::connect(endpoint(peer.port, "secret")).unwrap();
    let outcome = transport
        .send(envelope(), "Subject: scram\r\n\r\nhi\r\n")
        .unwrap();
    assert!(outcome.all_delivered(), "{outcome:?}");
    transport.quit();
    assert_eq!(peer.wait_for("auth "), "auth ok jane");
    assert_eq!(
        peer.wait_for("data "),
        "data jane jane@test.example b@test.example"
    );

    let result = blocking::Transport::connect(endpoint(peer.port, "wrong"));
    let Err(Error::Auth { error, .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(error, AuthError::InvalidCredentials);
}

/// A server whose signature does not match is refused: the client cancels
/// with `*` and sends no mail (RFC 5802 §9).
#[test]
fn client_refuses_aiosmtpd_with_a_wrong_server_signature_rfc5802_9() {
    let Some(peer) = ScramPeer::start(true) else {
        return;
    };
    let result = blocking::Transport::connect(endpoint(peer.port, "secret"));
    let Err(Error::Auth { error, .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(error, AuthError::ServerUnverified);
    assert_eq!(peer.wait_for("auth "), "auth failed cancelled");
    assert!(!peer.process.log_tail().contains("data "));
}

/// Stored credentials for jane; authorises her.
struct Users;

impl Session for Users {
    async fn scram_credentials(
        &mut self,
        _: Mechanism,
        username: String,
        _: Option<String>,
    ) -> Option<ScramCredentials> {
        (username == "jane").then(|| {
            ScramCredentials::derive(ScramHash::Sha256, "secret", b"sixteen-octets!!", 4096)
                .unwrap()
        })
    }
    async fn auth(&mut self, credentials: Credentials) -> Answer {
        match credentials {
            Credentials::Scram { username, .. } if username == "jane" => Answer::Accept,
            _ => Answer::Deny,
        }
    }
    async fn message_end(&mut self, _: MessageEnd) -> Answer {
        Answer::Accept
    }
}

const SMTPLIB_SCRAM: &str = r#"
import smtplib, sys
from scramp import ScramClient

port, password = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("py.test.example")
print("offered", s.esmtp_features.get("auth", ""))
scram = ScramClient(["SCRAM-SHA-256"], "jane", password)
steps = []

def answer(challenge=None):
    if challenge is None:
        return scram.get_client_first()
    if not steps:
        steps.append(1)
        scram.set_server_first(challenge.decode())
        return scram.get_client_final()
    scram.set_server_final(challenge.decode())
    print("server verified")
    return ""

try:
    code, _ = s.auth("SCRAM-SHA-256", answer)
except smtplib.SMTPAuthenticationError as e:
    print("refused", e.smtp_code)
    s.quit()
    sys.exit(0)
print("auth", code)
s.sendmail("jane@test.example", ["b@test.example"], b"Subject: x\r\n\r\nhi\r\n")
s.quit()
print("sent")
"#;

#[test]
fn smtplib_scramp_client_against_the_tokio_server_rfc7677() {
    if scramp_available().is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ServerConfig::new("mx.test.example").unwrap();
    config.extensions.auth = vec![Mechanism::Plain, Mechanism::ScramSha256];
    config.extensions.auth_requires_tls = false;
    let server = SmtpServer::new(config, |_: &_| Users);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let s = server.clone();
    let serving = rt.spawn(async move { s.serve(listener).await });

    let out = clients::python_script(SMTPLIB_SCRAM, &[&port, "secret"]).unwrap();
    out.assert_success("smtplib with scramp");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("PLAIN SCRAM-SHA-256\n"), "{text}");
    assert!(text.contains("server verified\nauth 235\nsent"), "{text}");

    let out = clients::python_script(SMTPLIB_SCRAM, &[&port, "wrong"]).unwrap();
    out.assert_success("smtplib with scramp, wrong password");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("refused 535"), "{text}");

    server.shutdown_handle().shutdown();
    let _ = rt.block_on(serving);
}
