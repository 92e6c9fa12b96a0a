//! Where a finding points in the user's files, for reports that link to a place (SARIF
//! `physicalLocation`, GitHub workflow annotations): the file, and the line and column where the
//! finding names them.
//!
//! A finding's [`Origin`] is structured: its root file is the place, with a line when the line is
//! one of that file itself (a line inside something nested in it, a ConfigMap's entry or a file
//! an Ignition config writes, is not a line of the file). A finding without such an origin may
//! be a reader's error, whose message starts with the place the reader names (`PLACE: …`,
//! `FILE:LINE:COL`, or an origin rendered, `FILE > data.KEY:5:9`). A place is only given for a
//! file that exists.

use std::path::Path;

use crate::findings::Finding;
use crate::origin::{Origin, SEP};

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

/// Where `finding` points, for the target `target` (as given on the command line): where it is
/// written ([`Finding::place`]) or its origin's root file, at the line of that file they name;
/// else the place at the head of its message; else its origin's root file; else the target
/// itself when it is a file. `None` for standard input and places that name no file.
pub fn place_of(finding: &Finding, target: &str) -> Option<Place> {
    let written = finding.place.as_ref().and_then(|o| root_place(o, target));
    if written.as_ref().is_some_and(|p| p.line.is_some()) {
        return written;
    }
    let root = finding.origin.as_ref().and_then(|o| root_place(o, target));
    if root.as_ref().is_some_and(|p| p.line.is_some()) {
        return root;
    }
    head_place(&finding.message, target)
        .or(root)
        .or_else(|| existing(target, target))
}

/// An origin's root file, with the line when the origin is at a line of that file.
fn root_place(o: &Origin, target: &str) -> Option<Place> {
    let mut p = existing(o.root_file()?, target)?;
    if let Some((line, column)) = o.line_in_root() {
        p.line = Some(line);
        p.column = column;
    }
    Some(p)
}

/// The place a reader's error names at the head of its message: `FILE:LINE[:COL]` (a line of
/// FILE), or `FILE > INNER…` (FILE alone).
fn head_place(message: &str, target: &str) -> Option<Place> {
    let head = message.split(": ").next()?;
    let head = head.split(" (").next()?;
    let mut links = head.split(SEP);
    let first = links.next()?;
    if links.next().is_some() {
        return existing(first.trim_end_matches(':'), target);
    }
    let (file, line, column) = split_place(first)?;
    let mut p = existing(file, target)?;
    p.line = Some(line);
    p.column = column;
    Some(p)
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
    fn places_come_from_origins_and_message_heads() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("mc.yaml");
        std::fs::write(&file, "x").unwrap();
        let f = file.to_string_lossy().into_owned();
        let at = |msg: String, origin: Option<Origin>| {
            let mut finding = Finding::new(Code::ManifestUnreadable, msg);
            finding.origin = origin;
            place_of(&finding, "-")
        };
        let place = |line: Option<u64>, column: Option<u64>| {
            Some(Place {
                file: f.clone(),
                line,
                column,
            })
        };
        assert_eq!(
            at(format!("{f}:12:5: bad value"), None),
            place(Some(12), Some(5))
        );
        assert_eq!(
            at(
                "see".into(),
                Some(Origin::file(f.as_str()).at_line(7, None))
            ),
            place(Some(7), None)
        );
        // A line inside a ConfigMap entry is not a line of the file: the file alone.
        assert_eq!(
            at(
                format!("{f} > ConfigMap a/b > data.sctp.yaml:5:9 (spec.x): bad"),
                None
            ),
            place(None, None)
        );
        let inner = Origin::file(f.as_str())
            .inner("data.sctp.yaml")
            .at_line(5, Some(9));
        assert_eq!(at("bad".into(), Some(inner)), place(None, None));
        // The origin's file; a line the message names in it wins.
        let mc = Origin::file(f.as_str()).object("MachineConfig", "x");
        assert_eq!(
            at("MachineConfig x".into(), Some(mc.clone())),
            place(None, None)
        );
        assert_eq!(
            at(format!("{f}:3:1 (spec): no"), Some(mc)),
            place(Some(3), Some(1))
        );
        // Node paths and notes are no files of the user's.
        assert_eq!(at("nothing:3:4 here".into(), None), None);
        assert_eq!(
            at(
                "/etc/modprobe.d/x.conf:7: blacklist".into(),
                Some(Origin::note("base"))
            ),
            None
        );
    }
}
