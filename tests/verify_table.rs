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

/// A systemd unit of an Ignition config: `contents` a service running `exec` (WantedBy `wanted`
/// when given), `enabled` when given.
fn unit(name: &str, exec: &str, wanted: Option<&str>, enabled: Option<bool>) -> Value {
    let install = wanted
        .map(|t| format!("[Install]\nWantedBy={t}\n"))
        .unwrap_or_default();
    let mut u = json!({"name": name, "contents": format!("[Unit]\nDescription=load a module\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart={exec}\n{install}")});
    if let Some(e) = enabled {
        u["enabled"] = json!(e);
    }
    u
}

/// An Ignition 3.2.0 config with these files and units.
fn ign_units(files: Vec<Value>, units: Vec<Value>) -> Value {
    json!({"ignition": {"version": "3.2.0"}, "storage": {"files": files}, "systemd": {"units": units}})
}

/// The usual loading unit: `modprobe ARGS`, WantedBy multi-user.target, enabled.
fn modprobe_unit(args: &str) -> Value {
    unit(
        "load-sctp.service",
        &format!("/usr/sbin/modprobe {args}"),
        Some("multi-user.target"),
        Some(true),
    )
}

fn case(
    name: &'static str,
    v: Value,
    args: Vec<&'static str>,
    verdict: Verdict,
    code: &'static str,
) -> Case {
    Case {
        name,
        ext: "ign",
        text: v.to_string(),
        args,
        verdict,
        code,
    }
}

