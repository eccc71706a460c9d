//! The grammar layer in one test binary: values, commands, parameters,
//! replies and EHLO, DATA/BDAT framing, and the known pitfalls of other
//! implementations.
//!
//! One module per former test file, under its old name (`cargo test --test
//! grammar NAME::` runs one of them).

mod strategies;
#[path = "../support/mod.rs"]
mod support;

mod catalog_pitfalls;
mod data;
mod grammar_props;
mod params;
mod reply_ehlo;
