//! The one evaluation of "is the module blocked, is it loaded" that every target feeds, and the
//! verdict built on it. The rules it applies are in [`crate::node::rules`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::findings::{Code, Finding};
use crate::formats::encoding::sha256_hex;
use crate::layer::Layer;
use crate::node::rules::{
    is_config_name, modprobe_lines, module_command, normalize_module, simple_commands,
    split_command, unit_lines, BlockKind, Loader, ModuleAction, BOOT_TARGETS, EXEC_START_KEYS,
    MODPROBE_DIRS, MODULES_LOAD_DIRS,
};
use crate::node::{Content, Entry, Kernel, NodeView, Unit};
use crate::origin::Origin;

/// The verdict on one module for one node view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// The module evaluated.
    pub module: String,
    /// Everything that keeps it from loading at boot (empty when some loader gets past every block).
    pub blocks: Vec<Finding>,
    /// Everything that loads it at boot (blocked or not).
    pub loads: Vec<Finding>,
    /// Entries that cannot be seen offline and could change the verdict.
    pub unknown: Vec<Finding>,
    /// For information: blocks that do not stop the loader that loads it, install commands that
    /// still insert it, units that would load it but do not start at boot.
    pub notes: Vec<Finding>,
    /// Installed kernels, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels: Option<Vec<Kernel>>,
}

impl Evaluation {
    /// Whether the module will be loaded at boot: some loader gets past every block, nothing
    /// unseen could change that, and every known kernel carries it.
    pub fn enabled(&self) -> bool {
        self.blocks.is_empty() && !self.loads.is_empty() && self.unknown.is_empty()
    }
}

/// What the scans find before the blocks are matched with the loaders they stop.
#[derive(Default)]
struct Scan {
    blocks: Vec<(BlockKind, Finding)>,
    loads: Vec<(Loader, Finding)>,
    unknown: Vec<Finding>,
    notes: Vec<Finding>,
}

impl Scan {
    fn block(
        &mut self,
        kind: BlockKind,
        code: Code,
        message: String,
        path: Option<&str>,
        origin: Option<&Origin>,
    ) {
        self.blocks
            .push((kind, finding(code, message, path, origin)));
    }
    fn load(
        &mut self,
        loader: Loader,
        code: Code,
        message: String,
        path: Option<&str>,
        origin: Option<&Origin>,
    ) {
        self.loads
            .push((loader, finding(code, message, path, origin)));
    }
}

fn finding(code: Code, message: String, path: Option<&str>, origin: Option<&Origin>) -> Finding {
    Finding {
        severity: code.severity(),
        code,
        message,
        path: path.map(str::to_string),
        origin: origin.cloned(),
        place: None,
    }
}

/// The files systemd/kmod read from a set of configuration directories: `*.conf` only, a name in a
/// higher directory replaces the same name lower down, all names taken in filename order.
fn effective<'a>(view: &'a NodeView, dirs: &[&str]) -> Vec<(&'a str, &'a Entry)> {
    let mut by_name: BTreeMap<&str, (usize, &str, &Entry)> = BTreeMap::new();
    for (path, entry) in &view.files {
        let Some((dir, name)) = path.rsplit_once('/') else {
            continue;
        };
        let Some(rank) = dirs.iter().position(|d| *d == dir) else {
            continue;
        };
        if !is_config_name(name) {
            continue;
        }
        match by_name.get(name) {
            Some((r, _, _)) if *r <= rank => {}
            _ => {
                by_name.insert(name, (rank, path.as_str(), entry));
            }
        }
    }
    by_name.into_values().map(|(_, p, e)| (p, e)).collect()
}

/// Whether an `install` command still inserts the module (re-invokes modprobe ignoring install
/// commands, or insmod), rather than replacing loading with something else (`/bin/true`, `/bin/false`).
fn install_still_loads(command: &[&str], module: &str) -> bool {
    let names_module = command.iter().any(|w| normalize_module(w) == module);
    let runs_modprobe_ignoring = command.iter().any(|w| w.ends_with("modprobe"))
        && command
            .iter()
            .any(|w| *w == "--ignore-install" || *w == "-i");
    let runs_insmod = command.iter().any(|w| w.ends_with("insmod"));
    names_module && (runs_modprobe_ignoring || runs_insmod)
}

