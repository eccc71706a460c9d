//! Shared by the runtime tests (`tests/runtime_*.rs`): a self-signed
//! certificate loaded into rustls on both sides (the client trusts exactly
//! that certificate), and a blocking line client that reads whole replies.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The host name in the test certificate and the servers' greetings.
pub const HOST: &str = "mx.example.org";

/// How long any single wait in a runtime test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server and a client TLS configuration for a fresh self-signed
/// certificate (`openssl req`, as the interop tests make theirs); `None`
/// when openssl is missing outside CI.
pub fn tls_pair(dir: &Path) -> Option<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)> {
    let (cert, key) = crate::common::self_signed_cert(dir, HOST)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key)
        .unwrap();
    let verifier = Arc::new(Pinned {
        cert: certs[0].clone(),
        provider: Arc::clone(&provider),
    });
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Some((Arc::new(server), Arc::new(client)))
}

/// The test's own certificate, and no other; handshake signatures checked
/// by the provider.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

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
}

/// A reply as read: its code and every line, CRLF removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The reply's text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Parses one reply line: (code, last line?).
pub fn reply_line(line: &str) -> (u16, bool) {
    let code = line
        .get(..3)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a reply line: {line:?}"));
    (code, line.as_bytes().get(3) != Some(&b'-'))
}

/// A blocking client over any stream: writes what it is given, reads whole
/// replies, every read bounded by [`WAIT`] (through the socket timeout the
/// caller sets).
pub struct LineClient<S: Read + Write> {
    io: BufReader<S>,
}

impl LineClient<TcpStream> {
    /// Connects to `addr` with reads bounded by [`WAIT`].
    pub fn connect(addr: SocketAddr) -> Self {
        let tcp = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        tcp.set_write_timeout(Some(WAIT)).unwrap();
        LineClient::new(tcp)
    }

    /// Connects to `addr` (on 127.0.0.1) from the loopback address `from`:
    /// another client address to the server.
    pub fn connect_from(from: std::net::Ipv4Addr, addr: SocketAddr) -> Self {
        let tcp = crate::common::smtp::connect_from(from, addr.port()).expect("connect");
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        tcp.set_write_timeout(Some(WAIT)).unwrap();
        LineClient::new(tcp)
    }
}

impl<S: Read + Write> LineClient<S> {
    pub fn new(io: S) -> Self {
        LineClient {
            io: BufReader::new(io),
        }
    }

    /// Writes `bytes`, reporting a failure (the server may be gone).
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.get_mut().write_all(bytes)?;
        self.io.get_mut().flush()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).expect("write");
        self.io.get_mut().flush().expect("flush");
    }

    /// The next reply; panics on the end of the stream.
    pub fn reply(&mut self) -> Reply {
        self.try_reply()
            .expect("a reply, not the end of the stream")
    }

    /// The next reply, or `None` at the end of the stream (or a reset).
    pub fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.io.read_line(&mut line) {
                Ok(0) | Err(_) if lines.is_empty() => return None,
                Ok(0) => panic!("end of stream inside a reply: {lines:?}"),
                Err(e) => panic!("read: {e}"),
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            let (code, last) = reply_line(&line);
            lines.push(line);
            if last {
                return Some(Reply { code, lines });
            }
        }
    }

    /// Sends `line` and reads one reply.
    pub fn command(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Everything up to the end of the stream.
    pub fn rest(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        self.io.read_to_end(&mut rest).expect("read to the end");
        rest
    }

    /// The stream, for STARTTLS; nothing may be buffered.
    pub fn into_inner(self) -> S {
        assert!(self.io.buffer().is_empty(), "bytes after the 220");
        self.io.into_inner()
    }
}
