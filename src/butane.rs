//! Butane sources translated as Butane translates them, for the variants and versions people use:
//! `fcos` 1.0.0 to 1.7.0, `openshift` 4.8.0 to 4.22.0, `flatcar` 1.0.0 and 1.1.0, `r4e` 1.0.0 and
//! 1.1.0, `fiot` 1.0.0 (Butane 0.29's stable versions; experimental ones are refused).
//!
//! [`Source::translate`] gives the Ignition config of the version's spec (and, for `openshift`,
//! the MachineConfig Butane writes), so that a Butane source is judged by the same readers as
//! any Ignition config or MachineConfig. Values are read as Butane's YAML reader (go-yaml v3)
//! reads them: `mode: 0644` is 420, `'0644'` is a string (an error for `mode`), only
//! `true`/`false` are booleans, and a plain scalar in a string field is its text. Every field
//! Butane knows for the version is taken; any other key is an error (Butane warns `unused key`
//! and drops it; `butane --strict` fails), as are the variant's refusals. Errors name
//! `file:line:col` and the Butane path (`$.storage.files.0.path`), as Butane's reports do.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::formats::encoding::{encode_data_url, is_data_url};
use crate::formats::yaml::{self, Document, Style};
use crate::ignition::{self, Spec};
use crate::mco::{API_VERSION, ROLE_LABEL};

/// A Butane variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Fedora CoreOS.
    Fcos,
    /// OpenShift: the output is a MachineConfig.
    Openshift,
    /// Flatcar.
    Flatcar,
    /// RHEL for Edge.
    R4e,
    /// Fedora IoT.
    Fiot,
}

/// Every stable (variant, version) Butane 0.29 translates, with the Ignition spec it writes and
/// the level of Butane's base schema it is built on (`base/v0_N`).
pub const VERSIONS: &[(&str, &str, &str, u8)] = &[
    ("fcos", "1.0.0", "3.0.0", 1),
    ("fcos", "1.1.0", "3.1.0", 2),
    ("fcos", "1.2.0", "3.2.0", 3),
    ("fcos", "1.3.0", "3.2.0", 3),
    ("fcos", "1.4.0", "3.3.0", 4),
    ("fcos", "1.5.0", "3.4.0", 5),
    ("fcos", "1.6.0", "3.5.0", 6),
    ("fcos", "1.7.0", "3.6.0", 7),
    ("flatcar", "1.0.0", "3.3.0", 4),
    ("flatcar", "1.1.0", "3.4.0", 5),
    ("openshift", "4.8.0", "3.2.0", 3),
    ("openshift", "4.9.0", "3.2.0", 3),
    ("openshift", "4.10.0", "3.2.0", 3),
    ("openshift", "4.11.0", "3.2.0", 3),
    ("openshift", "4.12.0", "3.2.0", 3),
    ("openshift", "4.13.0", "3.2.0", 3),
    ("openshift", "4.14.0", "3.4.0", 5),
    ("openshift", "4.15.0", "3.4.0", 5),
    ("openshift", "4.16.0", "3.4.0", 5),
    ("openshift", "4.17.0", "3.4.0", 5),
    ("openshift", "4.18.0", "3.4.0", 5),
    ("openshift", "4.19.0", "3.5.0", 6),
    ("openshift", "4.20.0", "3.5.0", 6),
    ("openshift", "4.21.0", "3.5.0", 6),
    ("openshift", "4.22.0", "3.5.0", 6),
    ("r4e", "1.0.0", "3.3.0", 4),
    ("r4e", "1.1.0", "3.4.0", 5),
    ("fiot", "1.0.0", "3.4.0", 5),
];

/// Whether a text looks like a Butane source: top-level `variant:` and `version:` keys (or, in
/// JSON, `"variant"` and `"version"` without Ignition's `"ignition"`).
pub fn looks_like_butane(text: &str) -> bool {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{') {
        let has = |key: &str| text.contains(key);
        return has("\"variant\"") && has("\"version\"") && !has("\"ignition\"");
    }
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    top("variant:") && top("version:")
}

/// What a translation gives.
#[derive(Clone, Debug)]
pub struct Translated {
    /// The Ignition config.
    pub config: Value,
    /// Its spec.
    pub spec: Spec,
    /// For the openshift variant: the MachineConfig.
    pub machineconfig: Option<Value>,
    /// Things worth a note (sections that do not take part in what a node's files are).
    pub notes: Vec<String>,
}

/// A Butane source read and checked: its text, document and variant.
pub struct Source {
    name: String,
    text: String,
    doc: Document,
    variant: Variant,
    /// `variant version`, for messages.
    label: String,
    /// The base schema level (see [`VERSIONS`]).
    base: u8,
    spec: Spec,
    /// The openshift release's minor number (8 for 4.8.0).
    release: u32,
}

/// Where `local` files are read from.
#[derive(Clone, Copy, Debug)]
pub enum Local<'a> {
    /// `--files-dir DIR`; without one, a `local` is an error.
    Dir(Option<&'a Path>),
    /// Apply: contents are not needed, only which entry writes which path.
    Unread,
}

/// The source an unread `local` stands for in a translation made for apply (never a data URL,
/// so no entry given as `local` counts as already holding the layer's bytes; a scheme Ignition
/// accepts, so the translation passes its validation).
const UNREAD_LOCAL: &str = "https://butane-local.invalid/unread";

impl Source {
    /// Read a Butane source (one YAML document); errors say `file:line:col`.
    pub fn read(name: &str, bytes: &[u8]) -> Result<Source> {
        let mut all = Source::read_all(name, bytes)?;
        if all.len() > 1 {
            let pos = all[1].doc.pos("").map_or((0, 0), |p| (p.line, p.col));
            bail!(
                "{name}:{}:{}: a Butane config is one YAML document (Butane reads only the first)",
                pos.0,
                pos.1
            );
        }
        all.pop()
            .ok_or_else(|| anyhow::anyhow!("{name}: empty Butane config"))
    }

