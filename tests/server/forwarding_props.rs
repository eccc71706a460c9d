//! Properties of what deployed MTAs speak beyond the registry: PROXY
//! protocol headers (HAProxy's "The PROXY protocol", §2.1, §2.2), XCLIENT
//! and XFORWARD commands (Postfix's XCLIENT_README, XFORWARD_README),
//! custom EHLO keywords (RFC 5321 §4.1.1.1): `parse(write(x)) == x`,
//! every strict prefix of a header is incomplete, arbitrary input never
//! panics.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use esmtp::command::Command;
use esmtp::ext::custom::CustomCapability;
use esmtp::ext::xclient::{Attr, AttrNames, Proto, Xclient};
use esmtp::ext::xforward::{Source, Xforward};
use esmtp::proxy::{
    ProxyAddresses, ProxyCommand, ProxyError, ProxyHeader, ProxyOptions, ProxyVersion,
    ProxyVersions, SslInfo, SslTlv, Tlv, Transport, UnixAddress,
};
use esmtp::EncodeError;
use esmtp::ParseOptions;
use proptest::prelude::*;

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![Just(Transport::Stream), Just(Transport::Datagram)]
}

fn v4() -> impl Strategy<Value = SocketAddrV4> {
    (any::<u32>(), any::<u16>()).prop_map(|(ip, port)| SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn v6() -> impl Strategy<Value = SocketAddrV6> {
    (any::<u128>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0))
}

fn unix() -> impl Strategy<Value = UnixAddress> {
    proptest::collection::vec(any::<u8>(), 108).prop_map(|v| {
        let mut raw = [0u8; 108];
        raw.copy_from_slice(&v);
        UnixAddress::from_raw(raw)
    })
}

fn addresses() -> impl Strategy<Value = ProxyAddresses> {
    prop_oneof![
        Just(ProxyAddresses::Unspecified),
        (transport(), v4(), v4()).prop_map(|(transport, source, destination)| {
            ProxyAddresses::Ipv4 {
                transport,
                source,
                destination,
            }
        }),
        (transport(), v6(), v6()).prop_map(|(transport, source, destination)| {
            ProxyAddresses::Ipv6 {
                transport,
                source,
                destination,
            }
        }),
        (transport(), unix(), unix()).prop_map(|(transport, source, destination)| {
            ProxyAddresses::Unix {
                transport,
                source,
                destination,
            }
        }),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn ssl_tlv() -> impl Strategy<Value = SslTlv> {
    prop_oneof![
        ".{0,12}".prop_map(SslTlv::Version),
        ".{0,12}".prop_map(SslTlv::Cn),
        ".{0,12}".prop_map(SslTlv::Cipher),
        ".{0,12}".prop_map(SslTlv::SigAlg),
        ".{0,12}".prop_map(SslTlv::KeyAlg),
        ".{0,12}".prop_map(SslTlv::Group),
        ".{0,12}".prop_map(SslTlv::SigScheme),
        bytes(40).prop_map(SslTlv::ClientCert),
        (0x29u8..=0xff, bytes(8)).prop_map(|(kind, value)| SslTlv::Other { kind, value }),
    ]
}

fn tlv() -> impl Strategy<Value = Tlv> {
    prop_oneof![
        bytes(16).prop_map(Tlv::Alpn),
        ".{0,20}".prop_map(Tlv::Authority),
        bytes(8).prop_map(Tlv::Noop),
        bytes(129).prop_map(Tlv::UniqueId),
        (
            any::<u8>(),
            any::<u32>(),
            proptest::collection::vec(ssl_tlv(), 0..4)
        )
            .prop_map(|(c, v, t)| Tlv::Ssl(SslInfo::new(c, v, t))),
        "[a-z]{0,10}".prop_map(Tlv::Netns),
        (prop_oneof![0x06u8..=0x1f, 0x31u8..=0xff], bytes(12))
            .prop_map(|(kind, value)| Tlv::Other { kind, value }),
    ]
}

fn v2_header() -> impl Strategy<Value = ProxyHeader> {
    (
        prop_oneof![Just(ProxyCommand::Local), Just(ProxyCommand::Proxy)],
        addresses(),
        proptest::collection::vec(tlv(), 0..5),
        any::<bool>(),
        0usize..6,
    )
        .prop_map(|(command, addresses, mut tlvs, crc, at)| {
            if crc {
                let at = at.min(tlvs.len());
                tlvs.insert(at, Tlv::Crc32c);
            }
            let mut h = match command {
                ProxyCommand::Local => ProxyHeader::local(),
                ProxyCommand::Proxy => ProxyHeader::proxied(ProxyAddresses::Unspecified),
            };
            h.addresses = addresses;
            h.tlvs = tlvs;
            h
        })
}

fn v1_header() -> impl Strategy<Value = ProxyHeader> {
    prop_oneof![
        Just(ProxyAddresses::Unspecified),
        (v4(), v4()).prop_map(|(source, destination)| ProxyAddresses::Ipv4 {
            transport: Transport::Stream,
            source,
            destination,
        }),
        (v6(), v6()).prop_map(|(source, destination)| ProxyAddresses::Ipv6 {
            transport: Transport::Stream,
            source,
            destination,
        }),
    ]
    .prop_map(ProxyHeader::proxied)
}

fn big() -> ProxyOptions {
    ProxyOptions::new(ProxyVersions::Any).with_max_len(70_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// §2.2: every header version 2 can carry reads back as written, with
    /// its checksum (§2.2.3) verified; every strict prefix is incomplete.
    #[test]
    fn v2_round_trip_and_prefixes(h in v2_header(), tail in bytes(8)) {
        let wire = match h.to_bytes(ProxyVersion::V2) {
            Ok(w) => w,
            // A UNIQUE_ID over 128 octets is refused when written.
            Err(_) => return Ok(()),
        };
        let mut input = wire.clone();
        input.extend_from_slice(&tail);
        prop_assert_eq!(ProxyHeader::parse(&input, &big()), Ok((h, wire.len())));
        for n in 0..wire.len() {
            prop_assert_eq!(ProxyHeader::parse(&wire[..n], &big()), Err(ProxyError::Incomplete));
        }
    }

    /// §2.1: every line version 1 can carry reads back as written; every
    /// strict prefix is incomplete.
    #[test]
    fn v1_round_trip_and_prefixes(h in v1_header()) {
        let wire = h.to_bytes(ProxyVersion::V1).unwrap();
        prop_assert!(wire.len() <= esmtp::proxy::V1_MAX_LEN);
        let opts = ProxyOptions::new(ProxyVersions::V1);
        prop_assert_eq!(ProxyHeader::parse(&wire, &opts), Ok((h, wire.len())));
        for n in 0..wire.len() {
            prop_assert_eq!(ProxyHeader::parse(&wire[..n], &opts), Err(ProxyError::Incomplete));
        }
    }

    /// No input panics; whatever parses writes back to the octets it used
    /// (v2) or to a line that parses the same (v1, canonical form).
    #[test]
    fn arbitrary_input_never_panics(input in bytes(300), v2 in any::<bool>()) {
        let mut wire = if v2 { esmtp::proxy::V2_SIGNATURE.to_vec() } else { b"PROXY ".to_vec() };
        wire.extend_from_slice(&input);
        for candidate in [&wire[..], &input[..]] {
            if let Ok((h, used)) = ProxyHeader::parse(candidate, &big()) {
                prop_assert!(used <= candidate.len());
                let version = if candidate[0] == b'P' { ProxyVersion::V1 } else { ProxyVersion::V2 };
                let again = h.to_bytes(version).unwrap();
                prop_assert_eq!(ProxyHeader::parse(&again, &big()).unwrap().0, h);
            }
        }
    }
}

fn host() -> impl Strategy<Value = Cow<'static, str>> {
    "[a-zA-Z0-9._-]{1,40}".prop_map(Cow::Owned)
}

fn word() -> impl Strategy<Value = Cow<'static, str>> {
    "[!-~]{1,30}"
        .prop_filter("a no-value word", |s| {
            !s.eq_ignore_ascii_case("[UNAVAILABLE]") && !s.eq_ignore_ascii_case("[TEMPUNAVAIL]")
        })
        .prop_map(Cow::Owned)
}

fn login() -> impl Strategy<Value = Cow<'static, str>> {
    "[ -~é用]{1,20}"
        .prop_filter("a no-value word", |s| {
            !s.eq_ignore_ascii_case("[UNAVAILABLE]")
        })
        .prop_map(Cow::Owned)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|ip| IpAddr::V4(Ipv4Addr::from(ip))),
        any::<u128>().prop_map(|ip| IpAddr::V6(Ipv6Addr::from(ip))),
    ]
}

