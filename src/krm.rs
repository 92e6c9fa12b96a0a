//! `modlayer krm`: a KRM function (kustomize `exec`, kpt) per the KRM Functions Specification
//! (<https://github.com/kubernetes-sigs/kustomize/blob/master/cmd/config/docs/api-conventions/functions-spec.md>).
//!
//! A `ResourceList` comes in on standard input (YAML or JSON); the same list goes out as YAML with
//! one MachineConfig per role added (or replaced, when an item of that name differs), every other
//! item kept in order and content, and `results` saying what each pool will boot with. The
//! `functionConfig` is a ConfigMap (`data.roles` comma-separated, `data.module`, `data.layer`,
//! `data.openshiftVersion`) or a `modlayer.dev/v1alpha1` `ModuleLayer` (`spec.roles` list,
//! `spec.module`, `spec.layer`, `spec.openshiftVersion`). Running the function on its own output
//! gives the same bytes.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::findings::{Code, Severity};
use crate::formats::yaml;
use crate::layer::{Layer, DEFAULT_LAYER};
use crate::mco::file::documents;
use crate::mco::inventory::{Inventory, Pool, PoolChoice};
use crate::mco::release::Release;
use crate::mco::render::{layer_machineconfig, machineconfig_name};
use crate::mco::API_VERSION;
use crate::node::base::Base;
use crate::node::NodeView;
use crate::origin::Origin;
use crate::report::{assess, TargetReport};

/// `apiVersion` of the function's own config kind.
pub const FUNCTION_API_VERSION: &str = "modlayer.dev/v1alpha1";
/// `kind` of the function's own config kind.
pub const FUNCTION_KIND: &str = "ModuleLayer";
/// The annotation giving the file a resource is written to (kpt, kustomize: legacy form).
pub const PATH_ANNOTATION: &str = "config.kubernetes.io/path";
/// The annotation giving the file a resource is written to (internal form, spec v1).
pub const INTERNAL_PATH_ANNOTATION: &str = "internal.config.kubernetes.io/path";
/// The annotation giving a resource's index in its file (legacy form).
pub const INDEX_ANNOTATION: &str = "config.kubernetes.io/index";
/// The annotation giving a resource's index in its file (internal form).
pub const INTERNAL_INDEX_ANNOTATION: &str = "internal.config.kubernetes.io/index";
/// `apiVersion` written when the input does not give one.
const RESOURCE_LIST_API: &str = "config.kubernetes.io/v1";

/// What the function does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Add (or replace) one MachineConfig per role, then judge the package.
    Apply,
    /// Add nothing: fail when the package does not enable the module on the pools it should.
    Verify,
}

/// `kind` of the validator's config (the same as `mode: verify`).
pub const CHECK_KIND: &str = "ModuleLayerCheck";
/// The names modlayer answers to as a kustomize legacy exec plugin (the kinds of its config).
pub const PLUGIN_KINDS: &[&str] = &[FUNCTION_KIND, CHECK_KIND];

/// The label on the MachineConfigs the function writes (and prunes when their role goes).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "modlayer");

/// What the `functionConfig` asks for.
#[derive(Clone, Debug)]
pub struct FunctionConfig {
    /// Apply or verify.
    pub mode: Mode,
    /// Roles to write a MachineConfig for (default `worker`).
    pub roles: Vec<String>,
    /// Whether the roles were given (in verify mode, else the pool rule decides).
    pub explicit_roles: bool,
    /// The layer (default `sctp`).
    pub layer: Layer,
    /// The OpenShift release, which picks the Ignition spec and is checked against.
    pub openshift_version: Option<Release>,
    /// The base state the MachineConfigs are laid over (`base`: rhcos, fcos or none; default
    /// rhcos; a function reads no OS image).
    pub base: NodeView,
}

