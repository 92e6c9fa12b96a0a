//! The embed areas of a CoreOS live ISO, found as coreos-installer finds them: the Ignition area
//! through `coreos/igninfo.json` (`file`, optional `offset` and `length`), else
//! `images/ignition.img`, else the legacy `coreiso+` header in the last 24 bytes of the 32 KiB
//! system area; the kernel-argument areas through `coreos/kargs.json` (every copy identical).
//! A pristine Ignition area is all zeros.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::cpio::{self, Archive, Limits};
use super::iso9660::Iso;
use super::Source;

/// The largest Ignition area read (current images have 256 KiB; the agent installer's are
/// no bigger).
pub const MAX_AREA: u64 = 16 << 20;
/// Decompressed bytes an area may hold (beyond: a bomb).
pub const MAX_AREA_DECODED: u64 = 64 << 20;
/// The largest karg area coreos-installer accepts.
const MAX_KARGS: u64 = 2048;
/// Where the legacy `coreiso+` header is: the last 24 bytes of the 32 KiB system area.
const LEGACY_HEADER: u64 = 32768 - 24;

/// Where a medium's Ignition area is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area {
    /// Byte offset in the image.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// What said so (`coreos/igninfo.json`, `images/ignition.img`, the `coreiso+` header).
    pub found: String,
}

/// The live system's kernel-argument areas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kargs {
    /// (offset, length) of each copy.
    pub areas: Vec<(u64, u64)>,
    /// The arguments they hold.
    pub args: String,
}

impl Kargs {
    /// Read one copy of the karg area at `at` (`len` bytes, `pad` after the arguments and their
    /// `end`, as coreos-installer parses an area); every copy must hold the same arguments.
    fn add(&mut self, src: &Source, at: u64, len: u64, pad: char, end: char) -> Result<()> {
        let name = &src.name;
        let raw = src.read_at(at, len, "a karg area")?;
        let text = String::from_utf8(raw)
            .map_err(|_| anyhow::anyhow!("{name}: byte {at}: a karg area that is not UTF-8"))?;
        let args = text
            .trim_end_matches(pad)
            .trim_end_matches(end)
            .trim()
            .to_string();
        if !self.areas.is_empty() && args != self.args {
            bail!(
                "{name}: byte {at}: the karg areas differ ({:?} and {args:?}): a corrupt medium",
                self.args
            );
        }
        self.args = args;
        self.areas.push((at, len));
        Ok(())
    }
}

#[derive(Deserialize)]
struct IgnInfo {
    file: String,
    offset: Option<u64>,
    length: Option<u64>,
}

#[derive(Deserialize)]
struct KargInfo {
    files: Vec<KargFile>,
    size: u64,
}

#[derive(Deserialize)]
struct KargFile {
    path: String,
    offset: u64,
    pad: Option<char>,
    end: Option<char>,
}

/// Find the Ignition area of a live ISO.
pub fn ignition_area(src: &Source, iso: &Iso) -> Result<Area> {
    let name = &src.name;
    let (file, offset, length, found) = match iso.lookup("coreos/igninfo.json")? {
        Some(e) => {
            let bytes = iso.read_small(e, "coreos/igninfo.json")?;
            let info: IgnInfo = serde_json::from_slice(&bytes).with_context(|| {
                format!("{name}: coreos/igninfo.json (byte {}): not valid", e.offset)
            })?;
            (
                info.file,
                info.offset.unwrap_or(0),
                info.length,
                "coreos/igninfo.json".to_string(),
            )
        }
        None => (
            "images/ignition.img".to_string(),
            0,
            None,
            "images/ignition.img".to_string(),
        ),
    };
    match iso.lookup(&file)? {
        Some(e) if !e.dir => {
            if offset > e.length {
                bail!(
                    "{name}: {found}: offset {offset} is past the end of {file} ({} bytes)",
                    e.length
                );
            }
            let length = length.unwrap_or(e.length - offset);
            let at = e.offset + offset;
            check_inside(src, at, length, &found)?;
            Ok(Area {
                offset: at,
                length,
                found: if found == file {
                    found
                } else {
                    format!("{found} ({file})")
                },
            })
        }
        _ if found == "images/ignition.img" => legacy_area(src),
        _ => bail!("{name}: {found} names {file}, which the ISO does not hold"),
    }
}

fn check_inside(src: &Source, at: u64, length: u64, found: &str) -> Result<()> {
    if length > MAX_AREA {
        bail!(
            "{}: {found}: an Ignition area of {length} bytes, more than the {MAX_AREA} a CoreOS medium has",
            src.name
        );
    }
    if at.checked_add(length).is_none_or(|end| end > src.len) {
        bail!(
            "{}: {found}: the Ignition area (bytes {at} to {}) lies outside the file ({} bytes): truncated or corrupt",
            src.name,
            at.saturating_add(length),
            src.len
        );
    }
    Ok(())
}

