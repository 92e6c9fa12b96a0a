//! Layers: the files that switch a kernel module on.
//!
//! A layer is declared by a `layer.toml` (see `layers/README.md`); the ones in the repository's
//! `layers/` folder are built into the binary, `--layer DIR` reads one from disk and `--module NAME`
//! builds one from the base state (the blacklist file the base ships emptied, if any, and a
//! `<name>-load.conf` listing it).

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use serde::Deserialize;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_layers.rs"));
}

/// The layer used when none is named.
pub const DEFAULT_LAYER: &str = "sctp";

/// Directory of modprobe.d files that a layer's blacklist override lives in.
pub const MODPROBE_ETC: &str = "/etc/modprobe.d";
/// Directory of modules-load.d files that a layer's load list lives in.
pub const MODULES_LOAD_ETC: &str = "/etc/modules-load.d";

/// One file of a layer: where it goes on the node, its permission bits and its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerFile {
    /// Absolute, clean path on the node, e.g. `/etc/modules-load.d/sctp-load.conf`.
    pub path: String,
    /// Permission bits (`0o644`).
    pub mode: u32,
    /// The exact contents.
    pub bytes: Vec<u8>,
}

/// A named set of files that turns `module` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Layer name (`sctp`, or the folder name of a `--layer DIR`).
    pub name: String,
    /// The kernel module the layer enables.
    pub module: String,
    /// One line of description.
    pub description: String,
    /// The files, in the order they are written.
    pub files: Vec<LayerFile>,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (module {})", self.name, self.module)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    module: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "file", default)]
    files: Vec<ManifestFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    path: String,
    mode: String,
    contents: Option<String>,
    contents_file: Option<String>,
}

impl Layer {
    /// Names of the built-in layers.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        builtin::BUILTIN.iter().map(|(name, _)| *name)
    }

    /// A built-in layer by name.
    pub fn builtin(name: &str) -> Result<Layer> {
        let Some((_, text)) = builtin::BUILTIN.iter().find(|(n, _)| *n == name) else {
            bail!(
                "no built-in layer named {name:?} (built-in: {})",
                Self::builtin_names().collect::<Vec<_>>().join(", ")
            );
        };
        Self::from_manifest(name, text, None)
            .with_context(|| format!("built-in layer {name}/layer.toml"))
    }

    /// The layer a `--layer NAME|DIR` names: a built-in name, or a folder holding `layer.toml`.
    pub fn named(spec: &str) -> Result<Layer> {
        if Self::builtin_names().any(|n| n == spec) && !Path::new(spec).join("layer.toml").exists()
        {
            return Self::builtin(spec);
        }
        Self::from_dir(Path::new(spec))
    }

    /// Read a layer folder from disk.
    pub fn from_dir(dir: &Path) -> Result<Layer> {
        let manifest = dir.join("layer.toml");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read layer {}", manifest.display()))?;
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "layer".to_string());
        Self::from_manifest(&name, &text, Some(dir))
            .with_context(|| format!("in {}", manifest.display()))
    }

    /// A layer of a module with no files (for reading what an OS image has for the module).
    pub fn bare(module: &str) -> Result<Layer> {
        validate_module_name(module)?;
        Ok(Layer {
            name: module.to_string(),
            module: module.to_string(),
            description: String::new(),
            files: Vec::new(),
        })
    }

    fn from_manifest(name: &str, text: &str, dir: Option<&Path>) -> Result<Layer> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        validate_module_name(&manifest.module)?;
        if manifest.files.is_empty() {
            bail!("a layer needs at least one [[file]]");
        }
        let mut files: Vec<LayerFile> = Vec::new();
        for (i, f) in manifest.files.into_iter().enumerate() {
            let at = format!("file[{i}] ({})", f.path);
            validate_node_path(&f.path).with_context(|| at.clone())?;
            if files.iter().any(|g| g.path == f.path) {
                bail!("{at}: path listed twice");
            }
            let mode = parse_mode(&f.mode).with_context(|| at.clone())?;
            let bytes = match (f.contents, f.contents_file, dir) {
                (Some(c), None, _) => c.into_bytes(),
                (None, Some(rel), Some(dir)) => {
                    let p = dir.join(&rel);
                    std::fs::read(&p)
                        .with_context(|| format!("{at}: cannot read {}", p.display()))?
                }
                (None, Some(_), None) => {
                    bail!("{at}: contents_file is only for layers read from disk")
                }
                _ => bail!("{at}: give exactly one of contents or contents_file"),
            };
            files.push(LayerFile {
                path: f.path,
                mode,
                bytes,
            });
        }
        Ok(Layer {
            name: name.to_string(),
            module: manifest.module,
            description: manifest.description,
            files,
        })
    }
}

