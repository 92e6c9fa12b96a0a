//! The one inventory of MachineConfigs and MachineConfigPools, from any source (files, streams,
//! install directories, KRM items), and the pool rule: which pools verify judges.
//!
//! Every source hands its manifests to [`Inventory::read`]; [`Inventory::views`] renders each
//! pool as the MCO does ([`crate::mco::render::render_pool_at`]) and says which pools the layer is
//! meant for: the ones asked for (`--role`, `--all-pools`); else the pools in which some
//! MachineConfig tries to enable the module; else the default roles (worker, plus master when
//! masters are schedulable). Other pools are reported, not judged.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use crate::formats::template;
use crate::layer::Layer;
use crate::mco::file::{documents, objects, MachineConfig, McFile};
use crate::mco::operators::{Landing, Operators, RuntimeLoader};
use crate::mco::release::Release;
use crate::mco::render::render_pool_at;
use crate::mco::ROLE_LABEL;
use crate::node::rules::ModuleAction;
use crate::node::{evaluate, normalize_module, NodeView};
use crate::report::View;
use crate::workloads::{role_label, Nodes, Workload, Workloads};

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
    /// `status.configuration.name`: the rendered MachineConfig the pool's nodes run now (in
    /// cluster dumps).
    pub current: Option<String>,
    /// `spec.nodeSelector.matchLabels`: the labels of the pool's nodes.
    pub node_selector: BTreeMap<String, String>,
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
            current: None,
            node_selector: role_selector(name),
        }
    }

    fn builtin_pool(name: &str) -> Pool {
        Pool {
            name: name.to_string(),
            roles: vec![name.to_string()],
            current: None,
            node_selector: role_selector(name),
        }
    }

    /// The labels and taints of this pool's nodes: its node selector's labels (a custom pool's
    /// nodes stay workers; masters are control-plane nodes), and the master `NoSchedule` taint
    /// on masters unless they are schedulable.
    fn nodes(&self, masters_schedulable: bool) -> Nodes {
        let mut labels = self.node_selector.clone();
        match self.name.as_str() {
            "master" => {
                labels.insert(role_label("control-plane"), String::new());
            }
            "worker" => {}
            _ => {
                labels.insert(role_label("worker"), String::new());
            }
        }
        let taints = if self.name == "master" && !masters_schedulable {
            vec![(role_label("master"), "NoSchedule".to_string())]
        } else {
            Vec::new()
        };
        Nodes { labels, taints }
    }
}

/// The node selector of a role's pool: `node-role.kubernetes.io/<role>: ""`.
fn role_selector(role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(role_label(role), String::new())])
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
    /// Rendered MachineConfigs (the MCO's output, in cluster dumps), by name.
    rendered: BTreeMap<String, Found>,
    /// Objects of other kinds that were read and skipped, by kind (listed with -v).
    ignored: BTreeMap<String, usize>,
    /// Pods, pod templates, Services and NetworkPolicies (what may need SCTP).
    workloads: Workloads,
    /// The pools: master and worker, then the declared (or assumed) custom pools by name.
    pub pools: Vec<Pool>,
    /// Findings about the manifests as a whole (unreadable files, duplicates, role labels).
    pub findings: Vec<Finding>,
    /// From a Scheduler object (`spec.mastersSchedulable`), if the manifests hold one.
    scheduler: Option<Schedulable>,
    /// From an install-config (its compute replicas), if the manifests keep one.
    install_config: Option<Schedulable>,
    /// Decoded contents (data URLs, gzip) every render of this target's configs may produce.
    budget: crate::formats::encoding::Budget,
    /// Objects the API server refuses (left out of everything else).
    refused: usize,
    /// The cluster's topology from the install manifests kept with it (AgentClusterInstall,
    /// ClusterInstance, agent-config, install-config), when one says there are no workers.
    topology: Option<Topology>,
    /// The MachineConfigs are install-time manifests (see [`Inventory::at_install`]).
    install_time: bool,
    /// PerformanceProfiles, Tuneds, KMM Modules, pods running modprobe (and the ConfigMaps
    /// their scripts are in).
    operators: Operators,
    /// What loads or removes modules after boot.
    loaders: Vec<RuntimeLoader>,
}

