//! DATA framing throughput beside smtp-proto 0.2.5 and the physical
//! references (memchr::memmem scan, memcpy) on the same bytes, in the same
//! run: 10 MiB of 78-octet lines, 1% of them dot-stuffed, the first not.
//!
//! `reference_DotDecoder` is the decoder before the fused scan
//! (`esmtp::testing::dot_reference`), for before/after in one run.
//! smtp-proto has no client-side encoder: the encoder rows stand beside
//! memcpy alone.
//!
//! `cargo bench --bench data -- --warm-up-time 1 --measurement-time 3`;
//! interleaved rows: `PAIRED=ROUNDS` (see benches/support/paired.rs).

#[path = "support/paired.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use esmtp::data::{Decoded, DotDecoder, DotEncoder};
use esmtp::testing::dot_reference;
use support::Row;

const SIZE: usize = 10 << 20;
const LINE: usize = 78;
const READ: usize = 16 << 10;

/// The unstuffed content: CRLF lines of 78 octets; every 100th line (not
/// the first) begins with ".".
fn content() -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE + LINE);
    let mut n = 0usize;
    while out.len() + LINE <= SIZE {
        let start = out.len();
        if n % 100 == 50 {
            out.push(b'.');
        }
        while out.len() < start + LINE - 2 {
            out.push(b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJ"[(out.len() + n) % 47]);
        }
        out.extend_from_slice(b"\r\n");
        n += 1;
    }
    out
}

/// The wire form: stuffed, with the terminator.
fn wire(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + content.len() / 100);
    let mut encoder = DotEncoder::new();
    encoder.encode(content, &mut out);
    encoder.finish(&mut out);
    out
}

/// Runs one decoder over `buf` to the end; the total content length.
fn decode_all(decoder: &mut DotDecoder, buf: &mut BytesMut) -> (usize, bool) {
    decode_with(|b| decoder.decode(b), buf)
}

/// The same with the reference decoder.
fn decode_ref(decoder: &mut dot_reference::DotDecoder, buf: &mut BytesMut) -> (usize, bool) {
    decode_with(|b| decoder.decode(b), buf)
}

fn decode_with(
    mut decode: impl FnMut(&mut BytesMut) -> Decoded,
    buf: &mut BytesMut,
) -> (usize, bool) {
    let mut total = 0;
    loop {
        match decode(buf) {
            Decoded::Content(chunk) => total += black_box(chunk).len(),
            Decoded::NeedMore => return (total, false),
            Decoded::End(end) => {
                assert!(end.is_ok());
                return (total, true);
            }
        }
    }
}

