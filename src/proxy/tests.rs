//! Unit tables for the PROXY protocol, each citing the section of
//! HAProxy's specification it checks.

use super::*;

fn any() -> ProxyOptions {
    ProxyOptions::new(ProxyVersions::Any)
}

fn v4(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn v6(s: &str) -> SocketAddrV6 {
    s.parse().unwrap()
}

fn tcp4(src: &str, dst: &str) -> ProxyHeader {
    ProxyHeader::proxied(ProxyAddresses::Ipv4 {
        transport: Transport::Stream,
        source: v4(src),
        destination: v4(dst),
    })
}

/// The example of §2.1 and every prefix of it.
#[test]
fn v1_tcp4_line_and_its_prefixes_section_2_1() {
    let wire = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    let (h, used) = ProxyHeader::parse(wire, &any()).unwrap();
    assert_eq!(h, tcp4("192.168.0.1:56324", "192.168.0.11:443"));
    assert_eq!(&wire[used..], b"GET / HTTP/1.1\r\n");
    assert_eq!(h.source(), Some("192.168.0.1:56324".parse().unwrap()));
    assert_eq!(h.destination(), Some("192.168.0.11:443".parse().unwrap()));
    for n in 0..used {
        assert_eq!(
            ProxyHeader::parse(&wire[..n], &any()),
            Err(ProxyError::Incomplete),
            "prefix of {n}"
        );
    }
    assert_eq!(h.to_bytes(ProxyVersion::V1).unwrap(), &wire[..used]);
}

#[test]
fn v1_tcp6_and_unknown_section_2_1() {
    let wire = b"PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n";
    let (h, used) = ProxyHeader::parse(wire, &any()).unwrap();
    assert_eq!(used, wire.len());
    assert_eq!(
        h.addresses,
        ProxyAddresses::Ipv6 {
            transport: Transport::Stream,
            source: v6("[2001:db8::1]:65535"),
            destination: v6("[2001:db8::2]:0"),
        }
    );
    assert_eq!(h.to_bytes(ProxyVersion::V1).unwrap(), wire);
    // UNKNOWN: the rest of the line is ignored, whatever it holds.
    for wire in [
        &b"PROXY UNKNOWN\r\n"[..],
        b"PROXY UNKNOWN ffff:f::f ffff:f::f 65535 65535\r\n",
        b"PROXY UNKNOWN whatever is here\r\n",
    ] {
        let (h, used) = ProxyHeader::parse(wire, &any()).unwrap();
        assert_eq!(used, wire.len());
        assert_eq!(h.addresses, ProxyAddresses::Unspecified);
        assert_eq!(h.command, ProxyCommand::Proxy);
        assert_eq!(h.source(), None);
    }
}

/// §2.1: exact format — one space, canonical numbers, no leading zeros,
/// the family matching the addresses, CRLF and nothing else.
#[test]
fn v1_malformed_lines_are_refused_section_2_1() {
    for wire in [
        &b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n"[..],
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX",
        b"PROXY  TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
        b"PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n",
        b"PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",
        b"PROXY TCP4 192.168.0.256 192.168.0.11 1 443\r\n",
        b"PROXY TCP4 2001:db8::1 192.168.0.11 1 443\r\n",
        b"PROXY TCP6 192.168.0.1 192.168.0.11 1 443\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 1\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 1 2 3\r\n",
        b"PROXY UDP4 192.168.0.1 192.168.0.11 1 2\r\n",
        b"PROXY tcp4 192.168.0.1 192.168.0.11 1 2\r\n",
        b"PROXY \r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
        b"PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n",
        b"PROXX TCP4",
        b"EHLO client.example\r\n",
    ] {
        assert!(
            matches!(
                ProxyHeader::parse(wire, &any()),
                Err(ProxyError::Malformed(_))
            ),
            "{}",
            wire.escape_ascii()
        );
    }
}

/// §2.1: "If the CRLF sequence is not found in the first 107 characters,
/// the receiver should declare the line invalid."
#[test]
fn v1_line_without_crlf_in_107_octets_is_too_long_section_2_1() {
    let mut wire = b"PROXY UNKNOWN ".to_vec();
    wire.resize(106, b'a');
    assert_eq!(
        ProxyHeader::parse(&wire, &any()),
        Err(ProxyError::Incomplete)
    );
    wire.push(b'a');
    assert_eq!(
        ProxyHeader::parse(&wire, &any()),
        Err(ProxyError::TooLong {
            len: 107,
            limit: 107
        })
    );
    // The longest valid line (§2.1's worst case) fits exactly.
    let longest = format!(
        "PROXY UNKNOWN {0} {0} 65535 65535\r\n",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    );
    assert_eq!(longest.len(), 107);
    assert!(ProxyHeader::parse(longest.as_bytes(), &any()).is_ok());
}

/// §2.2: the 16-octet fixed part, then addresses, for TCP over IPv4.
#[test]
fn v2_tcp4_section_2_2() {
    let mut wire = V2_SIGNATURE.to_vec();
    wire.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
    wire.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x00, 0x19]);
    wire.extend_from_slice(b"EHLO");
    let (h, used) = ProxyHeader::parse(&wire, &any()).unwrap();
    assert_eq!(used, 28);
    assert_eq!(h, tcp4("192.0.2.1:56324", "198.51.100.2:25"));
    assert_eq!(h.to_bytes(ProxyVersion::V2).unwrap(), &wire[..28]);
    for n in 0..used {
        assert_eq!(
            ProxyHeader::parse(&wire[..n], &any()),
            Err(ProxyError::Incomplete),
            "prefix of {n}"
        );
    }
}

