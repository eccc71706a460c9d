//! The example server's queue: mail for a `--hold-domain` is held in a
//! Maildir-like spool of its own (`QUEUE/DOMAIN/{tmp,new,cur}`, made
//! durable as the Maildir is), each file the envelope as `MAIL` and `RCPT`
//! lines, an empty line, then the message. ETRN (RFC 1985) starts a run
//! that relays a domain's queue to its `--relay`; ATRN (RFC 2645) gives
//! the queues of an authenticated user's domains to the reversed
//! connection. Either way a message leaves its queue only once the
//! receiving server accepted it for every recipient (RFC 5321 §6.1); a
//! failed one stays for the next run. One run at a time per queue.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use esmtp::bytes::Bytes;
use esmtp::client::{ClientConfig, Envelope, MessageOutcome};
use esmtp::command::Etrn;
use esmtp::ext::etrn::Response;
use esmtp::ext::{atrn, MandatedReply};
use esmtp::reply::Reply;
use esmtp::runtime::client::blocking::Transport;
use esmtp::runtime::client::{Endpoint, Error, Reconnect};
use esmtp::runtime::server::Answer;
use esmtp::values::{Domain, Host};

use super::maildir::Store;
use super::Args;

/// The queues, with where each relays and who may retrieve which.
pub struct Queue {
    held: Vec<Held>,
    /// `--odmr-domain`: (user, domain).
    odmr: Vec<(String, String)>,
    /// For delivering: EHLO with this server's name.
    client: ClientConfig,
}

/// One domain's queue.
struct Held {
    domain: String,
    store: Store,
    new: PathBuf,
    relay: Option<(String, u16)>,
    /// A run holds it.
    busy: AtomicBool,
}

/// Queues claimed for one run, released when it is dropped.
pub struct Run {
    queue: Arc<Queue>,
    claimed: Vec<usize>,
}

/// A held message, loaded for delivery.
pub struct Message {
    path: PathBuf,
    pub envelope: Envelope,
    pub content: Bytes,
}

/// `DOMAIN=HOST:PORT`.
pub fn relay(v: &str) -> Result<(String, (String, u16)), String> {
    let (domain, target) = v
        .split_once('=')
        .ok_or(format!("{v:?}: want DOMAIN=HOST:PORT"))?;
    let (host, port) = target
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse().ok()?)))
        .filter(|(h, _)| !h.is_empty())
        .ok_or(format!("{target:?}: want HOST:PORT"))?;
    Ok((domain_name(domain)?, (host.to_owned(), port)))
}

/// A domain name, lower-cased.
pub fn domain_name(v: &str) -> Result<String, String> {
    Domain::parse(v)
        .map(|d| d.as_str().to_ascii_lowercase())
        .map_err(|e| format!("{v:?}: {e}"))
}

/// `NAME=DOMAIN`.
pub fn odmr_domain(v: &str) -> Result<(String, String), String> {
    match v.split_once('=') {
        Some((name, domain)) if !name.is_empty() => Ok((name.to_owned(), domain_name(domain)?)),
        _ => Err(format!("{v:?}: want NAME=DOMAIN")),
    }
}

/// A mandated reply with text of our own.
pub fn answer(m: MandatedReply, text: &str) -> Answer {
    Answer::Reply(Reply::sanitized(m.code(), Some(m.enhanced()), text))
}

impl Queue {
    /// The queues of `--hold-domain`, under `--queue`; `None` without any.
    pub fn open(args: &Args, hostname: &str) -> Result<Option<Arc<Queue>>, String> {
        if args.hold_domains.is_empty() {
            return Ok(None);
        }
        if let Some((d, _)) = args
            .relays
            .iter()
            .find(|(d, _)| !args.hold_domains.contains(d))
        {
            return Err(format!("--relay {d}: not a --hold-domain"));
        }
        let mut held = Vec::new();
        for domain in &args.hold_domains {
            let root = args.queue.join(domain);
            let relay = args.relays.iter().rev().find(|(d, _)| d == domain);
            held.push(Held {
                store: Store::open(&root, hostname)?,
                new: root.join("new"),
                relay: relay.map(|(_, target)| target.clone()),
                busy: AtomicBool::new(false),
                domain: domain.clone(),
            });
        }
        let host = Host::parse(hostname).map_err(|e| format!("--hostname: {e}"))?;
        let client = ClientConfig::new(host.into_owned());
        let odmr = args.odmr_domains.clone();
        Ok(Some(Arc::new(Queue { held, odmr, client })))
    }

