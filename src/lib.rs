//! Sans-IO Extended SMTP (RFC 5321) and LMTP (RFC 2033): the whole
//! protocol, both sides, no I/O — and, behind cargo features, a runtime
//! layer that drives it.
//!
//! A server that takes mail for one domain and stores it, on the
//! `runtime` layer (feature `tokio`; `blocking` for threads, `rustls` for
//! STARTTLS and implicit TLS — the layer is documented with the features
//! on). Each method of `runtime::server::Session` answers one decision of
//! the machine; the ones not written keep their defaults:
//!
//! ```no_run
//! use esmtp::runtime::server::{Answer, ConnectionInfo, MessageEnd, Session, SmtpServer};
//! use esmtp::{bytes::Bytes, params::RcptParams, server::{AbortReason, ServerConfig}};
//! use esmtp::values::{ForwardPath, Host};
//!
//! struct Inbox(u64, Vec<u8>); // one connection: its id, the message being received
//!
//! impl Session for Inbox {
//!     async fn rcpt(&mut self, to: ForwardPath<'static>, _: RcptParams<'static>) -> Answer {
//!         match to.mailbox().map(|m| &m.host) {
//!             Some(Host::Domain(d)) if d.as_str().eq_ignore_ascii_case("example.org") => Answer::Accept,
//!             _ => Answer::Deny, // 550 5.1.1
//!         }
//!     }
//!     async fn content(&mut self, chunk: Bytes) {
//!         self.1.extend_from_slice(&chunk); // dot-unstuffed, not copied
//!     }
//!     async fn message_end(&mut self, _: MessageEnd) -> Answer {
//!         // Stored before the 250, which takes responsibility for the message.
//!         let name = format!("mail/{}.{}.eml", std::time::UNIX_EPOCH.elapsed().unwrap_or_default().as_micros(), self.0);
//!         match tokio::fs::write(name, std::mem::take(&mut self.1)).await {
//!             Ok(()) => Answer::Accept,
//!             Err(e) => Answer::temporary_failure(&e.to_string()), // 451 4.3.0
//!         }
//!     }
//!     fn message_aborted(&mut self, _: AbortReason) {
//!         self.1.clear();
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let config = ServerConfig::new("mx.example.org").expect("a valid host name");
//!     let server = SmtpServer::new(config, |c: &ConnectionInfo| Inbox(c.id, Vec::new()));
//!     server.serve(tokio::net::TcpListener::bind("127.0.0.1:2525").await?).await
//! }
//! ```
//!
//! A client that sends it a message over one connection
//! (`runtime::client::Transport`; the `Endpoint` also takes STARTTLS,
//! implicit TLS and credentials):
//!
//! ```no_run
//! use esmtp::client::{ClientConfig, Envelope};
//! use esmtp::runtime::client::{Endpoint, Transport};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = ClientConfig::new(esmtp::values::Domain::parse("client.example")?.into_owned());
//!     let mut transport = Transport::connect(Endpoint::new("127.0.0.1", 2525, config)).await?;
//!     let envelope = Envelope::parse("jane@example.net", ["bob@example.org"])?;
//!     // Ok only when every recipient took it; the replies are in the outcome.
//!     transport.send(envelope, "Subject: Hi\r\n\r\nHello, Bob.\r\n").await?;
//!     transport.quit().await;
//!     Ok(())
//! }
//! ```
//!
//! # Sans-IO
//!
//! Underneath, and for any other runtime, the crate never opens a socket,
//! spawns, sleeps or reads the clock. The application owns the connection
//! and drives a state machine with the bytes it reads, the decisions it
//! makes and the time it observes:
//!
//! ```text
//! handle_timeout(now)      the time: the machine's only clock
//! receive(&[u8])           bytes read from the peer
//! poll_event() -> Event    what happened; some events wait for a decision
//! decision() -> Decision   (server) the pending decision, answered once
//! poll_transmit() -> Bytes bytes to write to the peer, in order
//! poll_timeout() -> Instant when to give the time again, at the latest
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
//! # Module map
//!
//! | module | owns |
//! |---|---|
//! | [`values`] | validated domains, mailboxes, paths, reply and enhanced codes, xtext, RFC 3339 dates |
//! | [`command`] | the command grammar: a fused fast path for the hot lines (`fast.rs`), the general parser (`parse.rs`), the writer (`write.rs`), AUTH continuation lines (`sasl.rs`) |
//! | `grammar` (private) | the general grammar on nom streaming combinators, behind each hand-tuned fast path: the §4.1.2/§4.1.3 path and parameter productions, strict and lenient, which split MAIL/RCPT arguments (`path.rs`, `param.rs`, which also holds what the extensions' value grammars share), the §4.2 reply grammar (`reply.rs`), the §4.1.1.1 EHLO line grammar (`ehlo.rs`) |
//! | [`params`] | MAIL/RCPT parameter lists: where each value is kept (`mod.rs`), the `esmtp-param` syntax (`syntax.rs`), the one shell both lists share (`list.rs`) |
//! | [`ext`] | one file per service extension, owning it end to end (see below); the seam the rest of the crate calls through (`seam.rs`) and the registry (`mod.rs`) |
//! | [`ehlo`] | the EHLO capability set: keywords (`keyword.rs`), reading a parsed reply (`parse.rs`), reading one straight from the input in one pass (`fused.rs`), writing one (`write.rs`), SASL mechanism names |
//! | [`reply`] | replies (RFC 5321 §4.2): the fast parser (`parse.rs`), the value and its writer (`mod.rs`) |
//! | [`proxy`] | the PROXY protocol header (HAProxy's, versions 1 and 2) before a session: parsed (`v1.rs`, `v2.rs`, `tlv.rs`), written, bounded |
//! | [`data`] | DATA dot-stuffing and BDAT framing, both directions, with the bare CR/LF policy |
//! | [`sasl`] | SASL mechanisms beyond the AUTH framing: SCRAM's messages and keys (`scram/`), the client's mechanism seam (`exchange.rs`), channel-binding data |
//! | [`server`] | the server machine: input framing, session commands, the transaction, pending decisions, what is offered, output |
//! | [`trace`] | the trace fields a server prepends (RFC 5321 §4.4): `Received:` with the RFC 3848 / RFC 6531 `with` keywords, `Return-Path:`, `Delivered-To:` |
//! | [`client`] | the client machine: requests, session, negotiation, transaction, the pipeline queue, the content pump, envelopes |
//! | `runtime` (features `tokio`, `blocking`, `rustls`) | the drivers: listeners, connection limits, deadlines, TLS, shutdown, and the handler traits the server calls (`server/`); the client transport, its reconnect rules and pools (`client/`) |
//! | `octets` (private) | byte-level helpers every grammar shares: class tables, SWAR scans, keyword packing, line framing |
//! | `timer` (private) | the clock and idle timer both machines use: the latest time given, when the current wait began |
//!
//! Every grammar parses with streaming semantics (a prefix is
//! [`DecodeError::Incomplete`]) and writes the strict form.
//!
//! # Adding an extension
//!
//! An extension is one file, `src/ext/<name>.rs`, and one registration:
//! its `pub mod` line and its entry in the `registry!` table, side by side
//! in `src/ext/mod.rs`. The rest of the crate reaches it only through the
//! `Extension` it exports (`src/ext/seam.rs`, a table of `fn` pointers):
//! the server's EHLO reply and parameter checks (`server/offer.rs`), the
//! client's negotiation (`client/negotiate.rs`), the MAIL/RCPT parameter
//! lists (`params/list.rs`) and [`ehlo::Keyword`] all iterate the registry.
//!
//! Take RRVS (RFC 7293), `src/ext/rrvs.rs`, as the model:
//!
//! 1. `EHLO_KEYWORD` and `PARAM`: the only place `"RRVS"` is spelled.
//! 2. The value, [`ext::rrvs::Rrvs`], with `parse` and `write_to`. Its
//!    grammar is a nom streaming production named after the ABNF it reads
//!    and citing it (`rrvs_value`, RFC 7293 §3.1), run on the whole value
//!    by `grammar::param::Terminated`; an `assert_streaming!` test checks
//!    that every prefix of a valid value is `Incomplete`.
//! 3. The replies the RFC mandates, as [`ext::MandatedReply`] constants,
//!    each with a unit test citing its section.
//! 4. `EXTENSION`, its `Extension`, which fills in what it has (the rest
//!    stays `Extension::NONE`'s "nothing to do"):
//!    - `rcpt: &[RRVS]`: the parameter's `ParamDef`, whose `parse` reads
//!      the value into where it is kept ([`params::RcptExtras::rrvs`]) and
//!      whose `write` puts it back on the wire;
//!    - `advertise`: adds [`ehlo::Keyword::Rrvs`] to the EHLO reply when
//!      [`server::Extensions::rrvs`] is set;
//!    - `check_rcpt`: a server refuses `RRVS=` with `555 5.5.4` unless it
//!      offered RRVS (RFC 5321 §4.1.1.11);
//!    - `choose`: a client keeps the caller's `RRVS=` when offered, else
//!      strips or fails it per [`client::ParamPolicy`]; `strip_rcpt`
//!      removes it from each RCPT.
//! 5. Its registry entry, `rrvs { Rrvs = 23, }`, creates
//!    [`ehlo::Keyword::Rrvs`], spelled by `rrvs::EHLO_KEYWORD`, at
//!    position 23 of [`ehlo::Keyword::ALL`], the order an EHLO reply is
//!    written in (a new keyword takes the next free position); where the
//!    entry stands in the table is the order its parameters are written on
//!    MAIL/RCPT, checked by a server and negotiated by a client.
//!
//! Other hooks: `mail` and `check_mail` for MAIL parameters;
//! `accept_mail` / `accept_rcpt` for a server's rules once every
//! parameter passed (SMTPUTF8's on non-ASCII paths, RFC 6531 §3.4; AUTH's
//! trust in `AUTH=`, RFC 4954 §5); `require` for what a client's message
//! needs whatever the policy (as BODY, SMTPUTF8 and REQUIRETLS do);
//! `amend_rcpt` for RCPT parameters a client adds (CONNEG with CONPERM,
//! RFC 4141 §5.2); `check_envelope` for what a submitted envelope must
//! hold (MTRK's ENVID, RFC 3885 §3.2). Two things live outside the file because a struct is
//! declared in one place: a parameter whose value is new needs its field
//! in [`params::MailExtras`] / [`params::RcptExtras`] (or, for a hot one,
//! [`params::MailParams`]), and a server setting needs its field in
//! [`server::Extensions`]. A new EHLO keyword is recognised through a
//! perfect hash: should the build stop with "two EHLO keywords share a
//! slot", `KEYWORD_HASH` in `ehlo/keyword.rs` needs another odd multiplier.
//!
//! Errors keep their classes apart: [`SyntaxError`] for malformed peer
//! input (with the reply it deserves), [`DecodeError`] for framing, and
//! each machine's `ApiError` for misuse by the caller.
//!
//! Panics are bugs: no input, of any length or content, may make the crate
//! panic, loop, or hold more memory than its configured limits.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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
pub mod proxy;
pub mod reply;
#[cfg(any(feature = "tokio", feature = "blocking"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "blocking"))))]
pub mod runtime;
pub mod sasl;
pub mod server;
/// Test support for tests, fuzz targets and benches (the `testing`
/// feature): the in-memory client↔server pair, round-trip and prefix
/// checks, reference implementations; not a stable API.
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
mod timer;
pub mod trace;
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
            "Command {command}, Result<(Command, usize), DecodeError> {}, \
             server::Event {event}, client::Event {}, MailParams {}, RcptParams {}, \
             Server {}, Client {}, Capabilities {}, Reply {}",
            size_of::<Result<(crate::command::Command<'_>, usize), crate::DecodeError>>(),
            size_of::<crate::client::Event>(),
            size_of::<crate::params::MailParams<'_>>(),
            size_of::<crate::params::RcptParams<'_>>(),
            size_of::<crate::server::Server>(),
            size_of::<crate::client::Client>(),
            size_of::<crate::ehlo::Capabilities<'_>>(),
            size_of::<crate::reply::Reply<'_>>(),
        );
        assert!(command <= 128, "Command is {command} octets");
        assert!(event <= 128, "server::Event is {event} octets");
        // The capability set travels in its event behind an `Arc`, shared
        // with the session rather than copied.
        let client_event = size_of::<crate::client::Event>();
        assert!(
            client_event <= 128,
            "client::Event is {client_event} octets"
        );
        // The machines themselves move only when the caller moves them,
        // but each is one allocation-free value per connection: a ceiling
        // a little above today's figures catches an unboxed field.
        let (server, client) = (
            size_of::<crate::server::Server>(),
            size_of::<crate::client::Client>(),
        );
        assert!(server <= 320, "Server is {server} octets");
        assert!(client <= 768, "Client is {client} octets");
    }
}
