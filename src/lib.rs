//! Sans-IO Extended SMTP (RFC 5321) and LMTP (RFC 2033).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod command;
pub mod data;
pub mod ehlo;
pub mod error;
pub mod ext;
pub mod options;
pub mod params;
pub mod reply;
mod sasl;
pub mod server;
pub mod values;

pub use error::{DecodeError, SyntaxError, SyntaxErrorKind};
pub use options::{ParseOptions, Strictness};
