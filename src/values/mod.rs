//! Layer 1: validated values. A value that exists can always be written to
//! the wire: constructors reject what the grammar does not allow.

mod datetime;
mod domain;
#[cfg(feature = "idna")]
mod idna;
mod mailbox;
mod path;
mod reply_code;
mod xtext;

pub(crate) use datetime::is_rfc3339_date_time;
pub use datetime::{DateTime, UtcOffset};
pub use domain::{AddressLiteral, Domain, MAX_DOMAIN_LEN, MAX_LABEL_LEN};
pub use mailbox::{Host, LocalPart, Mailbox, MAX_LOCAL_PART_LEN};
pub use path::{ForwardPath, ReversePath, MAX_PATH_LEN};
pub use reply_code::{EnhancedStatusCode, ReplyClass, ReplyCode};
pub use xtext::XText;

pub(crate) use domain::DomainRules;
#[cfg(feature = "idna")]
pub(crate) use idna::{forward_path_ascii, reverse_path_ascii};
pub(crate) use path::{parse_forward_path, parse_reverse_path, PathRules};
pub(crate) use reply_code::push_decimal;
pub(crate) use xtext::{decode_utf8_addr, encode_utf8_addr, encode_xtext};
