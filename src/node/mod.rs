//! The node: what a booted node will see ([`NodeView`]), the rules that decide what it does with
//! it ([`rules`], each kmod/systemd/ostree rule written once), the one evaluation and verdict
//! ([`evaluate`](mod@evaluate)), the collector every root reader feeds ([`collect`]) and the base states
//! ([`base`]: what RHEL CoreOS and Fedora CoreOS ship per module).
//!
//! A target reads what a booted node will see into a [`NodeView`]; [`evaluate::evaluate`] applies
//! the rules to it (configuration directory precedence, same-name override, `/dev/null` masks,
//! modprobe.d syntax, `blacklist` and `install` commands, kernel arguments, modules-load.d lists,
//! systemd services that run modprobe/insmod/rmmod with their enablement, masks, drop-ins and
//! first-boot presets ([`NodeView::units`]), module presence per kernel), matches each block with
//! the loaders it stops, and [`evaluate::verdict`] judges it for a layer. Nothing else in modlayer
//! knows these rules.

pub mod base;
pub mod collect;
pub mod evaluate;
mod layer_for;
pub mod rules;

pub use evaluate::{compare_layer, evaluate, verdict, Evaluation, FileCheck, FileStatus, Verdict};
pub use rules::{kernel_arg_blocks, normalize_module, split_kernel_args};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::origin::Origin;

use rules::{
    first_boot, install_targets, is_preset_path, preset_for, unit_path, UnitPath, BOOT_TARGETS,
    MACHINE_ID, PRESET_DIRS,
};

/// What RHEL CoreOS ships in `/etc/modprobe.d/sctp-blacklist.conf` (kernel-modules-extra).
pub const RHEL_SCTP_BLACKLIST: &[u8] = include_bytes!("rhcos/sctp-blacklist.conf");

/// What a node has at one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A regular file with these bytes; `mode` when the source says.
    File {
        /// The file's bytes.
        bytes: Vec<u8>,
        /// Permission bits, if known.
        mode: Option<u32>,
    },
    /// A symlink to `/dev/null`: masks a same-named file in a lower-precedence directory.
    Mask,
    /// Something that cannot be seen offline (a remote source, a link elsewhere): why.
    Unknown(String),
    /// A symbolic link to this absolute node path, not yet resolved (readers of image layers
    /// resolve links when the whole file state is known; see `collect::Collector::finish`).
    Link(String),
}

/// One path of the node view and what decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The content the node will see.
    pub content: Content,
    /// Where it came from: a file and JSON path, a MachineConfig, a tar entry, an image layer.
    pub origin: Origin,
}

/// One kernel installed on the node and whether it carries the module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Kernel {
    /// Kernel release (`5.14.0-427.el9.x86_64`).
    pub version: String,
    /// Where the module is (`lib/modules/<kver>/kernel/net/sctp/sctp.ko.xz`, or `builtin`), if anywhere.
    pub module: Option<String>,
}

/// What a booted node will see, restricted to what decides whether a module loads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeView {
    /// Entries by absolute node path (modprobe.d and modules-load.d files, the layer's paths).
    pub files: BTreeMap<String, Entry>,
    /// Kernel command-line arguments, each with its origin.
    pub kernel_args: Vec<(String, Origin)>,
    /// Installed kernels, when the target shows them (`None` for configs: the image decides).
    pub kernels: Option<Vec<Kernel>>,
    /// The layer's paths, whose contents are compared byte for byte (with the configuration
    /// directories, the only paths whose contents readers keep).
    pub layer_paths: BTreeSet<String>,
}

/// A systemd service as the node's unit directories make it: the unit file systemd loads, whether
/// it is masked, what it is enabled into, its drop-ins. Derived from the view's files
/// ([`NodeView::units`]), so every reader (trees, archives, images, Ignition `systemd.units`,
/// Ignition `storage.files`) feeds one state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unit {
    /// Unit name (`sctp-load.service`).
    pub name: String,
    /// The unit file systemd loads (the highest-precedence directory's; for an instance
    /// `a@b.service` without one, the template `a@.service`; for a masked unit, the file the
    /// mask hides, if any): its path and entry.
    pub file: Option<(String, Entry)>,
    /// Where it is masked (a `/dev/null` link at the highest-precedence path), with its origin.
    pub masked: Option<String>,
    /// The targets it is linked into (`<target>.wants/` or `.requires/`), each with its origin.
    pub wanted_by: Vec<(String, String)>,
    /// Drop-ins (`<name>.d/*.conf`; same name in a higher directory wins), in name order.
    pub dropins: Vec<(String, Entry)>,
}

impl Unit {
    /// The boot targets ([`BOOT_TARGETS`]) it is enabled into, with their origins.
    pub fn boot_targets(&self) -> Vec<(String, String)> {
        self.wanted_by
            .iter()
            .filter(|(t, _)| BOOT_TARGETS.contains(&t.as_str()))
            .cloned()
            .collect()
    }
}

