//! Fleets: a hub repository in the shapes of the telco-ran reference (ClusterInstances with
//! extraManifestsRefs and extraLabels, a kustomization with a configMapGenerator, PolicyGenerators
//! with placement label selectors, patches and mustnothave, a SiteConfig with
//! extraManifests.filter, a PolicyGenTemplate, an ACM Policy with a Placement), judged cluster by
//! cluster: the fixture is `testdata/hub/repo`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::Oracle;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hub/repo")
}

/// Run modlayer; (exit code, stdout, stderr).
fn run(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = common::modlayer();
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn modlayer");
    if let Some(b) = stdin {
        use std::io::Write;
        let mut i = child.stdin.take().expect("stdin");
        i.write_all(b).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait modlayer");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// The reports of a JSON run, by cluster name.
fn by_cluster(json: &str) -> BTreeMap<String, Value> {
    let v: Value = serde_json::from_str(json).expect(json);
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["cluster"]["name"].as_str().unwrap().to_string(),
                t.clone(),
            )
        })
        .collect()
}

fn codes(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn finding<'a>(r: &'a Value, code: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {r:#}"))
}

/// (enabled, source) of each cluster's one judged pool (master: every cluster here has masters
/// only).
fn verdicts(json: &str) -> BTreeMap<String, (bool, String)> {
    by_cluster(json)
        .into_iter()
        .map(|(k, r)| {
            assert_eq!(r["role"], "master", "{k}");
            let src = r["cluster"]["source"].as_str().unwrap_or("-").to_string();
            (k, (r["enabled"].as_bool().unwrap(), src))
        })
        .collect()
}

#[test]
fn each_cluster_gets_its_own_verdict_for_its_own_reason() {
    let dir = repo();
    let (code, out, err) = run(&["verify", "--format=json", dir.to_str().unwrap()], None);
    assert_eq!(code, 1, "{out}{err}");
    let v = verdicts(&out);
    let want: BTreeMap<String, (bool, String)> = [
        (
            "sno-day0",
            true,
            "day-0 (ConfigMap sno-day0/sno-day0-extra-manifests)",
        ),
        ("sno-plain", false, "-"),
        ("sno-policy", true, "policy ztp-group/sctp-config-policy"),
        (
            "sno-blocked",
            false,
            "policy ztp-group/group-du-sno-config-policy",
        ),
        ("sno-suppressed", false, "-"),
        (
            "sno-removed",
            false,
            "policy ztp-group/sctp-removal-policy (mustnothave)",
        ),
        (
            "sno-templated",
            true,
            "day-0 (ConfigMap sno-templated/sno-templated-extra-manifests)",
        ),
        (
            "site-full",
            true,
            &format!(
                "day-0 (extraManifestPath {}/sites/extra-manifests)",
                dir.display()
            ),
        ),
        ("site-filtered", false, "-"),
        (
            "site-pgt",
            true,
            "policy ztp-legacy/legacy-sctp-sctp-policy",
        ),
        ("site-acm", true, "policy ztp-legacy/acm-sctp"),
    ]
    .into_iter()
    .map(|(k, e, s)| (k.to_string(), (e, s.to_string())))
    .collect();
    assert_eq!(v, want);
    let r = by_cluster(&out);

    // Every report is named by the hub and the cluster, and describes the cluster.
    let day0 = &r["sno-day0"];
    assert_eq!(
        day0["target"],
        format!("{} > cluster sno-day0", dir.display())
    );
    assert_eq!(day0["kind"], "hub");
    assert_eq!(day0["cluster"]["topology"], "SNO");
    assert_eq!(day0["cluster"]["namespace"], "sno-day0");
    assert_eq!(day0["cluster"]["kind"], "ClusterInstance");
    assert_eq!(
        day0["cluster"]["labels"],
        serde_json::json!({"common": "true", "du-profile": "latest", "group-du-sno-zone": "zone-1"})
    );
    assert_eq!(
        day0["cluster"]["policies"],
        serde_json::json!(["ztp-common/common-latest-config-policy"]),
        "the generator the kustomization does not list (common-mno-ranGen.yaml) binds nothing"
    );
    assert_eq!(
        day0["files"][1]["origin"],
        "day-0 > ConfigMap sno-day0/sno-day0-extra-manifests > data.03-sctp-machine-config-master.yaml > MachineConfig load-sctp-module-master $.storage.files[1]"
    );
    assert_eq!(r["site-acm"]["cluster"]["topology"], "compact");

    // (a) a filter: the same extra manifests, the SCTP one excluded.
    assert!(codes(&r["site-filtered"]).contains(&"module-not-listed".to_string()));
    assert!(r["site-full"]["enabled"].as_bool().unwrap());

    // (b) a suppressed manifest: same labels as sno-policy, but no ManagedCluster, so no policy.
    let f = finding(&r["sno-suppressed"], "manifest-suppressed");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("suppressedManifests lists ManagedCluster"),
        "{f}"
    );
    assert_eq!(
        r["sno-suppressed"]["cluster"]["policies"],
        serde_json::json!([])
    );
    assert_eq!(
        r["sno-policy"]["cluster"]["policies"],
        serde_json::json!([
            "ztp-common/common-latest-config-policy",
            "ztp-group/sctp-config-policy"
        ])
    );

    // (c) a policy bound by labels delivers the MachineConfig (patched; no day-0 SCTP there).
    assert_eq!(
        r["sno-policy"]["files"][1]["origin"],
        format!(
            "{}/policies/sctp.yaml > Policy ztp-group/sctp-config-policy > MachineConfig load-sctp-module-master $.storage.files[1]",
            dir.display()
        )
    );
    // ... and mustnothave removes the day-0 one.
    assert_eq!(
        r["sno-removed"]["cluster"]["removed"],
        serde_json::json!(["day-0 > ConfigMap sno-removed/sno-removed-extra-manifests > data.03-sctp-machine-config-master.yaml > MachineConfig load-sctp-module-master: removed by policy ztp-group/sctp-removal-policy (mustnothave)"])
    );

    // (d) a PerformanceProfile policy puts module_blacklist=sctp on the kernel command line,
    // through the Node Tuning Operator's MachineConfig, though the day-0 layer is identical.
    let b = &r["sno-blocked"];
    assert_eq!(b["identical"], true);
    let f = finding(b, "kernel-arg-module-blacklist");
    assert_eq!(f["severity"], "error");
    assert!(
        f["origin"].as_str().unwrap().ends_with("> Policy ztp-group/group-du-sno-config-policy > PerformanceProfile openshift-node-performance-profile > profile openshift-node-performance-openshift-node-performance-profile > MachineConfig 50-nto-master (rendered by the Node Tuning Operator)"),
        "{f}"
    );
    // A hub template in cpu.isolated decides nothing: no finding for it.
    assert!(!codes(b).contains(&"hub-template-unresolved".to_string()));

    // A hub template in a kernel argument is named, and the verdict stands on the rest.
    let f = finding(&r["sno-templated"], "hub-template-unresolved");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["message"],
        "ztp-group/group-du-sno-templated-policy: PerformanceProfile openshift-node-performance-profile spec.additionalKernelArgs.0: \"{{hub fromConfigMap \\\"\\\" \\\"group-hardware-types-configmap\\\" (printf \\\"%s-kargs\\\" (index .ManagedClusterLabels \\\"hardware-type\\\")) hub}}\" is a template ACM resolves only on the hub; judged as written"
    );

    // An SCTP workload a policy delivers lands on the master of a site without SCTP.
    let p = &r["sno-plain"];
    assert_eq!(p["workloads"][0]["id"], "Deployment/ran-du/du-sctp-app");
    assert!(codes(p).contains(&"workload-needs-module".to_string()));
}

