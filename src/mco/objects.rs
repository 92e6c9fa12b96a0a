//! The checks the Kubernetes API server (and `oc apply`/`kubectl apply`, which validate fields
//! strictly by default) makes on the objects modlayer reads, before anything reaches the MCO:
//! MachineConfigs, MachineConfigPools and the ConfigMaps that carry manifests. An object the API
//! server refuses never exists in the cluster, so verify says so at the place, with the reason
//! the API server would give, instead of judging pools without it.
//!
//! Facts (the field lists are those of the CRDs the cluster serves):
//! - Object names (`metadata.name`) of these kinds are DNS-1123 subdomains: at most 253 of
//!   `a-z 0-9 - .`, dot-separated parts each starting and ending with a letter or digit
//!   (Kubernetes `ValidateObjectMeta` with `NameIsDNSSubdomain`, used for ConfigMaps and for every
//!   custom resource). A namespace is a DNS-1123 label (at most 63, no dot).
//! - Label and annotation keys are qualified names: an optional prefix (a DNS-1123 subdomain, at
//!   most 253) and `/`, then a name of at most 63 of `A-Za-z0-9 - _ .` starting and ending with a
//!   letter or digit. Label values are empty or at most 63 of the same set, starting and ending
//!   with a letter or digit. Annotation values are any strings, at most 256 KiB in all
//!   (k8s.io/apimachinery `pkg/util/validation`, `ValidateLabels`, `ValidateAnnotations`).
//! - MachineConfig (openshift/api, `machineconfiguration/v1/zz_generated.crd-manifests/
//!   0000_80_machine-config_01_machineconfigs.crd.yaml`, commit 2a3d73913b5a): top level
//!   `apiVersion`, `kind`, `metadata`, `spec` (no `status`); `spec` has `baseOSExtensionsContainerImage`
//!   (string), `config` (object, unknown fields kept), `extensions` (list of strings), `fips`
//!   (boolean), `kernelArguments` (list of strings), `kernelType` (string), `osImageURL` (string).
//! - MachineConfigPool (same repository and commit, `..._01_machineconfigpools.crd.yaml`): top
//!   level `apiVersion`, `kind`, `metadata`, `spec`, `status`; `spec` has `configuration`,
//!   `machineConfigSelector` (object), `maxUnavailable` (integer or string), `nodeSelector`
//!   (object), `paused` (boolean), `pinnedImageSets` (list), and `osImageStream` (behind the
//!   OSStreams feature gate; accepted here so that clusters that have it are not refused).
//! - `kubectl apply`/`oc apply` validate strictly by default (since kubectl 1.27): an unknown field
//!   is refused ("strict decoding error: unknown field \"spec.selector\""); clients that do not ask
//!   for strict validation (the installer's bootstrap, controllers) have the API server drop it.

use serde_json::{Map, Value};

use crate::findings::Code;
use crate::formats::json::pointer_token as escape;
use crate::formats::template;

/// One thing the API server would say about an object: the code, the JSON pointer (relative to
/// the object) and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// [`Code::ObjectInvalid`] (refused everywhere) or [`Code::UnknownField`] (refused by strict
    /// clients such as `oc apply`, dropped by others).
    pub code: Code,
    /// Where, as a JSON pointer into the object.
    pub pointer: String,
    /// What the API server says.
    pub message: String,
}

/// The fields of ObjectMeta a client may write (k8s.io/apimachinery `ObjectMeta`).
const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// MachineConfig: top-level fields and `spec` fields (see the module's facts).
const MC_TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
const MC_SPEC: &[&str] = &[
    "baseOSExtensionsContainerImage",
    "config",
    "extensions",
    "fips",
    "kernelArguments",
    "kernelType",
    "osImageURL",
];
/// MachineConfigPool: top-level fields and `spec` fields (see the module's facts).
const MCP_TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const MCP_SPEC: &[&str] = &[
    "configuration",
    "machineConfigSelector",
    "maxUnavailable",
    "nodeSelector",
    "osImageStream",
    "paused",
    "pinnedImageSets",
];
/// ConfigMap: its top-level fields (core/v1).
const CM_TOP: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "binaryData",
    "immutable",
];

