//! A development mail server on tokio, built on `esmtp::runtime::server`:
//! the runtime drives the connections (limits, deadlines, STARTTLS and
//! implicit TLS, shutdown); this program adds the command line, the
//! policy and Maildir delivery (`examples/support/`). A message is
//! acknowledged only once it is durable.
//!
//! ```sh
//! cargo run --example server -- --listen 127.0.0.1:2525 --maildir ./maildir
//! ```
//!
//! `--help` lists every flag. Ctrl-C or SIGTERM stops accepting, ends open
//! sessions with `421` and exits.

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use clap::Parser;
use esmtp::runtime::server::{ConnectionInfo, SmtpServer};
use tokio::net::TcpListener;

use support::handlers::Tokio;
use support::session::Mailbox;
use support::{Args, Setup};

fn main() -> ExitCode {
    let args = Args::parse();
    // One core is left to the delivery thread, or to the kernel and the
    // peers on the same machine: on 2 cores with smtp-source alongside,
    // one worker ran 20% faster than two. One worker is the current
    // thread, which accepts and serves alike: no hand-off per connection.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1));
    let mut builder = if workers > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let result = builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
        .and_then(|rt| {
            // On a worker, so that sessions start where they are accepted.
            rt.block_on(async move {
                let served = tokio::spawn(async move { run(&args).await }).await;
                served.unwrap_or_else(|e| Err(format!("server task: {e}")))
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let setup = Setup::new(args)?;
    let tokio = |l: std::net::TcpListener| {
        l.set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(l))
    };
    let (plain, implicit) = setup.listeners;
    let plain = tokio(plain).map_err(|e| e.to_string())?;
    let implicit = implicit.map(tokio).transpose().map_err(|e| e.to_string())?;
    let shared = setup.shared;
    let sessions = move |conn: &ConnectionInfo| Tokio(Mailbox::new(&shared, conn));
    let mut builder = SmtpServer::builder(setup.config, sessions);
    if let Some(tls) = setup.tls {
        builder = builder.tls(tls);
    }
    let server = builder.runtime(setup.runtime).build();
    let (handle, watcher) = (server.shutdown_handle(), server.clone());
    tokio::spawn(async move {
        shutdown_signal().await;
        eprintln!("shutting down: {} open session(s)", watcher.open_sessions());
        handle.shutdown();
    });
    let tls = async {
        match implicit {
            Some(listener) => server.serve_tls(listener).await,
            None => Ok(()),
        }
    };
    let (plain, tls) = tokio::join!(server.serve(plain), tls);
    plain.and(tls).map_err(|e| e.to_string())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}
