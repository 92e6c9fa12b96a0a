//! Targets: what a TARGET argument names, how its kind is detected, and one trait every kind
//! implements. A command opens a target ([`open`]) and calls [`Target::apply`] or
//! [`Target::views`]; it never matches on kinds. Adding a kind is adding a module here.

pub mod butane;
pub mod hub;
pub mod ignition;
pub mod installdir;
pub mod iso;
pub mod machineconfig;
pub mod manifests;
pub mod nest;
pub mod oci;
pub mod pxe;
pub mod tar;
pub mod tree;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;

use crate::formats::json::Spliced;
use crate::fsutil::{read_config_mapped, write_atomic_with, FileBytes};
use crate::layer::Layer;
use crate::mco::inventory::PoolChoice;
use crate::mco::release::Release;
use crate::node::base::Base;
use crate::node::NodeView;
use crate::origin::Origin;
use crate::report::{assess_all, TargetReport, View};

/// The kinds of target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// An Ignition config (JSON with `ignition.version`).
    Ignition,
    /// A file or stream of Kubernetes objects holding MachineConfigs.
    Machineconfig,
    /// A folder of manifests (any depth), a kustomization folder, a must-gather or Insights
    /// dump; given a file, the same as machineconfig.
    Manifests,
    /// A Butane source (`variant:` and `version:`; `.bu`).
    Butane,
    /// An openshift-install directory.
    InstallDir,
    /// `oci:DIR[:TAG]`, an OCI image layout.
    Oci,
    /// A root filesystem archive (`.tar`, `.tar.gz`, `.tgz`).
    Tar,
    /// A directory holding an OS root filesystem.
    Tree,
    /// A CoreOS live ISO or an agent ISO (detected by content: ISO9660 with an Ignition area).
    Iso,
    /// A PXE Ignition image or an initramfs with a config appended (a cpio archive).
    Pxe,
    /// A hub repository or stream: ClusterInstance/SiteConfig objects, their extra-manifest
    /// ConfigMaps and the policies bound to them, judged cluster by cluster.
    Hub,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Kind::Ignition => "ignition",
            Kind::Machineconfig => "machineconfig",
            Kind::Manifests => "manifests",
            Kind::Butane => "butane",
            Kind::InstallDir => "install-dir",
            Kind::Oci => "oci",
            Kind::Tar => "tar",
            Kind::Tree => "tree",
            Kind::Iso => "iso",
            Kind::Pxe => "pxe",
            Kind::Hub => "hub",
        };
        f.write_str(s)
    }
}

/// Where a file target's result goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Standard output.
    Stdout,
    /// This file (atomically).
    File(PathBuf),
    /// The target itself (atomically).
    InPlace,
    /// Nowhere: the new bytes are returned in [`Applied::output`] (for library users).
    Buffer,
}

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOpts {
    /// Where a file target's result goes (directories and images are changed in place).
    pub dest: Dest,
    /// Several targets in one run: file targets then need [`Dest::InPlace`] (or a dry run).
    pub several: bool,
    /// Change nothing; report what would change.
    pub dry_run: bool,
    /// Only MachineConfigs (pools) of these roles; empty for the defaults.
    pub roles: Vec<String>,
    /// OCI: only this platform.
    pub platform: Option<String>,
    /// OCI: tag the patched image so instead of moving the target's tag.
    pub tag: Option<String>,
    /// The OpenShift release (picks the Ignition spec written).
    pub release: Option<Release>,
    /// Butane sources: where `local` files are (`--files-dir`).
    pub files_dir: Option<PathBuf>,
    /// Install directories: also patch the pointer configs master.ign and worker.ign.
    pub patch_pointers: bool,
    /// Hub repositories: deliver the layer as a policy (day N) instead of an extra manifest.
    pub day_n: bool,
}

impl ApplyOpts {
    /// Options that send the result to `dest` and choose nothing else (the defaults).
    pub fn to(dest: Dest) -> ApplyOpts {
        ApplyOpts {
            dest,
            several: false,
            dry_run: false,
            roles: Vec::new(),
            platform: None,
            tag: None,
            release: None,
            files_dir: None,
            patch_pointers: false,
            day_n: false,
        }
    }
}

