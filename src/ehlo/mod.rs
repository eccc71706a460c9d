//! EHLO capabilities: the typed set parsed from and written into an EHLO reply.
mod mechanism;
pub use mechanism::Mechanism;
