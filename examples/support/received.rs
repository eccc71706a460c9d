//! The trace fields prepended to each delivered message: `Return-Path:`,
//! `Delivered-To:` and `Received:` (RFC 5321 §4.4), and an RFC 5322 date
//! written by hand from `SystemTime` (no date crate).

use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the trace fields say about one transaction.
pub struct Trace<'a> {
    /// `MAIL FROM` path, brackets included (`<>` for the null path).
    pub reverse_path: &'a str,
    /// Accepted `RCPT TO` paths, brackets included, in RCPT order.
    pub forward_paths: &'a [String],
    /// The name the client gave in HELO/EHLO/LHLO.
    pub helo: &'a str,
    /// The client's address.
    pub client_ip: IpAddr,
    /// This server's name.
    pub hostname: &'a str,
    /// The `with` protocol (see [`protocol`]).
    pub protocol: &'static str,
    /// The delivery id (also in the 250 reply).
    pub id: &'a str,
    /// When the message arrived.
    pub date: SystemTime,
}

/// The `with` keyword registered for this session (RFC 3848 for the S and
/// A suffixes, RFC 6531 §3.7.3 for UTF8*): a HELO session is plain `SMTP`.
pub fn protocol(lmtp: bool, ehlo: bool, utf8: bool, tls: bool, auth: bool) -> &'static str {
    if !lmtp && !ehlo {
        return "SMTP";
    }
    const NAMES: [[&str; 4]; 4] = [
        ["ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA"],
        ["UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA"],
        ["LMTP", "LMTPA", "LMTPS", "LMTPSA"],
        ["UTF8LMTP", "UTF8LMTPA", "UTF8LMTPS", "UTF8LMTPSA"],
    ];
    let row = usize::from(utf8) + 2 * usize::from(lmtp);
    let col = usize::from(auth) + 2 * usize::from(tls);
    NAMES[row][col]
}

impl Trace<'_> {
    /// The prepended lines, each ending in CRLF:
    ///
    /// ```text
    /// Return-Path: <a@example.org>
    /// Delivered-To: <b@example.net>
    /// Received: from client.example ([192.0.2.1])
    ///         by mx.example.net with ESMTPS id 19A3F2C0000001
    ///         for <b@example.net>; Sat, 22 Nov 2025 11:52:00 +0000
    /// ```
    ///
    /// The `for` clause is given only for a single recipient: with more,
    /// it would disclose Bcc recipients to each other (RFC 5321 §7.2).
    ///
    /// Written straight into `out`, without allocating on the way (it runs
    /// once per message).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "Return-Path: {}\r\n", self.reverse_path);
        for to in self.forward_paths {
            let _ = write!(out, "Delivered-To: {to}\r\n");
        }
        let _ = write!(
            out,
            "Received: from {} ({})\r\n\tby {} with {} id {}",
            self.helo,
            AddressLiteral(self.client_ip),
            self.hostname,
            self.protocol,
            self.id
        );
        if let [only] = self.forward_paths {
            let _ = write!(out, "\r\n\tfor {only}");
        }
        let _ = write!(out, "; {}\r\n", Rfc5322Date(self.date));
    }
}

/// The client address as an RFC 5321 §4.1.3 address literal.
struct AddressLiteral(IpAddr);

impl fmt::Display for AddressLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "[{v4}]"),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => write!(f, "[{v4}]"),
                None => write!(f, "[IPv6:{v6}]"),
            },
        }
    }
}

/// `Sat, 22 Nov 2025 11:52:00 +0000` (RFC 5322 §3.3), in UTC.
struct Rfc5322Date(SystemTime);

impl fmt::Display for Rfc5322Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        // Before 1970 only with a broken clock: write the epoch.
        let secs = self.0.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
            DAYS[(days % 7) as usize],
            day,
            MONTHS[(month - 1) as usize],
            year,
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31) in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}
