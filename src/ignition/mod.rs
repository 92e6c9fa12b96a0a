//! Ignition configs: spec detection, validation, patching in the config's own spec, and the node
//! view a config produces (inline merge/replace configs folded with Ignition's merge rules).

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::findings::{Code, Finding};
use crate::formats::encoding::{
    check_hash, decode_contents, decode_data_url, encode_data_url, is_data_url, Budget, Decoded,
};
use crate::formats::json::MAX_CONFIG_BYTES;
use crate::formats::json::{pointer_to_path, Layout, Spans, Splice};
use crate::formats::yaml_edit::Editor;
use crate::layer::{validate_node_path, Layer, LayerFile};
use crate::node::collect::MAX_KEPT;
use crate::node::rules::install_targets;
use crate::node::{Content, Entry, NodeView};

/// Ignition spec versions modlayer reads and writes.
/// The spec modlayer writes when nothing asks for another (OpenShift 4.7 to 4.13 read it, and
/// so does every release since).
pub const DEFAULT_SPEC: Spec = Spec { major: 3, minor: 2 };

/// Every spec modlayer reads and writes.
pub const SPECS: &[&str] = &[
    "2.2.0", "2.3.0", "2.4.0", "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0",
];

/// An Ignition config spec version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Spec {
    /// 2 or 3.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Spec {
    /// Parse one of [`SPECS`].
    pub fn parse(text: &str) -> Result<Spec> {
        if !SPECS.contains(&text) {
            bail!(
                "Ignition spec version {text:?} is not supported (supported: {})",
                SPECS.join(", ")
            );
        }
        let mut it = text.split('.').map(|p| p.parse::<u8>().unwrap_or(0));
        Ok(Spec {
            major: it.next().unwrap_or(0),
            minor: it.next().unwrap_or(0),
        })
    }

    /// Whether this is a legacy 2.x spec (`filesystem: root`, overwrite default true).
    pub fn legacy(self) -> bool {
        self.major == 2
    }

    /// The default of `overwrite` for files in this spec.
    fn overwrite_default(self) -> bool {
        self.legacy()
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.0", self.major, self.minor)
    }
}

/// A problem in a config, located by JSON pointer relative to the config's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer (`/storage/files/0/mode`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(pointer: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", pointer_to_path(&self.pointer), self.message)
    }
}

/// Read the spec of a config value (`ignition.version`).
pub fn spec_of(config: &Value) -> Result<Spec, Problem> {
    let Some(obj) = config.as_object() else {
        return Err(Problem::new("", "an Ignition config must be a JSON object"));
    };
    let version = obj
        .get("ignition")
        .and_then(|i| i.get("version"))
        .ok_or_else(|| Problem::new("/ignition/version", "missing ignition.version"))?;
    let Some(text) = version.as_str() else {
        return Err(Problem::new(
            "/ignition/version",
            "ignition.version must be a string",
        ));
    };
    Spec::parse(text).map_err(|e| Problem::new("/ignition/version", e.to_string()))
}

fn expect<'a>(
    v: &'a Value,
    ptr: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Result<&'a Value, Problem> {
    if ok(v) {
        Ok(v)
    } else {
        Err(Problem::new(
            ptr,
            format!("must be {what}, found {}", describe(v)),
        ))
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {s:?}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Null => "null".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Check the parts of a config that decide what a node's files will be: storage entries' paths,
/// modes, overwrite, contents, compression and hashes. Typed whole-config checks (every key of the
/// spec) are done by [`validate_typed`] for 3.x.
pub fn check(config: &Value, spec: Spec) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_units(config, &mut problems);
    let Some(storage) = config.get("storage") else {
        return problems;
    };
    if !storage.is_object() && !storage.is_null() {
        problems.push(Problem::new(
            "/storage",
            format!("must be an object, found {}", describe(storage)),
        ));
        return problems;
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for list in ["files", "directories", "links"] {
        let Some(items) = storage.get(list) else {
            continue;
        };
        let lp = format!("/storage/{list}");
        let Some(items) = items.as_array() else {
            if !items.is_null() {
                problems.push(Problem::new(
                    &lp,
                    format!("must be a list, found {}", describe(items)),
                ));
            }
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let ip = format!("{lp}/{i}");
            if let Err(p) = check_node(item, &ip, list, spec, &mut seen) {
                problems.push(p);
            }
        }
    }
    problems
}

/// Check `systemd.units`: a list of objects, each with a string `name` (given once), string
/// `contents`, boolean `enabled`/`enable`/`mask`, `dropins` a list of `{name, contents}`.
fn check_units(config: &Value, problems: &mut Vec<Problem>) {
    let Some(units) = config.pointer("/systemd/units") else {
        return;
    };
    let Some(units) = units.as_array() else {
        if !units.is_null() {
            problems.push(Problem::new(
                "/systemd/units",
                format!("must be a list, found {}", describe(units)),
            ));
        }
        return;
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        let up = format!("/systemd/units/{i}");
        if let Err(p) = check_unit(u, &up, &mut seen) {
            problems.push(p);
        }
    }
}

fn check_unit(u: &Value, up: &str, seen: &mut BTreeMap<String, String>) -> Result<(), Problem> {
    expect(u, up, "an object", Value::is_object)?;
    let name = u
        .get("name")
        .ok_or_else(|| Problem::new(up, "missing name"))?;
    let name = expect(name, &format!("{up}/name"), "a string", Value::is_string)?
        .as_str()
        .unwrap_or_default();
    if let Some(first) = seen.insert(name.to_string(), up.to_string()) {
        return Err(Problem::new(
            up,
            format!(
                "unit {name} is listed twice (also at {}): Ignition refuses the config",
                pointer_to_path(&first)
            ),
        ));
    }
    if let Some(c) = u.get("contents").filter(|v| !v.is_null()) {
        expect(c, &format!("{up}/contents"), "a string", Value::is_string)?;
    }
    for key in ["enabled", "enable", "mask"] {
        if let Some(b) = u.get(key).filter(|v| !v.is_null()) {
            expect(
                b,
                &format!("{up}/{key}"),
                "true or false",
                Value::is_boolean,
            )?;
        }
    }
    let dropins = u.get("dropins").filter(|v| !v.is_null());
    if let Some(d) = dropins {
        let dp = format!("{up}/dropins");
        let list = expect(d, &dp, "a list", Value::is_array)?
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, d) in list.iter().enumerate() {
            let djp = format!("{dp}/{j}");
            expect(d, &djp, "an object", Value::is_object)?;
            let n = d
                .get("name")
                .ok_or_else(|| Problem::new(&djp, "missing name"))?;
            expect(n, &format!("{djp}/name"), "a string", Value::is_string)?;
            if let Some(c) = d.get("contents").filter(|v| !v.is_null()) {
                expect(c, &format!("{djp}/contents"), "a string", Value::is_string)?;
            }
        }
    }
    Ok(())
}

