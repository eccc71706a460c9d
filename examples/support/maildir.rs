//! Maildir delivery, for both example servers: a message is written to
//! `tmp/UNIQUE` as it arrives, then fsynced, renamed to `new/UNIQUE` and
//! `new/` fsynced, all before the `250` (RFC 5321 §6.1); a reader of
//! `new/` never sees a partial message, and a refused, aborted or failed
//! one leaves nothing behind. Directories are `0700`, messages `0600`.
//!
//! Where an fsync costs disk time (timed at start-up), a delivery thread
//! makes messages durable in groups, one fsync of `new/` per group, so no
//! session waits on another's fsync; where it is free (tmpfs), the
//! session's own thread does, a hop to another thread costing more.
//! `ESMTP_EXAMPLE_DELIVERY=thread|inline` forces the choice.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

/// Below this cost of an fsync, deliver inline (a tmpfs takes 1–3 µs,
/// the disks measured 250 µs and more).
const INLINE_SYNC: Duration = Duration::from_micros(20);
/// The most messages one group commit takes.
const GROUP_MAX: usize = 256;
/// Deliveries by this process, for unique names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where messages are made durable: the Maildir, and the delivery thread
/// when there is one.
pub struct Store {
    maildir: Arc<Maildir>,
    thread: Option<mpsc::Sender<Job>>,
}

struct Maildir {
    root: PathBuf,
    /// `new/`, kept open for the fsync after renames.
    new_dir: File,
    /// This host's name with `/` and `:` escaped, for unique names.
    host: String,
}

/// A message for the delivery thread, its log line, and where the outcome
/// goes.
struct Job(Spool, String, oneshot::Sender<io::Result<PathBuf>>);

/// The outcome of a delivery: now (inline), or from the delivery thread.
pub enum Pending {
    Done(io::Result<PathBuf>),
    Waiting(oneshot::Receiver<io::Result<PathBuf>>),
}

/// A message being received into `tmp/`, buffered so that a typical one
/// takes one `write` (and a thousand sessions in DATA hold 16 MiB at
/// most). Dropped before it is delivered, its file goes.
pub struct Spool {
    file: BufWriter<File>,
    /// `tmp/UNIQUE`, emptied once renamed into `new/`.
    tmp: PathBuf,
    name: String,
    /// A short delivery id, for the `Received:` field and the reply.
    pub id: String,
}

impl Store {
    /// Opens (creating as needed) the Maildir at `root`, times an fsync,
    /// and chooses where to deliver, saying so on stderr.
    pub fn open(root: &Path, hostname: &str) -> Result<Store, String> {
        let maildir = Maildir::create(root, hostname)
            .map_err(|e| format!("maildir {}: {e}", root.display()))?;
        let (cost, how) = match maildir.sync_cost() {
            Ok(cost) => (cost, format!("an fsync costs {cost:?}")),
            Err(e) => (Duration::MAX, format!("cannot time an fsync: {e}")),
        };
        let inline = match std::env::var("ESMTP_EXAMPLE_DELIVERY").as_deref() {
            Ok("inline") => true,
            Ok("thread") => false,
            Ok(other) => {
                return Err(format!(
                    "ESMTP_EXAMPLE_DELIVERY={other}: want inline or thread"
                ))
            }
            Err(_) => cost < INLINE_SYNC,
        };
        let maildir = Arc::new(maildir);
        if inline {
            eprintln!("delivering on the sessions' workers ({how})");
            return Ok(Store {
                maildir,
                thread: None,
            });
        }
        eprintln!("delivering on a group-commit thread ({how})");
        let (tx, rx) = mpsc::channel();
        let m = Arc::clone(&maildir);
        std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || group_commit(&m, &rx))
            .map_err(|e| format!("cannot start the delivery thread: {e}"))?;
        Ok(Store {
            maildir,
            thread: Some(tx),
        })
    }

    /// Starts a message in `tmp/` under a fresh unique name
    /// (`SECONDS.MmicrosPpidQcounterRrandom.HOST`).
    pub fn spool(&self) -> io::Result<Spool> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (secs, micros, pid) = (now.as_secs(), now.subsec_micros(), std::process::id());
        let random = super::random_u64();
        let name = format!(
            "{secs}.M{micros}P{pid}Q{n}R{random:016x}.{}",
            self.maildir.host
        );
        let tmp = self.maildir.root.join("tmp").join(&name);
        let file = private_file().create_new(true).open(&tmp)?;
        let id = format!("{secs:X}{:06X}", n & 0xFF_FFFF);
        Ok(Spool {
            file: BufWriter::with_capacity(16 * 1024, file),
            tmp,
            name,
            id,
        })
    }

    /// Makes `spool` durable in `new/`; `log` goes to stderr with
    /// ` as PATH` once it is.
    pub fn deliver(&self, mut spool: Spool, log: String) -> Pending {
        let Some(thread) = &self.thread else {
            let outcome = spool.finish(&self.maildir).and_then(|path| {
                self.maildir.new_dir.sync_all()?;
                eprintln!("{log} as {}", path.display());
                Ok(path)
            });
            return Pending::Done(outcome);
        };
        let (tx, rx) = oneshot::channel();
        match thread.send(Job(spool, log, tx)) {
            Ok(()) => Pending::Waiting(rx),
            Err(_) => Pending::Done(Err(io::Error::other("delivery thread gone"))),
        }
    }
}

