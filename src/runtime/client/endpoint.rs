//! Where and how to connect: the server's address, the TLS mode, the
//! session configuration, the connect timeout and the reconnect policy,
//! shared by the tokio and blocking transports and pools.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::client::{AuthConfig, ClientConfig, ClientCredentials, TlsPolicy};
use crate::proxy::{ProxyEncodeError, ProxyHeader, ProxyVersion};

use super::reconnect::Reconnect;

/// How the connection is protected.
#[cfg_attr(not(feature = "rustls"), allow(dead_code))] // only Plain without TLS
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    /// Clear text; a STARTTLS offer is ignored.
    Plain,
    /// STARTTLS when offered (RFC 3207), clear text otherwise.
    Opportunistic,
    /// STARTTLS or nothing is sent.
    Required,
    /// TLS from the first octet (RFC 8314 §3).
    Implicit,
}

/// One server and how to talk to it: what a [`Transport`](super::Transport),
/// a [`Pool`](super::Pool) or their [`blocking`](super::blocking) twins
/// connect to. Cheap to clone.
///
/// The TLS mode is the endpoint's: it replaces
/// [`ClientConfig::tls`]. Without a TLS method the connection stays in
/// clear text and a server's STARTTLS offer is ignored.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) config: Arc<ClientConfig>,
    pub(super) security: Security,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The name the certificate must be valid for; `None`: `host`.
    #[cfg(feature = "rustls")]
    server_name: Option<rustls::pki_types::ServerName<'static>>,
    pub(super) connect_timeout: Duration,
    pub(super) reconnect: Reconnect,
    /// A PROXY protocol header sent first on every connection, written.
    pub(super) proxy: Option<Bytes>,
}

/// Why a `HOST:PORT` address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No `:PORT` at the end.
    #[error("{0:?} is not HOST:PORT")]
    NoPort(String),
    /// The port is not a number from 0 to 65535.
    #[error("bad port in {0:?}")]
    BadPort(String),
    /// Nothing before the port.
    #[error("no host in {0:?}")]
    NoHost(String),
}

