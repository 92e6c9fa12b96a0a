//! Ignition's own `Validate()` rules and duplicate checks, on a config read as Go reads it
//! ([`super::gojson`]). Sources: coreos/ignition `config/v3_*/types/*.go` and
//! `config/validate/validate.go` (`ValidateDups`), tag v2.14.0 for specs 3.0.0-3.3.0 (the
//! release that reads them here: Debian's ignition-validate and Ignition) and tag v2.20.0 for
//! 3.4.0 and 3.5.0. Each message is Ignition's own wording.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Problem, Spec};
use crate::formats::encoding::{base64_data_url_ok, check_data_url_without_controls};

/// Everything `Validate()` and `ValidateDups` refuse in a config of `spec`.
pub fn validate(config: &Value, spec: Spec) -> Vec<Problem> {
    let mut v = Validator {
        spec,
        out: Vec::new(),
    };
    if spec.legacy() {
        return v.out;
    }
    v.ignition(config);
    v.storage(config);
    v.systemd(config);
    v.passwd(config);
    v.out
}

struct Validator {
    spec: Spec,
    out: Vec<Problem>,
}

fn list<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn non_empty<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    s(v, key).filter(|x| !x.is_empty())
}

/// `path.Clean` of Go, for absolute or relative slash paths.
pub fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Ignition's `validatePath`.
pub fn path_error(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        Some("path not specified")
    } else if !p.starts_with('/') {
        Some("path not absolute")
    } else if go_clean(p) != p {
        Some("path is not fully simplified")
    } else {
        None
    }
}

/// The scheme Go's `url.Parse` gives (lower case), or an error when it cannot parse.
fn url_scheme(u: &str) -> Result<String, &'static str> {
    if crate::formats::encoding::has_control(u.as_bytes()) {
        return Err("unable to parse url");
    }
    let mut scheme = String::new();
    for (i, c) in u.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => scheme.push(c),
            '0'..='9' | '+' | '-' | '.' if i > 0 => scheme.push(c),
            ':' if i == 0 => return Err("unable to parse url"),
            ':' => return Ok(scheme.to_ascii_lowercase()),
            _ => return Ok(String::new()),
        }
    }
    Ok(String::new())
}

/// Whether Go's `url.Parse` fails on a URL with an authority (`scheme://host/...`): a bad `%`
/// escape in the path or fragment, or an unclosed `[` in the host.
fn url_parse_fails(u: &str) -> bool {
    let pct_bad = |t: &str| !crate::formats::encoding::escapes_ok(t.as_bytes());
    let (rest, frag) = u.split_once('#').unwrap_or((u, ""));
    if pct_bad(frag) {
        return true;
    }
    let rest = rest.split_once('?').map_or(rest, |(a, _)| a);
    let Some((_, after)) = rest.split_once(':') else {
        return false;
    };
    if let Some(auth_path) = after.strip_prefix("//") {
        let (auth, path) = auth_path.split_at(auth_path.find('/').unwrap_or(auth_path.len()));
        let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
        if host.starts_with('[') && !host.contains(']') {
            return true;
        }
        return pct_bad(path);
    }
    after.starts_with('/') && pct_bad(after)
}

/// Ignition's `validateURL` for a spec: the schemes it knows, data URLs read with dataurl.
pub fn url_error(u: &str, spec: Spec) -> Option<String> {
    // The common case of a big config, a well-formed base64 data URL, in one pass over its data.
    if base64_data_url_ok(u) {
        return None;
    }
    let scheme = match url_scheme(u) {
        Ok(s) => s,
        Err(e) => return Some(e.into()),
    };
    if scheme != "data" && url_parse_fails(u) {
        return Some("unable to parse url".into());
    }
    let m = spec.minor;
    match scheme.as_str() {
        "http" | "https" | "tftp" | "s3" => None,
        "gs" if m >= 2 => None,
        "arn" if m >= 4 => arn_error(u),
        // `url_scheme` has refused control bytes.
        "data" => check_data_url_without_controls(u)
            .err()
            .map(|e| e.to_string()),
        _ => Some("invalid url scheme".into()),
    }
}

