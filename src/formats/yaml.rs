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

fn parse_stream(text: &str, dups: Option<&mut Vec<Duplicate>>) -> Result<Vec<Document>, YamlError> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    let lines = Lines::new(body);
    check_characters(body, &lines)?;
    let mut loader = Loader::new(&lines, bom);
    loader.duplicates = dups;
    let mut parsed = Vec::new();
    let mut marks: Marks = (None, None);
    let mut parser = Parser::new_from_str(body);
    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(|e| scan_error(&e))?;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart(explicit) => {
                marks = (explicit.then_some(span.start.line()), None);
            }
            Event::DocumentEnd => {
                marks.1 = lines.doc_end_marker(&span);
                let (value, meta) = loader.finish_document();
                parsed.push((value, meta, marks));
            }
            other => loader.event(other, &span)?,
        }
    }
    if parsed.is_empty() {
        let place = Place {
            span: bom..bom,
            entry: bom,
            flow: false,
            copied: false,
        };
        let (pos, style) = (Pos::new(1, 1), None);
        let meta = HashMap::from([(String::new(), Meta { pos, style, place })]);
        parsed.push((Value::Null, meta, (None, None)));
    }
    Ok(assemble(text.len(), bom, &lines, parsed))
}

/// Turn the parsed documents into [`Document`]s whose spans cover `0..len`.
fn assemble(
    len: usize,
    bom: usize,
    lines: &Lines,
    parsed: Vec<(Value, HashMap<String, Meta>, Marks)>,
) -> Vec<Document> {
    let mut starts = vec![0];
    for pair in parsed.windows(2) {
        let cut = bom + lines.boundary(pair[0].2, pair[1].2);
        let previous = starts.last().copied().unwrap_or(0);
        starts.push(cut.clamp(previous, len));
    }
    let ends = starts.iter().skip(1).copied().chain([len]);
    let spans = starts.iter().zip(ends).map(|(&s, e)| s..e);
    parsed
        .into_iter()
        .zip(spans)
        .map(|((value, meta, _), span)| Document { value, span, meta })
        .collect()
}

/// A saphyr error as a [`YamlError`] (saphyr lines are 1-based, columns 0-based).
fn scan_error(e: &ScanError) -> YamlError {
    let m = e.marker();
    let (pos, message) = (Pos::new(m.line(), m.col() + 1), e.info().to_owned());
    YamlError { pos, message }
}

/// The 1-based position of a saphyr span's start.
fn pos_of(span: &Span) -> Pos {
    Pos::new(span.start.line(), span.start.col() + 1)
}

/// Reject characters YAML does not allow (as go-yaml does); saphyr would stop reading at a NUL.
fn check_characters(body: &str, lines: &Lines) -> Result<(), YamlError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    let Some((at, c)) = body.char_indices().find(|&(_, c)| !allowed(c)) else {
        return Ok(());
    };
    let message = format!("character U+{:04X} is not allowed", u32::from(c));
    fail(lines.pos_at(at), message)
}

/// Where a document's markers were: the 1-based lines of its `---` and its `...`, if any.
type Marks = (Option<usize>, Option<usize>);

/// Byte offsets of the starts of lines, counted as saphyr counts them (`\n`, `\r\n`, `\r`).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Index the lines of `text`.
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let breaks = (0..bytes.len()).filter(|&i| match bytes[i] {
            b'\n' => true,
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            _ => false,
        });
        let starts = std::iter::once(0).chain(breaks.map(|i| i + 1)).collect();
        Lines { text, starts }
    }

    /// Byte offset of the start of 1-based `line` (the end of text past the last line).
    fn start(&self, line: usize) -> usize {
        line.checked_sub(1)
            .and_then(|i| self.starts.get(i))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The text of 1-based `line`, line break included.
    fn text(&self, line: usize) -> &str {
        let (start, end) = (self.start(line), self.start(line + 1));
        self.text.get(start..end).unwrap_or("")
    }

    /// The position of byte `offset`.
    fn pos_at(&self, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset);
        let before = self.text.get(self.start(line)..offset).unwrap_or("");
        Pos::new(line, before.chars().count() + 1)
    }

    /// The line of the `...` that a `DocumentEnd` event's span points at, if it is one (an
    /// implicit end points at the next token instead).
    fn doc_end_marker(&self, span: &Span) -> Option<usize> {
        let line = span.start.line();
        (span.start.col() == 0 && self.text(line).starts_with("...")).then_some(line)
    }

    /// Byte offset where the document `next` starts, right after `prev`.
    /// (A document without `---` always follows one with `...`.)
    fn boundary(&self, prev: Marks, next: Marks) -> usize {
        let line = match (next.0, prev.1) {
            (Some(dashes), Some(dots)) => self.first_directive(dots + 1, dashes).unwrap_or(dashes),
            (Some(dashes), None) => dashes,
            (None, dots) => dots.map_or(0, |dots| dots + 1),
        };
        self.start(line)
    }

    /// The first line in `from..to` that holds a directive (`%YAML`, `%TAG`).
    fn first_directive(&self, from: usize, to: usize) -> Option<usize> {
        (from..to).find(|&line| self.text(line).starts_with('%'))
    }
}

/// A node of a document being read, with its aliases expanded.
#[derive(Clone, Debug)]
struct Node {
    pos: Pos,
    /// Where its text is (offsets into the text after any byte order mark).
    place: Place,
    /// An empty plain scalar (`key:` with no value): its place is fixed by its mapping.
    empty: bool,
    /// Number of nodes in this subtree.
    size: usize,
    /// Nesting of collections in this subtree (0 for a scalar).
    height: usize,
    kind: Kind,
}

/// What a [`Node`] holds.
#[derive(Clone, Debug)]
enum Kind {
    /// A resolved scalar; `merge` marks a plain `<<` key.
    Scalar {
        json: Value,
        style: Style,
        merge: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys resolved, merges applied.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// A node at `pos` holding `kind`, written at `span`, with its size and height computed.
    fn new(pos: Pos, span: Range<usize>, kind: Kind) -> Node {
        let children: Vec<&Node> = match &kind {
            Kind::Seq(items) => items.iter().collect(),
            Kind::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
            Kind::Scalar { .. } => Vec::new(),
        };
        let size = children.iter().map(|c| c.size).sum::<usize>() + 1;
        let empty = usize::from(!matches!(kind, Kind::Scalar { .. }));
        let height = children.iter().map(|c| c.height + 1).max().unwrap_or(empty);
        let place = Place {
            entry: span.start,
            span,
            flow: false,
            copied: false,
        };
        Node {
            pos,
            place,
            empty: false,
            size,
            height,
            kind,
        }
    }
}

/// A collection still being read.
struct Frame {
    pos: Pos,
    /// Offset of its first byte (`{`/`[`, or its first key or item).
    start: usize,
    anchor: usize,
    is_map: bool,
    /// Children so far (for a mapping: key, value, key, value, ...).
    items: Vec<Node>,
}

/// Builds documents from parser events, without recursion.
struct Loader<'a> {
    lines: &'a Lines<'a>,
    /// Length of the byte order mark before the text the parser reads.
    bom: usize,
    /// The last offset computed: (line, column, byte offset), to step along long lines.
    cursor: (usize, usize, usize),
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    /// Nodes copied for anchors and aliases so far, over the whole stream.
    copied: usize,
    /// Where duplicate mapping keys go when they are read leniently (`None`: they are errors).
    duplicates: Option<&'a mut Vec<Duplicate>>,
}

