//! GitOps for real (issue "GitOps"): modlayer under the real kpt (`fn eval --exec`, `fn render
//! --allow-exec` with a Kptfile pipeline) and the real kubectl kustomize (the legacy exec plugin
//! route), as a mutator and as a validator. Required with MODLAYER_REQUIRE_ORACLES=1.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const MODLAYER: &str = env!("CARGO_BIN_EXE_modlayer");
const MODLAYER_KRM: &str = env!("CARGO_BIN_EXE_modlayer-krm");

/// A MachineConfig that puts the RHEL blacklist back for workers, named to sort after the layer's.
const RESTORE_BLACKLIST: &str = "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: zz-restore-sctp-blacklist\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n    storage:\n      files:\n        - path: /etc/modprobe.d/sctp-blacklist.conf\n          mode: 420\n          overwrite: true\n          contents:\n            source: data:,blacklist%20sctp%0A\n";

/// A kustomization whose transformer is modlayer-krm as an exec KRM function, over one ConfigMap.
fn exec_function_kustomization(k: &Path) {
    std::fs::write(k.join("fn.yaml"), format!("apiVersion: modlayer.dev/v1alpha1\nkind: ModuleLayer\nmetadata:\n  name: sctp\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {MODLAYER_KRM}\nspec:\n  roles: [worker]\n")).unwrap();
    std::fs::write(
        k.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    std::fs::write(
        k.join("kustomization.yaml"),
        "resources:\n- cm.yaml\ntransformers:\n- fn.yaml\n",
    )
    .unwrap();
}

/// A package with unrelated files in the shapes people keep: comments, flow lists, `|` blocks,
/// YAML 1.1 look-alike values, a Kptfile.
fn package(dir: &Path) {
    std::fs::create_dir_all(dir.join("apps")).unwrap();
    std::fs::write(
        dir.join("Kptfile"),
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: site-a\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  description: RAN site A\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("apps/sctp.yaml"),
        "# The SCTP server (owned by the RAN team)\napiVersion: v1\nkind: Service\nmetadata:\n  name: sctpserver # keep this name\n  labels: {app: sctpserver}\nspec:\n  ports:\n  - {name: sctp, protocol: SCTP, port: 30102}\n  selector:\n    app: sctpserver\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: sctpserver\n  labels:\n    app: sctpserver\nspec:\n  containers:\n    - name: sctpserver\n      image: registry.example.com/sctp:1\n      ports:\n        - containerPort: 30102\n          protocol: SCTP\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("apps/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  script: |\n    echo hello\n    echo world\n  mode: 0644\n  flag: y\n  off: 'x'\n",
    )
    .unwrap();
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn kpt(args: &[&str]) -> (i32, String) {
    let out = Command::new(common::Oracle::Kpt.program())
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Files that differ between two snapshots (added, removed or changed).
fn changed(a: &[(PathBuf, Vec<u8>)], b: &[(PathBuf, Vec<u8>)]) -> Vec<String> {
    let mut names: Vec<&PathBuf> = a.iter().chain(b).map(|(p, _)| p).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| {
            a.iter().find(|(p, _)| p == *n).map(|x| &x.1)
                != b.iter().find(|(p, _)| p == *n).map(|x| &x.1)
        })
        .map(|n| n.display().to_string())
        .collect()
}

#[test]
fn kpt_fn_eval_changes_only_the_machineconfig_files() {
    if !common::have(common::Oracle::Kpt) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    package(&dir);
    let before = snapshot(&dir);
    let exec = format!("{MODLAYER} krm");
    let (status, log) = kpt(&[
        "fn",
        "eval",
        dir.to_str().unwrap(),
        "--exec",
        &exec,
        "--",
        "roles=worker,master",
    ]);
    assert_eq!(status, 0, "{log}");
    let after = snapshot(&dir);
    assert_eq!(
        changed(&before, &after),
        [
            "load-sctp-module-master.yaml",
            "load-sctp-module-worker.yaml"
        ],
        "{log}"
    );
    // What was written is a valid MachineConfig (ignition-validate judges its config).
    let mc = std::fs::read_to_string(dir.join("load-sctp-module-worker.yaml")).unwrap();
    if common::have(common::Oracle::IgnitionValidate) {
        let docs = common::yaml11_documents(&mc).unwrap();
        let config = serde_json::to_vec(&docs[0]["spec"]["config"]).unwrap();
        common::ignition_validate(&config).unwrap();
    }
    // A second run changes nothing.
    let (status, log) = kpt(&[
        "fn",
        "eval",
        dir.to_str().unwrap(),
        "--exec",
        &exec,
        "--",
        "roles=worker,master",
    ]);
    assert_eq!(status, 0, "{log}");
    assert!(changed(&after, &snapshot(&dir)).is_empty(), "{log}");
    // modlayer verify of the package agrees.
    let v = common::modlayer()
        .args(["verify", "--role", "worker", "--role", "master"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn kpt_fn_render_runs_the_kptfile_pipeline_and_the_validator() {
    if !common::have(common::Oracle::Kpt) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    package(&dir);
    // A validator alone fails on a package without the MachineConfigs, and writes nothing.
    std::fs::write(dir.join("check.yaml"), "apiVersion: modlayer.dev/v1alpha1\nkind: ModuleLayerCheck\nmetadata:\n  name: check\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec: {}\n").unwrap();
    let kptfile = |with_mutator: bool| {
        let mutator = if with_mutator {
            format!("  mutators:\n    - exec: {MODLAYER_KRM}\n      configPath: sctp.yaml\n")
        } else {
            String::new()
        };
        format!("apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: site-a\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\npipeline:\n{mutator}  validators:\n    - exec: {MODLAYER_KRM}\n      configPath: check.yaml\n")
    };
    std::fs::write(dir.join("Kptfile"), kptfile(false)).unwrap();
    let before = snapshot(&dir);
    let (status, log) = kpt(&["fn", "render", "--allow-exec", dir.to_str().unwrap()]);
    assert_ne!(status, 0, "{log}");
    assert!(log.contains("pool worker"), "{log}");
    assert!(changed(&before, &snapshot(&dir)).is_empty());
    // With the mutator first, the pipeline passes: the validator sees the MachineConfig.
    std::fs::write(dir.join("sctp.yaml"), "apiVersion: modlayer.dev/v1alpha1\nkind: ModuleLayer\nmetadata:\n  name: sctp\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec:\n  roles: [worker]\n").unwrap();
    std::fs::write(dir.join("Kptfile"), kptfile(true)).unwrap();
    let before = snapshot(&dir);
    let (status, log) = kpt(&["fn", "render", "--allow-exec", dir.to_str().unwrap()]);
    assert_eq!(status, 0, "{log}");
    assert_eq!(
        changed(&before, &snapshot(&dir)),
        ["load-sctp-module-worker.yaml"],
        "{log}"
    );
    let again = snapshot(&dir);
    let (status, log) = kpt(&["fn", "render", "--allow-exec", dir.to_str().unwrap()]);
    assert_eq!(status, 0, "{log}");
    assert!(changed(&again, &snapshot(&dir)).is_empty(), "{log}");
}

#[test]
fn kpt_fails_and_writes_nothing_on_a_reblacklist_or_a_bad_function_config() {
    if !common::have(common::Oracle::Kpt) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    package(&dir);
    std::fs::write(dir.join("zz-restore.yaml"), RESTORE_BLACKLIST).unwrap();
    let before = snapshot(&dir);
    let exec = format!("{MODLAYER} krm");
    let (status, log) = kpt(&["fn", "eval", dir.to_str().unwrap(), "--exec", &exec]);
    assert_ne!(status, 0, "{log}");
    assert!(log.contains("zz-restore-sctp-blacklist"), "{log}");
    assert!(changed(&before, &snapshot(&dir)).is_empty());
    std::fs::remove_file(dir.join("zz-restore.yaml")).unwrap();
    let before = snapshot(&dir);
    for bad in [
        "rolez=worker",
        "roles=Worker",
        "module=sc.tp",
        "openshiftVersion=5.0",
        "mode=check",
    ] {
        let (status, log) = kpt(&[
            "fn",
            "eval",
            dir.to_str().unwrap(),
            "--exec",
            &exec,
            "--",
            bad,
        ]);
        assert_ne!(status, 0, "{bad}: {log}");
        let key = bad.split('=').next().unwrap();
        assert!(log.contains(&format!("data.{key}")), "{bad}: {log}");
        assert!(changed(&before, &snapshot(&dir)).is_empty(), "{bad}");
    }
}

#[test]
fn kubectl_kustomize_runs_the_legacy_plugin() {
    if !common::have(common::Oracle::Kubectl) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("plugins");
    let out = Command::new(MODLAYER)
        .args(["kustomize-plugin", "install"])
        .arg(&home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(home
        .join("modlayer.dev/v1alpha1/modulelayer/ModuleLayer")
        .is_file());
    let k = tmp.path().join("site");
    std::fs::create_dir_all(&k).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/krm/machineconfigs/99-worker-chrony.yaml"),
        k.join("chrony.yaml"),
    )
    .unwrap();
    std::fs::write(k.join("sctp.yaml"), "apiVersion: modlayer.dev/v1alpha1\nkind: ModuleLayer\nmetadata:\n  name: sctp\nspec:\n  roles: [worker, master]\n").unwrap();
    std::fs::write(
        k.join("kustomization.yaml"),
        "resources:\n- chrony.yaml\ntransformers:\n- sctp.yaml\n",
    )
    .unwrap();
    let build = || {
        Command::new(common::Oracle::Kubectl.program())
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(&k)
            .env("KUSTOMIZE_PLUGIN_HOME", &home)
            .output()
            .unwrap()
    };
    let first = build();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = build();
    assert_eq!(first.stdout, second.stdout);
    let text = String::from_utf8(first.stdout).unwrap();
    let docs = common::yaml11_documents(&text).unwrap();
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "99-worker-chrony",
            "load-sctp-module-master",
            "load-sctp-module-worker"
        ]
    );
    assert!(
        !text.contains("config.kubernetes.io/"),
        "orchestration annotations: {text}"
    );
    if common::have(common::Oracle::IgnitionValidate) {
        for d in &docs[1..] {
            common::ignition_validate(&serde_json::to_vec(&d["spec"]["config"]).unwrap()).unwrap();
        }
    }
    // A failing verdict fails the build, with the reason on stderr.
    std::fs::write(k.join("restore.yaml"), RESTORE_BLACKLIST).unwrap();
    std::fs::write(
        k.join("kustomization.yaml"),
        "resources:\n- chrony.yaml\n- restore.yaml\ntransformers:\n- sctp.yaml\n",
    )
    .unwrap();
    let failed = build();
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("pool worker: sctp would not be loaded")
            && err.contains("zz-restore-sctp-blacklist"),
        "{err}"
    );
}

#[test]
fn kubectl_skips_exec_functions_silently_which_the_readme_warns_about() {
    if !common::have(common::Oracle::Kubectl) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let k = tmp.path();
    exec_function_kustomization(k);
    let out = Command::new(common::Oracle::Kubectl.program())
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(k)
        .output()
        .unwrap();
    // kubectl's kustomize v5.5 has no --enable-exec: it exits 0 without running the function
    // (no MachineConfig in the output). Should a later kubectl run it, this fails and the README's
    // warning must change.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("name: x") && !text.contains("load-sctp-module-worker"),
        "{text}"
    );
}

#[test]
fn standalone_kustomize_exec_route() {
    let Some(kustomize) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("kustomize"))
            .find(|p| p.is_file())
    }) else {
        eprintln!("SKIP standalone_kustomize_exec_route: no standalone kustomize on PATH (not packaged here)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let k = tmp.path();
    exec_function_kustomization(k);
    let out = Command::new(kustomize)
        .args(["build", "--enable-alpha-plugins", "--enable-exec"])
        .arg(k)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("load-sctp-module-worker"));
}

#[test]
fn machineconfigs_for_newer_releases_pass_ignition_validate() {
    if !common::have(common::Oracle::Kpt) || !common::have(common::Oracle::IgnitionValidate) {
        return;
    }
    // ignition-validate 2.14 reads 3.4.0 as its 3.4.0-experimental schema; 3.5.0 it cannot read.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    package(&dir);
    let exec = format!("{MODLAYER} krm");
    let (status, log) = kpt(&[
        "fn",
        "eval",
        dir.to_str().unwrap(),
        "--exec",
        &exec,
        "--",
        "openshiftVersion=4.14",
    ]);
    assert_eq!(status, 0, "{log}");
    let mc = std::fs::read_to_string(dir.join("load-sctp-module-worker.yaml")).unwrap();
    let docs = common::yaml11_documents(&mc).unwrap();
    assert_eq!(docs[0]["spec"]["config"]["ignition"]["version"], "3.4.0");
    let config = serde_json::to_string(&docs[0]["spec"]["config"])
        .unwrap()
        .replace("\"3.4.0\"", "\"3.4.0-experimental\"");
    common::ignition_validate(config.as_bytes()).unwrap();
}
