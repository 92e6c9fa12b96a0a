//! Values read as Butane reads them: go-yaml v3 decoding into Butane's typed structs.

use serde_json::Value;

use crate::formats::yaml::{Document, Style};

/// A JSON pointer as Butane writes paths: `$.storage.files.0.path`.
pub(super) fn butane_path(pointer: &str) -> String {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    if parts.is_empty() {
        "$".into()
    } else {
        format!("$.{}", parts.join("."))
    }
}

/// Whether a text is a semantic version (`1.5.0`, `4.23.0-experimental`).
pub(super) fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Typed reading of a Butane document, collecting errors with their places.
pub(super) struct Ctx<'a> {
    pub(super) name: &'a str,
    pub(super) text: &'a str,
    pub(super) doc: &'a Document,
    pub(super) errors: Vec<String>,
    pub(super) warnings: Vec<super::Warning>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(name: &'a str, text: &'a str, doc: &'a Document) -> Self {
        Ctx {
            name,
            text,
            doc,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// `file:line:col` of a pointer's value (or of its nearest written ancestor).
    pub(super) fn at(&self, pointer: &str) -> String {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.doc.pos(p) {
                return format!("{}:{}:{}", self.name, pos.line, pos.col);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.name.to_string(),
            }
        }
    }

    /// `file:line:col` of the key of a mapping entry.
    pub(super) fn key_at(&self, pointer: &str) -> String {
        let Some(place) = self.doc.place(pointer) else {
            return self.at(pointer);
        };
        let before = &self.text[..place.entry.min(self.text.len())];
        let line_start = before.rfind(['\n', '\r']).map_or(0, |p| p + 1);
        let line = before.matches('\n').count() + 1;
        let col = before[line_start..]
            .trim_start_matches('\u{feff}')
            .chars()
            .count()
            + 1;
        format!("{}:{line}:{col}", self.name)
    }

    /// A warning Butane gives at a pointer.
    pub(super) fn warn(&mut self, pointer: &str, message: impl std::fmt::Display) {
        let warning = super::Warning {
            at: self.at(pointer),
            path: butane_path(pointer),
            message: message.to_string(),
        };
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    pub(super) fn error(&mut self, pointer: &str, message: impl std::fmt::Display) {
        let at = self.at(pointer);
        let path = butane_path(pointer);
        self.errors
            .push(format!("{at}: error at {path}: {message}"));
    }

    pub(super) fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.doc.value.pointer(pointer).filter(|v| !v.is_null())
    }

    /// The text a plain scalar was written as.
    pub(super) fn written(&self, pointer: &str) -> Option<&'a str> {
        let place = self.doc.place(pointer)?;
        self.text.get(place.span.clone()).map(str::trim)
    }

    /// What a node is, in go-yaml's words (`!!str `0644``), for type errors.
    pub(super) fn shown(&self, pointer: &str) -> String {
        match self.get(pointer) {
            Some(Value::Array(_)) => "!!seq".into(),
            Some(Value::Object(_)) => "!!map".into(),
            Some(Value::String(s)) => format!("!!str `{s}`"),
            Some(v) => format!("`{}`", self.written(pointer).unwrap_or(&v.to_string())),
            None => "!!null".into(),
        }
    }

    /// A string field: a plain scalar is its text (`inline: 0644` is "0644", as go-yaml v3
    /// gives a string field).
    pub(super) fn string(&mut self, pointer: &str) -> Option<String> {
        let style = self.doc.style(pointer);
        match self.get(pointer)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(_) | Value::Bool(_) if style == Some(Style::Plain) => {
                self.written(pointer).map(str::to_string)
            }
            _ => {
                let shown = self.shown(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into string"));
                None
            }
        }
    }

    /// What go-yaml v3 resolves the scalar at `pointer` to (a quoted or block scalar is a
    /// string; a plain one is typed by [`resolve_plain`]).
    fn resolved(&self, pointer: &str) -> Option<Resolved> {
        let v = self.get(pointer)?;
        if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            return None;
        }
        match self.doc.style(pointer) {
            Some(Style::Plain) | None => {
                let written = self.written(pointer).unwrap_or("");
                Some(match v {
                    // A multi-line plain scalar is a string whatever its words.
                    Value::String(s) if s != written => Resolved::Str,
                    _ => resolve_plain(written),
                })
            }
            Some(_) => Some(Resolved::Str),
        }
    }

    /// A boolean field, as go-yaml v3 fills one: `true`/`false` (any case it resolves as
    /// booleans), and, from YAML 1.1, `y Y yes Yes YES on On ON` and `n N no No NO off Off OFF`
    /// whether quoted or not (a quoted `"true"` is a string, an error).
    pub(super) fn boolean(&mut self, pointer: &str) -> Option<bool> {
        let resolved = self.resolved(pointer);
        let text = self.text_of(pointer);
        match resolved {
            None if self.get(pointer).is_none() => None,
            Some(Resolved::Bool(b)) => Some(b),
            Some(Resolved::Str) if yaml11_bool(&text).is_some() => yaml11_bool(&text),
            _ => {
                let shown = self.shown_v3(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into bool"));
                None
            }
        }
    }

    /// An integer field, as go-yaml v3 fills one: an integer (`0644` and `0o644` are 420,
    /// `0x1a4` too), or a float truncated toward zero (`420.5` is 420); a string (`'0644'`) is an
    /// error.
    pub(super) fn int(&mut self, pointer: &str) -> Option<i64> {
        let n = match self.resolved(pointer) {
            None if self.get(pointer).is_none() => return None,
            Some(Resolved::Int(n)) => i64::try_from(n).ok(),
            Some(Resolved::Float(f)) if f <= i64::MAX as f64 && !f.is_nan() => Some(f as i64),
            _ => None,
        };
        if n.is_none() {
            let shown = self.shown_v3(pointer);
            let hint =
                if pointer.ends_with("/mode") && self.get(pointer).is_some_and(Value::is_string) {
                    " (write the mode without quotes: mode: 0644)"
                } else {
                    ""
                };
            self.error(pointer, format!("cannot unmarshal {shown} into int{hint}"));
        }
        n
    }

    /// A scalar's text (the string, or the text a plain scalar was written as).
    fn text_of(&self, pointer: &str) -> String {
        match self.get(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => self
                .written(pointer)
                .map_or_else(|| v.to_string(), str::to_string),
            None => String::new(),
        }
    }

    /// A node as go-yaml v3 names it in type errors (`!!str `0644``, `!!float `9999999...``).
    fn shown_v3(&self, pointer: &str) -> String {
        let tag = match self.resolved(pointer) {
            Some(Resolved::Null) => "!!null",
            Some(Resolved::Bool(_)) => "!!bool",
            Some(Resolved::Int(_)) => "!!int",
            Some(Resolved::Float(_)) => "!!float",
            Some(Resolved::Str) => "!!str",
            None => return self.shown(pointer),
        };
        let text = self.text_of(pointer);
        let text = if text.chars().count() > 10 {
            format!("{}...", text.chars().take(7).collect::<String>())
        } else {
            text
        };
        format!("{tag} `{text}`")
    }

    /// The item pointers of a list field (none for null).
    pub(super) fn list(&mut self, pointer: &str) -> Vec<String> {
        match self.get(pointer) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                (0..items.len()).map(|i| format!("{pointer}/{i}")).collect()
            }
            Some(_) => {
                let shown = self.shown(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into a list"));
                Vec::new()
            }
        }
    }

    /// A list of strings.
    pub(super) fn strings(&mut self, pointer: &str) -> Option<Vec<Value>> {
        self.get(pointer)?;
        let items = self.list(pointer);
        Some(
            items
                .iter()
                .filter_map(|p| self.string(p).map(Value::String))
                .collect(),
        )
    }

    /// Whether the mapping at `pointer` exists; its keys are checked against `fields` (each with
    /// the base schema level that has it) for Butane `label` at `base`.
    pub(super) fn object(
        &mut self,
        pointer: &str,
        fields: &[(&str, u8)],
        base: u8,
        label: &str,
    ) -> bool {
        let Some(v) = self.get(pointer) else {
            return false;
        };
        let Some(map) = v.as_object() else {
            let shown = self.shown(pointer);
            self.error(pointer, format!("cannot unmarshal {shown} into a mapping"));
            return false;
        };
        for key in map.keys() {
            let child = format!("{pointer}/{}", crate::formats::json::pointer_token(key));
            let why = match fields.iter().find(|(k, _)| k == key) {
                Some((_, since)) if *since <= base => continue,
                Some(_) => {
                    format!("unused key {key}: {label} has no such field; newer versions do")
                }
                None => format!("unused key {key}: {label} has no such field"),
            };
            let at = self.key_at(&child);
            let path = butane_path(&child);
            self.errors.push(format!("{at}: error at {path}: {why}"));
        }
        true
    }
}

