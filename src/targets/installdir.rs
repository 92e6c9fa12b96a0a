//! openshift-install directories: write the layer's MachineConfigs where the installer (or the
//! agent-based installer, or the bootstrap node) takes manifests from, and verify what each
//! MachineConfigPool will render, as the Machine Config Operator does, before the cluster exists.
//!
//! The stages (see [`Stage`]): after `create manifests` MachineConfigs go to `openshift/`; after
//! `create ignition-configs` they go into `bootstrap.ign` as `/opt/openshift/openshift/` files;
//! agent-based directories take them in `openshift/`. Verify reads every MachineConfig (and
//! MachineConfigPool) of the directory, renders each pool in MCO order over RHEL CoreOS's base
//! state and hands it to the shared evaluation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::findings::{Code, Finding, Severity};
use crate::formats::encoding::{decode_data_url, gunzip, is_data_url};
use crate::fsutil::{read_config, write_atomic};
use crate::ignition::Spec;
use crate::layer::{Layer, LayerFile};
use crate::mco::{self, openshift, MachineConfig, McFile, ROLE_LABEL};
use crate::report::{assess, TargetReport};
use crate::targets::{apply_file, Kind};

/// The bootstrap node's Ignition config, written by `openshift-install create ignition-configs`.
pub const BOOTSTRAP_IGN: &str = "bootstrap.ign";
/// Where the bootstrap node keeps the installer's manifests (inside bootstrap.ign).
pub const BOOTSTRAP_MANIFESTS: &str = "/opt/openshift/manifests";
/// Where the bootstrap node keeps the `openshift/` manifests (inside bootstrap.ign).
pub const BOOTSTRAP_OPENSHIFT: &str = "/opt/openshift/openshift";
/// The scheduler config manifest (`spec.mastersSchedulable`).
pub const SCHEDULER_MANIFEST: &str = "cluster-scheduler-02-config.yml";
/// The ConfigMap `cluster-config-v1` that keeps the install-config (`data.install-config`).
pub const CLUSTER_CONFIG_MANIFEST: &str = "cluster-config.yaml";
/// The folders of an installer directory that hold manifests, in the order they are read.
const MANIFEST_DIRS: [&str; 2] = ["manifests", "openshift"];
/// Ignition spec of the MachineConfigs written when no OpenShift version is given.
const DEFAULT_SPEC: Spec = Spec { major: 3, minor: 2 };
/// Replicas the installer gives a compute pool whose `replicas` is not set.
const INSTALLER_DEFAULT_REPLICAS: u64 = 3;

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
    /// The OpenShift release (`(4, 14)`): picks the Ignition spec the MachineConfigs are written in.
    pub openshift_version: Option<(u32, u32)>,
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

/// One manifest file: its name for messages (`openshift/x.yaml`, `bootstrap.ign /opt/…/x.yaml`)
/// and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Where it is, relative to the directory (or inside bootstrap.ign).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A MachineConfigPool: its name and the role label values its `machineConfigSelector` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// `metadata.name` (`master`, `worker`, `infra`…).
    pub name: String,
    /// Values of the `machineconfiguration.openshift.io/role` label the pool selects.
    pub roles: Vec<String>,
}

impl Pool {
    /// Whether this is one of the pools every cluster has.
    pub fn builtin(&self) -> bool {
        self.name == "master" || self.name == "worker"
    }
}

/// One MachineConfig found among the manifests.
#[derive(Clone, Debug)]
struct Found {
    mc: MachineConfig,
    /// The whole object (to tell duplicates with different content).
    object: Value,
    /// The manifest it is in.
    file: String,
    /// `MachineConfig NAME (FILE)`.
    origin: String,
    /// Problems of its file's configs, explained with their places.
    problems: Vec<String>,
}

/// Everything the MCO will be given: MachineConfigs, pools and what is wrong with them.
#[derive(Clone, Debug)]
pub struct Inventory {
    found: Vec<Found>,
    /// The pools: master and worker, then the declared custom pools by name.
    pub pools: Vec<Pool>,
    /// Findings about the manifests as a whole (unreadable files, duplicates, role labels).
    pub findings: Vec<Finding>,
}

