//! Interop with real peers on loopback in one test binary (aiosmtpd, Postfix,
//! swaks, msmtp, curl, scramp), and smoke tests of the harness that starts
//! them.
//!
//! One module per former test file, under its old name (`cargo test --test
//! interop NAME::` runs one of them).

#[path = "../common/mod.rs"]
mod common;

mod interop_client;
mod interop_etrn_odmr;
mod interop_forwarding;
mod interop_sasl;
mod interop_server;
mod peers_smoke;
