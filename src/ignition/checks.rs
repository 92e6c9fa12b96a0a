//! The shape checks of a config's storage entries and units (types, paths, modes, contents), the
//! typed whole-config check, and Ignition's own `Validate()` rules ([`super::validate`]).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde_json::Value;

use super::{Problem, Spec};
use crate::formats::encoding::{check_data_url, is_data_url};
use crate::formats::json::pointer_to_path;
use crate::layer::validate_node_path;

fn expect<'a>(
    v: &'a Value,
    ptr: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Result<&'a Value, Problem> {
    if ok(v) {
        Ok(v)
    } else {
        Err(Problem::new(
            ptr,
            format!("must be {what}, found {}", describe(v)),
        ))
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {s:?}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Null => "null".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Check a config (read as Ignition reads it: [`super::gojson`]) as Ignition validates it: the
/// shapes of the parts that decide what a node's files will be (storage entries' paths, modes,
/// overwrite, contents, compression and hashes; units), then every `Validate()` and duplicate
/// rule of the spec ([`super::validate::validate`]). Typed whole-config checks (every key of the
/// spec) are done by [`validate_typed`] for 3.x.
pub fn check(config: &Value, spec: Spec) -> Vec<Problem> {
    let mut problems = check_shapes(config, spec);
    for p in super::validate::validate(config, spec) {
        let known = problems
            .iter()
            .any(|q| p.pointer.starts_with(&q.pointer) || q.pointer.starts_with(&p.pointer));
        if !known {
            problems.push(p);
        }
    }
    problems
}

fn check_shapes(config: &Value, spec: Spec) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_units(config, &mut problems);
    let Some(storage) = config.get("storage") else {
        return problems;
    };
    if !storage.is_object() && !storage.is_null() {
        problems.push(Problem::new(
            "/storage",
            format!("must be an object, found {}", describe(storage)),
        ));
        return problems;
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for list in ["files", "directories", "links"] {
        let Some(items) = storage.get(list) else {
            continue;
        };
        let lp = format!("/storage/{list}");
        let Some(items) = items.as_array() else {
            if !items.is_null() {
                problems.push(Problem::new(
                    &lp,
                    format!("must be a list, found {}", describe(items)),
                ));
            }
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let ip = format!("{lp}/{i}");
            if let Err(p) = check_node(item, &ip, list, spec, &mut seen) {
                problems.push(p);
            }
        }
    }
    problems
}

/// Check `systemd.units`: a list of objects, each with a string `name` (given once), string
/// `contents`, boolean `enabled`/`enable`/`mask`, `dropins` a list of `{name, contents}`.
fn check_units(config: &Value, problems: &mut Vec<Problem>) {
    let Some(units) = config.pointer("/systemd/units") else {
        return;
    };
    let Some(units) = units.as_array() else {
        if !units.is_null() {
            problems.push(Problem::new(
                "/systemd/units",
                format!("must be a list, found {}", describe(units)),
            ));
        }
        return;
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        let up = format!("/systemd/units/{i}");
        if let Err(p) = check_unit(u, &up, &mut seen) {
            problems.push(p);
        }
    }
}

fn check_unit(u: &Value, up: &str, seen: &mut BTreeMap<String, String>) -> Result<(), Problem> {
    expect(u, up, "an object", Value::is_object)?;
    let name = u
        .get("name")
        .ok_or_else(|| Problem::new(up, "missing name"))?;
    let name = expect(name, &format!("{up}/name"), "a string", Value::is_string)?
        .as_str()
        .unwrap_or_default();
    if let Some(first) = seen.insert(name.to_string(), up.to_string()) {
        return Err(Problem::new(
            up,
            format!(
                "unit {name} is listed twice (also at {}): Ignition refuses the config",
                pointer_to_path(&first)
            ),
        ));
    }
    if let Some(c) = u.get("contents").filter(|v| !v.is_null()) {
        expect(c, &format!("{up}/contents"), "a string", Value::is_string)?;
    }
    for key in ["enabled", "enable", "mask"] {
        if let Some(b) = u.get(key).filter(|v| !v.is_null()) {
            expect(
                b,
                &format!("{up}/{key}"),
                "true or false",
                Value::is_boolean,
            )?;
        }
    }
    let dropins = u.get("dropins").filter(|v| !v.is_null());
    if let Some(d) = dropins {
        let dp = format!("{up}/dropins");
        let list = expect(d, &dp, "a list", Value::is_array)?
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, d) in list.iter().enumerate() {
            let djp = format!("{dp}/{j}");
            expect(d, &djp, "an object", Value::is_object)?;
            let n = d
                .get("name")
                .ok_or_else(|| Problem::new(&djp, "missing name"))?;
            expect(n, &format!("{djp}/name"), "a string", Value::is_string)?;
            if let Some(c) = d.get("contents").filter(|v| !v.is_null()) {
                expect(c, &format!("{djp}/contents"), "a string", Value::is_string)?;
            }
        }
    }
    Ok(())
}

