//! Text renderings that are not a target's own format: Butane configs and dry-run diffs.

use clap::ValueEnum;

use crate::layer::Layer;
use crate::mco::release::Release;
use crate::mco::render::machineconfig_name;
use crate::mco::ROLE_LABEL;

/// Butane variants.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Variant {
    /// OpenShift MachineConfig (butane --variant openshift).
    Openshift,
    /// Fedora CoreOS Ignition.
    Fcos,
}

/// A Butane config equivalent to the layer: one document per role for the openshift variant.
pub fn butane(layer: &Layer, variant: Variant, roles: &[String], release: Release) -> String {
    let mut files = String::from("storage:\n  files:\n");
    for f in &layer.files {
        let inline = serde_json::to_string(&String::from_utf8_lossy(&f.bytes)).unwrap_or_default();
        files.push_str(&format!(
            "    - path: {}\n      mode: {:04o}\n      overwrite: true\n      contents:\n        inline: {inline}\n",
            f.path, f.mode
        ));
    }
    match variant {
        Variant::Fcos => format!("variant: fcos\nversion: 1.5.0\n{files}"),
        Variant::Openshift => roles
            .iter()
            .map(|role| {
                format!(
                    "variant: openshift\nversion: {release}.0\nmetadata:\n  name: {}\n  labels:\n    {ROLE_LABEL}: {role}\n{files}",
                    machineconfig_name(layer, role),
                )
            })
            .collect::<Vec<_>>()
            .join("---\n"),
    }
}

/// A unified diff of a file's old and new bytes; lines longer than 400 characters are shortened
/// (a compact Ignition config is one line of megabytes).
pub fn diff(name: &str, old: &[u8], new: &[u8]) -> String {
    if old == new {
        return String::new();
    }
    let shorten = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .split_inclusive('\n')
            .map(|l| {
                if l.len() > 400 {
                    let cut = (0..=200)
                        .rev()
                        .find(|i| l.is_char_boundary(*i))
                        .unwrap_or(0);
                    format!("{}… ({} bytes)\n", &l[..cut], l.len())
                } else {
                    l.to_string()
                }
            })
            .collect()
    };
    let (a, b) = (shorten(old), shorten(new));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (patched)"))
        .to_string()
}