// Each server waits its own way.
#[allow(dead_code)]
impl Pending {
    /// The outcome, on tokio.
    pub async fn wait(self) -> io::Result<PathBuf> {
        match self {
            Pending::Done(outcome) => outcome,
            Pending::Waiting(rx) => rx.await.unwrap_or_else(|_| Err(io::Error::other("gone"))),
        }
    }

    /// The outcome, on a thread outside any async runtime.
    pub fn wait_blocking(self) -> io::Result<PathBuf> {
        match self {
            Pending::Done(outcome) => outcome,
            Pending::Waiting(rx) => rx
                .blocking_recv()
                .unwrap_or_else(|_| Err(io::Error::other("gone"))),
        }
    }
}

/// The delivery thread: takes whatever messages are waiting (a group),
/// fsyncs and renames each into `new/`, then fsyncs `new/` once for the
/// group before any of them is acknowledged. The group's log lines go out
/// in one write (one per message would cost as much as the delivery).
fn group_commit(maildir: &Maildir, jobs: &mpsc::Receiver<Job>) {
    let mut log = Vec::new();
    while let Ok(first) = jobs.recv() {
        let group = std::iter::once(first).chain(jobs.try_iter().take(GROUP_MAX - 1));
        let mut done: Vec<_> = group
            .map(|Job(mut spool, line, reply)| (spool.finish(maildir), line, reply))
            .collect();
        if done.iter().any(|(o, ..)| o.is_ok()) {
            if let Err(e) = maildir.new_dir.sync_all() {
                // The renames may not survive a crash: no 250 for them.
                for (outcome, ..) in &mut done {
                    *outcome = Err(io::Error::new(e.kind(), e.to_string()));
                }
            }
        }
        for (outcome, line, reply) in done {
            if let Ok(path) = &outcome {
                let _ = writeln!(log, "{line} as {}", path.display());
            }
            // The session may be gone (the client hung up).
            let _ = reply.send(outcome);
        }
        let _ = io::stderr().write_all(&log);
        log.clear();
    }
}

impl Maildir {
    fn create(root: &Path, hostname: &str) -> io::Result<Maildir> {
        for sub in ["tmp", "new", "cur"] {
            private_dirs().create(root.join(sub))?;
        }
        Ok(Maildir {
            root: root.to_path_buf(),
            new_dir: File::open(root.join("new"))?,
            // Maildir names escape `/` and `:` in the host part.
            host: hostname.replace('/', "\\057").replace(':', "\\072"),
        })
    }

    /// What making one message durable costs here: the median of nine
    /// fsyncs of a probe file in `tmp/`, each with one of `new/`.
    fn sync_cost(&self) -> io::Result<Duration> {
        let probe = self
            .root
            .join(format!("tmp/.sync-probe.P{}", std::process::id()));
        let timed = || -> io::Result<Vec<Duration>> {
            let mut file = private_file().create(true).truncate(true).open(&probe)?;
            let mut once = || {
                file.write_all(b"x")?;
                let start = Instant::now();
                file.sync_all()?;
                self.new_dir.sync_all()?;
                Ok(start.elapsed())
            };
            (0..9).map(|_| once()).collect()
        };
        let times = timed();
        let _ = fs::remove_file(&probe);
        let mut times = times?;
        times.sort_unstable();
        Ok(times[4])
    }
}

impl Spool {
    /// Appends content.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Writes the rest, fsyncs and renames into `new/`: durable once `new/`
    /// is fsynced. The final path.
    fn finish(&mut self, maildir: &Maildir) -> io::Result<PathBuf> {
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        let new = maildir.root.join("new").join(&self.name);
        fs::rename(&self.tmp, &new)?;
        self.tmp = PathBuf::new();
        Ok(new)
    }
}

impl Drop for Spool {
    /// Whatever failed (a write, the fsync, the rename) or was aborted,
    /// the file in `tmp/` goes.
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `create_dir_all` with mode `0700` on Unix.
pub fn private_dirs() -> fs::DirBuilder {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b
}

/// Write-only file options with mode `0600` on Unix.
pub fn private_file() -> fs::OpenOptions {
    let mut o = File::options();
    o.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}
