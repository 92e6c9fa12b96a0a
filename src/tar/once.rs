//! Reading and rewriting a root file system archive in one pass: every entry goes to the
//! collector (what a node booted from the archive sees) and through the rewrite at once, so that
//! `apply` reads each byte of the archive once, the kernel check and a `--module` layer included.
//!
//! A layer built from the archive itself (`--module`) is known only at its end: it empties the
//! `/etc/modprobe.d` files that blacklist the module, wherever the blacklist is. So the entries
//! directly in `/etc/modprobe.d` are held back (at most [`MAX_HELD`] bytes) and written after the
//! archive's other entries, replaced or as they were, before the layer's new files. Where one
//! pass cannot settle the archive alone (a link in a configuration directory to a file read
//! before it, a hardlink to a held entry, a PAX global header on one, too much to hold), it says
//! so ([`Once::Again`]) and the caller reads the archive the two-pass way.

use super::*;
use crate::layer::MODPROBE_ETC;
use crate::node::collect::LayerDelta;
use crate::node::NodeView;

/// Most bytes of `/etc/modprobe.d` entries held back (headers, data and padding).
pub const MAX_HELD: u64 = 1 << 20;

/// What the layer of a one-pass rewrite is.
#[derive(Clone, Copy)]
pub enum Plan<'a> {
    /// Known before the archive is read.
    Layer(&'a Layer),
    /// Built from what the archive holds, by [`rewrite_collecting`]'s `settle`, from these files
    /// at first (the layer's files outside `/etc/modprobe.d`) and, at the end, files in
    /// `/etc/modprobe.d`.
    Module {
        /// The layer that views are collected for (the module, no files).
        probe: &'a Layer,
        /// The files known before the archive is read.
        first: &'a Layer,
    },
}

/// How a one-pass rewrite ended.
pub enum Once {
    /// Rewritten: the changes and what the archive held before them.
    Done {
        /// The changes, as [`rewrite`] returns them.
        changes: Vec<String>,
        /// What a node booted from the archive as it was sees.
        node: NodeView,
    },
    /// One pass could not settle the archive (why): discard what was written and read it again.
    Again(String),
}

/// One held-back entry: as read, with its data and padding.
struct Held {
    entry: Box<RawEntry>,
    path: String,
    data: Vec<u8>,
}

/// A reader over bytes already read, for the rewrite of an entry whose data was read for the
/// collector.
fn replay(data: &[u8]) -> Blocks<&[u8]> {
    Blocks {
        r: BufReader::with_capacity(BLOCK, data),
        scratch: vec![0; 64 << 10],
        index: 0,
        last: String::new(),
        global: Pax::default(),
        lenient: false,
    }
}

