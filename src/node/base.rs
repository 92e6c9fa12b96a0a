//! The base state a node boots with before any configuration: what RHEL CoreOS or Fedora CoreOS
//! ship for a module (the table in `rhcos/blacklisted-modules.toml`), nothing (`none`), or a real
//! OS image read like any tree, archive or image target (resolved in [`crate::targets::base_view`]).

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use anyhow::{Error, Result};
use serde::Deserialize;

use crate::node::rules::normalize_module;
use crate::node::{Content, Entry, Kernel, NodeView, RHEL_SCTP_BLACKLIST};

/// Where the base state of config targets (Ignition configs, MachineConfigs) comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Base {
    /// RHEL CoreOS: the modules of the built-in table blacklisted, each in its own file.
    #[default]
    Rhcos,
    /// Fedora CoreOS: no blacklist files; sctp and sctp_diag are in kernel-modules, which it
    /// installs (no kernel-modules-extra).
    Fcos,
    /// Nothing: no blacklist, the kernel unknown.
    None,
    /// A real OS image: a tree, a root file system archive or `oci:DIR[:TAG]`.
    Image(String),
}

impl FromStr for Base {
    type Err = Error;

    fn from_str(text: &str) -> Result<Base> {
        Ok(match text {
            "rhcos" => Base::Rhcos,
            "fcos" => Base::Fcos,
            "none" => Base::None,
            "" => anyhow::bail!(
                "--base needs rhcos, fcos, none, a directory, an archive or oci:IMAGE"
            ),
            other => Base::Image(other.to_string()),
        })
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base::Rhcos => f.write_str("rhcos"),
            Base::Fcos => f.write_str("fcos"),
            Base::None => f.write_str("none"),
            Base::Image(s) => f.write_str(s),
        }
    }
}

/// One module RHEL CoreOS ships blacklisted.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BlacklistedModule {
    /// Module name as its file is named (`sctp_diag`).
    pub name: String,
    /// The RHEL package that holds the module (its blacklist file ships in kernel-modules-extra).
    pub package: String,
    /// Where Fedora CoreOS has the module (`kernel-modules`), where known.
    #[serde(default)]
    pub fedora_package: Option<String>,
    /// A caveat (the releases that lack the file).
    #[serde(default)]
    pub note: Option<String>,
    /// Where this was seen.
    pub evidence: String,
}

/// A module that may be blacklisted but is not confirmed (not used for decisions).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// Module name.
    pub name: String,
    /// Why it is a candidate and what is missing.
    pub why: String,
}

/// The built-in table (`src/node/rhcos/blacklisted-modules.toml`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Confirmed: used for decisions.
    #[serde(rename = "module")]
    pub modules: Vec<BlacklistedModule>,
    /// Unconfirmed: listed, not used.
    #[serde(rename = "candidate", default)]
    pub candidates: Vec<Candidate>,
}

/// The table's text, built into the binary.
pub const TABLE_TEXT: &str = include_str!("rhcos/blacklisted-modules.toml");

/// The built-in table of modules RHEL CoreOS blacklists (parsed once; its unit test keeps it
/// parseable, so a broken table fails the build's tests, not a user's run).
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str(TABLE_TEXT).unwrap_or(Table {
            modules: Vec::new(),
            candidates: Vec::new(),
        })
    })
}

/// The entry of the table for a module (`-` and `_` compare equal), if RHEL CoreOS blacklists it.
pub fn rhcos_blacklisted(module: &str) -> Option<&'static BlacklistedModule> {
    let m = normalize_module(module);
    table()
        .modules
        .iter()
        .find(|e| normalize_module(&e.name) == m)
}

/// The six comment lines every RHEL blacklist file starts with (the sctp file without its last
/// line).
pub fn standard_header() -> &'static [u8] {
    let end = RHEL_SCTP_BLACKLIST
        .strip_suffix(b"\n")
        .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
        .map_or(0, |i| i + 1);
    &RHEL_SCTP_BLACKLIST[..end]
}

/// The exact bytes of `/etc/modprobe.d/<module>-blacklist.conf` as RHEL writes it.
pub fn blacklist_text(module: &str) -> Vec<u8> {
    let mut out = standard_header().to_vec();
    out.extend_from_slice(format!("blacklist {module}\n").as_bytes());
    out
}