/// §2.2: LOCAL "must use the real connection endpoints": no source, even
/// with addresses present.
#[test]
fn v2_local_command_has_no_source_section_2_2() {
    let local = ProxyHeader::local().to_bytes(ProxyVersion::V2).unwrap();
    assert_eq!(
        local,
        [&V2_SIGNATURE[..], &[0x20, 0x00, 0x00, 0x00]].concat()
    );
    let (h, _) = ProxyHeader::parse(&local, &any()).unwrap();
    assert_eq!(h.command, ProxyCommand::Local);
    assert_eq!(h.source(), None);
    let mut with_addresses = tcp4("192.0.2.1:1", "192.0.2.2:2");
    with_addresses.command = ProxyCommand::Local;
    let wire = with_addresses.to_bytes(ProxyVersion::V2).unwrap();
    let (h, _) = ProxyHeader::parse(&wire, &any()).unwrap();
    assert_eq!(h, with_addresses);
    assert_eq!(h.source(), None);
    // Version 1 has no LOCAL command.
    assert_eq!(
        ProxyHeader::local().to_bytes(ProxyVersion::V1),
        Err(ProxyEncodeError::NotInV1("the LOCAL command"))
    );
}

#[test]
fn v2_ipv6_udp_and_unix_section_2_2() {
    let headers = [
        ProxyHeader::proxied(ProxyAddresses::Ipv6 {
            transport: Transport::Stream,
            source: v6("[2001:db8::1]:1"),
            destination: v6("[2001:db8::2]:25"),
        }),
        ProxyHeader::proxied(ProxyAddresses::Ipv4 {
            transport: Transport::Datagram,
            source: v4("192.0.2.1:53"),
            destination: v4("192.0.2.2:53"),
        }),
        ProxyHeader::proxied(ProxyAddresses::Unix {
            transport: Transport::Stream,
            source: UnixAddress::new(b"/run/client.sock").unwrap(),
            destination: UnixAddress::new(b"\0abstract").unwrap(),
        }),
    ];
    for (h, len) in headers.iter().zip([16 + 36, 16 + 12, 16 + 216]) {
        let wire = h.to_bytes(ProxyVersion::V2).unwrap();
        assert_eq!(wire.len(), len);
        assert_eq!(ProxyHeader::parse(&wire, &any()).unwrap(), (h.clone(), len));
    }
    let ProxyAddresses::Unix { source, .. } = &headers[2].addresses else {
        unreachable!()
    };
    assert_eq!(source.path(), b"/run/client.sock");
    assert!(UnixAddress::new(&[b'a'; 109]).is_none());
    assert_eq!(
        headers[1].to_bytes(ProxyVersion::V1),
        Err(ProxyEncodeError::NotInV1("UDP"))
    );
}

