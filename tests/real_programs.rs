//! What modlayer writes, judged by the real programs: ignition-validate, the Ignition binary
//! applying it onto an RHCOS-like root, and PyYAML reading MachineConfigs as kubectl does.

mod common;

use common::{have, Oracle};
use serde_json::{json, Value};

const BL: &str = "/etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";

fn run(args: &[&str]) -> Vec<u8> {
    match common::run_modlayer(args) {
        Ok(r) => r.stdout,
        Err(t) => panic!("{t}"),
    }
}

/// ignition-validate 2.14 reads specs up to 3.3.0 and 3.4.0-experimental (the 3.4.0 schema):
/// validate 3.4.0 output under that name. Newer specs are checked by the typed specs (unit tests).
fn validate(config: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(config).map_err(|e| e.to_string())?;
    let version = v["ignition"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = match version.as_str() {
        "3.4.0" => String::from_utf8_lossy(config).replace("\"3.4.0\"", "\"3.4.0-experimental\""),
        _ => String::from_utf8_lossy(config).into_owned(),
    };
    common::ignition_validate(text.as_bytes()).map(|_| ())
}

fn validatable(version: &str) -> bool {
    version.starts_with("3.") && version <= "3.4.0"
}

/// Apply a config with the real Ignition onto an RHCOS-like root and check that exactly the
/// layer's bytes and modes are there.
fn ignition_leaves_layer(config: &[u8]) {
    let root = common::rhcos_root();
    common::ignition_apply(config, root.path())
        .unwrap_or_else(|log| panic!("Ignition failed:\n{log}"));
    assert_eq!(common::file_at(root.path(), BL), Some((0o644, Vec::new())));
    assert_eq!(
        common::file_at(root.path(), LOAD),
        Some((0o644, b"sctp".to_vec()))
    );
    let files = common::root_files(root.path());
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        vec![BL, LOAD],
        "unexpected files: {files:?}"
    );
}

#[test]
fn render_ignition_every_spec_is_valid_and_applies() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    for v in ["3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0"] {
        let out = run(&["render", "ignition", "--ignition-version", v]);
        let parsed: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["ignition"]["version"], v);
        validate(&out).unwrap_or_else(|e| panic!("{v}: {e}"));
        if v <= "3.3.0" {
            ignition_leaves_layer(&out);
        }
    }
}

#[test]
fn render_machineconfig_read_by_pyyaml_is_valid() {
    if !have(Oracle::PyYaml) || !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    for (args, specs) in [
        (
            vec!["--role", "worker", "--role", "master"],
            vec!["3.2.0", "3.2.0"],
        ),
        (vec!["--openshift-version", "4.6"], vec!["3.1.0"]),
        (vec!["--openshift-version", "4.14"], vec!["3.4.0"]),
        (vec!["--openshift-version", "4.19"], vec!["3.5.0"]),
        (vec!["--ignition-version", "3.0.0"], vec!["3.0.0"]),
        (vec!["--ignition-version", "3.3.0"], vec!["3.3.0"]),
    ] {
        let mut full = vec!["render", "machineconfig"];
        full.extend(&args);
        let out = run(&full);
        let docs = common::yaml11_documents(&String::from_utf8_lossy(&out)).unwrap();
        assert_eq!(docs.len(), specs.len(), "{args:?}");
        for (doc, spec) in docs.iter().zip(&specs) {
            assert_eq!(doc["kind"], "MachineConfig");
            let role = doc["metadata"]["labels"]["machineconfiguration.openshift.io/role"]
                .as_str()
                .unwrap();
            assert_eq!(doc["metadata"]["name"], format!("load-sctp-module-{role}"));
            let config = &doc["spec"]["config"];
            assert_eq!(config["ignition"]["version"], *spec, "{args:?}");
            for f in config["storage"]["files"].as_array().unwrap() {
                assert_eq!(f["mode"], json!(420), "{args:?}: PyYAML must read mode 420");
                assert_eq!(f["overwrite"], json!(true));
            }
            let bytes = serde_json::to_vec(config).unwrap();
            if validatable(spec) {
                validate(&bytes).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            }
            if spec <= &"3.3.0" {
                ignition_leaves_layer(&bytes);
            }
        }
    }
}

#[test]
fn render_refuses_a_spec_the_release_cannot_read() {
    let r = common::run_modlayer([
        "render",
        "machineconfig",
        "--openshift-version",
        "4.12",
        "--ignition-version",
        "3.4.0",
    ]);
    let t = r.expect_err("4.12 cannot read 3.4.0");
    assert!(t.contains("[exit status: 2]"), "{t}");
    assert!(t.contains("cannot read Ignition spec 3.4.0"), "{t}");
}

