//! Folders of Kubernetes manifests: a GitOps repository path, an `extra-manifests/` folder, ZTP
//! source CRs (every `*.yaml`, `*.yml`, `*.json` at any depth); a kustomization (built with
//! `kustomize build` or `kubectl kustomize`); an `oc adm must-gather` or Insights dump (where
//! each pool's rendered MachineConfig is what its nodes run now). All of them feed the one
//! MachineConfig inventory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::findings::{Code, Finding};
use crate::fsutil::{read_config, write_atomic};
use crate::layer::Layer;
use crate::mco::file::McFile;
use crate::mco::inventory::{Inventory, Manifest};
use crate::mco::render::{machineconfig_name, render_machineconfigs};
use crate::origin::Origin;
use crate::report::View;
use crate::targets::machineconfig::{folder_views, manifest_views};
use crate::targets::{in_place_only, Applied, ApplyOpts, Kind, Target, VerifyOpts};

/// The names a kustomization file may have.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How many files a folder of manifests may hold (a bound on hostile trees).
const MAX_FILES: usize = 200_000;

/// What a folder of manifests is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Manifests at any depth.
    Folder,
    /// A kustomization: what `kustomize build` prints is the input.
    Kustomization,
    /// An `oc adm must-gather` or Insights dump: read-only, rendered configs are the truth.
    ClusterDump,
}

/// Whether a file name is a manifest's.
pub fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

/// Tell what a directory holding manifests is, or `None` when it holds none.
pub fn layout_of(dir: &Path) -> Option<Layout> {
    if KUSTOMIZATION_FILES.iter().any(|k| dir.join(k).is_file()) {
        return Some(Layout::Kustomization);
    }
    if is_cluster_dump(dir) {
        return Some(Layout::ClusterDump);
    }
    has_manifest(dir, 0).then_some(Layout::Folder)
}

/// A must-gather keeps `cluster-scoped-resources/` (under one folder per gather image, under the
/// `must-gather.local.N` folder `oc adm must-gather` makes); an Insights archive keeps
/// `config/machineconfigs/`. Looked for up to three levels down.
fn is_cluster_dump(dir: &Path) -> bool {
    fn find(d: &Path, depth: usize) -> bool {
        if d.join("cluster-scoped-resources").is_dir() || d.join("config/machineconfigs").is_dir() {
            return true;
        }
        depth < 3
            && std::fs::read_dir(d)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && find(&e.path(), depth + 1))
    }
    find(dir, 0)
}

fn has_manifest(dir: &Path, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(t) = e.file_type() else { continue };
        if t.is_file() && is_manifest_name(&name) {
            return true;
        }
        if t.is_dir() && !name.starts_with('.') && has_manifest(&e.path(), depth + 1) {
            return true;
        }
    }
    false
}

/// Every manifest below a folder (any depth, hidden folders and symbolic links skipped), in
/// path order, named relative to it.
pub fn read_folder(dir: &Path) -> Result<Vec<Manifest>> {
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.sort();
    let progress = ClearOnDrop(crate::fsutil::progress_files(paths.len() as u64));
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let bytes = read_config(&p.to_string_lossy())?;
            progress.0.inc(1);
            Ok(Manifest::file(name, bytes))
        })
        .collect()
}

/// A progress bar cleared from the terminal however its work ends.
struct ClearOnDrop(indicatif::ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for e in entries {
        let e = e.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let t = e
            .file_type()
            .with_context(|| format!("{}: cannot stat", e.path().display()))?;
        if t.is_dir() && !name.starts_with('.') {
            walk(&e.path(), out)?;
        } else if t.is_file() && is_manifest_name(&name) {
            if out.len() >= MAX_FILES {
                bail!(
                    "{}: more than {MAX_FILES} manifest files; name a smaller folder",
                    dir.display()
                );
            }
            out.push(e.path());
        }
    }
    Ok(())
}

