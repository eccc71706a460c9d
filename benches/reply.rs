//! Reply and EHLO parsing beside smtp-proto 0.2.5, same inputs, same run
//! (BENCHMARKS.md's opening says how the smtp-proto rows are kept fair).
//!
//! `cargo bench --bench reply -- --warm-up-time 1 --measurement-time 3`
//!
//! `PAIRED=ROUNDS cargo bench --bench reply` instead interleaves the
//! contenders: each round times a batch of every one, in rotated order, and
//! the ratio to smtp-proto is taken per round, then its median over rounds,
//! which a noisy shared machine moves far less than separate criterion rows.

use std::hint::black_box;

use criterion::{criterion_group, BatchSize, Criterion};
use esmtp::client::{Client, ClientConfig, Event, TlsPolicy};
use esmtp::ehlo::Capabilities;
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};
use esmtp::values::Domain;

// The CPU line every bench prints first (its interleaved runner is not
// used here: this bench keeps its own, with the one-pass row).
#[allow(dead_code)]
#[path = "support/paired.rs"]
mod support;

const SINGLE: &[u8] = b"250 2.1.0 Ok\r\n";

/// Twelve capabilities after the greeting line.
const EHLO: &[u8] = b"250-mx.example.com Hello client.example.org [192.0.2.1]\r\n\
250-PIPELINING\r\n\
250-SIZE 52428800\r\n\
250-ETRN\r\n\
250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n\
250-AUTH=PLAIN LOGIN\r\n\
250-ENHANCEDSTATUSCODES\r\n\
250-8BITMIME\r\n\
250-DSN\r\n\
250-SMTPUTF8\r\n\
250-CHUNKING\r\n\
250-DELIVERBY 3600\r\n\
250 STARTTLS\r\n";

/// A client machine that has sent EHLO and awaits its reply (no TLS, no
/// message queued, so the reply only fills the capability set).
fn client_at_ehlo() -> Client {
    let mut config = ClientConfig::new(Domain::parse("client.example").unwrap().into_owned());
    config.tls = TlsPolicy::None;
    let mut c = Client::new(config);
    c.receive(b"220 mx.example.com ESMTP\r\n");
    while c.poll_transmit().is_some() {}
    while c.poll_event().is_some() {}
    c
}

/// The client machine reading the EHLO reply: `receive`, then the
/// capability event taken out.
#[inline(always)]
fn client_ehlo(c: &mut Client) {
    c.receive(black_box(EHLO));
    while let Some(ev) = c.poll_event() {
        if let Event::Capabilities(caps) = ev {
            black_box((caps.max_size(), caps.auth_mechanisms().len()));
        }
    }
}

fn single(c: &mut Criterion) {
    let mut g = c.benchmark_group("reply_single");
    let opts = ReplyParseOptions::new().with_enhanced(true);
    g.bench_function("esmtp", |b| {
        b.iter(|| {
            let (reply, n) = Reply::parse(black_box(SINGLE), &opts).unwrap();
            black_box((
                reply.code(),
                reply.enhanced(),
                reply.lines().next().map(<[u8]>::len),
                n,
            ))
        })
    });
    let mut rx = smtp_proto::response::parser::ResponseReceiver::default();
    g.bench_function("smtp-proto", |b| {
        b.iter(|| {
            let r = rx.parse(&mut black_box(SINGLE).iter()).unwrap();
            rx.reset();
            black_box(r)
        })
    });
    g.finish();
}

