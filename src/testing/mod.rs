//! Test support shared by the crate's unit tests, the integration tests,
//! the fuzz targets and the benches: the in-memory client↔server
//! [`pair`](crate::testing::pair), the
//! [`round_trip`](crate::testing::round_trip) and prefix checks, and
//! implementations kept for comparison
//! ([`dot_reference`](crate::testing::dot_reference)), and the choice of
//! DATA scan width ([`force_scan_width`](crate::testing::force_scan_width)).
//!
//! Built with the `testing` feature (and for the crate's own unit tests);
//! nothing here is part of the stable API.

pub mod dot_reference;
pub mod pair;
pub mod round_trip;

/// The DATA scan widths this CPU has ([`widths`](scan_widths)) and running
/// this thread's scans at one of them ([`force_scan_width`]), so that a
/// differential test or fuzz target checks each against the reference.
pub use crate::data::width::{force as force_scan_width, widths as scan_widths};

/// `content` as a server stores it: every CRLF, bare CR and bare LF
/// written as CRLF (RFC 5321 §2.3.8), what a CHECKPOINT restart offset
/// (RFC 1845 §3) counts.
pub fn canonical_line_ends(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}