/// Kinds whose objects say how many workers a cluster has.
const TOPOLOGY_KINDS: &[&str] = &["AgentClusterInstall", "ClusterInstance", "AgentConfig"];

/// What the install manifests say about the nodes: whether the cluster has workers at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Whether there are worker nodes (false: single-node or compact, masters only).
    pub workers: bool,
    /// Why, for people.
    pub why: String,
}

impl Inventory {
    /// Read the MachineConfigs, MachineConfigPools, the Scheduler config and a kept install-config
    /// of some manifests (other kinds are skipped).
    pub fn read(manifests: &[Manifest]) -> Inventory {
        let mut inv = Inventory::default();
        let mut found = Vec::new();
        let mut declared = Vec::new();
        for m in manifests {
            inv.read_manifest(m, &mut found, &mut declared);
        }
        inv.settle(found, declared, &[]);
        inv
    }

    /// [`Inventory::read`] for objects already read (a KRM function's items), each named for
    /// messages (no text to parse again, places given as JSON paths), with pools known to exist
    /// elsewhere (`assumed`) added where the objects declare no pool of that name.
    pub fn read_objects(objects: &[(String, Value)], assumed: &[Pool]) -> Inventory {
        let mut inv = Inventory::default();
        let mut found = Vec::new();
        let mut declared = Vec::new();
        for (name, obj) in objects {
            let file = McFile::of_values(name, vec![obj.clone()]);
            inv.read_docs(name, &file, &mut found, &mut declared, 0);
        }
        inv.settle(found, declared, assumed);
        inv
    }

    /// After reading: the pools (declared, assumed, rendered for), duplicates, role checks.
    fn settle(&mut self, mut found: Vec<Found>, mut declared: Vec<Pool>, assumed: &[Pool]) {
        let inv = self;
        for a in assumed {
            if !declared.iter().any(|d: &Pool| d.name == a.name) {
                declared.push(a.clone());
            }
        }
        for r in inv.rendered.values() {
            let pool = r.mc.rendered_for.clone().unwrap_or_default();
            if !declared.iter().any(|d: &Pool| d.name == pool)
                && pool != "master"
                && pool != "worker"
            {
                declared.push(Pool::custom(&pool));
            }
        }
        inv.pools = pools_with_builtin(declared);
        // What the Node Tuning Operator renders joins the pools' MachineConfigs.
        let pool_roles: Vec<(String, Vec<String>)> = inv
            .pools
            .iter()
            .map(|p| (p.name.clone(), p.roles.clone()))
            .collect();
        let existing: BTreeSet<String> = found.iter().map(|f| f.mc.name.clone()).collect();
        let (rendered, findings, tuned_loaders) = inv.operators.render(&pool_roles, &existing);
        found.extend(rendered.into_iter().map(|r| Found {
            mc: r.mc,
            object: r.object,
            file: r.file,
            origin: r.origin,
            problems: Vec::new(),
        }));
        inv.findings.extend(findings);
        inv.loaders = inv.operators.loaders();
        inv.loaders.extend(tuned_loaders);
        inv.found = inv.dedupe(found);
        inv.check_roles();
    }

    /// Judge the MachineConfigs as install-time manifests (an install directory's, applied by
    /// Ignition on the first boot): disks, filesystems, RAID and LUKS are not refused then.
    pub fn at_install(&mut self) {
        self.install_time = true;
    }

    /// Take what an install-config says about workers (agent-based directories keep it beside
    /// the manifests); `from` names it for messages.
    pub fn set_install_config(&mut self, from: &str, install_config: &Value) {
        self.install_config = Some(schedulable_from_install_config(from, install_config));
        self.note_install_config(from, install_config);
    }

