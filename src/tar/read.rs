//! Reading entries: raw 512-byte blocks, PAX and GNU extension headers, sparse maps, with the
//! bounds that keep a hostile archive from costing more than its size.

use super::*;

/// PAX records that matter here (local ones override global ones).
#[derive(Clone, Debug, Default)]
pub(super) struct Pax {
    pub(super) path: Option<Vec<u8>>,
    pub(super) linkpath: Option<Vec<u8>>,
    pub(super) size: Option<u64>,
    pub(super) uid: Option<u64>,
    pub(super) gid: Option<u64>,
    pub(super) mtime: Option<u64>,
    pub(super) uname: Option<Vec<u8>>,
    pub(super) gname: Option<Vec<u8>>,
}

impl Pax {
    /// Parse a PAX record set; `Err` says what is malformed.
    pub(super) fn parse(&mut self, mut data: &[u8]) -> std::result::Result<(), String> {
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

    pub(super) fn set(&mut self, key: &[u8], value: &[u8]) -> std::result::Result<(), String> {
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
    pub(super) fn overlay(&self, local: &Pax) -> Pax {
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

pub(super) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Bytes of a NUL-terminated header field.
pub(super) fn field_str(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    &field[..end]
}

/// A numeric header field: octal (spaces/NULs around it) or GNU base-256.
pub(super) fn field_num(field: &[u8]) -> Option<u64> {
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
pub(super) fn checksum_ok(block: &[u8; BLOCK]) -> bool {
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
pub(super) struct RawEntry {
    /// 1-based position among the archive's entries.
    pub(super) index: usize,
    /// Raw blocks of the extension headers before it (PAX `x`/`g`, GNU `L`/`K`), with their data.
    pub(super) meta: Vec<u8>,
    /// Raw blocks of the PAX global headers among them (they apply to later entries too).
    pub(super) globals: Vec<u8>,
    /// The header block.
    pub(super) header: [u8; BLOCK],
    /// GNU sparse extension blocks after the header.
    pub(super) sparse: Vec<u8>,
    /// Effective name (PAX path, GNU long name, ustar prefix + name).
    pub(super) name: Vec<u8>,
    /// Effective link target.
    pub(super) link: Vec<u8>,
    /// Data size (without padding).
    pub(super) size: u64,
    /// Type flag.
    pub(super) kind: u8,
    /// Mode, owner and times.
    pub(super) meta_fields: Meta,
}

impl RawEntry {
    /// `entry N (name)`, for messages.
    pub(super) fn at(&self) -> String {
        format!("entry {} ({})", self.index, lossy(&self.name))
    }

    pub(super) fn is_file(&self) -> bool {
        matches!(self.kind, b'0' | b'\0' | b'7') && !self.name.ends_with(b"/")
    }

    pub(super) fn is_dir(&self) -> bool {
        self.kind == b'5' || (matches!(self.kind, b'0' | b'\0') && self.name.ends_with(b"/"))
    }

    /// The normalised node path (checked when the entry was read).
    pub(super) fn path(&self) -> String {
        node_path(&lossy(&self.name)).unwrap_or_default()
    }

    /// The normalised hardlink target.
    pub(super) fn link_path(&self) -> String {
        node_path(&lossy(&self.link)).unwrap_or_default()
    }

    pub(super) fn padded_size(&self) -> u64 {
        self.size + padding(self.size) as u64
    }

    /// Check for a name or hardlink target that escapes the root.
    pub(super) fn check(&self) -> Result<()> {
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
pub(super) fn check_name(name: &[u8]) -> std::result::Result<(), &'static str> {
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
pub(super) enum Item {
    /// An entry; its data is next in the stream.
    Entry(Box<RawEntry>),
    /// The first end-of-archive (zero) block; whatever follows is the archive's tail.
    End(Box<[u8; BLOCK]>),
}

/// Reads a tar stream block by block.
pub(super) struct Blocks<R: Read> {
    pub(super) r: BufReader<R>,
    pub(super) scratch: Vec<u8>,
    pub(super) index: usize,
    pub(super) last: String,
    pub(super) global: Pax,
    /// Accept a stream that stops right after an entry's data, without padding or end-of-archive
    /// blocks: umoci 0.4 writes image layers that way, and every OCI consumer reads them.
    pub(super) lenient: bool,
}

/// Read as much of `buf` as the stream has; the count read (short only at the end of input).
pub(super) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
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
    pub(super) fn new(r: R) -> Blocks<R> {
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
    pub(super) fn here(&self) -> String {
        if self.last.is_empty() {
            format!("entry {} (the first header)", self.index + 1)
        } else {
            format!("entry {} (the header after {})", self.index + 1, self.last)
        }
    }

    /// Read one header block; None at the very end of input.
    pub(super) fn block(&mut self) -> Result<Option<[u8; BLOCK]>> {
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
    pub(super) fn next(&mut self) -> Result<Item> {
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
    pub(super) fn entry(
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
    pub(super) fn data(
        &mut self,
        e: &RawEntry,
        mut sink: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
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
    pub(super) fn copy_data(&mut self, e: &RawEntry, out: &mut impl Write) -> Result<()> {
        self.data(e, |chunk| {
            out.write_all(chunk).context("cannot write the output")
        })
    }

    /// Read an entry's data with its padding (callers check the size first).
    pub(super) fn read_data(&mut self, e: &RawEntry) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(e.padded_size() as usize);
        self.data(e, |chunk| {
            v.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(v)
    }

    /// Skip an entry's data.
    pub(super) fn skip_data(&mut self, e: &RawEntry) -> Result<()> {
        self.data(e, |_| Ok(()))
    }

    /// Copy everything after the end-of-archive block to `out` unchanged.
    pub(super) fn copy_tail(&mut self, out: &mut impl Write) -> Result<()> {
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
