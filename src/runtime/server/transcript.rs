//! Session transcripts: what a [`Session::transcript`](super::Session::transcript)
//! tap sees, written as timestamped lines with the secrets of AUTH
//! exchanges (RFC 4954 §4) redacted.
//!
//! ```text
//! 2026-05-01T12:00:00.123Z S: 220 mx.example.org ESMTP
//! 2026-05-01T12:00:00.124Z C: AUTH PLAIN [redacted]
//! 2026-05-01T12:00:00.125Z -- TLS established
//! ```

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use super::Direction;
use crate::values::DateTime;

/// A partial line longer than this is written as it is.
const LONGEST: usize = 4096;

/// One session's transcript, written to `W` (a file per session, say)
/// line by line as the octets arrive. Client lines are `C:`, server lines
/// `S:`, the application's notes `--`; control characters are escaped,
/// so a transcript is safe to `cat`. Redacted: the argument of `AUTH`
/// after the mechanism (an initial response), and every client line
/// answering a `334` challenge.
#[derive(Debug)]
pub struct Transcript<W: Write> {
    out: W,
    /// The partial line of each direction (received, sent).
    partial: [Vec<u8>; 2],
    /// The server's last line was a `334` challenge: the client's next
    /// line is a SASL response.
    challenged: bool,
    /// The first write error; later writes are skipped.
    error: Option<io::Error>,
}

impl<W: Write> Transcript<W> {
    /// A transcript written to `out`. Each whole line is flushed as it
    /// comes (for `tail -f`), so a buffered writer is best.
    pub fn new(out: W) -> Self {
        Transcript {
            out,
            partial: [Vec::new(), Vec::new()],
            challenged: false,
            error: None,
        }
    }

    /// Octets that crossed the connection, as the tap gives them: whole
    /// lines are written, the rest waits for its line end.
    pub fn record(&mut self, direction: Direction, mut bytes: &[u8]) {
        let i = usize::from(direction == Direction::Sent);
        while let Some(end) = memchr::memchr(b'\n', bytes) {
            self.partial[i].extend_from_slice(&bytes[..=end]);
            bytes = &bytes[end + 1..];
            self.flush_line(direction);
        }
        self.partial[i].extend_from_slice(bytes);
        if self.partial[i].len() > LONGEST {
            self.flush_line(direction);
        }
        self.flush();
    }

    /// A line of the application's own (`--`), such as the TLS state.
    pub fn note(&mut self, text: &str) {
        self.write("--", text.as_bytes());
        self.flush();
    }

