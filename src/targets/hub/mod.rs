//! Fleets: a hub repository (or a kustomize-built stream of one) read cluster by cluster.
//!
//! A hub holds ClusterInstance or SiteConfig objects ([`clusters`]), the ConfigMaps that carry
//! their install-time (day-0) manifests, and the PolicyGenerator, PolicyGenTemplate and ACM
//! Policy objects that deliver day-N objects to the clusters their placements select
//! ([`policies`], [`placement`]). [`judge`] puts each cluster's objects through the one
//! inventory and pool render, once per distinct set of objects.
//!
//! Folders are read as Argo CD reads them: a folder with a `kustomization.yaml` contributes what
//! it lists (`resources`, `generators`, and the ConfigMaps of its `configMapGenerator`, made as
//! kustomize makes them); any other folder contributes every `*.yaml`/`*.yml`/`*.json` file and
//! its subfolders. Hidden folders and links are skipped.

pub mod apply;
pub mod clusters;
pub mod fast;
pub mod judge;
pub mod merge;
pub mod placement;
pub mod policies;
pub mod render;
mod target;

pub use target::HubTarget;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use clusters::{Cluster, Entry, Interner};
use policies::{Placements, Policy};

/// Kinds a hub is read for; every other object is skipped.
pub const HUB_KINDS: &[&str] = &[
    "ClusterInstance",
    "SiteConfig",
    "ConfigMap",
    "PolicyGenerator",
    "PolicyGenTemplate",
    "Policy",
    "Placement",
    "PlacementRule",
    "PlacementBinding",
];

/// One object of the hub and where it is written.
#[derive(Clone, Debug)]
pub struct Obj {
    /// The object.
    pub value: Value,
    /// Its file for messages (relative to the hub, or the stream's name).
    pub file: String,
    /// Its file on disk, when it has one (generators resolve paths relative to it).
    pub path: Option<PathBuf>,
}

impl Obj {
    /// The folder its file is in (what a generator's relative paths start from).
    pub fn dir(&self) -> Result<PathBuf> {
        match self.path.as_deref().and_then(Path::parent) {
            Some(d) => Ok(d.to_path_buf()),
            None => bail!(
                "{}: paths in it are relative to its file, which a stream does not have: name the repository folder instead",
                self.file
            ),
        }
    }

    fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }
}

/// A path for messages: relative to the hub's folder when inside it.
pub fn display(path: &Path, root: &Path) -> String {
    let shown = path.strip_prefix(root).unwrap_or(path);
    let top = root.to_string_lossy();
    let top = top.trim_end_matches('/');
    format!("{top}/{}", shown.display())
}

/// A file's documents (YAML as kubectl reads it, or JSON), named relative to the hub.
pub fn read_docs(path: &Path, root: &Path) -> Result<Vec<Value>> {
    let shown = display(path, root);
    let bytes = crate::fsutil::read_config(&path.to_string_lossy())?;
    crate::mco::file::documents(&shown, &bytes)
}

/// The ConfigMaps of the hub, by namespace and name: their data entries, in key order.
#[derive(Default)]
pub struct ConfigMaps {
    by_name: HashMap<(String, String), Vec<Entry>>,
    /// Generated with a hash suffix (kustomize's default): (namespace, name before the suffix).
    hashed: HashSet<(String, String)>,
}

impl ConfigMaps {
    /// A ConfigMap's entries.
    pub fn get(&self, ns: &str, name: &str) -> Option<&Vec<Entry>> {
        self.by_name.get(&(ns.to_string(), name.to_string()))
    }

    /// Whether a configMapGenerator makes this one with a hash suffix.
    pub fn hashed(&self, ns: &str, name: &str) -> bool {
        self.hashed.contains(&(ns.to_string(), name.to_string()))
    }

    fn add_entries(
        &mut self,
        ns: &str,
        name: &str,
        data: &[(String, String)],
        texts: &mut Interner,
    ) {
        let mut entries: Vec<Entry> = data
            .iter()
            .map(|(k, t)| (k.clone(), texts.intern(t)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.by_name
            .insert((ns.to_string(), name.to_string()), entries);
    }

    fn add(&mut self, ns: &str, name: &str, data: &Value, texts: &mut Interner) {
        let mut entries: Vec<Entry> = data
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|t| (k.clone(), texts.intern(t))))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.by_name
            .insert((ns.to_string(), name.to_string()), entries);
    }
}

/// A hub read: its objects of hub kinds and its ConfigMaps.
pub struct Source {
    /// Objects of the hub kinds other than ConfigMap.
    pub objects: Vec<Obj>,
    /// ConfigMaps (written out, generated, or in the stream).
    pub configmaps: ConfigMaps,
    /// The repository's folder (None for a stream).
    pub root: Option<PathBuf>,
    /// Shared texts.
    texts: Interner,
    /// What reading found.
    pub findings: Vec<Finding>,
}

