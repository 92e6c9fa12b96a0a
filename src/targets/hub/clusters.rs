//! Clusters: what a ClusterInstance (siteconfig.open-cluster-management.io/v1alpha1) or a
//! SiteConfig (ran.openshift.io/v1) says about one cluster: its nodes, its labels, its day-0
//! extra manifests.
//!
//! - ClusterInstance: `spec.clusterName`, `spec.nodes[].role` (default `master`),
//!   `spec.extraLabels.ManagedCluster` (the ManagedCluster's labels, which policies are bound
//!   by), `spec.extraManifestsRefs[].name` (ConfigMaps of its own namespace whose data values are
//!   manifests), `spec.suppressedManifests` and `spec.nodes[].suppressedManifests`: resource
//!   KINDS of the install manifests the SiteConfig operator renders from its templates (stolostron
//!   siteconfig `suppressManifest`: exact kind match), not file names. Suppressing the
//!   AgentClusterInstall (ImageClusterInstall for `ibi-` templates) drops what carries the extra
//!   manifests; suppressing ManagedCluster drops what carries the labels.
//! - SiteConfig: `spec.clusters[]` with `clusterName`, `clusterLabels`, `nodes[].role`,
//!   `extraManifestPath` (a folder relative to the SiteConfig file; files not starting with
//!   `.`, keyed by file name), `extraManifests.searchPaths` (which replace it),
//!   `extraManifests.filter` (`inclusionDefault` include: drop the `exclude` files; exclude:
//!   keep only the `include` files; a name not present is an error; cnf-features-deploy
//!   `ztp/tools/siteconfig-converter/extraManifests.go` `filterExtraManifests`), `crSuppression`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::{display, ConfigMaps, Obj};
use crate::findings::{Code, Finding};

/// One data entry of a day-0 source: its key (file name) and text.
pub type Entry = (String, Arc<str>);

/// Where a cluster's install-time manifests come from.
#[derive(Clone, Debug)]
pub struct Day0 {
    /// For people: `ConfigMap NS/NAME` or `extraManifestPath DIR`.
    pub source: String,
    /// Its entries, in key order.
    pub entries: Vec<Entry>,
}

/// One cluster of the hub.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The cluster's name (`clusterName`).
    pub name: String,
    /// Its namespace on the hub.
    pub namespace: String,
    /// `ClusterInstance` or `SiteConfig`.
    pub kind: &'static str,
    /// The file it is written in.
    pub file: String,
    /// Node roles, as listed.
    pub roles: Vec<String>,
    /// The ManagedCluster's labels.
    pub labels: BTreeMap<String, String>,
    /// Whether policies can reach it (its ManagedCluster is not suppressed).
    pub bound: bool,
    /// Install-time manifests.
    pub day0: Vec<Day0>,
    /// What reading it found.
    pub findings: Vec<Finding>,
}

impl Cluster {
    /// `SNO`, `compact` or `standard`, from the node roles.
    pub fn topology(&self) -> &'static str {
        let masters = self.roles.iter().filter(|r| *r == "master").count();
        let workers = self.roles.len() - masters;
        match (masters, workers) {
            (1, 0) => "SNO",
            (_, 0) => "compact",
            _ => "standard",
        }
    }
}

fn str_at<'v>(v: &'v Value, p: &str) -> Option<&'v str> {
    v.pointer(p)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.clone(), s))
        })
        .collect()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Node roles (`role`, default master).
fn roles(nodes: Option<&Value>) -> Vec<String> {
    nodes
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|n| {
            n.get("role")
                .and_then(Value::as_str)
                .unwrap_or("master")
                .to_string()
        })
        .collect()
}