fn check_node(
    item: &Value,
    ip: &str,
    list: &str,
    spec: Spec,
    seen: &mut BTreeMap<String, String>,
) -> Result<(), Problem> {
    expect(item, ip, "an object", Value::is_object)?;
    let path = item
        .get("path")
        .ok_or_else(|| Problem::new(ip, "missing path"))?;
    let path = expect(path, &format!("{ip}/path"), "a string", Value::is_string)?
        .as_str()
        .unwrap_or_default();
    validate_node_path(path).map_err(|e| Problem::new(format!("{ip}/path"), e.to_string()))?;
    if spec.legacy() {
        match item.get("filesystem").and_then(Value::as_str) {
            Some(_) => {}
            None => {
                return Err(Problem::new(
                    format!("{ip}/filesystem"),
                    "2.x entries need a filesystem (\"root\")",
                ))
            }
        }
    }
    let key = format!(
        "{}:{path}",
        item.get("filesystem")
            .and_then(Value::as_str)
            .unwrap_or("root")
    );
    if let Some(first) = seen.insert(key, ip.to_string()) {
        return Err(Problem::new(
            ip,
            format!(
                "duplicate entry for {path} (also at {}): Ignition refuses the config",
                pointer_to_path(&first)
            ),
        ));
    }
    if let Some(mode) = item.get("mode") {
        let mp = format!("{ip}/mode");
        let m = match mode {
            Value::Null => None,
            Value::Number(n) => Some(n.as_i64().ok_or_else(|| {
                Problem::new(&mp, format!("mode must be a whole number, found {n}"))
            })?),
            Value::String(s) => {
                return Err(Problem::new(
                    &mp,
                    format!("mode is the string {s:?}, not a number: Ignition refuses it"),
                ))
            }
            other => {
                return Err(Problem::new(
                    &mp,
                    format!("mode must be a number, found {}", describe(other)),
                ))
            }
        };
        if let Some(m) = m {
            if !(0..=0o7777).contains(&m) {
                return Err(Problem::new(
                    &mp,
                    format!("mode {m} is not a valid permission (0 to 07777)"),
                ));
            }
        }
    }
    if let Some(o) = item.get("overwrite") {
        expect(o, &format!("{ip}/overwrite"), "true or false", |v| {
            v.is_boolean() || v.is_null()
        })?;
    }
    if list == "files" {
        let has_source = item
            .pointer("/contents/source")
            .is_some_and(|s| !s.is_null());
        if !spec.legacy() && item.get("overwrite") == Some(&Value::Bool(true)) && !has_source {
            return Err(Problem::new(
                format!("{ip}/overwrite"),
                "overwrite is true but there is no contents.source: Ignition refuses the config",
            ));
        }
        if let Some(c) = item.get("contents") {
            check_resource(c, &format!("{ip}/contents"), spec)?;
        }
        match item.get("append") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(_)) if spec.legacy() => {}
            Some(Value::Array(items)) if !spec.legacy() => {
                for (j, r) in items.iter().enumerate() {
                    check_resource(r, &format!("{ip}/append/{j}"), spec)?;
                }
            }
            Some(other) => {
                return Err(Problem::new(
                    format!("{ip}/append"),
                    format!("unexpected {}", describe(other)),
                ))
            }
        }
    }
    Ok(())
}

fn check_resource(r: &Value, rp: &str, spec: Spec) -> Result<(), Problem> {
    expect(r, rp, "an object", |v| v.is_object() || v.is_null())?;
    if let Some(src) = r.get("source").filter(|v| !v.is_null()) {
        let src = expect(src, &format!("{rp}/source"), "a string", Value::is_string)?
            .as_str()
            .unwrap_or_default();
        if is_data_url(src) {
            decode_data_url(src)
                .map_err(|e| Problem::new(format!("{rp}/source"), format!("bad data URL: {e}")))?;
        }
    }
    if let Some(c) = r.get("compression").filter(|v| !v.is_null()) {
        match c.as_str() {
            Some("") | Some("gzip") => {}
            _ => {
                return Err(Problem::new(
                    format!("{rp}/compression"),
                    format!(
                        "compression must be \"\" or \"gzip\", found {}",
                        describe(c)
                    ),
                ))
            }
        }
    }
    if let Some(h) = r
        .get("verification")
        .and_then(|v| v.get("hash"))
        .filter(|v| !v.is_null())
    {
        let hp = format!("{rp}/verification/hash");
        let h = expect(h, &hp, "a string", Value::is_string)?
            .as_str()
            .unwrap_or_default();
        let ok_kind = h.starts_with("sha512-")
            || (h.starts_with("sha256-")
                && (spec.major > 3 || (spec.major == 3 && spec.minor >= 1)));
        if !ok_kind {
            return Err(Problem::new(
                &hp,
                format!(
                    "hash {h:?} must be sha512-<hex>{}",
                    if spec.major == 3 && spec.minor >= 1 {
                        " or sha256-<hex>"
                    } else {
                        ""
                    }
                ),
            ));
        }
        check_hash(h, b"").map_err(|e| Problem::new(&hp, e.to_string()))?;
    }
    Ok(())
}

/// Validate a 3.x config against coreos's typed Ignition specs (every key and type of the spec).
/// Returns unused-key warnings (Ignition warns on those too).
pub fn validate_typed(bytes: &[u8]) -> Result<Vec<String>> {
    match ignition_config::Config::parse_slice(bytes) {
        Ok((_, warnings)) => Ok(warnings.iter().map(|w| w.to_string()).collect()),
        Err(e) => bail!("{e}"),
    }
}

