//! The example programs' command lines (`examples/server.rs`,
//! `server_blocking.rs`, `send.rs`, `send_blocking.rs`), run as built
//! binaries: `--help` names every flag with its meaning and default, an
//! unknown flag is named as unknown, and a bad value names its flag. Each
//! is a usage error (exit status 2) with the usage line.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::clients::{self, ClientOutput};
use common::examples_dir;

fn run(example: &str, args: &[&str]) -> ClientOutput {
    let bin = examples_dir().join(example);
    let out = clients::run(Command::new(&bin).args(args), None, Duration::from_secs(20));
    out.unwrap_or_else(|e| panic!("run {}: {e}", bin.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SERVERS: [&str; 2] = ["server", "server_blocking"];
const SENDERS: [&str; 2] = ["send", "send_blocking"];

/// Every flag of the contract, old and new, and each documented default.
#[test]
fn help_names_every_flag_with_its_meaning_and_default() {
    let server_flags = [
        "--listen <ADDR:PORT>",
        "--maildir <DIR>",
        "--hostname <NAME>",
        "--tls-cert <PEM>",
        "--tls-key <PEM>",
        "--user <NAME:PASSWORD>",
        "--max-size <BYTES>",
        "--lmtp",
        "--allow-plaintext-auth",
        "--max-connections <N>",
        "--max-connections-per-ip <N>",
        "--command-timeout <SECS>",
        "--data-timeout <SECS>",
        "--message-timeout <SECS>",
        "--auth-any",
        "--tls-listen <ADDR:PORT>",
        "--discard",
        "--log-transcript <DIR>",
        "--hold-domain <DOMAIN>",
        "--queue <DIR>",
        "--relay <DOMAIN=HOST:PORT>",
        "--odmr",
        "--odmr-domain <NAME=DOMAIN>",
        "[default: ./queue]",
        "[default: 127.0.0.1:2525]",
        "[default: ./maildir]",
        "[default: this machine's host name]",
        "[default: 35 MiB]",
        "[default: 2000]",
        "[default: 50]",
        "[default: 300]",
        "[default: 3600]",
        "ESMTP_EXAMPLE_DELIVERY",
    ];
    for example in SERVERS {
        let out = run(example, &["--help"]);
        assert_eq!(
            out.status.and_then(|s| s.code()),
            Some(0),
            "{}",
            out.describe()
        );
        let help = text(&out.stdout);
        for flag in server_flags {
            assert!(
                help.contains(flag),
                "{example} --help lacks {flag}:\n{help}"
            );
        }
    }
    let send_flags = [
        "--server <HOST:PORT>",
        "--from <ADDR>",
        "--to <ADDR>",
        "--starttls",
        "--tls",
        "--ca <PEM>",
        "--insecure",
        "--user <NAME:PASSWORD>",
        "--allow-plaintext-auth",
        "--lmtp",
        "--helo <NAME>",
        "--no-pipelining",
        "--no-chunking",
        "--atrn [<DOMAIN,...>]",
        "--maildir <DIR>",
        "[FILE]",
        "[default: localhost]",
        "[default: standard input]",
        "Exit status",
    ];
    for example in SENDERS {
        let out = run(example, &["--help"]);
        assert_eq!(
            out.status.and_then(|s| s.code()),
            Some(0),
            "{}",
            out.describe()
        );
        let help = text(&out.stdout);
        for flag in send_flags {
            assert!(
                help.contains(flag),
                "{example} --help lacks {flag}:\n{help}"
            );
        }
    }
}

#[track_caller]
fn assert_usage_error(example: &str, args: &[&str], wanted: &str) {
    let out = run(example, args);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.and_then(|s| s.code()),
        Some(2),
        "{example} {args:?}: {err}"
    );
    assert!(
        err.contains(wanted),
        "{example} {args:?}: want {wanted:?} in\n{err}"
    );
    assert!(
        err.contains(&format!("Usage: {}", example.split('_').next().unwrap())),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "{example} {args:?}: {}",
        text(&out.stdout)
    );
}

/// An unknown flag is named as unknown, not taken for a flag that needs a
/// value.
#[test]
fn an_unknown_flag_is_named_as_unknown() {
    for example in SERVERS {
        assert_usage_error(example, &["--bogus"], "unexpected argument '--bogus'");
        assert_usage_error(
            example,
            &["--lmtp", "--bogus", "x"],
            "unexpected argument '--bogus'",
        );
    }
    for example in SENDERS {
        let args = [
            "--server",
            "127.0.0.1:25",
            "--from",
            "a@x.test",
            "--to",
            "b@x.test",
            "--bogus",
        ];
        assert_usage_error(example, &args, "unexpected argument '--bogus'");
    }
}

/// A bad value names its flag and says why.
#[test]
fn a_bad_value_names_its_flag() {
    for example in SERVERS {
        assert_usage_error(
            example,
            &["--hostname", "a b"],
            "error: --hostname: \"a b\"",
        );
        assert_usage_error(
            example,
            &["--hostname=x..org"],
            "error: --hostname: \"x..org\"",
        );
        assert_usage_error(
            example,
            &["--max-connections", "0"],
            "error: --max-connections: 0: want a positive number",
        );
        assert_usage_error(
            example,
            &["--listen", "nowhere"],
            "error: --listen: nowhere:",
        );
        assert_usage_error(
            example,
            &["--user", ":pw"],
            "error: --user: \":pw\": want NAME:PASSWORD",
        );
        assert_usage_error(
            example,
            &["--command-timeout", "soon"],
            "error: --command-timeout:",
        );
        assert_usage_error(
            example,
            &["--tls-listen", "127.0.0.1:4650"],
            "--tls-cert <PEM>",
        );
        assert_usage_error(example, &["--tls-cert", "c.pem"], "--tls-key <PEM>");
        assert_usage_error(
            example,
            &["--hold-domain", "a b"],
            "error: --hold-domain: \"a b\"",
        );
        assert_usage_error(
            example,
            &["--relay", "x.org"],
            "error: --relay: \"x.org\": want DOMAIN=HOST:PORT",
        );
        assert_usage_error(
            example,
            &["--hold-domain", "x.org", "--odmr-domain", "u"],
            "error: --odmr-domain: \"u\": want NAME=DOMAIN",
        );
        assert_usage_error(example, &["--odmr"], "--hold-domain <DOMAIN>");
        assert_usage_error(
            example,
            &["--hold-domain", "x.org", "--discard"],
            "cannot be used with",
        );
    }
    for example in SENDERS {
        let base = ["--from", "a@x.test", "--to", "b@x.test"];
        let with = |more: &[&'static str]| -> Vec<&'static str> {
            let mut v = vec!["--server", "127.0.0.1:25"];
            v.extend(base);
            v.extend(more);
            v
        };
        assert_usage_error(example, &base, "--server <HOST:PORT>");
        assert_usage_error(
            example,
            &[
                "--server", "nohost", "--from", "a@x.test", "--to", "b@x.test",
            ],
            "error: --server: \"nohost\" is not HOST:PORT",
        );
        assert_usage_error(
            example,
            &with(&["--to", "not an address"]),
            "error: --to: \"not an address\"",
        );
        assert_usage_error(
            example,
            &with(&["--tls", "--starttls"]),
            "cannot be used with",
        );
        assert_usage_error(
            example,
            &with(&["--ca", "x.pem", "--insecure"]),
            "cannot be used with",
        );
        assert_usage_error(
            example,
            &with(&["--user", "nocolon"]),
            "error: --user: \"nocolon\": want NAME:PASSWORD",
        );
        assert_usage_error(
            example,
            &with(&["a.eml", "b.eml"]),
            "unexpected argument 'b.eml'",
        );
        let atrn = |more: &[&'static str]| -> Vec<&'static str> {
            let mut v = vec!["--server", "127.0.0.1:366", "--user", "u:p"];
            v.extend(more);
            v
        };
        assert_usage_error(
            example,
            &atrn(&["--atrn", "x..org"]),
            "error: --atrn: \"x..org\"",
        );
        assert_usage_error(
            example,
            &["--server", "127.0.0.1:366", "--atrn"],
            "--user <NAME:PASSWORD>",
        );
        assert_usage_error(
            example,
            &atrn(&["--atrn", "--to", "b@x.test"]),
            "cannot be used with",
        );
    }
}
