//! JSON as text: a strict reader (duplicate keys and positions reported) and a span locator that
//! lets a patch touch only the bytes it changes, so a patched config keeps every other byte —
//! escapes, spacing and key order included.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Largest config file read (a guard against being handed a disk image by mistake).
pub const MAX_CONFIG_BYTES: u64 = 256 << 20;

/// Parse JSON strictly: like `serde_json::from_slice` into a `Value` (order kept), but a key given
/// twice in one object is an error (Ignition and the MCO would each take a different one).
/// Errors carry serde_json's line and column.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// [`parse_strict`] with errors as `NAME:LINE:COLUMN: what`.
pub fn parse_named(name: &str, bytes: &[u8]) -> anyhow::Result<Value> {
    parse_strict(bytes).map_err(|e| {
        let msg = e.to_string();
        let what = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        anyhow::anyhow!("{name}:{}:{}: {what}", e.line(), e.column())
    })
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let v = map.next_value_seed(StrictValue)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// One JSON pointer reference token for `key` (RFC 6901: `~` as `~0`, `/` as `~1`).
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Render a JSON pointer (`/storage/files/0`) as a JSON path (`$.storage.files[0]`).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else if seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push('.');
            out.push_str(&seg);
        } else {
            out.push_str(&format!("[{seg:?}]"));
        }
    }
    out
}

/// A located JSON text: finds the byte spans of values in text that is already known to be valid.
pub struct Spans<'a> {
    text: &'a [u8],
}

/// One member of an object: its key (decoded), the key's span (with quotes) and the value's span.
#[derive(Debug, Clone)]
pub struct Member {
    /// Decoded key.
    pub key: String,
    /// Byte span of the key, quotes included.
    pub key_span: Range<usize>,
    /// Byte span of the value.
    pub value: Range<usize>,
}

