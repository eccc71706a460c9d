//! The runtime layer (tokio and blocking, server and client) in one test
//! binary, on loopback.
//!
//! One module per former test file, under its old name (`cargo test --test
//! runtime NAME::` runs one of them).

#[path = "../common/mod.rs"]
mod common;
mod runtime_client_support;
mod runtime_support;

mod param_exts_peers;
mod runtime_blocking;
mod runtime_burl_checkpoint;
mod runtime_client;
mod runtime_client_blocking;
mod runtime_client_peers;
mod runtime_proxy;
mod runtime_reversal;
mod runtime_sasl;
mod runtime_server;
