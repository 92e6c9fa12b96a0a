//! openshift-install directories: apply by stage (manifests, ignition configs, agent), verify by
//! pool as the MCO renders it, with the real ignition-validate and PyYAML judging what is written.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use modlayer::findings::Severity;
use modlayer::ignition::Spec;
use modlayer::layer::Layer;
use modlayer::mco::inventory::{Inventory, Manifest, PoolChoice};
use modlayer::mco::release::Release;
use modlayer::mco::render::{layer_machineconfig, render_machineconfigs};
use modlayer::report::TargetReport;
use modlayer::targets::installdir::{apply_dir, detect_stage, DirApply, Stage};
use modlayer::targets::{self, ApplyOpts, Dest, Kind, VerifyOpts};

/// Verify an install directory: with `roles`, the reports of those pools; without, of every pool.
fn verify_dir(
    target: &str,
    layer: &Layer,
    roles: &[String],
    release: Option<Release>,
) -> anyhow::Result<Vec<TargetReport>> {
    let opts = VerifyOpts {
        pools: PoolChoice {
            roles: roles.to_vec(),
            all: roles.is_empty(),
        },
        platform: None,
        release,
        files_dir: None,
        base: None,
        live: false,
    };
    modlayer::targets::verify(target, Some(Kind::InstallDir), layer, &opts)
}
use serde_json::{json, Value};

const WORKER_MC: &str = "openshift/99_openshift-machineconfig_load-sctp-module-worker.yaml";
const MASTER_MC: &str = "openshift/99_openshift-machineconfig_load-sctp-module-master.yaml";
const BLACKLIST: &str = "/etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";

use common::sctp;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/install-dirs")
        .join(rel)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A copy of a testdata directory in a fresh tempdir (the copy is `<tmp>/dir`).
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    copy_tree(&testdata(name), &dir);
    (tmp, dir)
}

/// Drop an extras/ manifest into the copy's openshift/.
fn add_extra(dir: &Path, file: &str) {
    std::fs::copy(
        testdata("extras").join(file),
        dir.join("openshift").join(file),
    )
    .unwrap();
}

/// Every file under `dir`: relative path -> (bytes, mtime).
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, (Vec<u8>, SystemTime)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let m = std::fs::metadata(&p).unwrap().modified().unwrap();
                out.insert(rel, (std::fs::read(&p).unwrap(), m));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn opts(roles: &[&str]) -> DirApply {
    DirApply {
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..DirApply::default()
    }
}

fn render(role: &str, spec: &str) -> Vec<u8> {
    render_machineconfigs(
        &sctp(),
        &[role.to_string()],
        None,
        Spec::parse(spec).unwrap(),
    )
    .into_bytes()
}