    /// Read a file of Butane sources: one, or several openshift ones (one MachineConfig each, as
    /// `modlayer render butane --role A --role B` writes them; Butane itself would read only the
    /// first, so other variants must be alone).
    pub fn read_all(name: &str, bytes: &[u8]) -> Result<Vec<Source>> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            bail!("{name}: not UTF-8 text");
        };
        let docs = yaml::parse_documents(text)
            .map_err(|e| anyhow::anyhow!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
        let docs: Vec<Document> = docs.into_iter().filter(|d| !d.value.is_null()).collect();
        if docs.is_empty() {
            bail!("{name}: empty Butane config");
        }
        let second = docs.get(1).and_then(|d| d.pos("")).map(|p| (p.line, p.col));
        let mut out = Vec::new();
        for doc in docs {
            out.push(Source::of_document(name, text, doc)?);
        }
        if let Some((line, col)) = second {
            if out.iter().any(|s| s.variant != Variant::Openshift) {
                bail!("{name}:{line}:{col}: a Butane config is one YAML document (Butane reads only the first); only openshift sources, one MachineConfig each, may share a file");
            }
        }
        Ok(out)
    }

    /// One document of `text` as a Butane source: its variant and version checked.
    fn of_document(name: &str, text: &str, doc: Document) -> Result<Source> {
        let mut ctx = Ctx::new(name, text, &doc);
        let variant = ctx.string("/variant");
        let version = ctx.string("/version");
        let at = |ptr: &str| ctx.at(ptr);
        let Some(variant_text) = variant else {
            bail!(
                "{}: error parsing variant; must be specified",
                at("/variant")
            );
        };
        if variant_text == "rhcos" {
            bail!("{}: rhcos variant has been removed; use openshift variant instead: https://coreos.github.io/butane/upgrading-openshift/", at("/variant"));
        }
        let Some(version_text) = version.filter(|v| is_semver(v)) else {
            bail!(
                "{}: error parsing version; must be a valid semver",
                at("/version")
            );
        };
        let Some(&(v, _, spec, base)) = VERSIONS
            .iter()
            .find(|(v, ver, _, _)| *v == variant_text && *ver == version_text)
        else {
            let experimental = if version_text.contains('-') {
                " (experimental Butane versions are not covered)"
            } else {
                ""
            };
            bail!(
                "{}: No translator exists for variant {variant_text} with version {version_text}{experimental}",
                at("/version")
            );
        };
        let variant = match v {
            "fcos" => Variant::Fcos,
            "openshift" => Variant::Openshift,
            "flatcar" => Variant::Flatcar,
            "r4e" => Variant::R4e,
            _ => Variant::Fiot,
        };
        let release = match variant {
            Variant::Openshift => version_text
                .split('.')
                .nth(1)
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
            _ => 0,
        };
        Ok(Source {
            name: name.to_string(),
            text: text.to_string(),
            label: format!("{variant_text} {version_text}"),
            doc,
            variant,
            base,
            spec: Spec::parse(spec)?,
            release,
        })
    }

    /// The source's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The source's YAML document.
    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// Its variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// For the openshift variant, the OpenShift release its version names (4.14.0 is 4.14).
    pub fn release(&self) -> Option<crate::mco::release::Release> {
        (self.variant == Variant::Openshift)
            .then(|| crate::mco::release::Release::four(self.release))
    }

    /// Translate as Butane does; every error found, each with its place.
    pub fn translate(&self, local: Local) -> Result<Translated> {
        let mut t = Translator {
            src: self,
            ctx: Ctx::new(&self.name, &self.text, &self.doc),
            local,
            notes: Vec::new(),
        };
        let (config, machineconfig) = t.root();
        let mut errors = t.ctx.errors;
        if errors.is_empty() {
            for p in ignition::check(&config, self.spec) {
                let ctx = Ctx::new(&self.name, &self.text, &self.doc);
                let at = ctx.at(&butane_pointer(&p.pointer));
                errors.push(format!(
                    "{at}: error at {}: {} (in the Ignition config it translates to)",
                    butane_path(&p.pointer),
                    p.message
                ));
            }
        }
        if !errors.is_empty() {
            bail!("{}", errors.join("\n"));
        }
        Ok(Translated {
            config,
            spec: self.spec,
            machineconfig,
            notes: t.notes,
        })
    }
}

/// The Butane pointer an Ignition pointer of the translation comes from (`contents/source` may
/// have been `inline` or `local`: the entry's `contents` is named then).
fn butane_pointer(pointer: &str) -> String {
    pointer
        .trim_end_matches("/source")
        .replace("httpHeaders", "http_headers")
        .to_string()
}

/// A JSON pointer as Butane writes paths: `$.storage.files.0.path`.
fn butane_path(pointer: &str) -> String {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    if parts.is_empty() {
        "$".into()
    } else {
        format!("$.{}", parts.join("."))
    }
}

/// Whether a text is a semantic version (`1.5.0`, `4.23.0-experimental`).
fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Typed reading of a Butane document, collecting errors with their places.
struct Ctx<'a> {
    name: &'a str,
    text: &'a str,
    doc: &'a Document,
    errors: Vec<String>,
}

impl<'a> Ctx<'a> {
    fn new(name: &'a str, text: &'a str, doc: &'a Document) -> Self {
        Ctx {
            name,
            text,
            doc,
            errors: Vec::new(),
        }
    }

