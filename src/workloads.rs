//! The workloads that need SCTP, and where their pods can land.
//!
//! Containers' `ports[].protocol: SCTP` in Pods and pod templates (Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, OpenShift DeploymentConfig); a
//! Service with an SCTP port needs it on the pods it selects, and so does a NetworkPolicy
//! admitting SCTP. Scheduling is modelled on node labels and taints per pool: a pool's nodes
//! carry its MachineConfigPool `nodeSelector` labels (nodes of a custom pool stay workers too);
//! masters carry the `NoSchedule` master taint unless masters are schedulable.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One object whose pods need SCTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// `Kind/namespace/name`.
    pub id: String,
    /// The manifest it is in.
    pub file: String,
    /// Why it needs SCTP (a container port, a Service, a NetworkPolicy).
    pub why: Vec<String>,
    /// Pod template labels (to match Services and NetworkPolicies).
    #[serde(skip)]
    labels: BTreeMap<String, String>,
    #[serde(skip)]
    namespace: String,
    /// `nodeSelector` of the pod template.
    #[serde(skip)]
    node_selector: BTreeMap<String, String>,
    /// Required node affinity terms (OR of terms, AND within a term), as raw JSON.
    #[serde(skip)]
    affinity: Vec<Value>,
    /// Tolerations, as raw JSON.
    #[serde(skip)]
    tolerations: Vec<Value>,
}

/// The labels and taints of one pool's nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nodes {
    /// Node labels.
    pub labels: BTreeMap<String, String>,
    /// Taints as (key, effect).
    pub taints: Vec<(String, String)>,
}

/// The label of a node role.
pub fn role_label(role: &str) -> String {
    format!("node-role.kubernetes.io/{role}")
}