/// A functionConfig error: what is wrong and the field it is in.
#[derive(Debug)]
pub struct ConfigError {
    /// The field (`data.roles`, `spec.module`…), if one.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "functionConfig {field}: {}", self.message),
            None => write!(f, "functionConfig: {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

fn config_error(field: Option<&str>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.map(str::to_string),
        message: message.into(),
    }
}

/// Read and run the function: a ResourceList (YAML or JSON) from `input`, the resulting
/// ResourceList (YAML) to `output`. Returns the process exit status: 0, or 1 when a result has
/// severity error. An input that is not a ResourceList is an `Err`.
pub fn run(input: &mut dyn Read, output: &mut dyn Write) -> Result<i32> {
    // A function's standard error belongs to its runner: no progress bars there.
    crate::fsutil::set_progress(false);
    let bytes = crate::fsutil::read_bounded(input, "<stdin>")?;
    let list = read_resource_list(&bytes)?;
    let input_items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let texts = std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| !t.trim_start().starts_with('{'))
        .and_then(crate::krm_text::ItemTexts::find);
    let (mut out, status) = process(list, true);
    if let (Ok(text), Some(Value::Array(results))) =
        (std::str::from_utf8(&bytes), out.get_mut("results"))
    {
        for d in crate::krm_text::kyaml_differences(text) {
            results.push(result("info", &d, None));
        }
    }
    report_errors(&out);
    output
        .write_all(crate::krm_text::write(&out, &input_items, texts.as_ref()).as_bytes())
        .context("<stdout>: cannot write")?;
    output.flush().context("<stdout>: cannot write")?;
    Ok(status)
}

/// Error results also go to standard error: kustomize drops `results`, so that is where users
/// see why a run failed.
fn report_errors(list: &Map<String, Value>) {
    let results = list.get("results").and_then(Value::as_array);
    for r in results.into_iter().flatten() {
        if r.get("severity").and_then(Value::as_str) == Some("error") {
            let msg = r.get("message").and_then(Value::as_str).unwrap_or("");
            // (a closed standard error is no reason to fail the run: the results carry it too)
            let _ = writeln!(std::io::stderr(), "modlayer krm: error: {msg}");
        }
    }
}

/// kustomize's legacy exec plugin protocol (what kubectl's kustomize and Argo CD's run with
/// `--enable-alpha-plugins`): the plugin's config file (a `ModuleLayer` or `ModuleLayerCheck`) as
/// the argument, the resources as a YAML stream on `input`, the resources out on `output`, no
/// orchestration annotations added. Error results go to standard error; the status is the
/// function's.
pub fn run_plugin(config: &Path, input: &mut dyn Read, output: &mut dyn Write) -> Result<i32> {
    crate::fsutil::set_progress(false);
    let shown = config.display().to_string();
    let fc_bytes = crate::fsutil::read_config(&shown)?;
    let fc = documents(&shown, &fc_bytes)?
        .into_iter()
        .find(|d| !d.is_null())
        .with_context(|| format!("{shown}: empty"))?;
    let bytes = crate::fsutil::read_bounded(input, "<stdin>")?;
    let items: Vec<Value> = documents("<stdin>", &bytes)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let mut list = Map::new();
    list.insert("items".into(), Value::Array(items));
    list.insert("functionConfig".into(), fc);
    let (out, status) = process(list, false);
    report_errors(&out);
    let items = out
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let text: Vec<String> = items.iter().map(yaml::to_yaml).collect();
    output
        .write_all(text.join("---\n").as_bytes())
        .context("<stdout>: cannot write")?;
    output.flush().context("<stdout>: cannot write")?;
    Ok(status)
}

