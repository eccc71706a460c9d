//! However the client's bytes are split into reads, the server transmits
//! the same bytes and reports the same events and content (RFC 2920: a
//! server may not depend on read boundaries).

use crate::support;

use esmtp::data::BarePolicy;
use proptest::prelude::*;
use support::{assert_well_formed, config, Driver, Logged};

/// A whole pipelined session: several transactions, DATA with dot-stuffed
/// lines, BDAT chunks, errors, all in one stream.
fn session(bodies: &[Vec<Vec<u8>>], chunk: &[u8]) -> Vec<u8> {
    let mut s = b"EHLO client.example\r\n".to_vec();
    for lines in bodies {
        s.extend_from_slice(b"MAIL FROM:<a@b.example> BODY=8BITMIME\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\n");
        for line in lines {
            // Dot-stuff as a client must (RFC 5321 §4.5.2).
            if line.first() == Some(&b'.') {
                s.push(b'.');
            }
            s.extend_from_slice(line);
            s.extend_from_slice(b"\r\n");
        }
        s.extend_from_slice(b".\r\nNOOP\r\n");
    }
    s.extend_from_slice(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    s.extend_from_slice(format!("BDAT {}\r\n", chunk.len()).as_bytes());
    s.extend_from_slice(chunk);
    s.extend_from_slice(b"BDAT 3 LAST\r\n.\r\nFROB\r\nVRFY x\r\nQUIT\r\n");
    s
}

fn run(input: &[u8], cuts: &[usize]) -> Driver {
    let mut d = Driver::new(config());
    let mut at = 0;
    for &cut in cuts {
        let cut = cut.min(input.len());
        if cut > at {
            d.send(&input[at..cut]);
            at = cut;
        }
    }
    d.send(&input[at..]);
    d
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(b'.'), Just(b'a'), Just(b' '), Just(b'\t')],
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_split_gives_the_same_session(
        bodies in proptest::collection::vec(proptest::collection::vec(line(), 0..6), 1..4),
        chunk in proptest::collection::vec(any::<u8>(), 0..40),
        mut cuts in proptest::collection::vec(any::<usize>(), 0..24),
    ) {
        let input = session(&bodies, &chunk);
        let whole = run(&input, &[]);
        let len = input.len();
        for c in cuts.iter_mut() {
            *c %= len + 1;
        }
        cuts.sort_unstable();
        let split = run(&input, &cuts);
        prop_assert_eq!(&split.wire, &whole.wire);
        prop_assert_eq!(&split.log, &whole.log);
        assert_well_formed(&whole.wire);
        prop_assert!(whole.server.is_closed());
        // The BDAT message ends only if its text has no bare CR, LF or NUL
        // (RFC 3030 §3, the default policy).
        let text = [&chunk[..], b".\r\n"].concat();
        let clean = !text.contains(&0)
            && text.iter().enumerate().all(|(i, &b)| match b {
                b'\r' => text.get(i + 1) == Some(&b'\n'),
                b'\n' => i > 0 && text[i - 1] == b'\r',
                _ => true,
            });
        prop_assert_eq!(whole.count("MessageEnd"), bodies.len() + usize::from(clean));
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_session() {
    let bodies = vec![
        vec![b".".to_vec(), b"..a".to_vec(), b"".to_vec(), b"a.".to_vec()],
        vec![],
        vec![b"x".to_vec(); 3],
    ];
    let chunk = b"\r\n.\r\nQUIT\r\n\n.\n";
    let input = session(&bodies, chunk);
    let whole = run(&input, &[]);
    let cuts: Vec<usize> = (1..input.len()).collect();
    let split = run(&input, &cuts);
    assert_eq!(
        String::from_utf8_lossy(&split.wire),
        String::from_utf8_lossy(&whole.wire)
    );
    assert_eq!(split.log, whole.log);
    assert_eq!(
        whole.contents(),
        [
            b".\r\n..a\r\n\r\na.\r\n".to_vec(),
            b"x\r\nx\r\nx\r\n".to_vec(),
            // The BDAT text stops before its bare LF (RFC 3030 §3: only
            // BINARYMIME may hold one), whatever the reads were.
            b"\r\n.\r\nQUIT\r\n".to_vec(),
        ]
    );
    assert_eq!(whole.count("MessageEnd"), 3);
    assert_eq!(whole.count("MessageAborted"), 1);
    assert_well_formed(&whole.wire);
}

/// `log` without the content of aborted messages.
fn completed(log: &[Logged]) -> Vec<Logged> {
    let aborted =
        |l: Option<&Logged>| matches!(l, Some(Logged::Event(e)) if e.starts_with("MessageAborted"));
    log.iter()
        .enumerate()
        .filter(|(i, l)| !(matches!(l, Logged::Content(_)) && aborted(log.get(i + 1))))
        .map(|(_, l)| l.clone())
        .collect()
}

/// A content line for the large-read tests: mostly plain text, sometimes
/// long (past the 1000-octet limit of RFC 5321 §4.5.3.1.6), with a dot, a
/// bare CR or LF, or a NUL somewhere (RFC 5321 §2.3.8).
fn big_line() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..1100,
        prop_oneof![
            8 => Just(&b""[..]),
            1 => Just(&b"."[..]),
            1 => Just(&b"\n"[..]),
            1 => Just(&b"\r"[..]),
            1 => Just(&b"\0"[..]),
            1 => Just(&b"\r\n."[..]),
            1 => Just(&b"\r\n.\r"[..]),
        ],
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(len, defect, at, dot)| {
            let len = if len > 900 && len % 7 != 0 {
                len % 90
            } else {
                len
            };
            let mut l = vec![b'x'; len];
            let at = at.index(len + 1);
            l.splice(at..at, defect.iter().copied());
            if dot {
                l.insert(0, b'.');
            }
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A read of 32 KiB or more during DATA is decoded as it is copied
    /// (`Server::receive`); the session is the same as when the same
    /// octets arrive in shorter reads, which take the general path, with
    /// and without a SIZE limit (RFC 1870 §6) that the message passes,
    /// and with bare CR and LF rejected (the default) or let through
    /// (RFC 5321 §2.3.8), which hands out the CR of `CRLF "." CR x`.
    #[test]
    fn large_reads_give_the_same_session(
        bodies in proptest::collection::vec(proptest::collection::vec(big_line(), 20..160), 1..3),
        read in 500usize..20_000,
        cap in prop::option::of(20_000u64..120_000),
        allow_bare in any::<bool>(),
    ) {
        let input = session(&bodies, b"abc");
        let cfg = || {
            let mut c = config();
            if cap.is_some() {
                c.limits.message_size = cap;
            }
            if allow_bare {
                c.bare_line_endings = BarePolicy::Allow;
            }
            c
        };
        // Up to the first DATA, then the rest (the content onwards) in
        // one read, in reads of the piece the server decodes at a time
        // (the same cuts, through the general path), and in other reads.
        let at = input.windows(6).position(|w| w == b"DATA\r\n").unwrap() + 6;
        let drive = |read: usize| {
            let mut d = Driver::new(cfg());
            d.send(&input[..at]);
            d.send_in(&input[at..], read);
            d
        };
        let whole = drive(input.len());
        let pieces = drive(16 * 1024);
        prop_assert_eq!(&pieces.wire, &whole.wire);
        // A whole read of 32 KiB or more checks its first message where
        // the pieces end, so even an aborted message hands out the same
        // content before `MessageAborted` (what follows its end is
        // buffered and read as before). A shorter whole read is checked
        // in runs of up to 64 KiB, and hands out less of a line that is
        // too long across a 16 KiB edge.
        let first = |log: &[Logged]| {
            let end = log.iter().position(|l| {
                matches!(l, Logged::Event(e) if e.starts_with("MessageEnd") || e.starts_with("MessageAborted"))
            });
            log[..end.map_or(log.len(), |i| i + 1)].to_vec()
        };
        if input.len() - at >= 32 * 1024 {
            prop_assert_eq!(first(&pieces.log), first(&whole.log));
        }
        prop_assert_eq!(completed(&pieces.log), completed(&whole.log));
        // Other cuts may hand out more or less of an aborted message's
        // content before the `MessageAborted` (the decoder checks a run
        // before handing it out); everything else is the same.
        let split = drive(read);
        prop_assert_eq!(&split.wire, &whole.wire);
        prop_assert_eq!(completed(&split.log), completed(&whole.log));
        prop_assert!(whole.server.is_closed());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A large read that comes while an earlier read is still unread (no
    /// event polled in between) is decoded after it, in order: the session
    /// is that of the same octets in one read.
    #[test]
    fn a_large_read_after_unread_input_gives_the_same_session(
        bodies in proptest::collection::vec(proptest::collection::vec(big_line(), 60..160), 1..3),
        unread in 0usize..3000,
    ) {
        let input = session(&bodies, b"abc");
        let at = input.windows(6).position(|w| w == b"DATA\r\n").unwrap() + 6;
        let cut = (at + unread).min(input.len());
        let mut whole = Driver::new(config());
        whole.send(&input[..at]);
        whole.send(&input[at..]);
        let mut late = Driver::new(config());
        late.send(&input[..at]);
        late.server.receive(&input[at..cut]);
        late.send(&input[cut..]);
        prop_assert_eq!(&late.wire, &whole.wire);
        prop_assert_eq!(completed(&late.log), completed(&whole.log));
    }
}

#[test]
fn a_large_read_ends_the_message_and_reads_the_commands_after_it_rfc5321_4_1_1_4() {
    let body = vec![vec![b"y".repeat(76); 1000]];
    let input = session(&body, b"");
    assert!(input.len() > 64 * 1024);
    let at = input.windows(6).position(|w| w == b"DATA\r\n").unwrap() + 6;
    let mut d = Driver::new(config());
    d.send(&input[..at]);
    d.send(&input[at..]);
    assert_eq!(d.count("MessageEnd"), 2);
    assert_eq!(d.contents()[0].len(), 78 * 1000);
    assert!(d.server.is_closed());
}