fn scan_modprobe(path: &str, entry: &Entry, text: &str, module: &str, scan: &mut Scan) {
    let origin = Some(&entry.origin);
    for (line, logical) in modprobe_lines(text) {
        // kmod: a comment is a line whose first byte is '#'; a '#' later is just a word.
        if logical.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = logical
            .split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            ["blacklist", name, ..] if normalize_module(name) == module => scan.block(
                BlockKind::Blacklist,
                Code::ModuleBlacklisted,
                format!(
                    "{path}:{line}: `blacklist {name}` keeps systemd-modules-load (and `modprobe -b`) from loading it"
                ),
                Some(path),
                origin,
            ),
            ["install", name, command @ ..] if normalize_module(name) == module => {
                if install_still_loads(command, module) {
                    scan.notes.push(finding(
                        Code::InstallLoads,
                        format!("{path}:{line}: install command still inserts the module"),
                        Some(path),
                        origin,
                    ));
                } else {
                    scan.block(
                        BlockKind::Install,
                        Code::InstallOverride,
                        format!(
                            "{path}:{line}: `install {name} {}` runs instead of loading the module",
                            command.join(" ")
                        ),
                        Some(path),
                        origin,
                    );
                }
            }
            _ => {}
        }
    }
}

fn scan_modules_load(path: &str, entry: &Entry, text: &str, module: &str, scan: &mut Scan) {
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if normalize_module(l) == module {
            scan.load(
                Loader::ModulesLoad,
                Code::ModuleListed,
                format!("{path}:{}: lists {l} for loading at boot", i + 1),
                Some(path),
                Some(&entry.origin),
            );
        }
    }
}

fn scan_kernel_arg(arg: &str, origin: &Origin, module: &str, scan: &mut Scan) {
    let Some((key, value)) = arg.split_once('=') else {
        return;
    };
    let listed = value.split(',').any(|m| normalize_module(m) == module);
    if !listed {
        return;
    }
    let message = |what: &str| format!("kernel argument `{arg}` {what}");
    match key.replace('-', "_").as_str() {
        "module_blacklist" => scan.block(
            BlockKind::Kernel,
            Code::KernelArgModuleBlacklist,
            message("makes the kernel refuse the module"),
            None,
            Some(origin),
        ),
        "modprobe.blacklist" => scan.block(
            BlockKind::Blacklist,
            Code::KernelArgModprobeBlacklist,
            message(
                "blacklists the module in kmod (systemd-modules-load and `modprobe -b` skip it)",
            ),
            None,
            Some(origin),
        ),
        "modules_load" => scan.load(
            Loader::ModulesLoad,
            Code::KernelArgModulesLoad,
            message("has systemd-modules-load load it"),
            None,
            Some(origin),
        ),
        _ => {}
    }
}

