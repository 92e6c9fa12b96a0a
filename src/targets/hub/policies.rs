//! Day-N objects: what each PolicyGenerator, PolicyGenTemplate and ACM Policy delivers, and to
//! which clusters.
//!
//! - PolicyGenerator (policy.open-cluster-management.io/v1, policy-generator-plugin): per
//!   policy, `manifests[].path` (a file, or a folder's `*.yaml`/`*.yml` files, not its
//!   subfolders) relative to the generator file; `patches` merged over the source CR as kustomize
//!   merges them ([`super::merge::strategic`]); a single-document file with a single patch takes
//!   the patch's `metadata.name`/`namespace` first; `complianceType` of the manifest, else the
//!   policy, else `policyDefaults`, else `musthave`. Placement: the policy's `placement`, else
//!   `policyDefaults.placement` (placementPath first, then placementName, then labelSelector).
//! - PolicyGenTemplate (ran.openshift.io/v1, ztp): `sourceFiles[].fileName` from `source-crs/`
//!   beside it, `$mcp` replaced by `spec.mcp`, `metadata` name/namespace/labels/annotations and
//!   `spec`/`data` overlays ([`super::merge::set_values`]); bound by `bindingRules`
//!   (`In`) and `bindingExcludedRules` (`NotIn`); policies named `<pgt>-<policyName>`.
//! - ACM Policy: `spec.policy-templates[].objectDefinition` ConfigurationPolicies'
//!   `object-templates[]`, bound by PlacementBindings to Placements or PlacementRules of its
//!   namespace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::merge;
use super::placement::{self, Reach, Selector};
use super::{display, read_docs, Obj};
use crate::findings::{Code, Finding};
use crate::origin::Origin;

/// One object a policy delivers.
#[derive(Clone, Debug)]
pub struct PolicyObject {
    /// The object, overlays merged.
    pub value: Value,
    /// `complianceType: mustnothave`: the policy removes it.
    pub remove: bool,
}

/// A policy and the clusters it reaches.
#[derive(Clone, Debug)]
pub struct Policy {
    /// `NAMESPACE/NAME` of the Policy on the hub.
    pub id: String,
    /// Where it is written (the generator or Policy file).
    pub file: String,
    /// The clusters it reaches; `None`: no binding places it anywhere.
    pub reach: Option<Reach>,
    /// What it delivers, in order.
    pub objects: Vec<PolicyObject>,
    /// What reading it found (templates in deciding fields, sources not seen).
    pub findings: Vec<Finding>,
    /// Whether a PolicyGenerator file makes it (apply --day-n adds to those).
    pub generator: bool,
}

impl Policy {
    /// Where objects of this policy come from: `FILE > Policy NS/NAME`.
    pub fn origin(&self) -> Origin {
        Origin::file(self.file.as_str()).object("Policy", self.id.as_str())
    }
}

/// Kinds that say how the hub places policies, by namespace and name.
#[derive(Default)]
pub struct Placements<'a> {
    /// Placement and PlacementRule objects by (namespace, name).
    pub by_name: BTreeMap<(String, String), (&'a str, &'a Obj)>,
    /// PlacementBinding objects.
    pub bindings: Vec<&'a Obj>,
}

impl<'a> Placements<'a> {
    /// Take a Placement, PlacementRule or PlacementBinding.
    pub fn add(&mut self, kind: &'a str, obj: &'a Obj) {
        if kind == "PlacementBinding" {
            self.bindings.push(obj);
        } else {
            self.by_name
                .insert((namespace(&obj.value), name(&obj.value)), (kind, obj));
        }
    }

    fn reach_of(&self, kind: &str, obj: &Obj) -> Result<Reach> {
        let any = if kind == "Placement" {
            placement::placement(&obj.value)
        } else {
            placement::placement_rule(&obj.value)
        }
        .with_context(|| format!("{}: {kind} {}", obj.file, name(&obj.value)))?;
        Ok(Reach {
            any,
            why: format!("{kind} {} ({})", name(&obj.value), obj.file),
        })
    }