fn rel_written(dir: &Path, written: &[PathBuf]) -> Vec<String> {
    let abs = dir.canonicalize().unwrap();
    written
        .iter()
        .map(|p| {
            assert!(p.is_absolute(), "{}", p.display());
            p.strip_prefix(&abs).unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

fn verify(dir: &Path, roles: &[&str]) -> Vec<TargetReport> {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    verify_dir(dir.to_str().unwrap(), &sctp(), &roles, None).unwrap()
}

fn pool<'a>(reports: &'a [TargetReport], name: &str) -> &'a TargetReport {
    reports
        .iter()
        .find(|r| r.role.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no report for pool {name}: {reports:#?}"))
}

/// The origin of the layer file at `path` in a pool's report.
fn origin_of(r: &TargetReport, path: &str) -> String {
    r.files
        .iter()
        .find(|c| c.path == path)
        .and_then(|c| c.origin.as_ref())
        .map(|o| o.to_string())
        .unwrap_or_default()
}

fn errors(r: &TargetReport) -> Vec<(String, String)> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| {
            let origin = f.origin.as_ref().map(|o| o.to_string());
            (f.code.to_string(), origin.unwrap_or_default())
        })
        .collect()
}

#[test]
fn stages_are_detected() {
    assert_eq!(
        detect_stage(&testdata("standard")).unwrap(),
        Stage::Manifests
    );
    assert_eq!(
        detect_stage(&testdata("install-config-only")).unwrap(),
        Stage::InstallConfigOnly
    );
    assert_eq!(detect_stage(&testdata("agent")).unwrap(), Stage::Agent);
    let (_t, dir) = bootstrap_dir("standard");
    assert_eq!(detect_stage(&dir).unwrap(), Stage::IgnitionConfigs);
    assert!(detect_stage(&testdata("extras")).is_err());
}

#[test]
fn standard_cluster_gets_a_worker_machineconfig_only() {
    let (_t, dir) = copy_of("standard");
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert_eq!(rel_written(&dir, &ch.written), [WORKER_MC]);
    assert_eq!(
        std::fs::read(dir.join(WORKER_MC)).unwrap(),
        render("worker", "3.2.0")
    );
    assert!(!dir.join(MASTER_MC).exists());
    assert!(ch.warnings.is_empty(), "{:?}", ch.warnings);
    let reports = verify(&dir, &[]);
    let names: Vec<_> = reports.iter().map(|r| r.role.clone().unwrap()).collect();
    assert_eq!(names, ["master", "worker"]);
    let worker = pool(&reports, "worker");
    assert!(worker.enabled, "{:#?}", worker.findings);
    assert!(worker.identical);
    assert_eq!(worker.kind, "install-dir");
    for path in [BLACKLIST, LOAD] {
        assert!(
            origin_of(worker, path).starts_with(&format!(
                "{WORKER_MC} > MachineConfig load-sctp-module-worker $"
            )),
            "{path}: {}",
            origin_of(worker, path)
        );
    }
    assert!(!pool(&reports, "master").enabled);
}

#[test]
fn compact_cluster_gets_master_and_worker() {
    let (_t, dir) = copy_of("compact");
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert_eq!(rel_written(&dir, &ch.written), [WORKER_MC, MASTER_MC]);
    assert_eq!(
        std::fs::read(dir.join(MASTER_MC)).unwrap(),
        render("master", "3.2.0")
    );
    assert!(
        ch.notes.iter().any(|n| n.contains("mastersSchedulable")),
        "{:?}",
        ch.notes
    );
    for r in verify(&dir, &[]) {
        assert!(r.enabled, "{:?}: {:#?}", r.role, r.findings);
    }
}

#[test]
fn no_workers_in_the_kept_install_config_means_master_too() {
    let (_t, dir) = copy_of("compact");
    let sched = dir.join("manifests/cluster-scheduler-02-config.yml");
    let text = std::fs::read_to_string(&sched).unwrap();
    std::fs::write(
        &sched,
        text.replace("mastersSchedulable: true", "mastersSchedulable: false"),
    )
    .unwrap();
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert_eq!(rel_written(&dir, &ch.written), [WORKER_MC, MASTER_MC]);
    assert!(
        ch.notes.iter().any(|n| n.contains("no workers")),
        "{:?}",
        ch.notes
    );
}

#[test]
fn roles_given_override_the_defaults() {
    let (_t, dir) = copy_of("compact");
    let ch = apply_dir(&dir, &sctp(), &opts(&["worker"])).unwrap();
    assert_eq!(rel_written(&dir, &ch.written), [WORKER_MC]);
    assert!(apply_dir(&dir, &sctp(), &opts(&["../evil"])).is_err());
}

#[test]
fn install_config_only_is_refused_and_nothing_written() {
    let (_t, dir) = copy_of("install-config-only");
    let before = snapshot(&dir);
    let e = format!(
        "{:#}",
        apply_dir(&dir, &sctp(), &DirApply::default()).unwrap_err()
    );
    assert!(e.contains("openshift-install create manifests"), "{e}");
    assert_eq!(snapshot(&dir), before);
    assert!(verify_dir(dir.to_str().unwrap(), &sctp(), &[], None).is_err());
}

#[test]
fn a_later_named_blacklist_wins_and_is_named() {
    let (_t, dir) = copy_of("standard");
    add_extra(
        &dir,
        "99_openshift-machineconfig_restore-sctp-blacklist.yaml",
    );
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert!(
        ch.warnings
            .iter()
            .any(|w| w.contains("restore-sctp-blacklist")),
        "{:?}",
        ch.warnings
    );
    let worker = verify(&dir, &["worker"]).remove(0);
    assert!(!worker.enabled);
    assert!(
        origin_of(&worker, BLACKLIST).contains("> MachineConfig restore-sctp-blacklist $"),
        "{}",
        origin_of(&worker, BLACKLIST)
    );
    assert!(
        errors(&worker)
            .iter()
            .any(|(_, o)| o.contains("restore-sctp-blacklist")),
        "{:#?}",
        worker.findings
    );
    // The load list still comes from modlayer's MachineConfig.
    assert!(origin_of(&worker, LOAD).contains("> MachineConfig load-sctp-module-worker $"));
}

#[test]
fn an_earlier_named_blacklist_is_overridden() {
    let (_t, dir) = copy_of("standard");
    add_extra(
        &dir,
        "99_openshift-machineconfig_00-early-sctp-blacklist.yaml",
    );
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let worker = verify(&dir, &["worker"]).remove(0);
    assert!(worker.enabled, "{:#?}", worker.findings);
    assert!(origin_of(&worker, BLACKLIST).contains("> MachineConfig load-sctp-module-worker $"));
    // Without modlayer's MachineConfig the early one decides.
    let (_t2, bare) = copy_of("standard");
    add_extra(
        &bare,
        "99_openshift-machineconfig_00-early-sctp-blacklist.yaml",
    );
    let w = verify(&bare, &["worker"]).remove(0);
    assert!(!w.enabled);
    assert!(origin_of(&w, BLACKLIST).contains("> MachineConfig 00-early-sctp-blacklist $"));
}

#[test]
fn install_true_in_another_machineconfig_keeps_sctp_off() {
    let (_t, dir) = copy_of("standard");
    add_extra(&dir, "99_openshift-machineconfig_50-sctp-install-true.yaml");
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let worker = verify(&dir, &["worker"]).remove(0);
    assert!(!worker.enabled);
    let e = errors(&worker);
    assert!(
        e.iter().any(|(c, o)| c == "install-override"
            && o.contains("> MachineConfig 50-sctp-install-true $")),
        "{e:?}"
    );
    // The layer files themselves are in place.
    assert!(worker.identical);
}

#[test]
fn a_remote_source_is_an_error() {
    let (_t, dir) = copy_of("standard");
    add_extra(&dir, "99_openshift-machineconfig_60-remote-modprobe.yaml");
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let worker = verify(&dir, &["worker"]).remove(0);
    assert!(!worker.enabled);
    let e = errors(&worker);
    assert!(
        e.iter()
            .any(|(c, o)| c == "mco-remote-source" && o.contains("60-remote-modprobe")),
        "{e:?}"
    );
}

#[test]
fn a_machineconfig_without_role_is_an_error() {
    let (_t, dir) = copy_of("standard");
    add_extra(&dir, "99_openshift-machineconfig_70-no-role.yaml");
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let worker = verify(&dir, &["worker"]).remove(0);
    assert!(
        errors(&worker)
            .iter()
            .any(|(c, o)| c == "machineconfig-no-role" && o.contains("70-no-role")),
        "{:#?}",
        worker.findings
    );
}

#[test]
fn duplicate_names_with_different_content_name_both_files() {
    let (_t, dir) = copy_of("standard");
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let other = String::from_utf8(render("worker", "3.2.0"))
        .unwrap()
        .replace("data:,sctp", "data:,sctp%0A");
    std::fs::write(dir.join("openshift/zz-copy.yaml"), other).unwrap();
    let worker = verify(&dir, &["worker"]).remove(0);
    let f = worker
        .findings
        .iter()
        .find(|f| f.code == "duplicate-machineconfig")
        .unwrap_or_else(|| panic!("{:#?}", worker.findings));
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.message.contains(WORKER_MC) && f.message.contains("openshift/zz-copy.yaml"),
        "{}",
        f.message
    );
}

