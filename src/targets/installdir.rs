//! openshift-install directories: write the layer's MachineConfigs where the installer (or the
//! agent-based installer, or the bootstrap node) takes manifests from, and verify what each
//! MachineConfigPool will render, as the Machine Config Operator does, before the cluster exists.
//!
//! The stages (see [`Stage`]): after `create manifests` MachineConfigs go to `openshift/`; after
//! `create ignition-configs` they go into `bootstrap.ign` as `/opt/openshift/openshift/` files;
//! agent-based directories take them in `openshift/`. Verify reads every MachineConfig (and
//! MachineConfigPool) of the directory, renders each pool in MCO order over RHEL CoreOS's base
//! state and hands it to the shared evaluation.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::findings::{Finding, Severity};
use crate::formats::json::MAX_CONFIG_BYTES;
use crate::fsutil::{read_config, write_atomic};
use crate::ignition::Spec;
use crate::layer::Layer;
use crate::mco::inventory::{first_document, Inventory, Manifest, PoolChoice};
use crate::mco::release::Release;
use crate::mco::render::{machineconfig_name, manifest_file_name, render_machineconfigs};
use crate::node::NodeView;
use crate::origin::Origin;
use crate::report::{assess, View};
use crate::targets::manifests::is_manifest_name;
use crate::targets::{in_place_only, Applied, ApplyOpts, Dest, Kind, Target, VerifyOpts};

/// The bootstrap node's Ignition config, written by `openshift-install create ignition-configs`.
pub const BOOTSTRAP_IGN: &str = "bootstrap.ign";
/// Where the bootstrap node keeps the installer's manifests (inside bootstrap.ign).
pub const BOOTSTRAP_MANIFESTS: &str = "/opt/openshift/manifests";
/// Where the bootstrap node keeps the `openshift/` manifests (inside bootstrap.ign).
pub const BOOTSTRAP_OPENSHIFT: &str = "/opt/openshift/openshift";
/// The folders of an installer directory that hold manifests, in the order they are read.
const MANIFEST_DIRS: [&str; 2] = ["manifests", "openshift"];

/// The stage an openshift-install directory is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Only `install-config.yaml`: nothing to add MachineConfigs to yet.
    InstallConfigOnly,
    /// After `openshift-install create manifests`: `manifests/` and `openshift/`.
    Manifests,
    /// After `openshift-install create ignition-configs`: `bootstrap.ign`, `master.ign`, `worker.ign`.
    IgnitionConfigs,
    /// An agent-based installer directory (`agent-config.yaml`).
    Agent,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::InstallConfigOnly => "install-config only",
            Stage::Manifests => "manifests (after openshift-install create manifests)",
            Stage::IgnitionConfigs => {
                "ignition configs (after openshift-install create ignition-configs)"
            }
            Stage::Agent => "agent-based installer",
        })
    }
}

/// Tell which stage an installer directory is in (an agent-config.yaml first, then bootstrap.ign,
/// then manifests/ or openshift/, then install-config.yaml alone).
pub fn detect_stage(dir: &Path) -> Result<Stage> {
    let shown = dir.display();
    if !dir.is_dir() {
        bail!("{shown}: is not a directory");
    }
    if dir.join("agent-config.yaml").is_file() {
        return Ok(Stage::Agent);
    }
    if dir.join(BOOTSTRAP_IGN).is_file() {
        return Ok(Stage::IgnitionConfigs);
    }
    if MANIFEST_DIRS.iter().any(|d| dir.join(d).is_dir()) {
        return Ok(Stage::Manifests);
    }
    if dir.join("install-config.yaml").is_file() {
        return Ok(Stage::InstallConfigOnly);
    }
    bail!("{shown}: not an openshift-install directory (no install-config.yaml, manifests/, openshift/, bootstrap.ign or agent-config.yaml)")
}