impl Source {
    fn new(root: Option<PathBuf>) -> Source {
        Source {
            objects: Vec::new(),
            configmaps: ConfigMaps::default(),
            root,
            texts: Interner::default(),
            findings: Vec::new(),
        }
    }

    /// Take one object (ConfigMaps into the table, other hub kinds kept, the rest skipped);
    /// `namespace` overrides (a kustomization's `namespace:`).
    fn take(&mut self, mut value: Value, file: &str, path: Option<&Path>, namespace: Option<&str>) {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if kind.ends_with("List") {
            if let Some(Value::Array(items)) = value.get_mut("items").map(Value::take) {
                for it in items {
                    self.take(it, file, path, namespace);
                }
            }
            return;
        }
        if !HUB_KINDS.contains(&kind.as_str()) {
            return;
        }
        if let Some(ns) = namespace {
            if let Some(m) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("namespace".into(), Value::String(ns.into()));
            }
        }
        if kind == "ConfigMap" {
            let ns = value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            let name = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let data = value.get("data").cloned().unwrap_or(Value::Null);
            self.configmaps.add(&ns, &name, &data, &mut self.texts);
            return;
        }
        if kind == "ClusterInstance" {
            value = slim_cluster_instance(value);
        }
        self.objects.push(Obj {
            value,
            file: file.to_string(),
            path: path.map(Path::to_path_buf),
        });
    }

    /// Read a hub repository folder.
    pub fn read_dir(dir: &Path) -> Result<Source> {
        let mut s = Source::new(Some(dir.to_path_buf()));
        s.walk(dir, dir, 0)?;
        Ok(s)
    }

    fn walk(&mut self, dir: &Path, root: &Path, depth: usize) -> Result<()> {
        if depth > 32 {
            bail!("{}: folders nest too deep", display(dir, root));
        }
        for k in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            let p = dir.join(k);
            if p.is_file() {
                return self.kustomization(dir, &p, root, depth);
            }
        }
        for e in
            sorted_entries(dir).with_context(|| format!("{}: cannot list", display(dir, root)))?
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() && !name.starts_with('.') {
                self.walk(&e.path(), root, depth + 1)?;
            } else if t.is_file() && crate::targets::manifests::is_manifest_name(&name) {
                self.read_file(&e.path(), root, None)?;
            }
        }
        Ok(())
    }

    fn read_file(&mut self, path: &Path, root: &Path, namespace: Option<&str>) -> Result<()> {
        let bytes = crate::fsutil::read_config(&path.to_string_lossy())?;
        if !HUB_KINDS
            .iter()
            .any(|k| memchr::memmem::find(&bytes, k.as_bytes()).is_some())
        {
            return Ok(());
        }
        let shown = display(path, root);
        self.read_text(&shown, &bytes, Some(path), namespace)
    }

    /// A kustomization: its resources and generators, and the ConfigMaps its
    /// configMapGenerator makes (key: the file's name, or `KEY=path`; `disableNameSuffixHash`
    /// from `generatorOptions` or the generator's `options`).
    fn kustomization(&mut self, dir: &Path, file: &Path, root: &Path, depth: usize) -> Result<()> {
        let shown = display(file, root);
        let docs = read_docs(file, root)?;
        let Some(k) = docs.first() else {
            return Ok(());
        };
        let ns = k.get("namespace").and_then(Value::as_str);
        let list = |key: &str| -> Vec<String> {
            k.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        for r in list("resources").into_iter().chain(list("generators")) {
            if r.contains("://") || r.starts_with("github.com/") {
                self.findings.push(Finding::new(
                    Code::PolicySourceUnseen,
                    format!("{shown}: resource {r} is remote: not read"),
                ));
                continue;
            }
            let p = dir.join(&r);
            let real = policies::inside(&p, root).with_context(|| format!("{shown}: {r}"))?;
            if real.is_dir() {
                self.walk(&real, root, depth + 1)?;
            } else {
                self.read_file(&p, root, ns)?;
            }
        }
        let no_hash_all = k
            .pointer("/generatorOptions/disableNameSuffixHash")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (i, g) in k
            .get("configMapGenerator")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{shown}: configMapGenerator[{i}]");
            let name = g
                .get("name")
                .and_then(Value::as_str)
                .with_context(|| format!("{at}: no name"))?;
            let gns = g
                .get("namespace")
                .and_then(Value::as_str)
                .or(ns)
                .unwrap_or("default");
            let mut data = serde_json::Map::new();
            for f in g
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let (key, rel) = match f.split_once('=') {
                    Some((k, p)) => (k.to_string(), p),
                    None => (
                        Path::new(f)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| f.to_string()),
                        f,
                    ),
                };
                let p = dir.join(rel);
                let real = policies::inside(&p, root).with_context(|| format!("{at}: {rel}"))?;
                let text = std::fs::read_to_string(&real)
                    .with_context(|| format!("{at}: cannot read {rel}"))?;
                data.insert(key, Value::String(text));
            }
            for l in g
                .get("literals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Some((k, v)) = l.split_once('=') {
                    data.insert(k.to_string(), Value::String(v.to_string()));
                }
            }
            let no_hash = g
                .pointer("/options/disableNameSuffixHash")
                .and_then(Value::as_bool)
                .unwrap_or(no_hash_all);
            if no_hash {
                self.configmaps
                    .add(gns, name, &Value::Object(data), &mut self.texts);
            } else {
                self.configmaps
                    .hashed
                    .insert((gns.to_string(), name.to_string()));
            }
        }
        Ok(())
    }

    /// Read a stream of objects (`kubectl kustomize` output, a file).
    pub fn read_stream(name: &str, bytes: &[u8]) -> Result<Source> {
        let mut s = Source::new(None);
        s.read_text(name, bytes, None, None)?;
        Ok(s)
    }

    /// Read a file's or stream's objects one document at a time, so that only the bytes and the
    /// distinct texts are held; ConfigMaps as kustomize writes them are read the fast way
    /// ([`fast::configmap`]), every other document with the YAML reader.
    fn read_text(
        &mut self,
        name: &str,
        bytes: &[u8],
        path: Option<&Path>,
        namespace: Option<&str>,
    ) -> Result<()> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            // The YAML reader names the place.
            crate::mco::file::documents(name, bytes)?;
            bail!("{name}: not UTF-8");
        };
        if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
        {
            for v in crate::mco::file::documents(name, bytes)? {
                self.take(v, name, path, namespace);
            }
            return Ok(());
        }
        for doc in split_documents(text) {
            if !mentions_hub_kind(doc) {
                continue;
            }
            if let Some(cm) = fast::configmap(doc) {
                let ns = namespace.or(cm.namespace.as_deref()).unwrap_or("default");
                self.configmaps
                    .add_entries(ns, &cm.name, &cm.data, &mut self.texts);
                continue;
            }
            let values = match crate::mco::file::documents(name, doc.as_bytes()) {
                Ok(v) => v,
                // Read the whole text for the place of the error in it.
                Err(e) => {
                    crate::mco::file::documents(name, bytes)?;
                    return Err(e);
                }
            };
            for v in values {
                self.take(v, name, path, namespace);
            }
        }
        Ok(())
    }
}

