//! File-system helpers: bounded reads, atomic writes (a new file — unnamed with `O_TMPFILE`
//! where possible — put in place by rename in the same directory, never writing through an
//! existing file, which may be an ostree hardlink), removal of stale temporary files of killed
//! runs, confined resolution below a directory (`openat2`), and advisory locks.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use rustix::fs::{
    fchmod, flock, fstat, fsync, linkat, openat, openat2, renameat, statat, unlinkat, AtFlags, Dir,
    FileType, FlockOperation, Mode, OFlags, ResolveFlags, CWD,
};
use rustix::io::Errno;

use crate::formats::json::MAX_CONFIG_BYTES;

/// Read a config file (or standard input for `-`), refusing anything over [`MAX_CONFIG_BYTES`].
pub fn read_config(target: &str) -> Result<Vec<u8>> {
    if target == "-" {
        return read_bounded(&mut std::io::stdin().lock(), "<stdin>");
    }
    let f = std::fs::File::open(target).with_context(|| format!("{target}: cannot open"))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    read_opened(f, len, target)
}

/// Read an open config file of `len` bytes (as its metadata says) whole, bounded.
fn read_opened(mut f: std::fs::File, len: u64, target: &str) -> Result<Vec<u8>> {
    if len > MAX_CONFIG_BYTES {
        bail!(
            "{target}: byte {}: the file is {len} bytes, more than the {MAX_CONFIG_BYTES} a config may be",
            MAX_CONFIG_BYTES + 1
        );
    }
    // Sized once from the length (no doubling copies of a 20 MB bootstrap.ign); a file that
    // grows meanwhile is still bounded.
    let mut bytes = Vec::with_capacity(len as usize + 1);
    (&mut f)
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{target}: cannot read"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{target}: more than the {MAX_CONFIG_BYTES} bytes a config may be");
    }
    Ok(bytes)
}

/// Bytes read from OS image layers and root file system archives by this process.
static IMAGE_BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// How many bytes of image layers, archives and boot media this process has read ([`Counted`]
/// readers, [`count_image_bytes`]): an image is read at most once per command, and a medium only
/// where it must be, which tests check with this.
pub fn image_bytes_read() -> u64 {
    IMAGE_BYTES_READ.load(Ordering::Relaxed)
}

/// Count `n` bytes read from an image by other means than a [`Counted`] reader (positioned reads
/// of boot media).
pub fn count_image_bytes(n: u64) {
    IMAGE_BYTES_READ.fetch_add(n, Ordering::Relaxed);
}

/// A reader of an image layer or archive whose bytes are counted in [`image_bytes_read`].
#[derive(Debug)]
pub struct Counted<R>(pub R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        IMAGE_BYTES_READ.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Files at least this large are mapped ([`read_config_mapped`]) instead of read.
const MAP_AT: u64 = 4 << 20;

/// A config file's bytes: read into memory, or for a large file mapped (no copy of a 20 MB
/// bootstrap.ign through `read`, no page faults one by one).
#[derive(Clone, Debug)]
pub enum FileBytes {
    /// Read.
    Owned(Vec<u8>),
    /// Mapped, read-only and private.
    Mapped(std::sync::Arc<memmap2::Mmap>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Owned(v) => v,
            FileBytes::Mapped(m) => m,
        }
    }
}

impl From<Vec<u8>> for FileBytes {
    fn from(v: Vec<u8>) -> FileBytes {
        FileBytes::Owned(v)
    }
}

