//! The example servers' queue end to end: mail for a `--hold-domain` is
//! held, then released by ETRN (RFC 1985) to its `--relay`, or by ATRN
//! (RFC 2645) over the reversed connection. The clients are fetchmail
//! (`protocol ETRN` and `protocol ODMR`, its `smtphost` another example
//! server), the `send --atrn` example, and a raw client for every reply
//! code. Each relayed message is checked byte for byte against the held
//! file; a message leaves its queue only once delivered. Loopback only,
//! every process bounded and stopped.

use crate::common;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::clients::{self, ClientOutput};
use common::example::{Driver, ExampleServer};
use common::smtp::SmtpConn;
use common::{examples_dir, poll_until, show, TempDir};

const DRIVERS: [Driver; 2] = [Driver::Tokio, Driver::Blocking];

/// The message sent for `u@held.example`, dot-stuffed as on the wire.
const STUFFED: &[u8] = b"From: a@x.example\r\nSubject: held\r\n\r\n..leading dot\r\nheld body\r\n";

/// A server holding `held.example` in a queue of its own, and that queue.
struct Holder {
    server: ExampleServer,
    queue: PathBuf,
    _dir: TempDir,
}

impl Holder {
    fn start(driver: Driver, extra: &[&str]) -> Holder {
        let dir = TempDir::new("queue");
        let queue = dir.path().join("queue");
        let q = queue.to_string_lossy().into_owned();
        let mut args = vec!["--hold-domain", "held.example", "--queue", &q];
        args.extend(extra);
        let server = ExampleServer::start(driver, &args);
        Holder {
            server,
            queue,
            _dir: dir,
        }
    }

    /// Sends the held message (and checks it went to the queue).
    fn hold_one(&self) -> Vec<u8> {
        let mut c = SmtpConn::connect(self.server.port());
        c.send_mail("a@x.example", &["u@held.example"], STUFFED);
        c.quit();
        let held = self.held();
        assert_eq!(held.len(), 1, "one message held");
        assert!(self.server.delivered().is_empty(), "nothing in the Maildir");
        held.into_iter().next().unwrap()
    }

    /// The held files, each envelope then message.
    fn held(&self) -> Vec<Vec<u8>> {
        files(&self.queue.join("held.example/new"))
    }
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The message part of a held file: after the envelope's empty line.
fn message_part(held: &[u8]) -> &[u8] {
    let at = held.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    &held[at + 4..]
}

/// The held file: the envelope as MAIL and RCPT lines, then the message
/// with the holder's `Received:` only (no Return-Path, no Delivered-To:
/// those are the final delivery's, RFC 5321 §4.4), then the content
/// unstuffed.
#[track_caller]
fn check_held(held: &[u8], host: &str) {
    let text = String::from_utf8_lossy(held);
    let head = "MAIL FROM:<a@x.example>\r\nRCPT TO:<u@held.example>\r\n\r\nReceived: from client.esmtp.test ([127.0.0.1])\r\n\tby ";
    assert!(
        text.starts_with(&format!("{head}{host} with ESMTP id ")),
        "{text}"
    );
    assert!(
        held.ends_with(b"\r\n\r\n.leading dot\r\nheld body\r\n"),
        "{text}"
    );
}

/// Waits for the relay target's Maildir to hold one message, and checks
/// it is the held message byte for byte under the target's own trace
/// fields.
#[track_caller]
fn check_relayed(target: &ExampleServer, held: &[u8]) {
    let delivered = poll_until(Duration::from_secs(20), || {
        let d = target.delivered();
        (!d.is_empty()).then_some(d)
    })
    .unwrap_or_else(|| panic!("nothing relayed; target log:\n{}", target.stderr()));
    assert_eq!(delivered.len(), 1);
    let file = &delivered[0];
    let part = message_part(held);
    assert!(
        file.ends_with(part),
        "relayed\n{}\nheld\n{}",
        show(file),
        show(part)
    );
    let trace = String::from_utf8_lossy(&file[..file.len() - part.len()]);
    assert!(
        trace.starts_with(
            "Return-Path: <a@x.example>\r\nDelivered-To: <u@held.example>\r\nReceived: from "
        ),
        "{trace}"
    );
}

#[track_caller]
fn check_exit(out: &ClientOutput, code: i32, lines: &[&str]) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.and_then(|s| s.code()),
        Some(code),
        "{}",
        out.describe()
    );
    for line in lines {
        assert!(all.contains(line), "{line:?} not in {}", out.describe());
    }
}