/// What suppressing kinds does to a cluster's extra manifests and labels.
fn suppress(c: &mut Cluster, kinds: &[String], install_kind: &str) {
    if kinds.iter().any(|k| k == install_kind) && !c.day0.is_empty() {
        c.findings.push(Finding::new(
            Code::ManifestSuppressed,
            format!(
                "{} {} ({}): suppressedManifests lists {install_kind}, which carries the extra manifests: none of them reaches the cluster",
                c.kind, c.name, c.file
            ),
        ));
        c.day0.clear();
    }
    if kinds.iter().any(|k| k == "ManagedCluster") {
        c.findings.push(Finding::new(
            Code::ManifestSuppressed,
            format!(
                "{} {} ({}): suppressedManifests lists ManagedCluster, which carries the cluster's labels: no policy is bound to it",
                c.kind, c.name, c.file
            ),
        ));
        c.bound = false;
    }
}

/// A ClusterInstance's cluster.
pub fn cluster_instance(obj: &Obj, cms: &ConfigMaps) -> Cluster {
    let v = &obj.value;
    let namespace = str_at(v, "/metadata/namespace").unwrap_or("").to_string();
    let name = str_at(v, "/spec/clusterName")
        .or_else(|| str_at(v, "/metadata/name"))
        .unwrap_or("?")
        .to_string();
    let mut c = Cluster {
        name,
        namespace: namespace.clone(),
        kind: "ClusterInstance",
        file: obj.file.clone(),
        roles: roles(v.pointer("/spec/nodes")),
        labels: string_map(v.pointer("/spec/extraLabels/ManagedCluster")),
        bound: true,
        day0: Vec::new(),
        findings: Vec::new(),
    };
    for r in v
        .pointer("/spec/extraManifestsRefs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(cm) = r.get("name").and_then(Value::as_str) else {
            continue;
        };
        match cms.get(&namespace, cm) {
            Some(entries) => c.day0.push(Day0 {
                source: format!("ConfigMap {namespace}/{cm}"),
                entries: entries.clone(),
            }),
            None => {
                let hint = if cms.hashed(&namespace, cm) {
                    " (a configMapGenerator makes it, but without `disableNameSuffixHash: true` its name gets a hash suffix that extraManifestsRefs does not follow)"
                } else {
                    ""
                };
                c.findings.push(Finding::new(
                    Code::ExtraManifestsMissing,
                    format!(
                        "ClusterInstance {} ({}): extraManifestsRefs names ConfigMap {cm}, which namespace {namespace} of the repository does not hold{hint}",
                        c.name, c.file
                    ),
                ));
            }
        }
    }
    let mut kinds = strings(v.pointer("/spec/suppressedManifests"));
    for n in v
        .pointer("/spec/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        kinds.extend(strings(n.get("suppressedManifests")));
    }
    let ibi = v
        .pointer("/spec/templateRefs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| str_at(t, "/name").is_some_and(|n| n.starts_with("ibi-")));
    let install = if ibi {
        "ImageClusterInstall"
    } else {
        "AgentClusterInstall"
    };
    suppress(&mut c, &kinds, install);
    c
}

