//! Ignition configs read as Ignition reads them: Go's `encoding/json` decoding into the spec's
//! structs. A key matches a field exactly or, failing that, case-insensitively (Go's `EqualFold`),
//! and when several keys land on one field the last one in the text wins (also for exact
//! duplicates); invalid UTF-8 inside strings becomes U+FFFD; `-0` is 0. Nesting may go 10,000
//! deep in Go; modlayer reads 1,000 levels (a deliberate budget).
//! The result is a plain JSON value with each field under its spec name, so every later check
//! reads what Ignition reads.

use serde_json::{Map, Number, Value};

/// How deep modlayer reads nested values: 1,000 levels, a deliberate budget below Go's
/// `encoding/json` limit of 10,000 ("exceeded max depth") so that no value is deeper than the
/// stack of any thread can walk; deeper configs are refused with this message.
const MAX_DEPTH: usize = 1_000;

/// Every JSON field name of the Ignition 3.x spec structs (config/v3_*/types, coreos/ignition
/// v2.20.0): keys that fold to one of these are renamed to it.
const FIELDS: &[&str] = &[
    "advertisement",
    "append",
    "certificateAuthorities",
    "cex",
    "clevis",
    "compression",
    "config",
    "contents",
    "custom",
    "device",
    "devices",
    "directories",
    "discard",
    "disks",
    "dropins",
    "enabled",
    "files",
    "filesystems",
    "format",
    "gecos",
    "gid",
    "group",
    "groups",
    "guid",
    "hard",
    "hash",
    "homeDir",
    "httpHeaders",
    "httpProxy",
    "httpResponseHeaders",
    "httpTotal",
    "httpsProxy",
    "id",
    "ignition",
    "kernelArguments",
    "keyFile",
    "label",
    "level",
    "links",
    "luks",
    "mask",
    "merge",
    "mode",
    "mountOptions",
    "name",
    "needsNetwork",
    "noCreateHome",
    "noLogInit",
    "noProxy",
    "noUserGroup",
    "number",
    "openOptions",
    "options",
    "overwrite",
    "partitions",
    "passwd",
    "passwordHash",
    "path",
    "pin",
    "primaryGroup",
    "proxy",
    "raid",
    "replace",
    "resize",
    "security",
    "shell",
    "shouldExist",
    "shouldNotExist",
    "sizeMiB",
    "source",
    "spares",
    "sshAuthorizedKeys",
    "startMiB",
    "storage",
    "system",
    "systemd",
    "tang",
    "target",
    "threshold",
    "thumbprint",
    "timeouts",
    "tls",
    "tpm2",
    "typeGuid",
    "uid",
    "units",
    "url",
    "user",
    "users",
    "uuid",
    "value",
    "verification",
    "version",
    "wipeFilesystem",
    "wipePartitionEntry",
    "wipeTable",
    "wipeVolume",
];

/// A syntax error, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// What reading with Go's rules changed against a strict reading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leniency {
    /// Keys given more than once (the last one counted).
    pub duplicate_keys: Vec<String>,
    /// Keys matched case-insensitively (`Source` read as `source`).
    pub folded_keys: Vec<String>,
    /// Whether invalid UTF-8 was replaced.
    pub replaced_utf8: bool,
    /// Line and column of the first duplicate key or invalid UTF-8.
    pub first_at: Option<(usize, usize)>,
}

impl Leniency {
    /// Whether the text reads the same strictly.
    pub fn is_empty(&self) -> bool {
        self.duplicate_keys.is_empty() && self.folded_keys.is_empty() && !self.replaced_utf8
    }

    /// One line for messages (`LINE:COLUMN: ` first when known).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let at = self
            .first_at
            .map(|(l, c)| format!("{l}:{c}: "))
            .unwrap_or_default();
        if !self.duplicate_keys.is_empty() {
            parts.push(format!(
                "keys given twice ({})",
                self.duplicate_keys.join(", ")
            ));
        }
        if !self.folded_keys.is_empty() {
            parts.push(format!(
                "keys in another case ({})",
                self.folded_keys.join(", ")
            ));
        }
        if self.replaced_utf8 {
            parts.push("invalid UTF-8 (read as U+FFFD)".into());
        }
        format!("{at}{}", parts.join("; "))
    }
}

/// Parse Ignition config bytes as Go's `encoding/json` reads them into Ignition's structs.
pub fn parse(bytes: &[u8]) -> Result<(Value, Leniency), SyntaxError> {
    let mut len = Leniency::default();
    let mut p = Parser {
        b: bytes,
        i: 0,
        len: &mut len,
    };
    let v = p.document()?;
    let mut v = v;
    fold(&mut v, "", &mut len);
    Ok((v, len))
}