/// The legacy `coreiso+` header: offset and length (u64 little-endian) after the magic.
fn legacy_area(src: &Source) -> Result<Area> {
    let h = src.read_at(LEGACY_HEADER, 24, "the coreiso+ header")?;
    if &h[..8] != b"coreiso+" {
        bail!(
            "{}: not a CoreOS live ISO: no coreos/igninfo.json, no images/ignition.img and no coreiso+ header (byte {LEGACY_HEADER})",
            src.name
        );
    }
    let num = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let (offset, length) = (num(8), num(16));
    let found = format!("the coreiso+ header (byte {LEGACY_HEADER})");
    check_inside(src, offset, length, &found)?;
    Ok(Area {
        offset,
        length,
        found,
    })
}

/// The live kernel arguments, from `coreos/kargs.json` (`None` when the ISO has none). Every
/// copy must hold the same arguments, as coreos-installer requires.
pub fn kargs(src: &Source, iso: &Iso) -> Result<Option<Kargs>> {
    let Some(e) = iso.lookup("coreos/kargs.json")? else {
        return legacy_kargs(src);
    };
    let name = &src.name;
    let bytes = iso.read_small(e, "coreos/kargs.json")?;
    let info: KargInfo = serde_json::from_slice(&bytes)
        .with_context(|| format!("{name}: coreos/kargs.json (byte {}): not valid", e.offset))?;
    if info.size > MAX_KARGS {
        bail!(
            "{name}: coreos/kargs.json: karg area size {} is more than {MAX_KARGS}",
            info.size
        );
    }
    let mut out = Kargs {
        areas: Vec::new(),
        args: String::new(),
    };
    for (i, f) in info.files.iter().enumerate() {
        let Some(fe) = iso.lookup(&f.path)? else {
            bail!(
                "{name}: coreos/kargs.json files[{i}]: {} is not in the ISO",
                f.path
            );
        };
        let at = fe.offset + f.offset;
        out.add(
            src,
            at,
            info.size,
            f.pad.unwrap_or('#'),
            f.end.unwrap_or('\n'),
        )?;
    }
    Ok(Some(out))
}

/// Where the legacy karg header is: the 72 bytes before the `coreiso+` header at the end of the
/// 32 KiB system area (coreos-installer `live/embed.rs`, `for_file_via_system_area`).
const LEGACY_KARG_HEADER: u64 = 32768 - 24 - 72;

/// The live kernel arguments of an older ISO without `coreos/kargs.json`: the `coreKarg` header
/// (magic, the areas' length, the offset of the default arguments, up to six area offsets, u64
/// little-endian), every area holding the same arguments padded with `#`. `None` without the
/// header.
fn legacy_kargs(src: &Source) -> Result<Option<Kargs>> {
    let name = &src.name;
    if src.len < 32768 {
        return Ok(None);
    }
    let h = src.read_at(LEGACY_KARG_HEADER, 72, "the karg header")?;
    if &h[..8] != b"coreKarg" {
        return Ok(None);
    }
    let num = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let length = num(8);
    if length > MAX_KARGS {
        bail!("{name}: byte {LEGACY_KARG_HEADER}: the coreKarg header gives karg areas of {length} bytes, more than {MAX_KARGS}");
    }
    let mut out = Kargs {
        areas: Vec::new(),
        args: String::new(),
    };
    for i in 0..6 {
        let at = num(24 + 8 * i);
        if at == 0 {
            break;
        }
        out.add(src, at, length, '#', '\n')?;
    }
    if out.areas.is_empty() {
        bail!("{name}: byte {LEGACY_KARG_HEADER}: a coreKarg header naming no karg area: a corrupt medium");
    }
    Ok(Some(out))
}

/// The archives an area holds (`None` for a pristine area, all zeros).
pub fn decode(bytes: &[u8], shown: &str) -> Result<Option<Vec<Archive>>> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    let archives = cpio::read_archives(
        bytes,
        &|_| true,
        Limits {
            total: MAX_AREA_DECODED,
            kept: MAX_AREA_DECODED,
        },
        shown,
    )?;
    Ok(Some(archives))
}

/// An area's new contents: `data` followed by zeros to its length; an error saying by how many
/// bytes it does not fit.
pub fn fill(area: &Area, data: Vec<u8>, shown: &str) -> Result<Vec<u8>> {
    if data.len() as u64 > area.length {
        bail!(
            "{shown}: the new Ignition archive is {} bytes, {} more than the {}-byte area ({}) holds; nothing was changed",
            data.len(),
            data.len() as u64 - area.length,
            area.length,
            area.found
        );
    }
    let mut out = data;
    out.resize(area.length as usize, 0);
    Ok(out)
}
