//! A fast reading of the one shape that makes up most of a hub stream: a ConfigMap as
//! `kubectl kustomize` writes it (block style, keys `apiVersion`, `data`, `kind`, `metadata` at
//! column 0, each data value a literal block scalar `KEY: |`, `|-` or `|+`). Anything else
//! (quotes, flow style, comments, indentation indicators, other keys) is `None`: the caller reads
//! the document with the full YAML reader. Lines are taken as YAML 1.1/1.2 take a literal block
//! scalar: the indentation of its first non-empty line removed from each line, empty lines kept,
//! the final line breaks chomped as the indicator says.

/// A ConfigMap read the fast way: namespace, name and its data entries.
pub struct FastConfigMap {
    /// `metadata.namespace` (None when absent).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `data`, in the order written.
    pub data: Vec<(String, String)>,
}

fn plain(s: &str) -> Option<&str> {
    let s = s.trim_end();
    (!s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'/')))
    .then_some(s)
}

/// Read a kustomize-shaped ConfigMap document, or `None` when it is not one.
pub fn configmap(doc: &str) -> Option<FastConfigMap> {
    let body = doc.strip_prefix("---\n").unwrap_or(doc);
    if body.contains('\t') || body.contains('\r') {
        return None;
    }
    let lines: Vec<&str> = body.split('\n').collect();
    let mut i = 0;
    let (mut kind, mut api, mut name, mut namespace) = (None, None, None, None);
    let mut data = Vec::new();
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        if l.starts_with(' ') || l.starts_with('#') || l.starts_with('-') {
            return None;
        }
        let (key, rest) = l.split_once(':')?;
        let rest = rest.trim();
        i += 1;
        match key {
            "apiVersion" => api = Some(plain(rest)?),
            "kind" => kind = Some(plain(rest)?),
            "metadata" if rest.is_empty() => {
                while i < lines.len() && (lines[i].starts_with(' ') || lines[i].is_empty()) {
                    let m = lines[i];
                    i += 1;
                    let Some(entry) = m.strip_prefix("  ") else {
                        if m.is_empty() {
                            continue;
                        }
                        return None;
                    };
                    if entry.starts_with(' ') {
                        continue; // labels, annotations: not read here
                    }
                    let (k, v) = entry.split_once(':')?;
                    match k {
                        "name" => name = Some(plain(v.trim())?.to_string()),
                        "namespace" => namespace = Some(plain(v.trim())?.to_string()),
                        _ if v.trim().is_empty() => {}
                        _ => {
                            if v.trim_start()
                                .starts_with(['"', '\'', '|', '>', '{', '[', '&', '*', '!'])
                            {
                                return None;
                            }
                        }
                    }
                }
            }
            "data" if rest.is_empty() => {
                while i < lines.len() && lines[i].starts_with("  ") {
                    let entry = &lines[i][2..];
                    if entry.starts_with(' ') {
                        return None;
                    }
                    let (k, v) = entry.split_once(": ")?;
                    let k = plain(k)?;
                    let chomp = match v.trim_end() {
                        "|" => Chomp::Clip,
                        "|-" => Chomp::Strip,
                        "|+" => Chomp::Keep,
                        _ => return None,
                    };
                    i += 1;
                    let (text, next) = block(&lines, i, 2, chomp)?;
                    i = next;
                    data.push((k.to_string(), text));
                }
            }
            _ => return None,
        }
    }
    if kind != Some("ConfigMap") || api != Some("v1") {
        return None;
    }
    Some(FastConfigMap {
        namespace,
        name: name?,
        data,
    })
}

#[derive(Clone, Copy)]
enum Chomp {
    Clip,
    Strip,
    Keep,
}

/// A literal block scalar's lines from `start`, more indented than `parent`: its text and the
/// index of the first line after it.
fn block(lines: &[&str], start: usize, parent: usize, chomp: Chomp) -> Option<(String, usize)> {
    let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
    // The indentation: that of the first non-empty line.
    let first = lines[start..]
        .iter()
        .find(|l| !l.trim_start_matches(' ').is_empty())?;
    let n = indent_of(first);
    if n <= parent {
        return None;
    }
    let mut out = String::new();
    let mut i = start;
    let mut trailing = 0; // line breaks after the last non-empty line
    let mut seen = false;
    while i < lines.len() {
        let l = lines[i];
        let blank = l.trim_start_matches(' ').is_empty();
        if !blank && indent_of(l) < n {
            break;
        }
        if blank && l.len() > n && !seen {
            return None; // a leading empty line more indented than the content: an error in YAML
        }
        if blank && l.len() <= n {
            trailing += 1;
        } else {
            for _ in 0..trailing {
                out.push('\n');
            }
            if seen {
                out.push('\n');
            }
            out.push_str(&l[n..]);
            seen = true;
            trailing = 0;
        }
        i += 1;
    }
    // The last line of the document ends the stream: a final empty string after the split is
    // no line.
    if i == lines.len() && trailing > 0 {
        trailing -= 1;
    }
    match chomp {
        Chomp::Strip => {}
        Chomp::Clip => out.push('\n'),
        Chomp::Keep => {
            out.push('\n');
            for _ in 0..trailing {
                out.push('\n');
            }
        }
    }
    Some((out, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn full(doc: &str) -> Value {
        crate::mco::file::documents("t", doc.as_bytes())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn same_as_the_yaml_reader() {
        let docs = [
            "apiVersion: v1\ndata:\n  a.yaml: |\n    apiVersion: v1\n    kind: X\n\n    spec:\n      x:  1\n  b.yaml: |-\n    one\n      two\n  c.yaml: |+\n    keep\n\n\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ns\n",
            "---\napiVersion: v1\ndata:\n  a: |\n    x\n\n\n  b: |\n    y\nkind: ConfigMap\nmetadata:\n  annotations:\n    k: v\n  name: cm-2\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: |\n    trailing  \n     more\n",
        ];
        for d in docs {
            let f = configmap(d).expect(d);
            let v = full(d);
            assert_eq!(
                Some(f.name.as_str()),
                v.pointer("/metadata/name").and_then(Value::as_str)
            );
            assert_eq!(
                f.namespace.as_deref(),
                v.pointer("/metadata/namespace").and_then(Value::as_str)
            );
            let want: Vec<(String, String)> = v["data"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            assert_eq!(f.data, want, "{d}");
        }
        for other in [
            "apiVersion: v1\ndata:\n  a: \"quoted\"\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "apiVersion: v1\ndata:\n  a: |2\n      x\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n",
        ] {
            assert!(configmap(other).is_none(), "{other}");
        }
    }
}