/// The entry a layer file is written as, in a config's own spec.
pub fn layer_entry(f: &LayerFile, spec: Spec) -> Value {
    let mut m = Map::new();
    if spec.legacy() {
        m.insert("filesystem".into(), json!("root"));
    }
    m.insert("path".into(), json!(f.path));
    m.insert(
        "contents".into(),
        json!({ "source": encode_data_url(&f.bytes) }),
    );
    m.insert("mode".into(), json!(f.mode));
    m.insert("overwrite".into(), json!(true));
    Value::Object(m)
}

/// A minimal config of a spec holding a layer.
pub fn layer_config(layer: &Layer, spec: Spec) -> Value {
    let files: Vec<Value> = layer.files.iter().map(|f| layer_entry(f, spec)).collect();
    json!({ "ignition": { "version": spec.to_string() }, "storage": { "files": files } })
}

/// One change a patch makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Replace `storage.files[index]` with the entry.
    Replace(usize, Value),
    /// Append the entry to `storage.files`.
    Append(Value),
}

/// What applying a layer to a config will do.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Changes, in order.
    pub edits: Vec<Edit>,
    /// Human descriptions of the changes.
    pub changes: Vec<String>,
    /// Warnings to show (pointer configs, replace configs, blocking kernel args…).
    pub warnings: Vec<String>,
}

/// Work out how to apply a layer to a config: replace an existing entry for a layer path where it
/// stands (unless it already yields the same bytes, mode and overwrite), append missing ones.
/// A directory or link at a layer path, an `append`, or duplicate entries are errors.
pub fn plan(config: &Value, spec: Spec, layer: &Layer) -> Result<Plan, Problem> {
    let mut plan = Plan::default();
    let files = config
        .get("storage")
        .and_then(|s| s.get("files"))
        .and_then(Value::as_array);
    for f in &layer.files {
        for list in ["directories", "links"] {
            let items = config
                .get("storage")
                .and_then(|s| s.get(list))
                .and_then(Value::as_array);
            if let Some(i) = items.into_iter().flatten().position(|n| {
                on_root(n, spec) && n.get("path").and_then(Value::as_str) == Some(&f.path)
            }) {
                let kind = if list == "links" {
                    "a link"
                } else {
                    "a directory"
                };
                return Err(Problem::new(
                    format!("/storage/{list}/{i}"),
                    format!(
                        "the config makes {} {kind}; the layer needs a regular file there",
                        f.path
                    ),
                ));
            }
        }
        let hits: Vec<usize> = files
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, n)| {
                on_root(n, spec) && n.get("path").and_then(Value::as_str) == Some(&f.path)
            })
            .map(|(i, _)| i)
            .collect();
        if hits.len() > 1 {
            return Err(Problem::new(
                format!("/storage/files/{}", hits[1]),
                format!(
                    "{} is listed {} times: Ignition refuses duplicate entries",
                    f.path,
                    hits.len()
                ),
            ));
        }
        let entry = layer_entry(f, spec);
        match hits.first() {
            Some(&i) => {
                let existing = &files.map(|a| &a[i]).unwrap_or(&Value::Null);
                if has_append(existing) {
                    return Err(Problem::new(
                        format!("/storage/files/{i}/append"),
                        format!("the config appends to {}; remove the append so the layer's bytes are the whole file", f.path),
                    ));
                }
                if !already_written(existing, f, spec) {
                    plan.changes.push(format!(
                        "replace {} ({})",
                        f.path,
                        pointer_to_path(&format!("/storage/files/{i}"))
                    ));
                    plan.edits.push(Edit::Replace(i, entry));
                }
            }
            None => {
                plan.changes.push(format!("add {}", f.path));
                plan.edits.push(Edit::Append(entry));
            }
        }
    }
    if let Some(replace) = config
        .pointer("/ignition/config/replace")
        .filter(|v| !v.is_null())
    {
        if replace.get("source").is_some_and(|s| !s.is_null()) {
            plan.warnings.push("the config has ignition.config.replace: at first boot the node uses the replacement config and ignores these entries".into());
        }
    }
    if let Some(merges) = config
        .pointer("/ignition/config/merge")
        .and_then(Value::as_array)
    {
        if merges.iter().any(|m| {
            m.get("source")
                .and_then(Value::as_str)
                .is_some_and(|s| !is_data_url(s))
        }) {
            plan.warnings.push("this is a pointer config (ignition.config.merge from a server): it acts only at a node's first boot, and the config the cluster serves, merged over it, cannot be seen offline".into());
        }
    }
    Ok(plan)
}

fn on_root(node: &Value, spec: Spec) -> bool {
    !spec.legacy()
        || node
            .get("filesystem")
            .and_then(Value::as_str)
            .unwrap_or("root")
            == "root"
}

fn has_append(node: &Value) -> bool {
    match node.get("append") {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Bool(b)) => *b,
        _ => false,
    }
}

/// Whether an existing entry already writes exactly the layer file.
fn already_written(node: &Value, f: &LayerFile, spec: Spec) -> bool {
    let overwrite = node
        .get("overwrite")
        .and_then(Value::as_bool)
        .unwrap_or(spec.overwrite_default());
    let mode = node.get("mode").and_then(Value::as_u64).unwrap_or(0o644);
    if !overwrite
        || mode != u64::from(f.mode)
        || node.get("user").is_some()
        || node.get("group").is_some()
    {
        return false;
    }
    let budget = Budget::per_target();
    matches!(
        resource_bytes(node.get("contents"), f.bytes.len() as u64, &budget),
        Ok(Some(Decoded::Bytes(b))) if b == f.bytes
    )
}

