//! Contents encodings that Ignition configs use: data URLs, gzip, verification hashes.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256, Sha512};

/// Largest decompressed size accepted for one file's contents (a gzip bomb guard).
pub const MAX_DECOMPRESSED: u64 = 256 << 20;

/// Largest total of decoded bytes (data URL payloads and gzip output, every resource counted)
/// one config, pool render or target may produce: many bombs each under [`MAX_DECOMPRESSED`]
/// stop here with a clear error instead of exhausting memory or time.
pub const MAX_DECODED_TOTAL: u64 = 1 << 30;

/// A budget of decoded bytes shared by every resource of one config or target (every render of
/// a target's MachineConfigs charges the one budget of its inventory).
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
    exceeded: AtomicBool,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::per_target()
    }
}

impl Clone for Budget {
    fn clone(&self) -> Budget {
        Budget {
            limit: self.limit,
            used: AtomicU64::new(self.used()),
            exceeded: AtomicBool::new(self.exceeded()),
        }
    }
}

impl Budget {
    /// A budget of `limit` decoded bytes.
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: AtomicU64::new(0),
            exceeded: AtomicBool::new(false),
        }
    }

    /// The budget of one config or target: [`MAX_DECODED_TOTAL`].
    pub fn per_target() -> Budget {
        Budget::new(MAX_DECODED_TOTAL)
    }

    /// Count `n` more decoded bytes; an error once the total passes the limit (and from then on).
    pub fn charge(&self, n: u64) -> Result<()> {
        let used = self.used.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if used > self.limit {
            self.exceeded.store(true, Ordering::Relaxed);
        }
        if self.exceeded() {
            bail!("{}", self.message());
        }
        Ok(())
    }

    /// Whether the limit was passed.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    /// Decoded bytes counted so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The error for a passed limit.
    pub fn message(&self) -> String {
        format!(
            "the decoded contents (data URLs and gzip) add up to more than the {} bytes modlayer decodes for one config",
            self.limit
        )
    }
}

/// Inline contents after decoding: the bytes when they are at most the size asked to keep, else
/// only their length (they were streamed, counted and hashed, not held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The decoded bytes.
    Bytes(Vec<u8>),
    /// More bytes than were to be kept: how many.
    TooBig(u64),
}

impl Decoded {
    /// The decoded length.
    pub fn len(&self) -> u64 {
        match self {
            Decoded::Bytes(b) => b.len() as u64,
            Decoded::TooBig(n) => *n,
        }
    }

    /// Whether nothing was decoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A verification hash being computed over streamed bytes.
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn hex(self) -> String {
        match self {
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
        }
    }
}

/// Parse an Ignition verification hash into a hasher and the expected lower-case hex.
fn parse_hash(spec: &str) -> Result<(Hasher, String)> {
    let Some((kind, want)) = spec.split_once('-') else {
        bail!("hash {spec:?} is not of the form <type>-<hex>");
    };
    let (h, len) = match kind {
        "sha512" => (Hasher::Sha512(Sha512::new()), 128),
        "sha256" => (Hasher::Sha256(Sha256::new()), 64),
        _ => bail!("hash type {kind:?} is not sha512 or sha256"),
    };
    if want.len() != len || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("hash {spec:?} is not a {kind} hex digest");
    }
    Ok((h, want.to_ascii_lowercase()))
}