fn ehlo(c: &mut Criterion) {
    let mut g = c.benchmark_group("ehlo_12");
    let opts = ReplyParseOptions::new().with_context(ReplyContext::Hello);
    g.bench_function("esmtp", |b| {
        b.iter(|| {
            let (reply, _) = Reply::parse(black_box(EHLO), &opts).unwrap();
            let caps = Capabilities::from_reply(&reply).unwrap();
            black_box((caps.max_size(), caps.auth_mechanisms().len()));
        })
    });
    // The same in one pass: the line walk and the keyword lookup fused.
    g.bench_function("esmtp_one_pass", |b| {
        b.iter(|| {
            let (caps, _) = Capabilities::parse(black_box(EHLO), &opts).unwrap();
            black_box((caps.max_size(), caps.auth_mechanisms().len()));
        })
    });
    // What the client machine does with the reply, set-up untimed.
    g.bench_function("esmtp_client", |b| {
        b.iter_batched(
            client_at_ehlo,
            |mut c| {
                client_ehlo(&mut c);
                c
            },
            BatchSize::SmallInput,
        )
    });
    // The reply grammar alone, to show where the time goes.
    g.bench_function("esmtp_reply_only", |b| {
        b.iter(|| black_box(Reply::parse(black_box(EHLO), &opts).unwrap().1))
    });
    g.bench_function("smtp-proto", |b| {
        b.iter(|| {
            let r = smtp_proto::EhloResponse::parse(&mut black_box(EHLO).iter()).unwrap();
            black_box((r.size, r.auth_mechanisms));
        })
    });
    g.finish();
}

/// Parses per timed batch in the interleaved mode.
const BATCH: u32 = 2_000;

/// The contenders of the interleaved and callgrind modes.
const NAMES: [&str; 10] = [
    "reply_single/esmtp",
    "reply_single/smtp-proto",
    "ehlo_12/esmtp (reply + capabilities)",
    "ehlo_12/esmtp_reply_only",
    "ehlo_12/smtp-proto",
    "ehlo_12/esmtp_one_pass (Capabilities::parse)",
    "ehlo_12/esmtp_one_pass_owned (Capabilities::parse + into_owned)",
    "ehlo_12/esmtp_client (Client::receive + poll_event; cold: 2,000 clients, dropped in the batch)",
    "ehlo_12/esmtp_client_hot (the same; 16 clients made just before, dropped after)",
    "client set-up alone (callgrind only)",
];

/// Contender of [`NAMES`] that runs the client machine on clients made
/// before the timed batch (2,000 of them, so out of cache), each dropped
/// inside the batch.
const CLIENT: usize = 7;
/// The same step on [`HOT`] clients at a time, made just before their
/// timed run (as a client's state is warm after writing its EHLO) and
/// dropped after it, as criterion's `iter_batched` does.
const CLIENT_HOT: usize = 8;
/// Clients per timed run of [`CLIENT_HOT`].
const HOT: usize = 16;
/// Contender that only makes such a client (to subtract its count).
const SETUP: usize = 9;

/// Runs contender `which` of [`NAMES`] once.
#[inline(always)]
fn run(
    which: usize,
    rx: &mut smtp_proto::response::parser::ResponseReceiver,
    clients: &mut Vec<Client>,
) {
    let single_opts = ReplyParseOptions::new().with_enhanced(true);
    let ehlo_opts = ReplyParseOptions::new().with_context(ReplyContext::Hello);
    match which {
        0 => {
            let (reply, n) = Reply::parse(black_box(SINGLE), &single_opts).unwrap();
            black_box((
                reply.code(),
                reply.enhanced(),
                reply.lines().next().map(<[u8]>::len),
                n,
            ));
        }
        1 => {
            let r = rx.parse(&mut black_box(SINGLE).iter()).unwrap();
            rx.reset();
            black_box(r);
        }
        2 => {
            let (reply, _) = Reply::parse(black_box(EHLO), &ehlo_opts).unwrap();
            let caps = Capabilities::from_reply(&reply).unwrap();
            black_box((caps.max_size(), caps.auth_mechanisms().len()));
        }
        3 => {
            black_box(Reply::parse(black_box(EHLO), &ehlo_opts).unwrap().1);
        }
        4 => {
            let r = smtp_proto::EhloResponse::parse(&mut black_box(EHLO).iter()).unwrap();
            black_box((r.size, r.auth_mechanisms));
        }
        5 => {
            let (caps, _) = Capabilities::parse(black_box(EHLO), &ehlo_opts).unwrap();
            black_box((caps.max_size(), caps.auth_mechanisms().len()));
        }
        6 => {
            let (caps, _) = Capabilities::parse(black_box(EHLO), &ehlo_opts).unwrap();
            let caps = black_box(caps.into_owned());
            black_box((caps.max_size(), caps.auth_mechanisms().len()));
        }
        // The same instructions for both client rows: only the paired
        // mode times them differently.
        CLIENT | CLIENT_HOT => {
            let mut c = clients.pop().unwrap_or_else(client_at_ehlo);
            client_ehlo(&mut c);
            black_box(c);
        }
        _ => {
            black_box(client_at_ehlo());
        }
    }
}