/// The bytes a contents resource yields, if it is inline: `Ok(None)` when it has no source.
/// At most `keep` bytes are held (larger contents are streamed: counted, hashed, dropped); every
/// decoded byte is charged to `budget`.
fn resource_bytes(
    r: Option<&Value>,
    keep: u64,
    budget: &Budget,
) -> Result<Option<Decoded>, String> {
    let Some(r) = r.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(src) = r.get("source").and_then(Value::as_str) else {
        return Ok(None);
    };
    if !is_data_url(src) {
        return Err(format!("remote source {src}"));
    }
    let gzip = r.get("compression").and_then(Value::as_str) == Some("gzip");
    let hash = r
        .get("verification")
        .and_then(|v| v.get("hash"))
        .and_then(Value::as_str);
    let (decoded, matched) =
        decode_contents(src, gzip, hash, keep, budget).map_err(|e| e.to_string())?;
    if let (Some(h), Some(false)) = (hash, matched) {
        return Err(format!(
            "verification hash {h} does not match the contents: Ignition fails the boot"
        ));
    }
    Ok(Some(decoded))
}

/// Apply a plan to a config value.
pub fn apply_value(config: &mut Value, plan: &Plan) {
    let Some(root) = config.as_object_mut() else {
        return;
    };
    let storage = root.entry("storage").or_insert_with(|| json!({}));
    if !storage.is_object() {
        *storage = json!({});
    }
    let Some(storage) = storage.as_object_mut() else {
        return;
    };
    let files = storage.entry("files").or_insert_with(|| json!([]));
    if !files.is_array() {
        *files = json!([]);
    }
    let Some(files) = files.as_array_mut() else {
        return;
    };
    for e in &plan.edits {
        match e {
            Edit::Replace(i, v) => {
                if let Some(slot) = files.get_mut(*i) {
                    *slot = v.clone();
                }
            }
            Edit::Append(v) => files.push(v.clone()),
        }
    }
}

/// Apply a plan to JSON text, touching only the bytes that change. `at` is the JSON pointer of the
/// config object inside the text (empty for an Ignition file, `/spec/config` in a MachineConfig).
pub fn apply_text(text: &[u8], at: &[&str], plan: &Plan) -> Vec<u8> {
    if plan.edits.is_empty() {
        return text.to_vec();
    }
    let spans = Spans::new(text);
    let layout = Layout::detect(text);
    let mut splice = Splice::default();
    let Some(config) = spans.find(0, at) else {
        return text.to_vec();
    };
    let files_span = spans
        .find(config.start, &["storage", "files"])
        .filter(|s| text.get(s.start) == Some(&b'['));
    let appends: Vec<&Value> = plan
        .edits
        .iter()
        .filter_map(|e| match e {
            Edit::Append(v) => Some(v),
            Edit::Replace(..) => None,
        })
        .collect();
    if let Some(files) = &files_span {
        let elements = spans.elements(files);
        for e in &plan.edits {
            if let Edit::Replace(i, v) = e {
                if let Some(span) = elements.get(*i) {
                    let indent = spans.line_indent(span.start);
                    splice.replace(span.clone(), layout.render(v, indent));
                }
            }
        }
        if !appends.is_empty() {
            insert_items(&spans, &layout, files, &elements, &appends, &mut splice);
        }
    } else {
        let files = Value::Array(appends.into_iter().cloned().collect());
        let storage = spans.find(config.start, &["storage"]);
        match (storage, spans.find(config.start, &["storage", "files"])) {
            // `"files": null` (or another non-list): replace the value.
            (_, Some(old)) => {
                let indent = spans.line_indent(old.start);
                splice.replace(old, layout.render(&files, indent));
            }
            (Some(storage), None) if text[storage.start] == b'{' => {
                insert_member(&spans, &layout, &storage, "files", &files, &mut splice)
            }
            // `"storage": null`: replace the value.
            (Some(old), None) => {
                let indent = spans.line_indent(old.start);
                splice.replace(old, layout.render(&json!({ "files": files }), indent));
            }
            (None, None) => {
                let storage = json!({ "files": files });
                insert_member(&spans, &layout, &config, "storage", &storage, &mut splice)
            }
        }
    }
    splice.apply(text)
}

/// Keys that a missing entry of an Ignition config (or of the MachineConfig around it) is
/// inserted before, so that it lands where configs put it.
pub fn comes_before(key: &str) -> &'static [&'static str] {
    match key {
        "storage" => &["systemd"],
        "files" => &["directories", "links", "luks", "trees"],
        "config" => &[
            "extensions",
            "fips",
            "kernelArguments",
            "kernelType",
            "osImageURL",
        ],
        _ => &[],
    }
}

/// Apply a plan's edits to the config at pointer `at` of a YAML document (`""` for a Butane
/// source, `/spec/config` in a MachineConfig) as a splice: a replaced entry is rewritten where it
/// stands, new entries go after the last `storage.files` entry in that list's style, and a
/// missing `files`, `storage` or config (or `spec`) is inserted from `new_doc`, the document's
/// whole value after the edits, before the keys `order` names for it ([`comes_before`] for
/// Ignition). The entries in `edits` are written as they are (Ignition or Butane form).
pub fn apply_yaml(
    editor: &Editor,
    at: &str,
    edits: &[Edit],
    new_doc: &Value,
    order: fn(&str) -> &'static [&'static str],
    out: &mut Splice,
) -> Result<()> {
    let files = format!("{at}/storage/files");
    let doc = &editor.doc().value;
    if doc
        .pointer(&files)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        let mut appends = Vec::new();
        for e in edits {
            match e {
                Edit::Replace(i, v) => editor.replace_item(&files, *i, v, out)?,
                Edit::Append(v) => appends.push(v.clone()),
            }
        }
        if !appends.is_empty() {
            editor.append_items(&files, &appends, out)?;
        }
        return Ok(());
    }
    let mut pointer = String::new();
    for seg in files.split('/').skip(1) {
        let next = format!("{pointer}/{seg}");
        let Some(fill) = new_doc.pointer(&next) else {
            bail!("{}: nothing to write at {next}", editor.at(&pointer));
        };
        match doc.pointer(&next) {
            Some(Value::Object(_)) if seg != "files" => pointer = next,
            Some(_) => return editor.replace_value(&next, fill, out),
            None => return editor.insert_entry(&pointer, seg, fill, order(seg), out),
        }
    }
    Ok(())
}

