//! Which clusters a policy reaches: Kubernetes label selectors (`matchLabels`, `matchExpressions`
//! with `In`, `NotIn`, `Exists`, `DoesNotExist`), the PolicyGenerator's legacy `key: value`
//! selector maps, PolicyGenTemplate `bindingRules`, and ACM Placements and PlacementRules.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde_json::Value;

pub use crate::workloads::Requirement;

/// A label selector: every requirement must hold (an empty selector selects every cluster).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector(pub Vec<Requirement>);

/// Which clusters something reaches: any of these selectors (a Placement's predicates are ORed),
/// or none at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reach {
    /// Any one of these selects a cluster.
    pub any: Vec<Selector>,
    /// For people: what the selectors come from (`placement.labelSelector of FILE`).
    pub why: String,
}

impl Reach {
    /// Whether a cluster with these labels is reached.
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.any.iter().any(|s| s.matches(labels))
    }
}

impl Selector {
    /// Whether every requirement holds for these labels.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    /// A `metav1.LabelSelector` (`matchLabels`, `matchExpressions`).
    pub fn from_label_selector(v: &Value) -> Result<Selector> {
        let Some(map) = v.as_object() else {
            bail!("a label selector must be a map");
        };
        let mut out = Vec::new();
        for (k, val) in map {
            match k.as_str() {
                "matchLabels" => {
                    let Some(m) = val.as_object() else {
                        if val.is_null() {
                            continue;
                        }
                        bail!("matchLabels must be a map of strings");
                    };
                    for (lk, lv) in m {
                        out.push(Requirement::In(
                            lk.clone(),
                            vec![scalar(lv, "matchLabels")?],
                        ));
                    }
                }
                "matchExpressions" => {
                    for e in val.as_array().into_iter().flatten() {
                        out.push(expression(e)?);
                    }
                }
                other => bail!("unknown field {other:?} in a label selector"),
            }
        }
        Ok(Selector(out))
    }

    /// The PolicyGenerator's `placement.labelSelector` (and `clusterSelectors`): a
    /// `metav1.LabelSelector` when it decodes as one (no other keys), else the legacy map of
    /// `key: value` where an empty value means `Exists` and any other value `In [value]`
    /// (policy-generator-plugin `generateSelector`).
    pub fn from_generator(v: &Value) -> Result<Selector> {
        if let Ok(s) = Selector::from_label_selector(v) {
            return Ok(s);
        }
        let Some(map) = v.as_object() else {
            bail!("labelSelector must be a map");
        };
        let mut out = Vec::new();
        for (k, val) in map {
            let Some(s) = val.as_str() else {
                bail!("the input is not a valid label selector or key-value label matching map (label {k:?})");
            };
            out.push(if s.is_empty() {
                Requirement::Exists(k.clone())
            } else {
                Requirement::In(k.clone(), vec![s.to_string()])
            });
        }
        Ok(Selector(out))
    }
}

/// One `matchExpressions` entry.
fn expression(e: &Value) -> Result<Requirement> {
    let key = e
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("a matchExpressions entry has no key"))?
        .to_string();
    let values: Vec<String> = e
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| scalar(v, "values"))
        .collect::<Result<_>>()?;
    let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
    Ok(match op {
        "In" => Requirement::In(key, values),
        "NotIn" => Requirement::NotIn(key, values),
        "Exists" => Requirement::Exists(key),
        "DoesNotExist" => Requirement::DoesNotExist(key),
        other => bail!("matchExpressions key {key:?}: unknown operator {other:?}"),
    })
}

fn scalar(v: &Value, what: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => bail!("{what}: label values are strings"),
    }
}

/// What a Placement (cluster.open-cluster-management.io/v1beta1) selects: any of its
/// `spec.predicates[].requiredClusterSelector.labelSelector` (no predicates: every cluster of
/// its cluster sets).
pub fn placement(obj: &Value) -> Result<Vec<Selector>> {
    let preds: Vec<&Value> = obj
        .pointer("/spec/predicates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if preds.is_empty() {
        return Ok(vec![Selector::default()]);
    }
    preds
        .iter()
        .map(
            |p| match p.pointer("/requiredClusterSelector/labelSelector") {
                Some(ls) => Selector::from_label_selector(ls),
                None => Ok(Selector::default()),
            },
        )
        .collect()
}

/// What a PlacementRule (apps.open-cluster-management.io/v1) selects: `spec.clusterSelector`
/// (a label selector; absent: every cluster).
pub fn placement_rule(obj: &Value) -> Result<Vec<Selector>> {
    match obj.pointer("/spec/clusterSelector") {
        Some(ls) if !ls.is_null() => Ok(vec![Selector::from_label_selector(ls)?]),
        _ => Ok(vec![Selector::default()]),
    }
}

/// A PolicyGenTemplate's `bindingRules` (`In [value]` each) and `bindingExcludedRules`
/// (`NotIn [value]` each).
pub fn binding_rules(spec: &Value) -> Result<Selector> {
    let mut out = Vec::new();
    for (field, include) in [("bindingRules", true), ("bindingExcludedRules", false)] {
        for (k, v) in spec
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let v = scalar(v, field)?;
            out.push(if include {
                Requirement::In(k.clone(), vec![v])
            } else {
                Requirement::NotIn(k.clone(), vec![v])
            });
        }
    }
    Ok(Selector(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn legacy_maps_and_expressions() {
        let l = labels(&[("common", "true"), ("zone", "a")]);
        let s = Selector::from_generator(&json!({"common": "true", "zone": ""})).unwrap();
        assert!(s.matches(&l));
        let s = Selector::from_generator(&json!({"common": "false"})).unwrap();
        assert!(!s.matches(&l));
        let s = Selector::from_generator(&json!({"matchExpressions": [
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
            {"key": "sctp", "operator": "DoesNotExist"}
        ]}))
        .unwrap();
        assert!(s.matches(&l));
        let s = Selector::from_generator(&json!({"matchLabels": {"zone": "b"}})).unwrap();
        assert!(!s.matches(&l));
    }
}