/// RFC 1985 §5.1: fetchmail's `protocol ETRN` sends `ETRN held.example`;
/// the server answers 253 with the count and relays the queue to the
/// domain's `--relay` (another example server), removing the message only
/// after its 250. A second poll finds nothing waiting: 251, which
/// fetchmail reports as no mail (exit status 1).
#[test]
fn fetchmail_etrn_relays_the_held_queue_byte_exact_rfc1985_5_1() {
    for driver in DRIVERS {
        let target = ExampleServer::start(Driver::Tokio, &[]);
        let relay = format!("held.example=127.0.0.1:{}", target.port());
        let holder = Holder::start(driver, &["--relay", &relay]);
        let held = holder.hold_one();
        check_held(&held, &holder.server.host);
        let rc = format!(
            "poll 127.0.0.1 protocol ETRN service {} timeout 20 fetchdomains held.example\n",
            holder.server.port()
        );
        let Some(out) = clients::fetchmail(&rc) else {
            return;
        };
        check_exit(
            &out,
            0,
            &[
                "ETRN> ETRN held.example",
                "ETRN< 253 2.0.0 OK, 1 pending messages for node held.example started",
            ],
        );
        check_relayed(&target, &held);
        let left = poll_until(Duration::from_secs(10), || {
            holder.held().is_empty().then_some(())
        });
        assert!(left.is_some(), "the relayed message left its queue");
        let out = clients::fetchmail(&rc).unwrap();
        check_exit(
            &out,
            0,
            &["ETRN< 251 2.0.0 OK, no messages waiting for node held.example"],
        );
        holder.server.assert_tmp_empty();
    }
}

/// RFC 2645: fetchmail's `protocol ODMR` authenticates (CRAM-MD5, §5.1.2),
/// sends `ATRN held.example` (§5.2.1), gets 250 and relays the reversed
/// session (§5.3) to its `smtphost`, another example server; the held
/// message arrives there byte for byte and leaves the queue. Then 453:
/// no mail (fetchmail's exit status 1).
#[test]
fn fetchmail_odmr_takes_the_held_mail_over_the_reversed_connection_rfc2645_5_3() {
    for driver in DRIVERS {
        let target = ExampleServer::start(Driver::Tokio, &[]);
        let odmr = [
            "--odmr",
            "--user",
            "cust:secret",
            "--odmr-domain",
            "cust=held.example",
        ];
        let holder = Holder::start(driver, &odmr);
        let held = holder.hold_one();
        let rc = format!(
            "poll 127.0.0.1 protocol ODMR service {} timeout 20\n  \
             user \"cust\" password \"secret\" fetchdomains held.example smtphost 127.0.0.1/{}\n",
            holder.server.port(),
            target.port()
        );
        let Some(out) = clients::fetchmail(&rc) else {
            return;
        };
        check_exit(
            &out,
            0,
            &[
                "ODMR> AUTH CRAM-MD5",
                "ODMR> ATRN held.example",
                "ODMR< 250 2.0.0 OK now reversing the connection",
                &format!("ODMR< EHLO {}", holder.server.host),
                "ODMR< QUIT",
            ],
        );
        check_relayed(&target, &held);
        assert!(
            holder.held().is_empty(),
            "the delivered message left its queue"
        );
        let out = clients::fetchmail(&rc).unwrap();
        check_exit(&out, 0, &["ODMR< 453 4.0.0 You have no mail"]);
        // A user may not take another's mail: 450, nothing sent (§5.2.1).
        let other = rc.replace("fetchdomains held.example", "fetchdomains other.example");
        let out = clients::fetchmail(&other).unwrap();
        check_exit(&out, 4, &["ODMR< 450 4.7.1 ATRN request refused"]);
        holder.server.assert_tmp_empty();
    }
}