/// A ClusterInstance with only what is read of it (a stream holds thousands).
fn slim_cluster_instance(v: Value) -> Value {
    let keep = |v: &Value, keys: &[&str]| -> Value {
        Value::Object(
            keys.iter()
                .filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone())))
                .collect(),
        )
    };
    let mut out = keep(&v, &["apiVersion", "kind"]);
    let meta = v.get("metadata").map(|m| keep(m, &["name", "namespace"]));
    let spec = v.get("spec").map(|s| {
        let mut o = keep(
            s,
            &[
                "clusterName",
                "extraManifestsRefs",
                "extraLabels",
                "suppressedManifests",
                "templateRefs",
            ],
        );
        if let Some(nodes) = s.get("nodes").and_then(Value::as_array) {
            let slim: Vec<Value> = nodes
                .iter()
                .map(|n| keep(n, &["role", "suppressedManifests"]))
                .collect();
            if let Some(m) = o.as_object_mut() {
                m.insert("nodes".into(), Value::Array(slim));
            }
        }
        o
    });
    if let Some(m) = out.as_object_mut() {
        if let Some(x) = meta {
            m.insert("metadata".into(), x);
        }
        if let Some(x) = spec {
            m.insert("spec".into(), x);
        }
    }
    out
}

/// A stream's documents: split at lines that start with `---` (a document marker at column 0
/// cannot be inside a block scalar of a mapping, whose lines are indented).
fn split_documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = text.as_bytes();
    let mut at = 0;
    while let Some(i) = memchr::memmem::find(&b[at..], b"---") {
        let pos = at + i;
        let line_start = pos == 0 || b[pos - 1] == b'\n';
        let after = b.get(pos + 3).copied();
        let marker = line_start && matches!(after, None | Some(b'\n' | b'\r' | b' ' | b'\t'));
        if marker && pos > start {
            out.push(&text[start..pos]);
            start = pos;
        }
        at = pos + 3;
    }
    out.push(&text[start..]);
    out
}

/// Whether a document may hold an object of a hub kind (a `kind:` of one, or a List).
fn mentions_hub_kind(doc: &str) -> bool {
    doc.contains("List")
        || HUB_KINDS
            .iter()
            .any(|k| memchr::memmem::find(doc.as_bytes(), k.as_bytes()).is_some())
}

