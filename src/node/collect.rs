//! Reading a root file system into a node view, whatever holds it (a directory, a tar stream, the
//! layers of an OCI image): every reader feeds a [`Collector`] with the entries it meets, and the
//! collector keeps only what decides whether a module loads — modprobe.d and modules-load.d files,
//! boot loader entries, and which kernels carry the module.

use std::collections::{BTreeMap, BTreeSet};

use crate::layer::Layer;
use crate::node::rules::{
    is_decision_path, is_mask, normalize_module, ostree_etc_path, unit_path, UnitPath,
};
pub use crate::node::rules::{node_path, resolve_link};
use crate::node::{split_kernel_args, Content, Entry, Kernel, NodeView};
use crate::origin::Origin;

/// Directory of boot loader entries (Boot Loader Specification), whose `options` lines are the
/// kernel command line.
pub const BOOT_ENTRIES: &str = "/boot/loader/entries";

/// bootc's kernel arguments carried in the image (`*.toml` with `kargs = [...]`), appended to the
/// command line at install and upgrade.
pub const BOOTC_KARGS: &str = "/usr/lib/bootc/kargs.d";

/// Whether a path is a source of kernel arguments rather than a configuration file.
fn is_cmdline_source(path: &str) -> bool {
    path.starts_with(BOOT_ENTRIES) || path.starts_with(BOOTC_KARGS)
}

/// Whether a path is a `.wants/` or `.requires/` link: only its name matters (systemd enables
/// the unit of that name), so it is kept as a link and never resolved.
fn is_enablement(path: &str) -> bool {
    matches!(unit_path(path), Some(UnitPath::Wants { .. }))
}

/// Largest configuration file the collector keeps (modprobe.d files are a few hundred bytes).
pub const MAX_KEPT: u64 = 1 << 20;

/// The kernel arguments of a bootc `kargs.d` file (`kargs = ["a=b c", …]`), whatever its
/// `match-architectures` (an argument that blocks the module on any architecture is worth
/// reporting). A file that is not TOML yields none: bootc refuses it at install.
fn bootc_kargs(bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    doc.get("kargs")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
        .flat_map(split_kernel_args)
        .collect()
}

/// Where following links from a path ends.
enum Follow<'a> {
    /// At an entry that is not a link.
    Entry(&'a Entry),
    /// At `/dev/null`: a mask.
    Null,
    /// At a path the collector does not hold.
    Missing(String),
    /// Nowhere: too many links.
    Loop,
}

/// What the collector does with an entry at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Its bytes matter: read and pass them to [`Collector::file`].
    Contents,
    /// Only that it exists matters (a kernel module, a kernel directory).
    Presence,
    /// Not needed.
    None,
}

/// Gathers what a root holds into a [`NodeView`].
#[derive(Debug, Clone)]
pub struct Collector {
    module: String,
    layer_paths: BTreeSet<String>,
    files: BTreeMap<String, Entry>,
    boot: BTreeMap<String, (Vec<u8>, Origin)>,
    /// kernel version -> where the module is (None: not seen yet)
    kernels: BTreeMap<String, Option<String>>,
    /// Paths kept because a link at an interesting path points there.
    wanted: BTreeSet<String>,
    builtin: BTreeMap<String, Vec<u8>>,
}

fn kernel_of(path: &str) -> Option<(&str, &str)> {
    let rest = path
        .strip_prefix("/usr/lib/modules/")
        .or_else(|| path.strip_prefix("/lib/modules/"))?;
    match rest.split_once('/') {
        Some((kver, inner)) => Some((kver, inner)),
        None => Some((rest, "")),
    }
}

/// Whether a file name is a build of `module` (`sctp.ko`, `sctp.ko.xz`, `.zst`, `.gz`).
fn is_module_file(name: &str, module: &str) -> bool {
    ["", ".xz", ".zst", ".gz"].iter().any(|ext| {
        name.strip_suffix(ext)
            .and_then(|n| n.strip_suffix(".ko"))
            .is_some_and(|n| normalize_module(n) == module)
    })
}

impl Collector {
    /// A collector for a layer's module (and its files, compared byte for byte later).
    pub fn new(layer: &Layer) -> Collector {
        Collector {
            module: normalize_module(&layer.module),
            layer_paths: layer.files.iter().map(|f| f.path.clone()).collect(),
            files: BTreeMap::new(),
            boot: BTreeMap::new(),
            kernels: BTreeMap::new(),
            wanted: BTreeSet::new(),
            builtin: BTreeMap::new(),
        }
    }

