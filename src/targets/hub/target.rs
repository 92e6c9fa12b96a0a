//! The `hub` kind: a hub repository (a folder of ClusterInstance or SiteConfig objects, their
//! extra-manifest ConfigMaps and the policies bound to them) or a kustomize-built stream of one,
//! judged cluster by cluster ([`crate::targets::hub`]).

use crate::fsutil::FileBytes;
use std::path::Path;

use anyhow::{Context, Result};

use crate::layer::Layer;
use crate::report::{TargetReport, View};
use crate::targets::hub::{Hub, Source};
use crate::targets::{Applied, ApplyOpts, Kind, Target, VerifyOpts};

/// A hub repository folder or stream.
pub struct HubTarget {
    /// The target as given (`-` for standard input).
    given: String,
    /// A stream's bytes (None: a folder).
    bytes: Option<FileBytes>,
}

impl HubTarget {
    /// A hub folder.
    pub fn folder(target: &str) -> HubTarget {
        HubTarget {
            given: target.to_string(),
            bytes: None,
        }
    }

    /// A hub stream already read.
    pub fn stream(target: &str, bytes: FileBytes) -> HubTarget {
        HubTarget {
            given: target.to_string(),
            bytes: Some(bytes),
        }
    }

    fn name(&self) -> &str {
        if self.given == "-" {
            "<stdin>"
        } else {
            &self.given
        }
    }

    /// Read the hub.
    pub fn hub(&self) -> Result<Hub> {
        let src = match &self.bytes {
            Some(b) => Source::read_stream(self.name(), b)?,
            None => Source::read_dir(Path::new(&self.given))?,
        };
        let hub = Hub::build(src)?;
        if hub.clusters.is_empty() {
            anyhow::bail!(
                "{}: no ClusterInstance or SiteConfig cluster in it",
                self.name()
            );
        }
        Ok(hub)
    }
}

impl Target for HubTarget {
    fn kind(&self) -> Kind {
        Kind::Hub
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        crate::targets::hub::apply::apply(&self.given, self.bytes.is_some(), layer, opts)
    }

    /// A hub has no views of its own: it is judged cluster by cluster ([`Target::judge`]).
    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let _ = (layer, opts);
        anyhow::bail!(
            "{}: a hub is judged cluster by cluster (modlayer verify)",
            self.name()
        )
    }

    fn judge(&self, name: &str, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<TargetReport>> {
        let hub = self.hub()?;
        crate::targets::hub::judge::judge(&hub, name, layer, opts).with_context(|| name.to_string())
    }
}