/// Options for [`apply_dir`].
#[derive(Clone, Debug, Default)]
pub struct DirApply {
    /// Roles (pools) to write MachineConfigs for; empty = worker, plus master when masters run
    /// workloads.
    pub roles: Vec<String>,
    /// Work everything out, write nothing.
    pub dry_run: bool,
    /// In the ignition-configs stage, also patch the pointer configs master.ign / worker.ign.
    pub patch_pointers: bool,
    /// The OpenShift release: picks the Ignition spec the MachineConfigs are written in.
    pub release: Option<Release>,
}

impl DirApply {
    /// The same choices as options for applying to a target the directory holds.
    fn as_apply(&self) -> ApplyOpts {
        ApplyOpts {
            dry_run: self.dry_run,
            roles: self.roles.clone(),
            release: self.release,
            patch_pointers: self.patch_pointers,
            ..ApplyOpts::to(Dest::Buffer)
        }
    }
}

/// What [`apply_dir`] did (or, in a dry run, would do).
#[derive(Clone, Debug, Default)]
pub struct DirChanges {
    /// Files written (absolute paths), or that would be written in a dry run.
    pub written: Vec<PathBuf>,
    /// What was done and why, for people.
    pub notes: Vec<String>,
    /// Things worth a look (a pool that would still not load the module, pointer configs…).
    pub warnings: Vec<String>,
}

