//! Client-side test helpers: the values the two-peer tests share (hosts,
//! mailboxes, envelopes, configurations) and a client fed canned server
//! bytes for byte-exact transcripts. The two-peer harness itself is
//! `esmtp::testing::pair` (client machine against server machine in
//! memory, under a simulated clock).
#![allow(dead_code)]

pub use esmtp::testing::pair::{Decision, Pair};

use esmtp::client::{self, Client, ClientConfig, Envelope, MessageOutcome};
use esmtp::server::ServerConfig;
use esmtp::values::{Domain, ForwardPath, Mailbox, ReversePath};

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
