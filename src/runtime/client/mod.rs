//! The client runtime: a transport that connects to one server, sets up
//! TLS and authentication, and sends any number of messages over one
//! reused connection; a pool of them for concurrent sends; and their
//! blocking twins.
//!
//! ```no_run
//! # async fn run(tls: std::sync::Arc<rustls::ClientConfig>) -> Result<(), Box<dyn std::error::Error>> {
//! use esmtp::client::{ClientConfig, ClientCredentials, Envelope};
//! use esmtp::runtime::client::{Endpoint, Transport};
//! use esmtp::values::{Domain, Mailbox};
//!
//! let config = ClientConfig::new(Domain::parse("client.example")?.into_owned());
//! let endpoint = Endpoint::new("smtp.example.org", 587, config)
//!     .starttls(tls) // required: no mail goes out in clear text
//!     .credentials(ClientCredentials::password("jane", "secret"));
//! let mut transport = Transport::connect(endpoint).await?;
//! let envelope = Envelope::new(Mailbox::parse("jane@example.org")?.into_owned())
//!     .to(Mailbox::parse("bob@example.net")?.into_owned());
//! let outcome = transport.send(envelope, "Subject: Hi\r\n\r\nHello, Bob.\r\n").await?;
//! transport.quit().await;
//! # let _ = outcome; Ok(()) }
//! ```
//!
//! The `rustls::ClientConfig` is the application's: it picks the crypto
//! provider and the trusted roots (rustls is built here without a
//! provider of its own).
//!
//! # What the layer does
//!
//! Every protocol rule is the [client machine](crate::client)'s: EHLO with
//! the fallback to HELO (LHLO in LMTP), STARTTLS under the endpoint's
//! policy, AUTH (never in clear text unless
//! [`ClientConfig::allow_plaintext_auth`](crate::client::ClientConfig::allow_plaintext_auth)),
//! PIPELINING, CHUNKING, SIZE, 8BITMIME, SMTPUTF8, the per-recipient
//! replies of LMTP, the timeouts of RFC 5321 §4.5.3.2 driven by the
//! machine's [`poll_timeout`](crate::client::Client::poll_timeout). This
//! layer owns the socket, the TLS handshake, the clock, and:
//!
//! - connecting again when the server closed the connection or sent
//!   `421` between messages, and sending a message again when its session
//!   ended under it and the server cannot have accepted it (the rules are
//!   on [`Reconnect`]);
//! - a connect timeout, and a write timeout of the data block timeout
//!   (RFC 5321 §4.5.3.2.5) on every write;
//! - typed errors ([`Error`]): connecting, TLS, the session, AUTH, a
//!   local refusal, the server's refusals per recipient, an interrupted
//!   message (and whether the server may have accepted it).
//! - ETRN (RFC 1985) and ATRN (RFC 2645) on a transport, refused locally
//!   when the server does not offer them; ATRN's `250` hands the
//!   connection over, for the server runtime to serve
//!   ([`SmtpServer::serve_reversed`](crate::runtime::server::SmtpServer::serve_reversed));
//!   and [`Transport::reversed`], the client side of a connection whose
//!   roles ATRN reversed, for a server delivering the mail it held.
//!
//! # Features
//!
//! [`Transport`] and [`Pool`] need `tokio`; [`blocking`] needs `blocking`;
//! the TLS methods of [`Endpoint`] need `rustls`.

mod endpoint; // where and how to connect
mod error; // the error classes
mod pool; // pool limits and bookkeeping; the tokio pool
mod reconnect; // when a message is sent again
mod session; // the I/O-free half of a connection

#[cfg(feature = "tokio")]
mod connection; // one tokio connection and its loop
#[cfg(feature = "tokio")]
mod transport; // the tokio transport

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;

pub use endpoint::{AddressError, Endpoint, DEFAULT_CONNECT_TIMEOUT};
pub use error::{Error, Interrupted, TlsError};
pub use pool::PoolConfig;
pub use reconnect::Reconnect;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use pool::Pool;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use transport::Transport;
