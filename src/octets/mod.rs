//! Byte-level helpers every grammar shares: character-class tables,
//! word-at-a-time (SWAR) scans and keyword packing, and line framing.
//!
//! Nothing here knows a command or a reply; the parsers in
//! [`crate::command`], [`crate::reply`], [`crate::ehlo`], [`crate::params`]
//! and [`crate::data`] build on these so that each trick exists once.

pub(crate) mod class;
pub(crate) mod line;
pub(crate) mod pack;
pub(crate) mod scan;
