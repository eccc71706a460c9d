//! An in-memory driver for the server machine, shared by the server tests.
//!
//! It plays the application of the module documentation's driver loop:
//! feeds bytes, drains events (accepting every decision in auto mode),
//! collects transmitted bytes, and keeps a log of what happened with
//! content coalesced per message, so two runs can be compared whatever the
//! split of the input.
#![allow(dead_code)]

use esmtp::server::{Event, Server, ServerConfig};

/// One entry of the event log; content chunks of one message are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logged {
    /// Any event but content, as its Debug text.
    Event(String),
    /// The concatenated content handed out between two other events.
    Content(Vec<u8>),
}

/// A server session driven in memory.
pub struct Driver {
    /// The machine under test.
    pub server: Server,
    /// Accept every decision as soon as it is asked for.
    pub auto: bool,
    /// Everything that happened, in order.
    pub log: Vec<Logged>,
    /// Every octet transmitted so far.
    pub wire: Vec<u8>,
    /// Start of the transmitted octets not yet returned by `take`.
    read: usize,
    /// The largest `buffered_len` seen after any call.
    pub max_buffered: usize,
}

impl Driver {
    /// A session that accepts every decision; the greeting is already
    /// taken (it stays in `wire`).
    pub fn new(config: ServerConfig) -> Self {
        let mut d = Self::manual(config);
        d.auto = true;
        d.pump();
        d.take();
        d
    }

    /// A session whose decisions the test takes with [`Driver::event`].
    pub fn manual(config: ServerConfig) -> Self {
        let mut d = Driver {
            server: Server::new(config),
            auto: false,
            log: Vec::new(),
            wire: Vec::new(),
            read: 0,
            max_buffered: 0,
        };
        d.transmit();
        d
    }

    /// Feeds one read and runs the session; returns what was transmitted
    /// since the last call that returned transmitted text.
    pub fn send(&mut self, bytes: &[u8]) -> String {
        self.server.receive(bytes);
        self.note_buffer();
        self.pump();
        self.take()
    }

    /// Feeds `bytes` `size` octets at a time, pumping in between.
    pub fn send_in(&mut self, bytes: &[u8], size: usize) -> String {
        for piece in bytes.chunks(size.max(1)) {
            self.server.receive(piece);
            self.note_buffer();
            self.pump();
        }
        self.take()
    }

    /// Runs the session until it needs input (auto mode) or a decision
    /// (manual mode), then collects the transmitted bytes.
    ///
    /// Some events (`StartTls`, `Closed`, `Reversed`) only come once the
    /// replies before them were transmitted, so this alternates.
    pub fn pump(&mut self) {
        loop {
            while let Some(event) = self.server.poll_event() {
                self.note_buffer();
                let decide = self.auto && event.needs_decision();
                self.record(event);
                if decide {
                    self.server.accept().expect("a decision is pending");
                }
            }
            self.note_buffer();
            if !self.transmit() {
                break;
            }
        }
    }

    /// The next event (manual mode), logged; transmitted bytes are
    /// collected first.
    pub fn event(&mut self) -> Option<Event> {
        let mut e = self.server.poll_event();
        self.note_buffer();
        if self.transmit() && e.is_none() {
            e = self.server.poll_event();
        }
        if let Some(e) = &e {
            self.log.push(Logged::Event(format!("{e:?}")));
        }
        e
    }

    /// Events until a decision or `None`, content gathered: the decision
    /// (if any) and the content seen on the way.
    pub fn until_decision(&mut self) -> (Option<Event>, Vec<u8>) {
        let mut content = Vec::new();
        loop {
            match self.event() {
                Some(Event::Content(c)) => content.extend_from_slice(&c),
                Some(e) if e.needs_decision() => return (Some(e), content),
                Some(_) => {}
                None => return (None, content),
            }
        }
    }

    /// Transmitted text not returned yet.
    pub fn take(&mut self) -> String {
        self.transmit();
        let s = String::from_utf8_lossy(&self.wire[self.read..]).into_owned();
        self.read = self.wire.len();
        s
    }

