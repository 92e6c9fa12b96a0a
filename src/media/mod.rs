//! Boot media: CoreOS live ISOs (and the agent ISOs made from them) and PXE initramfs images.
//!
//! A medium is read by position, never whole: [`Source`] reads byte ranges of a file and counts
//! them, [`iso9660`] finds the few files a live ISO describes its embed areas with, [`area`]
//! locates the Ignition embed area and the kernel-argument areas, and [`cpio`] reads and writes
//! the newc archives (plain, gzip, xz or zstd) those areas and initramfs images hold.

pub mod area;
pub mod cpio;
pub mod iso9660;

use std::cell::Cell;
use std::fs::File;
use std::os::unix::fs::FileExt;

use anyhow::{bail, Context, Result};

/// Largest directory extent or small descriptor file read from an ISO (a live ISO's are a few
/// sectors).
pub const MAX_SMALL_READ: u64 = 1 << 20;

/// A file read by position: every byte range read is counted ([`Source::bytes_read`]), so a
/// test can prove verify's cost does not grow with the medium.
#[derive(Debug)]
pub struct Source {
    file: File,
    /// The file's name for messages.
    pub name: String,
    /// Its size in bytes.
    pub len: u64,
    read: Cell<u64>,
}

impl Source {
    /// Open a medium: a regular file (standard input and devices are refused: a medium is patched
    /// by position and replaced by rename).
    pub fn open(path: &str) -> Result<Source> {
        if path == "-" {
            bail!("-: a boot medium cannot be read from standard input: name the file");
        }
        let meta = std::fs::metadata(path).with_context(|| format!("{path}: cannot open"))?;
        if !meta.is_file() {
            bail!(
                "{path}: not a regular file (a device or a pipe): copy the medium to a file first"
            );
        }
        let file = File::open(path).with_context(|| format!("{path}: cannot open"))?;
        Ok(Source {
            file,
            name: path.to_string(),
            len: meta.len(),
            read: Cell::new(0),
        })
    }

    /// Read `len` bytes at `offset`; an error naming the place when the range passes the end.
    pub fn read_at(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        let end = offset.checked_add(len);
        match end {
            Some(e) if e <= self.len => {}
            _ => bail!(
                "{}: byte {offset}: {what} ({len} bytes) passes the end of the file ({} bytes): truncated or not a CoreOS medium",
                self.name,
                self.len
            ),
        }
        let mut buf = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut buf, offset)
            .with_context(|| format!("{}: byte {offset}: cannot read {what}", self.name))?;
        self.read.set(self.read.get() + len);
        crate::fsutil::count_image_bytes(len);
        Ok(buf)
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.get()
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Whether a file's content shows a boot medium: `Some(true)` an ISO9660 image (`CD001` at byte
/// 0x8001), `Some(false)` a cpio archive (newc, plain or gzip, xz or zstd compressed: a PXE
/// Ignition image or an initramfs), `None` neither. Reads at most a few KiB.
pub fn sniff_file(path: &std::path::Path) -> Option<bool> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let file = File::open(path).ok()?;
    let mut magic = [0u8; 5];
    if meta.len() >= 0x8006 && file.read_exact_at(&mut magic, 0x8001).is_ok() && &magic == b"CD001"
    {
        return Some(true);
    }
    let mut head = vec![0u8; meta.len().min(4096) as usize];
    file.read_exact_at(&mut head, 0).ok()?;
    cpio::looks_like_cpio(&head).then_some(false)
}