    /// The queue of a recipient at `domain`, if it is held.
    pub fn holding(&self, domain: &str) -> Option<usize> {
        self.held
            .iter()
            .position(|h| h.domain.eq_ignore_ascii_case(domain))
    }

    /// Where queue `i` makes its messages durable.
    pub fn store(&self, i: usize) -> &Store {
        &self.held[i].store
    }

    /// ETRN (RFC 1985 §5.1): 459 for a node not held here, 458 when no
    /// queue of it has a relay, 251 when none has mail, 252 when the runs
    /// are under way already, else a run starts on a thread: 253 with the
    /// count for a domain (`@domain`: it and its subdomains, §5.3), 250
    /// for a named queue (`#domain`, whose count is a local matter).
    pub fn etrn(self: &Arc<Self>, node: &Etrn<'_>) -> Answer {
        let name = node.to_string();
        let held = self.held.iter().enumerate();
        let targets: Vec<usize> = held
            .filter(|(_, h)| node.matches(&h.domain))
            .map(|(i, _)| i)
            .collect();
        let answer = |response: Response, why| Answer::Reply(response.reply(&name, why));
        if targets.is_empty() {
            return answer(Response::NotAllowed, Some("not held here"));
        }
        let relayed = |&i: &usize| self.held[i].relay.is_some();
        let targets: Vec<usize> = targets.into_iter().filter(relayed).collect();
        if targets.is_empty() {
            return answer(Response::Unable, Some("no relay"));
        }
        let count: usize = targets.iter().map(|&i| self.count(i)).sum();
        if count == 0 {
            return answer(Response::NoMessages, None);
        }
        let Some(run) = self.claim(&targets, false) else {
            return answer(Response::AlreadyStarted, None);
        };
        let started = std::thread::Builder::new()
            .name(format!("queue run {name}"))
            .spawn(move || run.relay());
        match (started, node) {
            (Err(e), _) => answer(Response::Unable, Some(&e.to_string())),
            (Ok(_), Etrn::Queue(_)) => answer(Response::Started, None),
            (Ok(_), _) => answer(Response::StartedCount(count), None),
        }
    }

    /// ATRN by `user` (RFC 2645 §5.2.1): the run for the queues of
    /// `domains` (none: every domain the user may retrieve), or the
    /// refusal — 450 when the user may not retrieve one of them (nothing
    /// is sent then), 453 when none has mail, 451 when a run holds one.
    pub fn atrn(self: &Arc<Self>, user: &str, domains: &[Domain<'_>]) -> Result<Run, Answer> {
        let allowed: Vec<&str> = self
            .odmr
            .iter()
            .filter(|(u, _)| u == user)
            .map(|(_, d)| d.as_str())
            .collect();
        let mut asked: Vec<String> = domains
            .iter()
            .map(|d| d.as_str().to_ascii_lowercase())
            .collect();
        if asked.is_empty() {
            asked = allowed.iter().map(|d| d.to_string()).collect();
        }
        if let Some(d) = asked.iter().find(|d| !allowed.contains(&d.as_str())) {
            let text = format!("{}: {user} may not retrieve {d}", atrn::REFUSED.text());
            return Err(answer(atrn::REFUSED, &text));
        }
        let targets: Vec<usize> = asked.iter().filter_map(|d| self.holding(d)).collect();
        if targets.iter().all(|&i| self.count(i) == 0) {
            return Err(Answer::Reply(atrn::NO_MAIL.to_reply()));
        }
        let busy = format!("{}: a queue run holds it", atrn::UNABLE_NOW.text());
        self.claim(&targets, true)
            .ok_or_else(|| answer(atrn::UNABLE_NOW, &busy))
    }

    /// Messages waiting in queue `i`.
    fn count(&self, i: usize) -> usize {
        fs::read_dir(&self.held[i].new).map_or(0, Iterator::count)
    }

    /// Claims the `targets` that are free (`all`: every one or none).
    fn claim(self: &Arc<Self>, targets: &[usize], all: bool) -> Option<Run> {
        let (queue, mut claimed) = (Arc::clone(self), Vec::new());
        for &i in targets {
            match self.held[i].busy.swap(true, Ordering::AcqRel) {
                false => claimed.push(i),
                true if all => {
                    drop(Run { queue, claimed }); // frees what it claimed
                    return None;
                }
                true => {}
            }
        }
        (!claimed.is_empty()).then_some(Run { queue, claimed })
    }
}

impl Run {
    /// The client's configuration: EHLO with this server's name.
    pub fn client_config(&self) -> ClientConfig {
        self.queue.client.clone()
    }

