//! `storage`: files, directories, links, trees and the sections passed through.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Map, Value};

use super::translate::{camel_keys, Translator};
use super::versions::*;
use super::{Local, Variant, UNREAD_LOCAL};
use crate::formats::encoding::{encode_data_url, is_data_url};

impl Translator<'_> {
    pub(super) fn storage(&mut self) -> Option<Value> {
        if !self.object("/storage", STORAGE) {
            return None;
        }
        let mut out = Map::new();
        for section in ["disks", "raid", "filesystems"] {
            self.passthrough(section, &mut out);
        }
        if self.ctx.get("/storage/files").is_some() {
            let mut files = Vec::new();
            for p in self.ctx.list("/storage/files") {
                if let Some(f) = self.file(&p) {
                    files.push(f);
                }
            }
            out.insert("files".into(), Value::Array(files));
        }
        for (section, fields, what) in [
            ("directories", DIRECTORY, "directories"),
            ("links", LINK, "links"),
        ] {
            if self.ctx.get(&format!("/storage/{section}")).is_none() {
                continue;
            }
            if self.openshift() {
                self.refuse(&format!("/storage/{section}"), what);
            }
            let mut items = Vec::new();
            for p in self.ctx.list(&format!("/storage/{section}")) {
                let all: Vec<(&str, u8)> = NODE.iter().chain(fields).copied().collect();
                if self.object(&p, &all) {
                    items.push(self.node(&p, fields));
                }
            }
            out.insert(section.into(), Value::Array(items));
        }
        self.passthrough("luks", &mut out);
        for p in self.ctx.list("/storage/trees") {
            self.tree(&p, &mut out);
        }
        Some(Value::Object(out))
    }

    /// A local tree (`storage.trees` item at `p`) as Butane embeds it: each regular file below
    /// it a `storage.files` entry (mode 0755 if executable, else 0644, or `file_mode`), after
    /// the listed ones; a listed entry for the same path without contents gets the file's
    /// contents (and mode, if it sets none); a symlink a `storage.links` entry.
    pub(super) fn tree(&mut self, p: &str, out: &mut Map<String, Value>) {
        if !self.object(p, TREE) {
            return;
        }
        let local_ptr = format!("{p}/local");
        let Some(local) = self.ctx.string(&local_ptr) else {
            self.ctx.error(p, "local is required");
            return;
        };
        let base = self
            .ctx
            .string(&format!("{p}/path"))
            .unwrap_or_else(|| "/".into());
        let file_mode = self.ctx.int(&format!("{p}/file_mode"));
        let dir = match self.local {
            Local::Unread => return,
            Local::Dir(None) => {
                self.ctx.error(&local_ptr, "local file paths are relative to a files directory that must be specified with -d/--files-dir (modlayer: --files-dir)");
                return;
            }
            Local::Dir(Some(d)) => d,
        };
        let Some(root) = within(dir, &local) else {
            self.ctx.error(
                &local_ptr,
                "local file path traverses outside the files directory",
            );
            return;
        };
        let mut found = Vec::new();
        if let Err(e) = walk(&root, Path::new(""), &mut found) {
            self.ctx
                .error(&local_ptr, format!("{}: {e}", root.display()));
            return;
        }
        for (rel, kind) in found {
            let path = format!("{}/{}", base.trim_end_matches('/'), rel.display());
            match kind {
                TreeNode::Link(target) => {
                    if self.openshift() {
                        self.refuse(&local_ptr, "links");
                    }
                    let links = out.entry("links").or_insert_with(|| json!([]));
                    if let Some(l) = links.as_array_mut() {
                        l.push(json!({"path": path, "target": target.display().to_string()}));
                    }
                }
                TreeNode::File(bytes, executable) => {
                    let (url, gzipped) = self.data_url(&bytes, true);
                    let compression = if gzipped { "gzip" } else { "" };
                    let mode = file_mode.unwrap_or(if executable { 0o755 } else { 0o644 });
                    let contents = json!({"compression": compression, "source": url});
                    let files = out.entry("files").or_insert_with(|| json!([]));
                    let Some(files) = files.as_array_mut() else {
                        continue;
                    };
                    match files.iter_mut().find(|f| f["path"] == path.as_str()) {
                        Some(f) if f.get("contents").is_some() => {
                            let message = format!("{path} is in the tree and listed with contents in storage.files; an entry overriding a tree file must omit contents");
                            self.ctx.error(&local_ptr, message);
                        }
                        Some(f) => {
                            if let Some(o) = f.as_object_mut() {
                                o.insert("contents".into(), contents);
                                o.entry("mode").or_insert_with(|| json!(mode));
                            }
                        }
                        None => {
                            files.push(json!({"path": path, "contents": contents, "mode": mode}))
                        }
                    }
                }
            }
        }
    }

    /// A storage section modlayer does not read (disks, raid, filesystems, luks): copied with
    /// Ignition's field names, for the checks that refuse it.
    pub(super) fn passthrough(&mut self, section: &str, out: &mut Map<String, Value>) {
        let ptr = format!("/storage/{section}");
        if let Some(v) = self.ctx.get(&ptr) {
            if matches!(self.src.variant, Variant::R4e | Variant::Fiot) {
                self.ctx.error(
                    &ptr,
                    format!("{section} customization is not supported in this spec version"),
                );
            }
            let mut v = camel_keys(v);
            let items = v.as_array_mut().into_iter().flatten();
            for (i, item) in items.enumerate() {
                let Some(o) = item.as_object_mut() else {
                    continue;
                };
                let ip = format!("{ptr}/{i}");
                self.check_storage_item(section, &ip);
                match section {
                    "filesystems" => self.filesystem(&ip, o),
                    // A key file is a resource, made a data URL as file contents are.
                    "luks" if o.remove("keyFile").is_some() => {
                        if let Some(r) = self.resource(&format!("{ip}/key_file")) {
                            o.insert("keyFile".into(), r);
                        }
                    }
                    _ => {}
                }
            }
            out.insert(section.into(), v);
        }
    }

    /// The keys of a carried-over storage item (and of what it nests) against the version's
    /// schema: an unknown one is refused as `butane --strict` refuses it.
    fn check_storage_item(&mut self, section: &str, ip: &str) {
        let fields = match section {
            "disks" => DISK,
            "raid" => RAID,
            "filesystems" => FILESYSTEM,
            "luks" => LUKS,
            _ => return,
        };
        if !self.object(ip, fields) {
            return;
        }
        if section == "disks" {
            for p in self.ctx.list(&format!("{ip}/partitions")) {
                self.object(&p, PARTITION);
            }
        }
        if section == "luks" {
            self.clevis(&format!("{ip}/clevis"));
            self.object(&format!("{ip}/cex"), CEX);
        }
    }

    /// A Clevis mapping (a LUKS volume's, or `boot_device.luks`'s own fields): its keys, its
    /// `custom` and each `tang` entry.
    pub(super) fn clevis(&mut self, p: &str) {
        if !self.object(p, CLEVIS) {
            return;
        }
        self.object(&format!("{p}/custom"), CUSTOM);
        for t in self.ctx.list(&format!("{p}/tang")) {
            self.object(&t, TANG);
        }
    }

    /// A `storage.filesystems` item: `with_mount_unit` (Butane's sugar for a mount unit, which
    /// needs a path unless the format is swap), the formats the spec and the variant take.
    fn filesystem(&mut self, ip: &str, o: &mut Map<String, Value>) {
        let format = self.ctx.string(&format!("{ip}/format")).unwrap_or_default();
        if o.remove("withMountUnit").is_some()
            && self.ctx.boolean(&format!("{ip}/with_mount_unit")) == Some(true)
        {
            let path = self.ctx.string(&format!("{ip}/path")).unwrap_or_default();
            if path.is_empty() && format != "swap" {
                let message = "path is required if with_mount_unit is true and format is not swap";
                self.ctx.error(&format!("{ip}/path"), message);
            }
            self.mount_unit(o);
        }
        let fp = format!("{ip}/format");
        let known = ["ext4", "btrfs", "xfs", "vfat", "swap"];
        if !format.is_empty()
            && !known.contains(&format.as_str())
            && (format != "none" || self.src.spec < (crate::ignition::Spec { major: 3, minor: 3 }))
        {
            self.ctx.error(&fp, "invalid filesystem format");
        } else if self.openshift() && format == "btrfs" {
            self.ctx
                .error(&fp, "btrfs is not supported in this spec version");
        } else if self.openshift() && format == "none" {
            self.ctx
                .error(&fp, "format \"none\" is not supported in this spec version");
        }
    }

    /// A files/directories/links entry's common fields, then `fields`.
    pub(super) fn node(&mut self, p: &str, fields: &[(&str, u8)]) -> Value {
        let mut out = Map::new();
        if let Some(g) = self.owner(&format!("{p}/group")) {
            out.insert("group".into(), g);
        }
        if let Some(o) = self.ctx.boolean(&format!("{p}/overwrite")) {
            out.insert("overwrite".into(), json!(o));
        }
        if let Some(path) = self.ctx.string(&format!("{p}/path")) {
            out.insert("path".into(), json!(path));
        }
        if let Some(u) = self.owner(&format!("{p}/user")) {
            out.insert("user".into(), u);
        }
        for (k, _) in fields {
            let ptr = format!("{p}/{k}");
            match *k {
                "target" => {
                    if let Some(t) = self.ctx.string(&ptr) {
                        out.insert("target".into(), json!(t));
                    }
                }
                "hard" => {
                    if let Some(h) = self.ctx.boolean(&ptr) {
                        out.insert("hard".into(), json!(h));
                    }
                }
                "mode" => {
                    if let Some(m) = self.mode(&ptr) {
                        out.insert("mode".into(), json!(m));
                    }
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    pub(super) fn owner(&mut self, p: &str) -> Option<Value> {
        if !self.object(p, OWNER) {
            return None;
        }
        let mut out = Map::new();
        if let Some(id) = self.ctx.int(&format!("{p}/id")) {
            out.insert("id".into(), json!(id));
        }
        if let Some(name) = self.ctx.string(&format!("{p}/name")) {
            out.insert("name".into(), json!(name));
        }
        Some(Value::Object(out))
    }

    pub(super) fn file(&mut self, p: &str) -> Option<Value> {
        let all: Vec<(&str, u8)> = NODE.iter().chain(FILE).copied().collect();
        if !self.object(p, &all) {
            return None;
        }
        let mut out = self.node(p, &[]);
        let obj = out.as_object_mut()?;
        if self.ctx.get(&format!("{p}/append")).is_some() {
            if self.openshift() {
                self.ctx.error(
                    &format!("{p}/append"),
                    "appending to files is not supported in this spec version",
                );
            }
            let items: Vec<Value> = self
                .ctx
                .list(&format!("{p}/append"))
                .iter()
                .filter_map(|a| self.resource(a))
                .collect();
            obj.insert("append".into(), Value::Array(items));
        }
        // An empty resource (`inline: ~`) is no contents at all, as Butane writes it.
        let contents = self.resource(&format!("{p}/contents"));
        if let Some(c) = contents.filter(|c| c.as_object().is_some_and(|o| !o.is_empty())) {
            obj.insert("contents".into(), c);
        }
        if let Some(m) = self.mode(&format!("{p}/mode")) {
            obj.insert("mode".into(), json!(m));
        }
        Some(out)
    }

    /// A `mode`; the openshift variant refuses special bits from 4.10.
    pub(super) fn mode(&mut self, pointer: &str) -> Option<i64> {
        let m = self.ctx.int(pointer)?;
        let directory = pointer.contains("/directories/");
        if decimal_mode(m, directory) {
            self.ctx.warn(pointer, "unreasonable mode would be reasonable if specified in octal; remember to add a leading zero");
        }
        if m & 0o7000 != 0 && self.src.spec < (crate::ignition::Spec { major: 3, minor: 4 }) {
            self.ctx.warn(
                pointer,
                "setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0",
            );
        }
        if self.openshift() && self.src.release >= 10 && !(0..=0o777).contains(&m) {
            let message = "special mode bits are not supported in this spec version";
            self.ctx.error(pointer, message);
        }
        Some(m)
    }

    /// A resource (file contents, an append, a merged config, a CA): `inline` and `local` become
    /// data URLs as Butane makes them.
    pub(super) fn resource(&mut self, p: &str) -> Option<Value> {
        if !self.object(p, RESOURCE) {
            return None;
        }
        let mut set: Vec<&str> = Vec::new();
        for k in ["local", "inline", "source"] {
            if self.ctx.get(&format!("{p}/{k}")).is_some() {
                set.push(k);
            }
        }
        if set.len() > 1 {
            let last = set.last().copied().unwrap_or("source");
            self.ctx.error(
                &format!("{p}/{last}"),
                "only one of the following can be set: inline, local, source",
            );
            return None;
        }
        let mut out = Map::new();
        let compression = self.ctx.string(&format!("{p}/compression"));
        // The MCO's rules are about storage.files (merged configs and CAs are Ignition's).
        let file_contents = p.starts_with("/storage/files/");
        if compression.as_deref().is_some_and(|c| !c.is_empty())
            && file_contents
            && self.openshift()
            && self.src.release <= 9
        {
            self.ctx.error(
                &format!("{p}/compression"),
                "file compression is not supported in this spec version",
            );
        }
        let bytes = match set.first().copied() {
            Some("inline") => self
                .ctx
                .string(&format!("{p}/inline"))
                .map(String::into_bytes),
            Some("local") => {
                let ptr = format!("{p}/local");
                let local = self.ctx.string(&ptr).unwrap_or_default();
                match self.local {
                    Local::Unread => {
                        out.insert("source".into(), json!(UNREAD_LOCAL));
                        None
                    }
                    Local::Dir(_) => self.read_local(&ptr, &local),
                }
            }
            _ => None,
        };
        if self.ctx.get(&format!("{p}/http_headers")).is_some() {
            if self.openshift() {
                self.ctx.error(
                    &format!("{p}/http_headers"),
                    "file HTTP headers are not supported in this spec version",
                );
            }
            let mut headers = Vec::new();
            for h in self.ctx.list(&format!("{p}/http_headers")) {
                if self.object(&h, HEADER) {
                    let name = self.ctx.string(&format!("{h}/name"));
                    let value = self.ctx.string(&format!("{h}/value"));
                    headers.push(json!({"name": name, "value": value}));
                }
            }
            out.insert("httpHeaders".into(), Value::Array(headers));
        }
        let mut compressed = compression.clone();
        if let Some(bytes) = bytes {
            let (url, gzipped) =
                self.data_url(&bytes, compression.as_deref().unwrap_or("").is_empty());
            if gzipped {
                compressed = Some("gzip".into());
            }
            out.insert("source".into(), json!(url));
            if self.src.base >= 2 && compressed.is_none() {
                compressed = Some(String::new());
            }
        } else if let Some(s) = self.ctx.string(&format!("{p}/source")) {
            if self.openshift() && file_contents && !is_data_url(&s) {
                self.ctx.error(
                    &format!("{p}/source"),
                    "file contents source must be data URL in this spec version",
                );
            }
            out.insert("source".into(), json!(s));
        }
        if let Some(c) = compressed {
            out.insert("compression".into(), json!(c));
        }
        if self.object(&format!("{p}/verification"), VERIFICATION) {
            let hash = self.ctx.string(&format!("{p}/verification/hash"));
            out.insert("verification".into(), json!({"hash": hash}));
        }
        // Ignition's field order: compression, httpHeaders, source, verification.
        let mut ordered = Map::new();
        for k in ["compression", "httpHeaders", "source", "verification"] {
            if let Some(v) = out.remove(k) {
                ordered.insert(k.into(), v);
            }
        }
        Some(Value::Object(ordered))
    }

    /// Butane's data URL for some bytes: `%`-escaped or base64, whichever is shorter (base64 only
    /// when strictly shorter), or gzip+base64 when that is shorter still by more than the
    /// `gzip` it adds (only when the source sets no compression and the version compresses).
    /// fcos 1.0.0 always escapes. Whether it was gzipped.
    pub(super) fn data_url(&self, bytes: &[u8], may_compress: bool) -> (String, bool) {
        if self.src.base == 1 {
            return (escaped_data_url(bytes), false);
        }
        let best = encode_data_url(bytes);
        let auto = may_compress && !(self.openshift() && self.src.release <= 9);
        if auto {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            if gz.write_all(bytes).is_ok() {
                if let Ok(z) = gz.finish() {
                    use base64::Engine;
                    let url = format!(
                        "data:;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(z)
                    );
                    if url.len() + "gzip".len() < best.len() {
                        return (url, true);
                    }
                }
            }
        }
        (best, false)
    }

    /// Read a `local` file below the files directory.
    pub(super) fn read_local(&mut self, pointer: &str, local: &str) -> Option<Vec<u8>> {
        let dir = match self.local {
            Local::Dir(Some(d)) => d,
            Local::Dir(None) => {
                self.ctx.error(pointer, "local file paths are relative to a files directory that must be specified with -d/--files-dir (modlayer: --files-dir)");
                return None;
            }
            Local::Unread => return Some(Vec::new()),
        };
        let Some(path) = within(dir, local) else {
            self.ctx.error(
                pointer,
                "local file path traverses outside the files directory",
            );
            return None;
        };
        match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) => {
                self.ctx
                    .error(pointer, format!("open {}: {e}", path.display()));
                None
            }
        }
    }
}

/// What a tree holds at a path.
pub(super) enum TreeNode {
    /// A regular file: its bytes, and whether it is executable.
    File(Vec<u8>, bool),
    /// A symbolic link to a target.
    Link(PathBuf),
}

/// The regular files and symlinks below `root/rel`, in name order (as Go's `filepath.Walk`).
pub(super) fn walk(
    root: &Path,
    rel: &Path,
    out: &mut Vec<(PathBuf, TreeNode)>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = rel.join(e.file_name());
        let meta = std::fs::symlink_metadata(root.join(&path))?;
        if meta.file_type().is_symlink() {
            out.push((
                path.clone(),
                TreeNode::Link(std::fs::read_link(root.join(&path))?),
            ));
        } else if meta.is_dir() {
            walk(root, &path, out)?;
        } else if meta.is_file() {
            let bytes = std::fs::read(root.join(&path))?;
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push((path, TreeNode::File(bytes, executable)));
        }
    }
    Ok(())
}

