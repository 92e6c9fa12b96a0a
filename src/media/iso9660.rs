//! A minimal ISO9660 reader: the primary volume descriptor and the directory records on the way
//! to a few named files, read by position (nothing else of the image is touched). Names are
//! matched as coreos-installer matches them: the primary (8.3) names, case-insensitively, without
//! the `;1` version and a trailing dot.

use anyhow::{bail, Result};

use super::{Source, MAX_SMALL_READ};

/// ISO9660 logical sector size.
pub const SECTOR: u64 = 2048;
/// Where the volume descriptors start (sector 16).
const DESCRIPTORS: u64 = 16 * SECTOR;
/// Volume descriptors looked at before giving up on finding the primary one.
const MAX_DESCRIPTORS: u64 = 32;

/// A file or directory of the image: where its bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset in the image.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Whether it is a directory.
    pub dir: bool,
}

/// An ISO9660 image opened for lookups.
#[derive(Debug)]
pub struct Iso<'a> {
    src: &'a Source,
    root: Extent,
}

impl<'a> Iso<'a> {
    /// Read the primary volume descriptor (an error naming the byte when there is none).
    pub fn open(src: &'a Source) -> Result<Iso<'a>> {
        for i in 0..MAX_DESCRIPTORS {
            let at = DESCRIPTORS + i * SECTOR;
            let d = src.read_at(at, SECTOR, "an ISO9660 volume descriptor")?;
            if &d[1..6] != b"CD001" {
                bail!(
                    "{}: byte {}: no ISO9660 volume descriptor (CD001) here: not an ISO image",
                    src.name,
                    at + 1
                );
            }
            match d[0] {
                1 => {
                    let block = u16::from_le_bytes([d[128], d[129]]);
                    if u64::from(block) != SECTOR {
                        bail!(
                            "{}: byte {}: logical block size {block}, not {SECTOR}",
                            src.name,
                            at + 128
                        );
                    }
                    let (_, root) = record(&d[156..190], at + 156, &src.name)?;
                    if !root.dir {
                        bail!(
                            "{}: byte {}: the root directory record is not a directory",
                            src.name,
                            at + 156
                        );
                    }
                    return Ok(Iso { src, root });
                }
                255 => break,
                _ => {}
            }
        }
        bail!(
            "{}: byte {DESCRIPTORS}: no primary volume descriptor",
            src.name
        )
    }

    /// The extent of a path (`coreos/igninfo.json`), `None` when a component is missing. Only the
    /// directories on the way are read.
    pub fn lookup(&self, path: &str) -> Result<Option<Extent>> {
        let mut cur = self.root;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            if !cur.dir {
                return Ok(None);
            }
            let Some(next) = self.find_in(cur, part)? else {
                return Ok(None);
            };
            if i + 1 < parts.len() && !next.dir {
                return Ok(None);
            }
            cur = next;
        }
        Ok(Some(cur))
    }

    /// Read a small file whole (at most [`MAX_SMALL_READ`] bytes).
    pub fn read_small(&self, e: Extent, what: &str) -> Result<Vec<u8>> {
        if e.length > MAX_SMALL_READ {
            bail!(
                "{}: byte {}: {what} is {} bytes, more than the {MAX_SMALL_READ} read",
                self.src.name,
                e.offset,
                e.length
            );
        }
        self.src.read_at(e.offset, e.length, what)
    }

    fn find_in(&self, dir: Extent, name: &str) -> Result<Option<Extent>> {
        let data = self.read_small(dir, "a directory")?;
        let want = name.to_ascii_uppercase();
        let mut pos = 0usize;
        while pos < data.len() {
            let len = data[pos] as usize;
            if len == 0 {
                // Records do not cross sectors: the rest of this sector is padding.
                pos = (pos / SECTOR as usize + 1) * SECTOR as usize;
                continue;
            }
            if pos + len > data.len() {
                bail!(
                    "{}: byte {}: a directory record runs past its directory",
                    self.src.name,
                    dir.offset + pos as u64
                );
            }
            let (n, e) = record(
                &data[pos..pos + len],
                dir.offset + pos as u64,
                &self.src.name,
            )?;
            if !n.is_empty() && (n.eq_ignore_ascii_case(&want) || matches_83(&n, &want)) {
                return Ok(Some(e));
            }
            pos += len;
        }
        Ok(None)
    }
}

/// The primary name coreos-installer looks up for a longer name: `igninfo.json` is
/// `IGNINFO.JSO` (extension cut to three characters).
fn matches_83(have: &str, want: &str) -> bool {
    match want.rsplit_once('.') {
        Some((stem, ext)) if ext.len() > 3 => {
            have.eq_ignore_ascii_case(&format!("{stem}.{}", &ext[..3]))
        }
        _ => false,
    }
}

/// One directory record: its name (without `;1` and a trailing dot; empty for `.` and `..`)
/// and extent. `at` is its byte offset, for messages.
fn record(r: &[u8], at: u64, name: &str) -> Result<(String, Extent)> {
    if r.len() < 34 || (r[0] as usize) < 34 || r[0] as usize > r.len() {
        bail!("{name}: byte {at}: a directory record shorter than 34 bytes");
    }
    let lba = u32::from_le_bytes([r[2], r[3], r[4], r[5]]);
    let length = u32::from_le_bytes([r[10], r[11], r[12], r[13]]);
    let dir = r[25] & 2 != 0;
    let nlen = r[32] as usize;
    if 33 + nlen > r[0] as usize {
        bail!("{name}: byte {at}: a directory record's name runs past the record");
    }
    let raw = &r[33..33 + nlen];
    let extent = Extent {
        offset: u64::from(lba) * SECTOR,
        length: u64::from(length),
        dir,
    };
    if nlen == 1 && (raw[0] == 0 || raw[0] == 1) {
        // `.` and `..` (no lookup matches an empty name).
        return Ok((String::new(), extent));
    }
    let mut n = raw;
    if n.ends_with(b";1") {
        n = &n[..n.len() - 2];
    }
    if n.ends_with(b".") {
        n = &n[..n.len() - 1];
    }
    Ok((String::from_utf8_lossy(n).into_owned(), extent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_three_names() {
        assert!(matches_83("IGNINFO.JSO", "IGNINFO.JSON"));
        assert!(!matches_83("IGNINFO.JSO", "IGNINFO.JS"));
        assert!(!matches_83("IGNITION.IMG", "IGNITION.IMG"));
    }
}
