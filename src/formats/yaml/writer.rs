//! Writing YAML that YAML 1.1 and 1.2 readers read back as the same JSON value, in kubectl's
//! layout (or another's indentation).

use super::*;
/// Write a JSON value as a block-style YAML document (no leading `---`, ends with a newline).
///
/// Mappings and sequences are written in block style with 2-space indentation, a sequence under
/// a mapping key at the key's indentation (as `oc get -o yaml` does); empty ones as `{}` and
/// `[]`. Strings are plain only when every YAML 1.1 and 1.2 reader reads them back as the same
/// string, else double-quoted with escapes. Floats always carry a `.` and a signed exponent so
/// that PyYAML reads them as floats too. Values nested deeper than [`parse_documents`] accepts
/// are written, but do not read back.
pub fn to_yaml(value: &Value) -> String {
    to_yaml_at(value, 0, false, &Indents::KUBECTL)
}

/// How written block YAML is indented, and how modes are spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Indents {
    /// Spaces a mapping nested under a key is indented by.
    pub step: usize,
    /// Spaces the `-` of a sequence under a mapping key is indented by (0: at the key's column).
    pub seq: usize,
    /// Write an integer under a `mode` key in octal with a leading `0` (`0644`), as Butane
    /// sources do: Butane's YAML reader (go-yaml v3) reads that as 420, as YAML 1.1 readers do.
    pub octal_modes: bool,
}

impl Indents {
    /// What [`to_yaml`] writes, as `oc get -o yaml` does: 2 spaces, sequences at the key's column.
    pub const KUBECTL: Indents = Indents {
        step: 2,
        seq: 0,
        octal_modes: false,
    };
}

/// [`to_yaml`] with other indentation: lines after the first start at `indent` spaces (more for
/// nested values); with `inline`, the first line has no indentation (it continues a line after
/// `- ` or `key: `). A scalar or empty collection is one line. Ends with a newline.
pub fn to_yaml_at(value: &Value, indent: usize, inline: bool, indents: &Indents) -> String {
    let mut out = String::new();
    write_node(&mut out, value, indent, inline, indents, None);
    out
}

/// `value` in flow style on one line (`{path: /etc/x, mode: 420}`), read back as the same value
/// by YAML 1.1 and 1.2 readers: strings holding flow indicators are quoted.
pub fn to_flow(value: &Value, indents: &Indents) -> String {
    let mut out = String::new();
    write_flow(&mut out, value, indents, None);
    out
}

/// Write `value` in flow style; `key` is the mapping key it is the value of.
pub(super) fn write_flow(out: &mut String, value: &Value, indents: &Indents, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, child)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&flow_string(k));
                out.push_str(": ");
                write_flow(out, child, indents, Some(k));
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(out, item, indents, None);
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(&flow_string(s)),
        scalar => out.push_str(&scalar_text(scalar, indents, key)),
    }
}

/// A string for flow context: plain if unambiguous there too, else double-quoted.
pub(super) fn flow_string(s: &str) -> String {
    if is_plain_safe(s) && !s.contains([',', '[', ']', '{', '}']) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// Whether `value` is written as a block (a non-empty mapping or sequence).
pub(super) fn is_block(value: &Value) -> bool {
    value.as_object().is_some_and(|m| !m.is_empty())
        || value.as_array().is_some_and(|a| !a.is_empty())
}

/// Write `value` at `indent`; with `inline`, its first line continues the current one. `key` is
/// the mapping key it is the value of.
pub(super) fn write_node(
    out: &mut String,
    value: &Value,
    indent: usize,
    inline: bool,
    indents: &Indents,
    key: Option<&str>,
) {
    let pad = |out: &mut String, first: bool| {
        if !(first && inline) {
            out.extend(std::iter::repeat_n(' ', indent));
        }
    };
    match value {
        Value::Object(map) if is_block(value) => {
            for (i, (name, child)) in map.iter().enumerate() {
                pad(out, i == 0);
                let key = string_text(name);
                let explicit = key.chars().count() > MAX_IMPLICIT_KEY;
                if explicit {
                    let _ = write!(out, "? {key}\n{}:", " ".repeat(indent));
                } else {
                    let _ = write!(out, "{key}:");
                }
                if is_block(child) {
                    out.push('\n');
                    let nested = match child.is_object() || explicit {
                        true => indents.step,
                        false => indents.seq,
                    };
                    write_node(out, child, indent + nested, false, indents, Some(name));
                } else {
                    out.push(' ');
                    write_node(out, child, indent, true, indents, Some(name));
                }
            }
        }
        Value::Array(items) if is_block(value) => {
            for (i, item) in items.iter().enumerate() {
                pad(out, i == 0);
                out.push_str("- ");
                write_node(out, item, indent + 2, true, indents, None);
            }
        }
        scalar => {
            out.push_str(&scalar_text(scalar, indents, key));
            out.push('\n');
        }
    }
}

/// The text of a scalar (or empty collection) value; `key` is the mapping key it is the value of.
pub(super) fn scalar_text(value: &Value, indents: &Indents, key: Option<&str>) -> String {
    match value {
        Value::Number(n) if indents.octal_modes && key == Some("mode") && n.is_u64() => {
            format!("0{:o}", n.as_u64().unwrap_or(0))
        }
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => float_text(&n.to_string()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// serde_json's float text with the `.` and exponent sign YAML 1.1 needs (`1e16` → `1.0e+16`).
pub(super) fn float_text(s: &str) -> String {
    let (mantissa, exponent) = s.split_once(['e', 'E']).unwrap_or((s, ""));
    let dot = if mantissa.contains('.') { "" } else { ".0" };
    match exponent {
        "" => format!("{mantissa}{dot}"),
        e if e.starts_with(['+', '-']) => format!("{mantissa}{dot}e{e}"),
        e => format!("{mantissa}{dot}e+{e}"),
    }
}

/// A string as a plain scalar if that is unambiguous, else double-quoted.
pub(super) fn string_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// Whether every YAML 1.1 and 1.2 reader reads `s` written plain as the string `s`.
pub(super) fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    s.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !"-?:,[]{}#&*!|>'\"%@` ".contains(first)
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.starts_with("...")
        && resolve_plain(s) == Plain::Str
        && !SPECIAL_WORDS.contains(&s.to_ascii_lowercase().as_str())
        && !looks_numeric(s)
}

/// Words some reader resolves to a non-string (in any capitalisation, to be safe).
pub(super) const SPECIAL_WORDS: [&str; 12] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=",
];

/// Whether `s` could be a number or timestamp in some reader: it starts (after a sign) with a digit
/// or `.`, has only characters those use, and at most one `.` (`3.2.0` is a number nowhere).
pub(super) fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.matches('.').count() <= 1
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.+- ".contains(c))
}

/// `s` double-quoted, with escapes YAML 1.1 and 1.2 share; printable non-ASCII stays readable.
pub(super) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if must_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters that YAML 1.1 or 1.2 treats as non-printable or as line breaks.
pub(super) fn must_escape(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}
