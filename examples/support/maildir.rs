//! Maildir delivery: each message is written to `tmp/UNIQUE` while it
//! arrives, then fsynced and renamed to `new/UNIQUE` once complete, so a
//! reader of `new/` never sees a partial message and a rejected or aborted
//! one leaves nothing behind.

use std::collections::hash_map::RandomState;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A Maildir (`tmp/`, `new/`, `cur/` under one directory).
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    /// This host's name with `/` and `:` escaped, for unique names.
    host: String,
}

/// A message being written to `tmp/`. Dropping it without
/// [`Spool::commit`] deletes the file.
pub struct Spool {
    file: Option<BufWriter<File>>,
    tmp: PathBuf,
    new: PathBuf,
    /// A short delivery id, for the `Received:` field and the reply.
    id: String,
}

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
            fs::create_dir_all(root.join(sub))?;
        }
        // Maildir names escape `/` and `:` in the host part.
        let host = hostname.replace('/', "\\057").replace(':', "\\072");
        Ok(Maildir {
            root: root.to_path_buf(),
            host,
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
            std::process::id(),
            n,
            random_u64(),
            self.host
        );
        let tmp = self.root.join("tmp").join(&unique);
        let new = self.root.join("new").join(&unique);
        let file = File::options().write(true).create_new(true).open(&tmp)?;
        Ok(Spool {
            file: Some(BufWriter::with_capacity(64 * 1024, file)),
            tmp,
            new,
            id: format!("{:X}{:06X}", now.as_secs(), n & 0xFF_FFFF),
        })
    }
}

impl Spool {
    /// The delivery id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.write_all(bytes),
            None => Err(io::Error::other("spool already closed")),
        }
    }

    /// Makes the message durable and visible: flush, fsync, rename into
    /// `new/`, fsync `new/` (so the rename itself survives a crash before
    /// the 250 goes out, RFC 5321 §6.1). Returns the final path.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("spool already closed"))?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.new)?;
        if let Some(dir) = self.new.parent() {
            File::open(dir)?.sync_all()?;
        }
        // Committed: nothing left for Drop to delete.
        self.tmp = PathBuf::new();
        Ok(std::mem::take(&mut self.new))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
