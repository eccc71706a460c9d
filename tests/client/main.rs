//! The client machine in one test binary: content encoding, transcripts
//! against canned servers, hardening, and client against server in memory.
//!
//! One module per former test file, under its old name (`cargo test --test
//! client NAME::` runs one of them).

#[path = "../client_support/mod.rs"]
mod client_support;
#[path = "../grammar/strategies.rs"]
mod strategies;
#[path = "../support/mod.rs"]
mod support;

mod client_content;
mod client_end_sent;
mod client_hardening;
mod client_pair;
mod client_transcript;
mod idna_pair;
mod param_exts_pair;
mod wire_transcript;