/// [`read_config`], mapping a regular file of [`MAP_AT`] bytes or more, as ripgrep does for
/// large single files. The mapping is private and read-only; modlayer never writes through a
/// file (it writes a new one and renames it), so only another program truncating the file while
/// it is read could disturb it.
pub fn read_config_mapped(target: &str) -> Result<FileBytes> {
    if target == "-" {
        return read_config(target).map(FileBytes::Owned);
    }
    // Opened once: a named pipe gives its bytes to one reader only.
    let f = std::fs::File::open(target).with_context(|| format!("{target}: cannot open"))?;
    let meta = f
        .metadata()
        .with_context(|| format!("{target}: cannot open"))?;
    if meta.is_file() && meta.len() >= MAP_AT && meta.len() <= MAX_CONFIG_BYTES {
        // SAFETY: a private read-only mapping of a regular file; see above.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&f) };
        if let Ok(m) = map {
            return Ok(FileBytes::Mapped(std::sync::Arc::new(m)));
        }
    }
    read_opened(f, meta.len(), target).map(FileBytes::Owned)
}

/// Read a stream whole, refusing more than [`MAX_CONFIG_BYTES`]; `name` names it in errors.
pub fn read_bounded(r: &mut dyn Read, name: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{name}: cannot read"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{name}: more than the {MAX_CONFIG_BYTES} bytes a config may be");
    }
    Ok(bytes)
}

/// Replace `path` with `bytes` atomically: a new file in the same directory (unnamed with
/// `O_TMPFILE` where the file system allows, so a killed run leaves nothing), synced, then put in
/// place by a rename. An existing file's permission bits are kept; a symlink is refused.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, None, |w| {
        w.write_all(bytes)
            .with_context(|| format!("{}: cannot write", path.display()))
            .map(|()| ((), true))
    })
}

/// Replace `path` atomically with what `fill` writes: a new file in the same directory
/// ([`Staged`]), synced, then renamed over it. The permission bits are `path`'s own, else
/// `like`'s, else 0644; a symlink or a non-regular file at `path` is refused. Nothing is renamed
/// when `fill` fails or says not to (the `bool` it returns with its result). Stale temporary
/// files of killed runs in that directory are removed first ([`clean_stale`]).
pub fn write_atomic_with<T>(
    path: &Path,
    like: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> Result<(T, bool)>,
) -> Result<T> {
    let shown = path.display();
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            bail!("{shown}: is a symbolic link; name the file it points to")
        }
        Ok(m) if !m.is_file() => bail!("{shown}: is not a regular file"),
        Ok(m) => Some(m),
        Err(_) => like.and_then(|l| std::fs::metadata(l).ok()),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        bail!("{shown}: not a file name");
    };
    let dir_fd = rustix::fs::open(dir, dir_flags(), Mode::empty())
        .map_err(|e| anyhow!("{shown}: cannot open the directory {}: {e}", dir.display()))?;
    let mode = existing.map_or(0o644, |m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    });
    write_staged(&dir_fd, &shown.to_string(), name, mode, true, true, fill)
}

/// Write a new file `name` in the open directory `dir` with what `fill` writes: staged
/// ([`Staged`]), synced, mode set, then put in place (renamed over an existing file when
/// `replace`, else linked only if the name is free: an existing file is kept). Stale temporary
/// files in `dir` are removed first. `shown` names the file in errors.
pub fn write_in<T>(
    dir: &OwnedFd,
    shown: &str,
    name: &std::ffi::OsStr,
    mode: u32,
    replace: bool,
    fill: impl FnOnce(&mut dyn Write) -> Result<(T, bool)>,
) -> Result<T> {
    write_staged(dir, shown, name, mode, replace, false, fill)
}