/// Install modlayer in a kustomize plugin home as `modlayer.dev/v1alpha1/modulelayer/ModuleLayer`
/// and `.../modulelayercheck/ModuleLayerCheck` (copies of this binary, or links to it): the paths
/// kustomize runs for those kinds. Returns the paths written.
pub fn install_plugin(home: &Path, symlink: bool) -> Result<Vec<std::path::PathBuf>> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut written = Vec::new();
    for kind in PLUGIN_KINDS {
        let dir = home
            .join(FUNCTION_API_VERSION)
            .join(kind.to_ascii_lowercase());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let path = dir.join(kind);
        if symlink {
            let tmp = dir.join(format!(".{kind}.modlayer-link"));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&exe, &tmp)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .with_context(|| format!("{}: cannot link", path.display()))?;
        } else {
            let bytes =
                std::fs::read(&exe).with_context(|| format!("{}: cannot read", exe.display()))?;
            crate::fsutil::write_atomic(&path, &bytes)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("{}: cannot make executable", path.display()))?;
        }
        written.push(path);
    }
    Ok(written)
}

/// Parse the input as a ResourceList object.
fn read_resource_list(bytes: &[u8]) -> Result<Map<String, Value>> {
    let docs = documents("<stdin>", bytes)?;
    let mut docs = docs.into_iter().filter(|d| !d.is_null());
    let Some(Value::Object(list)) = docs.next() else {
        bail!("<stdin>: the input is not a ResourceList object");
    };
    if docs.next().is_some() {
        bail!("<stdin>: more than one document: a KRM function reads one ResourceList");
    }
    if list.get("kind").and_then(Value::as_str) != Some("ResourceList") {
        bail!(
            "<stdin>: kind is {}, not ResourceList",
            list.get("kind").map_or("missing".into(), Value::to_string)
        );
    }
    match list.get("items") {
        None | Some(Value::Null) | Some(Value::Array(_)) => Ok(list),
        Some(_) => bail!("<stdin>: items must be a list"),
    }
}

/// Run the function on a ResourceList: the output list and the exit status.
fn process(mut list: Map<String, Value>, annotate_new: bool) -> (Map<String, Value>, i32) {
    let mut items: Vec<Value> = match list.remove("items") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    list.remove("results");
    let mut results = Vec::new();
    let mut status = 0;
    match parse_function_config(list.get("functionConfig")) {
        Ok(cfg) => {
            if cfg.mode == Mode::Apply {
                add_machineconfigs(&mut items, &cfg, &mut results, annotate_new);
            }
            verify_items(&items, &cfg, &mut results);
        }
        Err(e) => {
            let mut r = result("error", &e.to_string(), None);
            if let Some(field) = &e.field {
                r["field"] = json!({ "path": field });
            }
            results.push(r);
            status = 2;
        }
    }
    if status == 0
        && results
            .iter()
            .any(|r| r.get("severity").and_then(Value::as_str) == Some("error"))
    {
        status = 1;
    }
    let mut out = Map::new();
    out.insert(
        "apiVersion".into(),
        list.remove("apiVersion")
            .unwrap_or_else(|| json!(RESOURCE_LIST_API)),
    );
    out.insert("kind".into(), json!("ResourceList"));
    out.insert("items".into(), Value::Array(items));
    out.extend(list.into_iter().filter(|(k, _)| k != "kind"));
    out.insert("results".into(), Value::Array(results));
    (out, status)
}

