//! newc cpio archives as initramfs images hold them: several archives one after the other, each
//! plain or compressed (gzip, xz, zstd), with zero padding between them (the kernel's and
//! coreos-installer's reading). Read from a stream, keeping only the members asked for; written
//! as coreos-installer writes them (parent directories first, xz with a CRC32 check, which the
//! kernel requires) or as the assisted image editor does (gzip).

use std::io::{BufRead, Read, Write};

use anyhow::{bail, Context, Result};

/// The newc magic (`070702` is the same with checksums).
const MAGIC: &[u8] = b"070701";
const MAGIC_CRC: &[u8] = b"070702";
const TRAILER: &str = "TRAILER!!!";
/// Longest member name read.
const MAX_NAME: u64 = 4096;

/// How an archive of the stream is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// A plain cpio archive.
    None,
    /// gzip.
    Gzip,
    /// xz.
    Xz,
    /// Zstandard.
    Zstd,
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        })
    }
}

/// The compression the first bytes show; `None` when they are no known magic.
pub fn compression_of(head: &[u8]) -> Option<Compression> {
    if head.starts_with(MAGIC) || head.starts_with(MAGIC_CRC) {
        Some(Compression::None)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Compression::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else {
        None
    }
}

/// Whether the first bytes of a file are a cpio archive, plain or compressed (the compressed
/// ones are decompressed far enough to see the cpio magic: a gzip tar is not one).
pub fn looks_like_cpio(head: &[u8]) -> bool {
    let Some(c) = compression_of(head) else {
        return false;
    };
    if c == Compression::None {
        return true;
    }
    let mut src = head;
    let Ok(mut r) = decoder(&mut src, c) else {
        return false;
    };
    let mut magic = [0u8; 6];
    let mut got = 0;
    while got < magic.len() {
        match r.read(&mut magic[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got == 6 && (&magic[..] == MAGIC || &magic[..] == MAGIC_CRC)
}

/// A decompressing reader for one compressed stream, consuming exactly that stream's bytes of
/// `src` (so the next archive starts where it ends).
fn decoder<'a, R: BufRead + 'a>(src: R, c: Compression) -> Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(src),
        Compression::Gzip => Box::new(flate2::bufread::GzDecoder::new(src)),
        Compression::Xz => Box::new(XzOne::new(src)?),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(src)
                .map_err(|e| anyhow::anyhow!("zstd: {e}"))?,
        ),
    })
}

/// One xz stream from a [`BufRead`], consuming exactly its bytes and reading as ended once the
/// stream ends (xz2's own reader fails when asked again after the end with more input there).
struct XzOne<R> {
    src: R,
    stream: xz2::stream::Stream,
    done: bool,
}

impl<R: BufRead> XzOne<R> {
    fn new(src: R) -> Result<XzOne<R>> {
        Ok(XzOne {
            src,
            stream: xz2::stream::Stream::new_stream_decoder(MAX_XZ_MEMORY, 0)
                .context("xz decoder")?,
            done: false,
        })
    }
}

/// Memory the xz decoder may use (a dictionary of 64 MiB, the most preset 9 sets).
const MAX_XZ_MEMORY: u64 = 128 << 20;

impl<R: BufRead> Read for XzOne<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while !self.done && !buf.is_empty() {
            let input = self.src.fill_buf()?;
            let eof = input.is_empty();
            let (in0, out0) = (self.stream.total_in(), self.stream.total_out());
            let action = if eof {
                xz2::stream::Action::Finish
            } else {
                xz2::stream::Action::Run
            };
            let status = self
                .stream
                .process(input, buf, action)
                .map_err(|e| std::io::Error::other(format!("xz: {e}")))?;
            let consumed = (self.stream.total_in() - in0) as usize;
            let read = (self.stream.total_out() - out0) as usize;
            self.src.consume(consumed);
            if status == xz2::stream::Status::StreamEnd {
                self.done = true;
            }
            if read > 0 {
                return Ok(read);
            }
            if eof && !self.done {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "xz: the stream ends early",
                ));
            }
        }
        Ok(0)
    }
}

/// One member kept from an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its name as the archive gives it (`config.ign`, `etc/x`), without a leading `./` or `/`.
    pub name: String,
    /// Its mode (type and permission bits).
    pub mode: u32,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// One archive of a stream.