/// What one unit's start commands do to the module, and whether it starts at boot.
fn scan_unit(unit: &Unit, module: &str, scan: &mut Scan) {
    let Some((path, entry)) = &unit.file else {
        return;
    };
    let text = match &entry.content {
        Content::File { bytes, .. } => String::from_utf8_lossy(bytes).into_owned(),
        Content::Mask => return,
        Content::Unknown(why) => {
            if unit.masked.is_none() && !unit.boot_targets().is_empty() {
                scan.unknown.push(finding(
                    Code::ContentNotVisible,
                    format!("{path}: unit {} starts at boot but {why}", unit.name),
                    Some(path),
                    Some(&entry.origin),
                ));
            }
            return;
        }
        Content::Link(target) => {
            if unit.masked.is_none() && !unit.boot_targets().is_empty() {
                scan.unknown.push(finding(
                    Code::ContentNotVisible,
                    format!(
                        "{path}: unit {} starts at boot but is a link to {target}, not resolved",
                        unit.name
                    ),
                    Some(path),
                    Some(&entry.origin),
                ));
            }
            return;
        }
    };
    // The start commands, drop-ins after the unit file in name order; an empty value resets.
    let mut commands: Vec<(String, String, String)> = Vec::new();
    let mut sources: Vec<(&str, String)> = vec![(path.as_str(), text)];
    for (dpath, dentry) in &unit.dropins {
        if let Content::File { bytes, .. } = &dentry.content {
            sources.push((dpath.as_str(), String::from_utf8_lossy(bytes).into_owned()));
        }
    }
    for (src, text) in &sources {
        for l in unit_lines(text) {
            if l.section != "Service" || !EXEC_START_KEYS.contains(&l.key.as_str()) {
                continue;
            }
            if l.value.is_empty() {
                commands.retain(|(k, _, _)| *k != l.key);
                continue;
            }
            commands.push((l.key.clone(), format!("{src}:{}", l.line), l.value.clone()));
        }
    }
    let origin = &entry.origin;
    let targets = unit.boot_targets();
    let actions = commands.iter().flat_map(|(key, at, value)| {
        simple_commands(&split_command(value))
            .into_iter()
            .filter_map(|c| module_command(&c))
            .map(move |a| (key, at, value, a))
    });
    for (key, at, value, (action, names)) in actions {
        if !names.iter().any(|n| normalize_module(n) == module) {
            continue;
        }
        let what = format!("unit {} ({at}) runs `{key}={value}`", unit.name);
        if let Some(mask) = &unit.masked {
            scan.notes.push(finding(
                Code::UnitNotAtBoot,
                format!("{what}, but the unit is masked ({mask})"),
                Some(path),
                Some(origin),
            ));
            continue;
        }
        if targets.is_empty() {
            let wanted: Vec<&str> = unit.wanted_by.iter().map(|(t, _)| t.as_str()).collect();
            scan.notes.push(finding(
                Code::UnitNotAtBoot,
                format!(
                    "{what}, but the unit is not enabled into a boot target ({}; wanted by: {})",
                    BOOT_TARGETS.join(", "),
                    if wanted.is_empty() {
                        "nothing".to_string()
                    } else {
                        wanted.join(", ")
                    }
                ),
                Some(path),
                Some(origin),
            ));
            continue;
        }
        let enabled = targets
            .iter()
            .map(|(t, o)| format!("{t} by {o}"))
            .collect::<Vec<_>>()
            .join("; ");
        match action {
            // Loaded earlier at boot, such a module cannot be removed (see HELD_ONCE_LOADED).
            ModuleAction::Remove if crate::node::rules::HELD_ONCE_LOADED.contains(&module) => {
                scan.notes.push(finding(
                    Code::UnitRemoveFails,
                    format!("{what} at boot (enabled into {enabled}): the removal fails, {module} holds itself once loaded (\"Module {module} is in use\")"),
                    Some(path),
                    Some(origin),
                ))
            }
            ModuleAction::Remove => scan.block(
                BlockKind::Kernel,
                Code::UnitRemoves,
                format!("{what} at boot (enabled into {enabled}): it removes the module"),
                Some(path),
                Some(origin),
            ),
            ModuleAction::Modprobe { blacklist, install } => {
                let obeys = match (blacklist, install) {
                    (true, true) => "blacklist lines and install commands apply",
                    (false, true) => {
                        "blacklist lines do not apply to an explicit modprobe; install commands do"
                    }
                    (true, false) => "blacklist lines apply; install commands do not (-i)",
                    (false, false) => "neither blacklist lines nor install commands apply (-i)",
                };
                scan.load(
                    Loader::Unit(action),
                    Code::UnitLoads,
                    format!("{what} at boot (enabled into {enabled}): {obeys}"),
                    Some(path),
                    Some(origin),
                );
            }
            ModuleAction::Insmod => scan.load(
                Loader::Unit(action),
                Code::UnitLoads,
                format!("{what} at boot (enabled into {enabled}): insmod reads no modprobe.d rule"),
                Some(path),
                Some(origin),
            ),
        }
    }
}

