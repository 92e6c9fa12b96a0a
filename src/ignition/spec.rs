//! Ignition spec versions, as Ignition parses `ignition.version`, and the problems a check finds.

use std::fmt;

use anyhow::Result;
use serde_json::Value;

use crate::formats::json::pointer_to_path;

/// Ignition spec versions modlayer reads and writes.
/// The spec modlayer writes when nothing asks for another (OpenShift 4.7 to 4.13 read it, and
/// so does every release since).
pub const DEFAULT_SPEC: Spec = Spec { major: 3, minor: 2 };

/// Every spec modlayer reads and writes.
pub const SPECS: &[&str] = &[
    "2.2.0", "2.3.0", "2.4.0", "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0",
];

/// An Ignition config spec version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Spec {
    /// 2 or 3.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Spec {
    /// Parse one of [`SPECS`], spelled as Ignition's semver reading (coreos/go-semver
    /// `Version.Set`: three dot-separated decimal numbers, leading zeros allowed, so `3.03.0` is
    /// 3.3.0) accepts it; a pre-release or build suffix is never a supported spec.
    pub fn parse(text: &str) -> Result<Spec> {
        let unsupported = || {
            anyhow::anyhow!(
                "Ignition spec version {text:?} is not supported (supported: {})",
                SPECS.join(", ")
            )
        };
        let parts: Vec<&str> = text.split('.').collect();
        if text.contains(['+', '-'])
            || parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(unsupported());
        }
        let num = |p: &str| p.trim_start_matches('0').parse::<u64>().unwrap_or(0);
        let (major, minor, patch) = (num(parts[0]), num(parts[1]), num(parts[2]));
        let canonical = format!("{major}.{minor}.{patch}");
        if parts.iter().any(|p| p.len() > 19) || !SPECS.contains(&canonical.as_str()) {
            return Err(unsupported());
        }
        Ok(Spec {
            major: major as u8,
            minor: minor as u8,
        })
    }

    /// Whether this is a legacy 2.x spec (`filesystem: root`, overwrite default true).
    pub fn legacy(self) -> bool {
        self.major == 2
    }

    /// The default of `overwrite` for files in this spec.
    pub(crate) fn overwrite_default(self) -> bool {
        self.legacy()
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.0", self.major, self.minor)
    }
}

/// A problem in a config, located by JSON pointer relative to the config's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer (`/storage/files/0/mode`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(pointer: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", pointer_to_path(&self.pointer), self.message)
    }
}

/// Read the spec of a config value (`ignition.version`).
pub fn spec_of(config: &Value) -> Result<Spec, Problem> {
    let Some(obj) = config.as_object() else {
        return Err(Problem::new("", "an Ignition config must be a JSON object"));
    };
    let version = obj
        .get("ignition")
        .and_then(|i| i.get("version"))
        .ok_or_else(|| Problem::new("/ignition/version", "missing ignition.version"))?;
    let Some(text) = version.as_str() else {
        return Err(Problem::new(
            "/ignition/version",
            "ignition.version must be a string",
        ));
    };
    Spec::parse(text).map_err(|e| Problem::new("/ignition/version", e.to_string()))
}
