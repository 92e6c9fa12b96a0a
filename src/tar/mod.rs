//! Tar archives: the layer rendered as a reproducible tar, root filesystem archives patched in one
//! streaming pass, and tar streams (root filesystems, OCI image layers) read into a
//! [`collect::Collector`].
//!
//! The streaming loop works on raw 512-byte blocks so that every entry modlayer does not touch goes
//! through byte for byte — PAX (`x`, `g`) and GNU (`L`, `K`) extension headers, GNU sparse
//! extension blocks, data and its padding, the end-of-archive blocks and whatever follows them.
//! Only the entries at the layer's paths are written anew (ustar, a PAX `path` record when a name
//! does not fit).
//!
//! Errors name the entry: `entry N (name): what`, N counting the archive's entries from 1 (extension
//! headers belong to the entry they precede and are not counted).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Context, Result};

use crate::fsutil::Counted;
use crate::layer::{Layer, LayerFile};
use crate::node::collect::{self, node_path, Collector, Interest};

mod compress;
mod once;
mod read;
mod rewrite;
#[cfg(test)]
mod tests;
mod view;
mod write;

pub use compress::*;
pub use once::*;
use read::*;
pub use rewrite::*;
pub use view::*;
pub use write::*;

/// Why a zstd archive is not rewritten.
const ZSTD_REFUSAL: &str =
    "zstd-compressed archives can be verified but not rewritten (modlayer writes no zstd); \
     decompress it first (zstd -d) or recompress it with gzip";

/// Size of a tar block.
const BLOCK: usize = 512;
/// Largest extension header (PAX record set, GNU long name) accepted, against hostile input.
const MAX_META: u64 = 1 << 20;
/// Most GNU sparse extension blocks accepted after one header.
const MAX_SPARSE_BLOCKS: usize = 2048;
/// Largest old contents of a replaced file kept for a later hardlink to it.
const MAX_KEPT_OLD: u64 = 1 << 20;
/// Chunk size for streaming data through.
const COPY_CHUNK: usize = 256 << 10;
/// Uncompressed bytes per gzip member when compressing in parallel.
const GZIP_MEMBER: usize = 4 << 20;
/// gzip compression level (gzip's default).
const GZIP_LEVEL: u32 = 6;
/// gzip header OS byte ("unknown"), fixed so output does not depend on the machine.
const GZIP_OS: u8 = 255;

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// Open an archive file and detect its compression.
pub fn open(path: &Path) -> Result<(BufReader<Counted<std::fs::File>>, Compression)> {
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open"))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!("{shown}: is a directory, not a tar archive");
    }
    let mut r = BufReader::with_capacity(1 << 20, Counted(file));
    let head = r
        .fill_buf()
        .with_context(|| format!("{shown}: cannot read"))?;
    let c = detect_compression(head);
    Ok((r, c))
}

/// An archive's file as [`open_progress`] reads it: counted, buffered, behind a progress bar.
pub type Input = indicatif::ProgressBarIter<BufReader<Counted<std::fs::File>>>;

/// [`open`] with a progress bar over the file's bytes ([`crate::fsutil::progress_bar`]: shown
/// only for large archives on a terminal); finish the bar when done.
pub fn open_progress(path: &Path) -> Result<(Input, Compression, indicatif::ProgressBar)> {
    let (input, c) = open(path)?;
    let size = input.get_ref().0.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = crate::fsutil::progress_bar(size);
    Ok((progress.wrap_read(input), c, progress))
}

/// `modlayer apply` on a tar target (`.tar`, `.tar.gz`, `.tgz`): read `path` (a file), stream it
/// through [`rewrite`] — decompressing and recompressing with the same compression (gzip in
/// independent 4 MiB members compressed on every core, level 6, reproducible; a zstd input is
/// refused: modlayer does not write zstd) — into `out` (the caller writes a temporary file and
/// renames it on success). Returns the changes.
pub fn apply_stream(path: &Path, out: &mut dyn Write, layer: &Layer) -> Result<Vec<String>> {
    let shown = path.display().to_string();
    let (input, c, progress) = open_progress(path)?;
    let changes = rewrite_compressed(input, c, out, layer).with_context(|| shown);
    progress.finish_and_clear();
    changes
}

/// What `apply` on a tar target would change, without writing or compressing anything (a dry run).
pub fn plan_stream(path: &Path, layer: &Layer) -> Result<Vec<String>> {
    let shown = path.display().to_string();
    let (input, c) = open(path)?;
    rewrite(decompress(input, c)?, std::io::sink(), layer).with_context(|| shown)
}

/// [`rewrite`] between a compressed input and the same compression on output.
fn rewrite_compressed(
    input: impl Read,
    c: Compression,
    out: &mut dyn Write,
    layer: &Layer,
) -> Result<Vec<String>> {
    match c {
        Compression::None => rewrite(input, out, layer),
        Compression::Gzip => {
            let mut gz = ParallelGzip::new(out, GZIP_LEVEL);
            let changes = rewrite(decompress(input, c)?, &mut gz, layer)?;
            gz.finish().context("cannot write the output")?;
            Ok(changes)
        }
        Compression::Zstd => bail!(ZSTD_REFUSAL),
    }
}
