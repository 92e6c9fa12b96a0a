//! How the two policy generators lay their overlays over a source CR.
//!
//! - PolicyGenerator `patches` go through kustomize (policy-generator-plugin
//!   `internal/patches.go`: each patch is a kustomization `patches:` entry, a strategic merge
//!   patch, kustomize api `filters/patchstrategicmerge` calling kyaml `merge2.Merge` with list
//!   prepend and without inferring associative lists). Maps merge key by key and a `null` patch
//!   value deletes the key. A list merges element by element only where a schema gives it a
//!   merge key: the built-in Kubernetes kinds (modelled: core and `apps`/`batch`-style groups
//!   without a dot, lists of maps that all have a `name`, kyaml's only inferred key), or any
//!   kind whose manifest entry names an `openapi` schema (modelled the same way); new elements go
//!   first. For every other kind (MachineConfig, PerformanceProfile, Tuned, the CRDs ZTP
//!   delivers) a patch's list replaces the source's.
//! - PolicyGenTemplate `spec`/`data` overlays go through ztp's `setValues`
//!   (cnf-features-deploy `ztp/policygenerator/policyGen/policyBuilder.go`): maps merged key by
//!   key, lists of maps merged element by element by index (extra overlay elements appended),
//!   other lists replaced, and a source string that is empty or starts with `$` deleted when
//!   the overlay does not set it.

use serde_json::{Map, Value};

/// kyaml's associative key for lists without a schema.
const ASSOCIATIVE_KEY: &str = "name";

/// Lay a kustomize strategic merge patch over `dest`; `keyed`: lists of maps with a `name`
/// merge by it (a schema gives them that merge key), else every list is replaced.
pub fn strategic(dest: &mut Value, patch: &Value, keyed: bool) {
    match (dest, patch) {
        (Value::Object(d), Value::Object(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    d.remove(k);
                    continue;
                }
                match d.get_mut(k) {
                    Some(dv) => strategic(dv, pv, keyed),
                    None => {
                        d.insert(k.clone(), strip_nulls(pv));
                    }
                }
            }
        }
        (Value::Array(d), Value::Array(p)) if keyed && associative(d) && associative(p) => {
            let mut new = Vec::new();
            for pe in p {
                let key = pe.get(ASSOCIATIVE_KEY);
                match d.iter_mut().find(|de| de.get(ASSOCIATIVE_KEY) == key) {
                    Some(de) => strategic(de, pe, keyed),
                    None => new.push(strip_nulls(pe)),
                }
            }
            new.append(d);
            *d = new;
        }
        (d, p) => *d = strip_nulls(p),
    }
}

/// Whether every element of a list is a map with the associative key (an empty list is not).
fn associative(list: &[Value]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|e| e.get(ASSOCIATIVE_KEY).is_some_and(|k| !k.is_null()))
}

/// A patch value as it lands where nothing was: its `null`s (deletions of nothing) dropped.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// ztp's `setValues`: lay a PolicyGenTemplate overlay map over a source CR's map.
pub fn set_values(source: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    let keys: Vec<String> = source.keys().cloned().collect();
    for k in keys {
        let Some(ov) = overlay.get(&k).filter(|v| !v.is_null()) else {
            if source
                .get(&k)
                .and_then(Value::as_str)
                .is_some_and(|s| s.is_empty() || s.starts_with('$'))
            {
                source.remove(&k);
            }
            continue;
        };
        let Some(sv) = source.get_mut(&k) else {
            continue;
        };
        match (sv, ov) {
            (Value::Object(sm), Value::Object(om)) => set_values(sm, om),
            (Value::Array(sa), Value::Array(oa)) if sa.first().is_some_and(Value::is_object) => {
                for (i, se) in sa.iter_mut().enumerate() {
                    if let (Value::Object(sm), Some(Value::Object(om))) = (&mut *se, oa.get(i)) {
                        set_values(sm, om);
                    }
                }
                let n = sa.len();
                sa.extend(oa.iter().skip(n).cloned());
            }
            (sv, ov) => *sv = ov.clone(),
        }
    }
    for (k, v) in overlay {
        if source.get(k).is_none_or(Value::is_null) {
            source.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_maps_and_named_lists_and_replaces_others() {
        let mut d = json!({"spec": {"additionalKernelArgs": ["a"], "cpu": {"isolated": "1"},
            "filters": [{"name": "x", "v": 1}, {"name": "y", "v": 2}]}});
        let patch = json!({"spec": {"additionalKernelArgs": ["b", "c"], "cpu": {"reserved": "0", "isolated": null},
            "filters": [{"name": "y", "v": 3}, {"name": "z"}]}});
        let mut keyed = d.clone();
        strategic(&mut d, &patch, false);
        assert_eq!(
            d,
            json!({"spec": {"additionalKernelArgs": ["b", "c"], "cpu": {"reserved": "0"},
            "filters": [{"name": "y", "v": 3}, {"name": "z"}]}})
        );
        strategic(&mut keyed, &patch, true);
        assert_eq!(
            keyed["spec"]["filters"],
            json!([{"name": "z"}, {"name": "x", "v": 1}, {"name": "y", "v": 3}])
        );
    }

    #[test]
    fn set_values_drops_unset_placeholders_and_merges_by_index() {
        let mut s =
            json!({"a": "$mcp", "b": "", "c": "keep", "l": [{"x": 1}, {"x": 2}], "k": ["p"]});
        let o = json!({"l": [{"y": 1}], "k": ["q"], "n": 1});
        set_values(s.as_object_mut().unwrap(), o.as_object().unwrap());
        assert_eq!(
            s,
            json!({"c": "keep", "l": [{"x": 1, "y": 1}, {"x": 2}], "k": ["q"], "n": 1})
        );
    }
}
