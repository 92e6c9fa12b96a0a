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
use crate::origin::{Origin, Placed};
use crate::report::View;
use crate::workloads::{role_label, Nodes, Workload, Workloads};

mod read;
#[cfg(test)]
mod tests;
mod topology;
mod views;

pub use read::*;
pub use topology::*;

/// Replicas the installer gives a compute pool whose `replicas` is not set.
const INSTALLER_DEFAULT_REPLICAS: u64 = 3;

/// One manifest file: where it is (`openshift/x.yaml`, `bootstrap.ign > /opt/…/x.yaml`,
/// `site.yaml > ConfigMap ns/name > data.x.yaml`) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Where it is: the file as named (relative to a folder target), or what holds it.
    pub origin: Origin,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Manifest {
    /// A manifest that is a file of its own, named as the user named it (or relative to the
    /// folder target holding it).
    pub fn file(name: impl Into<String>, bytes: Vec<u8>) -> Manifest {
        Manifest {
            origin: Origin::file(name),
            bytes,
        }
    }

    /// Its name for messages: its origin rendered.
    pub fn name(&self) -> String {
        self.origin.to_string()
    }
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
    file: Origin,
    /// `FILE > MachineConfig NAME`.
    origin: Origin,
    /// Problems of its config, explained with their places.
    problems: Vec<Placed>,
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
    pub fn read_objects(objects: &[(Origin, Value)], assumed: &[Pool]) -> Inventory {
        let mut inv = Inventory::default();
        let mut found = Vec::new();
        let mut declared = Vec::new();
        for (origin, obj) in objects {
            let file = McFile::of_values_at(origin, vec![obj.clone()]);
            inv.read_docs(origin, &file, &mut found, &mut declared, 0);
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
        let bad: Vec<(&str, Option<&Origin>)> = self
            .findings
            .iter()
            .filter(|f| (all && f.code.input_invalid()) || f.code == Code::MachineconfigInvalid)
            .map(|f| (f.message.as_str(), f.place.as_ref()))
            .chain(
                self.found
                    .iter()
                    .chain(self.rendered.values())
                    .flat_map(|f| {
                        f.problems
                            .iter()
                            .map(|p| (p.text.as_str(), Some(&p.origin)))
                    }),
            )
            .collect();
        let Some((_, first)) = bad.first() else {
            return Ok(self);
        };
        let text: Vec<&str> = bad.iter().map(|(t, _)| *t).collect();
        let text = text.join("\n");
        match first {
            // The first problem's place, for reports that link to it.
            Some(origin) => Err(anyhow::Error::new(Placed {
                origin: (*origin).clone(),
                text,
            })),
            None => bail!("{text}"),
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
