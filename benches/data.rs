//! DATA framing throughput beside smtp-proto 0.2.5 and the physical
//! references (memchr::memmem scan, memcpy) on the same bytes, in the same
//! run: 10 MiB of 78-octet lines, 1% of them dot-stuffed, the first not.
//!
//! `cargo bench --bench data -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use esmtp::data::{Decoded, DotDecoder, DotEncoder};

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
    let mut total = 0;
    loop {
        match decoder.decode(buf) {
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
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            sink.clear();
            sink.extend_from_slice(black_box(&wire[..]));
            black_box(sink.len())
        })
    });
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
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&content[..]));
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