    /// What matters about the entry at a node path (absolute, clean).
    pub fn interest(&self, path: &str) -> Interest {
        if self.wanted.contains(path) {
            return Interest::Contents;
        }
        self.own_interest(path)
    }

    /// [`Collector::interest`] for the view's own sake (not as a link target).
    fn own_interest(&self, path: &str) -> Interest {
        if self.layer_paths.contains(path) {
            return Interest::Contents;
        }
        if is_decision_path(path) {
            return Interest::Contents;
        }
        let Some((dir, name)) = path.rsplit_once('/') else {
            return Interest::None;
        };
        if (dir == BOOT_ENTRIES && name.ends_with(".conf"))
            || (dir == BOOTC_KARGS && name.ends_with(".toml"))
        {
            return Interest::Contents;
        }
        if let Some((_, inner)) = kernel_of(path) {
            if inner == "modules.builtin" {
                return Interest::Contents;
            }
            if inner.is_empty() || is_module_file(name, &self.module) {
                return Interest::Presence;
            }
        }
        Interest::None
    }

    /// Whether bytes of this size are kept (larger "config" files are reported as not visible).
    pub fn keeps(size: u64) -> bool {
        size <= MAX_KEPT
    }

    /// A regular file at `path` with these bytes (for [`Interest::Contents`]) or none (presence).
    pub fn file(&mut self, path: &str, bytes: Option<Vec<u8>>, mode: Option<u32>, origin: &str) {
        if let Some((kver, inner)) = kernel_of(path) {
            let kver = kver.to_string();
            let slot = self.kernels.entry(kver.clone()).or_insert(None);
            let name = inner.rsplit('/').next().unwrap_or("");
            if is_module_file(name, &self.module) {
                *slot = Some(path.trim_start_matches('/').to_string());
            } else if inner == "modules.builtin" {
                if let Some(b) = bytes {
                    self.builtin.insert(kver, b);
                }
            }
            return;
        }
        let Some(bytes) = bytes else { return };
        if is_cmdline_source(path) {
            self.boot
                .insert(path.to_string(), (bytes, Origin::note(origin)));
            return;
        }
        self.files.insert(
            path.to_string(),
            Entry {
                content: Content::File { bytes, mode },
                origin: Origin::note(origin),
            },
        );
    }

    /// A directory at `path` (registers kernels: `lib/modules/<kver>/`).
    pub fn dir(&mut self, path: &str) {
        if let Some((kver, inner)) = kernel_of(path) {
            if inner.is_empty() && !kver.is_empty() {
                self.kernels.entry(kver.to_string()).or_insert(None);
            }
        }
    }

    /// A symlink at `path` to `target`: a `/dev/null` target masks; another is resolved when the
    /// whole file state is known ([`Collector::finish`]; a reader that has not kept the target
    /// reads again with [`Collector::want`] for [`Collector::missing_link_targets`]).
    pub fn symlink(&mut self, path: &str, target: &str, origin: &str) {
        if self.interest(path) != Interest::Contents || is_cmdline_source(path) {
            return;
        }
        let content = if is_mask(path, target) {
            Content::Mask
        } else {
            Content::Link(resolve_link(path, target))
        };
        self.files.insert(
            path.to_string(),
            Entry {
                content,
                origin: Origin::note(origin),
            },
        );
    }

    /// Also keep the files at these paths (link targets).
    pub fn want(&mut self, paths: impl IntoIterator<Item = String>) {
        self.wanted.extend(paths);
    }

    /// Link targets the collector has not kept (and not already asked for): a reader that can
    /// read again should [`Collector::want`] them and read once more.
    pub fn missing_link_targets(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for path in self.files.keys().filter(|p| !is_enablement(p)) {
            if let Follow::Missing(target) = self.follow(path) {
                if !self.wanted.contains(&target) {
                    out.insert(target);
                }
            }
        }
        out
    }

