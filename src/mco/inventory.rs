//! The one inventory of MachineConfigs and MachineConfigPools, from any source (files, streams,
//! install directories, KRM items), and the pool rule: which pools verify judges.
//!
//! Every source hands its manifests to [`Inventory::read`]; [`Inventory::views`] renders each
//! pool as the MCO does ([`crate::mco::render::render_pool`]) and says which pools the layer is
//! meant for: the ones asked for (`--role`, `--all-pools`); else the pools in which some
//! MachineConfig tries to enable the module; else the default roles (worker, plus master when
//! masters are schedulable). Other pools are reported, not judged.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use crate::layer::Layer;
use crate::mco::file::{documents, MachineConfig, McFile};
use crate::mco::release::Release;
use crate::mco::render::render_pool;
use crate::mco::ROLE_LABEL;
use crate::node::{evaluate, NodeView};
use crate::report::View;

/// Replicas the installer gives a compute pool whose `replicas` is not set.
const INSTALLER_DEFAULT_REPLICAS: u64 = 3;

/// One manifest file: its name for messages (`openshift/x.yaml`, `bootstrap.ign /opt/…/x.yaml`)
/// and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Where it is (relative to the directory, inside bootstrap.ign, or the file as named).
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

    /// A custom pool as OpenShift documents them: it selects worker configs and its own.
    pub fn custom(name: &str) -> Pool {
        Pool {
            name: name.to_string(),
            roles: vec!["worker".into(), name.to_string()],
        }
    }
}

/// Which pools verify judges.
#[derive(Clone, Debug, Default)]
pub struct PoolChoice {
    /// Pools named by `--role` (each must exist or be labelled by some MachineConfig).
    pub roles: Vec<String>,
    /// `--all-pools`: every pool.
    pub all: bool,
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
    /// Problems of its config, explained with their places.
    problems: Vec<String>,
}

/// Whether masters run workloads, and what says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedulable {
    /// Masters run workloads.
    pub masters: bool,
    /// Why, for people.
    pub why: String,
}

/// Everything the MCO will be given: MachineConfigs, pools and what is wrong with them.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    found: Vec<Found>,
    /// The pools: master and worker, then the declared (or assumed) custom pools by name.
    pub pools: Vec<Pool>,
    /// Findings about the manifests as a whole (unreadable files, duplicates, role labels).
    pub findings: Vec<Finding>,
    /// From a Scheduler object (`spec.mastersSchedulable`), if the manifests hold one.
    scheduler: Option<Schedulable>,
    /// From an install-config (its compute replicas), if the manifests keep one.
    install_config: Option<Schedulable>,
}

impl Inventory {
    /// Read the MachineConfigs, MachineConfigPools, the Scheduler config and a kept install-config
    /// of some manifests (other kinds are skipped).
    pub fn read(manifests: &[Manifest]) -> Inventory {
        Inventory::read_assuming(manifests, &[])
    }

    /// [`Inventory::read`], with pools known to exist elsewhere (`assumed`) added where the
    /// manifests declare no pool of that name.
    pub fn read_assuming(manifests: &[Manifest], assumed: &[Pool]) -> Inventory {
        let mut inv = Inventory::default();
        let mut found = Vec::new();
        let mut declared = Vec::new();
        for m in manifests {
            inv.read_manifest(m, &mut found, &mut declared);
        }
        for a in assumed {
            if !declared.iter().any(|d: &Pool| d.name == a.name) {
                declared.push(a.clone());
            }
        }
        inv.pools = pools_with_builtin(declared);
        inv.found = inv.dedupe(found);
        inv.check_roles();
        inv
    }

    /// Take what an install-config says about workers (agent-based directories keep it beside
    /// the manifests); `from` names it for messages.
    pub fn set_install_config(&mut self, from: &str, install_config: &Value) {
        self.install_config = Some(schedulable_from_install_config(from, install_config));
    }

    /// Names of the MachineConfigs found, in the order read.
    pub fn machineconfig_names(&self) -> Vec<String> {
        self.found.iter().map(|f| f.mc.name.clone()).collect()
    }

