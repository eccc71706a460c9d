//! Layer 1: validated values. A value that exists can always be written to
//! the wire: constructors reject what the grammar does not allow.

mod reply_code;

pub use reply_code::{EnhancedStatusCode, ReplyClass, ReplyCode};
#[allow(unused_imports)]
pub(crate) use reply_code::push_decimal;
