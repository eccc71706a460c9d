//! Trace fields (RFC 5321 §4.4): the `Return-Path:`, `Delivered-To:` and
//! `Received:` lines a server prepends to each message it accepts, with
//! the `with` protocol keywords of RFC 3848 and RFC 6531 §3.7.3. Sans-IO:
//! the caller gives the time and gets octets.
//!
//! ```
//! use esmtp::server::HelloVerb;
//! use esmtp::trace::{self, Received};
//!
//! let mut head = Vec::new();
//! trace::return_path(&mut head, "<jane@example.net>");
//! Received::new("mx.example.org", 1_763_812_320)
//!     .from("client.example", Some([192, 0, 2, 1].into()))
//!     .with(trace::protocol(HelloVerb::Ehlo, true, false, false)) // TLS, no AUTH, no SMTPUTF8
//!     .id("19A3F2C0000001")
//!     .recipient("<bob@example.org>")
//!     .write_to(&mut head);
//! assert_eq!(
//!     head,
//!     b"Return-Path: <jane@example.net>\r\n\
//!       Received: from client.example ([192.0.2.1])\r\n\
//!       \tby mx.example.org with ESMTPS id 19A3F2C0000001\r\n\
//!       \tfor <bob@example.org>; Sat, 22 Nov 2025 11:52:00 +0000\r\n"
//! );
//! ```

use std::net::IpAddr;

use crate::server::HelloVerb;
use crate::values::DateTime;

/// The `with` keyword of `Received:` (the registry of RFC 3848 §4 and
/// RFC 6531 §3.7.3 with its `UTF8` forms): `verb` is how the session
/// began, `tls` whether it runs under TLS (`S`), `auth` whether the
/// client authenticated (`A`), `utf8` whether the message came with
/// `SMTPUTF8`. A session begun with `HELO` is plain `SMTP`: no extension
/// applies to it.
pub fn protocol(verb: HelloVerb, tls: bool, auth: bool, utf8: bool) -> &'static str {
    const ESMTP: [&str; 4] = ["ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA"];
    const LMTP: [&str; 4] = ["LMTP", "LMTPA", "LMTPS", "LMTPSA"];
    const UTF8SMTP: [&str; 4] = ["UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA"];
    const UTF8LMTP: [&str; 4] = ["UTF8LMTP", "UTF8LMTPA", "UTF8LMTPS", "UTF8LMTPSA"];
    let suffix = usize::from(auth) + 2 * usize::from(tls);
    match (verb, utf8) {
        (HelloVerb::Helo, _) => "SMTP",
        (HelloVerb::Ehlo, false) => ESMTP[suffix],
        (HelloVerb::Ehlo, true) => UTF8SMTP[suffix],
        (HelloVerb::Lhlo, false) => LMTP[suffix],
        (HelloVerb::Lhlo, true) => UTF8LMTP[suffix],
    }
}

/// Appends `Return-Path: <path>` (RFC 5321 §4.4: added at final delivery,
/// from the reverse path of MAIL, `<>` included).
pub fn return_path(out: &mut Vec<u8>, reverse_path: &str) {
    field(out, "Return-Path: ", reverse_path);
}

/// Appends `Delivered-To: <path>`, the de facto field a delivery agent
/// adds for each recipient (Postfix and Dovecot read it to detect loops).
pub fn delivered_to(out: &mut Vec<u8>, forward_path: &str) {
    field(out, "Delivered-To: ", forward_path);
}

fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    push_clean(out, value);
    out.extend_from_slice(b"\r\n");
}

