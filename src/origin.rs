//! Where something came from, through nested artifacts: the target as the user named it, then
//! each thing nested in it, then the place inside the last one. Every report, JSON result, KRM
//! `file` field and error message renders an origin the same way:
//!
//! - `agent.iso > ignition > /etc/assisted/extra-manifests/99-sctp.yaml:12:5`
//! - `hub/site.yaml > ConfigMap ztp-site/extra > data.sctp.yaml > MachineConfig 99-worker-sctp $.storage.files[0]`
//!
//! Links are joined with [`SEP`]; a line and column follow the last link as `:LINE:COL`, a JSON
//! path as ` $.PATH`; words that qualify the place (`(mask: true)`, `drop-in x.conf`) come last.
//! The structure is kept so that reports find the user's file and line ([`Origin::root_file`],
//! [`Origin::line_in_root`]) and the KRM function the MachineConfig ([`Origin::object`]) without
//! reading text back.

use std::fmt;

use serde::{Serialize, Serializer};

/// What separates the links of an origin.
pub const SEP: &str = " > ";

/// One link of an origin.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// A file as the user named it (a target, or a file inside a folder target).
    File(String),
    /// A place inside the link before it: a file an Ignition config writes, a medium's config
    /// area (`ignition`), a ConfigMap's `data.KEY`, a hub's `cluster NAME`.
    Inner(String),
    /// A Kubernetes object (`MachineConfig 99-worker-sctp`).
    Object {
        /// Its kind.
        kind: String,
        /// Its name (`NAMESPACE/NAME` where it has a namespace).
        name: String,
    },
    /// Prose, where no file holds the thing (`RHEL CoreOS base image (kernel-modules-extra)`).
    Note(String),
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::File(s) | Link::Inner(s) | Link::Note(s) => f.write_str(s),
            Link::Object { kind, name } => write!(f, "{kind} {name}"),
        }
    }
}

/// A place inside the last link.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum At {
    /// A line and, where known, a column (1-based).
    Line {
        /// The line.
        line: u64,
        /// The column.
        column: Option<u64>,
    },
    /// A JSON path (`$.storage.files[0]`).
    Path(String),
}

/// Where something came from: links, outermost first, a place inside the last one, and words
/// that qualify it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    links: Vec<Link>,
    at: Option<At>,
    words: Vec<String>,
    /// Where in the root file the nested thing begins (not rendered: for reports that link to
    /// a line of the user's file).
    root_at: Option<RootAt>,
}

/// Where a nested thing begins in the root file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RootAt {
    line: u64,
    column: Option<u64>,
    /// The last link's text is the root file's text from there on, line for line (a YAML
    /// literal block): its lines and columns map to the root file's.
    continues: bool,
}

impl Origin {
    /// An origin starting at a file as the user named it.
    pub fn file(name: impl Into<String>) -> Origin {
        Origin::link(Link::File(name.into()))
    }

    /// An origin that is prose (no file holds the thing).
    pub fn note(text: impl Into<String>) -> Origin {
        Origin::link(Link::Note(text.into()))
    }

    /// An origin of one link.
    pub fn link(link: Link) -> Origin {
        Origin {
            links: vec![link],
            ..Origin::default()
        }
    }

    /// The same origin one level deeper (the place and words, which belonged to the last link,
    /// are dropped).
    pub fn then(&self, link: Link) -> Origin {
        let mut links = self.links.clone();
        links.push(link);
        let from_at = match &self.at {
            Some(At::Line { line, column }) => self.root_position(*line, *column),
            _ => None,
        };
        let root_at = from_at
            .map(|(line, column)| RootAt {
                line,
                column,
                continues: false,
            })
            .or(self.root_at.map(|r| RootAt {
                continues: false,
                ..r
            }));
        Origin {
            links,
            root_at,
            ..Origin::default()
        }
    }

    /// One level deeper, into a place of the last link ([`Link::Inner`]).
    pub fn inner(&self, name: impl Into<String>) -> Origin {
        self.then(Link::Inner(name.into()))
    }

    /// One level deeper, into a Kubernetes object ([`Link::Object`]).
    pub fn object(&self, kind: impl Into<String>, name: impl Into<String>) -> Origin {
        self.then(Link::Object {
            kind: kind.into(),
            name: name.into(),
        })
    }

    /// The same origin at a line (and column) of its last link.
    pub fn at_line(mut self, line: u64, column: Option<u64>) -> Origin {
        self.at = Some(At::Line { line, column });
        self
    }

