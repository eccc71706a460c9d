//! RFC 3339 `date-time` (§5.6), used by FUTURERELEASE (RFC 4865) and RRVS
//! (RFC 7293).

use std::fmt;
use std::ops::Range;

use crate::error::{SyntaxError, SyntaxErrorKind};

const fn err(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::ParameterValue, detail)
}

/// The offset of a [`DateTime`] from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UtcOffset {
    /// `Z`.
    Z,
    /// `+hh:mm` / `-hh:mm`, in minutes. `-00:00` (unknown local offset,
    /// RFC 3339 §4.3) is kept apart from `+00:00`.
    Minutes {
        /// Minutes east of UTC (−1439..=1439).
        minutes: i16,
        /// The sign was `-` (only matters for `-00:00`).
        negative: bool,
    },
}

/// A validated RFC 3339 date-time, kept field by field so it is written
/// back as it came (fraction digits included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// Fraction of a second as (value, number of digits); (0, 0) if none.
    fraction: (u32, u8),
    offset: UtcOffset,
}

impl DateTime {
    /// Parses `full-date "T" full-time`; `T` and `Z` may be lowercase
    /// (RFC 3339 §5.6 note).
    pub fn parse(s: &[u8]) -> Result<Self, SyntaxError> {
        let digits = |r: core::ops::Range<usize>| -> Result<u32, SyntaxError> {
            let d = s.get(r).ok_or(err("truncated date-time"))?;
            if d.iter().all(u8::is_ascii_digit) {
                Ok(d.iter().fold(0, |n, &c| n * 10 + (c - b'0') as u32))
            } else {
                Err(err("invalid date-time digits"))
            }
        };
        let expect = |i: usize, c: &[u8]| -> Result<(), SyntaxError> {
            match s.get(i) {
                Some(b) if c.contains(b) => Ok(()),
                _ => Err(err("invalid date-time separator")),
            }
        };
        let year = digits(0..4)? as u16;
        expect(4, b"-")?;
        let month = digits(5..7)? as u8;
        expect(7, b"-")?;
        let day = digits(8..10)? as u8;
        expect(10, b"Tt")?;
        let hour = digits(11..13)? as u8;
        expect(13, b":")?;
        let minute = digits(14..16)? as u8;
        expect(16, b":")?;
        let second = digits(17..19)? as u8;
        let mut i = 19;
        let mut fraction = (0, 0);
        if s.get(i) == Some(&b'.') {
            let n = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return Err(err("empty time-secfrac"));
            }
            // Keep up to 9 digits exactly; more precision than that is noise.
            if n > 9 {
                return Err(err("time-secfrac longer than 9 digits"));
            }
            fraction = (digits(i + 1..i + 1 + n)?, n as u8);
            i += 1 + n;
        }
        let offset = match s.get(i) {
            Some(b'Z' | b'z') => {
                i += 1;
                UtcOffset::Z
            }
            Some(&sign @ (b'+' | b'-')) => {
                let h = digits(i + 1..i + 3)?;
                expect(i + 3, b":")?;
                let m = digits(i + 4..i + 6)?;
                if h > 23 || m > 59 {
                    return Err(err("time-offset out of range"));
                }
                i += 6;
                let total = (h * 60 + m) as i16;
                UtcOffset::Minutes {
                    minutes: if sign == b'-' { -total } else { total },
                    negative: sign == b'-',
                }
            }
            _ => return Err(err("missing time-offset")),
        };
        if i != s.len() {
            return Err(err("trailing characters after date-time"));
        }
        let dt = DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            fraction,
            offset,
        };
        dt.check()?;
        Ok(dt)
    }

    fn check(&self) -> Result<(), SyntaxError> {
        if !(1..=12).contains(&self.month) {
            return Err(err("month out of range"));
        }
        if self.day == 0 || self.day > days_in_month(self.year, self.month) {
            return Err(err("day out of range"));
        }
        // second 60 is a leap second (RFC 3339 §5.7).
        if self.hour > 23 || self.minute > 59 || self.second > 60 {
            return Err(err("time out of range"));
        }
        Ok(())
    }

    /// A UTC date-time from seconds since the Unix epoch (no fraction).
    pub fn from_unix(secs: i64) -> Option<Self> {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let year = u16::try_from(y).ok().filter(|&y| y <= 9999)?;
        Some(DateTime {
            year,
            month: m,
            day: d,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            fraction: (0, 0),
            offset: UtcOffset::Z,
        })
    }

    /// Seconds since the Unix epoch (leap seconds folded, fraction dropped).
    pub fn unix_timestamp(&self) -> i64 {
        let days = days_from_civil(self.year as i64, self.month, self.day);
        let offset = match self.offset {
            UtcOffset::Z => 0,
            UtcOffset::Minutes { minutes, .. } => minutes as i64 * 60,
        };
        days * 86_400
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second.min(59) as i64
            - offset
    }

    /// True when the value is written with `Z` (RFC 4865 asks for UTC).
    pub fn is_utc(&self) -> bool {
        matches!(self.offset, UtcOffset::Z)
    }

    /// True when a fractional second is present (RRVS forbids it, RFC 7293
    /// §3.1).
    pub fn has_fraction(&self) -> bool {
        self.fraction.1 > 0
    }

    /// The offset from UTC.
    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// Year, month, day, hour, minute and second, as written.
    pub(crate) fn fields(&self) -> (u16, u8, u8, u8, u8, u8) {
        let d = self;
        (d.year, d.month, d.day, d.hour, d.minute, d.second)
    }

    /// Appends the RFC 3339 form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.fraction.1 > 0 {
            write!(
                f,
                ".{:0width$}",
                self.fraction.0,
                width = self.fraction.1 as usize
            )?;
        }
        match self.offset {
            UtcOffset::Z => f.write_str("Z"),
            UtcOffset::Minutes { minutes, negative } => {
                let m = minutes.unsigned_abs();
                let sign = if negative { '-' } else { '+' };
                write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
            }
        }
    }
}

