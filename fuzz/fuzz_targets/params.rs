//! MAIL and RCPT parameter lists from arbitrary bytes: parsing never
//! panics, and whatever parses is written back to a form that parses to
//! the same value (`parse(write(x)) == x`), under every option set.
#![no_main]

use esmtp::params::{MailParams, RcptParams};
use esmtp::ParseOptions;
use libfuzzer_sys::fuzz_target;

/// The written list without its leading SP, as the command parser hands
/// it over.
fn strip(mut out: Vec<u8>) -> Vec<u8> {
    if !out.is_empty() {
        assert_eq!(out[0], b' ');
        out.remove(0);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options; the rest is the parameter list.
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let base = if sel & 1 == 0 {
        ParseOptions::strict()
    } else {
        ParseOptions::lenient()
    };
    let opts = base.with_utf8(sel & 2 != 0);

    if let Ok(p) = MailParams::parse(input, &opts) {
        let mut out = Vec::new();
        p.write_to(&mut out);
        let out = strip(out);
        assert_eq!(MailParams::parse(&out, &opts).as_ref(), Ok(&p));
        assert_eq!(p.is_empty(), out.is_empty());
    }
    if let Ok(p) = RcptParams::parse(input, &opts) {
        let mut out = Vec::new();
        p.write_to(&mut out);
        let out = strip(out);
        assert_eq!(RcptParams::parse(&out, &opts).as_ref(), Ok(&p));
        assert_eq!(p.is_empty(), out.is_empty());
    }
});