    /// `file:line:col` of a pointer's value (or of its nearest written ancestor).
    fn at(&self, pointer: &str) -> String {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.doc.pos(p) {
                return format!("{}:{}:{}", self.name, pos.line, pos.col);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.name.to_string(),
            }
        }
    }

    /// `file:line:col` of the key of a mapping entry.
    fn key_at(&self, pointer: &str) -> String {
        let Some(place) = self.doc.place(pointer) else {
            return self.at(pointer);
        };
        let before = &self.text[..place.entry.min(self.text.len())];
        let line_start = before.rfind(['\n', '\r']).map_or(0, |p| p + 1);
        let line = before.matches('\n').count() + 1;
        let col = before[line_start..]
            .trim_start_matches('\u{feff}')
            .chars()
            .count()
            + 1;
        format!("{}:{line}:{col}", self.name)
    }

    fn error(&mut self, pointer: &str, message: impl std::fmt::Display) {
        let at = self.at(pointer);
        let path = butane_path(pointer);
        self.errors
            .push(format!("{at}: error at {path}: {message}"));
    }

    fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.doc.value.pointer(pointer).filter(|v| !v.is_null())
    }

    /// The text a plain scalar was written as.
    fn written(&self, pointer: &str) -> Option<&'a str> {
        let place = self.doc.place(pointer)?;
        self.text.get(place.span.clone()).map(str::trim)
    }

    /// What a node is, in go-yaml's words (`!!str `0644``), for type errors.
    fn shown(&self, pointer: &str) -> String {
        match self.get(pointer) {
            Some(Value::Array(_)) => "!!seq".into(),
            Some(Value::Object(_)) => "!!map".into(),
            Some(Value::String(s)) => format!("!!str `{s}`"),
            Some(v) => format!("`{}`", self.written(pointer).unwrap_or(&v.to_string())),
            None => "!!null".into(),
        }
    }

    /// A string field: a plain scalar is its text (`inline: 0644` is "0644", as go-yaml v3
    /// gives a string field).
    fn string(&mut self, pointer: &str) -> Option<String> {
        let style = self.doc.style(pointer);
        match self.get(pointer)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(_) | Value::Bool(_) if style == Some(Style::Plain) => {
                self.written(pointer).map(str::to_string)
            }
            _ => {
                let shown = self.shown(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into string"));
                None
            }
        }
    }

    /// A boolean field: only `true`/`false` (any case go-yaml v3 accepts) are booleans.
    fn boolean(&mut self, pointer: &str) -> Option<bool> {
        let written = self.written(pointer).unwrap_or("");
        match self.get(pointer)? {
            Value::Bool(b)
                if matches!(
                    written,
                    "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
                ) =>
            {
                Some(*b)
            }
            Value::Bool(_) => {
                let message = format!("cannot unmarshal !!str `{written}` into bool (Butane reads YAML 1.2: only true and false are booleans)");
                self.error(pointer, message);
                None
            }
            _ => {
                let shown = self.shown(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into bool"));
                None
            }
        }
    }

    /// An integer field (`0644` is 420; a quoted `'0644'` is a string, an error).
    fn int(&mut self, pointer: &str) -> Option<i64> {
        let v = self.get(pointer)?;
        let n = v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
        if n.is_none() {
            let shown = self.shown(pointer);
            let hint = if pointer.ends_with("/mode") && v.is_string() {
                " (write the mode without quotes: mode: 0644)"
            } else {
                ""
            };
            self.error(pointer, format!("cannot unmarshal {shown} into int{hint}"));
        }
        n
    }

    /// The item pointers of a list field (none for null).
    fn list(&mut self, pointer: &str) -> Vec<String> {
        match self.get(pointer) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                (0..items.len()).map(|i| format!("{pointer}/{i}")).collect()
            }
            Some(_) => {
                let shown = self.shown(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into a list"));
                Vec::new()
            }
        }
    }

    /// A list of strings.
    fn strings(&mut self, pointer: &str) -> Option<Vec<Value>> {
        self.get(pointer)?;
        let items = self.list(pointer);
        Some(
            items
                .iter()
                .filter_map(|p| self.string(p).map(Value::String))
                .collect(),
        )
    }

    /// Whether the mapping at `pointer` exists; its keys are checked against `fields` (each with
    /// the base schema level that has it) for Butane `label` at `base`.
    fn object(&mut self, pointer: &str, fields: &[(&str, u8)], base: u8, label: &str) -> bool {
        let Some(v) = self.get(pointer) else {
            return false;
        };
        let Some(map) = v.as_object() else {
            let shown = self.shown(pointer);
            self.error(pointer, format!("cannot unmarshal {shown} into a mapping"));
            return false;
        };
        for key in map.keys() {
            let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
            let why = match fields.iter().find(|(k, _)| k == key) {
                Some((_, since)) if *since <= base => continue,
                Some(_) => {
                    format!("unused key {key}: {label} has no such field; newer versions do")
                }
                None => format!("unused key {key}: {label} has no such field"),
            };
            let at = self.key_at(&child);
            let path = butane_path(&child);
            self.errors.push(format!("{at}: error at {path}: {why}"));
        }
        true
    }
}

const TOP: &[(&str, u8)] = &[
    ("variant", 1),
    ("version", 1),
    ("ignition", 1),
    ("storage", 1),
    ("systemd", 1),
    ("passwd", 1),
    ("kernel_arguments", 4),
];
const IGNITION: &[(&str, u8)] = &[
    ("config", 1),
    ("timeouts", 1),
    ("security", 1),
    ("proxy", 2),
];
const IGNITION_CONFIG: &[(&str, u8)] = &[("merge", 1), ("replace", 1)];
const TIMEOUTS: &[(&str, u8)] = &[("http_response_headers", 1), ("http_total", 1)];
const SECURITY: &[(&str, u8)] = &[("tls", 1)];
const TLS: &[(&str, u8)] = &[("certificate_authorities", 1)];
const PROXY: &[(&str, u8)] = &[("http_proxy", 2), ("https_proxy", 2), ("no_proxy", 2)];
const RESOURCE: &[(&str, u8)] = &[
    ("source", 1),
    ("inline", 1),
    ("local", 2),
    ("compression", 1),
    ("http_headers", 2),
    ("verification", 1),
];
const HEADER: &[(&str, u8)] = &[("name", 2), ("value", 2)];
const VERIFICATION: &[(&str, u8)] = &[("hash", 1)];
const STORAGE: &[(&str, u8)] = &[
    ("disks", 1),
    ("raid", 1),
    ("filesystems", 1),
    ("files", 1),
    ("directories", 1),
    ("links", 1),
    ("luks", 3),
    ("trees", 2),
];
const NODE: &[(&str, u8)] = &[("group", 1), ("overwrite", 1), ("path", 1), ("user", 1)];
const FILE: &[(&str, u8)] = &[("append", 1), ("contents", 1), ("mode", 1)];
const DIRECTORY: &[(&str, u8)] = &[("mode", 1)];
const LINK: &[(&str, u8)] = &[("target", 1), ("hard", 1)];
const TREE: &[(&str, u8)] = &[("local", 2), ("path", 2), ("file_mode", 7), ("dir_mode", 7)];
const OWNER: &[(&str, u8)] = &[("id", 1), ("name", 1)];
const SYSTEMD: &[(&str, u8)] = &[("units", 1)];
const UNIT: &[(&str, u8)] = &[
    ("name", 1),
    ("enabled", 1),
    ("mask", 1),
    ("contents", 1),
    ("dropins", 1),
    ("contents_local", 5),
];
const DROPIN: &[(&str, u8)] = &[("name", 1), ("contents", 1), ("contents_local", 5)];
const PASSWD: &[(&str, u8)] = &[("users", 1), ("groups", 1)];
const USER: &[(&str, u8)] = &[
    ("name", 1),
    ("password_hash", 1),
    ("ssh_authorized_keys", 1),
    ("uid", 1),
    ("gecos", 1),
    ("home_dir", 1),
    ("no_create_home", 1),
    ("primary_group", 1),
    ("groups", 1),
    ("no_user_group", 1),
    ("no_log_init", 1),
    ("shell", 1),
    ("system", 1),
    ("should_exist", 4),
    ("ssh_authorized_keys_local", 5),
];
const GROUP: &[(&str, u8)] = &[
    ("name", 1),
    ("gid", 1),
    ("password_hash", 1),
    ("system", 1),
    ("should_exist", 4),
];
const KARGS: &[(&str, u8)] = &[("should_exist", 4), ("should_not_exist", 4)];
const METADATA: &[(&str, u8)] = &[("name", 1), ("labels", 1)];
const OPENSHIFT: &[(&str, u8)] = &[
    ("kernel_arguments", 1),
    ("extensions", 1),
    ("fips", 1),
    ("kernel_type", 1),
];