/// §2.2: a version 2 header whose length field is over the limit is
/// refused from its first 16 octets, never waited for.
#[test]
fn v2_huge_length_is_refused_before_it_is_read_section_2_2() {
    let mut fixed = V2_SIGNATURE.to_vec();
    fixed.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
    assert_eq!(
        ProxyHeader::parse(&fixed, &any()),
        Err(ProxyError::TooLong {
            len: 16 + 65535,
            limit: DEFAULT_MAX_LEN
        })
    );
    // Exactly at the limit is fine; one more octet is not.
    let opts = any().with_max_len(28);
    let h = tcp4("192.0.2.1:1", "192.0.2.2:2");
    let wire = h.to_bytes(ProxyVersion::V2).unwrap();
    assert_eq!(ProxyHeader::parse(&wire, &opts).unwrap().0, h);
    let wire = h
        .clone()
        .with_tlv(Tlv::Noop(Vec::new()))
        .to_bytes(ProxyVersion::V2)
        .unwrap();
    assert_eq!(
        ProxyHeader::parse(&wire[..16], &opts),
        Err(ProxyError::TooLong { len: 31, limit: 28 })
    );
}

/// §2.2: signature, version 2 only, LOCAL or PROXY only, the listed
/// family/transport pairs only, the length covering the addresses.
#[test]
fn v2_malformed_fixed_part_is_refused_early_section_2_2() {
    let cases: [(&[u8], &str); 6] = [
        (b"\r\n\r\n\0\r\nQUIX", "signature"),
        (b"\r\n\r\n\0\r\nQUIT\n\x11", "version 1 nibble"),
        (b"\r\n\r\n\0\r\nQUIT\n\x22", "command 2"),
        (b"\r\n\r\n\0\r\nQUIT\n\x21\x41", "family 4"),
        (b"\r\n\r\n\0\r\nQUIT\n\x21\x13", "transport 3"),
        (b"\r\n\r\n\0\r\nQUIT\n\x21\x10", "INET without transport"),
    ];
    for (wire, why) in cases {
        assert!(
            matches!(
                ProxyHeader::parse(wire, &any()),
                Err(ProxyError::Malformed(_))
            ),
            "{why}"
        );
    }
    // A length shorter than the addresses of the family.
    let mut short = V2_SIGNATURE.to_vec();
    short.extend_from_slice(&[0x21, 0x11, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(matches!(
        ProxyHeader::parse(&short, &any()),
        Err(ProxyError::Malformed(_))
    ));
}

/// §2.2: a receiver may accept only one version.
#[test]
fn versions_not_accepted_are_refused_section_2_2() {
    let v1 = b"PROXY UNKNOWN\r\n";
    let v2 = ProxyHeader::local().to_bytes(ProxyVersion::V2).unwrap();
    let only_v1 = ProxyOptions::new(ProxyVersions::V1);
    let only_v2 = ProxyOptions::new(ProxyVersions::V2);
    assert!(ProxyHeader::parse(v1, &only_v1).is_ok());
    assert!(matches!(
        ProxyHeader::parse(v1, &only_v2),
        Err(ProxyError::Malformed(_))
    ));
    assert!(ProxyHeader::parse(&v2, &only_v2).is_ok());
    assert!(matches!(
        ProxyHeader::parse(&v2, &only_v1),
        Err(ProxyError::Malformed(_))
    ));
}

fn all_tlvs() -> ProxyHeader {
    tcp4("192.0.2.1:1", "192.0.2.2:25")
        .with_tlv(Tlv::Alpn(b"smtp".to_vec()))
        .with_tlv(Tlv::Authority("mx.example.org".into()))
        .with_tlv(Tlv::Crc32c)
        .with_tlv(Tlv::Noop(vec![0; 3]))
        .with_tlv(Tlv::UniqueId(vec![7; 128]))
        .with_tlv(Tlv::Ssl(SslInfo::new(
            SslInfo::CLIENT_SSL | SslInfo::CLIENT_CERT_CONN,
            0,
            vec![
                SslTlv::Version("TLSv1.3".into()),
                SslTlv::Cn("client.example".into()),
                SslTlv::Cipher("TLS_AES_256_GCM_SHA384".into()),
                SslTlv::SigAlg("RSA-SHA256".into()),
                SslTlv::KeyAlg("RSA2048".into()),
                SslTlv::Group("x25519".into()),
                SslTlv::SigScheme("rsa_pss_rsae_sha256".into()),
                SslTlv::ClientCert(vec![0x30, 0x82]),
                SslTlv::Other {
                    kind: 0x2f,
                    value: b"x".to_vec(),
                },
            ],
        )))
        .with_tlv(Tlv::Netns("blue".into()))
        .with_tlv(Tlv::Other {
            kind: 0xe0,
            value: b"custom".to_vec(),
        })
}

/// §2.2.1–§2.2.8: every registered TLV typed, custom ones kept, written
/// back byte for byte.
#[test]
fn v2_tlvs_round_trip_section_2_2_1_to_2_2_8() {
    let h = all_tlvs();
    let wire = h.to_bytes(ProxyVersion::V2).unwrap();
    let opts = any().with_max_len(1024);
    let (parsed, used) = ProxyHeader::parse(&wire, &opts).unwrap();
    assert_eq!(used, wire.len());
    assert_eq!(parsed, h);
    assert_eq!(parsed.authority(), Some("mx.example.org"));
    assert_eq!(parsed.unique_id(), Some(&[7u8; 128][..]));
    let ssl = parsed.ssl().unwrap();
    assert!(ssl.verified_client_certificate());
    assert_eq!(ssl.version(), Some("TLSv1.3"));
    assert_eq!(ssl.common_name(), Some("client.example"));
}

/// §2.2.3: the receiver verifies the checksum; a flipped octet anywhere
/// (addresses, a TLV, the checksum itself) fails the header.
#[test]
fn v2_crc32c_is_verified_section_2_2_3() {
    let h = tcp4("192.0.2.1:1", "192.0.2.2:25").with_tlv(Tlv::Crc32c);
    let wire = h.to_bytes(ProxyVersion::V2).unwrap();
    assert_eq!(ProxyHeader::parse(&wire, &any()).unwrap().0, h);
    for i in 16..wire.len() {
        let mut bad = wire.clone();
        bad[i] ^= 0x01;
        let r = ProxyHeader::parse(&bad, &any());
        assert!(
            matches!(r, Err(ProxyError::Checksum | ProxyError::Malformed(_))),
            "octet {i}: {r:?}"
        );
    }
    // A checksum of another length, or two of them, is malformed.
    let mut three = wire[..28].to_vec();
    three.extend_from_slice(&[0x03, 0x00, 0x03, 1, 2, 3]);
    three[15] = 12 + 6;
    assert!(matches!(
        ProxyHeader::parse(&three, &any()),
        Err(ProxyError::Malformed(_))
    ));
    assert_eq!(
        h.clone().with_tlv(Tlv::Crc32c).to_bytes(ProxyVersion::V2),
        Err(ProxyEncodeError::InvalidTlv("PP2_TYPE_CRC32C twice"))
    );
}

/// §2.2.3's procedure by hand: the CRC of the whole header with the
/// field zeroed, stored in it; the writer produces the same octets.
/// (HAProxy's own checksums are checked by the interop test.)
#[test]
fn v2_crc32c_is_computed_over_the_zeroed_header_section_2_2_3() {
    let mut wire = V2_SIGNATURE.to_vec();
    wire.extend_from_slice(&[0x21, 0x11, 0x00, 0x13]);
    wire.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x19]);
    wire.extend_from_slice(&[0x03, 0x00, 0x04, 0, 0, 0, 0]);
    let crc = crc32c::crc32c(&wire);
    wire[31..35].copy_from_slice(&crc.to_be_bytes());
    let (h, _) = ProxyHeader::parse(&wire, &any()).unwrap();
    assert_eq!(h.to_bytes(ProxyVersion::V2).unwrap(), wire);
}

