//! Nesting: artifacts that hold other artifacts. One way in and one way out for each kind of
//! holder, each inner thing named by an [`Origin`] one link deeper than its holder:
//!
//! - An Ignition config holds files ([`ignition_files`], [`ignition_file`]): an install
//!   directory's `bootstrap.ign` holds the installer's manifests, a boot medium's config holds the
//!   agent's manifests, the installer's options and the installed system's config. Changing an
//!   inner file goes back into its holder through [`put_ignition_files`], which changes only that
//!   file's entries of the holder (see [`crate::targets::ignition::patch`]).
//! - A medium holds an Ignition config in its embed area (`targets::iso`, `targets::pxe`:
//!   `MEDIUM > ignition`), re-encoded by `iso::reencode` as the tool that made it did.
//! - A ConfigMap holds manifests in its `data` (ZTP extra manifests: `FILE > ConfigMap NS/NAME >
//!   data.KEY`, [`crate::mco::inventory::carried_origin`]); a hub holds clusters (`HUB > cluster
//!   NAME`); a KRM ResourceList holds items (`PATH > document N`).
//!
//! An inner thing of a kind modlayer reads as a target (an Ignition config inside a medium or
//! inside another config) is opened as one ([`open_inner`]): judged through the same trait
//! ([`inner_views`]) and patched through its own apply ([`apply_inner`]), then put back into its
//! holder. Inner manifests are [`Manifest`]s, read by the one inventory whatever holds them, so a
//! finding about one names the whole chain.

use anyhow::{bail, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use crate::formats::encoding::{decode_contents, is_data_url, Budget, Decoded};
use crate::formats::json::MAX_CONFIG_BYTES;
use crate::ignition::Spec;
use crate::layer::{Layer, LayerFile};
use crate::mco::inventory::Manifest;
use crate::mco::render::{manifest_file_name, render_machineconfigs};
use crate::node::NodeView;
use crate::origin::Origin;
use crate::report::View;
use crate::targets::{from_file, ApplyOpts, Dest, FileTarget, Kind, Target, VerifyOpts};

/// The files an Ignition config (`holder`) writes at paths `keep` takes, decoded from their
/// inline data, each a [`Manifest`] at `HOLDER > PATH` (in path order); a finding for each one
/// that cannot be read: a remote source (fetched by the node, not visible offline) or bad data
/// (bad input). An error when their decoded sizes pass a target's budget.
pub fn ignition_files(
    holder: &Origin,
    config: &Value,
    keep: impl Fn(&str) -> bool,
) -> Result<(Vec<Manifest>, Vec<Finding>)> {
    let mut out = Vec::new();
    let mut findings = Vec::new();
    let budget = Budget::per_target();
    let files = config.pointer("/storage/files").and_then(Value::as_array);
    for (i, f) in files.into_iter().flatten().enumerate() {
        let Some(path) = f.get("path").and_then(Value::as_str) else {
            continue;
        };
        if !keep(path) {
            continue;
        }
        match entry_bytes(f, &budget) {
            Ok(bytes) => out.push(Manifest {
                origin: holder.inner(path),
                bytes,
            }),
            Err(e) => {
                let remote = f
                    .pointer("/contents/source")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !is_data_url(s));
                let code = if remote {
                    Code::RemoteSource
                } else {
                    Code::ManifestUnreadable
                };
                let at = holder.clone().at_path(format!("storage.files[{i}]"));
                findings.push(
                    Finding::new(code, format!("{at} ({path}): {e:#}"))
                        .at(path.to_string())
                        .with_origin(at),
                );
            }
        }
    }
    if budget.exceeded() {
        bail!("{holder}: {}", budget.message());
    }
    out.sort_by_key(|m| m.name());
    Ok((out, findings))
}