/// Decode an inline `data:` source as Ignition does (gzip when `gzip`), charging every decoded
/// byte to `budget`, keeping at most `keep` bytes (larger contents are streamed and only
/// counted), and checking `hash` (an Ignition verification hash over the decoded bytes) on the
/// way. Returns the contents and, when a hash was given, whether it matched.
pub fn decode_contents(
    url: &str,
    gzip: bool,
    hash: Option<&str>,
    keep: u64,
    budget: &Budget,
) -> Result<(Decoded, Option<bool>)> {
    if budget.exceeded() {
        bail!("{}", budget.message());
    }
    let mut hasher = match hash {
        Some(h) => Some(parse_hash(h)?),
        None => None,
    };
    let raw = decode_data_url(url)?;
    budget.charge(raw.len() as u64)?;
    let decoded = if !gzip {
        if let Some((h, _)) = hasher.as_mut() {
            h.update(&raw);
        }
        if raw.len() as u64 <= keep {
            Decoded::Bytes(raw)
        } else {
            Decoded::TooBig(raw.len() as u64)
        }
    } else {
        let mut z = flate2::read::MultiGzDecoder::new(&raw[..]);
        let mut buf = vec![0u8; 64 << 10];
        let mut held: Option<Vec<u8>> = Some(Vec::new());
        let mut total: u64 = 0;
        loop {
            let n = z.read(&mut buf).context("invalid gzip data")?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_DECOMPRESSED {
                bail!("gzip data decompresses to more than {MAX_DECOMPRESSED} bytes");
            }
            budget.charge(n as u64)?;
            if let Some((h, _)) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            match held.as_mut() {
                Some(v) if total <= keep => v.extend_from_slice(&buf[..n]),
                _ => held = None,
            }
        }
        match held {
            Some(v) => Decoded::Bytes(v),
            None => Decoded::TooBig(total),
        }
    };
    let matched = hasher.map(|(h, want)| h.hex() == want);
    Ok((decoded, matched))
}

/// Bytes that Butane (and we) leave unescaped in a `data:,` URL.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// Encode bytes as a data URL: percent-escaped (`data:,sctp`) or base64, whichever is shorter.
pub fn encode_data_url(bytes: &[u8]) -> String {
    let mut escaped = String::with_capacity(6 + bytes.len());
    escaped.push_str("data:,");
    for &b in bytes {
        if is_unreserved(b) {
            escaped.push(b as char);
        } else {
            escaped.push_str(&format!("%{b:02X}"));
        }
    }
    use base64::Engine;
    let b64 = format!(
        "data:;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    if b64.len() < escaped.len() {
        b64
    } else {
        escaped
    }
}

/// Decode a `data:` URL exactly as Ignition reads one: Go's `net/url` parse must succeed (no
/// control bytes) and then the RFC 2397 reading of github.com/vincent-petithory/dataurl v1.0.0
/// (`DecodeString`, used by every coreos/ignition config/v3_*/types `validateURL` and by its
/// fetcher): a lower-case `data:` prefix, an optional media type whose type starts with text,
/// image, audio, video, application, message or multipart (or is `x-…`), `;attr=value`
/// parameters (tokens or Go-quoted strings), `;base64` only as the last parameter, then `,` and
/// the data: base64 with exact `=` padding, else URL characters with `%XX` escapes. No `#`
/// fragment, no spaces, no non-ASCII. Errors carry the library's own words.
pub fn decode_data_url(url: &str) -> Result<Vec<u8>> {
    decode_parts(data_url_parts(url)?)
}

/// Whether [`decode_data_url`] succeeds, without producing the bytes: the same syntax scan, then
/// a check of the data that allocates nothing (Ignition's `validateURL` decodes only to judge; a
/// bootstrap.ign holds megabytes of base64 that nobody needs decoded). The error is
/// [`decode_data_url`]'s own.
pub fn check_data_url(url: &str) -> Result<()> {
    if has_control(url.as_bytes()) {
        bail!("unable to parse url (it holds a control character)");
    }
    check_data_url_without_controls(url)
}

/// [`check_data_url`] for a URL already known to hold no control byte ([`has_control`]), as in
/// Ignition's URL rule, which refuses those first: the megabytes are not scanned twice.
pub fn check_data_url_without_controls(url: &str) -> Result<()> {
    let (base64, data) = data_url_syntax(url)?;
    let ok = if base64 {
        go_base64_ok(data.as_bytes())
    } else {
        escapes_ok(data.as_bytes())
    };
    if ok {
        return Ok(());
    }
    // Only a bad URL pays for the decode, which finds the place and words of the error.
    decode_parts((base64, data)).map(drop)
}

