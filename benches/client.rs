//! The client machine: DATA content (CRLF normalisation + dot-stuffing)
//! through a whole client session beside a memcpy of the same bytes, and
//! messages per second through client and server machines in memory.
//!
//! `cargo bench --bench client -- --warm-up-time 1 --measurement-time 3`;
//! interleaved rows: `PAIRED=ROUNDS` (see benches/support/paired.rs).

#[path = "support/paired.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, Criterion, Throughput};
use esmtp::client::{Client, ClientConfig, Envelope, Event, TlsPolicy};
use esmtp::server::{self, Server, ServerConfig};
use esmtp::values::{Domain, Mailbox};

const SIZE: usize = 10 * 1024 * 1024;

/// 78-octet lines, one in a hundred starting with a dot; with `bare_lf`
/// one in fifty ends in a bare LF (so the general path is exercised too),
/// else every line ends in CRLF: content as RFC 5321 §2.3.8 wants it, which
/// the client can hand out without copying.
fn lines(bare_lf: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(SIZE + 100);
    let mut i = 0u32;
    while v.len() < SIZE {
        if i.is_multiple_of(100) {
            v.push(b'.');
        }
        v.extend_from_slice(
            &b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghij"[..],
        );
        if bare_lf && i.is_multiple_of(50) {
            v.push(b'\n');
        } else {
            v.extend_from_slice(b"\r\n");
        }
        i += 1;
    }
    v.truncate(SIZE);
    v
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::new(Domain::parse("client.example").unwrap().into_owned());
    c.tls = TlsPolicy::None;
    c.chunking = false;
    c
}

fn envelope() -> Envelope {
    Envelope::new(Mailbox::parse("a@example.org").unwrap().into_owned()).to(Mailbox::parse(
        "b@example.org",
    )
    .unwrap()
    .into_owned())
}

/// A client that has just read the 354: the next transmits are content.
fn at_354(content: Bytes) -> Client {
    let mut c = Client::new(config());
    c.submit(envelope(), content).unwrap();
    c.receive(b"220 mx\r\n");
    while c.poll_transmit().is_some() {}
    c.receive(b"250-mx\r\n250 PIPELINING\r\n");
    while c.poll_transmit().is_some() {}
    c.receive(b"250 ok\r\n250 ok\r\n354 go\r\n");
    c
}

fn data(c: &mut Criterion) {
    let content = Bytes::from(lines(true));
    let crlf = Bytes::from(lines(false));
    let mut g = c.benchmark_group("client_data_10MiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(20);
    for (name, content) in [("esmtp_client", &content), ("esmtp_client_crlf", &crlf)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || at_354(content.clone()),
                |mut client| {
                    let mut n = 0usize;
                    while let Some(out) = client.poll_transmit() {
                        n += out.len();
                    }
                    black_box(n)
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    let mut dst = vec![0u8; SIZE];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&content));
            black_box(dst.len())
        })
    });
    g.finish();
}

/// Runs `n` messages of `content` through a client and a server session.
fn session(n: usize, content: &Bytes, chunking: bool) -> usize {
    let mut cc = config();
    cc.chunking = chunking;
    let mut client = Client::new(cc);
    let mut server = Server::new(ServerConfig::new("mx.example.org").expect("a valid hostname"));
    for _ in 0..n {
        client.submit(envelope(), content.clone()).unwrap();
    }
    client.quit();
    let mut done = 0;
    while !client.is_closed() {
        while let Some(e) = server.poll_event() {
            if e.needs_decision() {
                server.accept().unwrap();
            } else if let server::Event::Content(c) = e {
                black_box(c);
            }
        }
        while let Some(b) = server.poll_transmit() {
            client.receive(&b);
        }
        while let Some(e) = client.poll_event() {
            if let Event::Message(m) = e {
                done += usize::from(m.all_delivered());
            }
        }
        while let Some(b) = client.poll_transmit() {
            server.receive(&b);
        }
    }
    done
}

fn messages(c: &mut Criterion) {
    let content = Bytes::from(lines(true)[..1024].to_vec());
    let mut g = c.benchmark_group("client_server_messages");
    g.throughput(Throughput::Elements(100));
    for chunking in [false, true] {
        let name = if chunking {
            "100x1KiB_bdat"
        } else {
            "100x1KiB_data"
        };
        g.bench_function(name, |b| {
            b.iter(|| assert_eq!(session(100, &content, chunking), 100))
        });
    }
    g.finish();
}

/// The `client_data_10MiB` rows, interleaved: a client at `354` drained
/// of its content (set-up untimed), beside a memcpy of the same 10 MiB.
fn paired(rounds: usize) {
    let content = Bytes::from(lines(true));
    let crlf = Bytes::from(lines(false));
    let drain = |content: &Bytes| -> Duration {
        let mut client = at_354(content.clone());
        let t = Instant::now();
        let mut n = 0usize;
        while let Some(out) = client.poll_transmit() {
            n += black_box(out).len();
        }
        let time = t.elapsed();
        assert!(n >= SIZE);
        drop(black_box(client));
        time
    };
    let mut dst = vec![0u8; SIZE];
    let source = crlf.clone();
    let rows = vec![
        support::Row {
            name: "esmtp client, 1 in 50 lines ending in a bare LF",
            versus: [None, Some(2)],
            run: Box::new(move || drain(&content)),
        },
        support::Row {
            name: "esmtp client, CRLF lines (zero-copy)",
            versus: [None, Some(2)],
            run: Box::new(move || drain(&crlf)),
        },
        support::Row {
            name: "memcpy, 10 MiB",
            versus: [None, Some(2)],
            run: Box::new(move || {
                let t = Instant::now();
                dst.copy_from_slice(black_box(&source));
                black_box(&dst);
                t.elapsed()
            }),
        },
    ];
    support::paired("client_data_10MiB", rounds, ["–", "memcpy"], rows);
}

criterion_group!(benches, data, messages);

fn main() {
    support::print_cpu();
    if let Some(rounds) = std::env::var_os("PAIRED") {
        let rounds = rounds.to_str().and_then(|r| r.parse().ok()).unwrap_or(100);
        paired(rounds);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