/// Check a kernel module name: 1–55 characters (kmod's MODULE_NAME_LEN) of `a-z0-9_-` (`-` and
/// `_` are the same to kmod). Kernel module names are lowercase; an uppercase name matches no
/// module file and no modprobe.d line, so it is refused with the lowercase name as a hint.
pub fn validate_module_name(name: &str) -> Result<()> {
    // MODULE_NAME_LEN is 64 - sizeof(unsigned long), including the terminating NUL.
    if name.is_empty() || name.len() > 55 {
        bail!("invalid module name {name:?}: must be 1 to 55 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        bail!("invalid module name {name:?}: character {c:?} is not allowed (use a-z 0-9 _ -)");
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        bail!(
            "invalid module name {name:?}: kernel module names are lowercase; did you mean {:?}?",
            name.to_ascii_lowercase()
        );
    }
    Ok(())
}

/// Check that a node path is absolute and clean (no `.`/`..`/empty components, no trailing `/`).
pub fn validate_node_path(path: &str) -> Result<()> {
    if !path.starts_with('/') {
        bail!("path {path:?} is not absolute");
    }
    if path.len() > 1 && path.ends_with('/') {
        bail!("path {path:?} ends with /");
    }
    if path[1..]
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        bail!("path {path:?} is not clean");
    }
    if path.contains('\0') {
        bail!("path {path:?} contains a NUL byte");
    }
    Ok(())
}

fn parse_mode(text: &str) -> Result<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    let mode = u32::from_str_radix(digits, 8)
        .with_context(|| format!("mode {text:?} is not an octal number like \"0644\""))?;
    if mode > 0o7777 {
        bail!("mode {text:?} is above 07777");
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sctp_is_the_documented_layer() {
        let l = Layer::builtin("sctp").unwrap();
        assert_eq!(l.module, "sctp");
        assert_eq!(
            l.files,
            vec![
                LayerFile {
                    path: "/etc/modprobe.d/sctp-blacklist.conf".into(),
                    mode: 0o644,
                    bytes: vec![]
                },
                LayerFile {
                    path: "/etc/modules-load.d/sctp-load.conf".into(),
                    mode: 0o644,
                    bytes: b"sctp".to_vec()
                },
            ]
        );
    }

    #[test]
    fn module_names_are_checked() {
        assert!(validate_module_name("dccp").is_ok());
        assert!(validate_module_name("nf_conntrack-sip").is_ok());
        for bad in ["", "a b", "../x", "sctp\n", &"x".repeat(56), "é"] {
            assert!(validate_module_name(bad).is_err(), "{bad:?}");
        }
        let e = validate_module_name("SCTP").unwrap_err().to_string();
        assert!(e.contains("did you mean \"sctp\""), "{e}");
    }

    #[test]
    fn node_paths_are_checked() {
        assert!(validate_node_path("/etc/x.conf").is_ok());
        for bad in ["etc/x", "/etc//x", "/etc/../x", "/etc/./x", "/etc/"] {
            assert!(validate_node_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manifest_errors_are_reported() {
        let bad =
            "module = \"sctp\"\n[[file]]\npath = \"/etc/x\"\nmode = \"0999\"\ncontents = \"\"\n";
        let e = format!("{:#}", Layer::from_manifest("t", bad, None).unwrap_err());
        assert!(e.contains("0999"), "{e}");
        let unknown = "module = \"sctp\"\nextra = 1\n";
        assert!(Layer::from_manifest("t", unknown, None).is_err());
    }
}