/// One translation under way.
struct Translator<'s> {
    src: &'s Source,
    ctx: Ctx<'s>,
    local: Local<'s>,
    notes: Vec<String>,
}

impl Translator<'_> {
    fn openshift(&self) -> bool {
        self.src.variant == Variant::Openshift
    }

    /// Check the keys of the mapping at `pointer` against `fields`; whether it exists.
    fn object(&mut self, pointer: &str, fields: &[(&str, u8)]) -> bool {
        self.ctx
            .object(pointer, fields, self.src.base, &self.src.label)
    }

    /// An error where the variant refuses a section (`directories`, `links`, `groups`).
    fn refuse(&mut self, pointer: &str, what: &str) {
        let message = format!("{what} are not supported in this spec version");
        self.ctx.error(pointer, message);
    }

    /// The Ignition config (and, for openshift, the MachineConfig).
    fn root(&mut self) -> (Value, Option<Value>) {
        let mut fields: Vec<(&str, u8)> = TOP.to_vec();
        if matches!(self.src.variant, Variant::Fcos | Variant::Openshift) {
            fields.extend([("boot_device", 3), ("grub", 5)]);
        }
        if self.openshift() {
            fields.extend([("metadata", 1), ("openshift", 1)]);
        }
        self.object("", &fields);
        let mut config = Map::new();
        let mut ign = Map::new();
        ign.insert("version".into(), json!(self.src.spec.to_string()));
        self.ignition(&mut ign);
        config.insert("ignition".into(), Value::Object(ign));
        if let Some(k) = self.kernel_arguments() {
            config.insert("kernelArguments".into(), k);
        }
        if let Some(p) = self.passwd() {
            config.insert("passwd".into(), p);
        }
        if let Some(s) = self.storage() {
            config.insert("storage".into(), s);
        }
        if let Some(s) = self.systemd() {
            config.insert("systemd".into(), s);
        }
        for sugar in ["boot_device", "grub"] {
            if self.ctx.get(&format!("/{sugar}")).is_some() {
                self.notes.push(format!(
                    "{}: {sugar} is not translated (it sets up disks or the boot loader, not which modules load)",
                    self.ctx.at(&format!("/{sugar}"))
                ));
            }
        }
        let config = Value::Object(config);
        let mc = self.openshift().then(|| self.machineconfig(&config));
        (config, mc)
    }

    fn ignition(&mut self, out: &mut Map<String, Value>) {
        if !self.object("/ignition", IGNITION) {
            return;
        }
        if self.object("/ignition/config", IGNITION_CONFIG) {
            let mut c = Map::new();
            let merges = self.ctx.list("/ignition/config/merge");
            if self.ctx.get("/ignition/config/merge").is_some() {
                let items: Vec<Value> = merges.iter().filter_map(|p| self.resource(p)).collect();
                c.insert("merge".into(), Value::Array(items));
            }
            if let Some(r) = self.resource("/ignition/config/replace") {
                c.insert("replace".into(), r);
            }
            out.insert("config".into(), Value::Object(c));
        }
        if self.object("/ignition/timeouts", TIMEOUTS) {
            let mut t = Map::new();
            for (k, j) in [
                ("http_response_headers", "httpResponseHeaders"),
                ("http_total", "httpTotal"),
            ] {
                if let Some(n) = self.ctx.int(&format!("/ignition/timeouts/{k}")) {
                    t.insert(j.into(), json!(n));
                }
            }
            out.insert("timeouts".into(), Value::Object(t));
        }
        if self.object("/ignition/security", SECURITY) && self.object("/ignition/security/tls", TLS)
        {
            let cas = self
                .ctx
                .list("/ignition/security/tls/certificate_authorities");
            let items: Vec<Value> = cas.iter().filter_map(|p| self.resource(p)).collect();
            out.insert(
                "security".into(),
                json!({"tls": {"certificateAuthorities": items}}),
            );
        }
        if self.object("/ignition/proxy", PROXY) {
            let mut p = Map::new();
            for (k, j) in [("http_proxy", "httpProxy"), ("https_proxy", "httpsProxy")] {
                if let Some(s) = self.ctx.string(&format!("/ignition/proxy/{k}")) {
                    p.insert(j.into(), json!(s));
                }
            }
            if let Some(l) = self.ctx.strings("/ignition/proxy/no_proxy") {
                p.insert("noProxy".into(), Value::Array(l));
            }
            out.insert("proxy".into(), Value::Object(p));
        }
    }

    fn kernel_arguments(&mut self) -> Option<Value> {
        if !self.object("/kernel_arguments", KARGS) {
            return None;
        }
        if self.openshift() {
            let message = "this section cannot be used for kernel arguments in this spec version; use openshift.kernel_arguments instead";
            self.ctx.error("/kernel_arguments", message);
        }
        let mut k = Map::new();
        for (b, j) in [
            ("should_exist", "shouldExist"),
            ("should_not_exist", "shouldNotExist"),
        ] {
            if let Some(l) = self.ctx.strings(&format!("/kernel_arguments/{b}")) {
                k.insert(j.into(), Value::Array(l));
            }
        }
        if matches!(self.src.variant, Variant::R4e | Variant::Fiot) {
            self.ctx.error(
                "/kernel_arguments",
                "kernel argument customization is not supported in this spec version",
            );
        }
        Some(Value::Object(k))
    }

    fn passwd(&mut self) -> Option<Value> {
        if !self.object("/passwd", PASSWD) {
            return None;
        }
        let mut out = Map::new();
        if self.ctx.get("/passwd/users").is_some() {
            let mut users = Vec::new();
            for p in self.ctx.list("/passwd/users") {
                if self.object(&p, USER) {
                    users.push(self.user(&p));
                }
            }
            out.insert("users".into(), Value::Array(users));
        }
        if self.ctx.get("/passwd/groups").is_some() {
            if self.openshift() {
                self.refuse("/passwd/groups", "groups");
            }
            let mut groups = Vec::new();
            for p in self.ctx.list("/passwd/groups") {
                if self.object(&p, GROUP) {
                    groups.push(self.plain_fields(&p, GROUP));
                }
            }
            out.insert("groups".into(), Value::Array(groups));
        }
        Some(Value::Object(out))
    }

    fn user(&mut self, p: &str) -> Value {
        if self.openshift() {
            if self.ctx.string(&format!("{p}/name")).as_deref() != Some("core") {
                self.ctx.error(
                    &format!("{p}/name"),
                    "users other than \"core\" are not supported in this spec version",
                );
            }
            let hash_ok = self.src.release >= 13;
            let allowed = |k: &str| {
                k == "name" || k == "ssh_authorized_keys" || (hash_ok && k == "password_hash")
            };
            let keys: Vec<String> = self
                .ctx
                .get(p)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for k in keys.iter().filter(|k| !allowed(k)) {
                self.ctx.error(&format!("{p}/{k}"), "fields other than \"name\", \"ssh_authorized_keys\", and \"password_hash\" (4.13.0+) are not supported in this spec version");
            }
        }
        let mut user = self.plain_fields(p, USER);
        if let Some(local) = self.ctx.strings(&format!("{p}/ssh_authorized_keys_local")) {
            let keys: Vec<Value> = local
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let ptr = format!("{p}/ssh_authorized_keys_local/{i}");
                    let text = self.read_local(&ptr, f.as_str().unwrap_or(""))?;
                    Some(
                        String::from_utf8_lossy(&text)
                            .lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(|l| json!(l))
                            .collect::<Vec<_>>(),
                    )
                })
                .flatten()
                .collect();
            if let Some(o) = user.as_object_mut() {
                o.remove("sshAuthorizedKeysLocal");
                let list = o.entry("sshAuthorizedKeys").or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.extend(keys);
                }
            }
        }
        user
    }

    /// A mapping whose fields are copied with their names in Ignition's camelCase, typed by
    /// what they hold (lists of strings, booleans, integers, strings).
    fn plain_fields(&mut self, p: &str, fields: &[(&str, u8)]) -> Value {
        let mut out = Map::new();
        for (k, _) in fields {
            let ptr = format!("{p}/{k}");
            let value = match self.ctx.get(&ptr) {
                None => continue,
                Some(Value::Array(_)) => self.ctx.strings(&ptr).map(Value::Array),
                Some(Value::Bool(_)) => self.ctx.boolean(&ptr).map(Value::Bool),
                Some(Value::Number(_))
                    if !matches!(
                        *k,
                        "name" | "password_hash" | "gecos" | "home_dir" | "primary_group" | "shell"
                    ) =>
                {
                    self.ctx.int(&ptr).map(|n| json!(n))
                }
                Some(_) => self.ctx.string(&ptr).map(Value::String),
            };
            if let Some(v) = value {
                out.insert(camel(k), v);
            }
        }
        Value::Object(out)
    }

    fn storage(&mut self) -> Option<Value> {
        if !self.object("/storage", STORAGE) {
            return None;
        }
        let mut out = Map::new();
        for section in ["disks", "raid", "filesystems"] {
            self.passthrough(section, &mut out);
        }
        if self.ctx.get("/storage/files").is_some() {
            let mut files = Vec::new();
            for p in self.ctx.list("/storage/files") {
                if let Some(f) = self.file(&p) {
                    files.push(f);
                }
            }
            out.insert("files".into(), Value::Array(files));
        }
        for (section, fields, what) in [
            ("directories", DIRECTORY, "directories"),
            ("links", LINK, "links"),
        ] {
            if self.ctx.get(&format!("/storage/{section}")).is_none() {
                continue;
            }
            if self.openshift() {
                self.refuse(&format!("/storage/{section}"), what);
            }
            let mut items = Vec::new();
            for p in self.ctx.list(&format!("/storage/{section}")) {
                let all: Vec<(&str, u8)> = NODE.iter().chain(fields).copied().collect();
                if self.object(&p, &all) {
                    items.push(self.node(&p, fields));
                }
            }
            out.insert(section.into(), Value::Array(items));
        }
        self.passthrough("luks", &mut out);
        for p in self.ctx.list("/storage/trees") {
            self.tree(&p, &mut out);
        }
        Some(Value::Object(out))
    }

    /// A local tree (`storage.trees` item at `p`) as Butane embeds it: each regular file below
    /// it a `storage.files` entry (mode 0755 if executable, else 0644, or `file_mode`), after
    /// the listed ones; a listed entry for the same path without contents gets the file's
    /// contents (and mode, if it sets none); a symlink a `storage.links` entry.
    fn tree(&mut self, p: &str, out: &mut Map<String, Value>) {
        if !self.object(p, TREE) {
            return;
        }
        let local_ptr = format!("{p}/local");
        let Some(local) = self.ctx.string(&local_ptr) else {
            self.ctx.error(p, "local is required");
            return;
        };
        let base = self
            .ctx
            .string(&format!("{p}/path"))
            .unwrap_or_else(|| "/".into());
        let file_mode = self.ctx.int(&format!("{p}/file_mode"));
        let dir = match self.local {
            Local::Unread => return,
            Local::Dir(None) => {
                self.ctx.error(&local_ptr, "local file paths are relative to a files directory that must be specified with -d/--files-dir (modlayer: --files-dir)");
                return;
            }
            Local::Dir(Some(d)) => d,
        };
        let Some(root) = within(dir, &local) else {
            self.ctx.error(
                &local_ptr,
                "local file path traverses outside the files directory",
            );
            return;
        };
        let mut found = Vec::new();
        if let Err(e) = walk(&root, Path::new(""), &mut found) {
            self.ctx
                .error(&local_ptr, format!("{}: {e}", root.display()));
            return;
        }
        for (rel, kind) in found {
            let path = format!("{}/{}", base.trim_end_matches('/'), rel.display());
            match kind {
                TreeNode::Link(target) => {
                    if self.openshift() {
                        self.refuse(&local_ptr, "links");
                    }
                    let links = out.entry("links").or_insert_with(|| json!([]));
                    if let Some(l) = links.as_array_mut() {
                        l.push(json!({"path": path, "target": target.display().to_string()}));
                    }
                }
                TreeNode::File(bytes, executable) => {
                    let (url, gzipped) = self.data_url(&bytes, true);
                    let compression = if gzipped { "gzip" } else { "" };
                    let mode = file_mode.unwrap_or(if executable { 0o755 } else { 0o644 });
                    let contents = json!({"compression": compression, "source": url});
                    let files = out.entry("files").or_insert_with(|| json!([]));
                    let Some(files) = files.as_array_mut() else {
                        continue;
                    };
                    match files.iter_mut().find(|f| f["path"] == path.as_str()) {
                        Some(f) if f.get("contents").is_some() => {
                            let message = format!("{path} is in the tree and listed with contents in storage.files; an entry overriding a tree file must omit contents");
                            self.ctx.error(&local_ptr, message);
                        }
                        Some(f) => {
                            if let Some(o) = f.as_object_mut() {
                                o.insert("contents".into(), contents);
                                o.entry("mode").or_insert_with(|| json!(mode));
                            }
                        }
                        None => {
                            files.push(json!({"path": path, "contents": contents, "mode": mode}))
                        }
                    }
                }
            }
        }
    }

    /// A storage section modlayer does not read (disks, raid, filesystems, luks): copied with
    /// Ignition's field names, for the checks that refuse it.
    fn passthrough(&mut self, section: &str, out: &mut Map<String, Value>) {
        let ptr = format!("/storage/{section}");
        if let Some(v) = self.ctx.get(&ptr) {
            if matches!(self.src.variant, Variant::R4e | Variant::Fiot) {
                self.ctx.error(
                    &ptr,
                    format!("{section} customization is not supported in this spec version"),
                );
            }
            let mut v = camel_keys(v);
            // Butane's sugar that makes a mount unit: not an Ignition field.
            let items = v.as_array_mut().into_iter().flatten();
            for (i, item) in items.enumerate() {
                let sugar = item.as_object_mut().and_then(|o| o.remove("withMountUnit"));
                if sugar.is_some() {
                    let at = self.ctx.at(&format!("{ptr}/{i}/with_mount_unit"));
                    self.notes.push(format!("{at}: with_mount_unit is not translated (it makes a mount unit, not which modules load)"));
                }
            }
            out.insert(section.into(), v);
        }
    }

    /// A files/directories/links entry's common fields, then `fields`.
    fn node(&mut self, p: &str, fields: &[(&str, u8)]) -> Value {
        let mut out = Map::new();
        if let Some(g) = self.owner(&format!("{p}/group")) {
            out.insert("group".into(), g);
        }
        if let Some(o) = self.ctx.boolean(&format!("{p}/overwrite")) {
            out.insert("overwrite".into(), json!(o));
        }
        if let Some(path) = self.ctx.string(&format!("{p}/path")) {
            out.insert("path".into(), json!(path));
        }
        if let Some(u) = self.owner(&format!("{p}/user")) {
            out.insert("user".into(), u);
        }
        for (k, _) in fields {
            let ptr = format!("{p}/{k}");
            match *k {
                "target" => {
                    if let Some(t) = self.ctx.string(&ptr) {
                        out.insert("target".into(), json!(t));
                    }
                }
                "hard" => {
                    if let Some(h) = self.ctx.boolean(&ptr) {
                        out.insert("hard".into(), json!(h));
                    }
                }
                "mode" => {
                    if let Some(m) = self.mode(&ptr) {
                        out.insert("mode".into(), json!(m));
                    }
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    fn owner(&mut self, p: &str) -> Option<Value> {
        if !self.object(p, OWNER) {
            return None;
        }
        let mut out = Map::new();
        if let Some(id) = self.ctx.int(&format!("{p}/id")) {
            out.insert("id".into(), json!(id));
        }
        if let Some(name) = self.ctx.string(&format!("{p}/name")) {
            out.insert("name".into(), json!(name));
        }
        Some(Value::Object(out))
    }

    fn file(&mut self, p: &str) -> Option<Value> {
        let all: Vec<(&str, u8)> = NODE.iter().chain(FILE).copied().collect();
        if !self.object(p, &all) {
            return None;
        }
        let mut out = self.node(p, &[]);
        let obj = out.as_object_mut()?;
        if self.ctx.get(&format!("{p}/append")).is_some() {
            if self.openshift() {
                self.ctx.error(
                    &format!("{p}/append"),
                    "appending to files is not supported in this spec version",
                );
            }
            let items: Vec<Value> = self
                .ctx
                .list(&format!("{p}/append"))
                .iter()
                .filter_map(|a| self.resource(a))
                .collect();
            obj.insert("append".into(), Value::Array(items));
        }
        if let Some(c) = self.resource(&format!("{p}/contents")) {
            obj.insert("contents".into(), c);
        }
        if let Some(m) = self.mode(&format!("{p}/mode")) {
            obj.insert("mode".into(), json!(m));
        }
        Some(out)
    }

    /// A `mode`; the openshift variant refuses special bits from 4.10.
    fn mode(&mut self, pointer: &str) -> Option<i64> {
        let m = self.ctx.int(pointer)?;
        if self.openshift() && self.src.release >= 10 && !(0..=0o777).contains(&m) {
            let message = "special mode bits are not supported in this spec version";
            self.ctx.error(pointer, message);
        }
        Some(m)
    }

    /// A resource (file contents, an append, a merged config, a CA): `inline` and `local` become
    /// data URLs as Butane makes them.
    fn resource(&mut self, p: &str) -> Option<Value> {
        if !self.object(p, RESOURCE) {
            return None;
        }
        let mut set: Vec<&str> = Vec::new();
        for k in ["local", "inline", "source"] {
            if self.ctx.get(&format!("{p}/{k}")).is_some() {
                set.push(k);
            }
        }
        if set.len() > 1 {
            let last = set.last().copied().unwrap_or("source");
            self.ctx.error(
                &format!("{p}/{last}"),
                "only one of the following can be set: inline, local, source",
            );
            return None;
        }
        let mut out = Map::new();
        let compression = self.ctx.string(&format!("{p}/compression"));
        if compression.as_deref().is_some_and(|c| !c.is_empty())
            && self.openshift()
            && self.src.release <= 9
        {
            self.ctx.error(
                &format!("{p}/compression"),
                "file compression is not supported in this spec version",
            );
        }
        let bytes = match set.first().copied() {
            Some("inline") => self
                .ctx
                .string(&format!("{p}/inline"))
                .map(String::into_bytes),
            Some("local") => {
                let ptr = format!("{p}/local");
                let local = self.ctx.string(&ptr).unwrap_or_default();
                match self.local {
                    Local::Unread => {
                        out.insert("source".into(), json!(UNREAD_LOCAL));
                        None
                    }
                    Local::Dir(_) => self.read_local(&ptr, &local),
                }
            }
            _ => None,
        };
        if self.ctx.get(&format!("{p}/http_headers")).is_some() {
            if self.openshift() {
                self.ctx.error(
                    &format!("{p}/http_headers"),
                    "file HTTP headers are not supported in this spec version",
                );
            }
            let mut headers = Vec::new();
            for h in self.ctx.list(&format!("{p}/http_headers")) {
                if self.object(&h, HEADER) {
                    let name = self.ctx.string(&format!("{h}/name"));
                    let value = self.ctx.string(&format!("{h}/value"));
                    headers.push(json!({"name": name, "value": value}));
                }
            }
            out.insert("httpHeaders".into(), Value::Array(headers));
        }
        let mut compressed = compression.clone();
        if let Some(bytes) = bytes {
            let (url, gzipped) =
                self.data_url(&bytes, compression.as_deref().unwrap_or("").is_empty());
            if gzipped {
                compressed = Some("gzip".into());
            }
            out.insert("source".into(), json!(url));
            if self.src.base >= 2 && compressed.is_none() {
                compressed = Some(String::new());
            }
        } else if let Some(s) = self.ctx.string(&format!("{p}/source")) {
            if self.openshift() && !is_data_url(&s) {
                self.ctx.error(
                    &format!("{p}/source"),
                    "file contents source must be data URL in this spec version",
                );
            }
            out.insert("source".into(), json!(s));
        }
        if let Some(c) = compressed {
            out.insert("compression".into(), json!(c));
        }
        if self.object(&format!("{p}/verification"), VERIFICATION) {
            let hash = self.ctx.string(&format!("{p}/verification/hash"));
            out.insert("verification".into(), json!({"hash": hash}));
        }
        // Ignition's field order: compression, httpHeaders, source, verification.
        let mut ordered = Map::new();
        for k in ["compression", "httpHeaders", "source", "verification"] {
            if let Some(v) = out.remove(k) {
                ordered.insert(k.into(), v);
            }
        }
        Some(Value::Object(ordered))
    }

    /// Butane's data URL for some bytes: `%`-escaped or base64, whichever is shorter (base64 only
    /// when strictly shorter), or gzip+base64 when that is shorter still by more than the
    /// `gzip` it adds (only when the source sets no compression and the version compresses).
    /// fcos 1.0.0 always escapes. Whether it was gzipped.
    fn data_url(&self, bytes: &[u8], may_compress: bool) -> (String, bool) {
        if self.src.base == 1 {
            return (escaped_data_url(bytes), false);
        }
        let best = encode_data_url(bytes);
        let auto = may_compress && !(self.openshift() && self.src.release <= 9);
        if auto {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            if gz.write_all(bytes).is_ok() {
                if let Ok(z) = gz.finish() {
                    use base64::Engine;
                    let url = format!(
                        "data:;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(z)
                    );
                    if url.len() + "gzip".len() < best.len() {
                        return (url, true);
                    }
                }
            }
        }
        (best, false)
    }

    /// Read a `local` file below the files directory.
    fn read_local(&mut self, pointer: &str, local: &str) -> Option<Vec<u8>> {
        let dir = match self.local {
            Local::Dir(Some(d)) => d,
            Local::Dir(None) => {
                self.ctx.error(pointer, "local file paths are relative to a files directory that must be specified with -d/--files-dir (modlayer: --files-dir)");
                return None;
            }
            Local::Unread => return Some(Vec::new()),
        };
        let Some(path) = within(dir, local) else {
            self.ctx.error(
                pointer,
                "local file path traverses outside the files directory",
            );
            return None;
        };
        match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) => {
                self.ctx
                    .error(pointer, format!("open {}: {e}", path.display()));
                None
            }
        }
    }

    fn systemd(&mut self) -> Option<Value> {
        if !self.object("/systemd", SYSTEMD) {
            return None;
        }
        let mut units = Vec::new();
        for p in self.ctx.list("/systemd/units") {
            if !self.object(&p, UNIT) {
                continue;
            }
            let mut u = Map::new();
            if let Some(c) = self.unit_contents(&p) {
                u.insert("contents".into(), json!(c));
            }
            if self.ctx.get(&format!("{p}/dropins")).is_some() {
                let mut dropins = Vec::new();
                for d in self.ctx.list(&format!("{p}/dropins")) {
                    if !self.object(&d, DROPIN) {
                        continue;
                    }
                    let mut o = Map::new();
                    if let Some(c) = self.unit_contents(&d) {
                        o.insert("contents".into(), json!(c));
                    }
                    if let Some(n) = self.ctx.string(&format!("{d}/name")) {
                        o.insert("name".into(), json!(n));
                    }
                    dropins.push(Value::Object(o));
                }
                u.insert("dropins".into(), Value::Array(dropins));
            }
            for k in ["enabled", "mask"] {
                if let Some(b) = self.ctx.boolean(&format!("{p}/{k}")) {
                    u.insert(k.into(), json!(b));
                }
            }
            if let Some(n) = self.ctx.string(&format!("{p}/name")) {
                u.insert("name".into(), json!(n));
            }
            units.push(Value::Object(u));
        }
        Some(json!({ "units": units }))
    }

    /// A unit's or drop-in's contents: `contents`, or the text of `contents_local`.
    fn unit_contents(&mut self, p: &str) -> Option<String> {
        let local = format!("{p}/contents_local");
        if self.ctx.get(&local).is_some() {
            if self.ctx.get(&format!("{p}/contents")).is_some() {
                self.ctx.error(
                    &local,
                    "only one of the following can be set: contents, contents_local",
                );
                return None;
            }
            let name = self.ctx.string(&local).unwrap_or_default();
            let bytes = self.read_local(&local, &name)?;
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        self.ctx.string(&format!("{p}/contents"))
    }

    /// The MachineConfig Butane's openshift variant writes around the config.
    fn machineconfig(&mut self, config: &Value) -> Value {
        self.object("/metadata", METADATA);
        let name = self.ctx.string("/metadata/name").filter(|n| !n.is_empty());
        if name.is_none() {
            self.ctx
                .error("/metadata/name", "metadata.name is required");
        }
        let mut labels = Map::new();
        if let Some(map) = self.ctx.get("/metadata/labels").and_then(Value::as_object) {
            for k in map.keys() {
                let ptr = format!(
                    "/metadata/labels/{}",
                    k.replace('~', "~0").replace('/', "~1")
                );
                if let Some(v) = self.ctx.string(&ptr) {
                    labels.insert(k.clone(), json!(v));
                }
            }
        }
        if labels
            .get(ROLE_LABEL)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            self.ctx.error(
                "/metadata/labels",
                format!("{ROLE_LABEL} label is required"),
            );
        }
        let mut spec = Map::new();
        spec.insert("config".into(), config.clone());
        if self.object("/openshift", OPENSHIFT) {
            if let Some(k) = self.ctx.strings("/openshift/extensions") {
                spec.insert("extensions".into(), Value::Array(k));
            }
            if let Some(f) = self.ctx.boolean("/openshift/fips") {
                spec.insert("fips".into(), json!(f));
            }
            if let Some(k) = self.ctx.strings("/openshift/kernel_arguments") {
                spec.insert("kernelArguments".into(), Value::Array(k));
            }
            if let Some(t) = self.ctx.string("/openshift/kernel_type") {
                if !matches!(t.as_str(), "" | "default" | "realtime") {
                    self.ctx.error(
                        "/openshift/kernel_type",
                        "must be empty, \"default\", or \"realtime\"",
                    );
                }
                spec.insert("kernelType".into(), json!(t));
            }
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": "MachineConfig",
            "metadata": {"labels": labels, "name": name.unwrap_or_default()},
            "spec": spec,
        })
    }
}