    /// Writes out what is left (a last line without its end) and flushes;
    /// the first error any write met, if one did.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush_line(Direction::Received);
        self.flush_line(Direction::Sent);
        self.flush();
        self.error.take().map_or(Ok(()), Err)
    }

    /// The writer, once [`finish`](Self::finish)ed.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn flush(&mut self) {
        if self.error.is_none() {
            self.error = self.out.flush().err();
        }
    }

    fn flush_line(&mut self, direction: Direction) {
        let i = usize::from(direction == Direction::Sent);
        let line = std::mem::take(&mut self.partial[i]);
        if line.is_empty() {
            return;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if direction == Direction::Sent {
            // A multiline reply's continuation is `334-`; only its last
            // line ends the challenge, and that one starts `334 `.
            self.challenged = text.starts_with(b"334");
            self.write("S:", text);
        } else if std::mem::take(&mut self.challenged) {
            self.write("C:", b"[redacted]");
        } else if text.len() > 5 && text[..5].eq_ignore_ascii_case(b"AUTH ") {
            // AUTH mechanism [initial-response]: the mechanism stays.
            let mut words = text.splitn(3, |&b| b == b' ');
            let (verb, mechanism) = (words.next(), words.next());
            let mut shown = [verb.unwrap_or_default(), mechanism.unwrap_or_default()].join(&b' ');
            if words.next().is_some() {
                shown.extend_from_slice(b" [redacted]");
            }
            self.write("C:", &shown);
        } else {
            self.write("C:", text);
        }
    }

    fn write(&mut self, tag: &str, line: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = i64::try_from(now.as_secs()).unwrap_or(0);
        let date = DateTime::from_unix(secs).map_or_else(String::new, |d| d.to_string());
        let mut text = String::with_capacity(line.len());
        for c in String::from_utf8_lossy(line).chars() {
            if c.is_control() && c != '\t' {
                text.extend(c.escape_default());
            } else {
                text.push(c);
            }
        }
        let stamp = date.strip_suffix('Z').unwrap_or(&date);
        let millis = now.subsec_millis();
        self.error = writeln!(self.out, "{stamp}.{millis:03}Z {tag} {text}").err();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Received, Sent};

    /// The lines without their timestamps (`2026-05-01T12:00:00.123Z `).
    fn lines(t: Transcript<Vec<u8>>) -> Vec<String> {
        let text = String::from_utf8(t.into_inner()).unwrap();
        text.lines()
            .map(|l| {
                assert_eq!(l.as_bytes()[23], b'Z', "{l}");
                l[25..].to_owned()
            })
            .collect()
    }

    #[test]
    fn lines_both_ways_in_order_split_anywhere() {
        let mut t = Transcript::new(Vec::new());
        t.record(Sent, b"220 mx ESMTP\r\n");
        t.record(Received, b"EHLO c");
        t.record(Received, b".example\r\nQUIT\r\n");
        t.note("TLS established");
        t.record(Sent, b"221 bye\r\n");
        t.finish().unwrap();
        assert_eq!(
            lines(t),
            [
                "S: 220 mx ESMTP",
                "C: EHLO c.example",
                "C: QUIT",
                "-- TLS established",
                "S: 221 bye"
            ]
        );
    }

    #[test]
    fn auth_secrets_are_redacted_rfc4954_4() {
        let mut t = Transcript::new(Vec::new());
        t.record(Received, b"AUTH PLAIN AGphbmUAc2VjcmV0\r\n");
        t.record(Received, b"auth login\r\n");
        t.record(Sent, b"334 VXNlcm5hbWU6\r\n");
        t.record(Received, b"amFuZQ==\r\n");
        t.record(Sent, b"334 UGFzc3dvcmQ6\r\n");
        t.record(Received, b"c2VjcmV0\r\n");
        t.record(Sent, b"235 2.7.0 ok\r\n");
        t.record(Received, b"MAIL FROM:<a@b>\r\n");
        t.finish().unwrap();
        let got = lines(t);
        assert_eq!(got[0], "C: AUTH PLAIN [redacted]");
        assert_eq!(got[1], "C: auth login");
        assert_eq!(got[3], "C: [redacted]");
        assert_eq!(got[5], "C: [redacted]");
        assert_eq!(got[7], "C: MAIL FROM:<a@b>");
        assert!(!got.concat().contains("c2VjcmV0"));
    }

    #[test]
    fn controls_escaped_and_a_last_partial_line_kept() {
        let mut t = Transcript::new(Vec::new());
        t.record(Received, b"NOOP \x1b[31m\r\n");
        t.record(Received, b"QU");
        t.finish().unwrap();
        assert_eq!(lines(t), ["C: NOOP \\u{1b}[31m", "C: QU"]);
    }

    #[test]
    fn an_overlong_partial_line_is_written_in_pieces() {
        let mut t = Transcript::new(Vec::new());
        t.record(Received, &[b'x'; LONGEST + 1]);
        assert_eq!(lines(t).len(), 1);
    }

    #[test]
    fn a_write_error_is_kept_for_finish() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::WriteZero.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut t = Transcript::new(Full);
        t.record(Sent, b"220 mx\r\n");
        t.record(Sent, b"250 ok\r\n");
        assert_eq!(t.finish().unwrap_err().kind(), io::ErrorKind::WriteZero);
        assert!(t.finish().is_ok());
    }
}