impl<'a> Spans<'a> {
    /// Wrap valid JSON text.
    pub fn new(text: &'a [u8]) -> Spans<'a> {
        Spans { text }
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while i < self.text.len() && matches!(self.text[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    fn string_end(&self, start: usize) -> usize {
        let mut i = start + 1;
        while let Some(off) = memchr::memchr2(b'"', b'\\', &self.text[i.min(self.text.len())..]) {
            i += off;
            if self.text[i] == b'"' {
                return i + 1;
            }
            i += 2;
        }
        self.text.len()
    }

    /// The span of the value that starts at or after `i` (whitespace skipped).
    pub fn value_at(&self, i: usize) -> Range<usize> {
        let start = self.skip_ws(i);
        let Some(&first) = self.text.get(start) else {
            return start..start;
        };
        let end = match first {
            b'"' => self.string_end(start),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = start;
                while j < self.text.len() {
                    match self.text[j] {
                        b'"' => {
                            j = self.string_end(j);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                j += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                j
            }
            _ => {
                let mut j = start;
                while j < self.text.len()
                    && !matches!(
                        self.text[j],
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    j += 1;
                }
                j
            }
        };
        start..end
    }

    /// Members of the object at `span`.
    pub fn members(&self, span: &Range<usize>) -> Vec<Member> {
        let mut out = Vec::new();
        let mut i = self.skip_ws(span.start + 1);
        while i < span.end && self.text[i] == b'"' {
            let key_start = i;
            let key_end = self.string_end(i);
            let key: String = serde_json::from_slice(&self.text[i..key_end]).unwrap_or_default();
            let colon = self.skip_ws(key_end);
            let value = self.value_at(colon + 1);
            i = self.skip_ws(value.end);
            out.push(Member {
                key,
                key_span: key_start..key_end,
                value,
            });
            if self.text.get(i) == Some(&b',') {
                i = self.skip_ws(i + 1);
            }
        }
        out
    }

    /// Element spans of the array at `span`.
    pub fn elements(&self, span: &Range<usize>) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut i = self.skip_ws(span.start + 1);
        while i < span.end && self.text[i] != b']' {
            let v = self.value_at(i);
            i = self.skip_ws(v.end);
            out.push(v);
            if self.text.get(i) == Some(&b',') {
                i += 1;
            }
        }
        out
    }

    /// The span of the value at a JSON pointer below the value starting at `start`, if present.
    /// Walks only as far as it must: values before the wanted key are skipped, not descended into.
    pub fn find(&self, start: usize, pointer: &[&str]) -> Option<Range<usize>> {
        let mut at = self.skip_ws(start);
        for seg in pointer {
            at = match self.text.get(at)? {
                b'{' => self.member_start(at, seg)?,
                b'[' => self.element_start(at, seg.parse().ok()?)?,
                _ => return None,
            };
        }
        Some(self.value_at(at))
    }

    /// Where the value of `key` starts in the object at `at`.
    fn member_start(&self, at: usize, key: &str) -> Option<usize> {
        let mut i = self.skip_ws(at + 1);
        while self.text.get(i) == Some(&b'"') {
            let key_end = self.string_end(i);
            let k: String = serde_json::from_slice(&self.text[i..key_end]).ok()?;
            let value = self.skip_ws(self.skip_ws(key_end) + 1);
            if k == key {
                return Some(value);
            }
            i = self.skip_ws(self.value_at(value).end);
            if self.text.get(i) == Some(&b',') {
                i = self.skip_ws(i + 1);
            }
        }
        None
    }

    /// Where element `n` starts in the array at `at`.
    fn element_start(&self, at: usize, n: usize) -> Option<usize> {
        let mut i = self.skip_ws(at + 1);
        for _ in 0..n {
            if matches!(self.text.get(i), None | Some(b']')) {
                return None;
            }
            i = self.skip_ws(self.value_at(i).end);
            if self.text.get(i) == Some(&b',') {
                i = self.skip_ws(i + 1);
            }
        }
        (!matches!(self.text.get(i), None | Some(b']'))).then_some(i)
    }

    /// The whitespace that starts the line holding byte `i`.
    pub fn line_indent(&self, i: usize) -> &'a str {
        let line_start = self.text[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let mut j = line_start;
        while j < i && matches!(self.text[j], b' ' | b'\t') {
            j += 1;
        }
        std::str::from_utf8(&self.text[line_start..j]).unwrap_or("")
    }

    /// The text between two offsets.
    pub fn slice(&self, r: Range<usize>) -> &'a str {
        std::str::from_utf8(&self.text[r]).unwrap_or("")
    }
}

/// How a JSON text is laid out, so that inserted values look like their neighbours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// One level of indentation, or `None` for compact (single-line) JSON.
    pub indent: Option<String>,
}

impl Layout {
    /// Detect the layout of a JSON text from its root object's first member.
    pub fn detect(text: &[u8]) -> Layout {
        let spans = Spans::new(text);
        let root = spans.skip_ws(0);
        let first = spans.skip_ws(root + 1);
        let between = &text[(root + 1).min(first)..first];
        match between.iter().rposition(|&b| b == b'\n') {
            Some(p) => Layout {
                indent: Some(String::from_utf8_lossy(&between[p + 1..]).into_owned()),
            },
            None => Layout { indent: None },
        }
    }

    /// Serialise a value in this layout, continuing lines at `base` indentation.
    pub fn render(&self, v: &Value, base: &str) -> String {
        match &self.indent {
            None => serde_json::to_string(v).unwrap_or_default(),
            Some(unit) => {
                let mut buf = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
                let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
                if serde::Serialize::serialize(v, &mut ser).is_err() {
                    return String::new();
                }
                String::from_utf8_lossy(&buf).replace('\n', &format!("\n{base}"))
            }
        }
    }
}

/// A set of non-overlapping text replacements.
#[derive(Default, Debug)]
pub struct Splice {
    edits: Vec<(Range<usize>, String)>,
}

impl Splice {
    /// Replace `range` with `text` (an empty range inserts).
    pub fn replace(&mut self, range: Range<usize>, text: String) {
        self.edits.push((range, text));
    }

    /// Apply the edits to `text`.
    pub fn apply(self, text: &[u8]) -> Vec<u8> {
        self.pieces(text).to_vec()
    }

    /// The edited text as pieces (runs of `text` and the new text between them), for writing a
    /// large file out without a second copy of it in memory.
    pub fn pieces(mut self, text: &[u8]) -> Spliced<'_> {
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut pieces = Vec::with_capacity(2 * self.edits.len() + 1);
        let mut at = 0;
        for (r, t) in self.edits {
            pieces.push(Piece::Old(&text[at..r.start]));
            pieces.push(Piece::New(t));
            at = r.end;
        }
        pieces.push(Piece::Old(&text[at..]));
        Spliced { pieces }
    }
}

/// A text made of runs of an original and new text ([`Splice::pieces`]).
#[derive(Debug)]
pub struct Spliced<'a> {
    pieces: Vec<Piece<'a>>,
}

#[derive(Debug)]
enum Piece<'a> {
    Old(&'a [u8]),
    New(String),
}

impl<'a> Spliced<'a> {
    /// `text` unchanged.
    pub fn whole(text: &'a [u8]) -> Spliced<'a> {
        Spliced {
            pieces: vec![Piece::Old(text)],
        }
    }

    fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.pieces.iter().map(|p| match p {
            Piece::Old(b) => *b,
            Piece::New(t) => t.as_bytes(),
        })
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.slices().map(<[u8]>::len).sum()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it equals `other`, byte for byte (without building it).
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut at = 0;
        self.slices().all(|s| {
            let same = other[at..at + s.len()] == *s;
            at += s.len();
            same
        })
    }

