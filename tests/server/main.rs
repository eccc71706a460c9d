//! The server machine in one test binary: sessions, transactions, extensions,
//! limits and hardening, and the two machines in memory for what the server
//! owns (SASL, PROXY, XCLIENT/XFORWARD, ETRN/ATRN, TURN, BURL, CHECKPOINT).
//!
//! One module per former test file, under its old name (`cargo test --test
//! server NAME::` runs one of them).

#[path = "../client_support/mod.rs"]
mod client_support;
#[path = "../support/mod.rs"]
mod support;

mod app_pair;
mod burl;
mod checkpoint;
mod etrn_atrn;
mod forwarding_pair;
mod forwarding_props;
mod param_exts_server;
mod proxy_pair;
mod role_reversal;
mod sasl_pair;
mod server_data;
mod server_ext;
mod server_hardening;
mod server_limits;
mod server_receive_buf;
mod server_sasl;
mod server_session;
mod server_split;
mod server_tls_auth;