/// Rename keys that match a spec field only case-insensitively to the field's name, the key that
/// comes last in the text winning (Go's rule), in every object of a config value already read
/// (a MachineConfig's `spec.config`, or a value from [`parse`]). Returns the keys folded.
pub fn fold_value(v: &mut Value) -> Vec<String> {
    let mut len = Leniency::default();
    fold(v, "", &mut len);
    len.folded_keys
}

fn go_fold_eq(a: &str, b: &str) -> bool {
    let norm = |c: char| match c {
        '\u{017F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    a.chars().map(norm).eq(b.chars().map(norm))
}

fn fold(v: &mut Value, at: &str, len: &mut Leniency) {
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                fold(x, &format!("{at}/{i}"), len);
            }
        }
        Value::Object(m) => {
            let needs = m
                .keys()
                .any(|k| !FIELDS.contains(&k.as_str()) && FIELDS.iter().any(|f| go_fold_eq(f, k)));
            if needs {
                let old = std::mem::take(m);
                for (k, val) in old {
                    let name = if FIELDS.contains(&k.as_str()) {
                        k
                    } else if let Some(f) = FIELDS.iter().find(|f| go_fold_eq(f, &k)) {
                        len.folded_keys.push(format!("{at}/{k}"));
                        f.to_string()
                    } else {
                        k
                    };
                    // Document order: a later key replaces an earlier one.
                    m.shift_remove(&name);
                    m.insert(name, val);
                }
            }
            for (k, x) in m.iter_mut() {
                fold(x, &format!("{at}/{k}"), len);
            }
        }
        _ => {}
    }
}

const DEPTH_MESSAGE: &str =
    "values nest more than 1000 levels deep (modlayer's limit; Ignition reads up to 10000)";

struct Parser<'a, 'l> {
    b: &'a [u8],
    i: usize,
    len: &'l mut Leniency,
}

enum Frame {
    Arr(Vec<Value>),
    Obj(Map<String, Value>, String),
}

impl Parser<'_, '_> {
    fn err(&self, msg: impl Into<String>) -> SyntaxError {
        let upto = &self.b[..self.i.min(self.b.len())];
        let line = upto.iter().filter(|&&c| c == b'\n').count() + 1;
        let column = upto.iter().rev().take_while(|&&c| c != b'\n').count() + 1;
        SyntaxError {
            line,
            column,
            message: msg.into(),
        }
    }