/// A `Received:` field (RFC 5321 §4.4, `Time-stamp-line`), written folded
/// as Postfix writes it:
///
/// ```text
/// Received: from HELO ([IP]) by HOST with PROTOCOL id ID for <PATH>; DATE
/// ```
///
/// Every clause but `by` and the date is optional. Give `for` only for a
/// message with one recipient: with more it would disclose Bcc recipients
/// to each other (RFC 5321 §7.2). Control characters in the values (none
/// come from a parsed session) are written as spaces, so a value can never
/// start a field of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<'a> {
    by: &'a str,
    at: i64,
    from: Option<(&'a str, Option<IpAddr>)>,
    with: Option<&'a str>,
    id: Option<&'a str>,
    recipient: Option<&'a str>,
}

impl<'a> Received<'a> {
    /// The field for a message received by `by` (this server's name) at
    /// `unix_seconds` (written in UTC).
    pub fn new(by: &'a str, unix_seconds: i64) -> Self {
        Received {
            by,
            at: unix_seconds,
            from: None,
            with: None,
            id: None,
            recipient: None,
        }
    }

    /// `from HELO ([IP])`: the name the client gave, and the address it
    /// connected from as an address literal (RFC 5321 §4.1.3; an
    /// IPv4-mapped IPv6 address as IPv4).
    pub fn from(mut self, helo: &'a str, ip: Option<IpAddr>) -> Self {
        self.from = Some((helo, ip));
        self
    }

    /// `with PROTOCOL`, usually from [`protocol`].
    pub fn with(mut self, protocol: &'a str) -> Self {
        self.with = Some(protocol);
        self
    }

    /// `id ID`: the server's identifier for the message (a queue id).
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// `for <PATH>`: the one recipient (see the type's note on Bcc).
    pub fn recipient(mut self, forward_path: &'a str) -> Self {
        self.recipient = Some(forward_path);
        self
    }

    /// Appends the field, ending in CRLF.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"Received:");
        if let Some((helo, ip)) = self.from {
            out.extend_from_slice(b" from ");
            push_clean(out, helo);
            if let Some(ip) = ip {
                out.extend_from_slice(b" ([");
                match ip {
                    IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                        out.extend_from_slice(b"IPv6:");
                        out.extend_from_slice(v6.to_string().as_bytes());
                    }
                    ip => out.extend_from_slice(ip.to_canonical().to_string().as_bytes()),
                }
                out.extend_from_slice(b"])");
            }
            out.extend_from_slice(b"\r\n\t");
        } else {
            out.push(b' ');
        }
        out.extend_from_slice(b"by ");
        push_clean(out, self.by);
        for (word, value) in [(" with ", self.with), (" id ", self.id)] {
            if let Some(value) = value {
                out.extend_from_slice(word.as_bytes());
                push_clean(out, value);
            }
        }
        if let Some(to) = self.recipient {
            out.extend_from_slice(b"\r\n\tfor ");
            push_clean(out, to);
        }
        out.extend_from_slice(b"; ");
        write_date(out, self.at);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `Sat, 22 Nov 2025 11:52:00 +0000`: the RFC 5322 §3.3 date of
/// `unix_seconds`, in UTC. A time outside years 0–9999 is written as the
/// epoch.
pub fn write_date(out: &mut Vec<u8>, unix_seconds: i64) {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = match DateTime::from_unix(unix_seconds) {
        Some(_) => unix_seconds,
        None => 0,
    };
    let Some(at) = DateTime::from_unix(secs) else {
        return; // the epoch is always in range
    };
    let (year, month, day, hour, minute, second) = at.fields();
    let weekday = DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize];
    let month = MONTHS[usize::from(month.clamp(1, 12)) - 1];
    let text =
        format!("{weekday}, {day:02} {month} {year:04} {hour:02}:{minute:02}:{second:02} +0000");
    out.extend_from_slice(text.as_bytes());
}