/// The hub: its clusters and its policies.
pub struct Hub {
    /// Clusters, in the order read.
    pub clusters: Vec<Cluster>,
    /// Policies, in the order read.
    pub policies: Vec<Policy>,
    /// What reading found about the hub as a whole.
    pub findings: Vec<Finding>,
}

impl Hub {
    /// Build the hub from what was read.
    pub fn build(mut src: Source) -> Result<Hub> {
        let root = src.root.clone().unwrap_or_default();
        let mut placements = Placements::default();
        for o in &src.objects {
            let k = o.kind();
            if matches!(k, "Placement" | "PlacementRule" | "PlacementBinding") {
                placements.add(
                    match k {
                        "Placement" => "Placement",
                        "PlacementRule" => "PlacementRule",
                        _ => "PlacementBinding",
                    },
                    o,
                );
            }
        }
        let mut clusters = Vec::new();
        let mut policies = Vec::new();
        let mut findings = std::mem::take(&mut src.findings);
        for o in &src.objects {
            match o.kind() {
                "ClusterInstance" => clusters.push(clusters::cluster_instance(o, &src.configmaps)),
                "SiteConfig" => clusters.extend(clusters::site_config(o, &root, &mut src.texts)?),
                "PolicyGenerator" => {
                    if o.path.is_none() {
                        findings.push(Finding::new(
                            Code::PolicySourceUnseen,
                            format!("{}: PolicyGenerator {}: a generator in a stream; its manifests are relative to its file: name the repository folder", o.file, o.value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?")),
                        ));
                        continue;
                    }
                    policies.extend(policies::from_generator(o, &root, &placements)?)
                }
                "PolicyGenTemplate" => {
                    if o.path.is_none() {
                        continue;
                    }
                    policies.extend(policies::from_pgt(o, &root)?)
                }
                "Policy" => policies.push(policies::from_acm(o, &placements)?),
                _ => {}
            }
        }
        for p in &mut policies {
            let id = p.id.clone();
            for o in &mut p.objects {
                let f = policies::hub_templates(&id, &mut o.value);
                p.findings.extend(f);
            }
        }
        Ok(Hub {
            clusters,
            policies,
            findings,
        })
    }
}

/// Whether a folder is a hub repository: it holds a ClusterInstance or SiteConfig (any depth)
/// and, for ClusterInstances, something a hub has beside them (a configMapGenerator, a
/// ConfigMap, a policy generator or Policy); a folder of one cluster's manifests with a
/// ClusterInstance kept for its topology stays a folder of manifests.
pub fn is_hub_dir(dir: &Path) -> bool {
    let mut seen = Seen::default();
    scan(dir, 0, &mut seen);
    seen.site_config || (seen.cluster_instance && seen.companion)
}

/// Whether bytes are a hub stream (by the same rule as [`is_hub_dir`]).
pub fn is_hub_stream(bytes: &[u8]) -> bool {
    let mut seen = Seen::default();
    seen.look(bytes);
    seen.site_config || (seen.cluster_instance && seen.companion)
}

#[derive(Default)]
struct Seen {
    cluster_instance: bool,
    site_config: bool,
    companion: bool,
    files: usize,
}

impl Seen {
    fn look(&mut self, b: &[u8]) {
        let has = |s: &str| memchr::memmem::find(b, s.as_bytes()).is_some();
        self.cluster_instance |=
            has("kind: ClusterInstance") || has("\"kind\":\"ClusterInstance\"");
        self.site_config |= has("kind: SiteConfig");
        self.companion |= has("configMapGenerator")
            || has("kind: ConfigMap")
            || has("kind: PolicyGenerator")
            || has("kind: PolicyGenTemplate")
            || has("kind: Policy\n")
            || has("kind: Policy\r");
    }
}

fn scan(dir: &Path, depth: usize, seen: &mut Seen) {
    if depth > 16
        || seen.files > 20_000
        || seen.site_config
        || (seen.cluster_instance && seen.companion)
    {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() && !name.starts_with('.') {
            scan(&e.path(), depth + 1, seen);
        } else if t.is_file() && crate::targets::manifests::is_manifest_name(&name) {
            seen.files += 1;
            if let Ok(b) = std::fs::read(e.path()) {
                seen.look(&b);
            }
        }
    }
}

/// A folder's entries in name order (unreadable entries skipped), for walks that must give the
/// same result on every run.
pub(crate) fn sorted_entries(dir: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_markers_only() {
        let s = "a: 1\n---\nb: |\n  ---x\n  c\n--- \nd: 2\n";
        let d = split_documents(s);
        assert_eq!(
            d,
            vec!["a: 1\n", "---\nb: |\n  ---x\n  c\n", "--- \nd: 2\n"]
        );
    }
}