impl<'a> Loader<'a> {
    /// A loader for the text indexed by `lines`, which followed a byte order mark of `bom` bytes.
    fn new(lines: &'a Lines<'a>, bom: usize) -> Self {
        Loader {
            lines,
            bom,
            cursor: (1, 0, 0),
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            copied: 0,
            duplicates: None,
        }
    }

    /// The byte offset of a saphyr marker (1-based line, 0-based column in characters).
    fn offset(&mut self, m: &saphyr_parser::Marker) -> usize {
        let (line, col) = (m.line(), m.col());
        let (mut at_col, mut at) = (0, self.lines.start(line));
        if self.cursor.0 == line && self.cursor.1 <= col {
            (at_col, at) = (self.cursor.1, self.cursor.2);
        }
        let rest = self.lines.text.get(at..).unwrap_or("");
        let end = self.lines.start(line + 1);
        let step = rest
            .char_indices()
            .nth(col - at_col)
            .map_or(rest.len(), |(b, _)| b);
        let offset = (at + step).min(end.max(at));
        // Step on from here next time, unless the column was past the line's end.
        if at + step < end {
            self.cursor = (line, col, offset);
        }
        offset
    }

    /// The byte range of a saphyr span.
    fn range(&mut self, span: &Span) -> Range<usize> {
        let start = self.offset(&span.start);
        let end = self.offset(&span.end);
        start..end.max(start)
    }

    /// The finished document's value and metadata; forget its anchors.
    fn finish_document(&mut self) -> (Value, HashMap<String, Meta>) {
        self.anchors.clear();
        let mut meta = HashMap::new();
        let value = match self.root.take() {
            Some(node) => into_json(node, &mut String::new(), &mut meta, (false, self.bom)),
            None => Value::Null,
        };
        (value, meta)
    }

    /// Handle one content event.
    fn event(&mut self, event: Event, span: &Span) -> Result<(), YamlError> {
        let pos = pos_of(span);
        let range = self.range(span);
        let (anchor, is_map) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                // saphyr reads an empty value as `~` written nowhere.
                let written = self.lines.text.get(range.clone()).unwrap_or("");
                let tilde = written.strip_prefix('~').is_some_and(|rest| {
                    rest.chars()
                        .next()
                        .is_none_or(|c| c.is_whitespace() || ",]}#".contains(c))
                });
                let empty = (text.is_empty() || (text == "~" && !tilde))
                    && style == TScalarStyle::Plain
                    && tag.is_none();
                let mut node = scalar_node(&text, style, tag.as_ref(), pos, range.clone())?;
                node.place.span.end = range.start + scalar_length(written, style);
                if matches!(style, TScalarStyle::Literal | TScalarStyle::Folded) {
                    // `|+` keeps its trailing blank lines: they are its text too.
                    let before = self.lines.text.get(..range.start).unwrap_or("");
                    let header = before.rfind(['|', '>']).map_or("", |i| &before[i..]);
                    let header = header.split(['\n', '#']).next().unwrap_or("");
                    if header.contains('+') {
                        let kept = written.rfind('\n').unwrap_or(0);
                        node.place.span.end = node.place.span.end.max(range.start + kept);
                    }
                }
                if empty {
                    node.empty = true;
                    node.place.span = range.start..range.start;
                }
                return self.add(node, anchor);
            }
            Event::SequenceEnd | Event::MappingEnd => return self.close(range),
            Event::Alias(id) => return self.alias(id, pos, range),
            Event::SequenceStart(anchor, _) => (anchor, false),
            Event::MappingStart(anchor, _) => (anchor, true),
            _ => return Ok(()),
        };
        if self.stack.len() >= MAX_DEPTH {
            return fail(pos, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let items = Vec::new();
        self.stack.push(Frame {
            pos,
            start: range.start,
            anchor,
            is_map,
            items,
        });
        Ok(())
    }

    /// Finish the innermost collection; `end` is the span of its end event (a flow collection's
    /// closing bracket; empty for a block collection).
    fn close(&mut self, end: Range<usize>) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let flow = !end.is_empty();
        let last = frame.items.iter().map(|n| n.place.span.end).max();
        let stop = if flow {
            end.end
        } else {
            last.unwrap_or(frame.start)
        };
        let span = frame.start..stop.max(frame.start);
        let mut node = if frame.is_map {
            build_map(
                frame.pos,
                span,
                frame.items,
                self.lines.text,
                self.duplicates.as_deref_mut(),
            )?
        } else {
            let mut items = frame.items;
            if !flow {
                for item in &mut items {
                    item.place.entry = dash_before(self.lines.text, item.place.span.start)
                        .unwrap_or(item.place.span.start);
                }
            }
            Node::new(frame.pos, span, Kind::Seq(items))
        };
        node.place.flow = flow;
        self.add(node, frame.anchor)
    }

    /// Expand an alias at `pos`, written at `range`.
    fn alias(&mut self, id: usize, pos: Pos, range: Range<usize>) -> Result<(), YamlError> {
        let Some(target) = self.anchors.get(&id) else {
            return fail(pos, "alias to an unknown or unfinished anchor");
        };
        if self.stack.len() + target.height > MAX_DEPTH {
            return fail(pos, format!("alias nests deeper than {MAX_DEPTH} levels"));
        }
        let mut node = target.clone();
        node.pos = pos;
        node.place = Place {
            entry: range.start,
            span: range,
            flow: node.place.flow,
            copied: true,
        };
        self.charge(&node)?;
        self.add(node, 0)
    }

    /// Count a copy of `node` against [`MAX_ALIAS_NODES`].
    fn charge(&mut self, node: &Node) -> Result<(), YamlError> {
        self.copied = self.copied.saturating_add(node.size);
        if self.copied > MAX_ALIAS_NODES {
            let message = format!("anchors and aliases copy over {MAX_ALIAS_NODES} nodes");
            return fail(node.pos, message);
        }
        Ok(())
    }

    /// Attach a finished node to its parent (or make it the root), remembering its anchor.
    fn add(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.charge(&node)?;
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(frame) => frame.items.push(node),
            None => self.root = Some(node),
        }
        Ok(())
    }
}

