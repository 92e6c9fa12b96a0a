//! What the API server, kubectl and the MCO will say, said before they say it (issue 21): objects
//! the API server refuses, YAML read as kubectl reads it (duplicate keys), templates committed
//! unrendered, layer files of another name, and the topology install manifests give.
//! Fixtures: testdata/api-objects/ (in the shapes of the real files), testdata/doc-machineconfig.yaml
//! and testdata/workloads/.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(testdata(&format!("api-objects/{name}"))).unwrap()
}

/// `modlayer ARGS`: exit status, stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = common::modlayer().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A folder holding `files` (relative path, text).
fn folder(files: &[(&str, String)]) -> (tempfile::TempDir, String) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("gitops");
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    let shown = dir.to_string_lossy().into_owned();
    (t, shown)
}

/// Every finding of a JSON report: (pool, code, message).
fn findings(report: &str) -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_str(report).unwrap_or_else(|e| panic!("{e}: {report}"));
    let mut out = Vec::new();
    for t in v["targets"].as_array().unwrap() {
        let pool = t["role"].as_str().unwrap_or("").to_string();
        for f in t["findings"].as_array().unwrap() {
            out.push((
                pool.clone(),
                f["code"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Judged pools of a JSON report with their verdicts.
fn judged(report: &str) -> Vec<(String, bool)> {
    let v: Value = serde_json::from_str(report).unwrap();
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["role"].as_str().unwrap_or("").to_string(),
                t["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn an_unknown_spec_field_is_refused_as_oc_apply_refuses_it() {
    let p = testdata("api-objects/selector-not-a-field.yaml");
    let (code, out, err) = run(&["verify", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    let want = format!(
        "{}:9:3 (spec.selector): unknown field \"spec.selector\"",
        p.display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("`oc apply` refuses it"), "{err}");
    // Without it, the same file is enabled.
    let fixed = fixture("selector-not-a-field.yaml").replace(
        "  selector:\n    matchLabels:\n      node-role.kubernetes.io/worker: \"\"\n",
        "",
    );
    let (_t, dir) = folder(&[("mc.yaml", fixed)]);
    let (code, out, err) = run(&["verify", &format!("{dir}/mc.yaml")]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn an_installer_manifest_with_an_unknown_field_is_a_warning() {
    // The installer creates its manifests without strict field validation: the API server
    // drops the field; the verdict stands.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("cluster");
    for sub in ["manifests", "openshift"] {
        let from = testdata("install-dirs/standard").join(sub);
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::write(
        dir.join("openshift/99_openshift-machineconfig_load-sctp.yaml"),
        fixture("selector-not-a-field.yaml"),
    )
    .unwrap();
    let (code, out, err) = run(&["verify", "--format=json", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let f = findings(&out);
    assert!(
        f.iter().any(|(_, c, m)| c == "unknown-field-dropped"
            && m.contains("openshift/99_openshift-machineconfig_load-sctp.yaml:9:3")),
        "{f:?}"
    );
    assert!(!f.iter().any(|(_, c, _)| c == "unknown-field"), "{f:?}");
}

#[test]
fn a_documentation_callout_is_named_as_an_invalid_label_value() {
    let p = testdata("api-objects/callout.yaml");
    let (code, out, err) = run(&["verify", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{}:6:45 (metadata.labels[\"machineconfiguration.openshift.io/role\"]): label machineconfiguration.openshift.io/role: value \"worker <1>\" is not a valid label value",
            p.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("`<1>` looks like a documentation callout"),
        "{err}"
    );
    assert!(!err.contains("no MachineConfig"), "{err}");
    // In a folder the rest is judged, the exit status is still 2, and nothing says the pool
    // lacks a MachineConfig.
    let master = std::fs::read_to_string(testdata("doc-machineconfig.yaml"))
        .unwrap()
        .replace("role: worker", "role: master")
        .replace("name: load-sctp-module", "name: load-sctp-module-master");
    let (_t, dir) = folder(&[
        ("extra/callout.yaml", fixture("callout.yaml")),
        ("extra/master.yaml", master),
    ]);
    let (code, out, err) = run(&["verify", "--format=json", &dir]);
    assert_eq!(code, 2, "{out}{err}");
    let f = findings(&out);
    assert!(
        f.iter().any(|(_, c, m)| c == "object-invalid"
            && m.starts_with(&format!("{dir}/extra/callout.yaml:6:45"))),
        "{f:?}"
    );
    assert!(
        !f.iter()
            .any(|(_, c, _)| c == "no-machineconfig-for-role" || c == "custom-pool-assumed"),
        "{f:?}"
    );
}

#[test]
fn a_duplicate_role_key_keeps_the_last_value_with_a_warning() {
    let (_t, dir) = folder(&[(
        "machineconfigs/load-sctp-module.yaml",
        fixture("role-twice.yaml"),
    )]);
    let (code, out, err) = run(&["verify", "--format=json", &dir]);
    // kubectl keeps `master`: the MachineConfig enables the module on master, so master is judged.
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(judged(&out), [("master".to_string(), true)]);
    let f = findings(&out);
    let dup: Vec<&String> = f
        .iter()
        .filter(|(_, c, _)| c == "duplicate-key")
        .map(|(_, _, m)| m)
        .collect();
    assert_eq!(
        dup,
        [&format!(
            "{dir}/machineconfigs/load-sctp-module.yaml:6:5: key \"machineconfiguration.openshift.io/role\" is written twice (lines 5 and 6): kubectl and oc keep the last value, \"master\" (kustomize and kpt refuse the file)"
        )]
    );
    // apply does not patch a file whose meaning rests on that leniency.
    let (code, _, err) = run(&[
        "apply",
        "--in-place",
        &format!("{dir}/machineconfigs/load-sctp-module.yaml"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("written twice") && err.contains("nothing was changed"),
        "{err}"
    );
}

#[test]
fn the_krm_path_keeps_refusing_duplicate_keys() {
    let item = fixture("role-twice.yaml")
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>();
    let list =
        format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  -\n{item}");
    let mut child = common::modlayer()
        .arg("krm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("duplicate mapping key"), "{all}");
}

#[test]
fn an_unreadable_file_does_not_hide_the_rest_of_the_folder() {
    let doc = std::fs::read_to_string(testdata("doc-machineconfig.yaml")).unwrap();
    let ds = std::fs::read_to_string(testdata("workloads/daemonset-on-masters.yaml")).unwrap();
    // A MachineConfig (for master) that no reader takes: an unclosed flow sequence.
    let broken = "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: 99-master-kargs\n  labels:\n    machineconfiguration.openshift.io/role: master\nspec:\n  kernelArguments: [intel_iommu=on\n";
    let (_t, dir) = folder(&[
        ("machineconfigs/load-sctp-module.yaml", doc),
        ("apps/sctp-probe.yaml", ds),
        ("machineconfigs/broken.yaml", broken.to_string()),
    ]);
    let (code, out, err) = run(&["verify", "--format=json", &dir]);
    assert_eq!(code, 2, "{out}{err}");
    let f = findings(&out);
    assert!(
        f.iter().any(|(_, c, m)| c == "manifest-unreadable"
            && m.starts_with(&format!("{dir}/machineconfigs/broken.yaml:"))),
        "{f:?}"
    );
    // The DaemonSet that runs on masters still needs SCTP there.
    assert!(
        f.iter().any(|(p, c, m)| p == "master"
            && c == "workload-needs-module"
            && m.contains("sctp-probe")),
        "{f:?}"
    );
    // Worker is judged too: its layer files are in place; the unreadable file (which could
    // hold anything) keeps its verdict from "enabled".
    let v: Value = serde_json::from_str(&out).unwrap();
    let worker = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "worker")
        .unwrap();
    assert_eq!(worker["identical"], true, "{out}");
}

#[test]
fn templates_are_named_where_they_decide() {
    let cases = [
        (
            "helm-template.yaml",
            4,
            9,
            "`{{ .Values.name }}`, a Helm template",
        ),
        ("envsubst-template.yaml", 4, 9, "${ROLE}"),
        ("placeholder.yaml", 4, 9, "`<cluster-name>`"),
    ];
    for (file, line, col, what) in cases {
        let p = testdata(&format!("api-objects/{file}"));
        let (code, out, err) = run(&["verify", p.to_str().unwrap()]);
        assert_eq!(code, 2, "{file}: {out}{err}");
        let place = format!("{}:{line}:{col}", p.display());
        assert!(err.contains(&place), "{file}: {err}");
        assert!(
            err.contains(what) && err.contains("render it first"),
            "{file}: {err}"
        );
        let (_, out, _) = run(&["verify", "--format=json", p.to_str().unwrap()]);
        assert!(out.contains("a template ("), "{out}");
    }
    // Read in a folder, the code is template-unrendered.
    let (_t, dir) = folder(&[
        ("a/helm.yaml", fixture("helm-template.yaml")),
        (
            "b/load.yaml",
            std::fs::read_to_string(testdata("doc-machineconfig.yaml")).unwrap(),
        ),
    ]);
    let (code, out, err) = run(&["verify", "--format=json", &dir]);
    assert_eq!(code, 2, "{out}{err}");
    let f = findings(&out);
    assert!(
        f.iter().any(|(_, c, m)| c == "template-unrendered"
            && m.starts_with(&format!(
                "{dir}/a/helm.yaml:4:9: a template (`{{{{ .Values.name }}}}`"
            ))),
        "{f:?}"
    );
}

#[test]
fn dollars_and_braces_in_contents_are_not_templates() {
    let p = testdata("api-objects/scripts-are-not-templates.yaml");
    let (code, out, err) = run(&["verify", "--format=json", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("template-unrendered"), "{out}");
    // A YAML error away from a `$` is reported as the YAML error it is.
    let text = fixture("scripts-are-not-templates.yaml")
        .replace("      version: 3.2.0\n", "      version: [3.2.0\n");
    let (_t, dir) = folder(&[("x.yaml", text)]);
    let (code, _, err) = run(&["verify", &format!("{dir}/x.yaml")]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("a template"), "{err}");
}

#[test]
fn a_layer_file_of_another_name_is_info_when_the_module_loads() {
    let text = std::fs::read_to_string(testdata("doc-machineconfig.yaml"))
        .unwrap()
        .replace("sctp-load.conf", "telco.conf");
    let (_t, dir) = folder(&[("mc.yaml", text)]);
    let p = format!("{dir}/mc.yaml");
    let (code, out, err) = run(&["verify", "--format=json", &p]);
    assert_eq!(code, 0, "{out}{err}");
    let f = findings(&out);
    let e: Vec<&(String, String, String)> =
        f.iter().filter(|x| x.1 == "layer-file-elsewhere").collect();
    assert_eq!(e.len(), 1, "{f:?}");
    assert!(e[0].2.contains("/etc/modules-load.d/telco.conf"), "{e:?}");
    assert!(!f.iter().any(|x| x.1 == "layer-file-missing"), "{f:?}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "layer-file-elsewhere")
            .unwrap()["severity"],
        "info"
    );
    // Text output stays quiet about it; --strict still fails on bytes.
    let (code, out, _) = run(&["verify", &p]);
    assert_eq!(code, 0);
    assert!(!out.contains("layer-file"), "{out}");
    let (code, _, _) = run(&["verify", "--strict", &p]);
    assert_eq!(code, 1);
    // Blocked, the same missing file is a warning again.
    let blocked = std::fs::read_to_string(&p)
        .unwrap()
        .replace("source: data:,\n", "source: data:,blacklist%20sctp\n");
    std::fs::write(&p, blocked).unwrap();
    let (code, out, _) = run(&["verify", "--format=json", &p]);
    assert_eq!(code, 1);
    assert!(
        findings(&out).iter().any(|x| x.1 == "layer-file-missing"),
        "{out}"
    );
}

#[test]
fn single_node_and_compact_clusters_judge_master() {
    let doc = std::fs::read_to_string(testdata("doc-machineconfig.yaml")).unwrap();
    let master = doc
        .replace("role: worker", "role: master")
        .replace("name: load-sctp-module", "name: load-sctp-module-master");
    for topology in ["agent-cluster-install.yaml", "cluster-instance.yaml"] {
        // The worker MachineConfig reaches no node: master is judged and fails.
        let (_t, dir) = folder(&[
            ("cluster/topology.yaml", fixture(topology)),
            ("extra-manifests/load-sctp-module.yaml", doc.clone()),
        ]);
        let (code, out, err) = run(&["verify", "--format=json", &dir]);
        assert_eq!(code, 1, "{topology}: {out}{err}");
        assert_eq!(judged(&out), [("master".to_string(), false)], "{topology}");
        let f = findings(&out);
        assert!(f.iter().any(|x| x.1 == "pool-has-no-nodes"), "{f:?}");
        // With a master MachineConfig it passes.
        let (_t, dir) = folder(&[
            ("cluster/topology.yaml", fixture(topology)),
            (
                "extra-manifests/load-sctp-module-master.yaml",
                master.clone(),
            ),
        ]);
        let (code, out, err) = run(&["verify", "--format=json", &dir]);
        assert_eq!(code, 0, "{topology}: {out}{err}");
        assert_eq!(judged(&out), [("master".to_string(), true)], "{topology}");
    }
    // With workers, nothing changes: worker is judged.
    let with_workers =
        fixture("agent-cluster-install.yaml").replace("workerAgents: 0", "workerAgents: 2");
    let (_t, dir) = folder(&[
        ("cluster/topology.yaml", with_workers),
        ("extra-manifests/load-sctp-module.yaml", doc),
    ]);
    let (code, out, err) = run(&["verify", "--format=json", &dir]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(judged(&out), [("worker".to_string(), true)]);
}

#[test]
fn a_callout_in_a_butane_source_is_named_too() {
    // Butane translates it; the API server refuses the label value.
    let p = testdata("api-objects/callout.bu");
    let (code, out, err) = run(&["verify", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("value \"worker <1>\" is not a valid label value")
            && err.contains("`<1>` looks like a documentation callout"),
        "{err}"
    );
    assert!(!err.contains("no MachineConfig"), "{err}");
}

#[test]
fn a_remote_manifest_in_bootstrap_ign_is_not_bad_input() {
    // The bootstrap node fetches it: not visible offline (remote-source), not invalid input; a
    // bad data URL is invalid input (exit 2).
    let ign = serde_json::json!({"ignition": {"version": "3.2.0"}, "storage": {"files": [
        {"path": "/opt/openshift/openshift/99-remote.yaml", "contents": {"source": "https://example.com/99-remote.yaml"}},
        {"path": "/opt/openshift/openshift/99-bad.yaml", "contents": {"source": "data:;base64,@@@"}},
    ]}});
    let (manifests, found) = modlayer::targets::installdir::bootstrap_manifests(
        "bootstrap.ign",
        ign.to_string().as_bytes(),
    )
    .unwrap();
    assert!(manifests.is_empty());
    let codes: Vec<(&str, bool)> = found
        .iter()
        .map(|f| (f.code.as_str(), f.code.input_invalid()))
        .collect();
    assert_eq!(
        codes,
        [("remote-source", false), ("manifest-unreadable", true)]
    );
}

#[test]
fn a_template_in_an_ignition_version_or_a_path_is_named() {
    let doc = std::fs::read_to_string(testdata("doc-machineconfig.yaml")).unwrap();
    for (from, to, place, marker) in [
        (
            "version: 3.2.0",
            "version: \"{{ .IgnitionVersion }}\"",
            "10:16",
            "{{ .IgnitionVersion }}",
        ),
        (
            "path: /etc/modules-load.d/sctp-load.conf",
            "path: /etc/modules-load.d/${MODULE}-load.conf",
            "18:17",
            "${MODULE}",
        ),
    ] {
        let (_t, dir) = folder(&[("mc.yaml", doc.replace(from, to))]);
        let p = format!("{dir}/mc.yaml");
        let (code, out, err) = run(&["verify", &p]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains(&format!("{p}:{place} (")), "{err}");
        assert!(err.contains(&format!("is a template (`{marker}`")), "{err}");
        assert!(err.contains("render it first"), "{err}");
    }
}

#[test]
fn duplicate_keys_keep_what_a_yaml_1_1_reader_keeps() {
    // PyYAML (YAML 1.1, like kubectl's reader) also keeps the last of two equal keys: the
    // lenient reading must give the same documents.
    if !common::have(common::Oracle::PyYaml) {
        return;
    }
    for text in [
        fixture("role-twice.yaml"),
        "a:\n  b: 1\n  b: {c: [1, 2]}\nd: 0644\nd: x\n".to_string(),
    ] {
        let (docs, dups) = modlayer::formats::yaml::parse_documents_lenient(&text).unwrap();
        assert!(!dups.is_empty());
        let ours: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
        assert_eq!(ours, common::yaml11_documents(&text).unwrap(), "{text}");
    }
}
