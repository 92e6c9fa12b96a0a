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
use crate::origin::{Link, Origin};
use crate::report::{assess_all, ClusterInfo, TargetReport};
use crate::targets::VerifyOpts;

/// What names the cluster in a shared report, replaced per cluster.
const PH_CLUSTER: &str = "zz-hub-cluster-zz";
/// What names the cluster's file.
const PH_FILE: &str = "zz-hub-file-zz";
/// What names the cluster's target string.
const PH_TARGET: &str = "zz-hub-target-zz";

/// The first link of what a cluster's day-0 sources carry.
const DAY0: &str = "day-0";

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
                                "{}: removed by policy {} (mustnothave)",
                                Origin::note(DAY0)
                                    .then(Link::Note(d.source.clone()))
                                    .inner(format!("data.{k}"))
                                    .object(kind.as_str(), name.as_str()),
                                hub.policies[*p].id
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
    let mut objects: Vec<(Origin, Value)> = Vec::new();
    let nodes: Vec<Value> = c.roles.iter().map(|r| json!({ "role": r })).collect();
    objects.push((
        Origin::file(PH_FILE),
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
        // Named by a placeholder, which each cluster's day-0 source replaces.
        objects.push((
            Origin::note(DAY0),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": ph_day0(i) },
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
    let name = Origin::file(target)
        .inner(format!("cluster {}", c.name))
        .to_string();
    let mut subs: Vec<(String, String)> = vec![
        (PH_TARGET.into(), name.clone()),
        (PH_CLUSTER.into(), c.name.clone()),
        (PH_FILE.into(), c.file.clone()),
    ];
    let day0: Vec<(String, &str)> = c
        .day0
        .iter()
        .enumerate()
        .map(|(i, d)| (ph_day0(i), d.source.as_str()))
        .collect();
    for (ph, src) in &day0 {
        // Messages name the placeholder ConfigMap as the origin renders it.
        subs.push((format!("ConfigMap {ph}"), src.to_string()));
        subs.push((ph.clone(), src.to_string()));
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
    // The placeholder ConfigMap of a day-0 source becomes the source itself.
    let fix_origin = |o: &mut Origin| {
        o.map_links(|l| {
            let Link::Object { kind, name } = l else {
                return;
            };
            if let Some((_, src)) = day0
                .iter()
                .find(|(ph, _)| kind == "ConfigMap" && ph == name)
            {
                *l = Link::Note(src.to_string());
            }
        });
        o.map_texts(fix);
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
                    fix_origin(o);
                }
            }
            for f in &mut r.files {
                if let Some(o) = &mut f.origin {
                    fix_origin(o);
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
    let origins: Vec<&Origin> = if r.enabled {
        r.files.iter().filter_map(|f| f.origin.as_ref()).collect()
    } else {
        r.findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.code != Code::PoolNotJudged)
            .filter_map(|f| f.origin.as_ref())
            .collect()
    };
    origins.iter().rev().find_map(|o| source_in(o))
}

/// The source an origin passes through: `policy NS/NAME` (a Policy object) or `day-0 (SOURCE)`
/// (the day-0 source holding it).
pub fn source_in(origin: &Origin) -> Option<String> {
    let links = origin.links();
    links.iter().enumerate().find_map(|(i, l)| match l {
        Link::Object { kind, name } if kind == "Policy" => Some(format!("policy {name}")),
        Link::Note(n) if n == DAY0 => links.get(i + 1).map(|s| format!("{DAY0} ({s})")),
        _ => None,
    })
}