    /// What the PlacementBindings of a namespace bind a Policy named `policy` to (several
    /// bindings: any of them).
    fn bound(&self, ns: &str, policy: &str) -> Result<Option<Reach>> {
        let mut out: Option<Reach> = None;
        for b in &self.bindings {
            if namespace(&b.value) != ns {
                continue;
            }
            let names_it = b
                .value
                .get("subjects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| {
                    s.get("kind").and_then(Value::as_str) == Some("Policy")
                        && s.get("name").and_then(Value::as_str) == Some(policy)
                });
            if !names_it {
                continue;
            }
            let r = b.value.get("placementRef");
            let kind = r
                .and_then(|r| r.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("PlacementRule");
            let pname = r
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let Some((k, p)) = self.by_name.get(&(ns.to_string(), pname.to_string())) else {
                continue;
            };
            if *k != kind {
                continue;
            }
            let reach = self.reach_of(k, p)?;
            match &mut out {
                Some(o) => {
                    o.any.extend(reach.any);
                    o.why.push_str(&format!(", {}", reach.why));
                }
                None => out = Some(reach),
            }
        }
        Ok(out)
    }
}

fn name(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn namespace(v: &Value) -> String {
    v.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The policies of a PolicyGenerator file's object.
pub fn from_generator(obj: &Obj, root: &Path, placements: &Placements) -> Result<Vec<Policy>> {
    let g = &obj.value;
    let here = obj.dir()?;
    let defaults = g.get("policyDefaults").cloned().unwrap_or(Value::Null);
    let ns = str_at(&defaults, "namespace")
        .with_context(|| {
            format!(
                "{}: policyDefaults.namespace is empty but it must be set",
                obj.file
            )
        })?
        .to_string();
    let default_ct = str_at(&defaults, "complianceType").unwrap_or("musthave");
    let mut out = Vec::new();
    for (i, p) in g
        .get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("{}: policies[{i}]", obj.file);
        let pname = str_at(p, "name").with_context(|| format!("{at}: no name"))?;
        let policy_ct = str_at(p, "complianceType").unwrap_or(default_ct);
        let placement = effective_placement(p.get("placement"), defaults.get("placement"));
        let reach = generator_reach(&placement, &here, root, &ns, placements)
            .with_context(|| format!("{at} ({pname}): placement"))?;
        let mut objects = Vec::new();
        for (j, m) in p
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let mat = format!("{at}.manifests[{j}]");
            let rel = str_at(m, "path").with_context(|| format!("{mat}: no path"))?;
            let path = here.join(rel);
            let patches: Vec<Value> = m
                .get("patches")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut docs = read_manifest_path(&path, root)
                .with_context(|| format!("{mat}: failed to read the manifest path {rel}"))?;
            if docs.len() == 1 && patches.len() == 1 {
                rename_from_patch(&mut docs[0], &patches[0]);
            }
            let openapi = m.pointer("/openapi/path").is_some();
            patch_all(&mut docs, &patches, openapi).with_context(|| format!("{mat}: patches"))?;
            let remove = str_at(m, "complianceType").unwrap_or(policy_ct) == "mustnothave";
            objects.extend(docs.into_iter().map(|value| PolicyObject { value, remove }));
        }
        out.push(Policy {
            id: format!("{ns}/{pname}"),
            file: obj.file.clone(),
            reach: Some(reach),
            objects,
            findings: Vec::new(),
            generator: true,
        });
    }
    Ok(out)
}

/// The policy's placement, else the defaults' (placementPath, then placementName, then
/// labelSelector), as the plugin's `applyDefaultPlacementFields` picks.
fn effective_placement(own: Option<&Value>, default: Option<&Value>) -> Value {
    let set = |v: Option<&Value>| {
        v.is_some_and(|p| {
            [
                "labelSelector",
                "clusterSelectors",
                "placementPath",
                "placementName",
            ]
            .iter()
            .any(|k| p.get(*k).is_some_and(|x| !x.is_null()))
        })
    };
    if set(own) {
        return own.cloned().unwrap_or(Value::Null);
    }
    let Some(d) = default.filter(|_| set(default)) else {
        return Value::Null;
    };
    for k in [
        "placementPath",
        "placementName",
        "labelSelector",
        "clusterSelectors",
    ] {
        if let Some(v) = d.get(k).filter(|v| !v.is_null()) {
            return serde_json::json!({ k: v });
        }
    }
    Value::Null
}