#[test]
fn text_report_is_one_row_per_cluster() {
    let dir = repo();
    let (code, out, err) = run(&["verify", dir.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    let table: Vec<&str> = out.lines().take_while(|l| !l.is_empty()).collect();
    let d = dir.display();
    let want = format!(
        "CLUSTER         TOPOLOGY  POOLS                SOURCE{pad}SCTP WORKLOADS
sno-day0        SNO       master: enabled      day-0 (ConfigMap sno-day0/sno-day0-extra-manifests){p1}-
sno-plain       SNO       master: NOT enabled  -{p2}Deployment/ran-du/du-sctp-app -> master
sno-policy      SNO       master: enabled      policy ztp-group/sctp-config-policy{p3}-
sno-blocked     SNO       master: NOT enabled  policy ztp-group/group-du-sno-config-policy{p4}-
sno-suppressed  SNO       master: NOT enabled  -{p2}-
sno-removed     SNO       master: NOT enabled  policy ztp-group/sctp-removal-policy (mustnothave){p5}-
sno-templated   SNO       master: enabled      day-0 (ConfigMap sno-templated/sno-templated-extra-manifests){p6}-
site-full       SNO       master: enabled      day-0 (extraManifestPath {d}/sites/extra-manifests)  -
site-filtered   SNO       master: NOT enabled  -{p2}-
site-pgt        SNO       master: enabled      policy ztp-legacy/legacy-sctp-sctp-policy{p7}-
site-acm        compact   master: enabled      policy ztp-legacy/acm-sctp{p8}-",
        pad = pad("SOURCE", &d.to_string()),
        p1 = pad("day-0 (ConfigMap sno-day0/sno-day0-extra-manifests)", &d.to_string()),
        p2 = pad("-", &d.to_string()),
        p3 = pad("policy ztp-group/sctp-config-policy", &d.to_string()),
        p4 = pad("policy ztp-group/group-du-sno-config-policy", &d.to_string()),
        p5 = pad("policy ztp-group/sctp-removal-policy (mustnothave)", &d.to_string()),
        p6 = pad(
            "day-0 (ConfigMap sno-templated/sno-templated-extra-manifests)",
            &d.to_string()
        ),
        p7 = pad("policy ztp-legacy/legacy-sctp-sctp-policy", &d.to_string()),
        p8 = pad("policy ztp-legacy/acm-sctp", &d.to_string()),
    );
    assert_eq!(table.join("\n"), want);
    assert!(out.contains(&format!(
        "{d} > cluster sno-blocked (hub) [pool master]: sctp NOT enabled\n"
    )));
}

/// Padding after a SOURCE cell: the column is as wide as the widest cell (the site-full one,
/// which names the folder) plus two spaces.
fn pad(cell: &str, dir: &str) -> String {
    let widest = format!("day-0 (extraManifestPath {dir}/sites/extra-manifests)")
        .chars()
        .count()
        .max("day-0 (ConfigMap sno-templated/sno-templated-extra-manifests)".len());
    " ".repeat(widest + 2 - cell.chars().count())
}

#[test]
fn ci_formats_carry_the_same_verdicts_and_exit_status() {
    let dir = repo();
    let d = dir.to_str().unwrap();
    for format in ["junit", "sarif", "github"] {
        let (code, out, err) = run(&["verify", &format!("--format={format}"), d], None);
        assert_eq!(code, 1, "{format}: {err}");
        assert!(out.contains("cluster sno-blocked"), "{format}: {out}");
        assert!(
            out.contains("kernel-arg-module-blacklist"),
            "{format}: {out}"
        );
    }
}

/// The stream `kubectl kustomize` builds from the clusters' kustomization (configMapGenerator
/// ConfigMaps and ClusterInstances), beside the repository's policy folders, gives the same
/// verdicts as the folder; the stream alone, on standard input, is a hub too.
#[test]
fn kustomize_built_stream_judges_as_the_folder() {
    if !common::have(Oracle::Kubectl) {
        return;
    }
    let out = std::process::Command::new(Oracle::Kubectl.program())
        .args(["kustomize"])
        .arg(repo().join("clusters"))
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = out.stdout;
    let t = tempfile::tempdir().unwrap();
    let hub = t.path().join("hub");
    std::fs::create_dir_all(&hub).unwrap();
    std::fs::write(hub.join("clusters.yaml"), &stream).unwrap();
    copy_dir(&repo().join("policies"), &hub.join("policies"));
    let (code, built, err) = run(&["verify", "--format=json", hub.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    let (_, folder, _) = run(&["verify", "--format=json", repo().to_str().unwrap()], None);
    let mut want = verdicts(&folder);
    want.retain(|k, _| k.starts_with("sno-"));
    assert_eq!(verdicts(&built), want);

    // The stream alone: day-0 only (its policies are elsewhere); kind detected.
    let (code, out, err) = run(&["verify", "--format=json", "-"], Some(&stream));
    assert_eq!(code, 1, "{err}");
    let v = verdicts(&out);
    assert!(!v["sno-policy"].0);
    assert!(v["sno-blocked"].0);
    assert_eq!(
        by_cluster(&out)["sno-day0"]["target"],
        "<stdin> > cluster sno-day0"
    );
}

/// Bad input is exit 2 and names the file and the place.
#[test]
fn bad_input_names_the_file_and_place() {
    let t = tempfile::tempdir().unwrap();
    let hub = t.path().join("hub");
    copy_dir(&repo(), &hub);
    let h = hub.to_str().unwrap();

    // A YAML error in a ClusterInstance file.
    let ci = hub.join("clusters/clusterinstances.yaml");
    let good = std::fs::read_to_string(&ci).unwrap();
    std::fs::write(
        &ci,
        good.replacen("  baseDomain: \"example.net\"", "  baseDomain: [", 1),
    )
    .unwrap();
    let (code, _, err) = run(&["verify", h], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("clusters/clusterinstances.yaml:"), "{err}");
    std::fs::write(&ci, &good).unwrap();

    // A policy's manifest path that is not there.
    let pg = hub.join("policies/sctp.yaml");
    let text = std::fs::read_to_string(&pg).unwrap();
    std::fs::write(
        &pg,
        text.replace(
            "MachineConfigSctp.yaml\n      patches",
            "Missing.yaml\n      patches",
        ),
    )
    .unwrap();
    let (code, _, err) = run(&["verify", h], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("policies/sctp.yaml: policies[0].manifests[0]: failed to read the manifest path source-crs/machine-config/Missing.yaml"),
        "{err}"
    );
    std::fs::write(&pg, &text).unwrap();

    // A filter naming a file the extra-manifests folder does not have.
    let sc = hub.join("sites/site-plan.yaml");
    let text = std::fs::read_to_string(&sc).unwrap();
    std::fs::write(
        &sc,
        text.replacen("- 03-sctp-machine-config-master.yaml", "- 03-sctp.yaml", 1),
    )
    .unwrap();
    let (code, _, err) = run(&["verify", h], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("sites/site-plan.yaml: cluster site-filtered: could not filter extra-manifests: Filename 03-sctp.yaml under exclude array is invalid"),
        "{err}"
    );
}

/// A ClusterInstance naming a ConfigMap the repository does not make is an error of that cluster
/// (the SiteConfig operator refuses it); a generator that appends a hash suffix is named as the
/// cause.
#[test]
fn missing_extra_manifests_configmap_is_an_error_of_its_cluster() {
    let t = tempfile::tempdir().unwrap();
    let hub = t.path().join("hub");
    copy_dir(&repo(), &hub);
    let k = hub.join("clusters/kustomization.yaml");
    let text = std::fs::read_to_string(&k).unwrap();
    std::fs::write(
        &k,
        text.replace(
            "- name: sno-day0-extra-manifests\n  namespace: sno-day0\n",
            "- name: sno-day0-extra-manifests\n  namespace: sno-day0\n  options:\n    disableNameSuffixHash: false\n",
        ),
    )
    .unwrap();
    let (code, out, err) = run(&["verify", "--format=json", hub.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    let r = by_cluster(&out);
    let f = finding(&r["sno-day0"], "extra-manifests-missing");
    assert!(
        f["message"].as_str().unwrap().contains("extraManifestsRefs names ConfigMap sno-day0-extra-manifests, which namespace sno-day0 of the repository does not hold (a configMapGenerator makes it, but without `disableNameSuffixHash: true`"),
        "{f}"
    );
    assert_eq!(r["sno-day0"]["enabled"], false);
    // The other clusters are judged as before.
    assert_eq!(r["site-full"]["enabled"], true);
}

/// `--kind hub` reads a stream that would otherwise be a manifests stream; a folder of one
/// cluster's manifests with a ClusterInstance kept for its topology stays a manifests folder.
#[test]
fn detection_and_explicit_kind() {
    let t = tempfile::tempdir().unwrap();
    let ci = t.path().join("ci.yaml");
    std::fs::write(
        &ci,
        "apiVersion: siteconfig.open-cluster-management.io/v1alpha1\nkind: ClusterInstance\nmetadata:\n  name: one\n  namespace: one\nspec:\n  clusterName: one\n  nodes:\n  - role: master\n",
    )
    .unwrap();
    let (code, out, err) = run(
        &[
            "verify",
            "--format=json",
            "--kind=hub",
            ci.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    let r = by_cluster(&out);
    assert_eq!(r["one"]["kind"], "hub");
    assert!(codes(&r["one"]).contains(&"module-not-listed".to_string()));
    let (_, out, _) = run(&["verify", "--format=json", ci.to_str().unwrap()], None);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["targets"][0]["kind"], "machineconfig");
}

fn render_mc(role: &str) -> String {
    let (code, out, err) = run(&["render", "machineconfig", "--role", role], None);
    assert_eq!(code, 0, "{err}");
    out
}

/// Day 0: the layer's MachineConfig is written into the extra-manifests folder and spliced into
/// the configMapGenerator's files of the clusters that lack it (a file already holding it is left
/// as it is); `kubectl kustomize` builds it into their ConfigMaps; read back, those clusters are
/// enabled; a second apply changes nothing.
#[test]
fn apply_day_0_adds_the_layer_to_the_extra_manifests() {
    let t = tempfile::tempdir().unwrap();
    let hub = t.path().join("hub");
    copy_dir(&repo(), &hub);
    let h = hub.to_str().unwrap();
    let (code, _, err) = run(&["apply", h], None);
    assert_eq!(code, 0, "{err}");
    // The new file is `render machineconfig --role master`, byte for byte.
    let written =
        std::fs::read_to_string(hub.join("clusters/extra-manifests/load-sctp-module-master.yaml"))
            .unwrap();
    assert_eq!(written, render_mc("master"));
    // The kustomization gains exactly one line in each generator that lacked the layer.
    let before = std::fs::read_to_string(repo().join("clusters/kustomization.yaml")).unwrap();
    let after = std::fs::read_to_string(hub.join("clusters/kustomization.yaml")).unwrap();
    let mut want = String::new();
    let mut current = "";
    for line in before.lines() {
        if let Some(n) = line.strip_prefix("- name: ") {
            current = n;
        }
        want.push_str(line);
        want.push('\n');
        if line == "  - extra-manifests/06-kdump-master.yaml"
            && [
                "sno-plain-extra-manifests",
                "sno-policy-extra-manifests",
                "sno-suppressed-extra-manifests",
            ]
            .contains(&current)
        {
            want.push_str("  - extra-manifests/load-sctp-module-master.yaml\n");
        }
    }
    assert_eq!(after, want);
    // Nothing else changed but the one new file.
    for f in [
        "clusters/clusterinstances.yaml",
        "sites/site-plan.yaml",
        "policies/sctp.yaml",
    ] {
        assert_eq!(
            std::fs::read(hub.join(f)).unwrap(),
            std::fs::read(repo().join(f)).unwrap(),
            "{f}"
        );
    }
    let (code, out, _) = run(&["verify", "--format=json", h], None);
    assert_eq!(code, 1);
    let v = verdicts(&out);
    assert_eq!(
        v["sno-plain"],
        (
            true,
            "day-0 (ConfigMap sno-plain/sno-plain-extra-manifests)".to_string()
        )
    );
    assert!(v["sno-suppressed"].0);
    // A policy still wins over day 0: mustnothave removes it, module_blacklist= blocks it.
    assert!(!v["sno-removed"].0);
    assert!(!v["sno-blocked"].0);
    // Twice: byte-identical.
    let (code, _, err) = run(&["apply", h], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(hub.join("clusters/kustomization.yaml")).unwrap(),
        want
    );

    if !common::have(Oracle::Kubectl) {
        return;
    }
    let built = std::process::Command::new(Oracle::Kubectl.program())
        .arg("kustomize")
        .arg(hub.join("clusters"))
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let docs = common::yaml11_documents(&String::from_utf8_lossy(&built.stdout)).unwrap();
    let cm = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "sno-plain-extra-manifests")
        .expect("the ConfigMap");
    assert_eq!(
        cm["data"]["load-sctp-module-master.yaml"],
        Value::String(render_mc("master"))
    );
}

/// Day N: a policy entry in the PolicyGenerator that reaches the most clusters, and its source
/// CR beside it; read back through the hub, the clusters it reaches get the layer from it.
#[test]
fn apply_day_n_adds_a_policy_entry() {
    let t = tempfile::tempdir().unwrap();
    let hub = t.path().join("hub");
    copy_dir(&repo(), &hub);
    let h = hub.to_str().unwrap();
    let (code, _, err) = run(&["apply", "--day-n", h], None);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read_to_string(repo().join("policies/common-ranGen.yaml")).unwrap();
    let after = std::fs::read_to_string(hub.join("policies/common-ranGen.yaml")).unwrap();
    assert_eq!(
        after,
        format!("{before}- name: load-sctp-module-policy\n  manifests:\n  - path: source-crs/machine-config/load-sctp-module-master.yaml\n")
    );
    assert_eq!(
        std::fs::read_to_string(
            hub.join("policies/source-crs/machine-config/load-sctp-module-master.yaml")
        )
        .unwrap(),
        render_mc("master")
    );
    let (_, out, _) = run(&["verify", "--format=json", h], None);
    let v = verdicts(&out);
    assert_eq!(
        v["sno-plain"],
        (
            true,
            "policy ztp-common/load-sctp-module-policy".to_string()
        )
    );
    assert!(v["site-filtered"].0);
    // No ManagedCluster, no policy.
    assert!(!v["sno-suppressed"].0);
    let (code, _, _) = run(&["apply", "--day-n", h], None);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(hub.join("policies/common-ranGen.yaml")).unwrap(),
        after
    );
}

/// `render policy` writes a PolicyGenerator with its source CRs that the hub reads back: the
/// clusters with the label get the layer from it, the others do not.
#[test]
fn render_policy_delivers_to_matching_clusters() {
    let t = tempfile::tempdir().unwrap();
    let hub = t.path().join("hub");
    copy_dir(&repo(), &hub);
    let out_dir = hub.join("sctp-day-n");
    let (code, _, err) = run(
        &[
            "render",
            "policy",
            "--selector",
            "du-profile=latest",
            "--selector",
            "group-du-sno-zone=zone-1",
            "-o",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("load-sctp-module.yaml")).unwrap(),
        "apiVersion: policy.open-cluster-management.io/v1
kind: PolicyGenerator
metadata:
  name: load-sctp-module
placementBindingDefaults:
  name: load-sctp-module-placement-binding
policyDefaults:
  namespace: ztp-group
  placement:
    labelSelector:
      matchLabels:
        du-profile: latest
        group-du-sno-zone: zone-1
  remediationAction: inform
  severity: low
policies:
- name: load-sctp-module-policy
  manifests:
  - path: source-crs/machine-config/load-sctp-module-master.yaml
  - path: source-crs/machine-config/load-sctp-module-worker.yaml
"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("kustomization.yaml")).unwrap(),
        "generators:\n- load-sctp-module.yaml\n"
    );
    for role in ["master", "worker"] {
        assert_eq!(
            std::fs::read_to_string(out_dir.join(format!(
                "source-crs/machine-config/load-sctp-module-{role}.yaml"
            )))
            .unwrap(),
            render_mc(role)
        );
    }
    let (_, out, _) = run(&["verify", "--format=json", hub.to_str().unwrap()], None);
    let v = verdicts(&out);
    assert_eq!(
        v["sno-plain"],
        (true, "policy ztp-group/load-sctp-module-policy".to_string())
    );
    // site-filtered has du-profile=latest but no zone label: not selected.
    assert!(!v["site-filtered"].0);
    let r = by_cluster(&out);
    assert!(r["sno-plain"]["cluster"]["policies"]
        .as_array()
        .unwrap()
        .contains(&Value::String("ztp-group/load-sctp-module-policy".into())));
}
