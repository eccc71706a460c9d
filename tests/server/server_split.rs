//! However the client's bytes are split into reads, the server transmits
//! the same bytes and reports the same events and content (RFC 2920: a
//! server may not depend on read boundaries).

use crate::support;

use proptest::prelude::*;
use support::{assert_well_formed, config, Driver};

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
