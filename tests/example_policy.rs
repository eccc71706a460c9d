//! The example servers' configuration policy, checked without opening a
//! socket: `Shared::new` builds the machine's configuration from the
//! command line.

#[allow(dead_code)]
#[path = "../examples/support/mod.rs"]
mod support;

mod common;

use support::args::{parse, Parsed};

fn shared(argv: &[&str]) -> std::sync::Arc<support::Shared> {
    let dir = common::TempDir::new("policy");
    let maildir = dir.path().join("maildir");
    let mut all: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    all.extend(["--maildir".into(), maildir.display().to_string()]);
    let Ok(Parsed::Run(args)) = parse(all.into_iter()) else {
        panic!("{argv:?} did not parse");
    };
    // The Maildir outlives the TempDir guard only as long as needed here.
    let shared = support::Shared::new(&args).expect("Shared::new");
    drop(dir);
    shared
}

/// RFC 4954 §4 (PLAIN and LOGIN disclose the password): without a
/// certificate the example offers AUTH in the clear only on a loopback
/// listener; on any other address only with `--allow-plaintext-auth`.
#[test]
fn plaintext_auth_only_on_loopback_or_when_allowed_rfc4954_4() {
    let user = ["--user", "jane:secret"];
    let cases = [
        ("127.0.0.1:2525", false, false),
        ("[::1]:2525", false, false),
        ("192.0.2.1:25", false, true),
        ("192.0.2.1:25", true, false),
    ];
    for (listen, allow, requires_tls) in cases {
        let mut argv = vec!["--listen", listen];
        argv.extend(user);
        if allow {
            argv.push("--allow-plaintext-auth");
        }
        let s = shared(&argv);
        let ext = &s.config.extensions;
        assert!(!ext.auth.is_empty());
        assert_eq!(ext.auth_requires_tls, requires_tls, "{argv:?}");
    }
}

/// The timeouts and connection limits come from the command line, with
/// the documented defaults.
#[test]
fn timeouts_and_limits_from_the_command_line() {
    use std::time::Duration;
    let s = shared(&[]);
    assert_eq!(s.config.timeouts.command, Duration::from_secs(300));
    assert_eq!(s.config.timeouts.message, Duration::from_secs(3600));
    let s = shared(&[
        "--command-timeout",
        "7",
        "--data-timeout",
        "8",
        "--message-timeout",
        "9",
    ]);
    assert_eq!(s.config.timeouts.command, Duration::from_secs(7));
    assert_eq!(s.config.timeouts.data, Duration::from_secs(8));
    assert_eq!(s.config.timeouts.message, Duration::from_secs(9));
    let Ok(Parsed::Run(args)) = parse(
        ["--max-connections-per-ip", "3"]
            .map(String::from)
            .into_iter(),
    ) else {
        panic!()
    };
    assert_eq!(
        (args.max_connections, args.max_connections_per_ip),
        (2000, 3)
    );
    assert!(parse(["--max-connections", "0"].map(String::from).into_iter()).is_err());
}