    /// Take the topology an install-config gives (no compute replicas: masters only).
    fn note_install_config(&mut self, from: &str, ic: &Value) {
        if compute_replicas(ic) == 0 {
            self.note_topology(Topology {
                workers: false,
                why: format!("the install-config in {from} has no workers (compute replicas 0)"),
            });
        }
    }

    /// Take a topology: one that has workers wins (a folder holding several clusters' install
    /// manifests has workers if any of them has).
    fn note_topology(&mut self, t: Topology) {
        if self.topology.as_ref().is_none_or(|old| !old.workers) {
            self.topology = Some(t);
        }
    }

    /// Take what an agent-config.yaml kept beside the manifests says about its hosts.
    pub fn set_agent_config(&mut self, from: &str, agent_config: &Value) {
        if let Some(t) = topology_of(from, "AgentConfig", agent_config) {
            self.note_topology(t);
        }
    }

    /// What the install manifests say about worker nodes, if anything.
    pub fn topology(&self) -> Option<&Topology> {
        self.topology.as_ref()
    }

    /// Whether the API server refuses some object of the input, or some manifest cannot be
    /// read: the input is invalid (exit status 2) even where the rest is judged.
    pub fn invalid(&self) -> bool {
        self.findings.iter().any(|f| f.code.input_invalid())
    }

    /// For manifests the installer creates (install directories, bootstrap.ign): the API server
    /// drops unknown fields silently there (no strict field validation), so they are warnings.
    pub fn created_by_installer(mut self) -> Inventory {
        for f in &mut self.findings {
            if f.code == Code::UnknownField {
                f.code = Code::UnknownFieldDropped;
                f.severity = f.code.severity();
                f.message = f
                    .message
                    .replace("`oc apply` refuses it (strict decoding error), other clients have the API server drop it", "the installer creates this object without strict field validation, so the API server drops it");
            }
        }
        self
    }

    /// Names of the MachineConfigs found, in the order read.
    pub fn machineconfig_names(&self) -> Vec<String> {
        self.found.iter().map(|f| f.mc.name.clone()).collect()
    }

    /// Whether masters run workloads: the Scheduler config says so, or the install-config asks
    /// for no workers (either one suffices); else what was found, or no.
    pub fn schedulable(&self) -> Schedulable {
        let topology = self
            .topology
            .as_ref()
            .filter(|t| !t.workers)
            .map(|t| Schedulable {
                masters: true,
                why: format!("{}: masters run workloads", t.why),
            });
        let yes = [&self.scheduler, &self.install_config, &topology]
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
        self.read_manifest_at(m, found, pools, 0);
    }

    /// Read one manifest; `depth` counts ConfigMaps whose data carried it (one level is read:
    /// the ZTP / assisted-installer extra-manifests pattern).
    fn read_manifest_at(
        &mut self,
        m: &Manifest,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
        depth: usize,
    ) {
        // Manifests that mention none of the kinds read here cannot hold one: skip the parse.
        let mentions = |s: &[u8]| memchr::memmem::find(&m.bytes, s).is_some();
        if !mentions(b"MachineConfig")
            && !mentions(b"Scheduler")
            && !mentions(b"install-config")
            && !mentions(b"SCTP")
            && !TOPOLOGY_KINDS.iter().any(|k| mentions(k.as_bytes()))
            && !crate::mco::operators::mentions(&m.bytes)
        {
            return;
        }
        let file = match McFile::read(&m.name, &m.bytes) {
            Ok(f) => f,
            Err(e) => {
                let code = if e.downcast_ref::<template::Unrendered>().is_some() {
                    Code::TemplateUnrendered
                } else {
                    Code::ManifestUnreadable
                };
                self.findings.push(Finding::new(code, format!("{e:#}")));
                return;
            }
        };
        for w in file.duplicate_warnings() {
            self.findings.push(Finding::new(Code::DuplicateKey, w));
        }
        self.read_docs(&m.name, &file, found, pools, depth);
    }

