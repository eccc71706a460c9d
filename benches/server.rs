//! The server machine end to end: whole pipelined transactions per second,
//! and DATA content throughput through the whole machine beside smtp-proto
//! 0.2.5's `DataReceiver` and a memcpy of the same bytes, in the same run
//! (BENCHMARKS.md's opening says how the smtp-proto rows are kept fair).
//! Every default check is on: bare CR / LF rejected, the 1000-octet line
//! limit, and the default SIZE cap (35 MiB) enforced.
//!
//! Interleaved rows: `PAIRED=ROUNDS` (see `paired` below).

#[path = "support/paired.rs"]
#[allow(dead_code)]
mod support;

use std::hint::black_box;
use std::sync::Arc;

use bytes::BytesMut;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use esmtp::server::{Event, Server, ServerConfig};

const READ: usize = 16 * 1024;
/// The read size of a driver with a larger read buffer: at or above the
/// size from which `Server::receive` decodes as it copies.
const BIG_READ: usize = 64 * 1024;

fn config() -> Arc<ServerConfig> {
    let mut cfg = ServerConfig::new("mx.example.org").expect("a valid hostname");
    // The default SIZE cap stays: the decoder enforces it on every octet.
    assert!(cfg.limits.message_size.is_some());
    // Room for the 10 MiB body in one read.
    cfg.limits.max_buffered = 16 * 1024 * 1024;
    Arc::new(cfg)
}

/// Runs the machine until it needs input, accepting every decision; the
/// content octets seen.
fn drain(s: &mut Server) -> usize {
    let mut content = 0;
    loop {
        while let Some(e) = s.poll_event() {
            match e {
                Event::Content(c) => content += c.len(),
                e if e.needs_decision() => s.accept().unwrap(),
                _ => {}
            }
        }
        let mut any = false;
        while let Some(out) = s.poll_transmit() {
            black_box(out);
            any = true;
        }
        if !any {
            return content;
        }
    }
}

/// `n` octets of 78-octet lines (76 + CRLF), 1% of them dot-stuffed; the
/// first line is not, as smtp-proto's receiver does not unstuff it.
fn body(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 80);
    let mut i = 0usize;
    while out.len() < n {
        if i % 100 == 50 {
            out.push(b'.');
            out.extend_from_slice(&[b'y'; 75]);
        } else {
            out.extend_from_slice(&[b'x'; 76]);
        }
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    out
}

const ENVELOPE: &[u8] = b"EHLO client.example.org\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n";

/// The next transaction on a session that has sent one already.
const NEXT: &[u8] = b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n";

fn transaction(c: &mut Criterion) {
    let cfg = config();
    let mut input =
        b"EHLO client.example.org\r\nMAIL FROM:<sender@example.org> SIZE=10240 BODY=8BITMIME\r\n"
            .to_vec();
    for r in 0..3 {
        input.extend_from_slice(
            format!("RCPT TO:<rcpt{r}@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt{r}@example.net\r\n")
                .as_bytes(),
        );
    }
    input.extend_from_slice(b"DATA\r\n");
    input.extend_from_slice(&body(10 * 1024));
    input.extend_from_slice(b".\r\nQUIT\r\n");
    let mut g = c.benchmark_group("server/transaction");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pipelined EHLO MAIL 3xRCPT DATA 10KB QUIT", |b| {
        b.iter(|| {
            let mut s = Server::new(Arc::clone(&cfg));
            s.receive(black_box(&input));
            let n = drain(&mut s);
            assert!(s.is_closed() && n > 10_000);
            n
        })
    });
    g.finish();

    // What `smtp-source -l 1000 -d` sends over one connection (see
    // benches/e2e.sh), the machine alone: the in-memory rate beside the
    // end-to-end figure.
    const MESSAGES: usize = 100;
    let mut input = b"HELO client.example.org\r\n".to_vec();
    for m in 0..MESSAGES {
        input.extend_from_slice(
            b"MAIL FROM:<foo@client.example.org>\r\nRCPT TO:<foo@mx.example.org>\r\nDATA\r\n",
        );
        input.extend_from_slice(
            format!("From: <foo@client.example.org>\r\nTo: <foo@mx.example.org>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <{m}@client.example.org>\r\n\r\n").as_bytes(),
        );
        let mut left = 1000;
        while left > 0 {
            let n = left.min(80);
            input.extend((0..n).map(|i| b"abcdefghijklmnopqrstuvwxyz"[i % 26]));
            input.extend_from_slice(b"\r\n");
            left -= n;
        }
        input.extend_from_slice(b".\r\n");
    }
    input.extend_from_slice(b"QUIT\r\n");
    let mut g = c.benchmark_group("server/messages");
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.bench_function(
        "100 smtp-source messages (1000 octets) on one connection",
        |b| {
            b.iter(|| {
                let mut s = Server::new(Arc::clone(&cfg));
                s.receive(black_box(&input));
                let n = drain(&mut s);
                assert!(s.is_closed() && n > MESSAGES * 1000);
                n
            })
        },
    );
    g.finish();
}

