//! Root filesystem and layer archives (`.tar`, `.tar.gz`, `.tgz`, zstd read): patched as a
//! stream (every other entry passed through byte for byte), verified through the collector.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::fsutil::write_atomic_with;
use crate::layer::Layer;
use crate::node::collect::{Collector, LayerDelta};
use crate::report::View;
use crate::tar::{apply_stream, collect, decompress, open_progress, plan_stream};
use crate::targets::{Applied, ApplyOpts, Dest, Kind, Start, Target, VerifyOpts};

/// A root filesystem archive.
pub struct TarTarget {
    /// The target as given.
    given: String,
}

impl TarTarget {
    /// The target as given.
    pub fn new(target: &str) -> TarTarget {
        TarTarget {
            given: target.to_string(),
        }
    }

    /// Read the archive into a collector, keeping the files at `wanted` too (link targets).
    fn read(&self, layer: &Layer, wanted: &BTreeSet<String>) -> Result<Collector> {
        let (input, c, progress) = open_progress(Path::new(&self.given))?;
        let mut delta = LayerDelta::new(layer);
        delta.entries.want(wanted.iter().cloned());
        let read = decompress(input, c)
            .and_then(|r| collect(r, &mut delta, &self.given, false))
            .with_context(|| self.given.clone());
        progress.finish_and_clear();
        read?;
        Ok(delta.entries)
    }
}

impl Target for TarTarget {
    fn kind(&self) -> Kind {
        Kind::Tar
    }

    fn start(&self) -> Start {
        Start::Itself
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        let src = Path::new(&self.given);
        if opts.dry_run {
            return Ok(Applied {
                changes: plan_stream(src, layer)?,
                ..Applied::default()
            });
        }
        let dest: PathBuf = match &opts.dest {
            Dest::Stdout if opts.several => anyhow::bail!(
                "{}: several file targets need --in-place (or --dry-run)",
                self.given
            ),
            Dest::Stdout => {
                let mut stdout = std::io::stdout().lock();
                let changes = apply_stream(src, &mut stdout, layer)?;
                return Ok(Applied {
                    changes,
                    ..Applied::default()
                });
            }
            Dest::File(o) => o.clone(),
            Dest::InPlace => src.to_path_buf(),
            Dest::Buffer => anyhow::bail!(
                "{}: an archive is streamed to a file or standard output",
                self.given
            ),
        };
        // An archive patched in place that needs no change is left as it is.
        let same = dest == src;
        let changes = write_atomic_with(&dest, Some(src), |w| {
            let changes = apply_stream(src, w, layer)?;
            let keep = !(same && changes.is_empty());
            Ok((changes, keep))
        })?;
        let written = if same && changes.is_empty() {
            Vec::new()
        } else {
            vec![dest]
        };
        Ok(Applied {
            changes,
            written,
            ..Applied::default()
        })
    }

    fn views(&self, layer: &Layer, _opts: &VerifyOpts) -> Result<Vec<View>> {
        // A link in a config directory may point anywhere: read again keeping its target.
        let mut wanted = BTreeSet::new();
        let mut collector = self.read(layer, &wanted)?;
        for _ in 0..3 {
            let missing = collector.missing_link_targets();
            if missing.is_empty() {
                break;
            }
            wanted.extend(missing);
            collector = self.read(layer, &wanted)?;
        }
        Ok(vec![View::whole(collector.finish(), Vec::new())])
    }
}