/// [`rewrite`] and [`collect`] in one pass over an uncompressed archive. The collector is the
/// plan's (its layer, or the probe for a module); at the end `settle` judges what the archive
/// held and returns the layer to write (an error there aborts the rewrite: the caller discards
/// its output). The layer `settle` returns must agree with the plan: the same files, and for a
/// module more files only in `/etc/modprobe.d`. `origin` names the archive for the collector.
pub fn rewrite_collecting(
    input: impl Read,
    output: impl Write,
    plan: Plan<'_>,
    origin: &str,
    settle: impl FnOnce(&NodeView) -> Result<Layer>,
) -> Result<Once> {
    let (collected_for, first, hold) = match plan {
        Plan::Layer(l) => (l, l, false),
        Plan::Module { probe, first } => (probe, first, true),
    };
    let mut out = BufWriter::with_capacity(64 << 10, output);
    let mut rd = Blocks::new(input);
    let mut state = Rewrite::new(first);
    if hold {
        state.future.push(MODPROBE_ETC.to_string());
    }
    let mut delta = LayerDelta::new(collected_for);
    let mut kept: HashMap<String, (Vec<u8>, u32)> = HashMap::new();
    let mut held: Vec<Held> = Vec::new();
    let mut held_bytes = 0u64;
    let zero = loop {
        let e = match rd.next()? {
            Item::Entry(e) => e,
            Item::End(zero) => break zero,
        };
        if e.kind == b'V' {
            state.entry(&mut rd, &e, &mut out)?;
            continue;
        }
        let path = e.path();
        if hold && e.kind == b'1' && held.iter().any(|h| h.path == e.link_path()) {
            return Ok(Once::Again(format!(
                "{}: is a hardlink to an entry in {MODPROBE_ETC}",
                e.at()
            )));
        }
        let interest = delta.entries.interest(&path);
        if hold
            && path
                .rsplit_once('/')
                .is_some_and(|(dir, _)| dir == MODPROBE_ETC)
        {
            if !e.globals.is_empty() {
                return Ok(Once::Again(format!(
                    "{}: carries a PAX global header",
                    e.at()
                )));
            }
            held_bytes += (e.meta.len() + BLOCK + e.sparse.len()) as u64 + e.padded_size();
            if held_bytes > MAX_HELD {
                return Ok(Once::Again(format!(
                    "its {MODPROBE_ETC} entries hold over {MAX_HELD} bytes"
                )));
            }
            let data = rd.read_data(&e)?;
            if interest != Interest::None {
                let mine = wants_data(&e, interest).then(|| data.clone());
                collect_entry(&e, &path, interest, mine, &mut delta, origin, &mut kept);
            }
            held.push(Held {
                entry: e,
                path,
                data,
            });
            continue;
        }
        if interest == Interest::None {
            state.entry(&mut rd, &e, &mut out)?;
        } else if wants_data(&e, interest) {
            let data = rd.read_data(&e)?;
            state.entry(&mut replay(&data), &e, &mut out)?;
            collect_entry(
                &e,
                &path,
                interest,
                Some(data),
                &mut delta,
                origin,
                &mut kept,
            );
        } else {
            collect_entry(&e, &path, interest, None, &mut delta, origin, &mut kept);
            state.entry(&mut rd, &e, &mut out)?;
        }
    };
    let missing = delta.entries.missing_link_targets();
    if let Some(first) = missing.first() {
        return Ok(Once::Again(format!(
            "a link in a configuration directory leads to {first}, which the pass did not keep"
        )));
    }
    let node = delta.entries.finish();
    let layer = settle(&node)?;
    for f in &layer.files {
        match state.wanted.get(&f.path) {
            Some(known) if known.bytes == f.bytes && known.mode == f.mode => {}
            None if hold
                && f.path
                    .rsplit_once('/')
                    .is_some_and(|(d, _)| d == MODPROBE_ETC) =>
            {
                state.wanted.insert(f.path.clone(), f.clone());
            }
            _ => {
                return Ok(Once::Again(format!(
                    "the layer's {} was not known before the archive was read",
                    f.path
                )))
            }
        }
    }
    if state.wanted.len() != layer.files.len() {
        return Ok(Once::Again(
            "the layer lost files once the archive was read".into(),
        ));
    }
    for h in held {
        state.entry(&mut replay(&h.data), &h.entry, &mut out)?;
    }
    state.append_missing(&mut out)?;
    out.write_all(&zero[..])
        .context("cannot write the output")?;
    rd.copy_tail(&mut out)?;
    out.flush().context("cannot write the output")?;
    Ok(Once::Done {
        changes: state.changes,
        node,
    })
}

/// [`rewrite_collecting`] on an archive file, written with the same compression to `out` (the
/// caller writes a temporary file and renames it on success), or to nowhere for a dry run
/// (`out` None: nothing compressed).
pub fn apply_once(
    path: &Path,
    out: Option<&mut dyn Write>,
    plan: Plan<'_>,
    settle: impl FnOnce(&NodeView) -> Result<Layer>,
) -> Result<Once> {
    let shown = path.display().to_string();
    let (input, c, progress) = open_progress(path)?;
    let done = (|| match (out, c) {
        (None, _) => {
            rewrite_collecting(decompress(input, c)?, std::io::sink(), plan, &shown, settle)
        }
        (Some(out), Compression::None) => rewrite_collecting(input, out, plan, &shown, settle),
        (Some(out), Compression::Gzip) => {
            let mut gz = ParallelGzip::new(out, GZIP_LEVEL);
            let done = rewrite_collecting(decompress(input, c)?, &mut gz, plan, &shown, settle)?;
            if let Once::Done { .. } = done {
                gz.finish().context("cannot write the output")?;
            }
            Ok(done)
        }
        (Some(_), Compression::Zstd) => bail!(ZSTD_REFUSAL),
    })()
    .with_context(|| shown.clone());
    progress.finish_and_clear();
    done
}
