//! Two-peer harness: this crate's client machine against this crate's
//! server machine, in memory, under a simulated clock (an `Instant` base
//! plus offsets). Also helpers for byte-exact transcripts against canned
//! server replies.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use esmtp::client::{self, Client, ClientConfig, Envelope, MessageOutcome};
use esmtp::reply::Reply;
use esmtp::server::{self, Server, ServerConfig};
use esmtp::values::{Domain, ForwardPath, Mailbox, ReversePath};

/// What the fake server application answers to a decision event.
pub enum Decision {
    Accept,
    Deny,
    Respond(Reply<'static>),
    Lmtp(Vec<Reply<'static>>),
    /// Leave it unanswered (to test timeouts).
    Hold,
    /// Shut the server down with 421.
    Shutdown,
    /// Answer through the server itself (a view such as the SCRAM
    /// look-up's).
    With(Box<dyn FnOnce(&mut Server)>),
}

type Policy = Box<dyn FnMut(&server::Event) -> Decision>;

pub struct Pair {
    pub client: Client,
    pub server: Server,
    pub base: Instant,
    pub now: Instant,
    /// Every byte the client wrote, and each write separately.
    pub c2s: Vec<u8>,
    pub c2s_writes: Vec<Vec<u8>>,
    /// Every byte the server wrote.
    pub s2c: Vec<u8>,
    pub client_events: Vec<client::Event>,
    pub server_events: Vec<String>,
    /// Content stored by the server, one entry per message end.
    pub stored: Vec<Vec<u8>>,
    current: Vec<u8>,
    pub policy: Policy,
    client_tls: bool,
    server_tls: bool,
    held: bool,
}

pub fn host() -> esmtp::values::Host<'static> {
    Domain::parse("client.example").unwrap().into_owned().into()
}

pub fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::parse(s).unwrap().into_owned()
}

pub fn from(s: &str) -> ReversePath<'static> {
    mailbox(s).into()
}

pub fn to(s: &str) -> ForwardPath<'static> {
    mailbox(s).into()
}

pub fn envelope(rcpts: &[&str]) -> Envelope {
    let mut e = Envelope::new(mailbox("a@example.org"));
    for r in rcpts {
        e = e.to(mailbox(r));
    }
    e
}

pub fn client_config() -> ClientConfig {
    ClientConfig::new(host())
}

pub fn server_config() -> ServerConfig {
    ServerConfig::new("mx.example.org").expect("a valid hostname")
}

impl Pair {
    pub fn new(client: ClientConfig, server: ServerConfig) -> Self {
        let base = Instant::now();
        Pair {
            client: Client::new(client),
            server: Server::new(server),
            base,
            now: base,
            c2s: Vec::new(),
            c2s_writes: Vec::new(),
            s2c: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            stored: Vec::new(),
            current: Vec::new(),
            policy: Box::new(|_| Decision::Accept),
            client_tls: false,
            server_tls: false,
            held: false,
        }
    }

    pub fn with_policy(mut self, p: impl FnMut(&server::Event) -> Decision + 'static) -> Self {
        self.policy = Box::new(p);
        self
    }

    /// Runs both machines until neither makes progress. Each round gives
    /// both the time first, as a driver does when it wakes.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            let mut progress = false;
            while let Some(e) = self.server.poll_event() {
                progress = true;
                self.server_events.push(format!("{e:?}"));
                match &e {
                    server::Event::Content(c) => self.current.extend_from_slice(c),
                    server::Event::MessageEnd { .. } => {
                        self.stored.push(std::mem::take(&mut self.current))
                    }
                    server::Event::MessageAborted { .. } => self.current.clear(),
                    server::Event::StartTls => self.server_tls = true,
                    _ => {}
                }
                if e.needs_decision() {
                    match (self.policy)(&e) {
                        Decision::Accept => self.server.accept().unwrap(),
                        Decision::Deny => self.server.deny().unwrap(),
                        Decision::Respond(r) => self.server.respond(&r).unwrap(),
                        Decision::Lmtp(rs) => self
                            .server
                            .decision()
                            .unwrap()
                            .lmtp()
                            .unwrap()
                            .respond_each(&rs)
                            .unwrap(),
                        Decision::Hold => {
                            self.held = true;
                            break;
                        }
                        Decision::Shutdown => self.server.shutdown("bye"),
                        Decision::With(answer) => answer(&mut self.server),
                    }
                }
            }
            while let Some(b) = self.server.poll_transmit() {
                progress = true;
                self.s2c.extend_from_slice(&b);
                self.client.receive(&b);
            }
            while let Some(e) = self.client.poll_event() {
                progress = true;
                if matches!(e, client::Event::StartTls) {
                    self.client_tls = true;
                }
                self.client_events.push(e);
            }
            // The fake TLS handshake: both sides reached it.
            if self.client_tls && self.server_tls {
                self.client_tls = false;
                self.server_tls = false;
                self.server.tls_established().unwrap();
                self.client.tls_established().unwrap();
                progress = true;
            }
            let mut write = Vec::new();
            while let Some(b) = self.client.poll_transmit() {
                write.extend_from_slice(&b);
            }
            if !write.is_empty() {
                progress = true;
                self.c2s.extend_from_slice(&write);
                self.server.receive(&write);
                self.c2s_writes.push(write);
            }
            if !progress {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// Moves the clock and lets both machines see it.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.run();
    }

    pub fn outcomes(&self) -> Vec<&MessageOutcome> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                client::Event::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn c2s_text(&self) -> String {
        String::from_utf8_lossy(&self.c2s).into_owned()
    }

    pub fn closed_reason(&self) -> Option<client::CloseReason> {
        self.client_events.iter().find_map(|e| match e {
            client::Event::Closed { reason } => Some(*reason),
            _ => None,
        })
    }
}

/// A client fed canned server bytes: collects what it writes.
pub struct Script {
    pub client: Client,
    pub events: Vec<client::Event>,
}

impl Script {
    pub fn new(config: ClientConfig) -> Self {
        Script {
            client: Client::new(config),
            events: Vec::new(),
        }
    }

    /// Feeds `server` bytes and returns everything the client writes
    /// after them.
    pub fn feed(&mut self, server: &[u8]) -> String {
        self.client.receive(server);
        self.drain()
    }

    pub fn drain(&mut self) -> String {
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
        let mut out = Vec::new();
        while let Some(b) = self.client.poll_transmit() {
            out.extend_from_slice(&b);
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn outcomes(&self) -> Vec<&MessageOutcome> {
        self.events
            .iter()
            .filter_map(|e| match e {
                client::Event::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }
}