/// Read the function's config (absent = defaults): a v1 ConfigMap (`data.roles` comma-separated,
/// `data.module`, `data.layer`, `data.openshiftVersion`, `data.mode`), a `ModuleLayer` or a
/// `ModuleLayerCheck` (`spec.roles` list, `spec.module`, …). Strict: an unknown key, a wrong type,
/// an invalid role, module or version is an error naming its field.
pub fn parse_function_config(fc: Option<&Value>) -> Result<FunctionConfig, ConfigError> {
    let default_layer =
        || Layer::builtin(DEFAULT_LAYER).map_err(|e| config_error(None, format!("{e:#}")));
    let mut cfg = FunctionConfig {
        mode: Mode::Apply,
        roles: Vec::new(),
        explicit_roles: false,
        layer: default_layer()?,
        openshift_version: None,
        base: NodeView::rhcos(DEFAULT_LAYER),
    };
    let Some(fc) = fc.filter(|v| !v.is_null()) else {
        cfg.roles.push("worker".into());
        return Ok(cfg);
    };
    let kind = fc.get("kind").and_then(Value::as_str).unwrap_or("");
    let api = fc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let (fields, at) = match (api, kind) {
        ("v1", "ConfigMap") => (fc.get("data"), "data"),
        (FUNCTION_API_VERSION, FUNCTION_KIND) => (fc.get("spec"), "spec"),
        (FUNCTION_API_VERSION, CHECK_KIND) => {
            cfg.mode = Mode::Verify;
            (fc.get("spec"), "spec")
        }
        _ => {
            return Err(config_error(
                Some("kind"),
                format!("apiVersion {api:?} kind {kind:?} is not understood: give a v1 ConfigMap, or {FUNCTION_API_VERSION} {FUNCTION_KIND} or {CHECK_KIND}"),
            ))
        }
    };
    let empty = Map::new();
    let fields = match fields {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(config_error(Some(at), "must be a mapping")),
    };
    let (mut module, mut layer, mut base) = (None, None, Base::Rhcos);
    for (key, value) in fields {
        let here = format!("{at}.{key}");
        let bad = |e: anyhow::Error| config_error(Some(&here), format!("{e:#}"));
        match key.as_str() {
            "roles" => {
                cfg.roles = roles_of(value).map_err(bad)?;
                cfg.explicit_roles = true;
            }
            "module" => module = Some(string_of(value).map_err(bad)?),
            "layer" => layer = Some(string_of(value).map_err(bad)?),
            "openshiftVersion" => {
                let text = string_of(value).map_err(bad)?;
                cfg.openshift_version = Some(text.parse::<Release>().map_err(bad)?);
            }
            "base" => {
                base = string_of(value)
                    .and_then(|s| s.parse::<Base>())
                    .map_err(bad)?;
                if let Base::Image(b) = &base {
                    return Err(config_error(
                        Some(&here),
                        format!("{b:?}: a KRM function takes rhcos, fcos or none"),
                    ));
                }
            }
            "mode" => {
                cfg.mode = match string_of(value).map_err(bad)?.as_str() {
                    "apply" => Mode::Apply,
                    "verify" => Mode::Verify,
                    other => {
                        return Err(config_error(
                            Some(&here),
                            format!("{other:?}: give apply or verify"),
                        ))
                    }
                }
            }
            _ => {
                return Err(config_error(
                    Some(&here),
                    "unknown key (known: roles, module, layer, base, openshiftVersion, mode)",
                ))
            }
        }
    }
    cfg.layer = match (module, layer) {
        (Some(_), Some(_)) => return Err(config_error(Some(at), "give module or layer, not both")),
        (Some(m), None) => {
            let view = base.builtin_view(&m).unwrap_or_default();
            Layer::for_module(&m, &view)
                .map_err(|e| config_error(Some(&format!("{at}.module")), format!("{e:#}")))?
        }
        (None, Some(l)) => Layer::named(&l)
            .map_err(|e| config_error(Some(&format!("{at}.layer")), format!("{e:#}")))?,
        (None, None) => cfg.layer,
    };
    cfg.base = base.builtin_view(&cfg.layer.module).unwrap_or_default();
    if cfg.roles.is_empty() {
        cfg.roles.push("worker".into());
    }
    Ok(cfg)
}

/// A string field (a number is refused: YAML reads a plain `4.10` as the number 4.1).
fn string_of(v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => bail!("{n} is a number; quote it (a plain 4.10 reads as 4.1)"),
        _ => bail!("must be a string"),
    }
}

