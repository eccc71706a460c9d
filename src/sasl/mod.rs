//! SASL helpers shared by both sides.

pub(crate) mod md5;
