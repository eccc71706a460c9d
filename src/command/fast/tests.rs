//! The fast path against the general parser: same value, same error, on
//! the corpus and on arbitrary lines.

use super::*;
use crate::options::Strictness;

fn general<'a>(
    input: &'a [u8],
    opts: &ParseOptions,
) -> Result<(Command<'a>, usize), crate::error::DecodeError> {
    let (line, used) = crate::octets::line::frame_line(input, opts.max_line, opts.lenient_mode())?;
    super::super::parse::parse_framed(line, used, opts)
}

fn all_opts() -> Vec<ParseOptions> {
    let mut v = Vec::new();
    for s in [Strictness::Strict, Strictness::Lenient] {
        for u in [false, true] {
            for m in [4096, 12, 40] {
                v.push(
                    ParseOptions::strict()
                        .with_strictness(s)
                        .with_utf8(u)
                        .with_max_line(m),
                );
            }
        }
    }
    v
}

fn check(line: &[u8]) {
    for opts in all_opts() {
        if let Some((f, used)) = scan(line, &opts) {
            let fast = f.build(used);
            assert_eq!(
                Ok(fast),
                general(line, &opts),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

#[test]
fn fast_path_takes_the_corpus_lines() {
    let opts = ParseOptions::strict();
    for l in [
        &b"DATA\r\n"[..],
        b"rset\r\n",
        b"EHLO client1.example.org\r\n",
        b"MAIL FROM:<sender@example.org> SIZE=12345 BODY=8BITMIME\r\n",
        b"MAIL FROM:<>\r\n",
        b"RCPT TO:<a.b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a.b@example.net\r\n",
        b"RCPT TO:<a@b>\r\n",
    ] {
        assert!(scan(l, &opts).is_some(), "{:?}", String::from_utf8_lossy(l));
        check(l);
    }
}

#[test]
fn fast_path_matches_general_on_edge_cases() {
    for l in [
        &b"DATA \r\n"[..],
        b"DATA\n",
        b"DATA\r",
        b"DAT1\r\n",
        b"EHLO -a.org\r\n",
        b"EHLO a-.org\r\n",
        b"EHLO a..org\r\n",
        b"EHLO a.org.\r\n",
        b"EHLO a.org \r\n",
        b"RCPT TO:<.a@b>\r\n",
        b"RCPT TO:<a.@b>\r\n",
        b"RCPT TO:<a..b@c>\r\n",
        b"RCPT TO:<@b>\r\n",
        b"RCPT TO:<a@>\r\n",
        b"RCPT TO:<a@b> \r\n",
        b"RCPT TO:<a@b>  NOTIFY=NEVER\r\n",
        b"RCPT TO:<a@b> NOTIFY=NEVER\r\n",
        b"RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS\r\n",
        b"RCPT TO:<a@b> NOTIFY=SUCCESS,SUCCESS\r\n",
        b"RCPT TO:<a@b> NOTIFY=SUCCESS,\r\n",
        b"RCPT TO:<a@b> NOTIFY=delay,failure\r\n",
        b"RCPT TO:<a@b> notify=Delay ORCPT=RFC822;x\r\n",
        b"RCPT TO:<a@b> ORCPT=rfc822;\r\n",
        b"RCPT TO:<a@b> ORCPT=rfc822;a+2Bb\r\n",
        b"RCPT TO:<a@b> ORCPT=rfc822;a=b\r\n",
        b"RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER\r\n",
        b"RCPT TO:<a@b>\n",
        b"rcpt to:<a@b>\r\n",
        b"RCPT TO: <a@b>\r\n",
        b"MAIL FROM:<a@b> SIZE=\r\n",
        b"MAIL FROM:<a@b> SIZE=99999999999999999999\r\n",
        b"MAIL FROM:<a@b> SIZE=18446744073709551615\r\n",
        b"MAIL FROM:<a@b> SIZE=18446744073709551616\r\n",
        b"MAIL FROM:<a@b> SIZE=1x\r\n",
        b"MAIL FROM:<a@b> BODY=7bit SIZE=0\r\n",
        b"MAIL FROM:<a@b> BODY=8BITMIMEX\r\n",
        b"mail from:<> body=8bitmime\r\n",
    ] {
        check(l);
    }
    // Limits: 64-octet local part, 63-octet label, 256-octet path.
    let l64 = "a".repeat(64);
    let l65 = "a".repeat(65);
    let lab63 = "b".repeat(63);
    let lab64 = "b".repeat(64);
    for (local, dom) in [
        (&l64, format!("{lab63}.org")),
        (&l65, "x.org".to_string()),
        (&l64, format!("{lab64}.org")),
        (&l64, format!("{lab63}.{lab63}.{lab63}.c")),
        (&l64, format!("{lab63}.{lab63}.{lab63}.cd")),
        (&l64, format!("{lab63}.{lab63}.{lab63}.{lab63}")),
    ] {
        check(format!("RCPT TO:<{local}@{dom}>\r\n").as_bytes());
        check(format!("MAIL FROM:<{local}@{dom}>\r\n").as_bytes());
        check(format!("EHLO {dom}\r\n").as_bytes());
    }
}

/// The eight-at-a-time classifiers agree with the class table on the
/// first octet they flag, for every octet value in every position.
#[test]
fn word_classifiers_match_the_table() {
    for pos in 0..8 {
        for b in 0..=255u8 {
            for fill in [b'a', b'Z', b'5', b'!', b'~'] {
                let mut a = [fill; 8];
                a[pos] = b;
                let w = u64::from_le_bytes(a);
                let first = |f: &dyn Fn(u8) -> bool| a.iter().position(|&c| f(c)).map_or(8, |p| p);
                let tz = |m: u64| {
                    if m == 0 {
                        8
                    } else {
                        (m.trailing_zeros() / 8) as usize
                    }
                };
                assert_eq!(
                    tz(non_alnum(w)),
                    first(&|c| !c.is_ascii_alphanumeric()),
                    "{a:?}"
                );
                assert_eq!(tz(non_xchar(w)), first(&|c| cls(c) & XCHAR == 0), "{a:?}");
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

    /// The same on arbitrary words.
    #[test]
    fn word_classifiers_on_any_word(a: [u8; 8]) {
        let w = u64::from_le_bytes(a);
        let tz = |m: u64| if m == 0 { 8 } else { (m.trailing_zeros() / 8) as usize };
        let first = |f: &dyn Fn(u8) -> bool| a.iter().position(|&c| f(c)).map_or(8, |p| p);
        proptest::prop_assert_eq!(tz(non_alnum(w)), first(&|c| !c.is_ascii_alphanumeric()));
        proptest::prop_assert_eq!(tz(non_xchar(w)), first(&|c| cls(c) & XCHAR == 0));
    }

    /// Whatever the fast path accepts, the general parser reads the
    /// same way, under every option set.
    #[test]
    fn differential(
        verb in "(RCPT TO:<|rcpt to:<|MAIL FROM:<|Mail From:<|EHLO |HELO |DATA|QUIT|NOOP|RSET)",
        path in "[a-zA-Z0-9.@\\-_\"+>]{0,24}",
        params in "( (NOTIFY|notify|ORCPT|SIZE|BODY|X)=[a-zA-Z0-9,;.@+=\\-]{0,20}){0,3}",
        end in "(\r\n|\n| \r\n|\r|)",
    ) {
        check(format!("{verb}{path}{params}{end}").as_bytes());
    }

    #[test]
    fn differential_structured(
        verb in "(RCPT TO:<|MAIL FROM:<)",
        local in "[a-z0-9.!#-]{0,8}",
        domain in "[a-z0-9.-]{0,12}",
        params in "( (NOTIFY=(SUCCESS|FAILURE|DELAY|NEVER)(,(SUCCESS|FAILURE|DELAY|NEVER)){0,2}|ORCPT=rfc822;[a-z@.+]{0,6}|SIZE=[0-9]{0,3}|BODY=(7BIT|8BITMIME|9BIT))){0,3}",
    ) {
        check(format!("{verb}{local}@{domain}>{params}\r\n").as_bytes());
        check(format!("EHLO {domain}\r\n").as_bytes());
    }
}
