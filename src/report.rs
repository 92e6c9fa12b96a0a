//! Findings and verify reports, for people (text) and scripts (JSON, per the contract).

use std::fmt::Write as _;

use serde::Serialize;

use crate::findings::{Code, Finding, Severity};
use crate::layer::Layer;
use crate::node::{compare_layer, evaluate, Evaluation, FileCheck, FileStatus, NodeView};

/// The verify result for one target (and, for several pools, one pool of it).
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    /// The target as the user named it.
    pub target: String,
    /// Its kind.
    pub kind: String,
    /// The pool/role this result is for, where the target has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The image platform (`linux/amd64`) this result is for, where the target has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The layer checked.
    pub layer: String,
    /// The module checked.
    pub module: String,
    /// Whether the module will be loaded at boot.
    pub enabled: bool,
    /// Whether every layer file is byte-identical (and of the same mode).
    pub identical: bool,
    /// Each layer file against the node.
    pub files: Vec<FileCheck>,
    /// Everything found, most serious first.
    pub findings: Vec<Finding>,
}

/// Evaluate a view with a layer and fold the target's own findings in: the one way every target
/// turns what a node will see into a report.
pub fn assess(
    target: &str,
    kind: &str,
    role: Option<String>,
    view: &NodeView,
    layer: &Layer,
    mut findings: Vec<Finding>,
) -> TargetReport {
    let ev: Evaluation = evaluate(view, &layer.module);
    let files = compare_layer(view, layer);
    findings.extend(ev.blocks.iter().cloned());
    findings.extend(ev.unknown.iter().cloned());
    if ev.loads.is_empty() {
        findings.push(Finding::new(Code::ModuleNotListed,
            format!(
                "nothing lists {} for loading at boot (no modules-load.d entry, no modules_load= argument)",
                layer.module
            ),
        ));
    }
    if ev.loads.is_empty() && ev.blocks.is_empty() && ev.unknown.is_empty() {
        findings.push(Finding::new(Code::AutoloadOnly,
            format!(
                "nothing blocks {m}, so the first {m} socket loads it on demand; it is just not loaded at boot",
                m = layer.module
            ),
        ));
    }
    findings.extend(ev.loads.iter().cloned());
    if view.kernels.is_none() {
        findings.push(Finding::new(Code::KernelNotVisible,
            format!(
                "this target carries no kernel: the image must ship the {} module (RHEL CoreOS does; Fedora CoreOS lacks kernel-modules-extra)",
                layer.module
            ),
        ));
    }
    for c in &files {
        let (code, what) = match c.status {
            FileStatus::Identical => continue,
            FileStatus::Differs => (Code::LayerFileDiffers, "differs from the layer"),
            FileStatus::Missing => (Code::LayerFileMissing, "is not written"),
            FileStatus::Unknown => (Code::LayerFileUnknown, "cannot be seen offline"),
        };
        let mut f = Finding::new(
            code,
            format!(
                "{} {what} (layer sha256 {} mode {}, node sha256 {} mode {})",
                c.path,
                c.expected_sha256,
                c.expected_mode,
                c.actual_sha256.as_deref().unwrap_or("-"),
                c.actual_mode.as_deref().unwrap_or("-"),
            ),
        )
        .at(c.path.clone());
        f.origin = c.origin.clone();
        findings.push(f);
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let enabled = ev.enabled() && !findings.iter().any(|f| f.severity == Severity::Error);
    TargetReport {
        target: target.to_string(),
        kind: kind.to_string(),
        role,
        platform: None,
        layer: layer.name.clone(),
        module: layer.module.clone(),
        enabled,
        identical: files.iter().all(|c| c.status == FileStatus::Identical),
        files,
        findings,
    }
}

/// A whole verify run.
#[derive(Serialize)]
pub struct Report<'a> {
    /// One object per target (per pool), in the order given.
    pub targets: &'a [TargetReport],
}

/// Render reports as JSON (one object with `targets`).
pub fn to_json(reports: &[TargetReport]) -> String {
    let mut s = serde_json::to_string_pretty(&Report { targets: reports })
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Render reports for people. `verbose` adds info findings.
pub fn to_text(reports: &[TargetReport], verbose: bool) -> String {
    let mut out = String::new();
    // Targets that could not be read were reported on standard error already.
    for r in reports.iter().filter(|r| r.kind != "unknown") {
        let mut role = r
            .role
            .as_deref()
            .map(|p| format!(" [pool {p}]"))
            .unwrap_or_default();
        if let Some(p) = &r.platform {
            role.push_str(&format!(" [{p}]"));
        }
        let verdict = if r.enabled { "enabled" } else { "NOT enabled" };
        let _ = writeln!(
            out,
            "{} ({}){role}: {} {verdict}",
            r.target, r.kind, r.module
        );
        for c in &r.files {
            let status = match c.status {
                FileStatus::Identical => "identical",
                FileStatus::Differs => "differs",
                FileStatus::Missing => "missing",
                FileStatus::Unknown => "unknown",
            };
            let _ = writeln!(out, "  {status:<9} {}", c.path);
        }
        for f in r
            .findings
            .iter()
            .filter(|f| verbose || f.severity != Severity::Info)
        {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let _ = write!(out, "  {sev}[{}]: {}", f.code, f.message);
            if let Some(o) = &f.origin {
                let _ = write!(out, " (from {o})");
            }
            out.push('\n');
        }
    }
    out
}

impl TargetReport {
    /// The report for a target that could not be read at all (exit status 2).
    pub fn failed(target: &str, layer: &Layer, message: String) -> TargetReport {
        TargetReport {
            target: target.to_string(),
            kind: "unknown".to_string(),
            role: None,
            platform: None,
            layer: layer.name.clone(),
            module: layer.module.clone(),
            enabled: false,
            identical: false,
            files: Vec::new(),
            findings: vec![Finding::new(Code::BadInput, message)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Content, Entry};

    #[test]
    fn autoload_only_is_told_apart_from_blocked() {
        let layer = Layer::builtin("sctp").unwrap();
        let mut view = NodeView::rhcos(&layer);
        let codes = |v: &NodeView| -> Vec<String> {
            assess("t", "ignition", None, v, &layer, Vec::new())
                .findings
                .into_iter()
                .map(|f| f.code.to_string())
                .collect()
        };
        assert!(!codes(&view).contains(&"autoload-only".to_string()));
        view.files.insert(
            "/etc/modprobe.d/sctp-blacklist.conf".into(),
            Entry {
                content: Content::File {
                    bytes: Vec::new(),
                    mode: Some(0o644),
                },
                origin: "t".into(),
            },
        );
        let c = codes(&view);
        assert!(
            c.contains(&"autoload-only".to_string())
                && c.contains(&"module-not-listed".to_string()),
            "{c:?}"
        );
        assert!(!assess("t", "ignition", None, &view, &layer, Vec::new()).enabled);
    }
}