/// Append values to the array at `span` whose current elements are `elements`.
fn insert_items(
    spans: &Spans,
    layout: &Layout,
    span: &std::ops::Range<usize>,
    elements: &[std::ops::Range<usize>],
    items: &[&Value],
    splice: &mut Splice,
) {
    match elements.last() {
        Some(last) => {
            let lead = spans.slice(span.start + 1..elements[0].start).to_string();
            let indent = spans.line_indent(elements[0].start);
            let mut text = String::new();
            for v in items {
                text.push(',');
                text.push_str(&lead);
                text.push_str(&layout.render(v, indent));
            }
            splice.replace(last.end..last.end, text);
        }
        None => {
            let arr = Value::Array(items.iter().map(|v| (*v).clone()).collect());
            let indent = spans.line_indent(span.start);
            splice.replace(span.clone(), layout.render(&arr, indent));
        }
    }
}

/// Add `"key": value` as the last member of the object at `span`.
fn insert_member(
    spans: &Spans,
    layout: &Layout,
    span: &std::ops::Range<usize>,
    key: &str,
    value: &Value,
    splice: &mut Splice,
) {
    let members = spans.members(span);
    let key_json = serde_json::to_string(key).unwrap_or_default();
    match (members.first(), members.last()) {
        (Some(first), Some(last)) => {
            let lead = spans.slice(span.start + 1..first.key_span.start);
            let sep = spans.slice(first.key_span.end..first.value.start);
            let indent = spans.line_indent(first.key_span.start);
            let text = format!(",{lead}{key_json}{sep}{}", layout.render(value, indent));
            splice.replace(last.value.end..last.value.end, text);
        }
        _ => {
            let mut obj = Map::new();
            obj.insert(key.to_string(), value.clone());
            let indent = spans.line_indent(span.start);
            splice.replace(span.clone(), layout.render(&Value::Object(obj), indent));
        }
    }
}

/// Where configs referenced by `ignition.config.merge`/`replace` come from, for messages.
fn child_origin(origin: &str, ptr: &str) -> String {
    format!("{origin} {}", pointer_to_path(ptr))
}

/// The storage nodes and systemd units of a config after folding inline merge/replace configs:
/// path (or [`UNIT_KEY`] and the unit name) -> (node, origin).
type Nodes = BTreeMap<String, (Value, String)>;

/// The key prefix of a systemd unit in [`Nodes`] (after every path: `/` sorts before `u`, so
/// units are laid down after files, as Ignition's files stage writes them).
const UNIT_KEY: &str = "unit:";

/// Where Ignition writes units, their drop-ins and masks.
const IGNITION_UNIT_DIR: &str = "/etc/systemd/system";

