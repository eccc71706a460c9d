//! `send_blocking`: the same as `send` (same command line, output and exit
//! status; see `examples/send.rs`) with
//! `esmtp::runtime::client::blocking::Transport` over `std::net`, without
//! an async runtime.

#[path = "send_support/mod.rs"]
mod send_support;

use std::process::ExitCode;

use clap::Parser;
use esmtp::runtime::client::blocking::Transport;
use send_support::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let (endpoint, message) = match send_support::prepare(&args) {
        Ok(prepared) => prepared,
        Err(e) => return send_support::failed(&args, &e),
    };
    let result = match Transport::connect(endpoint) {
        Ok(mut transport) => {
            let result = transport.send(send_support::envelope(&args), message);
            transport.quit();
            result
        }
        Err(e) => Err(e),
    };
    send_support::report(&args, result)
}
