//! `apply` on a hub repository: the layer goes where the repository keeps such files.
//!
//! - Day 0 (the default): for each kustomization `configMapGenerator` that makes a ConfigMap some
//!   ClusterInstance's `extraManifestsRefs` names, the layer's MachineConfig for the roles those
//!   clusters need (single-node and compact: master; standard: worker, plus master with
//!   `--role`) is written into the folder the generator's files are in, and its file name is
//!   spliced into the generator's `files` list (every other byte of the kustomization stays). A
//!   file of that list that already holds a MachineConfig of the layer's name is patched where it
//!   is instead. SiteConfig clusters get the file in their `extraManifestPath` folder.
//! - Day N (`--day-n`): a policy entry delivering the layer's MachineConfig is appended to the
//!   `policies` of the PolicyGenerator that reaches the most clusters, and the MachineConfig is
//!   written as its source CR (`source-crs/machine-config/` beside the generator).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::{display, Hub, Source};
use crate::formats::json::Splice;
use crate::formats::yaml::{self, Document};
use crate::formats::yaml_edit::Editor;
use crate::fsutil::write_atomic;
use crate::layer::Layer;
use crate::mco::file::McFile;
use crate::mco::render::{machineconfig_name, render_machineconfigs};
use crate::targets::{in_place_only, Applied, ApplyOpts};

/// Add the layer to a hub repository.
pub fn apply(target: &str, stream: bool, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
    if stream {
        bail!("{target}: a built stream is no repository: apply to the repository folder; nothing was changed");
    }
    in_place_only(target, opts)?;
    let root = Path::new(target);
    let hub = Hub::build(Source::read_dir(root)?)
        .with_context(|| format!("{target}: nothing was changed"))?;
    let spec = opts
        .release
        .map(|r| r.newest_spec())
        .unwrap_or(crate::ignition::DEFAULT_SPEC);
    let mut plan = Plan::default();
    if opts.day_n {
        day_n(&hub, root, layer, opts, spec, &mut plan)?;
    } else {
        day_0(&hub, root, layer, opts, spec, &mut plan)?;
    }
    plan.run(root, opts.dry_run)
}

/// Files to write, with what changed.
#[derive(Default)]
struct Plan {
    writes: Vec<(PathBuf, Vec<u8>)>,
    applied: Applied,
}

impl Plan {
    fn write(&mut self, path: PathBuf, bytes: Vec<u8>, change: String) {
        if std::fs::read(&path).ok().as_deref() == Some(&bytes[..]) {
            return;
        }
        if let Some(w) = self.writes.iter_mut().find(|(p, _)| *p == path) {
            w.1 = bytes;
            return;
        }
        self.applied.changes.push(change);
        self.writes.push((path, bytes));
    }

    /// Write the files: every one must land inside the repository (links resolved), else nothing
    /// is written.
    fn run(mut self, root: &Path, dry_run: bool) -> Result<Applied> {
        let top = root
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve", root.display()))?;
        for (p, _) in &self.writes {
            let mut existing = p.parent().unwrap_or(root).to_path_buf();
            while !existing.exists() {
                match existing.parent() {
                    Some(up) => existing = up.to_path_buf(),
                    None => break,
                }
            }
            let real = existing.canonicalize().unwrap_or(existing);
            let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
            if !real.starts_with(&top) || is_link {
                bail!(
                    "{}: outside the hub repository {} (or a link): nothing was changed",
                    p.display(),
                    root.display()
                );
            }
        }
        if !dry_run {
            for (p, b) in self.writes {
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d)
                        .with_context(|| format!("{}: cannot create", d.display()))?;
                }
                write_atomic(&p, &b)?;
                self.applied.written.push(p);
            }
        }
        Ok(self.applied)
    }
}

/// The roles a cluster's layer is for.
fn roles_for(topologies: &BTreeSet<&str>, opts: &ApplyOpts) -> Vec<String> {
    if !opts.roles.is_empty() {
        return opts.roles.clone();
    }
    let mut r = Vec::new();
    if topologies.iter().any(|t| *t != "standard") {
        r.push("master".to_string());
    }
    if topologies.contains("standard") {
        r.push("worker".to_string());
    }
    r
}

