//! Maildir delivery: each message is written to `tmp/UNIQUE` (while it
//! arrives, or at the end when it is small), then fsynced and renamed to
//! `new/UNIQUE` once complete, so a reader of `new/` never sees a partial
//! message and a rejected or aborted one leaves nothing behind (nor does
//! a failed write, fsync or rename). Directories are created `0700` and
//! messages `0600` on Unix: mail is private to the server's user.

use std::collections::hash_map::RandomState;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A Maildir (`tmp/`, `new/`, `cur/` under one directory).
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    tmp: PathBuf,
    new: PathBuf,
    /// `new/`, kept open for the fsync after renames.
    new_dir: File,
    /// This host's name with `/` and `:` escaped, for unique names.
    host: String,
    /// This process's id, for unique names.
    pid: u32,
}

/// A message being received. Small messages stay in memory until
/// [`Spool::finish`] writes them out in one go; beyond [`SPILL`] octets
/// the file in `tmp/` is created and written as content arrives. Dropping
/// a spool before `finish` deletes any file it created.
pub struct Spool {
    /// Created once the message outgrows [`SPILL`], or at `finish`.
    file: Option<File>,
    /// Content not written to the file yet.
    buf: Vec<u8>,
    tmp: PathBuf,
    new: PathBuf,
    /// A short delivery id, for the `Received:` field and the reply.
    id: String,
    /// Set once renamed into `new/`: nothing left for Drop to delete.
    done: bool,
    /// The file in `tmp/` exists: Drop deletes it unless `done`.
    created: bool,
}

/// How much content a spool holds in memory before it starts writing to
/// its file in `tmp/` (a typical message is written with one `write`).
pub const SPILL: usize = 64 * 1024;

/// Fsyncs timed by [`Maildir::sync_cost`].
// Only the tokio example chooses where to deliver.
#[allow(dead_code)]
const PROBES: usize = 9;

/// Deliveries by this process, for unique names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random 64-bit value from the standard library's per-process hash keys
/// (no `rand` crate needed for unique names and CRAM-MD5 nonces).
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.load(Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

impl Maildir {
    /// Opens (creating as needed) the Maildir at `root`.
    pub fn create(root: &Path, hostname: &str) -> io::Result<Maildir> {
        for sub in ["tmp", "new", "cur"] {
            private_dirs().create(root.join(sub))?;
        }
        // Maildir names escape `/` and `:` in the host part.
        let host = hostname.replace('/', "\\057").replace(':', "\\072");
        let new = root.join("new");
        Ok(Maildir {
            root: root.to_path_buf(),
            tmp: root.join("tmp"),
            new_dir: File::open(&new)?,
            new,
            host,
            pid: std::process::id(),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts a message in `tmp/` under a fresh unique name
    /// (`SECONDS.MmicrosPpidQcounterRrandom.HOST`).
    pub fn spool(&self) -> io::Result<Spool> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let unique = format!(
            "{}.M{}P{}Q{}R{:016x}.{}",
            now.as_secs(),
            now.subsec_micros(),
            self.pid,
            n,
            random_u64(),
            self.host
        );
        let tmp = self.tmp.join(&unique);
        let new = self.new.join(&unique);
        Ok(Spool {
            file: None,
            buf: Vec::with_capacity(4096),
            tmp,
            new,
            id: format!("{:X}{:06X}", now.as_secs(), n & 0xFF_FFFF),
            done: false,
            created: false,
        })
    }

    /// What making one message durable costs on this file system: the
    /// median of a few fsyncs of a probe file in `tmp/` plus one of
    /// `new/`. A memory file system (tmpfs) answers in a microsecond or
    /// two, a disk in hundreds.
    // Only the tokio example chooses where to deliver.
    #[allow(dead_code)]
    pub fn sync_cost(&self) -> io::Result<Duration> {
        let probe = self.tmp.join(format!(".sync-probe.P{}", self.pid));
        let mut file = private_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)?;
        let mut times = Vec::with_capacity(PROBES);
        let mut timed = || -> io::Result<()> {
            for _ in 0..PROBES {
                file.write_all(b"x")?;
                let start = Instant::now();
                file.sync_all()?;
                self.new_dir.sync_all()?;
                times.push(start.elapsed());
            }
            Ok(())
        };
        let outcome = timed();
        let _ = fs::remove_file(&probe);
        outcome?;
        times.sort_unstable();
        Ok(times[PROBES / 2])
    }

    /// Makes the renames into `new/` so far durable (fsync of the
    /// directory).
    pub fn sync_new(&self) -> io::Result<()> {
        self.new_dir.sync_all()
    }
}

impl Spool {
    /// The delivery id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.done {
            return Err(io::Error::other("spool already closed"));
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= SPILL {
            self.spill()?;
        }
        Ok(())
    }

    /// The delivery id, and the in-memory part of the message to append
    /// to directly (the trace fields, which name the id): like
    /// [`Spool::write`] without the spill check, which the next `write` or
    /// `finish` makes.
    pub fn id_and_buffer(&mut self) -> (&str, &mut Vec<u8>) {
        (&self.id, &mut self.buf)
    }

    /// Writes what is buffered to the file in `tmp/`, creating it first.
    fn spill(&mut self) -> io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let file = private_file()
                    .write(true)
                    .create_new(true)
                    .open(&self.tmp)?;
                self.created = true;
                self.file.insert(file)
            }
        };
        file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// The message's file, complete: written out, fsynced and renamed into
    /// `new/`. The rename is durable only after [`Maildir::sync_new`];
    /// several messages may share one (group commit). Returns the final
    /// path.
    pub fn finish(&mut self) -> io::Result<PathBuf> {
        if self.done {
            return Err(io::Error::other("spool already closed"));
        }
        self.spill()?;
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        fs::rename(&self.tmp, &self.new)?;
        self.done = true;
        Ok(std::mem::take(&mut self.new))
    }
}

impl Drop for Spool {
    /// Whatever failed (a write, the fsync, the rename) or was aborted,
    /// the file in `tmp/` goes.
    fn drop(&mut self) {
        if !self.done && self.created {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `create_dir_all` with mode `0700` on Unix.
fn private_dirs() -> fs::DirBuilder {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b
}

/// File options with mode `0600` on Unix.
fn private_file() -> fs::OpenOptions {
    let mut o = File::options();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}
