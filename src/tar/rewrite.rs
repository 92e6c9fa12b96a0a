//! Rewriting a root file system archive in one streaming pass: only the entries at the layer's
//! paths are written anew; every other block goes through byte for byte.

use super::*;

/// The old contents of a replaced file, for a later hardlink to it (None: too large to keep).
pub(super) type OldFile = Option<(Vec<u8>, Meta)>;

/// State of one rewrite pass.
pub(super) struct Rewrite {
    pub(super) wanted: BTreeMap<String, LayerFile>,
    /// Directories whose files the layer may write once the archive is read (held back by
    /// [`rewrite_collecting`]): their ancestors are watched as the layer's are.
    pub(super) future: Vec<String>,
    pub(super) seen: BTreeSet<String>,
    pub(super) replaced: HashMap<String, OldFile>,
    pub(super) changes: Vec<String>,
    pub(super) dot_slash: Option<bool>,
    /// Entries that are not directories at a directory above a layer path (a symlink
    /// `etc/modules-load.d`): what they are, for the refusal.
    pub(super) not_dirs: BTreeMap<String, String>,
}

impl Rewrite {
    pub(super) fn new(layer: &Layer) -> Rewrite {
        Rewrite {
            wanted: layer
                .files
                .iter()
                .map(|f| (f.path.clone(), f.clone()))
                .collect(),
            future: Vec::new(),
            seen: BTreeSet::new(),
            replaced: HashMap::new(),
            changes: Vec::new(),
            dot_slash: None,
            not_dirs: BTreeMap::new(),
        }
    }

    /// Whether `path` is a directory above some layer path.
    pub(super) fn is_layer_ancestor(&self, path: &str) -> bool {
        let below = |w: &String| {
            w.len() > path.len() && w.starts_with(path) && w.as_bytes()[path.len()] == b'/'
        };
        self.wanted.keys().any(below) || self.future.iter().any(|d| d == path || below(d))
    }

    /// Refuse a layer path beneath an entry that is not a directory (GNU tar refuses to extract
    /// a file beneath a symlink or a file: "Not a directory").
    pub(super) fn check_parents(&self, path: &str) -> Result<()> {
        for (dir, what) in &self.not_dirs {
            if path.len() > dir.len()
                && path.starts_with(dir.as_str())
                && path.as_bytes()[dir.len()] == b'/'
            {
                bail!(
                    "{what}, where the layer writes {} beneath it: tar cannot extract a file there; refusing (replace it with a directory first)",
                    relative(path)
                );
            }
        }
        Ok(())
    }

