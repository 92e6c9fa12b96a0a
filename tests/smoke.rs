//! `modlayer render smoke-test`: the documentation's SCTP listener/client test as manifests that
//! run air-gapped. Judged by PyYAML and the real kubectl kustomize, by modlayer's own workload
//! analysis, and (the probe script) by the boot proof, which runs the same script on a kernel.

mod common;

use std::process::Command;

use serde_json::Value;

fn render(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = common::modlayer()
        .args(["render", "smoke-test"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn probe_script() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/probe/sctp-probe.pl"
    ))
    .unwrap()
}

#[test]
fn the_manifests_are_what_the_documentation_tests_with_nothing_installed() {
    if !common::have(common::Oracle::PyYaml) {
        return;
    }
    let (status, out, err) = render(&[
        "--namespace",
        "sctp-check",
        "--port",
        "30111",
        "--node-selector",
        "node-role.kubernetes.io/worker-rt=",
        "--network-policy",
    ]);
    assert_eq!(status, 0, "{err}");
    let docs = common::yaml11_documents(std::str::from_utf8(&out).unwrap()).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ConfigMap",
            "Pod",
            "Service",
            "Job",
            "NetworkPolicy"
        ]
    );
    assert_eq!(docs[0]["metadata"]["name"], "sctp-check");
    for d in &docs[1..] {
        assert_eq!(d["metadata"]["namespace"], "sctp-check", "{d}");
    }
    // The probe the pods run is the script the boot proof runs, byte for byte.
    let script = docs[1]["data"]["sctp-probe.pl"].as_str().unwrap();
    assert_eq!(script.as_bytes(), probe_script());
    let boot = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/boot/sctp-roundtrip.pl"
    ))
    .unwrap();
    assert_eq!(boot, probe_script());
    let pod = &docs[2]["spec"];
    let job = &docs[4]["spec"]["template"]["spec"];
    for (spec, mode) in [(pod, "server"), (job, "client")] {
        let c = &spec["containers"][0];
        assert_eq!(c["command"][0], "perl");
        assert_eq!(c["command"][2], mode);
        assert_eq!(c["ports"][0]["protocol"], "SCTP");
        assert_eq!(c["ports"][0]["containerPort"], 30111);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
        assert_eq!(
            spec["nodeSelector"]["node-role.kubernetes.io/worker-rt"],
            ""
        );
        assert_eq!(spec["volumes"][0]["configMap"]["name"], "sctp-probe");
    }
    assert_eq!(
        job["containers"][0]["command"][3],
        "sctp-server.sctp-check.svc"
    );
    assert_eq!(job["restartPolicy"], "Never");
    let svc = &docs[3]["spec"];
    assert_eq!(svc["type"], "ClusterIP");
    assert_eq!(svc["ports"][0]["protocol"], "SCTP");
    assert_eq!(svc["ports"][0]["port"], 30111);
    assert_eq!(svc["selector"], docs[2]["metadata"]["labels"]);
    let np = &docs[5]["spec"];
    assert_eq!(np["ingress"][0]["ports"][0]["protocol"], "SCTP");
    assert_eq!(
        np["ingress"][0]["from"][0]["podSelector"]["matchLabels"],
        docs[4]["spec"]["template"]["metadata"]["labels"]
    );
    // Without --network-policy there is none; defaults are the documentation's port.
    let (_, plain, _) = render(&[]);
    let docs = common::yaml11_documents(std::str::from_utf8(&plain).unwrap()).unwrap();
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[3]["spec"]["ports"][0]["port"], 30102);
}

#[test]
fn kubectl_kustomize_builds_a_folder_holding_them() {
    if !common::have(common::Oracle::Kubectl) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_, out, _) = render(&["--network-policy"]);
    std::fs::write(d.path().join("smoke.yaml"), &out).unwrap();
    std::fs::write(
        d.path().join("kustomization.yaml"),
        "resources:\n- smoke.yaml\n",
    )
    .unwrap();
    let built = Command::new(common::Oracle::Kubectl.program())
        .arg("kustomize")
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let text = String::from_utf8(built.stdout).unwrap();
    assert_eq!(
        text.matches("\nkind: ").count() + usize::from(text.starts_with("kind: ")),
        6,
        "{text}"
    );
    // And modlayer reads the folder as a kustomization: the workloads need SCTP on workers.
    let v = common::modlayer()
        .args(["verify", "--format=json"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&v.stdout).unwrap();
    let mut ids: Vec<&str> = json["targets"][0]["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["Job/sctp-smoke/sctp-client", "Pod/sctp-smoke/sctp-server"]
    );
}

#[test]
fn verify_says_where_the_smoke_test_can_pass() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("all.yaml");
    let (_, smoke, _) = render(&[]);
    let mc = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/doc-machineconfig.yaml"
    ))
    .unwrap();
    let verify = |bytes: &[u8]| {
        std::fs::write(&p, bytes).unwrap();
        common::modlayer().arg("verify").arg(&p).output().unwrap()
    };
    let alone = verify(&smoke);
    assert_eq!(alone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&alone.stdout).contains("workload-needs-module"));
    let with_mc = verify(&[smoke.as_slice(), b"---\n", &mc].concat());
    assert_eq!(
        with_mc.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with_mc.stdout)
    );
}

#[test]
fn bad_options_are_refused() {
    for args in [
        &["--namespace", "Not_A_Name"][..],
        &["--port", "0"],
        &["--port", "70000"],
        &["--node-selector", "no-equals-sign"],
    ] {
        let (status, out, err) = render(args);
        assert_eq!(status, 2, "{args:?}");
        assert!(out.is_empty() && !err.is_empty(), "{args:?}");
    }
}

#[test]
fn the_probe_fails_with_a_clear_message_or_passes() {
    let perl = std::path::Path::new("/usr/bin/perl");
    if !common::have_program_at(
        "perl",
        perl,
        std::env::var("MODLAYER_REQUIRE_ORACLES").as_deref() == Ok("1"),
    ) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/probe/sctp-probe.pl");
    let check = Command::new(perl).args(["-c", script]).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // On this machine's kernel: either SCTP works and the round trip says ok, or it says why.
    let out = Command::new(perl)
        .args([script, "roundtrip", "39999"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => assert_eq!(text, "ok\n"),
        Some(1) => assert!(
            text.starts_with("fail: socket: ") && text.contains("sctp module"),
            "{text}"
        ),
        other => panic!("exit {other:?}: {text}"),
    }
    let usage = Command::new(perl)
        .args([script, "nonsense"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&usage.stdout).starts_with("fail: usage:"));
}
