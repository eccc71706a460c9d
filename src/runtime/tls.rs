//! TLS set-up from PEM files (feature `rustls`): a server's certificate
//! and key, and the trust a client puts in servers — the system's CA
//! bundle, certificates of one's own (CAs, or a self-signed server
//! certificate pinned), or none. The crypto provider is the
//! application's choice.
//!
//! ```no_run
//! # fn main() -> Result<(), esmtp::runtime::tls::TlsSetupError> {
//! use std::{path::Path, sync::Arc};
//! use esmtp::runtime::tls::{self, Trust};
//!
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let server = tls::server_config(Path::new("cert.pem"), Path::new("key.pem"), provider.clone())?;
//! let client = tls::client_config(&Trust::System, provider)?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{VerifierBuilderError, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Where the system's CA bundle usually lives (Debian, Fedora, SUSE,
/// Alpine and the BSDs); `SSL_CERT_FILE` comes first.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Which server certificates a client accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Chains to the system's CA bundle ([`system_bundle`]), for the name
    /// connected to.
    System,
    /// Chains to the certificates in this PEM file, for the name connected
    /// to; or, whatever the name, an end-entity certificate that is one
    /// of them, octet for octet: a self-signed server certificate is
    /// pinned, which no CA can forge.
    Certificates(PathBuf),
    /// Any certificate (the handshake's signatures are still checked): for
    /// tests only, as it lets anyone in the middle read the session.
    Any,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM file could not be read or parsed.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: pem::Error,
    },
    /// A PEM file holds no certificate.
    #[error("{}: no certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// [`Trust::System`], and no CA bundle was found.
    #[error("no system CA bundle found (SSL_CERT_FILE names one)")]
    NoSystemBundle,
    /// rustls refused the configuration (a key that does not match the
    /// certificate, a provider without a safe protocol version …).
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// No verifier could be built from the certificates.
    #[error("{0}")]
    Verifier(#[from] VerifierBuilderError),
}

/// The system's CA bundle: `SSL_CERT_FILE`, else the first of the usual
/// places that exists.
pub fn system_bundle() -> Option<PathBuf> {
    let usual = SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .or(usual)
}

/// A server configuration from a certificate chain and its private key
/// (PEM: PKCS#8, PKCS#1 or SEC1), no client certificates, the provider's
/// safe protocol versions.
pub fn server_config(
    cert_chain: &Path,
    key: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let certs = certificates(cert_chain)?;
    let read = |source| TlsSetupError::Read {
        path: key.to_owned(),
        source,
    };
    let key = PrivateKeyDer::from_pem_file(key).map_err(read)?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// A client configuration that accepts the server certificates `trust`
/// says, with no client certificate and the provider's safe protocol
/// versions.
pub fn client_config(
    trust: &Trust,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    let verifier = Arc::new(Verifier::new(trust, &provider)?);
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let read = |source| TlsSetupError::Read {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    match certs.is_empty() {
        true => Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        }),
        false => Ok(certs),
    }
}

/// WebPKI verification against those of `certs` that can be trust
/// anchors (a certificate that cannot may still be pinned).
fn webpki(
    certs: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<WebPkiServerVerifier>>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    let _ = roots.add_parsable_certificates(certs.iter().cloned());
    if roots.is_empty() {
        return Ok(None);
    }
    let builder = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    Ok(Some(builder.build()?))
}

