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

/// What BDAT text may pass by the rules alone (RFC 5321 §2.3.8, RFC 3030
/// §3): the content up to its first bare CR, bare LF or NUL, and that
/// offence; a CR that ends the content is bare. The oracle that
/// [`BareCheck`](crate::data::BareCheck) is tested and fuzzed against.
pub fn bare_text_by_the_rules(content: &[u8]) -> (Vec<u8>, Option<crate::data::ContentError>) {
    use crate::data::ContentError;
    for (i, &c) in content.iter().enumerate() {
        let offence = match c {
            0 => Some(ContentError::Nul),
            b'\r' if content.get(i + 1).is_some_and(|&n| n != b'\n') => Some(ContentError::BareCr),
            b'\n' if i == 0 || content[i - 1] != b'\r' => Some(ContentError::BareLf),
            _ => None,
        };
        if offence.is_some() {
            return (content[..i].to_vec(), offence);
        }
    }
    match content.last() {
        Some(b'\r') => (
            content[..content.len() - 1].to_vec(),
            Some(ContentError::BareCr),
        ),
        _ => (content.to_vec(), None),
    }
}