#[test]
fn a_custom_pool_renders_worker_configs_first() {
    let (_t, dir) = copy_of("standard");
    add_extra(&dir, "infra-machineconfigpool.yaml");
    add_extra(&dir, "99_openshift-machineconfig_00-infra-chrony.yaml");
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let manifests = modlayer::targets::installdir::read_dir_manifests(&dir).unwrap();
    let inv = Inventory::read(&manifests);
    assert_eq!(
        inv.render_order("infra"),
        [
            "99-worker-ssh",
            "load-sctp-module-worker",
            "00-infra-chrony"
        ]
    );
    let reports = verify(&dir, &[]);
    let names: Vec<_> = reports.iter().map(|r| r.role.clone().unwrap()).collect();
    assert_eq!(names, ["master", "worker", "infra"]);
    let infra = pool(&reports, "infra");
    assert!(infra.enabled, "{:#?}", infra.findings);
    assert!(origin_of(infra, LOAD).contains("> MachineConfig load-sctp-module-worker $"));
}

#[test]
fn role_infra_writes_an_infra_machineconfig_that_wins_in_its_pool() {
    let (_t, dir) = copy_of("standard");
    add_extra(&dir, "infra-machineconfigpool.yaml");
    add_extra(
        &dir,
        "99_openshift-machineconfig_restore-sctp-blacklist.yaml",
    );
    let ch = apply_dir(&dir, &sctp(), &opts(&["infra"])).unwrap();
    let infra_file = "openshift/99_openshift-machineconfig_load-sctp-module-infra.yaml";
    assert_eq!(rel_written(&dir, &ch.written), [infra_file]);
    assert_eq!(
        std::fs::read(dir.join(infra_file)).unwrap(),
        render("infra", "3.2.0")
    );
    let reports = verify(&dir, &["infra", "worker"]);
    let infra = pool(&reports, "infra");
    // The pool's own MachineConfigs come after every worker one: the infra one wins over the
    // later-named worker blacklist.
    assert!(infra.enabled, "{:#?}", infra.findings);
    assert!(origin_of(infra, BLACKLIST).contains("> MachineConfig load-sctp-module-infra $"));
    assert!(!pool(&reports, "worker").enabled);
    assert!(verify_dir(dir.to_str().unwrap(), &sctp(), &["gpu".into()], None).is_err());
}

