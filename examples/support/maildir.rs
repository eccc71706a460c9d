//! Maildir delivery, for both example servers: a message is kept in
//! memory as it arrives (in `tmp/UNIQUE` once it outgrows 64 KiB), then
//! written to `tmp/UNIQUE`, flushed to the disk, renamed to `new/UNIQUE`
//! and `new/` fsynced, all before the `250` (RFC 5321 §6.1); a reader of
//! `new/` never sees a partial message, even after a crash, and a
//! refused, aborted or failed one leaves nothing behind. Directories are
//! `0700`, messages `0600`.
//!
//! Where an fsync costs disk time (timed at start-up and printed), a
//! delivery thread commits in groups: the messages of every session that
//! are waiting go to `tmp/` together, one flush makes the group durable,
//! then the renames and one fsync of `new/` — two flushes a group,
//! however big, and the sessions never touch the disk (creating a file
//! waits for the journal's commit). The flush is a `syncfs` (Linux) or
//! concurrent fsyncs of the group's files, which the journal commits
//! together: whichever has lately cost less per message, trying the other
//! now and then (`syncfs` also flushes everyone else's writes on a shared
//! disk, the fsyncs only ours; which wins moves with the disk). Where
//! an fsync is free (tmpfs), the session's own thread delivers, a hop to
//! another thread costing more. `ESMTP_EXAMPLE_DELIVERY=thread|inline`
//! forces the choice.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

/// Below this cost of an fsync, deliver inline (a tmpfs takes 1–3 µs,
/// the disks measured 250 µs and more).
const INLINE_SYNC: Duration = Duration::from_micros(20);
/// The most messages one group commit takes.
const GROUP_MAX: usize = 256;
/// A message larger than this goes to its file in `tmp/` as it arrives
/// (a thousand sessions in DATA hold 64 MiB at most).
const SPILL: usize = 64 * 1024;
/// The longest a group waits for transactions still under way, however
/// slow a commit is.
const GATHER_MAX: Duration = Duration::from_millis(5);
/// Threads that fsync a group's files at once.
const FSYNC_THREADS: usize = 16;
/// One group in this many tries the flush that is not the cheaper one.
const EXPLORE: u32 = 16;
/// Deliveries by this process, for unique names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where messages are made durable: the Maildir, and the delivery thread
/// when there is one.
pub struct Store {
    maildir: Arc<Maildir>,
    thread: Option<Arc<Committer>>,
}

struct Maildir {
    root: PathBuf,
    /// `new/`, kept open for the fsync after renames.
    new_dir: File,
    /// `tmp/`, kept open for `syncfs`.
    tmp_dir: File,
    /// This host's name with `/` and `:` escaped, for unique names.
    host: String,
}

/// The delivery thread's queue.
struct Committer {
    state: Mutex<Queue>,
    /// Signalled when a job arrives or a transaction ends.
    wake: Condvar,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// Transactions that have a recipient for this store and have not
    /// handed over their message (or ended) yet: a group waits for them,
    /// briefly, so that one flush serves every session.
    open: usize,
    /// How long to wait for them: half of what a commit took lately.
    gather: Duration,
}

/// A message for the delivery thread, its log line, and where the outcome
/// goes.
struct Job(Spool, String, oneshot::Sender<io::Result<PathBuf>>);

/// The outcome of a delivery: now (inline), or from the delivery thread.
pub enum Pending {
    Done(io::Result<PathBuf>),
    Waiting(oneshot::Receiver<io::Result<PathBuf>>),
}

/// A transaction under way towards a [`Store`]: while it is, a group
/// commit may wait a moment for its message. Dropped when the transaction
/// ends without one.
pub struct Ticket(Option<Arc<Committer>>);

/// A message being received: in memory, or in `tmp/` once it is large.
/// Dropped before it is delivered, its file goes.
pub struct Spool {
    maildir: Arc<Maildir>,
    buf: Vec<u8>,
    file: Option<File>,
    /// `tmp/UNIQUE` once the file exists, emptied once renamed into `new/`.
    tmp: PathBuf,
    name: String,
    /// A short delivery id, for the `Received:` field and the reply.
    pub id: String,
}