    /// Read the documents of one manifest `name`; `file` reads its MachineConfigs (with their
    /// places) when it holds any.
    fn read_docs(
        &mut self,
        name: &str,
        file: &McFile,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
        depth: usize,
    ) {
        let mut has_mc = false;
        let mut refused: BTreeSet<(usize, String)> = BTreeSet::new();
        let docs = file.documents();
        for (doc, (at, obj)) in docs
            .iter()
            .enumerate()
            .flat_map(|(i, d)| objects(d).into_iter().map(move |o| (i, o)))
        {
            if kind_of(obj) != Some("ConfigMap") || carries_manifests(obj) {
                for r in crate::mco::objects::check(obj) {
                    let pointer = format!("{at}{}", r.pointer);
                    let place = if r.code == Code::UnknownField {
                        file.locate_key(doc, &pointer)
                    } else {
                        file.locate(doc, &pointer)
                    };
                    if r.code != Code::UnknownField {
                        refused.insert((doc, at.clone()));
                    }
                    self.findings
                        .push(Finding::new(r.code, format!("{place}: {}", r.message)));
                }
            }
            if refused.contains(&(doc, at.clone())) {
                // The API server refuses it: it never reaches the cluster.
                self.refused += 1;
                continue;
            }
            let taken = self.operators.add(name, obj);
            match kind_of(obj) {
                _ if taken => {}
                Some("MachineConfig") => has_mc = true,
                Some(k) if TOPOLOGY_KINDS.contains(&k) => {
                    if let Some(t) = topology_of(name, k, obj) {
                        self.note_topology(t);
                    }
                }
                Some("MachineConfigPool") => match pool_of(obj) {
                    Ok(p) => pools.push(p),
                    Err(e) => self
                        .findings
                        .push(Finding::new(Code::PoolUnreadable, format!("{name}: {e:#}"))),
                },
                Some("Scheduler") => {
                    if let Some(s) = obj
                        .pointer("/spec/mastersSchedulable")
                        .and_then(Value::as_bool)
                    {
                        self.scheduler = Some(Schedulable {
                            masters: s,
                            why: format!("{name}: spec.mastersSchedulable: {s}"),
                        });
                    }
                }
                Some("ConfigMap") => self.read_configmap(name, obj, found, pools, depth),
                Some(other) => {
                    self.workloads.add(name, obj);
                    *self.ignored.entry(other.to_string()).or_default() += 1
                }
                None => {}
            }
        }
        if !has_mc {
            return;
        }
        let configs =
            match file.read_configs_but(|doc, at| refused.contains(&(doc, at.to_string()))) {
                Ok(c) => c,
                Err(e) => {
                    self.findings
                        .push(Finding::new(Code::MachineconfigInvalid, format!("{e:#}")));
                    return;
                }
            };
        for mc in configs
            .iter()
            .filter(|mc| !refused.contains(&(mc.doc, mc.at.clone())))
        {
            let object = file
                .documents()
                .get(mc.doc)
                .and_then(|d| d.pointer(&mc.at))
                .cloned()
                .unwrap_or(Value::Null);
            let f = Found {
                object,
                file: name.to_string(),
                origin: format!("MachineConfig {} ({name})", mc.name),
                problems: file.problems_of(mc),
                mc: mc.clone(),
            };
            if mc.rendered_for.is_some() {
                self.rendered.insert(mc.name.clone(), f);
            } else {
                found.push(f);
            }
        }
    }

    /// A ConfigMap: the install-config it keeps (`cluster-config-v1`), and manifests carried in
    /// its `data` (ZTP SiteConfig / ClusterInstance extra manifests), read as install-time
    /// manifests named `FILE data.KEY`.
    fn read_configmap(
        &mut self,
        name: &str,
        obj: &Value,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
        depth: usize,
    ) {
        let Some(data) = obj.get("data").and_then(Value::as_object) else {
            return;
        };
        for (key, value) in data {
            let Some(text) = value.as_str() else {
                continue;
            };
            let from = format!("{name} data.{key}");
            if key == "install-config" {
                if let Ok(ic) = first_document(&from, text) {
                    self.install_config = Some(schedulable_from_install_config(&from, &ic));
                    self.note_install_config(&from, &ic);
                }
            } else if depth == 0
                && (text.contains("MachineConfig")
                    || (text.contains("apiVersion")
                        && text.contains("kind")
                        && crate::mco::operators::mentions(text.as_bytes())))
            {
                let carried = Manifest {
                    name: from,
                    bytes: text.as_bytes().to_vec(),
                };
                self.read_manifest_at(&carried, found, pools, depth + 1);
            }
        }
    }

