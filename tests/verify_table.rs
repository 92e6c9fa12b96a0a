//! The verify table: Ignition configs and MachineConfigs, each with the verdict a node would reach
//! and the finding that explains it. Every case runs the real `modlayer verify --format json`.

mod common;

use std::io::Write;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};

const BL: &str = "/etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";

fn file(path: &str, source: &str) -> Value {
    json!({"path": path, "contents": {"source": source}, "mode": 420, "overwrite": true})
}

fn ign(version: &str, files: Vec<Value>) -> Value {
    json!({"ignition": {"version": version}, "storage": {"files": files}})
}

fn layer_files() -> Vec<Value> {
    vec![file(BL, "data:,"), file(LOAD, "data:,sctp")]
}

fn with(extra: Vec<Value>) -> Value {
    let mut f = layer_files();
    f.extend(extra);
    ign("3.2.0", f)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

use common::hex;

fn data_config(v: &Value) -> String {
    format!("data:;base64,{}", b64(v.to_string().as_bytes()))
}

/// One case: a name, the file's text and extension, extra args, the verdict, and a finding code
/// that must be reported (or "" for none required).
struct Case {
    name: &'static str,
    ext: &'static str,
    text: String,
    args: Vec<&'static str>,
    verdict: Verdict,
    code: &'static str,
}

/// What verify must conclude.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verdict {
    /// Exit 0: the module loads.
    Enabled,
    /// Exit 1: it does not.
    Disabled,
    /// Exit 2: the config is invalid (Ignition or the MCO would refuse it); the message says where.
    Invalid,
}
use Verdict::*;

fn ic(name: &'static str, v: Value, verdict: Verdict, code: &'static str) -> Case {
    Case {
        name,
        ext: "ign",
        text: v.to_string(),
        args: vec![],
        verdict,
        code,
    }
}

fn mc(name: &'static str, text: &str, verdict: Verdict, code: &'static str) -> Case {
    Case {
        name,
        ext: "yaml",
        text: text.to_string(),
        args: vec![],
        verdict,
        code,
    }
}

/// The documentation's MachineConfig.
const DOC_MC: &str = include_str!("../testdata/doc-machineconfig.yaml");

const TELCO_MC: &str = "apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  labels:
    machineconfiguration.openshift.io/role: worker
  name: load-sctp-module
spec:
  config:
    ignition:
      version: 2.2.0
    storage:
      files:
        - contents:
            source: data:,
            verification: {}
          filesystem: root
          mode: 420
          path: /etc/modprobe.d/sctp-blacklist.conf
        - contents:
            source: data:text/plain;charset=utf-8,sctp
          filesystem: root
          mode: 420
          path: /etc/modules-load.d/sctp-load.conf
";

fn mc_named(name: &str, files: &str) -> String {
    format!(
        "apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: {name}
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files:
{files}"
    )
}

fn mc_file(path: &str, source: &str) -> String {
    format!("      - path: {path}\n        mode: 0644\n        overwrite: true\n        contents:\n          source: \"{source}\"\n")
}