/// Whether `url` is a `data:` URL with base64 data that [`decode_data_url`] accepts, decided in
/// one pass over the data (the alphabet and padding holds no control byte and no `#`, so Go's URL
/// checks need to look at the header only). `false` says only that the full check must decide.
pub fn base64_data_url_ok(url: &str) -> bool {
    let b = url.as_bytes();
    let Some(comma) = memchr::memchr(b',', b) else {
        return false;
    };
    let (head, data) = (&url[..=comma], &b[comma + 1..]);
    head.ends_with(";base64,")
        && head.len() <= 1024
        && !has_control(head.as_bytes())
        && !head.contains('#')
        && data
            .iter()
            .fold(true, |ok, &c| ok & is_base64_char(c) & (c != b'\n'))
        && go_base64_ok(data)
        && data_url_syntax(head).is_ok_and(|(base64, _)| base64)
}

/// Whether Go's `base64.StdEncoding` accepts `d` (already known to hold only the alphabet and
/// `=`): whole quanta, and padding only as the last one or two bytes.
fn go_base64_ok(d: &[u8]) -> bool {
    if d.len() % 4 != 0 {
        return false;
    }
    match memchr::memchr(b'=', d) {
        None => true,
        Some(p) => p + 2 >= d.len() && d[p..].iter().all(|&c| c == b'='),
    }
}