/// What go-yaml v3 resolves a scalar to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Resolved {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `true`, `True`, `TRUE`, `false`, `False`, `FALSE`.
    Bool(bool),
    /// An integer (Go's `strconv.ParseInt` with base 0 after `_` are dropped, or a `0b`/`0o` one).
    Int(i128),
    /// A float.
    Float(f64),
    /// Anything else.
    Str,
}

/// How go-yaml v3 resolves a plain scalar (YAML 1.2 core rules, plus YAML 1.1's `0644` octal).
/// Timestamps are strings here (no Butane field takes one).
pub(super) fn resolve_plain(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first == b'.' {
        return text.parse().map_or(Resolved::Str, Resolved::Float);
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Resolved::Str;
    }
    let plain = text.replace('_', "");
    if let Some(n) = go_parse_int(&plain) {
        return Resolved::Int(n);
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)` (or `ParseUint` for what overflows it): sign, then `0x`,
/// `0o`, `0b` or a leading `0` for octal.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
        (16, b)
    } else if let Some(b) = lower.strip_prefix("0o") {
        (8, b)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = u64::from_str_radix(body, radix).ok()? as i128;
    match negative {
        true if n > i64::MAX as i128 + 1 => None,
        true => Some(-n),
        // ParseUint has no sign: `+` beyond int64 is not an integer.
        false if n > i64::MAX as i128 && s.starts_with('+') => None,
        false => Some(n),
    }
}

/// go-yaml v3's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// The YAML 1.1 booleans go-yaml v3 still accepts into a bool field when the scalar is a string.
pub(super) fn yaml11_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}
