//! Targets: what a TARGET argument names, how its kind is detected, and the apply/verify funnel
//! from each kind to the layer model and the shared evaluation.

pub mod installdir;
pub mod oci;
pub mod tree;

use std::fmt;
use std::path::Path;

use anyhow::{bail, Result};
use clap::ValueEnum;

use crate::findings::{Code, Finding};
use crate::formats::json::parse_named;
use crate::ignition::{self, Spec};
use crate::layer::Layer;
use crate::mco::McFile;
use crate::node::NodeView;
use crate::report::{assess, TargetReport};

/// The kinds of target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// An Ignition config (JSON with `ignition.version`).
    Ignition,
    /// A YAML or JSON file with at least one `kind: MachineConfig` document.
    Machineconfig,
    /// An openshift-install directory.
    InstallDir,
    /// `oci:DIR[:TAG]`, an OCI image layout.
    Oci,
    /// A root filesystem archive (`.tar`, `.tar.gz`, `.tgz`).
    Tar,
    /// A directory holding an OS root filesystem.
    Tree,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Kind::Ignition => "ignition",
            Kind::Machineconfig => "machineconfig",
            Kind::InstallDir => "install-dir",
            Kind::Oci => "oci",
            Kind::Tar => "tar",
            Kind::Tree => "tree",
        };
        f.write_str(s)
    }
}

/// Detect a target's kind from its name alone: `oci:`, archive suffixes, directories. `None`
/// means a file whose content decides (see [`sniff`]).
pub fn detect_by_name(target: &str) -> Option<Kind> {
    if target.starts_with("oci:") {
        return Some(Kind::Oci);
    }
    let lower = target.to_ascii_lowercase();
    if [".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|s| lower.ends_with(s))
    {
        return Some(Kind::Tar);
    }
    let p = Path::new(target);
    if target != "-" && p.is_dir() {
        if crate::targets::oci::is_layout(p) {
            return Some(Kind::Oci);
        }
        let installer = [
            "install-config.yaml",
            "agent-config.yaml",
            "manifests",
            "openshift",
            "bootstrap.ign",
            "metadata.json",
        ];
        if installer.iter().any(|n| p.join(n).exists()) {
            return Some(Kind::InstallDir);
        }
        return Some(Kind::Tree);
    }
    None
}

/// The `oci:` name of a target of kind oci (a bare layout directory gets the prefix).
pub fn oci_name(target: &str) -> String {
    if target.starts_with("oci:") {
        target.to_string()
    } else {
        format!("oci:{target}")
    }
}

/// Tell an Ignition config from a MachineConfig file by content.
pub fn sniff(bytes: &[u8]) -> Kind {
    let head = &bytes[..bytes.len().min(64 << 10)];
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') && !t.contains("\"MachineConfig\"") {
        Kind::Ignition
    } else {
        Kind::Machineconfig
    }
}

/// The outcome of applying a layer to a file target.
pub struct FileApply {
    /// The new bytes (equal to the input when nothing changed).
    pub bytes: Vec<u8>,
    /// Whether anything changed.
    pub changed: bool,
    /// What changed, for people.
    pub changes: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

fn parse_ignition(name: &str, bytes: &[u8]) -> Result<(serde_json::Value, Spec)> {
    let value = parse_named(name, bytes)?;
    let spec = ignition::spec_of(&value).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
    Ok((value, spec))
}

/// Read and validate an Ignition config: strict JSON, spec, the storage checks, and (3.x) the typed
/// specs — the typed parse runs on a second thread, since a bootstrap.ign can be tens of megabytes.
/// Returns the value, its spec and unused-key warnings.
fn read_ignition(name: &str, bytes: &[u8]) -> Result<(serde_json::Value, Spec, Vec<String>)> {
    let (parsed, typed) = std::thread::scope(|s| {
        let typed = s.spawn(|| ignition::validate_typed(bytes));
        let parsed = parse_ignition(name, bytes).and_then(|(value, spec)| {
            let problems: Vec<String> = ignition::check(&value, spec)
                .iter()
                .map(|p| format!("{name}: {p}"))
                .collect();
            if problems.is_empty() {
                Ok((value, spec))
            } else {
                bail!("{}", problems.join("\n"))
            }
        });
        (parsed, typed.join())
    });
    let (value, spec) = parsed?;
    if spec.legacy() {
        return Ok((value, spec, Vec::new()));
    }
    match typed {
        Ok(Ok(w)) => Ok((
            value,
            spec,
            w.into_iter().map(|w| format!("{name}: {w}")).collect(),
        )),
        Ok(Err(e)) => bail!("{name}: {e}"),
        Err(_) => bail!("{name}: validation failed unexpectedly"),
    }
}

/// Apply a layer to a file target's bytes.
pub fn apply_file(
    name: &str,
    kind: Kind,
    bytes: &[u8],
    layer: &Layer,
    roles: &[String],
) -> Result<FileApply> {
    match kind {
        Kind::Ignition => {
            let (value, spec, mut warnings) = read_ignition(name, bytes)?;
            let plan =
                ignition::plan(&value, spec, layer).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
            warnings.extend(plan.warnings.iter().map(|w| format!("{name}: {w}")));
            let out = ignition::apply_text(bytes, &[], &plan);
            Ok(FileApply {
                changed: out != bytes,
                bytes: out,
                changes: plan.changes,
                warnings,
            })
        }
        Kind::Machineconfig => {
            let file = McFile::parse(name, bytes)?;
            let patched = file.apply(layer, roles)?;
            let changed = patched.bytes.as_deref().is_some_and(|o| o != bytes);
            Ok(FileApply {
                bytes: patched.bytes.unwrap_or_else(|| bytes.to_vec()),
                changed,
                changes: patched.changes,
                warnings: patched.warnings,
            })
        }
        other => bail!("{name}: applying to {other} targets is not supported by this version"),
    }
}

/// Verify a file target's bytes.
pub fn verify_file(
    name: &str,
    kind: Kind,
    bytes: &[u8],
    layer: &Layer,
    roles: &[String],
) -> Result<Vec<TargetReport>> {
    match kind {
        Kind::Ignition => {
            let (value, spec, warnings) = read_ignition(name, bytes)?;
            let mut findings: Vec<Finding> = warnings
                .into_iter()
                .map(|w| Finding::new(Code::UnusedKey, w))
                .collect();
            let mut view = NodeView::rhcos(layer);
            ignition::overlay(&value, spec, name, &mut view, &mut findings);
            Ok(vec![assess(name, "ignition", None, &view, layer, findings)])
        }
        Kind::Machineconfig => {
            let file = McFile::parse(name, bytes)?;
            let problems = file.problems();
            if !problems.is_empty() {
                bail!("{}", problems.join("\n"));
            }
            Ok(file.verify(name, layer, roles))
        }
        other => bail!("{name}: verifying {other} targets is not supported by this version"),
    }
}
