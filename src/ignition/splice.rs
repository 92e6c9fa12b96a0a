//! The layer's entries in a config's own spec, the plan of a patch, and the patch as a text
//! splice (JSON, or YAML through the YAML editor) touching only the bytes that change.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use super::{Problem, Spec};
use crate::formats::encoding::{decode_contents, encode_data_url, is_data_url, Budget, Decoded};
use crate::formats::json::{pointer_to_path, Layout, Spans, Splice, Spliced};
use crate::formats::yaml_edit::Editor;
use crate::layer::{Layer, LayerFile};

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

pub(super) fn on_root(node: &Value, spec: Spec) -> bool {
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
pub(super) fn resource_bytes(
    r: Option<&Value>,
    keep: u64,
    budget: &Budget,
) -> Result<Option<Decoded>, String> {
    let Some(r) = r.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    // Ignition treats an empty source as none (util.NilOrEmpty).
    let Some(src) = r
        .get("source")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
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
    apply_pieces(text, at, plan).to_vec()
}

/// [`apply_text`] as the pieces of the new text, which a large config is written out from
/// without a second copy in memory.
pub fn apply_pieces<'a>(text: &'a [u8], at: &[&str], plan: &Plan) -> Spliced<'a> {
    if plan.edits.is_empty() {
        return Spliced::whole(text);
    }
    let spans = Spans::new(text);
    let layout = Layout::detect(text);
    let mut splice = Splice::default();
    let Some(config) = spans.find(0, at) else {
        return Spliced::whole(text);
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
    splice.pieces(text)
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
