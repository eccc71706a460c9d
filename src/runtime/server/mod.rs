//! The server runtime: listeners and a per-connection driver around the
//! [`Server`](crate::server::Server) machine, calling an application's
//! handler for every decision.
//!
//! The application writes a [`Backend`] that creates a [`Session`] per
//! connection; the session answers the machine's decisions with an
//! [`Answer`] (an LMTP end of message with an [`LmtpAnswer`]) and receives
//! the content as `Bytes` chunks. Every method but `message_end` has a
//! default, so a session writes only what it needs. [`SmtpServer`] runs it on tokio (feature
//! `tokio`); [`blocking::SmtpServer`] on `std::net` threads (feature
//! `blocking`), with the same shapes.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use esmtp::runtime::server::{Answer, ConnectionInfo, MessageEnd, Session, SmtpServer};
//! use esmtp::server::ServerConfig;
//!
//! struct Sink;
//! impl Session for Sink {
//!     // Acknowledges every message and drops it, as smtp-sink does.
//!     async fn message_end(&mut self, _: MessageEnd) -> Answer {
//!         Answer::Accept
//!     }
//! }
//!
//! let config = ServerConfig::new("mx.example.org").expect("a valid hostname");
//! let server = SmtpServer::new(config, |_: &ConnectionInfo| Sink);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2525").await?;
//! server.serve(listener).await
//! # }
//! ```
//!
//! # What the driver does
//!
//! - **Order.** One task per connection feeds what it reads to the
//!   machine, awaits the session's answer to each decision in turn, and
//!   writes the replies. While an answer is awaited, later pipelined
//!   commands wait unread, and nothing more is read from the client; if
//!   the answer takes a while, the replies already owed are written
//!   meanwhile.
//! - **Limits** ([`RuntimeConfig`]): sessions in all and per client
//!   address (`421 4.7.0` instead of a greeting, written without blocking
//!   the accept loop); a deadline on writing the replies; the machine's
//!   own timeouts ([`Timeouts`](crate::server::Timeouts)) by its
//!   deadline; reads no larger than what the machine may still buffer.
//! - **Memory.** An idle session holds no read buffer: the driver waits
//!   for the socket to be readable, then reads into a fresh buffer that it
//!   hands to the machine without a copy. Reads start small and grow while
//!   the client keeps them full.
//! - **TLS** (feature `rustls`): STARTTLS on plain listeners when a TLS
//!   configuration is given, and implicit-TLS listeners (RFC 8314,
//!   [`SmtpServer::serve_tls`]), both on one server.
//! - **Shutdown** ([`ShutdownHandle`]): listeners stop accepting; open
//!   sessions get `421 4.3.0` between commands — an end of message the
//!   handler is answering is answered first, so a message acknowledged is
//!   never lost, and a message being received may finish. At the end of
//!   [`RuntimeConfig::shutdown_timeout`] the rest get their `421` at once
//!   (a message still arriving is aborted, unacknowledged), and sessions
//!   still open a moment later are dropped.
//! - **Role reversal** (RFC 2645 §5.3): an accepted TURN or ATRN hands the
//!   stream and the bytes already read to [`Session::reversed`], which
//!   delivers over it with
//!   [`Transport::reversed`](crate::runtime::client::Transport::reversed).
//!   The other way round, [`SmtpServer::serve_reversed`] serves the
//!   connection a client's
//!   [`Transport::atrn`](crate::runtime::client::Transport::atrn) handed
//!   over.
//! - **Transcripts**: [`Session::transcript`] sees every octet read from
//!   and written to the client, in order, after TLS decryption;
//!   [`Transcript`] writes them as timestamped lines, AUTH secrets
//!   redacted.
//! - **The PROXY protocol** (HAProxy's, versions 1 and 2, with
//!   [`ServerConfig::proxy_protocol`](crate::server::ServerConfig::proxy_protocol)):
//!   the header is read right after accept, before any TLS handshake
//!   (plain and implicit-TLS listeners alike) and before the backend
//!   creates the session, which finds it in [`ConnectionInfo::proxy`] and
//!   the client it names in [`ConnectionInfo::client`]. Only the header's
//!   octets are taken from the socket; a malformed or late one
//!   ([`RuntimeConfig::proxy_header_timeout`]) closes the connection
//!   without a reply. Per-address limits count against the proxy unless
//!   [`RuntimeConfig::per_ip_by_proxied_source`] says the client.
//! - **XCLIENT and XFORWARD** (Postfix's): offered to the connections
//!   the session authorises ([`Session::xclient_authorized`], asked again
//!   after each accepted XCLIENT), and answered by it.
//!
//! For the sessions to share, [`AuthThrottle`] counts failed AUTHs per
//! client address and refuses a guesser with `454 4.7.0` for a while.
//!
//! Everything else — the protocol, its limits and timeouts, what is
//! offered — stays in the machine and its [`ServerConfig`](crate::server::ServerConfig).
//! The runtime's copy of the configuration asks every session about the
//! connection (`ask_on_connect`, [`Session::connect`]) and offers STARTTLS
//! exactly when it can do the handshake.

mod answer;
mod config;
mod info;
mod limits;
mod proxy;
mod throttle;
mod transcript;

#[cfg(feature = "tokio")]
mod driver;
#[cfg(feature = "tokio")]
mod handler;
#[cfg(feature = "tokio")]
mod listener;
#[cfg(feature = "tokio")]
mod shutdown;
#[cfg(feature = "tokio")]
mod stream;
#[cfg(feature = "tokio")]
mod tls;

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;

pub use answer::{Answer, BurlAnswer, LmtpAnswer, MessageEnd, SaslAnswer};
pub use config::RuntimeConfig;
pub use info::{ConnectionInfo, Direction, SessionEnd, TlsInfo};
pub use limits::Refusal;
pub use throttle::AuthThrottle;
pub use transcript::Transcript;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use handler::{Backend, Session};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use listener::{SmtpServer, SmtpServerBuilder};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use shutdown::ShutdownHandle;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use stream::{Reversal, Stream};