impl core::str::FromStr for DateTime {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        DateTime::parse(s.as_bytes())
    }
}

fn is_leap(y: u16) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 §5.6 `date-time`, with calendar checks (days per month, leap
/// years, a leap second only as :60).
pub(crate) fn is_rfc3339_date_time(s: &[u8]) -> bool {
    fn num(s: &[u8], range: Range<usize>) -> Option<u32> {
        let d = s.get(range)?;
        d.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    }
    let check = || -> Option<()> {
        let year = num(s, 0..4)?;
        let month = num(s, 5..7)?;
        let day = num(s, 8..10)?;
        let (hour, minute, second) = (num(s, 11..13)?, num(s, 14..16)?, num(s, 17..19)?);
        let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| s.get(i) != Some(&c))
            || !matches!(s.get(10), Some(b'T' | b't'))
        {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = s.get(19..)?;
        if let Some(frac) = rest.strip_prefix(b".") {
            let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            rest = &frac[n..];
        }
        match rest {
            [b'Z' | b'z'] => Some(()),
            [b'+' | b'-', ..] if rest.len() == 6 && rest[3] == b':' => {
                let (h, m) = (num(rest, 1..3)?, num(rest, 4..6)?);
                (h <= 23 && m <= 59).then_some(())
            }
            _ => None,
        }
    };
    check().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_examples_5_8() {
        for s in [
            "1985-04-12T23:20:50.52Z",
            "1996-12-19T16:39:57-08:00",
            "1990-12-31T23:59:60Z",
            "1937-01-01T12:00:27.87+00:20",
            "2000-02-29T00:00:00-00:00",
        ] {
            let d: DateTime = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
        assert_eq!(
            DateTime::parse(b"1996-12-19t16:39:57z")
                .unwrap()
                .to_string(),
            "1996-12-19T16:39:57Z"
        );
    }

    #[test]
    fn invalid_date_times() {
        for s in [
            "1999-02-29T00:00:00Z",
            "1999-13-01T00:00:00Z",
            "1999-12-01T24:00:00Z",
            "1999-12-01T00:00:00",
            "1999-12-01 00:00:00Z",
            "99-12-01T00:00:00Z",
            "1999-12-01T00:00:00.Z",
            "1999-12-01T00:00:00+2400",
            "1999-12-01T00:00:00Zx",
            "1234567890",
        ] {
            assert!(DateTime::parse(s.as_bytes()).is_err(), "{s}");
        }
    }

    #[test]
    fn unix_conversion() {
        let d: DateTime = "1996-12-19T16:39:57-08:00".parse().unwrap();
        assert_eq!(d.unix_timestamp(), 851_042_397);
        assert_eq!(
            DateTime::from_unix(851_042_397).unwrap().to_string(),
            "1996-12-20T00:39:57Z"
        );
        assert_eq!(
            DateTime::from_unix(0).unwrap().to_string(),
            "1970-01-01T00:00:00Z"
        );
    }
}
