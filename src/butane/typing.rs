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
}

impl<'a> Ctx<'a> {
    pub(super) fn new(name: &'a str, text: &'a str, doc: &'a Document) -> Self {
        Ctx {
            name,
            text,
            doc,
            errors: Vec::new(),
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

    /// A boolean field: only `true`/`false` (any case go-yaml v3 accepts) are booleans.
    pub(super) fn boolean(&mut self, pointer: &str) -> Option<bool> {
        let written = self.written(pointer).unwrap_or("");
        match self.get(pointer)? {
            Value::Bool(b)
                if matches!(
                    written,
                    "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
                ) =>
            {
                Some(*b)
            }
            Value::Bool(_) => {
                let message = format!("cannot unmarshal !!str `{written}` into bool (Butane reads YAML 1.2: only true and false are booleans)");
                self.error(pointer, message);
                None
            }
            _ => {
                let shown = self.shown(pointer);
                self.error(pointer, format!("cannot unmarshal {shown} into bool"));
                None
            }
        }
    }

    /// An integer field (`0644` is 420; a quoted `'0644'` is a string, an error).
    pub(super) fn int(&mut self, pointer: &str) -> Option<i64> {
        let v = self.get(pointer)?;
        let n = v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
        if n.is_none() {
            let shown = self.shown(pointer);
            let hint = if pointer.ends_with("/mode") && v.is_string() {
                " (write the mode without quotes: mode: 0644)"
            } else {
                ""
            };
            self.error(pointer, format!("cannot unmarshal {shown} into int{hint}"));
        }
        n
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
    pub(super) fn object(&mut self, pointer: &str, fields: &[(&str, u8)], base: u8, label: &str) -> bool {
        let Some(v) = self.get(pointer) else {
            return false;
        };
        let Some(map) = v.as_object() else {
            let shown = self.shown(pointer);
            self.error(pointer, format!("cannot unmarshal {shown} into a mapping"));
            return false;
        };
        for key in map.keys() {
            let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
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