    /// Whether the manifests hold anything to judge: a MachineConfig (source or rendered), or a
    /// workload that needs SCTP.
    pub fn has_machineconfigs(&self) -> bool {
        !self.found.is_empty()
            || !self.rendered.is_empty()
            || !self.workloads.needing_sctp().is_empty()
    }

    /// For inputs that must be read whole (files, streams, folders): the first unreadable
    /// manifest or invalid MachineConfig as an error (exit 2), with its file and place.
    pub fn strict(self) -> Result<Inventory> {
        self.refuse(true)
    }

    /// For folders, where one bad file must not hide the verdict on the rest: an invalid
    /// MachineConfig is still an error (exit 2), while unreadable manifests, templates and
    /// objects the API server refuses stay findings of their own (which make the exit status 2
    /// too, after the rest is judged).
    pub fn strict_configs(self) -> Result<Inventory> {
        self.refuse(false)
    }

    fn refuse(self, all: bool) -> Result<Inventory> {
        let bad: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| (all && f.code.input_invalid()) || f.code == Code::MachineconfigInvalid)
            .map(|f| f.message.as_str())
            .chain(
                self.found
                    .iter()
                    .chain(self.rendered.values())
                    .flat_map(|f| f.problems.iter().map(String::as_str)),
            )
            .collect();
        if !bad.is_empty() {
            bail!("{}", bad.join("\n"));
        }
        Ok(self)
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
    fn tries_to_enable(&self, pool: &Pool, layer: &Layer) -> Result<bool> {
        let mut members = self.members(pool);
        members.extend(self.current_rendered(pool));
        for f in members {
            let mut own = Vec::new();
            let view = render_pool_at(
                &[(&f.mc, f.origin.as_str())],
                &NodeView::default(),
                None,
                &mut own,
                &self.budget,
                self.install_time,
            )?;
            if layer.files.iter().any(|l| view.files.contains_key(&l.path))
                || !evaluate(&view, &layer.module).loads.is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The pools to judge, with why each of the others is not. `loading`: the pools where a
    /// run-time loader of the input loads the module (it tries to enable it there too).
    fn judged(
        &self,
        layer: &Layer,
        choice: &PoolChoice,
        loading: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
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
        let mut trying = loading.clone();
        for p in &self.pools {
            if self.tries_to_enable(p, layer)? {
                trying.insert(p.name.clone());
            }
        }
        if trying.is_empty() {
            trying = self.default_roles().0.into_iter().collect();
        }
        // Single-node and compact clusters: only masters have nodes; the layer must reach them.
        if self.topology.as_ref().is_some_and(|t| !t.workers) {
            trying.retain(|p| p == "master");
            trying.insert("master".to_string());
        }
        Ok(trying)
    }

    /// Whether a pool has nodes, as far as the install manifests tell (with no workers, only
    /// master has).
    fn has_nodes(&self, pool: &Pool) -> bool {
        self.topology.as_ref().is_none_or(|t| t.workers) || pool.name == "master"
    }

    /// Render every pool over `base` and say which are judged: one view per pool, in pool order.
    pub fn views(
        &self,
        layer: &Layer,
        base: &NodeView,
        choice: &PoolChoice,
        release: Option<Release>,
    ) -> Result<Vec<View>> {
        let masters = self.schedulable().masters;
        // Run-time loaders of the module, and the pools they run on.
        let module = normalize_module(&layer.module);
        let loaders: Vec<(&RuntimeLoader, Vec<String>)> = self
            .loaders
            .iter()
            .filter(|l| l.modules.iter().any(|m| normalize_module(m) == module))
            .map(|l| {
                let on: Vec<String> = self
                    .pools
                    .iter()
                    .filter(|p| match &l.landing {
                        Landing::Pods(w) => w.lands_on(&p.nodes(masters)),
                        Landing::Pools(names) => names.contains(&p.name),
                    })
                    .map(|p| p.name.clone())
                    .collect();
                (l, on)
            })
            .collect();
        // A pool where something loads the module after boot is one where the module is wanted.
        let loading: BTreeSet<String> = loaders
            .iter()
            .filter(|(l, _)| l.action != ModuleAction::Remove)
            .flat_map(|(_, on)| on.iter().cloned())
            .collect();
        let mut judged = self.judged(layer, choice, &loading)?;
        let needing = if normalize_module(&layer.module) == "sctp" {
            self.workloads.needing_sctp()
        } else {
            Vec::new()
        };
        let landing: Vec<Vec<&Workload>> = self
            .pools
            .iter()
            .map(|p| {
                if !self.has_nodes(p) {
                    return Vec::new();
                }
                let nodes = p.nodes(masters);
                needing.iter().filter(|w| w.lands_on(&nodes)).collect()
            })
            .collect();
        // A pool where SCTP workloads can land is judged, whatever else says.
        for (p, l) in self.pools.iter().zip(&landing) {
            if !l.is_empty() {
                judged.insert(p.name.clone());
            }
        }
        let mut general = Vec::new();
        for w in &needing {
            if !landing.iter().any(|l| l.iter().any(|x| x.id == w.id)) {
                general.push(Finding::new(
                    Code::WorkloadLandsNowhere,
                    format!(
                        "{} ({}) needs SCTP but its pods fit no pool of the input (node selector, affinity or taints)",
                        w.id, w.file
                    ),
                ));
            }
        }
        for s in self.workloads.unmatched_selectors() {
            general.push(Finding::new(
                Code::SctpSelectsNothing,
                format!("{s} has an SCTP port but selects no workload of the input"),
            ));
        }
        let ignored = (!self.ignored.is_empty()).then(|| {
            let kinds: Vec<String> = self
                .ignored
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            Finding::new(
                Code::ObjectsIgnored,
                format!(
                    "objects of other kinds read and skipped: {}",
                    kinds.join(", ")
                ),
            )
        });
        self.pools
            .iter()
            .zip(&landing)
            .map(|(p, lands)| {
                let mut v = self.pool_view(layer, base, p, release)?;
                v.judged = judged.contains(&p.name);
                if let Some(t) = self.topology.as_ref().filter(|t| !t.workers && p.name == "master") {
                    v.findings.push(Finding::new(
                        Code::PoolHasNoNodes,
                        format!("{}: the cluster's nodes are all masters, so pool master is judged and the other pools, which have no nodes, are not", t.why),
                    ));
                }
                v.findings.extend(ignored.clone());
                v.findings.extend(general.iter().cloned());
                v.workloads = lands.iter().map(|w| (*w).clone()).collect();
                for (l, on) in &loaders {
                    if on.contains(&p.name) {
                        let f = crate::mco::operators::judge(l, on, &p.name, &v.node, layer);
                        v.findings.push(f);
                    }
                }
                if !lands.is_empty() && !crate::node::verdict(&v.node, layer).enabled {
                    for w in lands {
                        v.findings.push(Finding::new(
                            Code::WorkloadNeedsModule,
                            format!(
                                "{} ({}) needs SCTP ({}) and may land on pool {}, where {} will not be loaded: add role {} to the MachineConfig that enables it, or constrain the workload (nodeSelector, affinity) to pools that load it",
                                w.id, w.file, w.why.join("; "), p.name, layer.module, p.name
                            ),
                        ));
                    }
                }
                Ok(v)
            })
            .collect()
    }

    /// The rendered MachineConfig a pool's nodes run now: the one its status names, else (with
    /// no source MachineConfigs to render from) the only one rendered for it.
    fn current_rendered(&self, pool: &Pool) -> Option<&Found> {
        if let Some(name) = &pool.current {
            return self.rendered.get(name);
        }
        let mut mine = self
            .rendered
            .values()
            .filter(|f| f.mc.rendered_for.as_deref() == Some(pool.name.as_str()));
        match (mine.next(), mine.next()) {
            (Some(only), None) if self.members(pool).is_empty() => Some(only),
            _ => None,
        }
    }

    fn pool_view(
        &self,
        layer: &Layer,
        base: &NodeView,
        pool: &Pool,
        release: Option<Release>,
    ) -> Result<View> {
        let sources = self.sources_view(layer, base, pool, release)?;
        let Some(current) = self.current_rendered(pool) else {
            let mut v = sources;
            if let Some(name) = &pool.current {
                v.findings.push(Finding::new(
                    Code::RenderedMissing,
                    format!(
                        "pool {}: its status names {name}, which the input does not hold: judged from the source MachineConfigs",
                        pool.name
                    ),
                ));
            }
            return Ok(v);
        };
        let mut findings: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.code != Code::NoMachineconfigForRole)
            .cloned()
            .collect();
        for p in &current.problems {
            findings.push(
                Finding::new(Code::MachineconfigInvalid, p.clone()).with_origin(&current.origin),
            );
        }
        spec_findings(current, release, &mut findings);
        let node = render_pool_at(
            &[(&current.mc, current.origin.as_str())],
            base,
            release,
            &mut findings,
            &self.budget,
            self.install_time,
        )?;
        if !self.members(pool).is_empty() {
            let now = crate::node::verdict(&node, layer);
            let then = crate::node::verdict(&sources.node, layer);
            let seen = |v: &crate::node::Verdict| {
                v.files
                    .iter()
                    .map(|c| (c.status, c.actual_sha256.clone(), c.actual_mode.clone()))
                    .collect::<Vec<_>>()
            };
            if now.enabled != then.enabled || seen(&now) != seen(&then) {
                let say = |e: bool| if e { "enabled" } else { "NOT enabled" };
                findings.push(Finding::new(
                    Code::RolloutPending,
                    format!(
                        "pool {}: nodes run {} ({} {}), but the source MachineConfigs render {} {}: a rollout is not done; judged: what the nodes run now",
                        pool.name,
                        current.mc.name,
                        layer.module,
                        say(now.enabled),
                        layer.module,
                        say(then.enabled),
                    ),
                ));
            }
        }
        Ok(View {
            pool: Some(pool.name.clone()),
            node,
            findings,
            judged: true,
            ..View::default()
        })
    }

    /// A pool rendered from its source MachineConfigs, as the MCO will.
    fn sources_view(
        &self,
        layer: &Layer,
        base: &NodeView,
        pool: &Pool,
        release: Option<Release>,
    ) -> Result<View> {
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
        // With no MachineConfig in the input at all, the pools render the base alone: the
        // verdict (module-not-listed) says it.
        if members.is_empty()
            && self.refused == 0
            && !(self.found.is_empty() && self.rendered.is_empty())
        {
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
        let node = render_pool_at(
            &pairs,
            base,
            release,
            &mut findings,
            &self.budget,
            self.install_time,
        )?;
        let _ = layer;
        Ok(View {
            pool: Some(pool.name.clone()),
            node,
            findings,
            judged: true,
            ..View::default()
        })
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

/// Whether a ConfigMap carries what modlayer reads: an install-config, or manifests holding
/// MachineConfigs in its data.
fn carries_manifests(cm: &Value) -> bool {
    cm.get("data").and_then(Value::as_object).is_some_and(|d| {
        d.iter().any(|(k, v)| {
            k == "install-config" || v.as_str().is_some_and(|t| t.contains("MachineConfig"))
        })
    })
}

/// What an AgentClusterInstall (`spec.provisionRequirements`), a ClusterInstance
/// (`spec.nodes[].role`) or an agent-config (`hosts[].role`) says about worker nodes.
fn topology_of(file: &str, kind: &str, obj: &Value) -> Option<Topology> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match kind {
        "AgentClusterInstall" => {
            let req = obj.pointer("/spec/provisionRequirements")?;
            let masters = req.get("controlPlaneAgents").and_then(Value::as_u64)?;
            let workers = req.get("workerAgents").and_then(Value::as_u64).unwrap_or(0);
            Some(Topology {
                workers: workers > 0,
                why: format!("AgentClusterInstall {name} ({file}) provisions {masters} control-plane agent(s) and {workers} worker(s)"),
            })
        }
        "ClusterInstance" | "AgentConfig" => {
            let (list, field) = if kind == "ClusterInstance" {
                (obj.pointer("/spec/nodes"), "nodes")
            } else {
                (obj.get("hosts"), "hosts")
            };
            let nodes = list.and_then(Value::as_array).filter(|n| !n.is_empty())?;
            let role = |n: &Value| n.get("role").and_then(Value::as_str).map(str::to_string);
            let roles: Vec<Option<String>> = nodes.iter().map(role).collect();
            let workers = roles
                .iter()
                .filter(|r| r.as_deref() == Some("worker"))
                .count();
            // A ClusterInstance node's role defaults to master; an agent host without a role
            // is given one by the installer, so only all-master hosts say "no workers".
            let all_masters = roles.iter().all(|r| match r.as_deref() {
                Some("master") => true,
                None => kind == "ClusterInstance",
                _ => false,
            });
            if workers == 0 && !all_masters {
                return None;
            }
            Some(Topology {
                workers: workers > 0,
                why: format!("{kind} {name} ({file}) lists {} node(s) in {field}, {workers} with role worker", nodes.len()),
            })
        }
        _ => None,
    }
}

/// The built-in pools (master, worker) with the declared ones over them, custom pools by name.
fn pools_with_builtin(declared: Vec<Pool>) -> Vec<Pool> {
    let mut pools = vec![Pool::builtin_pool("master"), Pool::builtin_pool("worker")];
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
    let current = doc
        .pointer("/status/configuration/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let node_selector = doc
        .pointer("/spec/nodeSelector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_else(|| role_selector(&name));
    Ok(Pool {
        name,
        roles,
        current,
        node_selector,
    })
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
    fn topology_comes_from_the_install_manifests_and_workers_win() {
        let m = |name: &str, text: &str| Manifest {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        };
        let sno = m("sno/aci.yaml", "apiVersion: extensions.hive.openshift.io/v1beta1\nkind: AgentClusterInstall\nmetadata:\n  name: sno\nspec:\n  provisionRequirements:\n    controlPlaneAgents: 1\n");
        let inv = Inventory::read(std::slice::from_ref(&sno));
        assert_eq!(inv.topology().map(|t| t.workers), Some(false));
        assert!(inv.schedulable().masters);
        let big = m("big/ci.yaml", "apiVersion: siteconfig.open-cluster-management.io/v1alpha1\nkind: ClusterInstance\nmetadata:\n  name: big\nspec:\n  nodes:\n  - hostName: a\n  - hostName: b\n    role: worker\n");
        let inv = Inventory::read(&[big.clone(), sno.clone()]);
        assert_eq!(inv.topology().map(|t| t.workers), Some(true));
        let inv = Inventory::read(&[sno, big]);
        assert_eq!(inv.topology().map(|t| t.workers), Some(true));
        // agent-config: hosts without a role get one from the installer: nothing concluded.
        let mut inv = Inventory::read(&[]);
        let ac = first_document(
            "ac",
            "kind: AgentConfig\nhosts:\n- hostname: a\n  role: master\n- hostname: b\n",
        )
        .unwrap();
        inv.set_agent_config("agent-config.yaml", &ac);
        assert_eq!(inv.topology(), None);
        let ac = first_document(
            "ac",
            "kind: AgentConfig\nhosts:\n- hostname: a\n  role: master\n",
        )
        .unwrap();
        inv.set_agent_config("agent-config.yaml", &ac);
        assert_eq!(inv.topology().map(|t| t.workers), Some(false));
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