/// [`write_in`]; with `deferrable`, the directory sync waits for the end of an open [`Batch`]
/// (whole-file replacements only: writes whose order matters, such as an image's blobs before
/// its index, sync at once).
fn write_staged<T>(
    dir: &OwnedFd,
    shown: &str,
    name: &std::ffi::OsStr,
    mode: u32,
    replace: bool,
    deferrable: bool,
    fill: impl FnOnce(&mut dyn Write) -> Result<(T, bool)>,
) -> Result<T> {
    clean_stale(dir);
    let mut staged =
        Staged::new(dir).map_err(|e| anyhow!("{shown}: cannot create a temporary file: {e}"))?;
    let filled = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut staged.file);
        fill(&mut w).and_then(|out| {
            w.flush()
                .with_context(|| format!("{shown}: cannot write"))
                .map(|()| out)
        })
    };
    let (out, keep) = match filled {
        Ok(x) => x,
        Err(e) => {
            staged.discard(dir);
            return Err(e);
        }
    };
    if !keep {
        staged.discard(dir);
        return Ok(out);
    }
    let done = fchmod(&staged.file, Mode::from_raw_mode(mode))
        .map_err(std::io::Error::from)
        .and_then(|()| staged.file.sync_all());
    if let Err(e) = done {
        staged.discard(dir);
        bail!("{shown}: cannot write: {e}");
    }
    staged
        .commit(dir, name, replace)
        .map_err(|e| anyhow!("{shown}: cannot put the new file in place: {e}"))?;
    if deferrable {
        sync_dir(dir)
    } else {
        fsync(dir).map_err(Into::into)
    }
    .map_err(|e| anyhow!("{shown}: cannot sync its directory: {e}"))?;
    Ok(out)
}

/// Directories whose renames wait for one `fsync` at the end of a [`Batch`]; `None` outside one.
type DirKey = (u64, u64);
static BATCH: std::sync::Mutex<Option<std::collections::BTreeMap<DirKey, OwnedFd>>> =
    std::sync::Mutex::new(None);

/// Make the renames in `dir` durable: now, or once at the end of the open [`Batch`].
fn sync_dir(dir: &OwnedFd) -> std::io::Result<()> {
    let mut batch = BATCH.lock().unwrap_or_else(|p| p.into_inner());
    let Some(dirs) = batch.as_mut() else {
        drop(batch);
        return fsync(dir).map_err(Into::into);
    };
    let st = fstat(dir)?;
    let (dev, ino) = (st.st_dev, st.st_ino);
    if let std::collections::btree_map::Entry::Vacant(e) = dirs.entry((dev, ino)) {
        e.insert(dir.try_clone()?);
    }
    Ok(())
}

/// Many writes in one run (`apply --in-place` over a thousand configs): each file is still synced
/// before its rename, but each directory is synced once, when the batch ends ([`Batch::finish`]),
/// after all of its renames, instead of once per file.
#[must_use = "finish the batch to sync its directories"]
pub struct Batch(());

impl Batch {
    /// Start deferring directory syncs (nested batches are one).
    pub fn start() -> Batch {
        let mut batch = BATCH.lock().unwrap_or_else(|p| p.into_inner());
        batch.get_or_insert_with(Default::default);
        Batch(())
    }

    /// Sync every directory written in the batch, once each; the first failure is returned.
    pub fn finish(self) -> Result<()> {
        let dirs = BATCH
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        let mut first = Ok(());
        for fd in dirs.values() {
            if let Err(e) = fsync(fd) {
                if first.is_ok() {
                    first = Err(anyhow!("cannot sync a directory written to: {e}"));
                }
            }
        }
        first
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // A batch dropped without finish (an early return) still syncs what it deferred.
        let dirs = BATCH.lock().unwrap_or_else(|p| p.into_inner()).take();
        for fd in dirs.unwrap_or_default().values() {
            let _ = fsync(fd);
        }
    }
}

/// Flags to open a directory for `*at` calls and `fsync`.
fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// The prefix of every temporary file modlayer makes.
pub const TEMP_PREFIX: &str = ".modlayer-";

/// A name for a new temporary file: `.modlayer-<pid>-<n>-<nanos>` (the pid lets
/// [`clean_stale`] tell a live run's file from a killed one's).
pub fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{TEMP_PREFIX}{}-{n}-{nanos:08x}", std::process::id())
}

/// When this run started (the first time modlayer touched the file system).
fn run_start() -> SystemTime {
    static START: OnceLock<SystemTime> = OnceLock::new();
    *START.get_or_init(SystemTime::now)
}