fn data(c: &mut Criterion) {
    let cfg = config();
    let body = body(10 * 1024 * 1024);
    let mut terminated = body.clone();
    terminated.extend_from_slice(b".\r\n");
    let mut g = c.benchmark_group("server/data 10 MiB");
    g.throughput(Throughput::Bytes(body.len() as u64));

    // A session in DATA, set up outside the timed part; each timed routine
    // returns it so that freeing its buffers is not timed either.
    let start = || {
        let mut s = Server::new(Arc::clone(&cfg));
        s.receive(ENVELOPE);
        drain(&mut s);
        s
    };
    let done = |s: &Server, n: usize| {
        assert!(n >= body.len() - body.len() / 50 && s.buffered_len() == 0);
    };
    // The driver read the message into a `BytesMut` (as tokio's `read_buf`
    // does) and hands it over: no copy.
    g.bench_function("esmtp Server receive_buf, one buffer", |b| {
        b.iter_batched(
            || (start(), BytesMut::from(&terminated[..])),
            |(mut s, buf)| {
                s.receive_buf(black_box(buf));
                let n = drain(&mut s);
                done(&s, n);
                s
            },
            BatchSize::PerIteration,
        )
    });
    // The same through `receive(&[u8])`: the 10 MiB are copied into a
    // fresh receive buffer (allocation and page faults included).
    g.bench_function("esmtp Server receive (copy), one buffer", |b| {
        b.iter_batched(
            start,
            |mut s| {
                s.receive(black_box(&terminated));
                let n = drain(&mut s);
                done(&s, n);
                s
            },
            BatchSize::PerIteration,
        )
    });
    // The same on a session that received a message of this size before
    // (its content chunks dropped since): `receive` copies into the receive
    // buffer that message left, as smtp-proto's row below writes into a
    // `Vec` reused from the run before. The three envelope commands that
    // bring the session back to DATA (about a microsecond) are timed too.
    let mut kept = start();
    g.bench_function(
        "esmtp Server receive (copy), one buffer, session reused",
        |b| {
            b.iter(|| {
                kept.receive(NEXT);
                drain(&mut kept);
                kept.receive(black_box(&terminated));
                let n = drain(&mut kept);
                done(&kept, n);
            })
        },
    );
    // The reads already lie in the driver's `BytesMut` and are split off it
    // one by one: the analogue of smtp-proto's 16 KiB reads below.
    g.bench_function("esmtp Server receive_buf, 16 KiB reads", |b| {
        b.iter_batched(
            || (start(), BytesMut::from(&terminated[..])),
            |(mut s, mut buf)| {
                let mut n = 0;
                while !buf.is_empty() {
                    s.receive_buf(buf.split_to(READ.min(buf.len())));
                    n += drain(&mut s);
                }
                done(&s, n);
                s
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("esmtp Server receive (copy), 16 KiB reads", |b| {
        b.iter_batched(
            start,
            |mut s| {
                let mut n = 0;
                for read in black_box(&terminated).chunks(READ) {
                    s.receive(read);
                    n += drain(&mut s);
                }
                done(&s, n);
                s
            },
            BatchSize::PerIteration,
        )
    });
    // A whole driver loop: each read is first copied into the driver's
    // buffer (standing for the kernel's copy out of the socket). esmtp gets
    // it as tokio's `read_buf` + `split` would hand it over; smtp-proto
    // reads from a reused array, as `read(&mut [u8])` would leave it.
    g.bench_function("esmtp Server receive_buf, 16 KiB reads + read copy", |b| {
        b.iter_batched(
            || (start(), BytesMut::with_capacity(4 * READ)),
            |(mut s, mut buf)| {
                let mut n = 0;
                for read in black_box(&terminated).chunks(READ) {
                    buf.reserve(READ);
                    buf.extend_from_slice(read);
                    s.receive_buf(buf.split());
                    n += drain(&mut s);
                }
                done(&s, n);
                (s, buf)
            },
            BatchSize::PerIteration,
        )
    });

    // A driver that reads 64 KiB at a time into one reused array and
    // passes it to `receive`: each read is in cache, as after the kernel's
    // copy, and takes the decode-as-it-copies path (reads of 32 KiB or more).
    // (Also the read array of smtp-proto's read-copy rows below.)
    let mut array64 = vec![0u8; BIG_READ];
    g.bench_function(
        "esmtp Server receive (copy), 64 KiB reads + read copy",
        |b| {
            b.iter_batched(
                start,
                |mut s| {
                    let mut n = 0;
                    for read in black_box(&terminated).chunks(BIG_READ) {
                        let array = &mut array64[..read.len()];
                        array.copy_from_slice(read);
                        s.receive(black_box(&*array));
                        n += drain(&mut s);
                    }
                    done(&s, n);
                    s
                },
                BatchSize::PerIteration,
            )
        },
    );
    let mut out = Vec::with_capacity(terminated.len());
    g.bench_function("smtp-proto DataReceiver, one buffer", |b| {
        b.iter(|| {
            out.clear();
            let mut r = smtp_proto::request::receiver::DataReceiver::new();
            let done = r.ingest(&mut black_box(&terminated).iter(), &mut out);
            assert!(done);
            out.len()
        })
    });
    g.bench_function("smtp-proto DataReceiver, 16 KiB reads", |b| {
        b.iter(|| {
            out.clear();
            let mut r = smtp_proto::request::receiver::DataReceiver::new();
            let mut done = false;
            for read in black_box(&terminated).chunks(READ) {
                done = r.ingest(&mut read.iter(), &mut out);
            }
            assert!(done);
            out.len()
        })
    });
    for (name, size) in [
        ("smtp-proto DataReceiver, 16 KiB reads + read copy", READ),
        (
            "smtp-proto DataReceiver, 64 KiB reads + read copy",
            BIG_READ,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut r = smtp_proto::request::receiver::DataReceiver::new();
                let mut done = false;
                for read in black_box(&terminated).chunks(size) {
                    let array = &mut array64[..read.len()];
                    array.copy_from_slice(read);
                    done = r.ingest(&mut black_box(&*array).iter(), &mut out);
                }
                assert!(done);
                out.len()
            })
        });
    }
    let finder = memchr::memmem::Finder::new(b"\r\n.");
    g.bench_function("memchr memmem CRLF dot, one buffer", |b| {
        b.iter(|| finder.find_iter(black_box(&terminated)).count())
    });
    g.bench_function("memchr LF count, one buffer", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&terminated)).count())
    });
    g.bench_function("memcpy, one buffer", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&terminated));
            out.len()
        })
    });
    g.bench_function("memcpy, 16 KiB reads", |b| {
        b.iter(|| {
            out.clear();
            for read in black_box(&terminated).chunks(READ) {
                out.extend_from_slice(read);
            }
            out.len()
        })
    });
    g.finish();
}

