//! `verify --format junit|sarif|github`: the same findings as the JSON report, read back by the
//! programs CI systems use (junitparser, sarif-tools from PyPI), with the same exit status in
//! every format.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn require() -> bool {
    std::env::var("MODLAYER_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// The first `name` on PATH.
fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(format!("/usr/bin/{name}")))
}

/// Whether `python3` (first on PATH, where pip installs) imports junitparser.
fn have_junitparser() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import junitparser"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    assert!(
        !require(),
        "junitparser is missing (pip install junitparser) and MODLAYER_REQUIRE_ORACLES=1"
    );
    eprintln!("SKIP junit_report_is_read_by_junitparser: pip install junitparser");
    false
}

/// Targets of every outcome: enabled (one pool, two pools), not enabled, and unreadable (with a
/// line and column).
fn fixtures(dir: &Path) -> Vec<String> {
    let render = |args: &[&str]| common::run_modlayer(args).unwrap().stdout;
    std::fs::write(dir.join("ok.yaml"), render(&["render", "machineconfig"])).unwrap();
    std::fs::write(
        dir.join("two-pools.yaml"),
        render(&[
            "render",
            "machineconfig",
            "--role",
            "worker",
            "--role",
            "master",
        ]),
    )
    .unwrap();
    // Only the load list: the RHEL blacklist stays, so systemd-modules-load skips sctp.
    std::fs::write(
        dir.join("load-only.yaml"),
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  labels:\n    machineconfiguration.openshift.io/role: worker\n  name: load-sctp-only\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n    storage:\n      files:\n      - path: /etc/modules-load.d/sctp-load.conf\n        mode: 420\n        overwrite: true\n        contents:\n          source: data:,sctp\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.yaml"),
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: [broken\n",
    )
    .unwrap();
    ["ok.yaml", "two-pools.yaml", "load-only.yaml", "broken.yaml"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// `modlayer verify --format F TARGETS` in `dir`: exit status and standard output.
fn verify(dir: &Path, format: &str, targets: &[String], strict: bool) -> (i32, String) {
    let mut c = common::modlayer();
    c.current_dir(dir).args(["verify", "--format", format]);
    if strict {
        c.arg("--strict");
    }
    c.args(targets);
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The `broken.yaml:LINE:COL` the JSON report's bad-input message names.
fn broken_place(json: &str) -> (u64, u64) {
    let v: Value = serde_json::from_str(json).unwrap();
    let msg = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["findings"].as_array().unwrap().iter())
        .find(|f| f["code"] == "bad-input")
        .and_then(|f| f["message"].as_str())
        .unwrap()
        .to_string();
    let at = msg.find("broken.yaml:").unwrap() + "broken.yaml:".len();
    let mut parts = msg[at..].splitn(3, ':');
    let line = parts.next().unwrap().parse().unwrap();
    let col = parts.next().unwrap().parse().unwrap();
    (line, col)
}

/// Per report of the JSON output: (target, pool, [(severity, code)]).
type Counted = Vec<(String, Option<String>, Vec<(String, String)>)>;

fn json_findings(text: &str) -> Counted {
    let v: Value = serde_json::from_str(text).unwrap();
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                t["role"].as_str().map(str::to_string),
                t["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        (
                            f["severity"].as_str().unwrap().to_string(),
                            f["code"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn every_format_has_the_exit_status_of_json() {
    let d = tempfile::tempdir().unwrap();
    let targets = fixtures(d.path());
    for (ts, want) in [(&targets[..], 2), (&targets[..3], 1), (&targets[..2], 0)] {
        for strict in [false, true] {
            for f in ["text", "json", "junit", "sarif", "github"] {
                let (code, _) = verify(d.path(), f, ts, strict);
                assert_eq!(code, want, "--format {f} strict={strict} on {ts:?}");
            }
        }
    }
}

#[test]
fn junit_report_is_read_by_junitparser() {
    if !have_junitparser() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let targets = fixtures(d.path());
    let (_, json) = verify(d.path(), "json", &targets, false);
    let (_, xml) = verify(d.path(), "junit", &targets, false);
    let file = d.path().join("report.xml");
    std::fs::write(&file, &xml).unwrap();
    // junitparser's own reading: suites, cases, and each case's results (failure/error) by type.
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error
xml = JUnitXml.fromfile(sys.argv[1])
out = {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": []}
for suite in xml:
    cases = []
    for case in suite:
        cases.append({"name": case.name,
                      "failures": [r.type for r in case.result if isinstance(r, Failure)],
                      "errors": [r.type for r in case.result if isinstance(r, Error)]})
    out["suites"].append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                          "errors": suite.errors, "cases": cases})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "junitparser: {out:?}\n{xml}");
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();

    let reports = json_findings(&json);
    // Suites: the targets, in the order given.
    let suites: Vec<&str> = parsed["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(suites, targets);
    let mut cases = Vec::new();
    for s in parsed["suites"].as_array().unwrap() {
        for c in s["cases"].as_array().unwrap() {
            cases.push((s["name"].as_str().unwrap().to_string(), c.clone()));
        }
    }
    assert_eq!(
        cases.len(),
        reports.len(),
        "one testcase per report:\n{xml}"
    );
    let mut failures = 0;
    let mut errors = 0;
    for ((target, pool, findings), (suite, case)) in reports.iter().zip(&cases) {
        assert_eq!(target, suite);
        if let Some(p) = pool {
            assert_eq!(case["name"].as_str().unwrap(), format!("pool {p}"));
        }
        let codes = |sev: &str| -> Vec<String> {
            findings
                .iter()
                .filter(|(s, _)| s == sev)
                .map(|(_, c)| c.clone())
                .collect()
        };
        let got = |k: &str| -> Vec<String> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        if target == "broken.yaml" {
            assert_eq!(got("errors"), vec!["bad-input".to_string()]);
            assert!(got("failures").is_empty());
            errors += 1;
        } else {
            assert_eq!(got("failures"), codes("error"), "{target} {pool:?}");
            failures += got("failures").len();
        }
    }
    assert!(
        xml.contains("<failure type=\"module-blacklisted\""),
        "the not-enabled target fails: {xml}"
    );
    assert_eq!(parsed["failures"].as_u64().unwrap() as usize, failures);
    assert_eq!(parsed["errors"].as_u64().unwrap() as usize, errors);
    assert_eq!(parsed["tests"].as_u64().unwrap() as usize, reports.len());
}

#[test]
fn sarif_report_is_read_by_sarif_tools() {
    let sarif_cli = on_path("sarif");
    if !common::have_program_at("sarif (pip install sarif-tools)", &sarif_cli, require()) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let targets = fixtures(d.path());
    let (_, json) = verify(d.path(), "json", &targets, false);
    let (_, sarif) = verify(d.path(), "sarif", &targets, false);
    let dir = d.path().join("sarif");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("modlayer.sarif"), &sarif).unwrap();

    let reports = json_findings(&json);
    let count = |sev: &str| -> usize {
        reports
            .iter()
            .map(|(_, _, f)| f.iter().filter(|(s, _)| s == sev).count())
            .sum()
    };
    // `sarif summary`: one line per level with its count.
    let out = Command::new(&sarif_cli)
        .arg("summary")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "sarif summary: {out:?}");
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    for (level, sev) in [("error", "error"), ("warning", "warning"), ("note", "info")] {
        let n = count(sev);
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(level))
            .unwrap_or_else(|| panic!("no {level} line in sarif summary:\n{summary}"));
        assert!(
            line.split(|c: char| !c.is_ascii_digit())
                .any(|w| w == n.to_string()),
            "sarif summary says `{line}`, the JSON report has {n} {sev} findings:\n{summary}"
        );
    }
    // `sarif ls` lists the file it read.
    let out = Command::new(&sarif_cli)
        .arg("ls")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "sarif ls: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("modlayer.sarif"));

    // The document itself: rules from the findings enum, results as the JSON findings, places.
    let v: Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), modlayer::findings::Code::ALL.len());
    for (r, c) in rules.iter().zip(modlayer::findings::Code::ALL) {
        assert_eq!(r["id"], c.as_str());
        assert_eq!(r["help"]["text"], c.fix());
    }
    let results = run["results"].as_array().unwrap();
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = reports
        .iter()
        .flat_map(|(_, _, f)| f.iter().map(|(_, c)| c.as_str()))
        .collect();
    assert_eq!(codes, want);
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    // The unreadable file is located at the line and column its message names.
    let (line, col) = broken_place(&json);
    let bad = results.iter().find(|r| r["ruleId"] == "bad-input").unwrap();
    let loc = &bad["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "broken.yaml", "{bad}");
    assert_eq!(loc["region"]["startLine"], line, "{bad}");
    assert_eq!(loc["region"]["startColumn"], col, "{bad}");
}

#[test]
fn github_commands_carry_every_finding() {
    let d = tempfile::tempdir().unwrap();
    let targets = fixtures(d.path());
    let (_, json) = verify(d.path(), "json", &targets, false);
    let (_, gh) = verify(d.path(), "github", &targets, false);
    let reports = json_findings(&json);
    let mut commands = Vec::new();
    for line in gh.lines().filter(|l| l.starts_with("::")) {
        let (head, _message) = line[2..].split_once("::").unwrap();
        let (command, props) = head.split_once(' ').unwrap();
        let props: Vec<(&str, &str)> = props
            .split(',')
            .map(|p| p.split_once('=').unwrap())
            .collect();
        let title = props.iter().find(|(k, _)| *k == "title").unwrap().1;
        commands.push((command.to_string(), title.to_string(), line.to_string()));
    }
    let want: Vec<(String, String)> = reports
        .iter()
        .flat_map(|(_, _, f)| {
            f.iter().map(|(s, c)| {
                let cmd = match s.as_str() {
                    "error" => "error",
                    "warning" => "warning",
                    _ => "notice",
                };
                (cmd.to_string(), c.clone())
            })
        })
        .collect();
    let got: Vec<(String, String)> = commands
        .iter()
        .map(|(c, t, _)| (c.clone(), t.clone()))
        .collect();
    assert_eq!(got, want, "{gh}");
    let bad = commands.iter().find(|(_, t, _)| t == "bad-input").unwrap();
    let (line, col) = broken_place(&json);
    assert!(
        bad.2.starts_with(&format!(
            "::error file=broken.yaml,line={line},col={col},title=bad-input::"
        )),
        "{}",
        bad.2
    );
    // One plain verdict line per readable report.
    assert!(gh.contains("load-only.yaml (machineconfig) [pool worker]: sctp NOT enabled"));
}

/// The KRM validator's verdicts in the CI formats: the ResourceList kpt feeds the function
/// (`kpt fn source DIR`), given to `modlayer verify --format sarif|github -`, carries the same
/// error codes as the validator's error results (their `tags.code`), and sarif-tools counts them.
#[test]
fn krm_validator_verdicts_reach_the_ci_formats() {
    let kpt = on_path("kpt");
    if !common::have_program_at("kpt", &kpt, require()) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let pkg = d.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    // A load list without the blacklist override, and a master pool nobody writes to.
    std::fs::write(
        pkg.join("load-only.yaml"),
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  labels:\n    machineconfiguration.openshift.io/role: worker\n  name: load-sctp-only\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n    storage:\n      files:\n      - path: /etc/modules-load.d/sctp-load.conf\n        mode: 420\n        overwrite: true\n        contents:\n          source: data:,sctp\n",
    )
    .unwrap();
    let source = Command::new(&kpt)
        .args(["fn", "source"])
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(source.status.success(), "kpt fn source: {source:?}");
    let list = source.stdout;

    // The validator: a ModuleLayerCheck as its functionConfig.
    let mut with_fc = common::yaml11_documents(&String::from_utf8_lossy(&list)).unwrap()[0].clone();
    with_fc["functionConfig"] = serde_json::json!({"apiVersion": "modlayer.dev/v1alpha1",
        "kind": "ModuleLayerCheck", "metadata": {"name": "check"}, "spec": {}});
    let mut krm = common::modlayer();
    krm.arg("krm");
    let ran = common::run_with_timeout(
        krm,
        Some(&serde_json::to_vec(&with_fc).unwrap()),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(ran.status.code(), Some(1), "{}", ran.transcript());
    let out: Value = serde_json::from_slice(&ran.stdout)
        .or_else(|_| {
            common::yaml11_documents(&String::from_utf8_lossy(&ran.stdout)).map(|mut v| v.remove(0))
        })
        .unwrap();
    let mut krm_errors: Vec<String> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["severity"] == "error")
        .map(|r| r["tags"]["code"].as_str().unwrap().to_string())
        .collect();
    krm_errors.sort();
    assert!(
        krm_errors.contains(&"module-blacklisted".to_string()),
        "{krm_errors:?}"
    );

    // `verify` of the same ResourceList, from standard input.
    let verify_stdin = |format: &str| {
        let mut c = common::modlayer();
        c.args(["verify", "--format", format, "-"]);
        let r =
            common::run_with_timeout(c, Some(&list), std::time::Duration::from_secs(60)).unwrap();
        (r.status.code(), String::from_utf8(r.stdout).unwrap())
    };
    let (code, sarif) = verify_stdin("sarif");
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&sarif).unwrap();
    let mut sarif_errors: Vec<String> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect();
    sarif_errors.sort();
    assert_eq!(sarif_errors, krm_errors);
    let (code, github) = verify_stdin("github");
    assert_eq!(code, Some(1));
    let mut gh_errors: Vec<String> = github
        .lines()
        .filter(|l| l.starts_with("::error "))
        .map(|l| {
            let t = &l[l.find("title=").unwrap() + 6..];
            t[..t.find("::").unwrap()].to_string()
        })
        .collect();
    gh_errors.sort();
    assert_eq!(gh_errors, krm_errors);

    // sarif-tools counts the same errors.
    let sarif_cli = on_path("sarif");
    if !common::have_program_at("sarif (pip install sarif-tools)", &sarif_cli, require()) {
        return;
    }
    let dir = d.path().join("sarif");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("krm.sarif"), &sarif).unwrap();
    let s = Command::new(&sarif_cli)
        .arg("summary")
        .arg(&dir)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&s.stdout).to_string();
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("error"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        line.split(|c: char| !c.is_ascii_digit())
            .any(|w| w == krm_errors.len().to_string()),
        "{line} vs {krm_errors:?}"
    );
}

