//! The example servers' configuration policy and command line, checked
//! without opening a socket: `server_config` builds the machine's
//! configuration from the parsed flags.

#[allow(dead_code)]
#[path = "../../examples/support/mod.rs"]
mod support;

use std::time::Duration;

use clap::Parser;
use support::Args;

fn args(argv: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_from(std::iter::once("server").chain(argv.iter().copied()))
}

fn config(argv: &[&str], tls: bool) -> esmtp::server::ServerConfig {
    let args = args(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    support::server_config(&args, "mx.example.org", tls).expect("server_config")
}

/// RFC 4954 §4 (PLAIN and LOGIN disclose the password): without a
/// certificate the example offers AUTH in the clear only on a loopback
/// listener; on any other address only with `--allow-plaintext-auth`. With
/// a certificate, only under TLS. `--auth-any` follows the same rule.
#[test]
fn plaintext_auth_only_on_loopback_or_when_allowed_rfc4954_4() {
    let cases = [
        ("127.0.0.1:2525", false, false, false),
        ("[::1]:2525", false, false, false),
        ("192.0.2.1:25", false, false, true),
        ("192.0.2.1:25", true, false, false),
        ("127.0.0.1:2525", false, true, true),
    ];
    for auth in [["--user", "jane:secret"], ["--auth-any", "--lmtp"]] {
        for (listen, allow, tls, requires_tls) in cases {
            let mut argv = vec!["--listen", listen];
            argv.extend(auth);
            if allow {
                argv.push("--allow-plaintext-auth");
            }
            let config = config(&argv, tls);
            assert!(!config.extensions.auth.is_empty(), "{argv:?}");
            assert_eq!(
                config.extensions.auth_requires_tls, requires_tls,
                "{argv:?}"
            );
        }
    }
    assert!(config(&[], false).extensions.auth.is_empty());
}

/// The timeouts and connection limits come from the command line, with
/// the documented defaults.
#[test]
fn timeouts_and_limits_from_the_command_line() {
    let c = config(&[], false);
    assert_eq!(c.timeouts.command, Duration::from_secs(300));
    assert_eq!(c.timeouts.data, Duration::from_secs(300));
    assert_eq!(c.timeouts.message, Duration::from_secs(3600));
    let c = config(
        &[
            "--command-timeout",
            "7",
            "--data-timeout=8",
            "--message-timeout",
            "9",
        ],
        false,
    );
    assert_eq!(c.timeouts.command, Duration::from_secs(7));
    assert_eq!(c.timeouts.data, Duration::from_secs(8));
    assert_eq!(c.timeouts.message, Duration::from_secs(9));
    let a = args(&["--max-connections-per-ip", "3"]).unwrap();
    assert_eq!((a.max_connections, a.max_connections_per_ip), (2000, 3));
    assert_eq!(a.listen.to_string(), "127.0.0.1:2525");
    assert_eq!(a.maildir.to_str(), Some("./maildir"));
    assert!(args(&["--max-connections", "0"]).is_err());
}

/// Flags that go together, and values that must be valid.
#[test]
fn flags_that_need_others_and_bad_values_are_usage_errors() {
    for argv in [
        &["--tls-cert", "c.pem"][..],
        &["--tls-key", "k.pem"],
        &["--tls-listen", "127.0.0.1:4650"],
        &["--hostname", "not a name"],
        &["--user", "nocolon"],
        &["--listen", "localhost"],
        &["--bogus"],
    ] {
        let e = args(argv)
            .err()
            .unwrap_or_else(|| panic!("{argv:?} parsed"));
        assert_eq!(e.exit_code(), 2, "{argv:?}");
    }
    let a = args(&[
        "--tls-listen",
        "127.0.0.1:4650",
        "--tls-cert",
        "c",
        "--tls-key",
        "k",
    ]);
    assert!(a.is_ok());
}