fn generator_reach(
    p: &Value,
    here: &Path,
    root: &Path,
    ns: &str,
    placements: &Placements,
) -> Result<Reach> {
    if let Some(path) = str_at(p, "placementPath") {
        let docs = read_manifest_path(&here.join(path), root)?;
        let mut any = Vec::new();
        for d in &docs {
            match d.get("kind").and_then(Value::as_str) {
                Some("Placement") => any.extend(placement::placement(d)?),
                Some("PlacementRule") => any.extend(placement::placement_rule(d)?),
                _ => {}
            }
        }
        if any.is_empty() {
            bail!("{path}: no Placement or PlacementRule in it");
        }
        return Ok(Reach {
            any,
            why: format!("placementPath {path}"),
        });
    }
    if let Some(pn) = str_at(p, "placementName").or_else(|| str_at(p, "placementRuleName")) {
        let Some((k, o)) = placements.by_name.get(&(ns.to_string(), pn.to_string())) else {
            return Ok(Reach {
                any: Vec::new(),
                why: format!("placementName {pn}, which the repository does not hold"),
            });
        };
        return placements.reach_of(k, o);
    }
    for k in ["labelSelector", "clusterSelectors"] {
        if let Some(ls) = p.get(k).filter(|v| !v.is_null()) {
            return Ok(Reach {
                any: vec![Selector::from_generator(ls)?],
                why: format!("placement.{k}"),
            });
        }
    }
    // No placement at all: the plugin generates one with an empty selector (every cluster).
    Ok(Reach {
        any: vec![Selector::default()],
        why: "no placement (every cluster)".into(),
    })
}

/// A single-document manifest with a single patch takes the patch's metadata name and
/// namespace first (policy-generator-plugin `getManifests`).
fn rename_from_patch(doc: &mut Value, patch: &Value) {
    for k in ["name", "namespace"] {
        if let Some(v) = patch
            .pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            if let Some(m) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
}

/// Apply patches: with one manifest every patch is its own; with several a patch names its
/// target by apiVersion, kind and metadata.name (and namespace).
fn patch_all(docs: &mut [Value], patches: &[Value], openapi: bool) -> Result<()> {
    if patches.is_empty() {
        return Ok(());
    }
    // Lists merge by name where a schema says so: a built-in kind's (a group without a dot),
    // or any kind's with an `openapi` schema named.
    let keyed = |d: &Value| {
        openapi
            || d.get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|a| !a.split('/').next().unwrap_or("").contains('.'))
    };
    if docs.len() == 1 {
        let k = keyed(&docs[0]);
        for p in patches {
            merge::strategic(&mut docs[0], p, k);
        }
        return Ok(());
    }
    for p in patches {
        let id = |v: &Value| {
            (
                v.get("apiVersion").cloned(),
                v.get("kind").cloned(),
                v.pointer("/metadata/name").cloned(),
            )
        };
        let want = id(p);
        if want.0.is_none() || want.1.is_none() || want.2.is_none() {
            bail!("patches must have the apiVersion, kind and metadata.name fields set when there is more than one manifest it can apply to");
        }
        let Some(d) = docs.iter_mut().find(|d| id(d) == want) else {
            bail!(
                "no manifest matches the patch for {}",
                want.2.unwrap_or(Value::Null)
            );
        };
        let k = keyed(d);
        merge::strategic(d, p, k);
    }
    Ok(())
}

/// A manifest path as the plugin reads it: a file's documents, or a folder's `*.yaml` and
/// `*.yml` files (not subfolders). Paths must stay inside `root` once links are resolved.
pub fn read_manifest_path(path: &Path, root: &Path) -> Result<Vec<Value>> {
    let real = inside(path, root)?;
    if real.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&real)
            .with_context(|| format!("{}: cannot list", display(path, root)))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        files.sort();
        if files.iter().any(|f| {
            f.file_name()
                .is_some_and(|n| n == "kustomization.yaml" || n == "kustomization.yml")
        }) {
            bail!(
                "{}: a kustomization folder as a manifest path: build it (`kubectl kustomize`) and name the output",
                display(path, root)
            );
        }
        let mut out = Vec::new();
        for f in files {
            out.extend(read_docs(&f, root)?);
        }
        return Ok(out);
    }
    let docs = read_docs(&real, root)?;
    if docs.is_empty() {
        bail!(
            "found empty YAML in the manifest at {}",
            display(path, root)
        );
    }
    Ok(docs)
}

/// A path resolved (links followed) and refused when it leaves `root`.
pub fn inside(path: &Path, root: &Path) -> Result<PathBuf> {
    let real = path
        .canonicalize()
        .with_context(|| format!("{}: not found", display(path, root)))?;
    let top = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if !real.starts_with(&top) {
        bail!(
            "{}: outside the hub repository {} (links and `..` are not followed out of it)",
            display(path, root),
            root.display()
        );
    }
    Ok(real)
}

