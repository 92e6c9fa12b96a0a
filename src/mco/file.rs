//! MachineConfig files: one or more Kubernetes documents read as `oc` reads them (YAML 1.1 plain
//! scalars, or JSON), each MachineConfig located for messages and patched document by document.

use crate::origin::{Origin, Placed};
use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::formats::json::{parse_named, pointer_to_path, Layout, Splice};
use crate::formats::yaml_edit::Editor;
use crate::formats::{template, yaml};
use crate::ignition::{self, Plan, Problem, Spec};
use crate::layer::Layer;
use crate::mco::{API_VERSION, ROLE_LABEL};
use crate::node::split_kernel_args;

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
    /// JSON pointer of the object in its document (`""`, or `/items/N` in a List).
    pub at: String,
    /// For a rendered MachineConfig (`rendered-<pool>-<hash>`, owned by a MachineConfigPool): the
    /// pool it was rendered for.
    pub rendered_for: Option<String>,
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
    /// Where it is (its name is this rendered).
    origin: Origin,
    text: String,
    format: Format,
    values: Vec<Value>,
    /// Duplicate keys, read leniently (the last value kept) as kubectl reads them.
    duplicates: Vec<yaml::Duplicate>,
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

/// What reading a file of documents gives: its text, its format, the documents, and the
/// duplicate keys read leniently.
type Read = (String, Format, Vec<Value>, Vec<yaml::Duplicate>);

/// Read a file of Kubernetes documents: one JSON object, or a YAML stream read as `oc` reads it
/// (a duplicate key keeps the last value, returned for a warning). Errors say `file:line:col`; a
/// template left unrendered where the YAML cannot be read is a [`template::Unrendered`] error.
fn read_documents(origin: &Origin, bytes: &[u8], lenient: bool) -> Result<Read> {
    let name = &origin.to_string();
    let at = |l: usize, c: usize, message: &str| -> anyhow::Error {
        let place = origin.clone().at_line(l as u64, Some(c as u64));
        anyhow::Error::new(Placed::new(place, message))
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(e) => {
            let (l, c) = line_col(bytes, e.valid_up_to());
            return Err(at(l, c, "invalid UTF-8"));
        }
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    // JSON, or YAML whose first document is a flow mapping (`{kind: MachineConfig, ...}`).
    let json = trimmed.starts_with('{').then(|| parse_named(name, bytes));
    if let Some(Ok(v)) = json {
        return Ok((text, Format::Json, vec![v], Vec::new()));
    }
    let parsed = if lenient {
        yaml::parse_documents_lenient(&text)
    } else {
        yaml::parse_documents(&text).map(|d| (d, Vec::new()))
    };
    let (docs, dups) = match (parsed, json) {
        (Ok(read), _) => read,
        (Err(e), json) => {
            let body = text.trim_start_matches('\u{feff}');
            if let Some((marker, line, col)) = template::near_line(body, e.pos.line) {
                return Err(anyhow::Error::new(template::Unrendered {
                    place: format!("{name}:{line}:{col}"),
                    marker,
                    reader: format!("{}:{}: {}", e.pos.line, e.pos.col, e.message),
                }));
            }
            if let Some(Err(json_error)) = json {
                return Err(json_error);
            }
            return Err(at(e.pos.line, e.pos.col, &e.message));
        }
    };
    let values = docs.iter().map(|d| d.value.clone()).collect();
    Ok((text, Format::Yaml(docs), values, dups))
}

/// A duplicate key as a warning: both lines and the value kept.
pub fn duplicate_message(name: &str, d: &yaml::Duplicate) -> String {
    let kept = match &d.kept {
        Value::String(s) => format!("{s:?}"),
        other => {
            let s = other.to_string();
            if s.len() > 80 {
                format!("{}...", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    };
    format!(
        "{name}:{}:{}: key {:?} is written twice (lines {} and {}): kubectl and oc keep the last value, {kept} (kustomize and kpt refuse the file)",
        d.again.line, d.again.col, d.key, d.first.line, d.again.line
    )
}

/// The objects of a document: the document itself, or the items of a Kubernetes List (`kind: List`,
/// `v1.List`, `MachineConfigList`…), each with its JSON pointer.
pub fn objects(doc: &Value) -> Vec<(String, &Value)> {
    let is_list = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    match doc.get("items").and_then(Value::as_array) {
        Some(items) if is_list => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("/items/{i}"), v))
            .collect(),
        _ => vec![(String::new(), doc)],
    }
}

/// The pool a rendered MachineConfig was rendered for: an ownerReference to a
/// MachineConfigPool, else a `rendered-<pool>-<hash>` name with the MCO's
/// `generated-by-controller-version` annotation.
fn rendered_for(mc: &Value) -> Option<String> {
    let owners = mc
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array);
    if let Some(pool) = owners.into_iter().flatten().find_map(|o| {
        (o.get("kind").and_then(Value::as_str) == Some("MachineConfigPool"))
            .then(|| o.get("name").and_then(Value::as_str))
            .flatten()
    }) {
        return Some(pool.to_string());
    }
    let generated = mc
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(GENERATED_BY))
        .is_some();
    let name = mc.pointer("/metadata/name").and_then(Value::as_str)?;
    let rest = name.strip_prefix("rendered-").filter(|_| generated)?;
    Some(rest.rsplit_once('-').map_or(rest, |(p, _)| p).to_string())
}