/// Largest total size of an object's annotations (keys and values).
const MAX_ANNOTATIONS: usize = 256 * 1024;

/// Check an object of a kind modlayer reads as the API server would; other kinds get nothing.
pub fn check(obj: &Value) -> Vec<Refusal> {
    let mut out = Vec::new();
    let Some(kind) = obj.get("kind").and_then(Value::as_str) else {
        return out;
    };
    let (top, spec): (&[&str], Option<&[&str]>) = match kind {
        "MachineConfig" => (MC_TOP, Some(MC_SPEC)),
        "MachineConfigPool" => (MCP_TOP, Some(MCP_SPEC)),
        "ConfigMap" => (CM_TOP, None),
        _ => return out,
    };
    let Some(o) = obj.as_object() else {
        return out;
    };
    unknown_fields(o, "", top, &mut out);
    meta(obj.get("metadata"), kind == "ConfigMap", &mut out);
    if kind == "MachineConfig" {
        deciding_templates(obj, &mut out);
    }
    match (spec, obj.get("spec")) {
        (Some(fields), Some(Value::Object(s))) => {
            unknown_fields(s, "/spec", fields, &mut out);
            types(kind, s, &mut out);
        }
        (Some(_), Some(Value::Null) | None) => {}
        (Some(_), Some(other)) => out.push(invalid(
            "/spec",
            format!("spec must be an object, not {}", type_name(other)),
        )),
        (None, _) => {}
    }
    if kind == "ConfigMap" {
        if let Some(data) = obj.get("data") {
            match data.as_object() {
                Some(d) => {
                    for (k, v) in d {
                        if !v.is_string() {
                            out.push(invalid(
                                &format!("/data/{}", escape(k)),
                                format!(
                                    "data.{k} must be a string, not {} (quote it)",
                                    type_name(v)
                                ),
                            ));
                        }
                    }
                }
                None if data.is_null() => {}
                None => out.push(invalid(
                    "/data",
                    format!("data must be a map of strings, not {}", type_name(data)),
                )),
            }
        }
    }
    out
}

/// A value refused for its grammar: [`Code::TemplateUnrendered`] when it holds a template marker.
fn bad(pointer: &str, value: &str, message: String) -> Refusal {
    let mut r = invalid(pointer, message);
    if template::find(value).is_some() {
        r.code = Code::TemplateUnrendered;
    }
    r
}

/// Template markers in the scalars of a MachineConfig that decide what it does and that no
/// consumer expands: apiVersion, kind, the Ignition version, file paths, unit names and kernel
/// arguments. (A file's contents and a unit's text are contents, never flagged.)
fn deciding_templates(mc: &Value, out: &mut Vec<Refusal>) {
    let mut places: Vec<(String, &Value)> = Vec::new();
    for p in ["/apiVersion", "/kind", "/spec/config/ignition/version"] {
        if let Some(v) = mc.pointer(p) {
            places.push((p.to_string(), v));
        }
    }
    let list = |p: &str| {
        mc.pointer(p)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
    };
    for (i, f) in list("/spec/config/storage/files") {
        if let Some(v) = f.get("path") {
            places.push((format!("/spec/config/storage/files/{i}/path"), v));
        }
    }
    for (i, u) in list("/spec/config/systemd/units") {
        if let Some(v) = u.get("name") {
            places.push((format!("/spec/config/systemd/units/{i}/name"), v));
        }
    }
    for (i, a) in list("/spec/kernelArguments") {
        places.push((format!("/spec/kernelArguments/{i}"), a));
    }
    for (p, v) in places {
        let Some(text) = v.as_str() else { continue };
        if let Some(t) = template::find(text) {
            out.push(Refusal {
                code: Code::TemplateUnrendered,
                message: format!(
                    "{} {text:?} is a template (`{}`, {}): render it first; nothing expands it on the way to the node",
                    p.trim_start_matches('/').replace('/', "."),
                    t.text,
                    t.what
                ),
                pointer: p,
            });
        }
    }
}

