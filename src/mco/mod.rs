//! MachineConfigs: read as `oc` reads them (YAML 1.1 plain scalars), patched document by document,
//! rendered per pool the way the Machine Config Operator does (sorted by name, later wins field by
//! field, kernel arguments concatenated) and written for `render machineconfig`.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::findings::{Code, Finding};
use crate::formats::json::{parse_named, pointer_to_path, Layout};
use crate::formats::yaml;
use crate::ignition::{self, Plan, Problem, Spec};
use crate::layer::Layer;
use crate::node::{split_kernel_args, NodeView};
use crate::report::{assess, TargetReport};

/// `apiVersion` of MachineConfig objects.
pub const API_VERSION: &str = "machineconfiguration.openshift.io/v1";
/// The label naming a MachineConfig's pool.
pub const ROLE_LABEL: &str = "machineconfiguration.openshift.io/role";

/// The Ignition spec an OpenShift release's MCO reads newest, and whether it reads a given spec.
pub mod openshift {
    use super::Spec;
    use anyhow::{bail, Result};

    /// Parse `X.Y` (a trailing `.Z` is allowed and ignored).
    pub fn parse(text: &str) -> Result<(u32, u32)> {
        let mut it = text.split('.');
        let major = it.next().and_then(|p| p.parse().ok());
        let minor = it.next().and_then(|p| p.parse().ok());
        match (major, minor) {
            (Some(4), Some(minor)) => Ok((4, minor)),
            _ => bail!("OpenShift version {text:?} is not of the form 4.Y"),
        }
    }

    /// The newest Ignition spec the release's MCO reads (what `render` writes for it).
    pub fn newest_spec(release: (u32, u32)) -> Spec {
        let minor = match release.1 {
            0..=5 => return Spec { major: 2, minor: 2 },
            6 => 1,
            7..=13 => 2,
            14..=18 => 4,
            _ => 5,
        };
        Spec { major: 3, minor }
    }

    /// Whether the release's MCO reads a spec (2.2 is always converted; 4.13 reads up to 3.4).
    pub fn reads(release: (u32, u32), spec: Spec) -> bool {
        if spec == (Spec { major: 2, minor: 2 }) {
            return true;
        }
        let newest = match release.1 {
            13 => Spec { major: 3, minor: 4 },
            _ => newest_spec(release),
        };
        spec.major == 3 && spec <= newest
    }
}

/// The result of applying a layer to a MachineConfig file.
pub struct Patched {
    /// The new text, `None` when nothing changes.
    pub bytes: Option<Vec<u8>>,
    /// What changed, for people.
    pub changes: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// One MachineConfig object of a file.
#[derive(Clone, Debug)]
pub struct MachineConfig {
    /// Index of its document in the file.
    pub doc: usize,
    /// `metadata.name`.
    pub name: String,
    /// The pool label, if any.
    pub role: Option<String>,
    /// `spec.config`, if any, and its spec.
    pub config: Option<(Value, Spec)>,
    /// `spec.kernelArguments`.
    pub kernel_args: Vec<String>,
}

enum Format {
    Json,
    Yaml(Vec<yaml::Document>),
}

/// A file of one or more documents holding MachineConfigs.
pub struct McFile {
    name: String,
    text: String,
    format: Format,
    values: Vec<Value>,
    /// The MachineConfig objects, in file order.
    pub configs: Vec<MachineConfig>,
}

/// Convert a byte offset to a 1-based line and column.
pub fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

/// Read a file of Kubernetes documents: one JSON object, or a YAML stream read as `oc` reads it.
/// Errors say `file:line:col`.
fn read_documents(name: &str, bytes: &[u8]) -> Result<(String, Format, Vec<Value>)> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(e) => {
            let (l, c) = line_col(bytes, e.valid_up_to());
            bail!("{name}:{l}:{c}: invalid UTF-8");
        }
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        let v = parse_named(name, bytes)?;
        return Ok((text, Format::Json, vec![v]));
    }
    let docs = yaml::parse_documents(&text)
        .map_err(|e| anyhow::anyhow!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
    let values = docs.iter().map(|d| d.value.clone()).collect();
    Ok((text, Format::Yaml(docs), values))
}

