//! Command-line parsing beside smtp-proto 0.2.5 on the same corpus, in the
//! same run (see BENCHMARKS.md for the figures and the command).

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use esmtp::command::Command;
use esmtp::ParseOptions;

/// The mix BENCHMARKS.md describes: transactions of EHLO,
/// MAIL (SIZE, BODY), RCPT ×3 (NOTIFY, ORCPT), DATA; after every fifth one
/// RSET / NOOP / QUIT / AUTH PLAIN / BDAT 1000 LAST in turn.
fn corpus(lines: usize) -> Vec<Vec<u8>> {
    let extras: [&[u8]; 5] = [
        b"RSET\r\n",
        b"NOOP\r\n",
        b"QUIT\r\n",
        b"AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n",
        b"BDAT 1000 LAST\r\n",
    ];
    let mut out = Vec::with_capacity(lines);
    let mut t = 0usize;
    while out.len() < lines {
        out.push(format!("EHLO client{t}.example.org\r\n").into_bytes());
        out.push(
            format!("MAIL FROM:<sender{t}@example.org> SIZE=12345 BODY=8BITMIME\r\n").into_bytes(),
        );
        for r in 0..3 {
            out.push(
                format!(
                    "RCPT TO:<rcpt{t}.{r}@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt{t}.{r}@example.net\r\n"
                )
                .into_bytes(),
            );
        }
        out.push(b"DATA\r\n".to_vec());
        if t % 5 == 4 {
            out.push(extras[(t / 5) % extras.len()].to_vec());
        }
        t += 1;
    }
    out.truncate(lines);
    out
}

fn commands(c: &mut Criterion) {
    let lines = corpus(10_000);
    let stream: Vec<u8> = lines.concat();
    // Sanity: both parsers accept every line of the corpus.
    let opts = ParseOptions::strict();
    for l in &lines {
        Command::parse(l, &opts).expect("esmtp parses the corpus");
        smtp_proto::Request::parse(&mut l.iter()).expect("smtp-proto parses the corpus");
    }

    let mut g = c.benchmark_group("command");
    g.throughput(Throughput::Elements(lines.len() as u64));
    // The result is looked at where it was built (`black_box(&r)`): a
    // parser's output is used, not copied around. The `moved` rows also
    // move each result twice (`.ok()`, `black_box` by value), which costs
    // more the larger the result type is.
    g.bench_function("esmtp/line", |b| {
        b.iter(|| {
            for l in &lines {
                let r = Command::parse(black_box(l), &opts);
                black_box(&r);
            }
        })
    });
    g.bench_function("smtp-proto/line", |b| {
        b.iter(|| {
            for l in &lines {
                let r = smtp_proto::Request::parse(&mut black_box(l).iter());
                black_box(&r);
            }
        })
    });
    g.bench_function("esmtp/line-moved", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(Command::parse(black_box(l), &opts).ok());
            }
        })
    });
    g.bench_function("smtp-proto/line-moved", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(smtp_proto::Request::parse(&mut black_box(l).iter()).ok());
            }
        })
    });
    g.bench_function("esmtp/stream", |b| {
        b.iter(|| {
            let mut at = 0;
            while let Ok((cmd, used)) = Command::parse(&stream[at..], &opts) {
                black_box(cmd);
                at += used;
            }
            assert_eq!(at, stream.len());
        })
    });
    g.bench_function("smtp-proto/stream", |b| {
        b.iter(|| {
            let mut rx = smtp_proto::request::receiver::RequestReceiver::default();
            let mut it = stream.iter();
            let mut n = 0;
            loop {
                match rx.ingest(&mut it) {
                    Ok(r) => {
                        black_box(r);
                        n += 1;
                    }
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                    Err(e) => {
                        black_box(e);
                        n += 1;
                    }
                }
            }
            assert_eq!(n, lines.len());
        })
    });
    g.bench_function("memchr/lines", |b| {
        b.iter(|| black_box(memchr::memchr_iter(b'\n', black_box(&stream)).count()))
    });
    g.finish();
}

/// MAIL and RCPT lines with the rarer parameters, which the fast path
/// leaves to the general parser: every parameter is found through the
/// extension registry and parsed by its extension's grammar. Only lines
/// smtp-proto also accepts.
fn rare_corpus() -> Vec<Vec<u8>> {
    let lines: [&[u8]; 9] = [
        b"MAIL FROM:<a@example.org> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159\r\n",
        b"MAIL FROM:<a@example.org> MT-PRIORITY=3 REQUIRETLS BY=120;R\r\n",
        b"MAIL FROM:<a@example.org> HOLDFOR=3600 AUTH=<>\r\n",
        b"MAIL FROM:<a@example.org> HOLDUNTIL=2030-01-01T00:00:00Z AUTH=e+3Dmc2@example.com\r\n",
        b"MAIL FROM:<a@example.org> MTRK=QUJD:60 SOLICIT=org.example:ADV\r\n",
        b"MAIL FROM:<> RET=FULL ENVID=x+2By CONPERM\r\n",
        b"RCPT TO:<b@example.net> NOTIFY=DELAY ORCPT=rfc822;b+2Bc@example.net\r\n",
        b"RCPT TO:<b@example.net> RRVS=2014-04-03T23:01:00Z;C CONNEG\r\n",
        b"RCPT TO:<b@example.net> NOTIFY=NEVER RRVS=2014-04-03T23:01:00Z\r\n",
    ];
    lines
        .iter()
        .cycle()
        .take(9_000)
        .map(|l| l.to_vec())
        .collect()
}

fn rare_commands(c: &mut Criterion) {
    let lines = rare_corpus();
    let opts = ParseOptions::strict();
    for l in &lines {
        Command::parse(l, &opts).expect("esmtp parses the rare corpus");
        smtp_proto::Request::parse(&mut l.iter()).expect("smtp-proto parses the rare corpus");
    }
    let mut g = c.benchmark_group("command-rare-params");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("esmtp/line", |b| {
        b.iter(|| {
            for l in &lines {
                let r = Command::parse(black_box(l), &opts);
                black_box(&r);
            }
        })
    });
    g.bench_function("smtp-proto/line", |b| {
        b.iter(|| {
            for l in &lines {
                let r = smtp_proto::Request::parse(&mut black_box(l).iter());
                black_box(&r);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, commands, rare_commands);

/// `CALLGRIND=esmtp|smtp-proto [REPS=n] [ONLY=VERB] [RARE=1]`: parse the corpus `REPS`
/// times with one parser and exit, for instruction counts under
/// `valgrind --tool=callgrind` (repeatable on a busy machine, unlike
/// times). Two runs with different `REPS` cancel the set-up cost; see
/// BENCHMARKS.md.
fn callgrind(which: &str) {
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let only = std::env::var("ONLY").unwrap_or_default();
    // RARE=1: the rarer parameters' corpus instead.
    let all = if std::env::var_os("RARE").is_some() {
        rare_corpus()
    } else {
        corpus(10_000)
    };
    let lines: Vec<Vec<u8>> = all
        .into_iter()
        .filter(|l| l.starts_with(only.as_bytes()))
        .collect();
    let opts = ParseOptions::strict();
    for _ in 0..reps {
        for l in &lines {
            match which {
                "esmtp" => {
                    black_box(Command::parse(black_box(l), &opts).ok());
                }
                _ => {
                    black_box(smtp_proto::Request::parse(&mut black_box(l).iter()).ok());
                }
            }
        }
    }
    eprintln!("parsed {} lines {reps} times", lines.len());
}

fn main() {
    if let Ok(which) = std::env::var("CALLGRIND") {
        callgrind(&which);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