    /// Follow links from `path` to what they lead to.
    fn follow(&self, path: &str) -> Follow<'_> {
        let mut at = path.to_string();
        for _ in 0..40 {
            match self.files.get(&at) {
                None => return Follow::Missing(at),
                Some(Entry {
                    content: Content::Link(next),
                    ..
                }) => {
                    if next == "/dev/null" {
                        return Follow::Null;
                    }
                    at = next.clone();
                }
                Some(e) => return Follow::Entry(e),
            }
        }
        Follow::Loop
    }

    /// An entry whose contents cannot be read safely or at all (too large, a device, a hardlink out
    /// of reach): recorded as not visible.
    pub fn unknown(&mut self, path: &str, why: &str, origin: &str) {
        if self.interest(path) == Interest::Contents && !is_cmdline_source(path) {
            self.files.insert(
                path.to_string(),
                Entry {
                    content: Content::Unknown(why.to_string()),
                    origin: Origin::note(origin),
                },
            );
        }
    }

    /// Replace every link by what it leads to: the target's bytes (origin naming the link), a
    /// mask, nothing for a dangling link (kmod and systemd skip those), or not visible for a loop
    /// or a target the reader did not keep.
    fn resolve_links(&mut self) {
        let links: Vec<String> = self
            .files
            .iter()
            .filter(|(p, e)| matches!(e.content, Content::Link(_)) && !is_enablement(p))
            .map(|(p, _)| p.clone())
            .collect();
        for path in links {
            let origin = self
                .files
                .get(&path)
                .map(|e| e.origin.clone())
                .unwrap_or_default();
            let target = match self.files.get(&path).map(|e| &e.content) {
                Some(Content::Link(t)) => t.clone(),
                _ => continue,
            };
            let resolved = match self.follow(&path) {
                Follow::Entry(e) => Some(Entry {
                    content: e.content.clone(),
                    origin: origin
                        .clone()
                        .with_words(format!(", a link to {target} ({})", e.origin)),
                }),
                Follow::Null => Some(Entry {
                    content: Content::Mask,
                    origin,
                }),
                // A dangling link: kmod and systemd skip it.
                Follow::Missing(missing) if self.wanted.contains(&missing) => None,
                Follow::Missing(missing) => Some(Entry {
                    content: Content::Unknown(format!(
                        "a symlink to {missing}, which was not read"
                    )),
                    origin,
                }),
                Follow::Loop => Some(Entry {
                    content: Content::Unknown(format!("a symlink loop through {target}")),
                    origin,
                }),
            };
            match resolved {
                Some(e) => {
                    self.files.insert(path, e);
                }
                None => {
                    self.files.remove(&path);
                }
            }
        }
        let wanted: Vec<String> = self.wanted.iter().cloned().collect();
        for w in wanted {
            if self.own_interest(&w) != Interest::Contents {
                self.files.remove(&w);
            }
        }
    }

    /// Remove `path` and everything below it (an OCI whiteout).
    pub fn remove(&mut self, path: &str) {
        let below = format!("{}/", path.trim_end_matches('/'));
        let gone = |p: &String| p == path || p.starts_with(&below);
        self.files.retain(|p, _| !gone(p));
        self.boot.retain(|p, _| !gone(p));
        if let Some((kver, inner)) = kernel_of(path) {
            if inner.is_empty() {
                self.kernels.remove(kver);
                self.builtin.remove(kver);
            } else if let Some(slot) = self.kernels.get_mut(kver) {
                if slot
                    .as_deref()
                    .is_some_and(|m| format!("/{m}") == path || format!("/{m}").starts_with(&below))
                {
                    *slot = None;
                }
            }
        } else if path == "/lib/modules"
            || path == "/usr/lib/modules"
            || path == "/lib"
            || path == "/usr/lib"
            || path == "/usr"
        {
            self.kernels.clear();
            self.builtin.clear();
        }
    }

    /// Everything the collector has now, as a snapshot for opaque-directory handling: the paths
    /// below `dir` it holds.
    pub fn paths_below(&self, dir: &str) -> Vec<String> {
        let below = format!("{}/", dir.trim_end_matches('/'));
        self.files
            .keys()
            .chain(self.boot.keys())
            .filter(|p| p.starts_with(&below))
            .cloned()
            .collect()
    }

    /// The node view: `/usr/etc` read as `/etc` in an ostree commit layout (no `/etc`),
    /// kernel arguments from boot loader entries, kernels with their module.
    pub fn finish(mut self) -> NodeView {
        self.resolve_links();
        let has_etc = self.files.keys().any(|p| p.starts_with("/etc/"));
        let mut view = NodeView::default();
        for (path, entry) in self.files {
            let path = match ostree_etc_path(&path) {
                Some(etc) if !has_etc => etc,
                Some(_) => continue,
                None => path,
            };
            view.files.insert(path, entry);
        }
        for (path, (bytes, origin)) in &self.boot {
            if path.starts_with(BOOTC_KARGS) {
                for arg in bootc_kargs(bytes) {
                    view.kernel_args.push((arg, origin.inner(path.as_str())));
                }
                continue;
            }
            for line in String::from_utf8_lossy(bytes).lines() {
                let line = line.trim();
                if let Some(opts) = line.strip_prefix("options") {
                    if opts.starts_with(char::is_whitespace) {
                        for arg in split_kernel_args(opts) {
                            view.kernel_args.push((arg, origin.inner(path.as_str())));
                        }
                    }
                }
            }
        }
        if !self.kernels.is_empty() {
            let module = self.module.clone();
            view.kernels = Some(
                self.kernels
                    .into_iter()
                    .map(|(version, found)| {
                        let builtin = self.builtin.get(&version).is_some_and(|b| {
                            String::from_utf8_lossy(b).lines().any(|l| {
                                l.rsplit('/')
                                    .next()
                                    .is_some_and(|n| is_module_file(n, &module))
                            })
                        });
                        Kernel {
                            module: found.or_else(|| builtin.then(|| "builtin".to_string())),
                            version,
                        }
                    })
                    .collect(),
            );
        }
        view
    }
}