/// The one document of a YAML file, read for editing.
fn document(path: &Path, root: &Path) -> Result<(String, String, Document)> {
    let shown = display(path, root);
    let text = std::fs::read_to_string(path).with_context(|| format!("{shown}: cannot read"))?;
    let mut docs = yaml::parse_documents(&text)
        .map_err(|e| anyhow::anyhow!("{shown}:{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
    if docs.len() != 1 {
        bail!(
            "{shown}: {} documents; a kustomization or generator file holds one",
            docs.len()
        );
    }
    Ok((shown, text, docs.remove(0)))
}

fn day_0(
    hub: &Hub,
    root: &Path,
    layer: &Layer,
    opts: &ApplyOpts,
    spec: crate::ignition::Spec,
    plan: &mut Plan,
) -> Result<()> {
    let mut kustomizations = Vec::new();
    find_kustomizations(root, &mut kustomizations, 0)?;
    let mut done_any = false;
    for k in kustomizations {
        let (shown, text, doc) = document(&k, root)?;
        let dir = k.parent().unwrap_or(root).to_path_buf();
        let kns = doc.value.get("namespace").and_then(Value::as_str);
        let mut splice = Splice::default();
        let mut spliced = false;
        for (i, g) in doc
            .value
            .get("configMapGenerator")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(name) = g.get("name").and_then(Value::as_str) else {
                continue;
            };
            let ns = g
                .get("namespace")
                .and_then(Value::as_str)
                .or(kns)
                .unwrap_or("default");
            let source = format!("ConfigMap {ns}/{name}");
            let topologies: BTreeSet<&str> = hub
                .clusters
                .iter()
                .filter(|c| c.day0.iter().any(|d| d.source == source))
                .map(|c| c.topology())
                .collect();
            if topologies.is_empty() {
                continue;
            }
            let files: Vec<String> = g
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect();
            let Some(first) = files.first() else {
                bail!("{shown}: configMapGenerator[{i}] ({name}) has no files list to add to; nothing was changed");
            };
            let rel = first.split_once('=').map_or(first.as_str(), |(_, p)| p);
            let folder = Path::new(rel)
                .parent()
                .unwrap_or(Path::new(""))
                .to_path_buf();
            let mut add = Vec::new();
            for role in roles_for(&topologies, opts) {
                let mc = machineconfig_name(layer, &role);
                // A file of the list that already holds this MachineConfig is patched there.
                let holder = files.iter().find_map(|f| {
                    let p = dir.join(f.split_once('=').map_or(f.as_str(), |(_, p)| p));
                    let b = std::fs::read(&p).ok()?;
                    let parsed = McFile::parse(&display(&p, root), &b).ok()?;
                    parsed
                        .configs
                        .iter()
                        .any(|c| c.name == mc)
                        .then_some((p, parsed))
                });
                if let Some((p, parsed)) = holder {
                    let patched = parsed.apply(layer, std::slice::from_ref(&role))?;
                    plan.applied.warnings.extend(patched.warnings);
                    if let Some(bytes) = patched.bytes {
                        plan.write(
                            p.clone(),
                            bytes,
                            format!("patch {} (MachineConfig {mc})", display(&p, root)),
                        );
                    }
                    continue;
                }
                let file = folder.join(format!("{mc}.yaml"));
                let entry = file.to_string_lossy().into_owned();
                let text = render_machineconfigs(layer, std::slice::from_ref(&role), None, spec);
                plan.write(
                    dir.join(&file),
                    text.into_bytes(),
                    format!(
                        "write {} (MachineConfig {mc}, role {role})",
                        display(&dir.join(&file), root)
                    ),
                );
                if !files.contains(&entry) && !add.contains(&Value::String(entry.clone())) {
                    add.push(Value::String(entry));
                }
            }
            if !add.is_empty() {
                let editor = Editor::new(&shown, &text, &doc, false);
                editor.append_items(
                    &format!("/configMapGenerator/{i}/files"),
                    &add,
                    &mut splice,
                )?;
                spliced = true;
                let names: Vec<&str> = add.iter().filter_map(Value::as_str).collect();
                plan.applied.changes.push(format!(
                    "{shown}: configMapGenerator {name}: files += {}",
                    names.join(", ")
                ));
            }
            done_any = true;
        }
        if spliced {
            let bytes = splice.apply(text.as_bytes());
            if let Some(w) = plan.writes.iter_mut().find(|(p, _)| *p == k) {
                w.1 = bytes;
            } else {
                plan.writes.push((k.clone(), bytes));
            }
        }
    }
    // SiteConfig clusters: the file in their extraManifestPath folder.
    for c in hub.clusters.iter().filter(|c| c.kind == "SiteConfig") {
        let Some(d) = c.day0.first() else { continue };
        let Some(folder) = d.source.strip_prefix("extraManifestPath ") else {
            continue;
        };
        let dir = PathBuf::from(folder);
        let topo: BTreeSet<&str> = [c.topology()].into();
        for role in roles_for(&topo, opts) {
            let mc = machineconfig_name(layer, &role);
            done_any = true;
            // A file of the folder that holds this MachineConfig is patched where it is.
            let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("{folder}: cannot list"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            names.sort();
            let holder = names.iter().find_map(|p| {
                let b = std::fs::read(p).ok()?;
                let parsed = McFile::parse(&p.display().to_string(), &b).ok()?;
                parsed
                    .configs
                    .iter()
                    .any(|x| x.name == mc)
                    .then(|| (p.clone(), parsed))
            });
            if let Some((p, parsed)) = holder {
                let patched = parsed.apply(layer, std::slice::from_ref(&role))?;
                if let Some(bytes) = patched.bytes {
                    plan.write(
                        p.clone(),
                        bytes,
                        format!("patch {} (MachineConfig {mc})", p.display()),
                    );
                }
                let key = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if !d.entries.iter().any(|(k, _)| *k == key) {
                    plan.applied.warnings.push(format!(
                        "{}: cluster {}: extraManifests.filter leaves out {key}, which holds MachineConfig {mc}: take it out of the filter",
                        c.file, c.name
                    ));
                }
                continue;
            }
            let text = render_machineconfigs(layer, std::slice::from_ref(&role), None, spec);
            let p = dir.join(format!("{mc}.yaml"));
            plan.write(
                p.clone(),
                text.into_bytes(),
                format!(
                    "write {} (MachineConfig {mc}, role {role}; SiteConfig {})",
                    p.display(),
                    c.file
                ),
            );
        }
    }
    if !done_any {
        bail!("{}: no configMapGenerator makes a ConfigMap a ClusterInstance names, and no SiteConfig has an extraManifestPath: nowhere to add the layer at day 0 (try --day-n); nothing was changed", root.display());
    }
    Ok(())
}

fn find_kustomizations(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 32 {
        return Ok(());
    }
    for e in
        super::sorted_entries(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() && !name.starts_with('.') {
            find_kustomizations(&e.path(), out, depth + 1)?;
        } else if t.is_file() && (name == "kustomization.yaml" || name == "kustomization.yml") {
            out.push(e.path());
        }
    }
    Ok(())
}

fn day_n(
    hub: &Hub,
    root: &Path,
    layer: &Layer,
    opts: &ApplyOpts,
    spec: crate::ignition::Spec,
    plan: &mut Plan,
) -> Result<()> {
    // The PolicyGenerator file whose policies reach the most clusters.
    let mut best: Option<(&str, usize, BTreeSet<&str>)> = None;
    for p in hub.policies.iter().filter(|p| p.generator) {
        let reached: Vec<&super::clusters::Cluster> = hub
            .clusters
            .iter()
            .filter(|c| c.bound && p.reach.as_ref().is_some_and(|r| r.selects(&c.labels)))
            .collect();
        let topo: BTreeSet<&str> = reached.iter().map(|c| c.topology()).collect();
        if best.as_ref().is_none_or(|b| reached.len() > b.1) {
            best = Some((p.file.as_str(), reached.len(), topo));
        }
    }
    let Some((file, n, topo)) = best.filter(|b| b.1 > 0) else {
        bail!("{}: no PolicyGenerator reaches a cluster: nowhere to add the layer at day N (`modlayer render policy --selector K=V -o DIR` writes one); nothing was changed", root.display());
    };
    let path = PathBuf::from(file);
    let (shown, text, doc) = document(&path, root)?;
    let here = path.parent().unwrap_or(root).to_path_buf();
    let roles = roles_for(&topo, opts);
    let policy = format!(
        "load-{}-module-policy",
        layer.module.replace('_', "-").to_ascii_lowercase()
    );
    let exists = doc
        .value
        .get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| p.get("name").and_then(Value::as_str) == Some(policy.as_str()));
    let mut manifests = Vec::new();
    for role in &roles {
        let mc = machineconfig_name(layer, role);
        let rel = format!("source-crs/machine-config/{mc}.yaml");
        let text = render_machineconfigs(layer, std::slice::from_ref(role), None, spec);
        plan.write(
            here.join(&rel),
            text.into_bytes(),
            format!(
                "write {} (MachineConfig {mc}, role {role})",
                display(&here.join(&rel), root)
            ),
        );
        manifests.push(json!({ "path": rel }));
    }
    if !exists {
        let editor = Editor::new(&shown, &text, &doc, false);
        let mut splice = Splice::default();
        editor.append_items(
            "/policies",
            &[json!({ "name": policy, "manifests": manifests })],
            &mut splice,
        )?;
        let bytes = splice.apply(text.as_bytes());
        plan.write(
            path.clone(),
            bytes,
            format!("{shown}: policies += {policy} (reaches {n} cluster(s))"),
        );
    }
    Ok(())
}