/// The pod spec of a workload object, and its kind's place for it.
pub fn pod_spec(obj: &Value) -> Option<&Value> {
    let kind = obj.get("kind").and_then(Value::as_str)?;
    match kind {
        "Pod" => obj.get("spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "DeploymentConfig" => obj.pointer("/spec/template/spec"),
        "CronJob" => obj.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

fn pod_labels(obj: &Value) -> BTreeMap<String, String> {
    let labels = match obj.get("kind").and_then(Value::as_str) {
        Some("Pod") => obj.pointer("/metadata/labels"),
        Some("CronJob") => obj.pointer("/spec/jobTemplate/spec/template/metadata/labels"),
        _ => obj.pointer("/spec/template/metadata/labels"),
    };
    string_map(labels)
}

/// The string entries of a JSON object (labels, selectors, ConfigMap data); other values and
/// anything that is not an object give nothing.
pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn is_sctp(p: &Value) -> bool {
    p.get("protocol").and_then(Value::as_str) == Some("SCTP")
}

fn id_of(obj: &Value) -> (String, String) {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("?");
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    (format!("{kind}/{ns}/{name}"), ns.to_string())
}

/// A Service or NetworkPolicy with an SCTP port, and the pods it selects.
#[derive(Clone, Debug)]
struct SctpSelector {
    /// `Kind/namespace/name`.
    id: String,
    file: String,
    namespace: String,
    /// Label selector; `None` selects nothing (a Service without a selector).
    selector: Option<BTreeMap<String, String>>,
}

impl SctpSelector {
    fn selects(&self, w: &Workload) -> bool {
        self.selector.as_ref().is_some_and(|s| {
            self.namespace == w.namespace && s.iter().all(|(k, v)| w.labels.get(k) == Some(v))
        })
    }
}

/// Everything in some manifests that bears on SCTP workloads.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    /// Pod-bearing objects, SCTP or not (Services and NetworkPolicies may select them).
    pods: Vec<Workload>,
    /// Services and NetworkPolicies with SCTP ports.
    selectors: Vec<SctpSelector>,
}

impl Workloads {
    /// Take one object from a manifest.
    pub fn add(&mut self, file: &str, obj: &Value) {
        let (id, namespace) = id_of(obj);
        match obj.get("kind").and_then(Value::as_str) {
            Some("Service") => {
                let ports = obj.pointer("/spec/ports").and_then(Value::as_array);
                if ports.into_iter().flatten().any(is_sctp) {
                    self.selectors.push(SctpSelector {
                        id,
                        file: file.to_string(),
                        namespace,
                        selector: obj.pointer("/spec/selector").map(|s| string_map(Some(s))),
                    });
                }
            }
            Some("NetworkPolicy") => {
                let rules = ["ingress", "egress"].into_iter().flat_map(|k| {
                    obj.pointer(&format!("/spec/{k}"))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                });
                let sctp = rules.into_iter().any(|r| {
                    r.get("ports")
                        .and_then(Value::as_array)
                        .is_some_and(|ps| ps.iter().any(is_sctp))
                });
                if sctp {
                    self.selectors.push(SctpSelector {
                        id,
                        file: file.to_string(),
                        namespace,
                        selector: Some(string_map(obj.pointer("/spec/podSelector/matchLabels"))),
                    });
                }
            }
            _ => {
                if let Some(w) = pod_workload(file, obj) {
                    self.pods.push(w);
                }
            }
        }
    }

    /// The workloads that need SCTP: their own ports, or a Service / NetworkPolicy with an SCTP
    /// port that selects their pods.
    pub fn needing_sctp(&self) -> Vec<Workload> {
        let mut out = Vec::new();
        for w in &self.pods {
            let mut w = w.clone();
            let selected_by: Vec<String> = self
                .selectors
                .iter()
                .filter(|s| s.selects(&w))
                .map(|s| format!("selected by {} ({}), which has an SCTP port", s.id, s.file))
                .collect();
            w.why.extend(selected_by);
            if !w.why.is_empty() {
                out.push(w);
            }
        }
        out
    }

    /// Services and NetworkPolicies with SCTP ports that select no workload of the input.
    pub fn unmatched_selectors(&self) -> Vec<String> {
        self.selectors
            .iter()
            .filter(|s| !self.pods.iter().any(|w| s.selects(w)))
            .map(|s| format!("{} ({})", s.id, s.file))
            .collect()
    }
}

/// The pod-bearing object `obj` (Pod, a workload with a pod template, CronJob) as a [`Workload`]:
/// its SCTP ports and where its pods can be scheduled; `None` for other kinds.
pub fn pod_workload(file: &str, obj: &Value) -> Option<Workload> {
    let (id, namespace) = id_of(obj);
    let spec = pod_spec(obj)?;
    let mut why = Vec::new();
    for list in ["containers", "initContainers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in c
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if is_sctp(p) {
                    why.push(format!(
                        "container {} port {} protocol SCTP",
                        c.get("name").and_then(Value::as_str).unwrap_or("?"),
                        p.get("containerPort").map_or("?".into(), Value::to_string)
                    ));
                }
            }
        }
    }
    let affinity = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Some(Workload {
        id,
        file: file.to_string(),
        why,
        labels: pod_labels(obj),
        namespace,
        node_selector: string_map(spec.get("nodeSelector")),
        affinity,
        tolerations: spec
            .get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    })
}
impl Workload {
    /// Whether this workload's pods can be scheduled on nodes with these labels and taints.
    pub fn lands_on(&self, nodes: &Nodes) -> bool {
        let selector_ok = self
            .node_selector
            .iter()
            .all(|(k, v)| nodes.labels.get(k) == Some(v));
        let affinity_ok = self.affinity.is_empty()
            || self
                .affinity
                .iter()
                .any(|term| term_matches(term, &nodes.labels));
        let tolerated = nodes
            .taints
            .iter()
            .all(|(key, effect)| self.tolerations.iter().any(|t| tolerates(t, key, effect)));
        selector_ok && affinity_ok && tolerated
    }
}