/// What one image layer holds: its entries (in a collector of its own) and what it deletes from
/// the layers below (OCI whiteouts `.wh.<name>` and opaque directories `.wh..wh..opq`).
#[derive(Debug, Clone)]
pub struct LayerDelta {
    /// The layer's own entries.
    pub entries: Collector,
    /// Paths deleted from lower layers.
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents are hidden.
    pub opaque: Vec<String>,
}

impl LayerDelta {
    /// An empty delta for a layer.
    pub fn new(layer: &Layer) -> LayerDelta {
        LayerDelta {
            entries: Collector::new(layer),
            whiteouts: Vec::new(),
            opaque: Vec::new(),
        }
    }
}

impl Collector {
    /// Lay an image layer over what the lower layers gave: opaque directories and whiteouts first
    /// remove lower entries, then the layer's own entries replace same-path ones.
    pub fn overlay(&mut self, delta: LayerDelta) {
        for dir in delta.opaque.iter().chain(&delta.whiteouts) {
            if delta.opaque.contains(dir) {
                for p in self.paths_below(dir) {
                    self.remove(&p);
                }
                let below = format!("{}/", dir.trim_end_matches('/'));
                let kernels: Vec<String> = self
                    .kernels
                    .keys()
                    .filter(|k| {
                        ["/lib/modules/", "/usr/lib/modules/"]
                            .iter()
                            .any(|m| format!("{m}{k}").starts_with(&below))
                    })
                    .cloned()
                    .collect();
                for k in kernels {
                    self.kernels.remove(&k);
                    self.builtin.remove(&k);
                }
            } else {
                self.remove(dir);
            }
        }
        let d = delta.entries;
        self.files.extend(d.files);
        self.boot.extend(d.boot);
        for (k, found) in d.kernels {
            let slot = self.kernels.entry(k).or_insert(None);
            if found.is_some() {
                *slot = found;
            }
        }
        self.builtin.extend(d.builtin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    #[test]
    fn layers_overlay_with_whiteouts() {
        let mut base = Collector::new(&sctp());
        base.file(
            "/etc/modules-load.d/sctp-load.conf",
            Some(b"sctp".to_vec()),
            Some(0o644),
            "layer 1",
        );
        base.file(
            "/etc/modprobe.d/a.conf",
            Some(b"".to_vec()),
            Some(0o644),
            "layer 1",
        );
        base.dir("/usr/lib/modules/6.1.0");
        let mut d = LayerDelta::new(&sctp());
        d.whiteouts
            .push("/etc/modules-load.d/sctp-load.conf".into());
        d.opaque.push("/etc/modprobe.d".into());
        d.entries.file(
            "/etc/modprobe.d/b.conf",
            Some(b"x".to_vec()),
            Some(0o644),
            "layer 2",
        );
        let mut c = base.clone();
        c.overlay(d);
        let v = c.finish();
        assert_eq!(
            v.files.keys().collect::<Vec<_>>(),
            vec!["/etc/modprobe.d/b.conf"]
        );
        assert_eq!(v.kernels.unwrap().len(), 1);
        let mut d = LayerDelta::new(&sctp());
        d.opaque.push("/usr/lib/modules".into());
        base.overlay(d);
        assert_eq!(base.finish().kernels, None);
    }

    #[test]
    fn links_resolve_through_the_file_state() {
        let mut c = Collector::new(&sctp());
        c.symlink("/etc/modules-load.d/modules.conf", "../modules", "layer 0");
        c.symlink(
            "/etc/modules-load.d/a.conf",
            "/etc/modules-load.d/b.conf",
            "layer 0",
        );
        c.symlink("/etc/modules-load.d/b.conf", "../../dev/null", "layer 0");
        c.symlink("/etc/modprobe.d/loop.conf", "loop.conf", "layer 0");
        c.symlink("/etc/modprobe.d/gone.conf", "/nowhere.conf", "layer 0");
        assert_eq!(
            c.missing_link_targets().into_iter().collect::<Vec<_>>(),
            vec!["/etc/modules", "/nowhere.conf"]
        );
        // The reader reads again, keeping the targets.
        c.want(c.missing_link_targets());
        assert!(c.missing_link_targets().is_empty());
        assert_eq!(c.interest("/etc/modules"), Interest::Contents);
        c.file(
            "/etc/modules",
            Some(b"sctp\n".to_vec()),
            Some(0o644),
            "layer 1",
        );
        let v = c.finish();
        let e = &v.files["/etc/modules-load.d/modules.conf"];
        assert_eq!(
            e.content,
            Content::File {
                bytes: b"sctp\n".to_vec(),
                mode: Some(0o644)
            }
        );
        assert!(
            e.origin.to_string().contains("a link to /etc/modules"),
            "{}",
            e.origin
        );
        assert_eq!(v.files["/etc/modules-load.d/a.conf"].content, Content::Mask);
        assert!(matches!(
            v.files["/etc/modprobe.d/loop.conf"].content,
            Content::Unknown(_)
        ));
        assert!(
            !v.files.contains_key("/etc/modprobe.d/gone.conf"),
            "a dangling link is skipped"
        );
        assert!(
            !v.files.contains_key("/etc/modules"),
            "link targets are not config files"
        );
        assert_eq!(resolve_link("/etc/a/b.conf", "../../../../x"), "/x");
    }

    #[test]
    fn bootc_kernel_arguments() {
        let mut c = Collector::new(&sctp());
        let path = "/usr/lib/bootc/kargs.d/10-site.toml";
        assert_eq!(c.interest(path), Interest::Contents);
        assert_eq!(c.interest("/usr/lib/bootc/kargs.d/README"), Interest::None);
        c.file(path, Some(b"kargs = [\"quiet module_blacklist=sctp\", \"nosmt\"]\nmatch-architectures = [\"x86_64\"]\n".to_vec()), None, "layer 3");
        let v = c.finish();
        let args: Vec<&str> = v.kernel_args.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(args, ["quiet", "module_blacklist=sctp", "nosmt"]);
        assert!(v.kernel_args[1].1.to_string().contains("10-site.toml"));
        assert!(bootc_kargs(b"kargs = not toml [").is_empty());
    }

    #[test]
    fn paths() {
        assert_eq!(node_path("./etc/x").as_deref(), Some("/etc/x"));
        assert_eq!(node_path("/etc//x/").as_deref(), Some("/etc/x"));
        assert_eq!(node_path("etc/../../x"), None);
    }

    #[test]
    fn interests() {
        let c = Collector::new(&sctp());
        assert_eq!(c.interest("/etc/modprobe.d/a.conf"), Interest::Contents);
        assert_eq!(c.interest("/usr/etc/modprobe.d/a.conf"), Interest::Contents);
        assert_eq!(
            c.interest("/usr/lib/modules-load.d/a.conf"),
            Interest::Contents
        );
        assert_eq!(c.interest("/etc/modprobe.d/a.txt"), Interest::None);
        assert_eq!(
            c.interest("/boot/loader/entries/ostree-1.conf"),
            Interest::Contents
        );
        assert_eq!(
            c.interest("/usr/lib/modules/6.1.0/kernel/net/sctp/sctp.ko.xz"),
            Interest::Presence
        );
        assert_eq!(c.interest("/lib/modules/6.1.0"), Interest::Presence);
        assert_eq!(
            c.interest("/lib/modules/6.1.0/modules.builtin"),
            Interest::Contents
        );
        assert_eq!(
            c.interest("/lib/modules/6.1.0/kernel/net/dccp/dccp.ko"),
            Interest::None
        );
        assert_eq!(c.interest("/etc/passwd"), Interest::None);
    }

    #[test]
    fn kernels_and_boot_entries() {
        let mut c = Collector::new(&sctp());
        c.dir("/usr/lib/modules/5.14.0");
        c.file(
            "/usr/lib/modules/5.14.0/kernel/net/sctp/sctp.ko.xz",
            None,
            None,
            "t",
        );
        c.dir("/usr/lib/modules/6.0.0");
        c.file(
            "/boot/loader/entries/a.conf",
            Some(b"title x\noptions root=UUID=1 quiet module_blacklist=sctp\n".to_vec()),
            None,
            "t",
        );
        let v = c.clone().finish();
        let k = v.kernels.unwrap();
        assert_eq!(
            k[0].module.as_deref(),
            Some("usr/lib/modules/5.14.0/kernel/net/sctp/sctp.ko.xz")
        );
        assert_eq!(k[1].module, None);
        assert!(v
            .kernel_args
            .iter()
            .any(|(a, _)| a == "module_blacklist=sctp"));
        c.file(
            "/usr/lib/modules/6.0.0/modules.builtin",
            Some(b"kernel/net/sctp/sctp.ko\n".to_vec()),
            None,
            "t",
        );
        assert_eq!(
            c.clone().finish().kernels.unwrap()[1].module.as_deref(),
            Some("builtin")
        );
        c.remove("/usr/lib/modules/5.14.0/kernel/net/sctp/sctp.ko.xz");
        assert_eq!(c.finish().kernels.unwrap()[0].module, None);
    }

    #[test]
    fn ostree_layout_and_whiteouts() {
        let mut c = Collector::new(&sctp());
        c.file(
            "/usr/etc/modprobe.d/sctp-blacklist.conf",
            Some(b"blacklist sctp\n".to_vec()),
            Some(0o644),
            "t",
        );
        c.symlink("/usr/lib/modules-load.d/x.conf", "/dev/null", "t");
        let v = c.clone().finish();
        assert!(v.files.contains_key("/etc/modprobe.d/sctp-blacklist.conf"));
        assert_eq!(
            v.files["/usr/lib/modules-load.d/x.conf"].content,
            Content::Mask
        );
        c.remove("/usr/etc/modprobe.d");
        let v = c.finish();
        assert_eq!(
            v.files.keys().collect::<Vec<_>>(),
            vec!["/usr/lib/modules-load.d/x.conf"]
        );
    }

    #[test]
    fn units_from_image_layers() {
        let mut c = Collector::new(&sctp());
        let unit = "/usr/etc/systemd/system/load.service";
        assert_eq!(c.interest(unit), Interest::Contents);
        assert_eq!(
            c.interest("/usr/lib/systemd/system/multi-user.target.wants/load.service"),
            Interest::Contents
        );
        assert_eq!(
            c.interest("/usr/lib/systemd/system/load.timer"),
            Interest::None
        );
        c.file(
            unit,
            Some(b"[Service]\nExecStart=/usr/sbin/modprobe sctp\n".to_vec()),
            Some(0o644),
            "layer 1",
        );
        c.file(
            "/usr/lib/systemd/system/load.service.d/10-x.conf",
            Some(b"[Service]\nExecStartPost=/bin/true\n".to_vec()),
            Some(0o644),
            "layer 1",
        );
        // A wants link is kept as a link (its name enables the unit), never resolved or re-read.
        c.symlink(
            "/usr/etc/systemd/system/multi-user.target.wants/load.service",
            "../load.service",
            "layer 2",
        );
        c.symlink(
            "/usr/lib/systemd/system/masked.service",
            "/dev/null",
            "layer 2",
        );
        assert!(c.missing_link_targets().is_empty());
        let v = c.finish();
        let units = v.units();
        let u = &units["load.service"];
        assert_eq!(
            u.file.as_ref().unwrap().0,
            "/etc/systemd/system/load.service"
        );
        assert_eq!(u.wanted_by[0].0, "multi-user.target");
        assert_eq!(u.dropins.len(), 1);
        assert!(units["masked.service"].masked.is_some());
        assert!(crate::node::evaluate(&v, "sctp").enabled());
    }
}