fn cases() -> Vec<Case> {
    let sctp_gz = gz(b"sctp");
    let gz_src = format!("data:;base64,{}", b64(&sctp_gz));
    let gz_file = |hash: Option<String>| {
        let mut f = json!({"path": LOAD, "contents": {"source": gz_src, "compression": "gzip"}, "mode": 420, "overwrite": true});
        if let Some(h) = hash {
            f["contents"]["verification"] = json!({"hash": h});
        }
        f
    };
    let blacklist_back = ign("3.2.0", vec![file(BL, "data:,blacklist%20sctp%0A")]);
    let pointer = json!({"ignition": {"version": "3.2.0", "config": {"merge": [{"source": "https://api-int.example.com:22623/config/worker"}]},
        "security": {"tls": {"certificateAuthorities": [{"source": "data:text/plain;charset=utf-8;base64,LS0tLS1CRUdJTg=="}]}}}});
    let mut pointer_patched = pointer.clone();
    pointer_patched["storage"] = json!({"files": layer_files()});
    let mut v = vec![
        ic("documented layer", ign("3.2.0", layer_files()), Enabled, "module-listed"),
        ic("empty config: RHCOS blacklist stays", json!({"ignition": {"version": "3.2.0"}}), Disabled, "module-blacklisted"),
        ic("load file only", ign("3.2.0", vec![file(LOAD, "data:,sctp")]), Disabled, "module-blacklisted"),
        ic("blacklist emptied only", ign("3.2.0", vec![file(BL, "data:,")]), Disabled, "module-not-listed"),
        ic("load file with newline", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:,sctp%0A")]), Enabled, "layer-file-differs"),
        ic("base64 data URL", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:;base64,c2N0cA==")]), Enabled, ""),
        ic("media type with charset", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:text/plain;charset=utf-8,sctp")]), Enabled, ""),
        ic("charset and base64", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:text/plain;charset=utf-8;base64,c2N0cA==")]), Enabled, ""),
        ic("percent escapes", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:,%73%63%74%70")]), Enabled, ""),
        ic("gzip compressed", ign("3.2.0", vec![file(BL, "data:,"), gz_file(None)]), Enabled, ""),
        ic("gzip with sha512 of decompressed bytes", ign("3.2.0", vec![file(BL, "data:,"), gz_file(Some(format!("sha512-{}", hex(&Sha512::digest(b"sctp")))))]), Enabled, ""),
        ic("gzip with hash of compressed bytes", ign("3.2.0", vec![file(BL, "data:,"), gz_file(Some(format!("sha512-{}", hex(&Sha512::digest(&sctp_gz)))))]), Disabled, "bad-contents"),
        ic("sha256 verification (3.2.0)", {
            let mut f = file(LOAD, "data:,sctp");
            f["contents"]["verification"] = json!({"hash": format!("sha256-{}", hex(&Sha256::digest(b"sctp")))});
            ign("3.2.0", vec![file(BL, "data:,"), f])
        }, Enabled, ""),
        ic("wrong sha512", {
            let mut f = file(LOAD, "data:,sctp");
            f["contents"]["verification"] = json!({"hash": format!("sha512-{}", hex(&Sha512::digest(b"sctp\n")))});
            ign("3.2.0", vec![file(BL, "data:,"), f])
        }, Disabled, "bad-contents"),
        ic("blacklist commented out in column 1", ign("3.2.0", vec![file(BL, "data:,%23%20blacklist%20sctp%0A"), file(LOAD, "data:,sctp")]), Enabled, "layer-file-differs"),
        ic("indented comment is still no blacklist", ign("3.2.0", vec![file(BL, "data:,%20%20%23%20blacklist%20sctp%0A"), file(LOAD, "data:,sctp")]), Enabled, ""),
        ic("continued comment swallows the next line", ign("3.2.0", vec![file(BL, "data:,%23%20note%20%5C%0Ablacklist%20sctp%0A"), file(LOAD, "data:,sctp")]), Enabled, ""),
        ic("trailing comment does not disable blacklist", ign("3.2.0", vec![file(BL, "data:,blacklist%20sctp%20%23%20off%0A"), file(LOAD, "data:,sctp")]), Disabled, "module-blacklisted"),
        ic("continuation joins blacklist", ign("3.2.0", vec![file(BL, "data:,black%5C%0Alist%20sctp%0A"), file(LOAD, "data:,sctp")]), Disabled, "module-blacklisted"),
        ic("install /bin/true override", with(vec![file("/etc/modprobe.d/zz-sctp.conf", "data:,install%20sctp%20%2Fbin%2Ftrue%0A")]), Disabled, "install-override"),
        ic("install /bin/false override", with(vec![file("/etc/modprobe.d/a.conf", "data:,install%20sctp%20%2Fbin%2Ffalse")]), Disabled, "install-override"),
        ic("install that still loads", with(vec![file("/etc/modprobe.d/a.conf", "data:,install%20sctp%20%2Fsbin%2Fmodprobe%20--ignore-install%20sctp")]), Enabled, "install-loads"),
        ic("blacklist in another file", with(vec![file("/etc/modprobe.d/other.conf", "data:,blacklist%20sctp")]), Disabled, "module-blacklisted"),
        ic("blacklist of another module", with(vec![file("/etc/modprobe.d/other.conf", "data:,blacklist%20sctp_diag")]), Enabled, ""),
        ic("blacklist in a non-.conf file is ignored", with(vec![file("/etc/modprobe.d/other.conf.bak", "data:,blacklist%20sctp")]), Enabled, ""),
        ic("load list masked by /dev/null", json!({"ignition": {"version": "3.2.0"}, "storage": {"files": [file(BL, "data:,")], "links": [{"path": LOAD, "target": "/dev/null"}]}}), Disabled, "module-not-listed"),
        ic("listed in another modules-load.d file", ign("3.2.0", vec![file(BL, "data:,"), file("/etc/modules-load.d/telco.conf", "data:,8021q%0Asctp%0A")]), Enabled, "layer-file-missing"),
        ic("load list only comments", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:,%23%20sctp%0A%3B%20sctp%0A")]), Disabled, "module-not-listed"),
        ic("load list not named .conf", ign("3.2.0", vec![file(BL, "data:,"), file("/etc/modules-load.d/sctp-load", "data:,sctp")]), Disabled, "module-not-listed"),
        ic("overwrite false over the shipped blacklist", ign("3.2.0", vec![json!({"path": BL, "contents": {"source": "data:,"}, "mode": 420}), file(LOAD, "data:,sctp")]), Disabled, "overwrite-false"),
        ic("no contents keeps the shipped blacklist", ign("3.2.0", vec![json!({"path": BL, "mode": 420}), file(LOAD, "data:,sctp")]), Disabled, "module-blacklisted"),
        ic("overwrite true without a source", ign("3.2.0", vec![json!({"path": BL, "mode": 420, "overwrite": true}), file(LOAD, "data:,sctp")]), Invalid, "overwrite is true"),
        ic("remote source", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "https://example.com/sctp-load.conf")]), Disabled, "remote-source"),
        ic("duplicate entries", ign("3.2.0", vec![file(BL, "data:,"), file(LOAD, "data:,sctp"), file(LOAD, "data:,sctp")]), Invalid, "$.storage.files[2]"),
        ic("mode as a string", ign("3.2.0", vec![file(BL, "data:,"), json!({"path": LOAD, "contents": {"source": "data:,sctp"}, "mode": "0644", "overwrite": true})]), Invalid, "$.storage.files[1].mode"),
        ic("inline merge puts the blacklist back", {
            let mut v = ign("3.2.0", layer_files());
            v["ignition"]["config"] = json!({"merge": [{"source": data_config(&blacklist_back)}]});
            v
        }, Disabled, "module-blacklisted"),
        ic("inline merge supplies the layer", json!({"ignition": {"version": "3.2.0", "config": {"merge": [{"source": data_config(&ign("3.2.0", layer_files()))}]}}}), Enabled, ""),
        ic("inline merge changes only the mode", {
            let mut v = ign("3.2.0", layer_files());
            let child = ign("3.2.0", vec![json!({"path": LOAD, "mode": 384})]);
            v["ignition"]["config"] = json!({"merge": [{"source": data_config(&child)}]});
            v
        }, Enabled, "layer-file-differs"),
        ic("inline replace config", json!({"ignition": {"version": "3.2.0", "config": {"replace": {"source": data_config(&ign("3.2.0", layer_files()))}}}}), Enabled, ""),
        ic("pointer config, unpatched", pointer, Disabled, "remote-config"),
        ic("pointer config, patched", pointer_patched, Enabled, "remote-config"),
        ic("spec 2.2.0, overwrite defaults to true", json!({"ignition": {"version": "2.2.0"}, "storage": {"files": [
            {"filesystem": "root", "path": BL, "contents": {"source": "data:,"}, "mode": 420},
            {"filesystem": "root", "path": LOAD, "contents": {"source": "data:,sctp"}, "mode": 420}]}}), Enabled, ""),
        ic("spec 2.2.0, load file on another filesystem", json!({"ignition": {"version": "2.2.0"}, "storage": {"files": [
            {"filesystem": "root", "path": BL, "contents": {"source": "data:,"}, "mode": 420},
            {"filesystem": "data", "path": LOAD, "contents": {"source": "data:,sctp"}, "mode": 420}]}}), Disabled, "module-not-listed"),
        ic("spec 3.6.0", ign("3.6.0", layer_files()), Enabled, ""),
        ic("mode 0600 still loads", ign("3.2.0", vec![file(BL, "data:,"), json!({"path": LOAD, "contents": {"source": "data:,sctp"}, "mode": 384, "overwrite": true})]), Enabled, "layer-file-differs"),
        mc("documentation MachineConfig (mode: 0644)", DOC_MC, Enabled, "module-listed"),
        mc("telco 2.2.0 MachineConfig", TELCO_MC, Enabled, ""),
        mc("quoted '0644' mode", &DOC_MC.replace("mode: 0644", "mode: '0644'"), Invalid, "quoted"),
        mc("decimal 644 mode", &DOC_MC.replace("mode: 0644", "mode: 644"), Disabled, "mco-mode"),
        mc("kernel argument module_blacklist", &format!("{DOC_MC}  kernelArguments:\n    - module_blacklist=sctp\n"), Disabled, "kernel-arg-module-blacklist"),
        mc("kernel argument modprobe.blacklist", &format!("{DOC_MC}  kernelArguments:\n    - quiet modprobe.blacklist=dccp,sctp\n"), Disabled, "kernel-arg-modprobe-blacklist"),
        mc("later MachineConfig puts the blacklist back", &format!("{DOC_MC}---\n{}", mc_named("zz-restore-blacklist", &mc_file(BL, "data:,blacklist%20sctp"))), Disabled, "module-blacklisted"),
        mc("earlier MachineConfig is overridden", &format!("{}---\n{DOC_MC}", mc_named("00-blacklist", &mc_file(BL, "data:,blacklist%20sctp"))), Enabled, ""),
        mc("install override in another MachineConfig", &format!("{DOC_MC}---\n{}", mc_named("50-install", &mc_file("/etc/modprobe.d/sctp-install.conf", "data:,install%20sctp%20%2Fbin%2Ftrue"))), Disabled, "install-override"),
        mc("remote source in a MachineConfig", &mc_named("load-sctp", &(mc_file(BL, "data:,") + &mc_file(LOAD, "https://example.com/x"))), Disabled, "mco-remote-source"),
        mc("other documents are ignored", &format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: sctpservice\nspec:\n  ports:\n  - protocol: SCTP\n    port: 30102\n---\n{DOC_MC}"), Enabled, ""),
        Case {
            name: "MachineConfig as JSON",
            ext: "json",
            text: json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
                "metadata": {"name": "load-sctp-module", "labels": {"machineconfiguration.openshift.io/role": "worker"}},
                "spec": {"config": ign("3.2.0", layer_files())}}).to_string(),
            args: vec![],
            verdict: Enabled,
            code: "",
        },
        Case {
            name: "dccp layer via --module",
            ext: "ign",
            text: ign("3.2.0", vec![file("/etc/modprobe.d/dccp-blacklist.conf", "data:,"), file("/etc/modules-load.d/dccp-load.conf", "data:,dccp")]).to_string(),
            args: vec!["--module", "dccp"],
            verdict: Enabled,
            code: "",
        },
        Case {
            name: "sctp layer does not make dccp enabled (RHEL CoreOS does not blacklist dccp: nothing loads it)",
            ext: "ign",
            text: ign("3.2.0", layer_files()).to_string(),
            args: vec!["--module", "dccp"],
            verdict: Disabled,
            code: "module-not-listed",
        },
    ];
    v.retain(|c| !c.name.is_empty());
    v
}

#[test]
fn verify_table() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.{}", c.ext));
        std::fs::write(&path, &c.text).unwrap();
        let out = common::modlayer()
            .arg("verify")
            .arg("--format=json")
            .args(&c.args)
            .arg(&path)
            .output()
            .unwrap();
        let want = match c.verdict {
            Enabled => 0,
            Disabled => 1,
            Invalid => 2,
        };
        let report: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{}: no JSON ({e}): {}",
                    c.name,
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        let t = &report["targets"][0];
        let findings = t["findings"].as_array().cloned().unwrap_or_default();
        let codes: Vec<&str> = findings.iter().filter_map(|f| f["code"].as_str()).collect();
        if out.status.code() != Some(want) || t["enabled"] != json!(c.verdict == Enabled) {
            failures.push(format!(
                "{}: exit {:?}, enabled {}, want {want}; findings {codes:?}",
                c.name,
                out.status.code(),
                t["enabled"]
            ));
        } else if c.verdict == Invalid {
            let msg = findings
                .iter()
                .filter_map(|f| f["message"].as_str())
                .collect::<Vec<_>>()
                .join(" ");
            if !msg.contains(c.code) || !msg.contains(&format!("case{i}.{}", c.ext)) {
                failures.push(format!(
                    "{}: message does not name the file and {:?}: {msg}",
                    c.name, c.code
                ));
            }
        } else if !c.code.is_empty() && !codes.contains(&c.code) {
            failures.push(format!("{}: no {} finding in {codes:?}", c.name, c.code));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn quoted_mode_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.yaml");
    std::fs::write(&path, DOC_MC.replacen("mode: 0644", "mode: '0644'", 1)).unwrap();
    let out = common::modlayer()
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("q.yaml:14:17"), "{text}");
    assert!(text.contains("quoted"), "{text}");
}
