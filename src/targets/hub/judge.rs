//! One verdict per cluster: each cluster's day-0 manifests and the objects of the policies bound
//! to it go through the one inventory ([`Inventory::read_objects`]: MachineConfigs, the Node
//! Tuning Operator's renders of PerformanceProfiles and Tuneds, run-time loaders, workloads) and
//! the one pool render. Clusters whose objects are the same (same texts, same policies, same
//! node roles) share one render: the reports are made once, with placeholders for what names the
//! cluster, and copied for each.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::clusters::Cluster;
use super::Hub;
use crate::findings::{Code, Finding, Severity};
use crate::layer::Layer;
use crate::mco::inventory::Inventory;
use crate::report::{assess_all, ClusterInfo, TargetReport};
use crate::targets::chain::Chain;
use crate::targets::VerifyOpts;

/// What names the cluster in a shared report, replaced per cluster.
const PH_CLUSTER: &str = "zz-hub-cluster-zz";
/// What names the cluster's file.
const PH_FILE: &str = "zz-hub-file-zz";
/// What names the cluster's target string.
const PH_TARGET: &str = "zz-hub-target-zz";

fn ph_day0(i: usize) -> String {
    format!("zz-hub-day0-{i}-zz")
}

/// What makes two clusters' renders the same.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    roles: Vec<String>,
    /// (day-0 source index, data key, text address).
    entries: Vec<(usize, String, usize)>,
    /// Bound policies, by index.
    policies: Vec<usize>,
}

/// (kind, name) of each object in a text, cached by the text's address.
#[derive(Default)]
struct Names(HashMap<usize, Vec<(String, String)>>);

impl Names {
    fn of(&mut self, text: &Arc<str>) -> &Vec<(String, String)> {
        let at = Arc::as_ptr(text) as *const u8 as usize;
        self.0.entry(at).or_insert_with(|| {
            crate::mco::file::documents("", text.as_bytes())
                .unwrap_or_default()
                .iter()
                .map(|d| (kind_name(d).0, kind_name(d).1))
                .collect()
        })
    }
}

fn kind_name(v: &Value) -> (String, String) {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("/kind"), s("/metadata/name"))
}

/// Judge every cluster of a hub; `target` is the hub as the user named it.
pub fn judge(
    hub: &Hub,
    target: &str,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<TargetReport>> {
    let base = opts.base_for(layer);
    let mut cache: HashMap<Key, Vec<TargetReport>> = HashMap::new();
    let mut names = Names::default();
    let mut out = Vec::new();
    for c in &hub.clusters {
        let bound: Vec<usize> = if c.bound {
            hub.policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.reach.as_ref().is_some_and(|r| r.selects(&c.labels)))
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        // What the policies remove (mustnothave) or deliver themselves (a day-N object of a
        // day-0 object's kind and name replaces it: it is the same object in the cluster).
        let mut taken: BTreeMap<(String, String), (usize, bool)> = BTreeMap::new();
        for &i in &bound {
            for o in &hub.policies[i].objects {
                taken.insert(kind_name(&o.value), (i, o.remove));
            }
        }
        let mut entries = Vec::new();
        let mut removed = Vec::new();
        for (i, d) in c.day0.iter().enumerate() {
            for (k, t) in &d.entries {
                if taken.is_empty() {
                    entries.push((i, k.clone(), Arc::as_ptr(t) as *const u8 as usize));
                    continue;
                }
                let hit = names
                    .of(t)
                    .iter()
                    .find_map(|kn| taken.get(kn).map(|w| (kn, w)));
                if let Some(((kind, name), (p, remove))) = hit {
                    if *remove {
                        removed.push((
                            format!(
                                "{kind} {name} (day-0 ({}) data.{k}): removed by policy {} (mustnothave)",
                                d.source, hub.policies[*p].id
                            ),
                            hub.policies[*p].id.clone(),
                        ));
                    }
                    continue;
                }
                entries.push((i, k.clone(), Arc::as_ptr(t) as *const u8 as usize));
            }
        }
        let key = Key {
            roles: c.roles.clone(),
            entries,
            policies: bound.clone(),
        };
        if !cache.contains_key(&key) {
            let reports = render(hub, c, &key, layer, &base, opts)
                .with_context(|| format!("{} > cluster {}", target, c.name))?;
            cache.insert(key.clone(), reports);
        }
        let shared = cache.get(&key).map(Vec::as_slice).unwrap_or_default();
        out.extend(for_cluster(hub, c, &bound, &removed, shared, target));
    }
    Ok(out)
}

/// Render one cluster's objects into reports named with placeholders.
fn render(
    hub: &Hub,
    c: &Cluster,
    key: &Key,
    layer: &Layer,
    base: &crate::node::NodeView,
    opts: &VerifyOpts,
) -> Result<Vec<TargetReport>> {
    let mut objects: Vec<(String, Value)> = Vec::new();
    let nodes: Vec<Value> = c.roles.iter().map(|r| json!({ "role": r })).collect();
    objects.push((
        PH_FILE.to_string(),
        json!({
            "apiVersion": "siteconfig.open-cluster-management.io/v1alpha1",
            "kind": "ClusterInstance",
            "metadata": { "name": PH_CLUSTER },
            "spec": { "nodes": nodes },
        }),
    ));
    for (i, d) in c.day0.iter().enumerate() {
        let mut data = serde_json::Map::new();
        for (k, t) in &d.entries {
            let at = Arc::as_ptr(t) as *const u8 as usize;
            if key
                .entries
                .iter()
                .any(|(j, kk, a)| *j == i && kk == k && *a == at)
            {
                data.insert(k.clone(), Value::String(t.to_string()));
            }
        }
        if data.is_empty() {
            continue;
        }
        objects.push((
            format!("day-0 ({})", ph_day0(i)),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": "extra-manifests" },
                "data": data,
            }),
        ));
    }
    for &i in &key.policies {
        let p = &hub.policies[i];
        for o in p.objects.iter().filter(|o| !o.remove) {
            objects.push((p.origin(), o.value.clone()));
        }
    }
    let inv = Inventory::read_objects(&objects, &[]);
    let views = inv.views(layer, base, &opts.pools, opts.release)?;
    Ok(assess_all(PH_TARGET, "hub", views, layer))
}