/// Merge `child` over `parent` field by field (Ignition merge: child wins; objects merge deeply).
fn merge_fields(parent: &mut Value, child: &Value) {
    match (parent, child) {
        (Value::Object(p), Value::Object(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                match p.get_mut(k) {
                    Some(pv) if pv.is_object() && v.is_object() => merge_fields(pv, v),
                    _ => {
                        p.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (p, c) => *p = c.clone(),
    }
}

/// Collect a config's storage nodes (with the children of `ignition.config` folded in) and the
/// findings about what cannot be seen or would fail.
fn collect_nodes(
    config: &Value,
    spec: Spec,
    origin: &str,
    depth: usize,
    budget: &Budget,
    findings: &mut Vec<Finding>,
) -> Nodes {
    let mut nodes = Nodes::new();
    if depth > 8 {
        findings.push(Finding::new(
            Code::MergeTooDeep,
            format!("{origin}: merge/replace configs nest more than 8 deep"),
        ));
        return nodes;
    }
    if let Some(replace) = config
        .pointer("/ignition/config/replace")
        .filter(|r| r.get("source").is_some_and(|s| !s.is_null()))
    {
        return match child_config(
            replace,
            origin,
            "/ignition/config/replace",
            budget,
            findings,
        ) {
            Some((child, cspec)) => collect_nodes(
                &child,
                cspec,
                &child_origin(origin, "/ignition/config/replace"),
                depth + 1,
                budget,
                findings,
            ),
            None => nodes,
        };
    }
    for list in ["files", "directories", "links"] {
        let items = config
            .pointer(&format!("/storage/{list}"))
            .and_then(Value::as_array);
        for (i, n) in items.into_iter().flatten().enumerate() {
            if !on_root(n, spec) {
                continue;
            }
            let Some(path) = n.get("path").and_then(Value::as_str) else {
                continue;
            };
            let mut node = n.clone();
            if let Some(o) = node.as_object_mut() {
                o.insert("_kind".into(), json!(list));
                // The spec's default applies when no config of the merge sets it (and the MCO's
                // render may set its own first: see `overlay_merged`).
                o.insert("_overwrite_default".into(), json!(spec.overwrite_default()));
            }
            nodes.insert(
                path.to_string(),
                (node, child_origin(origin, &format!("/storage/{list}/{i}"))),
            );
        }
    }
    let units = config.pointer("/systemd/units").and_then(Value::as_array);
    for (i, u) in units.into_iter().flatten().enumerate() {
        let Some(name) = u.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut node = u.clone();
        if let Some(o) = node.as_object_mut() {
            o.insert("_kind".into(), json!("units"));
            // 2.x spells it `enable` (deprecated) or `enabled`.
            if let (Some(e), false) = (o.get("enable").cloned(), o.contains_key("enabled")) {
                o.insert("enabled".into(), e);
            }
            // Drop-ins merge by name, as Ignition merges keyed lists.
            let mut dropins = Map::new();
            for d in o
                .get("dropins")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(dn) = d.get("name").and_then(Value::as_str) {
                    dropins.insert(dn.to_string(), d.clone());
                }
            }
            o.remove("dropins");
            o.insert("_dropins".into(), Value::Object(dropins));
        }
        nodes.insert(
            format!("{UNIT_KEY}{name}"),
            (node, child_origin(origin, &format!("/systemd/units/{i}"))),
        );
    }
    let merges = config
        .pointer("/ignition/config/merge")
        .and_then(Value::as_array);
    for (i, m) in merges.into_iter().flatten().enumerate() {
        let ptr = format!("/ignition/config/merge/{i}");
        let Some((child, cspec)) = child_config(m, origin, &ptr, budget, findings) else {
            continue;
        };
        let child = collect_nodes(
            &child,
            cspec,
            &child_origin(origin, &ptr),
            depth + 1,
            budget,
            findings,
        );
        merge_nodes(&mut nodes, child, findings);
    }
    nodes
}

/// Decode an inline child config; a remote one is reported and skipped.
fn child_config(
    r: &Value,
    origin: &str,
    ptr: &str,
    budget: &Budget,
    findings: &mut Vec<Finding>,
) -> Option<(Value, Spec)> {
    let src = r.get("source").and_then(Value::as_str)?;
    let at = child_origin(origin, ptr);
    if !is_data_url(src) {
        findings.push(Finding::new(Code::RemoteConfig,
            format!("{at}: config from {src} is fetched at first boot and cannot be seen offline; it may override these files (installer pointer configs: the cluster serves the real content)"),
        ));
        return None;
    }
    let bytes = match resource_bytes(Some(r), MAX_CONFIG_BYTES, budget) {
        Ok(Some(Decoded::Bytes(b))) => b,
        Ok(Some(Decoded::TooBig(n))) => {
            findings.push(Finding::new(
                Code::BadChildConfig,
                format!("{at}: inline config of {n} bytes, more than the {MAX_CONFIG_BYTES} a config may be"),
            ));
            return None;
        }
        Ok(None) => return None,
        Err(e) => {
            findings.push(Finding::new(Code::BadChildConfig, format!("{at}: {e}")));
            return None;
        }
    };
    let parsed = crate::formats::json::parse_strict(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            let s = spec_of(&v).map_err(|p| p.to_string())?;
            Ok((v, s))
        });
    match parsed {
        Ok(x) => Some(x),
        Err(e) => {
            findings.push(Finding::new(
                Code::BadChildConfig,
                format!("{at}: inline config is invalid: {e}"),
            ));
            None
        }
    }
}

/// Merge `child` nodes over `nodes` (Ignition merge: keyed by path, field by field, child wins).
fn merge_nodes(nodes: &mut Nodes, child: Nodes, findings: &mut Vec<Finding>) {
    for (path, (cnode, corigin)) in child {
        match nodes.get_mut(&path) {
            Some((pnode, porigin)) if pnode.get("_kind") == cnode.get("_kind") => {
                merge_fields(pnode, &cnode);
                *porigin = corigin;
            }
            Some(_) => findings.push(
                Finding::new(Code::DuplicateEntry,
                    format!("{path} is a different kind of node in {corigin}: Ignition refuses the merged config"),
                )
                .at(path.clone()),
            ),
            None => {
                nodes.insert(path, (cnode, corigin));
            }
        }
    }
}

/// Lay a config's files and units over a view (Ignition at first boot over what the image has),
/// adding the findings that a node would fail on or that cannot be seen offline. Files without
/// `overwrite` take the spec's default (false in 3.x, true in 2.x). An error when the config's
/// decoded contents pass [`crate::formats::encoding::MAX_DECODED_TOTAL`].
pub fn overlay(
    config: &Value,
    spec: Spec,
    origin: &str,
    view: &mut NodeView,
    findings: &mut Vec<Finding>,
) -> anyhow::Result<()> {
    overlay_merged(
        &[(config, spec, origin)],
        false,
        view,
        findings,
        &Budget::per_target(),
    )
}

/// Merge several configs in order (each over the ones before, as the MCO renders a pool) and lay
/// the result over a view. With `overwrite_default`, files that no config gives `overwrite` get
/// `true` after the merge (the MCO's render since OpenShift 4.12, see
/// [`crate::mco::release::Release::defaults_overwrite`]); else the spec's default applies.
/// Decoded contents are held only up to the size a configuration file is read ([`MAX_KEPT`];
/// larger ones are streamed, hashed and seen as not visible); all of them together (with whatever
/// else `budget` was charged for the same target) may decode to at most its limit, else an error
/// naming the first config.
pub fn overlay_merged(
    configs: &[(&Value, Spec, &str)],
    overwrite_default: bool,
    view: &mut NodeView,
    findings: &mut Vec<Finding>,
    budget: &Budget,
) -> anyhow::Result<()> {
    let mut nodes = Nodes::new();
    for (config, spec, origin) in configs {
        let child = collect_nodes(config, *spec, origin, 0, budget, findings);
        merge_nodes(&mut nodes, child, findings);
    }
    let first = configs.first().map(|c| c.2).unwrap_or("config");
    if budget.exceeded() {
        anyhow::bail!("{first}: {}", budget.message());
    }
    for (path, (mut node, norigin)) in nodes {
        if let Some(name) = path.strip_prefix(UNIT_KEY) {
            overlay_unit(name, &node, &norigin, view);
            continue;
        }
        if let Some(o) = node.as_object_mut() {
            let given = o.get("overwrite").and_then(Value::as_bool);
            let default = overwrite_default
                || o.get("_overwrite_default").and_then(Value::as_bool) == Some(true);
            o.insert("overwrite".into(), json!(given.unwrap_or(default)));
        }
        let kind = node.get("_kind").and_then(Value::as_str).unwrap_or("files");
        let content = match kind {
            "links" => {
                let target = node.get("target").and_then(Value::as_str).unwrap_or("");
                let hard = node.get("hard").and_then(Value::as_bool).unwrap_or(false);
                if !hard && target == "/dev/null" {
                    Content::Mask
                } else {
                    Content::Unknown(format!("a link to {target}"))
                }
            }
            "directories" => Content::Unknown("a directory".into()),
            _ => match file_content(&node, view.files.get(&path), keep_for(view, &path), budget) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err((code, msg)) => {
                    findings.push(
                        Finding::new(code, format!("{path}: {msg}"))
                            .at(path.clone())
                            .with_origin(&norigin),
                    );
                    Content::Unknown(msg)
                }
            },
        };
        view.files.insert(
            path,
            Entry {
                content,
                origin: norigin,
            },
        );
    }
    if budget.exceeded() {
        anyhow::bail!("{first}: {}", budget.message());
    }
    Ok(())
}

/// How many decoded bytes are held for a file at `path`: up to [`MAX_KEPT`] at a path the decision
/// reads or a layer path (the only contents a verdict reads), none elsewhere (streamed, counted
/// and hash-checked only).
fn keep_for(view: &NodeView, path: &str) -> u64 {
    if crate::node::rules::is_decision_path(path) || view.layer_paths.contains(path) {
        MAX_KEPT
    } else {
        0
    }
}

/// What Ignition's files stage does with one (merged) `systemd.units` entry: writes `contents`
/// to `/etc/systemd/system/NAME` and each drop-in to `NAME.d/`, masks with a `/dev/null` link
/// (`mask: false` removes Ignition's mask), and records `enabled` as a preset that systemd
/// applies at first boot: `true` links the unit into the targets of its `[Install]` section,
/// `false` removes its links from `/etc`.
fn overlay_unit(name: &str, node: &Value, origin: &str, view: &mut NodeView) {
    let origin = format!("{origin} ({name})");
    let unit_path = format!("{IGNITION_UNIT_DIR}/{name}");
    let file = |bytes: &str, origin: String| Entry {
        content: Content::File {
            bytes: bytes.as_bytes().to_vec(),
            mode: Some(0o644),
        },
        origin,
    };
    if let Some(c) = node.get("contents").and_then(Value::as_str) {
        view.files
            .insert(unit_path.clone(), file(c, origin.clone()));
    }
    for (dname, d) in node
        .get("_dropins")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(c) = d.get("contents").and_then(Value::as_str) {
            view.files.insert(
                format!("{unit_path}.d/{dname}"),
                file(c, format!("{origin} drop-in {dname}")),
            );
        }
    }
    match node.get("mask").and_then(Value::as_bool) {
        Some(true) => {
            view.files.insert(
                unit_path.clone(),
                Entry {
                    content: Content::Mask,
                    origin: format!("{origin} (mask: true)"),
                },
            );
        }
        Some(false)
            if view
                .files
                .get(&unit_path)
                .is_some_and(|e| e.content == Content::Mask) =>
        {
            view.files.remove(&unit_path);
        }
        _ => {}
    }
    match node.get("enabled").and_then(Value::as_bool) {
        Some(true) => {
            let units = view.units();
            let Some((fpath, fentry)) = units.get(name).and_then(|u| u.file.clone()) else {
                return;
            };
            let Content::File { bytes, .. } = &fentry.content else {
                return;
            };
            for target in install_targets(&String::from_utf8_lossy(bytes)) {
                view.files.insert(
                    format!("{IGNITION_UNIT_DIR}/{target}.wants/{name}"),
                    Entry {
                        content: Content::Link(fpath.clone()),
                        origin: format!(
                            "{origin} enabled: true (preset applied at first boot, WantedBy={target})"
                        ),
                    },
                );
            }
        }
        Some(false) => {
            let prefix = format!("{IGNITION_UNIT_DIR}/");
            view.files.retain(|p, _| {
                let Some(rest) = p.strip_prefix(&prefix) else {
                    return true;
                };
                !matches!(rest.split_once('/'), Some((sub, n)) if n == name
                    && (sub.ends_with(".wants") || sub.ends_with(".requires")))
            });
        }
        None => {}
    }
}