fn attr<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
    temp: bool,
) -> impl Strategy<Value = Option<Attr<T>>> {
    let temp = if temp { 1 } else { 0 };
    proptest::option::of(prop_oneof![
        4 => value.prop_map(Attr::Value),
        1 => Just(Attr::Unavailable),
        temp => Just(Attr::TempUnavailable),
    ])
}

fn xclient() -> impl Strategy<Value = Xclient<'static>> {
    (
        (attr(host(), true), attr(host(), true), attr(ip(), false)),
        (
            attr(any::<u16>(), false),
            attr(prop_oneof![Just(Proto::Smtp), Just(Proto::Esmtp)], false),
            attr(word(), false),
        ),
        (
            attr(login(), false),
            attr(ip(), false),
            attr(any::<u16>(), false),
        ),
    )
        .prop_map(
            |((name, reverse_name, addr), (port, proto, helo), (login, dest_addr, dest_port))| {
                let mut x = Xclient::default();
                x.name = name;
                x.reverse_name = reverse_name;
                x.addr = addr;
                x.port = port;
                x.proto = proto;
                x.helo = helo;
                x.login = login;
                x.dest_addr = dest_addr;
                x.dest_port = dest_port;
                x
            },
        )
}

fn xforward() -> impl Strategy<Value = Xforward<'static>> {
    (
        (
            attr(host(), false),
            attr(ip(), false),
            attr(any::<u16>(), false),
        ),
        (
            attr(word(), false),
            attr(word(), false),
            attr(word(), false),
            attr(
                prop_oneof![Just(Source::Local), Just(Source::Remote)],
                false,
            ),
        ),
    )
        .prop_map(|((name, addr, port), (proto, helo, ident, source))| {
            let mut x = Xforward::default();
            x.name = name;
            x.addr = addr;
            x.port = port;
            x.proto = proto;
            x.helo = helo;
            x.ident = ident;
            x.source = source;
            x
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// XCLIENT_README: every command the writer accepts parses back to
    /// itself, strictly; it refuses only an empty one. What a client sends
    /// also stays within 512 octets, or is refused as too long.
    #[test]
    fn xclient_round_trip(x in xclient()) {
        let cmd = Command::Xclient(Box::new(x.clone()));
        match cmd.to_bytes() {
            Ok(wire) => {
                let (back, used) = Command::parse(&wire, &ParseOptions::strict()).unwrap();
                prop_assert_eq!(used, wire.len());
                prop_assert_eq!(back, cmd);
                match x.check_for_sending() {
                    Ok(()) => prop_assert!(wire.len() <= 512),
                    Err(e) => prop_assert!(matches!(e, EncodeError::TooLong { .. }), "{}", e),
                }
            }
            Err(e) => prop_assert!(x.names() == AttrNames::EMPTY, "{}", e),
        }
    }

    /// XFORWARD_README: likewise.
    #[test]
    fn xforward_round_trip(x in xforward()) {
        let cmd = Command::Xforward(Box::new(x.clone()));
        if let Ok(wire) = cmd.to_bytes() {
            prop_assert!(wire.len() <= 512);
            let (back, used) = Command::parse(&wire, &ParseOptions::strict()).unwrap();
            prop_assert_eq!(used, wire.len());
            prop_assert_eq!(back, cmd);
        } else {
            prop_assert_eq!(x.names(), AttrNames::EMPTY);
        }
    }

    /// RFC 5321 §4.1.1.1: a custom keyword line reads back from an EHLO
    /// reply with its parameters.
    #[test]
    fn custom_capability_round_trip(kw in "X-[A-Z0-9]{1,10}", params in proptest::collection::vec("[!-~]{1,10}", 0..4)) {
        let c = CustomCapability::new(&kw, &params).unwrap();
        let mut caps = esmtp::ehlo::Capabilities::new("mx.example.org").unwrap();
        caps.add_unknown(c.as_str()).unwrap();
        let reply = caps.to_reply().unwrap();
        let back = esmtp::ehlo::Capabilities::from_reply(&reply).unwrap();
        let joined = params.join(" ");
        prop_assert_eq!(back.unknown_keyword(&kw), Some(joined.as_str()));
    }
}
