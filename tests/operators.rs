//! Every channel that decides a module on a node (issue 22): the Node Tuning Operator's
//! MachineConfigs from PerformanceProfiles and Tuneds in the one pool render, run-time loaders
//! (KMM Modules, privileged DaemonSets running modprobe from a ConfigMap script), and manifests
//! without MachineConfigs judged against the base. Fixtures: testdata/operators/, written in the
//! shapes the operators' documentation and the telco references show.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// A folder of these fixtures (paths under testdata/).
fn folder(files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in files {
        let name = Path::new(f).file_name().unwrap();
        std::fs::copy(testdata(f), d.path().join(name)).unwrap();
    }
    d
}

fn verify(target: &Path, args: &[&str]) -> (i32, Value) {
    let out = common::modlayer()
        .arg("verify")
        .arg("--format=json")
        .args(args)
        .arg(target)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

fn pool<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == name)
        .unwrap_or_else(|| panic!("no pool {name}: {v:#}"))
}

fn with_code<'a>(t: &'a Value, code: &str) -> Vec<&'a Value> {
    t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

const PP: &str = "operators/pp-blacklist/performanceprofile.yaml";
const PP_IRDMA: &str = "operators/tuned/performanceprofile.yaml";
const MCP: &str = "operators/pp-blacklist/mcp-worker-cnf.yaml";
const MC: &str = "doc-machineconfig.yaml";
const TUNED: &str = "operators/tuned/tuned-sctp-blacklist.yaml";
const DS: &str = "operators/daemonset/load-sctp-daemonset.yaml";
const KMM: &str = "operators/kmm/module.yaml";
const BMC: &str = "operators/kmm/bootmoduleconfig.yaml";
const BMC_MASTER: &str = "operators/kmm/bootmoduleconfig-master.yaml";

#[test]
fn performance_profile_module_blacklist_disables_its_pool() {
    let d = folder(&[PP, MCP, MC]);
    let (code, v) = verify(d.path(), &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(pool(&v, "worker")["enabled"], true);
    let cnf = pool(&v, "worker-cnf");
    assert_eq!(cnf["enabled"], false);
    let f = with_code(cnf, "kernel-arg-module-blacklist");
    assert_eq!(f.len(), 1, "{cnf:#}");
    let origin = f[0]["origin"].as_str().unwrap();
    assert!(
        origin.ends_with("> PerformanceProfile openshift-node-performance-profile > profile openshift-node-performance-openshift-node-performance-profile > MachineConfig 50-nto-worker-cnf (rendered by the Node Tuning Operator)"),
        "{origin}"
    );
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("module_blacklist=irdma,sctp"));
    // The same profile blacklisting only irdma: the pool loads sctp.
    let d = folder(&[PP_IRDMA, MCP, MC]);
    let (code, v) = verify(d.path(), &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(with_code(pool(&v, "worker-cnf"), "kernel-arg-module-blacklist").is_empty());
}

#[test]
fn tuned_bootloader_cmdline_renders_50_nto_for_its_pool() {
    let d = folder(&[PP_IRDMA, MCP, MC, TUNED]);
    let (code, v) = verify(d.path(), &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(pool(&v, "worker")["enabled"], true);
    let cnf = pool(&v, "worker-cnf");
    let f = with_code(cnf, "kernel-arg-module-blacklist");
    assert_eq!(f.len(), 1, "{cnf:#}");
    let origin = f[0]["origin"].as_str().unwrap();
    assert!(
        origin.contains("50-nto-worker-cnf")
            && origin.contains("Tuned openshift-cluster-node-tuning-operator/performance-patch")
            && origin.contains("profile performance-patch"),
        "{origin}"
    );
    // The Tuned's labels matching no pool but a custom one of that name: it renders for it.
    let text = std::fs::read_to_string(testdata(TUNED))
        .unwrap()
        .replace("\"worker-cnf\"", "\"worker-rt\"");
    let d2 = folder(&[PP_IRDMA, MCP, MC]);
    std::fs::write(d2.path().join("tuned.yaml"), text).unwrap();
    let (code, v) = verify(d2.path(), &["--role", "worker-rt"]);
    assert_eq!(code, 1, "{v:#}");
    let rt = pool(&v, "worker-rt");
    assert!(with_code(rt, "kernel-arg-module-blacklist")[0]["origin"]
        .as_str()
        .unwrap()
        .contains("50-nto-worker-rt"));
    // Labels that two pools select: the operator renders nothing, and says so.
    let both = "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata:\n  name: worker-cnf2\nspec:\n  machineConfigSelector:\n    matchLabels:\n      machineconfiguration.openshift.io/role: worker-cnf\n";
    std::fs::write(d.path().join("pool2.yaml"), both).unwrap();
    let (_, v) = verify(d.path(), &["--role", "worker-cnf"]);
    let cnf = pool(&v, "worker-cnf");
    assert!(
        with_code(cnf, "kernel-arg-module-blacklist").is_empty(),
        "{cnf:#}"
    );
    assert!(!with_code(cnf, "operator-labels-match-no-pool").is_empty());
}

#[test]
fn a_daemonset_running_modprobe_is_a_run_time_loader() {
    let d = folder(&[DS]);
    let (code, v) = verify(d.path(), &[]);
    // Loaded only after its pods run: not at boot, exit 1 with module-not-listed.
    assert_eq!(code, 1, "{v:#}");
    let w = pool(&v, "worker");
    assert_eq!(w["enabled"], false);
    assert!(!with_code(w, "module-not-listed").is_empty());
    assert!(with_code(w, "no-machineconfig-for-role").is_empty());
    let only = with_code(w, "runtime-loader-only");
    assert_eq!(only.len(), 1, "{w:#}");
    let m = only[0]["message"].as_str().unwrap();
    assert_eq!(only[0]["severity"], "warning");
    assert!(
        m.contains("DaemonSet/sctp-loader/load-sctp")
            && m.contains("`modprobe sctp`")
            && m.contains("it runs on: worker")
            && m.contains("ignores blacklist")
            && m.contains("/etc/modprobe.d/sctp-blacklist.conf"),
        "{m}"
    );
    // With the layer's MachineConfig: loaded at boot; the DaemonSet is info.
    let d = folder(&[DS, MC]);
    let (code, v) = verify(d.path(), &[]);
    assert_eq!(code, 0, "{v:#}");
    let w = pool(&v, "worker");
    assert!(with_code(w, "runtime-loader-only").is_empty());
    assert_eq!(with_code(w, "runtime-loader")[0]["severity"], "info");
    // Without privileges its modprobe fails, and the message says so.
    let text = std::fs::read_to_string(testdata(DS))
        .unwrap()
        .replace("privileged: true", "privileged: false");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("ds.yaml"), text).unwrap();
    let (_, v) = verify(d.path(), &[]);
    let m = with_code(pool(&v, "worker"), "runtime-loader-only")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.contains("it cannot load it"), "{m}");
}