#[derive(Clone, Debug)]
pub struct Archive {
    /// Byte offset of its first byte in the stream.
    pub start: u64,
    /// Byte offset just past it (before any zero padding).
    pub end: u64,
    /// How it is compressed.
    pub compression: Compression,
    /// The regular files kept (the ones asked for), last copy of a name winning.
    pub members: Vec<Member>,
    /// Every member name, in order.
    pub names: Vec<String>,
}

/// Limits on what reading a stream may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Decompressed bytes over every archive (a decompression bomb stops here).
    pub total: u64,
    /// Bytes kept over every kept member.
    pub kept: u64,
}

/// A [`BufRead`] that counts the bytes consumed (the position in the stream).
struct Counted<R> {
    inner: R,
    pos: u64,
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.pos += n as u64;
        self.inner.consume(n)
    }
}

/// A reader that fails past a limit of bytes (shared over archives).
struct Capped<'a, R> {
    inner: R,
    left: &'a mut u64,
    limit: u64,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > *self.left {
            return Err(std::io::Error::other(format!(
                "decompresses to more than {} bytes: refused (a decompression bomb?)",
                self.limit
            )));
        }
        *self.left -= n as u64;
        Ok(n)
    }
}

/// Read every archive of a stream. `keep` says which regular files to hold (by name); a name that
/// is absolute after `/` is stripped, or has a `..` component, is refused. `shown` names the
/// stream in errors, which give the byte offset of the archive at fault.
pub fn read_archives<R: BufRead>(
    src: R,
    keep: &dyn Fn(&str) -> bool,
    limits: Limits,
    shown: &str,
) -> Result<Vec<Archive>> {
    let mut src = Counted { inner: src, pos: 0 };
    let mut out = Vec::new();
    let mut left = limits.total;
    let mut kept_left = limits.kept;
    loop {
        // Zero padding between archives.
        loop {
            let pos = src.pos;
            let buf = src
                .fill_buf()
                .with_context(|| format!("{shown}: byte {pos}: cannot read"))?;
            if buf.is_empty() {
                return Ok(out);
            }
            match buf.iter().position(|b| *b != 0) {
                Some(p) => {
                    src.consume(p);
                    break;
                }
                None => {
                    let n = buf.len();
                    src.consume(n);
                }
            }
        }
        let start = src.pos;
        let head = src
            .fill_buf()
            .with_context(|| format!("{shown}: byte {start}: cannot read"))?;
        let Some(compression) = compression_of(head) else {
            bail!("{shown}: byte {start}: not a cpio archive (no newc, gzip, xz or zstd magic)");
        };
        let mut archive = Archive {
            start,
            end: start,
            compression,
            members: Vec::new(),
            names: Vec::new(),
        };
        {
            let dec = decoder(&mut src, compression)
                .with_context(|| format!("{shown}: byte {start}: {compression} archive"))?;
            let mut r = Capped {
                inner: dec,
                left: &mut left,
                limit: limits.total,
            };
            read_one(&mut r, keep, &mut kept_left, limits.kept, &mut archive)
                .with_context(|| format!("{shown}: byte {start}: {compression} cpio archive"))?;
            if compression != Compression::None {
                // The rest of a compressed stream may be zero padding, nothing else.
                let mut buf = [0u8; 8192];
                loop {
                    let n = r
                        .read(&mut buf)
                        .with_context(|| format!("{shown}: byte {start}: {compression} archive"))?;
                    if n == 0 {
                        break;
                    }
                    if buf[..n].iter().any(|b| *b != 0) {
                        bail!("{shown}: byte {start}: data after the cpio trailer inside the {compression} archive");
                    }
                }
            }
        }
        archive.end = src.pos;
        out.push(archive);
    }
}