    /// Whether masters run workloads: the Scheduler config says so, or the install-config asks
    /// for no workers (either one suffices); else what was found, or no.
    pub fn schedulable(&self) -> Schedulable {
        let yes = [&self.scheduler, &self.install_config]
            .into_iter()
            .flatten()
            .find(|s| s.masters);
        yes.or(self.scheduler.as_ref())
            .or(self.install_config.as_ref())
            .cloned()
            .unwrap_or_else(|| Schedulable {
                masters: false,
                why: "no scheduler config or install-config found: worker only".into(),
            })
    }

    /// The roles the layer is meant for by default, and why: worker, plus master when masters
    /// run workloads.
    pub fn default_roles(&self) -> (Vec<String>, String) {
        let s = self.schedulable();
        let mut roles = vec!["worker".to_string()];
        if s.masters {
            roles.push("master".into());
        }
        (roles, s.why)
    }

    fn read_manifest(&mut self, m: &Manifest, found: &mut Vec<Found>, pools: &mut Vec<Pool>) {
        // Manifests that mention none of the kinds read here cannot hold one: skip the parse.
        let mentions = |s: &[u8]| memchr::memmem::find(&m.bytes, s).is_some();
        if !mentions(b"MachineConfig") && !mentions(b"Scheduler") && !mentions(b"install-config") {
            return;
        }
        let docs = match documents(&m.name, &m.bytes) {
            Ok(d) => d,
            Err(e) => {
                self.findings
                    .push(Finding::new(Code::ManifestUnreadable, format!("{e:#}")));
                return;
            }
        };
        for d in &docs {
            match kind_of(d) {
                Some("MachineConfigPool") => match pool_of(d) {
                    Ok(p) => pools.push(p),
                    Err(e) => self.findings.push(Finding::new(
                        Code::PoolUnreadable,
                        format!("{}: {e:#}", m.name),
                    )),
                },
                Some("Scheduler") => {
                    if let Some(s) = d
                        .pointer("/spec/mastersSchedulable")
                        .and_then(Value::as_bool)
                    {
                        self.scheduler = Some(Schedulable {
                            masters: s,
                            why: format!("{}: spec.mastersSchedulable: {s}", m.name),
                        });
                    }
                }
                Some("ConfigMap") => {
                    let kept = d.pointer("/data/install-config").and_then(Value::as_str);
                    if let Some(text) = kept {
                        let from = format!("{} data.install-config", m.name);
                        if let Ok(ic) = first_document(&from, text) {
                            self.install_config = Some(schedulable_from_install_config(&from, &ic));
                        }
                    }
                }
                _ => {}
            }
        }
        if !docs.iter().any(|d| kind_of(d) == Some("MachineConfig")) {
            return;
        }
        let file = match McFile::parse(&m.name, &m.bytes) {
            Ok(f) => f,
            Err(e) => {
                self.findings
                    .push(Finding::new(Code::MachineconfigInvalid, format!("{e:#}")));
                return;
            }
        };
        for mc in &file.configs {
            found.push(Found {
                object: file.documents().get(mc.doc).cloned().unwrap_or(Value::Null),
                file: m.name.clone(),
                origin: format!("MachineConfig {} ({})", mc.name, m.name),
                problems: file.problems_of(mc),
                mc: mc.clone(),
            });
        }
    }

