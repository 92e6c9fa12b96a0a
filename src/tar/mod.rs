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
// Writing entries
// ---------------------------------------------------------------------------------------------

/// Ownership and times written into a new header.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    uname: Vec<u8>,
    gname: Vec<u8>,
}

impl Meta {
    /// root:root, mtime 0, this mode: what modlayer writes for a new file.
    fn root(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            uname: b"root".to_vec(),
            gname: b"root".to_vec(),
        }
    }
}

/// Put bytes into a header field (truncated to the field, NUL-padded).
fn put_bytes(field: &mut [u8], bytes: &[u8]) {
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
    field[n..].fill(0);
}

/// Put a number into a header field: octal with a NUL terminator when it fits, else GNU base-256.
fn put_num(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() <= digits {
        field[..digits].copy_from_slice(text.as_bytes());
        field[digits] = 0;
    } else {
        field.fill(0);
        let be = value.to_be_bytes();
        let n = be.len().min(field.len());
        let start = field.len() - n;
        field[start..].copy_from_slice(&be[be.len() - n..]);
        field[0] |= 0x80;
    }
}

/// Fill in a header's checksum field (`%06o\0 `, as GNU tar writes it).
fn set_checksum(block: &mut [u8; BLOCK]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
    block[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    block[154] = 0;
    block[155] = b' ';
}

/// Split a name into ustar prefix and name fields, if it fits.
fn split_ustar_name(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= 100 {
        return Some((&[], name));
    }
    (0..name.len())
        .rev()
        .filter(|&i| name[i] == b'/')
        .map(|i| (&name[..i], &name[i + 1..]))
        .find(|(p, n)| p.len() <= 155 && !n.is_empty() && n.len() <= 100)
}

/// One ustar header block.
fn ustar_block(prefix: &[u8], name: &[u8], m: &Meta, size: u64, typeflag: u8) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    put_bytes(&mut b[0..100], name);
    put_num(&mut b[100..108], u64::from(m.mode));
    put_num(&mut b[108..116], m.uid);
    put_num(&mut b[116..124], m.gid);
    put_num(&mut b[124..136], size);
    put_num(&mut b[136..148], m.mtime);
    b[156] = typeflag;
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    put_bytes(&mut b[265..296], &m.uname);
    put_bytes(&mut b[297..328], &m.gname);
    put_num(&mut b[329..337], 0);
    put_num(&mut b[337..345], 0);
    put_bytes(&mut b[345..500], prefix);
    set_checksum(&mut b);
    b
}

/// A PAX record `"<len> key=value\n"` (the length counts itself).
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// Zero bytes that pad `len` up to a whole block.
fn padding(len: u64) -> usize {
    ((BLOCK as u64 - len % BLOCK as u64) % BLOCK as u64) as usize
}

/// The blocks of one entry in ustar format (preceded by a PAX `path` record when the name does not
/// fit the ustar fields), data and padding included.
fn entry_bytes(name: &[u8], m: &Meta, typeflag: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * BLOCK + data.len());
    let size = data.len() as u64;
    match split_ustar_name(name) {
        Some((prefix, short)) => {
            out.extend_from_slice(&ustar_block(prefix, short, m, size, typeflag))
        }
        None => {
            let record = pax_record("path", name);
            let base = name.rsplit(|b| *b == b'/').next().unwrap_or(b"");
            let mut pax_name = b"PaxHeaders/".to_vec();
            pax_name.extend_from_slice(&base[..base.len().min(80)]);
            out.extend_from_slice(&ustar_block(&[], &pax_name, m, record.len() as u64, b'x'));
            out.extend_from_slice(&record);
            out.resize(out.len() + padding(record.len() as u64), 0);
            out.extend_from_slice(&ustar_block(&[], &name[..100], m, size, typeflag));
        }
    }
    out.extend_from_slice(data);
    out.resize(out.len() + padding(size), 0);
    out
}