/// Match blocks with the loaders they stop: when some loader gets past every block, the module
/// is loaded and every block is only a note; else the blocks that stop a loader (all of them when
/// nothing loads it) keep it off, and the others are notes.
fn resolve(scan: Scan, ev: &mut Evaluation) {
    let winners: Vec<&Finding> = scan
        .loads
        .iter()
        .filter(|(l, _)| !scan.blocks.iter().any(|(b, _)| l.stopped_by(*b)))
        .map(|(_, f)| f)
        .collect();
    let bypassed = |f: &Finding, why: &str| {
        let mut n = f.clone();
        n.code = Code::BlockBypassed;
        n.severity = Code::BlockBypassed.severity();
        n.message = format!("{} [{}; {why}]", f.message, f.code);
        n
    };
    if let Some(w) = winners.first() {
        let origin = w.origin.as_ref().map(Origin::to_string);
        let at = w.path.as_deref().or(origin.as_deref()).unwrap_or("?");
        let why = format!(
            "it does not stop the {} at {at}, which loads the module",
            w.code
        );
        ev.notes
            .extend(scan.blocks.iter().map(|(_, f)| bypassed(f, &why)));
    } else {
        for (kind, f) in &scan.blocks {
            if scan.loads.is_empty() || scan.loads.iter().any(|(l, _)| l.stopped_by(*kind)) {
                ev.blocks.push(f.clone());
            } else {
                ev.notes
                    .push(bypassed(f, "it does not stop any loader found"));
            }
        }
    }
    ev.loads.extend(scan.loads.into_iter().map(|(_, f)| f));
    ev.unknown.extend(scan.unknown);
    ev.notes.extend(scan.notes);
}

/// Evaluate whether `module` is blocked and whether it is loaded at boot on this view.
pub fn evaluate(view: &NodeView, module: &str) -> Evaluation {
    let module = normalize_module(module);
    let mut ev = Evaluation {
        module: module.clone(),
        kernels: view.kernels.clone(),
        ..Evaluation::default()
    };
    let mut scan = Scan::default();
    // A masked systemd-modules-load.service reads no modules-load.d list and no `modules-load=`.
    let loader_masked = view
        .units()
        .get("systemd-modules-load.service")
        .is_some_and(|u| u.masked.is_some());
    for (dirs, modprobe) in [(MODPROBE_DIRS, true), (MODULES_LOAD_DIRS, false)] {
        if !modprobe && loader_masked {
            continue;
        }
        for (path, entry) in effective(view, dirs) {
            match &entry.content {
                Content::Mask => {}
                Content::Link(target) => scan.unknown.push(finding(
                    Code::ContentNotVisible,
                    format!("{path}: a symbolic link to {target}, not resolved"),
                    Some(path),
                    Some(&entry.origin),
                )),
                Content::Unknown(why) => scan.unknown.push(finding(
                    Code::ContentNotVisible,
                    format!("{path}: {why}"),
                    Some(path),
                    Some(&entry.origin),
                )),
                Content::File { bytes, .. } => {
                    let text = String::from_utf8_lossy(bytes);
                    if modprobe {
                        scan_modprobe(path, entry, &text, &module, &mut scan);
                    } else {
                        scan_modules_load(path, entry, &text, &module, &mut scan);
                    }
                }
            }
        }
    }
    for (arg, origin) in &view.kernel_args {
        if loader_masked && arg.replace('-', "_").starts_with("modules_load=") {
            continue;
        }
        scan_kernel_arg(arg, origin, &module, &mut scan);
    }
    for unit in view.units().values() {
        scan_unit(unit, &module, &mut scan);
    }
    if let Some(kernels) = &view.kernels {
        if kernels.is_empty() {
            scan.block(
                BlockKind::Kernel,
                Code::NoKernel,
                "no kernel is installed (no lib/modules/<version>/)".to_string(),
                None,
                None,
            );
        }
        let missing: Vec<&Kernel> = kernels.iter().filter(|k| k.module.is_none()).collect();
        if !missing.is_empty() && missing.len() == kernels.len() {
            let list: Vec<&str> = kernels.iter().map(|k| k.version.as_str()).collect();
            scan.block(
                BlockKind::Kernel,
                Code::ModuleMissing,
                format!(
                    "no installed kernel carries a {module} module (kernels: {}); check the name, or install the package that ships it (RHEL: kernel-modules-extra for most blacklisted network protocols)",
                    list.join(", ")
                ),
                Some(&format!("/lib/modules/{}", list.join(","))),
                None,
            );
        } else {
            for k in missing {
                scan.block(
                    BlockKind::Kernel,
                    Code::ModuleMissing,
                    format!(
                        "kernel {} has no {module} module: install the package that ships it",
                        k.version
                    ),
                    Some(&format!("/lib/modules/{}", k.version)),
                    None,
                );
            }
        }
    }
    resolve(scan, &mut ev);
    ev
}

