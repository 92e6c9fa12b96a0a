//! Ignition config targets: patched as a text splice (every byte outside the layer's entries
//! kept), verified by laying the config over the base state as Ignition does at first boot.

use anyhow::{bail, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use crate::formats::json::Spliced;
use crate::ignition::gojson::{self, Leniency};
use crate::ignition::{self, Spec};
use crate::layer::Layer;
use crate::report::View;
use crate::targets::{Applied, ApplyOpts, FileTarget, Kind, Target, VerifyOpts};

/// An Ignition config file (or standard input).
pub struct IgnitionTarget {
    /// The file.
    pub file: FileTarget,
}

/// Configs at least this large get their typed parse on a second thread.
const PARALLEL_BYTES: usize = 256 << 10;

/// Read and validate an Ignition config as Ignition does: Go's JSON reading
/// ([`ignition::gojson`]), the spec as Ignition parses it, the checks and every `Validate()` rule
/// of the spec, and (3.x) the typed specs — for a large config the typed parse runs on a second
/// thread ([`PARALLEL_BYTES`]). Returns the value (keys under their spec names, the
/// version in its canonical spelling), its spec and warnings.
pub fn read_ignition(name: &str, bytes: &[u8]) -> Result<(Value, Spec, Vec<String>)> {
    read_ignition_go(name, bytes).map(|(v, s, w, _)| (v, s, w))
}

/// [`read_ignition`], also returning what Go's lenient reading changed against a strict one.
pub fn read_ignition_go(name: &str, bytes: &[u8]) -> Result<(Value, Spec, Vec<String>, Leniency)> {
    let (mut value, lenient) = gojson::parse(bytes).map_err(|e| anyhow::anyhow!("{name}:{e}"))?;
    let spec = ignition::spec_of(&value).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
    let canonical = spec.to_string();
    let mut respelled = false;
    if let Some(v) = value.pointer_mut("/ignition/version") {
        respelled = v.as_str() != Some(canonical.as_str());
        *v = Value::String(canonical);
    }
    // The typed specs read the bytes as given when Go's reading changed nothing (the common case:
    // no 20 MB re-serialisation); else the value as Go read it.
    let typed_input = if spec.legacy() || (lenient.is_empty() && !respelled) {
        Vec::new()
    } else {
        serde_json::to_vec(&value)?
    };
    let typed_parse = || {
        if spec.legacy() {
            Ok(Vec::new())
        } else if typed_input.is_empty() {
            ignition::validate_typed(bytes)
        } else {
            ignition::validate_typed(&typed_input)
        }
    };
    let checks = || -> Vec<String> {
        ignition::check(&value, spec)
            .iter()
            .map(|p| format!("{name}: {p}"))
            .collect()
    };
    // A bootstrap.ign can be tens of megabytes: its typed parse runs on a second thread; a small
    // node config is read on one (a thread per file would cost more than the parse in a batch).
    let (problems, typed) = if bytes.len() < PARALLEL_BYTES {
        (checks(), Ok(typed_parse()))
    } else {
        std::thread::scope(|s| {
            let typed = s.spawn(typed_parse);
            (checks(), typed.join())
        })
    };
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let mut warnings: Vec<String> = match typed {
        Ok(Ok(w)) => w.into_iter().map(|w| format!("{name}: {w}")).collect(),
        // Go's structs have no required fields: a key the typed crate requires but Ignition
        // leaves empty is judged by the checks above and the files stage (see `ignition::merge`).
        Ok(Err(e)) if e.to_string().contains("missing field `") => Vec::new(),
        Ok(Err(e)) => bail!("{name}: {e}"),
        Err(_) => bail!("{name}: validation failed unexpectedly"),
    };
    if !lenient.is_empty() {
        warnings.push(format!(
            "{name}: read as Ignition reads it (Go's JSON rules): {}",
            lenient.describe()
        ));
    }
    Ok((value, spec, warnings, lenient))
}

/// Apply a layer to an Ignition config's bytes: the new bytes, what changed, warnings.
pub fn patch(
    name: &str,
    bytes: &[u8],
    layer: &Layer,
) -> Result<(Vec<u8>, Vec<String>, Vec<String>)> {
    patch_pieces(name, bytes, layer).map(|(out, c, w)| (out.to_vec(), c, w))
}

/// [`patch`], the new bytes as pieces of the old and the new (written out without a copy).
pub fn patch_pieces<'a>(
    name: &str,
    bytes: &'a [u8],
    layer: &Layer,
) -> Result<(Spliced<'a>, Vec<String>, Vec<String>)> {
    let (value, spec, mut warnings, lenient) = read_ignition_go(name, bytes)?;
    if !lenient.is_empty() {
        bail!(
            "{name}:{}: Ignition reads this config only by Go's lenient JSON rules; modlayer does not patch it: write each key once, spelled as the spec spells it, in UTF-8",
            lenient.describe()
        );
    }
    let plan = ignition::plan(&value, spec, layer).map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
    warnings.extend(plan.warnings.iter().map(|w| format!("{name}: {w}")));
    let out = ignition::apply_pieces(bytes, &[], &plan);
    Ok((out, plan.changes, warnings))
}

impl Target for IgnitionTarget {
    fn kind(&self) -> Kind {
        Kind::Ignition
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        self.file.check_dest(opts)?;
        let (out, changes, warnings) = patch_pieces(&self.file.name, &self.file.bytes, layer)?;
        let mut applied = self.file.emit_pieces(&out, changes, opts)?;
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
        ignition::overlay(&value, spec, &self.file.origin(), &mut node, &mut findings)?;
        Ok(vec![View::whole(node, findings)])
    }
}