/// A ZTP extra-manifests ConfigMap, as SiteConfig and ClusterInstance users keep them, with a
/// Namespace before it: a finding about a MachineConfig carried in one of its entries names the
/// chain (`FILE > ConfigMap NS/NAME > data.KEY > MachineConfig NAME`) and points, in SARIF and
/// GitHub annotations, at the line of the file where that entry's text begins; a finding about
/// a MachineConfig document of a plain file points at the document's first line.
#[test]
fn nested_findings_point_at_the_line_that_holds_them() {
    let d = tempfile::tempdir().unwrap();
    let mc = |name: &str, spec: &str, indent: &str| -> String {
        format!(
            "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: {name}\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n{spec}"
        )
        .lines()
        .map(|l| format!("{indent}{l}\n"))
        .collect()
    };
    let load = "  config:\n    ignition:\n      version: 3.2.0\n    storage:\n      files:\n      - path: /etc/modules-load.d/sctp-load.conf\n        mode: 0644\n        contents:\n          source: data:,sctp\n";
    let block = "  kernelArguments: [module_blacklist=sctp]\n";
    let ztp = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ztp-site\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sno-extra-manifests\n  namespace: ztp-site\ndata:\n  # SCTP for the DU\n  01-sctp.yaml: |\n{}  99-block.yaml: |\n{}",
        mc("load-sctp", load, "    "),
        mc("zz-block", block, "    ")
    );
    std::fs::write(d.path().join("ztp.yaml"), &ztp).unwrap();
    let plain = format!(
        "{}---\n{}",
        mc("load-sctp", load, ""),
        mc("zz-block", block, "")
    );
    std::fs::write(d.path().join("plain.yaml"), &plain).unwrap();
    // The 1-based line after the line `after` (where a block's text begins), or of `at`.
    let line_after = |text: &str, after: &str| -> u64 {
        text.lines().position(|l| l == after).unwrap() as u64 + 2
    };
    let cases = [
        (
            "ztp.yaml",
            line_after(&ztp, "  99-block.yaml: |"),
            line_after(&ztp, "  01-sctp.yaml: |"),
            "ztp.yaml > ConfigMap ztp-site/sno-extra-manifests > data.99-block.yaml > MachineConfig zz-block",
        ),
        (
            "plain.yaml",
            line_after(&plain, "---"),
            1,
            "plain.yaml > MachineConfig zz-block",
        ),
    ];
    for (file, block_line, load_line, origin) in cases {
        let t = [file.to_string()];
        let (code, json) = verify(d.path(), "json", &t, false);
        assert_eq!(code, 1, "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        let findings = v["targets"][0]["findings"].as_array().unwrap();
        let f = findings
            .iter()
            .find(|f| f["code"] == "kernel-arg-module-blacklist")
            .unwrap_or_else(|| panic!("{json}"));
        assert_eq!(f["origin"], origin);
        let (_, sarif) = verify(d.path(), "sarif", &t, false);
        let s: Value = serde_json::from_str(&sarif).unwrap();
        let results = s["runs"][0]["results"].as_array().unwrap();
        let line_of = |code: &str| {
            let r = results.iter().find(|r| r["ruleId"] == code).unwrap();
            let loc = &r["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"], file, "{r}");
            loc["region"]["startLine"].as_u64()
        };
        assert_eq!(
            line_of("kernel-arg-module-blacklist"),
            Some(block_line),
            "{file}"
        );
        assert_eq!(line_of("module-listed"), Some(load_line), "{file}");
        let (_, gh) = verify(d.path(), "github", &t, false);
        let want = format!("::error file={file},line={block_line},");
        assert!(
            gh.lines()
                .any(|l| l.starts_with(&want) && l.contains("title=kernel-arg-module-blacklist")),
            "{want} in:\n{gh}"
        );
    }
}