/// Whether every `%` in `d` is followed by two hex digits (what [`unescape`] and Go's
/// `url.Parse` need).
pub fn escapes_ok(d: &[u8]) -> bool {
    memchr::memchr_iter(b'%', d).all(|i| {
        d.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && d.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

fn decode_parts((base64, data): (bool, &str)) -> Result<Vec<u8>> {
    if base64 {
        use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
        use base64::Engine;
        // Go's base64.StdEncoding: padding required, non-zero trailing bits allowed.
        const GO_STD: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
        );
        return GO_STD.decode(data).map_err(|e| match e {
            base64::DecodeError::InvalidByte(i, _)
            | base64::DecodeError::InvalidLastSymbol(i, _) => {
                anyhow::anyhow!("illegal base64 data at input byte {i}")
            }
            _ => anyhow::anyhow!("illegal base64 data at input byte {}", data.len()),
        });
    }
    unescape(data.as_bytes())
}

/// `%XX` unescaping as dataurl's `Unescape` does it (every other byte kept).
fn unescape(b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (Some(&h), Some(&l)) = (b.get(i + 1), b.get(i + 2)) else {
                bail!("rfc2396: unexpected end of unescape sequence");
            };
            let (Some(h), Some(l)) = ((h as char).to_digit(16), (l as char).to_digit(16)) else {
                bail!("rfc2396: invalid char 0x25 in unescape sequence");
            };
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// RFC 2045 tspecials, which are not token characters.
fn is_tspecial(b: u8) -> bool {
    b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// A token character (ASCII, not a control, not a space, not a tspecial).
fn is_token(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_control() && b != b' ' && !is_tspecial(b)
}

/// A character allowed in plain (not base64) data.
fn is_url_char(b: u8) -> bool {
    b.is_ascii() && b > 0x1f && b != 0x7f && !b" <>#\"{}|\\^[]`".contains(&b)
}

/// Whether `b` holds an ASCII control byte (below 0x20, or DEL), which Go's `url.Parse` refuses.
/// It does not stop at the first one, so that it vectorises (data URLs run to megabytes).
pub fn has_control(b: &[u8]) -> bool {
    b.iter()
        .fold(false, |bad, &c| bad | (c < 0x20) | (c == 0x7f))
}

/// A byte dataurl's lexer allows in base64 data: the alphabet, `=` and a line feed. Written
/// as comparisons without branches, so that a scan of megabytes vectorises.
fn is_base64_char(c: u8) -> bool {
    let letter = (c | 0x20).wrapping_sub(b'a') < 26;
    let digit = c.wrapping_sub(b'0') < 10;
    letter | digit | (c == b'+') | (c == b'/') | (c == b'=') | (c == b'\n')
}

/// Check a data URL's syntax as Go's `url.Parse` and dataurl's lexer do; returns whether it is
/// base64 and the data part.
fn data_url_parts(url: &str) -> Result<(bool, &str)> {
    if has_control(url.as_bytes()) {
        bail!("unable to parse url (it holds a control character)");
    }
    data_url_syntax(url)
}

/// [`data_url_parts`] after the control bytes.
fn data_url_syntax(url: &str) -> Result<(bool, &str)> {
    if fragment_escape_bad(url) {
        bail!("unable to parse url (bad escape in its fragment)");
    }
    let Some(rest) = url.strip_prefix("data:") else {
        bail!("missing data prefix");
    };
    let r = rest.as_bytes();
    let mut i = 0;
    let mut base64 = false;
    let token_run = |mut i: usize| {
        while i < r.len() && is_token(r[i]) {
            i += 1;
        }
        i
    };
    // Media type.
    match r.first() {
        None => bail!("missing comma before data"),
        Some(b';') | Some(b',') => {}
        Some(&c) if is_token(c) => {
            let x_token = (c == b'x' || c == b'X') && r.get(1) == Some(&b'-');
            let j = token_run(if x_token { 2 } else { 1 });
            match r.get(j) {
                None => bail!("missing media type slash"),
                Some(b'/') => {}
                Some(_) => bail!("invalid character for media type"),
            }
            let ty = &rest[..j];
            let known = [
                "text",
                "image",
                "audio",
                "video",
                "application",
                "message",
                "multipart",
            ];
            if !x_token && (c == b'x' || c == b'X' || !known.iter().any(|k| ty.starts_with(k))) {
                bail!("invalid media type");
            }
            let k = token_run(j + 1);
            match r.get(k) {
                None => bail!("incomplete media type"),
                Some(b';') | Some(b',') => {}
                Some(_) => bail!("invalid character for media subtype"),
            }
            i = k;
        }
        Some(_) => bail!("invalid character after data prefix"),
    }
    // Parameters.
    while r.get(i) == Some(&b';') {
        i += 1;
        match r.get(i) {
            None | Some(b'=') | Some(b',') => bail!("unterminated parameter sequence"),
            Some(&c) if is_token(c) => {}
            Some(_) => bail!("invalid character for parameter attribute"),
        }
        let j = token_run(i);
        match r.get(j) {
            Some(b'=') => {}
            Some(b',') => {
                let v = &rest[i..j];
                if v != "base64" {
                    bail!("expected base64, got {v}");
                }
                base64 = true;
                i = j;
                break;
            }
            None => bail!("unterminated parameter sequence"),
            Some(_) => bail!("invalid character for parameter attribute"),
        }
        i = j + 1;
        match r.get(i) {
            Some(b'"') => {
                let mut k = i + 1;
                loop {
                    match r.get(k) {
                        None => bail!("unclosed quoted string"),
                        Some(b'\\') => match r.get(k + 1) {
                            None => bail!("unexpected eof"),
                            Some(c) if c.is_ascii() => k += 2,
                            Some(_) => bail!("invalid escaped character"),
                        },
                        Some(b'"') => break,
                        Some(c) if c.is_ascii() => k += 1,
                        Some(_) => bail!("invalid character for parameter value"),
                    }
                }
                go_unquote_ok(&rest[i + 1..k])?;
                i = k + 1;
                match r.get(i) {
                    Some(b';') | Some(b',') => {}
                    None => bail!("missing comma before data"),
                    Some(_) => bail!("expected semicolon or comma"),
                }
            }
            None => bail!("missing comma before data"),
            Some(&c) if is_token(c) => {
                let k = token_run(i);
                match r.get(k) {
                    Some(b';') | Some(b',') => {}
                    None => bail!("missing comma before data"),
                    Some(_) => bail!("invalid character for parameter value"),
                }
                unescape(&r[i..k])?;
                i = k;
            }
            Some(_) => bail!("invalid character for parameter value"),
        }
    }
    // The comma (after the media type, or after the last parameter).
    if r.get(i) != Some(&b',') {
        bail!("missing comma before data");
    }
    let data = &rest[i + 1..];
    let ok = if base64 {
        data.bytes().fold(true, |ok, c| ok & is_base64_char(c))
    } else {
        data.bytes().all(is_url_char)
    };
    if !ok {
        bail!("invalid data character");
    }
    Ok((base64, data))
}

/// Whether Go's `url.Parse` fails on the fragment (after the first `#`): a `%` not followed by
/// two hex digits.
fn fragment_escape_bad(url: &str) -> bool {
    url.split_once('#')
        .is_some_and(|(_, frag)| !escapes_ok(frag.as_bytes()))
}

/// Whether Go's `strconv.Unquote` accepts `s` as the inside of a double-quoted string.
fn go_unquote_ok(s: &str) -> Result<()> {
    let b = s.as_bytes();
    let mut i = 0;
    let bad = || anyhow::anyhow!("invalid syntax");
    let hex = |from: usize, n: usize| -> Result<u32> {
        let t = s.get(from..from + n).ok_or_else(bad)?;
        u32::from_str_radix(t, 16).map_err(|_| bad())
    };
    while i < b.len() {
        match b[i] {
            b'"' => return Err(bad()),
            b'\\' => {
                let c = *b.get(i + 1).ok_or_else(bad)?;
                i += 2;
                match c {
                    b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' | b'"' => {}
                    b'x' => {
                        hex(i, 2)?;
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let n = if c == b'u' { 4 } else { 8 };
                        let v = hex(i, n)?;
                        if char::from_u32(v).is_none() {
                            return Err(bad());
                        }
                        i += n;
                    }
                    b'0'..=b'7' => {
                        let t = s.get(i - 1..i + 2).ok_or_else(bad)?;
                        let v = u32::from_str_radix(t, 8).map_err(|_| bad())?;
                        if v > 255 {
                            return Err(bad());
                        }
                        i += 2;
                    }
                    _ => return Err(bad()),
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Whether a source URL is a `data:` URL (which carries its bytes inline).
pub fn is_data_url(url: &str) -> bool {
    url.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
}

/// Decompress gzip bytes, refusing more than [`MAX_DECOMPRESSED`] bytes of output.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .context("invalid gzip data")?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        bail!("gzip data decompresses to more than {MAX_DECOMPRESSED} bytes");
    }
    Ok(out)
}

/// Lower-case hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Check an Ignition verification hash (`sha512-<hex>` or `sha256-<hex>`) against bytes.
/// Returns `Ok(true)` on a match, `Ok(false)` on a mismatch, an error when the hash is malformed.
pub fn check_hash(spec: &str, bytes: &[u8]) -> Result<bool> {
    let Some((kind, want)) = spec.split_once('-') else {
        bail!("hash {spec:?} is not of the form <type>-<hex>");
    };
    let got = match kind {
        "sha512" => hex(&Sha512::digest(bytes)),
        "sha256" => hex(&Sha256::digest(bytes)),
        _ => bail!("hash type {kind:?} is not sha512 or sha256"),
    };
    if want.len() != got.len() || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("hash {spec:?} is not a {kind} hex digest");
    }
    Ok(want.eq_ignore_ascii_case(&got))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_decode() {
        let cases: &[(&str, &[u8])] = &[
            ("data:,", b""),
            ("data:,sctp", b"sctp"),
            ("data:text/plain;charset=utf-8,sctp", b"sctp"),
            ("data:,sctp%0A", b"sctp\n"),
            ("data:;base64,c2N0cA==", b"sctp"),
            ("data:text/plain;charset=utf-8;base64,c2N0cA==", b"sctp"),
            ("data:,a%20b", b"a b"),
            ("data:text/,sctp", b"sctp"),
            ("data:x-a/b;q=\"a\\\"b\";base64,c2N0cB==", b"sctp"),
        ];
        for (url, want) in cases {
            assert_eq!(decode_data_url(url).unwrap(), *want, "{url}");
        }
        assert!(decode_data_url("data:;base64,@@@").is_err());
        // Ignition (dataurl, RFC 2397) refuses what WHATWG readers take.
        for bad in [
            "data:,sctp#frag",
            "data:;base64,c2N0cA",
            "data:text,sctp",
            "data:,%ZZ",
            "data:, sctp",
            "DATA:,sctp",
            "data:TEXT/plain,sctp",
            "data:;base64;a=b,c2N0cA==",
            "data:;charset=\"a\\qb\",sctp",
            "data:,s\u{e9}",
            "data:",
        ] {
            assert!(decode_data_url(bad).is_err(), "{bad}");
        }
        assert!(decode_data_url("https://x/y").is_err());
    }

    /// `check_data_url` (no allocation) agrees with `decode_data_url`, error words included, on
    /// every data part built from the bytes that decide base64 padding and `%` escapes.
    #[test]
    fn check_agrees_with_decode() {
        let alphabet = ["A", "b", "+", "/", "=", "%", "G", "#", " ", "\u{e9}"];
        let mut datas = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for d in &datas {
                for a in alphabet {
                    next.push(format!("{d}{a}"));
                }
            }
            datas.extend(next);
            datas.sort();
            datas.dedup();
        }
        // Two quanta: padding only in the last.
        for d in [
            "AAAAAA==", "AA==AAAA", "AAAA====", "AAAAAAA=", "AAAAA===", "AAAAAAAA",
        ] {
            datas.push(d.to_string());
        }
        let (mut checked, mut fast) = (0, 0);
        let heads = [
            "data:;base64,",
            "data:text/plain,",
            "data:,",
            "data:text/plain;charset=utf-8;base64,",
            "data:text/plain;a=#;base64,",
            "data:te\u{1}xt/plain;base64,",
            "DATA:;base64,",
            "data:;base64;a=b,",
        ];
        for d in &datas {
            for head in heads {
                let url = format!("{head}{d}");
                let (c, want) = (check_data_url(&url), decode_data_url(&url));
                // The one-pass check says yes only where the full one does.
                if base64_data_url_ok(&url) {
                    assert!(want.is_ok(), "{url}");
                    fast += 1;
                }
                assert_eq!(
                    c.as_ref().map_err(ToString::to_string).err(),
                    want.as_ref().map_err(ToString::to_string).err(),
                    "{url}"
                );
                checked += 1;
            }
        }
        assert!(checked > 80_000, "{checked}");
        assert!(fast > 500, "{fast}");
    }

    #[test]
    fn data_urls_round_trip() {
        for bytes in [
            &b""[..],
            b"sctp",
            b"blacklist sctp\n",
            &[0u8, 255, 10, 37][..],
        ] {
            let url = encode_data_url(bytes);
            assert_eq!(decode_data_url(&url).unwrap(), bytes, "{url}");
        }
        assert_eq!(encode_data_url(b""), "data:,");
        assert_eq!(encode_data_url(b"sctp"), "data:,sctp");
    }

    #[test]
    fn budgets_and_kept_sizes() {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 20]).unwrap();
        let gz = z.finish().unwrap();
        use base64::Engine;
        let url = format!(
            "data:;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&gz)
        );
        let hash = format!("sha256-{}", sha256_hex(&vec![0u8; 1 << 20]));
        let b = Budget::new(3 << 20);
        let (d, m) = decode_contents(&url, true, Some(&hash), 1 << 10, &b).unwrap();
        assert_eq!((d, m), (Decoded::TooBig(1 << 20), Some(true)));
        let (d, _) = decode_contents(&url, true, None, 2 << 20, &b).unwrap();
        assert_eq!(d.len(), 1 << 20);
        assert!(matches!(d, Decoded::Bytes(_)));
        let e = decode_contents(&url, true, None, 0, &b).unwrap_err();
        assert!(e.to_string().contains("add up to more than"), "{e}");
        assert!(b.exceeded());
        // Once passed, even a tiny resource is refused.
        assert!(decode_contents("data:,x", false, None, 10, &b).is_err());
        let b = Budget::new(10);
        let (d, m) = decode_contents("data:,sctp", false, Some("sha256-00"), 10, &b)
            .map_err(|e| e.to_string())
            .unwrap_or((Decoded::TooBig(0), None));
        assert_eq!(
            (d, m),
            (Decoded::TooBig(0), None),
            "a malformed hash is an error"
        );
    }

    #[test]
    fn hashes() {
        let h = format!("sha256-{}", sha256_hex(b"sctp"));
        assert!(check_hash(&h, b"sctp").unwrap());
        assert!(!check_hash(&h, b"sctp\n").unwrap());
        assert!(check_hash("md5-00", b"").is_err());
        assert!(check_hash("sha512-zz", b"").is_err());
    }
}
