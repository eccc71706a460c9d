//! Properties of MAIL/RCPT parameter lists: `parse(write(x)) == x` for
//! arbitrary typed values, no panic on arbitrary bytes, and
//! case-insensitive keywords (RFC 5321 §2.4, RFC 5321 §2.4).

use crate::strategies;

use esmtp::params::{MailParams, RcptParams};
use esmtp::ParseOptions;
use proptest::prelude::*;
use strategies::*;

/// The written list without its leading SP, as the command parser hands
/// it over.
fn wire(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    if !out.is_empty() {
        assert_eq!(out[0], b' ');
        out.remove(0);
    }
    out
}

/// Flips the case of keyword letters (the text before `=`, or a whole
/// flag), chosen by `seed`, leaving values alone.
fn flip_keyword_case(line: &[u8], seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut in_keyword = true;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b' ' => in_keyword = true,
            b'=' if in_keyword => in_keyword = false,
            _ => {}
        }
        let flip = in_keyword && (seed >> (i % 64)) & 1 == 1;
        out.push(if flip {
            if b.is_ascii_uppercase() {
                b.to_ascii_lowercase()
            } else {
                b.to_ascii_uppercase()
            }
        } else {
            b
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mail_params_round_trip(p in mail_params(), o in opts()) {
        let line = wire(|out| p.write_to(out));
        let parsed = MailParams::parse(&line, &o);
        prop_assert_eq!(parsed.as_ref(), Ok(&p), "{}", String::from_utf8_lossy(&line));
        prop_assert_eq!(p.is_empty(), line.is_empty());
    }

    #[test]
    fn rcpt_params_round_trip(p in rcpt_params(), o in opts()) {
        let line = wire(|out| p.write_to(out));
        let parsed = RcptParams::parse(&line, &o);
        prop_assert_eq!(parsed.as_ref(), Ok(&p), "{}", String::from_utf8_lossy(&line));
        prop_assert_eq!(p.is_empty(), line.is_empty());
    }

    #[test]
    fn written_form_is_canonical(p in mail_params()) {
        // Writing what was parsed gives back the same bytes.
        let line = wire(|out| p.write_to(out));
        let again = MailParams::parse(&line, &ParseOptions::strict()).unwrap();
        prop_assert_eq!(wire(|out| again.write_to(out)), line);
    }

    #[test]
    fn mail_keywords_are_case_insensitive(mut p in mail_params(), seed in any::<u64>()) {
        p.extras_mut().other.clear();
        let line = wire(|out| p.write_to(out));
        let flipped = flip_keyword_case(&line, seed);
        prop_assert_eq!(MailParams::parse(&flipped, &ParseOptions::strict()), Ok(p));
    }

    #[test]
    fn rcpt_keywords_are_case_insensitive(mut p in rcpt_params(), seed in any::<u64>()) {
        p.extras_mut().other.clear();
        let line = wire(|out| p.write_to(out));
        let flipped = flip_keyword_case(&line, seed);
        prop_assert_eq!(RcptParams::parse(&flipped, &ParseOptions::strict()), Ok(p));
    }

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200), o in opts()) {
        if let Ok(p) = MailParams::parse(&bytes, &o) {
            let line = wire(|out| p.write_to(out));
            prop_assert_eq!(MailParams::parse(&line, &o), Ok(p));
        }
        if let Ok(p) = RcptParams::parse(&bytes, &o) {
            let line = wire(|out| p.write_to(out));
            prop_assert_eq!(RcptParams::parse(&line, &o), Ok(p));
        }
    }

    #[test]
    fn never_panics_on_parameter_shaped_input(
        parts in prop::collection::vec(
            (
                prop_oneof![
                    Just("SIZE"), Just("BODY"), Just("AUTH"), Just("BY"), Just("RET"),
                    Just("ENVID"), Just("MT-PRIORITY"), Just("HOLDFOR"), Just("HOLDUNTIL"),
                    Just("MTRK"), Just("SUBMITTER"), Just("TRANSID"), Just("SOLICIT"),
                    Just("NOTIFY"), Just("ORCPT"), Just("RRVS"), Just("ALT-ADDRESS"),
                    Just("SMTPUTF8"), Just("X-Y"),
                ],
                prop::option::of("[!-~\u{80}-\u{10ffff}]{0,12}"),
            ),
            0..6,
        ),
        o in opts(),
    ) {
        let line = parts
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        if let Ok(p) = MailParams::parse(line.as_bytes(), &o) {
            let w = wire(|out| p.write_to(out));
            prop_assert_eq!(MailParams::parse(&w, &o), Ok(p));
        }
        if let Ok(p) = RcptParams::parse(line.as_bytes(), &o) {
            let w = wire(|out| p.write_to(out));
            prop_assert_eq!(RcptParams::parse(&w, &o), Ok(p));
        }
    }
}
