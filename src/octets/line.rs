//! Line framing: one CRLF-terminated line at the start of the input, within
//! a length limit (RFC 5321 §4.5.3.1.4, §4.5.3.1.5), for every line-based
//! grammar.

use crate::error::{DecodeError, SyntaxError, SyntaxErrorKind};

/// Finds the end of the first line. Returns the line without its line end
/// and the octets used, CRLF included. A bare LF ends a line only when
/// `bare_lf` (lenient); otherwise the line is an error.
pub(crate) fn frame_line(
    input: &[u8],
    max_line: usize,
    bare_lf: bool,
) -> Result<(&[u8], usize), DecodeError> {
    let window = &input[..input.len().min(max_line)];
    match memchr::memchr(b'\n', window) {
        Some(i) if i > 0 && input[i - 1] == b'\r' => Ok((&input[..i - 1], i + 1)),
        Some(i) if bare_lf => Ok((&input[..i], i + 1)),
        Some(i) => Err(DecodeError::Syntax {
            error: SyntaxError::new(SyntaxErrorKind::Character, "line ends in a bare LF"),
            consumed: i + 1,
        }),
        None if input.len() >= max_line => Err(DecodeError::LineTooLong { limit: max_line }),
        None => Err(DecodeError::Incomplete),
    }
}
