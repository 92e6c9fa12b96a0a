//! The `tree` target: a directory holding an OS root file system (an ostree checkout, a bootc
//! image unpacked, a chroot).
//!
//! Every path is resolved as if the tree were `/`: `openat2` with `RESOLVE_IN_ROOT` (absolute and
//! `..` symlinks anywhere on the way stay inside the tree) and `RESOLVE_NO_MAGICLINKS`. There is no
//! fallback: on a kernel without `openat2` the tree is refused rather than resolved unsafely.
//!
//! Writes never open an existing file: ostree checkouts hardlink files into the repository (and a
//! hardlink may lead outside the tree), so each file is written as a new temporary file in its
//! directory and renamed over the final name (which replaces a symlink itself, never its target).

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rustix::fs::{
    fchmod, fstat, fsync, linkat, mkdirat, openat, openat2, readlinkat, renameat, statat, unlinkat,
    AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat,
};
use rustix::io::Errno;

use crate::layer::Layer;
use crate::node::collect::{Collector, Interest, BOOTC_KARGS, BOOT_ENTRIES};
use crate::node::rules::{
    is_config_name, is_mask, is_service_name, is_unit_subdir, map_etc, MACHINE_ID, MODPROBE_DIRS,
    MODULES_LOAD_DIRS, PRESET_DIRS, UNIT_DIRS,
};
use crate::report::View;
use crate::targets::{in_place_only, Applied, ApplyOpts, Kind, Start, Target, VerifyOpts};

/// Largest `modules.dep` / `modules.builtin` read (a RHEL `modules.dep` is a few hundred KiB).
const MAX_INDEX: u64 = 64 << 20;
/// How many symlinks `Tree::mkdir_p` follows (and directories it creates) before giving up.
const MKDIR_BUDGET: u32 = 256;
/// How deep the module search descends below `lib/modules/<kver>/`.
const MAX_WALK_DEPTH: usize = 32;
/// Mode of directories created in a tree.
const DIR_MODE: u32 = 0o755;

/// A root file system directory; every path is resolved inside it (openat2 RESOLVE_IN_ROOT).
#[derive(Debug)]
pub struct Tree {
    root: OwnedFd,
    name: String,
}

/// One layer file's planned change.
struct Change {
    /// Path in the tree (after the ostree `/etc` → `/usr/etc` mapping).
    path: String,
    /// The layer file's bytes.
    bytes: Vec<u8>,
    /// The layer file's mode.
    mode: u32,
    /// For people: `create /etc/…`, `replace /etc/…`.
    what: String,
}

/// What reading a file found.
enum Found {
    /// A regular file's bytes and permission bits.
    File(Vec<u8>, u32),
    /// A regular file larger than the limit (its size).
    TooBig(u64),
    /// A directory (kmod and systemd skip those).
    Dir,
    /// Something else (device, FIFO, socket): its kind.
    Other(&'static str),
}

/// The rustix resolve flags every lookup uses.
fn in_root() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

/// Flags to open a directory for listing, `*at` calls and `fsync`.
fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Flags to read a file without blocking on a FIFO.
fn read_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
}

/// Split an absolute path into its parent (`""` for the root) and last component.
fn split_parent(path: &str) -> (&str, &str) {
    let path = path.trim_end_matches('/');
    match path.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", path),
    }
}

use crate::fsutil::{kind_name as kind_of, temp_name};

/// Permission bits of a stat.
fn perm_bits(st: &Stat) -> u32 {
    Mode::from_raw_mode(st.st_mode).bits() & 0o7777
}

/// Read an open file: its bytes if it is a regular file whose size `keeps` accepts.
fn read_fd(fd: OwnedFd, keeps: impl Fn(u64) -> bool) -> std::io::Result<Found> {
    let st = fstat(&fd)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Ok(Found::Dir),
        other => return Ok(Found::Other(kind_of(other))),
    }
    let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
    if !keeps(size) {
        return Ok(Found::TooBig(size));
    }
    let mut bytes = Vec::new();
    File::from(fd)
        .take(size.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let len = bytes.len() as u64;
    if !keeps(len) {
        return Ok(Found::TooBig(len));
    }
    Ok(Found::File(bytes, perm_bits(&st)))
}