/// WebPKI, or a pinned end-entity certificate, or (`any`) anything.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Option<Vec<CertificateDer<'static>>>,
    any: bool,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    fn new(trust: &Trust, provider: &Arc<CryptoProvider>) -> Result<Verifier, TlsSetupError> {
        let (webpki, pinned) = match trust {
            Trust::Any => (None, None),
            Trust::System => {
                let bundle = system_bundle().ok_or(TlsSetupError::NoSystemBundle)?;
                (webpki(&certificates(&bundle)?, provider)?, None)
            }
            Trust::Certificates(path) => {
                let certs = certificates(path)?;
                (webpki(&certs, provider)?, Some(certs))
            }
        };
        let (any, provider) = (*trust == Trust::Any, Arc::clone(provider));
        Ok(Verifier {
            webpki,
            pinned,
            any,
            provider,
        })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pinned = self.pinned.iter().flatten();
        if self.any
            || pinned
                .into_iter()
                .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(w) => w.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Self-signed, P-256, for `mx.example.test`, valid for a century.
    const CERT: &str = r"-----BEGIN CERTIFICATE-----
MIIBpjCCAU2gAwIBAgIUGSld45JW7EisTlgzeZTLHcrH8TUwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPbXguZXhhbXBsZS50ZXN0MCAXDTI2MTIwNzA2MDcyM1oYDzIx
MjYxMTEzMDYwNzIzWjAaMRgwFgYDVQQDDA9teC5leGFtcGxlLnRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASLYDzpNhn7R5ZDpWLocnsUXEUt9j+JTMY7tm+D
WWvguOFiratFTHp4c8qidl+AqzFLbMIF3VETVY1242zParMIo28wbTAdBgNVHQ4E
FgQUe669Bz9R5X8JnTbSKnVPgdqhT1QwHwYDVR0jBBgwFoAUe669Bz9R5X8JnTbS
KnVPgdqhT1QwDwYDVR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgg9teC5leGFtcGxl
LnRlc3QwCgYIKoZIzj0EAwIDRwAwRAIgHT5cC/rgm5QCxV4KLr6JggySOw1cMO3H
124jW0kHBWwCIBgREdC/qkhl2IRAX1lVmhKfBXOP0ROjomGGqHm7fimx
-----END CERTIFICATE-----
";
    const KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrFz3SOhQmNTy+H2A
80veV4ZBsz+06+NmHR08ZPPX0/mhRANCAASLYDzpNhn7R5ZDpWLocnsUXEUt9j+J
TMY7tm+DWWvguOFiratFTHp4c8qidl+AqzFLbMIF3VETVY1242zParMI
-----END PRIVATE KEY-----
";
    /// Another self-signed certificate (`other.test`).
    const OTHER: &str = r"-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUbgOZ+jqcBqI4QKuvdNTjC1ZU/NUwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKb3RoZXIudGVzdDAgFw0yNjEyMDcwNjA3MjNaGA8yMTI2MTEx
MzA2MDcyM1owFTETMBEGA1UEAwwKb3RoZXIudGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABOkrQZFK/ldbmfariUaJ0drJVjmu+hCrWYj/4wFnrYYLLgxV+jgf
wK0NuVlLP6JmB3Fk9QLxH+qN0eFUS5508++jUzBRMB0GA1UdDgQWBBR6UGj7lksn
6WJi2lw9NRFJMbBN6zAfBgNVHSMEGDAWgBR6UGj7lksn6WJi2lw9NRFJMbBN6zAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIBaEDFgmaUSS2jMXtddO
xzzWwjLERE+4+oUkqzEaurhnAiEAyys9beXC5QA8f4+hQgRCgrnqXdekvQpQavsj
n9p4DKo=
-----END CERTIFICATE-----
";

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Writes `text` to a fresh file and returns its path.
    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("esmtp-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn verify(trust: &Trust, cert: &str, name: &str) -> Result<ServerCertVerified, rustls::Error> {
        assert!(client_config(trust, provider()).is_ok());
        let verifier = Verifier::new(trust, &provider()).unwrap();
        let cert = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let now = UnixTime::now();
        verifier.verify_server_cert(&cert, &[], &name, &[], now)
    }

    #[test]
    fn server_config_from_a_pem_pair() {
        let (cert, key) = (file("c.pem", CERT), file("k.pem", KEY));
        assert!(server_config(&cert, &key, provider()).is_ok());
        // A key that is not the certificate's.
        let other = file("o.pem", OTHER);
        let err = server_config(&other, &key, provider()).unwrap_err();
        assert!(matches!(err, TlsSetupError::Rustls(_)), "{err}");
        let empty = file("empty.pem", "");
        let err = server_config(&empty, &key, provider()).unwrap_err();
        assert!(
            err.to_string().ends_with("empty.pem: no certificate"),
            "{err}"
        );
        let missing = cert.with_file_name("missing.pem");
        let err = server_config(&missing, &key, provider()).unwrap_err();
        assert!(matches!(err, TlsSetupError::Read { .. }), "{err}");
    }

    #[test]
    fn a_self_signed_certificate_given_is_pinned_whatever_the_name() {
        let trust = Trust::Certificates(file("pin.pem", CERT));
        assert!(verify(&trust, CERT, "mx.example.test").is_ok());
        // Pinned octet for octet: the name does not matter…
        assert!(verify(&trust, CERT, "elsewhere.test").is_ok());
        // …and another certificate is not trusted.
        assert!(verify(&trust, OTHER, "other.test").is_err());
    }

    #[test]
    fn any_trusts_every_certificate_and_none_is_trusted_by_default() {
        assert!(verify(&Trust::Any, OTHER, "x.test").is_ok());
        if system_bundle().is_some() {
            assert!(verify(&Trust::System, CERT, "mx.example.test").is_err());
        }
    }
}