    pub(super) fn note(&mut self, change: String) {
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    /// Handle one entry.
    pub(super) fn entry<R: Read, W: Write>(
        &mut self,
        rd: &mut Blocks<R>,
        e: &RawEntry,
        out: &mut W,
    ) -> Result<()> {
        if self.dot_slash.is_none() && e.kind != b'V' {
            self.dot_slash = Some(e.name.starts_with(b"./"));
        }
        let path = e.path();
        if e.kind != b'V' && self.is_layer_ancestor(&path) {
            if e.is_dir() {
                self.not_dirs.remove(&path);
            } else {
                let what = match e.kind {
                    b'2' => format!("{}: is a symbolic link to {}", e.at(), lossy(&e.link)),
                    b'1' => format!("{}: is a hardlink, not a directory", e.at()),
                    _ if e.is_file() => format!("{}: is a regular file, not a directory", e.at()),
                    k => format!("{}: is {}, not a directory", e.at(), kind_name(k)),
                };
                self.not_dirs.insert(path.clone(), what);
            }
        }
        if let Some(f) = self.wanted.get(&path).cloned() {
            self.check_parents(&path)?;
            self.seen.insert(path.clone());
            return self.layer_entry(rd, e, &f, &path, out);
        }
        if e.kind == b'1' && self.replaced.contains_key(&e.link_path()) {
            return self.unlink(rd, e, out);
        }
        out.write_all(&e.meta)
            .and_then(|_| out.write_all(&e.header))
            .and_then(|_| out.write_all(&e.sparse))
            .context("cannot write the output")?;
        rd.copy_data(e, out)
    }

    /// An entry at a layer path: kept as it is when already the layer's file, else replaced in place.
    pub(super) fn layer_entry<R: Read, W: Write>(
        &mut self,
        rd: &mut Blocks<R>,
        e: &RawEntry,
        f: &LayerFile,
        path: &str,
        out: &mut W,
    ) -> Result<()> {
        if e.is_dir() {
            bail!(
                "{}: is a directory, where the layer writes the file {path}",
                e.at()
            );
        }
        let same_shape = e.is_file()
            && e.size == f.bytes.len() as u64
            && e.meta_fields.mode & 0o7777 == f.mode
            && e.sparse.is_empty();
        let old: OldFile = if e.is_file() && e.size <= MAX_KEPT_OLD && e.sparse.is_empty() {
            let raw = rd.read_data(e)?;
            if same_shape && raw[..f.bytes.len()] == f.bytes[..] {
                out.write_all(&e.meta)
                    .and_then(|_| out.write_all(&e.header))
                    .and_then(|_| out.write_all(&raw))
                    .context("cannot write the output")?;
                return Ok(());
            }
            Some((raw[..e.size as usize].to_vec(), e.meta_fields.clone()))
        } else {
            rd.skip_data(e)?;
            if e.kind == b'1' {
                self.replaced.get(&e.link_path()).cloned().flatten()
            } else {
                None
            }
        };
        let meta = Meta {
            mode: f.mode,
            ..e.meta_fields.clone()
        };
        out.write_all(&e.globals)
            .and_then(|_| out.write_all(&entry_bytes(&e.name, &meta, b'0', &f.bytes)))
            .context("cannot write the output")?;
        self.replaced.insert(path.to_string(), old);
        self.note(format!("replace {}", relative(path)));
        Ok(())
    }

    /// A hardlink to a file this pass replaced: it keeps the old contents, as a file of its own.
    pub(super) fn unlink<R: Read, W: Write>(
        &mut self,
        rd: &mut Blocks<R>,
        e: &RawEntry,
        out: &mut W,
    ) -> Result<()> {
        let target = e.link_path();
        let Some(Some((bytes, meta))) = self.replaced.get(&target).cloned() else {
            bail!(
                "{}: is a hardlink to {target}, which the layer replaces, and its old contents are not known (over {MAX_KEPT_OLD} bytes, or a link)",
                e.at()
            );
        };
        rd.skip_data(e)?;
        out.write_all(&e.globals)
            .and_then(|_| out.write_all(&entry_bytes(&e.name, &meta, b'0', &bytes)))
            .context("cannot write the output")?;
        self.note(format!(
            "copy {} into {} (was a hardlink to the replaced file)",
            relative(&target),
            relative(&e.path())
        ));
        Ok(())
    }

    /// Append the layer files the archive did not have (sorted by path).
    pub(super) fn append_missing<W: Write>(&mut self, out: &mut W) -> Result<()> {
        let missing: Vec<LayerFile> = self
            .wanted
            .iter()
            .filter(|(p, _)| !self.seen.contains(*p))
            .map(|(_, f)| f.clone())
            .collect();
        let mut added = Vec::new();
        for f in &missing {
            self.check_parents(&f.path)?;
        }
        for f in missing {
            let rel = relative(&f.path);
            let name = if self.dot_slash == Some(true) {
                format!("./{rel}")
            } else {
                rel.to_string()
            };
            out.write_all(&entry_bytes(
                name.as_bytes(),
                &Meta::root(f.mode),
                b'0',
                &f.bytes,
            ))
            .context("cannot write the output")?;
            added.push(format!("add {rel}"));
        }
        for a in added {
            self.note(a);
        }
        Ok(())
    }
}

/// Stream a root filesystem tar through, replacing the entries for the layer's paths and appending
/// the missing ones before the end-of-archive blocks.
///
/// Every other entry passes through BYTE FOR BYTE: raw header blocks (PAX `x`/`g` and GNU
/// `L`/`K` extension headers included), GNU sparse maps, data, padding, the end-of-archive blocks
/// and anything after them. An entry "is" a layer path when its effective name (PAX path / GNU
/// long name / ustar prefix+name), normalised with [`collect::node_path`], equals the layer path.
/// Replaced entries stand where the old one stood, in ustar format with the old entry's
/// uid/gid/uname/gname/mtime and the layer's mode and bytes; hardlinks or symlinks AT a layer path
/// are replaced by the regular file, and a later hardlink TO a replaced file becomes a copy of the
/// old contents (so that only the layer's paths change). Returns the changes (`replace
/// etc/modprobe.d/sctp-blacklist.conf`, `add etc/modules-load.d/sctp-load.conf`); none, and the
/// input unchanged, when every layer path already is a regular file with the layer's bytes and mode.
///
/// Hostile input is an error naming the entry (`entry N (name): …`): an absolute name, a name
/// climbing out with `..`, a hardlink target that is absolute or climbs out, a truncated stream or
/// short data, a bad header checksum, a layer path that is a directory. Output may have been
/// written when an error is returned: write to a temporary file and rename only on success.
pub fn rewrite(input: impl Read, output: impl Write, layer: &Layer) -> Result<Vec<String>> {
    let mut out = BufWriter::with_capacity(64 << 10, output);
    let mut rd = Blocks::new(input);
    let mut state = Rewrite::new(layer);
    loop {
        match rd.next()? {
            Item::Entry(e) => state.entry(&mut rd, &e, &mut out)?,
            Item::End(zero) => {
                state.append_missing(&mut out)?;
                out.write_all(&zero[..])
                    .context("cannot write the output")?;
                rd.copy_tail(&mut out)?;
                break;
            }
        }
    }
    out.flush().context("cannot write the output")?;
    Ok(state.changes)
}