/// A MachineConfig (worker) with this spec.config.
fn mc_config(name: &str, config: &Value) -> String {
    json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
        "metadata": {"name": name, "labels": {"machineconfiguration.openshift.io/role": "worker"}},
        "spec": {"config": config}})
    .to_string()
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
        ic("listed in another modules-load.d file", ign("3.2.0", vec![file(BL, "data:,"), file("/etc/modules-load.d/telco.conf", "data:,8021q%0Asctp%0A")]), Enabled, "layer-file-elsewhere"),
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
        // systemd units that load or remove the module (the RHEL blacklist kept unless said).
        case("unit: modprobe sctp, blacklist kept", ign_units(vec![], vec![modprobe_unit("sctp")]), vec![], Enabled, "unit-loads"),
        case("unit: the blacklist is bypassed, not ignored", ign_units(vec![], vec![modprobe_unit("sctp")]), vec![], Enabled, "block-bypassed"),
        case("unit: modprobe -b applies the blacklist", ign_units(vec![], vec![modprobe_unit("-b sctp")]), vec![], Disabled, "module-blacklisted"),
        case("unit: modprobe --use-blacklist", ign_units(vec![], vec![modprobe_unit("--use-blacklist sctp")]), vec![], Disabled, "module-blacklisted"),
        case("unit: modprobe -b with the blacklist emptied", ign_units(vec![file(BL, "data:,")], vec![modprobe_unit("-b sctp")]), vec![], Enabled, "unit-loads"),
        case("unit: install /bin/true stops modprobe", ign_units(vec![file("/etc/modprobe.d/sctp-install.conf", "data:,install%20sctp%20%2Fbin%2Ftrue")], vec![modprobe_unit("sctp")]), vec![], Disabled, "install-override"),
        case("unit: modprobe -i ignores install", ign_units(vec![file("/etc/modprobe.d/sctp-install.conf", "data:,install%20sctp%20%2Fbin%2Ftrue")], vec![modprobe_unit("-i sctp")]), vec![], Enabled, "unit-loads"),
        case("unit: insmod ignores modprobe.d", ign_units(vec![file("/etc/modprobe.d/sctp-install.conf", "data:,install%20sctp%20%2Fbin%2Ftrue")], vec![unit("i.service", "/usr/sbin/insmod /usr/lib/modules/5.14.0/kernel/net/sctp/sctp.ko.xz", Some("multi-user.target"), Some(true))]), vec![], Enabled, "unit-loads"),
        case("unit: -a list", ign_units(vec![], vec![modprobe_unit("-a 8021q sctp")]), vec![], Enabled, "unit-loads"),
        case("unit: module parameters after the name", ign_units(vec![], vec![modprobe_unit("-q sctp addip_enable=1")]), vec![], Enabled, "unit-loads"),
        case("unit: parameters are not modules", ign_units(vec![], vec![modprobe_unit("8021q sctp")]), vec![], Disabled, "module-not-listed"),
        case("unit: any path, - prefix", ign_units(vec![], vec![unit("p.service", "-/sbin/modprobe sctp", Some("multi-user.target"), Some(true))]), vec![], Enabled, "unit-loads"),
        case("unit: a shell running modprobe", ign_units(vec![], vec![unit("sh.service", "/bin/bash -c 'echo loading; /usr/sbin/modprobe sctp || exit 1'", Some("multi-user.target"), Some(true))]), vec![], Enabled, "unit-loads"),
        case("unit: enabled as a string", ign_units(vec![], vec![{ let mut u = modprobe_unit("sctp"); u["enabled"] = json!("yes"); u }]), vec![], Invalid, "$.systemd.units[0].enabled"),
        case("unit: listed twice", ign_units(vec![], vec![modprobe_unit("sctp"), modprobe_unit("sctp")]), vec![], Invalid, "$.systemd.units[1]"),
        case("unit: ExecStartPre", ign_units(vec![], vec![json!({"name": "pre.service", "enabled": true, "contents": "[Service]\nExecStartPre=/usr/sbin/modprobe sctp\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"})]), vec![], Enabled, "unit-loads"),
        case("unit: modprobe -n loads nothing", ign_units(vec![], vec![modprobe_unit("-n sctp")]), vec![], Disabled, "module-blacklisted"),
        case("unit: not enabled", ign_units(vec![], vec![unit("a.service", "/usr/sbin/modprobe sctp", Some("multi-user.target"), None)]), vec![], Disabled, "unit-not-at-boot"),
        case("unit: enabled: false", ign_units(vec![], vec![unit("a.service", "/usr/sbin/modprobe sctp", Some("multi-user.target"), Some(false))]), vec![], Disabled, "unit-not-at-boot"),
        case("unit: enabled but no [Install]", ign_units(vec![], vec![unit("a.service", "/usr/sbin/modprobe sctp", None, Some(true))]), vec![], Disabled, "unit-not-at-boot"),
        case("unit: WantedBy=graphical.target is not a CoreOS boot target", ign_units(vec![], vec![unit("a.service", "/usr/sbin/modprobe sctp", Some("graphical.target"), Some(true))]), vec![], Disabled, "unit-not-at-boot"),
        case("unit: WantedBy=basic.target", ign_units(vec![], vec![unit("a.service", "/usr/sbin/modprobe sctp", Some("basic.target"), Some(true))]), vec![], Enabled, "unit-loads"),
        case("unit: masked (Ignition's mask replaces its contents)", ign_units(vec![], vec![{ let mut u = modprobe_unit("sctp"); u["mask"] = json!(true); u }]), vec![], Disabled, "module-blacklisted"),
        case("unit: masked over a unit file written by storage.files", ign_units(vec![file("/usr/local/lib/systemd/system/load-sctp.service", "data:,%5BService%5D%0AExecStart%3D%2Fusr%2Fsbin%2Fmodprobe%20sctp%0A")], vec![json!({"name": "load-sctp.service", "mask": true})]), vec![], Disabled, "unit-not-at-boot"),
        case("unit: drop-in adds the modprobe", ign_units(vec![], vec![json!({"name": "d.service", "enabled": true, "contents": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
            "dropins": [{"name": "10-sctp.conf", "contents": "[Service]\nExecStartPost=/usr/sbin/modprobe sctp\n"}]})]), vec![], Enabled, "unit-loads"),
        case("unit: drop-in resets ExecStart", ign_units(vec![], vec![{ let mut u = modprobe_unit("sctp"); u["dropins"] = json!([{"name": "off.conf", "contents": "[Service]\nExecStart=\nExecStart=/bin/true\n"}]); u }]), vec![], Disabled, "module-blacklisted"),
        case("unit: inline merge enables a unit of the parent", {
            let mut v = ign_units(vec![], vec![unit("load-sctp.service", "/usr/sbin/modprobe sctp", Some("multi-user.target"), None)]);
            let child = json!({"ignition": {"version": "3.2.0"}, "systemd": {"units": [{"name": "load-sctp.service", "enabled": true}]}});
            v["ignition"]["config"] = json!({"merge": [{"source": data_config(&child)}]});
            v
        }, vec![], Enabled, "unit-loads"),
        // sctp holds itself once loaded: the removal fails ("in use"; the boot proof's
        // bootmoduleconfig-rmmod), so the layer's load stands.
        case("unit: rmmod of sctp at boot fails", ign_units(layer_files(), vec![unit("rm.service", "/usr/sbin/rmmod sctp", Some("multi-user.target"), Some(true))]), vec![], Enabled, "unit-remove-fails"),
        case("unit: modprobe -r sctp at boot fails", ign_units(layer_files(), vec![modprobe_unit("-r sctp")]), vec![], Enabled, "unit-remove-fails"),
        case("unit: rmmod at boot removes a module that lets go", ign_units(vec![file("/etc/modules-load.d/dummy-load.conf", "data:,dummy")], vec![unit("rm.service", "/usr/sbin/rmmod dummy", Some("multi-user.target"), Some(true))]), vec!["--module", "dummy"], Disabled, "unit-removes"),
        case("unit: spec 2.2.0 `enable`", json!({"ignition": {"version": "2.2.0"}, "systemd": {"units": [{"name": "load-sctp.service", "enable": true, "contents": "[Service]\nExecStart=/usr/sbin/modprobe sctp\n[Install]\nWantedBy=multi-user.target\n"}]}}), vec![], Enabled, "unit-loads"),
        case("unit written by storage.files, no enablement", ign(
            "3.2.0", vec![file("/etc/systemd/system/x.service", "data:,%5BService%5D%0AExecStart%3D%2Fusr%2Fsbin%2Fmodprobe%20sctp%0A")]), vec![], Disabled, "unit-not-at-boot"),
        case("unit + kernel argument module_blacklist (MachineConfig)", Value::Null, vec![], Disabled, "kernel-arg-module-blacklist"),
        case("unit in a MachineConfig", Value::Null, vec![], Enabled, "unit-loads"),
        // The base state per module (RHEL CoreOS: the built-in table).
        case("--module sctp_diag: RHEL blacklists it in its own file", ign("3.2.0", vec![file("/etc/modules-load.d/sctp_diag-load.conf", "data:,sctp_diag")]), vec!["--module", "sctp_diag"], Disabled, "module-blacklisted"),
        case("--module sctp_diag: its file emptied", ign("3.2.0", vec![file("/etc/modprobe.d/sctp_diag-blacklist.conf", "data:,"), file("/etc/modules-load.d/sctp_diag-load.conf", "data:,sctp_diag")]), vec!["--module", "sctp_diag"], Enabled, ""),
        case("--module xt_u32: RHEL does not blacklist it", ign("3.2.0", vec![file("/etc/modules-load.d/xt_u32-load.conf", "data:,xt_u32")]), vec!["--module", "xt_u32"], Enabled, "module-listed"),
        case("--module vfio-pci listed as vfio_pci", ign("3.2.0", vec![file("/etc/modules-load.d/vfio.conf", "data:,vfio_pci")]), vec!["--module", "vfio-pci"], Enabled, "layer-file-elsewhere"),
        case("--module ip_gre: not listed, autoloads", ign("3.2.0", vec![]), vec!["--module", "ip_gre"], Disabled, "autoload-only"),
        case("--base none: the load list alone", ign("3.2.0", vec![file(LOAD, "data:,sctp")]), vec!["--base", "none"], Enabled, ""),
        // Fedora CoreOS carries sctp in kernel-modules and blacklists nothing (FACTS.md); this
        // case expected module-missing while the model had Fedora CoreOS lack sctp (issue 22).
        case("--base fcos: sctp in kernel-modules, not blacklisted", ign("3.2.0", layer_files()), vec!["--base", "fcos"], Enabled, ""),
        case("--base fcos: sctp not listed, autoload only", ign("3.2.0", vec![]), vec!["--base", "fcos"], Disabled, "module-not-listed"),
        case("--base fcos: dummy is not modelled absent", ign("3.2.0", vec![file("/etc/modules-load.d/dummy.conf", "data:,dummy")]), vec!["--base", "fcos", "--module", "dummy"], Enabled, ""),
        // The MCO's overwrite default (4.12+): a 3.1.0 MachineConfig without overwrite.
        case("MachineConfig 3.1.0 without overwrite, newest release", Value::Null, vec![], Enabled, ""),
        case("MachineConfig 3.1.0 without overwrite, OpenShift 4.11", Value::Null, vec!["--openshift-version", "4.11"], Disabled, "overwrite-false"),
        case("MachineConfig 3.1.0 without overwrite, OpenShift 4.12", Value::Null, vec!["--openshift-version", "4.12"], Enabled, ""),
        case("MachineConfig with explicit overwrite: false stays false", Value::Null, vec![], Disabled, "overwrite-false"),
        case("plain Ignition 3.1.0 without overwrite keeps the spec default", ign("3.1.0", vec![json!({"path": BL, "contents": {"source": "data:,"}, "mode": 420}), file(LOAD, "data:,sctp")]), vec![], Disabled, "overwrite-false"),
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
    // The MachineConfig forms of some cases above.
    let no_overwrite = |o: Option<bool>| {
        let mut bl = json!({"path": BL, "contents": {"source": "data:,"}, "mode": 420});
        if let Some(o) = o {
            bl["overwrite"] = json!(o);
        }
        mc_config(
            "load-sctp-module-worker",
            &ign("3.1.0", vec![bl, file(LOAD, "data:,sctp")]),
        )
    };
    for c in v.iter_mut() {
        let text = match c.name {
            "unit + kernel argument module_blacklist (MachineConfig)" => {
                let mut m: Value = serde_json::from_str(&mc_config(
                    "load-sctp-module-worker",
                    &ign_units(vec![], vec![modprobe_unit("sctp")]),
                ))
                .unwrap();
                m["spec"]["kernelArguments"] = json!(["module_blacklist=sctp"]);
                m.to_string()
            }
            "unit in a MachineConfig" => mc_config(
                "99-worker-load-sctp",
                &ign_units(vec![], vec![modprobe_unit("sctp")]),
            ),
            "MachineConfig with explicit overwrite: false stays false" => no_overwrite(Some(false)),
            n if n.starts_with("MachineConfig 3.1.0 without overwrite") => no_overwrite(None),
            _ => continue,
        };
        c.text = text;
        c.ext = "json";
    }
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