/// The documents of a manifest file as JSON values (JSON, or YAML as `oc` reads it).
pub fn documents(name: &str, bytes: &[u8]) -> Result<Vec<Value>> {
    read_documents(name, bytes).map(|(_, _, values)| values)
}

impl McFile {
    /// Read a MachineConfig file (YAML as `oc` reads it, or JSON).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<McFile> {
        let (text, format, values) = read_documents(name, bytes)?;
        let mut file = McFile {
            name: name.to_string(),
            text,
            format,
            values,
            configs: Vec::new(),
        };
        for (i, v) in file.values.iter().enumerate() {
            if v.get("kind").and_then(Value::as_str) == Some("MachineConfig") {
                let mc = file.read_mc(i, v)?;
                file.configs.push(mc);
            }
        }
        if file.configs.is_empty() {
            bail!("{name}: no document has kind: MachineConfig");
        }
        Ok(file)
    }

    /// Every document of the file as JSON (MachineConfigs and the others), in file order.
    pub fn documents(&self) -> &[Value] {
        &self.values
    }

    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where a JSON pointer of document `doc` is, for messages: `file:line:col` or `file $.path`.
    pub fn locate(&self, doc: usize, pointer: &str) -> String {
        if let Format::Yaml(docs) = &self.format {
            let mut p = pointer.to_string();
            loop {
                if let Some(pos) = docs.get(doc).and_then(|d| d.pos(&p)) {
                    return format!(
                        "{}:{}:{} ({})",
                        self.name,
                        pos.line,
                        pos.col,
                        dotted(pointer)
                    );
                }
                match p.rfind('/') {
                    Some(i) => p.truncate(i),
                    None => break,
                }
            }
        }
        if self.values.len() > 1 {
            format!(
                "{} document {} {}",
                self.name,
                doc + 1,
                pointer_to_path(pointer)
            )
        } else {
            format!("{} {}", self.name, pointer_to_path(pointer))
        }
    }

    /// Explain a problem in a MachineConfig's config, with where it is and, for YAML, how it was read.
    fn explain(&self, doc: usize, p: &Problem) -> String {
        let pointer = format!("/spec/config{}", p.pointer);
        let mut msg = format!("{}: {}", self.locate(doc, &pointer), p.message);
        if let Format::Yaml(docs) = &self.format {
            let style = docs.get(doc).and_then(|d| d.style(&pointer));
            if matches!(
                style,
                Some(yaml::Style::SingleQuoted | yaml::Style::DoubleQuoted)
            ) && pointer.ends_with("/mode")
            {
                msg.push_str("; it is quoted, so oc and kubectl read a string: write mode: 0644 without quotes (YAML 1.1 octal) or 420");
            }
        }
        msg
    }

    fn read_mc(&self, doc: usize, v: &Value) -> Result<MachineConfig> {
        let at = |ptr: &str| self.locate(doc, ptr);
        if v.get("apiVersion").and_then(Value::as_str) != Some(API_VERSION) {
            bail!(
                "{}: a MachineConfig needs apiVersion: {API_VERSION}",
                at("/apiVersion")
            );
        }
        let name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .with_context(|| format!("{}: a MachineConfig needs metadata.name", at("/metadata")))?
            .to_string();
        let role = v
            .pointer("/metadata/labels")
            .and_then(|l| l.get(ROLE_LABEL))
            .and_then(Value::as_str)
            .map(str::to_string);
        let config = match v.pointer("/spec/config").filter(|c| !c.is_null()) {
            None => None,
            Some(c) => {
                let spec =
                    ignition::spec_of(c).map_err(|p| anyhow::anyhow!(self.explain(doc, &p)))?;
                Some((c.clone(), spec))
            }
        };
        let mut kernel_args = Vec::new();
        if let Some(ka) = v.pointer("/spec/kernelArguments").filter(|k| !k.is_null()) {
            let Some(items) = ka.as_array() else {
                bail!(
                    "{}: spec.kernelArguments must be a list of strings",
                    at("/spec/kernelArguments")
                );
            };
            for (i, a) in items.iter().enumerate() {
                let Some(a) = a.as_str() else {
                    bail!(
                        "{}: kernel arguments must be strings",
                        at(&format!("/spec/kernelArguments/{i}"))
                    );
                };
                kernel_args.push(a.to_string());
            }
        }
        Ok(MachineConfig {
            doc,
            name,
            role,
            config,
            kernel_args,
        })
    }

    /// Problems in every MachineConfig's config, explained with their places.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for mc in &self.configs {
            if let Some((c, spec)) = &mc.config {
                out.extend(
                    ignition::check(c, *spec)
                        .iter()
                        .map(|p| self.explain(mc.doc, p)),
                );
            }
        }
        out
    }

    /// Apply a layer to every MachineConfig (of the given roles, if any).
    pub fn apply(&self, layer: &Layer, roles: &[String]) -> Result<Patched> {
        if let Some(p) = self.problems().into_iter().next() {
            bail!("{p}");
        }
        let mut changes = Vec::new();
        let mut warnings = Vec::new();
        let mut new_docs: BTreeMap<usize, Value> = BTreeMap::new();
        let mut plans: BTreeMap<usize, Plan> = BTreeMap::new();
        let selected: Vec<&MachineConfig> = self
            .configs
            .iter()
            .filter(|mc| roles.is_empty() || mc.role.as_ref().is_some_and(|r| roles.contains(r)))
            .collect();
        if selected.is_empty() {
            bail!(
                "{}: no MachineConfig for role {}",
                self.name,
                roles.join(", ")
            );
        }
        for mc in selected {
            let (config, spec) = mc.config.clone().unwrap_or_else(|| {
                (
                    json!({"ignition": {"version": "3.2.0"}}),
                    Spec { major: 3, minor: 2 },
                )
            });
            let plan = ignition::plan(&config, spec, layer)
                .map_err(|p| anyhow::anyhow!(self.explain(mc.doc, &p)))?;
            for a in &mc.kernel_args {
                if split_kernel_args(a).iter().any(|k| {
                    !crate::node::evaluate(&kernel_only(k), &layer.module)
                        .blocks
                        .is_empty()
                }) {
                    warnings.push(format!(
                        "{}: MachineConfig {} has kernel argument `{a}`, which still keeps {} off",
                        self.name, mc.name, layer.module
                    ));
                }
            }
            warnings.extend(
                plan.warnings
                    .iter()
                    .map(|w| format!("{}: MachineConfig {}: {w}", self.name, mc.name)),
            );
            if plan.edits.is_empty() {
                continue;
            }
            changes.extend(
                plan.changes
                    .iter()
                    .map(|c| format!("MachineConfig {}: {c}", mc.name)),
            );
            let mut doc = self.values[mc.doc].clone();
            let mut config = config;
            ignition::apply_value(&mut config, &plan);
            if let Some(spec_obj) = doc
                .as_object_mut()
                .map(|o| o.entry("spec").or_insert_with(|| json!({})))
            {
                if let Some(s) = spec_obj.as_object_mut() {
                    s.insert("config".into(), config);
                }
            }
            new_docs.insert(mc.doc, doc);
            plans.insert(mc.doc, plan);
        }
        if new_docs.is_empty() {
            return Ok(Patched {
                bytes: None,
                changes,
                warnings,
            });
        }
        let out = match &self.format {
            Format::Json => {
                let (doc, plan) = (0, plans.get(&0));
                let has_config = self.values[doc]
                    .pointer("/spec/config")
                    .is_some_and(Value::is_object);
                match plan {
                    Some(plan) if has_config => {
                        ignition::apply_text(self.text.as_bytes(), &["spec", "config"], plan)
                    }
                    _ => {
                        let layout = Layout::detect(self.text.as_bytes());
                        let mut s = layout.render(&new_docs[&0], "");
                        if self.text.ends_with('\n') {
                            s.push('\n');
                        }
                        s.into_bytes()
                    }
                }
            }
            Format::Yaml(docs) => {
                let mut out = String::with_capacity(self.text.len() + 512);
                for (i, d) in docs.iter().enumerate() {
                    let original = &self.text[d.span.clone()];
                    match new_docs.get(&i) {
                        None => out.push_str(original),
                        Some(v) => {
                            out.push_str(leading_lines(original));
                            out.push_str(&yaml::to_yaml(v));
                            out.push_str(trailing_lines(original));
                        }
                    }
                }
                out.into_bytes()
            }
        };
        Ok(Patched {
            bytes: Some(out),
            changes,
            warnings,
        })
    }

    /// Verify: render each pool in the file as the MCO does and evaluate it.
    pub fn verify(&self, target: &str, layer: &Layer, roles: &[String]) -> Vec<TargetReport> {
        let mut pools: Vec<String> = self
            .configs
            .iter()
            .filter_map(|mc| mc.role.clone())
            .collect();
        pools.sort();
        pools.dedup();
        let unlabelled: Vec<&MachineConfig> =
            self.configs.iter().filter(|mc| mc.role.is_none()).collect();
        let wanted: Vec<String> = if roles.is_empty() {
            if pools.is_empty() {
                vec![String::new()]
            } else {
                pools
            }
        } else {
            roles.to_vec()
        };
        let problems = self.problems();
        let mut reports = Vec::new();
        for role in wanted {
            let mut findings: Vec<Finding> = problems
                .iter()
                .map(|p| Finding::new(Code::MachineconfigInvalid, p.clone()))
                .collect();
            for mc in &unlabelled {
                findings.push(Finding::new(
                    Code::MachineconfigNoRole,
                    format!(
                        "MachineConfig {} has no {ROLE_LABEL} label: no pool renders it",
                        mc.name
                    ),
                ));
            }
            let mut members: Vec<&MachineConfig> = self
                .configs
                .iter()
                .filter(|mc| {
                    mc.role.as_deref() == Some(role.as_str())
                        || (role.is_empty() && mc.role.is_none())
                })
                .collect();
            if members.is_empty() {
                findings.push(Finding::new(
                    Code::NoMachineconfigForRole,
                    format!("{}: no MachineConfig for role {role}", self.name),
                ));
            }
            members.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
            let view = self.render_pool(&members, layer, &mut findings);
            let role = (!role.is_empty()).then_some(role);
            reports.push(assess(
                target,
                "machineconfig",
                role,
                &view,
                layer,
                findings,
            ));
        }
        reports
    }

    fn render_pool(
        &self,
        members: &[&MachineConfig],
        layer: &Layer,
        findings: &mut Vec<Finding>,
    ) -> NodeView {
        let origins: Vec<String> = members
            .iter()
            .map(|mc| format!("MachineConfig {} ({})", mc.name, self.name))
            .collect();
        let pairs: Vec<(&MachineConfig, &str)> = members
            .iter()
            .copied()
            .zip(origins.iter().map(String::as_str))
            .collect();
        render_pool(&pairs, layer, findings)
    }
}

