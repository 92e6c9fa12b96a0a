//! Writing entries: the layer as a reproducible ustar archive (PAX records for long names), and
//! reproducible gzip.

use super::*;

/// Ownership and times written into a new header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Meta {
    pub(super) mode: u32,
    pub(super) uid: u64,
    pub(super) gid: u64,
    pub(super) mtime: u64,
    pub(super) uname: Vec<u8>,
    pub(super) gname: Vec<u8>,
}

impl Meta {
    /// root:root, mtime 0, this mode: what modlayer writes for a new file.
    pub(super) fn root(mode: u32) -> Meta {
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
pub(super) fn put_bytes(field: &mut [u8], bytes: &[u8]) {
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
    field[n..].fill(0);
}

/// Put a number into a header field: octal with a NUL terminator when it fits, else GNU base-256.
pub(super) fn put_num(field: &mut [u8], value: u64) {
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
pub(super) fn set_checksum(block: &mut [u8; BLOCK]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
    block[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    block[154] = 0;
    block[155] = b' ';
}

/// Split a name into ustar prefix and name fields, if it fits.
pub(super) fn split_ustar_name(name: &[u8]) -> Option<(&[u8], &[u8])> {
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
pub(super) fn ustar_block(
    prefix: &[u8],
    name: &[u8],
    m: &Meta,
    size: u64,
    typeflag: u8,
) -> [u8; BLOCK] {
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
pub(super) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
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
pub(super) fn padding(len: u64) -> usize {
    ((BLOCK as u64 - len % BLOCK as u64) % BLOCK as u64) as usize
}

/// The blocks of one entry in ustar format (preceded by a PAX `path` record when the name does not
/// fit the ustar fields), data and padding included.
pub(super) fn entry_bytes(name: &[u8], m: &Meta, typeflag: u8, data: &[u8]) -> Vec<u8> {
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
pub(super) fn relative(path: &str) -> &str {
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
pub(super) fn gzip_member(bytes: &[u8], level: u32) -> Vec<u8> {
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