/// The clusters of a SiteConfig (`root`: the hub repository, for folder names in messages).
pub fn site_config(obj: &Obj, root: &Path, texts: &mut Interner) -> Result<Vec<Cluster>> {
    let v = &obj.value;
    let mut out = Vec::new();
    for (i, sc) in v
        .pointer("/spec/clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = str_at(sc, "/clusterName")
            .with_context(|| format!("{}: spec.clusters[{i}] has no clusterName", obj.file))?
            .to_string();
        let mut c = Cluster {
            name: name.clone(),
            namespace: name.clone(),
            kind: "SiteConfig",
            file: obj.file.clone(),
            roles: roles(sc.get("nodes")),
            labels: string_map(sc.get("clusterLabels")),
            bound: true,
            day0: Vec::new(),
            findings: Vec::new(),
        };
        let at = format!("{}: cluster {name}", obj.file);
        let search: Option<Vec<String>> = sc
            .pointer("/extraManifests/searchPaths")
            .map(|p| strings(Some(p)));
        let mut data: BTreeMap<String, Arc<str>> = BTreeMap::new();
        let mut sources = Vec::new();
        let dirs: Vec<String> = match &search {
            Some(paths) => paths.clone(),
            None => {
                c.findings.push(Finding::new(
                    Code::PolicySourceUnseen,
                    format!("{at}: no extraManifests.searchPaths: the ztp-site-generate container adds its predefined extra manifests, which cannot be seen offline"),
                ));
                str_at(sc, "/extraManifestPath")
                    .map(|p| vec![p.to_string()])
                    .unwrap_or_default()
            }
        };
        for d in &dirs {
            let Some(here) = obj.path.as_deref().and_then(Path::parent) else {
                c.findings.push(Finding::new(
                    Code::PolicySourceUnseen,
                    format!("{at}: extraManifestPath {d} is relative to the SiteConfig file, which a stream does not have"),
                ));
                continue;
            };
            let dir = here.join(d);
            let real = super::policies::inside(&dir, root)
                .with_context(|| format!("{at}: extraManifestPath {d}"))?;
            let mut files: Vec<_> = std::fs::read_dir(&real)
                .with_context(|| format!("{at}: cannot list {d}"))?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(real.join(&f))
                    .with_context(|| format!("{at}: cannot read {d}/{f}"))?;
                if search.is_none() && data.contains_key(&f) {
                    bail!("{at}: Pre-defined extra-manifest cannot be over written {f}");
                }
                if !text.is_empty() {
                    data.insert(f, texts.intern(&text));
                }
            }
            sources.push(format!("extraManifestPath {}", display(&dir, root)));
        }
        if let Some(filter) = sc.pointer("/extraManifests/filter") {
            data = filter_entries(data, filter).with_context(|| {
                format!(
                    "{at}: could not filter {}",
                    str_at(sc, "/extraManifestPath").unwrap_or("")
                )
            })?;
        }
        if !data.is_empty() {
            c.day0.push(Day0 {
                source: sources.join(", "),
                entries: data.into_iter().collect(),
            });
        }
        let kinds = strings(sc.get("crSuppression"));
        suppress(&mut c, &kinds, "AgentClusterInstall");
        out.push(c);
    }
    Ok(out)
}

/// SiteConfig `extraManifests.filter` as the ztp generator applies it.
fn filter_entries(
    mut data: BTreeMap<String, Arc<str>>,
    filter: &Value,
) -> Result<BTreeMap<String, Arc<str>>> {
    let mode = filter
        .get("inclusionDefault")
        .and_then(Value::as_str)
        .unwrap_or("include");
    let include = strings(filter.get("include"));
    let exclude = strings(filter.get("exclude"));
    let valid = |d: &BTreeMap<String, Arc<str>>| d.keys().cloned().collect::<Vec<_>>().join(",");
    if mode.eq_ignore_ascii_case("exclude") {
        if !exclude.is_empty() {
            bail!("when InclusionDefault is set to exclude, exclude list can not have entries");
        }
        let mut out = BTreeMap::new();
        for f in include {
            match data.get(&f) {
                Some(t) => {
                    out.insert(f, t.clone());
                }
                None => bail!(
                    "Filename {f} under include array is invalid. Valid files names are: {}",
                    valid(&data)
                ),
            }
        }
        Ok(out)
    } else if mode.eq_ignore_ascii_case("include") {
        if !include.is_empty() {
            bail!("when InclusionDefault is set to include, include list can not have entries");
        }
        for f in exclude {
            if data.remove(&f).is_none() {
                bail!(
                    "Filename {f} under exclude array is invalid. Valid files names are: {}",
                    valid(&data)
                );
            }
        }
        Ok(data)
    } else {
        bail!("acceptable values for inclusionDefault are include and exclude. You have entered {mode}")
    }
}

/// One copy of each distinct text: clusters that carry the same extra manifests share them, and
/// the render cache compares them by address.
#[derive(Default)]
pub struct Interner(HashMap<Arc<str>, ()>);

impl Interner {
    /// The shared copy of a text.
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some((k, _)) = self.0.get_key_value(s) {
            return k.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone(), ());
        a
    }
}
