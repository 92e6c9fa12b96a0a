//! OpenShift releases and the Ignition specs their Machine Config Operator reads.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Error, Result};

use crate::ignition::Spec;

/// An OpenShift release `4.Y` (a trailing `.Z` is accepted and ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// Always 4.
    pub major: u32,
    /// The minor release.
    pub minor: u32,
}

impl Release {
    /// The newest release modlayer knows (the default where a release decides behaviour).
    pub const NEWEST: Release = Release {
        major: 4,
        minor: 21,
    };

    /// The first release whose MCO render sets `overwrite: true` on every file that lacks it
    /// (machine-config-operator PR 3525, backported to 4.12 as PR 3546).
    pub const OVERWRITE_DEFAULT: Release = Release {
        major: 4,
        minor: 12,
    };

    /// A release from its minor number.
    pub const fn four(minor: u32) -> Release {
        Release { major: 4, minor }
    }

    /// The newest Ignition spec this release's MCO reads (what `render` writes for it).
    pub fn newest_spec(self) -> Spec {
        let minor = match self.minor {
            0..=5 => return Spec { major: 2, minor: 2 },
            6 => 1,
            7..=13 => 2,
            14..=18 => 4,
            _ => 5,
        };
        Spec { major: 3, minor }
    }

    /// Whether this release's MCO reads a spec (2.2 is always converted; 4.13 reads up to 3.4).
    pub fn reads(self, spec: Spec) -> bool {
        if spec == (Spec { major: 2, minor: 2 }) {
            return true;
        }
        let newest = match self.minor {
            13 => Spec { major: 3, minor: 4 },
            _ => self.newest_spec(),
        };
        spec.major == 3 && spec <= newest
    }

    /// Whether this release's render gives files without `overwrite` the value `true`.
    pub fn defaults_overwrite(self) -> bool {
        self >= Release::OVERWRITE_DEFAULT
    }
}

impl FromStr for Release {
    type Err = Error;

    fn from_str(text: &str) -> Result<Release> {
        let mut it = text.split('.');
        let major = it.next().and_then(|p| p.parse::<u32>().ok());
        let minor = it.next().and_then(|p| p.parse::<u32>().ok());
        let patch_ok = it.next().is_none_or(|p| p.parse::<u32>().is_ok()) && it.next().is_none();
        match (major, minor) {
            (Some(4), Some(minor)) if patch_ok => Ok(Release::four(minor)),
            _ => bail!("OpenShift version {text:?} is not of the form 4.Y"),
        }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_by_release() {
        let s = |t: &str| t.parse::<Release>().unwrap().newest_spec().to_string();
        assert_eq!(s("4.6"), "3.1.0");
        assert_eq!(s("4.7"), "3.2.0");
        assert_eq!(s("4.13"), "3.2.0");
        assert_eq!(s("4.14.3"), "3.4.0");
        assert_eq!(s("4.18"), "3.4.0");
        assert_eq!(s("4.19"), "3.5.0");
        assert_eq!(s("4.21"), "3.5.0");
        let r = |t: &str, v| t.parse::<Release>().unwrap().reads(Spec::parse(v).unwrap());
        assert!(r("4.13", "3.4.0"));
        assert!(!r("4.12", "3.3.0"));
        assert!(r("4.6", "2.2.0"));
        assert!(!r("4.19", "3.6.0"));
        for bad in ["5.1", "4", "4.x", "4.1.2.3", "", "v4.14"] {
            assert!(bad.parse::<Release>().is_err(), "{bad}");
        }
        assert!(!Release::four(11).defaults_overwrite());
        assert!(Release::four(12).defaults_overwrite());
    }
}