/// How a layer file compares with what the node will have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Same bytes and mode.
    Identical,
    /// Present with other bytes or another mode.
    Differs,
    /// Nothing at that path (or masked).
    Missing,
    /// Present but not visible offline.
    Unknown,
}

/// One layer file checked against the view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// Node path.
    pub path: String,
    /// The verdict.
    pub status: FileStatus,
    /// sha256 of the layer's bytes.
    pub expected_sha256: String,
    /// sha256 of what the node will have, when known.
    pub actual_sha256: Option<String>,
    /// The layer's mode.
    pub expected_mode: String,
    /// The node's mode, when known.
    pub actual_mode: Option<String>,
    /// What decided the node's entry.
    pub origin: Option<Origin>,
}

/// Compare every layer file with the view's entry at its path, byte for byte and mode for mode.
pub fn compare_layer(view: &NodeView, layer: &Layer) -> Vec<FileCheck> {
    layer
        .files
        .iter()
        .map(|f| {
            let entry = view.files.get(&f.path);
            let (status, actual_sha256, actual_mode) = match entry.map(|e| &e.content) {
                None | Some(Content::Mask) => (FileStatus::Missing, None, None),
                Some(Content::Unknown(_) | Content::Link(_)) => (FileStatus::Unknown, None, None),
                Some(Content::File { bytes, mode }) => {
                    let same = *bytes == f.bytes && mode.unwrap_or(0o644) == f.mode;
                    let status = if same {
                        FileStatus::Identical
                    } else {
                        FileStatus::Differs
                    };
                    (
                        status,
                        Some(sha256_hex(bytes)),
                        mode.map(|m| format!("{m:04o}")),
                    )
                }
            };
            FileCheck {
                path: f.path.clone(),
                status,
                expected_sha256: sha256_hex(&f.bytes),
                actual_sha256,
                expected_mode: format!("{:04o}", f.mode),
                actual_mode,
                origin: entry.map(|e| e.origin.clone()),
            }
        })
        .collect()
}

/// What `kernel-not-visible` says for a module: what each base is known to ship of it (the
/// built-in table), and nothing invented for modules it does not know (out-of-tree ones too).
fn kernel_not_visible(module: &str) -> String {
    let head = format!(
        "this target carries no kernel: the OS image decides whether a {module} module exists"
    );
    match crate::node::base::rhcos_blacklisted(module) {
        Some(e) => {
            let fedora = match &e.fedora_package {
                Some(p) => format!("Fedora CoreOS ships it in {p}"),
                None => "whether Fedora CoreOS ships it is not known here".to_string(),
            };
            format!(
                "{head} (RHEL CoreOS ships it in {}{}; {fedora})",
                e.package,
                e.note.as_ref().map(|n| format!(", {n}")).unwrap_or_default()
            )
        }
        None => format!(
            "{head}: modlayer knows nothing of this module in RHEL CoreOS or Fedora CoreOS (an out-of-tree module needs its own image layer or a KMM Module); verify the OS image too"
        ),
    }
}

/// The verdict on a view for a layer: whether the module will be loaded at boot, each layer file
/// against the node, and every finding that decides it (what blocks it, what loads it, what cannot
/// be seen, files that differ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the module will be loaded at boot.
    pub enabled: bool,
    /// Each layer file against the node.
    pub files: Vec<FileCheck>,
    /// What decides it.
    pub findings: Vec<Finding>,
}