fn invalid(pointer: &str, message: String) -> Refusal {
    Refusal {
        code: Code::ObjectInvalid,
        pointer: pointer.to_string(),
        message,
    }
}

/// The JSON type of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn unknown_fields(o: &Map<String, Value>, at: &str, known: &[&str], out: &mut Vec<Refusal>) {
    for k in o.keys() {
        if known.contains(&k.as_str()) {
            continue;
        }
        let path = format!(
            "{}{k}",
            at.trim_start_matches('/').replace('/', ".") + if at.is_empty() { "" } else { "." }
        );
        let near = known
            .iter()
            .find(|f| f.eq_ignore_ascii_case(k))
            .map(|f| format!(" (did you mean {f}?)"))
            .unwrap_or_default();
        out.push(Refusal {
            code: Code::UnknownField,
            pointer: format!("{at}/{}", escape(k)),
            message: format!(
                "unknown field \"{path}\"{near}: `oc apply` refuses it (strict decoding error), other clients have the API server drop it; known fields here: {}",
                known.join(", ")
            ),
        });
    }
}

/// A field, a test of its value's type, and the type for messages.
type TypeRule = (&'static str, fn(&Value) -> bool, &'static str);

/// The types of the spec fields modlayer reads or the API server checks (a wrong type is refused
/// by every client: the CRD's schema validation).
fn types(kind: &str, s: &Map<String, Value>, out: &mut Vec<Refusal>) {
    let want: &[TypeRule] = match kind {
        "MachineConfig" => &[
            ("config", Value::is_object, "a map (an Ignition config)"),
            ("kernelArguments", is_strings, "a list of strings"),
            ("extensions", is_strings, "a list of strings"),
            ("fips", Value::is_boolean, "a boolean"),
            ("kernelType", Value::is_string, "a string"),
            ("osImageURL", Value::is_string, "a string"),
            (
                "baseOSExtensionsContainerImage",
                Value::is_string,
                "a string",
            ),
        ],
        _ => &[
            (
                "machineConfigSelector",
                Value::is_object,
                "a map (a label selector)",
            ),
            ("nodeSelector", Value::is_object, "a map (a label selector)"),
            ("paused", Value::is_boolean, "a boolean"),
            ("pinnedImageSets", Value::is_array, "a list"),
            (
                "maxUnavailable",
                |v| v.is_u64() || v.is_i64() || v.is_string(),
                "an integer or a percentage",
            ),
        ],
    };
    for (field, ok, what) in want {
        if let Some(v) = s.get(*field).filter(|v| !v.is_null()) {
            if !ok(v) {
                out.push(invalid(
                    &format!("/spec/{field}"),
                    format!(
                        "spec.{field} must be {what}, not {}: the API server refuses the object",
                        type_name(v)
                    ),
                ));
            }
        }
    }
}

