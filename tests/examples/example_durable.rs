//! The example server acknowledges a message only once it is durable (RFC
//! 5321 §6.1: a `250` for the end of the data takes responsibility for
//! the message), checked from the system calls it makes: the server runs
//! under `strace`, concurrent sessions send messages, and for each
//! `250 … as ID` the trace must show, in this order, the last write of its
//! file in `tmp/`, a flush of that data (`syncfs`, or an fsync of the
//! file), the rename into `new/`, an fsync of `new/`, and only then the
//! reply. Both delivery modes: the group-commit thread and inline.

use crate::common;

use std::time::Duration;

use common::process::PeerProcess;
use common::smtp::SmtpConn;
use common::{examples_dir, free_port, TempDir};

const SESSIONS: usize = 4;
const MESSAGES: usize = 5;

#[test]
fn group_commit_acknowledges_only_durable_messages_rfc5321_6_1() {
    acknowledged_only_when_durable("thread");
}

#[test]
fn inline_delivery_acknowledges_only_durable_messages_rfc5321_6_1() {
    acknowledged_only_when_durable("inline");
}

fn acknowledged_only_when_durable(mode: &str) {
    let Some(strace) = common::require_program("strace") else {
        return;
    };
    let bin = examples_dir().join("server");
    let (dir, port, trace, mut process) = (0..5)
        .find_map(|_| {
            let dir = TempDir::new(&format!("durable-{mode}"));
            let (port, trace) = (free_port(), dir.path().join("trace"));
            let host = common::unique_host_name("durable");
            let maildir = dir.path().join("maildir");
            let args: Vec<String> = [
                "-f",
                "-qq",
                "-y",
                "-s",
                "80",
                "-e",
                "trace=openat,write,writev,sendto,sendmsg,fsync,fdatasync,syncfs,rename,renameat,renameat2",
                "-E",
                &format!("ESMTP_EXAMPLE_DELIVERY={mode}"),
                "-o",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([trace.display().to_string(), bin.display().to_string()])
            .chain(["--listen".into(), format!("127.0.0.1:{port}")])
            .chain(["--hostname".into(), host.clone(), "--maildir".into()])
            .chain([maildir.display().to_string()])
            .collect();
            let log = dir.path().join("server.log");
            let process = PeerProcess::spawn("server", &strace, &args, &log).expect("spawn strace");
            process
                .wait_for_greeting(port, &host, Duration::from_secs(30))
                .is_ok()
                .then_some((dir, port, trace, process))
        })
        .expect("the example server did not start under strace");

    let ids: Vec<String> = std::thread::scope(|s| {
        let sessions: Vec<_> = (0..SESSIONS)
            .map(|i| {
                s.spawn(move || {
                    let mut c = SmtpConn::connect(port);
                    let ids: Vec<String> = (0..MESSAGES)
                        .map(|m| {
                            let body =
                                format!("Subject: {i}.{m}\r\n\r\nsession {i} message {m}\r\n");
                            let reply =
                                c.send_mail("a@example.org", &["b@example.org"], body.as_bytes());
                            let text = reply.text();
                            let id = text.rsplit(" as ").next().unwrap_or_default();
                            id.trim().to_owned()
                        })
                        .collect();
                    c.quit();
                    ids
                })
            })
            .collect();
        sessions
            .into_iter()
            .flat_map(|h| h.join().expect("session"))
            .collect()
    });
    process.stop();
    let trace = std::fs::read_to_string(&trace).expect("read the trace");
    let lines: Vec<&str> = trace.lines().collect();
    assert_eq!(ids.len(), SESSIONS * MESSAGES);
    let new_files = std::fs::read_dir(dir.path().join("maildir/new"))
        .expect("new/")
        .count();
    assert_eq!(new_files, SESSIONS * MESSAGES, "messages in new/");

    let (mut flushes, mut dir_syncs) = (0, 0);
    for line in &lines {
        flushes += usize::from(line.contains("syncfs("));
        dir_syncs += usize::from(line.contains("fsync(") && line.contains("/new>"));
    }
    eprintln!(
        "{mode}: {} messages, {flushes} syncfs, {dir_syncs} fsyncs of new/",
        ids.len()
    );
    let calls = calls(&lines);
    for id in &ids {
        check_order(&calls, id, &dir.path().join("maildir"));
    }
}

/// One system call in the trace: its text with the arguments and the
/// result, the line where it started and the line where it returned
/// (strace splits a call that another thread's interrupts into
/// `<unfinished ...>` and `<... NAME resumed>`).
struct Call {
    text: String,
    start: usize,
    end: usize,
}

fn calls(lines: &[&str]) -> Vec<Call> {
    let mut open: std::collections::HashMap<&str, (usize, &str)> = Default::default();
    let mut calls = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (pid, rest) = line.split_once(' ').unwrap_or(("", line));
        let rest = rest.trim_start();
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid, (i, head));
        } else if rest.starts_with("<... ") {
            let tail = rest.split_once("resumed>").map_or("", |(_, t)| t);
            if let Some((start, head)) = open.remove(pid) {
                let text = format!("{head}{tail}");
                calls.push(Call {
                    text,
                    start,
                    end: i,
                });
            }
        } else {
            calls.push(Call {
                text: rest.to_owned(),
                start: i,
                end: i,
            });
        }
    }
    calls.sort_by_key(|c| c.start);
    calls
}

