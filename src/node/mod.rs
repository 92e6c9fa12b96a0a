//! The node: what a booted node will see ([`NodeView`]), the rules that decide what it does with
//! it ([`rules`], each kmod/systemd/ostree rule written once), the one evaluation and verdict
//! ([`evaluate`]), and the collector every root reader feeds ([`collect`]).
//!
//! A target reads what a booted node will see into a [`NodeView`]; [`evaluate::evaluate`] applies
//! the rules to it (configuration directory precedence, same-name override, `/dev/null` masks,
//! modprobe.d syntax, `blacklist` and `install` commands, kernel arguments, modules-load.d lists,
//! module presence per kernel) and [`evaluate::verdict`] judges it for a layer. Nothing else in
//! modlayer knows these rules.

pub mod collect;
pub mod evaluate;
pub mod rules;

pub use evaluate::{compare_layer, evaluate, verdict, Evaluation, FileCheck, FileStatus, Verdict};
pub use rules::{kernel_arg_blocks, normalize_module, split_kernel_args};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::layer::Layer;
use rules::{parent_dir, MODPROBE_DIRS};

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
    pub origin: String,
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
    pub kernel_args: Vec<(String, String)>,
    /// Installed kernels, when the target shows them (`None` for configs: the image decides).
    pub kernels: Option<Vec<Kernel>>,
    /// The layer's paths, whose contents are compared byte for byte (with the configuration
    /// directories, the only paths whose contents readers keep).
    pub layer_paths: BTreeSet<String>,
}

impl NodeView {
    /// The state RHEL CoreOS boots with before any configuration: the module's blacklist file present
    /// (for sctp the exact RHEL file; for another module a one-line `blacklist <module>` at each of the
    /// layer's modprobe.d paths, as RHEL ships for dccp, rds, tipc and others).
    pub fn rhcos(layer: &Layer) -> NodeView {
        let mut view = NodeView {
            layer_paths: layer.files.iter().map(|f| f.path.clone()).collect(),
            ..NodeView::default()
        };
        for f in &layer.files {
            if parent_dir(&f.path).is_some_and(|d| MODPROBE_DIRS.contains(&d)) {
                let bytes = if normalize_module(&layer.module) == "sctp"
                    && f.path == "/etc/modprobe.d/sctp-blacklist.conf"
                {
                    RHEL_SCTP_BLACKLIST.to_vec()
                } else {
                    format!("blacklist {}\n", layer.module).into_bytes()
                };
                view.files.insert(
                    f.path.clone(),
                    Entry {
                        content: Content::File {
                            bytes,
                            mode: Some(0o644),
                        },
                        origin: "RHEL CoreOS base image".to_string(),
                    },
                );
            }
        }
        view
    }
}
