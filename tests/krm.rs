//! `modlayer krm`: the KRM function on the specification's ResourceList shape, checked with our
//! YAML reader and PyYAML.

mod common;

use std::path::Path;

use modlayer::formats::yaml;
use modlayer::ignition::Spec;
use modlayer::krm;
use modlayer::layer::Layer;
use modlayer::mco::render::layer_machineconfig;
use serde_json::{json, Value};

fn testdata(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/krm")
            .join(rel),
    )
    .unwrap()
}

/// Run the function: (output bytes, exit status).
fn run(input: &[u8]) -> (Vec<u8>, i32) {
    let mut out = Vec::new();
    let status = krm::run(&mut &input[..], &mut out).unwrap();
    (out, status)
}

/// Parse an output ResourceList with our reader and, when available, PyYAML (they must agree).
fn parse(out: &[u8]) -> Value {
    let text = std::str::from_utf8(out).unwrap();
    let docs = yaml::parse_documents(text).unwrap();
    assert_eq!(docs.len(), 1, "{text}");
    let v = docs[0].value.clone();
    if common::have(common::Oracle::PyYaml) {
        let py = common::yaml11_documents(text).unwrap();
        assert_eq!(py, vec![v.clone()], "PyYAML reads the output differently");
    }
    v
}

fn input_items() -> Vec<Value> {
    let text = String::from_utf8(testdata("resourcelist.yaml")).unwrap();
    yaml::parse_documents(&text).unwrap()[0].value["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The MachineConfig `render machineconfig --role R` makes, as the function writes it: with the
/// managed-by label that marks it as the function's own.
fn layer_mc(role: &str, spec: &str) -> Value {
    let mut mc = layer_machineconfig(
        &Layer::builtin("sctp").unwrap(),
        role,
        &format!("load-sctp-module-{role}"),
        Spec::parse(spec).unwrap(),
    );
    mc["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("modlayer");
    mc
}

fn without_annotations(mut v: Value) -> Value {
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("annotations");
    }
    v
}

fn results(v: &Value) -> Vec<(String, String)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["severity"].as_str().unwrap().to_string(),
                r["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn spec_example_gets_a_machineconfig_and_keeps_its_items() {
    let (out, status) = run(&testdata("resourcelist.yaml"));
    let v = parse(&out);
    assert_eq!(status, 0, "{}", String::from_utf8_lossy(&out));
    assert_eq!(v["apiVersion"], "config.kubernetes.io/v1");
    assert_eq!(v["kind"], "ResourceList");
    let items = v["items"].as_array().unwrap();
    let original = input_items();
    assert_eq!(items.len(), original.len() + 1);
    assert_eq!(&items[..original.len()], &original[..]);
    let added = &items[original.len()];
    assert_eq!(
        without_annotations(added.clone()),
        layer_mc("worker", "3.2.0")
    );
    let ann = &added["metadata"]["annotations"];
    assert_eq!(
        ann["config.kubernetes.io/path"],
        "load-sctp-module-worker.yaml"
    );
    assert_eq!(
        ann["internal.config.kubernetes.io/path"],
        "load-sctp-module-worker.yaml"
    );
    assert_eq!(ann["config.kubernetes.io/index"], "0");
    // functionConfig passed through, results say what each pool boots with.
    assert_eq!(v["functionConfig"]["kind"], "ModuleLayer");
    let r = results(&v);
    assert!(
        r.iter().any(|(s, m)| s == "info"
            && m.starts_with("pool worker: sctp will be loaded at boot")
            && m.contains("MachineConfig load-sctp-module-worker")),
        "{r:?}"
    );
    assert!(r.iter().all(|(s, _)| s != "error"), "{r:?}");
    let mc_result = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resourceRef"]["name"] == "load-sctp-module-worker")
        .unwrap();
    assert_eq!(
        mc_result["resourceRef"],
        json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig", "name": "load-sctp-module-worker"})
    );
}

#[test]
fn running_twice_and_on_its_own_output_gives_the_same_bytes() {
    let input = testdata("resourcelist.yaml");
    let (a, _) = run(&input);
    let (b, _) = run(&input);
    assert_eq!(a, b);
    let (c, status) = run(&a);
    assert_eq!(status, 0);
    assert_eq!(String::from_utf8(c).unwrap(), String::from_utf8(a).unwrap());
}

#[test]
fn json_input_is_read() {
    let text = String::from_utf8(testdata("resourcelist.yaml")).unwrap();
    let v = yaml::parse_documents(&text).unwrap()[0].value.clone();
    let (from_json, _) = run(&serde_json::to_vec(&v).unwrap());
    let (from_yaml, _) = run(text.as_bytes());
    // The same ResourceList; from YAML the items keep their text, from JSON they are written anew.
    assert_eq!(parse(&from_json), parse(&from_yaml));
    assert!(String::from_utf8(from_yaml)
        .unwrap()
        .contains("spec: # Example comment"));
}

fn with_config(fc: Value, extra_items: Vec<Value>) -> Vec<u8> {
    let mut items = input_items();
    items.extend(extra_items);
    serde_json::to_vec(&json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
        "functionConfig": fc,
    }))
    .unwrap()
}