/// Read one newc archive (up to its trailer) from a decompressed stream.
fn read_one(
    r: &mut dyn Read,
    keep: &dyn Fn(&str) -> bool,
    kept_left: &mut u64,
    kept_limit: u64,
    archive: &mut Archive,
) -> Result<()> {
    let mut pos: u64 = 0;
    for index in 0.. {
        let mut h = [0u8; 110];
        r.read_exact(&mut h)
            .with_context(|| format!("entry {index} (byte {pos}): truncated header"))?;
        if &h[..6] != MAGIC && &h[..6] != MAGIC_CRC {
            bail!("entry {index} (byte {pos}): not a newc header");
        }
        let field = |i: usize| -> Result<u64> {
            let s = std::str::from_utf8(&h[6 + i * 8..14 + i * 8]).unwrap_or("");
            u64::from_str_radix(s, 16)
                .map_err(|_| anyhow::anyhow!("entry {index} (byte {pos}): bad header field {s:?}"))
        };
        let mode = field(1)? as u32;
        let size = field(6)?;
        let namesize = field(11)?;
        if namesize == 0 || namesize > MAX_NAME {
            bail!("entry {index} (byte {pos}): name size {namesize}");
        }
        let mut name = vec![0u8; namesize as usize];
        r.read_exact(&mut name)
            .with_context(|| format!("entry {index} (byte {pos}): truncated name"))?;
        pos += 110 + namesize;
        skip(r, pad4(pos))?;
        pos += pad4(pos);
        let name = String::from_utf8_lossy(&name[..name.len() - 1]).into_owned();
        if name == TRAILER {
            return Ok(());
        }
        let clean =
            clean_name(&name).with_context(|| format!("entry {index} (byte {pos}) {name:?}"))?;
        let regular = mode & 0o170_000 == 0o100_000;
        if regular && keep(&clean) {
            if size > *kept_left {
                bail!("entry {index} (byte {pos}) {name:?}: more than the {kept_limit} bytes kept from a medium");
            }
            *kept_left -= size;
            let mut data = vec![0u8; size as usize];
            r.read_exact(&mut data)
                .with_context(|| format!("entry {index} (byte {pos}) {name:?}: truncated"))?;
            archive.members.retain(|m| m.name != clean);
            archive.members.push(Member {
                name: clean.clone(),
                mode,
                data,
            });
        } else {
            skip(r, size)
                .with_context(|| format!("entry {index} (byte {pos}) {name:?}: truncated"))?;
        }
        pos += size;
        skip(r, pad4(pos))?;
        pos += pad4(pos);
        archive.names.push(clean);
    }
    Ok(())
}

/// A member name without a leading `./` or `/`; `..` components are refused.
fn clean_name(name: &str) -> Result<String> {
    let n = name.trim_start_matches("./").trim_start_matches('/');
    if n.split('/').any(|c| c == "..") {
        bail!("a name with a `..` component: refused");
    }
    Ok(n.to_string())
}

fn pad4(pos: u64) -> u64 {
    (4 - pos % 4) % 4
}

fn skip(r: &mut dyn Read, n: u64) -> Result<()> {
    let got = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    if got != n {
        bail!("truncated: {got} of {n} bytes");
    }
    Ok(())
}

/// The members of a stream's archives, later archives (and later copies) winning.
pub fn merged(archives: &[Archive]) -> Vec<&Member> {
    let mut out: Vec<&Member> = Vec::new();
    for a in archives {
        for m in &a.members {
            out.retain(|o| o.name != m.name);
            out.push(m);
        }
    }
    out
}

