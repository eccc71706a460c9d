//! The example programs in one test binary: their command lines, their
//! configuration policy, load and fault tests of the example server, and
//! that it acknowledges only durable messages.
//!
//! One module per former test file, under its old name (`cargo test --test
//! examples NAME::` runs one of them).

#[path = "../common/mod.rs"]
mod common;

mod example_cli;
mod example_durable;
mod example_load;
mod example_policy;