/// How long resolving, connecting and each TLS handshake may take by
/// default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl Endpoint {
    /// The server at `host` (a name or an IP address) and `port`, in clear
    /// text, with the session configuration `config`.
    pub fn new(host: impl Into<String>, port: u16, config: ClientConfig) -> Self {
        let mut config = config;
        config.tls = TlsPolicy::None;
        Self {
            host: host.into(),
            port,
            config: Arc::new(config),
            security: Security::Plain,
            #[cfg(feature = "rustls")]
            tls: None,
            #[cfg(feature = "rustls")]
            server_name: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            reconnect: Reconnect::default(),
            proxy: None,
        }
    }

    /// The server at `address`: `HOST:PORT`, an IPv6 address in brackets
    /// (`[::1]:25`), as [`Endpoint::parse_address`] reads it.
    pub fn parse(address: &str, config: ClientConfig) -> Result<Self, AddressError> {
        let (host, port) = Self::parse_address(address)?;
        Ok(Endpoint::new(host, port, config))
    }

    /// Splits `HOST:PORT` at its last colon; the brackets of an IPv6
    /// address (`[2001:db8::1]:587`, RFC 3986 §3.2.2) are taken off. The
    /// host is not resolved.
    pub fn parse_address(address: &str) -> Result<(String, u16), AddressError> {
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| AddressError::NoPort(address.to_owned()))?;
        let port = port
            .parse()
            .map_err(|_| AddressError::BadPort(address.to_owned()))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match host.is_empty() {
            true => Err(AddressError::NoHost(address.to_owned())),
            false => Ok((host.to_owned(), port)),
        }
    }

    /// Whether the host is this machine: `localhost` or a loopback
    /// address (127.0.0.0/8, `::1`). Names are not resolved.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.strip_suffix('.').unwrap_or(&self.host);
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback())
    }

    /// Allows AUTH without TLS
    /// ([`ClientConfig::allow_plaintext_auth`]) when the server
    /// [`is_loopback`](Self::is_loopback): a password in clear text then
    /// crosses no network (RFC 4954 §4 asks for TLS because it would).
    pub fn allow_plaintext_auth_on_loopback(mut self) -> Self {
        if self.is_loopback() {
            Arc::make_mut(&mut self.config).allow_plaintext_auth = true;
        }
        self
    }

    #[cfg(feature = "rustls")]
    fn with_security(mut self, security: Security, policy: TlsPolicy) -> Self {
        self.security = security;
        Arc::make_mut(&mut self.config).tls = policy;
        self
    }

    /// STARTTLS is required (RFC 3207): on a server that does not offer it,
    /// or refuses it, the connection fails with
    /// [`TlsError::NotOffered`](super::TlsError::NotOffered) or
    /// [`TlsError::Refused`](super::TlsError::Refused) and no mail is sent.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn starttls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self.with_security(Security::Required, TlsPolicy::Required)
    }

    /// STARTTLS when the server offers it, clear text otherwise. A
    /// man-in-the-middle can strip the offer (RFC 3207 §6): credentials
    /// are then still refused in clear unless
    /// [`ClientConfig::allow_plaintext_auth`] is set. A failed handshake
    /// fails the connection; it does not fall back to clear text.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn opportunistic_starttls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self.with_security(Security::Opportunistic, TlsPolicy::Opportunistic)
    }

    /// TLS from the first octet (RFC 8314 §3, "submissions" on port 465).
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn implicit_tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self.with_security(Security::Implicit, TlsPolicy::None)
    }

    /// The name the server's certificate must be valid for, when it is not
    /// the host connected to (an IP address, or a name behind a tunnel).
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls_server_name(mut self, name: rustls::pki_types::ServerName<'static>) -> Self {
        self.server_name = Some(name);
        self
    }

    /// Authenticate with `credentials` (RFC 4954), with the strongest
    /// mechanism both sides allow. Never in clear text unless
    /// [`ClientConfig::allow_plaintext_auth`] is set: the connection then
    /// fails with [`Error::Auth`](super::Error::Auth) and
    /// [`AuthError::PlaintextRefused`](crate::client::AuthError::PlaintextRefused)
    /// before anything is sent.
    pub fn credentials(mut self, credentials: ClientCredentials) -> Self {
        Arc::make_mut(&mut self.config).auth = Some(AuthConfig::new(credentials));
        self
    }

    /// How long connecting, and then each TLS handshake, may take
    /// ([`DEFAULT_CONNECT_TIMEOUT`] by default). On tokio the bound covers
    /// resolving the name too; the blocking transport resolves with the
    /// system's own limits. The session's timeouts
    /// ([`ClientConfig::timeouts`], RFC 5321 §4.5.3.2) bound everything
    /// after.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// When a message is sent again on a new connection (see
    /// [`Reconnect`]).
    pub fn reconnect(mut self, policy: Reconnect) -> Self {
        self.reconnect = policy;
        self
    }

    /// Sends `header` (HAProxy's PROXY protocol, [`crate::proxy`]) in
    /// `version`'s form as the first octets of every connection, before
    /// any TLS: for a relay or proxy that speaks for the client `header`
    /// names (the server must expect one: Postfix's
    /// `smtpd_upstream_proxy_protocol`, this crate's
    /// [`ServerConfig::proxy_protocol`](crate::server::ServerConfig::proxy_protocol)).
    /// A header the version cannot carry is refused here.
    ///
    /// ```
    /// use esmtp::client::ClientConfig;
    /// use esmtp::proxy::{ProxyAddresses, ProxyHeader, ProxyVersion};
    /// use esmtp::runtime::client::Endpoint;
    /// use esmtp::values::Domain;
    ///
    /// let config = ClientConfig::new(Domain::parse("relay.example").unwrap().into_owned());
    /// let client = ProxyAddresses::tcp("192.0.2.7:4711".parse().unwrap(), "198.51.100.2:25".parse().unwrap());
    /// let endpoint = Endpoint::new("mx.example.org", 25, config)
    ///     .proxy_header(&ProxyHeader::proxied(client.unwrap()), ProxyVersion::V2)
    ///     .unwrap();
    /// ```
    pub fn proxy_header(
        mut self,
        header: &ProxyHeader,
        version: ProxyVersion,
    ) -> Result<Self, ProxyEncodeError> {
        self.proxy = Some(Bytes::from(header.to_bytes(version)?));
        Ok(self)
    }

    /// The host connected to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port connected to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The session configuration, with the endpoint's TLS policy.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether the connection runs on TLS from the first octet.
    pub(super) fn implicit(&self) -> bool {
        self.security == Security::Implicit
    }

    /// The TLS configuration and server name, for a handshake.
    #[cfg(feature = "rustls")]
    pub(super) fn tls_params(
        &self,
    ) -> Result<
        (
            Arc<rustls::ClientConfig>,
            rustls::pki_types::ServerName<'static>,
        ),
        super::TlsError,
    > {
        let config = self.tls.clone().ok_or(super::TlsError::NotConfigured)?;
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => rustls::pki_types::ServerName::try_from(self.host.clone())
                .map_err(|_| super::TlsError::InvalidServerName(self.host.clone()))?,
        };
        Ok((config, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Domain;

    fn config() -> ClientConfig {
        ClientConfig::new(Domain::parse("client.example").unwrap().into_owned())
    }

    #[test]
    fn host_and_port_with_ipv6_in_brackets_rfc3986_3_2_2() {
        let parse = Endpoint::parse_address;
        assert_eq!(
            parse("mx.example.org:25"),
            Ok(("mx.example.org".into(), 25))
        );
        assert_eq!(parse("[::1]:2525"), Ok(("::1".into(), 2525)));
        assert_eq!(parse("[2001:db8::1]:587"), Ok(("2001:db8::1".into(), 587)));
        assert!(matches!(
            parse("mx.example.org"),
            Err(AddressError::NoPort(_))
        ));
        assert!(matches!(parse("mx:65536"), Err(AddressError::BadPort(_))));
        assert!(matches!(parse("mx:"), Err(AddressError::BadPort(_))));
        assert!(matches!(parse(":25"), Err(AddressError::NoHost(_))));
        assert!(matches!(parse("[]:25"), Err(AddressError::NoHost(_))));
        let endpoint = Endpoint::parse("[::1]:25", config()).unwrap();
        assert_eq!((endpoint.host(), endpoint.port()), ("::1", 25));
    }

    #[test]
    fn plaintext_auth_only_on_loopback_rfc4954_4() {
        for host in [
            "localhost",
            "LocalHost.",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "::ffff:127.0.0.1",
        ] {
            let endpoint = Endpoint::new(host, 25, config()).allow_plaintext_auth_on_loopback();
            assert!(endpoint.config().allow_plaintext_auth, "{host}");
        }
        for host in ["mx.example.org", "192.0.2.1", "::2", "localhost.example"] {
            let endpoint = Endpoint::new(host, 25, config()).allow_plaintext_auth_on_loopback();
            assert!(!endpoint.config().allow_plaintext_auth, "{host}");
        }
    }
}
