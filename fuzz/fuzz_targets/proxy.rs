//! PROXY protocol headers (HAProxy's "The PROXY protocol", §2.1 and §2.2):
//! arbitrary bytes never panic; a header that parses is written back — a
//! version 2 header octet for octet, a version 1 line in its canonical
//! form — and reads back the same (`parse(write(x)) == x`); every strict
//! prefix of it is incomplete; the length limit holds (a version 2 header
//! announcing more is refused from its first 16 octets, whatever follows).
#![no_main]

use esmtp::proxy::{
    ProxyError, ProxyHeader, ProxyOptions, ProxyVersion, ProxyVersions, DEFAULT_MAX_LEN,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let versions = match mode % 3 {
        0 => ProxyVersions::V1,
        1 => ProxyVersions::V2,
        _ => ProxyVersions::Any,
    };
    let max_len = match (mode >> 2) % 4 {
        0 => 16,
        1 => 107,
        2 => DEFAULT_MAX_LEN,
        _ => 70_000,
    };
    let opts = ProxyOptions::new(versions).with_max_len(max_len);
    let any = ProxyOptions::new(ProxyVersions::Any).with_max_len(70_000);
    match ProxyHeader::parse(input, &opts) {
        Ok((header, used)) => {
            assert!(used > 0 && used <= input.len() && used <= max_len);
            let version = if input[0] == b'P' {
                ProxyVersion::V1
            } else {
                ProxyVersion::V2
            };
            let wire = header
                .to_bytes(version)
                .unwrap_or_else(|e| panic!("{header:?} parsed but cannot be written: {e}"));
            if version == ProxyVersion::V2 {
                assert_eq!(wire, &input[..used], "version 2 is written octet for octet");
            }
            let (again, n) = ProxyHeader::parse(&wire, &any)
                .unwrap_or_else(|e| panic!("{header:?} wrote {wire:?}: {e}"));
            assert_eq!(n, wire.len());
            assert_eq!(again, header);
            // Every strict prefix is incomplete (all of them for a short
            // header, a sample for a long one).
            let step = (used / 64).max(1);
            for n in (0..used).step_by(step).chain([used - 1]) {
                assert_eq!(
                    ProxyHeader::parse(&input[..n], &opts),
                    Err(ProxyError::Incomplete),
                    "prefix of {n}"
                );
            }
        }
        Err(ProxyError::Incomplete) => {
            // Only a prefix shorter than the limit is waited for.
            assert!(input.len() < max_len.max(16), "{} octets held", input.len());
        }
        Err(ProxyError::TooLong { len, limit }) => {
            assert!(limit <= max_len && len >= limit);
            // Refused from what was read: the same from its first 16
            // octets (version 2) or its first `limit` (version 1).
            let head = &input[..input.len().min(limit.max(16))];
            assert!(matches!(
                ProxyHeader::parse(head, &opts),
                Err(ProxyError::TooLong { .. })
            ));
        }
        Err(_) => {}
    }
});