/// Render a pool as the MCO does — `members` already in render order, each with its origin
/// (`MachineConfig NAME (FILE)`) — over RHEL CoreOS's base state: configs merged in order (later
/// wins, field by field), kernel arguments concatenated; what the MCO refuses becomes an error.
pub fn render_pool(
    members: &[(&MachineConfig, &str)],
    layer: &Layer,
    findings: &mut Vec<Finding>,
) -> NodeView {
    let mut view = NodeView::rhcos(layer);
    let mut configs = Vec::new();
    for (mc, origin) in members {
        if let Some((c, spec)) = &mc.config {
            mco_refusals(c, origin, findings);
            configs.push((c, *spec, *origin));
        }
        for a in &mc.kernel_args {
            for k in split_kernel_args(a) {
                view.kernel_args.push((k, origin.to_string()));
            }
        }
    }
    ignition::overlay_merged(&configs, &mut view, findings);
    view
}

/// A view holding only one kernel argument (to ask the shared evaluation whether it blocks).
fn kernel_only(arg: &str) -> NodeView {
    NodeView {
        kernel_args: vec![(arg.to_string(), String::new())],
        ..NodeView::default()
    }
}

/// What the MCO refuses in a MachineConfig's config (it degrades the pool instead of applying it):
/// non-data sources, append, modes above 0777, directories, links, disks, filesystems, RAID, LUKS,
/// users other than core.
fn mco_refusals(config: &Value, origin: &str, findings: &mut Vec<Finding>) {
    let files = config.pointer("/storage/files").and_then(Value::as_array);
    for (i, f) in files.into_iter().flatten().enumerate() {
        let path = f.get("path").and_then(Value::as_str).unwrap_or("?");
        let at = format!("spec.config.storage.files[{i}] ({path})");
        if let Some(src) = f.pointer("/contents/source").and_then(Value::as_str) {
            if !crate::formats::encoding::is_data_url(src) {
                findings.push(
                    Finding::new(
                        Code::McoRemoteSource,
                        format!("{at}: the MCO only accepts data: sources, not {src}"),
                    )
                    .with_origin(origin),
                );
            }
        }
        if f.get("append")
            .is_some_and(|a| a.as_array().is_some_and(|a| !a.is_empty()) || a == &Value::Bool(true))
        {
            findings.push(
                Finding::new(Code::McoAppend, format!("{at}: the MCO refuses append"))
                    .with_origin(origin),
            );
        }
        if f.get("mode")
            .and_then(Value::as_u64)
            .is_some_and(|m| m > 0o777)
        {
            findings.push(
                Finding::new(
                    Code::McoMode,
                    format!("{at}: the MCO refuses modes above 0777"),
                )
                .with_origin(origin),
            );
        }
    }
    for list in [
        "directories",
        "links",
        "disks",
        "filesystems",
        "raid",
        "luks",
    ] {
        let refused = config
            .pointer(&format!("/storage/{list}"))
            .and_then(Value::as_array);
        if refused.is_some_and(|a| !a.is_empty()) {
            findings.push(
                Finding::new(
                    Code::McoUnsupported,
                    format!("spec.config.storage.{list}: the MCO refuses {list}"),
                )
                .with_origin(origin),
            );
        }
    }
    let users = config.pointer("/passwd/users").and_then(Value::as_array);
    for (i, u) in users.into_iter().flatten().enumerate() {
        let name = u.get("name").and_then(Value::as_str).unwrap_or("");
        if name != "core" {
            findings.push(
                Finding::new(Code::McoUnsupported,
                    format!("spec.config.passwd.users[{i}] ({name}): the MCO only manages the user core"),
                )
                .with_origin(origin),
            );
        }
    }
}

