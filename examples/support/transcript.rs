//! `--log-transcript DIR`: each session's transcript in a file of its own
//! (`SECONDS.PpidSid.log`, mode `0600`), fed by the runtime's
//! `Session::transcript` tap: every line both ways, timestamped, with
//! the secrets of AUTH exchanges (RFC 4954 §4) redacted.
//!
//! ```text
//! 2026-05-01T12:00:00.123Z S: 220 mx.example.org ESMTP
//! 2026-05-01T12:00:00.124Z C: AUTH PLAIN [redacted]
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use esmtp::runtime::server::Direction;
use esmtp::values::DateTime;

/// A partial line longer than this is written as it is.
const LONGEST: usize = 4096;

/// One session's transcript file.
pub struct Transcript {
    out: BufWriter<File>,
    /// The partial line of each direction (received, sent).
    partial: [Vec<u8>; 2],
    /// The server's last line was a `334` challenge: the client's next
    /// line is a SASL response.
    challenged: bool,
}

impl Transcript {
    /// Creates the file for session `id` in `dir`.
    pub fn create(dir: &Path, id: u64) -> io::Result<Transcript> {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = format!("{secs}.P{}S{id}.log", std::process::id());
        let file = super::maildir::private_file()
            .create_new(true)
            .open(dir.join(name))?;
        Ok(Transcript {
            out: BufWriter::new(file),
            partial: [Vec::new(), Vec::new()],
            challenged: false,
        })
    }

    /// Octets that crossed the connection: whole lines are written, the
    /// rest waits for its line end.
    pub fn record(&mut self, direction: Direction, mut bytes: &[u8]) {
        let i = usize::from(direction == Direction::Sent);
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.partial[i].extend_from_slice(&bytes[..=end]);
            bytes = &bytes[end + 1..];
            self.flush_line(direction);
        }
        self.partial[i].extend_from_slice(bytes);
        if self.partial[i].len() > LONGEST {
            self.flush_line(direction);
        }
        // Whole lines go out as they come, for `tail -f`.
        let _ = self.out.flush();
    }

    /// A line of the server's own (`--`), such as the TLS state.
    pub fn note(&mut self, text: &str) {
        self.write("--", text.as_bytes());
    }

    /// Writes out what is left, at the end of the session.
    pub fn finish(&mut self) {
        self.flush_line(Direction::Received);
        self.flush_line(Direction::Sent);
        let _ = self.out.flush();
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
            self.challenged = text.starts_with(b"334");
            self.write("S:", text);
        } else if std::mem::take(&mut self.challenged) {
            self.write("C:", b"[redacted]");
        } else if text.len() > 5 && text[..5].eq_ignore_ascii_case(b"AUTH ") {
            // AUTH mechanism [initial-response]: the mechanism stays.
            let mut words = text.splitn(3, |&b| b == b' ');
            let (verb, mechanism) = (words.next(), words.next());
            let shown = [verb.unwrap_or_default(), mechanism.unwrap_or_default()].join(&b' ');
            let redacted = if words.next().is_some() {
                " [redacted]"
            } else {
                ""
            };
            self.write("C:", &[&shown[..], redacted.as_bytes()].concat());
        } else {
            self.write("C:", text);
        }
    }

    fn write(&mut self, tag: &str, line: &[u8]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = i64::try_from(now.as_secs()).unwrap_or(0);
        let date = DateTime::from_unix(secs).map_or_else(String::new, |d| d.to_string());
        // Control characters escaped: a transcript is safe to `cat`.
        let mut text = String::with_capacity(line.len());
        for c in String::from_utf8_lossy(line).chars() {
            if c.is_control() && c != '\t' {
                text.extend(c.escape_default());
            } else {
                text.push(c);
            }
        }
        let stamp = date.strip_suffix('Z').unwrap_or(&date);
        let _ = writeln!(self.out, "{stamp}.{:03}Z {tag} {text}", now.subsec_millis());
    }
}