/// The policies of a PolicyGenTemplate.
pub fn from_pgt(obj: &Obj, root: &Path) -> Result<Vec<Policy>> {
    let g = &obj.value;
    let pgt = name(g);
    let ns = namespace(g);
    if pgt.is_empty() || ns.is_empty() {
        bail!(
            "{}: PolicyGenTemplate Metadata.Name & Metadata.Namespace must be defined",
            obj.file
        );
    }
    let spec = g.get("spec").cloned().unwrap_or(Value::Null);
    let reach = Reach {
        any: vec![placement::binding_rules(&spec)
            .with_context(|| format!("{}: bindingRules", obj.file))?],
        why: format!("bindingRules of PolicyGenTemplate {pgt}"),
    };
    let default_ct = str_at(&spec, "complianceType").unwrap_or("musthave");
    let mcp = str_at(&spec, "mcp");
    let here = obj.dir()?;
    let mut by_policy: Vec<Policy> = Vec::new();
    for (i, sf) in spec
        .get("sourceFiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("{}: sourceFiles[{i}]", obj.file);
        let file = str_at(sf, "fileName").with_context(|| format!("{at}: no fileName"))?;
        let Some(pname) = str_at(sf, "policyName") else {
            continue; // a plain CR, not wrapped in a policy
        };
        let id = format!("{ns}/{pgt}-{pname}");
        let idx = match by_policy.iter().position(|p| p.id == id) {
            Some(i) => i,
            None => {
                by_policy.push(Policy {
                    id: id.clone(),
                    file: obj.file.clone(),
                    reach: Some(reach.clone()),
                    objects: Vec::new(),
                    findings: Vec::new(),
                    generator: false,
                });
                by_policy.len() - 1
            }
        };
        let path = here.join("source-crs").join(file);
        if !path.exists() {
            by_policy[idx].findings.push(Finding::new(
                Code::PolicySourceUnseen,
                format!("{at}: source-crs/{file} is not in the repository: the ztp-site-generate container's built-in copy is used, which cannot be seen offline"),
            ));
            continue;
        }
        let text = std::fs::read_to_string(inside(&path, root)?)
            .with_context(|| format!("{at}: cannot read source-crs/{file}"))?;
        let text = match mcp {
            Some(m) => text.replace("$mcp", m),
            None => text,
        };
        let shown = display(&path, root);
        let docs = crate::mco::file::documents(&shown, text.as_bytes())?;
        let overlays = sf.get("spec").is_some() || sf.get("data").is_some();
        if docs.len() > 1 && overlays {
            bail!("{at}: Updating spec/data/status of multiple yamls structure in same file {file} is not allowed. Instead separate them in multiple files");
        }
        let ct = str_at(sf, "complianceType").unwrap_or(default_ct);
        for mut d in docs {
            pgt_overlay(&mut d, sf);
            by_policy[idx].objects.push(PolicyObject {
                value: d,
                remove: ct == "mustnothave",
            });
        }
    }
    Ok(by_policy)
}

/// ztp's `getCustomResource`: metadata name/namespace replaced, labels and annotations and the
/// `spec`/`data` sections laid over with `setValues`.
fn pgt_overlay(d: &mut Value, sf: &Value) {
    let Some(obj) = d.as_object_mut() else { return };
    if let Some(meta) = sf.get("metadata").and_then(Value::as_object) {
        let m = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(m) = m.as_object_mut() {
            for k in ["name", "namespace"] {
                if let Some(v) = meta
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    m.insert(k.into(), Value::String(v.into()));
                }
            }
            for k in ["labels", "annotations"] {
                if let Some(over) = meta.get(k).and_then(Value::as_object) {
                    let e = m
                        .entry(k)
                        .or_insert_with(|| Value::Object(Default::default()));
                    if let Some(e) = e.as_object_mut() {
                        merge::set_values(e, over);
                    }
                }
            }
        }
    }
    for k in ["spec", "data", "status"] {
        let over = sf.get(k).and_then(Value::as_object);
        if obj.get(k).is_none() && over.is_none() {
            continue;
        }
        let e = obj
            .entry(k)
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(e) = e.as_object_mut() {
            merge::set_values(e, over.unwrap_or(&Default::default()));
        }
    }
}