/// A newc archive of these files (name, mode bits, bytes), each preceded by the directories
/// above it (mode 0755) as coreos-installer writes them, names sorted.
pub fn write_newc(files: &[(String, u32, Vec<u8>)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, u32, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    let mut ino = 1u32;
    let mut made: Vec<String> = Vec::new();
    for (name, mode, data) in sorted {
        let parts: Vec<&str> = name.split('/').collect();
        for i in 1..parts.len() {
            let dir = parts[..i].join("/");
            if !made.contains(&dir) {
                entry(&mut out, &dir, 0o040_755, 2, ino, &[]);
                ino += 1;
                made.push(dir);
            }
        }
        entry(&mut out, name, 0o100_000 | (mode & 0o7777), 1, ino, data);
        ino += 1;
    }
    entry(&mut out, TRAILER, 0, 1, 0, &[]);
    out
}

/// A newc archive as the assisted image editor writes one (openshift/assisted-image-service
/// `pkg/isoeditor`: `IgnitionContent.Archive`, `generateCompressedCPIO`): the files in the order
/// given (`config.ign` first, then `usr/lib/ignition/base.d/*`), regular files only, no
/// directory entries.
pub fn write_newc_flat(files: &[(String, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, mode, data)) in files.iter().enumerate() {
        entry(
            &mut out,
            name,
            0o100_000 | (mode & 0o7777),
            1,
            i as u32 + 1,
            data,
        );
    }
    entry(&mut out, TRAILER, 0, 1, 0, &[]);
    out
}

fn entry(out: &mut Vec<u8>, name: &str, mode: u32, nlink: u32, ino: u32, data: &[u8]) {
    let fields = [
        ino,
        mode,
        0,
        0,
        nlink,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(MAGIC);
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len() + pad4(out.len() as u64) as usize, 0);
    out.extend_from_slice(data);
    out.resize(out.len() + pad4(out.len() as u64) as usize, 0);
}

/// Compress as coreos-installer does: xz, LZMA2 preset 9 (its dictionary no larger than the input
/// needs, so memory stays small), CRC32 check (the kernel's xz decoder requires it).
pub fn xz_crc32(data: &[u8]) -> Result<Vec<u8>> {
    let mut opts = xz2::stream::LzmaOptions::new_preset(9).context("xz preset 9")?;
    let dict = (data.len() as u32)
        .next_power_of_two()
        .clamp(4096, 64 << 20);
    opts.dict_size(dict);
    let mut filters = xz2::stream::Filters::new();
    filters.lzma2(&opts);
    let stream = xz2::stream::Stream::new_stream_encoder(&filters, xz2::stream::Check::Crc32)
        .context("xz encoder")?;
    let mut enc = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
    enc.write_all(data).context("xz")?;
    enc.finish().context("xz")
}

/// Compress with gzip (the assisted image editor's archives).
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).context("gzip")?;
    enc.finish().context("gzip")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Limits = Limits {
        total: 1 << 30,
        kept: 1 << 30,
    };

    fn files() -> Vec<(String, u32, Vec<u8>)> {
        vec![
            ("config.ign".into(), 0o600, b"{}".to_vec()),
            ("etc/a/b".into(), 0o644, b"hello".to_vec()),
        ]
    }

    #[test]
    fn round_trip_every_compression_with_padding() {
        let plain = write_newc(&files());
        let mut stream = plain.clone();
        stream.extend_from_slice(&[0; 512]);
        stream.extend(xz_crc32(&plain).unwrap());
        stream.extend_from_slice(&[0; 3]);
        stream.extend(gzip(&plain).unwrap());
        let archives = read_archives(&stream[..], &|_| true, ALL, "s").unwrap();
        assert_eq!(archives.len(), 3);
        assert_eq!(archives[1].compression, Compression::Xz);
        assert_eq!(archives[0].end, plain.len() as u64);
        assert_eq!(archives[1].start, plain.len() as u64 + 512);
        for a in &archives {
            assert_eq!(a.names, ["config.ign", "etc", "etc/a", "etc/a/b"]);
            assert_eq!(a.members[1].data, b"hello");
        }
        assert!(looks_like_cpio(&stream[archives[1].start as usize..]));
    }

    #[test]
    fn xz_has_crc32_check() {
        let x = xz_crc32(b"abc").unwrap();
        // Stream flags: check type 1 (CRC32).
        assert_eq!(&x[6..8], &[0, 1]);
    }

    #[test]
    fn dotdot_bomb_and_garbage_refused() {
        let bad = write_newc(&[("a/../../x".into(), 0o644, vec![])]);
        let e = read_archives(&bad[..], &|_| true, ALL, "s").unwrap_err();
        assert!(format!("{e:#}").contains(".."), "{e:#}");
        let big = xz_crc32(&write_newc(&[("big".into(), 0o644, vec![0; 1 << 20])])).unwrap();
        let lim = Limits {
            total: 100_000,
            kept: 1 << 30,
        };
        let e = read_archives(&big[..], &|_| false, lim, "s").unwrap_err();
        assert!(format!("{e:#}").contains("bomb"), "{e:#}");
        let e = read_archives(&b"garbage"[..], &|_| true, ALL, "s").unwrap_err();
        assert!(format!("{e:#}").contains("byte 0: not a cpio"), "{e:#}");
        let mut trunc = write_newc(&files());
        trunc.truncate(150);
        assert!(read_archives(&trunc[..], &|_| true, ALL, "s").is_err());
        assert!(!looks_like_cpio(&gzip(b"ustar tar").unwrap()));
    }
}
