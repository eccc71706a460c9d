//! `send`: delivers one message over SMTP or LMTP with
//! `esmtp::runtime::client::Transport` on tokio, and prints the server's
//! reply for each recipient.
//!
//! ```sh
//! printf 'Subject: hi\r\n\r\nhello\r\n' |
//!   cargo run --example send -- --server 127.0.0.1:2525 --from a@example.org --to b@example.org
//! ```
//!
//! `--help` lists every flag; the exit status is 0 only when every
//! recipient accepted the message (1 otherwise, 2 for a usage error).
//! With `--atrn` it is an ODMR client instead (RFC 2645): it takes the
//! mail a server held for its domains over the same connection.

#[path = "send_support/mod.rs"]
mod send_support;
#[allow(dead_code)] // the server's, for --atrn
#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use clap::Parser;
use esmtp::runtime::client::Transport;
use esmtp::runtime::server::SmtpServer;
use send_support::Args;
use support::handlers::Tokio;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(send_support::Domains(domains)) = args.atrn.clone() {
        let (endpoint, odmr) = match send_support::odmr(&args) {
            Ok(prepared) => prepared,
            Err(e) => return send_support::failed(&args, &e),
        };
        let served = async {
            let mut transport = Transport::connect(endpoint).await?;
            let reversal = transport.atrn(domains).await;
            if reversal.is_err() {
                transport.quit().await;
            }
            let reversal = reversal?;
            let server = SmtpServer::new(odmr.config.clone(), odmr.sessions(Tokio));
            Ok(server.serve_reversed(reversal).await)
        };
        return odmr.report(&args, served.await);
    }
    let (endpoint, message) = match send_support::prepare(&args) {
        Ok(prepared) => prepared,
        Err(e) => return send_support::failed(&args, &e),
    };
    let result = match Transport::connect(endpoint).await {
        Ok(mut transport) => {
            let result = transport.send(send_support::envelope(&args), message).await;
            transport.quit().await;
            result
        }
        Err(e) => Err(e),
    };
    send_support::report(&args, result)
}