    /// The claimed queues' messages, each loaded as it is reached (one
    /// that cannot be read is logged and left).
    pub fn messages(&self) -> impl Iterator<Item = Message> + '_ {
        self.claimed.iter().flat_map(move |&i| self.messages_of(i))
    }

    fn messages_of(&self, i: usize) -> impl Iterator<Item = Message> + '_ {
        let dir = fs::read_dir(&self.queue.held[i].new);
        let mut paths: Vec<PathBuf> =
            dir.map_or(Vec::new(), |d| d.flatten().map(|e| e.path()).collect());
        paths.sort_by_key(|p| arrival(p));
        paths.into_iter().filter_map(|path| {
            let loaded = Message::load(&path);
            loaded
                .map_err(|e| eprintln!("[queue] cannot read {}: {e}", path.display()))
                .ok()
        })
    }

    /// The session could not be set up: every message stays.
    pub fn failed(&self, e: &Error) {
        eprintln!("[queue] run failed, messages kept: {e}");
    }

    /// The ETRN run: each claimed queue to its relay, one connection each.
    fn relay(self) {
        for &i in &self.claimed {
            let held = &self.queue.held[i];
            let Some((host, port)) = held.relay.clone() else {
                continue;
            };
            let endpoint = Endpoint::new(host, port, self.client_config());
            match Transport::connect(endpoint.reconnect(Reconnect::never())) {
                Ok(mut transport) => {
                    for m in self.messages_of(i) {
                        m.done(transport.send(m.envelope.clone(), m.content.clone()));
                    }
                    transport.quit();
                }
                Err(e) => self.failed(&e),
            }
        }
    }
}

/// When a held message arrived, from its name (`SECS.MmicrosP…`, as
/// `maildir.rs` makes them): queue runs deliver in arrival order.
fn arrival(path: &Path) -> (u64, u64) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut parts = name.split('.');
    let secs = parts.next().and_then(|s| s.parse().ok());
    let micros = parts
        .next()
        .and_then(|p| p.strip_prefix('M')?.split('P').next()?.parse().ok());
    (secs.unwrap_or(u64::MAX), micros.unwrap_or(0))
}

impl Drop for Run {
    fn drop(&mut self) {
        for &i in &self.claimed {
            self.queue.held[i].busy.store(false, Ordering::Release);
        }
    }
}

impl Message {
    /// Reads a held file: `MAIL FROM:<…>`, `RCPT TO:<…>` lines, an empty
    /// line, the message.
    fn load(path: &Path) -> io::Result<Message> {
        let file = Bytes::from(fs::read(path)?);
        let (envelope, at) = Envelope::parse_spooled(&file)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let (path, content) = (path.to_owned(), file.slice(at..));
        Ok(Message {
            path,
            envelope,
            content,
        })
    }

    /// Removes the message once it was delivered to every recipient
    /// (RFC 5321 §6.1: the receiver is responsible for it now); keeps it
    /// otherwise, for the next run.
    pub fn done(&self, result: Result<MessageOutcome, Error>) {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        match result {
            Ok(_) => match fs::remove_file(&self.path) {
                Ok(()) => eprintln!("[queue] {name} delivered"),
                Err(e) => eprintln!("[queue] {name} delivered, but not removed: {e}"),
            },
            Err(e) => eprintln!("[queue] {name} kept: {e}"),
        }
    }
}
