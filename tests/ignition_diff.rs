//! The Ignition differential (issue 19): every config of the generated corpus
//! (`tests/ignition_diff/corpus.rs`) judged by modlayer and by the real judges, whose verdicts are
//! recorded in `testdata/ignition-diff/verdicts.tsv`:
//! - specs 3.0.0-3.3.0: `ignition-validate` 2.14 (Debian), re-run live here when it is installed;
//! - specs 3.4.0/3.5.0: Ignition v2.20's config validation (`config/v3_4`, `config/v3_5`: parse,
//!   `validate.ValidateWithContext`), and its fetch stage's parse of inline child configs;
//! - boot: the real Ignition 2.14 files stage (`fetch-offline`, then `files -root DIR` over a root
//!   holding RHEL's sctp blacklist) for every valid 3.0.0-3.3.0 config: did it fail, and did it
//!   write the layer's two files byte for byte.
//!
//! Regenerate (judges are given as built programs; nothing is built here):
//! `MODLAYER_IGN_JUDGE=/path/to/v2.20-driver cargo test --test ignition_diff -- --ignored regen`.

mod common;

#[path = "ignition_diff/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Oracle;
use modlayer::targets::{from_file, judge, FileTarget, Kind, VerifyOpts};

const GOLDEN: &str = "testdata/ignition-diff/verdicts.tsv";

/// modlayer's verdict on one config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ours {
    /// Exit 2: the config is refused (the message says where).
    Refused(String),
    /// Read; the module would be loaded.
    Enabled,
    /// Read; the module would not be loaded (or the boot fails): the finding codes.
    NotEnabled(Vec<String>),
}

/// Judge one config as `modlayer verify` does.
pub fn ours(text: &[u8]) -> Ours {
    let layer = common::sctp();
    let file = FileTarget::from_bytes("c.ign", text.to_vec());
    let t = from_file(file, Some(Kind::Ignition));
    match judge(t.as_ref(), "c.ign", &layer, &VerifyOpts::default()) {
        Err(e) => Ours::Refused(format!("{e:#}")),
        Ok(reports) if reports.iter().all(|r| r.enabled) => Ours::Enabled,
        Ok(reports) => Ours::NotEnabled(
            reports
                .iter()
                .flat_map(|r| r.findings.iter())
                .filter(|f| f.severity == modlayer::findings::Severity::Error)
                .map(|f| f.code.to_string())
                .collect(),
        ),
    }
}

/// One recorded verdict.
#[derive(Clone, Debug)]
struct Golden {
    hash: String,
    /// `valid` or `invalid`.
    valid: bool,
    /// `-` (not run), `fails`, `layer` (the module loads: see `boot`), `other`.
    boot: String,
    judge: String,
    why: String,
}

fn short_hash(b: &[u8]) -> String {
    common::hex(&common::sha256(b))[..16].to_string()
}

fn goldens() -> BTreeMap<String, Golden> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, '\t').collect();
            assert!(f.len() == 6, "{GOLDEN}: bad line {l:?}");
            (
                f[0].to_string(),
                Golden {
                    hash: f[1].to_string(),
                    valid: f[2] == "valid",
                    boot: f[3].to_string(),
                    judge: f[4].to_string(),
                    why: f[5].to_string(),
                },
            )
        })
        .collect()
}

/// How a verdict of ours compares with the judges'.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Cmp {
    Agree,
    /// We refuse what the judge accepts.
    FalseRefusal,
    /// We accept what the judge refuses (not enabled).
    MissedRefusal,
    /// We say enabled where a judge refuses, the boot fails, or the layer is not written.
    FalseEnabled,
    /// We say not enabled where the files stage wrote the layer.
    FalseDisabled,
}

fn compare(o: &Ours, g: &Golden) -> Cmp {
    match (o, g.valid) {
        (Ours::Enabled, false) => Cmp::FalseEnabled,
        (Ours::NotEnabled(_), false) => Cmp::MissedRefusal,
        (Ours::Refused(_), false) => Cmp::Agree,
        (Ours::Refused(_), true) => Cmp::FalseRefusal,
        (Ours::Enabled, true) if g.boot == "fails" || g.boot == "other" => Cmp::FalseEnabled,
        (Ours::NotEnabled(_), true) if g.boot == "layer" => Cmp::FalseDisabled,
        _ => Cmp::Agree,
    }
}