#[test]
fn a_kmm_module_removing_the_in_tree_module_is_reported() {
    let d = folder(&[KMM, MC]);
    let (code, v) = verify(d.path(), &[]);
    // Loaded at boot (verify's meaning), but unloaded when the KMM worker runs.
    assert_eq!(code, 0, "{v:#}");
    let w = pool(&v, "worker");
    let f = with_code(w, "runtime-unload");
    assert_eq!(f.len(), 1, "{w:#}");
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("KMM Module openshift-kmm/sctp-oot"));
    // Asked about its own out-of-tree module: a run-time loader only, and no claim that RHEL
    // CoreOS ships it.
    let (code, v) = verify(d.path(), &["--module", "sctp_oot", "-v"]);
    assert_eq!(code, 1, "{v:#}");
    let w = pool(&v, "worker");
    assert_eq!(with_code(w, "runtime-loader-only").len(), 1, "{w:#}");
    let kv = with_code(w, "kernel-not-visible")[0]["message"]
        .as_str()
        .unwrap();
    assert!(
        !kv.contains("RHEL CoreOS ships") && kv.contains("knows nothing of this module"),
        "{kv}"
    );
}

/// A pool where a run-time loader loads the module is judged like one a MachineConfig tries to
/// enable it in: the DaemonSet put on the masters (nodeSelector and toleration) makes pool master
/// judged next to worker (whose MachineConfig enables it), and master loads it only at run time.
#[test]
fn a_run_time_loader_makes_its_pool_judged() {
    let text = std::fs::read_to_string(testdata(DS)).unwrap().replace(
        "      hostNetwork: true\n",
        "      hostNetwork: true\n      nodeSelector:\n        node-role.kubernetes.io/master: \"\"\n      tolerations:\n        - key: node-role.kubernetes.io/master\n          operator: Exists\n          effect: NoSchedule\n",
    );
    assert!(text.contains("nodeSelector"));
    let d = folder(&[MC]);
    std::fs::write(d.path().join("ds.yaml"), text).unwrap();
    let (code, v) = verify(d.path(), &[]);
    assert_eq!(code, 1, "{v:#}");
    // Both judged: a report each (a pool not judged is only an info on the others).
    assert_eq!(v["targets"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(pool(&v, "worker")["enabled"], true);
    let m = pool(&v, "master");
    assert_eq!(m["enabled"], false);
    assert_eq!(with_code(m, "runtime-loader-only").len(), 1, "{m:#}");
    // Named pools still decide alone.
    let (code, _) = verify(d.path(), &["--role", "worker"]);
    assert_eq!(code, 0);
}

/// KMM's day-1 path: a BootModuleConfig makes KMM write the MachineConfig it names into its pool,
/// whose unit removes the in-tree modules at boot. sctp holds itself once loaded, so that removal
/// fails ("in use", as the boot proof's `bootmoduleconfig-rmmod` shows on a booted kernel): the
/// pool still loads sctp, with a warning naming that MachineConfig and the BootModuleConfig; the
/// other pool is untouched.
#[test]
fn a_boot_module_config_removing_sctp_fails_in_its_pool() {
    let d = folder(&[BMC, MC]);
    let (code, v) = verify(d.path(), &[]);
    assert_eq!(code, 0, "{v:#}");
    let w = pool(&v, "worker");
    assert_eq!(w["enabled"], true);
    assert!(with_code(w, "unit-removes").is_empty(), "{w:#}");
    let f = with_code(w, "unit-remove-fails");
    assert_eq!(f.len(), 1, "{w:#}");
    assert_eq!(f[0]["severity"], "warning");
    let origin = f[0]["origin"].as_str().unwrap();
    assert!(
        origin.contains("> BootModuleConfig openshift-machine-config-operator/oot-sctp-bmc > MachineConfig worker-kmod-config $.systemd.units[0] (rendered by KMM;"),
        "{origin}"
    );
    // In the master pool only: the warning is there, not in the worker pool.
    let d = folder(&[BMC_MASTER, MC]);
    let (_, v) = verify(d.path(), &["--role", "master", "--role", "worker"]);
    let w = pool(&v, "worker");
    assert_eq!(w["enabled"], true);
    assert!(with_code(w, "unit-remove-fails").is_empty(), "{w:#}");
    let m = pool(&v, "master");
    assert_eq!(with_code(m, "unit-remove-fails").len(), 1, "{m:#}");
    // The module it loads from its image is loaded at boot in its pool (an explicit modprobe).
    let d = folder(&[BMC]);
    let (code, v) = verify(d.path(), &["--module", "oot_sctp", "--role", "worker"]);
    let w = pool(&v, "worker");
    assert_eq!((code, &w["enabled"]), (0, &Value::Bool(true)), "{v:#}");
    // A MachineConfig of that name in the input is KMM's output already: not rendered twice.
    let dup = d.path().join("worker-kmod-config.yaml");
    std::fs::write(
        &dup,
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: worker-kmod-config\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n",
    )
    .unwrap();
    let (code, v) = verify(d.path(), &["--module", "oot_sctp", "--role", "worker"]);
    assert_eq!(code, 1, "{v:#}");
}

#[test]
fn manifests_without_machineconfigs_are_judged_against_the_base() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("svc.yaml");
    std::fs::write(
        &p,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    let (code, v) = verify(&p, &[]);
    assert_eq!(code, 1, "{v:#}");
    let w = pool(&v, "worker");
    assert!(!with_code(w, "module-not-listed").is_empty());
    assert!(!with_code(w, "module-blacklisted").is_empty());
    // Text with no Kubernetes object at all is not a manifest: exit 2.
    std::fs::write(&p, "just: some\nyaml: [1]\n").unwrap();
    let out = common::modlayer().arg("verify").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Kubernetes object found"));
}

#[test]
fn messages_are_true_for_the_module_and_the_base() {
    let d = folder(&[MC]);
    // Fedora CoreOS carries sctp in kernel-modules and blacklists nothing.
    let (code, v) = verify(d.path(), &["--base", "fcos", "-v"]);
    assert_eq!(code, 0, "{v:#}");
    let w = pool(&v, "worker");
    assert!(with_code(w, "module-missing").is_empty());
    // Over RHEL CoreOS, an l2tp module is blacklisted and the kernel note names its package.
    let (code, v) = verify(d.path(), &["--module", "l2tp_ip6", "-v"]);
    assert_eq!(code, 1, "{v:#}");
    let w = pool(&v, "worker");
    assert!(!with_code(w, "module-blacklisted").is_empty());
    let kv = with_code(w, "kernel-not-visible")[0]["message"]
        .as_str()
        .unwrap();
    assert!(
        kv.contains("kernel-modules-extra") && kv.contains("RHEL 8"),
        "{kv}"
    );
    let (_, v) = verify(d.path(), &["--module", "sctp", "--base", "fcos", "-v"]);
    let kv = with_code(pool(&v, "worker"), "kernel-not-visible");
    assert!(
        kv.is_empty(),
        "fcos models the kernel that carries sctp: {kv:?}"
    );
}
