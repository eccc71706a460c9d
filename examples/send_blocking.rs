//! `send_blocking`: the same as `send` (same command line, output and exit
//! status; see `examples/send.rs`) with
//! `esmtp::runtime::client::blocking::Transport` over `std::net`, without
//! an async runtime.

#[path = "send_support/mod.rs"]
mod send_support;
#[allow(dead_code)] // the server's, for --atrn
#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use clap::Parser;
use esmtp::runtime::client::blocking::Transport;
use esmtp::runtime::server::blocking::SmtpServer;
use send_support::Args;
use support::handlers::Blocking;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(send_support::Domains(domains)) = args.atrn.clone() {
        let (endpoint, odmr) = match send_support::odmr(&args) {
            Ok(prepared) => prepared,
            Err(e) => return send_support::failed(&args, &e),
        };
        let served = || {
            let mut transport = Transport::connect(endpoint)?;
            let reversal = transport.atrn(domains);
            if reversal.is_err() {
                transport.quit();
            }
            let reversal = reversal?;
            let server = SmtpServer::new(odmr.config.clone(), odmr.sessions(Blocking));
            Ok(server.serve_reversed(reversal))
        };
        return odmr.report(&args, served());
    }
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
