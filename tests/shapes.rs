//! Every input shape users have (issue "inputs"): `oc get mc -o yaml|json` Lists, kustomize
//! output streams, ZTP ConfigMaps carrying MachineConfigs, folders of manifests, kustomization
//! folders (built by the real kubectl), must-gather and Insights dumps, rendered MachineConfigs;
//! each with its negative twin, from a file and from standard input, and bad input in each shape.
//! Fixtures: testdata/shapes/ (written from the documented formats).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn shapes(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/shapes")
        .join(rel)
}

struct Ran {
    status: i32,
    json: Value,
    stderr: String,
}

fn verify(args: &[&str], stdin: Option<&[u8]>) -> Ran {
    let mut cmd = common::modlayer();
    cmd.arg("verify").arg("--format=json").args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Ran {
        status: out.status.code().unwrap(),
        json: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// (pool, enabled) of each report, and every finding code.
fn verdicts(r: &Ran) -> (Vec<(String, bool)>, Vec<String>) {
    let targets = r.json["targets"].as_array().cloned().unwrap_or_default();
    let pools = targets
        .iter()
        .map(|t| {
            (
                t["role"].as_str().unwrap_or("").to_string(),
                t["enabled"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let codes = targets
        .iter()
        .flat_map(|t| t["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect();
    (pools, codes)
}

struct Case {
    target: &'static str,
    kind: &'static str,
    status: i32,
    pools: &'static [(&'static str, bool)],
    codes: &'static [&'static str],
}

const CASES: &[Case] = &[
    // oc get mc -o yaml: a List with the installer's, the user's and rendered MachineConfigs.
    Case {
        target: "oc-get-mc.yaml",
        kind: "machineconfig",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed", "pool-not-judged"],
    },
    Case {
        target: "oc-get-mc.json",
        kind: "machineconfig",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed"],
    },
    // The twin: a later-named MachineConfig in the List puts the blacklist back.
    Case {
        target: "oc-get-mc-reblacklisted.yaml",
        kind: "machineconfig",
        status: 1,
        pools: &[("worker", false)],
        codes: &["module-blacklisted"],
    },
    // oc get mc,mcp -o yaml: the pools' status names what nodes run.
    Case {
        target: "oc-get-mc-mcp.yaml",
        kind: "machineconfig",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed"],
    },
    // One rendered MachineConfig: that pool's full state.
    Case {
        target: "rendered-worker.yaml",
        kind: "machineconfig",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed"],
    },
    // kustomize build output: mixed kinds, a custom pool.
    Case {
        target: "kustomize-build.yaml",
        kind: "machineconfig",
        status: 0,
        pools: &[("worker", true), ("infra", true)],
        codes: &["objects-ignored"],
    },
    Case {
        target: "kustomize-build-reblacklisted.yaml",
        kind: "machineconfig",
        status: 1,
        pools: &[("worker", false), ("infra", true)],
        codes: &["module-blacklisted"],
    },
    // ZTP: MachineConfigs carried in a ConfigMap's data.
    Case {
        target: "ztp-extra-manifests.yaml",
        kind: "machineconfig",
        status: 0,
        pools: &[("master", true)],
        codes: &["module-listed"],
    },
    Case {
        target: "ztp-extra-manifests-reblacklisted.yaml",
        kind: "machineconfig",
        status: 1,
        pools: &[("master", false)],
        codes: &["module-blacklisted"],
    },
    // must-gather: each pool's rendered config is the truth.
    Case {
        target: "must-gather",
        kind: "manifests",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed"],
    },
    // The twin: a rollout not yet done (nodes still run the old rendered config).
    Case {
        target: "must-gather-rollout",
        kind: "manifests",
        status: 1,
        pools: &[("worker", false)],
        codes: &["rollout-pending", "module-blacklisted"],
    },
    // Insights: config/machineconfigs/*.json and config/machineconfigpools/*.json.
    Case {
        target: "insights",
        kind: "manifests",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed"],
    },
    // A GitOps folder of manifests, any depth, other files beside.
    Case {
        target: "gitops",
        kind: "manifests",
        status: 0,
        pools: &[("worker", true)],
        codes: &["module-listed"],
    },
];

#[test]
fn every_shape_gets_its_verdict() {
    let mut failures = Vec::new();
    for c in CASES {
        let path = shapes(c.target);
        let r = verify(&[path.to_str().unwrap()], None);
        let (pools, codes) = verdicts(&r);
        let want: Vec<(String, bool)> = c.pools.iter().map(|(p, e)| (p.to_string(), *e)).collect();
        let kind = r.json["targets"][0]["kind"].as_str().unwrap_or("");
        if r.status != c.status || pools != want || kind != c.kind {
            failures.push(format!(
                "{}: exit {} kind {kind} pools {pools:?}, want exit {} kind {} pools {want:?}; {}",
                c.target, r.status, c.status, c.kind, r.stderr
            ));
        }
        for code in c.codes {
            if !codes.iter().any(|x| x == code) {
                failures.push(format!("{}: no {code} in {codes:?}", c.target));
            }
        }
        // Never a role-label error for rendered configs, which have none.
        if codes.iter().any(|x| x == "machineconfig-no-role") {
            failures.push(format!(
                "{}: rendered configs reported as unlabelled",
                c.target
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn standard_input_takes_every_file_shape() {
    for c in CASES.iter().filter(|c| c.kind == "machineconfig") {
        let bytes = std::fs::read(shapes(c.target)).unwrap();
        let from_file = verify(&[shapes(c.target).to_str().unwrap()], None);
        let from_stdin = verify(&["-"], Some(&bytes));
        assert_eq!(
            from_stdin.status, from_file.status,
            "{}: {}",
            c.target, from_stdin.stderr
        );
        assert_eq!(
            verdicts(&from_stdin).0,
            verdicts(&from_file).0,
            "{}",
            c.target
        );
        assert_eq!(from_stdin.json["targets"][0]["target"], "<stdin>");
    }
}

#[test]
fn a_rollout_not_done_reports_both_renders() {
    let r = verify(&[shapes("must-gather-rollout").to_str().unwrap()], None);
    let f = r.json["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "rollout-pending")
        .cloned()
        .unwrap();
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("rendered-worker-1a2b3c4d5e6f708192a3b4c5d6e7f801")
            && m.contains("sctp NOT enabled")
            && m.contains("source MachineConfigs render sctp enabled"),
        "{m}"
    );
    // Where the rollout is done there is nothing to report.
    let done = verify(&[shapes("must-gather").to_str().unwrap()], None);
    assert!(!verdicts(&done).1.iter().any(|c| c == "rollout-pending"));
}

#[test]
fn kustomization_folders_are_built_by_kubectl() {
    if !common::have(common::Oracle::Kubectl) {
        return;
    }
    let dir = shapes("kustomization");
    let r = verify(&["-v", dir.to_str().unwrap()], None);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let (pools, codes) = verdicts(&r);
    assert_eq!(
        pools,
        [("worker".to_string(), true), ("infra".to_string(), true)]
    );
    assert!(codes.iter().any(|c| c == "kustomize-built"), "{codes:?}");
    let built = r.json["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "kustomize-built")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(built.contains("kustomize"), "{built}");
    // What kubectl itself prints, piped in, gets the same verdict.
    let out = Command::new(common::Oracle::Kubectl.program())
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let piped = verify(&["-"], Some(&out.stdout));
    assert_eq!(verdicts(&piped).0, pools);
}

#[test]
fn a_kustomization_without_kustomize_says_how_to_pipe() {
    let empty = tempfile::tempdir().unwrap();
    let out = common::modlayer()
        .env("PATH", empty.path())
        .args(["verify", shapes("kustomization").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kustomize build") && err.contains("modlayer verify -"),
        "{err}"
    );
}

#[test]
fn a_directory_that_is_nothing_says_what_was_looked_for() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("notes.txt"), "x").unwrap();
    let out = common::modlayer()
        .args(["verify", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for looked in ["etc/", "install-config.yaml", "oci-layout", "*.yaml"] {
        assert!(err.contains(looked), "{looked}: {err}");
    }
}

/// A copy of a fixture (file or folder) in a temporary directory.
fn copy(rel: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy_tree(from: &Path, to: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(to).unwrap();
            for e in std::fs::read_dir(from).unwrap() {
                let e = e.unwrap();
                copy_tree(&e.path(), &to.join(e.file_name()));
            }
        } else {
            std::fs::copy(from, to).unwrap();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join(Path::new(rel).file_name().unwrap());
    copy_tree(&shapes(rel), &to);
    (tmp, to)
}

fn tree_bytes(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if p.is_dir() {
        let mut es: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        es.sort();
        for e in es {
            out.extend(tree_bytes(&e));
        }
    } else {
        out.push((p.to_path_buf(), std::fs::read(p).unwrap()));
    }
    out
}

#[test]
fn apply_refuses_what_is_not_a_source_and_changes_nothing() {
    for (rel, says) in [
        ("rendered-worker.yaml", "rendered by the MCO"),
        ("oc-get-mc.yaml", "item of a List"),
        ("must-gather", "cluster dump"),
        ("kustomization", "KRM function"),
    ] {
        let (_tmp, p) = copy(rel);
        let before = tree_bytes(&p);
        let out = common::modlayer()
            .args(["apply", "--in-place", p.to_str().unwrap()])
            .output()
            .unwrap();
        let out = if rel == "must-gather" || rel == "kustomization" {
            common::modlayer()
                .args(["apply", p.to_str().unwrap()])
                .output()
                .unwrap()
        } else {
            out
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rel}: {err}");
        assert!(err.contains(says), "{rel}: {err}");
        assert_eq!(tree_bytes(&p), before, "{rel} changed");
    }
}

#[test]
fn apply_to_a_gitops_folder_writes_one_machineconfig_and_verifies() {
    let (_tmp, dir) = copy("gitops");
    let held = dir.join("clusters/site-a/machineconfigs/load-sctp-module-worker.yaml");
    std::fs::remove_file(&held).unwrap();
    // No MachineConfig yet, and the folder's Deployment needs SCTP on workers.
    let before = verify(&[dir.to_str().unwrap()], None);
    assert_eq!(before.status, 1, "{}", before.stderr);
    assert!(verdicts(&before)
        .1
        .iter()
        .any(|c| c == "workload-needs-module"));
    let out = common::modlayer()
        .args(["apply", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = dir.join("load-sctp-module-worker.yaml");
    let rendered = common::modlayer()
        .args(["render", "machineconfig"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(std::fs::read(&written).unwrap(), rendered);
    assert_eq!(verify(&[dir.to_str().unwrap()], None).status, 0);
    // Twice: nothing changes.
    let snapshot = tree_bytes(&dir);
    let out = common::modlayer()
        .args(["apply", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(tree_bytes(&dir), snapshot);
    // A folder already holding the MachineConfig (with a different mode) gets it patched where it is.
    let (_tmp2, dir2) = copy("gitops");
    let held2 = dir2.join("clusters/site-a/machineconfigs/load-sctp-module-worker.yaml");
    let text = std::fs::read_to_string(&held2).unwrap();
    std::fs::write(&held2, text.replacen("mode: 420", "mode: 384", 1)).unwrap();
    assert_eq!(
        verify(&["--strict", dir2.to_str().unwrap()], None).status,
        1
    );
    let out = common::modlayer()
        .args(["apply", dir2.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir2.join("load-sctp-module-worker.yaml").exists());
    assert!(std::fs::read_to_string(&held2)
        .unwrap()
        .starts_with("# SCTP for the RAN workloads"));
    assert_eq!(
        verify(&["--strict", dir2.to_str().unwrap()], None).status,
        0
    );
}

#[test]
fn bad_input_in_each_shape_names_the_file_and_line() {
    // A List with a quoted mode in one item.
    let list = std::fs::read_to_string(shapes("oc-get-mc.yaml")).unwrap();
    let bad_list = list.replacen("mode: 420", "mode: '0644'", 1);
    // A ZTP ConfigMap whose carried MachineConfig has a broken line.
    let ztp = std::fs::read_to_string(shapes("ztp-extra-manifests.yaml")).unwrap();
    let bad_ztp = ztp.replacen(
        "      name: load-sctp-module-master",
        "      name: [load-sctp",
        1,
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("list.yaml", bad_list, "list.yaml:"),
        // (the place is the line in the carried manifest, after the data key naming it)
        (
            "ztp.yaml",
            bad_ztp,
            "ztp.yaml > ConfigMap ztp-site/sno-extra-manifests > data.01-load-sctp-module.yaml:5:",
        ),
    ];
    for (name, text, place) in cases {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, &text).unwrap();
        let r = verify(&[p.to_str().unwrap()], None);
        assert_eq!(r.status, 2, "{name}: {}", r.stderr);
        let said = r.json["targets"][0]["findings"][0]["message"].to_string();
        assert!(said.contains(place), "{name}: want {place:?} in {said}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    }
    // A folder with one broken file: the file is named relative to the folder, with its line.
    let (_tmp, dir) = copy("gitops");
    let f = dir.join("clusters/site-a/machineconfigs/load-sctp-module-worker.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replacen("kind: MachineConfig", "kind: MachineConfig\n  bad: [", 1),
    )
    .unwrap();
    let r = verify(&[dir.to_str().unwrap()], None);
    assert_eq!(r.status, 2, "{}", r.stderr);
    let said = r.json["targets"][0]["findings"][0]["message"].to_string();
    assert!(
        said.contains("clusters/site-a/machineconfigs/load-sctp-module-worker.yaml:4:"),
        "{said}"
    );
}

#[test]
fn must_gather_and_insights_archives_are_read_like_their_folders() {
    let d = tempfile::tempdir().unwrap();
    let pack = |name: &str, dir: &str, what: &str| {
        let out = d.path().join(name);
        let ok = Command::new("tar")
            .arg("-C")
            .arg(shapes(dir))
            .arg("-czf")
            .arg(&out)
            .arg(what)
            .status()
            .unwrap();
        assert!(ok.success());
        out
    };
    for (archive, folder) in [
        (
            pack(
                "mg.tar.gz",
                "must-gather",
                "must-gather.local.5117284935921345821",
            ),
            "must-gather",
        ),
        (
            pack("mgr.tar.gz", "must-gather-rollout", "."),
            "must-gather-rollout",
        ),
        (pack("insights.tar.gz", "insights", "config"), "insights"),
    ] {
        let a = verify(&[archive.to_str().unwrap()], None);
        let f = verify(&[shapes(folder).to_str().unwrap()], None);
        assert_eq!(a.status, f.status, "{folder}: {}", a.stderr);
        assert_eq!(verdicts(&a), verdicts(&f), "{folder}");
        assert_eq!(a.json["targets"][0]["kind"], "manifests");
        let before = std::fs::read(&archive).unwrap();
        let out = common::modlayer()
            .args(["apply", "--in-place", archive.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cluster dump"));
        assert_eq!(std::fs::read(&archive).unwrap(), before);
    }
}