/// RFC 1985 §5.1 and §5.3 against the example server with a raw client:
/// 459 for a node not held, 458 for one without a relay, 251 for an empty
/// queue, 253 with the count for a domain, 252 while its run is under way,
/// 250 for a named queue (`#domain`). A relay that never answers leaves
/// the message in its queue (retried at the next ETRN); while its run
/// holds the queue, ATRN for it gets 451 (RFC 2645 §5.2.1). Recipients of
/// another destination in the same transaction are deferred with 452
/// (RFC 5321 §4.5.3.1.10).
#[test]
fn etrn_every_reply_code_and_a_failed_run_keeps_the_message_rfc1985_5_1() {
    // A relay that accepts connections and never greets: the run waits.
    let stall = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = format!(
        "held.example=127.0.0.1:{}",
        stall.local_addr().unwrap().port()
    );
    let holder = Holder::start(
        Driver::Tokio,
        &[
            "--hold-domain",
            "norelay.example",
            "--relay",
            &relay,
            "--odmr",
            "--user",
            "cust:secret",
            "--odmr-domain",
            "cust=held.example",
        ],
    );
    let mut c = SmtpConn::connect(holder.server.port());
    c.expect("EHLO client.esmtp.test", 250);
    let etrn = |c: &mut SmtpConn, node: &str| c.cmd(&format!("ETRN {node}"));
    let r = etrn(&mut c, "other.example");
    assert_eq!(
        (r.code, r.text()),
        (
            459,
            "4.7.1 Node other.example not allowed: not held here".into()
        )
    );
    let r = etrn(&mut c, "norelay.example");
    assert_eq!(r.code, 458, "{r:?}");
    let r = etrn(&mut c, "held.example");
    assert_eq!(
        (r.code, r.text()),
        (
            251,
            "2.0.0 OK, no messages waiting for node held.example".into()
        )
    );
    // One transaction, one destination: the Maildir recipient waits.
    c.expect("MAIL FROM:<a@x.example>", 250);
    c.expect("RCPT TO:<u@held.example>", 250);
    let r = c.expect("RCPT TO:<v@elsewhere.example>", 452);
    assert!(r.text().starts_with("4.5.3 "), "{r:?}");
    c.expect("DATA", 354);
    c.send(STUFFED);
    c.expect(".", 250);
    let held = holder.held();
    assert_eq!(held.len(), 1);
    let r = etrn(&mut c, "@example");
    assert_eq!(
        (r.code, r.text()),
        (
            253,
            "2.0.0 OK, 1 pending messages for node @example started".into()
        )
    );
    let (mut relay_side, _) = stall.accept().unwrap();
    let r = etrn(&mut c, "held.example");
    assert_eq!(
        (r.code, r.text()),
        (
            252,
            "2.0.0 OK, pending messages for node held.example started".into()
        )
    );
    let mut customer = SmtpConn::connect(holder.server.port());
    customer.expect("EHLO customer.example", 250);
    customer.expect("AUTH PLAIN AGN1c3QAc2VjcmV0", 235);
    let r = customer.expect("ATRN held.example", 451);
    assert!(
        r.text()
            .starts_with("4.3.0 Unable to process ATRN request now"),
        "{r:?}"
    );
    customer.quit();
    // The relay goes away without a word: the run fails, the message stays.
    relay_side
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let _ = relay_side.read(&mut [0; 64]);
    drop(relay_side);
    let freed = poll_until(Duration::from_secs(10), || {
        let r = etrn(&mut c, "#held.example");
        (r.code != 252).then_some(r)
    })
    .expect("the failed run ends");
    assert_eq!(
        (freed.code, freed.text()),
        (
            250,
            "2.0.0 OK, queuing for node #held.example started".into()
        )
    );
    assert_eq!(holder.held(), held, "kept, byte for byte");
    drop(stall);
    c.quit();
}