/// Whether a line is kept around a re-written document: blank, comment, directive or marker.
fn is_frame_line(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t == "---" || t == "..." || t.starts_with('%')
}

/// The byte order mark, `---`, comment and blank lines a document starts with (kept when it is
/// re-written).
fn leading_lines(doc: &str) -> &str {
    let bom = if doc.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut end = bom;
    for line in doc[bom..].split_inclusive('\n') {
        if !is_frame_line(line) {
            break;
        }
        end += line.len();
    }
    &doc[..end]
}

/// The comment, blank and `...` lines a document ends with (kept when it is re-written: a `...`
/// may be all that separates it from the next document).
fn trailing_lines(doc: &str) -> &str {
    let mut start = doc.len();
    for line in doc
        .split_inclusive('\n')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        if !is_frame_line(line) || start == leading_lines(doc).len() {
            break;
        }
        start -= line.len();
    }
    &doc[start.max(leading_lines(doc).len())..]
}

fn dotted(pointer: &str) -> String {
    pointer_to_path(pointer)
        .trim_start_matches("$.")
        .to_string()
}

/// A MachineConfig object holding a layer.
pub fn layer_machineconfig(layer: &Layer, role: &str, name: &str, spec: Spec) -> Value {
    let mut labels = Map::new();
    labels.insert(ROLE_LABEL.into(), json!(role));
    json!({
        "apiVersion": API_VERSION,
        "kind": "MachineConfig",
        "metadata": { "labels": labels, "name": name },
        "spec": { "config": ignition::layer_config(layer, spec) },
    })
}