/// What a tree holds at a path.
enum TreeNode {
    /// A regular file: its bytes, and whether it is executable.
    File(Vec<u8>, bool),
    /// A symbolic link to a target.
    Link(PathBuf),
}

/// The regular files and symlinks below `root/rel`, in name order (as Go's `filepath.Walk`).
fn walk(root: &Path, rel: &Path, out: &mut Vec<(PathBuf, TreeNode)>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = rel.join(e.file_name());
        let meta = std::fs::symlink_metadata(root.join(&path))?;
        if meta.file_type().is_symlink() {
            out.push((
                path.clone(),
                TreeNode::Link(std::fs::read_link(root.join(&path))?),
            ));
        } else if meta.is_dir() {
            walk(root, &path, out)?;
        } else if meta.is_file() {
            let bytes = std::fs::read(root.join(&path))?;
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push((path, TreeNode::File(bytes, executable)));
        }
    }
    Ok(())
}

/// fcos 1.0.0's data URL: every byte but `A-Za-z0-9-_.!~*'()` escaped.
fn escaped_data_url(bytes: &[u8]) -> String {
    let mut out = String::from("data:,");
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `local` joined to `dir` as Butane does (`filepath.Join`, a leading `/` relative too), if the
/// result stays inside `dir` (a lexical check, as Butane's).
fn within(dir: &Path, local: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(local).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(dir.join(out))
}

/// A Butane field name in Ignition's JSON spelling (`ssh_authorized_keys` -> `sshAuthorizedKeys`).
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A value with every mapping key in Ignition's spelling.
fn camel_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (camel(k), camel_keys(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

/// The `storage.files` entry apply writes for a layer file in a Butane source: `path`, `mode`
/// (written `0644`), `overwrite: true` and `contents.inline` (a file that is not UTF-8 as a
/// data URL in `contents.source`).
pub fn layer_entry(f: &crate::layer::LayerFile) -> Value {
    let contents = match std::str::from_utf8(&f.bytes) {
        Ok(text) => json!({ "inline": text }),
        Err(_) => json!({ "source": encode_data_url(&f.bytes) }),
    };
    json!({"path": f.path, "mode": f.mode, "overwrite": true, "contents": contents})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(camel("ssh_authorized_keys"), "sshAuthorizedKeys");
        assert_eq!(
            butane_path("/storage/files/0/path"),
            "$.storage.files.0.path"
        );
        let d = Path::new("/d");
        assert_eq!(within(d, "a/../b"), Some(PathBuf::from("/d/b")));
        assert_eq!(within(d, "/x"), Some(PathBuf::from("/d/x")));
        assert_eq!(within(d, "../file-1"), None);
        assert!(is_semver("4.23.0-experimental") && !is_semver("1.5"));
        assert_eq!(
            escaped_data_url(b"Hello, world!"),
            "data:,Hello%2C%20world!"
        );
    }
}