fn check_node(
    item: &Value,
    ip: &str,
    list: &str,
    spec: Spec,
    seen: &mut BTreeMap<String, String>,
) -> Result<(), Problem> {
    expect(item, ip, "an object", Value::is_object)?;
    let path = item
        .get("path")
        .ok_or_else(|| Problem::new(ip, "missing path"))?;
    let path = expect(path, &format!("{ip}/path"), "a string", Value::is_string)?
        .as_str()
        .unwrap_or_default();
    if spec.legacy() {
        validate_node_path(path).map_err(|e| Problem::new(format!("{ip}/path"), e.to_string()))?;
    } else if let Some(e) = super::validate::path_error(path) {
        return Err(Problem::new(format!("{ip}/path"), e));
    }
    if spec.legacy() {
        match item.get("filesystem").and_then(Value::as_str) {
            Some(_) => {}
            None => {
                return Err(Problem::new(
                    format!("{ip}/filesystem"),
                    "2.x entries need a filesystem (\"root\")",
                ))
            }
        }
    }
    let key = format!(
        "{}:{path}",
        item.get("filesystem")
            .and_then(Value::as_str)
            .unwrap_or("root")
    );
    if let Some(first) = seen.insert(key, ip.to_string()) {
        return Err(Problem::new(
            ip,
            format!(
                "duplicate entry for {path} (also at {}): Ignition refuses the config",
                pointer_to_path(&first)
            ),
        ));
    }
    if let Some(mode) = item.get("mode") {
        let mp = format!("{ip}/mode");
        let m = match mode {
            Value::Null => None,
            Value::Number(n) => Some(n.as_i64().ok_or_else(|| {
                Problem::new(&mp, format!("mode must be a whole number, found {n}"))
            })?),
            Value::String(s) => {
                return Err(Problem::new(
                    &mp,
                    format!("mode is the string {s:?}, not a number: Ignition refuses it"),
                ))
            }
            other => {
                return Err(Problem::new(
                    &mp,
                    format!("mode must be a number, found {}", describe(other)),
                ))
            }
        };
        if let Some(m) = m {
            if !(0..=0o7777).contains(&m) {
                return Err(Problem::new(
                    &mp,
                    format!("mode {m} is not a valid permission (0 to 07777)"),
                ));
            }
        }
    }
    if let Some(o) = item.get("overwrite") {
        expect(o, &format!("{ip}/overwrite"), "true or false", |v| {
            v.is_boolean() || v.is_null()
        })?;
    }
    if list == "files" {
        let has_source = item
            .pointer("/contents/source")
            .is_some_and(|s| !s.is_null());
        if !spec.legacy() && item.get("overwrite") == Some(&Value::Bool(true)) && !has_source {
            return Err(Problem::new(
                format!("{ip}/overwrite"),
                "overwrite is true but there is no contents.source: Ignition refuses the config",
            ));
        }
        if let Some(c) = item.get("contents") {
            check_resource(c, &format!("{ip}/contents"), spec)?;
        }
        match item.get("append") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(_)) if spec.legacy() => {}
            Some(Value::Array(items)) if !spec.legacy() => {
                for (j, r) in items.iter().enumerate() {
                    check_resource(r, &format!("{ip}/append/{j}"), spec)?;
                }
            }
            Some(other) => {
                return Err(Problem::new(
                    format!("{ip}/append"),
                    format!("unexpected {}", describe(other)),
                ))
            }
        }
    }
    Ok(())
}