#[test]
fn an_unknown_role_warns_on_apply() {
    let (_t, dir) = copy_of("standard");
    let ch = apply_dir(&dir, &sctp(), &opts(&["infra"])).unwrap();
    assert!(
        ch.warnings
            .iter()
            .any(|w| w.contains("no MachineConfigPool selects role infra")),
        "{:?}",
        ch.warnings
    );
}

#[test]
fn rerun_changes_nothing() {
    let (_t, dir) = copy_of("compact");
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let before = snapshot(&dir);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn dry_run_writes_nothing_and_lists_what_would_be_written() {
    let (_t, dir) = copy_of("compact");
    let before = snapshot(&dir);
    let ch = apply_dir(
        &dir,
        &sctp(),
        &DirApply {
            dry_run: true,
            ..DirApply::default()
        },
    )
    .unwrap();
    assert_eq!(rel_written(&dir, &ch.written), [WORKER_MC, MASTER_MC]);
    assert_eq!(snapshot(&dir), before);
    // Same for the agent and bootstrap stages.
    let (_t2, agent) = copy_of("agent");
    let before = snapshot(&agent);
    let dry = DirApply {
        dry_run: true,
        ..DirApply::default()
    };
    assert_eq!(apply_dir(&agent, &sctp(), &dry).unwrap().written.len(), 2);
    assert_eq!(snapshot(&agent), before);
    assert!(!agent.join("openshift").exists());
    let (_t3, boot) = bootstrap_dir("standard");
    let before = snapshot(&boot);
    let ch = apply_dir(&boot, &sctp(), &dry).unwrap();
    assert_eq!(rel_written(&boot, &ch.written), ["bootstrap.ign"]);
    assert_eq!(snapshot(&boot), before);
}

#[test]
fn openshift_version_picks_the_spec_and_is_checked() {
    let (_t, dir) = copy_of("standard");
    let o = DirApply {
        release: Some(Release::four(14)),
        ..DirApply::default()
    };
    apply_dir(&dir, &sctp(), &o).unwrap();
    assert_eq!(
        std::fs::read(dir.join(WORKER_MC)).unwrap(),
        render("worker", "3.4.0")
    );
    let target = dir.to_str().unwrap();
    let ok = verify_dir(target, &sctp(), &["worker".into()], Some(Release::four(14))).unwrap();
    assert!(ok[0].enabled, "{:#?}", ok[0].findings);
    let old = verify_dir(target, &sctp(), &["worker".into()], Some(Release::four(12))).unwrap();
    assert!(!old[0].enabled);
    assert!(
        errors(&old[0])
            .iter()
            .any(|(c, o)| c == "ignition-spec-unsupported" && o.contains("load-sctp-module-worker")),
        "{:#?}",
        old[0].findings
    );
}

#[test]
fn agent_directory_gets_machineconfigs_in_openshift() {
    let (_t, dir) = copy_of("agent");
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    // install-config.yaml has compute replicas 0: masters run workloads.
    assert_eq!(rel_written(&dir, &ch.written), [WORKER_MC, MASTER_MC]);
    assert_eq!(
        std::fs::read(dir.join(WORKER_MC)).unwrap(),
        render("worker", "3.2.0")
    );
    for r in verify(&dir, &[]) {
        assert!(r.enabled, "{:?}: {:#?}", r.role, r.findings);
    }
    let again = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert!(again.written.is_empty());
}

#[test]
fn every_machineconfig_written_reads_in_pyyaml_and_validates() {
    if !common::have(common::Oracle::PyYaml) || !common::have(common::Oracle::IgnitionValidate) {
        return;
    }
    let (_t, dir) = copy_of("compact");
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert_eq!(ch.written.len(), 2);
    for p in &ch.written {
        let text = std::fs::read_to_string(p).unwrap();
        let docs = common::yaml11_documents(&text).unwrap();
        assert_eq!(docs.len(), 1, "{}", p.display());
        let config = docs[0].pointer("/spec/config").unwrap();
        assert_eq!(config.pointer("/storage/files/0/mode"), Some(&json!(420)));
        let bytes = serde_json::to_vec(config).unwrap();
        if let Err(e) = common::ignition_validate(&bytes) {
            panic!("{}: {e}", p.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ignition-configs stage
// ---------------------------------------------------------------------------------------------

fn data_url(bytes: &[u8]) -> String {
    format!(
        "data:text/plain;charset=utf-8;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A bootstrap.ign as the installer makes it: spec 3.2.0, every manifest as a root-owned file
/// under /opt/openshift/{manifests,openshift}/ with a base64 data URL (one gzip-compressed), plus
/// a script, a unit and core's key.
fn build_bootstrap(manifest_dir: &Path) -> Vec<u8> {
    let mut files = vec![json!({
        "overwrite": true,
        "path": "/usr/local/bin/bootkube.sh",
        "user": {"name": "root"},
        "contents": {"source": data_url(b"#!/usr/bin/env bash\nset -euoE pipefail\necho bootkube\n")},
        "mode": 365
    })];
    for sub in ["manifests", "openshift"] {
        let mut names: Vec<_> = std::fs::read_dir(manifest_dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(manifest_dir.join(sub).join(&name)).unwrap();
            let mut contents = json!({"source": data_url(&bytes)});
            if name == "cluster-dns-02-config.yml" {
                use std::io::Write;
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(&bytes).unwrap();
                let z = gz.finish().unwrap();
                contents = json!({"compression": "gzip", "source": format!("data:;base64,{}", base64::engine::general_purpose::STANDARD.encode(z))});
            }
            files.push(json!({
                "overwrite": true,
                "path": format!("/opt/openshift/{sub}/{name}"),
                "user": {"name": "root"},
                "contents": contents,
                "mode": 420
            }));
        }
    }
    let config = json!({
        "ignition": {"version": "3.2.0"},
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHUGW9l2Dg3c1Cj4xxKmFKqGZf6JHbIhcQfDeOdS0f8v admin@example.com"]}]},
        "storage": {"files": files},
        "systemd": {"units": [{"name": "bootkube.service", "contents": "[Unit]\nDescription=Bootstrap a Kubernetes cluster\n[Service]\nExecStart=/usr/local/bin/bootkube.sh\n"}]}
    });
    serde_json::to_vec(&config).unwrap()
}

fn pointer(role: &str) -> Vec<u8> {
    format!(
        "{{\"ignition\":{{\"config\":{{\"merge\":[{{\"source\":\"https://api-int.ocp4.example.com:22623/config/{role}\"}}]}},\"security\":{{\"tls\":{{\"certificateAuthorities\":[{{\"source\":\"data:text/plain;charset=utf-8;base64,LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUR=\"}}]}}}},\"version\":\"3.2.0\"}}}}"
    )
    .into_bytes()
}

/// An ignition-configs stage directory built from a testdata directory's manifests.
fn bootstrap_dir(from: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bootstrap.ign"), build_bootstrap(&testdata(from))).unwrap();
    std::fs::write(dir.join("master.ign"), pointer("master")).unwrap();
    std::fs::write(dir.join("worker.ign"), pointer("worker")).unwrap();
    std::fs::write(
        dir.join("metadata.json"),
        b"{\"clusterName\":\"ocp4\",\"infraID\":\"ocp4-x7k2p\"}",
    )
    .unwrap();
    (tmp, dir)
}

/// The bytes of a file entry of an Ignition config (data URL decoded).
fn ign_file(config: &[u8], path: &str) -> Option<Vec<u8>> {
    let v: Value = serde_json::from_slice(config).unwrap();
    let f = v["storage"]["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)?
        .clone();
    assert_eq!(f["mode"], json!(420), "{f}");
    assert_eq!(f["overwrite"], json!(true), "{f}");
    let src = f["contents"]["source"].as_str()?;
    Some(modlayer::formats::encoding::decode_data_url(src).unwrap())
}

#[test]
fn bootstrap_ign_carries_the_machineconfigs_and_validates() {
    let (_t, dir) = bootstrap_dir("compact");
    let master_before = std::fs::read(dir.join("master.ign")).unwrap();
    let worker_before = std::fs::read(dir.join("worker.ign")).unwrap();
    let ch = apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    assert_eq!(rel_written(&dir, &ch.written), ["bootstrap.ign"]);
    let boot = std::fs::read(dir.join("bootstrap.ign")).unwrap();
    for role in ["worker", "master"] {
        let path = format!(
            "/opt/openshift/openshift/99_openshift-machineconfig_load-sctp-module-{role}.yaml"
        );
        assert_eq!(
            ign_file(&boot, &path),
            Some(render(role, "3.2.0")),
            "{path}"
        );
    }
    assert_eq!(
        std::fs::read(dir.join("master.ign")).unwrap(),
        master_before
    );
    assert_eq!(
        std::fs::read(dir.join("worker.ign")).unwrap(),
        worker_before
    );
    for r in verify(&dir, &[]) {
        assert!(r.enabled, "{:?}: {:#?}", r.role, r.findings);
        assert!(
            origin_of(&r, BLACKLIST).contains("> MachineConfig load-sctp-module-"),
            "{}",
            origin_of(&r, BLACKLIST)
        );
    }
    let before = snapshot(&dir);
    assert!(apply_dir(&dir, &sctp(), &DirApply::default())
        .unwrap()
        .written
        .is_empty());
    assert_eq!(snapshot(&dir), before);
    if common::have(common::Oracle::IgnitionValidate) {
        if let Err(e) = common::ignition_validate(&boot) {
            panic!("{e}");
        }
    }
}

#[test]
fn bootstrap_ign_keeps_its_other_bytes() {
    let (_t, dir) = bootstrap_dir("standard");
    let before = std::fs::read(dir.join("bootstrap.ign")).unwrap();
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let after = std::fs::read(dir.join("bootstrap.ign")).unwrap();
    // Only an entry is added at the end of storage.files: the text before it is untouched.
    let files_end = {
        let v: Value = serde_json::from_slice(&before).unwrap();
        let last = v["storage"]["files"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .to_string();
        let at = String::from_utf8_lossy(&before).find(&last).unwrap();
        at + last.len()
    };
    assert_eq!(&after[..files_end], &before[..files_end]);
    let v: Value = serde_json::from_slice(&after).unwrap();
    let before_v: Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(
        v["storage"]["files"].as_array().unwrap().len(),
        before_v["storage"]["files"].as_array().unwrap().len() + 1
    );
    assert_eq!(v["systemd"], before_v["systemd"]);
}

#[test]
fn bootstrap_stage_later_blacklist_is_found_inside_bootstrap_ign() {
    let (_t, src) = copy_of("standard");
    add_extra(
        &src,
        "99_openshift-machineconfig_restore-sctp-blacklist.yaml",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bootstrap.ign"), build_bootstrap(&src)).unwrap();
    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let worker = verify(&dir, &["worker"]).remove(0);
    assert!(!worker.enabled);
    assert_eq!(
        origin_of(&worker, BLACKLIST).split(" $").next().unwrap(),
        "bootstrap.ign > /opt/openshift/openshift/99_openshift-machineconfig_restore-sctp-blacklist.yaml > MachineConfig restore-sctp-blacklist"
    );
}

/// bootstrap.ign already holds the layer's MachineConfig, as its owner edited it (a comment, a
/// kernel argument of theirs, the load list gone): apply patches that manifest inside the config
/// as it patches the same file on its own (byte for byte), and nothing else of bootstrap.ign
/// changes but that entry.
#[test]
fn a_manifest_inside_bootstrap_ign_is_patched_as_a_file_of_its_own() {
    let (_t, src) = copy_of("standard");
    let edited = "# site: DU workers, reviewed by net-team
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  labels:
    machineconfiguration.openshift.io/role: worker
  name: load-sctp-module-worker
spec:
  kernelArguments:
  - nosmt
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
      - path: /etc/modprobe.d/sctp-blacklist.conf
        contents:
          source: data:,
        mode: 420
        overwrite: true
";
    let name = "99_openshift-machineconfig_load-sctp-module-worker.yaml";
    std::fs::write(src.join("openshift").join(name), edited).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bootstrap.ign"), build_bootstrap(&src)).unwrap();
    let before = std::fs::read(dir.join("bootstrap.ign")).unwrap();
    assert!(!verify(&dir, &["worker"]).remove(0).enabled);

    apply_dir(&dir, &sctp(), &DirApply::default()).unwrap();
    let after = std::fs::read(dir.join("bootstrap.ign")).unwrap();
    let path = format!("/opt/openshift/openshift/{name}");
    let inner = ign_file(&after, &path).unwrap();
    // The same as apply on that file alone.
    let alone = tempfile::tempdir().unwrap();
    let file = alone.path().join(name);
    std::fs::write(&file, edited).unwrap();
    let a = targets::apply(
        file.to_str().unwrap(),
        None,
        &sctp(),
        &ApplyOpts {
            roles: vec!["worker".into()],
            ..ApplyOpts::to(Dest::Buffer)
        },
    )
    .unwrap();
    assert_eq!(Some(inner.clone()), a.output);
    let text = String::from_utf8(inner).unwrap();
    assert!(
        text.starts_with("# site: DU workers, reviewed by net-team\n"),
        "{text}"
    );
    assert!(text.contains("- nosmt"), "{text}");
    assert!(text.contains("sctp-load.conf"), "{text}");
    // Every other entry of bootstrap.ign is as it was.
    let others = |b: &[u8]| -> Value {
        let mut v: Value = serde_json::from_slice(b).unwrap();
        v["storage"]["files"]
            .as_array_mut()
            .unwrap()
            .retain(|f| f["path"] != path.as_str());
        v
    };
    assert_eq!(others(&after), others(&before));
    assert!(verify(&dir, &["worker"]).remove(0).enabled);
}

#[test]
fn patch_pointers_patches_master_and_worker_ign_too() {
    let (_t, dir) = bootstrap_dir("compact");
    let o = DirApply {
        patch_pointers: true,
        ..DirApply::default()
    };
    let ch = apply_dir(&dir, &sctp(), &o).unwrap();
    assert_eq!(
        rel_written(&dir, &ch.written),
        ["bootstrap.ign", "master.ign", "worker.ign"]
    );
    assert!(
        ch.warnings.iter().any(|w| w.contains("pointer config")),
        "{:?}",
        ch.warnings
    );
    let worker = std::fs::read(dir.join("worker.ign")).unwrap();
    assert_eq!(ign_file(&worker, LOAD), Some(b"sctp".to_vec()));
    assert_eq!(ign_file(&worker, BLACKLIST), Some(Vec::new()));
    if common::have(common::Oracle::IgnitionValidate) {
        if let Err(e) = common::ignition_validate(&worker) {
            panic!("{e}");
        }
    }
}

#[test]
fn inventory_reads_json_and_multi_document_manifests() {
    let mc = String::from_utf8(render("worker", "3.2.0")).unwrap();
    let json_mc = serde_json::to_vec(&layer_machineconfig(
        &sctp(),
        "master",
        "load-sctp-module-master",
        Spec::parse("3.2.0").unwrap(),
    ))
    .unwrap();
    let multi = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\n{mc}");
    let inv = Inventory::read(&[
        Manifest::file("openshift/multi.yaml", multi.into_bytes()),
        Manifest::file("openshift/m.json", json_mc),
    ]);
    assert_eq!(
        inv.machineconfig_names(),
        ["load-sctp-module-worker", "load-sctp-module-master"]
    );
    let bad = Inventory::read(&[Manifest::file(
        "openshift/bad.yaml",
        b"kind: MachineConfig\nmetadata: [\n".to_vec(),
    )]);
    assert!(
        bad.findings[0].message.starts_with("openshift/bad.yaml:"),
        "{:?}",
        bad.findings
    );
}

// ---------------------------------------------------------------------------------------------
// The command line (waiting for the install-dir wiring in src/cli.rs)
// ---------------------------------------------------------------------------------------------

#[test]
fn cli_apply_and_verify_an_install_dir() {
    let (_t, dir) = copy_of("compact");
    let d = dir.to_str().unwrap();
    common::run_modlayer(["apply", d]).unwrap_or_else(|t| panic!("{t}"));
    assert_eq!(
        std::fs::read(dir.join(WORKER_MC)).unwrap(),
        render("worker", "3.2.0")
    );
    let out =
        common::run_modlayer(["verify", d, "--format", "json"]).unwrap_or_else(|t| panic!("{t}"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = v["targets"].as_array().unwrap();
    // Compute replicas 0: master is judged, the worker pool has no nodes (issue 21).
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["role"], "master");
    for t in targets {
        assert_eq!(t["kind"], "install-dir");
        assert_eq!(t["target"], d);
        assert_eq!(t["enabled"], true);
    }
}

#[test]
fn cli_verify_exits_1_naming_the_later_blacklist() {
    let (_t, dir) = copy_of("standard");
    add_extra(
        &dir,
        "99_openshift-machineconfig_restore-sctp-blacklist.yaml",
    );
    let d = dir.to_str().unwrap();
    common::run_modlayer(["apply", d]).unwrap_or_else(|t| panic!("{t}"));
    let mut cmd = common::modlayer();
    cmd.args(["verify", d, "--role", "worker"]);
    let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    assert_eq!(ran.status.code(), Some(1), "{}", ran.transcript());
    assert!(
        String::from_utf8_lossy(&ran.stdout).contains("restore-sctp-blacklist"),
        "{}",
        ran.transcript()
    );
}

#[test]
fn cli_install_config_only_exits_2_and_writes_nothing() {
    let (_t, dir) = copy_of("install-config-only");
    let before = snapshot(&dir);
    let mut cmd = common::modlayer();
    cmd.args(["apply", dir.to_str().unwrap()]);
    let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    assert_eq!(ran.status.code(), Some(2), "{}", ran.transcript());
    assert!(
        String::from_utf8_lossy(&ran.stderr).contains("openshift-install create manifests"),
        "{}",
        ran.transcript()
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn cli_dry_run_on_an_install_dir_writes_nothing() {
    let (_t, dir) = copy_of("standard");
    let before = snapshot(&dir);
    let out = common::run_modlayer(["apply", "--dry-run", dir.to_str().unwrap()])
        .unwrap_or_else(|t| panic!("{t}"));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("load-sctp-module-worker")
            || String::from_utf8_lossy(&out.stderr).contains("load-sctp-module-worker"),
        "{}",
        out.transcript()
    );
    assert_eq!(snapshot(&dir), before);
}

/// Disks, filesystems, RAID and LUKS are install-time Butane features: in an install directory's
/// manifests (here real Butane's translation of an openshift `boot_device.luks` source, the
/// documented install-time disk encryption) the MCO does not refuse them; as a day-2
/// MachineConfig it does.
#[test]
fn luks_and_filesystems_are_install_time_features() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/butane-diff/gen/boot-luks-openshift-4.14.0.butane.json");
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
    let mc = golden["plain"]["stdout"].as_str().unwrap();
    assert!(mc.contains("luks:") && mc.contains("filesystems:"), "{mc}");
    let (_t, dir) = copy_of("standard");
    let manifest = dir.join("openshift/99_openshift-machineconfig_99-master-luks.yaml");
    std::fs::write(&manifest, mc).unwrap();
    let master = verify(&dir, &["master"]).remove(0);
    let codes = errors(&master);
    assert!(
        !codes.iter().any(|(c, _)| c == "mco-unsupported"),
        "{codes:?}"
    );
    assert!(master.enabled, "{:#?}", master.findings);
    // The same MachineConfig alone, as a day-2 change: refused.
    let mut cmd = common::modlayer();
    cmd.arg("verify").arg(&manifest);
    let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    assert_eq!(ran.status.code(), Some(1), "{}", ran.transcript());
    assert!(
        ran.transcript().contains("the MCO refuses luks"),
        "{}",
        ran.transcript()
    );
}
