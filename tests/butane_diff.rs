//! The differential against real Butane (v0.23.0): every config of Butane's documentation
//! (`testdata/butane-diff/docs`, the YAML blocks of its docs/*.md) and a generated corpus of
//! module-related variants (`testdata/butane-diff/gen`), each with what real Butane did with it
//! recorded next to it (`NAME.butane.json`: exit status, standard output and standard error of
//! `butane -d files NAME` and of `butane --strict -d files NAME`).
//!
//! The goldens are the real tool's outputs; this test needs no Go and no Butane. Regenerate them
//! with a Butane binary built elsewhere (this repository never builds it):
//! `MODLAYER_BUTANE=/path/to/butane cargo test --test butane_diff -- --ignored regen`.
//!
//! What must hold for every case:
//! - modlayer accepts (exit 0 or 1) exactly what Butane accepts, with unknown keys refused as
//!   `butane --strict` refuses them (Butane's other warnings are modlayer findings, not refusals);
//! - where both accept: verify's exit status and findings on the source equal those on Butane's
//!   own translation, and Butane's warnings are among the source's findings;
//! - where both accept: modlayer's translation is Butane's output, value for value.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/butane-diff")
}

/// Every case: (corpus/name, path of the source).
fn cases() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for corpus in ["docs", "gen"] {
        let dir = root().join(corpus);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "bu"))
            .collect();
        names.sort();
        for p in names {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((format!("{corpus}/{stem}"), p));
        }
    }
    out
}

fn golden_path(source: &Path) -> PathBuf {
    source.with_extension("butane.json")
}

/// What Butane did with a case.
struct Golden {
    status: i32,
    stdout: String,
    stderr: String,
    strict_status: i32,
}

fn golden(source: &Path) -> Golden {
    let path = golden_path(source);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate the goldens)", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    Golden {
        status: v["plain"]["status"].as_i64().unwrap() as i32,
        stdout: v["plain"]["stdout"].as_str().unwrap().to_string(),
        stderr: v["plain"]["stderr"].as_str().unwrap().to_string(),
        strict_status: v["strict"]["status"].as_i64().unwrap() as i32,
    }
}

impl Golden {
    /// Butane's verdict with unknown keys refused (`--strict` for them, plain for the rest).
    fn accepts(&self) -> bool {
        self.status == 0 && !self.stderr.contains(": Unused key ")
    }

    /// Butane's warnings: (Butane path, message).
    fn warnings(&self) -> BTreeSet<(String, String)> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("warning at "))
            .filter_map(|l| {
                let (path, rest) = l.split_once(", line ")?;
                let (_, message) = rest.split_once(": ")?;
                Some((path.to_string(), message.to_string()))
            })
            .collect()
    }
}

/// `modlayer verify --format json` of a file: exit status and the first target's report.
fn verify(path: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut cmd = common::modlayer();
    cmd.arg("verify")
        .arg("--format")
        .arg("json")
        .args(extra)
        .arg(path);
    let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    let status = ran.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&ran.stdout).unwrap_or(Value::Null);
    (status, report["targets"][0].clone(), ran.transcript())
}

/// Codes only a source can have (what its translation cannot show): Butane's own warnings and
/// modlayer's notes on the source.
const SOURCE_ONLY: &[&str] = &[
    "butane-warning",
    "butane-not-translated",
    "butane-document-ignored",
];