/// The whole corpus against the recorded judges: agreement of at least 99.5 % and no config
/// called enabled that a judge refuses or whose boot fails.
#[test]
fn agreement_with_recorded_judges() {
    let gold = goldens();
    let cases = corpus::corpus();
    assert!(cases.len() >= 2000, "corpus too small: {}", cases.len());
    let mut per_spec: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut classes: BTreeMap<(Cmp, &str), Vec<String>> = BTreeMap::new();
    let mut stale = Vec::new();
    for c in &cases {
        let Some(g) = gold.get(&c.id) else {
            stale.push(format!("{}: no golden", c.id));
            continue;
        };
        if g.hash != short_hash(&c.text) {
            stale.push(format!(
                "{}: the config changed since the goldens were recorded",
                c.id
            ));
            continue;
        }
        let o = ours(&c.text);
        let cmp = compare(&o, g);
        let e = per_spec.entry(c.spec).or_default();
        if cmp == Cmp::Agree {
            e.0 += 1;
        } else {
            e.1 += 1;
            classes.entry((cmp, c.family)).or_default().push(format!(
                "{} [{}: {} boot={} {}] ours={o:?} text={}",
                c.id,
                g.judge,
                if g.valid { "valid" } else { "invalid" },
                g.boot,
                g.why,
                String::from_utf8_lossy(&c.text)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "regenerate the goldens ({} stale):\n{}",
        stale.len(),
        stale.join("\n")
    );
    let (mut agree, mut total) = (0, 0);
    for (spec, (a, d)) in &per_spec {
        eprintln!("spec {spec}: agree {a}, disagree {d}");
        agree += a;
        total += a + d;
    }
    for ((cmp, fam), ids) in &classes {
        eprintln!("{cmp:?} {fam}: {}", ids.len());
        for i in ids.iter().take(3) {
            eprintln!("    {}", i.chars().take(600).collect::<String>());
        }
    }
    let false_enabled: usize = classes
        .iter()
        .filter(|((c, _), _)| *c == Cmp::FalseEnabled)
        .map(|(_, v)| v.len())
        .sum();
    let ratio = agree as f64 / total as f64;
    eprintln!(
        "total: {agree}/{total} = {:.2} %, false enabled: {false_enabled}",
        ratio * 100.0
    );
    assert_eq!(
        false_enabled, 0,
        "configs called enabled that a judge refuses or whose boot fails"
    );
    assert!(ratio >= 0.995, "agreement {:.2} % < 99.5 %", ratio * 100.0);
}

/// The recorded verdicts of ignition-validate still hold: it is re-run on every 3.0.0-3.3.0
/// config of the corpus (with MODLAYER_REQUIRE_ORACLES=1 its absence fails the test).
#[test]
fn recorded_ignition_validate_verdicts_are_live() {
    if !common::have(Oracle::IgnitionValidate) {
        return;
    }
    let gold = goldens();
    let cases: Vec<corpus::Case> = corpus::corpus()
        .into_iter()
        .filter(|c| c.spec < "3.4.0")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let verdicts = validate_many(&cases, dir.path());
    let mut wrong = Vec::new();
    for (c, (valid, why)) in cases.iter().zip(verdicts) {
        let g = &gold[&c.id];
        if g.valid != valid || g.hash != short_hash(&c.text) {
            wrong.push(format!(
                "{}: recorded {} now {valid} ({why})",
                c.id, g.valid
            ));
        }
    }
    assert!(cases.len() > 1000);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// ignition-validate on each case (two at a time): (valid, first line of its complaint).
fn validate_many(cases: &[corpus::Case], dir: &Path) -> Vec<(bool, String)> {
    let paths: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = dir.join(format!("{i}.ign"));
            std::fs::write(&p, &c.text).unwrap();
            p
        })
        .collect();
    let half = paths.len() / 2;
    let run = |ps: &[PathBuf]| -> Vec<(bool, String)> {
        ps.iter()
            .map(|p| {
                let mut cmd = std::process::Command::new(Oracle::IgnitionValidate.program());
                cmd.arg(p);
                let ran = common::run_with_timeout(cmd, None, std::time::Duration::from_secs(60))
                    .unwrap_or_else(|e| panic!("ignition-validate: {e}"));
                let text = String::from_utf8_lossy(&ran.stdout).to_string()
                    + &String::from_utf8_lossy(&ran.stderr);
                (ran.success(), one_line(&text))
            })
            .collect()
    };
    std::thread::scope(|s| {
        let a = s.spawn(|| run(&paths[..half]));
        let b = run(&paths[half..]);
        let mut all = a.join().unwrap();
        all.extend(b);
        all
    })
}

fn one_line(s: &str) -> String {
    let s = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    s.replace('\t', " ").chars().take(200).collect()
}

/// What the files stage left: `fails`, `layer` (no modprobe.d file blacklists sctp or installs
/// it away, a modules-load.d file lists it, systemd-modules-load is not masked), or `other`.
fn boot(text: &[u8]) -> String {
    // Not judged here: the files stage opens LUKS volumes that the disks stage made (there are
    // none here), and fetch-offline cannot fetch a remote config (a node fetches it online).
    let v: serde_json::Value = serde_json::from_slice(text).unwrap_or_default();
    let remote = |r: &serde_json::Value| {
        r.get("source")
            .and_then(|s| s.as_str())
            .is_some_and(|s| !s.is_empty() && !s.starts_with("data:"))
    };
    let merges = v
        .pointer("/ignition/config/merge")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    if v.pointer("/storage/luks").is_some()
        || merges.iter().any(remote)
        || v.pointer("/ignition/config/replace").is_some_and(remote)
    {
        return "-".into();
    }
    let root = common::rhcos_root();
    if common::ignition_apply(text, root.path()).is_err() {
        return "fails".into();
    }
    let lines = |dir: &str| -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(root.path().join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().to_string();
            if !name.ends_with(".conf") {
                continue;
            }
            if let Ok(b) = std::fs::read(e.path()) {
                out.extend(
                    String::from_utf8_lossy(&b)
                        .lines()
                        .map(|l| l.trim().to_string()),
                );
            }
        }
        out
    };
    let blocked = lines("etc/modprobe.d").iter().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        matches!(
            w.as_slice(),
            ["blacklist", "sctp", ..] | ["install", "sctp", ..]
        )
    });
    let listed = lines("etc/modules-load.d").iter().any(|l| l == "sctp");
    let masked = std::fs::symlink_metadata(
        root.path()
            .join("etc/systemd/system/systemd-modules-load.service"),
    )
    .is_ok();
    if !blocked && listed && !masked {
        "layer".into()
    } else {
        "other".into()
    }
}