/// Roles: a comma-separated string (ConfigMap) or a list of strings, each a valid pool role.
fn roles_of(v: &Value) -> Result<Vec<String>> {
    let raw: Vec<String> = match v {
        Value::String(s) => s.split(',').map(|r| r.trim().to_string()).collect(),
        Value::Array(a) => a.iter().map(string_of).collect::<Result<_>>()?,
        _ => bail!("must be a list of roles or a comma-separated string"),
    };
    let mut roles: Vec<String> = Vec::new();
    for r in raw.into_iter().filter(|r| !r.is_empty()) {
        crate::mco::validate_role(&r)?;
        if !roles.contains(&r) {
            roles.push(r);
        }
    }
    Ok(roles)
}

/// A result of the `results` field.
fn result(severity: &str, message: &str, resource: Option<&str>) -> Value {
    let mut r = Map::new();
    r.insert("message".into(), json!(message));
    r.insert("severity".into(), json!(severity));
    if let Some(name) = resource {
        r.insert(
            "resourceRef".into(),
            json!({ "apiVersion": API_VERSION, "kind": "MachineConfig", "name": name }),
        );
    }
    Value::Object(r)
}

fn is_machineconfig(item: &Value, name: &str) -> bool {
    item.get("kind").and_then(Value::as_str) == Some("MachineConfig")
        && item.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
}

/// Whether an annotation is the orchestrator's (kept from the input, ignored when comparing).
fn is_orchestration(key: &str) -> bool {
    key.starts_with("config.kubernetes.io/")
        || key.starts_with("internal.config.kubernetes.io/")
        || key.starts_with("config.k8s.io/")
}

/// An item without the orchestrator's annotations (for comparing content).
fn content_of(item: &Value) -> Value {
    let mut v = item.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            ann.retain(|k, _| !is_orchestration(k));
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    v
}

/// Set annotations on an item (creating `metadata.annotations`).
fn annotate(item: &mut Value, annotations: Map<String, Value>) {
    if annotations.is_empty() {
        return;
    }
    if let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        let ann = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(ann) = ann.as_object_mut() {
            ann.extend(annotations);
        }
    }
}

/// The annotations a new item is written under: `<name>.yaml`, index 0, in both forms.
fn new_item_annotations(name: &str) -> Map<String, Value> {
    let file = format!("{name}.yaml");
    let mut m = Map::new();
    m.insert(PATH_ANNOTATION.into(), json!(file));
    m.insert(INDEX_ANNOTATION.into(), json!("0"));
    m.insert(INTERNAL_PATH_ANNOTATION.into(), json!(file));
    m.insert(INTERNAL_INDEX_ANNOTATION.into(), json!("0"));
    m
}

/// Whether an item is a MachineConfig this function wrote for the layer's module.
fn is_owned(item: &Value, layer: &Layer) -> bool {
    let name = item
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let prefix = machineconfig_name(layer, "");
    item.get("kind").and_then(Value::as_str) == Some("MachineConfig")
        && item
            .pointer("/metadata/labels")
            .and_then(|l| l.get(MANAGED_BY.0))
            .and_then(Value::as_str)
            == Some(MANAGED_BY.1)
        && name.starts_with(&prefix)
}

/// The MachineConfig the function writes for a role, over an existing item of that name: the
/// existing item's labels and annotations are kept (the role and managed-by labels set), its
/// spec replaced.
fn desired_over(existing: Option<&Value>, mut desired: Value) -> Value {
    let Some(old) = existing else {
        return desired;
    };
    let mut meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if let (Some(m), Some(new_labels)) = (
        meta.as_object_mut(),
        desired
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned(),
    ) {
        let labels = m.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.extend(new_labels);
        }
    }
    desired["metadata"] = meta;
    desired
}

