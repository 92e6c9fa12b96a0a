//! Butane sources translated as Butane translates them, for the variants and versions people use:
//! `fcos` 1.0.0 to 1.7.0, `openshift` 4.8.0 to 4.22.0, `flatcar` 1.0.0 and 1.1.0, `r4e` 1.0.0 and
//! 1.1.0, `fiot` 1.0.0 (Butane 0.29's stable versions; experimental ones are refused).
//!
//! [`Source::translate`] gives the Ignition config of the version's spec (and, for `openshift`,
//! the MachineConfig Butane writes), so that a Butane source is judged by the same readers as
//! any Ignition config or MachineConfig. Values are typed as Butane's YAML reader (go-yaml v3,
//! into typed fields) types them (`typing`): `mode: 0644` is 420, `420.5` is 420, `'0644'` is
//! a string (an error for `mode`), a bool field takes YAML 1.1's `yes`/`on`/`y`… (quoted or not)
//! but not a quoted `"true"`, and a plain scalar in a string field is its text. Only the first
//! YAML document is translated, as Butane does (the others are counted for a warning). Every
//! field Butane knows for the version is taken; any other key is an error (Butane warns
//! `unused key` and drops it; `butane --strict` fails), as are the variant's refusals. Errors
//! name `file:line:col` and the Butane path (`$.storage.files.0.path`), as Butane's reports do;
//! Butane's warnings come with the translation ([`Translated::warnings`]).
//!
//! Files: `versions` (variants, versions, the fields of each schema level), `typing` (go-yaml
//! v3's rules), `translate` (the translator and the openshift MachineConfig), `storage`
//! (files, trees, passed-through sections, mode warnings), `sugar` (mount units, `boot_device`).

mod storage;
mod sugar;
mod translate;
mod typing;
mod versions;

use std::path::Path;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::formats::encoding::encode_data_url;
use crate::formats::yaml::{self, Document};
use crate::ignition::{self, Spec};
use translate::Translator;
use typing::{butane_path, is_semver, Ctx};
pub use versions::VERSIONS;

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
    /// The warnings Butane gives for the source, each with its place and Butane path.
    pub warnings: Vec<Warning>,
    /// The documents after the first, which Butane ignores: where each starts.
    pub ignored: Vec<String>,
}

/// A warning Butane gives (the translation goes through).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// `file:line:col`.
    pub at: String,
    /// The Butane path (`$.storage.files.0.mode`).
    pub path: String,
    /// Butane's message.
    pub message: String,
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
    /// Where the documents after the first start (Butane ignores them).
    ignored: Vec<String>,
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
/// so no entry given as `local` counts as already holding the layer's bytes).
pub(super) const UNREAD_LOCAL: &str = "https://butane-local.invalid/unread";

impl Source {
    /// Read a Butane source as Butane does: its first YAML document (the ones after it, which
    /// Butane ignores, are counted for a warning); errors say `file:line:col`.
    pub fn read(name: &str, bytes: &[u8]) -> Result<Source> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            bail!("{name}: not UTF-8 text");
        };
        let docs = yaml::parse_documents(text)
            .map_err(|e| anyhow::anyhow!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
        let mut docs = docs.into_iter().filter(|d| !d.value.is_null());
        let Some(first) = docs.next() else {
            bail!("{name}: empty Butane config");
        };
        let ignored: Vec<String> = docs
            .map(|d| {
                d.pos("")
                    .map_or(name.to_string(), |p| format!("{name}:{}:{}", p.line, p.col))
            })
            .collect();
        let mut source = Source::of_document(name, text, first)?;
        source.ignored = ignored;
        Ok(source)
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
            ignored: Vec::new(),
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
            units: Vec::new(),
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
            warnings: t.ctx.warnings,
            ignored: self.ignored.clone(),
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
    use super::storage::{decimal_mode, escaped_data_url, within};
    use super::translate::camel;
    use super::typing::{resolve_plain, yaml11_bool, Resolved};
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn go_yaml_v3_typing() {
        for (text, want) in [
            ("0644", Resolved::Int(420)),
            ("0o644", Resolved::Int(420)),
            ("0x1a4", Resolved::Int(420)),
            ("4_20", Resolved::Int(420)),
            ("+420", Resolved::Int(420)),
            ("-0b11", Resolved::Int(-3)),
            ("420.5", Resolved::Float(420.5)),
            ("1e3", Resolved::Float(1000.0)),
            ("yes", Resolved::Str),
            ("on", Resolved::Str),
            ("True", Resolved::Bool(true)),
            ("~", Resolved::Null),
            ("0644.0", Resolved::Float(644.0)),
            ("1:20", Resolved::Str),
            ("99999999999999999999", Resolved::Float(1e20)),
        ] {
            assert_eq!(resolve_plain(text), want, "{text}");
        }
        assert_eq!(yaml11_bool("Y"), Some(true));
        assert_eq!(yaml11_bool("OFF"), Some(false));
        assert_eq!(yaml11_bool("true"), None);
    }

    #[test]
    fn decimal_modes_warned_as_butane_does() {
        assert!(decimal_mode(644, false));
        assert!(decimal_mode(755, true));
        assert!(!decimal_mode(0o644, false));
        assert!(!decimal_mode(420, false));
        assert!(!decimal_mode(0o4755, false));
        assert!(!decimal_mode(8888, false));
    }

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