fn is_strings(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

fn meta(m: Option<&Value>, namespaced: bool, out: &mut Vec<Refusal>) {
    let Some(m) = m else {
        out.push(invalid(
            "",
            "no metadata: the API server needs metadata.name".into(),
        ));
        return;
    };
    let Some(o) = m.as_object() else {
        out.push(invalid(
            "/metadata",
            format!("metadata must be a map, not {}", type_name(m)),
        ));
        return;
    };
    unknown_fields(o, "/metadata", OBJECT_META, out);
    match o.get("name") {
        Some(Value::String(n)) => {
            if let Some(why) = dns_subdomain(n) {
                out.push(bad(
                    "/metadata/name",
                    n,
                    format!("metadata.name {n:?} is not a valid name: {why}{}", hint(n)),
                ));
            }
        }
        Some(v) if !v.is_null() => out.push(invalid(
            "/metadata/name",
            format!("metadata.name must be a string, not {}", type_name(v)),
        )),
        _ if o.get("generateName").is_some() => {}
        _ => out.push(invalid("/metadata", "metadata.name is required".into())),
    }
    if namespaced {
        if let Some(ns) = o.get("namespace").filter(|v| !v.is_null()) {
            match ns.as_str() {
                Some(n) => {
                    if let Some(why) = dns_label(n) {
                        out.push(bad(
                            "/metadata/namespace",
                            n,
                            format!("metadata.namespace {n:?} is not valid: {why}{}", hint(n)),
                        ));
                    }
                }
                None => out.push(invalid(
                    "/metadata/namespace",
                    format!("metadata.namespace must be a string, not {}", type_name(ns)),
                )),
            }
        }
    }
    for (field, is_label) in [("labels", true), ("annotations", false)] {
        let Some(map) = o.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(map) = map.as_object() else {
            out.push(invalid(
                &format!("/metadata/{field}"),
                format!(
                    "metadata.{field} must be a map of strings, not {}",
                    type_name(map)
                ),
            ));
            continue;
        };
        let mut total = 0;
        for (k, v) in map {
            let at = format!("/metadata/{field}/{}", escape(k));
            if let Some(why) = qualified_name(k) {
                out.push(bad(
                    &at,
                    k,
                    format!("metadata.{field} key {k:?} is not valid: {why}{}", hint(k)),
                ));
            }
            let Some(v) = v.as_str() else {
                let v_shown = v.to_string();
                out.push(invalid(
                    &at,
                    format!(
                        "metadata.{field}.{k} must be a string, not {} ({v_shown}): quote it",
                        type_name(v)
                    ),
                ));
                continue;
            };
            total += k.len() + v.len();
            if is_label {
                if let Some(why) = label_value(v) {
                    out.push(bad(
                        &at,
                        v,
                        format!(
                            "label {k}: value {v:?} is not a valid label value: {why}{}",
                            hint(v)
                        ),
                    ));
                }
            }
        }
        if !is_label && total > MAX_ANNOTATIONS {
            out.push(invalid("/metadata/annotations", format!("metadata.annotations hold {total} bytes, more than the {MAX_ANNOTATIONS} the API server accepts")));
        }
    }
}

/// What a value that is not valid seems to be: a template left unrendered, or a documentation
/// callout (`<1>`) copied with the example.
fn hint(s: &str) -> String {
    if let Some(t) = template::find(s) {
        return format!(
            "; it is a template (`{}`, {}): render it first",
            t.text, t.what
        );
    }
    if let Some(c) = callout(s) {
        return format!(
            "; `{c}` looks like a documentation callout copied with the example: remove it"
        );
    }
    String::new()
}

/// A trailing documentation callout: ` <1>`, ` # <2>`.
fn callout(s: &str) -> Option<&str> {
    let t = s.trim_end();
    let open = t.rfind('<')?;
    let inner = t[open..].strip_prefix('<')?.strip_suffix('>')?;
    (!inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit())).then_some(&t[open..])
}

fn alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Why `s` is not a DNS-1123 label (at most 63 of `a-z 0-9 -`, alphanumeric at both ends).
pub fn dns_label(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s.len() > 63 {
        return Some(format!("{} characters, at most 63", s.len()));
    }
    let b = s.as_bytes();
    if !b.iter().all(|&c| alnum_lower(c) || c == b'-')
        || !alnum_lower(b[0])
        || !alnum_lower(b[b.len() - 1])
    {
        return Some("a DNS-1123 label is lowercase letters, digits and '-', starting and ending with a letter or digit".into());
    }
    None
}

/// Why `s` is not a DNS-1123 subdomain (at most 253; dot-separated parts of `a-z 0-9 -`, each
/// alphanumeric at both ends).
pub fn dns_subdomain(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s.len() > 253 {
        return Some(format!("{} characters, at most 253", s.len()));
    }
    let ok = s.split('.').all(|p| {
        let b = p.as_bytes();
        !b.is_empty()
            && b.iter().all(|&c| alnum_lower(c) || c == b'-')
            && alnum_lower(b[0])
            && alnum_lower(b[b.len() - 1])
    });
    (!ok).then(|| "a DNS-1123 subdomain is lowercase letters, digits, '-' and '.', starting and ending with a letter or digit".into())
}

