//! The PROXY protocol between the machines (HAProxy's specification "The
//! PROXY protocol", versions 1 and 2): the client machine sends the
//! header, the server machine reads it before its greeting. One behaviour
//! per test, each citing its section.

use crate::client_support;
use crate::support;

use std::time::Duration;

use client_support::*;
use esmtp::client::ApiError;
use esmtp::proxy::{
    ProxyAddresses, ProxyCommand, ProxyEncodeError, ProxyHeader, ProxyOptions, ProxyVersion,
    ProxyVersions, Tlv,
};
use esmtp::server::{self, Event, Server};
use support::{config, Driver};

fn header() -> ProxyHeader {
    let addresses = ProxyAddresses::tcp(
        "192.0.2.10:40000".parse().unwrap(),
        "198.51.100.25:25".parse().unwrap(),
    )
    .unwrap();
    ProxyHeader::proxied(addresses)
}

fn proxied_config(versions: ProxyVersions) -> server::ServerConfig {
    let mut c = server_config();
    c.proxy_protocol = Some(ProxyOptions::new(versions));
    c
}

fn proxy_events(p: &Pair) -> Vec<&String> {
    p.server_events
        .iter()
        .filter(|e| e.starts_with("Proxy("))
        .collect()
}

fn run_pair(versions: ProxyVersions, version: ProxyVersion, h: &ProxyHeader) -> Pair {
    let mut p = Pair::new(client_config(), proxied_config(versions));
    p.client.send_proxy_header(h, version).unwrap();
    p.client
        .submit(envelope(&["b@example.org"]), &b"Hi\r\n"[..])
        .unwrap();
    p.client.quit();
    p.run();
    p
}

/// §2.1: the client sends the text line first; the server greets only
/// after it, hands the addresses over, and the session goes on.
#[test]
fn v1_header_then_a_delivery_section_2_1() {
    let p = run_pair(ProxyVersions::V1, ProxyVersion::V1, &header());
    assert!(p
        .c2s_text()
        .starts_with("PROXY TCP4 192.0.2.10 198.51.100.25 40000 25\r\nEHLO client.example\r\n"));
    assert!(p.s2c.starts_with(b"220 mx.example.org"));
    let events = proxy_events(&p);
    assert_eq!(events.len(), 1);
    assert!(events[0].contains("192.0.2.10:40000"), "{}", events[0]);
    assert!(p.outcomes()[0].all_delivered());
    assert_eq!(p.stored, vec![b"Hi\r\n".to_vec()]);
}

/// §2.2: the binary header with TLVs (§2.2.2 AUTHORITY, §2.2.3 CRC32C),
/// to a server that takes either version.
#[test]
fn v2_header_with_tlvs_then_a_delivery_section_2_2() {
    let h = header()
        .with_tlv(Tlv::Authority("mx.example.org".into()))
        .with_tlv(Tlv::Crc32c);
    let p = run_pair(ProxyVersions::Any, ProxyVersion::V2, &h);
    assert!(p.c2s.starts_with(&esmtp::proxy::V2_SIGNATURE));
    let events = proxy_events(&p);
    assert_eq!(events.len(), 1);
    assert!(events[0].contains("mx.example.org"), "{}", events[0]);
    assert!(p.outcomes()[0].all_delivered());
}

/// §2.2: LOCAL is a health check: no addresses, the session goes on.
#[test]
fn v2_local_header_section_2_2() {
    let mut d = Driver::manual(proxied_config(ProxyVersions::V2));
    let local = ProxyHeader::local().to_bytes(ProxyVersion::V2).unwrap();
    d.server.receive(&local);
    let Some(Event::Proxy(h)) = d.event() else {
        panic!("no PROXY event");
    };
    assert_eq!(h.command, ProxyCommand::Local);
    assert_eq!(h.source(), None);
    assert!(d.take().starts_with("220 mx.example.org"));
}