fn run_modlayer(args: &[&str]) -> (i32, String, String) {
    let out = common::modlayer().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(root: &std::path::Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// An OS root that blacklists `dummy` in a vendor file and carries sctp and dummy in its kernel,
/// without the RHEL sctp blacklist.
fn base_tree(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("base-root");
    write(&root, "usr/lib/modprobe.d/dummy.conf", b"blacklist dummy\n");
    write(&root, "usr/lib/modules/6.1.0/kernel/net/sctp/sctp.ko", b"");
    write(
        &root,
        "usr/lib/modules/6.1.0/kernel/drivers/net/dummy.ko",
        b"",
    );
    write(&root, "etc/os-release", b"NAME=test\n");
    root
}

#[test]
fn base_from_a_tree_and_an_oci_image() {
    let dir = tempfile::tempdir().unwrap();
    let root = base_tree(dir.path());
    let root_s = root.to_str().unwrap();
    // The layer --module builds follows the base: this tree blacklists dummy in dummy.conf.
    let (code, out, err) =
        run_modlayer(&["render", "ignition", "--module", "dummy", "--base", root_s]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = v["storage"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/etc/modprobe.d/dummy.conf",
            "/etc/modules-load.d/dummy-load.conf"
        ]
    );
    let cfg = dir.path().join("dummy.ign");
    std::fs::write(&cfg, &out).unwrap();
    let cfg_s = cfg.to_str().unwrap();
    assert_eq!(
        run_modlayer(&["verify", "--module", "dummy", "--base", root_s, cfg_s]).0,
        0
    );
    // Over RHEL CoreOS (the default), dummy is not blacklisted: the same config still loads it.
    assert_eq!(run_modlayer(&["verify", "--module", "dummy", cfg_s]).0, 0);
    // A config with only the load list: blocked over this tree, fine over RHEL CoreOS.
    let only = dir.path().join("only.ign");
    std::fs::write(
        &only,
        ign(
            "3.2.0",
            vec![file("/etc/modules-load.d/dummy-load.conf", "data:,dummy")],
        )
        .to_string(),
    )
    .unwrap();
    let only_s = only.to_str().unwrap();
    let (code, out, _) = run_modlayer(&[
        "verify",
        "--format=json",
        "--module",
        "dummy",
        "--base",
        root_s,
        only_s,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/usr/lib/modprobe.d/dummy.conf:1"), "{out}");
    assert_eq!(run_modlayer(&["verify", "--module", "dummy", only_s]).0, 0);
    // The sctp layer over this tree: no blacklist there, and its kernel carries sctp (no
    // kernel-not-visible note: the base shows the kernel).
    let sctp = dir.path().join("sctp.ign");
    std::fs::write(&sctp, ign("3.2.0", layer_files()).to_string()).unwrap();
    let (code, out, _) = run_modlayer(&[
        "verify",
        "--format=json",
        "--base",
        root_s,
        sctp.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("kernel-not-visible"), "{out}");
    // A module its kernel lacks: an error naming the kernel.
    let (code, out, _) = run_modlayer(&[
        "verify",
        "--format=json",
        "--module",
        "tipc",
        "--base",
        root_s,
        sctp.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("module-missing") && out.contains("kernels: 6.1.0"),
        "{out}"
    );
    // And a base that is not an OS image is refused.
    let (code, _, err) = run_modlayer(&[
        "verify",
        "--base",
        sctp.to_str().unwrap(),
        sctp.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--base"), "{err}");

    // The same root as an OCI image (umoci).
    if !common::have(common::Oracle::Umoci) {
        return;
    }
    let img = dir.path().join("img");
    let umoci = || std::process::Command::new(common::Oracle::Umoci.program());
    let ok = |c: &mut std::process::Command| {
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    ok(umoci().args(["init", "--layout"]).arg(&img));
    let image = format!("{}:base", img.display());
    ok(umoci().args(["new", "--image", &image]));
    for d in ["etc", "usr"] {
        ok(umoci()
            .args(["insert", "--image", &image])
            .arg(root.join(d))
            .arg(format!("/{d}")));
    }
    let oci = format!("oci:{image}");
    let (code, out, err) = run_modlayer(&[
        "verify",
        "--format=json",
        "--module",
        "dummy",
        "--base",
        &oci,
        only_s,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("/usr/lib/modprobe.d/dummy.conf:1"), "{out}");
    assert_eq!(
        run_modlayer(&["verify", "--module", "dummy", "--base", &oci, cfg_s]).0,
        0
    );
    // apply --module on the image follows the image: its dummy.conf is emptied from /etc.
    assert_eq!(run_modlayer(&["verify", "--module", "dummy", &oci]).0, 1);
    let (code, _, err) = run_modlayer(&["apply", "--module", "dummy", &oci]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_modlayer(&[
        "verify",
        "--format=json",
        "--strict",
        "--module",
        "dummy",
        &oci,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("/etc/modprobe.d/dummy.conf"), "{out}");
    // A module none of its kernels carries is refused, naming the kernels; nothing changes.
    let (code, _, err) = run_modlayer(&["apply", "--module", "xt_u33", &oci]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("(kernels: 6.1.0)"), "{err}");
}

#[test]
fn names_are_checked_and_mapped() {
    let (code, _, err) = run_modlayer(&["render", "machineconfig", "--module", "SCTP"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean \"sctp\""), "{err}");
    let (code, _, err) = run_modlayer(&["render", "machineconfig", "--role", "Worker"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean \"worker\""), "{err}");
    let (code, _, err) = run_modlayer(&["render", "machineconfig", "--name", "load_SCTP"]);
    assert_eq!(code, 2);
    assert!(err.contains("DNS-1123"), "{err}");
    let (code, out, err) = run_modlayer(&["render", "machineconfig", "--module", "xt_u32"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  name: load-xt-u32-module-worker\n"), "{out}");
    // xt_u32 is not blacklisted by RHEL CoreOS: only the load list is written.
    assert!(!out.contains("modprobe.d"), "{out}");
    assert!(
        out.contains("/etc/modules-load.d/xt_u32-load.conf"),
        "{out}"
    );
    // sctp_diag: RHEL CoreOS blacklists it in its own file, which the layer empties.
    let (code, out, err) = run_modlayer(&["render", "machineconfig", "--module", "sctp_diag"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  name: load-sctp-diag-module-worker\n"),
        "{out}"
    );
    assert!(
        out.contains("path: /etc/modprobe.d/sctp_diag-blacklist.conf"),
        "{out}"
    );
    // The built-in sctp layer is what it declares; `--module sctp --base none` gets only the list.
    let (_, out, _) = run_modlayer(&["render", "machineconfig", "--base", "none"]);
    assert!(out.contains("modprobe.d/sctp-blacklist.conf"), "{out}");
    let (_, out, _) = run_modlayer(&[
        "render",
        "machineconfig",
        "--module",
        "sctp",
        "--base",
        "none",
    ]);
    assert!(
        !out.contains("modprobe.d") && out.contains("sctp-load.conf"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let tree = base_tree(dir.path());
    let (code, _, err) = run_modlayer(&["apply", "--module", "xt_u33", tree.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no installed kernel carries a xt_u33 module (kernels: 6.1.0)"),
        "{err}"
    );
    assert!(!tree.join("etc/modules-load.d").exists(), "nothing written");
    // On a tree, --module follows the tree: dummy.conf is emptied by a same-named file in /etc.
    let (code, _, err) = run_modlayer(&["apply", "--module", "dummy", tree.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(tree.join("etc/modprobe.d/dummy.conf")).unwrap(),
        b""
    );
    assert_eq!(
        std::fs::read(tree.join("etc/modules-load.d/dummy-load.conf")).unwrap(),
        b"dummy"
    );
    assert_eq!(
        run_modlayer(&["verify", "--module", "dummy", tree.to_str().unwrap()]).0,
        0
    );
}

/// Units read from a tree and from a root file system archive of it: unit directories in their
/// precedence order, `.wants/` links, `/dev/null` masks, drop-ins.
#[test]
fn units_in_a_tree_and_an_archive() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write(&root, &BL[1..], &common::rhel_blacklist());
    write(
        &root,
        "usr/lib/modules/6.1.0/kernel/net/sctp/sctp.ko.xz",
        b"",
    );
    write(
        &root,
        "usr/lib/systemd/system/load-sctp.service",
        b"[Service]\nType=oneshot\nExecStart=/usr/sbin/modprobe sctp\n[Install]\nWantedBy=multi-user.target\n",
    );
    let verdict = |target: &std::path::Path| {
        let (code, out, err) = run_modlayer(&["verify", "--format=json", target.to_str().unwrap()]);
        assert!(code == 0 || code == 1, "{out}{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let codes: Vec<String> = v["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        (code == 0, codes)
    };
    let archive = |name: &str| {
        let tar = dir.path().join(name);
        let st = std::process::Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        tar
    };
    // Not enabled: nothing loads it.
    let (on, codes) = verdict(&root);
    assert!(
        !on && codes.contains(&"unit-not-at-boot".to_string()),
        "{codes:?}"
    );
    // A preset enables it at a first boot (no /etc/machine-id, or `uninitialized`), not later.
    write(
        &root,
        "usr/lib/systemd/system-preset/50-sctp.preset",
        b"# site\nenable load-*.service\n",
    );
    write(
        &root,
        "usr/lib/systemd/system-preset/99-default.preset",
        b"disable *\n",
    );
    for t in [root.clone(), archive("preset.tar")] {
        let (on, codes) = verdict(&t);
        assert!(
            on && codes.contains(&"unit-loads".to_string()),
            "{}: {codes:?}",
            t.display()
        );
    }
    write(&root, "etc/machine-id", b"uninitialized\n");
    assert!(verdict(&root).0);
    write(
        &root,
        "etc/machine-id",
        b"6c64990ad09e4798bfa6fb84b288fcd1\n",
    );
    assert!(
        !verdict(&root).0,
        "presets are applied at the first boot only"
    );
    // A same-named preset file in /etc replaces the vendor one.
    std::fs::remove_file(root.join("etc/machine-id")).unwrap();
    write(
        &root,
        "etc/systemd/system-preset/50-sctp.preset",
        b"disable load-sctp.service\n",
    );
    assert!(!verdict(&root).0);
    std::fs::remove_dir_all(root.join("etc/systemd/system-preset")).unwrap();
    std::fs::remove_dir_all(root.join("usr/lib/systemd/system-preset")).unwrap();
    // Enabled by a vendor wants link (as a package's static enablement).
    let wants = root.join("usr/lib/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    symlink("../load-sctp.service", wants.join("load-sctp.service")).unwrap();
    for t in [root.clone(), archive("enabled.tar")] {
        let (on, codes) = verdict(&t);
        assert!(
            on && codes.contains(&"unit-loads".to_string()),
            "{}: {codes:?}",
            t.display()
        );
    }
    // A drop-in in /etc adds `-b`: the blacklist applies.
    write(
        &root,
        "etc/systemd/system/load-sctp.service.d/50-b.conf",
        b"[Service]\nExecStart=\nExecStart=/usr/sbin/modprobe -b sctp\n",
    );
    for t in [root.clone(), archive("dropin.tar")] {
        let (on, codes) = verdict(&t);
        assert!(
            !on && codes.contains(&"module-blacklisted".to_string()),
            "{}: {codes:?}",
            t.display()
        );
    }
    std::fs::remove_dir_all(root.join("etc/systemd/system/load-sctp.service.d")).unwrap();
    // A unit file of the same name in /etc replaces the vendor one.
    write(
        &root,
        "etc/systemd/system/load-sctp.service",
        b"[Service]\nExecStart=/bin/true\n",
    );
    assert!(!verdict(&root).0);
    std::fs::remove_file(root.join("etc/systemd/system/load-sctp.service")).unwrap();
    // Masked from /etc.
    symlink(
        "/dev/null",
        root.join("etc/systemd/system/load-sctp.service"),
    )
    .unwrap();
    for t in [root.clone(), archive("masked.tar")] {
        let (on, codes) = verdict(&t);
        assert!(
            !on && codes.contains(&"unit-not-at-boot".to_string()),
            "{}: {codes:?}",
            t.display()
        );
    }
}
