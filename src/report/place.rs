//! Where a finding points in the user's files, for reports that link to a place (SARIF
//! `physicalLocation`, GitHub workflow annotations): the file, and the line and column where the
//! finding names them.
//!
//! Findings carry their place in text (`origin`, and `FILE:LINE:COL: …` at the head of messages
//! read from a file); this reads it back. A place is only given for a file that exists, so an
//! inner name (`FILE data.KEY:5:9`, a line inside a ConfigMap's entry) falls back to the file
//! that holds it, without a line.

use std::path::Path;

use crate::findings::Finding;

/// A file, and the line and column (1-based) where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The file, as the user named it (relative to the current directory, or absolute).
    pub file: String,
    /// The line, 1-based.
    pub line: Option<u64>,
    /// The column, 1-based (only with a line).
    pub column: Option<u64>,
}

/// Where `finding` points, for the target `target` (as given on the command line): the first
/// `FILE:LINE[:COL]` in its origin or message that names an existing file, else the first existing
/// file its origin names, else the target itself when it is a file. `None` for standard input and
/// places that name no file.
pub fn place_of(finding: &Finding, target: &str) -> Option<Place> {
    let texts = [finding.origin.as_deref(), Some(finding.message.as_str())];
    for text in texts.into_iter().flatten() {
        if let Some(p) = first_place(text, target) {
            return Some(p);
        }
    }
    let from_origin = finding.origin.as_deref().and_then(|o| {
        words(o)
            .into_iter()
            .find_map(|w| existing(w.trim_end_matches(':'), target))
    });
    from_origin.or_else(|| existing(target, target))
}

/// The words of a text, split at white space and at brackets, quotes and commas around them.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || "()[]'\"`,;".contains(c))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The first `FILE:LINE[:COL]` word of `text` whose FILE exists; a word whose FILE does not exist
/// (an inner name) gives the word before it as the file, without a line, when that one exists.
fn first_place(text: &str, target: &str) -> Option<Place> {
    let ws = words(text);
    for (i, w) in ws.iter().enumerate() {
        let Some((file, line, column)) = split_place(w) else {
            continue;
        };
        if let Some(mut p) = existing(file, target) {
            p.line = Some(line);
            p.column = column;
            return Some(p);
        }
        if let Some(p) = i.checked_sub(1).and_then(|j| existing(ws[j], target)) {
            return Some(p);
        }
    }
    None
}

/// `FILE:LINE[:COL]` (a trailing `:` allowed) into its parts.
fn split_place(word: &str) -> Option<(&str, u64, Option<u64>)> {
    let word = word.trim_end_matches(':');
    let mut parts = word.rsplitn(3, ':');
    let last = parts.next()?;
    let middle = parts.next()?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .filter(|n| *n > 0)
    };
    match (number(middle), number(last), parts.next()) {
        (Some(line), Some(col), Some(file)) if !file.is_empty() => Some((file, line, Some(col))),
        (None, Some(line), Some(rest)) => {
            Some((&word[..rest.len() + 1 + middle.len()], line, None))
        }
        (None, Some(line), None) if !middle.is_empty() => Some((middle, line, None)),
        _ => None,
    }
}

/// `name` as a place when it is an existing regular file, as named or inside the target folder.
fn existing(name: &str, target: &str) -> Option<Place> {
    if name.is_empty() || name == "-" {
        return None;
    }
    let named = Path::new(name);
    if named.is_file() {
        return Some(Place {
            file: name.to_string(),
            line: None,
            column: None,
        });
    }
    let inside = Path::new(target).join(name);
    (named.is_relative() && Path::new(target).is_dir() && inside.is_file()).then(|| Place {
        file: inside.to_string_lossy().into_owned(),
        line: None,
        column: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Code;

    #[test]
    fn places_are_read_back_only_for_existing_files() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("mc.yaml");
        std::fs::write(&file, "x").unwrap();
        let f = file.to_string_lossy().into_owned();
        let at = |msg: String, origin: Option<String>| {
            let mut finding = Finding::new(Code::ManifestUnreadable, msg);
            finding.origin = origin;
            place_of(&finding, "-")
        };
        assert_eq!(
            at(format!("{f}:12:5: bad value"), None),
            Some(Place {
                file: f.clone(),
                line: Some(12),
                column: Some(5)
            })
        );
        assert_eq!(
            at("see".into(), Some(format!("{f}:7"))),
            Some(Place {
                file: f.clone(),
                line: Some(7),
                column: None
            })
        );
        // A line inside a ConfigMap entry is not a line of the file: the file alone.
        assert_eq!(
            at(format!("{f} data.sctp.yaml:5:9: bad"), None),
            Some(Place {
                file: f.clone(),
                line: None,
                column: None
            })
        );
        assert_eq!(
            at(
                "MachineConfig x".into(),
                Some(format!("MachineConfig x ({f})"))
            ),
            Some(Place {
                file: f,
                line: None,
                column: None
            })
        );
        assert_eq!(at("nothing:3:4 here".into(), None), None);
    }
}