/// What an apply did (or, in a dry run, would do).
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// What changed, for people ("replace /etc/…", "write openshift/…").
    pub changes: Vec<String>,
    /// Files written (none in a dry run).
    pub written: Vec<PathBuf>,
    /// Things worth a look.
    pub warnings: Vec<String>,
    /// What was done and why, for `-v`.
    pub notes: Vec<String>,
    /// In a dry run of a file target: the unified diff of input and output.
    pub diff: Option<String>,
    /// With [`Dest::Buffer`]: a file target's new bytes.
    pub output: Option<Vec<u8>>,
}

/// How to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOpts {
    /// Which pools are judged.
    pub pools: PoolChoice,
    /// OCI: only this platform.
    pub platform: Option<String>,
    /// The OpenShift release (an Ignition spec it cannot read is an error; the MCO's defaults).
    pub release: Option<Release>,
    /// Butane sources: where `local` files are (`--files-dir`).
    pub files_dir: Option<PathBuf>,
    /// The state config targets (Ignition configs, MachineConfigs, install directories) are laid
    /// over; `None`: RHEL CoreOS for the layer's module ([`NodeView::rhcos`]). Trees, archives and
    /// images are their own base.
    pub base: Option<NodeView>,
    /// Boot media: judge the live system even when the medium installs another (`--live`).
    pub live: bool,
}

impl VerifyOpts {
    /// The base state for a layer's module.
    pub fn base_for(&self, layer: &Layer) -> NodeView {
        self.base
            .clone()
            .unwrap_or_else(|| NodeView::rhcos(&layer.module))
            .with_layer(layer)
    }
}

/// The base state `base` gives for a module: a built-in one, or a real OS image (a tree, an
/// archive, `oci:IMAGE`) read as verify reads it (`platform` picks one of a multi-platform image).
pub fn base_view(base: &Base, module: &str, platform: Option<&str>) -> Result<NodeView> {
    if let Some(v) = base.builtin_view(module) {
        return Ok(v);
    }
    let target = base.to_string();
    let mut views = image_views(&target, None, module, platform).context("--base")?;
    if views.len() != 1 {
        bail!(
            "--base {target}: the image has {} platforms; pick one with --platform",
            views.len()
        );
    }
    Ok(views.remove(0))
}

/// What a tree, archive or image holds for a module, one view per platform.
pub fn image_views(
    target: &str,
    kind: Option<Kind>,
    module: &str,
    platform: Option<&str>,
) -> Result<Vec<NodeView>> {
    let kind = kind.or_else(|| detect(target));
    if !matches!(kind, Some(Kind::Tree | Kind::Tar | Kind::Oci)) {
        bail!("{target}: not an OS tree, a root file system archive or oci:IMAGE");
    }
    let probe = Layer::bare(module)?;
    let opts = VerifyOpts {
        platform: platform.map(str::to_string),
        ..VerifyOpts::default()
    };
    Ok(open(target, kind)?
        .views(&probe, &opts)
        .with_context(|| target.to_string())?
        .into_iter()
        .map(|v| v.node)
        .collect())
}

/// What a node booted from a target starts from, before any layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The base state (`--base`, by default RHEL CoreOS): configs laid over an OS image.
    Base,
    /// The target itself: trees, archives and images carry their own OS.
    Itself,
}

/// The layer a command asks for.
#[derive(Clone, Debug)]
pub enum Wanted {
    /// This layer (built in, `--layer`, or `--module` built against `--base`).
    Layer(Layer),
    /// `--module NAME` without `--base`: built against what the node starts from ([`Start`]):
    /// the target itself for trees, archives and images (it empties the file in which the target
    /// blacklists the module); else `over_base`, built against the default base.
    Module {
        /// The module.
        name: String,
        /// The layer built against the default base.
        over_base: Layer,
    },
}

impl Wanted {
    /// The layer for a target that starts from the base.
    pub fn layer(&self) -> &Layer {
        match self {
            Wanted::Layer(l) | Wanted::Module { over_base: l, .. } => l,
        }
    }
}