/// The length of a scalar's own text at the start of `written` (the text saphyr's span covers,
/// which may run on over spaces and a comment after it): up to the closing quote of a quoted
/// scalar, without trailing blanks or comment for the others.
fn scalar_length(written: &str, style: TScalarStyle) -> usize {
    let bytes = written.as_bytes();
    match style {
        TScalarStyle::SingleQuoted => {
            let mut i = 1;
            while i < bytes.len() {
                match (bytes[i], bytes.get(i + 1)) {
                    (b'\'', Some(b'\'')) => i += 2,
                    (b'\'', _) => return i + 1,
                    _ => i += 1,
                }
            }
            written.len()
        }
        TScalarStyle::DoubleQuoted => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            written.len()
        }
        TScalarStyle::Plain => {
            let cut = written
                .find(" #")
                .into_iter()
                .chain(written.find("\t#"))
                .min()
                .unwrap_or(written.len());
            written[..cut].trim_end().len()
        }
        _ => written.trim_end().len(),
    }
}

/// The `-` that starts the block sequence item whose content starts at `at`: the nearest one
/// before it that has only spaces (or other `- ` indicators) before it on its line.
fn dash_before(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..at.min(bytes.len())).rev().find(|&i| {
        let spaced = bytes
            .get(i + 1)
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        let line = text[..i].rfind(['\n', '\r']).map_or(0, |p| p + 1);
        bytes[i] == b'-' && spaced && text[line..i].bytes().all(|b| b == b' ' || b == b'-')
    })
}

/// Where the value of a key that ends at `key_end` may be written: right after its `:`.
fn after_colon(text: &str, key_end: usize) -> usize {
    let rest = text.get(key_end..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    match rest[skipped..].starts_with(':') {
        true => key_end + skipped + 1,
        false => key_end,
    }
}

/// Build a mapping from alternating key and value nodes as go-yaml v2 does: entries apply in
/// order, so a `<<` merge overrides keys written before it (but not after it).
fn build_map(
    pos: Pos,
    span: Range<usize>,
    items: Vec<Node>,
    text: &str,
    mut dups: Option<&mut Vec<Duplicate>>,
) -> Result<Node, YamlError> {
    let mut out: Vec<(String, Node)> = Vec::with_capacity(items.len() / 2);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut written: HashMap<String, Pos> = HashMap::new();
    let mut items = items.into_iter();
    while let (Some(key), Some(mut value)) = (items.next(), items.next()) {
        value.place.entry = key.place.span.start;
        if value.empty {
            let at = after_colon(text, key.place.span.end);
            value.place.span = at..at;
        }
        let entries = if let Kind::Scalar { merge: true, .. } = key.kind {
            let mut entries = merged(value)?;
            for (_, v) in &mut entries {
                v.place.copied = true;
            }
            entries
        } else {
            let name = key_name(&key)?;
            if let Some(&first) = written.get(&name) {
                let Some(dups) = dups.as_deref_mut() else {
                    let shown = Value::String(name);
                    return fail(key.pos, format!("duplicate mapping key {shown}"));
                };
                dups.push(Duplicate {
                    key: name.clone(),
                    first,
                    again: key.pos,
                    kept: node_json(&value),
                });
            }
            written.insert(name.clone(), key.pos);
            vec![(name, value)]
        };
        for (name, value) in entries {
            match index.get(&name).and_then(|&i| out.get_mut(i)) {
                Some(slot) => slot.1 = value,
                None => {
                    index.insert(name.clone(), out.len());
                    out.push((name, value));
                }
            }
        }
    }
    Ok(Node::new(pos, span, Kind::Map(out)))
}

/// A node's value as JSON (for messages).
fn node_json(node: &Node) -> Value {
    let mut meta = HashMap::new();
    into_json(node.clone(), &mut String::new(), &mut meta, (false, 0))
}

/// The entries a `<<` value merges: a mapping, or a sequence of mappings where earlier ones win.
fn merged(value: Node) -> Result<Vec<(String, Node)>, YamlError> {
    let wrong = |pos| fail(pos, "`<<` needs a mapping or a sequence of mappings");
    let sources = match value.kind {
        Kind::Map(entries) => vec![entries],
        Kind::Seq(items) => items
            .into_iter()
            .map(|item| match item.kind {
                Kind::Map(entries) => Ok(entries),
                _ => wrong(item.pos),
            })
            .collect::<Result<_, _>>()?,
        Kind::Scalar { .. } => return wrong(value.pos),
    };
    let mut seen = HashSet::new();
    let fresh = |(k, _): &(String, Node)| seen.insert(k.clone());
    Ok(sources.into_iter().flatten().filter(fresh).collect())
}

/// The JSON key for a key node, as sigs.k8s.io/yaml prints it (null and `u64` keys rejected).
fn key_name(key: &Node) -> Result<String, YamlError> {
    match &key.kind {
        Kind::Scalar { json, .. } => match json {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) if n.is_i64() => Ok(n.to_string()),
            Value::Number(n) if n.is_f64() => Ok(float_key(n.as_f64().unwrap_or(f64::NAN))),
            other => fail(key.pos, format!("kubectl rejects the mapping key {other}")),
        },
        Kind::Seq(_) => fail(key.pos, "a mapping key must be a scalar, not a sequence"),
        Kind::Map(_) => fail(key.pos, "a mapping key must be a scalar, not a mapping"),
    }
}

/// A float key as sigs.k8s.io/yaml prints it: Go's `FormatFloat(f, 'g', -1, 32)`, `±.inf`.
fn float_key(f: f64) -> String {
    let single = f as f32;
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let scientific = format!("{single:e}");
    let parts = scientific
        .split_once('e')
        .map(|(m, e)| (m, e.parse::<i32>()));
    match parts {
        Some((mantissa, Ok(exp))) if !(-4..6).contains(&exp) => {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exp.abs())
        }
        _ => single.to_string(),
    }
}

/// Convert a node to JSON, recording positions, styles and places under `pointer`. `inherited`
/// is whether an enclosing node was copied, and the length of the byte order mark to add to
/// offsets.
fn into_json(
    node: Node,
    pointer: &mut String,
    meta: &mut HashMap<String, Meta>,
    inherited: (bool, usize),
) -> Value {
    let style = match &node.kind {
        Kind::Scalar { style, .. } => Some(*style),
        _ => None,
    };
    let (copied, bom) = (inherited.0 || node.place.copied, inherited.1);
    let place = Place {
        span: node.place.span.start + bom..node.place.span.end + bom,
        entry: node.place.entry + bom,
        flow: node.place.flow,
        copied,
    };
    let pos = node.pos;
    meta.insert(pointer.clone(), Meta { pos, style, place });
    let len = pointer.len();
    match node.kind {
        Kind::Scalar { json, .. } => json,
        Kind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let _ = write!(pointer, "/{i}");
                out.push(into_json(item, pointer, meta, (copied, bom)));
                pointer.truncate(len);
            }
            Value::Array(out)
        }
        Kind::Map(entries) => {
            let mut out = Map::with_capacity(entries.len());
            for (key, value) in entries {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                out.insert(key, into_json(value, pointer, meta, (copied, bom)));
                pointer.truncate(len);
            }
            Value::Object(out)
        }
    }
}