    /// Remember the current place as the first lenient one.
    fn mark(&mut self) {
        if self.len.first_at.is_none() {
            let e = self.err("");
            self.len.first_at = Some((e.line, e.column));
        }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn document(&mut self) -> Result<Value, SyntaxError> {
        let v = self.value()?;
        self.ws();
        if self.i < self.b.len() {
            return Err(self.err("invalid character after top-level value"));
        }
        Ok(v)
    }

    /// One value, iteratively (no recursion: deep nesting cannot overflow the stack).
    fn value(&mut self) -> Result<Value, SyntaxError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.ws();
            // Read a value start.
            let mut v = match self.b.get(self.i) {
                None => return Err(self.err("unexpected end of JSON input")),
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        Value::Object(Map::new())
                    } else {
                        let k = self.key()?;
                        stack.push(Frame::Obj(Map::new(), k));
                        if stack.len() > MAX_DEPTH {
                            return Err(self.err(DEPTH_MESSAGE));
                        }
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        Value::Array(Vec::new())
                    } else {
                        stack.push(Frame::Arr(Vec::new()));
                        if stack.len() > MAX_DEPTH {
                            return Err(self.err(DEPTH_MESSAGE));
                        }
                        continue;
                    }
                }
                Some(b'"') => Value::String(self.string()?),
                Some(b't') => self.lit("true", Value::Bool(true))?,
                Some(b'f') => self.lit("false", Value::Bool(false))?,
                Some(b'n') => self.lit("null", Value::Null)?,
                Some(c) if *c == b'-' || c.is_ascii_digit() => self.number()?,
                Some(_) => return Err(self.err("invalid character looking for beginning of value")),
            };
            // Fold the value into its containers.
            loop {
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Frame::Arr(a)) => {
                        a.push(v);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => {
                                self.i += 1;
                                break;
                            }
                            Some(b']') => {
                                self.i += 1;
                                let Some(Frame::Arr(a)) = stack.pop() else {
                                    unreachable!()
                                };
                                v = Value::Array(a);
                            }
                            _ => return Err(self.err("invalid character after array element")),
                        }
                    }
                    Some(Frame::Obj(m, k)) => {
                        let key = std::mem::take(k);
                        if m.shift_remove(&key).is_some() {
                            self.len.duplicate_keys.push(key.clone());
                            self.mark();
                        }
                        m.insert(key, v);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => {
                                self.i += 1;
                                self.ws();
                                let nk = self.key()?;
                                if let Some(Frame::Obj(_, k)) = stack.last_mut() {
                                    *k = nk;
                                }
                                break;
                            }
                            Some(b'}') => {
                                self.i += 1;
                                let Some(Frame::Obj(m, _)) = stack.pop() else {
                                    unreachable!()
                                };
                                v = Value::Object(m);
                            }
                            _ => {
                                return Err(
                                    self.err("invalid character after object key:value pair")
                                )
                            }
                        }
                    }
                }
            }
        }
    }

    fn key(&mut self) -> Result<String, SyntaxError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.err("invalid character looking for beginning of object key string"));
        }
        let k = self.string()?;
        self.ws();
        if self.b.get(self.i) != Some(&b':') {
            return Err(self.err("invalid character after object key"));
        }
        self.i += 1;
        Ok(k)
    }

    fn lit(&mut self, word: &str, v: Value) -> Result<Value, SyntaxError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err(format!("invalid character in literal {word}")))
        }
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(c) if c.is_ascii_digit() => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => {
                self.i = i;
                return Err(self.err("invalid character in numeric literal"));
            }
        }
        let mut int = true;
        if b.get(i) == Some(&b'.') {
            int = false;
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                self.i = i;
                return Err(self.err("invalid character after decimal point in numeric literal"));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e') | Some(b'E')) {
            int = false;
            i += 1;
            if matches!(b.get(i), Some(b'+') | Some(b'-')) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                self.i = i;
                return Err(self.err("invalid character in exponent of numeric literal"));
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.i = i;
        let text = std::str::from_utf8(&b[start..i]).unwrap_or("0");
        // Integers as Go's strconv.ParseInt reads them into int fields (`-0` is 0); others as
        // floats, which no int field of the spec accepts.
        if int {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Number(Number::from(n)));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::Number(Number::from(n)));
            }
        }
        let f: f64 = text.parse().unwrap_or(f64::MAX);
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.i;
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.err("unexpected end of JSON input"));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    let e = self.b.get(self.i + 1).copied();
                    self.i += 2;
                    let ch = match e {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(self.i) == Some(&b'\\')
                                && self.b.get(self.i + 1) == Some(&b'u')
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                    char::from_u32(cp).unwrap_or('\u{FFFD}')
                                } else {
                                    self.i = save;
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return Err(self.err("invalid character in string escape code")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(self.err("invalid character in string literal")),
                _ => {
                    // A run of plain bytes up to the next quote or backslash, copied at once (a
                    // bootstrap.ign holds megabytes of base64 in single strings).
                    let rest = &self.b[self.i..];
                    let run = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
                    let plain = &rest[..run];
                    // Not short-circuiting, so that it vectorises; the place only on failure.
                    if plain.iter().fold(false, |bad, &c| bad | (c < 0x20)) {
                        let at = plain.iter().position(|&c| c < 0x20).unwrap_or(0);
                        self.i += at;
                        return Err(self.err("invalid character in string literal"));
                    }
                    out.extend_from_slice(plain);
                    self.i += run;
                }
            }
        }
        match String::from_utf8(out) {
            Ok(s) => Ok(s),
            Err(e) => {
                self.len.replaced_utf8 = true;
                let end = self.i;
                self.i = start;
                self.mark();
                self.i = end;
                Ok(String::from_utf8_lossy(e.as_bytes()).into_owned())
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let t = self
            .b
            .get(self.i..self.i + 4)
            .and_then(|t| std::str::from_utf8(t).ok());
        match t.and_then(|t| u32::from_str_radix(t, 16).ok()) {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => Err(self.err("invalid character in \\u hexadecimal character escape")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_rules() {
        let (v, l) =
            parse(br#"{"a":{"source":"x","Source":"y"},"b":-0,"a2":{"Source":"y","source":"x"}}"#)
                .unwrap();
        assert_eq!(v["a"]["source"], "y");
        assert_eq!(v["a2"]["source"], "x");
        assert_eq!(v["b"], 0);
        assert_eq!(l.folded_keys.len(), 2);
        let (v, l) = parse(b"{\"k\":1,\"k\":2,\"s\":\"a\xffb\"}").unwrap();
        assert_eq!(v["k"], 2);
        assert_eq!(v["s"], "a\u{fffd}b");
        assert!(l.replaced_utf8 && l.duplicate_keys == ["k"]);
        let deep = format!("{}1{}", "[".repeat(1_000), "]".repeat(1_000));
        assert!(parse(deep.as_bytes()).is_ok());
        let deeper = format!("{}1{}", "[".repeat(1_001), "]".repeat(1_001));
        assert!(parse(deeper.as_bytes())
            .unwrap_err()
            .message
            .contains("1000"));
        assert!(parse(b"{\"a\":1,}").is_err());
        assert!(parse(b"{} x").is_err());
        assert_eq!(parse(b"4.2e2").unwrap().0, serde_json::json!(420.0));
    }
}