/// Remove stale temporary files in `dir`: `.modlayer-*` regular files (or empty directories)
/// older than this run whose run is gone (the pid in the name is not alive, or there is none).
/// Failures are ignored: a file that cannot be removed is only left as it was.
pub fn clean_stale(dir: &OwnedFd) {
    // Once per directory per run: a stale file is older than the run, so a second scan of the
    // same directory finds nothing new (and a thousand files in one folder would make the scans
    // quadratic).
    static SCANNED: std::sync::Mutex<std::collections::BTreeSet<DirKey>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    if let Ok(st) = fstat(dir) {
        let key = (st.st_dev, st.st_ino);
        let mut scanned = SCANNED.lock().unwrap_or_else(|p| p.into_inner());
        if !scanned.insert(key) {
            return;
        }
    }
    let start = run_start();
    let Ok(entries) = Dir::read_from(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Ok(text) = name.to_str() else { continue };
        let Some(rest) = text.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        if let Some(pid) = pid {
            if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
        }
        let Ok(st) = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let mtime = UNIX_EPOCH + std::time::Duration::from_secs(st.st_mtime.max(0) as u64);
        if mtime >= start {
            continue;
        }
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {
                let _ = unlinkat(dir, name, AtFlags::empty());
            }
            FileType::Directory => {
                let _ = unlinkat(dir, name, AtFlags::REMOVEDIR);
            }
            _ => {}
        }
    }
}

/// A new file being written in a directory: unnamed (`O_TMPFILE`) where the file system allows,
/// so a killed run leaves nothing behind; else a `.modlayer-<pid>-…` file created exclusively.
pub struct Staged {
    /// The open file.
    pub file: File,
    /// Its name when it has one (no `O_TMPFILE`).
    name: Option<String>,
}

