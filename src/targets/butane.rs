//! Butane sources: verified by translating them as Butane does and judging the result with the
//! readers every Ignition config or MachineConfig goes through (the openshift variant's
//! MachineConfig through the one inventory, so the pool rule applies); patched by splicing the
//! layer's files into the source's own `storage.files` (every comment kept).

use anyhow::{bail, Result};
use serde_json::Value;

use crate::butane::{self, Local, Source};
use crate::findings::{Code, Finding};
use crate::formats::json::Splice;
use crate::formats::yaml;
use crate::formats::yaml_edit::Editor;
use crate::ignition::{self, Edit, Plan};
use crate::layer::Layer;
use crate::mco::ROLE_LABEL;
use crate::report::View;
use crate::targets::ignition::IgnitionTarget;
use crate::targets::machineconfig::MachineConfigTarget;
use crate::targets::{Applied, ApplyOpts, FileTarget, Kind, Target, VerifyOpts};

/// A Butane source file (or standard input).
pub struct ButaneTarget {
    /// The file.
    pub file: FileTarget,
}

/// Keys a missing Butane section is inserted before: the order Butane's documentation uses.
fn comes_before(key: &str) -> &'static [&'static str] {
    match key {
        "storage" => &[
            "systemd",
            "passwd",
            "kernel_arguments",
            "boot_device",
            "grub",
            "openshift",
        ],
        "files" => &["directories", "links", "luks", "trees"],
        _ => &[],
    }
}

impl ButaneTarget {
    /// The translation as a file of the kind it is (the MachineConfigs of openshift sources, or
    /// an Ignition config), named after the source, and the options to judge it with (the
    /// release an openshift source is for, unless --openshift-version names another).
    fn translated(&self, opts: &VerifyOpts) -> Result<(Box<dyn Target>, VerifyOpts, Vec<Finding>)> {
        let sources = [Source::read(&self.file.name, &self.file.bytes)?];
        let mut notes = Vec::new();
        let mut found = Vec::new();
        let mut release = opts.release;
        let mut machineconfigs = Vec::new();
        let mut config = None;
        for source in &sources {
            let t = source.translate(Local::Dir(opts.files_dir.as_deref()))?;
            release = release.or(source.release());
            notes.extend(t.notes);
            for w in &t.warnings {
                let message = format!("{}: warning at {}: {}", w.at, w.path, w.message);
                found.push(Finding::new(Code::ButaneWarning, message).at(w.path.clone()));
            }
            for at in &t.ignored {
                let message = format!("{at}: a YAML document after the first: Butane translates only the first document of a file and ignores this one (put each config in its own file)");
                found.push(Finding::new(Code::ButaneDocumentIgnored, message));
            }
            match t.machineconfig {
                Some(mc) => machineconfigs.push(yaml::to_yaml(&mc)),
                None => config = Some(t.config),
            }
        }
        let file = |bytes: Vec<u8>| FileTarget {
            given: self.file.given.clone(),
            name: format!("{} (translated)", self.file.name),
            origin: self.file.origin.clone().with_words("(translated)"),
            bytes: bytes.into(),
        };
        let target: Box<dyn Target> = match config {
            Some(c) => Box::new(IgnitionTarget {
                file: file(serde_json::to_vec_pretty(&c).unwrap_or_default()),
            }),
            None => Box::new(MachineConfigTarget {
                file: file(machineconfigs.join("---\n").into_bytes()),
            }),
        };
        let opts = VerifyOpts {
            release,
            ..opts.clone()
        };
        let notes = notes
            .into_iter()
            .map(|n| Finding::new(Code::ButaneNotTranslated, n));
        found.extend(notes);
        Ok((target, opts, found))
    }
}

/// What applying a layer to one Butane document does: the edits in Butane form, what changes,
/// warnings and notes.
struct DocumentPlan {
    edits: Vec<Edit>,
    changes: Vec<String>,
    warnings: Vec<String>,
    notes: Vec<String>,
}

