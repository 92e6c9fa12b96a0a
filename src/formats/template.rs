//! Templates committed unrendered: Go template actions (`{{ ... }}`: Helm charts, kube-compare
//! reference templates, ACM hub templates), shell command substitutions (`$(cmd)`), envsubst
//! variables (`${VAR}`) and angle-bracket placeholders (`<cluster-name>`).
//!
//! A template is only named where it decides: where the YAML cannot be read otherwise (the
//! marker is on the line the reader stopped at, or the line before), or where a field that must
//! follow a grammar (an object name, a label) holds one. A `$` or `{{` inside a script's or a
//! file's contents is the contents, not a template, and is never flagged.

use std::fmt;

/// A template marker found in some text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// What it is, for people (`a Helm value`, `an envsubst variable`...).
    pub what: &'static str,
    /// The marker as written (`{{ .Values.role }}`).
    pub text: String,
    /// Its byte offset in the text searched.
    pub offset: usize,
}

/// Longest marker looked at (a longer `{{ ... }}` is still one, shown cut).
const MAX_MARKER: usize = 200;

/// The first template marker in `s`, if any.
pub fn find(s: &str) -> Option<Marker> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &s[i..];
        if let Some(m) = at(rest) {
            return Some(Marker {
                offset: i + m.offset,
                ..m
            });
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// A marker starting exactly at the start of `s`.
fn at(s: &str) -> Option<Marker> {
    let mk = |what, len: usize| {
        let text = s.get(..len.min(MAX_MARKER)).unwrap_or(s).to_string();
        Some(Marker {
            what,
            text,
            offset: 0,
        })
    };
    if let Some(body) = s.strip_prefix("{{") {
        let end = body.find("}}")?;
        let inner = &body[..end];
        let what = if inner.contains(".Values")
            || inner.contains(".Release")
            || inner.contains(".Chart")
        {
            "a Helm template"
        } else if inner
            .trim_start_matches('-')
            .trim_start()
            .starts_with("hub")
        {
            "an ACM hub template"
        } else {
            "a Go template action"
        };
        return mk(what, end + 4);
    }
    if let Some(body) = s.strip_prefix("${") {
        let end = body.find('}')?;
        let name = body[..end]
            .split([':', '-', '=', '?', '+'])
            .next()
            .unwrap_or("");
        let ok = name
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        return ok.then(|| mk("an envsubst variable", end + 3)).flatten();
    }
    if let Some(body) = s.strip_prefix("$(") {
        let end = body.find(')')?;
        let cmd = &body[..end];
        let ok = cmd.bytes().next().is_some_and(|c| c.is_ascii_alphabetic()) && !cmd.contains('\n');
        return ok
            .then(|| mk("a shell command substitution", end + 3))
            .flatten();
    }
    if let Some(body) = s.strip_prefix('<') {
        let end = body.find('>')?;
        let name = &body[..end];
        let ok = (1..=64).contains(&name.len())
            && name.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_. ".contains(&c));
        return ok.then(|| mk("a placeholder", end + 2)).flatten();
    }
    None
}

/// A marker on 1-based `line` of `text` or the line before it (a YAML reader often stops at the
/// token after the one it could not take), with its 1-based line and column.
pub fn near_line(text: &str, line: usize) -> Option<(Marker, usize, usize)> {
    let lines: Vec<&str> = text.split('\n').collect();
    for l in [line, line.saturating_sub(1)] {
        let Some(t) = l.checked_sub(1).and_then(|i| lines.get(i)) else {
            continue;
        };
        // A comment is not read: a marker there is no cause.
        let code = match t.find(" #") {
            Some(c) => &t[..c],
            None if t.trim_start().starts_with('#') => "",
            None => t,
        };
        if let Some(m) = find(code) {
            let col = code[..m.offset].chars().count() + 1;
            return Some((m, l, col));
        }
    }
    None
}

/// An input that is a template, not yet rendered: `FILE:LINE:COL: a template (...): render it first`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unrendered {
    /// `FILE:LINE:COL`.
    pub place: String,
    /// The marker.
    pub marker: Marker,
    /// What the reader said where it stopped.
    pub reader: String,
}

impl fmt::Display for Unrendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: a template (`{}`, {}): render it first (helm template, envsubst, kube-compare, or fill in the placeholder); as it is, the YAML reader says: {}",
            self.place, self.marker.text, self.marker.what, self.reader
        )
    }
}

impl std::error::Error for Unrendered {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_and_named() {
        let m = find("name: {{ .Values.name }}-sctp").unwrap();
        assert_eq!(
            (m.what, m.text.as_str(), m.offset),
            ("a Helm template", "{{ .Values.name }}", 6)
        );
        assert_eq!(
            find("x {{- .spec.role }}").unwrap().what,
            "a Go template action"
        );
        assert_eq!(
            find("{{hub fromConfigMap \"\" \"x\" \"y\" hub}}")
                .unwrap()
                .what,
            "an ACM hub template"
        );
        assert_eq!(find("role: ${ROLE}").unwrap().text, "${ROLE}");
        assert_eq!(
            find("role: ${ROLE:-worker}").unwrap().what,
            "an envsubst variable"
        );
        assert_eq!(
            find("n: $(hostname -s)").unwrap().what,
            "a shell command substitution"
        );
        assert_eq!(find("name: <cluster-name>").unwrap().text, "<cluster-name>");
        // Not templates: a lone `$`, `$1`, `${1}`, a comparison, a callout `<1>`, an email-ish `<a@b>`.
        for no in [
            "cost $5",
            "echo $1 ${1}",
            "a < b > c",
            "worker <1>",
            "<a@b.c>",
            "{{ unclosed",
            "$((1+2))",
        ] {
            assert_eq!(find(no), None, "{no:?}");
        }
    }

    #[test]
    fn only_the_lines_where_reading_stopped_count() {
        let text = "a: 1\n# {{ a comment }}\nb: {{ .Values.x }}\nc: 3\n";
        let (m, line, col) = near_line(text, 3).unwrap();
        assert_eq!((m.text.as_str(), line, col), ("{{ .Values.x }}", 3, 4));
        assert_eq!(near_line(text, 2), None);
        assert_eq!(near_line(text, 5), None);
    }
}