#[test]
fn configmap_with_two_roles_gives_two_machineconfigs() {
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fn"},
        "data": {"roles": "worker,master", "openshiftVersion": "4.14"}});
    let (out, status) = run(&with_config(fc, vec![]));
    let v = parse(&out);
    assert_eq!(status, 0, "{:?}", results(&v));
    let items = v["items"].as_array().unwrap();
    let mcs: Vec<Value> = items[input_items().len()..]
        .iter()
        .cloned()
        .map(without_annotations)
        .collect();
    assert_eq!(
        mcs,
        [layer_mc("worker", "3.4.0"), layer_mc("master", "3.4.0")]
    );
    let r = results(&v);
    assert!(
        r.iter()
            .any(|(_, m)| m.starts_with("pool master: sctp will be loaded")),
        "{r:?}"
    );
}

#[test]
fn module_layer_kind_config_and_replacement() {
    // An existing, outdated item of the same name is replaced where it stands, keeping its path.
    let mut old = layer_mc("worker", "3.2.0");
    old["spec"]["config"]["storage"]["files"][1]["contents"]["source"] = json!("data:,sctp%0A");
    old["metadata"]["annotations"] = json!({"internal.config.kubernetes.io/path": "mc/sctp.yaml"});
    let fc = json!({"apiVersion": "modlayer.dev/v1alpha1", "kind": "ModuleLayer",
        "metadata": {"name": "fn"}, "spec": {"roles": ["worker"]}});
    let (out, status) = run(&with_config(fc, vec![old]));
    let v = parse(&out);
    assert_eq!(status, 0, "{:?}", results(&v));
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), input_items().len() + 1);
    let replaced = items.last().unwrap();
    assert_eq!(
        replaced["metadata"]["annotations"],
        json!({"internal.config.kubernetes.io/path": "mc/sctp.yaml"})
    );
    assert_eq!(
        without_annotations(replaced.clone()),
        layer_mc("worker", "3.2.0")
    );
}

#[test]
fn a_later_machineconfig_restoring_the_blacklist_is_an_error_result() {
    let restore = json!({
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfig",
        "metadata": {"name": "restore-sctp-blacklist",
            "labels": {"machineconfiguration.openshift.io/role": "worker"},
            "annotations": {"internal.config.kubernetes.io/path": "restore.yaml"}},
        "spec": {"config": {"ignition": {"version": "3.2.0"}, "storage": {"files": [
            {"path": "/etc/modprobe.d/sctp-blacklist.conf", "mode": 420, "overwrite": true,
             "contents": {"source": "data:,blacklist%20sctp%0A"}}]}}}
    });
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"roles": "worker"}});
    let (out, status) = run(&with_config(fc, vec![restore]));
    let v = parse(&out);
    assert_eq!(status, 1);
    let errors: Vec<&Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["severity"] == "error")
        .collect();
    assert!(!errors.is_empty(), "{:?}", results(&v));
    assert!(
        errors
            .iter()
            .any(|r| r["resourceRef"]["name"] == "restore-sctp-blacklist"
                && r["message"].as_str().unwrap().contains("pool worker")
                && r["message"].as_str().unwrap().contains("restore.yaml")
                && r["file"] == json!({"path": "restore.yaml", "index": 0})),
        "{errors:#?}"
    );
}