/// One `nodeSelectorTerms` entry: every matchExpression holds.
fn term_matches(term: &Value, labels: &BTreeMap<String, String>) -> bool {
    let exprs = term.get("matchExpressions").and_then(Value::as_array);
    exprs.into_iter().flatten().all(|e| {
        let key = e
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let values: Vec<String> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let requirement = match e.get("operator").and_then(Value::as_str) {
            Some("In") => Requirement::In(key, values),
            Some("NotIn") => Requirement::NotIn(key, values),
            Some("Exists") => Requirement::Exists(key),
            Some("DoesNotExist") => Requirement::DoesNotExist(key),
            // Gt / Lt compare integers; node-role labels are empty strings.
            _ => return false,
        };
        requirement.matches(labels)
    })
}

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// The label is set to one of these values.
    In(String, Vec<String>),
    /// The label is unset, or set to none of these values.
    NotIn(String, Vec<String>),
    /// The label is set (any value).
    Exists(String),
    /// The label is not set.
    DoesNotExist(String),
}

impl Requirement {
    /// Whether it holds for these labels.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// Whether a toleration tolerates a taint (`operator: Exists` with no key tolerates everything).
fn tolerates(t: &Value, key: &str, effect: &str) -> bool {
    let tkey = t.get("key").and_then(Value::as_str);
    let exists = t.get("operator").and_then(Value::as_str) == Some("Exists");
    let teffect = t
        .get("effect")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty());
    let key_ok = match tkey {
        None | Some("") => exists,
        Some(k) => k == key,
    };
    key_ok && teffect.is_none_or(|e| e == effect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nodes(roles: &[&str], taint: Option<&str>) -> Nodes {
        Nodes {
            labels: roles
                .iter()
                .map(|r| (role_label(r), String::new()))
                .collect(),
            taints: taint
                .map(|t| vec![(role_label(t), "NoSchedule".to_string())])
                .unwrap_or_default(),
        }
    }

    fn pod(spec: Value) -> Workload {
        let mut w = Workloads::default();
        w.add(
            "f.yaml",
            &json!({"kind":"Pod","metadata":{"name":"p"},"spec": spec}),
        );
        w.pods.remove(0)
    }

    #[test]
    fn scheduling_follows_selectors_affinity_and_taints() {
        let worker = nodes(&["worker"], None);
        let master = nodes(&["master", "control-plane"], Some("master"));
        let infra = nodes(&["infra", "worker"], None);
        let free = pod(json!({"containers":[]}));
        assert!(free.lands_on(&worker) && free.lands_on(&infra) && !free.lands_on(&master));
        let tolerant = pod(
            json!({"tolerations":[{"key":"node-role.kubernetes.io/master","operator":"Exists","effect":"NoSchedule"}]}),
        );
        assert!(tolerant.lands_on(&master));
        let everything = pod(json!({"tolerations":[{"operator":"Exists"}]}));
        assert!(everything.lands_on(&master));
        let pinned = pod(json!({"nodeSelector":{"node-role.kubernetes.io/infra":""}}));
        assert!(pinned.lands_on(&infra) && !pinned.lands_on(&worker));
        let affinity = pod(
            json!({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"node-role.kubernetes.io/infra","operator":"DoesNotExist"}]}]}}}}),
        );
        assert!(affinity.lands_on(&worker) && !affinity.lands_on(&infra));
    }

    #[test]
    fn services_and_policies_pass_sctp_to_the_pods_they_select() {
        let mut w = Workloads::default();
        w.add("d.yaml", &json!({"kind":"Deployment","metadata":{"name":"d","namespace":"n"},"spec":{"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]}}}}));
        assert!(w.needing_sctp().is_empty());
        w.add("s.yaml", &json!({"kind":"Service","metadata":{"name":"s","namespace":"n"},"spec":{"selector":{"app":"x"},"ports":[{"port":30102,"protocol":"SCTP"}]}}));
        let need = w.needing_sctp();
        assert_eq!(need.len(), 1);
        assert!(need[0].why[0].contains("Service/n/s"), "{:?}", need[0].why);
        w.add("other.yaml", &json!({"kind":"Service","metadata":{"name":"o","namespace":"m"},"spec":{"selector":{"app":"x"},"ports":[{"port":1,"protocol":"SCTP"}]}}));
        assert_eq!(w.unmatched_selectors(), ["Service/m/o (other.yaml)"]);
    }
}