fn paired(rounds: usize) {
    use std::time::Instant;

    let mut rx = smtp_proto::response::parser::ResponseReceiver::default();
    // The smtp-proto row each row is compared with.
    let rival = |i: usize| if i < 2 { 1 } else { 4 };
    let timed = SETUP;
    let mut clients = Vec::with_capacity(BATCH as usize);
    let mut times: Vec<Vec<f64>> = (0..timed).map(|_| Vec::with_capacity(rounds)).collect();
    let mut order = support::Order::from_env(timed);
    for round in 0..rounds {
        for k in 0..timed {
            let which = order.row(round, k);
            if which == CLIENT_HOT {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..BATCH as usize / HOT {
                    clients.extend((0..HOT).map(|_| client_at_ehlo()));
                    let t = Instant::now();
                    for c in &mut clients {
                        client_ehlo(c);
                    }
                    total += t.elapsed();
                    black_box(&clients);
                    clients.clear();
                }
                let runs = (BATCH as usize / HOT * HOT) as f64;
                times[which].push(total.as_secs_f64() / runs);
                continue;
            }
            if which == CLIENT {
                clients.extend((0..BATCH).map(|_| client_at_ehlo()));
            }
            let t = Instant::now();
            for _ in 0..BATCH {
                run(which, &mut rx, &mut clients);
            }
            times[which].push(t.elapsed().as_secs_f64() / f64::from(BATCH));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("{rounds} interleaved rounds of {BATCH}; median time per parse, and the median over rounds of the speed ratio");
    println!("| contender | median | vs smtp-proto |\n|---|---|---|");
    for (i, name) in NAMES.iter().enumerate().take(timed) {
        let ratio = median(
            times[rival(i)]
                .iter()
                .zip(&times[i])
                .map(|(sp, us)| sp / us)
                .collect(),
        );
        println!(
            "| {name} | {:.1} ns | {ratio:.2}x |",
            median(times[i].clone()) * 1e9
        );
    }
}

/// `CALLGRIND=N [REPS=n]`: run contender `N` of [`NAMES`] `REPS` times and
/// exit, for instruction counts under `valgrind --tool=callgrind`
/// (repeatable on a busy machine, unlike times). Two runs with different
/// `REPS` cancel the set-up cost; see BENCHMARKS.md.
fn callgrind(which: usize) {
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let mut rx = smtp_proto::response::parser::ResponseReceiver::default();
    // The client rows make (and drop) their client inside the count:
    // subtract the SETUP row's count from the CLIENT row's.
    let mut clients = Vec::new();
    for _ in 0..reps {
        run(which, &mut rx, &mut clients);
    }
    eprintln!("ran {} {reps} times", NAMES[which.min(NAMES.len() - 1)]);
}

criterion_group!(benches, single, ehlo);

fn main() {
    if let Some(which) = std::env::var("CALLGRIND").ok().and_then(|w| w.parse().ok()) {
        callgrind(which);
        return;
    }
    support::print_cpu();
    if let Some(rounds) = std::env::var_os("PAIRED") {
        let rounds = rounds.to_str().and_then(|r| r.parse().ok()).unwrap_or(200);
        paired(rounds);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