    /// The same origin at a JSON path of its last link (`$.storage.files[0]`; a path without
    /// `$` gets one).
    pub fn at_path(mut self, path: impl Into<String>) -> Origin {
        let p = path.into();
        self.at = Some(At::Path(if p.starts_with('$') {
            p
        } else {
            format!("$.{p}")
        }));
        self
    }

    /// The same origin, beginning at a line (and column) of its root file: what is nested deeper
    /// starts there (a document, a ConfigMap's entry). Reports link to it; it is not rendered.
    pub fn at_root_line(mut self, line: u64, column: Option<u64>) -> Origin {
        self.root_at = Some(RootAt {
            line,
            column,
            continues: false,
        });
        self
    }

    /// The same origin, its last link's text being the root file's from `line` and `column` on,
    /// line for line (a YAML literal block): places in it are places of the root file too.
    pub fn continuing_root_at(mut self, line: u64, column: Option<u64>) -> Origin {
        self.root_at = Some(RootAt {
            line,
            column,
            continues: true,
        });
        self
    }

    /// Where a line and column of the last link's text are in the root file: the same place
    /// when the origin is the root file, mapped when its text continues the root file's
    /// ([`Origin::continuing_root_at`]); else unknown.
    pub fn root_position(&self, line: u64, column: Option<u64>) -> Option<(u64, Option<u64>)> {
        if self.is_root_file() {
            return Some((line, column));
        }
        let r = self
            .root_at
            .filter(|r| r.continues && self.root_file().is_some())?;
        let column = match (column, r.column) {
            (Some(c), Some(start)) => Some(start + c.max(1) - 1),
            _ => None,
        };
        Some((r.line + line.max(1) - 1, column))
    }

    /// Whether the origin is a file as the user named it, and nothing nested in it.
    pub fn is_root_file(&self) -> bool {
        matches!(&self.links[..], [Link::File(_)])
    }

    /// The same origin with words that qualify it, rendered after the place.
    pub fn with_words(mut self, words: impl Into<String>) -> Origin {
        self.words.push(words.into());
        self
    }

    /// Change every text it holds (link texts, object names, the place, the words) with `f`.
    pub fn map_texts(&mut self, mut f: impl FnMut(&mut String)) {
        for l in &mut self.links {
            match l {
                Link::File(s) | Link::Inner(s) | Link::Note(s) => f(s),
                Link::Object { kind, name } => {
                    f(kind);
                    f(name);
                }
            }
        }
        if let Some(At::Path(p)) = &mut self.at {
            f(p);
        }
        self.words.iter_mut().for_each(f);
    }

    /// Change its links with `f`.
    pub fn map_links(&mut self, f: impl FnMut(&mut Link)) {
        self.links.iter_mut().for_each(f);
    }

    /// Its links, outermost first.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The place inside the last link.
    pub fn at(&self) -> Option<&At> {
        self.at.as_ref()
    }

    /// The file the origin starts from, when it starts from one.
    pub fn root_file(&self) -> Option<&str> {
        match self.links.first() {
            Some(Link::File(f)) => Some(f),
            _ => None,
        }
    }

    /// The line and column in [`Origin::root_file`]: the place, when it is a line of that file
    /// itself, else where the nested thing begins in it ([`Origin::at_root_line`]), if known.
    pub fn line_in_root(&self) -> Option<(u64, Option<u64>)> {
        if let Some(At::Line { line, column }) = &self.at {
            if let Some(p) = self.root_position(*line, *column) {
                return Some(p);
            }
        }
        self.root_file()?;
        self.root_at.map(|r| (r.line, r.column))
    }