/// Build a kustomization: `kustomize build DIR` where a kustomize is on PATH, else
/// `kubectl kustomize DIR`. Returns the stream and the command that ran.
pub fn kustomize_build(dir: &Path) -> Result<(Vec<u8>, String)> {
    let shown = dir.display();
    let tries: [(&str, &[&str]); 2] = [("kustomize", &["build"]), ("kubectl", &["kustomize"])];
    for (program, args) in tries {
        let out = match Command::new(program).args(args).arg(dir).output() {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => bail!("{shown}: cannot run {program}: {e}"),
        };
        let ran = format!("{program} {} {shown}", args.join(" "));
        if !out.status.success() {
            bail!(
                "{shown}: `{ran}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        return Ok((out.stdout, ran));
    }
    bail!(
        "{shown}: a kustomization, and neither kustomize nor kubectl is on PATH to build it: run `kustomize build {shown} | modlayer verify -`"
    )
}

/// A folder of manifests.
pub struct ManifestFolder {
    /// The target as given.
    given: String,
    /// What it is.
    layout: Layout,
}

impl ManifestFolder {
    /// A folder already known to hold manifests.
    pub fn new(target: &str, layout: Layout) -> ManifestFolder {
        ManifestFolder {
            given: target.to_string(),
            layout,
        }
    }

    /// The manifests, and a note on how they were had.
    fn manifests(&self) -> Result<(Vec<Manifest>, Option<Finding>)> {
        let dir = Path::new(&self.given);
        match self.layout {
            Layout::Kustomization => {
                let (bytes, ran) = kustomize_build(dir)?;
                let note = Finding::new(Code::KustomizeBuilt, format!("built with `{ran}`"));
                Ok((
                    vec![Manifest {
                        origin: Origin::file(self.given.as_str()).inner("kustomize build"),
                        bytes,
                    }],
                    Some(note),
                ))
            }
            Layout::Folder | Layout::ClusterDump => {
                // Messages name the folder as given and the file in it.
                let shown = self.given.trim_end_matches('/');
                let mut manifests = read_folder(dir)?;
                for m in &mut manifests {
                    m.origin = Origin::file(format!("{shown}/{}", m.name()));
                }
                Ok((manifests, None))
            }
        }
    }
}

impl Target for ManifestFolder {
    fn kind(&self) -> Kind {
        Kind::Manifests
    }

    /// A plain folder gets one MachineConfig per role: the file that already holds a
    /// MachineConfig of that name is patched in place, else `load-<module>-module-<role>.yaml`
    /// is written at the top of the folder. Kustomizations and cluster dumps are refused.
    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        in_place_only(&self.given, opts)?;
        match self.layout {
            Layout::Kustomization => bail!(
                "{}: a kustomization is not patched in place: add modlayer as a KRM function (`modlayer krm`, see the README), or apply to the folder holding its MachineConfig files; nothing was changed",
                self.given
            ),
            Layout::ClusterDump => bail!(
                "{}: a cluster dump (must-gather, Insights) is a record of a cluster, not its source: patch the cluster's source MachineConfigs; nothing was changed",
                self.given
            ),
            Layout::Folder => {}
        }
        let dir = Path::new(&self.given);
        let manifests = read_folder(dir)?;
        let inv = Inventory::read(&manifests)
            .strict()
            .with_context(|| format!("{}: nothing was changed", self.given))?;
        let (roles, why) = if opts.roles.is_empty() {
            inv.default_roles()
        } else {
            (opts.roles.clone(), "the roles asked for".to_string())
        };
        let spec = opts
            .release
            .map(|r| r.newest_spec())
            .unwrap_or(crate::ignition::DEFAULT_SPEC);
        let mut applied = Applied {
            notes: vec![format!("roles {}: {why}", roles.join(", "))],
            ..Applied::default()
        };
        for role in &roles {
            let name = machineconfig_name(layer, role);
            let holder = manifests.iter().find(|m| {
                McFile::parse(&m.name(), &m.bytes)
                    .is_ok_and(|f| f.configs.iter().any(|c| c.name == name))
            });
            let (path, new) = match holder {
                Some(m) => {
                    let f = McFile::parse(&m.name(), &m.bytes)?;
                    let patched = f.apply(layer, std::slice::from_ref(role))?;
                    applied.warnings.extend(patched.warnings);
                    applied.changes.extend(patched.changes);
                    (dir.join(m.name()), patched.bytes)
                }
                None => {
                    let text = render_machineconfigs(layer, std::slice::from_ref(role), None, spec);
                    let file = format!("{name}.yaml");
                    applied
                        .changes
                        .push(format!("write {file} (MachineConfig {name}, role {role})"));
                    (dir.join(file), Some(text.into_bytes()))
                }
            };
            if let Some(bytes) = new {
                if !opts.dry_run {
                    write_atomic(&path, &bytes)?;
                    applied.written.push(path);
                }
            }
        }
        Ok(applied)
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let (manifests, note) = self.manifests()?;
        let mut views = folder_views(&self.given, &manifests, layer, opts)?;
        if let Some(n) = note {
            for v in &mut views {
                v.findings.push(n.clone());
            }
        }
        Ok(views)
    }
}

/// How much of an archive's file [`is_dump_archive`] reads at most: an OS image is read once by
/// the command that judges it, plus this head for telling what it is.
pub const SNIFF_BYTES: u64 = 64 << 10;

/// Whether an archive is a cluster dump (a must-gather or Insights archive), from its first 64
/// entries within its first [`SNIFF_BYTES`]: a `must-gather…` folder or `config/` at its top, or
/// `cluster-scoped-resources/` or `namespaces/` in its first three levels (an OS root has none of
/// these).
pub fn is_dump_archive(path: &Path) -> Result<bool> {
    use std::io::{BufRead, Read};
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open"))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!("{shown}: is a directory, not a tar archive");
    }
    let mut input = std::io::BufReader::with_capacity(
        SNIFF_BYTES as usize,
        crate::fsutil::Counted(file).take(SNIFF_BYTES),
    );
    let head = input
        .fill_buf()
        .with_context(|| format!("{shown}: cannot read"))?;
    let c = crate::tar::detect_compression(head);
    let mut archive = tar::Archive::new(crate::tar::decompress(input, c)?);
    let Ok(entries) = archive.entries() else {
        return Ok(false);
    };
    for e in entries.take(64) {
        let Ok(e) = e else { return Ok(false) };
        let Ok(p) = e.path() else { continue };
        let p = p.to_string_lossy().trim_start_matches("./").to_string();
        let parts: Vec<&str> = p.split('/').take(3).collect();
        let dump = parts
            .first()
            .is_some_and(|f| f.starts_with("must-gather") || *f == "config")
            || parts
                .iter()
                .any(|c| *c == "cluster-scoped-resources" || *c == "namespaces");
        if dump {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The manifests of a cluster-dump archive (`*.yaml`, `*.yml`, `*.json` entries), named by their
/// path in the archive.
pub fn read_dump_archive(path: &Path) -> Result<Vec<Manifest>> {
    let shown = path.display().to_string();
    let (input, c) = crate::tar::open(path)?;
    let mut archive = tar::Archive::new(crate::tar::decompress(input, c)?);
    let mut out = Vec::new();
    for e in archive
        .entries()
        .with_context(|| format!("{shown}: cannot read"))?
    {
        let mut e = e.with_context(|| format!("{shown}: cannot read"))?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let name = e
            .path()
            .with_context(|| format!("{shown}: an entry name is not valid"))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if !is_manifest_name(&name) {
            continue;
        }
        if e.size() > crate::formats::json::MAX_CONFIG_BYTES {
            bail!(
                "{shown}: {name}: {} bytes, more than a manifest may be",
                e.size()
            );
        }
        let mut bytes = Vec::with_capacity(e.size() as usize);
        std::io::Read::read_to_end(&mut e, &mut bytes)
            .with_context(|| format!("{shown}: {name}: cannot read"))?;
        if out.len() >= MAX_FILES {
            bail!("{shown}: more than {MAX_FILES} manifests");
        }
        out.push(Manifest {
            origin: Origin::file(shown.as_str()).inner(name),
            bytes,
        });
    }
    out.sort_by_key(Manifest::name);
    Ok(out)
}

/// An `oc adm must-gather` or Insights archive (`.tar`, `.tar.gz`): read-only, like the
/// unpacked folder.
pub struct DumpArchive {
    /// The target as given.
    given: String,
}

impl DumpArchive {
    /// An archive already known to be a cluster dump.
    pub fn new(target: &str) -> DumpArchive {
        DumpArchive {
            given: target.to_string(),
        }
    }
}

impl Target for DumpArchive {
    fn kind(&self) -> Kind {
        Kind::Manifests
    }

    fn apply(&self, _layer: &Layer, _opts: &ApplyOpts) -> Result<Applied> {
        bail!(
            "{}: a cluster dump (must-gather, Insights) is a record of a cluster, not its source: patch the cluster's source MachineConfigs; nothing was changed",
            self.given
        )
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let manifests = read_dump_archive(Path::new(&self.given))?;
        manifest_views(&self.given, &manifests, layer, opts)
    }
}