/// The DATA rows again, interleaved: each round runs every contender
/// once, in a shuffled order (`support::Order`), so that a change of
/// background load falls on all of them alike; the ratio to smtp-proto is
/// taken within each round and the median over rounds reported. `PAIRED=ROUNDS` selects this mode.
fn paired(rounds: usize) {
    use std::time::{Duration, Instant};

    let cfg = config();
    let body = body(10 * 1024 * 1024);
    let mut terminated = body.clone();
    terminated.extend_from_slice(b".\r\n");
    let start = || {
        let mut s = Server::new(Arc::clone(&cfg));
        s.receive(ENVELOPE);
        drain(&mut s);
        s
    };
    let mut array = vec![0u8; BIG_READ];
    // Row 11's session lives across rounds: each round sends it the next
    // transaction (untimed), then times the content.
    let mut kept = start();
    const NAMES: [&str; 14] = [
        "esmtp receive_buf, one buffer",
        "esmtp receive (copy), one buffer",
        "esmtp receive_buf, 16 KiB reads",
        "esmtp receive (copy), 16 KiB reads",
        "esmtp receive_buf, 16 KiB reads + read copy",
        "smtp-proto, one buffer",
        "smtp-proto, 16 KiB reads",
        "smtp-proto, 16 KiB reads + read copy",
        "memcpy, one buffer",
        "memcpy, 16 KiB reads",
        "esmtp copy, then decode (receive before #10 round 2), one buffer",
        "esmtp receive (copy), one buffer, session reused",
        "esmtp receive (copy), 64 KiB reads + read copy",
        "smtp-proto, 64 KiB reads + read copy",
    ];
    // Each contender that writes keeps its own `Vec`, reused round after
    // round, as a program keeps its buffer: one `Vec` shared by the five
    // smtp-proto and memcpy rows was often still in cache from the row
    // before, which sessions (each with its own receive buffer) never
    // are. `PAIRED_SHARED_OUT=1` shares one again, to compare.
    let shared_out = std::env::var_os("PAIRED_SHARED_OUT").is_some();
    let mut outs: Vec<Vec<u8>> = (0..NAMES.len())
        .map(|_| Vec::with_capacity(terminated.len()))
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); NAMES.len()];
    let mut order = support::Order::from_env(NAMES.len());
    for round in 0..rounds {
        for k in 0..NAMES.len() {
            let which = order.row(round, k);
            // Set-up (and the drop of what a run leaves) stays untimed.
            let mut s = start();
            if which == 11 {
                kept.receive(NEXT);
                drain(&mut kept);
            }
            let mut buf = match which {
                0 | 2 => BytesMut::from(&terminated[..]),
                4 => BytesMut::with_capacity(4 * READ),
                _ => BytesMut::new(),
            };
            // Every row reads the wire form from a buffer it was just
            // copied into (rows 0 and 2: `buf`), so that where a fresh
            // 10 MiB copy lands is the same for every contender.
            let fresh = match which {
                0 | 2 => Vec::new(),
                _ => terminated.clone(),
            };
            let terminated = &fresh[..];
            let out = &mut outs[if shared_out { 0 } else { which }];
            out.clear();
            let t = Instant::now();
            let n = match which {
                0 => {
                    s.receive_buf(buf.split());
                    drain(&mut s)
                }
                1 => {
                    s.receive(terminated);
                    drain(&mut s)
                }
                2 => {
                    let mut n = 0;
                    while !buf.is_empty() {
                        s.receive_buf(buf.split_to(READ.min(buf.len())));
                        n += drain(&mut s);
                    }
                    n
                }
                3 => {
                    let mut n = 0;
                    for read in terminated.chunks(READ) {
                        s.receive(read);
                        n += drain(&mut s);
                    }
                    n
                }
                4 => {
                    let mut n = 0;
                    for read in terminated.chunks(READ) {
                        buf.reserve(READ);
                        buf.extend_from_slice(read);
                        s.receive_buf(buf.split());
                        n += drain(&mut s);
                    }
                    n
                }
                5 => {
                    let mut r = smtp_proto::request::receiver::DataReceiver::new();
                    assert!(r.ingest(&mut terminated.iter(), out));
                    out.len()
                }
                12 => {
                    let mut n = 0;
                    for read in terminated.chunks(BIG_READ) {
                        let array = &mut array[..read.len()];
                        array.copy_from_slice(read);
                        s.receive(black_box(&*array));
                        n += drain(&mut s);
                    }
                    n
                }
                6 | 7 | 13 => {
                    let mut r = smtp_proto::request::receiver::DataReceiver::new();
                    let mut done = false;
                    let size = if which == 13 { BIG_READ } else { READ };
                    for read in terminated.chunks(size) {
                        done = if which != 6 {
                            let array = &mut array[..read.len()];
                            array.copy_from_slice(read);
                            r.ingest(&mut black_box(&*array).iter(), out)
                        } else {
                            r.ingest(&mut read.iter(), out)
                        };
                    }
                    assert!(done);
                    out.len()
                }
                8 => {
                    out.extend_from_slice(black_box(terminated));
                    out.len()
                }
                10 => {
                    // What `receive` did before it decoded as it copied:
                    // the whole read copied into the (empty) receive
                    // buffer, decoded afterwards.
                    s.receive_buf(BytesMut::from(black_box(terminated)));
                    drain(&mut s)
                }
                11 => {
                    kept.receive(terminated);
                    drain(&mut kept)
                }
                _ => {
                    for read in black_box(terminated).chunks(READ) {
                        out.extend_from_slice(read);
                    }
                    out.len()
                }
            };
            times[which].push(t.elapsed());
            assert!(n >= body.len() - body.len() / 50);
            drop(black_box((s, buf)));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let secs = |i: usize| {
        times[i]
            .iter()
            .map(Duration::as_secs_f64)
            .collect::<Vec<_>>()
    };
    // The reference for each row: smtp-proto and memcpy in the same shape.
    let shape = |i: usize| match i {
        0 | 1 | 5 | 8 | 10 | 11 => (5, 8),
        2 | 3 | 6 | 9 => (6, 9),
        12 | 13 => (13, 8),
        _ => (7, 9),
    };
    println!("{rounds} interleaved rounds; median time, and the median over rounds of the throughput ratio");
    println!("| contender | median | vs smtp-proto | vs memcpy |\n|---|---|---|---|");
    for (i, name) in NAMES.iter().enumerate() {
        let (sp, mc) = shape(i);
        let ratio = |r: usize| {
            median(
                times[r]
                    .iter()
                    .zip(&times[i])
                    .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
                    .collect(),
            )
        };
        println!(
            "| {name} | {:.3} ms | {:.2}x | {:.2}x |",
            median(secs(i)) * 1e3,
            ratio(sp),
            ratio(mc)
        );
    }
}

/// `CALLGRIND=receive|receive_buf|smtp-proto|setup [REPS=n]`: one 10 MiB
/// message through that contender (one buffer) `REPS` times, for
/// instruction counts under `valgrind --tool=callgrind` (repeatable on a
/// busy machine); `setup` makes the body and the sessions only, to
/// subtract. Per 10 MiB: (count at REPS=3 - count at REPS=1) / 2.
fn callgrind(which: &str) {
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let cfg = config();
    let mut terminated = body(10 * 1024 * 1024);
    terminated.extend_from_slice(b".\r\n");
    let mut out: Vec<u8> = Vec::with_capacity(terminated.len());
    for _ in 0..reps {
        let mut s = Server::new(Arc::clone(&cfg));
        s.receive(ENVELOPE);
        drain(&mut s);
        let n = match which {
            "receive" => {
                s.receive(&terminated);
                drain(&mut s)
            }
            "receive_buf" => {
                s.receive_buf(BytesMut::from(&terminated[..]));
                drain(&mut s)
            }
            "smtp-proto" => {
                out.clear();
                let mut r = smtp_proto::request::receiver::DataReceiver::new();
                assert!(r.ingest(&mut terminated.iter(), &mut out));
                out.len()
            }
            _ => 0,
        };
        black_box((n, s));
    }
    eprintln!("ran {which} {reps} times");
}

criterion_group!(benches, transaction, data);

fn main() {
    if let Ok(which) = std::env::var("CALLGRIND") {
        callgrind(&which);
        return;
    }
    support::print_cpu();
    if let Some(rounds) = std::env::var_os("PAIRED") {
        let rounds = rounds.to_str().and_then(|r| r.parse().ok()).unwrap_or(100);
        paired(rounds);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