/// `render machineconfig`: one YAML document per role, `---` between.
pub fn render(layer: &Layer, roles: &[String], name: Option<&str>, spec: Spec) -> String {
    let mut out = String::new();
    for (i, role) in roles.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let name = match name {
            Some(n) if roles.len() == 1 => n.to_string(),
            Some(n) => format!("{n}-{role}"),
            None => format!("load-{}-module-{role}", layer.module.replace('_', "-")),
        };
        out.push_str(&yaml::to_yaml(&layer_machineconfig(
            layer, role, &name, spec,
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: load-sctp-module
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
        - path: /etc/modprobe.d/sctp-blacklist.conf
          mode: 0644
          overwrite: true
          contents:
            source: data:,
        - path: /etc/modules-load.d/sctp-load.conf
          mode: 0644
          overwrite: true
          contents:
            source: data:,sctp
";

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    #[test]
    fn documentation_machineconfig_verifies() {
        let f = McFile::parse("doc.yaml", DOC.as_bytes()).unwrap();
        let r = f.verify("doc.yaml", &sctp(), &[]);
        assert_eq!(r.len(), 1);
        assert!(r[0].enabled, "{:?}", r[0].findings);
        assert!(r[0].identical);
        assert_eq!(f.apply(&sctp(), &[]).unwrap().bytes, None);
    }

    #[test]
    fn quoted_mode_is_named() {
        let text = DOC.replacen("mode: 0644", "mode: '0644'", 1);
        let f = McFile::parse("q.yaml", text.as_bytes()).unwrap();
        let p = f.problems();
        assert!(
            p[0].starts_with("q.yaml:14:17 (spec.config.storage.files.0.mode)")
                || p[0].contains("q.yaml:14:"),
            "{p:?}"
        );
        assert!(p[0].contains("quoted"), "{p:?}");
        assert!(!f.verify("q.yaml", &sctp(), &[])[0].enabled);
    }

    #[test]
    fn rewritten_documents_keep_their_frame() {
        let text = format!("\u{feff}# mine\n{DOC}...\nkind: Other\n");
        let text = text.replacen("mode: 0644", "mode: 0600", 1);
        let f = McFile::parse("f.yaml", text.as_bytes()).unwrap();
        let out = String::from_utf8(f.apply(&sctp(), &[]).unwrap().bytes.unwrap()).unwrap();
        assert!(out.starts_with("\u{feff}# mine\napiVersion:"), "{out}");
        assert!(out.ends_with("...\nkind: Other\n"), "{out}");
        let again = McFile::parse("f.yaml", out.as_bytes()).unwrap();
        assert_eq!(again.values.len(), 2);
        assert_eq!(again.apply(&sctp(), &[]).unwrap().bytes, None);
    }

    #[test]
    fn openshift_specs() {
        let s = |t| openshift::newest_spec(openshift::parse(t).unwrap()).to_string();
        assert_eq!(s("4.6"), "3.1.0");
        assert_eq!(s("4.7"), "3.2.0");
        assert_eq!(s("4.13"), "3.2.0");
        assert_eq!(s("4.14"), "3.4.0");
        assert_eq!(s("4.18"), "3.4.0");
        assert_eq!(s("4.19"), "3.5.0");
        assert_eq!(s("4.21"), "3.5.0");
        let r = |t, v| openshift::reads(openshift::parse(t).unwrap(), Spec::parse(v).unwrap());
        assert!(r("4.13", "3.4.0"));
        assert!(!r("4.12", "3.3.0"));
        assert!(r("4.6", "2.2.0"));
        assert!(!r("4.19", "3.6.0"));
    }
}