impl Store {
    /// Opens (creating as needed) the Maildir at `root`, times an fsync,
    /// and chooses where to deliver, saying so on stderr with the cost.
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
        eprintln!(
            "delivering on a group-commit thread ({how}; a group is flushed at once, \
             by syncfs or concurrent fsyncs, whichever costs less)"
        );
        let committer = Arc::new(Committer {
            state: Mutex::new(Queue {
                jobs: VecDeque::new(),
                open: 0,
                gather: (cost / 2).min(GATHER_MAX),
            }),
            wake: Condvar::new(),
        });
        let (m, c) = (Arc::clone(&maildir), Arc::clone(&committer));
        std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || group_commit(&m, &c))
            .map_err(|e| format!("cannot start the delivery thread: {e}"))?;
        Ok(Store {
            maildir,
            thread: Some(committer),
        })
    }

    /// A transaction now has a recipient here: groups may wait for it.
    pub fn ticket(&self) -> Ticket {
        if let Some(c) = &self.thread {
            c.lock().open += 1;
        }
        Ticket(self.thread.clone())
    }

    /// Starts a message under a fresh unique name
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
        let id = format!("{secs:X}{:06X}", n & 0xFF_FFFF);
        Ok(Spool {
            maildir: Arc::clone(&self.maildir),
            buf: Vec::new(),
            file: None,
            tmp: self.maildir.root.join("tmp").join(&name),
            name,
            id,
        })
    }

    /// Makes `spool` durable in `new/`; `log` goes to stderr with
    /// ` as PATH` once it is. The transaction's `ticket` ends with it.
    pub fn deliver(&self, mut spool: Spool, ticket: Option<Ticket>, log: String) -> Pending {
        let Some(committer) = &self.thread else {
            let outcome = spool
                .write_out()
                .and_then(|()| spool.file.as_ref().map_or(Ok(()), File::sync_all))
                .and_then(|()| spool.rename())
                .and_then(|path| {
                    self.maildir.new_dir.sync_all()?;
                    let _ =
                        io::stderr().write_all(format!("{log} as {}\n", path.display()).as_bytes());
                    Ok(path)
                });
            return Pending::Done(outcome);
        };
        let (tx, rx) = oneshot::channel();
        let mut queue = committer.lock();
        if let Some(mut ticket) = ticket {
            // Handed over: counted in `jobs` now.
            ticket.0 = None;
            queue.open = queue.open.saturating_sub(1);
        }
        queue.jobs.push_back(Job(spool, log, tx));
        drop(queue);
        committer.wake.notify_one();
        Pending::Waiting(rx)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let mut queue = c.lock();
            queue.open = queue.open.saturating_sub(1);
            drop(queue);
            c.wake.notify_one();
        }
    }
}

