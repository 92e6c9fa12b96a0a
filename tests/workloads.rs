//! The workloads that need SCTP (issue "workloads"): a manifest set is judged as a whole: these
//! workloads need SCTP; will the nodes they can land on load it? Fixtures: testdata/workloads/
//! (the documentation's Pod, Service and NetworkPolicy, and the shapes telco manifests take).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// The stream of some fixtures (`---` between), with the documentation's worker MachineConfig
/// when `with_mc`.
fn stream(files: &[&str], with_mc: bool) -> Vec<u8> {
    let mut parts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(testdata(&format!("workloads/{f}"))).unwrap())
        .collect();
    if with_mc {
        parts.push(std::fs::read_to_string(testdata("doc-machineconfig.yaml")).unwrap());
    }
    parts.join("---\n").into_bytes()
}

fn verify(bytes: &[u8], args: &[&str]) -> (i32, Value) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("manifests.yaml");
    std::fs::write(&p, bytes).unwrap();
    let out = common::modlayer()
        .arg("verify")
        .arg("--format=json")
        .args(args)
        .arg(&p)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap(), v)
}

/// (pool, enabled, workloads named in the report, workload-needs-module messages).
fn pools(v: &Value) -> Vec<(String, bool, Vec<String>, Vec<String>)> {
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let wl = t["workloads"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|w| w["id"].as_str().unwrap().to_string())
                .collect();
            let errs = t["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == "workload-needs-module")
                .map(|f| f["message"].as_str().unwrap().to_string())
                .collect();
            (
                t["role"].as_str().unwrap_or("").to_string(),
                t["enabled"].as_bool().unwrap(),
                wl,
                errs,
            )
        })
        .collect()
}

#[test]
fn the_documentation_workloads_need_the_worker_machineconfig() {
    let (status, v) = verify(&stream(&["doc-workloads.yaml"], false), &[]);
    assert_eq!(status, 1);
    let p = pools(&v);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, "worker");
    assert_eq!(
        p[0].2,
        ["Pod/project1/example-pod", "Pod/default/sctpserver"]
    );
    assert_eq!(p[0].3.len(), 2, "{:?}", p[0].3);
    assert!(
        p[0].3[1].contains("selected by Service/default/sctpservice"),
        "{}",
        p[0].3[1]
    );
    assert!(p[0].3[0].contains("add role worker"), "{}", p[0].3[0]);
    // The NetworkPolicy selects no pod of the input: said, not an error.
    let codes: Vec<&str> = v["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"sctp-selects-nothing"), "{codes:?}");
    let (status, v) = verify(&stream(&["doc-workloads.yaml"], true), &[]);
    assert_eq!(status, 0, "{v:#}");
    assert!(pools(&v)[0].3.is_empty());
}

#[test]
fn a_workload_pinned_to_a_custom_pool_without_the_machineconfig_fails() {
    let (status, v) = verify(&stream(&["custom-pool.yaml"], true), &[]);
    assert_eq!(status, 1);
    let p = pools(&v);
    let rt = p.iter().find(|x| x.0 == "worker-rt").unwrap();
    assert!(!rt.1);
    assert_eq!(rt.2, ["Deployment/ran/du-app"]);
    assert!(
        rt.3[0].contains("pool worker-rt") && rt.3[0].contains("add role worker-rt"),
        "{}",
        rt.3[0]
    );
    let w = p.iter().find(|x| x.0 == "worker").unwrap();
    assert!(w.1 && w.2.is_empty());
}

#[test]
fn a_daemonset_tolerating_masters_needs_them_too() {
    let (status, v) = verify(&stream(&["daemonset-on-masters.yaml"], true), &[]);
    assert_eq!(status, 1);
    let p = pools(&v);
    let m = p.iter().find(|x| x.0 == "master").unwrap();
    assert!(!m.1);
    assert_eq!(m.2, ["DaemonSet/monitoring/sctp-probe"]);
    assert_eq!(m.3.len(), 1);
    // Without the toleration it stays off the masters, and workers load SCTP.
    let text = String::from_utf8(stream(&["daemonset-on-masters.yaml"], true)).unwrap();
    let untolerated = text.replace("        - key: node-role.kubernetes.io/master\n          operator: Exists\n          effect: NoSchedule\n", "        - key: example.com/other\n          operator: Exists\n");
    let (status, v) = verify(untolerated.as_bytes(), &[]);
    assert_eq!(status, 0, "{v:#}");
    assert!(pools(&v).iter().all(|x| x.0 != "master"));
}

#[test]
fn node_affinity_keeps_a_deployment_off_a_pool() {
    let (status, v) = verify(&stream(&["affinity.yaml"], true), &[]);
    assert_eq!(status, 0, "{v:#}");
    let p = pools(&v);
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].0.as_str(), p[0].2.clone()),
        ("worker", vec!["Deployment/core5g/amf".to_string()])
    );
    // Flip the affinity to In: it lands on infra only, which does not load SCTP.
    let text = String::from_utf8(stream(&["affinity.yaml"], true))
        .unwrap()
        .replace("operator: DoesNotExist", "operator: Exists");
    let (status, v) = verify(text.as_bytes(), &[]);
    assert_eq!(status, 1);
    let p = pools(&v);
    let infra = p.iter().find(|x| x.0 == "infra").unwrap();
    assert!(!infra.1 && infra.3.len() == 1);
}

#[test]
fn a_service_with_an_sctp_port_passes_it_to_the_pods_it_selects() {
    let (status, v) = verify(&stream(&["service-selects.yaml"], false), &[]);
    assert_eq!(status, 1);
    let p = pools(&v);
    assert_eq!(p[0].2, ["Deployment/core/diameter"]);
    let (status, _) = verify(&stream(&["service-selects.yaml"], true), &[]);
    assert_eq!(status, 0);
    // Another module: SCTP workloads are not its business.
    let (_, v) = verify(
        &stream(&["service-selects.yaml"], true),
        &["--module", "dccp"],
    );
    for t in v["targets"].as_array().unwrap() {
        assert!(t["workloads"].is_null(), "{t:#}");
        assert!(!t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "workload-needs-module"));
    }
}

#[test]
fn an_install_dir_with_the_machineconfig_and_the_workloads() {
    let root = testdata("install-dirs/standard");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cluster");
    for sub in ["manifests", "openshift"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::write(
        dir.join("openshift/99_sctp-workloads.yaml"),
        stream(&["doc-workloads.yaml", "daemonset-on-masters.yaml"], false),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = common::modlayer().args(args).arg(&dir).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (status, text) = run(&["verify"]);
    assert_eq!(status, 1, "{text}");
    assert!(
        text.contains("[pool master]") && text.contains("[pool worker]"),
        "{text}"
    );
    // apply writes worker only (masters do not run workloads here); the DaemonSet still fails.
    let (status, _) = run(&["apply"]);
    assert_eq!(status, 0);
    let (status, text) = run(&["verify"]);
    assert_eq!(status, 1, "{text}");
    assert!(
        text.contains("DaemonSet/monitoring/sctp-probe")
            && text.contains("may land on pool master"),
        "{text}"
    );
    let (status, _) = run(&["apply", "--role", "worker", "--role", "master"]);
    assert_eq!(status, 0);
    let (status, text) = run(&["verify"]);
    assert_eq!(status, 0, "{text}");
}
