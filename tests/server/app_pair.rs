//! A client machine and a server machine in memory, the server's
//! application a closure that sees every event with the machine at hand
//! (to supply BURL content, to restart a transaction), and a link that can
//! be cut after so many octets of client output (a lost connection).
#![allow(dead_code)]

use std::time::Instant;

use esmtp::client::{self, Client, ClientConfig, Envelope, MessageOutcome};
use esmtp::server::{self, Server, ServerConfig};
use esmtp::values::{Domain, Mailbox};

/// What the server's application does with each event.
pub type App<'a> = dyn FnMut(&mut Server, server::Event) + 'a;

pub struct Link {
    pub client: Client,
    pub server: Server,
    /// Every octet the client wrote and the server read.
    pub c2s: Vec<u8>,
    /// Every octet the server wrote.
    pub s2c: Vec<u8>,
    pub events: Vec<client::Event>,
    /// Client octets the link still carries; `None`: no limit. Past it the
    /// connection is lost: both machines see the peer close.
    pub budget: Option<usize>,
    now: Instant,
}

pub fn client_config() -> ClientConfig {
    ClientConfig::new(Domain::parse("client.example").unwrap().into_owned())
}

pub fn server_config() -> ServerConfig {
    ServerConfig::new("mx.example.org").unwrap()
}

pub fn envelope(rcpts: &[&str]) -> Envelope {
    let mut e = Envelope::new(Mailbox::parse("a@example.org").unwrap().into_owned());
    for r in rcpts {
        e = e.to(Mailbox::parse(r).unwrap().into_owned());
    }
    e
}

impl Link {
    pub fn new(client: ClientConfig, server: ServerConfig) -> Self {
        Link {
            client: Client::new(client),
            server: Server::new(server),
            c2s: Vec::new(),
            s2c: Vec::new(),
            events: Vec::new(),
            budget: None,
            now: Instant::now(),
        }
    }

    /// Runs both machines until neither makes progress, or the link is
    /// cut.
    pub fn run(&mut self, app: &mut App<'_>) {
        for _ in 0..100_000 {
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            let mut progress = false;
            while let Some(e) = self.server.poll_event() {
                progress = true;
                app(&mut self.server, e);
            }
            while let Some(b) = self.server.poll_transmit() {
                progress = true;
                self.s2c.extend_from_slice(&b);
                self.client.receive(&b);
            }
            while let Some(e) = self.client.poll_event() {
                progress = true;
                self.events.push(e);
            }
            while let Some(b) = self.client.poll_transmit() {
                progress = true;
                // Small writes, so that a cut falls where it is asked to.
                for piece in b.chunks(7) {
                    if self.budget == Some(0) {
                        return self.cut(app);
                    }
                    let n = self.budget.map_or(piece.len(), |b| b.min(piece.len()));
                    self.budget = self.budget.map(|b| b - n);
                    self.c2s.extend_from_slice(&piece[..n]);
                    self.server.receive(&piece[..n]);
                    while let Some(e) = self.server.poll_event() {
                        app(&mut self.server, e);
                    }
                }
            }
            if self.client.is_closed() && self.server.is_closed() {
                return;
            }
            if !progress {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// The connection is lost: both sides see the other hang up.
    fn cut(&mut self, app: &mut App<'_>) {
        self.server.peer_closed();
        while let Some(e) = self.server.poll_event() {
            app(&mut self.server, e);
        }
        self.client.peer_closed();
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
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

    pub fn c2s_text(&self) -> String {
        String::from_utf8_lossy(&self.c2s).into_owned()
    }

    pub fn s2c_text(&self) -> String {
        String::from_utf8_lossy(&self.s2c).into_owned()
    }
}

/// A server fed `input` whole, its events answered by `app`: what it
/// wrote back.
pub fn serve(config: ServerConfig, input: &[u8], app: &mut App<'_>) -> String {
    let mut server = Server::new(config);
    server.receive(input);
    let mut out = Vec::new();
    for _ in 0..1000 {
        let mut progress = false;
        while let Some(e) = server.poll_event() {
            progress = true;
            app(&mut server, e);
        }
        while let Some(b) = server.poll_transmit() {
            progress = true;
            out.extend_from_slice(&b);
        }
        if !progress {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Accepts every decision, and drops content.
pub fn accept_all(server: &mut Server, e: server::Event) {
    if e.needs_decision() {
        server.accept().unwrap();
    }
}
