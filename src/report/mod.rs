//! Findings and verify reports, for people (text), scripts (JSON, per the contract) and CI systems
//! ([`ci`]: JUnit, SARIF, GitHub workflow commands).

pub mod ci;
pub mod place;

use std::fmt::Write as _;

use serde::Serialize;

use crate::findings::{Code, Finding, Severity};
use crate::layer::Layer;
use crate::node::{verdict, FileCheck, FileStatus, NodeView};

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
    /// Workloads that need the module and may land on this pool.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<crate::workloads::Workload>,
    /// For a hub: the cluster this report is of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
}

/// One cluster of a hub repository, as its reports describe it.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterInfo {
    /// The cluster's name (`clusterName`).
    pub name: String,
    /// Its namespace on the hub.
    pub namespace: String,
    /// What declares it: `ClusterInstance` or `SiteConfig`.
    pub kind: String,
    /// The file it is declared in.
    pub file: String,
    /// `SNO`, `compact` or `standard`, from its node roles.
    pub topology: String,
    /// Its ManagedCluster labels (what policies are bound by).
    pub labels: std::collections::BTreeMap<String, String>,
    /// Where its install-time (day-0) manifests come from.
    pub day0: Vec<String>,
    /// The policies bound to it (`NAMESPACE/NAME`).
    pub policies: Vec<String>,
    /// Day-0 objects its policies remove (`complianceType: mustnothave`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Where the MachineConfig that decides this pool's verdict comes from: `day-0 (ConfigMap
    /// NS/NAME)` or `policy NS/NAME`; none when nothing of the hub decides it (the base).
    pub source: Option<String>,
}

/// What a target shows of a node: one pool, one image platform, or the whole target; the node
/// view and what reading the target found on the way.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The pool this view is of, where the target renders pools.
    pub pool: Option<String>,
    /// The image platform (`linux/amd64`), where the target has several.
    pub platform: Option<String>,
    /// What the node will see.
    pub node: NodeView,
    /// What reading the target found.
    pub findings: Vec<Finding>,
    /// Whether the layer is meant for this view (the pool rule); a view that is not judged is
    /// reported and does not change the exit status.
    pub judged: bool,
    /// Workloads that need the module and whose pods may land on this pool.
    pub workloads: Vec<crate::workloads::Workload>,
}

impl View {
    /// A judged view of a whole target.
    pub fn whole(node: NodeView, findings: Vec<Finding>) -> View {
        View {
            node,
            findings,
            judged: true,
            ..View::default()
        }
    }
}

/// Judge a target's views: a report per judged view; each view that is not judged becomes an info
/// finding (`pool-not-judged`) on every report, so it does not change the exit status.
pub fn assess_all(target: &str, kind: &str, views: Vec<View>, layer: &Layer) -> Vec<TargetReport> {
    let (judged, others): (Vec<View>, Vec<View>) = views.into_iter().partition(|v| v.judged);
    let notes: Vec<Finding> = others
        .into_iter()
        .map(|v| {
            let pool = v.pool.clone().unwrap_or_default();
            let r = assess(target, kind, v, layer);
            let why = r
                .findings
                .iter()
                .find(|f| f.severity == Severity::Error)
                .map(|f| format!(": {}", f.message))
                .unwrap_or_default();
            Finding::new(
                Code::PoolNotJudged,
                format!(
                    "pool {pool}: not judged, the layer is not meant for it; {} would {}be loaded there{why} (judge it with --role {pool})",
                    layer.module,
                    if r.enabled { "" } else { "not " },
                ),
            )
        })
        .collect();
    judged
        .into_iter()
        .map(|v| {
            let mut r = assess(target, kind, v, layer);
            r.findings.extend(notes.iter().cloned());
            r
        })
        .collect()
}

/// Judge a view with a layer ([`verdict`]) and fold the target's own findings in: the one way
/// every target turns what a node will see into a report.
pub fn assess(target: &str, kind: &str, view: View, layer: &Layer) -> TargetReport {
    let v = verdict(&view.node, layer);
    let mut findings = view.findings;
    findings.extend(v.findings);
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let enabled = v.enabled && !findings.iter().any(|f| f.severity == Severity::Error);
    TargetReport {
        target: target.to_string(),
        kind: kind.to_string(),
        role: view.pool,
        platform: view.platform,
        layer: layer.name.clone(),
        module: layer.module.clone(),
        enabled,
        identical: v.files.iter().all(|c| c.status == FileStatus::Identical),
        files: v.files,
        findings,
        workloads: view.workloads,
        cluster: None,
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

/// A report's verdict for people: `TARGET (KIND) [pool P] [PLATFORM]: MODULE enabled`.
pub fn verdict_line(r: &TargetReport) -> String {
    let mut line = format!("{} ({})", r.target, r.kind);
    if let Some(p) = &r.role {
        line.push_str(&format!(" [pool {p}]"));
    }
    if let Some(p) = &r.platform {
        line.push_str(&format!(" [{p}]"));
    }
    let verdict = if r.enabled { "enabled" } else { "NOT enabled" };
    line.push_str(&format!(": {} {verdict}", r.module));
    line
}

/// Render reports for people. `verbose` adds info findings.
pub fn to_text(reports: &[TargetReport], verbose: bool) -> String {
    let mut out = cluster_table(reports);
    // Targets that could not be read were reported on standard error already.
    for r in reports.iter().filter(|r| r.kind != "unknown") {
        let _ = writeln!(out, "{}", verdict_line(r));
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
            if let Some(o) = f.shown_origin() {
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
            workloads: Vec::new(),
            cluster: None,
            findings: vec![Finding::new(Code::BadInput, message)],
        }
    }
}

/// For hub reports: a table with one row per cluster (cluster, topology, each judged pool's
/// verdict, where the deciding MachineConfig comes from, SCTP workloads and their pools).
pub fn cluster_table(reports: &[TargetReport]) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut last: Option<&str> = None;
    for r in reports {
        let Some(c) = &r.cluster else { continue };
        let pool = format!(
            "{}: {}",
            r.role.as_deref().unwrap_or("-"),
            if r.enabled { "enabled" } else { "NOT enabled" }
        );
        let source = c.source.clone().unwrap_or_else(|| "-".into());
        let work: Vec<String> = r
            .workloads
            .iter()
            .map(|w| format!("{} -> {}", w.id, r.role.as_deref().unwrap_or("-")))
            .collect();
        if last == Some(r.target.as_str()) {
            if let Some(row) = rows.last_mut() {
                row[2].push_str(&format!(", {pool}"));
                if row[3] != source {
                    row[3].push_str(&format!(", {source}"));
                }
                if !work.is_empty() {
                    if row[4] == "-" {
                        row[4].clear();
                    } else {
                        row[4].push_str(", ");
                    }
                    row[4].push_str(&work.join(", "));
                }
            }
            continue;
        }
        last = Some(r.target.as_str());
        rows.push([
            c.name.clone(),
            c.topology.clone(),
            pool,
            source,
            if work.is_empty() {
                "-".into()
            } else {
                work.join(", ")
            },
        ]);
    }
    if rows.is_empty() {
        return String::new();
    }
    let head = ["CLUSTER", "TOPOLOGY", "POOLS", "SOURCE", "SCTP WORKLOADS"];
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            if i == 4 {
                l.push_str(cell);
            } else {
                l.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(head);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out.push('\n');
    out
}