impl Inventory {
    /// Read the MachineConfigs and MachineConfigPools of some manifests (other kinds are skipped).
    pub fn read(manifests: &[Manifest]) -> Inventory {
        Inventory::read_assuming(manifests, &[])
    }

    /// [`Inventory::read`], with pools known to exist elsewhere (`assumed`) added where the
    /// manifests declare no pool of that name.
    pub fn read_assuming(manifests: &[Manifest], assumed: &[Pool]) -> Inventory {
        let mut found = Vec::new();
        let mut declared = Vec::new();
        let mut findings = Vec::new();
        for m in manifests {
            read_manifest(m, &mut found, &mut declared, &mut findings);
        }
        for a in assumed {
            if !declared.iter().any(|d: &Pool| d.name == a.name) {
                declared.insert(0, a.clone());
            }
        }
        let pools = pools_with_builtin(declared);
        let mut inv = Inventory {
            found: Vec::new(),
            pools,
            findings,
        };
        inv.found = inv.dedupe(found);
        inv.check_roles();
        inv
    }

    /// Names of the MachineConfigs found, in the order read.
    pub fn machineconfig_names(&self) -> Vec<String> {
        self.found.iter().map(|f| f.mc.name.clone()).collect()
    }

    /// Drop duplicate object names (the last one read is the one applied), reporting the ones whose
    /// content differs.
    fn dedupe(&mut self, found: Vec<Found>) -> Vec<Found> {
        let mut by_name: BTreeMap<String, Found> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for f in found {
            match by_name.get(&f.mc.name) {
                Some(prev) if prev.object != f.object => {
                    self.findings.push(Finding::new(Code::DuplicateMachineconfig,
                        format!(
                            "MachineConfig {} is in {} and in {} with different content: only one of them can exist in the cluster",
                            f.mc.name, prev.file, f.file
                        ),
                    ).with_origin(&f.origin));
                }
                Some(_) => {}
                None => order.push(f.mc.name.clone()),
            }
            by_name.insert(f.mc.name.clone(), f);
        }
        order
            .into_iter()
            .filter_map(|n| by_name.remove(&n))
            .collect()
    }

