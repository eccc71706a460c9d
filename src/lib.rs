//! Sans-IO Extended SMTP (RFC 5321) and LMTP (RFC 2033): the whole
//! protocol, both sides, no I/O.
//!
//! The crate never opens a socket, spawns, sleeps or reads the clock. The
//! application owns the connection and drives a state machine with the
//! bytes it reads, the decisions it makes and the time it observes:
//!
//! ```text
//! receive(&[u8])           bytes read from the peer
//! poll_event() -> Event    what happened; some events wait for a decision
//! poll_transmit() -> Bytes bytes to write to the peer, in order
//! poll_timeout(now)        when to call handle_timeout(now) next
//! ```
//!
//! A complete server session, driven in memory:
//!
//! ```
//! use esmtp::server::{Event, Server, ServerConfig};
//!
//! let mut server = Server::new(ServerConfig::new("mx.example.org").expect("a valid hostname"));
//! server.receive(b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n\
//!                  RCPT TO:<b@example.org>\r\nDATA\r\nHello\r\n.\r\nQUIT\r\n");
//! let mut content = Vec::new();
//! while let Some(event) = server.poll_event() {
//!     match event {
//!         Event::Content(chunk) => content.extend_from_slice(&chunk), // zero-copy Bytes
//!         Event::MessageEnd { .. } => server.accept().unwrap(),       // "250 2.0.0 ..."
//!         e if e.needs_decision() => server.accept().unwrap(),        // your policy here
//!         _ => {}
//!     }
//! }
//! assert_eq!(content, b"Hello\r\n");
//! let replies = server.poll_transmit().unwrap();
//! assert!(replies.starts_with(b"220 mx.example.org"));
//! ```
//!
//! # Layers
//!
//! - [`values`]: validated domains, mailboxes, paths, codes, xtext, dates.
//! - [`command`], [`reply`], [`params`] and [`ext`] (one module per
//!   extension), [`ehlo`]: the grammar, parsed with streaming semantics
//!   (a prefix is [`DecodeError::Incomplete`]) and written in strict form.
//! - [`data`]: DATA dot-stuffing and BDAT framing, both directions.
//! - [`server`]: the server session. Every policy question is an
//!   [`server::Event`] the application answers, possibly much later.
//!
//! Errors keep their classes apart: [`SyntaxError`] for malformed peer
//! input (with the reply it deserves), [`DecodeError`] for framing, and
//! each machine's `ApiError` for misuse by the caller.
//!
//! Panics are bugs: no input, of any length or content, may make the crate
//! panic, loop, or hold more memory than its configured limits.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod client;
pub mod command;
pub mod data;
pub mod ehlo;
pub mod error;
pub mod ext;
mod grammar;
mod octets;
pub mod options;
pub mod params;
pub mod reply;
mod sasl;
pub mod server;
mod timer;
pub mod values;

/// The `bytes` crate, whose `Bytes` carries message content in events and
/// submissions.
pub use bytes;
pub use error::{ConfigError, DecodeError, EncodeError, SyntaxError, SyntaxErrorKind};
pub use options::{ParseOptions, Strictness};

/// The README's examples are compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod size_tests {
    use std::mem::size_of;

    /// Commands and events are moved through every parse, queue and poll:
    /// the rare MAIL/RCPT parameters are boxed (`params::MailExtras`,
    /// `params::RcptExtras`) so that a move stays a few cache lines.
    /// `cargo test --lib size -- --nocapture` prints the figures kept in
    /// BENCHMARKS.md.
    #[test]
    fn moved_values_stay_small() {
        let command = size_of::<crate::command::Command<'_>>();
        let event = size_of::<crate::server::Event>();
        println!(
            "Command {command}, server::Event {event}, client::Event {}, \
             MailParams {}, RcptParams {}, Server {}, Client {}",
            size_of::<crate::client::Event>(),
            size_of::<crate::params::MailParams<'_>>(),
            size_of::<crate::params::RcptParams<'_>>(),
            size_of::<crate::server::Server>(),
            size_of::<crate::client::Client>(),
        );
        assert!(command <= 128, "Command is {command} octets");
        assert!(event <= 128, "server::Event is {event} octets");
    }
}
