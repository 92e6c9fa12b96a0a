//! Files and streams of Kubernetes objects holding MachineConfigs: patched document by document,
//! verified through the one MachineConfig inventory and pool render, exactly as the same
//! documents inside an install directory are.

use anyhow::{bail, Result};

use crate::layer::Layer;
use crate::mco::file::McFile;
use crate::mco::inventory::{Inventory, Manifest};
use crate::report::View;
use crate::targets::{Applied, ApplyOpts, FileTarget, Kind, Target, VerifyOpts};

/// A MachineConfig file (or standard input).
pub struct MachineConfigTarget {
    /// The file.
    pub file: FileTarget,
}

impl Target for MachineConfigTarget {
    fn kind(&self) -> Kind {
        Kind::Machineconfig
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        self.file.check_dest(opts)?;
        let mc = McFile::parse(&self.file.name, &self.file.bytes)?;
        let patched = mc.apply(layer, &opts.roles)?;
        let out = patched.bytes.unwrap_or_else(|| self.file.bytes.to_vec());
        let mut applied = self.file.emit(out, patched.changes, opts)?;
        applied.warnings = patched.warnings;
        Ok(applied)
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let manifests = [Manifest {
            origin: self.file.origin(),
            bytes: self.file.bytes.to_vec(),
        }];
        manifest_views(&self.file.name, &manifests, layer, opts)
    }
}

/// The views of a set of manifests read whole (a file, a stream, a folder, a kustomize build):
/// an unreadable manifest or an invalid MachineConfig is an error. Manifests with no
/// MachineConfig at all are judged like any others: the pools render the base alone (the
/// module not listed: NOT enabled); only input holding no Kubernetes object is an error.
pub fn manifest_views(
    name: &str,
    manifests: &[Manifest],
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    let inv = Inventory::read(manifests).strict()?;
    views_of(name, manifests, inv, layer, opts)
}

/// The views of a folder of manifests: as [`manifest_views`], but a file that cannot be read, a
/// template or an object the API server refuses is a finding of its own (exit status 2) and the
/// rest of the folder is still judged.
pub fn folder_views(
    name: &str,
    manifests: &[Manifest],
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    let inv = Inventory::read(manifests).strict_configs()?;
    if !inv.has_machineconfigs() && inv.invalid() {
        let bad: Vec<String> = inv
            .findings
            .iter()
            .filter(|f| f.code.input_invalid())
            .map(|f| f.message.clone())
            .collect();
        bail!("{}", bad.join("\n"));
    }
    views_of(name, manifests, inv, layer, opts)
}

fn views_of(
    name: &str,
    manifests: &[Manifest],
    inv: Inventory,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    if !inv.has_machineconfigs() && !holds_objects(manifests) {
        bail!(
            "{name}: no Kubernetes object found (no document with apiVersion and kind, no List items)"
        );
    }
    inv.views(layer, &opts.base_for(layer), &opts.pools, opts.release)
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// Whether some manifest holds a Kubernetes object (a document or List item with `apiVersion`
/// and `kind`); manifests that cannot be read hold none.
fn holds_objects(manifests: &[Manifest]) -> bool {
    manifests.iter().any(|m| {
        crate::mco::file::documents(&m.name(), &m.bytes).is_ok_and(|docs| {
            docs.iter()
                .flat_map(crate::mco::file::objects)
                .any(|(_, o)| {
                    o.get("apiVersion")
                        .is_some_and(serde_json::Value::is_string)
                        && o.get("kind").is_some_and(serde_json::Value::is_string)
                })
        })
    })
}