fn check_resource(r: &Value, rp: &str, spec: Spec) -> Result<(), Problem> {
    expect(r, rp, "an object", |v| v.is_object() || v.is_null())?;
    if let Some(src) = r.get("source").filter(|v| !v.is_null()) {
        let src = expect(src, &format!("{rp}/source"), "a string", Value::is_string)?
            .as_str()
            .unwrap_or_default();
        // 3.x: Ignition's own URL rule (`validate::url_error`) decodes every data URL once, in
        // its wording; decoding here too doubled the cost of a large bootstrap.ign.
        if spec.legacy() && is_data_url(src) {
            check_data_url(src)
                .map_err(|e| Problem::new(format!("{rp}/source"), format!("bad data URL: {e}")))?;
        }
    }
    if let Some(c) = r.get("compression").filter(|v| !v.is_null()) {
        match c.as_str() {
            Some("") | Some("gzip") => {}
            _ => {
                return Err(Problem::new(
                    format!("{rp}/compression"),
                    format!(
                        "compression must be \"\" or \"gzip\", found {}",
                        describe(c)
                    ),
                ))
            }
        }
    }
    if let Some(h) = r
        .get("verification")
        .and_then(|v| v.get("hash"))
        .filter(|v| !v.is_null())
    {
        // Ignition's `Verification.Validate` (in [`super::validate`]) checks the function and
        // the digest's length; its hex is read at fetch time, where a bad digit fails the boot.
        expect(
            h,
            &format!("{rp}/verification/hash"),
            "a string",
            Value::is_string,
        )?;
    }
    Ok(())
}

/// Validate a 3.x config against coreos's typed Ignition specs (every key and type of the spec).
/// Returns unused-key warnings (Ignition warns on those too).
pub fn validate_typed(bytes: &[u8]) -> Result<Vec<String>> {
    match ignition_config::Config::parse_slice(&elide_long_strings(bytes)) {
        Ok((_, warnings)) => Ok(warnings.iter().map(|w| w.to_string()).collect()),
        Err(e) => bail!("{e}"),
    }
}

/// Strings at least this long are values no typed check reads (data URLs of big files).
const ELIDE_AT: usize = 4096;

/// `bytes` with every string value of [`ELIDE_AT`] bytes or more emptied (keys kept): the typed
/// specs judge structure (field names and types), not the contents of a 375 KB certificate, and a
/// bootstrap.ign is mostly such strings. Only for text Go's reading already accepted (no control
/// bytes, valid escapes and UTF-8); an unterminated string leaves the bytes as they are.
fn elide_long_strings(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut out: Vec<u8> = Vec::new();
    let (mut i, mut kept) = (0, 0);
    while let Some(q) = memchr::memchr(b'"', &b[i..]) {
        let start = i + q;
        let mut j = start + 1;
        let end = loop {
            match memchr::memchr2(b'"', b'\\', &b[j..]) {
                Some(p) if b[j + p] == b'\\' => j += p + 2,
                Some(p) => break j + p,
                None => return std::borrow::Cow::Borrowed(b),
            }
            if j >= b.len() {
                return std::borrow::Cow::Borrowed(b);
            }
        };
        let is_key = b[end + 1..]
            .iter()
            .find(|c| !c.is_ascii_whitespace())
            .is_some_and(|&c| c == b':');
        if end - start > ELIDE_AT && !is_key {
            out.extend_from_slice(&b[kept..=start]);
            kept = end;
        }
        i = end + 1;
    }
    if kept == 0 {
        return std::borrow::Cow::Borrowed(b);
    }
    out.extend_from_slice(&b[kept..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_elided_keys_and_short_strings_kept() {
        let long = "A".repeat(ELIDE_AT + 1);
        let text = format!(
            r#"{{"ignition":{{"version":"3.2.0"}},"{long}" : 1,"storage":{{"files":[{{"path":"/a\"b","contents":{{"source":"data:;base64,{long}"}}}}]}}}}"#
        );
        let got = elide_long_strings(text.as_bytes());
        let want = format!(
            r#"{{"ignition":{{"version":"3.2.0"}},"{long}" : 1,"storage":{{"files":[{{"path":"/a\"b","contents":{{"source":""}}}}]}}}}"#
        );
        assert_eq!(String::from_utf8_lossy(&got), want);
        // The typed reading is the same with and without the elision: one unused key.
        let full = ignition_config::Config::parse_slice(text.as_bytes()).map(|(_, w)| w.len());
        assert_eq!(
            validate_typed(text.as_bytes()).map(|w| w.len()).ok(),
            full.ok()
        );
        // Nothing long: the bytes as given; an unterminated string: as given too.
        assert!(matches!(
            elide_long_strings(b"{\"a\":\"b\"}"),
            std::borrow::Cow::Borrowed(_)
        ));
        let cut = format!("{{\"a\":\"{long}");
        assert_eq!(&*elide_long_strings(cut.as_bytes()), cut.as_bytes());
    }
}
