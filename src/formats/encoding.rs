//! Contents encodings that Ignition configs use: data URLs, gzip, verification hashes.

use std::io::Read;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256, Sha512};

/// Largest decompressed size accepted for one file's contents (a gzip bomb guard).
pub const MAX_DECOMPRESSED: u64 = 256 << 20;

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

/// Decode a `data:` URL (RFC 2397: `data:,`, `%XX` escapes, `;base64,`, media types and parameters).
pub fn decode_data_url(url: &str) -> Result<Vec<u8>> {
    // Fast path for the common large case (installer-made configs carry megabytes of plain
    // base64): decode directly; anything unusual goes through the full WHATWG processing.
    if let Some((meta, payload)) = url.get(5..).and_then(|rest| rest.split_once(',')) {
        if meta.trim_end().to_ascii_lowercase().ends_with(";base64") {
            use base64::Engine;
            if let Ok(v) = base64::engine::general_purpose::STANDARD.decode(payload) {
                return Ok(v);
            }
        }
    }
    let parsed = data_url::DataUrl::process(url).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (body, _fragment) = parsed
        .decode_to_vec()
        .map_err(|_| anyhow::anyhow!("invalid base64 in data URL"))?;
    Ok(body)
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
            ("DATA:,a%20b", b"a b"),
        ];
        for (url, want) in cases {
            assert_eq!(decode_data_url(url).unwrap(), *want, "{url}");
        }
        assert!(decode_data_url("data:;base64,@@@").is_err());
        assert!(decode_data_url("https://x/y").is_err());
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
    fn hashes() {
        let h = format!("sha256-{}", sha256_hex(b"sctp"));
        assert!(check_hash(&h, b"sctp").unwrap());
        assert!(!check_hash(&h, b"sctp\n").unwrap());
        assert!(check_hash("md5-00", b"").is_err());
        assert!(check_hash("sha512-zz", b"").is_err());
    }
}