/// Plan the layer's entries for one Butane document (`None`: not for the roles asked).
fn plan_document(
    name: &str,
    source: &Source,
    layer: &Layer,
    opts: &ApplyOpts,
) -> Result<Option<DocumentPlan>> {
    let local = match &opts.files_dir {
        Some(dir) => Local::Dir(Some(dir)),
        None => Local::Unread,
    };
    let t = source.translate(local)?;
    if let (Some(mc), false) = (&t.machineconfig, opts.roles.is_empty()) {
        let role = mc["metadata"]["labels"][ROLE_LABEL].as_str().unwrap_or("");
        if !opts.roles.iter().any(|r| r == role) {
            return Ok(None);
        }
    }
    let plan =
        ignition::plan(&t.config, t.spec, layer).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
    let written = source
        .doc()
        .value
        .pointer("/storage/files")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let entry = |v: &Value| {
        let path = v.get("path").and_then(Value::as_str);
        let file = layer.files.iter().find(|f| Some(f.path.as_str()) == path);
        file.map(butane::layer_entry).unwrap_or(Value::Null)
    };
    let mut edits = Vec::new();
    for e in &plan.edits {
        edits.push(match e {
            Edit::Replace(i, v) if *i >= written => {
                let path = v.get("path").and_then(Value::as_str).unwrap_or("");
                bail!("{name}: {path} comes from a storage.trees directory: change the file there (or take it out of the tree) instead")
            }
            Edit::Replace(i, v) => Edit::Replace(*i, entry(v)),
            Edit::Append(v) => Edit::Append(entry(v)),
        });
    }
    let doc_name = t
        .machineconfig
        .as_ref()
        .and_then(|mc| mc["metadata"]["name"].as_str())
        .map(|n| format!("MachineConfig {n}: "))
        .unwrap_or_default();
    Ok(Some(DocumentPlan {
        edits,
        changes: plan
            .changes
            .iter()
            .map(|c| format!("{doc_name}{c}"))
            .collect(),
        warnings: plan
            .warnings
            .iter()
            .map(|w| format!("{name}: {w}"))
            .chain(t.ignored.iter().map(|at| {
                format!("{at}: a YAML document after the first: Butane ignores it, and so does apply (put each config in its own file)")
            }))
            .collect(),
        notes: t.notes,
    }))
}

impl Target for ButaneTarget {
    fn kind(&self) -> Kind {
        Kind::Butane
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        self.file.check_dest(opts)?;
        let name = &self.file.name;
        let sources = [Source::read(name, &self.file.bytes)?];
        let mut splice = Splice::default();
        let (mut changes, mut warnings, mut notes, mut selected) = (vec![], vec![], vec![], 0);
        for source in &sources {
            let Some(plan) = plan_document(name, source, layer, opts)? else {
                continue;
            };
            selected += 1;
            if !plan.edits.is_empty() {
                let mut new_doc = source.doc().value.clone();
                let butane_plan = Plan {
                    edits: plan.edits.clone(),
                    ..Plan::default()
                };
                ignition::apply_value(&mut new_doc, &butane_plan);
                let editor = Editor::new(name, source.text(), source.doc(), true);
                let edits = &plan.edits;
                ignition::apply_yaml(&editor, "", edits, &new_doc, comes_before, &mut splice)?;
            }
            changes.extend(plan.changes);
            warnings.extend(plan.warnings);
            notes.extend(plan.notes);
        }
        if selected == 0 {
            bail!(
                "{name}: no MachineConfig for role {}",
                opts.roles.join(", ")
            );
        }
        let out = splice.apply(&self.file.bytes);
        let mut applied = self.file.emit(out, changes, opts)?;
        applied.warnings = warnings;
        applied.notes = notes;
        Ok(applied)
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let (target, opts, found) = self.translated(opts)?;
        let mut views = target.views(layer, &opts)?;
        for view in &mut views {
            view.findings.extend(found.iter().cloned());
        }
        Ok(views)
    }
}
