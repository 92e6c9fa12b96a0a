//! Reading and writing YAML the way Kubernetes tooling does.
//!
//! [`parse_documents`] reads a YAML stream the way `kubectl`/`oc` do (`sigs.k8s.io/yaml`, which
//! is go-yaml v2 with YAML 1.1 resolution of plain scalars, then converted to JSON), so that
//! `mode: 0644` is the integer 420. It also remembers where each node was and how each scalar
//! was written, so that diagnostics can point at the source.
//!
//! [`to_yaml`] writes block-style YAML that YAML 1.1 readers (go-yaml v2, PyYAML) and YAML 1.2
//! readers all read back as the same JSON value.

use saphyr_parser::{Event, Parser, ScanError, Span, TScalarStyle, Tag};
use serde_json::{Map, Number, Value};
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::ops::Range;

mod reader;
#[cfg(test)]
mod tests;
mod typing;
mod writer;

use reader::*;
use typing::*;
pub use writer::*;

/// Deepest nesting of collections a document may have.
const MAX_DEPTH: usize = 128;
/// Most nodes that anchors and aliases may copy in one stream (alias bomb guard).
const MAX_ALIAS_NODES: usize = 1_000_000;
/// Longest key (in characters, as written) that [`to_yaml`] writes as an implicit `key: value`.
const MAX_IMPLICIT_KEY: usize = 1000;
/// The standard base64 alphabet, for `!!binary`.
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The prefix of the YAML core tags (`!!str` is `tag:yaml.org,2002:str`).
const CORE_TAG: &str = "tag:yaml.org,2002:";

/// A 1-based line/column position in the source text.
///
/// Columns count characters, not bytes. A leading byte order mark is not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub col: usize,
}

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Without quotes: `mode: 0644`.
    Plain,
    /// In single quotes: `mode: '0644'`.
    SingleQuoted,
    /// In double quotes: `mode: "0644"`.
    DoubleQuoted,
    /// As a literal block scalar (`|`).
    Literal,
    /// As a folded block scalar (`>`).
    Folded,
}

/// An error while reading YAML: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where the problem was found.
    pub pos: Pos,
    /// What the problem is.
    pub message: String,
}

impl Pos {
    /// The position at 1-based `line` and `col`.
    const fn new(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }
}

/// An error at `pos` saying `message`.
fn fail<T>(pos: Pos, message: impl Into<String>) -> Result<T, YamlError> {
    let message = message.into();
    Err(YamlError { pos, message })
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let YamlError { pos, message } = self;
        write!(f, "line {}, column {}: {message}", pos.line, pos.col)
    }
}

impl std::error::Error for YamlError {}

/// Where a node was, and how it was written if it is a scalar.
#[derive(Clone, Debug)]
struct Meta {
    pos: Pos,
    style: Option<Style>,
    place: Place,
}

/// Where a node's text is in the source, for editing it in place.
///
/// Offsets are bytes into the whole input given to [`parse_documents`] (a byte order mark
/// included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The node's own text: a scalar with its quotes (a block scalar up to its last non-blank
    /// character), a flow collection with its brackets, a block collection from its first key or
    /// item to the end of its last value. An empty value (`key:` with nothing after it) is the
    /// empty range right after the `:`.
    pub span: Range<usize>,
    /// Where the entry holding the node starts: the key of a mapping value, the `-` of a block
    /// sequence item, else `span.start`.
    pub entry: usize,
    /// A collection written in flow style (`{...}`, `[...]`).
    pub flow: bool,
    /// The node, or one holding it, was copied from elsewhere by an alias or a `<<` merge: its
    /// text is not where the value is used.
    pub copied: bool,
}

/// One document of a YAML stream, read as Kubernetes reads it.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's value as JSON (mapping key order preserved).
    pub value: Value,
    /// Byte range of the document's own text in the source: from the first byte of the document
    /// (the start of its `---` line if it has one, else the start of its first content/comment
    /// line after the previous document) up to the start of the next document's `---` line (or
    /// the end of input).
    ///
    /// Concatenating the spans of all documents, in order, gives back the whole input exactly.
    /// A leading byte order mark, `%YAML` directive or comments before the first document belong
    /// to the first document; directives before a later `---` belong to that later document.
    pub span: Range<usize>,
    /// Position and scalar style of every node, by JSON pointer.
    meta: HashMap<String, Meta>,
}