/// Why `s` is not a qualified name's name part or a label value (at most 63 of `A-Za-z0-9 - _ .`,
/// alphanumeric at both ends); `what` names it.
fn name_part(s: &str, what: &str) -> Option<String> {
    if s.len() > 63 {
        return Some(format!("{what} has {} characters, at most 63", s.len()));
    }
    let b = s.as_bytes();
    let an = |c: u8| c.is_ascii_alphanumeric();
    let ok = b.iter().all(|&c| an(c) || b"-_.".contains(&c))
        && b.first().is_some_and(|&c| an(c))
        && b.last().is_some_and(|&c| an(c));
    (!ok).then(|| format!("{what} must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit"))
}

/// Why `k` is not a qualified name (label and annotation keys).
pub fn qualified_name(k: &str) -> Option<String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        if let Some(why) = dns_subdomain(p) {
            return Some(format!("its prefix {p:?}: {why}"));
        }
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    if name.contains('/') {
        return Some("a key holds at most one '/'".into());
    }
    name_part(name, "the name part")
}

/// Why `v` is not a label value (empty, or at most 63 of `A-Za-z0-9 - _ .`, alphanumeric at both
/// ends).
pub fn label_value(v: &str) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    name_part(v, "a label value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_labels_and_keys_follow_the_api_server() {
        assert_eq!(dns_subdomain("99-worker-sctp.v2"), None);
        for bad in [
            "",
            "Load-SCTP",
            "load_sctp",
            "-a",
            "a-",
            "a..b",
            &"x".repeat(254),
        ] {
            assert!(dns_subdomain(bad).is_some(), "{bad:?}");
        }
        assert_eq!(
            qualified_name("machineconfiguration.openshift.io/role"),
            None
        );
        assert_eq!(qualified_name("app.kubernetes.io/name"), None);
        assert_eq!(qualified_name("Team_A.x"), None);
        for bad in ["a/b/c", "/x", "Example.COM/x", "x/", "-x", &"y".repeat(64)] {
            assert!(qualified_name(bad).is_some(), "{bad:?}");
        }
        assert_eq!(label_value(""), None);
        assert_eq!(label_value("worker"), None);
        assert_eq!(label_value("A_b.c-1"), None);
        for bad in ["worker <1>", "worker ", "_x", &"z".repeat(64)] {
            assert!(label_value(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn machineconfig_fields_and_types() {
        let mc = json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": "x", "labels": {"machineconfiguration.openshift.io/role": "worker <1>"}},
            "spec": {"selector": {}, "fips": "yes", "config": {"ignition": {"version": "3.2.0"}}}});
        let r = check(&mc);
        let got: Vec<(&str, &str)> = r
            .iter()
            .map(|r| (r.code.as_str(), r.pointer.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "object-invalid",
                    "/metadata/labels/machineconfiguration.openshift.io~1role"
                ),
                ("unknown-field", "/spec/selector"),
                ("object-invalid", "/spec/fips"),
            ]
        );
        assert!(
            r[0].message.contains("documentation callout"),
            "{}",
            r[0].message
        );
        assert!(
            r[1].message.contains("unknown field \"spec.selector\""),
            "{}",
            r[1].message
        );
        let pool = json!({"kind": "MachineConfigPool", "metadata": {"name": "infra"},
            "spec": {"machineConfigSelector": {}, "nodeSelector": {}, "maxUnavailable": "10%", "paused": false}, "status": {}});
        assert_eq!(check(&pool), []);
        let other =
            json!({"kind": "Deployment", "metadata": {"name": "Bad_Name"}, "spec": {"x": 1}});
        assert_eq!(check(&other), []);
    }
}