/// The path of a module's blacklist file on RHEL.
pub fn blacklist_path(module: &str) -> String {
    format!("/etc/modprobe.d/{module}-blacklist.conf")
}

/// The kernel version Fedora CoreOS is modelled with, for the modules it is known to carry.
pub const FCOS_KERNEL: &str = "fedora-coreos";

impl NodeView {
    /// The state RHEL CoreOS boots with before any configuration, for `module`: its blacklist
    /// file when the built-in table lists it, else nothing (RHEL ships none for other modules).
    pub fn rhcos(module: &str) -> NodeView {
        let mut view = NodeView::default();
        if let Some(e) = rhcos_blacklisted(module) {
            view.files.insert(
                blacklist_path(&e.name),
                Entry {
                    content: Content::File {
                        bytes: blacklist_text(&e.name),
                        mode: Some(0o644),
                    },
                    origin: crate::origin::Origin::note(
                        "RHEL CoreOS base image (kernel-modules-extra)",
                    ),
                },
            );
        }
        view
    }

    /// The state Fedora CoreOS boots with, for `module`: no blacklist files (Fedora's packaging
    /// writes none for sctp, and Fedora CoreOS installs no kernel-modules-extra); a module the
    /// table knows Fedora CoreOS carries (sctp, sctp_diag: kernel-modules) is present, modelled as
    /// the one kernel [`FCOS_KERNEL`] with it. Of other modules the kernel is not known.
    pub fn fcos(module: &str) -> NodeView {
        let mut view = NodeView::default();
        if let Some(pkg) = rhcos_blacklisted(module).and_then(|e| e.fedora_package.as_ref()) {
            view.kernels = Some(vec![Kernel {
                version: FCOS_KERNEL.to_string(),
                module: Some(format!("{} ({pkg})", normalize_module(module))),
            }]);
        }
        view
    }
}

impl Base {
    /// The built-in base for a module; `None` for [`Base::Image`] (read it as a target).
    pub fn builtin_view(&self, module: &str) -> Option<NodeView> {
        match self {
            Base::Rhcos => Some(NodeView::rhcos(module)),
            Base::Fcos => Some(NodeView::fcos(module)),
            Base::None => Some(NodeView::default()),
            Base::Image(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_rebuilds_the_rhel_file() {
        let t: Table = toml::from_str(TABLE_TEXT).unwrap();
        assert_eq!(&t, table());
        let names: Vec<&str> = t.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sctp",
                "sctp_diag",
                "l2tp_eth",
                "l2tp_ip",
                "l2tp_ip6",
                "l2tp_netlink",
                "l2tp_ppp",
                "atm"
            ]
        );
        assert!(!t.candidates.is_empty());
        assert_eq!(standard_header().len(), 354);
        assert_eq!(blacklist_text("sctp"), RHEL_SCTP_BLACKLIST);
        assert_eq!(blacklist_text("sctp_diag").len(), 365 + "sctp_diag".len());
        assert!(rhcos_blacklisted("sctp-diag").is_some());
        for m in [
            "xt_u32",
            "ip_gre",
            "iptable_nat",
            "vfio-pci",
            "dummy",
            "dccp",
        ] {
            assert!(rhcos_blacklisted(m).is_none(), "{m}");
            assert_eq!(NodeView::rhcos(m), NodeView::default(), "{m}");
        }
        // Fedora CoreOS carries sctp (kernel-modules) and blacklists nothing.
        let fc = NodeView::fcos("sctp");
        assert!(fc.files.is_empty());
        assert!(fc.kernels.unwrap()[0].module.is_some());
        assert_eq!(NodeView::fcos("l2tp_ppp"), NodeView::default());
        assert!(rhcos_blacklisted("l2tp-ip6").is_some() && rhcos_blacklisted("tipc").is_none());
        assert_eq!(NodeView::fcos("dummy"), NodeView::default());
        assert_eq!(
            "oci:x".parse::<Base>().unwrap(),
            Base::Image("oci:x".into())
        );
    }
}