impl Staged {
    /// Stage a new file in `dir` (mode 0600 until committed).
    pub fn new(dir: &OwnedFd) -> std::io::Result<Staged> {
        let _ = run_start();
        let tmp = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
        if proc_fd_links() {
            match openat(dir, ".", tmp, Mode::from_raw_mode(0o600)) {
                Ok(fd) => {
                    return Ok(Staged {
                        file: File::from(fd),
                        name: None,
                    })
                }
                Err(Errno::OPNOTSUPP) | Err(Errno::ISDIR) | Err(Errno::INVAL) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (name, fd) = create_named(dir)?;
        Ok(Staged {
            file: File::from(fd),
            name: Some(name),
        })
    }

    /// Give the staged file a name in `dir` (a fresh temporary one for an unnamed file).
    fn named(&mut self, dir: &OwnedFd) -> std::io::Result<String> {
        if let Some(n) = &self.name {
            return Ok(n.clone());
        }
        let proc = format!("/proc/self/fd/{}", self.file.as_raw_fd());
        for _ in 0..100 {
            let n = temp_name();
            match linkat(CWD, proc.as_str(), dir, n.as_str(), AtFlags::SYMLINK_FOLLOW) {
                Ok(()) => {
                    self.name = Some(n.clone());
                    return Ok(n);
                }
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Errno::EXIST.into())
    }

    /// Put the staged file in place as `name`: renamed over what is there when `replace`, else
    /// linked only when the name is free (an existing file wins and the staged one is dropped).
    pub fn commit(
        mut self,
        dir: &OwnedFd,
        name: &std::ffi::OsStr,
        replace: bool,
    ) -> std::io::Result<()> {
        if !replace && self.name.is_none() {
            let proc = format!("/proc/self/fd/{}", self.file.as_raw_fd());
            return match linkat(CWD, proc.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW) {
                Ok(()) | Err(Errno::EXIST) => Ok(()),
                Err(e) => Err(e.into()),
            };
        }
        let tmp = self.named(dir)?;
        let done = if replace {
            renameat(dir, tmp.as_str(), dir, name)
        } else {
            match linkat(dir, tmp.as_str(), dir, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::EXIST) => Ok(()),
                Err(e) => Err(e),
            }
            .and_then(|()| unlinkat(dir, tmp.as_str(), AtFlags::empty()))
        };
        if done.is_err() {
            let _ = unlinkat(dir, tmp.as_str(), AtFlags::empty());
        }
        done.map_err(Into::into)
    }

    /// Give a staged file a temporary name now (for writes that rename several files at the end).
    pub fn stage_name(&mut self, dir: &OwnedFd) -> std::io::Result<String> {
        self.named(dir)
    }

    /// Drop the staged file (and its temporary name, if it has one).
    pub fn discard(self, dir: &OwnedFd) {
        if let Some(n) = &self.name {
            let _ = unlinkat(dir, n.as_str(), AtFlags::empty());
        }
    }
}

/// Whether `/proc/self/fd` links can be followed (needed to link an `O_TMPFILE` file).
fn proc_fd_links() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

/// Create a new named temporary file in `dir` (never an existing one): its name and fd.
pub fn create_named(dir: &OwnedFd) -> std::io::Result<(String, OwnedFd)> {
    let _ = run_start();
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut tries = 0;
    loop {
        let name = temp_name();
        match openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => return Ok((name, fd)),
            Err(Errno::EXIST) if tries < 100 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Retries of an `openat2` that failed with `EAGAIN` (a concurrent rename during `..` resolution).
const EAGAIN_RETRIES: usize = 32;

/// Open `rel` below the directory `root` with `openat2` and these resolve flags (trees use
/// `RESOLVE_IN_ROOT`, image layouts `RESOLVE_BENEATH`), retrying a spurious `EAGAIN`. The one
/// confined resolution every reader and writer of a directory target uses.
pub fn resolve_at(
    root: &OwnedFd,
    rel: &str,
    flags: OFlags,
    resolve: ResolveFlags,
) -> rustix::io::Result<OwnedFd> {
    let rel = rel.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let mut tries = 0;
    loop {
        match openat2(root, rel, flags, Mode::empty(), resolve) {
            Err(Errno::AGAIN) if tries < EAGAIN_RETRIES => tries += 1,
            other => return other,
        }
    }
}

/// A directory whose every path is resolved beneath it (`RESOLVE_BENEATH`, no magic links):
/// a symlink that leads out of it (absolute, or `..` past it) is refused, never followed. Files
/// are read only when regular (opened non-blocking, so a FIFO never hangs) and never past the
/// size `fstat` gives.
#[derive(Debug)]
pub struct Confined {
    root: OwnedFd,
    name: String,
}

impl Confined {
    /// Open a directory to work beneath.
    pub fn open(dir: &Path) -> Result<Confined> {
        let name = dir.display().to_string();
        let root = rustix::fs::open(dir, dir_flags(), Mode::empty())
            .map_err(|e| anyhow!("{name}: cannot open the directory: {e}"))?;
        Ok(Confined { root, name })
    }

    /// The directory's open descriptor.
    pub fn fd(&self) -> &OwnedFd {
        &self.root
    }

    fn flags() -> ResolveFlags {
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
    }

    fn explain(&self, rel: &str, e: Errno) -> anyhow::Error {
        match e {
            Errno::XDEV => anyhow!(
                "{}: {rel}: a symbolic link on the way leads out of the directory; refusing it",
                self.name
            ),
            Errno::NOENT => anyhow!("{}: {rel}: is missing", self.name),
            Errno::LOOP => anyhow!("{}: {rel}: too many symbolic links", self.name),
            Errno::NOSYS | Errno::PERM => anyhow!(
                "{}: this kernel does not allow openat2 (Linux 5.6 or later is needed); refusing",
                self.name
            ),
            e => anyhow!("{}: {rel}: cannot open: {e}", self.name),
        }
    }

    /// Open a directory beneath the root.
    pub fn dir(&self, rel: &str) -> Result<OwnedFd> {
        resolve_at(&self.root, rel, dir_flags(), Self::flags()).map_err(|e| self.explain(rel, e))
    }

    /// Whether `rel` exists beneath the root (a link leading out is an error).
    pub fn exists(&self, rel: &str) -> Result<bool> {
        match resolve_at(
            &self.root,
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Self::flags(),
        ) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(self.explain(rel, e)),
        }
    }

    /// Open the regular file `rel` for reading: its file and size. Anything else (a FIFO, a
    /// device, a directory, a link out of the root) is refused without blocking.
    pub fn open_regular(&self, rel: &str) -> Result<(File, u64)> {
        let fd = resolve_at(
            &self.root,
            rel,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Self::flags(),
        )
        .map_err(|e| self.explain(rel, e))?;
        let st = fstat(&fd).map_err(|e| anyhow!("{}: {rel}: {e}", self.name))?;
        let t = FileType::from_raw_mode(st.st_mode);
        if t != FileType::RegularFile {
            bail!(
                "{}: {rel}: is {}, not a regular file; refusing it",
                self.name,
                kind_name(t)
            );
        }
        Ok((File::from(fd), u64::try_from(st.st_size).unwrap_or(0)))
    }

    /// Read the regular file `rel` whole, refusing more than `max` bytes (and never reading past
    /// the size the descriptor had when opened).
    pub fn read(&self, rel: &str, max: u64) -> Result<Vec<u8>> {
        let (f, size) = self.open_regular(rel)?;
        if size > max {
            bail!(
                "{}: {rel}: {size} bytes, more than the {max} modlayer reads",
                self.name
            );
        }
        let mut bytes = Vec::with_capacity(size as usize);
        f.take(size)
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: {rel}: cannot read", self.name))?;
        if bytes.len() as u64 != size {
            bail!(
                "{}: {rel}: shorter than its size ({} of {size} bytes)",
                self.name,
                bytes.len()
            );
        }
        Ok(bytes)
    }

    /// Write `bytes` as `rel` beneath the root (its directory must exist): atomically replaced
    /// when `replace`, else only when absent. The permission bits are 0644.
    pub fn write(&self, rel: &str, bytes: &[u8], replace: bool) -> Result<()> {
        let (dir, name) = match rel.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => (".", rel),
        };
        let dir_fd = self.dir(dir)?;
        if let Ok(st) = statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            let t = FileType::from_raw_mode(st.st_mode);
            if t != FileType::RegularFile {
                bail!(
                    "{}: {rel}: is {}, not a regular file; refusing to replace it",
                    self.name,
                    kind_name(t)
                );
            }
            if !replace {
                return Ok(());
            }
        }
        let shown = format!("{}/{rel}", self.name);
        write_in(
            &dir_fd,
            &shown,
            std::ffi::OsStr::new(name),
            0o644,
            replace,
            |w| {
                w.write_all(bytes)
                    .with_context(|| format!("{shown}: cannot write"))
                    .map(|()| ((), true))
            },
        )
    }
}

/// Kind of a file type, for messages.
pub fn kind_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        _ => "an unknown kind of file",
    }
}