/// The trace shows, for the message acknowledged `as ID`: the last write
/// of its file done before a flush of its data (`syncfs`, or an fsync of
/// the file) starts, that flush done before the rename into `new/`
/// starts, the rename done before an fsync of `new/`, and that done
/// before the reply is written.
fn check_order(calls: &[Call], id: &str, maildir: &std::path::Path) {
    // The id is the seconds and the process's delivery counter, in hex;
    // the file name has the counter as `Q<n>R`.
    assert!(id.len() > 6, "id {id:?}");
    let n = u64::from_str_radix(&id[id.len() - 6..], 16).expect("counter in the id");
    let marker = format!("Q{n}R");
    let tmp = format!("{}/", maildir.join("tmp").display());
    let new = maildir.join("new").display().to_string();
    let find = |what: &str, f: &dyn Fn(&Call) -> bool| -> &Call {
        calls
            .iter()
            .find(|c| f(c))
            .unwrap_or_else(|| panic!("message {id}: no {what} in the trace"))
    };
    let ok = |c: &Call| c.text.ends_with("= 0");
    let reply = find("250 reply", &|c| {
        c.text.contains(&format!("accepted for delivery as {id}"))
    });
    let rename = find("rename into new/", &|c| {
        c.text.contains("rename")
            && c.text.contains(&marker)
            // rename(…/tmp/NAME, …/new/NAME), or renameat(<…/tmp>, NAME, <…/new>, NAME)
            && (c.text.contains(&format!("{new}/")) || c.text.contains(&format!("{new}>")))
            && ok(c)
    });
    let last_write = calls
        .iter()
        .filter(|c| c.start < rename.start)
        .rfind(|c| c.text.starts_with("write") && c.text.contains(&tmp) && c.text.contains(&marker))
        .unwrap_or_else(|| panic!("message {id}: no write of its file before the rename"));
    let flush = find("flush of its data after its last write", &|c| {
        let flushing = c.text.starts_with("syncfs")
            || (c.text.starts_with("fsync") && c.text.contains(&marker));
        flushing && ok(c) && c.start > last_write.end
    });
    assert!(
        flush.end < rename.start,
        "message {id}: renamed into new/ (line {}) before its data was flushed (line {})",
        rename.start,
        flush.end
    );
    let dir_sync = find("fsync of new/ after the rename", &|c| {
        c.text.starts_with("fsync(")
            && c.text.contains(&format!("{new}>"))
            && ok(c)
            && c.start > rename.end
    });
    assert!(
        dir_sync.end < reply.start,
        "message {id}: 250 (line {}) before new/ was fsynced after its rename (line {})",
        reply.start,
        rename.end
    );
}