/// A mistake inside a ZTP ConfigMap's entry, written as a literal block (`|`): the message names
/// the place inside the entry (`FILE > ConfigMap NS/NAME > data.KEY:LINE:COL`), and SARIF and
/// GitHub annotations point at that place in the user's file, whether the MachineConfig is
/// invalid (a quoted mode) or the entry is no YAML at all.
#[test]
fn mistakes_inside_a_configmap_entry_point_at_the_users_line() {
    let d = tempfile::tempdir().unwrap();
    let entry = |mode: &str| -> String {
        format!(
            "    apiVersion: machineconfiguration.openshift.io/v1\n    kind: MachineConfig\n    metadata:\n      name: load-sctp\n      labels:\n        machineconfiguration.openshift.io/role: worker\n    spec:\n      config:\n        ignition:\n          version: 3.2.0\n        storage:\n          files:\n          - path: /etc/modules-load.d/sctp-load.conf\n            mode: {mode}\n            contents:\n              source: data:,sctp\n"
        )
    };
    let cm = |body: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ztp-site\ndata:\n  # the DU's extra manifests\n  01-sctp.yaml: |\n{body}")
    };
    let quoted = cm(&entry("\"0644\""));
    let broken = cm(&entry("[0644"));
    for (file, text, needle, inner, code) in [
        // (the line inside the entry that the reader names)
        ("quoted.yaml", &quoted, "\"0644\"", 14, "bad-input"),
        ("broken.yaml", &broken, "[0644", 15, "bad-input"),
    ] {
        std::fs::write(d.path().join(file), text).unwrap();
        let t = [file.to_string()];
        let (status, json) = verify(d.path(), "json", &t, false);
        assert_eq!(status, 2, "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        let message = v["targets"][0]["findings"][0]["message"].as_str().unwrap();
        // The place in the message is the entry's own line and column.
        let head = format!(
            "{file} > ConfigMap ztp-site/extra > data.01-sctp.yaml:{}:",
            inner
        );
        assert!(message.starts_with(&head), "{message}");
        let (_, sarif) = verify(d.path(), "sarif", &t, false);
        let s: Value = serde_json::from_str(&sarif).unwrap();
        let r = s["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == code)
            .unwrap()
            .clone();
        let region = &r["locations"][0]["physicalLocation"]["region"];
        // The same place in the file: the entry's text starts on the line after its key, four
        // columns in.
        let first = text.lines().position(|l| l == "  01-sctp.yaml: |").unwrap() as u64 + 2;
        assert_eq!(region["startLine"], first + inner - 1, "{file}: {r}");
        if file == "quoted.yaml" {
            let line = text.lines().nth((first + inner - 2) as usize).unwrap();
            assert_eq!(
                region["startColumn"].as_u64(),
                Some(line.find(needle).unwrap() as u64 + 1),
                "{line}"
            );
        }
        let (_, gh) = verify(d.path(), "github", &t, false);
        let want = format!("::error file={file},line={},", first + inner - 1);
        assert!(gh.starts_with(&want), "{want} in:\n{gh}");
    }
}
