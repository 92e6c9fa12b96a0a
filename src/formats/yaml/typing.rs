//! YAML 1.1 typing as go-yaml v2 (and so kubectl and oc) resolves plain scalars: `0644` is 420,
//! `yes` is true, `1_000` is 1000; tags (`!!str`, `!!binary`, `!!int`) as it reads them.

use super::*;
/// What a plain scalar's text means under go-yaml v2's YAML 1.1 rules.
#[derive(Debug, PartialEq)]
pub(super) enum Plain {
    Null,
    Bool(bool),
    Int(Number),
    Float(f64),
    Str,
}

/// Resolve a scalar given its style and full tag; the flag is true for a merge key. As in go-yaml
/// v2, tags other than the core scalar ones (local tags like `!foo` included) make a string.
pub(super) fn resolve_scalar(
    text: &str,
    style: Style,
    tag: Option<&str>,
) -> Result<(Value, bool), String> {
    let string = |s: String| Ok((Value::String(s), false));
    let plain = resolve_plain(text);
    let Some(tag) = tag else {
        return match plain {
            _ if style != Style::Plain => string(text.to_owned()),
            Plain::Null => Ok((Value::Null, false)),
            Plain::Bool(b) => Ok((Value::Bool(b), false)),
            Plain::Int(n) => Ok((Value::Number(n), false)),
            Plain::Float(f) => float_value(f),
            Plain::Str => Ok((Value::String(text.to_owned()), text == "<<")),
        };
    };
    match (tag.strip_prefix(CORE_TAG), plain) {
        (Some("binary"), _) => decode_base64(text).and_then(string),
        (Some("int"), Plain::Int(n)) => Ok((Value::Number(n), false)),
        (Some("float"), Plain::Int(n)) => float_value(n.as_f64().unwrap_or(f64::NAN)),
        (Some("float"), Plain::Float(f)) => float_value(f),
        (Some("bool"), Plain::Bool(b)) => Ok((Value::Bool(b), false)),
        (Some("null"), Plain::Null) => Ok((Value::Null, false)),
        (Some(t @ ("int" | "float" | "bool" | "null")), _) => Err(format!("not a valid !!{t}")),
        _ => string(text.to_owned()),
    }
}

/// Decode `!!binary` text as go-yaml does (standard alphabet, padding required, line breaks
/// ignored); bytes that are not UTF-8 become U+FFFD, as Go's JSON encoder makes them.
pub(super) fn decode_base64(text: &str) -> Result<String, String> {
    let invalid = || "invalid base64 data".to_owned();
    let symbols: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\n' | b'\r'))
        .collect();
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    for (i, chunk) in symbols.chunks(4).enumerate() {
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if chunk.len() < 4 || pad > 2 || (pad > 0 && (i + 1) * 4 != symbols.len()) {
            return Err(invalid());
        }
        let mut bits = 0u32;
        for &b in &chunk[..4 - pad] {
            let sextet = BASE64.iter().position(|&a| a == b).ok_or_else(invalid)?;
            bits = bits << 6 | sextet as u32;
        }
        let bytes = (bits << (6 * pad)).to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A float as JSON; infinities and NaN are errors.
pub(super) fn float_value(f: f64) -> Result<(Value, bool), String> {
    Number::from_f64(f)
        .map(|n| (Value::Number(n), false))
        .ok_or_else(|| "JSON cannot represent infinity or NaN".to_owned())
}

/// Resolve plain scalar text as go-yaml v2 does.
pub(super) fn resolve_plain(s: &str) -> Plain {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Plain::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Plain::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        _ => {}
    }
    // Go reads a leading `.` with `ParseFloat` (underscores only between digits), a leading
    // digit or sign with `ParseInt` and then `ParseFloat` after dropping all underscores.
    let dot = s.starts_with('.');
    if !dot && !s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
        return Plain::Str;
    }
    let plain = s.replace('_', "");
    match parse_int(&plain) {
        Some(n) if !dot => Plain::Int(n),
        _ if (!dot || underscores_between_digits(s)) && is_float_syntax(&plain) => {
            finite_float(&plain)
        }
        _ => Plain::Str,
    }
}

/// Whether every `_` in `s` sits between two digits (Go's rule for `ParseFloat`).
pub(super) fn underscores_between_digits(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: Option<usize>| i.and_then(|i| b.get(i)).is_some_and(u8::is_ascii_digit);
    (0..b.len()).all(|i| b[i] != b'_' || (digit(i.checked_sub(1)) && digit(Some(i + 1))))
}

/// A float if `s` parses to a finite one (Go reports overflow to infinity as an error).
pub(super) fn finite_float(s: &str) -> Plain {
    let finite = s.parse::<f64>().ok().filter(|f| f.is_finite());
    finite.map_or(Plain::Str, Plain::Float)
}

/// An integer as Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`) reads it.
pub(super) fn parse_int(s: &str) -> Option<Number> {
    let (negative, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = match lower.get(..2) {
        Some("0x") => (16, &lower[2..]),
        Some("0o") => (8, &lower[2..]),
        Some("0b") => (2, &lower[2..]),
        Some(_) if lower.starts_with('0') => (8, &lower[1..]),
        _ => (10, &lower[..]),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = 0i128 - i128::from(magnitude);
        i64::try_from(value).ok().map(Number::from)
    } else if let Ok(value) = i64::try_from(magnitude) {
        Some(Number::from(value))
    } else {
        (!signed).then(|| Number::from(magnitude))
    }
}

/// Whether `s` matches `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
pub(super) fn is_float_syntax(s: &str) -> bool {
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction) && mantissa.len() > 1,
        None => digits(mantissa) && !mantissa.is_empty(),
    };
    mantissa_ok && exponent.is_none_or(|e| digits(e) && !e.is_empty())
}
