//! The node view a config produces: inline merge/replace configs folded with Ignition's merge rules,
//! then laid over the base state as Ignition's files stage writes them.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::splice::{on_root, resource_bytes};
use super::{spec_of, Spec};
use crate::findings::{Code, Finding};
use crate::formats::encoding::{is_data_url, Budget, Decoded};
use crate::formats::json::{pointer_to_path, MAX_CONFIG_BYTES};
use crate::node::collect::MAX_KEPT;
use crate::node::rules::install_targets;
use crate::node::{Content, Entry, NodeView};
use crate::origin::Origin;

/// Where configs referenced by `ignition.config.merge`/`replace` come from, for messages.
fn child_origin(origin: &Origin, ptr: &str) -> Origin {
    origin.clone().at_path(pointer_to_path(ptr))
}

/// The origin of a config nested at `ptr` (`ignition.config.merge[0]`): one level deeper.
fn nested_origin(origin: &Origin, ptr: &str) -> Origin {
    origin.inner(pointer_to_path(ptr))
}

/// The storage nodes and systemd units of a config after folding inline merge/replace configs:
/// path (or [`UNIT_KEY`] and the unit name) -> (node, origin).
type Nodes = BTreeMap<String, (Value, Origin)>;

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
    origin: &Origin,
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
    if let Some(r) = config.pointer("/ignition/config/replace") {
        let no_source = r
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty();
        if no_source
            && r.pointer("/verification/hash")
                .is_some_and(Value::is_string)
        {
            // Observed with Ignition 2.14 on a 3.0.0 config (3.1.0+ refuse it in validation).
            findings.push(Finding::new(
                Code::BadChildConfig,
                format!("{}: a replace with a verification hash but no source: Ignition fails the first boot", child_origin(origin, "/ignition/config/replace")),
            ));
        }
    }
    if let Some(replace) = config
        .pointer("/ignition/config/replace")
        .filter(|r| r.get("source").is_some_and(|s| !s.is_null()))
    {
        return match child_config(
            replace,
            spec,
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
            // 2.x spells it `enable` (deprecated) or `enabled`; in 3.x `enable` is an unknown key
            // (Ignition warns and ignores it).
            if let (true, Some(e), false) = (
                spec.legacy(),
                o.get("enable").cloned(),
                o.contains_key("enabled"),
            ) {
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
    for key in ["users", "groups"] {
        let items = config
            .pointer(&format!("/passwd/{key}"))
            .and_then(Value::as_array);
        for (i, u) in items.into_iter().flatten().enumerate() {
            if u.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                findings.push(Finding::new(
                    Code::FilesStageFails,
                    format!(
                        "{}: an entry without a name: Ignition fails the first boot",
                        child_origin(origin, &format!("/passwd/{key}/{i}"))
                    ),
                ));
            }
        }
    }
    let merges = config
        .pointer("/ignition/config/merge")
        .and_then(Value::as_array);
    for (i, m) in merges.into_iter().flatten().enumerate() {
        let ptr = format!("/ignition/config/merge/{i}");
        if m.get("source")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            // Only 3.0.0 lets this through validation; Ignition 2.14 then fails the boot (or,
            // with an empty string, drops the config).
            findings.push(Finding::new(
                Code::BadChildConfig,
                format!(
                    "{}: a merge entry without a source: Ignition fails the first boot",
                    child_origin(origin, &ptr)
                ),
            ));
            continue;
        }
        let Some((child, cspec)) = child_config(m, spec, origin, &ptr, budget, findings) else {
            continue;
        };
        let child = collect_nodes(
            &child,
            cspec,
            &nested_origin(origin, &ptr),
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
    parent: Spec,
    origin: &Origin,
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
    // A 3.0.0 config reference has no compression (2.14 config/v3_0/types: ConfigReference is
    // source and verification; other keys are ignored).
    let r_owned;
    let r = if parent.major == 3 && parent.minor == 0 {
        r_owned = json!({"source": src, "verification": r.get("verification")});
        &r_owned
    } else {
        r
    };
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
    // Ignition's fetch stage parses the child as any config it reads (config.Parse): Go's JSON
    // rules, a spec up to the newest the release knows (2.14: 3.3.0 for parents up to 3.3.0;
    // v2.20: 3.5.0), every Validate() rule; an invalid child fails the boot.
    let newest = if parent.major == 3 && parent.minor <= 3 {
        3
    } else {
        5
    };
    let parsed = super::gojson::parse(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|(v, _)| {
            let s = spec_of(&v).map_err(|p| p.to_string())?;
            if s.major != 3 || s.minor > newest {
                return Err(format!(
                    "spec {s} is not one the Ignition release reading a {parent} config parses (3.0.0 to 3.{newest}.0): it fails the boot"
                ));
            }
            let problems = super::check(&v, s);
            if let Some(p) = problems.first() {
                return Err(format!("{p}: Ignition fails the boot"));
            }
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
/// Files, directories and links share one key space (coreos/ignition `Storage.MergedKeys`:
/// all three are keyed as "Node"), so a child's entry of another kind at a parent's path replaces
/// the parent's entry whole.
fn merge_nodes(nodes: &mut Nodes, child: Nodes, _findings: &mut Vec<Finding>) {
    for (path, (cnode, corigin)) in child {
        match nodes.get_mut(&path) {
            Some((pnode, porigin)) if pnode.get("_kind") == cnode.get("_kind") => {
                merge_fields(pnode, &cnode);
                *porigin = corigin;
            }
            Some(_) | None => {
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
    origin: &Origin,
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
    configs: &[(&Value, Spec, &Origin)],
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
    let first = configs
        .first()
        .map(|c| c.2.to_string())
        .unwrap_or_else(|| "config".into());
    if budget.exceeded() {
        anyhow::bail!("{first}: {}", budget.message());
    }
    files_stage_failures(&nodes, view, overwrite_default, findings);
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

/// The failures of Ignition's files stage that a config already shows offline (coreos/ignition
/// `internal/exec/stages/files` and `util/file.go`, v2.14.0): an entry whose parent is a file
/// (written by the config or in the image), a link over an existing file without
/// `overwrite: true`, a hard link whose target is missing or a directory.
fn files_stage_failures(
    nodes: &Nodes,
    view: &NodeView,
    overwrite_default: bool,
    findings: &mut Vec<Finding>,
) {
    let kind_of = |p: &str| -> Option<&str> {
        nodes
            .get(p)
            .and_then(|(n, _)| n.get("_kind"))
            .and_then(Value::as_str)
    };
    let image_file = |p: &str| {
        view.files
            .get(p)
            .is_some_and(|e| matches!(e.content, Content::File { .. }))
    };
    let mut fail = |path: &str, origin: &Origin, msg: String| {
        findings.push(
            Finding::new(
                Code::FilesStageFails,
                format!("{path}: {msg}: Ignition fails the first boot"),
            )
            .at(path.to_string())
            .with_origin(origin),
        );
    };
    for (path, (node, origin)) in nodes {
        if path == "/" && node.get("_kind").and_then(Value::as_str) != Some("directories") {
            fail(path, origin, "a file or link at / itself".into());
            continue;
        }
        if let Some(name) = path.strip_prefix(UNIT_KEY) {
            // Enabling a template without an instance, or an instance whose unit (or template)
            // neither the config nor the image has, fails the preset step.
            if node.get("enabled").and_then(Value::as_bool) == Some(true) {
                if let Some((stem, inst)) = name.split_once('@') {
                    let template = format!("{stem}@.service");
                    let known = |n: &str| {
                        nodes.get(&format!("{UNIT_KEY}{n}")).is_some_and(|(u, _)| {
                            u.get("contents").and_then(Value::as_str).is_some()
                        }) || view.files.contains_key(&format!("{IGNITION_UNIT_DIR}/{n}"))
                    };
                    if inst.starts_with('.') {
                        fail(
                            name,
                            origin,
                            "enabling a template unit without an instance".into(),
                        );
                    } else if !known(name) && !known(&template) {
                        fail(
                            name,
                            origin,
                            format!(
                                "enabling {name}, whose unit and template {template} do not exist"
                            ),
                        );
                    }
                }
            }
            continue;
        }
        let mut parent = path.as_str();
        while let Some(i) = parent.rfind('/').filter(|&i| i > 0) {
            parent = &parent[..i];
            if kind_of(parent) == Some("files") || (kind_of(parent).is_none() && image_file(parent))
            {
                fail(path, origin, format!("{parent} is a file, not a directory"));
                break;
            }
        }
        if node.get("_kind").and_then(Value::as_str) != Some("links") {
            continue;
        }
        if node
            .get("target")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            fail(path, origin, "the link has no target".into());
            continue;
        }
        let overwrite = node
            .get("overwrite")
            .and_then(Value::as_bool)
            .unwrap_or(overwrite_default);
        if !overwrite && image_file(path) {
            fail(
                path,
                origin,
                "the image has a file here and the link does not set overwrite: true".into(),
            );
        }
        if node.get("hard").and_then(Value::as_bool) == Some(true) {
            let target = node.get("target").and_then(Value::as_str).unwrap_or("");
            let target = if target.starts_with('/') {
                super::validate::go_clean(target)
            } else {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                super::validate::go_clean(&format!("{dir}/{target}"))
            };
            match kind_of(&target) {
                Some("files") | Some("links") => {}
                Some(_) => fail(
                    path,
                    origin,
                    format!("hard link target {target} is a directory"),
                ),
                None if image_file(&target) => {}
                None => fail(
                    path,
                    origin,
                    format!("hard link target {target} does not exist"),
                ),
            }
        }
    }
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
fn overlay_unit(name: &str, node: &Value, origin: &Origin, view: &mut NodeView) {
    let origin = origin.clone().with_words(format!("({name})"));
    let unit_path = format!("{IGNITION_UNIT_DIR}/{name}");
    let file = |bytes: &str, origin: Origin| Entry {
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
                file(c, origin.clone().with_words(format!("drop-in {dname}"))),
            );
        }
    }
    match node.get("mask").and_then(Value::as_bool) {
        Some(true) => {
            view.files.insert(
                unit_path.clone(),
                Entry {
                    content: Content::Mask,
                    origin: origin.clone().with_words("(mask: true)"),
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
                        origin: origin.clone().with_words(format!(
                            "enabled: true (preset applied at first boot, WantedBy={target})"
                        )),
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
                    Ok(None) => {
                        return Err((
                            Code::FilesStageFails,
                            "an append entry has no source: Ignition fails the first boot".into(),
                        ))
                    }
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