/// A layer path as an archive name: relative, no leading `/`.
fn relative(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// The layer as an uncompressed tar, reproducible: one entry per layer file (NO directory entries:
/// a directory entry in an image layer would replace the base's directory attributes), entries
/// sorted by path, names relative without leading "/" (e.g. `etc/modprobe.d/sctp-blacklist.conf`),
/// ustar format, mtime 0, uid/gid 0, uname/gname "root", mode = the layer file's mode, regular
/// files; ended by two zero blocks.
pub fn layer_tar(layer: &Layer) -> Vec<u8> {
    let mut files: Vec<&LayerFile> = layer.files.iter().collect();
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut out = Vec::new();
    for f in files {
        out.extend(entry_bytes(
            relative(&f.path).as_bytes(),
            &Meta::root(f.mode),
            b'0',
            &f.bytes,
        ));
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    out
}

/// One gzip member of `bytes`: header mtime 0, no file name, OS byte 255, the given level.
fn gzip_member(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS)
        .write(
            Vec::with_capacity(bytes.len() / 2 + 64),
            flate2::Compression::new(level),
        );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// gzip bytes reproducibly: header mtime 0, no file name, OS byte fixed (255, "unknown"), default
/// compression level 6; one member.
pub fn gzip_reproducible(bytes: &[u8]) -> Vec<u8> {
    gzip_member(bytes, GZIP_LEVEL)
}

/// `modlayer render tar`: [`layer_tar`] + [`gzip_reproducible`] (byte-identical on every run and
/// machine).
pub fn render_tar(layer: &Layer) -> Vec<u8> {
    gzip_reproducible(&layer_tar(layer))
}

// ---------------------------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------------------------

/// Compression of an archive stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard (one or more frames); read only.
    Zstd,
}

/// Detect compression from the first bytes (gzip `1f 8b`, zstd `28 b5 2f fd`, else none).
pub fn detect_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// A decompressing reader over any reader (gzip: flate2 `MultiGzDecoder`, every member; zstd:
/// ruzstd `StreamingDecoder`, every frame, skippable frames skipped). Fails when a zstd stream
/// does not start with a valid frame header.
pub fn decompress<'a>(r: impl Read + 'a, c: Compression) -> Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(256 << 10, r),
        )),
        Compression::Zstd => Box::new(ZstdFrames::new(BufReader::with_capacity(256 << 10, r))?),
    })
}

/// Reads every frame of a zstd stream in turn (ruzstd's `StreamingDecoder` reads one frame; this
/// drives its `FrameDecoder` the same way, frame after frame), skipping skippable frames.
struct ZstdFrames<R: BufRead> {
    source: R,
    decoder: ruzstd::decoding::FrameDecoder,
    /// Whether a frame is being decoded.
    active: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(source: R) -> Result<ZstdFrames<R>> {
        let mut z = ZstdFrames {
            source,
            decoder: ruzstd::decoding::FrameDecoder::new(),
            active: false,
        };
        if !z.start_frame().map_err(|e| anyhow!("{e}"))? {
            bail!("zstd: no frame in the stream");
        }
        Ok(z)
    }

    /// Start the next data frame, skipping skippable ones; false at the end of input.
    fn start_frame(&mut self) -> std::io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.reset(&mut self.source) {
                Ok(()) => {
                    self.active = true;
                    return Ok(true);
                }
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let want = u64::from(length);
                    let skipped =
                        std::io::copy(&mut (&mut self.source).take(want), &mut std::io::sink())?;
                    if skipped < want {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "zstd: truncated skippable frame",
                        ));
                    }
                }
                Err(e) => return Err(std::io::Error::other(format!("zstd: {e}"))),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.active {
                if !self.start_frame()? {
                    return Ok(0);
                }
                continue;
            }
            let d = &mut self.decoder;
            while d.can_collect() < buf.len() && !d.is_finished() {
                let more = buf.len() - d.can_collect();
                d.decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(more))
                    .map_err(|e| std::io::Error::other(format!("zstd: {e}")))?;
            }
            let n = d.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if d.is_finished() && d.can_collect() == 0 {
                self.active = false;
            }
        }
    }
}

/// gzip output written as independent members of [`GZIP_MEMBER`] uncompressed bytes each,
/// compressed on worker threads and written in order. Member boundaries depend only on the byte
/// count, so the output is the same whatever the number of cores; concatenated members are one
/// valid gzip stream (`gzip -d`, `MultiGzDecoder`).
struct ParallelGzip<W: Write> {
    out: W,
    buf: Vec<u8>,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    done: Receiver<(u64, Vec<u8>)>,
    workers: Vec<JoinHandle<()>>,
    ready: BTreeMap<u64, Vec<u8>>,
    sent: u64,
    written: u64,
    max_in_flight: u64,
}