    /// Report MachineConfigs that no pool renders: no role label, or a role no pool selects.
    fn check_roles(&mut self) {
        let known: BTreeSet<&str> = self
            .pools
            .iter()
            .flat_map(|p| p.roles.iter().map(String::as_str))
            .collect();
        let mut out = Vec::new();
        for f in &self.found {
            match &f.mc.role {
                None => out.push(
                    Finding::new(Code::MachineconfigNoRole,
                        format!(
                            "MachineConfig {} in {} has no {ROLE_LABEL} label: no pool renders it",
                            f.mc.name, f.file
                        ),
                    )
                    .with_origin(&f.origin),
                ),
                Some(r) if !known.contains(r.as_str()) => out.push(
                    Finding::new(Code::MachineconfigUnknownRole,
                        format!(
                            "MachineConfig {} in {} has role {r}, which no MachineConfigPool selects (pools: {}): no pool renders it",
                            f.mc.name,
                            f.file,
                            self.pools.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .with_origin(&f.origin),
                ),
                Some(_) => {}
            }
        }
        self.findings.extend(out);
    }

    /// The pool of a name.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The MachineConfigs a pool renders, in the MCO's order: sorted by name (byte order); for a
    /// custom pool that also selects worker, the worker-labelled ones first, then its own (as the
    /// MCO has done since 4.15).
    fn members(&self, pool: &Pool) -> Vec<&Found> {
        let sorted = |pred: &dyn Fn(&str) -> bool| {
            let mut v: Vec<&Found> = self
                .found
                .iter()
                .filter(|f| f.mc.role.as_deref().is_some_and(pred))
                .collect();
            v.sort_by(|a, b| a.mc.name.as_bytes().cmp(b.mc.name.as_bytes()));
            v
        };
        if !pool.builtin() && pool.roles.iter().any(|r| r == "worker") {
            let mut out = sorted(&|r| r == "worker");
            out.extend(sorted(&|r| {
                r != "worker" && pool.roles.iter().any(|p| p == r)
            }));
            out
        } else {
            sorted(&|r| pool.roles.iter().any(|p| p == r))
        }
    }

    /// Names of the MachineConfigs a pool renders, in render order.
    pub fn render_order(&self, pool: &str) -> Vec<String> {
        self.pool(pool)
            .map(|p| self.members(p).iter().map(|f| f.mc.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Render and evaluate pools: the named ones (each must exist), or every pool when `roles` is
    /// empty. One report per pool (`role` = pool name).
    pub fn evaluate(
        &self,
        target: &str,
        kind: &str,
        layer: &Layer,
        roles: &[String],
        openshift_version: Option<(u32, u32)>,
    ) -> Result<Vec<TargetReport>> {
        let pools: Vec<&Pool> = if roles.is_empty() {
            self.pools.iter().collect()
        } else {
            roles
                .iter()
                .map(|r| {
                    self.pool(r).with_context(|| {
                        format!(
                            "{target}: no pool named {r} (pools: {})",
                            self.pools
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                })
                .collect::<Result<_>>()?
        };
        Ok(pools
            .into_iter()
            .map(|p| self.evaluate_pool(target, kind, layer, p, openshift_version))
            .collect())
    }

    fn evaluate_pool(
        &self,
        target: &str,
        kind: &str,
        layer: &Layer,
        pool: &Pool,
        openshift_version: Option<(u32, u32)>,
    ) -> TargetReport {
        let members = self.members(pool);
        let mut findings = self.findings.clone();
        let mut problems = BTreeSet::new();
        for f in &members {
            for p in &f.problems {
                if problems.insert(p.clone()) {
                    findings.push(
                        Finding::new(Code::MachineconfigInvalid, p.clone()).with_origin(&f.origin),
                    );
                }
            }
            member_findings(f, openshift_version, &mut findings);
        }
        let pairs: Vec<(&MachineConfig, &str)> =
            members.iter().map(|f| (&f.mc, f.origin.as_str())).collect();
        let view = mco::render_pool(&pairs, layer, &mut findings);
        assess(
            target,
            kind,
            Some(pool.name.clone()),
            &view,
            layer,
            findings,
        )
    }
}

/// What the MCO would refuse in one MachineConfig beyond what [`mco::render_pool`]
/// check: an Ignition spec the release cannot read (what else the MCO refuses, render_pool reports).
fn member_findings(f: &Found, version: Option<(u32, u32)>, findings: &mut Vec<Finding>) {
    let Some((_, spec)) = &f.mc.config else {
        return;
    };
    if let Some(v) = version {
        if !openshift::reads(v, *spec) {
            findings.push(
                Finding::new(Code::IgnitionSpecUnsupported,
                    format!(
                        "MachineConfig {} ({}) uses Ignition spec {spec}, which the MCO of OpenShift {}.{} cannot read (newest {}): the pool degrades",
                        f.mc.name, f.file, v.0, v.1, openshift::newest_spec(v)
                    ),
                )
                .with_origin(&f.origin),
            );
        }
    }
}

/// The built-in pools (master, worker) with the declared ones over them, custom pools by name.
fn pools_with_builtin(declared: Vec<Pool>) -> Vec<Pool> {
    let mut pools = vec![
        Pool {
            name: "master".into(),
            roles: vec!["master".into()],
        },
        Pool {
            name: "worker".into(),
            roles: vec!["worker".into()],
        },
    ];
    let mut custom: Vec<Pool> = Vec::new();
    for p in declared {
        if let Some(b) = pools.iter_mut().find(|b| b.name == p.name) {
            *b = p;
        } else if let Some(c) = custom.iter_mut().find(|c| c.name == p.name) {
            *c = p;
        } else {
            custom.push(p);
        }
    }
    custom.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    pools.extend(custom);
    pools
}

/// The documents of a manifest as JSON values (JSON or YAML as `oc` reads it); errors say
/// `file:line:col`.
pub fn manifest_documents(m: &Manifest) -> Result<Vec<Value>> {
    mco::documents(&m.name, &m.bytes)
}

fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind").and_then(Value::as_str)
}

/// Read one manifest into the MachineConfigs, pools and findings.
fn read_manifest(
    m: &Manifest,
    found: &mut Vec<Found>,
    pools: &mut Vec<Pool>,
    findings: &mut Vec<Finding>,
) {
    // Manifests that do not mention MachineConfig cannot hold one (or a pool): skip the parse.
    if memchr::memmem::find(&m.bytes, b"MachineConfig").is_none() {
        return;
    }
    let docs = match manifest_documents(m) {
        Ok(d) => d,
        Err(e) => {
            findings.push(Finding::new(Code::ManifestUnreadable, format!("{e:#}")));
            return;
        }
    };
    for d in docs
        .iter()
        .filter(|d| kind_of(d) == Some("MachineConfigPool"))
    {
        match pool_of(d) {
            Ok(p) => pools.push(p),
            Err(e) => findings.push(Finding::new(
                Code::PoolUnreadable,
                format!("{}: {e:#}", m.name),
            )),
        }
    }
    if !docs.iter().any(|d| kind_of(d) == Some("MachineConfig")) {
        return;
    }
    let file = match McFile::parse(&m.name, &m.bytes) {
        Ok(f) => f,
        Err(e) => {
            findings.push(Finding::new(Code::MachineconfigInvalid, format!("{e:#}")));
            return;
        }
    };
    let problems = file.problems();
    for mc in &file.configs {
        found.push(Found {
            object: file.documents().get(mc.doc).cloned().unwrap_or(Value::Null),
            file: m.name.clone(),
            origin: format!("MachineConfig {} ({})", mc.name, m.name),
            problems: problems.clone(),
            mc: mc.clone(),
        });
    }
}

/// A MachineConfigPool document as a [`Pool`]: the role values of its machineConfigSelector
/// (`matchLabels` and `matchExpressions` with operator `In`).
fn pool_of(doc: &Value) -> Result<Pool> {
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .context("a MachineConfigPool needs metadata.name")?
        .to_string();
    let selector = doc.pointer("/spec/machineConfigSelector");
    let mut roles = Vec::new();
    if let Some(r) = selector
        .and_then(|s| s.pointer("/matchLabels"))
        .and_then(|l| l.get(ROLE_LABEL))
        .and_then(Value::as_str)
    {
        roles.push(r.to_string());
    }
    let exprs = selector
        .and_then(|s| s.get("matchExpressions"))
        .and_then(Value::as_array);
    for e in exprs.into_iter().flatten() {
        if e.get("key").and_then(Value::as_str) == Some(ROLE_LABEL)
            && e.get("operator").and_then(Value::as_str) == Some("In")
        {
            let values = e.get("values").and_then(Value::as_array);
            roles.extend(
                values
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    if roles.is_empty() {
        bail!("MachineConfigPool {name}: spec.machineConfigSelector selects no {ROLE_LABEL} value");
    }
    roles.dedup();
    Ok(Pool { name, roles })
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
            out.push(Manifest {
                name: format!("{sub}/{name}"),
                bytes,
            });
        }
    }
    Ok(out)
}

fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

/// The manifests a bootstrap.ign carries as `/opt/openshift/{manifests,openshift}/*` files, and
/// findings for those it cannot read (remote sources, bad data URLs).
pub fn bootstrap_manifests(name: &str, bytes: &[u8]) -> Result<(Vec<Manifest>, Vec<Finding>)> {
    let config = crate::formats::json::parse_named(name, bytes)?;
    let mut out = Vec::new();
    let mut findings = Vec::new();
    let files = config.pointer("/storage/files").and_then(Value::as_array);
    for (i, f) in files.into_iter().flatten().enumerate() {
        let Some(path) = f.get("path").and_then(Value::as_str) else {
            continue;
        };
        let Some((parent, file)) = path.rsplit_once('/') else {
            continue;
        };
        if ![BOOTSTRAP_MANIFESTS, BOOTSTRAP_OPENSHIFT].contains(&parent) || !is_manifest_name(file)
        {
            continue;
        }
        let shown = format!("{name} {path}");
        match file_bytes(f) {
            Ok(b) => out.push(Manifest {
                name: shown,
                bytes: b,
            }),
            Err(e) => findings.push(
                Finding::new(
                    Code::ManifestUnreadable,
                    format!("{name} $.storage.files[{i}] ({path}): {e:#}"),
                )
                .at(path.to_string()),
            ),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((out, findings))
}

/// The bytes an inline Ignition file entry carries (data URL, gzip when compressed).
fn file_bytes(f: &Value) -> Result<Vec<u8>> {
    let src = f
        .pointer("/contents/source")
        .and_then(Value::as_str)
        .unwrap_or("data:,");
    if !is_data_url(src) {
        bail!("the source {src} is not a data: URL: the bootstrap node fetches it, it cannot be seen offline");
    }
    let raw = decode_data_url(src)?;
    match f.pointer("/contents/compression").and_then(Value::as_str) {
        None | Some("") => Ok(raw),
        Some("gzip") => gunzip(&raw),
        Some(other) => bail!("unknown compression {other:?}"),
    }
}

/// The MachineConfig name modlayer gives a layer for a role (as `render machineconfig` does).
pub fn machineconfig_name(layer: &Layer, role: &str) -> String {
    format!("load-{}-module-{role}", layer.module.replace('_', "-"))
}

/// The manifest file name the MachineConfig for a role is written as (named like the installer's
/// own `99_openshift-machineconfig_99-worker-ssh.yaml`).
pub fn manifest_file_name(layer: &Layer, role: &str) -> String {
    format!(
        "99_openshift-machineconfig_{}.yaml",
        machineconfig_name(layer, role)
    )
}

/// Check a role as a label value that is also safe in a file name.
fn validate_role(role: &str) -> Result<()> {
    let ok_chars = role
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let ends_ok = role
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && role
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if role.is_empty() || role.len() > 63 || !ok_chars || !ends_ok {
        bail!("invalid role {role:?}: a role is a label value (1 to 63 of A-Z a-z 0-9 - _ ., starting and ending alphanumeric)");
    }
    Ok(())
}

/// The roles to write for by default, and why: worker, plus master when masters run workloads
/// (the scheduler config says `mastersSchedulable: true`, or the install-config has no workers).
fn default_roles(
    scheduler: Option<&Manifest>,
    install_config: Option<(&str, Value)>,
) -> Result<(Vec<String>, String)> {
    let mut roles = vec!["worker".to_string()];
    if let Some(m) = scheduler {
        let docs = manifest_documents(m)?;
        let schedulable = docs.iter().any(|d| {
            d.pointer("/spec/mastersSchedulable")
                .and_then(Value::as_bool)
                == Some(true)
        });
        if schedulable {
            roles.push("master".into());
            return Ok((
                roles,
                format!(
                    "masters run workloads ({}: spec.mastersSchedulable: true)",
                    m.name
                ),
            ));
        }
    }
    if let Some((from, ic)) = install_config {
        let workers = compute_replicas(&ic);
        if workers == 0 {
            roles.push("master".into());
            return Ok((
                roles,
                format!("the install-config in {from} has no workers (compute replicas 0): masters run workloads"),
            ));
        }
        return Ok((
            roles,
            format!("the install-config in {from} has {workers} worker(s) and masters do not run workloads"),
        ));
    }
    Ok((
        roles,
        "no scheduler config or install-config found: worker only".into(),
    ))
}

/// Workers an install-config asks for: the replicas of its compute pools (edge pools aside); a
/// pool without `replicas`, or no `compute` at all, gets the installer's default of 3.
pub fn compute_replicas(install_config: &Value) -> u64 {
    match install_config.get("compute").and_then(Value::as_array) {
        None => INSTALLER_DEFAULT_REPLICAS,
        Some(pools) => pools
            .iter()
            .filter(|p| p.get("name").and_then(Value::as_str) != Some("edge"))
            .map(|p| {
                p.get("replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(INSTALLER_DEFAULT_REPLICAS)
            })
            .sum(),
    }
}

/// The install-config kept in a `cluster-config.yaml` manifest (ConfigMap `cluster-config-v1`,
/// `data.install-config`).
fn kept_install_config(m: &Manifest) -> Result<Value> {
    let docs = manifest_documents(m)?;
    let text = docs
        .iter()
        .find_map(|d| d.pointer("/data/install-config").and_then(Value::as_str))
        .with_context(|| format!("{}: no data.install-config", m.name))?;
    first_document(&format!("{} data.install-config", m.name), text)
}

fn first_document(name: &str, text: &str) -> Result<Value> {
    let docs = manifest_documents(&Manifest {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
    })?;
    docs.into_iter()
        .find(|d| !d.is_null())
        .with_context(|| format!("{name}: empty"))
}

/// Default roles from manifests (`manifests/…` or bootstrap.ign's `/opt/openshift/manifests/…`).
fn roles_from_manifests(manifests: &[Manifest]) -> Result<(Vec<String>, String)> {
    let find = |file: &str| {
        manifests.iter().find(|m| {
            m.name.ends_with(&format!("manifests/{file}"))
                || m.name.ends_with(&format!("{BOOTSTRAP_MANIFESTS}/{file}"))
        })
    };
    let ic = match find(CLUSTER_CONFIG_MANIFEST) {
        Some(m) => Some((m.name.as_str(), kept_install_config(m)?)),
        None => None,
    };
    default_roles(find(SCHEDULER_MANIFEST), ic)
}

/// Default roles of an agent-based directory, from its install-config.yaml.
fn roles_from_install_config(dir: &Path) -> Result<(Vec<String>, String)> {
    let p = dir.join("install-config.yaml");
    if !p.is_file() {
        return default_roles(None, None);
    }
    let bytes = read_config(&p.to_string_lossy())?;
    let text =
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: invalid UTF-8", p.display()))?;
    let ic = first_document("install-config.yaml", &text)?;
    default_roles(None, Some(("install-config.yaml", ic)))
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
        validate_role(r)?;
    }
    let stage = detect_stage(dir)?;
    let spec = opts
        .openshift_version
        .map(openshift::newest_spec)
        .unwrap_or(DEFAULT_SPEC);
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
fn pick_roles(
    opts: &DirApply,
    defaults: impl FnOnce() -> Result<(Vec<String>, String)>,
    changes: &mut DirChanges,
) -> Result<Vec<String>> {
    if !opts.roles.is_empty() {
        let mut roles: Vec<String> = Vec::new();
        for r in &opts.roles {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
        return Ok(roles);
    }
    let (roles, why) = defaults()?;
    changes
        .notes
        .push(format!("roles {}: {why}", roles.join(", ")));
    Ok(roles)
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
                mco::render(layer, std::slice::from_ref(r), None, spec).into_bytes(),
            )
        })
        .collect()
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
    let manifests = read_dir_manifests(dir)?;
    let roles = pick_roles(
        opts,
        || match stage {
            Stage::Agent => roles_from_install_config(dir),
            _ => roles_from_manifests(&manifests),
        },
        changes,
    )?;
    let inv = Inventory::read(&manifests);
    warn_unknown_roles(&inv, &roles, changes);
    let out_dir = dir.join("openshift");
    let mut added = Vec::new();
    for (role, file, bytes) in rendered(layer, &roles, spec) {
        let path = out_dir.join(&file);
        let rel = format!("openshift/{file}");
        let existing = std::fs::read(&path).ok();
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
                std::fs::create_dir_all(&out_dir)
                    .with_context(|| format!("{}: cannot create", out_dir.display()))?;
                write_atomic(&path, &bytes)?;
            }
            changes.written.push(path);
        }
        added.push(Manifest { name: rel, bytes });
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
    let roles = pick_roles(opts, || roles_from_manifests(&manifests), changes)?;
    let inv = Inventory::read(&manifests);
    warn_unknown_roles(&inv, &roles, changes);
    let files: Vec<LayerFile> = rendered(layer, &roles, spec)
        .into_iter()
        .map(|(_, file, bytes)| LayerFile {
            path: format!("{BOOTSTRAP_OPENSHIFT}/{file}"),
            mode: 0o644,
            bytes,
        })
        .collect();
    let added: Vec<Manifest> = files
        .iter()
        .map(|f| Manifest {
            name: format!("{BOOTSTRAP_IGN} {}", f.path),
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
    let out = apply_file(name, Kind::Ignition, bytes, layer, &[])?;
    changes.warnings.extend(out.warnings);
    if !out.changed {
        changes.notes.push(format!("{name} is up to date"));
        return Ok(());
    }
    let verb = if opts.dry_run { "would " } else { "" };
    changes
        .notes
        .extend(out.changes.iter().map(|c| format!("{name}: {verb}{c}")));
    if !opts.dry_run {
        write_atomic(path, &out.bytes)?;
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
        .filter(|m| !added.iter().any(|a| a.name == m.name))
        .cloned()
        .collect();
    all.extend(added);
    let inv = Inventory::read(&all);
    let pools: Vec<String> = inv
        .pools
        .iter()
        .filter(|p| p.roles.iter().any(|r| roles.contains(r)))
        .map(|p| p.name.clone())
        .collect();
    let Ok(reports) = inv.evaluate("", "install-dir", layer, &pools, opts.openshift_version) else {
        return;
    };
    for r in reports.iter().filter(|r| !r.enabled) {
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
            "pool {}: {} would still not be loaded: {why}",
            r.role.as_deref().unwrap_or("?"),
            layer.module
        ));
    }
}

/// Verify an installer directory: one report per pool (the named ones, or every pool), each
/// rendered as the MCO does and evaluated over RHEL CoreOS's base state.
pub fn verify_dir(
    target: &str,
    layer: &Layer,
    roles: &[String],
    openshift_version: Option<(u32, u32)>,
) -> Result<Vec<TargetReport>> {
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
    let mut inv = Inventory::read(&manifests);
    inv.findings.extend(extra);
    inv.evaluate(target, "install-dir", layer, roles, openshift_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mc(name: &str, role: Option<&str>) -> Manifest {
        let labels = role
            .map(|r| format!("  labels:\n    {ROLE_LABEL}: {r}\n"))
            .unwrap_or_default();
        Manifest {
            name: format!("openshift/{name}.yaml"),
            bytes: format!(
                "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: {name}\n{labels}spec:\n  config:\n    ignition:\n      version: 3.2.0\n"
            )
            .into_bytes(),
        }
    }

    fn infra_pool() -> Manifest {
        Manifest {
            name: "openshift/infra-pool.yaml".into(),
            bytes: format!("apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata:\n  name: infra\nspec:\n  machineConfigSelector:\n    matchExpressions:\n      - key: {ROLE_LABEL}\n        operator: In\n        values: [worker, infra]\n").into_bytes(),
        }
    }

    #[test]
    fn custom_pools_render_worker_configs_first() {
        let inv = Inventory::read(&[
            mc("00-infra", Some("infra")),
            mc("99-worker", Some("worker")),
            mc("50-master", Some("master")),
            infra_pool(),
        ]);
        assert_eq!(inv.render_order("infra"), ["99-worker", "00-infra"]);
        assert_eq!(inv.render_order("worker"), ["99-worker"]);
        assert_eq!(inv.render_order("master"), ["50-master"]);
        assert!(inv.findings.is_empty(), "{:?}", inv.findings);
    }

    #[test]
    fn roles_no_pool_renders_are_errors() {
        let inv = Inventory::read(&[mc("a", None), mc("b", Some("infra"))]);
        let codes: Vec<&str> = inv.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            ["machineconfig-no-role", "machineconfig-unknown-role"]
        );
    }

    #[test]
    fn duplicates_with_different_content_name_both_files() {
        let a = mc("x", Some("worker"));
        let mut b = mc("x", Some("master"));
        b.name = "manifests/other.yaml".into();
        let inv = Inventory::read(&[a.clone(), b]);
        let f = &inv.findings[0];
        assert_eq!(f.code, "duplicate-machineconfig");
        assert!(
            f.message.contains("openshift/x.yaml") && f.message.contains("manifests/other.yaml")
        );
        let same = Inventory::read(&[a.clone(), a]);
        assert!(same.findings.is_empty());
    }

    #[test]
    fn worker_counts_follow_installer_defaults() {
        let v = |t: &str| first_document("ic", t).unwrap();
        assert_eq!(
            compute_replicas(&v("compute:\n- name: worker\n  replicas: 0\n")),
            0
        );
        assert_eq!(compute_replicas(&v("compute:\n- name: worker\n")), 3);
        assert_eq!(compute_replicas(&v("baseDomain: x\n")), 3);
    }

    #[test]
    fn roles_are_checked() {
        assert!(validate_role("infra").is_ok());
        for bad in ["", "../x", "a/b", "-a", "x".repeat(64).as_str()] {
            assert!(validate_role(bad).is_err(), "{bad:?}");
        }
    }
}
