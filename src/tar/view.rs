//! Collecting a node view from a tar stream (root file systems and OCI image layers, with
//! whiteouts).

use super::*;

/// The OCI whiteout an entry stands for, if any: `(opaque directory, None)` or `(dir, Some(path))`.
pub(super) fn whiteout(path: &str) -> Option<(String, Option<String>)> {
    let (dir, base) = path.rsplit_once('/')?;
    let dir = if dir.is_empty() { "/" } else { dir };
    if base == ".wh..wh..opq" {
        return Some((dir.to_string(), None));
    }
    let hidden = base.strip_prefix(".wh.")?;
    let joined = if dir == "/" {
        format!("/{hidden}")
    } else {
        format!("{dir}/{hidden}")
    };
    Some((dir.to_string(), Some(joined)))
}

/// What an entry type is, for "not visible" reasons.
pub(super) fn kind_name(kind: u8) -> &'static str {
    match kind {
        b'3' => "a character device",
        b'4' => "a block device",
        b'6' => "a FIFO",
        b'S' => "a sparse file",
        _ => "an entry of an unknown type",
    }
}

/// Read a tar stream (uncompressed) into a [`collect::Collector`]: for every entry whose normalised
/// path the collector has an interest in — a regular file gives `collector.file(path, bytes, mode,
/// origin)` (bytes only for [`Interest::Contents`] within [`Collector::keeps`], else
/// `collector.unknown`); a directory `collector.dir`; a symlink `collector.symlink`; a hardlink the
/// earlier entry's bytes when those were kept, else `collector.unknown`. With `whiteouts` (OCI
/// image layers) `.wh..wh..opq` pushes the directory to `delta.opaque` and `.wh.<name>` pushes
/// `dir/name` to `delta.whiteouts`. Data of other entries is skipped without buffering (constant
/// memory); the stream is read to its end (so hashing readers see every byte). Same hostile-input
/// errors as [`rewrite`].
pub fn collect(
    input: impl Read,
    delta: &mut collect::LayerDelta,
    origin: &str,
    whiteouts: bool,
) -> Result<()> {
    let mut rd = Blocks::new(input);
    rd.lenient = whiteouts;
    let mut kept: HashMap<String, (Vec<u8>, u32)> = HashMap::new();
    loop {
        let e = match rd.next()? {
            Item::Entry(e) => e,
            Item::End(_) => return rd.copy_tail(&mut std::io::sink()),
        };
        if e.kind == b'V' {
            rd.skip_data(&e)?;
            continue;
        }
        let path = e.path();
        if whiteouts {
            if let Some((dir, hidden)) = whiteout(&path) {
                match hidden {
                    None => delta.opaque.push(dir),
                    Some(p) => delta.whiteouts.push(p),
                }
                rd.skip_data(&e)?;
                continue;
            }
        }
        let interest = delta.entries.interest(&path);
        let data = if wants_data(&e, interest) {
            Some(rd.read_data(&e)?)
        } else {
            rd.skip_data(&e)?;
            None
        };
        if interest != Interest::None {
            collect_entry(&e, &path, interest, data, delta, origin, &mut kept);
        }
    }
}

/// Whether the collector keeps an entry's bytes (its data is read, not skipped).
pub(super) fn wants_data(e: &RawEntry, interest: Interest) -> bool {
    interest == Interest::Contents && e.is_file() && e.sparse.is_empty() && Collector::keeps(e.size)
}

/// Feed one interesting entry to the collector; `data` is its data with padding, read when
/// [`wants_data`] says so.
pub(super) fn collect_entry(
    e: &RawEntry,
    path: &str,
    interest: Interest,
    data: Option<Vec<u8>>,
    delta: &mut collect::LayerDelta,
    origin: &str,
    kept: &mut HashMap<String, (Vec<u8>, u32)>,
) {
    let c = &mut delta.entries;
    let mode = e.meta_fields.mode & 0o7777;
    if e.is_dir() {
        c.dir(path);
    } else if e.is_file() && e.sparse.is_empty() {
        if let Some(mut raw) = data {
            raw.truncate(e.size as usize);
            kept.insert(path.to_string(), (raw.clone(), mode));
            c.file(path, Some(raw), Some(mode), origin);
        } else if interest == Interest::Contents {
            c.unknown(
                path,
                &format!("{} bytes, too large to be a configuration file", e.size),
                origin,
            );
        } else {
            c.file(path, None, Some(mode), origin);
        }
    } else if e.kind == b'2' {
        c.symlink(path, &lossy(&e.link), origin);
    } else if e.kind == b'1' {
        let target = e.link_path();
        match kept.get(&target).cloned() {
            Some((bytes, m)) => {
                let bytes = (interest == Interest::Contents).then_some(bytes);
                if let Some(b) = &bytes {
                    kept.insert(path.to_string(), (b.clone(), m));
                }
                c.file(path, bytes, Some(m), origin);
            }
            None if interest == Interest::Presence => c.file(path, None, Some(mode), origin),
            None => c.unknown(
                path,
                &format!("a hardlink to {target}, whose contents were not read"),
                origin,
            ),
        }
    } else {
        c.unknown(path, kind_name(e.kind), origin);
    }
}