/// A report's findings as (severity, code, message without file names), sorted.
fn findings(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| !SOURCE_ONLY.contains(&f["code"].as_str().unwrap_or("")))
        .map(|f| {
            (
                f["severity"].as_str().unwrap_or("").to_string(),
                f["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The openshift release a case's source names (`4.14` for `version: 4.14.0`), if openshift.
fn openshift_release(text: &str) -> Option<String> {
    if !text.lines().any(|l| l.trim() == "variant: openshift") {
        return None;
    }
    let v = text.lines().find_map(|l| l.strip_prefix("version: "))?;
    let mut parts = v.trim().split('.');
    Some(format!("{}.{}", parts.next()?, parts.next()?))
}

/// A translation with each gzipped data URL replaced by its decompressed bytes: Go's deflate and
/// modlayer's (zlib's) compress the same bytes differently, both valid; the contents must agree.
fn gunzipped(v: Value) -> Value {
    use modlayer::formats::encoding::{decode_data_url, gunzip};
    match v {
        Value::String(s) if s.starts_with("data:;base64,H4sI") => {
            match decode_data_url(&s).ok().and_then(|z| gunzip(&z).ok()) {
                Some(bytes) => json!({ "gunzipped": String::from_utf8_lossy(&bytes) }),
                None => Value::String(s),
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(gunzipped).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, gunzipped(v))).collect()),
        other => other,
    }
}

/// Cases whose translation by modlayer is known to differ from Butane's output, with why (none:
/// `grub` and the s390x and CEX `boot_device` layouts are translated since issue 20's last gap).
const TRANSLATION_DIFFERS: &[(&str, &str)] = &[];

/// Cases whose source verdict is known to differ from that of Butane's translation, with why.
const VERDICT_DIFFERS: &[(&str, &str)] = &[];

#[test]
fn modlayer_judges_as_butane_translates() {
    let files = root().join("files");
    let files_arg = files.to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().unwrap();
    let (mut total, mut agree, mut both, mut same_verdict, mut same_bytes) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for (name, source) in cases() {
        total += 1;
        let g = golden(&source);
        let text = std::fs::read_to_string(&source).unwrap();
        let (status, report, transcript) =
            verify(&source, &["--kind", "butane", "--files-dir", &files_arg]);
        let accepts = status == 0 || status == 1;
        if accepts != g.accepts() {
            failures.push(format!(
                "{name}: Butane {} (exit {}, strict {}), modlayer exit {status}\nButane: {}\nmodlayer: {transcript}",
                if g.accepts() { "accepts" } else { "refuses" },
                g.status,
                g.strict_status,
                g.stderr
            ));
            continue;
        }
        agree += 1;
        if !accepts {
            continue;
        }
        both += 1;
        // The source's verdict against its real translation's.
        let release = openshift_release(&text);
        let translated = tmp.path().join(format!(
            "{}.{}",
            name.replace('/', "-"),
            if release.is_some() { "yaml" } else { "ign" }
        ));
        std::fs::write(&translated, &g.stdout).unwrap();
        let mut extra = vec![];
        if let Some(r) = &release {
            extra.extend(["--openshift-version", r.as_str()]);
        }
        let (t_status, t_report, t_transcript) = verify(&translated, &extra);
        let (mine, theirs) = (findings(&report), findings(&t_report));
        let verdict_known = VERDICT_DIFFERS.iter().any(|(n, _)| *n == name);
        if (status, &mine) == (t_status, &theirs) && verdict_known {
            failures.push(format!(
                "{name}: listed as differing but the verdicts agree now"
            ));
        } else if (status, &mine) != (t_status, &theirs) && !verdict_known {
            failures.push(format!("{name}: the source is exit {status} {mine:?}, its Butane translation exit {t_status} {theirs:?}\nsource: {transcript}\ntranslation: {t_transcript}"));
        } else if !verdict_known {
            same_verdict += 1;
        }
        // Butane's warnings are the source's butane-warning findings.
        let warned: BTreeSet<(String, String)> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["code"] == "butane-warning")
            .map(|f| {
                (
                    f["path"].as_str().unwrap_or("").to_string(),
                    f["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let expected = g.warnings();
        let missing: Vec<_> = expected
            .iter()
            .filter(|(p, m)| {
                !warned
                    .iter()
                    .any(|(wp, wm)| wp == p && wm.ends_with(m.as_str()))
            })
            .collect();
        if !missing.is_empty() || warned.len() != expected.len() {
            failures.push(format!(
                "{name}: Butane warns {expected:?}, modlayer {warned:?}"
            ));
        }
        // The translation itself.
        let ours = modlayer::butane::Source::read("source.bu", text.as_bytes())
            .and_then(|s| s.translate(modlayer::butane::Local::Dir(Some(&files))));
        let ours = match ours {
            Ok(t) => t.machineconfig.unwrap_or(t.config),
            Err(e) => json!({"error": format!("{e:#}")}),
        };
        let theirs: Value = if release.is_some() {
            common::yaml11_documents(&g.stdout)
                .ok()
                .and_then(|d| d.into_iter().next())
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_str(&g.stdout).unwrap_or(Value::Null)
        };
        let (ours, theirs) = (gunzipped(ours), gunzipped(theirs));
        let known = TRANSLATION_DIFFERS.iter().find(|(n, _)| *n == name);
        match (ours == theirs, known) {
            (true, None) => same_bytes += 1,
            (true, Some(_)) => failures.push(format!(
                "{name}: listed as differing but translates as Butane does now"
            )),
            (false, Some(_)) => {}
            (false, None) => failures.push(format!(
                "{name}: translation differs\nmodlayer: {}\nButane:   {}",
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap()
            )),
        }
    }
    eprintln!("butane-diff: {total} cases; accept/refuse agrees on {agree}; both accept {both}; same verdict and findings {same_verdict}/{both}; same translation {same_bytes}/{both}");
    assert!(total >= 150, "{total} cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every case has its golden, and no golden is left without its case.
#[test]
fn every_case_has_its_golden() {
    for (name, source) in cases() {
        assert!(golden_path(&source).is_file(), "{name}: no golden");
    }
    for corpus in ["docs", "gen"] {
        for e in std::fs::read_dir(root().join(corpus)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".butane.json") {
                assert!(p.with_file_name(format!("{stem}.bu")).is_file(), "{name}");
            }
        }
    }
}

/// Rewrite the goldens with the Butane binary named by MODLAYER_BUTANE (built elsewhere).
#[test]
#[ignore]
fn regen() {
    let Some(butane) = std::env::var_os("MODLAYER_BUTANE") else {
        panic!("set MODLAYER_BUTANE to a Butane binary");
    };
    let base = root();
    for (_, source) in cases() {
        let rel = source.strip_prefix(&base).unwrap().to_path_buf();
        let run = |strict: bool| {
            let mut cmd = std::process::Command::new(&butane);
            cmd.current_dir(&base);
            if strict {
                cmd.arg("--strict");
            }
            cmd.arg("-d").arg("files").arg(&rel);
            let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
            json!({
                "status": ran.status.code().unwrap_or(-1),
                "stdout": String::from_utf8_lossy(&ran.stdout),
                "stderr": String::from_utf8_lossy(&ran.stderr),
            })
        };
        let golden = json!({"plain": run(false), "strict": run(true)});
        let mut text = serde_json::to_string_pretty(&golden).unwrap();
        text.push('\n');
        std::fs::write(golden_path(&source), text).unwrap();
    }
}