/// The bytes an inline Ignition file entry carries (data URL, gzip when compressed), at most a
/// config's size, charged to the holder's `budget`.
pub fn entry_bytes(f: &Value, budget: &Budget) -> Result<Vec<u8>> {
    let src = f
        .pointer("/contents/source")
        .and_then(Value::as_str)
        .unwrap_or("data:,");
    if !is_data_url(src) {
        bail!(
            "the source {src} is not a data: URL: the node fetches it, it cannot be seen offline"
        );
    }
    let gzip = match f.pointer("/contents/compression").and_then(Value::as_str) {
        None | Some("") => false,
        Some("gzip") => true,
        Some(other) => bail!("unknown compression {other:?}"),
    };
    match decode_contents(src, gzip, None, MAX_CONFIG_BYTES, budget)?.0 {
        Decoded::Bytes(b) => Ok(b),
        Decoded::TooBig(n) => {
            bail!("{n} bytes, more than the {MAX_CONFIG_BYTES} a manifest may be")
        }
    }
}

/// The file an Ignition config (`holder`) writes at `path` (its last entry there), decoded;
/// `None` when it writes none.
pub fn ignition_file(holder: &Origin, config: &Value, path: &str) -> Result<Option<Vec<u8>>> {
    let files = config.pointer("/storage/files").and_then(Value::as_array);
    let Some(f) = files
        .into_iter()
        .flatten()
        .rev()
        .find(|f| f.get("path").and_then(Value::as_str) == Some(path))
    else {
        return Ok(None);
    };
    entry_bytes(f, &Budget::per_target())
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", holder.inner(path)))
}

/// An Ignition config (`holder`, its bytes `bytes`) with `files` written into it (new entries,
/// or the entries at their paths replaced), every other byte kept: the new bytes, what changed
/// (named by chain) and warnings.
pub fn put_ignition_files(
    holder: &Origin,
    bytes: &[u8],
    module: &str,
    files: Vec<LayerFile>,
) -> Result<(Vec<u8>, Vec<String>, Vec<String>)> {
    let layer = Layer {
        name: "inner".into(),
        module: module.to_string(),
        description: String::new(),
        files,
    };
    let (out, changes, warnings) =
        crate::targets::ignition::patch(&holder.to_string(), bytes, &layer)?;
    let changes = changes
        .into_iter()
        .map(|c| format!("{holder}: {c}"))
        .collect();
    Ok((out, changes, warnings))
}

/// The MachineConfig manifests that carry `layer` for `roles` inside an Ignition config
/// (`holder`, its value `config`), one file per role at `DIR/99_openshift-machineconfig_NAME.yaml`
/// (the installer's and the agent's naming): a manifest the config already holds there is
/// patched as a MachineConfig target of its own (its comments, quoting and other entries kept);
/// else the layer's MachineConfig is rendered in spec `spec`.
pub fn layer_manifests(
    holder: &Origin,
    config: &Value,
    dir: &str,
    layer: &Layer,
    roles: &[String],
    spec: Spec,
    opts: &ApplyOpts,
) -> Result<Vec<LayerFile>> {
    let mut out = Vec::new();
    for role in roles {
        let path = format!("{dir}{}", manifest_file_name(layer, role));
        let bytes = match ignition_file(holder, config, &path)? {
            Some(old) => {
                let one_role = ApplyOpts {
                    roles: vec![role.clone()],
                    ..opts.clone()
                };
                let origin = holder.inner(path.as_str());
                let inner = apply_inner(&origin, &old, Kind::Machineconfig, layer, &one_role)?;
                inner.bytes.unwrap_or(old)
            }
            None => {
                render_machineconfigs(layer, std::slice::from_ref(role), None, spec).into_bytes()
            }
        };
        out.push(LayerFile {
            path,
            mode: 0o644,
            bytes,
        });
    }
    Ok(out)
}

/// What a holder holds, opened as a target of its own kind (`kind`, or the kind its bytes show)
/// at `origin`: the same trait, the same readers and rules as a file of that kind.
pub fn open_inner(origin: &Origin, bytes: &[u8], kind: Option<Kind>) -> Box<dyn Target> {
    from_file(FileTarget::inner(origin.clone(), bytes.to_vec()), kind)
}

/// What a node sees of an inner target laid over `base` (a medium's base with its kernel
/// arguments, say): its views, read as a target of its own.
pub fn inner_views(
    origin: &Origin,
    bytes: &[u8],
    kind: Kind,
    layer: &Layer,
    base: NodeView,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    let seen = VerifyOpts {
        base: Some(base),
        ..opts.clone()
    };
    open_inner(origin, bytes, Some(kind)).views(layer, &seen)
}