/// The server expects a header the client does not send (none offered):
/// no greeting is ever written, and at the command timeout the
/// connection closes without a reply (§2.1: nothing before the header).
#[test]
fn missing_header_times_out_without_a_reply_section_2_1() {
    let mut p = Pair::new(client_config(), proxied_config(ProxyVersions::Any));
    p.client
        .submit(envelope(&["b@example.org"]), &b"Hi\r\n"[..])
        .unwrap();
    p.run();
    assert!(p.s2c.is_empty(), "{:?}", String::from_utf8_lossy(&p.s2c));
    p.advance(Duration::from_secs(301));
    assert!(p.s2c.is_empty());
    assert!(p.server.is_closed());
    assert!(p
        .server_events
        .iter()
        .any(|e| e == "Closed { reason: ProxyHeader }"));
}

/// Partly offered: a server that takes version 2 only, and a client that
/// sends version 1: closed without a reply (§2.2: "otherwise the protocol
/// is not covered … and the connection must be dropped").
#[test]
fn version_not_accepted_closes_without_a_reply_section_2_2() {
    let p = run_pair(ProxyVersions::V2, ProxyVersion::V1, &header());
    assert!(p.s2c.is_empty());
    assert!(p.server.is_closed());
    assert!(p
        .server_events
        .iter()
        .any(|e| e == "Closed { reason: ProxyHeader }"));
    assert!(p.stored.is_empty());
}

/// A server that does not expect a header (none offered on its side)
/// reads the line as a command it does not know (RFC 5321 §4.2.4: 500).
#[test]
fn header_to_a_server_without_the_protocol_is_an_unknown_command() {
    let mut d = Driver::new(config());
    let out = d.send(b"PROXY TCP4 192.0.2.10 198.51.100.25 40000 25\r\n");
    assert!(out.starts_with("500 5.5.1"), "{out}");
}

/// §2.1 and §2.2: a malformed header closes the connection without a
/// reply; nothing after it is read.
#[test]
fn malformed_headers_close_without_a_reply_section_2_1() {
    for bad in [
        &b"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\nEHLO x\r\n"[..],
        b"PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\n",
        b"EHLO client.example\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c",
    ] {
        let mut d = Driver::manual(proxied_config(ProxyVersions::Any));
        assert_eq!(d.take(), "");
        let out = d.send(bad);
        assert_eq!(out, "", "{}", bad.escape_ascii());
        assert!(d.server.is_closed(), "{}", bad.escape_ascii());
        assert_eq!(d.server.buffered_len(), 0);
    }
}

/// §2.2: a version 2 header whose length field announces 65535 octets is
/// refused from its first 16, before any of the rest is read or buffered.
#[test]
fn huge_v2_length_is_never_buffered_section_2_2() {
    let mut d = Driver::manual(proxied_config(ProxyVersions::V2));
    let mut fixed = esmtp::proxy::V2_SIGNATURE.to_vec();
    fixed.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
    assert_eq!(d.send(&fixed), "");
    assert!(d.server.is_closed());
    // Further input is not even taken.
    d.server.receive(&[0u8; 4096]);
    assert_eq!(d.server.buffered_len(), 0);
    // One octet short of the fixed part: still waiting, holding 15.
    let mut d = Driver::manual(proxied_config(ProxyVersions::V2));
    d.send(&fixed[..15]);
    assert!(!d.server.is_closed());
    assert_eq!(d.server.buffered_len(), 15);
}

/// A configured limit below the header's length refuses it (§2.2: the
/// receiver bounds what it reads).
#[test]
fn configured_limit_is_applied_section_2_2() {
    let mut c = proxied_config(ProxyVersions::V2);
    c.proxy_protocol = Some(ProxyOptions::new(ProxyVersions::V2).with_max_len(27));
    let mut d = Driver::manual(c);
    let wire = header().to_bytes(ProxyVersion::V2).unwrap();
    assert_eq!(wire.len(), 28);
    assert_eq!(d.send(&wire), "");
    assert!(d.server.is_closed());
}

