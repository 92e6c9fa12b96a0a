//! PXE media: a PXE Ignition image (`coreos-installer pxe ignition wrap`: an xz newc cpio holding
//! `config.ign`) or an initramfs with such an archive appended. Judged like a live ISO's config;
//! patched by replacing the archive that holds the config (or appending one), re-encoded as
//! coreos-installer writes it; every byte before that archive is kept.

use std::io::BufReader;

use anyhow::{bail, Result};

use crate::formats::json::MAX_CONFIG_BYTES;
use crate::layer::Layer;
use crate::media::cpio::{self, Archive, Compression, Limits};
use crate::media::Source;
use crate::origin::Origin;
use crate::report::View;
use crate::targets::iso::{
    config_of, config_views, patch_config, reencode, unchanged_to, write_patched, Patched,
    CONFIG_MEMBER,
};
use crate::targets::{Applied, ApplyOpts, Dest, Kind, Target, VerifyOpts};

/// Decompressed bytes a PXE image may hold (an initramfs is a few hundred MB).
const MAX_DECODED: u64 = 8 << 30;

/// A PXE Ignition image or an initramfs with a config appended.
pub struct PxeTarget {
    given: String,
}

impl PxeTarget {
    /// The target as given.
    pub fn new(target: &str) -> PxeTarget {
        PxeTarget {
            given: target.to_string(),
        }
    }

    fn read(&self) -> Result<(Source, Vec<Archive>)> {
        let src = Source::open(&self.given)?;
        if let Some(archives) = self.read_tail(&src)? {
            return Ok((src, archives));
        }
        let archives = cpio::read_archives(
            BufReader::with_capacity(256 << 10, crate::fsutil::Counted(src.file())),
            &|n| n == CONFIG_MEMBER,
            Limits {
                total: MAX_DECODED,
                kept: MAX_CONFIG_BYTES,
            },
            &self.given,
        )?;
        Ok((src, archives))
    }

    /// The archives from the last one onwards, when the last archive of the image holds the
    /// config (`pxe ignition wrap` output concatenated to an initramfs, as the docs do it): then
    /// it decides what the node reads (the kernel unpacks archives in order, a later file
    /// replacing an earlier one), and the hundreds of megabytes before it are not decompressed.
    /// It is found from the end: the last xz or gzip magic at a 4-byte boundary within
    /// [`TAIL_WINDOW`] from which the rest reads as archives to the end. `None`: read everything.
    fn read_tail(&self, src: &Source) -> Result<Option<Vec<Archive>>> {
        let from = src.len.saturating_sub(TAIL_WINDOW);
        if from == 0 {
            return Ok(None);
        }
        let tail = src.read_at(from, src.len - from, "the end of the image")?;
        let magics: [&[u8]; 2] = [&[0xfd, b'7', b'z', b'X', b'Z', 0], &[0x1f, 0x8b, 0x08]];
        let mut starts: Vec<usize> = magics
            .iter()
            .flat_map(|m| memchr::memmem::find_iter(&tail, m))
            .filter(|p| (from + *p as u64) % 4 == 0)
            .collect();
        starts.sort_unstable();
        for &p in starts.iter().rev().take(TAIL_TRIES) {
            let read = cpio::read_archives(
                &tail[p..],
                &|n| n == CONFIG_MEMBER,
                Limits {
                    total: MAX_DECODED,
                    kept: MAX_CONFIG_BYTES,
                },
                &self.given,
            );
            let Ok(mut archives) = read else { continue };
            let last_holds = archives
                .last()
                .is_some_and(|a| a.members.iter().any(|m| m.name == CONFIG_MEMBER));
            if !last_holds {
                return Ok(None);
            }
            let at = from + p as u64;
            for a in &mut archives {
                a.start += at;
                a.end += at;
            }
            return Ok(Some(archives));
        }
        Ok(None)
    }
}

/// How far from the end of a PXE image the archive holding the config is looked for.
const TAIL_WINDOW: u64 = 16 << 20;
/// How many archive starts (from the last back) are tried before the whole image is read.
const TAIL_TRIES: usize = 8;

impl Target for PxeTarget {
    fn kind(&self) -> Kind {
        Kind::Pxe
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        let given = &self.given;
        let out = match &opts.dest {
            Dest::File(o) => o.clone(),
            Dest::InPlace => given.into(),
            Dest::Stdout if !opts.dry_run => bail!(
                "{given}: a PXE image is written with -o OUT or --in-place, not to standard output"
            ),
            _ => given.into(),
        };
        let (src, archives) = self.read()?;
        let root = Origin::file(given.as_str());
        let config = config_of(&archives);
        let Patched {
            config: new,
            changes,
            warnings,
        } = patch_config(&root, config.map(|c| c.0), layer, opts)?;
        let mut applied = Applied {
            changes,
            warnings,
            ..Applied::default()
        };
        let Some(new) = new else {
            applied
                .notes
                .push(format!("{given}: the config is up to date"));
            unchanged_to(&src, opts, &mut applied)?;
            return Ok(applied);
        };
        // The archive holding the config is replaced (its other members kept); with none, a new
        // one is appended at a 4-byte boundary.
        let holder = archives
            .iter()
            .rposition(|a| a.members.iter().any(|m| m.name == CONFIG_MEMBER));
        let (cut, keep_after, compression) = match holder {
            Some(i) => (
                archives[i].start,
                archives[i].end,
                match archives[i].compression {
                    Compression::Gzip => Compression::Gzip,
                    _ => Compression::Xz,
                },
            ),
            None => (src.len.div_ceil(4) * 4, src.len, Compression::Xz),
        };
        let stream = reencode(
            holder.map(|i| std::slice::from_ref(&archives[i])),
            new,
            compression,
        )?;
        applied.notes.push(format!(
            "{given}: the archive at byte {cut} re-encoded as {compression} cpio"
        ));
        if opts.dry_run {
            return Ok(applied);
        }
        // The bytes after the replaced archive, if any, follow the new one.
        let tail = if keep_after < src.len {
            src.read_at(keep_after, src.len - keep_after, "the rest of the image")?
        } else {
            Vec::new()
        };
        let mut patch = stream;
        if cut > src.len {
            let mut padded = vec![0u8; (cut - src.len) as usize];
            padded.extend(patch);
            patch = padded;
        }
        patch.extend(tail);
        let at = cut.min(src.len);
        let new_len = at + patch.len() as u64;
        write_patched(&src, &out, &[(at, &patch)], Some(new_len))?;
        applied.written.push(out);
        Ok(applied)
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let (_, archives) = self.read()?;
        let root = Origin::file(self.given.as_str());
        config_views(&root, config_of(&archives).map(|c| c.0), None, layer, opts)
    }
}