/// Whether an index file (`modules.dep`, `modules.builtin`) of this size is read.
fn keeps_index(size: u64) -> bool {
    size <= MAX_INDEX
}

/// The names in an open directory (without `.` and `..`).
fn list(dir: &OwnedFd) -> std::io::Result<Vec<(std::ffi::CString, FileType)>> {
    let mut out = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        out.push((name.to_owned(), entry.file_type()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The type of `name` in `dir` without following a symlink (`None`: it does not exist).
fn lstat_type(dir: &OwnedFd, name: &CStr, d_type: FileType) -> std::io::Result<Option<FileType>> {
    if d_type != FileType::Unknown {
        return Ok(Some(d_type));
    }
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl Tree {
    /// Open a tree root. Refuses (Err) if the path is not a directory or openat2 is unavailable.
    pub fn open(root: &Path) -> Result<Tree> {
        let name = root.display().to_string();
        let fd = rustix::fs::open(root, dir_flags(), Mode::empty()).map_err(|e| match e {
            Errno::NOTDIR => anyhow!("{name}: is not a directory"),
            e => anyhow!("{name}: cannot open the tree: {e}"),
        })?;
        let tree = Tree { root: fd, name };
        match openat2(&tree.root, ".", OFlags::PATH | dir_flags(), Mode::empty(), in_root()) {
            Ok(_) => Ok(tree),
            Err(Errno::NOSYS) | Err(Errno::PERM) => bail!(
                "{}: this kernel does not allow openat2 (Linux 5.6 or later is needed), so paths in \
                 the tree cannot be resolved safely inside it; refusing the tree",
                tree.name
            ),
            Err(e) => bail!("{}: cannot resolve paths in the tree: {e}", tree.name),
        }
    }

    /// Open a node path in the tree (the tree is `/`), retrying a spurious `EAGAIN`.
    fn resolve(&self, path: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        crate::fsutil::resolve_at(&self.root, path, flags, in_root())
    }

    /// Open a directory in the tree; `None` when it (or a component) does not exist or is not a
    /// directory.
    fn open_dir_opt(&self, path: &str) -> Result<Option<OwnedFd>> {
        match self.resolve(path, dir_flags()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
            Err(e) => Err(anyhow!("{}: {path}: cannot open: {e}", self.name)),
        }
    }

    /// Whether something exists at `path` (following symlinks in the tree when `follow`).
    fn exists(&self, path: &str, flags: OFlags) -> Result<bool> {
        match self.resolve(path, OFlags::PATH | OFlags::CLOEXEC | flags) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(false),
            Err(e) => Err(anyhow!("{}: {path}: {e}", self.name)),
        }
    }

    /// "/usr/etc" for an ostree commit layout (usr/etc exists and etc does not), else "/etc".
    pub fn etc_dir(&self) -> Result<&'static str> {
        let etc = self.exists("/etc", OFlags::NOFOLLOW)?;
        if !etc && self.exists("/usr/etc", OFlags::DIRECTORY)? {
            Ok("/usr/etc")
        } else {
            Ok("/etc")
        }
    }

    /// Apply a layer: for each layer file (node path like /etc/modprobe.d/sctp-blacklist.conf;
    /// /etc/ is mapped to /usr/etc/ in an ostree commit layout) write it unless the tree already
    /// holds exactly those bytes and that mode as a regular file. With dry_run, write nothing.
    /// Returns human-readable changes ("create /etc/modules-load.d/sctp-load.conf", "replace …"),
    /// empty when nothing changes.
    ///
    /// Every layer file is checked before anything is written, so a refusal (a directory at a layer
    /// path, a file where a directory must be) leaves the tree unchanged.
    pub fn apply(&self, layer: &Layer, dry_run: bool) -> Result<Vec<Written>> {
        let etc = self.etc_dir()?;
        let mut changes = Vec::new();
        for f in &layer.files {
            let path = map_etc(&f.path, etc);
            if let Some(what) = self.plan(&path, &f.bytes, f.mode)? {
                changes.push(Change {
                    path,
                    bytes: f.bytes.clone(),
                    mode: f.mode,
                    what,
                });
            }
        }
        if !dry_run {
            self.write_all(&changes)?;
        }
        Ok(changes
            .into_iter()
            .map(|c| Written {
                path: c.path,
                what: c.what,
            })
            .collect())
    }

    /// What writing `bytes`/`mode` at `path` changes (`None`: already there), or why it cannot.
    fn plan(&self, path: &str, bytes: &[u8], mode: u32) -> Result<Option<String>> {
        let at = || format!("{}: {path}", self.name);
        let (dir, name) = split_parent(path);
        let dir_fd = match self.resolve(dir, dir_flags()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Some(format!("create {path}"))),
            Err(Errno::NOTDIR) => bail!("{}: a component of {dir} is not a directory", at()),
            Err(e) => return Err(anyhow!("{}: cannot open {dir}: {e}", at())),
        };
        let st = match statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(Some(format!("create {path}"))),
            Err(e) => return Err(anyhow!("{}: {e}", at())),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => bail!("{}: is a directory; refusing to replace it", at()),
            FileType::RegularFile => {
                if self
                    .holds(&dir_fd, name, &st, bytes, mode)
                    .with_context(at)?
                {
                    Ok(None)
                } else {
                    Ok(Some(format!("replace {path}")))
                }
            }
            FileType::Symlink => {
                let target = readlinkat(&dir_fd, name, Vec::new())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(Some(format!(
                    "replace {path} (a symbolic link to {target}; the link itself is replaced)"
                )))
            }
            other => Ok(Some(format!("replace {path} ({})", kind_of(other)))),
        }
    }

    /// Whether the regular file `name` in `dir` has exactly these bytes and permission bits.
    fn holds(&self, dir: &OwnedFd, name: &str, st: &Stat, bytes: &[u8], mode: u32) -> Result<bool> {
        let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
        if perm_bits(st) != mode || size != bytes.len() as u64 {
            return Ok(false);
        }
        let fd = openat(dir, name, read_flags() | OFlags::NOFOLLOW, Mode::empty())
            .context("cannot open to compare")?;
        let len = bytes.len() as u64;
        match read_fd(fd, |size| size <= len).context("cannot read to compare")? {
            Found::File(have, have_mode) => Ok(have == bytes && have_mode == mode),
            _ => Ok(false),
        }
    }

    /// Write every change all-or-nothing: each file is staged first (missing directories
    /// created, a new temporary file written, its mode set, synced) and only when all are staged
    /// are they renamed into place (an existing file kept under a temporary hard link until every
    /// rename is done). Any failure removes what was staged, puts back what was replaced and
    /// removes the directories this apply created: the tree is left as it was.
    fn write_all(&self, changes: &[Change]) -> Result<()> {
        let mut created = Vec::new();
        let mut staged: Vec<StagedFile> = Vec::new();
        for c in changes {
            if let Err(e) = self.stage(c, &mut created, &mut staged) {
                self.unstage(&staged, &created);
                return Err(e.context("nothing was changed"));
            }
        }
        let mut done: Vec<(usize, Option<String>)> = Vec::new();
        for (i, st) in staged.iter().enumerate() {
            match self.put_in_place(st) {
                Ok(backup) => done.push((i, backup)),
                Err(e) => {
                    for (j, backup) in done.iter().rev() {
                        let s = &staged[*j];
                        let _ = match backup {
                            Some(b) => renameat(&s.dir, b.as_str(), &s.dir, s.name.as_str()),
                            None => unlinkat(&s.dir, s.name.as_str(), AtFlags::empty()),
                        };
                    }
                    self.unstage(&staged[i..], &created);
                    return Err(e.context("nothing was changed"));
                }
            }
        }
        for (i, backup) in &done {
            let s = &staged[*i];
            if let Some(b) = backup {
                let _ = unlinkat(&s.dir, b.as_str(), AtFlags::empty());
            }
        }
        for s in &staged {
            fsync(&s.dir).map_err(|e| {
                anyhow!("{}: {}: cannot sync its directory: {e}", self.name, s.path)
            })?;
        }
        Ok(())
    }

    /// Stage one change: its directory (created if missing, recorded in `created`), a new
    /// temporary file holding the bytes with the mode, synced.
    fn stage(
        &self,
        c: &Change,
        created: &mut Vec<String>,
        staged: &mut Vec<StagedFile>,
    ) -> Result<()> {
        let at = || format!("{}: {}", self.name, c.path);
        let (dir, name) = split_parent(&c.path);
        let mut budget = MKDIR_BUDGET;
        let dir_fd = self
            .mkdir_p(dir, &mut budget, created)
            .with_context(|| format!("{}: cannot create directory {dir}", at()))?;
        if let Ok(st) = statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                bail!("{}: is a directory; refusing to replace it", at());
            }
        }
        crate::fsutil::clean_stale(&dir_fd);
        let (tmp, fd) = crate::fsutil::create_named(&dir_fd)
            .with_context(|| format!("{}: cannot create a temporary file", at()))?;
        let entry = StagedFile {
            dir: dir_fd,
            tmp,
            name: name.to_string(),
            path: c.path.clone(),
        };
        let filled = fill_temp(fd, &c.bytes, c.mode);
        staged.push(entry);
        filled.map_err(|e| anyhow!("{}: cannot write: {e}", at()))
    }

    /// Rename a staged file over its name, first keeping what is there under a temporary hard
    /// link (returned) so a later failure can put it back.
    fn put_in_place(&self, s: &StagedFile) -> Result<Option<String>> {
        let at = || format!("{}: {}", self.name, s.path);
        let backup = match statat(&s.dir, s.name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => {
                let b = temp_name();
                linkat(
                    &s.dir,
                    s.name.as_str(),
                    &s.dir,
                    b.as_str(),
                    AtFlags::empty(),
                )
                .map_err(|e| anyhow!("{}: cannot keep the old file: {e}", at()))?;
                Some(b)
            }
            Err(Errno::NOENT) => None,
            Err(e) => bail!("{}: {e}", at()),
        };
        if let Err(e) = renameat(&s.dir, s.tmp.as_str(), &s.dir, s.name.as_str()) {
            if let Some(b) = &backup {
                let _ = unlinkat(&s.dir, b.as_str(), AtFlags::empty());
            }
            bail!("{}: cannot write: {e}", at());
        }
        Ok(backup)
    }

    /// Remove staged temporary files and (newest first) the directories this apply created.
    fn unstage(&self, staged: &[StagedFile], created: &[String]) {
        for s in staged {
            let _ = unlinkat(&s.dir, s.tmp.as_str(), AtFlags::empty());
        }
        for d in created.iter().rev() {
            let (parent, name) = split_parent(d);
            if let Ok(pfd) = self.resolve(parent, dir_flags()) {
                let _ = unlinkat(&pfd, name, AtFlags::REMOVEDIR);
            }
        }
    }

    /// Open directory `path` in the tree, creating what is missing (mode 0755) — through dangling
    /// symlinks too, whose targets are created inside the tree, as `mkdir -p` would on the node.
    fn mkdir_p(
        &self,
        path: &str,
        budget: &mut u32,
        created: &mut Vec<String>,
    ) -> rustix::io::Result<OwnedFd> {
        match self.resolve(path, dir_flags()) {
            Err(Errno::NOENT) => {}
            other => return other,
        }
        if *budget == 0 {
            return Err(Errno::LOOP);
        }
        *budget -= 1;
        let (parent, name) = split_parent(path);
        let parent_fd = self.mkdir_p(parent, budget, created)?;
        if name.is_empty() || name == "." || name == ".." {
            return self.resolve(path, dir_flags());
        }
        match mkdirat(&parent_fd, name, Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) => {
                created.push(format!("{parent}/{name}"));
                let fd = openat(
                    &parent_fd,
                    name,
                    dir_flags() | OFlags::NOFOLLOW,
                    Mode::empty(),
                )?;
                fchmod(&fd, Mode::from_raw_mode(DIR_MODE))?;
                return Ok(fd);
            }
            Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
        // Something is there but does not resolve: a dangling symlink (or a concurrent mkdir).
        match readlinkat(&parent_fd, name, Vec::new()) {
            Ok(target) => {
                let target = target.to_str().map_err(|_| Errno::INVAL)?;
                let next = if target.starts_with('/') {
                    target.to_string()
                } else {
                    format!("{parent}/{target}")
                };
                self.mkdir_p(&next, budget, created)?;
                self.resolve(path, dir_flags())
            }
            Err(Errno::INVAL) => self.resolve(path, dir_flags()),
            Err(e) => Err(e),
        }
    }

    /// Feed what the tree holds into a rootfs::Collector (see src/rootfs.rs).
    pub fn collect(&self, collector: &mut Collector) -> Result<()> {
        let etc = self.etc_dir()?;
        for dir in MODPROBE_DIRS.iter().chain(MODULES_LOAD_DIRS) {
            self.collect_conf_dir(&map_etc(dir, etc), collector)?;
        }
        for dir in UNIT_DIRS {
            self.collect_unit_dir(&map_etc(dir, etc), collector)?;
        }
        for dir in PRESET_DIRS {
            self.collect_conf_dir(&map_etc(dir, etc), collector)?;
        }
        self.collect_paths(&[map_etc(MACHINE_ID, etc)], collector)?;
        self.collect_conf_dir(BOOT_ENTRIES, collector)?;
        self.collect_conf_dir(BOOTC_KARGS, collector)?;
        self.collect_kernels(collector)
    }

    /// A systemd unit directory: its service files (or masks), its `*.wants/` and `*.requires/`
    /// links (kept as links: the name enables the unit) and its `*.service.d/*.conf` drop-ins.
    fn collect_unit_dir(&self, dir: &str, collector: &mut Collector) -> Result<()> {
        let Some(dir_fd) = self.open_dir_opt(dir)? else {
            return Ok(());
        };
        let entries =
            list(&dir_fd).with_context(|| format!("{}: {dir}: cannot list", self.name))?;
        for (cname, d_type) in entries {
            let Ok(name) = cname.to_str() else { continue };
            let path = format!("{dir}/{name}");
            let t = lstat_type(&dir_fd, &cname, d_type)
                .with_context(|| format!("{}: {path}", self.name))?;
            match t {
                Some(FileType::Directory) if is_unit_subdir(name) => {
                    self.collect_unit_subdir(&path, name, collector)?
                }
                Some(t) if is_service_name(name) && t != FileType::Directory => {
                    self.collect_entry(&dir_fd, &path, &cname, t, collector)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A `*.wants/`, `*.requires/` or `*.service.d/` directory of a unit directory.
    fn collect_unit_subdir(&self, dir: &str, name: &str, collector: &mut Collector) -> Result<()> {
        let Some(dir_fd) = self.open_dir_opt(dir)? else {
            return Ok(());
        };
        let dropins = name.ends_with(".d");
        let entries =
            list(&dir_fd).with_context(|| format!("{}: {dir}: cannot list", self.name))?;
        for (cname, d_type) in entries {
            let Ok(entry) = cname.to_str() else { continue };
            let path = format!("{dir}/{entry}");
            if collector.interest(&path) != Interest::Contents {
                continue;
            }
            let t = lstat_type(&dir_fd, &cname, d_type)
                .with_context(|| format!("{}: {path}", self.name))?;
            match t {
                Some(t) if dropins && is_config_name(entry) => {
                    self.collect_entry(&dir_fd, &path, &cname, t, collector)?
                }
                Some(FileType::Symlink) if !dropins => {
                    let target = match readlinkat(&dir_fd, cname.as_c_str(), Vec::new()) {
                        Ok(t) => t.to_string_lossy().into_owned(),
                        Err(Errno::NOENT) => continue,
                        Err(e) => bail!("{}: {path}: cannot read the link: {e}", self.name),
                    };
                    collector.symlink(&path, &target, &format!("tree {path} -> {target}"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Read the layer's own paths too (a layer may put files outside the configuration
    /// directories; the collector compares them byte for byte).
    fn collect_layer_paths(&self, layer: &Layer, collector: &mut Collector) -> Result<()> {
        let etc = self.etc_dir()?;
        let paths: Vec<String> = layer.files.iter().map(|f| map_etc(&f.path, etc)).collect();
        self.collect_paths(&paths, collector)
    }

    /// Read single files at these tree paths, when present.
    fn collect_paths(&self, paths: &[String], collector: &mut Collector) -> Result<()> {
        for path in paths {
            let (dir, name) = split_parent(path);
            let Some(dir_fd) = self.open_dir_opt(dir)? else {
                continue;
            };
            let cname = std::ffi::CString::new(name)
                .map_err(|_| anyhow!("{}: {path}: NUL in path", self.name))?;
            if let Some(t) = lstat_type(&dir_fd, &cname, FileType::Unknown)
                .with_context(|| format!("{}: {path}", self.name))?
            {
                self.collect_entry(&dir_fd, path, &cname, t, collector)?;
            }
        }
        Ok(())
    }

    /// Every entry of a configuration directory the collector wants (`*.conf`; `*.toml` for bootc
    /// kernel arguments); a missing directory is fine.
    fn collect_conf_dir(&self, dir: &str, collector: &mut Collector) -> Result<()> {
        let Some(dir_fd) = self.open_dir_opt(dir)? else {
            return Ok(());
        };
        let entries =
            list(&dir_fd).with_context(|| format!("{}: {dir}: cannot list", self.name))?;
        for (cname, d_type) in entries {
            let b = cname.to_bytes();
            if !b.ends_with(b".conf") && !b.ends_with(b".toml") && !b.ends_with(b".preset") {
                continue;
            }
            let Ok(name) = cname.to_str() else {
                let path = format!("{dir}/{}", cname.to_string_lossy());
                collector.unknown(&path, "its file name is not UTF-8", &format!("tree {path}"));
                continue;
            };
            let path = format!("{dir}/{name}");
            if collector.interest(&path) != Interest::Contents {
                continue;
            }
            let t = lstat_type(&dir_fd, &cname, d_type)
                .with_context(|| format!("{}: {path}", self.name))?;
            if let Some(t) = t {
                self.collect_entry(&dir_fd, &path, &cname, t, collector)?;
            }
        }
        Ok(())
    }

    /// One configuration entry: a file's bytes, a `/dev/null` mask, a symlink's file (resolved in
    /// the tree), or why it cannot be seen.
    fn collect_entry(
        &self,
        dir_fd: &OwnedFd,
        path: &str,
        name: &CStr,
        t: FileType,
        collector: &mut Collector,
    ) -> Result<()> {
        let at = || format!("{}: {path}", self.name);
        let origin = format!("tree {path}");
        match t {
            FileType::Directory => Ok(()),
            FileType::RegularFile => {
                let fd = match openat(dir_fd, name, read_flags() | OFlags::NOFOLLOW, Mode::empty())
                {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => return Ok(()),
                    Err(e) => return Err(anyhow!("{}: cannot open: {e}", at())),
                };
                let read = read_fd(fd, Collector::keeps).with_context(at)?;
                record(collector, path, read, &origin);
                Ok(())
            }
            FileType::Symlink => {
                let target = match readlinkat(dir_fd, name, Vec::new()) {
                    Ok(t) => t.to_string_lossy().into_owned(),
                    Err(Errno::NOENT) => return Ok(()),
                    Err(e) => return Err(anyhow!("{}: cannot read the link: {e}", at())),
                };
                if is_mask(path, &target) {
                    collector.symlink(path, "/dev/null", &origin);
                    return Ok(());
                }
                let origin = format!("tree {path} -> {target}");
                match self.read_in_root(path, Collector::keeps) {
                    Ok(read) => record(collector, path, read, &origin),
                    // Dangling: kmod and systemd skip it.
                    Err(Errno::NOENT) | Err(Errno::NOTDIR) => {}
                    Err(Errno::LOOP) => collector.unknown(
                        path,
                        &format!("a symbolic link to {target} that loops or leaves /proc"),
                        &origin,
                    ),
                    Err(e) => return Err(anyhow!("{}: cannot follow the link: {e}", at())),
                }
                Ok(())
            }
            other => {
                collector.unknown(
                    path,
                    &format!("{} (not a regular file)", kind_of(other)),
                    &origin,
                );
                Ok(())
            }
        }
    }

    /// Kernels under `/usr/lib/modules` and `/lib/modules` and whether each carries the module.
    fn collect_kernels(&self, collector: &mut Collector) -> Result<()> {
        let mut seen = Vec::new();
        for base in ["/usr/lib/modules", "/lib/modules"] {
            let Some(base_fd) = self.open_dir_opt(base)? else {
                continue;
            };
            let st = fstat(&base_fd).with_context(|| format!("{}: {base}", self.name))?;
            if seen.contains(&(st.st_dev, st.st_ino)) {
                continue; // /lib -> usr/lib
            }
            seen.push((st.st_dev, st.st_ino));
            let entries =
                list(&base_fd).with_context(|| format!("{}: {base}: cannot list", self.name))?;
            for (cname, _) in entries {
                let Ok(kver) = cname.to_str() else { continue };
                let kdir = format!("{base}/{kver}");
                if collector.interest(&kdir) != Interest::Presence {
                    continue;
                }
                if let Some(kfd) = self.open_dir_opt(&kdir)? {
                    collector.dir(&kdir);
                    self.collect_kernel(&kdir, &kfd, collector)?;
                }
            }
        }
        Ok(())
    }

    /// One kernel directory: `modules.builtin`, and the module as `modules.dep` lists it (or, with
    /// no `modules.dep`, as found by walking the directory without following symlinks).
    fn collect_kernel(&self, kdir: &str, kfd: &OwnedFd, collector: &mut Collector) -> Result<()> {
        let builtin = format!("{kdir}/modules.builtin");
        if let Some(Found::File(bytes, _)) = self.read_opt(&builtin)? {
            collector.file(&builtin, Some(bytes), None, &format!("tree {builtin}"));
        }
        let dep = format!("{kdir}/modules.dep");
        match self.read_opt(&dep)? {
            Some(Found::File(bytes, _)) => self.module_from_dep(kdir, &bytes, collector),
            Some(Found::TooBig(n)) => bail!(
                "{}: {dep}: {n} bytes, more than the {MAX_INDEX} modlayer reads",
                self.name
            ),
            _ => {
                self.walk_modules(kdir, kfd, 0, collector)?;
                Ok(())
            }
        }
    }

    /// Find the module in `modules.dep`: a line whose first field is a build of it, and whose file
    /// exists in the tree.
    fn module_from_dep(&self, kdir: &str, dep: &[u8], collector: &mut Collector) -> Result<()> {
        let text = String::from_utf8_lossy(dep);
        for line in text.lines() {
            let Some((field, _)) = line.split_once(':') else {
                continue;
            };
            let field = field.trim();
            if field.is_empty() {
                continue;
            }
            let full = if field.starts_with('/') {
                field.to_string()
            } else {
                format!("{kdir}/{field}")
            };
            if collector.interest(&full) != Interest::Presence || full == kdir {
                continue;
            }
            if self.is_regular(&full)? {
                let origin = format!("tree {kdir}/modules.dep");
                collector.file(&full, None, None, &origin);
                return Ok(());
            }
        }
        Ok(())
    }

    /// Walk a kernel directory for the module (symlinked directories such as `build` and `source`
    /// are not entered). Returns whether it was found.
    fn walk_modules(
        &self,
        dir: &str,
        dir_fd: &OwnedFd,
        depth: usize,
        collector: &mut Collector,
    ) -> Result<bool> {
        if depth > MAX_WALK_DEPTH {
            return Ok(false);
        }
        let entries = list(dir_fd).with_context(|| format!("{}: {dir}: cannot list", self.name))?;
        for (cname, d_type) in entries {
            let Ok(name) = cname.to_str() else { continue };
            let path = format!("{dir}/{name}");
            let t = lstat_type(dir_fd, &cname, d_type)
                .with_context(|| format!("{}: {path}", self.name))?;
            let found = match t {
                Some(FileType::Directory) => {
                    self.walk_subdir(dir_fd, &cname, &path, depth, collector)?
                }
                Some(FileType::RegularFile) | Some(FileType::Symlink) => {
                    collector.interest(&path) == Interest::Presence && self.is_regular(&path)?
                }
                _ => false,
            };
            if found {
                if t != Some(FileType::Directory) {
                    collector.file(&path, None, None, &format!("tree {path}"));
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Walk a subdirectory (opened without following a symlink) for the module.
    fn walk_subdir(
        &self,
        dir_fd: &OwnedFd,
        name: &CStr,
        path: &str,
        depth: usize,
        collector: &mut Collector,
    ) -> Result<bool> {
        let flags = dir_flags() | OFlags::NOFOLLOW;
        match openat(dir_fd, name, flags, Mode::empty()) {
            Ok(sub) => self.walk_modules(path, &sub, depth + 1, collector),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) | Err(Errno::LOOP) => Ok(false),
            Err(e) => Err(anyhow!("{}: {path}: cannot open: {e}", self.name)),
        }
    }

    /// Whether `path` resolves (in the tree) to a regular file.
    fn is_regular(&self, path: &str) -> Result<bool> {
        match self.resolve(path, OFlags::PATH | OFlags::CLOEXEC) {
            Ok(fd) => {
                let st = fstat(&fd).with_context(|| format!("{}: {path}", self.name))?;
                Ok(FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
            }
            Err(Errno::NOENT) | Err(Errno::NOTDIR) | Err(Errno::LOOP) => Ok(false),
            Err(e) => Err(anyhow!("{}: {path}: {e}", self.name)),
        }
    }

    /// Read the file at `path` in the tree (following symlinks inside it); `None` if absent.
    fn read_opt(&self, path: &str) -> Result<Option<Found>> {
        match self.read_in_root(path, keeps_index) {
            Ok(found) => Ok(Some(found)),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
            Err(e) => Err(anyhow!("{}: {path}: cannot read: {e}", self.name)),
        }
    }

    /// Read the file `path` leads to in the tree (following symlinks inside it). It is looked at
    /// through an `O_PATH` descriptor first, so a device or FIFO is never opened.
    fn read_in_root(&self, path: &str, keeps: impl Fn(u64) -> bool) -> rustix::io::Result<Found> {
        let probe = self.resolve(path, OFlags::PATH | OFlags::CLOEXEC)?;
        let st = fstat(&probe)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => return Ok(Found::Dir),
            other => return Ok(Found::Other(kind_of(other))),
        }
        let fd = self.resolve(path, read_flags())?;
        read_fd(fd, keeps).map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
    }
}

/// Record what reading a configuration file found.
fn record(collector: &mut Collector, path: &str, read: Found, origin: &str) {
    match read {
        Found::File(bytes, mode) => collector.file(path, Some(bytes), Some(mode), origin),
        Found::TooBig(n) => collector.unknown(
            path,
            &format!("{n} bytes, larger than modlayer reads for a configuration file"),
            origin,
        ),
        Found::Dir => {}
        Found::Other(kind) => {
            collector.unknown(path, &format!("{kind} (not a regular file)"), origin)
        }
    }
}

/// Write the bytes, set the exact mode (no umask) and sync.
fn fill_temp(fd: OwnedFd, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    fchmod(&fd, Mode::from_raw_mode(mode))?;
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    file.sync_all()
}

/// A layer file staged in its directory, waiting to be renamed into place.
struct StagedFile {
    /// The directory (open).
    dir: OwnedFd,
    /// The temporary file's name in it.
    tmp: String,
    /// The final name.
    name: String,
    /// The node path, for messages.
    path: String,
}

/// One file a tree apply writes (or, in a dry run, would write).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Node path in the tree (after the ostree `/etc` → `/usr/etc` mapping).
    pub path: String,
    /// For people: `create /etc/…`, `replace /etc/…`.
    pub what: String,
}

/// A directory holding an OS root (it has `etc/` or `usr/`).
pub struct TreeTarget {
    /// The target as given.
    given: String,
}

impl TreeTarget {
    /// The target as given.
    pub fn new(target: &str) -> TreeTarget {
        TreeTarget {
            given: target.to_string(),
        }
    }
}

impl Target for TreeTarget {
    fn kind(&self) -> Kind {
        Kind::Tree
    }

    fn start(&self) -> Start {
        Start::Itself
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        in_place_only(&self.given, opts)?;
        let root = Path::new(&self.given);
        let written = Tree::open(root)?.apply(layer, opts.dry_run)?;
        Ok(Applied {
            changes: written.iter().map(|w| w.what.clone()).collect(),
            written: if opts.dry_run {
                Vec::new()
            } else {
                written
                    .iter()
                    .map(|w| root.join(w.path.trim_start_matches('/')))
                    .collect()
            },
            ..Applied::default()
        })
    }

    fn views(&self, layer: &Layer, _opts: &VerifyOpts) -> Result<Vec<View>> {
        let tree = Tree::open(Path::new(&self.given))?;
        let mut collector = Collector::new(layer);
        tree.collect(&mut collector)?;
        tree.collect_layer_paths(layer, &mut collector)?;
        Ok(vec![View::whole(collector.finish(), Vec::new())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(split_parent("/etc/x"), ("/etc", "x"));
        assert_eq!(split_parent("/etc"), ("", "etc"));
    }

    #[test]
    fn not_a_directory_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        let e = format!("{:#}", Tree::open(&f).unwrap_err());
        assert!(e.contains("is not a directory"), "{e}");
    }
}
