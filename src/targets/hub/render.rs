//! `modlayer render policy`: a PolicyGenerator that delivers the layer's MachineConfig to the
//! clusters whose labels match, as the policy-generator-plugin reads it (`policyDefaults`
//! namespace and placement `labelSelector` with `matchLabels`, one policy whose `manifests`
//! name the source CRs relative to the generator file).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Map, Value};

use crate::formats::yaml::to_yaml;
use crate::ignition::Spec;
use crate::layer::Layer;
use crate::mco::render::{machineconfig_name, render_machineconfigs};

/// What the policy is.
pub struct PolicyArgs<'a> {
    /// The generator's name (and its file's).
    pub name: &'a str,
    /// The policies' namespace.
    pub namespace: &'a str,
    /// Cluster labels the placement requires.
    pub selectors: &'a [(String, String)],
    /// Pool roles of the MachineConfigs.
    pub roles: &'a [String],
    /// The Ignition spec written.
    pub spec: Spec,
}

/// The files of the policy in `dir`: (path, bytes), the generator first; a kustomization
/// listing it only when `dir` has none.
pub fn policy(layer: &Layer, a: &PolicyArgs, dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut manifests = Vec::new();
    for role in a.roles {
        let mc = machineconfig_name(layer, role);
        let rel = format!("source-crs/machine-config/{mc}.yaml");
        let text = render_machineconfigs(layer, std::slice::from_ref(role), None, a.spec);
        out.push((dir.join(&rel), text.into_bytes()));
        manifests.push(json!({ "path": rel }));
    }
    let labels: Map<String, Value> = a
        .selectors
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let policy = format!(
        "load-{}-module-policy",
        layer.module.replace('_', "-").to_ascii_lowercase()
    );
    let generator = json!({
        "apiVersion": "policy.open-cluster-management.io/v1",
        "kind": "PolicyGenerator",
        "metadata": { "name": a.name },
        "placementBindingDefaults": { "name": format!("{}-placement-binding", a.name) },
        "policyDefaults": {
            "namespace": a.namespace,
            "placement": { "labelSelector": { "matchLabels": labels } },
            "remediationAction": "inform",
            "severity": "low",
        },
        "policies": [ { "name": policy, "manifests": manifests } ],
    });
    let file = format!("{}.yaml", a.name);
    out.insert(0, (dir.join(&file), to_yaml(&generator).into_bytes()));
    let has_kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|k| dir.join(k).exists());
    if !has_kustomization {
        out.push((
            dir.join("kustomization.yaml"),
            format!("generators:\n- {file}\n").into_bytes(),
        ));
    }
    Ok(out)
}