/// The S3 ARN rule of 3.4.0+ (`arn:aws:s3:::bucket/key`, access points need two slashes).
fn arn_error(u: &str) -> Option<String> {
    let parts: Vec<&str> = u.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "s3" || !u.contains('/') {
        return Some("invalid S3 ARN format".into());
    }
    None
}

impl Validator {
    fn err(&mut self, ptr: impl Into<String>, msg: impl Into<String>) {
        self.out.push(Problem::new(ptr, msg));
    }

    fn dups<'a>(&mut self, items: impl Iterator<Item = (String, Option<&'a str>)>) {
        let mut seen = BTreeSet::new();
        for (ptr, key) in items {
            if let Some(k) = key {
                if !seen.insert(k.to_string()) {
                    self.err(ptr, "duplicate entry defined");
                }
            }
        }
    }

    fn string_dups(&mut self, v: &Value, ptr: &str, at: &str) {
        let items = list(v, ptr);
        self.dups(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("{at}{ptr}/{i}"), x.as_str())),
        );
    }

    /// `Resource.Validate`; `required`: a merge entry (`validateRequiredSource`).
    fn resource(&mut self, r: &Value, rp: &str, required: bool) {
        if !r.is_object() {
            return;
        }
        let src = r.get("source").and_then(Value::as_str);
        if let Some(c) = r.get("compression").and_then(Value::as_str) {
            if !(c.is_empty() || c == "gzip") {
                self.err(format!("{rp}/compression"), "invalid compression method");
            }
        }
        if let Some(h) = r.pointer("/verification/hash").and_then(Value::as_str) {
            if src.is_none() {
                self.err(
                    format!("{rp}/verification/hash"),
                    "source must be specified if verification is specified",
                );
            }
            let hp = format!("{rp}/verification/hash");
            match h.split_once('-') {
                None => self.err(hp, "malformed hash specifier"),
                Some((f, sum)) => {
                    let size = match f {
                        "sha512" => Some(128),
                        "sha256" if self.spec.minor >= 1 => Some(64),
                        _ => None,
                    };
                    match size {
                        None => self.err(hp, "unrecognized hash function"),
                        Some(n) if sum.len() != n => self.err(hp, "incorrect size for hash sum"),
                        Some(_) => {}
                    }
                }
            }
        }
        match src {
            Some(u) if !u.is_empty() => {
                if let Some(e) = url_error(u, self.spec) {
                    self.err(format!("{rp}/source"), e);
                }
            }
            _ if required => self.err(rp, "source is required"),
            _ => {}
        }
        let headers = list(r, "/httpHeaders");
        if self.spec.minor >= 1 && !headers.is_empty() {
            let ok = match src.filter(|s| !s.is_empty()) {
                None => Err("unable to parse url"),
                Some(u) => match url_scheme(u) {
                    Ok(s) if s == "http" || s == "https" => Ok(()),
                    Ok(_) => Err("cannot use HTTP headers with this source scheme"),
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = ok {
                self.err(format!("{rp}/httpHeaders"), e);
            }
            for (i, h) in headers.iter().enumerate() {
                let hp = format!("{rp}/httpHeaders/{i}");
                if s(h, "name").unwrap_or("").is_empty() {
                    self.err(format!("{hp}/name"), "HTTP header name can't be empty");
                }
                if s(h, "value") == Some("") {
                    self.err(format!("{hp}/value"), "unable to parse HTTP header");
                }
            }
            self.dups(
                headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (format!("{rp}/httpHeaders/{i}"), s(h, "name"))),
            );
        }
    }

    fn ignition(&mut self, c: &Value) {
        let merges = list(c, "/ignition/config/merge");
        // 3.0.0's ConfigReference (2.14 config/v3_0/types/ignition.go) validates only its
        // URL (validateURLNilOK); 3.1.0+ merge entries are Resources that require a source.
        let reference = |v: &mut Self, r: &Value, rp: &str, required: bool| {
            if v.spec.minor == 0 {
                if let Some(u) = non_empty(r, "source") {
                    if let Some(e) = url_error(u, v.spec) {
                        v.err(format!("{rp}/source"), e);
                    }
                }
            } else {
                v.resource(r, rp, required);
            }
        };
        for (i, m) in merges.iter().enumerate() {
            reference(self, m, &format!("/ignition/config/merge/{i}"), true);
        }
        self.dups(merges.iter().enumerate().map(|(i, m)| {
            (
                format!("/ignition/config/merge/{i}"),
                Some(s(m, "source").unwrap_or("")),
            )
        }));
        if let Some(r) = c.pointer("/ignition/config/replace") {
            reference(self, r, "/ignition/config/replace", false);
        }
        let cas = list(c, "/ignition/security/tls/certificateAuthorities");
        for (i, r) in cas.iter().enumerate() {
            self.resource(
                r,
                &format!("/ignition/security/tls/certificateAuthorities/{i}"),
                true,
            );
        }
    }

    fn owner(&mut self, n: &Value, np: &str) {
        for k in ["user", "group"] {
            if let Some(o) = n.get(k) {
                if o.get("id").is_some_and(|x| !x.is_null()) && non_empty(o, "name").is_some() {
                    self.err(format!("{np}/{k}"), "cannot set both id and name");
                }
            }
        }
    }

    fn mode(&mut self, n: &Value, np: &str) {
        if let Some(m) = n.get("mode").and_then(Value::as_i64) {
            if !(0..=0o7777).contains(&m) {
                self.err(format!("{np}/mode"), "illegal file mode");
            }
        }
    }

    /// `Luks.Validate` and what it nests (`Clevis`/`Custom`, `Tang`, `Cex`, the key file), 3.2.0+
    /// (coreos/ignition config/v3_{2,3,4,5}/types: `luks.go`, `custom.go` or `clevis.go`,
    /// `tang.go`, `cex.go`), with the per-spec differences: in 3.2.0 any `custom` object is
    /// "custom" and its pin is checked unless pin and config are both empty; from 3.3.0 a custom
    /// pin must be given when config or `needsNetwork` is; the tang advertisement from 3.4.0;
    /// CEX from 3.5.0. Luks names and tang URLs are keys (duplicates are refused).
    fn luks(&mut self, c: &Value) {
        let m = self.spec.minor;
        if m < 2 {
            return;
        }
        let volumes = list(c, "/storage/luks");
        self.dups(
            volumes
                .iter()
                .enumerate()
                // Go's string field: a missing name is "" and counts as a key too.
                .map(|(i, l)| {
                    (
                        format!("/storage/luks/{i}"),
                        Some(s(l, "name").unwrap_or("")),
                    )
                }),
        );
        for (i, l) in volumes.iter().enumerate() {
            let lp = format!("/storage/luks/{i}");
            if s(l, "name").unwrap_or("").contains('/') {
                self.err(format!("{lp}/name"), "device names cannot contain slashes");
            }
            if non_empty(l, "label").is_some_and(|x| x.len() > 47) {
                self.err(
                    format!("{lp}/label"),
                    "luks device labels cannot be longer than 47 characters",
                );
            }
            match non_empty(l, "device") {
                None => self.err(format!("{lp}/device"), "disk device is required"),
                Some(d) => {
                    if let Some(e) = path_error(d) {
                        self.err(format!("{lp}/device"), e);
                    }
                }
            }
            let clevis = l.get("clevis").filter(|x| x.is_object());
            let custom = clevis
                .and_then(|x| x.get("custom"))
                .filter(|x| x.is_object());
            let pin = custom.and_then(|x| non_empty(x, "pin"));
            let tangs = clevis.map_or(&[][..], |x| list(x, "/tang"));
            let tpm2 = clevis.and_then(|x| x.get("tpm2")) == Some(&Value::Bool(true));
            let threshold = clevis
                .and_then(|x| x.get("threshold"))
                .and_then(Value::as_i64)
                .is_some_and(|t| t != 0);
            let others = !tangs.is_empty() || tpm2 || threshold;
            let custom_set = if m == 2 {
                custom.is_some()
            } else {
                pin.is_some()
            };
            if custom_set && others {
                self.err(
                    format!("{lp}/clevis"),
                    "cannot use custom clevis config with tpm2, tang, or threshold",
                );
            }
            let key_source = l.pointer("/keyFile/source").and_then(Value::as_str);
            if key_source.is_some_and(|u| !u.is_empty() && url_error(u, self.spec).is_some()) {
                self.err(format!("{lp}/keys"), "invalid key-file source");
            }
            if let Some(cu) = custom {
                let cp = format!("{lp}/clevis/custom");
                let config = non_empty(cu, "config");
                let network = cu.get("needsNetwork") == Some(&Value::Bool(true));
                let checked = if m == 2 {
                    pin.is_some() || config.is_some()
                } else {
                    pin.is_some() || config.is_some() || network
                };
                if checked {
                    match pin {
                        Some("tpm2" | "tang" | "sss") => {}
                        None if m >= 3 => {
                            self.err(format!("{cp}/pin"), "missing required custom clevis pin")
                        }
                        _ => self.err(format!("{cp}/pin"), "unsupported clevis pin"),
                    }
                    if config.is_none() {
                        self.err(
                            format!("{cp}/config"),
                            "missing required custom clevis config",
                        );
                    }
                }
            }
            for (j, t) in tangs.iter().enumerate() {
                let tp = format!("{lp}/clevis/tang/{j}");
                let url = s(t, "url").unwrap_or("");
                if url_parse_fails(url) || url_scheme(url).is_err() {
                    self.err(format!("{tp}/url"), "unable to parse url");
                } else if !matches!(url_scheme(url).as_deref(), Ok("http" | "https")) {
                    self.err(format!("{tp}/url"), "invalid url scheme");
                }
                if non_empty(t, "thumbprint").is_none() {
                    self.err(format!("{tp}/thumbprint"), "thumbprint is required");
                }
                if m >= 4 {
                    if let Some(a) = non_empty(t, "advertisement") {
                        if serde_json::from_str::<serde::de::IgnoredAny>(a).is_err() {
                            self.err(
                                format!("{tp}/advertisement"),
                                "advertisement is not valid JSON",
                            );
                        }
                    }
                }
            }
            self.dups(tangs.iter().enumerate().map(|(j, t)| {
                (
                    format!("{lp}/clevis/tang/{j}"),
                    Some(s(t, "url").unwrap_or("")),
                )
            }));
            if m >= 5 && l.pointer("/cex/enabled") == Some(&Value::Bool(true)) {
                if pin.is_some() || others {
                    self.err(format!("{lp}/cex"), "cannot use cex with clevis");
                }
                if key_source.is_some_and(|u| !u.is_empty()) {
                    self.err(format!("{lp}/cex"), "cannot use key file with cex");
                }
            }
            if let Some(k) = l.get("keyFile") {
                self.resource(k, &format!("{lp}/keyFile"), false);
            }
        }
    }

    fn storage(&mut self, c: &Value) {
        self.luks(c);
        let files = list(c, "/storage/files");
        let dirs = list(c, "/storage/directories");
        let links = list(c, "/storage/links");
        for (list_name, items) in [("files", files), ("directories", dirs), ("links", links)] {
            for (i, n) in items.iter().enumerate() {
                let np = format!("/storage/{list_name}/{i}");
                if let Some(e) = path_error(s(n, "path").unwrap_or("")) {
                    self.err(format!("{np}/path"), e);
                }
                self.owner(n, &np);
                if list_name != "links" {
                    self.mode(n, &np);
                }
            }
        }
        for (i, f) in files.iter().enumerate() {
            let fp = format!("/storage/files/{i}");
            let has_source = f.pointer("/contents/source").is_some_and(|x| x.is_string());
            if f.get("overwrite") == Some(&Value::Bool(true)) && !has_source {
                self.err(
                    format!("{fp}/overwrite"),
                    "overwrite must be false if source is unspecified",
                );
            }
            if let Some(r) = f.get("contents") {
                self.resource(r, &format!("{fp}/contents"), false);
            }
            for (j, r) in list(f, "/append").iter().enumerate() {
                self.resource(r, &format!("{fp}/append/{j}"), false);
            }
        }
        // Duplicate paths across files, directories and links (MergedKeys: one "Node" list).
        let nodes = [("files", files), ("directories", dirs), ("links", links)];
        self.dups(nodes.iter().flat_map(|(name, items)| {
            items.iter().enumerate().map(move |(i, n)| {
                (
                    format!("/storage/{name}/{i}"),
                    Some(s(n, "path").unwrap_or("")),
                )
            })
        }));
        // Paths below a link of the same config.
        let link_paths: Vec<&str> = links.iter().filter_map(|l| s(l, "path")).collect();
        let below = |p: &str| link_paths.iter().any(|l| p.starts_with(&format!("{l}/")));
        for (name, items, msg) in [
            (
                "directories",
                dirs,
                "directory path includes link in config",
            ),
            ("files", files, "file path includes link in config"),
            ("links", links, "link path includes link in config"),
        ] {
            for (i, n) in items.iter().enumerate() {
                if below(s(n, "path").unwrap_or("")) {
                    self.err(format!("/storage/{name}/{i}"), msg);
                }
            }
        }
        let dir_paths: BTreeSet<&str> = dirs.iter().filter_map(|d| s(d, "path")).collect();
        for (i, l) in links.iter().enumerate() {
            let lp = format!("/storage/links/{i}");
            // 2.14 checks the target from spec 3.3.0 (3.0.0-3.2.0: an empty target fails the
            // files stage instead, see `merge`); v2.20 in 3.4.0/3.5.0 too.
            let Some(target) = non_empty(l, "target") else {
                if self.spec.minor >= 3 {
                    self.err(format!("{lp}/target"), "link target is required");
                }
                continue;
            };
            if l.get("hard") == Some(&Value::Bool(true)) {
                let t = go_clean(target);
                let t = if t.starts_with('/') {
                    t
                } else {
                    go_clean(&format!("{}/{target}", s(l, "path").unwrap_or("")))
                };
                if dir_paths.contains(t.as_str()) {
                    self.err(&lp, "hard link target is a directory");
                }
            }
        }
        // Spec 3.4.0+ (v2.20): a node at a unit's or drop-in's path.
        if self.spec.minor >= 4 {
            let mut unit_paths = BTreeSet::new();
            for u in list(c, "/systemd/units") {
                let name = s(u, "name").unwrap_or("");
                if non_empty(u, "contents").is_some() {
                    unit_paths.insert(format!("/etc/systemd/system/{name}"));
                }
                for d in list(u, "/dropins") {
                    if non_empty(d, "contents").is_some() {
                        unit_paths.insert(format!(
                            "/etc/systemd/system/{name}.d/{}",
                            s(d, "name").unwrap_or("")
                        ));
                    }
                }
            }
            for (name, items) in nodes {
                for (i, n) in items.iter().enumerate() {
                    if unit_paths.contains(s(n, "path").unwrap_or("")) {
                        self.err(
                            format!("/storage/{name}/{i}/path"),
                            "path conflicts with systemd unit or dropin",
                        );
                    }
                }
            }
        }
    }

    fn systemd(&mut self, c: &Value) {
        let units = list(c, "/systemd/units");
        for (i, u) in units.iter().enumerate() {
            let up = format!("/systemd/units/{i}");
            let name = s(u, "name").unwrap_or("");
            if !unit_ext_ok(name) {
                self.err(format!("{up}/name"), "invalid systemd unit extension");
            }
            if let Some(text) = s(u, "contents") {
                if let Some(e) = unit_contents_error(text) {
                    self.err(format!("{up}/contents"), e);
                }
            }
            let dropins = list(u, "/dropins");
            for (j, d) in dropins.iter().enumerate() {
                let dp = format!("{up}/dropins/{j}");
                if let Some(text) = s(d, "contents") {
                    if let Some(e) = unit_contents_error(text) {
                        self.err(format!("{dp}/contents"), e);
                    }
                }
                if !ext(s(d, "name").unwrap_or("")).eq(".conf") {
                    self.err(format!("{dp}/name"), "invalid systemd drop-in extension");
                }
            }
            self.dups(dropins.iter().enumerate().map(|(j, d)| {
                (
                    format!("{up}/dropins/{j}"),
                    Some(s(d, "name").unwrap_or("")),
                )
            }));
        }
        self.dups(units.iter().enumerate().map(|(i, u)| {
            (
                format!("/systemd/units/{i}"),
                Some(s(u, "name").unwrap_or("")),
            )
        }));
    }

    fn passwd(&mut self, c: &Value) {
        let users = list(c, "/passwd/users");
        self.dups(users.iter().enumerate().map(|(i, u)| {
            (
                format!("/passwd/users/{i}"),
                Some(s(u, "name").unwrap_or("")),
            )
        }));
        for (i, u) in users.iter().enumerate() {
            let at = format!("/passwd/users/{i}");
            self.string_dups(u, "/sshAuthorizedKeys", &at);
            self.string_dups(u, "/groups", &at);
        }
        let groups = list(c, "/passwd/groups");
        self.dups(groups.iter().enumerate().map(|(i, g)| {
            (
                format!("/passwd/groups/{i}"),
                Some(s(g, "name").unwrap_or("")),
            )
        }));
        self.string_dups(c, "/kernelArguments/shouldExist", "");
        self.string_dups(c, "/kernelArguments/shouldNotExist", "");
    }
}

