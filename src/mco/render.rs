//! The one pool render: MachineConfigs of a pool, in the MCO's order, merged over the base state
//! (later wins, field by field), kernel arguments concatenated, what the MCO refuses reported; and
//! the MachineConfigs modlayer writes.

use serde_json::{json, Map, Value};

use crate::findings::{Code, Finding};
use crate::formats::yaml;
use crate::ignition::{self, Spec};
use crate::layer::Layer;
use crate::mco::file::MachineConfig;
use crate::mco::release::Release;
use crate::mco::{API_VERSION, ROLE_LABEL};
use crate::node::{split_kernel_args, NodeView};
use crate::origin::Origin;

/// Render a pool as the MCO does — `members` already in render order, each with its origin
/// (`FILE > MachineConfig NAME`) — over the base state the OS image ships: configs merged in order
/// (later wins, field by field), kernel arguments concatenated; what the MCO refuses becomes an
/// error. Files that no MachineConfig gives `overwrite` get `true` when the release's MCO sets
/// that default ([`Release::defaults_overwrite`]; no release: [`Release::NEWEST`]). An error when
/// the configs' decoded contents pass the target's `budget`.
pub fn render_pool(
    members: &[(&MachineConfig, &Origin)],
    base: &NodeView,
    release: Option<Release>,
    findings: &mut Vec<Finding>,
    budget: &crate::formats::encoding::Budget,
) -> anyhow::Result<NodeView> {
    render_pool_at(members, base, release, findings, budget, false)
}

/// [`render_pool`] for MachineConfigs given at install time (`install_time`: an install
/// directory's manifests, which Ignition applies on the first boot) or as day-2 changes: disks,
/// filesystems, RAID and LUKS are refused only as day-2 changes.
pub fn render_pool_at(
    members: &[(&MachineConfig, &Origin)],
    base: &NodeView,
    release: Option<Release>,
    findings: &mut Vec<Finding>,
    budget: &crate::formats::encoding::Budget,
    install_time: bool,
) -> anyhow::Result<NodeView> {
    let mut view = base.clone();
    let mut configs = Vec::new();
    for (mc, origin) in members {
        if let Some((c, spec)) = &mc.config {
            mco_refusals(c, origin, install_time, findings);
            configs.push((c, *spec, *origin));
        }
        for a in &mc.kernel_args {
            for k in split_kernel_args(a) {
                view.kernel_args.push((k, (*origin).clone()));
            }
        }
    }
    let overwrite = release.unwrap_or(Release::NEWEST).defaults_overwrite();
    ignition::overlay_merged(&configs, overwrite, &mut view, findings, budget)?;
    Ok(view)
}

/// What the MCO refuses in a MachineConfig's config (it degrades the pool instead of applying it):
/// non-data sources, append, modes above 0777, directories, links, disks, filesystems, RAID, LUKS,
/// users other than core. At install time disks, filesystems, RAID and LUKS are Ignition's to
/// set up on the first boot (the documented install-time disk encryption and partitioning).
fn mco_refusals(config: &Value, origin: &Origin, install_time: bool, findings: &mut Vec<Finding>) {
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
        if install_time && matches!(list, "disks" | "filesystems" | "raid" | "luks") {
            continue;
        }
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

/// The MachineConfig name modlayer gives a layer for a role: `load-<module>-module-<role>`, a
/// valid object name (`_` in module names becomes `-`; module names and roles are checked
/// lowercase where they are read).
pub fn machineconfig_name(layer: &Layer, role: &str) -> String {
    format!(
        "load-{}-module-{role}",
        layer.module.replace('_', "-").to_ascii_lowercase()
    )
}

/// The manifest file name the MachineConfig for a role is written as in an install directory
/// (named like the installer's own `99_openshift-machineconfig_99-worker-ssh.yaml`).
pub fn manifest_file_name(layer: &Layer, role: &str) -> String {
    format!(
        "99_openshift-machineconfig_{}.yaml",
        machineconfig_name(layer, role)
    )
}

/// `render machineconfig`: one YAML document per role, `---` between.
pub fn render_machineconfigs(
    layer: &Layer,
    roles: &[String],
    name: Option<&str>,
    spec: Spec,
) -> String {
    let mut out = String::new();
    for (i, role) in roles.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let name = match name {
            Some(n) if roles.len() == 1 => n.to_string(),
            Some(n) => format!("{n}-{role}"),
            None => machineconfig_name(layer, role),
        };
        out.push_str(&yaml::to_yaml(&layer_machineconfig(
            layer, role, &name, spec,
        )));
    }
    out
}