/// Record the judges' verdicts. Needs ignition-validate and ignition (Debian `ignition`) and, for
/// 3.4.0/3.5.0, MODLAYER_IGN_JUDGE: a program built from Ignition v2.20's config packages that reads
/// config paths on stdin and prints one JSON object a line (`verdict`, `report`, `children`).
#[test]
#[ignore]
fn regen() {
    let judge_bin = std::env::var_os("MODLAYER_IGN_JUDGE")
        .map(PathBuf::from)
        .expect("MODLAYER_IGN_JUDGE");
    assert!(common::have(Oracle::IgnitionValidate) && common::have(Oracle::Ignition));
    let cases = corpus::corpus();
    let dir = tempfile::tempdir().unwrap();
    let (old, new): (Vec<&corpus::Case>, Vec<&corpus::Case>) =
        cases.iter().partition(|c| c.spec < "3.4.0");
    let mut lines = BTreeMap::new();
    // 3.0-3.3: ignition-validate 2.14, then the 2.14 files stage on every valid one.
    let old_owned: Vec<corpus::Case> = old
        .iter()
        .map(|c| corpus::Case {
            id: c.id.clone(),
            spec: c.spec,
            family: c.family,
            text: c.text.clone(),
        })
        .collect();
    let v = validate_many(&old_owned, dir.path());
    // The files stage on every valid one, four at a time.
    let boots: Vec<String> = {
        let jobs: Vec<(usize, &corpus::Case)> = old_owned
            .iter()
            .enumerate()
            .filter(|(i, _)| v[*i].0)
            .collect();
        let mut out = vec!["-".to_string(); old_owned.len()];
        let chunks: Vec<Vec<(usize, &corpus::Case)>> = (0..4)
            .map(|k| jobs.iter().skip(k).step_by(4).cloned().collect())
            .collect();
        let results: Vec<Vec<(usize, String)>> = std::thread::scope(|s| {
            let hs: Vec<_> = chunks
                .iter()
                .map(|ch| s.spawn(move || ch.iter().map(|(i, c)| (*i, boot(&c.text))).collect()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, b) in results.into_iter().flatten() {
            out[i] = b;
        }
        out
    };
    let mut boot_at_33 = BTreeMap::new();
    for (k, (c, (valid, why))) in old_owned.iter().zip(v.iter().cloned()).enumerate() {
        let b = boots[k].clone();
        if c.spec == "3.3.0" {
            boot_at_33.insert(
                c.id.trim_start_matches("3.3.0/").to_string(),
                (c.text.clone(), b.clone()),
            );
        }
        lines.insert(
            c.id.clone(),
            format!(
                "{}\t{}\t{}\t{b}\tignition-validate-2.14+files-2.14\t{why}",
                c.id,
                short_hash(&c.text),
                if valid { "valid" } else { "invalid" }
            ),
        );
    }
    // 3.4/3.5: v2.20 validation; the boot verdict of the same config at 3.3.0 where the text is
    // the same but for the version (the 2.14 files stage does not read 3.4.0+), child configs
    // judged by v2.20's parse.
    let list: String = new
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = dir.path().join(format!("n{i}.ign"));
            std::fs::write(&p, &c.text).unwrap();
            format!("{}\n", p.display())
        })
        .collect();
    let cmd = std::process::Command::new(&judge_bin);
    let ran = common::run_with_timeout(
        cmd,
        Some(list.as_bytes()),
        std::time::Duration::from_secs(600),
    )
    .unwrap();
    assert!(ran.success(), "{}", ran.transcript());
    let outs: Vec<serde_json::Value> = String::from_utf8_lossy(&ran.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(outs.len(), new.len());
    for (c, o) in new.iter().zip(outs) {
        let verdict = o["verdict"].as_str().unwrap_or("");
        let valid = verdict == "valid";
        let children: Vec<&str> = o["children"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        let child_bad = children
            .iter()
            .any(|s| s.contains(":invalid") || s.contains(":bad-dataurl"));
        let rest = c.id.split_once('/').map_or("", |x| x.1);
        let same = boot_at_33.get(rest).filter(|(t, _)| {
            String::from_utf8_lossy(t)
                .replacen("\"3.3.0\"", &format!("\"{}\"", c.spec), usize::MAX)
                .as_bytes()
                == c.text.as_slice()
        });
        let (b, judge) = if !valid {
            ("-".to_string(), "ignition-v2.20-validate")
        } else if child_bad {
            ("fails".to_string(), "ignition-v2.20-validate+child-parse")
        } else if let (Some((_, b)), true) = (same, children.is_empty()) {
            (b.clone(), "ignition-v2.20-validate+files-2.14-at-3.3.0")
        } else {
            ("-".to_string(), "ignition-v2.20-validate")
        };
        let why = if valid {
            children.join(" ")
        } else {
            format!("{verdict}: {}", o["report"].as_str().unwrap_or(""))
        };
        lines.insert(
            c.id.clone(),
            format!(
                "{}\t{}\t{}\t{b}\t{judge}\t{}",
                c.id,
                short_hash(&c.text),
                if valid { "valid" } else { "invalid" },
                one_line(&why)
            ),
        );
    }
    let mut text = String::from("# id\tsha256[..16] of the config\tvalidator verdict\tfiles stage (-: not run, fails, layer, other)\tjudge\tjudge's words\n");
    for c in &cases {
        text.push_str(&lines[&c.id]);
        text.push('\n');
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    std::fs::write(&path, text).unwrap();
    eprintln!("wrote {} verdicts to {}", cases.len(), path.display());
}
