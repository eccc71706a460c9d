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
use esmtp::runtime::server::blocking::SmtpServer;
use esmtp::runtime::server::ConnectionInfo;

use support::handlers::Blocking;
use support::session::Mailbox;
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