/// `value` with every control character written as a space.
fn push_clean(out: &mut Vec<u8>, value: &str) {
    out.extend(
        value
            .bytes()
            .map(|b| if b.is_ascii_control() { b' ' } else { b }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(r: &Received<'_>) -> String {
        let mut out = Vec::new();
        r.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn with_keywords_rfc3848_4_and_rfc6531_3_7_3() {
        use HelloVerb::*;
        let cases = [
            (Helo, false, false, false, "SMTP"),
            (Helo, true, true, true, "SMTP"),
            (Ehlo, false, false, false, "ESMTP"),
            (Ehlo, false, true, false, "ESMTPA"),
            (Ehlo, true, false, false, "ESMTPS"),
            (Ehlo, true, true, false, "ESMTPSA"),
            (Ehlo, false, false, true, "UTF8SMTP"),
            (Ehlo, true, true, true, "UTF8SMTPSA"),
            (Lhlo, false, false, false, "LMTP"),
            (Lhlo, true, false, false, "LMTPS"),
            (Lhlo, false, true, false, "LMTPA"),
            (Lhlo, true, true, true, "UTF8LMTPSA"),
            (Lhlo, false, false, true, "UTF8LMTP"),
        ];
        for (verb, tls, auth, utf8, want) in cases {
            assert_eq!(
                protocol(verb, tls, auth, utf8),
                want,
                "{verb:?} {tls} {auth} {utf8}"
            );
        }
    }

    #[test]
    fn date_is_rfc5322_3_3_in_utc() {
        let mut out = Vec::new();
        write_date(&mut out, 0);
        assert_eq!(out, b"Thu, 01 Jan 1970 00:00:00 +0000");
        out.clear();
        write_date(&mut out, 951_782_400); // a leap day
        assert_eq!(out, b"Tue, 29 Feb 2000 00:00:00 +0000");
        out.clear();
        write_date(&mut out, -86_400);
        assert_eq!(out, b"Wed, 31 Dec 1969 00:00:00 +0000");
        out.clear();
        write_date(&mut out, i64::MAX); // out of range: the epoch, no panic
        assert_eq!(out, b"Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn received_time_stamp_line_rfc5321_4_4() {
        let r = Received::new("mx.example.org", 0)
            .from("client.example", Some([192, 0, 2, 1].into()))
            .with("ESMTP")
            .id("Q1");
        assert_eq!(
            received(&r),
            "Received: from client.example ([192.0.2.1])\r\n\
             \tby mx.example.org with ESMTP id Q1; Thu, 01 Jan 1970 00:00:00 +0000\r\n"
        );
        // Only `by` and the date are required.
        assert_eq!(
            received(&Received::new("mx.example.org", 0)),
            "Received: by mx.example.org; Thu, 01 Jan 1970 00:00:00 +0000\r\n"
        );
    }

    #[test]
    fn client_address_is_an_address_literal_rfc5321_4_1_3() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let r = Received::new("mx", 0).from("c", Some(v6));
        assert!(received(&r).starts_with("Received: from c ([IPv6:2001:db8::1])\r\n"));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let r = Received::new("mx", 0).from("c", Some(mapped));
        assert!(received(&r).starts_with("Received: from c ([192.0.2.7])\r\n"));
        let r = Received::new("mx", 0).from("c", None);
        assert!(received(&r).starts_with("Received: from c\r\n\tby mx;"));
    }

    #[test]
    fn for_clause_names_one_recipient_rfc5321_7_2() {
        let r = Received::new("mx", 0).recipient("<b@example.org>");
        assert!(received(&r).contains("by mx\r\n\tfor <b@example.org>; Thu"));
    }

    #[test]
    fn control_characters_cannot_start_a_field_rfc5322_2_2() {
        let r = Received::new("mx", 0).from("evil\r\nX-Injected: 1", None);
        let text = received(&r);
        assert!(text.starts_with("Received: from evil  X-Injected: 1\r\n\tby mx"));
        let mut out = Vec::new();
        return_path(&mut out, "<a@b>\r\nBcc: x");
        delivered_to(&mut out, "<c@d>");
        assert_eq!(
            out,
            b"Return-Path: <a@b>  Bcc: x\r\nDelivered-To: <c@d>\r\n"
        );
    }
}