/// What Ignition leaves at a file entry's path: `Ok(None)` when it leaves the existing file alone.
/// Contents larger than `keep` are not held: at a configuration path (`keep` is [`MAX_KEPT`])
/// they are seen as not visible offline, as the tree and archive readers see such files.
fn file_content(
    node: &Value,
    existing: Option<&Entry>,
    keep: u64,
    budget: &Budget,
) -> Result<Option<Content>, (Code, String)> {
    let overwrite = node
        .get("overwrite")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mode = node.get("mode").and_then(Value::as_u64).map(|m| m as u32);
    let exists = existing.is_some_and(|e| !matches!(e.content, Content::Mask));
    let base = match resource_bytes(node.get("contents"), keep, budget) {
        Err(e) if e.starts_with("remote source") => {
            return Err((Code::RemoteSource, format!("{e}: not visible offline")))
        }
        Err(e) => return Err((Code::BadContents, e)),
        Ok(None) if exists && overwrite => {
            return Err((
                Code::OverwriteWithoutSource,
                "overwrite is true but there is no contents.source: Ignition refuses the config"
                    .into(),
            ))
        }
        Ok(None) if exists => match existing.map(|e| &e.content) {
            // Ignition keeps the existing file (only mode/owner change).
            Some(Content::File { bytes, mode: old }) => {
                return Ok(Some(Content::File {
                    bytes: bytes.clone(),
                    mode: mode.or(*old),
                }));
            }
            _ => return Ok(None),
        },
        Ok(None) => Decoded::Bytes(Vec::new()),
        Ok(Some(_)) if exists && !overwrite => {
            return Err((Code::OverwriteFalse, "the image already has this file and overwrite is not true: Ignition fails the first boot (\"file exists\")".into()));
        }
        Ok(Some(b)) => b,
    };
    let mut total = base.len();
    let mut bytes = match base {
        Decoded::Bytes(b) => Some(b),
        Decoded::TooBig(_) => None,
    };
    match node.get("append") {
        Some(Value::Array(items)) => {
            for r in items {
                let room = keep.saturating_sub(total);
                match resource_bytes(Some(r), room, budget) {
                    Ok(Some(d)) => {
                        total = total.saturating_add(d.len());
                        match (bytes.as_mut(), d) {
                            (Some(all), Decoded::Bytes(b)) => all.extend_from_slice(&b),
                            _ => bytes = None,
                        }
                    }
                    Ok(None) => {}
                    Err(e) => return Err((Code::BadContents, format!("append: {e}"))),
                }
            }
        }
        Some(Value::Bool(true)) => {
            if let Some(Content::File { bytes: old, .. }) = existing.map(|e| &e.content) {
                total = total.saturating_add(old.len() as u64);
                bytes = bytes.map(|b| {
                    let mut all = old.clone();
                    all.extend_from_slice(&b);
                    all
                });
            }
        }
        _ => {}
    }
    match bytes {
        Some(bytes) if total <= keep => Ok(Some(Content::File {
            bytes,
            mode: Some(mode.unwrap_or(0o644)),
        })),
        _ if keep == 0 => Ok(Some(Content::Unknown(format!(
            "{total} bytes, not kept (no verdict reads this path)"
        )))),
        _ => Ok(Some(Content::Unknown(format!(
            "{total} bytes, larger than modlayer reads for a configuration file"
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    #[test]
    fn specs() {
        assert_eq!(Spec::parse("3.2.0").unwrap(), Spec { major: 3, minor: 2 });
        assert!(Spec::parse("3.7.0-experimental").is_err());
        assert!(Spec::parse("9.9.9").is_err());
        assert_eq!(Spec::parse("2.2.0").unwrap().to_string(), "2.2.0");
    }

    #[test]
    fn patch_compact_text_touches_only_new_bytes() {
        let text = br#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,\u003c"}}]}}"#;
        let v = crate::formats::json::parse_strict(text).unwrap();
        let p = plan(&v, Spec::parse("3.2.0").unwrap(), &sctp()).unwrap();
        let out = apply_text(text, &[], &p);
        let s = String::from_utf8(out.clone()).unwrap();
        assert!(s.starts_with(r#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,\u003c"}},{"path":"/etc/modprobe.d/sctp-blacklist.conf""#), "{s}");
        let mut want = v.clone();
        apply_value(&mut want, &p);
        assert_eq!(crate::formats::json::parse_strict(&out).unwrap(), want);
        // Applying again changes nothing.
        let v2 = crate::formats::json::parse_strict(&out).unwrap();
        assert!(plan(&v2, Spec::parse("3.2.0").unwrap(), &sctp())
            .unwrap()
            .edits
            .is_empty());
    }

    #[test]
    fn patch_null_storage_and_files() {
        for text in [
            &br#"{"ignition":{"version":"3.2.0"},"storage":null}"#[..],
            br#"{"ignition":{"version":"3.2.0"},"storage":{"files":null}}"#,
        ] {
            let v = crate::formats::json::parse_strict(text).unwrap();
            let p = plan(&v, Spec::parse("3.2.0").unwrap(), &sctp()).unwrap();
            let out = crate::formats::json::parse_strict(&apply_text(text, &[], &p)).unwrap();
            let mut want = v;
            apply_value(&mut want, &p);
            assert_eq!(out, want);
            assert_eq!(out["storage"]["files"].as_array().unwrap().len(), 2);
        }
    }

    #[test]
    fn patch_pretty_text_and_missing_storage() {
        let text = b"{\n  \"ignition\": {\n    \"version\": \"3.4.0\"\n  }\n}\n";
        let v = crate::formats::json::parse_strict(text).unwrap();
        let p = plan(&v, Spec::parse("3.4.0").unwrap(), &sctp()).unwrap();
        let out = String::from_utf8(apply_text(text, &[], &p)).unwrap();
        assert!(out.contains("\n  \"storage\": {\n    \"files\": [\n      {\n        \"path\": \"/etc/modprobe.d/sctp-blacklist.conf\",\n"), "{out}");
        assert!(out.ends_with("}\n"));
        let mut want = v;
        apply_value(&mut want, &p);
        assert_eq!(
            crate::formats::json::parse_strict(out.as_bytes()).unwrap(),
            want
        );
    }

    #[test]
    fn replace_where_it_stands() {
        let v = json!({"ignition":{"version":"3.2.0"},"storage":{"files":[
            {"path":"/etc/modules-load.d/sctp-load.conf","contents":{"source":"data:,sctp%0A"},"mode":420,"overwrite":true},
            {"path":"/etc/x","contents":{"source":"data:,"}}]}});
        let p = plan(&v, Spec::parse("3.2.0").unwrap(), &sctp()).unwrap();
        assert_eq!(p.edits.len(), 2);
        assert!(matches!(&p.edits[1], Edit::Replace(0, _)));
        let text = serde_json::to_vec(&v).unwrap();
        let out = crate::formats::json::parse_strict(&apply_text(&text, &[], &p)).unwrap();
        assert_eq!(
            out["storage"]["files"][0]["contents"]["source"],
            "data:,sctp"
        );
        assert_eq!(out["storage"]["files"][1]["path"], "/etc/x");
        assert_eq!(
            out["storage"]["files"][2]["path"],
            "/etc/modprobe.d/sctp-blacklist.conf"
        );
    }

    #[test]
    fn refusals() {
        let link = json!({"ignition":{"version":"3.2.0"},"storage":{"links":[{"path":"/etc/modules-load.d/sctp-load.conf","target":"/dev/null"}]}});
        assert!(plan(&link, Spec::parse("3.2.0").unwrap(), &sctp())
            .unwrap_err()
            .message
            .contains("link"));
        let app = json!({"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/modules-load.d/sctp-load.conf","append":[{"source":"data:,sctp"}]}]}});
        assert!(plan(&app, Spec::parse("3.2.0").unwrap(), &sctp())
            .unwrap_err()
            .pointer
            .ends_with("/append"));
    }

    #[test]
    fn legacy_entries() {
        let c = layer_config(&sctp(), Spec::parse("2.2.0").unwrap());
        assert_eq!(c["storage"]["files"][0]["filesystem"], "root");
        assert!(check(&c, Spec::parse("2.2.0").unwrap()).is_empty());
    }

    #[test]
    fn rendered_configs_pass_the_typed_specs() {
        // ignition-validate 2.14 (Debian) reads up to 3.3.0/3.4.0-experimental; coreos's typed
        // specs judge the rest.
        for v in [
            "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0",
        ] {
            let c = serde_json::to_vec(&layer_config(&sctp(), Spec::parse(v).unwrap())).unwrap();
            assert_eq!(validate_typed(&c).unwrap(), Vec::<String>::new(), "{v}");
        }
        let bad = br#"{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/x","mode":"0644"}]}}"#;
        assert!(validate_typed(bad).is_err());
    }

    #[test]
    fn checks_report_pointers() {
        let v = json!({"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/a","mode":"0644"},{"path":"/etc/a"}]}});
        let p = check(&v, Spec::parse("3.2.0").unwrap());
        assert_eq!(p[0].pointer, "/storage/files/0/mode");
        assert_eq!(p[1].pointer, "/storage/files/1");
    }
}
