//! Round-trip and prefix checks shared by property tests, fuzz targets
//! and unit tests: a written value parses back to itself, and every
//! strict prefix of a valid line is `Incomplete`.
//!
//! Each check returns `Err` with a message rather than panicking, so a
//! proptest body can turn it into a failed case (`TestCaseError::fail`)
//! and a fuzz target can `unwrap` it.

use std::fmt::Debug;

use crate::DecodeError;

/// Checks that `parse` of `wire` gives back `value` and consumes all of
/// `wire` (the `parse(write(x)) == x` property).
///
/// `parse` is the streaming shape of this crate's parsers: the value and
/// the octets it used.
pub fn check_round_trip<'w, T, E>(
    value: &T,
    wire: &'w [u8],
    parse: impl FnOnce(&'w [u8]) -> Result<(T, usize), E>,
) -> Result<(), String>
where
    T: PartialEq + Debug,
    E: Debug,
{
    match parse(wire) {
        Ok((back, used)) if used == wire.len() && back == *value => Ok(()),
        Ok((back, used)) => Err(format!(
            "{:?} parsed as {back:?} using {used} of {} octets, not {value:?}",
            String::from_utf8_lossy(wire),
            wire.len(),
        )),
        Err(e) => Err(format!(
            "{:?} (written from {value:?}) does not parse: {e:?}",
            String::from_utf8_lossy(wire),
        )),
    }
}

/// Checks that every strict prefix of `wire` (a complete, valid line or
/// reply) parses as [`DecodeError::Incomplete`]: a streaming parser must
/// wait for more input rather than fail or accept early (RFC 5321 §2.3.8:
/// a line ends only at CRLF).
pub fn check_prefixes_incomplete<'w, T: Debug>(
    wire: &'w [u8],
    mut parse: impl FnMut(&'w [u8]) -> Result<T, DecodeError>,
) -> Result<(), String> {
    for i in 0..wire.len() {
        match parse(&wire[..i]) {
            Err(DecodeError::Incomplete) => {}
            other => {
                return Err(format!(
                    "the {i}-octet prefix {:?} of {:?} gave {other:?}, not Incomplete",
                    String::from_utf8_lossy(&wire[..i]),
                    String::from_utf8_lossy(wire),
                ))
            }
        }
    }
    Ok(())
}