#[test]
fn a_bad_function_config_is_an_error_result_with_items_unchanged() {
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"openshiftVersion": 4.1}});
    let (out, status) = run(&with_config(fc, vec![]));
    let v = parse(&out);
    assert_eq!(status, 2);
    assert_eq!(v["items"].as_array().unwrap(), &input_items());
    assert_eq!(v["results"][0]["field"]["path"], "data.openshiftVersion");
    assert!(
        results(&v)[0].1.contains("openshiftVersion"),
        "{:?}",
        results(&v)
    );
    let mut not_a_list = &b"apiVersion: v1\nkind: ConfigMap\n"[..];
    assert!(krm::run(&mut not_a_list, &mut Vec::new()).is_err());
}

#[test]
fn shipped_kustomization_example_is_consistent() {
    let k = String::from_utf8(testdata("kustomization.yaml")).unwrap();
    let k = &yaml::parse_documents(&k).unwrap()[0].value;
    let fn_file = k["transformers"][0].as_str().unwrap();
    let fc_text = String::from_utf8(testdata(fn_file)).unwrap();
    let fc = yaml::parse_documents(&fc_text).unwrap()[0].value.clone();
    let exec = &fc["metadata"]["annotations"]["config.kubernetes.io/function"];
    assert!(exec.as_str().unwrap().contains("path: modlayer"));
    let resource = String::from_utf8(testdata(k["resources"][0].as_str().unwrap())).unwrap();
    let item = yaml::parse_documents(&resource).unwrap()[0].value.clone();
    let input = serde_json::to_vec(&json!({"apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList", "items": [item], "functionConfig": fc}))
    .unwrap();
    let (out, status) = run(&input);
    let v = parse(&out);
    assert_eq!(status, 0, "{:?}", results(&v));
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "99-worker-chrony",
            "load-sctp-module-worker",
            "load-sctp-module-master"
        ]
    );
}

#[test]
fn cli_krm_reads_stdin_and_writes_stdout() {
    let input = testdata("resourcelist.yaml");
    let mut cmd = common::modlayer();
    cmd.arg("krm");
    let ran = common::run_with_timeout(cmd, Some(&input), common::ORACLE_TIMEOUT).unwrap();
    assert!(ran.success(), "{}", ran.transcript());
    assert_eq!(ran.stdout, run(&input).0);
}

/// Run with a functionConfig; (status, output, results).
fn run_fc(fc: Value, extra: Vec<Value>) -> (i32, Value, Vec<(String, String)>) {
    let (out, status) = run(&with_config(fc, extra));
    let v = parse(&out);
    let r = results(&v);
    (status, v, r)
}

#[test]
fn a_strict_function_config_names_the_field_and_changes_nothing() {
    for (data, field) in [
        (json!({"rolez": "worker"}), "data.rolez"),
        (json!({"roles": "Worker"}), "data.roles"),
        (json!({"roles": "worker,a_b"}), "data.roles"),
        (json!({"module": "sc tp"}), "data.module"),
        (json!({"openshiftVersion": "5.1"}), "data.openshiftVersion"),
        (json!({"mode": "check"}), "data.mode"),
        (json!({"module": "sctp", "layer": "sctp"}), "data"),
    ] {
        let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": data});
        let (status, v, r) = run_fc(fc, vec![]);
        assert_eq!(status, 2, "{field}: {r:?}");
        assert_eq!(v["items"].as_array().unwrap(), &input_items(), "{field}");
        assert_eq!(r.len(), 1, "{field}: {r:?}");
        assert_eq!(r[0].0, "error");
        assert_eq!(v["results"][0]["field"]["path"], field, "{r:?}");
    }
    let wrong_kind = json!({"apiVersion": "v9", "kind": "Thing"});
    assert_eq!(run_fc(wrong_kind, vec![]).0, 2);
}

#[test]
fn the_validator_fails_without_the_machineconfigs_and_passes_with_them() {
    let check = json!({"apiVersion": "modlayer.dev/v1alpha1", "kind": "ModuleLayerCheck",
        "metadata": {"name": "check"}, "spec": {}});
    let (status, v, r) = run_fc(check.clone(), vec![]);
    assert_eq!(status, 1, "{r:?}");
    assert_eq!(
        v["items"].as_array().unwrap(),
        &input_items(),
        "the validator adds nothing"
    );
    assert!(
        r.iter()
            .any(|(s, m)| s == "error" && m.starts_with("pool worker")),
        "{r:?}"
    );
    let (status, v, r) = run_fc(check, vec![layer_mc("worker", "3.2.0")]);
    assert_eq!(status, 0, "{r:?}");
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        input_items().len() + 1
    );
    // `mode: verify` in a ConfigMap is the same.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": "verify"}});
    assert_eq!(run_fc(cm, vec![]).0, 1);
}