/// A scalar event written at `span` as a node.
fn scalar_node(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
    span: Range<usize>,
) -> Result<Node, YamlError> {
    let style = match style {
        TScalarStyle::Plain => Style::Plain,
        TScalarStyle::SingleQuoted => Style::SingleQuoted,
        TScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        TScalarStyle::Literal => Style::Literal,
        TScalarStyle::Folded => Style::Folded,
    };
    let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
    match resolve_scalar(text, style, tag.as_deref()) {
        Ok((json, merge)) => Ok(Node::new(pos, span, Kind::Scalar { json, style, merge })),
        Err(m) => fail(pos, format!("{m}: {}", Value::String(text.into()))),
    }
}

/// What a plain scalar's text means under go-yaml v2's YAML 1.1 rules.
#[derive(Debug, PartialEq)]
enum Plain {
    Null,
    Bool(bool),
    Int(Number),
    Float(f64),
    Str,
}

/// Resolve a scalar given its style and full tag; the flag is true for a merge key. As in go-yaml
/// v2, tags other than the core scalar ones (local tags like `!foo` included) make a string.
fn resolve_scalar(text: &str, style: Style, tag: Option<&str>) -> Result<(Value, bool), String> {
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
fn decode_base64(text: &str) -> Result<String, String> {
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
fn float_value(f: f64) -> Result<(Value, bool), String> {
    Number::from_f64(f)
        .map(|n| (Value::Number(n), false))
        .ok_or_else(|| "JSON cannot represent infinity or NaN".to_owned())
}

/// Resolve plain scalar text as go-yaml v2 does.
fn resolve_plain(s: &str) -> Plain {
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
fn underscores_between_digits(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: Option<usize>| i.and_then(|i| b.get(i)).is_some_and(u8::is_ascii_digit);
    (0..b.len()).all(|i| b[i] != b'_' || (digit(i.checked_sub(1)) && digit(Some(i + 1))))
}

/// A float if `s` parses to a finite one (Go reports overflow to infinity as an error).
fn finite_float(s: &str) -> Plain {
    let finite = s.parse::<f64>().ok().filter(|f| f.is_finite());
    finite.map_or(Plain::Str, Plain::Float)
}

/// An integer as Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`) reads it.
fn parse_int(s: &str) -> Option<Number> {
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
fn is_float_syntax(s: &str) -> bool {
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
fn write_flow(out: &mut String, value: &Value, indents: &Indents, key: Option<&str>) {
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
fn flow_string(s: &str) -> String {
    if is_plain_safe(s) && !s.contains([',', '[', ']', '{', '}']) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// Whether `value` is written as a block (a non-empty mapping or sequence).
fn is_block(value: &Value) -> bool {
    value.as_object().is_some_and(|m| !m.is_empty())
        || value.as_array().is_some_and(|a| !a.is_empty())
}

/// Write `value` at `indent`; with `inline`, its first line continues the current one. `key` is
/// the mapping key it is the value of.
fn write_node(
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
fn scalar_text(value: &Value, indents: &Indents, key: Option<&str>) -> String {
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
fn float_text(s: &str) -> String {
    let (mantissa, exponent) = s.split_once(['e', 'E']).unwrap_or((s, ""));
    let dot = if mantissa.contains('.') { "" } else { ".0" };
    match exponent {
        "" => format!("{mantissa}{dot}"),
        e if e.starts_with(['+', '-']) => format!("{mantissa}{dot}e{e}"),
        e => format!("{mantissa}{dot}e+{e}"),
    }
}

/// A string as a plain scalar if that is unambiguous, else double-quoted.
fn string_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// Whether every YAML 1.1 and 1.2 reader reads `s` written plain as the string `s`.
fn is_plain_safe(s: &str) -> bool {
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
const SPECIAL_WORDS: [&str; 12] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=",
];

/// Whether `s` could be a number or timestamp in some reader: it starts (after a sign) with a digit
/// or `.`, has only characters those use, and at most one `.` (`3.2.0` is a number nowhere).
fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.matches('.').count() <= 1
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.+- ".contains(c))
}

/// `s` double-quoted, with escapes YAML 1.1 and 1.2 share; printable non-ASCII stays readable.
fn double_quoted(s: &str) -> String {
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
fn must_escape(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The single document of `text`.
    fn one(text: &str) -> Document {
        let mut docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 1, "{text:?}");
        docs.remove(0)
    }

    /// The value of the single document of `text`.
    fn value(text: &str) -> Value {
        one(text).value
    }

    /// The error for `text`.
    fn error(text: &str) -> YamlError {
        match parse_documents(text) {
            Ok(docs) => panic!("{text:?} parsed: {:?}", docs[0].value),
            Err(e) => e,
        }
    }

    #[test]
    fn file_modes_read_as_kubernetes_reads_them() {
        assert_eq!(value("mode: 0644"), json!({"mode": 420}));
        assert_eq!(value("mode: 0755\n"), json!({"mode": 493}));
        assert_eq!(value("mode: 420"), json!({"mode": 420}));
        assert_eq!(value("mode: 0x1A4"), json!({"mode": 420}));
        assert_eq!(value("mode: 0b110100100"), json!({"mode": 420}));
        assert_eq!(value("mode: 0o644"), json!({"mode": 420}));
        assert_eq!(value("mode: 0_644"), json!({"mode": 420}));
        assert_eq!(value("mode: -0x10"), json!({"mode": -16}));
        assert_eq!(value("mode: 0"), json!({"mode": 0}));
        let doc = one("kind: x\nmode: '0644'\n");
        assert_eq!(doc.value, json!({"kind": "x", "mode": "0644"}));
        assert_eq!(doc.style("/mode"), Some(Style::SingleQuoted));
        assert_eq!(doc.pos("/mode"), Some(Pos { line: 2, col: 7 }));
        assert_eq!(doc.style("/kind"), Some(Style::Plain));
        assert_eq!(doc.style(""), None);
        assert_eq!(doc.pos(""), Some(Pos { line: 1, col: 1 }));
        assert_eq!(doc.pos("/missing"), None);
        assert_eq!(value(r#"mode: "0644""#), json!({"mode": "0644"}));
    }

    #[test]
    fn plain_scalars_resolve_as_yaml_1_1() {
        for t in ["yes", "on", "y", "Y", "True", "ON"] {
            assert_eq!(value(t), json!(true), "{t}");
        }
        for f in ["no", "off", "n", "N", "FALSE"] {
            assert_eq!(value(f), json!(false), "{f}");
        }
        for n in ["~", "null", "Null", "NULL"] {
            assert_eq!(value(n), json!(null), "{n}");
        }
        assert_eq!(value("a:\nb: nULL"), json!({"a": null, "b": "nULL"}));
        assert_eq!(value("1.5"), json!(1.5));
        assert!(value("1.5").is_f64());
        assert_eq!(value("1e3"), json!(1000.0));
        assert_eq!(value("-.5"), json!(-0.5));
        assert_eq!(value(".5"), json!(0.5));
        assert_eq!(value("09"), json!(9.0));
        assert_eq!(value("1_000"), json!(1000));
        assert_eq!(value("1__0"), json!(10));
        assert_eq!(value(".5_5"), json!(0.55));
        assert_eq!(value("._5"), json!("._5"));
        assert_eq!(value("3.2.0"), json!("3.2.0"));
        assert_eq!(value("12:30"), json!("12:30"));
        assert_eq!(value("2001-12-14"), json!("2001-12-14"));
        assert_eq!(value("1e400"), json!("1e400"));
        assert_eq!(value("0x"), json!("0x"));
        assert_eq!(value("yess"), json!("yess"));
        assert_eq!(
            value("18446744073709551615"),
            json!(18446744073709551615u64)
        );
        assert_eq!(value("-9223372036854775808"), json!(i64::MIN));
        assert_eq!(value("99999999999999999999"), json!(1e20));
        assert_eq!(value("'yes'"), json!("yes"));
        assert_eq!(value("|\n  0644\n"), json!("0644\n"));
    }

    #[test]
    fn explicit_tags_decide_the_type() {
        assert_eq!(value("!!str 0644"), json!("0644"));
        assert_eq!(value("!!int \"0644\""), json!(420));
        assert_eq!(value("!!float 1"), json!(1.0));
        assert_eq!(value("!!bool 'yes'"), json!(true));
        assert_eq!(value("!!null ''"), json!(null));
        assert_eq!(value("!!binary aGk="), json!("hi"));
        assert_eq!(value("!!binary |\n  aGVs\n  bG8=\n"), json!("hello"));
        assert_eq!(value("!!binary /w=="), json!("\u{fffd}"));
        assert_eq!(value("!!binary ''"), json!(""));
        for bad in ["!!binary aGk", "!!binary a=k=", "!!binary 'aG k='"] {
            assert!(error(bad).message.contains("base64"), "{bad}");
        }
        assert_eq!(value("! 12"), json!("12"));
        assert_eq!(value("!local 12"), json!("12"));
        assert_eq!(value("!!timestamp 2001-12-14"), json!("2001-12-14"));
        assert_eq!(value("!local {a: 12}"), json!({"a": 12}));
        assert_eq!(value("!<tag:yaml.org,2002:str> 12"), json!("12"));
        assert_eq!(value("a: !!str\n"), json!({"a": ""}));
        let e = error("a: !!int abc");
        assert_eq!(e.pos, Pos { line: 1, col: 10 });
        assert!(e.message.contains("!!int"), "{e}");
        assert_eq!(error("- !!bool 1").pos, Pos { line: 1, col: 10 });
    }

    #[test]
    fn infinity_and_nan_are_errors() {
        let e = error("a:\n  b: .inf\n");
        assert_eq!(e.pos, Pos { line: 2, col: 6 });
        assert_eq!(error("- -.inf").pos, Pos { line: 1, col: 3 });
        assert_eq!(error(".nan").pos, Pos { line: 1, col: 1 });
        assert_eq!(value("'.inf'"), json!(".inf"));
    }

    #[test]
    fn keys_are_their_printed_form() {
        let v = value("0644: a\ntrue: b\n'~': c\nnull2: d\n1.5: e\n");
        assert_eq!(
            v,
            json!({"420": "a", "true": "b", "~": "c", "null2": "d", "1.5": "e"})
        );
        let v = value("{1e3: a, 1e30: b, 1e-7: c, 1234567.0: d, 0.1: e, -0.0: f, 1e300: g}");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "1000",
                "1e+30",
                "1e-07",
                "1.234567e+06",
                "0.1",
                "-0",
                ".inf"
            ]
        );
        assert_eq!(error("a: 1\n~: 2\n").pos, Pos { line: 2, col: 1 });
        assert_eq!(
            error("{18446744073709551615: 2}").pos,
            Pos { line: 1, col: 2 }
        );
        let e = error("0644: a\n420: b\n");
        assert_eq!(e.pos, Pos { line: 2, col: 1 });
        assert!(e.message.contains("\"420\""), "{e}");
    }

    /// The documentation's MachineConfig (testdata/doc-machineconfig.yaml).
    const MACHINE_CONFIG: &str = include_str!("../../testdata/doc-machineconfig.yaml");

    /// The value of [`MACHINE_CONFIG`].
    fn machine_config() -> Value {
        json!({
            "apiVersion": "machineconfiguration.openshift.io/v1",
            "kind": "MachineConfig",
            "metadata": {
                "name": "load-sctp-module",
                "labels": {"machineconfiguration.openshift.io/role": "worker"}
            },
            "spec": {"config": {
                "ignition": {"version": "3.2.0"},
                "storage": {"files": [
                    {
                        "path": "/etc/modprobe.d/sctp-blacklist.conf",
                        "mode": 420,
                        "overwrite": true,
                        "contents": {"source": "data:,"}
                    },
                    {
                        "path": "/etc/modules-load.d/sctp-load.conf",
                        "mode": 420,
                        "overwrite": true,
                        "contents": {"source": "data:,sctp"}
                    }
                ]}
            }}
        })
    }

    #[test]
    fn openshift_machine_config_reads_as_expected() {
        let doc = one(MACHINE_CONFIG);
        assert_eq!(doc.value, machine_config());
        assert_eq!(doc.span, 0..MACHINE_CONFIG.len());
        let mode = "/spec/config/storage/files/1/mode";
        assert_eq!(doc.pos(mode), Some(Pos { line: 19, col: 17 }));
        assert_eq!(doc.style(mode), Some(Style::Plain));
        let role = "/metadata/labels/machineconfiguration.openshift.io~1role";
        assert_eq!(doc.pos(role), Some(Pos { line: 6, col: 45 }));
        assert_eq!(
            doc.pos("/spec/config/storage/files/0"),
            Some(Pos { line: 13, col: 11 })
        );
    }

    #[test]
    fn to_yaml_writes_like_oc() {
        let yaml = to_yaml(&machine_config());
        let expected = "\
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: load-sctp-module
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
      - path: /etc/modprobe.d/sctp-blacklist.conf
        mode: 420
        overwrite: true
        contents:
          source: data:,
      - path: /etc/modules-load.d/sctp-load.conf
        mode: 420
        overwrite: true
        contents:
          source: data:,sctp
";
        assert_eq!(yaml, expected);
        let nested = json!({"a": [[1, [2, {}]], {"b": [], "c": {"d": null}}], "e": {}});
        let expected = "a:\n- - 1\n  - - 2\n    - {}\n- b: []\n  c:\n    d: null\ne: {}\n";
        assert_eq!(to_yaml(&nested), expected);
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!("x")), "x\n");
    }

    #[test]
    fn strings_are_plain_only_when_unambiguous() {
        for s in [
            "data:,",
            "data:,sctp",
            "/etc/modprobe.d/sctp-blacklist.conf",
            "machineconfiguration.openshift.io/role",
            "3.2.0",
            "worker",
            "a:b",
            "a#b",
            "4.18.0-305.el8.x86_64",
        ] {
            assert_eq!(string_text(s), s, "{s} should be plain");
        }
        for s in [
            "0644",
            "yes",
            "on",
            "1e3",
            "12:30",
            "~",
            "null",
            "",
            "-",
            "- x",
            "y",
            "N",
            "Yes",
            "2001-12-14",
            ".5",
            "+1",
            "0o17",
            "1_000",
            "1:20.5",
            ".inf",
            "<<",
            "=",
            "a: b",
            "a #b",
            "x:",
            "...",
            "--- a",
            " a",
            "a ",
            "#x",
            "é",
            "1.0",
            "a\tb",
            "@x",
            "`x",
            "%x",
            "!x",
            "&x",
            "*x",
            "?x",
            "|",
            ">",
            "'x",
            "\"x",
            "[x",
            "{x",
            ",x",
            "1e+5",
        ] {
            assert!(string_text(s).starts_with('"'), "{s:?} should be quoted");
        }
        assert_eq!(
            string_text("é\n\u{85}\u{2028}\u{7f}\""),
            "\"é\\n\\u0085\\u2028\\u007F\\\"\""
        );
        assert_eq!(float_text("1e16"), "1.0e+16");
        assert_eq!(float_text("1.5e-7"), "1.5e-7");
        assert_eq!(float_text("2.0"), "2.0");
    }

    /// Values whose YAML must read back exactly.
    fn tricky_values() -> Vec<Value> {
        let strings = [
            "0644",
            "yes",
            "on",
            "y",
            "n",
            "Y",
            "N",
            "1e3",
            "12:30",
            "1:20.5",
            "~",
            "null",
            "",
            "-",
            "- x",
            "3.2.0",
            "data:,",
            "data:,sctp",
            "2001-12-14",
            "2001-12-14 21:59:43.10 -5",
            ".5",
            "+1",
            "0o17",
            "0b101",
            "0x1A4",
            "1_000",
            ".inf",
            "-.inf",
            ".nan",
            "<<",
            "=",
            "a: b",
            "a #b",
            "x:",
            "...",
            "---",
            " lead",
            "trail ",
            "#c",
            "é ü 日本 🎉",
            "a\tb",
            "line1\nline2\n",
            "\r\n",
            "\u{0}\u{1}\u{7f}\u{85}\u{a0}\u{2028}\u{feff}",
            "\\",
            "\"",
            "'",
            "true",
            "False",
            "NULL",
            "09",
            "1.0",
            "-0",
            "@at",
            "`tick",
            "%pct",
            "key: value",
        ];
        let mut map = Map::new();
        for (i, s) in strings.iter().enumerate() {
            map.insert((*s).to_owned(), json!(i));
        }
        map.insert("x".repeat(1500), json!({"deep": [[]]}));
        map.insert("y".repeat(1100), json!([{"a": 1}, "b"]));
        let mut values: Vec<Value> = strings.iter().map(|s| json!(s)).collect();
        values.extend([
            Value::Object(map),
            json!(strings.to_vec()),
            json!({"a": {}, "b": [], "c": [{}, [], [[]], {"d": {}}], "e": [[1, 2], [3]]}),
            json!([1.5, 1e16, 1e-7, -0.0, 1e300, 0.1, 123456789.125, 2.0]),
            json!([0, -1, i64::MAX, i64::MIN, u64::MAX, true, false, null]),
            json!({"spec": {"files": [{"path": "/etc/x", "mode": 420}]}}),
            json!([]),
            json!({}),
            json!(null),
            json!(3.25),
            machine_config(),
        ]);
        values
    }

    #[test]
    fn to_yaml_round_trips() {
        for v in tricky_values() {
            let yaml = to_yaml(&v);
            assert!(yaml.ends_with('\n'));
            assert_eq!(value(&yaml), v, "YAML was:\n{yaml}");
        }
    }

    /// Whether `program args` runs successfully; if not, skip (or fail when
    /// `MODLAYER_REQUIRE_ORACLES=1`) with a reason naming `what`.
    /// Whether an oracle runs here; a missing required one fails under MODLAYER_REQUIRE_ORACLES=1.
    /// kubectl is optional: no Debian package CI installs ships a current one.
    fn oracle_available(program: &str, args: &[&str], what: &str) -> bool {
        let ok = std::process::Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            let reason = format!("skipped: {what} is not available");
            let required = program != "kubectl"
                && std::env::var("MODLAYER_REQUIRE_ORACLES").as_deref() == Ok("1");
            assert!(!required, "{reason}");
            eprintln!("{reason}");
        }
        ok
    }

    /// Run `program args` with `input` on stdin: (success, stdout, stderr).
    fn run(program: &str, args: &[&str], input: &str) -> (bool, String, String) {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.success(), text(out.stdout), text(out.stderr))
    }

    #[test]
    fn pyyaml_reads_to_yaml_output_back() {
        let python = "/usr/bin/python3";
        if !oracle_available(python, &["-c", "import yaml"], "python3 with PyYAML") {
            return;
        }
        let script = "import sys, yaml, json\n\
                      for doc in yaml.safe_load_all(sys.stdin):\n    print(json.dumps(doc))\n";
        let values = tricky_values();
        let stream: String = values
            .iter()
            .map(|v| format!("---\n{}", to_yaml(v)))
            .collect();
        let (ok, stdout, stderr) = run(python, &["-c", script], &stream);
        assert!(ok, "{stderr}");
        let read: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(read.len(), values.len());
        for (got, want) in read.iter().zip(&values) {
            assert_eq!(got, want, "PyYAML read:\n{}", to_yaml(want));
        }
    }

    /// `value` with every number as a float (Go's JSON drops `.0` and int64 precision).
    fn numbers_as_floats(value: Value) -> Value {
        match value {
            Value::Number(n) => json!(n.as_f64().unwrap()),
            Value::Array(items) => items.into_iter().map(numbers_as_floats).collect(),
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
            other => other,
        }
    }

    #[test]
    fn kubectl_reads_like_us() {
        let kubectl = "kubectl";
        if !oracle_available(kubectl, &["version", "--client"], "kubectl") {
            return;
        }
        let read = |body: &str| {
            let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{body}");
            let args = ["label", "--local", "-f", "-", "oracle=1", "-o", "json"];
            let (ok, stdout, stderr) = run(kubectl, &args, &text);
            let theirs = ok.then(|| serde_json::from_str::<Value>(&stdout).unwrap());
            let ours = parse_documents(&text).map(|mut d| d.remove(0).value);
            let ours = ours.map_err(|e| eprintln!("{body:?}: {e}")).ok();
            let strip = |v: Value| {
                let mut v = numbers_as_floats(v);
                v.as_object_mut().unwrap().remove("metadata");
                v
            };
            (ours.map(strip), theirs.map(strip), stderr)
        };
        let agreed = "\
mode: 0644
scalars: [yes, y, Y, on, n, NO, off, yEs, nUll, ~, '', 0o17, 0O17, 09, 1e3, 12:30, 0x1A4, 0b101,
  -0b101, +0x10, 2001-12-14, 1_000, 1__0, -0x10, 99999999999999999999, 1e400, .5, .5_5, ._5,
  +1, 1.0, 0_644, 1., +, ., .e5, 1.e5, '1', 3.2.0, =, <<, 1:20.5]
source: data:,
tagged: [!foo 12, !!binary aGk=, !!binary /w==, !!float 1, ! 12, !!str 0644, !!int '0644',
  !!timestamp 2001-12-14, !!seq 12, !!null '', !!str ~]
empty_tagged: !foo
keys: {0644: a, true: c, 1.5: d, 1e3: e, 1e30: f, 0.1: g, -0.0: h, 1e-7: i, 1234567.0: j,
  1e300: k, !!str <<: m}
merges:
  - {<<: {a: 1, b: 2}, a: 9}
  - {a: 9, <<: [{a: 1, c: 1}, {a: 2, b: 3, c: 2}], b: 4}
  - {<<: {a: 1}, <<: {a: 2}}
anchored: [&x {p: [1, 2]}, *x]
block: |
  text
";
        let (ours, theirs, stderr) = read(agreed);
        assert!(theirs.is_some(), "kubectl failed: {stderr}");
        assert_eq!(ours, theirs);
        let written: Map<String, Value> = tricky_values()
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("v{i}"), v))
            .collect();
        let (ours, theirs, stderr) = read(&to_yaml(&Value::Object(written.clone())));
        assert!(theirs.is_some(), "kubectl failed: {stderr}");
        assert_eq!(ours, theirs);
        let mut theirs = theirs.unwrap();
        let theirs = theirs.as_object_mut().unwrap();
        theirs.retain(|k, _| k.starts_with('v'));
        assert_eq!(
            Value::Object(theirs.clone()),
            numbers_as_floats(Value::Object(written))
        );
        for bad in [
            "v: .inf",
            "v: !!int abc",
            "v: !!bool 1",
            "v: !!binary aGk",
            "v: {~: b}",
            "v: {[a]: b}",
            "v: {18446744073709551615: 1}",
            "v: {<<: 1}",
        ] {
            let (ours, theirs, _) = read(bad);
            assert_eq!((ours, theirs), (None, None), "{bad}");
        }
    }

    /// Check that the spans of `text` cover it, and that each span alone reads the same.
    fn check_spans(text: &str) -> Vec<Document> {
        let docs = parse_documents(text).unwrap();
        let joined: String = docs.iter().map(|d| &text[d.span.clone()]).collect();
        assert_eq!(joined, text);
        for doc in &docs {
            let alone = &text[doc.span.clone()];
            let again = parse_documents(alone).unwrap();
            assert_eq!(again.len(), 1, "{alone:?}");
            assert_eq!(again[0].value, doc.value, "{alone:?}");
        }
        docs
    }

    #[test]
    fn multi_document_spans_cover_the_input() {
        let text = "# head\n---\na: é\n...\n# between\n---\nb: [1, 2]\n---\n";
        let docs = check_spans(text);
        let values: Vec<&Value> = docs.iter().map(|d| &d.value).collect();
        assert_eq!(
            values,
            [&json!({"a": "é"}), &json!({"b": [1, 2]}), &json!(null)]
        );
        assert_eq!(
            &text[docs[0].span.clone()],
            "# head\n---\na: é\n...\n# between\n"
        );
        assert_eq!(&text[docs[1].span.clone()], "---\nb: [1, 2]\n");
        assert_eq!(&text[docs[2].span.clone()], "---\n");
        assert_eq!(docs[1].pos("/b/1"), Some(Pos { line: 7, col: 8 }));

        let text = "a: ü\n# c\n---\n# lead\nb: 1\n";
        let docs = check_spans(text);
        assert_eq!(&text[docs[1].span.clone()], "---\n# lead\nb: 1\n");

        let text = "a: 1\n...\n# c\nb: 2\n...\n";
        let docs = check_spans(text);
        assert_eq!(&text[docs[1].span.clone()], "# c\nb: 2\n...\n");

        let text = "%YAML 1.1\n---\nx: 日本\n...\n%YAML 1.1\n---\ny\n";
        let docs = check_spans(text);
        assert_eq!(&text[docs[1].span.clone()], "%YAML 1.1\n---\ny\n");

        let text = "\u{feff}a: 1\r\n--- \r\nb: 2\r\n";
        let docs = check_spans(text);
        assert_eq!(docs[1].span.start, "\u{feff}a: 1\r\n".len());
        assert_eq!(docs[1].pos("/b"), Some(Pos { line: 3, col: 4 }));

        check_spans("---\n---\n");
        check_spans(&format!("{MACHINE_CONFIG}---\n{MACHINE_CONFIG}"));
    }

    #[test]
    fn places_locate_the_text() {
        let text = "\u{feff}é: 1\r\nm:\r\n  - k: 'q' # c\r\n    e:\r\n    lit: |\r\n      x\r\n\r\n  -   {a: [1, 2]}\r\nr: &r {z: 1}\r\ns: *r\r\nt:\r\n  <<: *r\r\n";
        let doc = one(text);
        let at = |p: &str| {
            let place = doc.place(p).unwrap_or_else(|| panic!("{p}"));
            (
                &text[place.span.clone()],
                &text[place.entry..place.span.start],
                place.flow,
                place.copied,
            )
        };
        assert_eq!(at("/é"), ("1", "é: ", false, false));
        assert_eq!(at("/m/0/k"), ("'q'", "k: ", false, false));
        assert_eq!(at("/m/0/e"), ("", "e:", false, false));
        assert_eq!(at("/m/0/lit"), ("x", "lit: |\r\n      ", false, false));
        assert_eq!(at("/m/0").1, "- ");
        assert!(at("/m/0").0.starts_with("k: 'q' # c\r\n") && at("/m/0").0.ends_with("x"));
        assert_eq!(at("/m/1"), ("{a: [1, 2]}", "-   ", true, false));
        let kept = "a: |+\n  x\n\n# c\nb: 1\n";
        let kept_doc = one(kept);
        let place = kept_doc.place("/a").unwrap();
        assert_eq!(&kept[place.span.clone()], "x\n");
        assert_eq!(kept_doc.value["a"], "x\n\n");
        assert_eq!(at("/m/1/a/1"), ("2", "", false, false));
        assert_eq!(at("/r"), ("{z: 1}", "r: &r ", true, false));
        assert!(at("/s").3);
        assert!(at("/s/z").3);
        assert!(at("/t/z").3);
        assert!(!at("/m").2);
        assert_eq!(doc.place("").map(|p| p.span.start), Some(3));
    }

    #[test]
    fn empty_input_is_one_null_document() {
        for text in ["", "# only a comment\n", "\n\n", "...\n"] {
            let docs = check_spans(text);
            assert_eq!(docs.len(), 1);
            assert_eq!(docs[0].value, Value::Null);
        }
    }

    #[test]
    fn anchors_aliases_and_merges() {
        let text = "\
base: &base {a: 1, b: 2}
more: &more {b: 3, c: 4}
one:
  <<: *base
  a: 9
two:
  <<: [*base, *more]
  d: 5
list: &l [x, z]
again: *l
";
        let v = value(text);
        assert_eq!(v["one"], json!({"a": 9, "b": 2}));
        assert_eq!(v["two"], json!({"a": 1, "b": 2, "c": 4, "d": 5}));
        assert_eq!(v["again"], json!(["x", "z"]));
        assert_eq!(value("'<<': 1"), json!({"<<": 1}));
        assert_eq!(value("!!str <<: 1"), json!({"<<": 1}));
        assert_eq!(value("[<<]"), json!(["<<"]));
        assert_eq!(value("{a: 9, <<: {a: 1, b: 2}}"), json!({"a": 1, "b": 2}));
        assert_eq!(value("{<<: {a: 1}, <<: {a: 2}}"), json!({"a": 2}));
        assert_eq!(value("{a: 1, <<: {b: 2}, b: 3}"), json!({"a": 1, "b": 3}));
        assert_eq!(error("a:\n  <<: 1\n").pos, Pos { line: 2, col: 7 });
        assert_eq!(
            error("a:\n  <<: [{x: 1}, 2]\n").pos,
            Pos { line: 2, col: 16 }
        );
        assert_eq!(error("a: &a [*a]\n").pos, Pos { line: 1, col: 8 });
        assert!(error("a: *nope\n").message.contains("anchor"));
        assert_eq!(error("a: &x 1\n---\nb: *x\n").pos, Pos { line: 3, col: 4 });
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_when_read_leniently() {
        let text = "metadata:\n  labels:\n    role: worker\n    role: master\n  name: x\n";
        let (docs, dups) = parse_documents_lenient(text).unwrap();
        assert_eq!(docs[0].value["metadata"]["labels"]["role"], "master");
        assert_eq!(
            docs[0].pos("/metadata/labels/role"),
            Some(Pos { line: 4, col: 11 })
        );
        assert_eq!(
            dups,
            [Duplicate {
                key: "role".into(),
                first: Pos { line: 3, col: 5 },
                again: Pos { line: 4, col: 5 },
                kept: Value::String("master".into()),
            }]
        );
        // The strict reader (kustomize, kpt) still refuses it.
        assert!(parse_documents(text).is_err());
        // A `<<` merge overriding a key is no duplicate.
        let (_, dups) = parse_documents_lenient("a: &x {k: 1}\nb:\n  k: 2\n  <<: *x\n").unwrap();
        assert!(dups.is_empty(), "{dups:?}");
    }

    #[test]
    fn duplicate_and_non_scalar_keys_are_errors() {
        let e = error("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!(e.pos, Pos { line: 4, col: 3 });
        assert!(
            e.message.contains("duplicate") && e.message.contains("\"c\""),
            "{e}"
        );
        let e = error("x: 1\n? [a]\n: b\n");
        assert_eq!(e.pos, Pos { line: 2, col: 3 });
        assert!(e.message.contains("sequence"), "{e}");
        let e = error("{x: 1}: b\n");
        assert_eq!(e.pos, Pos { line: 1, col: 1 });
        assert!(e.message.contains("mapping"), "{e}");
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let e = error(&text);
        assert_eq!(e.pos, Pos { line: 6, col: 7 });
        assert!(e.message.contains("1000000"), "{e}");
        // Nested anchors copy their subtrees too, without any alias.
        let leaf = format!("[{}]", vec!["x"; 10_000].join(","));
        let nested = (0..120).fold(leaf, |inner, i| format!("&a{i} [{inner}]"));
        assert!(error(&nested).message.contains("1000000"));
        let ok = (0..120).fold("[x]".to_owned(), |inner, i| format!("&a{i} [{inner}]"));
        assert!(parse_documents(&ok).is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let e = error(&"[".repeat(100_000));
        assert_eq!(e.pos.line, 1);
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(error(&text).pos, Pos { line: 1, col: 129 });
        let text = "- ".repeat(100_000) + "x\n";
        assert_eq!(error(&text).pos, Pos { line: 1, col: 257 });
        assert!(parse_documents(&("- ".repeat(128) + "x\n")).is_ok());
        let text = format!(
            "a: &a {}{}\nb: [{}*a]\n",
            "[".repeat(100),
            "]".repeat(100),
            "[".repeat(30)
        );
        assert_eq!(error(&text).pos, Pos { line: 2, col: 35 });
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = error("a:\n\tb: 1\n");
        assert_eq!(e.pos.line, 2);
        assert!(e.message.contains("tab"), "{e}");
        let e = error("a: 1\nb: \"abc\n");
        assert_eq!(e.pos.line, 2);
        assert!(e.message.contains("quoted"), "{e}");
        assert_eq!(
            e.to_string(),
            format!("line 2, column {}: {}", e.pos.col, e.message)
        );
        let e = error("a: 1\nb: x\u{0}y\n");
        assert_eq!(e.pos, Pos { line: 2, col: 5 });
        let e = error("a: é\u{1}");
        assert_eq!(e.pos, Pos { line: 1, col: 5 });
    }
}