/// An advisory lock (`flock`, exclusive) held on a target until dropped.
#[derive(Debug)]
pub struct Lock {
    _fd: OwnedFd,
}

/// How long [`lock`] waits for another run's lock: `MODLAYER_LOCK_TIMEOUT` seconds, else 60.
pub fn lock_timeout() -> Duration {
    std::env::var("MODLAYER_LOCK_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs)
}

/// Take an exclusive advisory lock on `path` (a directory, or a regular file; nothing when it does
/// not exist yet or is a pipe or device), waiting up to `timeout` for another run to let go. A
/// file is replaced by rename when written, so the lock is taken again if the name no longer leads
/// to the locked file. Read the target only after this returns: that read is the one the write is
/// made from.
pub fn lock(path: &Path, timeout: Duration) -> Result<Option<Lock>> {
    let shown = path.display();
    let deadline = Instant::now() + timeout;
    loop {
        // Never open a pipe (that would let its writer go ahead while nobody reads).
        match rustix::fs::stat(path) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile | FileType::Directory => {}
                _ => return Ok(None),
            },
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => bail!("{shown}: cannot look at it to lock: {e}"),
        }
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => bail!("{shown}: cannot open to lock: {e}"),
        };
        let st = fstat(&fd).map_err(|e| anyhow!("{shown}: {e}"))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile | FileType::Directory => {}
            // A pipe or device (`apply <(…)` to standard output) is not replaced: nothing to lock.
            _ => return Ok(None),
        }
        loop {
            match flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(Errno::WOULDBLOCK) | Err(Errno::INTR) => {
                    if Instant::now() >= deadline {
                        bail!(
                            "{shown}: another modlayer run holds its lock; gave up after {} s (MODLAYER_LOCK_TIMEOUT)",
                            timeout.as_secs()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(Errno::NOLCK) | Err(Errno::OPNOTSUPP) => return Ok(None),
                Err(e) => bail!("{shown}: cannot lock: {e}"),
            }
        }
        match rustix::fs::stat(path) {
            Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino => {
                return Ok(Some(Lock { _fd: fd }))
            }
            Ok(_) => continue,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => bail!("{shown}: {e}"),
        }
    }
}

