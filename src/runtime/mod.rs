//! The optional runtime layer: drivers that move bytes and time between
//! sockets and the sans-IO machines, behind cargo features that are off by
//! default.
//!
//! The machines ([`server`](crate::server), [`client`](crate::client))
//! own the protocol: framing, pipelining, every extension, the protocol's
//! limits and timeouts, STARTTLS's discarding of early input, role
//! reversal. The runtime owns what every deployment otherwise writes
//! around them: sockets, tasks or threads, connection limits, write
//! deadlines, read buffers, TLS handshakes, graceful shutdown, and the
//! calls into the application's handler. Applications on another runtime
//! drive the machines themselves, as the [`server`](crate::server) module
//! shows.
//!
//! | feature | pulls in | gives |
//! |---|---|---|
//! | `tokio` | `tokio` (`rt`, `net`, `time`, `io-util`, `sync`) | [`server::SmtpServer`]: one task per connection |
//! | `blocking` | nothing | [`server::blocking::SmtpServer`]: one thread per connection over `std::net` |
//! | `rustls` | `rustls` (`std` only, no crypto provider), `tokio-rustls` | STARTTLS and implicit TLS (RFC 8314) for both, from the application's `rustls::ServerConfig` |
//!
//! With none of them the crate is sans-IO, with no more dependencies than
//! the machines need.

#[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "blocking"))))]
pub mod server;
