//! Editing YAML text in place: values replaced, sequence items replaced or appended and mapping
//! entries inserted as a [`Splice`] over the source, located by the reader's [`Place`]s. Every
//! byte outside the edited nodes stays: comments, quoting, flow or block style, key order,
//! indentation, anchors, document markers, a byte order mark and line endings.
//!
//! New text is written in the style of where it goes: a flow collection gets flow text, a block
//! one block text at its own indentation (a sequence's items with the `-` style of its first
//! item), with the document's line ending. Values are written by [`yaml::to_yaml_at`] and
//! [`yaml::to_flow`], so YAML 1.1 and 1.2 readers read them as meant.

use anyhow::{bail, Result};
use serde_json::{Map, Value};

use crate::formats::json::Splice;
use crate::formats::yaml::{self, Document, Indents, Place};

/// One document of a YAML text, ready to be edited.
pub struct Editor<'a> {
    /// The file's name, for messages.
    name: &'a str,
    /// The whole text the document is in.
    text: &'a str,
    doc: &'a Document,
    /// The line ending new lines get (the text's own).
    eol: &'static str,
    indents: Indents,
}

impl<'a> Editor<'a> {
    /// An editor of `doc` (read from `text`, named `name` in messages); with `octal_modes`,
    /// modes are written `0644` (Butane sources).
    pub fn new(name: &'a str, text: &'a str, doc: &'a Document, octal_modes: bool) -> Self {
        let eol = if text[doc.span.clone()].contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut editor = Editor {
            name,
            text,
            doc,
            eol,
            indents: Indents {
                octal_modes,
                ..Indents::KUBECTL
            },
        };
        editor.indents = editor.detect_indents();
        editor
    }

    /// The document edited.
    pub fn doc(&self) -> &Document {
        self.doc
    }

    /// How the document indents: the step of its first nested block mapping and where the `-`
    /// of its first block sequence under a key stands (the emitter's defaults when it has none).
    fn detect_indents(&self) -> Indents {
        let mut places: Vec<(&str, &Place)> = self.doc.places().collect();
        places.sort_by(|a, b| a.0.cmp(b.0));
        let mut indents = self.indents;
        let (mut step, mut seq) = (None, None);
        for (pointer, place) in places {
            let (Some(parent), false) = (parent_of(pointer), place.flow) else {
                continue;
            };
            let parent_is_block_map = self.doc.value.pointer(parent).is_some_and(Value::is_object)
                && self.doc.place(parent).is_some_and(|p| !p.flow);
            if !parent_is_block_map {
                continue;
            }
            let key_col = self.col(place.entry);
            match self.doc.value.pointer(pointer) {
                Some(Value::Object(m)) if !m.is_empty() && step.is_none() => {
                    step = self.col(place.span.start).checked_sub(key_col);
                }
                Some(Value::Array(a)) if !a.is_empty() && seq.is_none() => {
                    let first = self.doc.place(&format!("{pointer}/0"));
                    seq = first.and_then(|f| self.col(f.entry).checked_sub(key_col));
                }
                _ => {}
            }
        }
        indents.step = step.filter(|&s| s > 0).unwrap_or(indents.step);
        indents.seq = seq.unwrap_or(indents.seq);
        indents
    }

    /// The place of the node at `pointer`; an error where the text is not the node's own (an
    /// alias or a merge key put it there).
    fn place(&self, pointer: &str) -> Result<&Place> {
        let Some(place) = self.doc.place(pointer) else {
            bail!("{}: nothing at {pointer}", self.name);
        };
        if place.copied {
            bail!(
                "{}: {} comes from an alias or a `<<` merge key: it cannot be changed where it is written; write it out in full",
                self.at(pointer),
                dotted(pointer)
            );
        }
        Ok(place)
    }