/// Go's `path.Ext`.
fn ext(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) => &base[i..],
        None => "",
    }
}

fn unit_ext_ok(name: &str) -> bool {
    matches!(
        ext(name),
        ".service"
            | ".socket"
            | ".device"
            | ".mount"
            | ".automount"
            | ".swap"
            | ".target"
            | ".path"
            | ".timer"
            | ".snapshot"
            | ".slice"
            | ".scope"
    )
}

/// What go-systemd's unit reader (Ignition's unit contents check) refuses, as observed with
/// ignition-validate 2.14: a section header that is not closed, a line continued at the very end.
fn unit_contents_error(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && !t.ends_with(']') {
            return Some(format!(
                "invalid unit content: section header {t:?} is not closed"
            ));
        }
        if t.ends_with('\\') && lines[i + 1..].iter().all(|l| l.trim().is_empty()) {
            return Some("invalid unit content: unexpected end of file".into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_and_ext() {
        assert_eq!(go_clean("/a/../b//c/."), "/b/c");
        assert_eq!(go_clean("a/.."), ".");
        assert_eq!(ext("a.service.d"), ".d");
        assert_eq!(url_scheme("DATA:,x").unwrap(), "data");
        assert!(url_error("https://example.com/%zz", Spec { major: 3, minor: 2 }).is_some());
        assert!(url_error("gs://b/x", Spec { major: 3, minor: 1 }).is_some());
        assert!(url_error("gs://b/x", Spec { major: 3, minor: 2 }).is_none());
    }
}