/// The annotation the MCO puts on the MachineConfigs it renders.
pub const GENERATED_BY: &str = "machineconfiguration.openshift.io/generated-by-controller-version";

/// The documents of a manifest file as JSON values (JSON, or YAML as `oc` reads it), with
/// duplicate keys refused (as kustomize, kpt and the installer's strict reading refuse them).
pub fn documents(name: &str, bytes: &[u8]) -> Result<Vec<Value>> {
    read_documents(&Origin::file(name), bytes, false).map(|(_, _, values, _)| values)
}

impl McFile {
    /// Read a MachineConfig file (YAML as `oc` reads it, or JSON).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<McFile> {
        McFile::read(name, bytes)?.with_configs()
    }

    /// Read the documents of a file (YAML as `oc` reads it, or JSON), with their places, without
    /// reading its MachineConfigs yet ([`McFile::read_configs`]).
    pub fn read(name: &str, bytes: &[u8]) -> Result<McFile> {
        McFile::read_at(&Origin::file(name), bytes)
    }

    /// [`McFile::read`] of a manifest at `origin` (a file, or what holds it): places in it are
    /// given one link deeper, and mapped to the user's file where they can be.
    pub fn read_at(origin: &Origin, bytes: &[u8]) -> Result<McFile> {
        let (text, format, values, duplicates) = read_documents(origin, bytes, true)?;
        Ok(McFile {
            name: origin.to_string(),
            origin: origin.clone(),
            text,
            format,
            values,
            duplicates,
            configs: Vec::new(),
        })
    }

    /// The duplicate keys of the file as warnings (`FILE:LINE:COL: ...`).
    pub fn duplicate_warnings(&self) -> Vec<String> {
        self.duplicates
            .iter()
            .map(|d| duplicate_message(&self.name, d))
            .collect()
    }

    /// Documents already read (a KRM function's items): places are given as JSON paths.
    pub fn from_values(name: &str, values: Vec<Value>) -> Result<McFile> {
        McFile::of_values(name, values).with_configs()
    }

    /// [`McFile::from_values`] without reading its MachineConfigs yet.
    pub fn of_values(name: &str, values: Vec<Value>) -> McFile {
        McFile::of_values_at(&Origin::file(name), values)
    }

    /// [`McFile::of_values`] of documents at `origin`.
    pub fn of_values_at(origin: &Origin, values: Vec<Value>) -> McFile {
        McFile {
            name: origin.to_string(),
            origin: origin.clone(),
            text: String::new(),
            format: Format::Json,
            values,
            duplicates: Vec::new(),
            configs: Vec::new(),
        }
    }

    /// Read the MachineConfig objects of the documents.
    fn with_configs(mut self) -> Result<McFile> {
        self.configs = self.read_configs()?;
        Ok(self)
    }

    /// The MachineConfig objects of the documents, in file order.
    pub fn read_configs(&self) -> Result<Vec<MachineConfig>> {
        self.read_configs_but(|_, _| false)
    }

    /// [`McFile::read_configs`], leaving out the objects `skip` names (document index, JSON
    /// pointer): objects already refused for other reasons.
    pub fn read_configs_but(
        &self,
        skip: impl Fn(usize, &str) -> bool,
    ) -> Result<Vec<MachineConfig>> {
        let mut configs = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            for (at, obj) in objects(v) {
                if obj.get("kind").and_then(Value::as_str) == Some("MachineConfig") && !skip(i, &at)
                {
                    configs.push(self.read_mc(i, &at, obj)?);
                }
            }
        }
        Ok(configs)
    }

    /// Every document of the file as JSON (MachineConfigs and the others), in file order.
    pub fn documents(&self) -> &[Value] {
        &self.values
    }

    /// Where the key of the entry at a JSON pointer is written (`file:line:col (path)`), for
    /// messages about the key itself (an unknown field); else [`McFile::place`].
    pub fn place_key(&self, doc: usize, pointer: &str) -> Origin {
        if let Format::Yaml(docs) = &self.format {
            if let Some(place) = docs.get(doc).and_then(|d| d.place(pointer)) {
                let (line, col) = line_col(self.text.as_bytes(), place.entry);
                let before = &self.text.as_bytes()[..place.entry.min(self.text.len())];
                let start = before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                // Columns count characters, as the reader's do.
                let col = std::str::from_utf8(&before[start..]).map_or(col, |s| {
                    s.trim_start_matches('\u{feff}').chars().count() + 1
                });
                return self.at_line(line, col, pointer);
            }
        }
        self.place(doc, pointer)
    }

    /// [`McFile::place_key`] rendered.
    pub fn locate_key(&self, doc: usize, pointer: &str) -> String {
        self.place_key(doc, pointer).to_string()
    }

    /// `file:line:col (path)`.
    fn at_line(&self, line: usize, col: usize, pointer: &str) -> Origin {
        self.origin
            .clone()
            .at_line(line as u64, Some(col as u64))
            .with_words(format!("({})", dotted(pointer)))
    }

    /// The line and column where a JSON pointer of document `doc` (or the nearest node above it)
    /// is written, for YAML.
    pub fn position(&self, doc: usize, pointer: &str) -> Option<(u64, u64)> {
        let Format::Yaml(docs) = &self.format else {
            return None;
        };
        let mut p = pointer.to_string();
        loop {
            if let Some(pos) = docs.get(doc).and_then(|d| d.pos(&p)) {
                return Some((pos.line as u64, pos.col as u64));
            }
            let i = p.rfind('/')?;
            p.truncate(i);
        }
    }

    /// How the scalar at a JSON pointer of document `doc` is written, for YAML.
    pub fn style(&self, doc: usize, pointer: &str) -> Option<yaml::Style> {
        match &self.format {
            Format::Yaml(docs) => docs.get(doc).and_then(|d| d.style(pointer)),
            _ => None,
        }
    }

    /// Where a JSON pointer of document `doc` is: `file:line:col (path)` (the nearest node
    /// written, for YAML), or `file $.path`.
    pub fn place(&self, doc: usize, pointer: &str) -> Origin {
        if let Format::Yaml(docs) = &self.format {
            let mut p = pointer.to_string();
            loop {
                if let Some(pos) = docs.get(doc).and_then(|d| d.pos(&p)) {
                    return self.at_line(pos.line, pos.col, pointer);
                }
                match p.rfind('/') {
                    Some(i) => p.truncate(i),
                    None => break,
                }
            }
        }
        if self.values.len() > 1 {
            self.origin.clone().with_words(format!(
                "document {} {}",
                doc + 1,
                pointer_to_path(pointer)
            ))
        } else {
            self.origin.clone().at_path(pointer_to_path(pointer))
        }
    }

    /// [`McFile::place`] rendered, for messages.
    pub fn locate(&self, doc: usize, pointer: &str) -> String {
        self.place(doc, pointer).to_string()
    }

    /// Explain a problem in a MachineConfig's config, with where it is and, for YAML, how it was read.
    fn explain(&self, doc: usize, base: &str, p: &Problem) -> Placed {
        let pointer = format!("{base}/spec/config{}", p.pointer);
        let mut msg = p.message.clone();
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
        Placed::new(self.place(doc, &pointer), msg)
    }

    fn read_mc(&self, doc: usize, base: &str, v: &Value) -> Result<MachineConfig> {
        let at = |ptr: &str| self.locate(doc, &format!("{base}{ptr}"));
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
                let spec = ignition::spec_of(c)
                    .map_err(|p| anyhow::anyhow!(self.explain(doc, base, &p)))?;
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
            at: base.to_string(),
            rendered_for: rendered_for(v),
            name,
            role,
            config,
            kernel_args,
        })
    }

    /// Problems in every MachineConfig's config, explained with their places.
    pub fn problems(&self) -> Vec<Placed> {
        self.configs
            .iter()
            .flat_map(|mc| self.problems_of(mc))
            .collect()
    }

    /// Problems in one MachineConfig's config, explained with their places.
    pub fn problems_of(&self, mc: &MachineConfig) -> Vec<Placed> {
        match &mc.config {
            Some((c, spec)) => ignition::check(c, *spec)
                .iter()
                .map(|p| self.explain(mc.doc, &mc.at, p))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Apply a layer to every MachineConfig (of the given roles, if any).
    pub fn apply(&self, layer: &Layer, roles: &[String]) -> Result<Patched> {
        if let Some(p) = self.problems().into_iter().next() {
            bail!("{p}");
        }
        if let Some(d) = self.duplicate_warnings().into_iter().next() {
            bail!("{d}: keep one of the two lines first; nothing was changed");
        }
        if self.configs.is_empty() {
            bail!(
                "{}: no MachineConfig found (looked at every document and the items of Lists)",
                self.name
            );
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
        if let Some(mc) = selected.iter().find(|mc| !mc.at.is_empty()) {
            bail!(
                "{}: MachineConfig {} is an item of a List (`oc get -o yaml` output): apply to the files the MachineConfigs come from, or to one object (`oc get mc NAME -o yaml`); nothing was changed",
                self.locate(mc.doc, &mc.at),
                mc.name
            );
        }
        if let Some(mc) = selected.iter().find(|mc| mc.rendered_for.is_some()) {
            bail!(
                "{}: MachineConfig {} is rendered by the MCO for pool {}: patch the source MachineConfigs instead (the MCO replaces rendered ones); nothing was changed",
                self.locate(mc.doc, &mc.at),
                mc.name,
                mc.rendered_for.as_deref().unwrap_or("?")
            );
        }
        for mc in selected {
            let (config, spec) = mc.config.clone().unwrap_or_else(|| {
                (
                    json!({"ignition": {"version": ignition::DEFAULT_SPEC.to_string()}}),
                    ignition::DEFAULT_SPEC,
                )
            });
            let plan = ignition::plan(&config, spec, layer)
                .map_err(|p| anyhow::anyhow!(self.explain(mc.doc, &mc.at, &p)))?;
            for a in &mc.kernel_args {
                if split_kernel_args(a)
                    .iter()
                    .any(|k| crate::node::kernel_arg_blocks(k, &layer.module))
                {
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
                let mut splice = Splice::default();
                for (i, plan) in &plans {
                    let (Some(doc), Some(new_doc)) = (docs.get(*i), new_docs.get(i)) else {
                        continue;
                    };
                    let editor = Editor::new(&self.name, &self.text, doc, false);
                    ignition::apply_yaml(
                        &editor,
                        "/spec/config",
                        &plan.edits,
                        new_doc,
                        ignition::comes_before,
                        &mut splice,
                    )?;
                }
                splice.apply(self.text.as_bytes())
            }
        };
        Ok(Patched {
            bytes: Some(out),
            changes,
            warnings,
        })
    }
}

fn dotted(pointer: &str) -> String {
    pointer_to_path(pointer)
        .trim_start_matches("$.")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../testdata/doc-machineconfig.yaml");

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    #[test]
    fn quoted_mode_is_named() {
        let text = DOC.replacen("mode: 0644", "mode: '0644'", 1);
        let f = McFile::parse("q.yaml", text.as_bytes()).unwrap();
        let p = f.problems();
        assert!(
            p[0].text
                .starts_with("q.yaml:14:17 (spec.config.storage.files.0.mode)")
                || p[0].text.contains("q.yaml:14:"),
            "{p:?}"
        );
        assert!(p[0].text.contains("quoted"), "{p:?}");
        // The place is kept with it: line 14 of q.yaml.
        assert_eq!(p[0].origin.line_in_root().map(|(l, _)| l), Some(14));
        assert!(p[0].text.starts_with(&p[0].origin.to_string()));
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
}