    /// `file:line:col` of a pointer (or of its nearest written ancestor).
    pub fn at(&self, pointer: &str) -> String {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.doc.pos(p) {
                return format!("{}:{}:{}", self.name, pos.line, pos.col);
            }
            match parent_of(p) {
                Some(up) => p = up,
                None => return self.name.to_string(),
            }
        }
    }

    /// The column (0-based, in characters) of byte `offset`.
    fn col(&self, offset: usize) -> usize {
        let start = self.line_start(offset);
        let before = self.text.get(start..offset).unwrap_or("");
        before.trim_start_matches('\u{feff}').chars().count()
    }

    /// The start of the line holding byte `offset`.
    fn line_start(&self, offset: usize) -> usize {
        let before = self.text.get(..offset).unwrap_or("");
        before.rfind(['\n', '\r']).map_or(0, |p| p + 1)
    }

    /// Where the next line starts after byte `offset` (the text's end on the last line), and
    /// whether a line break must be written first (the last line has none).
    fn next_line(&self, offset: usize) -> (usize, bool) {
        let rest = self.text.get(offset..).unwrap_or("");
        match rest.find('\n').or_else(|| rest.find('\r')) {
            Some(p) => (offset + p + 1, false),
            None => (self.text.len(), true),
        }
    }

    /// The start of the whole-line comments right above the line holding byte `at` (that
    /// line's start if there are none), not going above byte `floor`.
    fn comments_above(&self, at: usize, floor: usize) -> usize {
        let mut start = self.line_start(at);
        while start > floor {
            let above = self.line_start(start - 1);
            let line = self.text.get(above..start).unwrap_or("");
            if above < floor || !line.trim_start().starts_with('#') {
                break;
            }
            start = above;
        }
        start
    }

    /// `value` as block text whose later lines start at `indent`, first line continuing a line,
    /// without its final line break, in the document's line ending.
    fn block(&self, value: &Value, indent: usize) -> String {
        let text = yaml::to_yaml_at(value, indent, true, &self.indents);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.replace('\n', self.eol)
    }

    /// `value` in flow style.
    fn flow(&self, value: &Value) -> String {
        yaml::to_flow(value, &self.indents)
    }

    /// Replace item `index` of the sequence at `seq` (its whole text, from its `-`) with `value`.
    pub fn replace_item(
        &self,
        seq: &str,
        index: usize,
        value: &Value,
        out: &mut Splice,
    ) -> Result<()> {
        let list = self.place(seq)?;
        let item = self.place(&format!("{seq}/{index}"))?;
        if list.flow {
            out.replace(item.span.clone(), self.flow(value));
            return Ok(());
        }
        let dash = self.dash(item);
        let indent = self.col(item.entry) + dash.len();
        let mut text = format!("{dash}{}", self.block(value, indent));
        // A comment after the item's first line stays on the new first line.
        let first_break = text.find(['\r', '\n']).unwrap_or(text.len());
        if let Some(comment) = self.trailing_comment(&format!("{seq}/{index}"), item.entry) {
            if first_break < text.len() {
                text.insert_str(first_break, comment);
            }
        }
        out.replace(item.entry..item.span.end, text);
        Ok(())
    }

    /// The comment (with the blanks before it) that ends the line holding byte `at`, after the
    /// last scalar of the node at `pointer` on that line; `None` if that line holds the node's
    /// end (the comment is then outside what is replaced) or no comment.
    fn trailing_comment(&self, pointer: &str, at: usize) -> Option<&str> {
        let (next, _) = self.next_line(at);
        let end = self.doc.place(pointer)?.span.end;
        if end <= next {
            return None;
        }
        let prefix = format!("{pointer}/");
        let last = self
            .doc
            .places()
            .filter(|(p, _)| p.starts_with(&prefix))
            .map(|(_, place)| place.span.end)
            .filter(|&e| e >= at && e < next)
            .max()?;
        let rest = self.text.get(last..next)?;
        let rest = rest.trim_end_matches(['\n', '\r']);
        rest.trim_start().starts_with('#').then_some(rest)
    }

    /// The `-` and spaces before a block item's content (`- `), as written.
    fn dash(&self, item: &Place) -> String {
        let written = self.text.get(item.entry..item.span.start).unwrap_or("");
        if written.starts_with('-') && written[1..].bytes().all(|b| b == b' ') && written.len() > 1
        {
            written.to_string()
        } else {
            "- ".to_string()
        }
    }

    /// Append `values` to the non-empty sequence at `seq`, after its last item.
    pub fn append_items(&self, seq: &str, values: &[Value], out: &mut Splice) -> Result<()> {
        let list = self.place(seq)?;
        let count = self
            .doc
            .value
            .pointer(seq)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let Some(last_index) = count.checked_sub(1) else {
            bail!("{}: {} is empty", self.at(seq), dotted(seq));
        };
        let last = self.place(&format!("{seq}/{last_index}"))?;
        if list.flow {
            // Items on lines of their own get lines of their own (comments between stay put).
            let own_line = self
                .text
                .get(self.line_start(last.span.start)..last.span.start);
            let separator = match own_line.is_some_and(|s| s.bytes().all(|b| b == b' ')) {
                true => format!(",{}{}", self.eol, " ".repeat(self.col(last.span.start))),
                false => ", ".to_string(),
            };
            let text: String = values
                .iter()
                .map(|v| format!("{separator}{}", self.flow(v)))
                .collect();
            out.replace(last.span.end..last.span.end, text);
            return Ok(());
        }
        let first = self.place(&format!("{seq}/0"))?;
        let dash = self.dash(first);
        let column = self.col(first.entry);
        let (at, needs_break) = self.next_line(last.span.end);
        let mut text = if needs_break {
            self.eol.to_string()
        } else {
            String::new()
        };
        for v in values {
            let body = self.block(v, column + dash.len());
            text.push_str(&format!("{}{dash}{body}{}", " ".repeat(column), self.eol));
        }
        out.replace(at..at, text);
        Ok(())
    }

    /// Replace the value at `pointer` (a scalar such as `null`, or an empty collection) with
    /// `value`: block text on the following lines in a block mapping, flow text elsewhere.
    pub fn replace_value(&self, pointer: &str, value: &Value, out: &mut Splice) -> Result<()> {
        let place = self.place(pointer)?;
        let parent = parent_of(pointer).and_then(|p| self.doc.place(p).map(|pl| (p, pl)));
        let in_block_map = parent.is_some_and(|(p, pl)| {
            !pl.flow && self.doc.value.pointer(p).is_some_and(Value::is_object)
        });
        if !(in_block_map && is_block(value)) {
            let text = self.flow(value);
            let text = if place.span.is_empty() {
                format!(" {text}")
            } else {
                text
            };
            out.replace(place.span.clone(), text);
            return Ok(());
        }
        let before = self.text.get(..place.span.start).unwrap_or("");
        let trimmed = before.trim_end_matches([' ', '\t']);
        let start = if trimmed.ends_with(':') {
            trimmed.len()
        } else {
            place.span.start
        };
        let key_col = self.col(place.entry);
        let indent = key_col
            + if value.is_object() {
                self.indents.step
            } else {
                self.indents.seq
            };
        let block = format!("{}{}", " ".repeat(indent), self.block(value, indent));
        let (next, needs_break) = self.next_line(place.span.end);
        let rest = self.text.get(place.span.end..next).unwrap_or("");
        if rest.trim_start().starts_with('#') {
            // A comment after the value stays on the key's line; the block follows it.
            out.replace(start..place.span.end, String::new());
            let lead = if needs_break { self.eol } else { "" };
            out.replace(next..next, format!("{lead}{block}{}", self.eol));
        } else {
            out.replace(start..place.span.end, format!("{}{block}", self.eol));
        }
        Ok(())
    }

    /// Insert `key: value` into the mapping at `map`: before the first of the keys `before` it
    /// has, else after its last entry.
    pub fn insert_entry(
        &self,
        map: &str,
        key: &str,
        value: &Value,
        before: &[&str],
        out: &mut Splice,
    ) -> Result<()> {
        let place = self.place(map)?;
        let Some(entries) = self.doc.value.pointer(map).and_then(Value::as_object) else {
            bail!("{}: {} is not a mapping", self.at(map), dotted(map));
        };
        let child = |k: &str| format!("{map}/{}", k.replace('~', "~0").replace('/', "~1"));
        let next = entries.keys().find(|k| before.contains(&k.as_str()));
        let key_text = self.flow(&Value::String(key.to_string()));
        if place.flow {
            if entries.is_empty() {
                let mut one = Map::new();
                one.insert(key.to_string(), value.clone());
                out.replace(place.span.clone(), self.flow(&Value::Object(one)));
                return Ok(());
            }
            let entry = format!("{key_text}: {}", self.flow(value));
            match next {
                Some(k) => {
                    let at = self.place(&child(k))?.entry;
                    out.replace(at..at, format!("{entry}, "));
                }
                None => {
                    let last = entries
                        .keys()
                        .next_back()
                        .map(|k| child(k))
                        .unwrap_or_default();
                    let at = self.place(&last)?.span.end;
                    out.replace(at..at, format!(", {entry}"));
                }
            }
            return Ok(());
        }
        let column = self.col(place.span.start);
        let body = if is_block(value) {
            let nested = if value.is_object() {
                self.indents.step
            } else {
                self.indents.seq
            };
            let indent = column + nested;
            format!(
                "{}{}{}",
                self.eol,
                " ".repeat(indent),
                self.block(value, indent)
            )
        } else {
            format!(" {}", self.flow(value))
        };
        let entry = format!("{}{key_text}:{body}{}", " ".repeat(column), self.eol);
        let (at, needs_break) = match next {
            Some(k) => {
                // Before the comment lines right above that key, which belong to it.
                let previous = entries.keys().take_while(|e| *e != k).last();
                let floor = match previous {
                    Some(p) => self.place(&child(p))?.span.end,
                    None => place.span.start,
                };
                (
                    self.comments_above(self.place(&child(k))?.entry, floor),
                    false,
                )
            }
            None => self.next_line(place.span.end),
        };
        let text = if needs_break {
            format!("{}{entry}", self.eol)
        } else {
            entry
        };
        out.replace(at..at, text);
        Ok(())
    }
}