/// fcos 1.0.0's data URL: every byte but `A-Za-z0-9-_.!~*'()` escaped.
pub(super) fn escaped_data_url(bytes: &[u8]) -> String {
    let mut out = String::from("data:,");
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `local` joined to `dir` as Butane does (`filepath.Join`, a leading `/` relative too), if the
/// result stays inside `dir` (a lexical check, as Butane's).
pub(super) fn within(dir: &Path, local: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(local).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(dir.join(out))
}

/// Whether a mode looks written in decimal where octal was meant (Butane's warning): it is not a
/// usual mode, and its decimal digits read as octal are one.
pub(super) fn decimal_mode(mode: i64, directory: bool) -> bool {
    if !(0..=7777).contains(&mode) {
        return false;
    }
    let mut octal = 0;
    for divisor in [1000, 100, 10, 1] {
        let digit = (mode / divisor) % 10;
        if digit > 7 {
            return false;
        }
        octal = (octal << 3) | digit;
    }
    !usual_mode(mode, directory) && usual_mode(octal, directory)
}

/// Whether a mode is an unsurprising one (Butane's reading): each wider class has no bit the
/// narrower lacks, no read-less write or execute, someone can read (and, for a directory,
/// enter); special bits only where they make sense.
fn usual_mode(mode: i64, directory: bool) -> bool {
    if mode == 0 {
        return true;
    }
    let (mut had_r, mut had_w, mut had_x) = (false, false, false);
    for shift in [0, 3, 6] {
        let perm = (mode >> shift) & 7;
        let (r, w, x) = (perm & 4 != 0, perm & 2 != 0, perm & 1 != 0);
        if (!r && had_r) || (!w && had_w) || (!x && had_x) {
            return false;
        }
        if x && had_r && !had_x {
            return false;
        }
        if (w || x) && !r {
            return false;
        }
        had_r |= r;
        had_w |= w;
        had_x |= x;
    }
    if !had_r {
        return false;
    }
    if directory {
        had_x && mode & 0o4000 == 0 && (mode & 0o3000 == 0 || had_w)
    } else {
        let special_ok = mode & 0o6000 == 0 || (had_x && mode & 2 == 0);
        special_ok && mode & 0o1000 == 0
    }
}