#[test]
fn owned_machineconfigs_are_pruned_and_replacements_keep_user_metadata() {
    let fc =
        |roles: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"roles": roles}});
    let (_, v, _) = run_fc(fc("worker,master"), vec![]);
    let both = v["items"].as_array().unwrap().clone();
    assert_eq!(both.len(), input_items().len() + 2);
    // Dropping master prunes the function's own master MachineConfig, and only that.
    let mut items: Vec<Value> = both[input_items().len()..].to_vec();
    let mut foreign = layer_mc("infra", "3.2.0");
    foreign["metadata"]["name"] = json!("load-sctp-module-infra");
    foreign["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("app.kubernetes.io/managed-by");
    items.push(foreign);
    let (status, v, r) = run_fc(fc("worker"), items);
    assert_eq!(status, 0, "{r:?}");
    let names: Vec<&str> = v["items"].as_array().unwrap()[input_items().len()..]
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["load-sctp-module-worker", "load-sctp-module-infra"]);
    assert!(
        r.iter()
            .any(|(_, m)| m.contains("load-sctp-module-master pruned")),
        "{r:?}"
    );
    // An outdated item of that name keeps its labels and annotations (a sync wave, an owner).
    let mut old = layer_mc("worker", "3.2.0");
    old["spec"]["config"]["storage"]["files"][1]["contents"]["source"] = json!("data:,sctp%0A");
    old["metadata"]["labels"]["team"] = json!("ran");
    old["metadata"]["annotations"] = json!({"argocd.argoproj.io/sync-wave": "-10"});
    let (_, v, _) = run_fc(fc("worker"), vec![old]);
    let replaced = v["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(replaced["metadata"]["labels"]["team"], "ran");
    assert_eq!(
        replaced["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
        "-10"
    );
    assert_eq!(replaced["spec"], layer_mc("worker", "3.2.0")["spec"]);
}

#[test]
fn error_results_are_printed_on_stderr_too() {
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"rolez": "worker"}});
    let mut cmd = common::modlayer();
    cmd.arg("krm");
    let ran = common::run_with_timeout(cmd, Some(&with_config(fc, vec![])), common::ORACLE_TIMEOUT)
        .unwrap();
    assert_eq!(ran.status.code(), Some(2));
    let err = String::from_utf8_lossy(&ran.stderr);
    assert!(
        err.contains("modlayer krm: error: functionConfig data.rolez: unknown key"),
        "{err}"
    );
}

#[test]
fn module_follows_the_base_and_fcos_carries_sctp() {
    // xt_u32: RHEL CoreOS does not blacklist it; the MachineConfig writes only the load list.
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fn"},
        "data": {"module": "xt_u32"}});
    let (out, status) = run(&with_config(fc, vec![]));
    let v = parse(&out);
    assert_eq!(status, 0, "{:?}", results(&v));
    let mc = v["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(mc["metadata"]["name"], "load-xt-u32-module-worker");
    let paths: Vec<&str> = mc["spec"]["config"]["storage"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/etc/modules-load.d/xt_u32-load.conf"]);
    // Over Fedora CoreOS, sctp is in kernel-modules and blacklisted by nothing (FACTS.md, "Which
    // modules each base blacklists"; this test expected an error result while the model had
    // Fedora CoreOS lack sctp): the layer's MachineConfig loads it, no error result.
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fn"},
        "data": {"base": "fcos"}});
    let (out, status) = run(&with_config(fc, vec![]));
    let v = parse(&out);
    assert_eq!(status, 0, "{:?}", results(&v));
    assert!(
        !results(&v)
            .iter()
            .any(|(s, m)| s == "error" || m.contains("module-missing")),
        "{:?}",
        results(&v)
    );
    // An OS image is not something a function reads.
    let fc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fn"},
        "data": {"base": "oci:/srv/rhcos"}});
    let (out, status) = run(&with_config(fc, vec![]));
    assert_eq!(status, 2, "{}", String::from_utf8_lossy(&out));
    assert_eq!(parse(&out)["results"][0]["field"]["path"], "data.base");
}