    /// The whole text.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.slices().for_each(|s| out.extend_from_slice(s));
        out
    }

    /// Write the whole text to `w`.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.slices().try_for_each(|s| w.write_all(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_rejects_duplicates_with_position() {
        let e = parse_strict(b"{\n \"a\": 1,\n \"a\": 2}").unwrap_err();
        assert!(e.to_string().contains("duplicate key \"a\""), "{e}");
        assert_eq!(e.line(), 3);
        assert!(parse_strict(b"{\"a\": {\"b\": 1}, \"b\": [1, {\"a\": 1}]}").is_ok());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_strict(deep.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("recursion"));
        assert!(parse_strict(b"{\"a\": \"\xff\"}").is_err());
    }

    #[test]
    fn spans_locate_values() {
        let t = br#"{"a": {"b": [1, "x]\"", {"c": null}], "k\"q": 2}, "z": true}"#;
        let s = Spans::new(t);
        let root = s.value_at(0);
        assert_eq!(root, 0..t.len());
        let b = s.find(0, &["a", "b"]).unwrap();
        assert_eq!(s.slice(b.clone()), r#"[1, "x]\"", {"c": null}]"#);
        let els = s.elements(&b);
        assert_eq!(s.slice(els[1].clone()), r#""x]\"""#);
        assert_eq!(s.slice(s.find(0, &["a", "b", "2", "c"]).unwrap()), "null");
        assert_eq!(s.slice(s.find(0, &["a", "k\"q"]).unwrap()), "2");
        let members = s.members(&root);
        assert_eq!(members.len(), 2);
        assert_eq!(s.slice(members[1].key_span.clone()), "\"z\"");
        assert!(s.find(0, &["nope"]).is_none());
    }

    #[test]
    fn layouts() {
        assert_eq!(Layout::detect(b"{\"a\":1}").indent, None);
        assert_eq!(
            Layout::detect(b"{\n    \"a\": 1\n}").indent.as_deref(),
            Some("    ")
        );
        let l = Layout {
            indent: Some("  ".into()),
        };
        assert_eq!(
            l.render(&serde_json::json!({"a": [1]}), "  "),
            "{\n    \"a\": [\n      1\n    ]\n  }"
        );
    }

    #[test]
    fn paths() {
        assert_eq!(
            pointer_to_path("/storage/files/0/mode"),
            "$.storage.files[0].mode"
        );
        assert_eq!(pointer_to_path(""), "$");
        assert_eq!(pointer_to_path("/a~1b"), "$[\"a/b\"]");
    }
}