/// A target of any kind.
pub trait Target {
    /// Its kind.
    fn kind(&self) -> Kind;
    /// What a node booted from it starts from: the base (config targets, the default) or itself.
    fn start(&self) -> Start {
        Start::Base
    }
    /// Apply a layer: patch the target in its own format.
    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied>;
    /// Apply the layer as the command asks for it, where the target does better than the
    /// default ([`apply_opened`]: a target that is its own base is read for its layer, then
    /// applied): an archive reads itself once. None: the default.
    fn apply_wanted(&self, _wanted: &Wanted, _opts: &ApplyOpts) -> Option<Result<Applied>> {
        None
    }
    /// What a node booted from the target will see: one view per pool or platform.
    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>>;
    /// Judge the target into reports named `name` (by default: a report per judged view, see
    /// [`assess_all`]); targets holding several systems (a hub's clusters) name each one.
    fn judge(&self, name: &str, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<TargetReport>> {
        let kind = self.kind().to_string();
        Ok(assess_all(name, &kind, self.views(layer, opts)?, layer))
    }
}

/// The installer's marker files: a directory holding one of them (or both `manifests/` and
/// `openshift/`) is an install directory.
pub const INSTALLER_MARKERS: &[&str] = &[
    "install-config.yaml",
    "agent-config.yaml",
    "bootstrap.ign",
    "metadata.json",
    ".openshift_install_state.json",
];

/// What kind of directory this is: an OCI layout, an install directory, an OS root, a folder
/// of manifests; an error saying what was looked for when it is none of them.
pub fn detect_dir(p: &Path) -> Result<Kind> {
    if oci::is_layout(p) {
        return Ok(Kind::Oci);
    }
    let installer = INSTALLER_MARKERS.iter().any(|n| p.join(n).exists())
        || (p.join("manifests").is_dir() && p.join("openshift").is_dir());
    if installer {
        return Ok(Kind::InstallDir);
    }
    if p.join("etc").is_dir() || p.join("usr").is_dir() {
        return Ok(Kind::Tree);
    }
    if crate::targets::hub::is_hub_dir(p) {
        return Ok(Kind::Hub);
    }
    if manifests::layout_of(p).is_some() {
        return Ok(Kind::Manifests);
    }
    bail!(
        "{}: not a target: no etc/ or usr/ (an OS root), no install-config.yaml, manifests/ and openshift/, bootstrap.ign or agent-config.yaml (an install directory), no oci-layout (an OCI image), no kustomization.yaml and no *.yaml, *.yml or *.json below it (a folder of manifests)",
        p.display()
    )
}

/// Detect a target's kind from its name, or for a directory from what it holds; `None` for a
/// file whose content decides (or a directory that is no target, which [`open`] reports).
pub fn detect(target: &str) -> Option<Kind> {
    let p = Path::new(target);
    detect_by_name(target).or_else(|| {
        (target != "-" && p.is_dir())
            .then(|| detect_dir(p).ok())
            .flatten()
    })
}

/// Detect a target's kind from its name alone: `oci:`, archive suffixes. `None` means a
/// directory ([`detect_dir`]) or a file whose content decides ([`sniff`]).
pub fn detect_by_name(target: &str) -> Option<Kind> {
    if target.starts_with("oci:") {
        return Some(Kind::Oci);
    }
    let lower = target.to_ascii_lowercase();
    if lower.ends_with(".bu") {
        return Some(Kind::Butane);
    }
    if [".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|s| lower.ends_with(s))
    {
        return Some(Kind::Tar);
    }
    None
}

/// Tell an Ignition config, a Butane source and a file of Kubernetes objects apart by content.
pub fn sniff(bytes: &[u8]) -> Kind {
    let head = &bytes[..bytes.len().min(64 << 10)];
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if crate::butane::looks_like_butane(&text) {
        Kind::Butane
    } else if crate::targets::hub::is_hub_stream(bytes) {
        Kind::Hub
    } else if t.starts_with('{')
        && !t.contains("\"MachineConfig\"")
        && !t.contains("kind: MachineConfig")
    {
        Kind::Ignition
    } else {
        Kind::Machineconfig
    }
}

/// Open a target as the user named it (`-` is standard input), of the given kind or the one
/// detected.
pub fn open(target: &str, kind: Option<Kind>) -> Result<Box<dyn Target>> {
    let p = Path::new(target);
    let kind_given = kind;
    let is_dir = target != "-" && !target.starts_with("oci:") && p.is_dir();
    let kind = match kind.or_else(|| detect_by_name(target)) {
        // A folder named as manifests or machineconfig is a folder of manifests.
        Some(Kind::Manifests | Kind::Machineconfig) if is_dir => Some(Kind::Manifests),
        Some(Kind::Manifests) if detect_by_name(target) == Some(Kind::Tar) => {
            return Ok(Box::new(manifests::DumpArchive::new(target)))
        }
        Some(Kind::Manifests) => Some(Kind::Machineconfig),
        None if is_dir => Some(detect_dir(p)?),
        None if target != "-" => match crate::media::sniff_file(p) {
            Some(true) => Some(Kind::Iso),
            Some(false) => Some(Kind::Pxe),
            None => None,
        },
        k => k,
    };
    Ok(match kind {
        Some(Kind::Manifests) => {
            let layout = manifests::layout_of(p).with_context(|| {
                format!("{target}: no kustomization.yaml and no *.yaml, *.yml or *.json below it")
            })?;
            Box::new(manifests::ManifestFolder::new(target, layout))
        }
        Some(Kind::Tree) => Box::new(tree::TreeTarget::new(target)),
        Some(Kind::Tar) if kind_given.is_none() && manifests::is_dump_archive(p)? => {
            Box::new(manifests::DumpArchive::new(target))
        }
        Some(Kind::Tar) => Box::new(tar::TarTarget::new(target)),
        Some(Kind::Oci) => Box::new(oci::OciTarget::new(target)),
        Some(Kind::InstallDir) => Box::new(installdir::InstallDir::new(target)),
        Some(Kind::Iso) => Box::new(iso::IsoTarget::new(target)),
        Some(Kind::Pxe) => Box::new(pxe::PxeTarget::new(target)),
        Some(Kind::Hub) if is_dir => Box::new(hub::HubTarget::folder(target)),
        Some(Kind::Hub) => {
            let f = FileTarget::read(target)?;
            Box::new(hub::HubTarget::stream(target, f.bytes))
        }
        Some(k @ (Kind::Ignition | Kind::Machineconfig | Kind::Butane)) => {
            open_file(target, Some(k))?
        }
        None => open_file(target, None)?,
    })
}

fn open_file(target: &str, kind: Option<Kind>) -> Result<Box<dyn Target>> {
    Ok(from_file(FileTarget::read(target)?, kind))
}

/// A file target from bytes already read, of the given kind or the one its content shows.
pub fn from_file(file: FileTarget, kind: Option<Kind>) -> Box<dyn Target> {
    match kind.unwrap_or_else(|| sniff(&file.bytes)) {
        Kind::Hub => Box::new(hub::HubTarget::stream(&file.given, file.bytes)),
        Kind::Ignition => Box::new(ignition::IgnitionTarget { file }),
        Kind::Butane => Box::new(butane::ButaneTarget { file }),
        _ => Box::new(machineconfig::MachineConfigTarget { file }),
    }
}

/// A file target's bytes and where they came from.
#[derive(Clone, Debug)]
pub struct FileTarget {
    /// The target as given (`-` for standard input).
    pub given: String,
    /// Its name for messages (`<stdin>` for standard input): its origin rendered.
    pub name: String,
    /// Where its contents come from: the file as named, or what holds it.
    pub origin: Origin,
    /// Its bytes.
    pub bytes: FileBytes,
}

impl FileTarget {
    /// Read a file target (bounded; `-` is standard input).
    pub fn read(target: &str) -> Result<FileTarget> {
        let name = if target == "-" { "<stdin>" } else { target };
        let mut f = FileTarget::from_bytes(name, read_config_mapped(target)?);
        f.given = target.to_string();
        Ok(f)
    }

    /// A file target of these bytes, named `name` (as given and in messages).
    pub fn from_bytes(name: &str, bytes: impl Into<FileBytes>) -> FileTarget {
        FileTarget {
            given: name.to_string(),
            name: name.to_string(),
            origin: Origin::file(name),
            bytes: bytes.into(),
        }
    }

    /// What a holder holds, as a file target of its own: its bytes at `origin` (messages name
    /// the whole chain; nothing is written for it but through its holder).
    pub fn inner(origin: Origin, bytes: impl Into<FileBytes>) -> FileTarget {
        let name = origin.to_string();
        FileTarget {
            given: name.clone(),
            name,
            origin,
            bytes: bytes.into(),
        }
    }

    /// Where its contents come from.
    pub fn origin(&self) -> Origin {
        self.origin.clone()
    }

    /// Check that a destination suits a file target.
    pub fn check_dest(&self, opts: &ApplyOpts) -> Result<()> {
        if opts.several && opts.dest == Dest::Stdout && !opts.dry_run {
            bail!(
                "{}: several file targets need --in-place (or --dry-run)",
                self.given
            );
        }
        if self.given == "-" && opts.dest == Dest::InPlace {
            bail!("-: standard input cannot be changed in place");
        }
        Ok(())
    }

    /// Send a file target's new bytes where `opts` says (a dry run writes nothing and gives the
    /// diff). `changes` say what changed.
    pub fn emit(&self, new: Vec<u8>, changes: Vec<String>, opts: &ApplyOpts) -> Result<Applied> {
        if opts.dest == Dest::Buffer && !opts.dry_run {
            return Ok(Applied {
                changes,
                output: Some(new),
                ..Applied::default()
            });
        }
        self.emit_pieces(&Spliced::whole(&new), changes, opts)
    }

    /// [`FileTarget::emit`] from the pieces of the new bytes: a large file is written out
    /// without being built in memory.
    pub fn emit_pieces(
        &self,
        new: &Spliced<'_>,
        changes: Vec<String>,
        opts: &ApplyOpts,
    ) -> Result<Applied> {
        let mut applied = Applied {
            changes,
            ..Applied::default()
        };
        if opts.dry_run {
            applied.diff = Some(crate::render::diff(&self.name, &self.bytes, &new.to_vec()));
            return Ok(applied);
        }
        let write = |p: &Path| {
            write_atomic_with(p, None, |w| {
                new.write_to(w)
                    .with_context(|| format!("{}: cannot write", p.display()))
                    .map(|()| ((), true))
            })
        };
        match &opts.dest {
            Dest::File(o) => {
                write(o)?;
                applied.written.push(o.clone());
            }
            Dest::InPlace => {
                if !new.eq_bytes(&self.bytes) {
                    let p = PathBuf::from(&self.given);
                    write(&p)?;
                    applied.written.push(p);
                }
            }
            Dest::Stdout => crate::fsutil::stdout_pieces(new)?,
            Dest::Buffer => applied.output = Some(new.to_vec()),
        }
        Ok(applied)
    }
}

/// Apply a layer to a target as the user named it, under an advisory lock: the target (the file,
/// the directory, or the OCI layout's directory) is locked ([`crate::fsutil::lock`], waiting up
/// to [`crate::fsutil::lock_timeout`]) before it is read, so two concurrent applies run one after
/// the other and the second reads what the first wrote. A dry run and standard input take no lock.
/// A target that is its own base ([`Start::Itself`]) is read once first, for the layer
/// [`Wanted`] asks of it and to refuse a module that none of its kernels carries.
pub fn apply(target: &str, kind: Option<Kind>, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
    apply_wanted(target, kind, &Wanted::Layer(layer.clone()), opts)
}

/// [`apply`] with the layer as the command asks for it.
pub fn apply_wanted(
    target: &str,
    kind: Option<Kind>,
    wanted: &Wanted,
    opts: &ApplyOpts,
) -> Result<Applied> {
    let _lock = if opts.dry_run || target == "-" {
        None
    } else {
        let path = match target.strip_prefix("oci:") {
            Some(_) => oci::OciRef::parse(target)?.dir,
            None => PathBuf::from(target),
        };
        crate::fsutil::lock(&path, crate::fsutil::lock_timeout())?
    };
    let t = open(target, kind)?;
    match t.apply_wanted(wanted, opts) {
        Some(done) => done,
        None => apply_opened(t.as_ref(), target, wanted, opts),
    }
}

/// Apply the layer [`Wanted`] asks for to an open target (named `target`), the default way: a
/// target that is its own base ([`Start::Itself`]) is read for the layer and to refuse a module
/// none of its kernels carries, then applied.
pub fn apply_opened(
    t: &dyn Target,
    target: &str,
    wanted: &Wanted,
    opts: &ApplyOpts,
) -> Result<Applied> {
    let layer = match t.start() {
        Start::Base => wanted.layer().clone(),
        Start::Itself => {
            let (probe, module) = match wanted {
                Wanted::Module { name, .. } => (Layer::bare(name)?, Some(name)),
                Wanted::Layer(l) => (l.clone(), None),
            };
            let seen = VerifyOpts {
                platform: opts.platform.clone(),
                ..VerifyOpts::default()
            };
            let views = t.views(&probe, &seen).with_context(|| target.to_string())?;
            let nodes: Vec<&NodeView> = views.iter().map(|v| &v.node).collect();
            refuse_module_not_carried(target, &probe.module, &nodes)?;
            match module {
                Some(m) => own_layer(target, m, &nodes)?,
                None => probe,
            }
        }
    };
    t.apply(&layer, opts)
}

/// Refuse a module that none of an image's installed kernels carries (naming them); an image that
/// shows no kernel says nothing.
pub(crate) fn refuse_module_not_carried(
    target: &str,
    module: &str,
    nodes: &[&NodeView],
) -> Result<()> {
    for own in nodes {
        let Some(kernels) = own.kernels.as_ref().filter(|k| !k.is_empty()) else {
            continue;
        };
        if kernels.iter().all(|k| k.module.is_none()) {
            let list: Vec<&str> = kernels.iter().map(|k| k.version.as_str()).collect();
            bail!(
                "{target}: no installed kernel carries a {module} module (kernels: {}); check the module name",
                list.join(", ")
            );
        }
    }
    Ok(())
}

/// The layer for `module` on a target that is its own base (`nodes`: one view per platform): it
/// empties the file in which the target blacklists the module, if any, and lists the module.
/// Platforms that blacklist it in different files are refused (take one with `--platform`).
pub fn own_layer(target: &str, module: &str, nodes: &[&NodeView]) -> Result<Layer> {
    let mut out: Option<Layer> = None;
    for own in nodes {
        let l = Layer::for_module(module, own)?;
        match &out {
            Some(o) if o.files != l.files => bail!(
                "{target}: its platforms blacklist {module} in different files; take one platform at a time (--platform)"
            ),
            _ => out = Some(l),
        }
    }
    match out {
        Some(l) => Ok(l),
        None => Layer::for_module(module, &NodeView::default()),
    }
}

/// Refuse `-o` on a target that is changed where it is.
pub fn in_place_only(target: &str, opts: &ApplyOpts) -> Result<()> {
    if let Dest::File(_) = opts.dest {
        bail!("{target}: -o is for file targets; directories and images are changed in place");
    }
    Ok(())
}

/// Verify a target as the user named it: open it, take its views and judge each one.
pub fn verify(
    target: &str,
    kind: Option<Kind>,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<TargetReport>> {
    let name = if target == "-" { "<stdin>" } else { target };
    judge(open(target, kind)?.as_ref(), name, layer, opts)
}

/// Judge an open target with the layer as the command asks for it: a target that is its own
/// base and `--module` is read once, the layer built from what it holds, and its views judged
/// with that layer.
pub fn judge_wanted(
    target: &dyn Target,
    name: &str,
    wanted: &Wanted,
    opts: &VerifyOpts,
) -> Result<Vec<TargetReport>> {
    match (wanted, target.start()) {
        (Wanted::Module { name: module, .. }, Start::Itself) => {
            let views = target.views(&Layer::bare(module)?, opts)?;
            let nodes: Vec<&NodeView> = views.iter().map(|v| &v.node).collect();
            let layer = own_layer(name, module, &nodes)?;
            let kind = target.kind().to_string();
            Ok(assess_all(name, &kind, views, &layer))
        }
        _ => judge(target, name, wanted.layer(), opts),
    }
}

/// Judge an open target: a report named `name` per judged view (see [`assess_all`]).
pub fn judge(
    target: &dyn Target,
    name: &str,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<TargetReport>> {
    target.judge(name, layer, opts)
}
