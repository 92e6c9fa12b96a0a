//! Reports for CI systems, carrying the same findings as the JSON report:
//!
//! - JUnit XML (`--format junit`): one `testsuite` per target, one `testcase` per judged pool or
//!   view, a `failure` per finding that fails the run (errors; with `--strict` also the layer
//!   files that are not byte-identical), an `error` for a target that could not be read.
//! - SARIF 2.1.0 (`--format sarif`): one run, `tool.driver.rules` generated from the findings
//!   enum (description, fix as help, severity as the default level), one result per finding with
//!   its code as `ruleId` and a `physicalLocation` where the finding names a place.
//! - GitHub workflow commands (`--format github`): `::error file=F,line=L,col=C,title=CODE::message`
//!   per finding (`::warning`, `::notice` by severity), then one plain verdict line per report.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::findings::{Code, Finding, Severity};
use crate::report::place::{place_of, Place};
use crate::report::TargetReport;

/// Whether a finding fails the run (what makes verify exit 1): an error, or with `--strict` a
/// layer file that is not byte-identical.
pub fn fails(f: &Finding, strict: bool) -> bool {
    f.severity == Severity::Error
        || (strict
            && matches!(
                f.code,
                Code::LayerFileDiffers | Code::LayerFileMissing | Code::LayerFileUnknown
            ))
}

/// The name of a report's test case: its pool or platform, else the whole target.
fn case_name(r: &TargetReport) -> String {
    match (&r.role, &r.platform) {
        (Some(p), Some(pl)) => format!("pool {p} [{pl}]"),
        (Some(p), None) => format!("pool {p}"),
        (None, Some(pl)) => pl.clone(),
        (None, None) => r.target.clone(),
    }
}

/// The message of a finding with its origin, as every CI format shows it.
fn full_message(f: &Finding) -> String {
    match f.shown_origin() {
        Some(o) => format!("{} (from {o})", f.message),
        None => f.message.clone(),
    }
}

/// Reports grouped by target, in the order given.
fn by_target(reports: &[TargetReport]) -> Vec<(&str, Vec<&TargetReport>)> {
    let mut out: Vec<(&str, Vec<&TargetReport>)> = Vec::new();
    for r in reports {
        match out.last_mut() {
            Some((t, rs)) if *t == r.target => rs.push(r),
            _ => out.push((&r.target, vec![r])),
        }
    }
    out
}

/// XML text and attribute escaping (and characters XML 1.0 cannot carry dropped).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Render reports as JUnit XML.
pub fn to_junit(reports: &[TargetReport], strict: bool) -> String {
    let groups = by_target(reports);
    let count = |rs: &[&TargetReport]| {
        let failures: usize = rs
            .iter()
            .filter(|r| r.kind != "unknown")
            .map(|r| r.findings.iter().filter(|f| fails(f, strict)).count())
            .sum();
        let errors = rs.iter().filter(|r| r.kind == "unknown").count();
        (rs.len(), failures, errors)
    };
    let all: Vec<&TargetReport> = reports.iter().collect();
    let (tests, failures, errors) = count(&all);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"modlayer verify\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for (target, rs) in &groups {
        let (tests, failures, errors) = count(rs);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
            xml(target)
        );
        if let Some(r) = rs.first() {
            let _ = writeln!(
                out,
                "    <properties>\n      <property name=\"kind\" value=\"{}\"/>\n      <property name=\"layer\" value=\"{}\"/>\n      <property name=\"module\" value=\"{}\"/>\n    </properties>",
                xml(&r.kind),
                xml(&r.layer),
                xml(&r.module)
            );
        }
        for r in rs {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\">",
                xml(target),
                xml(&case_name(r))
            );
            if r.kind == "unknown" {
                for f in &r.findings {
                    let _ = writeln!(
                        out,
                        "      <error type=\"{}\" message=\"{}\"/>",
                        f.code,
                        xml(&f.message)
                    );
                }
            } else {
                for f in r.findings.iter().filter(|f| fails(f, strict)) {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}: {}&#10;fix: {}</failure>",
                        f.code,
                        xml(&full_message(f)),
                        f.code,
                        xml(&full_message(f)),
                        xml(f.code.fix())
                    );
                }
            }
            let text = crate::report::to_text(std::slice::from_ref(*r), true);
            if !text.is_empty() {
                let _ = writeln!(out, "      <system-out>{}</system-out>", xml(&text));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The SARIF level of a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF location for a place.
fn location(p: &Place) -> Value {
    let mut region = serde_json::Map::new();
    if let Some(l) = p.line {
        region.insert("startLine".into(), json!(l));
        if let Some(c) = p.column {
            region.insert("startColumn".into(), json!(c));
        }
    }
    let mut physical = json!({ "artifactLocation": { "uri": uri(&p.file) } });
    if !region.is_empty() {
        physical["region"] = Value::Object(region);
    }
    json!({ "physicalLocation": physical })
}

/// A relative URI reference for a file name (RFC 3986: `%`-escapes outside the unreserved set and
/// `/`).
fn uri(file: &str) -> String {
    let mut out = String::new();
    for b in file.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Render reports as SARIF 2.1.0.
pub fn to_sarif(reports: &[TargetReport]) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.description() },
                "fullDescription": { "text": c.description() },
                "help": {
                    "text": c.fix(),
                    "markdown": format!("{}\n\n**Fix:** {}\n\n`modlayer explain {}`", c.description(), c.fix(), c.as_str()),
                },
                "defaultConfiguration": { "level": level(c.severity()) },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.findings {
            let index = Code::ALL.iter().position(|c| *c == f.code).unwrap_or(0);
            let mut where_ = vec![r.target.clone()];
            where_.extend(r.role.iter().map(|p| format!("pool {p}")));
            where_.extend(r.platform.iter().cloned());
            let mut result = json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": format!("{}: {}", where_.join(" > "), full_message(f)) },
                "properties": {
                    "target": r.target,
                    "kind": r.kind,
                    "module": r.module,
                    "enabled": r.enabled,
                },
            });
            if let Some(p) = &r.role {
                result["properties"]["pool"] = json!(p);
            }
            if let Some(p) = &f.path {
                result["properties"]["path"] = json!(p);
            }
            if let Some(p) = place_of(f, &r.target) {
                result["locations"] = json!([location(&p)]);
            }
            results.push(result);
        }
    }
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "modlayer",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    s.push('\n');
    s
}

/// Escape a workflow command's message (`%`, CR, LF).
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command's property value (also `:` and `,`).
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Render reports as GitHub workflow commands.
pub fn to_github(reports: &[TargetReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let mut props = Vec::new();
            if let Some(p) = place_of(f, &r.target) {
                props.push(format!("file={}", gh_property(&p.file)));
                if let Some(l) = p.line {
                    props.push(format!("line={l}"));
                }
                if let Some(c) = p.column {
                    props.push(format!("col={c}"));
                }
            }
            props.push(format!("title={}", gh_property(f.code.as_str())));
            let mut where_ = r.target.clone();
            if let Some(p) = &r.role {
                let _ = write!(where_, " [pool {p}]");
            }
            let _ = writeln!(
                out,
                "::{command} {}::{}",
                props.join(","),
                gh_data(&format!("{where_}: {}", full_message(f)))
            );
        }
    }
    for r in reports.iter().filter(|r| r.kind != "unknown") {
        let _ = writeln!(out, "{}", crate::report::verdict_line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(gh_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(gh_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(xml("<a & 'b'>\u{1}"), "&lt;a &amp; &apos;b&apos;&gt;");
        assert_eq!(uri("dir/a b.yaml"), "dir/a%20b.yaml");
    }
}
