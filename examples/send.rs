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

#[path = "send_support/mod.rs"]
mod send_support;

use std::process::ExitCode;

use clap::Parser;
use esmtp::runtime::client::Transport;
use send_support::Args;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
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
