//! `apply` on a hub repository.

use anyhow::{bail, Result};

use crate::layer::Layer;
use crate::targets::{Applied, ApplyOpts};

/// Add the layer to a hub repository.
pub fn apply(target: &str, stream: bool, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
    let _ = (layer, opts);
    if stream {
        bail!("{target}: a built stream is no repository: apply to the repository folder; nothing was changed");
    }
    bail!("{target}: apply on a hub repository is not supported yet; nothing was changed")
}
