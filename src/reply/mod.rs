//! Replies: parsing and writing single- and multi-line replies (RFC 5321 §4.2).