    /// Drop duplicate object names (the last one read is the one applied), reporting the ones whose
    /// content differs.
    fn dedupe(&mut self, found: Vec<Found>) -> Vec<Found> {
        let mut by_name: BTreeMap<String, Found> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for f in found {
            match by_name.get(&f.mc.name) {
                Some(prev) if prev.object != f.object => {
                    self.findings.push(Finding::new(
                        Code::DuplicateMachineconfig,
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

    /// MachineConfigs that reach no node are errors: no role label, or a role that a declared pool
    /// of that name does not select. A role naming no declared pool is rendered as that custom
    /// pool (worker configs first), with an info finding.
    fn check_roles(&mut self) {
        let mut out = Vec::new();
        let mut assumed: BTreeSet<String> = BTreeSet::new();
        for f in &self.found {
            let Some(r) = &f.mc.role else {
                out.push(
                    Finding::new(
                        Code::MachineconfigNoRole,
                        format!(
                            "MachineConfig {} in {} has no {ROLE_LABEL} label: no pool renders it",
                            f.mc.name, f.file
                        ),
                    )
                    .with_origin(&f.origin),
                );
                continue;
            };
            if self.pools.iter().any(|p| p.roles.contains(r)) {
                continue;
            }
            if self.pools.iter().any(|p| &p.name == r) {
                out.push(
                    Finding::new(
                        Code::MachineconfigUnknownRole,
                        format!(
                            "MachineConfig {} in {} has role {r}, which MachineConfigPool {r} does not select: no pool renders it",
                            f.mc.name, f.file
                        ),
                    )
                    .with_origin(&f.origin),
                );
            } else if assumed.insert(r.clone()) {
                out.push(Finding::new(
                    Code::CustomPoolAssumed,
                    format!(
                        "role {r} (MachineConfig {} in {}) names no MachineConfigPool of the input: rendered as custom pool {r}, worker configs first",
                        f.mc.name, f.file
                    ),
                ));
            }
        }
        let mut pools = std::mem::take(&mut self.pools);
        pools.extend(assumed.iter().map(|r| Pool::custom(r)));
        self.pools = pools_with_builtin(pools);
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

    /// Whether some MachineConfig of the pool tries to enable the module: writes one of the
    /// layer's paths, or loads the module (a modules-load.d entry, a `modules-load=` argument).
    fn tries_to_enable(&self, pool: &Pool, layer: &Layer) -> bool {
        self.members(pool).iter().any(|f| {
            let mut own = Vec::new();
            let view = render_pool(
                &[(&f.mc, f.origin.as_str())],
                &NodeView::default(),
                None,
                &mut own,
            );
            layer.files.iter().any(|l| view.files.contains_key(&l.path))
                || !evaluate(&view, &layer.module).loads.is_empty()
        })
    }

    /// The pools to judge, with why each of the others is not.
    fn judged(&self, layer: &Layer, choice: &PoolChoice) -> Result<BTreeSet<String>> {
        if choice.all {
            return Ok(self.pools.iter().map(|p| p.name.clone()).collect());
        }
        if !choice.roles.is_empty() {
            let mut out = BTreeSet::new();
            for r in &choice.roles {
                if self.pool(r).is_none() {
                    bail!(
                        "no pool named {r} (pools: {})",
                        self.pools
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                out.insert(r.clone());
            }
            return Ok(out);
        }
        let trying: BTreeSet<String> = self
            .pools
            .iter()
            .filter(|p| self.tries_to_enable(p, layer))
            .map(|p| p.name.clone())
            .collect();
        if !trying.is_empty() {
            return Ok(trying);
        }
        Ok(self.default_roles().0.into_iter().collect())
    }

    /// Render every pool over `base` and say which are judged: one view per pool, in pool order.
    pub fn views(
        &self,
        layer: &Layer,
        base: &NodeView,
        choice: &PoolChoice,
        release: Option<Release>,
    ) -> Result<Vec<View>> {
        let judged = self.judged(layer, choice)?;
        Ok(self
            .pools
            .iter()
            .map(|p| {
                let mut v = self.pool_view(layer, base, p, release);
                v.judged = judged.contains(&p.name);
                v
            })
            .collect())
    }

    fn pool_view(
        &self,
        layer: &Layer,
        base: &NodeView,
        pool: &Pool,
        release: Option<Release>,
    ) -> View {
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
            spec_findings(f, release, &mut findings);
        }
        if members.is_empty() {
            findings.push(Finding::new(
                Code::NoMachineconfigForRole,
                format!(
                    "pool {}: no MachineConfig of the input renders into it",
                    pool.name
                ),
            ));
        }
        let pairs: Vec<(&MachineConfig, &str)> =
            members.iter().map(|f| (&f.mc, f.origin.as_str())).collect();
        let node = render_pool(&pairs, base, release, &mut findings);
        let _ = layer;
        View {
            pool: Some(pool.name.clone()),
            platform: None,
            node,
            findings,
            judged: true,
        }
    }
}

/// An Ignition spec the release cannot read (what else the MCO refuses, the render reports).
fn spec_findings(f: &Found, release: Option<Release>, findings: &mut Vec<Finding>) {
    let (Some((_, spec)), Some(r)) = (&f.mc.config, release) else {
        return;
    };
    if !r.reads(*spec) {
        findings.push(
            Finding::new(
                Code::IgnitionSpecUnsupported,
                format!(
                    "MachineConfig {} ({}) uses Ignition spec {spec}, which the MCO of OpenShift {r} cannot read (newest {}): the pool degrades",
                    f.mc.name, f.file, r.newest_spec()
                ),
            )
            .with_origin(&f.origin),
        );
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

fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind").and_then(Value::as_str)
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

/// What an install-config says: masters run workloads when it asks for no workers.
fn schedulable_from_install_config(from: &str, ic: &Value) -> Schedulable {
    let workers = compute_replicas(ic);
    if workers == 0 {
        Schedulable {
            masters: true,
            why: format!(
                "the install-config in {from} has no workers (compute replicas 0): masters run workloads"
            ),
        }
    } else {
        Schedulable {
            masters: false,
            why: format!(
                "the install-config in {from} has {workers} worker(s) and masters do not run workloads"
            ),
        }
    }
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

/// The first non-empty document of a YAML or JSON text.
pub fn first_document(name: &str, text: &str) -> Result<Value> {
    documents(name, text.as_bytes())?
        .into_iter()
        .find(|d| !d.is_null())
        .with_context(|| format!("{name}: empty"))
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
    fn documentation_machineconfig_verifies() {
        let layer = Layer::builtin("sctp").unwrap();
        let text = include_str!("../../testdata/doc-machineconfig.yaml");
        let inv = Inventory::read(&[Manifest {
            name: "doc.yaml".into(),
            bytes: text.as_bytes().to_vec(),
        }]);
        let views = inv
            .views(
                &layer,
                &NodeView::rhcos(&layer.module),
                &PoolChoice::default(),
                None,
            )
            .unwrap();
        let judged: Vec<_> = views.into_iter().filter(|v| v.judged).collect();
        assert_eq!(judged.len(), 1);
        assert_eq!(judged[0].pool.as_deref(), Some("worker"));
        let r = crate::report::assess("doc.yaml", "machineconfig", judged[0].clone(), &layer);
        assert!(r.enabled, "{:?}", r.findings);
        assert!(r.identical);
        let quoted = text.replacen("mode: 0644", "mode: '0644'", 1);
        let inv = Inventory::read(&[Manifest {
            name: "q.yaml".into(),
            bytes: quoted.into_bytes(),
        }]);
        let v = inv
            .views(
                &layer,
                &NodeView::rhcos(&layer.module),
                &PoolChoice::default(),
                None,
            )
            .unwrap()
            .into_iter()
            .find(|v| v.judged)
            .unwrap();
        assert!(!crate::report::assess("q.yaml", "machineconfig", v, &layer).enabled);
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
    fn roles_no_pool_renders_are_errors_and_undeclared_pools_are_assumed() {
        let inv = Inventory::read(&[mc("a", None), mc("b", Some("infra"))]);
        let codes: Vec<&str> = inv.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["machineconfig-no-role", "custom-pool-assumed"]);
        assert_eq!(inv.render_order("infra"), ["b"]);
        let mut declared = infra_pool();
        declared.bytes = String::from_utf8(declared.bytes)
            .unwrap()
            .replace("[worker, infra]", "[infra-x]")
            .into_bytes();
        let inv = Inventory::read(&[mc("b", Some("infra")), declared]);
        let codes: Vec<&str> = inv.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["machineconfig-unknown-role"]);
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
    fn schedulable_masters_come_from_the_scheduler_or_the_install_config() {
        let sched = Manifest {
            name: "manifests/cluster-scheduler-02-config.yml".into(),
            bytes: b"apiVersion: config.openshift.io/v1\nkind: Scheduler\nmetadata:\n  name: cluster\nspec:\n  mastersSchedulable: true\n".to_vec(),
        };
        assert_eq!(
            Inventory::read(&[sched]).default_roles().0,
            ["worker", "master"]
        );
        let cm = Manifest {
            name: "manifests/cluster-config.yaml".into(),
            bytes: b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-config-v1\ndata:\n  install-config: |\n    compute:\n    - name: worker\n      replicas: 0\n".to_vec(),
        };
        assert_eq!(
            Inventory::read(&[cm]).default_roles().0,
            ["worker", "master"]
        );
        assert_eq!(Inventory::read(&[]).default_roles().0, ["worker"]);
    }
}
