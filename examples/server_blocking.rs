//! The same server as `examples/server.rs` — same command line, policy and
//! Maildir delivery — on `esmtp::runtime::server::blocking`: one thread
//! per connection over `std::net`, no async runtime.
//!
//! ```sh
//! cargo run --example server_blocking -- --listen 127.0.0.1:2525 --maildir ./maildir
//! ```
//!
//! Without a signal-handling crate there is no graceful stop: Ctrl-C ends
//! the process at once. That loses nothing that was accepted (a message
//! is durable in `new/` before its 250); an unfinished one stays in
//! `tmp/`, which Maildir readers ignore.

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use clap::Parser;
use esmtp::bytes::Bytes;
use esmtp::command::SendMode;
use esmtp::params::{MailParams, RcptParams};
use esmtp::runtime::server::blocking::{Session, SmtpServer};
use esmtp::runtime::server::{
    Answer, ConnectionInfo, Direction, LmtpAnswer, MessageEnd, SessionEnd, TlsInfo,
};
use esmtp::server::{AbortReason, Credentials, HelloVerb};
use esmtp::values::{ForwardPath, Host, ReversePath};

use support::session::{single, Mailbox};
use support::{Args, Setup};

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let setup = Setup::new(args)?;
    let (plain, implicit) = setup.listeners;
    let shared = setup.shared;
    let sessions = move |conn: &ConnectionInfo| Blocking(Mailbox::new(&shared, conn));
    let mut builder = SmtpServer::builder(setup.config, sessions);
    if let Some(tls) = setup.tls {
        builder = builder.tls(tls);
    }
    let server = builder.runtime(setup.runtime).build();
    if let Some(listener) = implicit {
        let server = server.clone();
        std::thread::spawn(move || {
            if let Err(e) = server.serve_tls(listener) {
                eprintln!("implicit TLS listener: {e}");
            }
        });
    }
    server.serve(plain).map_err(|e| e.to_string())
}

/// The policy on a connection's thread, which waits for its delivery.
struct Blocking(Mailbox);

impl Session for Blocking {
    fn hello(&mut self, verb: HelloVerb, host: Host<'static>) -> Answer {
        self.0.hello(verb, host)
    }

    fn mail(
        &mut self,
        from: ReversePath<'static>,
        params: MailParams<'static>,
        _: Option<SendMode>,
    ) -> Answer {
        self.0.mail(from, params)
    }

    fn rcpt(&mut self, to: ForwardPath<'static>, _: RcptParams<'static>) -> Answer {
        self.0.rcpt(to)
    }

    fn content(&mut self, chunk: Bytes) {
        self.0.content(&chunk);
    }

    fn message_end(&mut self, end: MessageEnd) -> Answer {
        single(self.lmtp_message_end(end))
    }

    fn lmtp_message_end(&mut self, end: MessageEnd) -> LmtpAnswer {
        match self.0.message_end(end) {
            Ok(delivery) => {
                let outcome = delivery.wait_blocking();
                self.0.delivered(outcome)
            }
            Err(answer) => answer,
        }
    }

    fn message_aborted(&mut self, reason: AbortReason) {
        self.0.message_aborted(reason);
    }

    fn auth(&mut self, credentials: Credentials) -> Answer {
        self.0.auth(credentials)
    }

    fn tls_established(&mut self, tls: &TlsInfo) {
        self.0.tls_established(tls);
    }

    fn transcript(&mut self, direction: Direction, bytes: &[u8]) {
        self.0.transcript(direction, bytes);
    }

    fn closed(&mut self, end: SessionEnd) {
        self.0.closed(end);
    }
}
