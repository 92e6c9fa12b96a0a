//! Root filesystem and layer archives (`.tar`, `.tar.gz`, `.tgz`, zstd read): patched as a
//! stream (every other entry passed through byte for byte), verified through the collector.

use std::collections::BTreeSet;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::fsutil::{stdout_copy, write_atomic_with};
use crate::layer::Layer;
use crate::node::collect::{Collector, LayerDelta};
use crate::node::NodeView;
use crate::report::View;
use crate::tar::{apply_once, apply_stream, collect, decompress, open_progress, plan_stream};
use crate::tar::{Once, Plan};
use crate::targets::{own_layer, refuse_module_not_carried};
use crate::targets::{Applied, ApplyOpts, Dest, Kind, Start, Target, VerifyOpts, Wanted};

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

    /// Apply in one pass over the archive ([`crate::tar::rewrite_collecting`]): the layer
    /// written, the module checked against the archive's kernels and, for `--module`, the layer
    /// built from its own blacklist files, as each entry is read once. None where one pass
    /// cannot settle the archive (nothing is changed then; the caller reads it twice).
    fn apply_once(&self, wanted: &Wanted, opts: &ApplyOpts) -> Result<Option<Applied>> {
        let src = Path::new(&self.given);
        let (probe, first);
        let plan = match wanted {
            Wanted::Layer(l) => Plan::Layer(l),
            Wanted::Module { name, .. } => {
                probe = Layer::bare(name)?;
                first = Layer::for_module(name, &NodeView::default())?;
                Plan::Module {
                    probe: &probe,
                    first: &first,
                }
            }
        };
        let settle = |node: &NodeView| match wanted {
            Wanted::Layer(l) => {
                refuse_module_not_carried(&self.given, &l.module, &[node])?;
                Ok(l.clone())
            }
            Wanted::Module { name, .. } => {
                refuse_module_not_carried(&self.given, name, &[node])?;
                own_layer(&self.given, name, &[node])
            }
        };
        if opts.dry_run {
            return Ok(match apply_once(src, None, plan, settle)? {
                Once::Done { changes, .. } => Some(Applied {
                    changes,
                    ..Applied::default()
                }),
                Once::Again(_) => None,
            });
        }
        let dest: PathBuf = match &opts.dest {
            Dest::File(o) => o.clone(),
            Dest::InPlace => src.to_path_buf(),
            Dest::Stdout if !opts.several => {
                // Standard output cannot be taken back: the one pass writes to an unnamed
                // temporary file (a refusal comes before any output), copied out once settled.
                let mut spool = tempfile::tempfile().context("a temporary file for the output")?;
                let once = {
                    let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut spool);
                    let once = apply_once(src, Some(&mut w), plan, settle)?;
                    w.flush().context("a temporary file for the output")?;
                    once
                };
                let Once::Done { changes, .. } = once else {
                    return Ok(None);
                };
                spool
                    .seek(SeekFrom::Start(0))
                    .context("a temporary file for the output")?;
                stdout_copy(&mut spool)?;
                return Ok(Some(Applied {
                    changes,
                    ..Applied::default()
                }));
            }
            Dest::Stdout | Dest::Buffer => return Ok(None),
        };
        let same = dest == src;
        let mut again = false;
        let changes = write_atomic_with(&dest, Some(src), |w| {
            match apply_once(src, Some(w), plan, settle)? {
                Once::Done { changes, .. } => {
                    let keep = !(same && changes.is_empty());
                    Ok((changes, keep))
                }
                Once::Again(_) => {
                    again = true;
                    Ok((Vec::new(), false))
                }
            }
        })?;
        if again {
            return Ok(None);
        }
        Ok(Some(written(changes, dest, same)))
    }
}

/// What an apply to `dest` did: an archive patched in place that needed no change is left as
/// it was (nothing written).
fn written(changes: Vec<String>, dest: PathBuf, same: bool) -> Applied {
    let written = if same && changes.is_empty() {
        Vec::new()
    } else {
        vec![dest]
    };
    Applied {
        changes,
        written,
        ..Applied::default()
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
        Ok(written(changes, dest, same))
    }

    fn apply_wanted(&self, wanted: &Wanted, opts: &ApplyOpts) -> Option<Result<Applied>> {
        self.apply_once(wanted, opts).transpose()
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