impl NodeView {
    /// The same view, with the layer's paths marked: their contents are held and compared byte
    /// for byte (a base state knows the module, not the layer).
    pub fn with_layer(mut self, layer: &crate::layer::Layer) -> NodeView {
        self.layer_paths = layer.files.iter().map(|f| f.path.clone()).collect();
        self
    }

    /// The services the view's unit directories define or enable, by name (systemd's rules:
    /// directory precedence, `/dev/null` masks, `.wants/` and `.requires/` links, drop-ins).
    pub fn units(&self) -> BTreeMap<String, Unit> {
        let mut files: BTreeMap<&str, (usize, &str, &Entry)> = BTreeMap::new();
        // The highest-precedence file that is not a mask, for what a masked unit would run.
        let mut hidden: BTreeMap<&str, (usize, &str, &Entry)> = BTreeMap::new();
        let mut dropins: BTreeMap<(&str, &str), (usize, &str, &Entry)> = BTreeMap::new();
        let mut units: BTreeMap<String, Unit> = BTreeMap::new();
        for (path, entry) in &self.files {
            match unit_path(path) {
                Some(UnitPath::File { rank, name }) => {
                    if files.get(name).is_none_or(|(r, _, _)| rank < *r) {
                        files.insert(name, (rank, path, entry));
                    }
                    if entry.content != Content::Mask
                        && hidden.get(name).is_none_or(|(r, _, _)| rank < *r)
                    {
                        hidden.insert(name, (rank, path, entry));
                    }
                }
                Some(UnitPath::Wants { target, name }) => {
                    let unit = units.entry(name.to_string()).or_default();
                    unit.wanted_by
                        .push((target.to_string(), format!("{path} ({})", entry.origin)));
                }
                Some(UnitPath::Dropin { rank, unit, name })
                    if dropins.get(&(unit, name)).is_none_or(|(r, _, _)| rank < *r) =>
                {
                    dropins.insert((unit, name), (rank, path, entry));
                }
                _ => {}
            }
        }
        for name in files.keys() {
            units.entry(name.to_string()).or_default();
        }
        for (name, unit) in units.iter_mut() {
            unit.name = name.clone();
            let own = files.get(name.as_str()).copied();
            let template = name
                .split_once('@')
                .map(|(head, _)| format!("{head}@.service"));
            let found = own.or_else(|| template.and_then(|t| files.get(t.as_str()).copied()));
            if let Some((_, path, entry)) = found {
                if entry.content == Content::Mask {
                    unit.masked = Some(format!("{path} -> /dev/null ({})", entry.origin));
                    // What it would run, were it not masked.
                    unit.file = hidden
                        .get(name.as_str())
                        .map(|(_, p, e)| (p.to_string(), (*e).clone()));
                } else {
                    unit.file = Some((path.to_string(), entry.clone()));
                }
            }
            unit.dropins = dropins
                .iter()
                .filter(|((u, _), _)| *u == name)
                .filter(|(_, (_, _, e))| e.content != Content::Mask)
                .map(|(_, (_, p, e))| (p.to_string(), (*e).clone()))
                .collect();
        }
        self.apply_presets(&mut units);
        units
    }

    /// At a first boot ([`first_boot`]: `/etc/machine-id` absent or `uninitialized`), systemd
    /// applies the presets in enable-only mode: a unit whose first matching preset line is
    /// `enable` is linked into the targets of its `[Install]` section.
    fn apply_presets(&self, units: &mut BTreeMap<String, Unit>) {
        let machine_id = match self.files.get(MACHINE_ID).map(|e| &e.content) {
            None => None,
            Some(Content::File { bytes, .. }) => Some(bytes.as_slice()),
            // Masked, a link, unknown: not a first boot as far as can be seen.
            Some(_) => return,
        };
        if !first_boot(machine_id) {
            return;
        }
        let mut by_name: BTreeMap<&str, (usize, &str, &Entry)> = BTreeMap::new();
        for (path, entry) in &self.files {
            let Some((dir, name)) = path.rsplit_once('/') else {
                continue;
            };
            let Some(rank) = PRESET_DIRS.iter().position(|d| *d == dir) else {
                continue;
            };
            if is_preset_path(path) && by_name.get(name).is_none_or(|(r, _, _)| rank < *r) {
                by_name.insert(name, (rank, path, entry));
            }
        }
        let files: Vec<(String, String)> = by_name
            .values()
            .filter_map(|(_, p, e)| match &e.content {
                Content::File { bytes, .. } => {
                    Some((p.to_string(), String::from_utf8_lossy(bytes).into_owned()))
                }
                _ => None,
            })
            .collect();
        if files.is_empty() {
            return;
        }
        for (name, unit) in units.iter_mut() {
            if unit.masked.is_some() {
                continue;
            }
            let Some((
                _,
                Entry {
                    content: Content::File { bytes, .. },
                    ..
                },
            )) = &unit.file
            else {
                continue;
            };
            let Some((true, at)) = preset_for(&files, name) else {
                continue;
            };
            for target in install_targets(&String::from_utf8_lossy(bytes)) {
                unit.wanted_by.push((
                    target,
                    format!("{at} (preset, applied at first boot: /etc/machine-id is absent or uninitialized)"),
                ));
            }
        }
    }
}