/// Add (or replace, when different) one MachineConfig item per role, and prune the ones this
/// function wrote earlier for roles no longer asked for.
fn add_machineconfigs(
    items: &mut Vec<Value>,
    cfg: &FunctionConfig,
    results: &mut Vec<Value>,
    annotate_new: bool,
) {
    let spec = cfg
        .openshift_version
        .map(Release::newest_spec)
        .unwrap_or(crate::ignition::DEFAULT_SPEC);
    let wanted: Vec<String> = cfg
        .roles
        .iter()
        .map(|r| machineconfig_name(&cfg.layer, r))
        .collect();
    items.retain(|i| {
        let name = i
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let prune = is_owned(i, &cfg.layer) && !wanted.iter().any(|w| w == name);
        if prune {
            results.push(result(
                "info",
                &format!("MachineConfig {name} pruned: its role is no longer asked for"),
                Some(name),
            ));
        }
        !prune
    });
    for role in &cfg.roles {
        let name = machineconfig_name(&cfg.layer, role);
        let mut fresh = layer_machineconfig(&cfg.layer, role, &name, spec);
        fresh["metadata"]["labels"][MANAGED_BY.0] = json!(MANAGED_BY.1);
        let at = items.iter().position(|i| is_machineconfig(i, &name));
        let desired = desired_over(at.map(|i| &items[i]), fresh);
        match at {
            Some(i) if content_of(&items[i]) == content_of(&desired) => {}
            Some(i) => items[i] = desired,
            None => {
                let mut desired = desired;
                if annotate_new {
                    annotate(&mut desired, new_item_annotations(&name));
                }
                items.push(desired);
            }
        }
        results.push(result(
            "info",
            &format!(
                "MachineConfig {name} (role {role}) carries layer {} (module {}): {} files, Ignition {spec}",
                cfg.layer.name,
                cfg.layer.module,
                cfg.layer.files.len()
            ),
            Some(&name),
        ));
    }
}

/// Where an item came from, for messages: its path annotation (and index), or its place.
fn item_origin(i: usize, item: &Value) -> Origin {
    let ann = item.pointer("/metadata/annotations");
    let get = |k: &str| ann.and_then(|a| a.get(k)).and_then(Value::as_str);
    let path = get(INTERNAL_PATH_ANNOTATION).or_else(|| get(PATH_ANNOTATION));
    let index = get(INTERNAL_INDEX_ANNOTATION)
        .or_else(|| get(INDEX_ANNOTATION))
        .filter(|i| *i != "0");
    match (path, index) {
        (Some(p), Some(x)) => Origin::file(p).inner(format!("document {x}")),
        (Some(p), None) => Origin::file(p),
        _ => Origin::note(format!("items[{i}]")),
    }
}

/// The KRM `file` of a MachineConfig item named `name`: its path and index annotations.
fn file_of(items: &[Value], name: &str) -> Option<Value> {
    let item = items.iter().find(|i| is_machineconfig(i, name))?;
    let ann = item.pointer("/metadata/annotations");
    let get = |k: &str| ann.and_then(|a| a.get(k)).and_then(Value::as_str);
    let path = get(INTERNAL_PATH_ANNOTATION).or_else(|| get(PATH_ANNOTATION))?;
    let index = get(INTERNAL_INDEX_ANNOTATION)
        .or_else(|| get(INDEX_ANNOTATION))
        .and_then(|i| i.parse::<u64>().ok())
        .unwrap_or(0);
    Some(json!({ "path": path, "index": index }))
}