    /// The name of the innermost object of `kind` the origin passes through.
    pub fn object_named(&self, kind: &str) -> Option<&str> {
        self.links.iter().rev().find_map(|l| match l {
            Link::Object { kind: k, name } if k == kind => Some(name.as_str()),
            _ => None,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.links.iter().enumerate() {
            if i > 0 {
                f.write_str(SEP)?;
            }
            write!(f, "{l}")?;
        }
        match &self.at {
            Some(At::Line { line, column }) => {
                write!(f, ":{line}")?;
                if let Some(c) = column {
                    write!(f, ":{c}")?;
                }
            }
            Some(At::Path(p)) => write!(f, " {p}")?,
            None => {}
        }
        for w in &self.words {
            if !w.starts_with([',', ':', ';']) {
                f.write_str(" ")?;
            }
            f.write_str(w)?;
        }
        Ok(())
    }
}

/// Something said of a place (an error, a problem in a config): its text starts with the
/// place rendered (`FILE:LINE:COL (spec.x): …`), and the place is kept for reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Placed {
    /// Where.
    pub origin: Origin,
    /// What, with the place at its head.
    pub text: String,
}

impl Placed {
    /// `message` said of `origin`: `ORIGIN: MESSAGE`.
    pub fn new(origin: Origin, message: impl fmt::Display) -> Placed {
        let text = format!("{origin}: {message}");
        Placed { origin, text }
    }
}

impl fmt::Display for Placed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Placed {}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<&str> for Origin {
    fn from(s: &str) -> Origin {
        Origin::note(s)
    }
}

impl From<String> for Origin {
    fn from(s: String) -> Origin {
        Origin::note(s)
    }
}

impl From<&String> for Origin {
    fn from(s: &String) -> Origin {
        Origin::note(s.as_str())
    }
}

impl From<&Origin> for Origin {
    fn from(o: &Origin) -> Origin {
        o.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_links_place_and_words() {
        let o = Origin::file("agent.iso")
            .inner("ignition")
            .inner("/etc/assisted/extra-manifests/99-sctp.yaml")
            .at_line(12, Some(5));
        assert_eq!(
            o.to_string(),
            "agent.iso > ignition > /etc/assisted/extra-manifests/99-sctp.yaml:12:5"
        );
        assert_eq!(o.root_file(), Some("agent.iso"));
        assert_eq!(o.line_in_root(), None, "the line is inside the medium");
        // What begins at a line of the root file keeps that line, deeper too, unrendered.
        let cm = Origin::file("site.yaml")
            .at_root_line(12, Some(3))
            .object("ConfigMap", "a/b")
            .inner("data.x.yaml");
        assert_eq!(cm.to_string(), "site.yaml > ConfigMap a/b > data.x.yaml");
        assert_eq!(cm.line_in_root(), Some((12, Some(3))));
        let doc = Origin::file("mc.yaml")
            .at_line(4, Some(1))
            .object("MachineConfig", "x");
        assert_eq!(doc.line_in_root(), Some((4, Some(1))));
        // A literal block's lines are the file's: line 3 column 7 of the entry is line 10
        // column 11 of the file when the block's text starts at line 8 column 5.
        let block = Origin::file("cm.yaml")
            .inner("data.x.yaml")
            .continuing_root_at(8, Some(5));
        assert_eq!(
            block.clone().at_line(3, Some(7)).line_in_root(),
            Some((10, Some(11)))
        );
        assert_eq!(block.line_in_root(), Some((8, Some(5))));
        // Deeper, the thing begins where the block does, unless placed.
        assert_eq!(
            block.object("MachineConfig", "m").line_in_root(),
            Some((8, Some(5)))
        );
        assert_eq!(
            block
                .clone()
                .at_line(2, Some(1))
                .object("MachineConfig", "m")
                .line_in_root(),
            Some((9, Some(5)))
        );
        // Without a root file, nothing maps.
        let note = Origin::note("x").continuing_root_at(8, Some(5));
        assert_eq!(note.at_line(1, None).line_in_root(), None);
        let mc = Origin::file("site.yaml")
            .object("ConfigMap", "ztp/extra")
            .inner("data.sctp.yaml")
            .object("MachineConfig", "99-worker-sctp")
            .at_path("storage.files[0]")
            .with_words("(sctp.service)");
        assert_eq!(
            mc.to_string(),
            "site.yaml > ConfigMap ztp/extra > data.sctp.yaml > MachineConfig 99-worker-sctp $.storage.files[0] (sctp.service)"
        );
        assert_eq!(mc.object_named("MachineConfig"), Some("99-worker-sctp"));
        assert_eq!(mc.object_named("Secret"), None);
        let line = Origin::file("mc.yaml").at_line(7, None);
        assert_eq!(line.to_string(), "mc.yaml:7");
        assert_eq!(line.line_in_root(), Some((7, None)));
        assert_eq!(
            Origin::note("base").with_words(", a link to x").to_string(),
            "base, a link to x"
        );
        // Going deeper drops the place of the outer link.
        assert_eq!(line.inner("x").to_string(), "mc.yaml > x");
    }
}
