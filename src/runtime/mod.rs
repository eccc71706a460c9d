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
//! | `rustls` | `rustls` (`std` only, no crypto provider), `tokio-rustls` | STARTTLS and implicit TLS (RFC 8314) for both, from the application's `rustls::ServerConfig` or `rustls::ClientConfig` |
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
