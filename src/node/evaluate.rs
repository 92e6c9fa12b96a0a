//! The one evaluation of "is the module blocked, is it loaded" that every target feeds, and the
//! verdict built on it. The rules it applies are in [`crate::node::rules`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::findings::{Code, Finding};
use crate::formats::encoding::sha256_hex;
use crate::layer::Layer;
use crate::node::rules::{
    is_config_name, modprobe_lines, normalize_module, MODPROBE_DIRS, MODULES_LOAD_DIRS,
};
use crate::node::{Content, Entry, Kernel, NodeView};

/// The verdict on one module for one node view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// The module evaluated.
    pub module: String,
    /// Everything that keeps it from loading at boot.
    pub blocks: Vec<Finding>,
    /// Everything that loads it at boot.
    pub loads: Vec<Finding>,
    /// Entries that cannot be seen offline and could change the verdict.
    pub unknown: Vec<Finding>,
    /// Installed kernels, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels: Option<Vec<Kernel>>,
}

impl Evaluation {
    /// Whether the module will be loaded at boot: something loads it, nothing blocks it, nothing
    /// unseen could change that, and every known kernel carries it.
    pub fn enabled(&self) -> bool {
        self.blocks.is_empty() && !self.loads.is_empty() && self.unknown.is_empty()
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

fn scan_modprobe(path: &str, entry: &Entry, text: &str, module: &str, ev: &mut Evaluation) {
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
            ["blacklist", name, ..] if normalize_module(name) == module => {
                ev.blocks.push(Finding {
                    severity: Code::ModuleBlacklisted.severity(),
                    code: Code::ModuleBlacklisted,
                    message: format!(
                    "{path}:{line}: `blacklist {name}` keeps systemd-modules-load from loading it"
                ),
                    path: Some(path.to_string()),
                    origin: Some(entry.origin.clone()),
                })
            }
            ["install", name, command @ ..] if normalize_module(name) == module => {
                if install_still_loads(command, module) {
                    ev.loads.push(Finding {
                        severity: Code::InstallLoads.severity(),
                        code: Code::InstallLoads,
                        message: format!("{path}:{line}: install command still inserts the module"),
                        path: Some(path.to_string()),
                        origin: Some(entry.origin.clone()),
                    });
                } else {
                    ev.blocks.push(Finding {
                        severity: Code::InstallOverride.severity(),
                        code: Code::InstallOverride,
                        message: format!(
                            "{path}:{line}: `install {name} {}` runs instead of loading the module",
                            command.join(" ")
                        ),
                        path: Some(path.to_string()),
                        origin: Some(entry.origin.clone()),
                    });
                }
            }
            _ => {}
        }
    }
}

fn scan_modules_load(path: &str, entry: &Entry, text: &str, module: &str, ev: &mut Evaluation) {
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if normalize_module(l) == module {
            ev.loads.push(Finding {
                severity: Code::ModuleListed.severity(),
                code: Code::ModuleListed,
                message: format!("{path}:{}: lists {l} for loading at boot", i + 1),
                path: Some(path.to_string()),
                origin: Some(entry.origin.clone()),
            });
        }
    }
}

fn scan_kernel_arg(arg: &str, origin: &str, module: &str, ev: &mut Evaluation) {
    let Some((key, value)) = arg.split_once('=') else {
        return;
    };
    let listed = value.split(',').any(|m| normalize_module(m) == module);
    if !listed {
        return;
    }
    let cause = |code: Code, what: &str| Finding {
        severity: code.severity(),
        code,
        message: format!("kernel argument `{arg}` {what}"),
        path: None,
        origin: Some(origin.to_string()),
    };
    match key.replace('-', "_").as_str() {
        "module_blacklist" => ev.blocks.push(cause(
            Code::KernelArgModuleBlacklist,
            "makes the kernel refuse the module",
        )),
        "modprobe.blacklist" => ev.blocks.push(cause(
            Code::KernelArgModprobeBlacklist,
            "blacklists the module in kmod",
        )),
        "modules_load" => ev.loads.push(cause(
            Code::KernelArgModulesLoad,
            "has systemd-modules-load load it",
        )),
        _ => {}
    }
}

/// Evaluate whether `module` is blocked and whether it is loaded at boot on this view.
pub fn evaluate(view: &NodeView, module: &str) -> Evaluation {
    let module = normalize_module(module);
    let mut ev = Evaluation {
        module: module.clone(),
        kernels: view.kernels.clone(),
        ..Evaluation::default()
    };
    for (dirs, modprobe) in [(MODPROBE_DIRS, true), (MODULES_LOAD_DIRS, false)] {
        for (path, entry) in effective(view, dirs) {
            match &entry.content {
                Content::Mask => {}
                Content::Link(target) => ev.unknown.push(Finding {
                    severity: Code::ContentNotVisible.severity(),
                    code: Code::ContentNotVisible,
                    message: format!("{path}: a symbolic link to {target}, not resolved"),
                    path: Some(path.to_string()),
                    origin: Some(entry.origin.clone()),
                }),
                Content::Unknown(why) => ev.unknown.push(Finding {
                    severity: Code::ContentNotVisible.severity(),
                    code: Code::ContentNotVisible,
                    message: format!("{path}: {why}"),
                    path: Some(path.to_string()),
                    origin: Some(entry.origin.clone()),
                }),
                Content::File { bytes, .. } => {
                    let text = String::from_utf8_lossy(bytes);
                    if modprobe {
                        scan_modprobe(path, entry, &text, &module, &mut ev);
                    } else {
                        scan_modules_load(path, entry, &text, &module, &mut ev);
                    }
                }
            }
        }
    }
    for (arg, origin) in &view.kernel_args {
        scan_kernel_arg(arg, origin, &module, &mut ev);
    }
    if let Some(kernels) = &view.kernels {
        if kernels.is_empty() {
            ev.blocks.push(Finding {
                severity: Code::NoKernel.severity(),
                code: Code::NoKernel,
                message: "no kernel is installed (no lib/modules/<version>/)".to_string(),
                path: None,
                origin: None,
            });
        }
        for k in kernels.iter().filter(|k| k.module.is_none()) {
            ev.blocks.push(Finding {
                severity: Code::ModuleMissing.severity(),
                code: Code::ModuleMissing,
                message: format!(
                    "kernel {} has no {module} module (Fedora CoreOS, for one, lacks kernel-modules-extra)",
                    k.version
                ),
                path: Some(format!("/lib/modules/{}", k.version)),
                origin: None,
            });
        }
    }
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
    pub origin: Option<String>,
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
                "nothing lists {} for loading at boot (no modules-load.d entry, no modules_load= argument)",
                layer.module
            ),
        ));
    }
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
    Verdict {
        enabled: ev.enabled(),
        files,
        findings,
    }
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
                origin: format!("test {path}"),
            },
        );
    }

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    fn applied() -> NodeView {
        let mut v = NodeView::rhcos(&sctp());
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
        let ev = evaluate(&NodeView::rhcos(&sctp()), "sctp");
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
}