/// The held envelope keeps what the relay needs: a UTF-8 sender and
/// recipient go out again with SMTPUTF8 (RFC 6531 §3.4), the null reverse
/// path as `<>` (RFC 5321 §4.5.5); each message arrives byte for byte.
#[test]
fn etrn_relays_smtputf8_and_null_sender_envelopes_rfc6531_3_4() {
    for driver in DRIVERS {
        let target = ExampleServer::start(Driver::Tokio, &[]);
        let relay = format!("held.example=127.0.0.1:{}", target.port());
        let holder = Holder::start(driver, &["--relay", &relay]);
        let mut c = SmtpConn::connect(holder.server.port());
        c.expect("EHLO client.esmtp.test", 250);
        for (from, to) in [
            ("<jöran@x.example> SMTPUTF8", "<ö@held.example>"),
            ("<>", "<v@held.example>"),
        ] {
            c.expect(&format!("MAIL FROM:{from}"), 250);
            c.expect(&format!("RCPT TO:{to}"), 250);
            c.expect("DATA", 354);
            c.send("Subject: hällo\r\n\r\nbody\r\n.\r\n".as_bytes());
            assert_eq!(c.read_reply().code, 250);
        }
        let held = holder.held();
        assert_eq!(held.len(), 2);
        assert_eq!(c.cmd("ETRN held.example").code, 253);
        c.quit();
        let delivered = poll_until(Duration::from_secs(20), || {
            let d = target.delivered();
            (d.len() == 2).then_some(d)
        })
        .unwrap_or_else(|| panic!("not relayed: {}", holder.server.stderr()));
        // In arrival order, each the held message byte for byte.
        let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
        let heads = [
            "Return-Path: <jöran@x.example>\r\nDelivered-To: <ö@held.example>\r\n",
            "Return-Path: <>\r\nDelivered-To: <v@held.example>\r\n",
        ];
        for (file, head) in delivered.iter().zip(heads) {
            assert!(text(file).starts_with(head), "{}", text(file));
            let held = held.iter().find(|h| file.ends_with(message_part(h)));
            assert!(held.is_some(), "{}", text(file));
        }
        let left = poll_until(Duration::from_secs(10), || {
            holder.held().is_empty().then_some(())
        });
        assert!(left.is_some(), "both left their queue");
    }
}

/// The `send --atrn` example (and `send_blocking`) as the ODMR customer
/// (RFC 2645): it authenticates, sends ATRN, becomes the server and stores
/// the held mail into its own Maildir; refusals are reported with exit
/// status 1: 450 (a domain the user may not retrieve) and 453 (no mail,
/// §5.2.1). Without AUTH the server says 530, and without `--odmr` 502.
#[test]
fn send_atrn_receives_the_held_mail_and_the_refusals_rfc2645_5_2_1() {
    for (driver, sender) in [(Driver::Tokio, "send"), (Driver::Blocking, "send_blocking")] {
        let odmr = [
            "--odmr",
            "--user",
            "cust:secret",
            "--odmr-domain",
            "cust=held.example",
        ];
        let holder = Holder::start(driver, &odmr);
        let held = holder.hold_one();
        let dir = TempDir::new("customer");
        let maildir = dir.path().join("maildir");
        let send = |atrn: &str, user: &str| {
            let server = format!("127.0.0.1:{}", holder.server.port());
            let mut cmd = Command::new(examples_dir().join(sender));
            cmd.args([
                "--server",
                &server,
                "--user",
                user,
                "--helo",
                "customer.example",
            ]);
            cmd.arg(format!("--atrn={atrn}"))
                .arg("--maildir")
                .arg(&maildir);
            clients::run(&mut cmd, None, Duration::from_secs(30)).unwrap()
        };
        let out = send("held.example,other.example", "cust:secret");
        check_exit(&out, 1, &["send: ATRN refused: 450 4.7.1 ATRN request refused: cust may not retrieve other.example"]);
        let out = send("", "cust:secret");
        check_exit(&out, 0, &["received 1 message(s) into"]);
        let stored = files(&maildir.join("new"));
        assert_eq!(stored.len(), 1);
        let part = message_part(&held);
        assert!(stored[0].ends_with(part), "{}", show(&stored[0]));
        let trace = format!(
            "Return-Path: <a@x.example>\r\nDelivered-To: <u@held.example>\r\nReceived: from {} ([127.0.0.1])\r\n\tby customer.example with ESMTP id ",
            holder.server.host
        );
        assert!(
            stored[0].starts_with(trace.as_bytes()),
            "{}",
            show(&stored[0])
        );
        assert!(
            holder.held().is_empty(),
            "the delivered message left its queue"
        );
        let out = send("held.example", "cust:secret");
        check_exit(&out, 1, &["send: ATRN refused: 453 4.0.0 You have no mail"]);
        let out = send("held.example", "cust:wrong");
        check_exit(&out, 1, &["authentication failed: 535"]);
        let mut c = SmtpConn::connect(holder.server.port());
        c.expect("EHLO client.esmtp.test", 250);
        c.expect("ATRN held.example", 530);
        c.quit();
    }
    let plain = ExampleServer::start(Driver::Tokio, &["--user", "cust:secret"]);
    let mut c = SmtpConn::connect(plain.port());
    c.expect("EHLO client.esmtp.test", 250);
    c.expect("ATRN held.example", 502);
    c.expect("ETRN held.example", 502);
    c.quit();
}