    /// Messages whose content was handed out, one entry per run of content.
    pub fn contents(&self) -> Vec<Vec<u8>> {
        self.log
            .iter()
            .filter_map(|l| match l {
                Logged::Content(c) => Some(c.clone()),
                Logged::Event(_) => None,
            })
            .collect()
    }

    /// How many logged events start with `prefix` (their Debug text).
    pub fn count(&self, prefix: &str) -> usize {
        self.log
            .iter()
            .filter(|l| matches!(l, Logged::Event(s) if s.starts_with(prefix)))
            .count()
    }

    fn record(&mut self, event: Event) {
        match event {
            Event::Content(c) => match self.log.last_mut() {
                Some(Logged::Content(buf)) => buf.extend_from_slice(&c),
                _ => self.log.push(Logged::Content(c.to_vec())),
            },
            other => self.log.push(Logged::Event(format!("{other:?}"))),
        }
    }

    /// Collects transmitted bytes; whether there were any.
    fn transmit(&mut self) -> bool {
        let mut any = false;
        while let Some(bytes) = self.server.poll_transmit() {
            assert!(!bytes.is_empty(), "poll_transmit returned an empty buffer");
            self.wire.extend_from_slice(&bytes);
            any = true;
        }
        any
    }

    fn note_buffer(&mut self) {
        self.max_buffered = self.max_buffered.max(self.server.buffered_len());
    }
}

/// The reply codes of each line of `text`, in order (`"250-"` and `"250 "`
/// both give `"250"`).
pub fn codes(text: &str) -> Vec<&str> {
    text.split_terminator("\r\n")
        .map(|l| l.get(..3).unwrap_or(l))
        .collect()
}

/// The last line of each reply in `text` (the line with SP after the code).
pub fn final_lines(text: &str) -> Vec<&str> {
    text.split_terminator("\r\n")
        .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
        .collect()
}

/// The default configuration under the name `mx.example.org`.
pub fn config() -> ServerConfig {
    ServerConfig::new("mx.example.org").expect("a valid hostname")
}

/// A session that has been greeted and sent `EHLO` (auto mode); the
/// greeting and EHLO reply are already taken.
pub fn ehlo(config: ServerConfig) -> Driver {
    let mut d = Driver::new(config);
    let hello = if d.server.config().lmtp {
        "LHLO"
    } else {
        "EHLO"
    };
    let out = d.send(format!("{hello} client.example\r\n").as_bytes());
    assert!(out.contains("250 "), "greeting/EHLO failed: {out}");
    d
}

/// Checks that `wire` is a sequence of well-formed reply lines
/// (`ddd[ -]text CRLF`, multi-line replies sharing their code).
pub fn assert_well_formed(wire: &[u8]) {
    let mut open: Option<&[u8]> = None;
    let mut rest = wire;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or_else(|| panic!("unterminated line: {:?}", String::from_utf8_lossy(rest)));
        let line = &rest[..end];
        assert!(line.len() >= 3, "short line {line:?}");
        assert!(
            line[..3].iter().all(u8::is_ascii_digit),
            "bad code {line:?}"
        );
        assert!(
            !line.iter().any(|&b| b == b'\r' || b == b'\n'),
            "CR/LF in a line {line:?}"
        );
        if let Some(code) = open {
            assert_eq!(code, &line[..3], "multi-line reply changed code");
        }
        match line.get(3) {
            None | Some(b' ') => open = None,
            Some(b'-') => open = Some(&line[..3]),
            Some(_) => panic!("bad separator {line:?}"),
        }
        rest = &rest[end + 2..];
    }
    assert!(open.is_none(), "multi-line reply left open");
}

/// `content` with every CR, LF and CRLF written as CRLF (RFC 5321 §2.3.8):
/// the model of what a client must put on the wire.
pub fn crlf_line_ends(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = content.get(i) {
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if content.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        i += 1;
    }
    out
}
