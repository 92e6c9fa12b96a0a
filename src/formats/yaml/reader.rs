//! The event reader: saphyr's events assembled into documents of nodes that remember where each
//! node was written (for messages and splices), with anchors, aliases, merge keys and the limits
//! that keep a hostile stream bounded.

use super::*;
pub(super) fn parse_stream(
    text: &str,
    dups: Option<&mut Vec<Duplicate>>,
) -> Result<Vec<Document>, YamlError> {
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
pub(super) fn assemble(
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
pub(super) fn scan_error(e: &ScanError) -> YamlError {
    let m = e.marker();
    let (pos, message) = (Pos::new(m.line(), m.col() + 1), e.info().to_owned());
    YamlError { pos, message }
}

/// The 1-based position of a saphyr span's start.
pub(super) fn pos_of(span: &Span) -> Pos {
    Pos::new(span.start.line(), span.start.col() + 1)
}

/// Reject characters YAML does not allow (as go-yaml does); saphyr would stop reading at a NUL.
pub(super) fn check_characters(body: &str, lines: &Lines) -> Result<(), YamlError> {
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
pub(super) type Marks = (Option<usize>, Option<usize>);

/// Byte offsets of the starts of lines, counted as saphyr counts them (`\n`, `\r\n`, `\r`).
pub(super) struct Lines<'a> {
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
pub(super) struct Node {
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
pub(super) enum Kind {
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
pub(super) struct Frame {
    pos: Pos,
    /// Offset of its first byte (`{`/`[`, or its first key or item).
    start: usize,
    anchor: usize,
    is_map: bool,
    /// Children so far (for a mapping: key, value, key, value, ...).
    items: Vec<Node>,
}

/// Builds documents from parser events, without recursion.
pub(super) struct Loader<'a> {
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
pub(super) fn scalar_length(written: &str, style: TScalarStyle) -> usize {
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
pub(super) fn dash_before(text: &str, at: usize) -> Option<usize> {
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
pub(super) fn after_colon(text: &str, key_end: usize) -> usize {
    let rest = text.get(key_end..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    match rest[skipped..].starts_with(':') {
        true => key_end + skipped + 1,
        false => key_end,
    }
}

/// Build a mapping from alternating key and value nodes as go-yaml v2 does: entries apply in
/// order, so a `<<` merge overrides keys written before it (but not after it).
pub(super) fn build_map(
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
pub(super) fn node_json(node: &Node) -> Value {
    let mut meta = HashMap::new();
    into_json(node.clone(), &mut String::new(), &mut meta, (false, 0))
}

/// The entries a `<<` value merges: a mapping, or a sequence of mappings where earlier ones win.
pub(super) fn merged(value: Node) -> Result<Vec<(String, Node)>, YamlError> {
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
pub(super) fn key_name(key: &Node) -> Result<String, YamlError> {
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
pub(super) fn float_key(f: f64) -> String {
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
pub(super) fn into_json(
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
                pointer.push_str(&crate::formats::json::pointer_token(&key));
                out.insert(key, into_json(value, pointer, meta, (copied, bom)));
                pointer.truncate(len);
            }
            Value::Object(out)
        }
    }
}

/// A scalar event written at `span` as a node.
pub(super) fn scalar_node(
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