fn decode(c: &mut Criterion) {
    let content = content();
    let wire = wire(&content);
    let finder = memchr::memmem::Finder::new(b"\r\n.");

    // Sanity: every contender sees the same message.
    let mut sink = Vec::with_capacity(wire.len());
    assert!(smtp_proto::request::receiver::DataReceiver::new().ingest(&mut wire.iter(), &mut sink));
    assert_eq!(sink, content);
    let (n, done) = decode_all(&mut DotDecoder::new(), &mut BytesMut::from(&wire[..]));
    assert!(done && n == content.len());

    let mut group = c.benchmark_group("data_decode_one_buffer");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("esmtp_DotDecoder", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| decode_all(&mut DotDecoder::new(), buf),
            BatchSize::PerIteration,
        )
    });
    // A server that lets bare CR and LF through (BarePolicy::Allow) takes
    // the search-then-check path.
    group.bench_function("esmtp_DotDecoder_allow_bare", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| {
                let mut decoder = DotDecoder::new().with_policy(esmtp::data::BarePolicy::Allow);
                decode_all(&mut decoder, buf)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("reference_DotDecoder", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| decode_ref(&mut dot_reference::DotDecoder::new(), buf),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("smtp_proto_DataReceiver", |b| {
        b.iter(|| {
            sink.clear();
            let mut receiver = smtp_proto::request::receiver::DataReceiver::new();
            let done = receiver.ingest(&mut black_box(&wire[..]).iter(), &mut sink);
            black_box((done, sink.len()))
        })
    });
    group.bench_function("memmem_crlf_dot", |b| {
        b.iter(|| finder.find_iter(black_box(&wire[..])).count())
    });
    memcpy_row(&mut group, &wire, &mut sink);
    group.finish();

    let mut group = c.benchmark_group("data_decode_16k_reads");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    // Each read already sits in its own receive buffer, as after
    // `read_buf`; the decoder drains each one.
    group.bench_function("esmtp_DotDecoder", |b| {
        b.iter_batched_ref(
            || wire.chunks(READ).map(BytesMut::from).collect::<Vec<_>>(),
            |reads| {
                let mut decoder = DotDecoder::new();
                let mut total = 0;
                for buf in reads.iter_mut() {
                    total += decode_all(&mut decoder, buf).0;
                }
                total
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("smtp_proto_DataReceiver", |b| {
        b.iter(|| {
            sink.clear();
            let mut receiver = smtp_proto::request::receiver::DataReceiver::new();
            let mut done = false;
            for read in black_box(&wire[..]).chunks(READ) {
                done = receiver.ingest(&mut read.iter(), &mut sink);
            }
            black_box((done, sink.len()))
        })
    });
    group.bench_function("memmem_crlf_dot", |b| {
        b.iter(|| {
            black_box(&wire[..])
                .chunks(READ)
                .map(|read| finder.find_iter(read).count())
                .sum::<usize>()
        })
    });
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            sink.clear();
            for read in black_box(&wire[..]).chunks(READ) {
                sink.extend_from_slice(read);
            }
            black_box(sink.len())
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let content = content();
    let mut out = Vec::with_capacity(content.len() + content.len() / 50);
    let mut group = c.benchmark_group("data_encode");
    group.throughput(Throughput::Bytes(content.len() as u64));
    group.bench_function("esmtp_DotEncoder", |b| {
        b.iter(|| {
            out.clear();
            let mut encoder = DotEncoder::new();
            encoder.encode(black_box(&content[..]), &mut out);
            encoder.finish(&mut out);
            black_box(out.len())
        })
    });
    let shared = Bytes::from(content.clone());
    group.bench_function("esmtp_DotEncoder_shared", |b| {
        b.iter(|| {
            let mut n = 0;
            let mut encoder = DotEncoder::new();
            encoder.finish_shared(black_box(&shared), |piece| n += black_box(piece).len());
            black_box(n)
        })
    });
    memcpy_row(&mut group, &content, &mut out);
    group.finish();
}

/// BDAT text (RFC 3030 §3): the same 10 MiB of CRLF lines checked for bare
/// CR, bare LF and NUL by `BareCheck`, whole and in 16 KiB chunks (slices
/// of one `Bytes`, as the server hands them on), beside smtp-proto's
/// `BdatReceiver` (which copies the chunk and checks nothing), a memchr
/// count of the line ends and memcpy.
fn bdat(c: &mut Criterion) {
    let content = Bytes::from(content());
    let mut out = Vec::with_capacity(content.len());
    let mut group = c.benchmark_group("bdat_check");
    group.throughput(Throughput::Bytes(content.len() as u64));
    let check = |pieces: &mut dyn Iterator<Item = Bytes>| {
        let mut check = esmtp::data::BareCheck::new();
        let mut n = 0;
        for piece in pieces {
            let (clean, result) = check.check(piece);
            assert!(result.is_ok());
            n += black_box(clean).len();
        }
        assert!(check.finish().is_ok());
        n
    };
    group.bench_function("esmtp_BareCheck_one_buffer", |b| {
        b.iter(|| black_box(check(&mut std::iter::once(content.clone()))))
    });
    group.bench_function("esmtp_BareCheck_16k_chunks", |b| {
        b.iter(|| {
            let mut pieces = (0..content.len())
                .step_by(READ)
                .map(|at| content.slice(at..(at + READ).min(content.len())));
            black_box(check(&mut pieces))
        })
    });
    group.bench_function("smtp_proto_BdatReceiver", |b| {
        b.iter(|| {
            out.clear();
            let mut receiver =
                smtp_proto::request::receiver::BdatReceiver::new(content.len(), true);
            assert!(receiver.ingest(&mut black_box(&content[..]).iter(), &mut out));
            black_box(out.len())
        })
    });
    group.bench_function("memchr_lf_count", |b| {
        b.iter(|| black_box(memchr::memchr_iter(b'\n', black_box(&content[..])).count()))
    });
    memcpy_row(&mut group, &content, &mut out);
    group.finish();
}

/// The physical reference of a group: `from` copied into the reused
/// `sink` in one call.
fn memcpy_row(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    from: &[u8],
    sink: &mut Vec<u8>,
) {
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            sink.clear();
            sink.extend_from_slice(black_box(from));
            black_box(sink.len())
        })
    });
}

/// Times `work` on what `setup` made, dropping it untimed.
fn timed<T>(setup: impl FnOnce() -> T, work: impl FnOnce(&mut T) -> usize) -> Duration {
    let mut input = setup();
    let t = Instant::now();
    black_box(work(&mut input));
    let time = t.elapsed();
    drop(black_box(input));
    time
}

/// The rows of `decode` and `encode`, interleaved. Every row that writes
/// writes into the same reused `Vec` (as criterion's rows do), so that the
/// working set stays that of one row.
fn paired(rounds: usize) {
    use std::cell::RefCell;
    use std::rc::Rc;

    let content: &'static [u8] = Box::leak(content().into_boxed_slice());
    let wire: &'static [u8] = Box::leak(wire(content).into_boxed_slice());
    let reads = || wire.chunks(READ).map(BytesMut::from).collect::<Vec<_>>();
    let sink = Rc::new(RefCell::new(Vec::<u8>::with_capacity(
        wire.len() + content.len() / 50,
    )));
    // smtp-proto over the reads (one: the whole wire form).
    let sp = {
        let sink = Rc::clone(&sink);
        move |reads: &[BytesMut]| {
            let mut sink = sink.borrow_mut();
            sink.clear();
            let mut receiver = smtp_proto::request::receiver::DataReceiver::new();
            let mut done = false;
            for piece in reads {
                done = receiver.ingest(&mut black_box(&piece[..]).iter(), &mut sink);
            }
            assert!(done);
            sink.len()
        }
    };
    let copy = {
        let sink = Rc::clone(&sink);
        move |from: &[u8], read: usize| {
            let mut sink = sink.borrow_mut();
            sink.clear();
            for piece in from.chunks(read) {
                sink.extend_from_slice(black_box(piece));
            }
            sink.len()
        }
    };
    let copy_reads = {
        let sink = Rc::clone(&sink);
        move |reads: &[BytesMut]| {
            let mut sink = sink.borrow_mut();
            sink.clear();
            for piece in reads {
                sink.extend_from_slice(black_box(&piece[..]));
            }
            sink.len()
        }
    };
    let encode = {
        let sink = Rc::clone(&sink);
        move || {
            let mut out = sink.borrow_mut();
            out.clear();
            let mut encoder = DotEncoder::new();
            encoder.encode(black_box(content), &mut *out);
            encoder.finish(&mut *out);
            out.len()
        }
    };
    // Where the encoder must cut its copy: before each dot it stuffs.
    let dots: Vec<usize> = memchr::memmem::find_iter(content, b"\r\n.")
        .map(|at| at + 2)
        .collect();
    let cut_at_dots = {
        let sink = Rc::clone(&sink);
        move || {
            let mut out = sink.borrow_mut();
            out.clear();
            let mut from = 0;
            for &dot in &dots {
                out.extend_from_slice(black_box(&content[from..dot]));
                out.push(b'.');
                from = dot;
            }
            out.extend_from_slice(black_box(&content[from..]));
            out.len()
        }
    };
    let finder = memchr::memmem::Finder::new(b"\r\n.").into_owned();
    let shared = Bytes::from_static(content);
    let row = |name, versus, run: Box<dyn FnMut() -> Duration>| Row { name, versus, run };
    // Reads one octet of each cache line of the content.
    let warm = move || {
        black_box(content.chunks(64).fold(0u8, |acc, line| acc ^ line[0]));
    };
    let (w0, w1, w2, w3, w4) = (warm, warm, warm, warm, warm);
    let (sp2, copy2, copy3, copy4, finder2) = (
        sp.clone(),
        copy_reads.clone(),
        copy.clone(),
        copy.clone(),
        finder.clone(),
    );
    // Every decode row reads the wire form from buffers it was just copied
    // into, in the same untimed set-up: where a fresh 10 MiB copy lands
    // (cache or memory) is then the same for every contender, instead of
    // the decoders reading a fresh copy and the others the long-lived
    // `wire`.
    let one_buffer = move || vec![BytesMut::from(wire)];
    let one = [Some(3), Some(4)];
    let split = [Some(8), Some(9)];
    let rows = vec![
        // 0..=4: one buffer
        row(
            "esmtp DotDecoder, one buffer",
            one,
            Box::new(move || {
                timed(
                    || BytesMut::from(wire),
                    |buf| decode_all(&mut DotDecoder::new(), buf).0,
                )
            }),
        ),
        row(
            "reference DotDecoder (before), one buffer",
            one,
            Box::new(move || {
                timed(
                    || BytesMut::from(wire),
                    |buf| decode_ref(&mut dot_reference::DotDecoder::new(), buf).0,
                )
            }),
        ),
        row(
            "memmem CRLF dot, one buffer",
            one,
            Box::new(move || {
                timed(one_buffer, |b| {
                    b.iter()
                        .map(|r| finder.find_iter(black_box(&r[..])).count())
                        .sum()
                })
            }),
        ),
        row(
            "smtp-proto DataReceiver, one buffer",
            one,
            Box::new(move || timed(one_buffer, |b| sp(b))),
        ),
        row(
            "memcpy, one buffer",
            one,
            Box::new(move || timed(one_buffer, |b| copy(&b[0], wire.len()))),
        ),
        // 5..=9: 16 KiB reads, each in its own buffer
        row(
            "esmtp DotDecoder, 16 KiB reads",
            split,
            Box::new(move || {
                timed(reads, |reads| {
                    let mut decoder = DotDecoder::new();
                    reads
                        .iter_mut()
                        .map(|buf| decode_all(&mut decoder, buf).0)
                        .sum()
                })
            }),
        ),
        row(
            "reference DotDecoder (before), 16 KiB reads",
            split,
            Box::new(move || {
                timed(reads, |reads| {
                    let mut decoder = dot_reference::DotDecoder::new();
                    reads
                        .iter_mut()
                        .map(|buf| decode_ref(&mut decoder, buf).0)
                        .sum()
                })
            }),
        ),
        row(
            "memmem CRLF dot, 16 KiB reads",
            split,
            Box::new(move || {
                timed(reads, |reads| {
                    reads
                        .iter()
                        .map(|r| finder2.find_iter(black_box(&r[..])).count())
                        .sum()
                })
            }),
        ),
        row(
            "smtp-proto DataReceiver, 16 KiB reads",
            split,
            Box::new(move || timed(reads, |reads| sp2(reads))),
        ),
        row(
            "memcpy, 16 KiB reads",
            split,
            Box::new(move || timed(reads, |reads| copy2(reads))),
        ),
        // 10..=14: the client encoder, on the unstuffed content. Each row
        // first reads the content (untimed), as a client that just read or
        // built the message has it: otherwise the row before in the
        // rotation decides where the 10 MiB are (a decoder row leaves them
        // out of cache, an encoder row in it), which moved a row by 30%.
        // Rows 12 and 13 are the copy the encoder makes without its scan:
        // in the pieces between the dots it stuffs (the least any copying
        // encoder behind `BufMut` can do), and in its 3 KiB pieces.
        row(
            "esmtp DotEncoder::encode (copy), 10 MiB",
            [None, Some(14)],
            Box::new(move || timed(w0, |_| encode())),
        ),
        row(
            "esmtp DotEncoder::finish_shared (zero-copy), 10 MiB",
            [None, Some(14)],
            Box::new(move || {
                timed(w1, |_| {
                    let mut n = 0;
                    DotEncoder::new()
                        .finish_shared(black_box(&shared), |piece| n += black_box(piece).len());
                    n
                })
            }),
        ),
        row(
            "memcpy cut at the stuffed dots, 10 MiB content",
            [None, Some(14)],
            Box::new(move || timed(w3, |_| cut_at_dots())),
        ),
        row(
            "memcpy in 3 KiB pieces, 10 MiB content",
            [None, Some(14)],
            Box::new(move || timed(w4, |_| copy4(content, 3 << 10))),
        ),
        row(
            "memcpy, 10 MiB content",
            [None, Some(14)],
            Box::new(move || timed(w2, |_| copy3(content, content.len()))),
        ),
    ];
    support::paired("data", rounds, ["smtp-proto", "memcpy"], rows);
}

criterion_group!(benches, decode, encode, bdat);

/// For `valgrind --tool=callgrind`: runs one contender `REPS` times over
/// the 10 MiB (`CALLGRIND=esmtp|reference|smtp-proto|encode|encode_shared|setup`);
/// the difference of two `REPS` values divided by their difference gives
/// instructions per 10 MiB without the set-up.
fn callgrind(which: &str, reps: usize) {
    let content = content();
    let wire = wire(&content);
    let shared = Bytes::from(content.clone());
    let mut sink = Vec::with_capacity(wire.len());
    for _ in 0..reps {
        let n = match which {
            "esmtp" => decode_all(&mut DotDecoder::new(), &mut BytesMut::from(&wire[..])).0,
            "reference" => {
                decode_ref(
                    &mut dot_reference::DotDecoder::new(),
                    &mut BytesMut::from(&wire[..]),
                )
                .0
            }
            "smtp-proto" => {
                sink.clear();
                let mut receiver = smtp_proto::request::receiver::DataReceiver::new();
                assert!(receiver.ingest(&mut wire.iter(), &mut sink));
                sink.len()
            }
            "encode" => {
                sink.clear();
                let mut encoder = DotEncoder::new();
                encoder.encode(&content, &mut sink);
                encoder.finish(&mut sink);
                sink.len()
            }
            "encode_shared" => {
                let mut n = 0;
                DotEncoder::new().finish_shared(&shared, |piece| n += piece.len());
                n
            }
            // What the decoder rows pay before decoding: the buffer.
            _ => BytesMut::from(&wire[..]).len(),
        };
        black_box(n);
    }
}

fn main() {
    if let Some(which) = std::env::var_os("CALLGRIND") {
        let reps = std::env::var("REPS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1);
        callgrind(which.to_str().unwrap_or_default(), reps);
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
