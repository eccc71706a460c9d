//! The runtime's own settings: what the driver enforces around the machine
//! (connection limits, write deadlines, buffers, shutdown), each with a
//! default that is safe on a public port.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proxy::ProxyOptions;
use crate::server::{Server, ServerConfig};

/// How the runtime drives connections. The protocol's own limits and
/// timeouts stay in [`ServerConfig`] (`limits`, `timeouts`); these are the
/// ones only a driver can enforce.
///
/// ```
/// use esmtp::runtime::server::RuntimeConfig;
/// use std::time::Duration;
///
/// let mut runtime = RuntimeConfig::default();
/// runtime.max_connections = 10_000;
/// runtime.write_timeout = Duration::from_secs(30);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// Sessions open at once, over every listener of the server; a client
    /// beyond it gets `421 4.7.0` instead of a greeting and is
    /// disconnected (RFC 5321 §3.1). Default 2000.
    pub max_connections: usize,
    /// Sessions open at once from one client address (an IPv6 client
    /// counts by its /64, which one subscriber usually holds whole); more
    /// get `421 4.7.0`. Default 50, as Postfix's
    /// `smtpd_client_connection_count_limit`.
    pub max_connections_per_ip: usize,
    /// How long writing (and flushing) the replies owed may take: a client
    /// that stops reading cannot pin its session. Default 60 s.
    pub write_timeout: Duration,
    /// How long a TLS handshake may take, after STARTTLS or on an
    /// implicit-TLS listener. Default 30 s.
    pub tls_handshake_timeout: Duration,
    /// After a shutdown is requested, how long open sessions get to finish
    /// what they are doing before they are dropped. Default 30 s.
    pub shutdown_timeout: Duration,
    /// The text of the `421 4.3.0` sent to open sessions on shutdown.
    pub shutdown_text: String,
    /// The first read of a connection takes at most this many octets; a
    /// read that fills its buffer doubles the next, up to `max_read`, and
    /// one that does not halves it again. Default 2 KiB.
    pub first_read: usize,
    /// The largest read. Default 64 KiB.
    pub max_read: usize,
    /// With a TLS configuration, offer STARTTLS (RFC 3207) on plain
    /// listeners. Default `true`; without TLS STARTTLS is never offered.
    pub starttls: bool,
    /// With [`ServerConfig::proxy_protocol`], how long the PROXY header
    /// may take to arrive; a connection without one in time is closed
    /// without a reply. Default 10 s (a proxy sends it at once, §2.1).
    pub proxy_header_timeout: Duration,
    /// With [`ServerConfig::proxy_protocol`], count
    /// [`RuntimeConfig::max_connections_per_ip`] against the client the
    /// header names rather than the proxy the connection comes from (a
    /// header without a source counts against the proxy). Default
    /// `false`: per-address limits then apply to the proxy, so raise
    /// `max_connections_per_ip` or turn this on behind one.
    pub per_ip_by_proxied_source: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_connections: 2000,
            max_connections_per_ip: 50,
            write_timeout: Duration::from_secs(60),
            tls_handshake_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            shutdown_text: "Service shutting down".into(),
            first_read: 2 * 1024,
            max_read: 64 * 1024,
            starttls: true,
            proxy_header_timeout: Duration::from_secs(10),
            per_ip_by_proxied_source: false,
        }
    }
}

impl RuntimeConfig {
    /// The read size after a read of `n` octets into a buffer of `size`.
    pub(crate) fn next_read(&self, size: usize, n: usize) -> usize {
        let (min, max) = self.read_bounds();
        if n >= size {
            size.saturating_mul(2).clamp(min, max)
        } else {
            (size / 2).clamp(min, max)
        }
    }

    /// `first_read` and `max_read`, made consistent (and never zero: a
    /// zero-sized read would look like the end of the stream).
    pub(crate) fn read_bounds(&self) -> (usize, usize) {
        let min = self.first_read.max(1);
        (min, self.max_read.max(min))
    }
}

/// The machine configuration the runtime's sessions use: the
/// application's, with `ask_on_connect` set (every session is asked about
/// the connection, `Session::connect`), STARTTLS offered exactly when
/// the runtime can perform the handshake, and no PROXY header to wait
/// for: the runtime reads it itself, before TLS. The header's options are
/// returned beside.
pub(crate) fn session_config(
    config: Arc<ServerConfig>,
    runtime: &RuntimeConfig,
    tls: bool,
) -> (Arc<ServerConfig>, Option<ProxyOptions>) {
    let mut config = Arc::unwrap_or_clone(config);
    config.ask_on_connect = true;
    config.extensions.starttls = tls && runtime.starttls;
    let proxy = config.proxy_protocol.take();
    (Arc::new(config), proxy)
}

/// A machine for a new connection: its own CRAM-MD5 challenge nonce, and
/// marked as TLS from the start on an implicit-TLS listener (RFC 8314),
/// where STARTTLS is then not offered.
pub(crate) fn new_machine(config: &Arc<ServerConfig>, implicit_tls: bool) -> Server {
    let mut server = Server::new(Arc::clone(config));
    server.set_nonce(nonce());
    if implicit_tls {
        server.set_implicit_tls();
    }
    server
}

/// A value that differs per session and is hard to predict: RFC 2195 §2
/// asks for a unique challenge. `RandomState` is seeded from the operating
/// system's randomness; the counter and the time make each value unique.
fn nonce() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grow_when_full_and_shrink_when_not() {
        let c = RuntimeConfig::default();
        assert_eq!(c.next_read(2048, 2048), 4096);
        assert_eq!(c.next_read(65536, 65536), 65536);
        assert_eq!(c.next_read(4096, 100), 2048);
        assert_eq!(c.next_read(2048, 100), 2048);
        let zero = RuntimeConfig {
            first_read: 0,
            max_read: 0,
            ..RuntimeConfig::default()
        };
        assert_eq!(zero.read_bounds(), (1, 1));
    }
}