/// An ACM Policy object written out (with its PlacementBindings in the repository).
pub fn from_acm(obj: &Obj, placements: &Placements) -> Result<Policy> {
    let v = &obj.value;
    let ns = namespace(v);
    let pname = name(v);
    let reach = placements
        .bound(&ns, &pname)
        .with_context(|| format!("{}: Policy {pname}", obj.file))?;
    let mut objects = Vec::new();
    let mut findings = Vec::new();
    for t in v
        .pointer("/spec/policy-templates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(def) = t.get("objectDefinition") else {
            continue;
        };
        if def.get("kind").and_then(Value::as_str) != Some("ConfigurationPolicy") {
            continue;
        }
        if def.pointer("/spec/object-templates-raw").is_some() {
            findings.push(Finding::new(
                Code::PolicySourceUnseen,
                format!("{}: Policy {ns}/{pname}: object-templates-raw is a template resolved on the hub: its objects cannot be seen offline", obj.file),
            ));
        }
        let ct_default = def
            .pointer("/spec/complianceType")
            .and_then(Value::as_str)
            .unwrap_or("musthave");
        for ot in def
            .pointer("/spec/object-templates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(o) = ot.get("objectDefinition") else {
                continue;
            };
            let ct = ot
                .get("complianceType")
                .and_then(Value::as_str)
                .unwrap_or(ct_default);
            objects.push(PolicyObject {
                value: o.clone(),
                remove: ct == "mustnothave",
            });
        }
    }
    Ok(Policy {
        id: format!("{ns}/{pname}"),
        file: obj.file.clone(),
        reach,
        objects,
        findings,
        generator: false,
    })
}

/// Kinds whose fields decide whether the module loads, and where: `(kind, JSON pointer prefixes)`.
const DECIDING: &[(&str, &[&str])] = &[
    (
        "MachineConfig",
        &[
            "/metadata/name",
            "/metadata/labels",
            "/spec/kernelArguments",
            "/spec/config",
        ],
    ),
    (
        "PerformanceProfile",
        &[
            "/metadata/name",
            "/spec/additionalKernelArgs",
            "/spec/machineConfigPoolSelector",
            "/spec/machineConfigLabel",
            "/spec/nodeSelector",
        ],
    ),
    (
        "Tuned",
        &["/metadata/name", "/spec/profile", "/spec/recommend"],
    ),
    ("Module", &["/metadata/name", "/spec"]),
];

/// Templates (`{{hub ... hub}}`, `{{ ... }}`) in the fields of a policy's object that decide the
/// verdict: one finding each. Kernel arguments, names and labels holding one are replaced by
/// inert text (the template cannot be resolved offline; the rest of the object is judged).
pub fn hub_templates(policy: &str, v: &mut Value) -> Vec<Finding> {
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some((_, prefixes)) = DECIDING.iter().find(|(k, _)| *k == kind) else {
        return Vec::new();
    };
    let obj_name = name(v);
    let mut out = Vec::new();
    walk_strings(v, String::new(), &mut |ptr, s| {
        if !s.contains("{{") || !prefixes.iter().any(|p| ptr.starts_with(p)) {
            return;
        }
        out.push(Finding::new(
            Code::HubTemplateUnresolved,
            format!(
                "{policy}: {kind} {obj_name} {}: {:?} is a template ACM resolves only on the hub; judged as written",
                ptr.trim_start_matches('/').replace('/', "."),
                s
            ),
        ).with_origin(format!("policy {policy}")));
        let inert = ptr.starts_with("/metadata")
            || ptr.starts_with("/spec/kernelArguments")
            || ptr.starts_with("/spec/additionalKernelArgs");
        if inert {
            *s = "hub-template-unresolved".into();
        }
    });
    out
}

fn walk_strings(v: &mut Value, at: String, f: &mut dyn FnMut(&str, &mut String)) {
    match v {
        Value::String(s) => f(&at, s),
        Value::Array(a) => {
            for (i, e) in a.iter_mut().enumerate() {
                walk_strings(e, format!("{at}/{i}"), f);
            }
        }
        Value::Object(m) => {
            for (k, e) in m.iter_mut() {
                walk_strings(
                    e,
                    format!("{at}/{}", crate::formats::json::pointer_token(k)),
                    f,
                );
            }
        }
        _ => {}
    }
}