/// §2.1: what follows the header in the same read belongs to SMTP.
#[test]
fn bytes_after_the_header_are_kept_section_2_1() {
    let mut d = Driver::new(proxied_config(ProxyVersions::V1));
    let out = d.send(b"PROXY UNKNOWN\r\nEHLO client.example\r\n");
    assert!(out.starts_with("220 mx.example.org"), "{out}");
    assert!(out.contains("250 "), "{out}");
    assert_eq!(d.count("Proxy("), 1);
}

/// With `ask_on_connect`, the application sees the proxied address first
/// and can refuse the client by it (RFC 5321 §3.1: 554).
#[test]
fn connect_decision_follows_the_header_rfc5321_3_1() {
    let mut c = proxied_config(ProxyVersions::V1);
    c.ask_on_connect = true;
    let mut d = Driver::manual(c);
    d.server
        .receive(b"PROXY TCP4 203.0.113.9 198.51.100.25 40000 25\r\n");
    let Some(Event::Proxy(h)) = d.event() else {
        panic!("no PROXY event");
    };
    assert_eq!(h.source().unwrap().ip().to_string(), "203.0.113.9");
    assert!(matches!(d.event(), Some(Event::Connect)));
    d.server.deny().unwrap();
    assert!(d.take().starts_with("554 5.3.2"));
}

/// The client sends one header, first: not after the greeting, not twice;
/// a header version 1 cannot carry is refused (§2.1).
#[test]
fn client_sends_one_header_first_section_2_1() {
    let mut p = Pair::new(client_config(), server_config());
    p.client
        .send_proxy_header(&header(), ProxyVersion::V2)
        .unwrap();
    assert_eq!(
        p.client.send_proxy_header(&header(), ProxyVersion::V2),
        Err(ApiError::ProxyHeaderTooLate)
    );
    let mut fresh = esmtp::client::Client::new(client_config());
    assert_eq!(
        fresh.send_proxy_header(&ProxyHeader::local(), ProxyVersion::V1),
        Err(ApiError::ProxyHeader(ProxyEncodeError::NotInV1(
            "the LOCAL command"
        )))
    );
    // After the greeting it is too late.
    let mut late = esmtp::client::Client::new(client_config());
    late.receive(b"220 mx.example.org ESMTP\r\n");
    assert_eq!(
        late.send_proxy_header(&header(), ProxyVersion::V1),
        Err(ApiError::ProxyHeaderTooLate)
    );
}

/// The header is read before anything else even when the server was
/// given it one octet at a time (§2.2: "the receiver must not start to
/// parse an address before the whole address block is received").
#[test]
fn header_split_into_single_octets_section_2_2() {
    let h = header().with_tlv(Tlv::Crc32c);
    let wire = h.to_bytes(ProxyVersion::V2).unwrap();
    let mut server = Server::new(proxied_config(ProxyVersions::Any));
    for b in &wire[..wire.len() - 1] {
        server.receive(std::slice::from_ref(b));
        assert!(server.poll_event().is_none());
        assert!(server.poll_transmit().is_none());
    }
    server.receive(&wire[wire.len() - 1..]);
    let Some(Event::Proxy(got)) = server.poll_event() else {
        panic!("no PROXY event");
    };
    assert_eq!(*got, h);
    assert!(server.poll_transmit().is_some());
}

/// Nothing is written before the header (§2.1), not even a shutdown's
/// 421 or an overrun's.
#[test]
fn no_reply_before_the_header_even_when_closing_section_2_1() {
    let mut d = Driver::manual(proxied_config(ProxyVersions::Any));
    d.server.shutdown("bye");
    d.pump();
    assert_eq!(d.take(), "");
    assert!(d.server.is_closed());
    let mut c = proxied_config(ProxyVersions::V2);
    c.limits.max_buffered = 20;
    let mut d = Driver::manual(c);
    let mut wire = esmtp::proxy::V2_SIGNATURE.to_vec();
    wire.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
    d.send(&wire);
    assert!(!d.server.is_closed());
    assert_eq!(d.send(&[0u8; 12]), "");
    assert!(d.server.is_closed());
    assert_eq!(d.server.buffered_len(), 0);
}