/// Whether `value` is written as a block (a non-empty mapping or sequence).
fn is_block(value: &Value) -> bool {
    value.as_object().is_some_and(|m| !m.is_empty())
        || value.as_array().is_some_and(|a| !a.is_empty())
}

/// The pointer of the parent of `pointer` (`None` for the root).
fn parent_of(pointer: &str) -> Option<&str> {
    pointer.rfind('/').map(|i| &pointer[..i])
}

/// A pointer for people: `spec.config.storage`.
fn dotted(pointer: &str) -> String {
    let path = crate::formats::json::pointer_to_path(pointer);
    path.trim_start_matches("$.").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Apply `edit` to the single document of `text`.
    fn edit(text: &str, f: impl Fn(&Editor, &mut Splice) -> Result<()>) -> String {
        let docs = yaml::parse_documents(text).unwrap();
        let editor = Editor::new("t.yaml", text, &docs[0], false);
        let mut splice = Splice::default();
        f(&editor, &mut splice).unwrap();
        let out = String::from_utf8(splice.apply(text.as_bytes())).unwrap();
        yaml::parse_documents(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
        out
    }

    #[test]
    fn block_items_keep_their_dash_style_and_comments() {
        let text = "a:\n  # list\n  -   x: 1 # one\n      y: 2\n  # after\nb: 3\n";
        let out = edit(text, |e, s| e.replace_item("/a", 0, &json!({"z": [1]}), s));
        assert_eq!(
            out,
            "a:\n  # list\n  -   z: # one\n        - 1\n  # after\nb: 3\n"
        );
        let out = edit(text, |e, s| e.append_items("/a", &[json!({"k": "v"})], s));
        assert_eq!(
            out,
            "a:\n  # list\n  -   x: 1 # one\n      y: 2\n  -   k: v\n  # after\nb: 3\n"
        );
    }

    #[test]
    fn flow_lists_get_flow_items() {
        let text = "a: [{x: 1}, # one\n    {x: 2}] # c\n";
        let v = json!({"s": "data:,sctp"});
        let out = edit(text, |e, s| {
            e.append_items("/a", std::slice::from_ref(&v), s)
        });
        assert_eq!(
            out,
            "a: [{x: 1}, # one\n    {x: 2},\n    {s: \"data:,sctp\"}] # c\n"
        );
        let out = edit("a: [{x: 1}, {x: 2}]\n", |e, s| {
            e.append_items("/a", &[json!(3)], s)
        });
        assert_eq!(out, "a: [{x: 1}, {x: 2}, 3]\n");
        let out = edit(text, |e, s| e.replace_item("/a", 0, &v, s));
        assert_eq!(out, "a: [{s: \"data:,sctp\"}, # one\n    {x: 2}] # c\n");
    }

    #[test]
    fn entries_go_where_the_mapping_puts_them() {
        let text = "c:\n    ignition: {version: 3.2.0}  # v\n    systemd: {}\n";
        let v = json!({"files": [{"path": "/x"}]});
        let out = edit(text, |e, s| {
            e.insert_entry("/c", "storage", &v, &["systemd"], s)
        });
        assert_eq!(
            out,
            "c:\n    ignition: {version: 3.2.0}  # v\n    storage:\n        files:\n        - path: /x\n    systemd: {}\n"
        );
        let text = "c:\n  a: 1 # one\n  # about d\n  d: |\n    # text\n  # about e\n  e: 2\n";
        let out = edit(text, |e, s| e.insert_entry("/c", "b", &json!(1), &["e"], s));
        assert_eq!(
            out,
            "c:\n  a: 1 # one\n  # about d\n  d: |\n    # text\n  b: 1\n  # about e\n  e: 2\n"
        );
        let out = edit(text, |e, s| e.insert_entry("/c", "b", &json!(1), &["d"], s));
        assert!(
            out.starts_with("c:\n  a: 1 # one\n  b: 1\n  # about d\n"),
            "{out}"
        );
        let out = edit("c: {a: 1}\r\n", |e, s| {
            e.insert_entry("/c", "b", &v, &[], s)
        });
        assert_eq!(out, "c: {a: 1, b: {files: [{path: /x}]}}\r\n");
        let out = edit("c:\r\n  a: 1", |e, s| e.insert_entry("/c", "b", &v, &[], s));
        assert_eq!(
            out,
            "c:\r\n  a: 1\r\n  b:\r\n    files:\r\n    - path: /x\r\n"
        );
    }

    #[test]
    fn a_byte_order_mark_is_no_indentation() {
        let text = "\u{feff}a: 1\n";
        let out = edit(text, |e, s| {
            e.insert_entry("", "b", &json!({"c": 1}), &[], s)
        });
        assert_eq!(out, "\u{feff}a: 1\nb:\n  c: 1\n");
    }

    #[test]
    fn null_values_are_replaced_after_the_colon() {
        let v = json!([{"p": 1}]);
        let out = edit("s:\n  files: null # n\n", |e, s| {
            e.replace_value("/s/files", &v, s)
        });
        assert_eq!(out, "s:\n  files: # n\n  - p: 1\n");
        let out = edit("s:\n  files:\nt: 1\n", |e, s| {
            e.replace_value("/s/files", &v, s)
        });
        assert_eq!(out, "s:\n  files:\n  - p: 1\nt: 1\n");
        let out = edit("s: {files: []}\n", |e, s| {
            e.replace_value("/s/files", &v, s)
        });
        assert_eq!(out, "s: {files: [{p: 1}]}\n");
    }

    #[test]
    fn aliased_text_is_refused() {
        let text = "x: &a [1]\nz: *a\n";
        let docs = yaml::parse_documents(text).unwrap();
        let editor = Editor::new("t.yaml", text, &docs[0], false);
        let e = editor
            .append_items("/z", &[json!(2)], &mut Splice::default())
            .unwrap_err();
        assert!(e.to_string().contains("t.yaml:2:4"), "{e}");
    }
}