/// Write one message line to standard error. A closed or broken standard error (EPIPE) is not
/// an error of the work: the message is dropped and the run keeps the exit status it earned
/// (`eprintln!` would panic and exit 101).
pub fn stderr_line(msg: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{msg}").and_then(|()| e.flush());
}

/// Write bytes to standard output.
pub fn stdout_write(bytes: &[u8]) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|_| o.flush())
        .context("cannot write to standard output")
}

/// Write spliced bytes to standard output, piece by piece.
pub fn stdout_pieces(new: &crate::formats::json::Spliced<'_>) -> Result<()> {
    stdout_file(|o| new.write_to(o))
}

/// Copy what `from` reads to standard output (a file: copied by the kernel where it can).
pub fn stdout_copy(from: &mut std::fs::File) -> Result<()> {
    stdout_file(|o| std::io::copy(from, o).map(drop))
}

/// Write to standard output as a file, past the line buffer of `Stdout` (which would scan
/// megabytes for their last line feed), flushed first.
fn stdout_file(write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<()> {
    use std::os::fd::AsFd;
    let mut o = std::io::stdout().lock();
    o.flush()
        .and_then(|()| o.as_fd().try_clone_to_owned())
        .and_then(|fd| write(&mut std::fs::File::from(fd)))
        .context("cannot write to standard output")
}

/// Whether progress bars may be shown at all (the command line turns them off with `-q` and
/// with a `--format` other than text).
static PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Allow or forbid progress bars for the rest of the run.
pub fn set_progress(allowed: bool) {
    PROGRESS.store(allowed, Ordering::Relaxed);
}

/// Work of at least this many bytes shows a progress bar (images and archives).
pub const PROGRESS_BYTES: u64 = 100 << 20;

/// Folders of more than this many files show a progress bar.
pub const PROGRESS_FILES: u64 = 1000;

/// Whether a bar would be drawn: allowed, and standard error is a terminal.
fn progress_wanted() -> bool {
    use std::io::IsTerminal;
    PROGRESS.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

/// A progress bar on standard error for reading or writing `total` bytes, as skopeo and
/// coreos-installer show one: only for at least [`PROGRESS_BYTES`], when standard error is a
/// terminal and bars are allowed ([`set_progress`]); else hidden.
pub fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if !progress_wanted() || total < PROGRESS_BYTES {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// A progress bar for reading `total` files of a folder: only for more than [`PROGRESS_FILES`],
/// under the same conditions as [`progress_bar`].
pub fn progress_files(total: u64) -> indicatif::ProgressBar {
    if !progress_wanted() || total <= PROGRESS_FILES {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {per_sec} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_breaks_hardlinks_and_keeps_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        std::fs::write(&a, b"old").unwrap();
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        write_atomic(&a, b"new").unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new");
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        assert_eq!(std::fs::metadata(&a).unwrap().mode() & 0o7777, 0o600);
        std::os::unix::fs::symlink(&b, d.path().join("l")).unwrap();
        assert!(write_atomic(&d.path().join("l"), b"x").is_err());
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
    }
}