/// The shared reports made this cluster's: placeholders replaced, the cluster's own findings
/// and those of its policies added, the cluster described.
fn for_cluster(
    hub: &Hub,
    c: &Cluster,
    bound: &[usize],
    removed: &[(String, String)],
    shared: &[TargetReport],
    target: &str,
) -> Vec<TargetReport> {
    let name = Chain::new(target)
        .then(format!("cluster {}", c.name))
        .to_string();
    let mut subs: Vec<(String, String)> = vec![
        (PH_TARGET.into(), name.clone()),
        (PH_CLUSTER.into(), c.name.clone()),
        (PH_FILE.into(), c.file.clone()),
    ];
    for (i, d) in c.day0.iter().enumerate() {
        subs.push((ph_day0(i), d.source.clone()));
    }
    let fix = |s: &mut String| {
        if s.contains("zz-hub-") {
            for (a, b) in &subs {
                if s.contains(a.as_str()) {
                    *s = s.replace(a.as_str(), b);
                }
            }
        }
    };
    let mut extra: Vec<Finding> = c.findings.clone();
    let mut policies = Vec::new();
    for &i in bound {
        let p = &hub.policies[i];
        extra.extend(p.findings.iter().cloned());
        policies.push(p.id.clone());
    }
    extra.extend(hub.findings.iter().cloned());
    shared
        .iter()
        .map(|r| {
            let mut r = r.clone();
            fix(&mut r.target);
            for f in &mut r.findings {
                fix(&mut f.message);
                if let Some(o) = &mut f.origin {
                    fix(o);
                }
            }
            for f in &mut r.files {
                if let Some(o) = &mut f.origin {
                    fix(o);
                }
            }
            for w in &mut r.workloads {
                fix(&mut w.file);
            }
            r.findings.extend(extra.iter().cloned());
            r.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
            if r.findings.iter().any(|f| f.severity == Severity::Error) {
                r.enabled = false;
            }
            let source = deciding_source(&r).or_else(|| {
                (!r.enabled)
                    .then(|| removed.first())
                    .flatten()
                    .map(|(_, p)| format!("policy {p} (mustnothave)"))
            });
            r.cluster = Some(ClusterInfo {
                name: c.name.clone(),
                namespace: c.namespace.clone(),
                kind: c.kind.to_string(),
                file: c.file.clone(),
                topology: c.topology().to_string(),
                labels: c.labels.clone(),
                day0: c.day0.iter().map(|d| d.source.clone()).collect(),
                policies: policies.clone(),
                removed: removed.iter().map(|(m, _)| m.clone()).collect(),
                source,
            });
            r
        })
        .collect()
}

/// Where the MachineConfig that decides a pool's verdict comes from: for an enabled pool, the
/// one that writes the layer's files; else the one behind the first error; `day-0 (…)` or
/// `policy NS/NAME`.
fn deciding_source(r: &TargetReport) -> Option<String> {
    let origins: Vec<&str> = if r.enabled {
        r.files.iter().filter_map(|f| f.origin.as_deref()).collect()
    } else {
        r.findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.code != Code::PoolNotJudged)
            .filter_map(|f| f.origin.as_deref())
            .collect()
    };
    origins.iter().rev().find_map(|o| source_in(o))
}

/// `day-0 (…)` or `policy NS/NAME` inside an origin.
pub fn source_in(origin: &str) -> Option<String> {
    let policy = origin
        .find("(policy ")
        .map(|i| i + 1)
        .or_else(|| origin.starts_with("policy ").then_some(0));
    let day0 = origin.find("day-0 (");
    if let Some(i) = policy.filter(|p| day0.is_none_or(|d| *p < d)) {
        let rest = &origin[i..];
        let end = rest
            .char_indices()
            .skip(7)
            .find(|(_, ch)| *ch == ')' || *ch == ' ' || *ch == ',')
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        return Some(rest[..end].to_string());
    }
    if let Some(i) = origin.find("day-0 (") {
        let rest = &origin[i..];
        let mut depth = 0;
        for (j, ch) in rest.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(rest[..=j].to_string());
                    }
                }
                _ => {}
            }
        }
    }
    None
}
