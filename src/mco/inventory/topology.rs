//! What the install manifests kept with the input say about the cluster: its topology
//! (AgentClusterInstall, ClusterInstance, agent-config), whether masters run workloads (a
//! Scheduler config, an install-config's replicas), and so which roles a layer is meant for.

use super::*;

/// Kinds whose objects say how many workers a cluster has.
pub(super) const TOPOLOGY_KINDS: &[&str] =
    &["AgentClusterInstall", "ClusterInstance", "AgentConfig"];

/// What the install manifests say about the nodes: whether the cluster has workers at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Whether there are worker nodes (false: single-node or compact, masters only).
    pub workers: bool,
    /// Why, for people.
    pub why: String,
}

impl Inventory {
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
    pub(super) fn note_install_config(&mut self, from: &str, ic: &Value) {
        if compute_replicas(ic) == 0 {
            self.note_topology(Topology {
                workers: false,
                why: format!("the install-config in {from} has no workers (compute replicas 0)"),
            });
        }
    }

    /// Take a topology: one that has workers wins (a folder holding several clusters' install
    /// manifests has workers if any of them has).
    pub(super) fn note_topology(&mut self, t: Topology) {
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
}

/// What an AgentClusterInstall (`spec.provisionRequirements`), a ClusterInstance
/// (`spec.nodes[].role`) or an agent-config (`hosts[].role`) says about worker nodes.
pub(super) fn topology_of(file: &str, kind: &str, obj: &Value) -> Option<Topology> {
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

/// What an install-config says: masters run workloads when it asks for no workers.
pub(super) fn schedulable_from_install_config(from: &str, ic: &Value) -> Schedulable {
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
