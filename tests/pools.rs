//! One pool semantics for every source of MachineConfigs: the same documents judged as one
//! multi-document file and as the manifests of an install directory give the same verdict, pool
//! by pool (issue "Architecture"), and the pool rule decides which pools are judged.

mod common;

use std::path::Path;

use serde_json::Value;

/// Every manifest of an install-dir fixture, plus the extras (custom pool, re-blacklisting and
/// unlabelled MachineConfigs), as (relative name, text).
fn manifests(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for sub in ["manifests", "openshift"] {
        let mut names: Vec<_> = std::fs::read_dir(root.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for n in names {
            out.push((
                format!("{sub}/{n}"),
                std::fs::read_to_string(root.join(sub).join(&n)).unwrap(),
            ));
        }
    }
    out
}

/// The part of a report that must not depend on where the documents came from: the pool, the
/// verdict, each layer file's status and hashes, each finding's severity and code (but
/// `objects-ignored`, which says what else was read: files that cannot hold a MachineConfig are
/// not parsed, a stream is parsed whole).
fn shape(report: &Value) -> Vec<(String, bool, Vec<String>, Vec<String>)> {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let files = t["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    format!(
                        "{} {} {} {}",
                        f["path"], f["status"], f["expected_sha256"], f["actual_sha256"]
                    )
                })
                .collect();
            let mut findings: Vec<String> = t["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] != "objects-ignored")
                .map(|f| format!("{} {}", f["severity"], f["code"]))
                .collect();
            findings.sort();
            (
                t["role"].as_str().unwrap_or("").to_string(),
                t["enabled"].as_bool().unwrap(),
                files,
                findings,
            )
        })
        .collect()
}

fn verify_json(args: &[&str]) -> (i32, Value) {
    let out = common::modlayer()
        .arg("verify")
        .arg("--format=json")
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap(), v)
}

fn fixture(extras: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/install-dirs");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cluster");
    for sub in ["manifests", "openshift"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(root.join("standard").join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
        }
    }
    for x in extras {
        std::fs::copy(root.join("extras").join(x), dir.join("openshift").join(x)).unwrap();
    }
    let stream: Vec<String> = manifests(&dir)
        .into_iter()
        .map(|(_, text)| text.trim_start_matches("---\n").to_string())
        .collect();
    let file = tmp.path().join("stream.yaml");
    std::fs::write(&file, stream.join("\n---\n")).unwrap();
    (tmp, dir, file)
}

#[test]
fn a_stream_and_an_install_dir_render_the_same_pools() {
    let layer_mc = common::modlayer()
        .args([
            "render",
            "machineconfig",
            "--role",
            "worker",
            "--role",
            "infra",
        ])
        .output()
        .unwrap();
    assert!(layer_mc.status.success());
    for (extras, with_layer) in [
        (
            vec![
                "infra-machineconfigpool.yaml",
                "99_openshift-machineconfig_00-infra-chrony.yaml",
            ],
            true,
        ),
        (
            vec![
                "infra-machineconfigpool.yaml",
                "99_openshift-machineconfig_restore-sctp-blacklist.yaml",
            ],
            true,
        ),
        (
            vec!["99_openshift-machineconfig_50-sctp-install-true.yaml"],
            true,
        ),
        (vec!["infra-machineconfigpool.yaml"], false),
    ] {
        let (_tmp, dir, file) = fixture(&extras);
        if with_layer {
            std::fs::write(dir.join("openshift/load-sctp.yaml"), &layer_mc.stdout).unwrap();
            let mut text = std::fs::read(&file).unwrap();
            text.extend_from_slice(b"\n---\n");
            text.extend_from_slice(&layer_mc.stdout);
            std::fs::write(&file, text).unwrap();
        }
        for choice in [vec!["--all-pools"], vec![]] {
            let mut a = choice.clone();
            a.push(dir.to_str().unwrap());
            let mut b = choice.clone();
            b.push(file.to_str().unwrap());
            let (dir_status, dir_report) = verify_json(&a);
            let (file_status, file_report) = verify_json(&b);
            assert_eq!(dir_status, file_status, "{extras:?} {choice:?}");
            assert_eq!(
                shape(&dir_report),
                shape(&file_report),
                "{extras:?} {choice:?}"
            );
            let pools: Vec<String> = shape(&dir_report).into_iter().map(|s| s.0).collect();
            if choice.is_empty() {
                // The pool rule: the pools some MachineConfig tries to enable SCTP on, else worker.
                // (infra is a declared pool, or assumed from the layer's role label).
                let want: &[&str] = if with_layer {
                    &["worker", "infra"]
                } else {
                    &["worker"]
                };
                assert_eq!(pools, want, "{extras:?}");
            } else {
                assert_eq!(pools, ["master", "worker", "infra"], "{extras:?}");
            }
        }
    }
}

#[test]
fn pools_not_judged_are_info_and_do_not_change_the_exit_status() {
    let (_tmp, dir, _) = fixture(&[]);
    let mc = common::modlayer()
        .args(["render", "machineconfig"])
        .output()
        .unwrap();
    std::fs::write(dir.join("openshift/load-sctp.yaml"), &mc.stdout).unwrap();
    let (status, report) = verify_json(&[dir.to_str().unwrap()]);
    assert_eq!(status, 0, "{report:#}");
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["role"], "worker");
    let note = targets[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "pool-not-judged")
        .unwrap();
    assert_eq!(note["severity"], "info");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .starts_with("pool master: not judged"),
        "{note}"
    );
    // Asked for, master is judged and fails.
    let (status, _) = verify_json(&["--role", "master", dir.to_str().unwrap()]);
    assert_eq!(status, 1);
    let (status, _) = verify_json(&["--all-pools", dir.to_str().unwrap()]);
    assert_eq!(status, 1);
}

#[test]
fn apply_then_verify_passes_on_standard_compact_and_custom_pool_install_dirs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/install-dirs");
    for (name, extras, judged, not_judged) in [
        ("standard", vec![], vec!["worker"], vec!["master"]),
        // Compute replicas 0: the worker pool has no nodes, so only master is judged (issue 21).
        ("compact", vec![], vec!["master"], vec!["worker"]),
        (
            "standard",
            vec!["infra-machineconfigpool.yaml"],
            vec!["worker", "infra"],
            vec!["master"],
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cluster");
        for sub in ["manifests", "openshift"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            for e in std::fs::read_dir(root.join(name).join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
            }
        }
        for x in &extras {
            std::fs::copy(root.join("extras").join(x), dir.join("openshift").join(x)).unwrap();
        }
        let applied = common::modlayer()
            .args(["apply", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            applied.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&applied.stderr)
        );
        let (status, report) = verify_json(&[dir.to_str().unwrap()]);
        assert_eq!(status, 0, "{name} {extras:?}: {report:#}");
        let pools: Vec<String> = shape(&report).into_iter().map(|s| s.0).collect();
        assert_eq!(pools, judged, "{name} {extras:?}");
        let notes: Vec<String> = report["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "pool-not-judged")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(notes.len(), not_judged.len(), "{name}: {notes:?}");
        for (n, pool) in notes.iter().zip(&not_judged) {
            assert!(n.starts_with(&format!("pool {pool}: not judged")), "{n}");
        }
        // In text, the info lines name them with -v.
        let text = common::modlayer()
            .args(["verify", "-v", dir.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        for pool in &not_judged {
            assert!(
                text.contains(&format!("info[pool-not-judged]: pool {pool}: not judged")),
                "{text}"
            );
        }
    }
}