impl<W: Write> ParallelGzip<W> {
    fn new(out: W, level: u32) -> ParallelGzip<W> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 16);
        let (jobs, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
        let (done_tx, done) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx: Sender<(u64, Vec<u8>)> = done_tx.clone();
                std::thread::spawn(move || Self::work(&rx, &tx, level))
            })
            .collect();
        ParallelGzip {
            out,
            buf: Vec::with_capacity(GZIP_MEMBER),
            jobs: Some(jobs),
            done,
            workers,
            ready: BTreeMap::new(),
            sent: 0,
            written: 0,
            max_in_flight: 2 * threads as u64,
        }
    }

    fn work(rx: &Mutex<Receiver<(u64, Vec<u8>)>>, tx: &Sender<(u64, Vec<u8>)>, level: u32) {
        loop {
            let job = match rx.lock() {
                Ok(guard) => guard.recv(),
                Err(_) => return,
            };
            let Ok((seq, data)) = job else { return };
            if tx.send((seq, gzip_member(&data, level))).is_err() {
                return;
            }
        }
    }

    /// Hand the current buffer to a worker, and write what is done.
    fn dispatch(&mut self) -> std::io::Result<()> {
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(GZIP_MEMBER));
        let jobs = self.jobs.as_ref().ok_or_else(Self::gone)?;
        jobs.send((self.sent, data)).map_err(|_| Self::gone())?;
        self.sent += 1;
        while let Ok((seq, member)) = self.done.try_recv() {
            self.ready.insert(seq, member);
        }
        self.write_ready()?;
        while self.sent - self.written > self.max_in_flight {
            self.wait_one()?;
        }
        Ok(())
    }

    fn gone() -> std::io::Error {
        std::io::Error::other("gzip compression thread stopped")
    }

    fn wait_one(&mut self) -> std::io::Result<()> {
        let (seq, member) = self.done.recv().map_err(|_| Self::gone())?;
        self.ready.insert(seq, member);
        self.write_ready()
    }

    fn write_ready(&mut self) -> std::io::Result<()> {
        while let Some(member) = self.ready.remove(&self.written) {
            self.out.write_all(&member)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Compress what is left, write every member in order and flush.
    fn finish(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() || self.sent == 0 {
            self.dispatch()?;
        }
        self.jobs = None;
        while self.written < self.sent {
            self.wait_one()?;
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.out.flush()
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            let room = GZIP_MEMBER - self.buf.len();
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == GZIP_MEMBER {
                self.dispatch()?;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Members are cut at fixed sizes; flushing early would change the output.
        Ok(())
    }
}

impl<W: Write> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading entries
// ---------------------------------------------------------------------------------------------

/// PAX records that matter here (local ones override global ones).
#[derive(Clone, Debug, Default)]
struct Pax {
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
    mtime: Option<u64>,
    uname: Option<Vec<u8>>,
    gname: Option<Vec<u8>>,
}

impl Pax {
    /// Parse a PAX record set; `Err` says what is malformed.
    fn parse(&mut self, mut data: &[u8]) -> std::result::Result<(), String> {
        while !data.is_empty() {
            if data.iter().all(|b| *b == 0) {
                break;
            }
            let space = data
                .iter()
                .position(|b| *b == b' ')
                .ok_or("a PAX record has no length")?;
            let len: usize = std::str::from_utf8(&data[..space])
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or("a PAX record length is not a number")?;
            if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
                return Err("a PAX record length is wrong".into());
            }
            let record = &data[space + 1..len - 1];
            let eq = record
                .iter()
                .position(|b| *b == b'=')
                .ok_or("a PAX record has no '='")?;
            self.set(&record[..eq], &record[eq + 1..])?;
            data = &data[len..];
        }
        Ok(())
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> std::result::Result<(), String> {
        let number = |what: &str| -> std::result::Result<u64, String> {
            std::str::from_utf8(value)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| format!("PAX {what} {:?} is not a number", lossy(value)))
        };
        match key {
            b"path" => self.path = Some(value.to_vec()),
            b"linkpath" => self.linkpath = Some(value.to_vec()),
            b"size" => self.size = Some(number("size")?),
            b"uid" => self.uid = Some(number("uid")?),
            b"gid" => self.gid = Some(number("gid")?),
            b"uname" => self.uname = Some(value.to_vec()),
            b"gname" => self.gname = Some(value.to_vec()),
            b"mtime" => {
                // Decimal seconds, maybe fractional or negative; the whole seconds, 0 if negative.
                let text = String::from_utf8_lossy(value);
                let whole = text.split('.').next().unwrap_or("");
                let secs: i64 = whole
                    .parse()
                    .map_err(|_| format!("PAX mtime {text:?} is not a number"))?;
                self.mtime = Some(secs.max(0) as u64);
            }
            _ => {}
        }
        Ok(())
    }

    /// `self` with `local`'s records laid over it.
    fn overlay(&self, local: &Pax) -> Pax {
        Pax {
            path: local.path.clone().or_else(|| self.path.clone()),
            linkpath: local.linkpath.clone().or_else(|| self.linkpath.clone()),
            size: local.size.or(self.size),
            uid: local.uid.or(self.uid),
            gid: local.gid.or(self.gid),
            mtime: local.mtime.or(self.mtime),
            uname: local.uname.clone().or_else(|| self.uname.clone()),
            gname: local.gname.clone().or_else(|| self.gname.clone()),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Bytes of a NUL-terminated header field.
fn field_str(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    &field[..end]
}

/// A numeric header field: octal (spaces/NULs around it) or GNU base-256.
fn field_num(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return None; // negative
        }
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let t = text.trim_matches(|c| c == ' ' || c == '\0');
    if t.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(t, 8).ok()
}

/// Whether a header's stored checksum matches (unsigned sum, or the historic signed one).
fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let Some(stored) = field_num(&block[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// One archive entry as read: its raw header blocks and what they say.
struct RawEntry {
    /// 1-based position among the archive's entries.
    index: usize,
    /// Raw blocks of the extension headers before it (PAX `x`/`g`, GNU `L`/`K`), with their data.
    meta: Vec<u8>,
    /// Raw blocks of the PAX global headers among them (they apply to later entries too).
    globals: Vec<u8>,
    /// The header block.
    header: [u8; BLOCK],
    /// GNU sparse extension blocks after the header.
    sparse: Vec<u8>,
    /// Effective name (PAX path, GNU long name, ustar prefix + name).
    name: Vec<u8>,
    /// Effective link target.
    link: Vec<u8>,
    /// Data size (without padding).
    size: u64,
    /// Type flag.
    kind: u8,
    /// Mode, owner and times.
    meta_fields: Meta,
}

impl RawEntry {
    /// `entry N (name)`, for messages.
    fn at(&self) -> String {
        format!("entry {} ({})", self.index, lossy(&self.name))
    }

    fn is_file(&self) -> bool {
        matches!(self.kind, b'0' | b'\0' | b'7') && !self.name.ends_with(b"/")
    }

    fn is_dir(&self) -> bool {
        self.kind == b'5' || (matches!(self.kind, b'0' | b'\0') && self.name.ends_with(b"/"))
    }

    /// The normalised node path (checked when the entry was read).
    fn path(&self) -> String {
        node_path(&lossy(&self.name)).unwrap_or_default()
    }

    /// The normalised hardlink target.
    fn link_path(&self) -> String {
        node_path(&lossy(&self.link)).unwrap_or_default()
    }

    fn padded_size(&self) -> u64 {
        self.size + padding(self.size) as u64
    }

    /// Check for a name or hardlink target that escapes the root.
    fn check(&self) -> Result<()> {
        if self.kind == b'V' {
            return Ok(()); // a volume label, not a file
        }
        if self.name.is_empty() {
            bail!("{}: the entry has no name", self.at());
        }
        check_name(&self.name).map_err(|why| anyhow!("{}: the name {why}", self.at()))?;
        if self.kind == b'1' {
            if self.link.is_empty() {
                bail!("{}: the hardlink has no target", self.at());
            }
            check_name(&self.link).map_err(|why| {
                anyhow!(
                    "{}: the hardlink target {:?} {why}",
                    self.at(),
                    lossy(&self.link)
                )
            })?;
        }
        Ok(())
    }
}

/// Why an archive name is hostile: absolute, or climbing out with `..`.
fn check_name(name: &[u8]) -> std::result::Result<(), &'static str> {
    // The root itself (`/`, `./`): umoci writes it as `/` when a whole tree is inserted at `/`.
    if node_path(&lossy(name)).as_deref() == Some("/") {
        return Ok(());
    }
    if name.starts_with(b"/") {
        return Err("is absolute");
    }
    if node_path(&lossy(name)).is_none() {
        return Err("climbs out of the root with ..");
    }
    Ok(())
}

/// What the block reader found next.
enum Item {
    /// An entry; its data is next in the stream.
    Entry(Box<RawEntry>),
    /// The first end-of-archive (zero) block; whatever follows is the archive's tail.
    End(Box<[u8; BLOCK]>),
}

/// Reads a tar stream block by block.
struct Blocks<R: Read> {
    r: BufReader<R>,
    scratch: Vec<u8>,
    index: usize,
    last: String,
    global: Pax,
    /// Accept a stream that stops right after an entry's data, without padding or end-of-archive
    /// blocks: umoci 0.4 writes image layers that way, and every OCI consumer reads them.
    lenient: bool,
}

/// Read as much of `buf` as the stream has; the count read (short only at the end of input).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl<R: Read> Blocks<R> {
    fn new(r: R) -> Blocks<R> {
        Blocks {
            r: BufReader::with_capacity(256 << 10, r),
            scratch: vec![0; COPY_CHUNK],
            index: 0,
            last: String::new(),
            global: Pax::default(),
            lenient: false,
        }
    }

    /// How to name the header being read, before its name is known.
    fn here(&self) -> String {
        if self.last.is_empty() {
            format!("entry {} (the first header)", self.index + 1)
        } else {
            format!("entry {} (the header after {})", self.index + 1, self.last)
        }
    }

    /// Read one header block; None at the very end of input.
    fn block(&mut self) -> Result<Option<[u8; BLOCK]>> {
        let mut b = [0u8; BLOCK];
        let n = read_full(&mut self.r, &mut b)
            .map_err(|e| anyhow!("{}: cannot read: {e}", self.here()))?;
        match n {
            0 => Ok(None),
            BLOCK => Ok(Some(b)),
            n => bail!(
                "{}: truncated: the archive ends {n} bytes into a header",
                self.here()
            ),
        }
    }

    /// The next entry with its extension headers, or the end of the archive.
    fn next(&mut self) -> Result<Item> {
        let mut meta = Vec::new();
        let mut globals = Vec::new();
        let mut local = Pax::default();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let header = loop {
            let Some(b) = self.block()? else {
                if self.lenient && meta.is_empty() {
                    return Ok(Item::End(Box::new([0; BLOCK])));
                }
                bail!(
                    "{}: truncated: the archive ends without its end-of-archive blocks",
                    self.here()
                );
            };
            if b.iter().all(|x| *x == 0) {
                if !meta.is_empty() {
                    bail!(
                        "{}: an extension header is followed by the end of the archive",
                        self.here()
                    );
                }
                return Ok(Item::End(Box::new(b)));
            }
            if !checksum_ok(&b) {
                bail!(
                    "{}: bad header checksum (not a tar archive, or corrupt), name field {:?}",
                    self.here(),
                    lossy(field_str(&b[0..100]))
                );
            }
            let kind = b[156];
            if !matches!(kind, b'x' | b'g' | b'L' | b'K') {
                break b;
            }
            let size = field_num(&b[124..136])
                .ok_or_else(|| anyhow!("{}: the extension header size is invalid", self.here()))?;
            if size > MAX_META {
                bail!(
                    "{}: a {size}-byte extension header is too large",
                    self.here()
                );
            }
            let mut data = vec![0u8; (size + padding(size) as u64) as usize];
            let n = read_full(&mut self.r, &mut data)
                .map_err(|e| anyhow!("{}: cannot read: {e}", self.here()))?;
            if n < data.len() {
                bail!(
                    "{}: truncated: the archive ends inside an extension header",
                    self.here()
                );
            }
            let body = &data[..size as usize];
            match kind {
                b'x' => local.parse(body),
                b'g' => self.global.parse(body),
                b'L' => {
                    long_name = Some(field_str(body).to_vec());
                    Ok(())
                }
                _ => {
                    long_link = Some(field_str(body).to_vec());
                    Ok(())
                }
            }
            .map_err(|why| anyhow!("{}: {why}", self.here()))?;
            if kind == b'g' {
                globals.extend_from_slice(&b);
                globals.extend_from_slice(&data);
            }
            meta.extend_from_slice(&b);
            meta.extend_from_slice(&data);
        };
        self.index += 1;
        let pax = self.global.overlay(&local);
        let entry = self.entry(header, meta, globals, &pax, long_name, long_link)?;
        self.last = entry.at();
        entry.check()?;
        Ok(Item::Entry(Box::new(entry)))
    }

    /// Build an entry from its header and extensions, reading GNU sparse extension blocks.
    fn entry(
        &mut self,
        header: [u8; BLOCK],
        meta: Vec<u8>,
        globals: Vec<u8>,
        pax: &Pax,
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
    ) -> Result<RawEntry> {
        let posix = &header[257..263] == b"ustar\0";
        let gnu = &header[257..265] == b"ustar  \0";
        let name = pax.path.clone().or(long_name).unwrap_or_else(|| {
            let name = field_str(&header[0..100]);
            let prefix = field_str(&header[345..500]);
            if posix && !prefix.is_empty() {
                [prefix, b"/", name].concat()
            } else {
                name.to_vec()
            }
        });
        let link = pax
            .linkpath
            .clone()
            .or(long_link)
            .unwrap_or_else(|| field_str(&header[157..257]).to_vec());
        let at = format!("entry {} ({})", self.index, lossy(&name));
        let size = match pax.size {
            Some(s) => s,
            None => field_num(&header[124..136])
                .ok_or_else(|| anyhow!("{at}: the size field is invalid"))?,
        };
        let owned = posix || gnu;
        // Only the size must be exact; other fields are read leniently (a pre-1970 mtime, say,
        // is negative base-256) since they matter only for the entries modlayer replaces.
        let lenient = |range: std::ops::Range<usize>| field_num(&header[range]).unwrap_or(0);
        let meta_fields = Meta {
            mode: (lenient(100..108) & 0o7777_7777) as u32,
            uid: pax.uid.unwrap_or_else(|| lenient(108..116)),
            gid: pax.gid.unwrap_or_else(|| lenient(116..124)),
            mtime: pax.mtime.unwrap_or_else(|| lenient(136..148)),
            uname: pax.uname.clone().unwrap_or_else(|| {
                if owned {
                    field_str(&header[265..297]).to_vec()
                } else {
                    Vec::new()
                }
            }),
            gname: pax.gname.clone().unwrap_or_else(|| {
                if owned {
                    field_str(&header[297..329]).to_vec()
                } else {
                    Vec::new()
                }
            }),
        };
        let mut sparse = Vec::new();
        if header[156] == b'S' && gnu && header[482] != 0 {
            loop {
                if sparse.len() >= MAX_SPARSE_BLOCKS * BLOCK {
                    bail!("{at}: too many GNU sparse extension blocks");
                }
                let b = self.block()?.ok_or_else(|| {
                    anyhow!("{at}: truncated: the archive ends inside its sparse map")
                })?;
                sparse.extend_from_slice(&b);
                if b[504] == 0 {
                    break;
                }
            }
        }
        Ok(RawEntry {
            index: self.index,
            meta,
            globals,
            header,
            sparse,
            name,
            link,
            size,
            kind: header[156],
            meta_fields,
        })
    }

    /// Stream an entry's data (and padding) through `sink`, in chunks.
    fn data(&mut self, e: &RawEntry, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let total = e.padded_size();
        let mut left = total;
        while left > 0 {
            let want = left.min(self.scratch.len() as u64) as usize;
            let n = read_full(&mut self.r, &mut self.scratch[..want])
                .map_err(|err| anyhow!("{}: cannot read: {err}", e.at()))?;
            if n == 0 && self.lenient && total - left >= e.size {
                return Ok(());
            }
            if n == 0 {
                bail!(
                    "{}: truncated: the archive ends {} bytes into its {}-byte data",
                    e.at(),
                    total - left,
                    e.size
                );
            }
            sink(&self.scratch[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Copy an entry's data and padding to `out` unchanged.
    fn copy_data(&mut self, e: &RawEntry, out: &mut impl Write) -> Result<()> {
        self.data(e, |chunk| {
            out.write_all(chunk).context("cannot write the output")
        })
    }

    /// Read an entry's data with its padding (callers check the size first).
    fn read_data(&mut self, e: &RawEntry) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(e.padded_size() as usize);
        self.data(e, |chunk| {
            v.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(v)
    }

    /// Skip an entry's data.
    fn skip_data(&mut self, e: &RawEntry) -> Result<()> {
        self.data(e, |_| Ok(()))
    }

    /// Copy everything after the end-of-archive block to `out` unchanged.
    fn copy_tail(&mut self, out: &mut impl Write) -> Result<()> {
        loop {
            let n = read_full(&mut self.r, &mut self.scratch)
                .map_err(|e| anyhow!("after the end of the archive: cannot read: {e}"))?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&self.scratch[..n])
                .context("cannot write the output")?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rewriting a root filesystem archive
// ---------------------------------------------------------------------------------------------

/// The old contents of a replaced file, for a later hardlink to it (None: too large to keep).
type OldFile = Option<(Vec<u8>, Meta)>;

/// State of one rewrite pass.
struct Rewrite<'l> {
    wanted: BTreeMap<String, &'l LayerFile>,
    seen: BTreeSet<String>,
    replaced: HashMap<String, OldFile>,
    changes: Vec<String>,
    dot_slash: Option<bool>,
    /// Entries that are not directories at a directory above a layer path (a symlink
    /// `etc/modules-load.d`): what they are, for the refusal.
    not_dirs: BTreeMap<String, String>,
}

impl<'l> Rewrite<'l> {
    fn new(layer: &'l Layer) -> Rewrite<'l> {
        Rewrite {
            wanted: layer.files.iter().map(|f| (f.path.clone(), f)).collect(),
            seen: BTreeSet::new(),
            replaced: HashMap::new(),
            changes: Vec::new(),
            dot_slash: None,
            not_dirs: BTreeMap::new(),
        }
    }

    /// Whether `path` is a directory above some layer path.
    fn is_layer_ancestor(&self, path: &str) -> bool {
        self.wanted.keys().any(|w| {
            w.len() > path.len() && w.starts_with(path) && w.as_bytes()[path.len()] == b'/'
        })
    }

    /// Refuse a layer path beneath an entry that is not a directory (GNU tar refuses to extract
    /// a file beneath a symlink or a file: "Not a directory").
    fn check_parents(&self, path: &str) -> Result<()> {
        for (dir, what) in &self.not_dirs {
            if path.len() > dir.len()
                && path.starts_with(dir.as_str())
                && path.as_bytes()[dir.len()] == b'/'
            {
                bail!(
                    "{what}, where the layer writes {} beneath it: tar cannot extract a file there; refusing (replace it with a directory first)",
                    relative(path)
                );
            }
        }
        Ok(())
    }

    fn note(&mut self, change: String) {
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    /// Handle one entry.
    fn entry<R: Read, W: Write>(
        &mut self,
        rd: &mut Blocks<R>,
        e: &RawEntry,
        out: &mut W,
    ) -> Result<()> {
        if self.dot_slash.is_none() && e.kind != b'V' {
            self.dot_slash = Some(e.name.starts_with(b"./"));
        }
        let path = e.path();
        if e.kind != b'V' && self.is_layer_ancestor(&path) {
            if e.is_dir() {
                self.not_dirs.remove(&path);
            } else {
                let what = match e.kind {
                    b'2' => format!("{}: is a symbolic link to {}", e.at(), lossy(&e.link)),
                    b'1' => format!("{}: is a hardlink, not a directory", e.at()),
                    _ if e.is_file() => format!("{}: is a regular file, not a directory", e.at()),
                    k => format!("{}: is {}, not a directory", e.at(), kind_name(k)),
                };
                self.not_dirs.insert(path.clone(), what);
            }
        }
        if let Some(f) = self.wanted.get(&path).copied() {
            self.check_parents(&path)?;
            self.seen.insert(path.clone());
            return self.layer_entry(rd, e, f, &path, out);
        }
        if e.kind == b'1' && self.replaced.contains_key(&e.link_path()) {
            return self.unlink(rd, e, out);
        }
        out.write_all(&e.meta)
            .and_then(|_| out.write_all(&e.header))
            .and_then(|_| out.write_all(&e.sparse))
            .context("cannot write the output")?;
        rd.copy_data(e, out)
    }

    /// An entry at a layer path: kept as it is when already the layer's file, else replaced in place.
    fn layer_entry<R: Read, W: Write>(
        &mut self,
        rd: &mut Blocks<R>,
        e: &RawEntry,
        f: &LayerFile,
        path: &str,
        out: &mut W,
    ) -> Result<()> {
        if e.is_dir() {
            bail!(
                "{}: is a directory, where the layer writes the file {path}",
                e.at()
            );
        }
        let same_shape = e.is_file()
            && e.size == f.bytes.len() as u64
            && e.meta_fields.mode & 0o7777 == f.mode
            && e.sparse.is_empty();
        let old: OldFile = if e.is_file() && e.size <= MAX_KEPT_OLD && e.sparse.is_empty() {
            let raw = rd.read_data(e)?;
            if same_shape && raw[..f.bytes.len()] == f.bytes[..] {
                out.write_all(&e.meta)
                    .and_then(|_| out.write_all(&e.header))
                    .and_then(|_| out.write_all(&raw))
                    .context("cannot write the output")?;
                return Ok(());
            }
            Some((raw[..e.size as usize].to_vec(), e.meta_fields.clone()))
        } else {
            rd.skip_data(e)?;
            if e.kind == b'1' {
                self.replaced.get(&e.link_path()).cloned().flatten()
            } else {
                None
            }
        };
        let meta = Meta {
            mode: f.mode,
            ..e.meta_fields.clone()
        };
        out.write_all(&e.globals)
            .and_then(|_| out.write_all(&entry_bytes(&e.name, &meta, b'0', &f.bytes)))
            .context("cannot write the output")?;
        self.replaced.insert(path.to_string(), old);
        self.note(format!("replace {}", relative(path)));
        Ok(())
    }

    /// A hardlink to a file this pass replaced: it keeps the old contents, as a file of its own.
    fn unlink<R: Read, W: Write>(
        &mut self,
        rd: &mut Blocks<R>,
        e: &RawEntry,
        out: &mut W,
    ) -> Result<()> {
        let target = e.link_path();
        let Some(Some((bytes, meta))) = self.replaced.get(&target).cloned() else {
            bail!(
                "{}: is a hardlink to {target}, which the layer replaces, and its old contents are not known (over {MAX_KEPT_OLD} bytes, or a link)",
                e.at()
            );
        };
        rd.skip_data(e)?;
        out.write_all(&e.globals)
            .and_then(|_| out.write_all(&entry_bytes(&e.name, &meta, b'0', &bytes)))
            .context("cannot write the output")?;
        self.note(format!(
            "copy {} into {} (was a hardlink to the replaced file)",
            relative(&target),
            relative(&e.path())
        ));
        Ok(())
    }

    /// Append the layer files the archive did not have (sorted by path).
    fn append_missing<W: Write>(&mut self, out: &mut W) -> Result<()> {
        let missing: Vec<&LayerFile> = self
            .wanted
            .iter()
            .filter(|(p, _)| !self.seen.contains(*p))
            .map(|(_, f)| *f)
            .collect();
        let mut added = Vec::new();
        for f in &missing {
            self.check_parents(&f.path)?;
        }
        for f in missing {
            let rel = relative(&f.path);
            let name = if self.dot_slash == Some(true) {
                format!("./{rel}")
            } else {
                rel.to_string()
            };
            out.write_all(&entry_bytes(
                name.as_bytes(),
                &Meta::root(f.mode),
                b'0',
                &f.bytes,
            ))
            .context("cannot write the output")?;
            added.push(format!("add {rel}"));
        }
        for a in added {
            self.note(a);
        }
        Ok(())
    }
}

/// Stream a root filesystem tar through, replacing the entries for the layer's paths and appending
/// the missing ones before the end-of-archive blocks.
///
/// Every other entry passes through BYTE FOR BYTE: raw header blocks (PAX `x`/`g` and GNU
/// `L`/`K` extension headers included), GNU sparse maps, data, padding, the end-of-archive blocks
/// and anything after them. An entry "is" a layer path when its effective name (PAX path / GNU
/// long name / ustar prefix+name), normalised with [`collect::node_path`], equals the layer path.
/// Replaced entries stand where the old one stood, in ustar format with the old entry's
/// uid/gid/uname/gname/mtime and the layer's mode and bytes; hardlinks or symlinks AT a layer path
/// are replaced by the regular file, and a later hardlink TO a replaced file becomes a copy of the
/// old contents (so that only the layer's paths change). Returns the changes (`replace
/// etc/modprobe.d/sctp-blacklist.conf`, `add etc/modules-load.d/sctp-load.conf`); none, and the
/// input unchanged, when every layer path already is a regular file with the layer's bytes and mode.
///
/// Hostile input is an error naming the entry (`entry N (name): …`): an absolute name, a name
/// climbing out with `..`, a hardlink target that is absolute or climbs out, a truncated stream or
/// short data, a bad header checksum, a layer path that is a directory. Output may have been
/// written when an error is returned: write to a temporary file and rename only on success.
pub fn rewrite(input: impl Read, output: impl Write, layer: &Layer) -> Result<Vec<String>> {
    let mut out = BufWriter::with_capacity(64 << 10, output);
    let mut rd = Blocks::new(input);
    let mut state = Rewrite::new(layer);
    loop {
        match rd.next()? {
            Item::Entry(e) => state.entry(&mut rd, &e, &mut out)?,
            Item::End(zero) => {
                state.append_missing(&mut out)?;
                out.write_all(&zero[..])
                    .context("cannot write the output")?;
                rd.copy_tail(&mut out)?;
                break;
            }
        }
    }
    out.flush().context("cannot write the output")?;
    Ok(state.changes)
}

// ---------------------------------------------------------------------------------------------
// Collecting a node view
// ---------------------------------------------------------------------------------------------

/// The OCI whiteout an entry stands for, if any: `(opaque directory, None)` or `(dir, Some(path))`.
fn whiteout(path: &str) -> Option<(String, Option<String>)> {
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
fn kind_name(kind: u8) -> &'static str {
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
        if interest == Interest::None {
            rd.skip_data(&e)?;
            continue;
        }
        collect_entry(&mut rd, &e, &path, interest, delta, origin, &mut kept)?;
    }
}

/// Feed one interesting entry to the collector.
fn collect_entry<R: Read>(
    rd: &mut Blocks<R>,
    e: &RawEntry,
    path: &str,
    interest: Interest,
    delta: &mut collect::LayerDelta,
    origin: &str,
    kept: &mut HashMap<String, (Vec<u8>, u32)>,
) -> Result<()> {
    let c = &mut delta.entries;
    let mode = e.meta_fields.mode & 0o7777;
    if e.is_dir() {
        c.dir(path);
    } else if e.is_file() && e.sparse.is_empty() {
        if interest == Interest::Contents && Collector::keeps(e.size) {
            let mut raw = rd.read_data(e)?;
            raw.truncate(e.size as usize);
            kept.insert(path.to_string(), (raw.clone(), mode));
            c.file(path, Some(raw), Some(mode), origin);
            return Ok(());
        }
        if interest == Interest::Contents {
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
    rd.skip_data(e)
}

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
        Compression::Zstd => bail!(
            "zstd-compressed archives can be verified but not rewritten (modlayer writes no zstd); \
             decompress it first (zstd -d) or recompress it with gzip"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_checksums() {
        let mut f = [0u8; 12];
        put_num(&mut f, 0o644);
        assert_eq!(&f, b"00000000644\0");
        assert_eq!(field_num(&f), Some(0o644));
        let mut small = [0u8; 8];
        put_num(&mut small, 1 << 40);
        assert_eq!(small[0] & 0x80, 0x80);
        assert_eq!(field_num(&small), Some(1 << 40));
        assert_eq!(field_num(b"   644 \0"), Some(0o644));
        let b = ustar_block(b"", b"a", &Meta::root(0o644), 3, b'0');
        assert!(checksum_ok(&b));
    }

    #[test]
    fn long_names_split_or_use_pax() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        assert!(split_ustar_name(long.as_bytes()).is_some());
        let longer = format!("{}/{}", "d".repeat(200), "f".repeat(120));
        let bytes = entry_bytes(longer.as_bytes(), &Meta::root(0o644), b'0', b"x");
        assert_eq!(bytes[156], b'x');
        assert_eq!(pax_record("path", b"abc"), b"12 path=abc\n");
        assert_eq!(pax_record("k", &[b'v'; 4]), b"9 k=vvvv\n");
        assert!(pax_record("k", &[b'v'; 93]).starts_with(b"99 "));
        let r = pax_record("k", &[b'v'; 94]);
        assert_eq!(r.len(), 101);
        assert!(r.starts_with(b"101 "));
    }

    #[test]
    fn whiteout_names() {
        assert_eq!(
            whiteout("/etc/modprobe.d/.wh..wh..opq"),
            Some(("/etc/modprobe.d".into(), None))
        );
        assert_eq!(
            whiteout("/etc/.wh.x"),
            Some(("/etc".into(), Some("/etc/x".into())))
        );
        assert_eq!(whiteout("/.wh.etc").map(|w| w.1), Some(Some("/etc".into())));
        assert_eq!(whiteout("/etc/x"), None);
    }
}