/// An inner target with a layer applied, as its holder takes it back.
#[derive(Clone, Debug, Default)]
pub struct InnerApplied {
    /// Its new bytes; `None` when it is already up to date.
    pub bytes: Option<Vec<u8>>,
    /// What changed, named by chain.
    pub changes: Vec<String>,
    /// Things worth a look.
    pub warnings: Vec<String>,
}

/// Apply a layer to an inner target through its kind's own apply (byte-minimal), for its holder
/// to take back ([`put_ignition_files`] for a file of an Ignition config, a medium's area for its
/// config).
pub fn apply_inner(
    origin: &Origin,
    bytes: &[u8],
    kind: Kind,
    layer: &Layer,
    opts: &ApplyOpts,
) -> Result<InnerApplied> {
    let to_buffer = ApplyOpts {
        dest: Dest::Buffer,
        several: false,
        dry_run: false,
        ..opts.clone()
    };
    let applied = open_inner(origin, bytes, Some(kind)).apply(layer, &to_buffer)?;
    Ok(InnerApplied {
        bytes: applied.output.filter(|o| o.as_slice() != bytes),
        changes: applied
            .changes
            .into_iter()
            .map(|c| format!("{origin}: {c}"))
            .collect(),
        warnings: applied.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(files: Value) -> Value {
        serde_json::json!({"ignition": {"version": "3.2.0"}, "storage": {"files": files}})
    }

    #[test]
    fn inner_files_are_named_by_chain_and_unreadable_ones_found() {
        let holder = Origin::file("dir/bootstrap.ign");
        let c = config(serde_json::json!([
            {"path": "/opt/openshift/openshift/b.yaml", "contents": {"source": "data:,b"}},
            {"path": "/opt/openshift/openshift/a.yaml", "contents": {"source": "data:,a"}},
            {"path": "/opt/openshift/openshift/r.yaml", "contents": {"source": "https://x/r"}},
            {"path": "/opt/openshift/openshift/bad.yaml", "contents": {"source": "data:;base64,%"}},
            {"path": "/etc/other", "contents": {"source": "data:,x"}},
        ]));
        let (m, f) = ignition_files(&holder, &c, |p| p.starts_with("/opt/openshift/")).unwrap();
        let names: Vec<String> = m.iter().map(Manifest::name).collect();
        assert_eq!(
            names,
            [
                "dir/bootstrap.ign > /opt/openshift/openshift/a.yaml",
                "dir/bootstrap.ign > /opt/openshift/openshift/b.yaml"
            ]
        );
        assert_eq!(m[0].bytes, b"a");
        assert_eq!(m[0].origin.root_file(), Some("dir/bootstrap.ign"));
        let codes: Vec<Code> = f.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::RemoteSource, Code::ManifestUnreadable]);
        assert!(
            f[0].message.starts_with(
                "dir/bootstrap.ign $.storage.files[2] (/opt/openshift/openshift/r.yaml): "
            ),
            "{}",
            f[0].message
        );
        assert_eq!(
            ignition_file(&holder, &c, "/etc/other").unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(ignition_file(&holder, &c, "/etc/none").unwrap(), None);
    }

    #[test]
    fn putting_a_file_back_changes_only_its_entry() {
        let holder = Origin::file("live.ign");
        let before = b"{\n  \"ignition\": {\"version\": \"3.2.0\"},\n  \"passwd\": {}\n}\n";
        let (after, changes, _) = put_ignition_files(
            &holder,
            before,
            "sctp",
            vec![LayerFile {
                path: "/etc/x".into(),
                mode: 0o644,
                bytes: b"inner".to_vec(),
            }],
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&after).unwrap();
        assert_eq!(v["passwd"], serde_json::json!({}));
        let c = config(v["storage"]["files"].clone());
        assert_eq!(
            ignition_file(&holder, &c, "/etc/x").unwrap(),
            Some(b"inner".to_vec())
        );
        assert!(
            changes.iter().all(|c| c.starts_with("live.ign: ")),
            "{changes:?}"
        );
        assert!(
            after.starts_with(b"{\n  \"ignition\": {\"version\": \"3.2.0\"},\n  \"passwd\": {}")
        );
    }
}