/// The manifests of a directory's `manifests/` and `openshift/` (`*.yaml`, `*.yml`, `*.json`, in
/// name order), named relative to it.
pub fn read_dir_manifests(dir: &Path) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for sub in MANIFEST_DIRS {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("{}: cannot list", d.display()))?
        {
            let entry = entry.with_context(|| format!("{}: cannot list", d.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_manifest_name(&name) && entry.path().is_file() {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let p = d.join(&name);
            let bytes = read_config(&p.to_string_lossy())?;
            out.push(Manifest::file(format!("{sub}/{name}"), bytes));
        }
    }
    Ok(out)
}

/// The manifests a bootstrap.ign (named `name`) carries as `/opt/openshift/{manifests,openshift}/*`
/// files, each at `NAME > PATH`, and findings for those it cannot read (remote sources, bad data
/// URLs): [`crate::targets::nest::ignition_files`].
pub fn bootstrap_manifests(name: &str, bytes: &[u8]) -> Result<(Vec<Manifest>, Vec<Finding>)> {
    let config = crate::formats::json::parse_named(name, bytes)?;
    crate::targets::nest::ignition_files(&Origin::file(name), &config, |path| {
        path.rsplit_once('/').is_some_and(|(parent, file)| {
            [BOOTSTRAP_MANIFESTS, BOOTSTRAP_OPENSHIFT].contains(&parent) && is_manifest_name(file)
        })
    })
}

/// The directory as an absolute path (the written files are reported absolute).
fn absolute(dir: &Path) -> Result<PathBuf> {
    dir.canonicalize()
        .with_context(|| format!("{}: cannot resolve", dir.display()))
}

/// Apply a layer to an installer directory: write one MachineConfig per role where the stage takes
/// them. Returns the files written (or, in a dry run, that would be written), notes and warnings.
/// Writing the same thing twice writes nothing the second time.
pub fn apply_dir(dir: &Path, layer: &Layer, opts: &DirApply) -> Result<DirChanges> {
    for r in &opts.roles {
        crate::mco::validate_role(r)?;
    }
    let stage = detect_stage(dir)?;
    let spec = opts
        .release
        .map(Release::newest_spec)
        .unwrap_or(crate::ignition::DEFAULT_SPEC);
    let abs = absolute(dir)?;
    let mut changes = DirChanges::default();
    changes
        .notes
        .push(format!("{}: stage {stage}", dir.display()));
    match stage {
        Stage::InstallConfigOnly => bail!(
            "{}: only install-config.yaml is here: run `openshift-install create manifests --dir {}` first, then apply to the directory (the installer consumes install-config.yaml); nothing was written",
            dir.display(),
            dir.display()
        ),
        Stage::Manifests | Stage::Agent => {
            apply_to_openshift_dir(&abs, stage, layer, opts, spec, &mut changes)?
        }
        Stage::IgnitionConfigs => apply_to_bootstrap(&abs, layer, opts, spec, &mut changes)?,
    }
    Ok(changes)
}

/// The roles to write for: the given ones, or the defaults (noting why).
fn pick_roles(opts: &DirApply, inv: &Inventory, changes: &mut DirChanges) -> Vec<String> {
    if !opts.roles.is_empty() {
        let mut roles: Vec<String> = Vec::new();
        for r in &opts.roles {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
        return roles;
    }
    let (roles, why) = inv.default_roles();
    changes
        .notes
        .push(format!("roles {}: {why}", roles.join(", ")));
    roles
}

/// Warn about roles that no pool of the directory selects.
fn warn_unknown_roles(inv: &Inventory, roles: &[String], changes: &mut DirChanges) {
    for r in roles {
        if !inv.pools.iter().any(|p| p.roles.contains(r)) {
            changes.warnings.push(format!(
                "no MachineConfigPool selects role {r}: the MachineConfig for it does nothing until a pool with machineConfigSelector role {r} exists"
            ));
        }
    }
}

/// The MachineConfig manifests to write: (role, file name, bytes).
fn rendered(layer: &Layer, roles: &[String], spec: Spec) -> Vec<(String, String, Vec<u8>)> {
    roles
        .iter()
        .map(|r| {
            (
                r.clone(),
                manifest_file_name(layer, r),
                render_machineconfigs(layer, std::slice::from_ref(r), None, spec).into_bytes(),
            )
        })
        .collect()
}

/// The inventory of an agent-based or manifests directory: its manifests, and for an agent-based
/// directory the install-config.yaml beside them.
fn dir_inventory(dir: &Path, stage: Stage, manifests: &[Manifest]) -> Result<Inventory> {
    let mut inv = Inventory::read(manifests).created_by_installer();
    inv.at_install();
    let ac = dir.join("agent-config.yaml");
    if stage == Stage::Agent && ac.is_file() {
        let bytes = read_config(&ac.to_string_lossy())?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: invalid UTF-8", ac.display()))?;
        inv.set_agent_config(
            "agent-config.yaml",
            &first_document("agent-config.yaml", &text)?,
        );
    }
    let ic = dir.join("install-config.yaml");
    if stage == Stage::Agent && ic.is_file() {
        let bytes = read_config(&ic.to_string_lossy())?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: invalid UTF-8", ic.display()))?;
        inv.set_install_config(
            "install-config.yaml",
            &first_document("install-config.yaml", &text)?,
        );
    }
    Ok(inv)
}

/// Manifests and agent stages: MachineConfigs into `openshift/`.
fn apply_to_openshift_dir(
    dir: &Path,
    stage: Stage,
    layer: &Layer,
    opts: &DirApply,
    spec: Spec,
    changes: &mut DirChanges,
) -> Result<()> {
    // openshift/ is resolved beneath the directory: a symlink leading out is refused before
    // anything is read or written.
    let root = crate::fsutil::Confined::open(dir)?;
    if root.exists("openshift")? {
        root.dir("openshift")?;
    }
    let manifests = read_dir_manifests(dir)?;
    let inv = dir_inventory(dir, stage, &manifests)?;
    let roles = pick_roles(opts, &inv, changes);
    warn_unknown_roles(&inv, &roles, changes);
    let out_dir = dir.join("openshift");
    let mut added = Vec::new();
    for (role, file, bytes) in rendered(layer, &roles, spec) {
        let path = out_dir.join(&file);
        let rel = format!("openshift/{file}");
        let existing = if root.exists(&rel)? {
            Some(root.read(&rel, MAX_CONFIG_BYTES)?)
        } else {
            None
        };
        if existing.as_deref() == Some(bytes.as_slice()) {
            changes
                .notes
                .push(format!("{rel} is up to date (role {role})"));
        } else {
            let verb = if opts.dry_run { "would write" } else { "write" };
            changes.notes.push(format!(
                "{verb} {rel} (MachineConfig {}, role {role}, Ignition {spec})",
                machineconfig_name(layer, &role)
            ));
            if !opts.dry_run {
                if !root.exists("openshift")? {
                    rustix::fs::mkdirat(
                        root.fd(),
                        "openshift",
                        rustix::fs::Mode::from_raw_mode(0o755),
                    )
                    .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", out_dir.display()))?;
                }
                root.write(&rel, &bytes, true)?;
            }
            changes.written.push(path);
        }
        added.push(Manifest::file(rel, bytes));
    }
    warn_after(&manifests, added, layer, &roles, opts, changes);
    Ok(())
}

/// Ignition-configs stage: MachineConfigs into bootstrap.ign as `/opt/openshift/openshift/` files;
/// master.ign / worker.ign only with `patch_pointers`.
fn apply_to_bootstrap(
    dir: &Path,
    layer: &Layer,
    opts: &DirApply,
    spec: Spec,
    changes: &mut DirChanges,
) -> Result<()> {
    let path = dir.join(BOOTSTRAP_IGN);
    let bytes = read_config(&path.to_string_lossy())?;
    let (manifests, _) = bootstrap_manifests(BOOTSTRAP_IGN, &bytes)?;
    let mut inv = Inventory::read(&manifests);
    inv.at_install();
    let roles = pick_roles(opts, &inv, changes);
    warn_unknown_roles(&inv, &roles, changes);
    let holder = Origin::file(BOOTSTRAP_IGN);
    let config = crate::formats::json::parse_named(BOOTSTRAP_IGN, &bytes)?;
    let files = crate::targets::nest::layer_manifests(
        &holder,
        &config,
        &format!("{BOOTSTRAP_OPENSHIFT}/"),
        layer,
        &roles,
        spec,
        &opts.as_apply(),
    )?;
    let added: Vec<Manifest> = files
        .iter()
        .map(|f| Manifest {
            origin: Origin::file(BOOTSTRAP_IGN).inner(f.path.as_str()),
            bytes: f.bytes.clone(),
        })
        .collect();
    let manifest_layer = Layer {
        name: format!("{}-machineconfigs", layer.name),
        module: layer.module.clone(),
        description: format!("MachineConfigs of layer {}", layer.name),
        files,
    };
    patch_file(&path, BOOTSTRAP_IGN, &bytes, &manifest_layer, opts, changes)?;
    if opts.patch_pointers {
        for (role, file) in [("master", "master.ign"), ("worker", "worker.ign")] {
            let p = dir.join(file);
            if roles.iter().any(|r| r == role) && p.is_file() {
                let b = read_config(&p.to_string_lossy())?;
                patch_file(&p, file, &b, layer, opts, changes)?;
            }
        }
    } else {
        changes.notes.push("master.ign and worker.ign left unchanged (pointer configs: the cluster serves the rendered MachineConfigs at first boot)".into());
    }
    warn_after(&manifests, added, layer, &roles, opts, changes);
    Ok(())
}

/// Apply a layer to one Ignition file of the directory (byte-preserving), writing it atomically
/// when it changes.
fn patch_file(
    path: &Path,
    name: &str,
    bytes: &[u8],
    layer: &Layer,
    opts: &DirApply,
    changes: &mut DirChanges,
) -> Result<()> {
    let (out, done, warnings) = crate::targets::ignition::patch(name, bytes, layer)?;
    changes.warnings.extend(warnings);
    if out == bytes {
        changes.notes.push(format!("{name} is up to date"));
        return Ok(());
    }
    let verb = if opts.dry_run { "would " } else { "" };
    changes
        .notes
        .extend(done.iter().map(|c| format!("{name}: {verb}{c}")));
    if !opts.dry_run {
        write_atomic(path, &out)?;
    }
    changes.written.push(path.to_path_buf());
    Ok(())
}

/// After (or, in a dry run, as if after) the change: warn about pools of the written roles that
/// would still not load the module, naming what decides it.
fn warn_after(
    manifests: &[Manifest],
    added: Vec<Manifest>,
    layer: &Layer,
    roles: &[String],
    opts: &DirApply,
    changes: &mut DirChanges,
) {
    let mut all: Vec<Manifest> = manifests
        .iter()
        .filter(|m| !added.iter().any(|a| a.origin == m.origin))
        .cloned()
        .collect();
    all.extend(added);
    let mut inv = Inventory::read(&all);
    inv.at_install();
    let choice = PoolChoice {
        roles: inv
            .pools
            .iter()
            .filter(|p| p.roles.iter().any(|r| roles.contains(r)))
            .map(|p| p.name.clone())
            .collect(),
        all: false,
    };
    let Ok(views) = inv.views(
        layer,
        &NodeView::rhcos(&layer.module),
        &choice,
        opts.release,
    ) else {
        return;
    };
    for v in views.into_iter().filter(|v| v.judged) {
        let pool = v.pool.clone().unwrap_or_default();
        let r = assess("", "install-dir", v, layer);
        if r.enabled {
            continue;
        }
        let why = r
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .map(|f| match &f.origin {
                Some(o) => format!("{} (from {o})", f.message),
                None => f.message.clone(),
            })
            .unwrap_or_default();
        changes.warnings.push(format!(
            "pool {pool}: {} would still not be loaded: {why}",
            layer.module
        ));
    }
}

/// An openshift-install directory target.
pub struct InstallDir {
    /// The target as given.
    given: String,
}

impl InstallDir {
    /// The target as given.
    pub fn new(target: &str) -> InstallDir {
        InstallDir {
            given: target.to_string(),
        }
    }
}

impl Target for InstallDir {
    fn kind(&self) -> Kind {
        Kind::InstallDir
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        in_place_only(&self.given, opts)?;
        if opts.dest == Dest::InPlace {
            bail!(
                "{}: an install directory is changed in place; --in-place is for files",
                self.given
            );
        }
        let ch = apply_dir(
            Path::new(&self.given),
            layer,
            &DirApply {
                roles: opts.roles.clone(),
                dry_run: opts.dry_run,
                patch_pointers: opts.patch_pointers,
                release: opts.release,
            },
        )?;
        Ok(Applied {
            changes: ch
                .written
                .iter()
                .map(|p| format!("write {}", p.display()))
                .collect(),
            written: if opts.dry_run { Vec::new() } else { ch.written },
            warnings: ch.warnings,
            notes: ch.notes,
            ..Applied::default()
        })
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let target = &self.given;
        let dir = Path::new(target);
        let stage = detect_stage(dir)?;
        let (manifests, extra) = match stage {
            Stage::InstallConfigOnly => bail!(
                "{target}: only install-config.yaml is here, no MachineConfigs yet: run `openshift-install create manifests --dir {target}` first"
            ),
            Stage::Manifests | Stage::Agent => (read_dir_manifests(dir)?, Vec::new()),
            Stage::IgnitionConfigs => {
                let p = dir.join(BOOTSTRAP_IGN);
                let bytes = read_config(&p.to_string_lossy())?;
                bootstrap_manifests(BOOTSTRAP_IGN, &bytes)?
            }
        };
        let mut inv = dir_inventory(dir, stage, &manifests)?;
        inv.findings.extend(extra);
        inv.views(layer, &opts.base_for(layer), &opts.pools, opts.release)
            .map_err(|e| anyhow::anyhow!("{target}: {e}"))
    }
}
