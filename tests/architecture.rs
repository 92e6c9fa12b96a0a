//! The shape of the code that the design asks for, checked on the sources: no import cycle among
//! the top-level modules of `src/` (layers are plain data below the node model, the node model
//! below the config readers, and so on up to the command line), and a command line that does not
//! know target kinds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The code of a file that is built outside tests: up to its first `#[cfg(test)]`, without
/// comment lines (a doc link is not an import).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules (`src/X.rs` or `src/X/`) and which others each one names as `crate::Y`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if ["lib", "main", "bin"].contains(&name.as_str()) {
            continue;
        }
        if p.is_dir() {
            files.insert(name, rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.insert(name, vec![p]);
        }
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (m, paths) in &files {
        let mut deps = BTreeSet::new();
        for p in paths {
            let code = code_of(p);
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let used = &rest[..end];
                if used != m && names.contains(used) {
                    deps.insert(used.to_string());
                }
            }
        }
        graph.insert(m.clone(), deps);
    }
    graph
}

/// A cycle through `start`, if there is one (depth-first, the path as found).
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_import_cycle_among_top_level_modules() {
    let graph = module_graph();
    // The graph is real: the modules it must see and some of their edges.
    for (m, dep) in [("node", "layer"), ("targets", "mco"), ("cli", "targets")] {
        assert!(graph[m].contains(dep), "{m} -> {dep} not seen: {graph:?}");
    }
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["c".to_string()].into());
    g.insert("c".into(), ["a".to_string()].into());
    assert_eq!(cycle_from(&g, "a").unwrap(), ["a", "b", "c", "a"]);
    g.get_mut("c").unwrap().clear();
    assert!(cycle_from(&g, "a").is_none());
}

#[test]
fn the_command_line_does_not_know_target_kinds() {
    let cli = src().join("cli");
    for p in rust_files(&cli) {
        let code = code_of(&p);
        assert!(
            !code.contains("Kind::"),
            "{}: matches on target kinds; let the Target trait decide",
            p.display()
        );
    }
}