/// Judge a view for a layer: the one place the verdict is made.
pub fn verdict(view: &NodeView, layer: &Layer) -> Verdict {
    let ev = evaluate(view, &layer.module);
    let files = compare_layer(view, layer);
    let mut findings: Vec<Finding> = Vec::new();
    findings.extend(ev.blocks.iter().cloned());
    findings.extend(ev.unknown.iter().cloned());
    if ev.loads.is_empty() {
        findings.push(Finding::new(
            Code::ModuleNotListed,
            format!(
                "nothing loads {} at boot (no modules-load.d entry, no modules-load= argument, no enabled unit running modprobe)",
                layer.module
            ),
        ));
    }
    findings.extend(ev.notes.iter().cloned());
    if ev.loads.is_empty() && ev.blocks.is_empty() && ev.unknown.is_empty() {
        findings.push(Finding::new(
            Code::AutoloadOnly,
            format!(
                "nothing blocks {m}, so the first {m} socket loads it on demand; it is just not loaded at boot",
                m = layer.module
            ),
        ));
    }
    findings.extend(ev.loads.iter().cloned());
    if view.kernels.is_none() {
        findings.push(Finding::new(
            Code::KernelNotVisible,
            kernel_not_visible(&layer.module),
        ));
    }
    for c in &files {
        let (code, what) = match c.status {
            FileStatus::Identical => continue,
            FileStatus::Differs => (Code::LayerFileDiffers, "differs from the layer"),
            FileStatus::Missing if ev.enabled() => {
                findings.push(elsewhere(c, &ev));
                continue;
            }
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
    Verdict {
        enabled: ev.enabled(),
        files,
        findings,
    }
}

/// A layer file that is not written while the module is loaded and nothing blocks it: the
/// module is loaded by a file of another name (or another loader), named here. Info, so a
/// healthy config does not read like a problem; `--strict` still fails on it (not identical).
fn elsewhere(c: &FileCheck, ev: &Evaluation) -> Finding {
    let by = ev
        .loads
        .first()
        .map(|l| {
            let what = l.path.clone().unwrap_or_else(|| l.message.clone());
            match &l.origin {
                Some(o) if !what.contains(&o.to_string()) => format!("{what} (from {o})"),
                _ => what,
            }
        })
        .unwrap_or_default();
    Finding::new(
        Code::LayerFileElsewhere,
        format!(
            "{} is not written, but {} is loaded and nothing blocks it: {by} loads it (the layer's file name differs; --strict still asks for the layer's exact files)",
            c.path, ev.module
        ),
    )
    .at(c.path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(view: &mut NodeView, path: &str, bytes: &[u8]) {
        view.files.insert(
            path.to_string(),
            Entry {
                content: Content::File {
                    bytes: bytes.to_vec(),
                    mode: Some(0o644),
                },
                origin: Origin::note(format!("test {path}")),
            },
        );
    }

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    fn applied() -> NodeView {
        let mut v = NodeView::rhcos("sctp");
        for f in sctp().files {
            file(&mut v, &f.path, &f.bytes);
        }
        v
    }

    fn codes(causes: &[Finding]) -> Vec<&'static str> {
        causes.iter().map(|c| c.code.as_str()).collect()
    }

    #[test]
    fn base_is_blocked_and_not_loaded() {
        let ev = evaluate(&NodeView::rhcos("sctp"), "sctp");
        assert_eq!(codes(&ev.blocks), ["module-blacklisted"]);
        assert!(ev.loads.is_empty());
        assert!(!ev.enabled());
    }

    #[test]
    fn layer_enables() {
        let ev = evaluate(&applied(), "sctp");
        assert!(ev.enabled(), "{ev:?}");
        assert_eq!(codes(&ev.loads), ["module-listed"]);
        assert!(compare_layer(&applied(), &sctp())
            .iter()
            .all(|c| c.status == FileStatus::Identical));
    }

    #[test]
    fn modprobe_syntax() {
        let cases: &[(&[u8], bool)] = &[
            (b"# blacklist sctp\n", false),
            (b"  # blacklist sctp\n", false),
            (b"blacklist sctp # why\n", true),
            (b"blacklist\tsctp\n", true),
            (b"black\\\nlist sctp\n", true),
            (b"# note \\\nblacklist sctp\n", false),
            (b"blacklist sctp_diag\n", false),
            (b"blacklist SCTP\n", false),
            (b"install sctp /bin/true\n", true),
            (
                b"install sctp /sbin/modprobe --ignore-install sctp\n",
                false,
            ),
            (b"options sctp x=1\n", false),
        ];
        for (text, blocked) in cases {
            let mut v = applied();
            file(&mut v, "/usr/lib/modprobe.d/zz.conf", text);
            let ev = evaluate(&v, "sctp");
            assert_eq!(
                !ev.blocks.is_empty(),
                *blocked,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn precedence_and_masks() {
        // A same-named file in /etc replaces the /usr/lib one.
        let mut v = applied();
        file(
            &mut v,
            "/usr/lib/modprobe.d/sctp-blacklist.conf",
            b"blacklist sctp\n",
        );
        assert!(evaluate(&v, "sctp").enabled());
        // Only *.conf counts.
        file(
            &mut v,
            "/etc/modprobe.d/other.conf.rpmsave",
            b"blacklist sctp\n",
        );
        assert!(evaluate(&v, "sctp").enabled());
        // A /dev/null link masks the load list.
        v.files.insert(
            "/etc/modules-load.d/sctp-load.conf".into(),
            Entry {
                content: Content::Mask,
                origin: "mask".into(),
            },
        );
        let ev = evaluate(&v, "sctp");
        assert!(!ev.enabled());
        assert!(ev.loads.is_empty());
    }

    #[test]
    fn kernel_arguments() {
        for (arg, enabled) in [
            ("module_blacklist=sctp", false),
            ("modprobe.blacklist=dccp,sctp", false),
            ("modprobe.blacklist=dccp", true),
            ("quiet", true),
        ] {
            let mut v = applied();
            v.kernel_args.push((arg.to_string(), "test".into()));
            assert_eq!(evaluate(&v, "sctp").enabled(), enabled, "{arg}");
        }
        let mut v = NodeView::default();
        v.kernel_args
            .push(("modules-load=sctp".into(), "test".into()));
        assert!(evaluate(&v, "sctp").enabled());
    }

    #[test]
    fn kernels_must_carry_the_module() {
        let mut v = applied();
        v.kernels = Some(vec![Kernel {
            version: "6.1.0".into(),
            module: None,
        }]);
        assert_eq!(codes(&evaluate(&v, "sctp").blocks), ["module-missing"]);
        v.kernels = Some(vec![Kernel {
            version: "6.1.0".into(),
            module: Some("builtin".into()),
        }]);
        assert!(evaluate(&v, "sctp").enabled());
    }

    #[test]
    fn file_checks() {
        let mut v = applied();
        file(&mut v, "/etc/modules-load.d/sctp-load.conf", b"sctp\n");
        let checks = compare_layer(&v, &sctp());
        assert_eq!(checks[0].status, FileStatus::Identical);
        assert_eq!(checks[1].status, FileStatus::Differs);
        assert_eq!(
            checks[1].actual_sha256.as_deref(),
            Some(sha256_hex(b"sctp\n").as_str())
        );
        assert!(evaluate(&v, "sctp").enabled());
        v.files.remove("/etc/modules-load.d/sctp-load.conf");
        assert_eq!(compare_layer(&v, &sctp())[1].status, FileStatus::Missing);
    }

    fn unit(view: &mut NodeView, name: &str, exec: &str, wanted: Option<&str>) {
        file(
            view,
            &format!("/etc/systemd/system/{name}"),
            format!("[Service]\nType=oneshot\nExecStart={exec}\n[Install]\nWantedBy=multi-user.target\n").as_bytes(),
        );
        if let Some(t) = wanted {
            view.files.insert(
                format!("/usr/lib/systemd/system/{t}.wants/{name}"),
                Entry {
                    content: Content::Link(format!("/etc/systemd/system/{name}")),
                    origin: "test link".into(),
                },
            );
        }
    }

    #[test]
    fn units_load_past_blacklists_not_installs() {
        // The RHEL blacklist kept: an explicit modprobe from an enabled unit loads it.
        let mut v = NodeView::rhcos("sctp");
        unit(
            &mut v,
            "sctp.service",
            "/usr/sbin/modprobe sctp",
            Some("multi-user.target"),
        );
        let ev = evaluate(&v, "sctp");
        assert!(ev.enabled(), "{ev:?}");
        assert_eq!(codes(&ev.loads), ["unit-loads"]);
        assert_eq!(codes(&ev.notes), ["block-bypassed"]);
        // modprobe -b applies the blacklist.
        let mut b = NodeView::rhcos("sctp");
        unit(
            &mut b,
            "sctp.service",
            "/usr/sbin/modprobe -b sctp",
            Some("multi-user.target"),
        );
        assert_eq!(codes(&evaluate(&b, "sctp").blocks), ["module-blacklisted"]);
        // An install override stops it; insmod is not stopped by it.
        let mut i = v.clone();
        file(
            &mut i,
            "/usr/lib/modprobe.d/x.conf",
            b"install sctp /bin/true\n",
        );
        let ev = evaluate(&i, "sctp");
        assert!(!ev.enabled());
        assert_eq!(codes(&ev.blocks), ["install-override"]);
        assert_eq!(codes(&ev.notes), ["block-bypassed"]);
        unit(
            &mut i,
            "sctp.service",
            "/usr/sbin/insmod /lib/modules/6.1/sctp.ko",
            Some("multi-user.target"),
        );
        assert!(evaluate(&i, "sctp").enabled());
        // module_blacklist= stops every loader.
        let mut k = v.clone();
        k.kernel_args
            .push(("module_blacklist=sctp".into(), "test".into()));
        assert_eq!(
            codes(&evaluate(&k, "sctp").blocks),
            ["kernel-arg-module-blacklist"]
        );
        // Not enabled into a boot target, or masked: not a loader.
        let mut n = NodeView::rhcos("sctp");
        unit(
            &mut n,
            "sctp.service",
            "/usr/sbin/modprobe sctp",
            Some("network-online.target"),
        );
        let ev = evaluate(&n, "sctp");
        assert!(
            ev.loads.is_empty() && codes(&ev.notes) == ["unit-not-at-boot"],
            "{ev:?}"
        );
        let mut m = v.clone();
        m.files.insert(
            "/etc/systemd/system/sctp.service".into(),
            Entry {
                content: Content::Mask,
                origin: "mask".into(),
            },
        );
        file(
            &mut m,
            "/usr/lib/systemd/system/sctp.service",
            b"[Service]\nExecStart=modprobe sctp\n",
        );
        assert!(evaluate(&m, "sctp").loads.is_empty());
        // A drop-in's empty ExecStart= resets the list; a removal at boot blocks, except of a
        // module that holds itself once loaded (sctp: the removal fails, a warning).
        let mut d = v.clone();
        file(
            &mut d,
            "/etc/systemd/system/sctp.service.d/10-off.conf",
            b"[Service]\nExecStart=\nExecStart=/bin/true\n",
        );
        assert!(evaluate(&d, "sctp").loads.is_empty());
        let mut r = applied();
        unit(
            &mut r,
            "rm.service",
            "/usr/sbin/rmmod sctp",
            Some("multi-user.target"),
        );
        let ev = evaluate(&r, "sctp");
        assert!(ev.blocks.is_empty(), "{:?}", ev.blocks);
        assert_eq!(ev.loads.len(), 1);
        assert!(codes(&ev.notes).contains(&"unit-remove-fails"));
        let mut dm = NodeView::default();
        file(&mut dm, "/etc/modules-load.d/dummy.conf", b"dummy\n");
        unit(
            &mut dm,
            "rm.service",
            "/usr/sbin/rmmod dummy",
            Some("multi-user.target"),
        );
        assert_eq!(codes(&evaluate(&dm, "dummy").blocks), ["unit-removes"]);
    }
}
