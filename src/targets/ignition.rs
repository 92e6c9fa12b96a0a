//! Ignition config targets: patched as a text splice (every byte outside the layer's entries
//! kept), verified by laying the config over the base state as Ignition does at first boot.

use anyhow::{bail, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use crate::formats::json::parse_named;
use crate::ignition::{self, Spec};
use crate::layer::Layer;
use crate::report::View;
use crate::targets::{Applied, ApplyOpts, FileTarget, Kind, Target, VerifyOpts};

/// An Ignition config file (or standard input).
pub struct IgnitionTarget {
    /// The file.
    pub file: FileTarget,
}

/// Configs at least this large get their typed parse on a second thread (a bootstrap.ign can be
/// tens of megabytes); a small node config is read on one (a thread per file would cost more than
/// the parse in a batch of a thousand).
const PARALLEL_BYTES: usize = 256 << 10;

/// Read and validate an Ignition config: strict JSON, spec, the storage checks, and (3.x) the typed
/// specs — for a large config the typed parse runs on a second thread ([`PARALLEL_BYTES`]).
/// Returns the value, its spec and unused-key warnings.
pub fn read_ignition(name: &str, bytes: &[u8]) -> Result<(Value, Spec, Vec<String>)> {
    let checked = |bytes: &[u8]| {
        parse_named(name, bytes).and_then(|value| {
            let spec = ignition::spec_of(&value).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
            let problems: Vec<String> = ignition::check(&value, spec)
                .iter()
                .map(|p| format!("{name}: {p}"))
                .collect();
            if problems.is_empty() {
                Ok((value, spec))
            } else {
                bail!("{}", problems.join("\n"))
            }
        })
    };
    let (parsed, typed) = if bytes.len() < PARALLEL_BYTES {
        (checked(bytes), Ok(ignition::validate_typed(bytes)))
    } else {
        std::thread::scope(|s| {
            let typed = s.spawn(|| ignition::validate_typed(bytes));
            (checked(bytes), typed.join())
        })
    };
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

/// Apply a layer to an Ignition config's bytes: the new bytes, what changed, warnings.
pub fn patch(
    name: &str,
    bytes: &[u8],
    layer: &Layer,
) -> Result<(Vec<u8>, Vec<String>, Vec<String>)> {
    let (value, spec, mut warnings) = read_ignition(name, bytes)?;
    let plan = ignition::plan(&value, spec, layer).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
    warnings.extend(plan.warnings.iter().map(|w| format!("{name}: {w}")));
    let out = ignition::apply_text(bytes, &[], &plan);
    Ok((out, plan.changes, warnings))
}

impl Target for IgnitionTarget {
    fn kind(&self) -> Kind {
        Kind::Ignition
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        self.file.check_dest(opts)?;
        let (out, changes, warnings) = patch(&self.file.name, &self.file.bytes, layer)?;
        let mut applied = self.file.emit(out, changes, opts)?;
        applied.warnings = warnings;
        Ok(applied)
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let name = &self.file.name;
        let (value, spec, warnings) = read_ignition(name, &self.file.bytes)?;
        let mut findings: Vec<Finding> = warnings
            .into_iter()
            .map(|w| Finding::new(Code::UnusedKey, w))
            .collect();
        let mut node = opts.base_for(layer);
        ignition::overlay(&value, spec, name, &mut node, &mut findings)?;
        Ok(vec![View::whole(node, findings)])
    }
}
