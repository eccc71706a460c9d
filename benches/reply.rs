//! Reply and EHLO parsing beside smtp-proto 0.2.5, same inputs, same run
//! (see /work/shared/reference/benchmarking.md).
//!
//! `cargo bench --bench reply -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use esmtp::ehlo::Capabilities;
use esmtp::reply::{Reply, ReplyContext, ReplyParseOptions};

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

criterion_group!(benches, single, ehlo);
criterion_main!(benches);