/// §2.2: TLVs must end with the header; §2.2.5: a unique id of 128 octets
/// at most; the string TLVs are text.
#[test]
fn v2_malformed_tlvs_are_refused_section_2_2() {
    let base = tcp4("192.0.2.1:1", "192.0.2.2:25")
        .to_bytes(ProxyVersion::V2)
        .unwrap();
    let with = |tlv: &[u8]| {
        let mut w = base.clone();
        w.extend_from_slice(tlv);
        let len = u16::try_from(w.len() - 16).unwrap();
        w[14..16].copy_from_slice(&len.to_be_bytes());
        w
    };
    let long_id = [&[0x05, 0x00, 0x81][..], &[0u8; 129]].concat();
    for tlv in [
        &[0x04, 0x00][..],
        &[0x04, 0x00, 0x02, 0x00],
        &long_id,
        &[0x02, 0x00, 0x01, 0xff],
        &[0x20, 0x00, 0x04, 1, 0, 0, 0],
        &[0x20, 0x00, 0x07, 1, 0, 0, 0, 0, 0x21, 0x00],
    ] {
        let wire = with(tlv);
        assert!(
            matches!(
                ProxyHeader::parse(&wire, &any()),
                Err(ProxyError::Malformed(_))
            ),
            "{tlv:x?}"
        );
    }
    // Writing refuses what parsing would never give back.
    let other = ProxyHeader::local().with_tlv(Tlv::Other {
        kind: 0x02,
        value: Vec::new(),
    });
    assert!(matches!(
        other.to_bytes(ProxyVersion::V2),
        Err(ProxyEncodeError::InvalidTlv(_))
    ));
    let huge = ProxyHeader::local().with_tlv(Tlv::Noop(vec![0; 70_000]));
    assert_eq!(
        huge.to_bytes(ProxyVersion::V2),
        Err(ProxyEncodeError::TooLong)
    );
}

/// Garbage is refused from its first octet: a client that does not speak
/// the protocol is not waited for (§2.1, "abort the connection as soon as
/// possible").
#[test]
fn non_proxy_input_fails_at_once_section_2_1() {
    for wire in [&b"E"[..], b"\x16\x03\x01", b"\r\n\r\n\x01", b"PR0"] {
        assert!(
            matches!(
                ProxyHeader::parse(wire, &any()),
                Err(ProxyError::Malformed(_))
            ),
            "{}",
            wire.escape_ascii()
        );
    }
    assert_eq!(ProxyHeader::parse(b"", &any()), Err(ProxyError::Incomplete));
}

#[test]
fn tcp_addresses_of_mixed_families_are_refused() {
    let v4: SocketAddr = "192.0.2.1:1".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::1]:2".parse().unwrap();
    assert!(ProxyAddresses::tcp(v4, v6).is_none());
    assert!(matches!(
        ProxyAddresses::tcp(v6, v6),
        Some(ProxyAddresses::Ipv6 { .. })
    ));
}