#[test]
fn render_machineconfig_2_2_is_the_telco_shape() {
    if !have(Oracle::PyYaml) {
        return;
    }
    let out = run(&["render", "machineconfig", "--ignition-version", "2.2.0"]);
    let docs = common::yaml11_documents(&String::from_utf8_lossy(&out)).unwrap();
    let files = docs[0]["spec"]["config"]["storage"]["files"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(files[0]["filesystem"], "root");
    assert_eq!(files[1]["contents"]["source"], "data:,sctp");
    assert_eq!(files[1]["mode"], 420);
    // And modlayer itself verifies what it wrote.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mc.yaml");
    std::fs::write(&p, &out).unwrap();
    common::run_modlayer(["verify", "--strict", p.to_str().unwrap()]).unwrap();
}

fn bootstrap_like() -> Value {
    // Shaped like an installer bootstrap.ign: users, systemd units, many files, a big base64 blob.
    let blob = "QUJD".repeat(2000);
    json!({
        "ignition": {"version": "3.2.0"},
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAA test"]}]},
        "storage": {"files": [
            {"path": "/opt/openshift/manifests/cluster-config.yaml", "contents": {"source": format!("data:text/plain;charset=utf-8;base64,{blob}")}, "mode": 420, "overwrite": true},
            {"path": "/etc/motd", "contents": {"source": "data:,hello%20%3C%3E%26"}, "mode": 420},
        ]},
        "systemd": {"units": [{"name": "bootkube.service", "enabled": true, "contents": "[Unit]\nDescription=x <&>\n"}]}
    })
}

#[test]
fn apply_output_is_valid_applies_and_differs_only_by_the_layer() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("compact.ign", serde_json::to_string(&bootstrap_like()).unwrap()),
        ("pretty.ign", serde_json::to_string_pretty(&bootstrap_like()).unwrap() + "\n"),
        // Go's encoder escapes <, > and & as \u003c…: those bytes must survive untouched.
        ("go-escaped.ign", serde_json::to_string(&bootstrap_like()).unwrap().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")),
        ("empty.ign", "{\"ignition\":{\"version\":\"3.3.0\"}}".to_string()),
        ("replace.ign", serde_json::to_string(&json!({"ignition": {"version": "3.1.0"}, "storage": {"files": [
            {"path": LOAD, "contents": {"source": "data:,sctp%0A"}, "mode": 420, "overwrite": true}]}})).unwrap()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &text).unwrap();
        let out = run(&["apply", p.to_str().unwrap()]);
        validate(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every byte of the input that is not a layer entry is still there, in order.
        let before: Value = serde_json::from_str(&text).unwrap();
        let mut after: Value = serde_json::from_slice(&out).unwrap();
        let files = after["storage"]["files"].as_array_mut().unwrap();
        files.retain(|f| f["path"] != BL && f["path"] != LOAD);
        let mut before_rest = before.clone();
        if let Some(f) = before_rest.pointer_mut("/storage/files").and_then(Value::as_array_mut) {
            f.retain(|f| f["path"] != BL && f["path"] != LOAD);
        }
        if before.get("storage").is_none() {
            after.as_object_mut().unwrap().remove("storage");
        }
        assert_eq!(after, before_rest, "{name}");
        if name != "replace.ign" {
            // A pure insertion: the input is a prefix and a suffix of the output, and what lies
            // between is exactly the layer's entries.
            let (a, b) = (text.as_bytes(), out.as_slice());
            let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            let s = a[p..].iter().rev().zip(b[p..].iter().rev()).take_while(|(x, y)| x == y).count();
            assert_eq!(p + s, a.len(), "{name}: bytes of the input were changed");
            let inserted = String::from_utf8_lossy(&b[p..b.len() - s]).into_owned();
            assert!(inserted.contains(BL) && inserted.contains(LOAD), "{name}: {inserted}");
            assert_eq!(inserted.matches("\"path\"").count(), 2, "{name}: {inserted}");
        }
        // The real Ignition writes exactly the layer's bytes over the shipped blacklist.
        let root = common::rhcos_root();
        common::ignition_apply(&out, root.path()).unwrap_or_else(|l| panic!("{name}: {l}"));
        assert_eq!(common::file_at(root.path(), BL), Some((0o644, Vec::new())), "{name}");
        assert_eq!(common::file_at(root.path(), LOAD), Some((0o644, b"sctp".to_vec())), "{name}");
        // Applying again is byte-identical.
        let p2 = dir.path().join(format!("again-{name}"));
        std::fs::write(&p2, &out).unwrap();
        assert_eq!(run(&["apply", p2.to_str().unwrap()]), out, "{name}");
    }
}

#[test]
fn apply_machineconfig_output_read_by_pyyaml_is_valid() {
    if !have(Oracle::PyYaml) || !have(Oracle::IgnitionValidate) {
        return;
    }
    let input = "# GitOps-managed\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: sctp-test  # keep\n---\napiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: 50-worker-chrony\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n    storage:\n      files:\n      - path: /etc/chrony.conf\n        mode: 0644\n        overwrite: true\n        contents:\n          source: data:,pool%20ntp\n  kernelArguments:\n  - nosmt\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mc.yaml");
    std::fs::write(&p, input).unwrap();
    let out = run(&["apply", p.to_str().unwrap()]);
    let text = String::from_utf8(out.clone()).unwrap();
    // The other document is kept byte for byte, comments included.
    assert!(text.starts_with("# GitOps-managed\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: sctp-test  # keep\n---\n"), "{text}");
    let docs = common::yaml11_documents(&text).unwrap();
    assert_eq!(docs.len(), 2);
    let config = &docs[1]["spec"]["config"];
    let files = config["storage"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["path"], "/etc/chrony.conf");
    assert_eq!(files[0]["mode"], 420);
    assert_eq!(docs[1]["spec"]["kernelArguments"], json!(["nosmt"]));
    validate(&serde_json::to_vec(config).unwrap()).unwrap();
    std::fs::write(&p, &out).unwrap();
    assert_eq!(run(&["apply", p.to_str().unwrap()]), out, "apply twice");
    common::run_modlayer(["verify", "--strict", p.to_str().unwrap()]).unwrap();
}
