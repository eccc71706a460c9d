//! The optional runtime layer: drivers that move bytes and time between
//! sockets and the sans-IO machines, behind cargo features that are off by
//! default.
//!
//! The machines ([`server`](crate::server), [`client`](crate::client))
//! own the protocol: framing, pipelining, every extension, the protocol's
//! limits and timeouts, STARTTLS's discarding of early input, role
//! reversal. The runtime owns what every deployment otherwise writes
//! around them: sockets, tasks or threads, connection limits, write
//! deadlines, read buffers, TLS handshakes, graceful shutdown, the calls
//! into the application's handler, and on the client side reconnection
//! and connection pools. Applications on another runtime drive the
//! machines themselves, as the [`server`](crate::server) and
//! [`client`](crate::client) modules show.
//!
//! | feature | pulls in | gives |
//! |---|---|---|
//! | `tokio` | `tokio` (`rt`, `net`, `time`, `io-util`, `sync`) | [`server::SmtpServer`]: one task per connection; [`client::Transport`] and [`client::Pool`]: messages over reused connections |
//! | `blocking` | nothing | [`server::blocking::SmtpServer`]: one thread per connection over `std::net`; [`client::blocking`]: the client's twins |
//! | `rustls` | `rustls` (`std` only, no crypto provider), `tokio-rustls` | STARTTLS and implicit TLS (RFC 8314) for both, from the application's `rustls::ServerConfig` or `rustls::ClientConfig`; [`tls`]: those configurations from PEM files, with a client's trust (system CAs, own CAs or a pinned certificate) |
//!
//! With none of them the crate is sans-IO, with no more dependencies than
//! the machines need.

// The documentation links the tokio and blocking twins to each other;
// built with only one of them, those links have nothing to point to.
#![cfg_attr(
    not(all(feature = "tokio", feature = "blocking")),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "blocking"))))]
pub mod client;
#[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "blocking"))))]
pub mod server;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod tls;

/// A fresh SASL nonce (RFC 5802 §5.1: random printable text): 24 octets
/// in base64, from `RandomState`, which is keyed from the operating
/// system's randomness, over a counter and the time that keep each value
/// unique.
pub(crate) fn sasl_nonce() -> String {
    use base64::Engine;
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut octets = [0u8; 24];
    for chunk in octets.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(octets)
}