impl Committer {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere leaves the queue itself consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next group: once a message waits, until every transaction
    /// under way has handed over its message (or ended), or the gathering
    /// time is up.
    fn next_group(&self) -> (Vec<Job>, Duration) {
        let mut queue = self.lock();
        while queue.jobs.is_empty() {
            queue = self.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        let deadline = Instant::now() + queue.gather;
        while queue.open > 0 && queue.jobs.len() < GROUP_MAX {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            queue = self
                .wake
                .wait_timeout(queue, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let n = queue.jobs.len().min(GROUP_MAX);
        (queue.jobs.drain(..n).collect(), queue.gather)
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

/// The delivery thread: takes a group, writes each message to `tmp/`,
/// flushes them all at once, renames each into `new/`, fsyncs `new/` once,
/// and only then lets the sessions answer. The group's log lines go out
/// in one write (one per message would cost as much as the delivery).
fn group_commit(maildir: &Maildir, committer: &Committer) {
    let mut log = Vec::new();
    let mut flusher = Flusher::new();
    loop {
        let (group, gather) = committer.next_group();
        let started = Instant::now();
        let how = flusher.pick();
        let n = group.len();
        let mut done: Vec<_> = group
            .into_iter()
            .map(|Job(mut spool, line, reply)| {
                let written = spool.write_out();
                (spool, written, line, reply)
            })
            .collect();
        let files = done
            .iter()
            .filter_map(|(s, w, ..)| w.as_ref().ok().and(s.file.as_ref()));
        if let Err(e) = flusher.flush(how, &maildir.tmp_dir, files) {
            for (_, written, ..) in &mut done {
                *written = Err(io::Error::new(e.kind(), e.to_string()));
            }
        }
        let mut renamed: Vec<_> = done
            .into_iter()
            .map(|(mut spool, written, line, reply)| {
                (written.and_then(|()| spool.rename()), line, reply)
            })
            .collect();
        if renamed.iter().any(|(o, ..)| o.is_ok()) {
            if let Err(e) = maildir.new_dir.sync_all() {
                // The renames may not survive a crash: no 250 for them,
                // and no copy left for a reader beside the retried one.
                for (outcome, ..) in &mut renamed {
                    if let Ok(path) = outcome {
                        let _ = fs::remove_file(path);
                    }
                    *outcome = Err(io::Error::new(e.kind(), e.to_string()));
                }
            }
        }
        for (outcome, line, reply) in renamed {
            if let Ok(path) = &outcome {
                let _ = writeln!(log, "{line} as {}", path.display());
            }
            // The session may be gone (the client hung up).
            let _ = reply.send(outcome);
        }
        let _ = io::stderr().write_all(&log);
        log.clear();
        flusher.record(how, started.elapsed(), n);
        // Half of the last commits' time, smoothed: waiting longer for a
        // straggler would cost more than flushing it in the next group.
        let took = started.elapsed().min(GATHER_MAX * 2) / 2;
        committer.lock().gather = (gather * 3 + took) / 4;
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
            tmp_dir: File::open(root.join("tmp"))?,
            // Maildir names escape `/` and `:` in the host part.
            host: hostname.replace('/', "\\057").replace(':', "\\072"),
        })
    }

    /// Creates `tmp/NAME` (`0600`), relative to the open `tmp/`: no walk
    /// of the whole path for every message.
    fn create_tmp(&self, name: &str) -> io::Result<File> {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.tmp_dir, name, flags, Mode::RUSR | Mode::WUSR)?;
            Ok(File::from(fd))
        }
        #[cfg(not(unix))]
        private_file()
            .create_new(true)
            .open(self.root.join("tmp").join(name))
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

/// A group's flush, by `syncfs` or by concurrent fsyncs, choosing by
/// what each cost per message lately.
struct Flusher {
    /// What a commit cost per message, smoothed, by `syncfs` and by
    /// fsyncs; `None` until tried.
    cost: [Option<Duration>; 2],
    groups: u32,
    /// Files to fsync, and where each says it is done.
    pool: Option<mpsc::Sender<(File, mpsc::Sender<io::Result<()>>)>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flush {
    Syncfs = 0,
    Fsyncs = 1,
}

impl Flusher {
    fn new() -> Flusher {
        let (tx, rx) = mpsc::channel::<(File, mpsc::Sender<io::Result<()>>)>();
        let rx = Arc::new(Mutex::new(rx));
        let started = (0..FSYNC_THREADS).filter(|i| {
            let rx = Arc::clone(&rx);
            let worker = move || loop {
                let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((file, done)) = job else { return };
                let _ = done.send(file.sync_all());
            };
            let builder = std::thread::Builder::new().name(format!("fsync-{i}"));
            builder.spawn(worker).is_ok()
        });
        // Without threads, `syncfs` alone (or an fsync at a time).
        let pool = (started.count() > 0).then_some(tx);
        Flusher {
            cost: [None; 2],
            groups: 0,
            pool,
        }
    }

    /// The cheaper way lately; the other one group in [`EXPLORE`], and
    /// each until it has been tried.
    fn pick(&mut self) -> Flush {
        self.groups = self.groups.wrapping_add(1);
        if !cfg!(target_os = "linux") {
            return Flush::Fsyncs;
        }
        let cheaper = match self.cost {
            [None, _] => Flush::Syncfs,
            [_, None] => Flush::Fsyncs,
            [Some(s), Some(f)] if s <= f => Flush::Syncfs,
            _ => Flush::Fsyncs,
        };
        match (self.groups.is_multiple_of(EXPLORE), cheaper) {
            (false, how) => how,
            (true, Flush::Syncfs) => Flush::Fsyncs,
            (true, Flush::Fsyncs) => Flush::Syncfs,
        }
    }

    fn record(&mut self, how: Flush, took: Duration, messages: usize) {
        let per = took / u32::try_from(messages.max(1)).unwrap_or(u32::MAX);
        let cost = &mut self.cost[how as usize];
        *cost = Some(cost.map_or(per, |c| (c * 3 + per) / 4));
    }

    /// Makes `files` durable.
    fn flush<'a>(
        &self,
        how: Flush,
        tmp_dir: &File,
        mut files: impl Iterator<Item = &'a File>,
    ) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if how == Flush::Syncfs {
            let _ = files;
            return rustix::fs::syncfs(tmp_dir).map_err(io::Error::from);
        }
        let _ = (how, tmp_dir);
        let Some(pool) = &self.pool else {
            return files.try_for_each(File::sync_all);
        };
        let (done, results) = mpsc::channel();
        let mut sent = 0;
        for file in files {
            pool.send((file.try_clone()?, done.clone()))
                .map_err(|_| io::Error::other("fsync threads gone"))?;
            sent += 1;
        }
        drop(done);
        let mut got = 0;
        for result in results.iter().take(sent) {
            result?;
            got += 1;
        }
        match got == sent {
            true => Ok(()),
            false => Err(io::Error::other("fsync threads gone")),
        }
    }
}

impl Spool {
    /// Appends content; a large message goes to its file as it arrives.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > SPILL {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes what is in memory to the file in `tmp/`, creating it.
    fn write_out(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(self.maildir.create_tmp(&self.name)?);
        }
        if let Some(file) = &mut self.file {
            file.write_all(&self.buf)?;
        }
        self.buf = Vec::new();
        Ok(())
    }

    /// Renames the file into `new/`: durable once `new/` is fsynced. The
    /// final path.
    fn rename(&mut self) -> io::Result<PathBuf> {
        let maildir = &self.maildir;
        #[cfg(unix)]
        rustix::fs::renameat(&maildir.tmp_dir, &self.name, &maildir.new_dir, &self.name)?;
        #[cfg(not(unix))]
        fs::rename(&self.tmp, maildir.root.join("new").join(&self.name))?;
        self.tmp = PathBuf::new();
        Ok(maildir.root.join("new").join(&self.name))
    }
}

impl Drop for Spool {
    /// Whatever failed (a write, the flush, the rename) or was aborted,
    /// the file in `tmp/` goes.
    fn drop(&mut self) {
        if self.file.is_some() && !self.tmp.as_os_str().is_empty() {
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