impl Document {
    /// Position of the node at a JSON pointer (`""` is the root, `"/spec/config/storage/files/0/
    /// mode"` a nested node; RFC 6901 escaping). An alias reports its own position for its root
    /// and the anchored text's below it; merged (`<<`) entries report where they were written.
    pub fn pos(&self, pointer: &str) -> Option<Pos> {
        self.meta.get(pointer).map(|m| m.pos)
    }

    /// The style a scalar at that pointer was written in (`None` if not a scalar or absent).
    pub fn style(&self, pointer: &str) -> Option<Style> {
        self.meta.get(pointer).and_then(|m| m.style)
    }

    /// Where the node at a JSON pointer is written, for editing the text in place.
    pub fn place(&self, pointer: &str) -> Option<&Place> {
        self.meta.get(pointer).map(|m| &m.place)
    }

    /// The places of every node, by JSON pointer (in no particular order).
    pub fn places(&self) -> impl Iterator<Item = (&str, &Place)> {
        self.meta.iter().map(|(k, m)| (k.as_str(), &m.place))
    }
}

/// Read every document of a YAML stream.
///
/// Plain scalars resolve as go-yaml v2 (built with Go 1.13 or later) resolves them: null is `~`,
/// `null`, `Null`, `NULL` or empty; bools are `y Y yes Yes YES true True TRUE on On ON` and
/// `n N no No NO false False FALSE off Off OFF`; ints (sign allowed, underscores ignored) are
/// decimal, octal `0[0-7]+` (`0644` is 420) or have Go's prefixes `0x`, `0o`, `0b` (any case),
/// and stay exact up to `u64`; floats match `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
/// (so `09` is 9.0) and must be finite (`.inf`, `.nan` are errors: JSON cannot carry them);
/// anything else, dates and `1:20` included, is a string. PyYAML (also YAML 1.1) differs:
/// `y`/`Y`/`n`/`N`, `0o17`, `09` and `1e3` (no `.`) are strings there, `1:20` is 80 and dates
/// are timestamps.
///
/// Quoted and block scalars are strings. `!!int`, `!!float`, `!!bool`, `!!null` demand that
/// type; `!!binary` is base64-decoded; any other tag (`!!str`, local `!foo`) makes a string; tags
/// on collections are ignored. Non-string keys become their printed form (`0644` is `"420"`);
/// null keys and duplicate keys are errors (kubectl keeps the last duplicate). Aliases are
/// expanded; `<<` merges a mapping or a sequence of mappings (earlier ones win) in order,
/// overriding keys written before it but not after it, as go-yaml v2 does.
///
/// Empty documents (nothing but comments/whitespace) have `value: Null`; an input without any
/// document gives one such document, so that spans always cover the whole input.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    parse_stream(text, None)
}

/// A mapping key written twice in one mapping, read leniently as kubectl reads it: the last value
/// is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Duplicate {
    /// The key.
    pub key: String,
    /// Where it was first written.
    pub first: Pos,
    /// Where it was written again (the value kept is this one's).
    pub again: Pos,
    /// The value kept, as JSON.
    pub kept: Value,
}

/// [`parse_documents`], but a duplicate mapping key keeps the last value instead of failing, as
/// kubectl's YAML-to-JSON step does (`oc apply`, `oc create`); each duplicate is returned so that
/// it can be reported. kustomize and kpt refuse duplicates: their path keeps
/// [`parse_documents`].
pub fn parse_documents_lenient(text: &str) -> Result<(Vec<Document>, Vec<Duplicate>), YamlError> {
    let mut dups = Vec::new();
    let docs = parse_stream(text, Some(&mut dups))?;
    Ok((docs, dups))
}