/// Render each configured role's pool from the MachineConfig (and MachineConfigPool) items and add
/// the verdicts as results.
fn verify_items(items: &[Value], cfg: &FunctionConfig, results: &mut Vec<Value>) {
    let objects: Vec<(Origin, Value)> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (item_origin(i, it), it.clone()))
        .collect();
    let assumed: Vec<Pool> = cfg
        .roles
        .iter()
        .filter(|r| *r != "master" && *r != "worker")
        .map(|r| Pool::custom(r))
        .collect();
    let mut inv = Inventory::read_objects(&objects, &assumed);
    // Pools may live outside this ResourceList: a role label no pool here selects is worth a look,
    // not a failure of this function.
    for f in &mut inv.findings {
        if f.code == Code::MachineconfigUnknownRole || f.code == Code::MachineconfigNoRole {
            f.severity = Severity::Warning;
        }
    }
    // In verify mode without roles, the pool rule decides which pools are judged.
    let choice = PoolChoice {
        roles: if cfg.mode == Mode::Apply || cfg.explicit_roles {
            cfg.roles.clone()
        } else {
            Vec::new()
        },
        all: false,
    };
    let base = cfg.base.clone().with_layer(&cfg.layer);
    match inv.views(&cfg.layer, &base, &choice, cfg.openshift_version) {
        Ok(views) => {
            for v in views.into_iter().filter(|v| v.judged) {
                for mut r in pool_results(&assess("ResourceList", "krm", v, &cfg.layer)) {
                    let named = r.pointer("/resourceRef/name").and_then(Value::as_str);
                    if let Some(file) = named.and_then(|n| file_of(items, n)) {
                        r["file"] = file;
                    }
                    results.push(r);
                }
            }
        }
        Err(e) => results.push(result("error", &format!("{e:#}"), None)),
    }
}

/// The MachineConfig an origin passes through.
fn machineconfig_of(origin: &Origin) -> Option<&str> {
    origin.object_named("MachineConfig")
}

/// Results for one pool: an info when the module loads (with what decides each layer file), else
/// one error per reason, naming the MachineConfig that decides it; warnings either way.
fn pool_results(r: &TargetReport) -> Vec<Value> {
    let pool = r.role.as_deref().unwrap_or("?");
    let mut out = Vec::new();
    if r.enabled {
        let decided: Vec<String> = r
            .files
            .iter()
            .map(|c| {
                format!(
                    "{} from {}",
                    c.path,
                    c.origin
                        .as_ref()
                        .and_then(machineconfig_of)
                        .map_or("the base image".to_string(), |n| format!(
                            "MachineConfig {n}"
                        ))
                )
            })
            .collect();
        out.push(result(
            "info",
            &format!(
                "pool {pool}: {} will be loaded at boot ({})",
                r.module,
                decided.join(", ")
            ),
            None,
        ));
    }
    for f in &r.findings {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => continue,
        };
        let mut message = if f.severity == Severity::Error {
            format!(
                "pool {pool}: {} would not be loaded: {}",
                r.module, f.message
            )
        } else {
            format!("pool {pool}: {}", f.message)
        };
        if let Some(o) = f.shown_origin() {
            message.push_str(&format!(" (from {o})"));
        }
        let mut r = result(
            severity,
            &message,
            f.origin.as_ref().and_then(machineconfig_of),
        );
        // The finding's code, as `verify` names it in every format (kpt's results carry `tags`).
        r["tags"] = json!({ "code": f.code.as_str() });
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_name_their_machineconfig() {
        let o = Origin::file("a.yaml")
            .object("MachineConfig", "x-y")
            .at_path("storage.files[0]");
        assert_eq!(
            o.to_string(),
            "a.yaml > MachineConfig x-y $.storage.files[0]"
        );
        assert_eq!(machineconfig_of(&o), Some("x-y"));
        assert_eq!(
            machineconfig_of(&Origin::note("RHEL CoreOS base image")),
            None
        );
    }

    #[test]
    fn configmap_config() {
        let fc = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "data": {"roles": "worker, master,worker", "module": "dccp", "openshiftVersion": "4.14"}});
        let c = parse_function_config(Some(&fc)).unwrap();
        assert_eq!(c.roles, ["worker", "master"]);
        assert_eq!(c.layer.module, "dccp");
        assert_eq!(c.openshift_version, Some(Release::four(14)));
        let bad =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"openshiftVersion": 4.1}});
        assert!(parse_function_config(Some(&bad)).is_err());
    }
}
