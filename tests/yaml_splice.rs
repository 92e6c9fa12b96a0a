//! YAML apply is a splice: `modlayer apply` on commented MachineConfig files changes only the
//! layer's entries. For each file: every input line outside the lines the fixture names (the
//! replaced entries, or the flow line an item is added to) is in the output, in order, and no
//! other input line is removed; PyYAML reads the output as the input with exactly the layer's
//! entries replaced or added; ignition-validate passes every MachineConfig's config; applying
//! again changes no byte; verify says enabled.

mod common;

use std::path::Path;

use common::Oracle;
use serde_json::{json, Value};

/// The entries the sctp layer writes into a 3.x config (the contract's layer).
fn layer_entries() -> Vec<Value> {
    vec![
        json!({"path": "/etc/modprobe.d/sctp-blacklist.conf", "contents": {"source": "data:,"},
               "mode": 420, "overwrite": true}),
        json!({"path": "/etc/modules-load.d/sctp-load.conf", "contents": {"source": "data:,sctp"},
               "mode": 420, "overwrite": true}),
    ]
}

/// A test file: its text and the input lines the apply may remove or rewrite.
struct Case {
    name: &'static str,
    text: String,
    /// Input lines that may change (whole lines, without line endings).
    touched: Vec<&'static str>,
}

const BLOCK: &str = r#"# Enable SCTP on workers.
# Owned by: platform team
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: 99-worker-sctp   # keep the 99- prefix
  labels:
    machineconfiguration.openshift.io/role: worker
  annotations:
    # sync-wave: after the pools exist
    argocd.argoproj.io/sync-wave: "10"
spec:
  config:
    ignition:
      version: 3.2.0   # OCP 4.7+
    storage:
      files:
        # The blacklist shipped by RHEL: emptied here.
        - path: /etc/modprobe.d/sctp-blacklist.conf
          mode: 0644
          overwrite: true
          contents:
            # base64 of "blacklist sctp\n"
            source: data:;base64,YmxhY2tsaXN0IHNjdHAK
        # Unrelated file, must stay byte for byte.
        - path: "/etc/chrony.conf"
          mode: 420
          overwrite: true
          contents:
            source: 'data:,server%20ntp.example.com%0A'   # NTP
      # end of files
  kernelArguments:
    - 'loglevel=3'  # quiet
"#;

/// The lines of BLOCK's blacklist entry (replaced).
const BLOCK_ENTRY: [&str; 6] = [
    "        - path: /etc/modprobe.d/sctp-blacklist.conf",
    "          mode: 0644",
    "          overwrite: true",
    "          contents:",
    "            # base64 of \"blacklist sctp\\n\"",
    "            source: data:;base64,YmxhY2tsaXN0IHNjdHAK",
];

const FLOW: &str = r#"apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata: {name: 50-worker-flow, labels: {machineconfiguration.openshift.io/role: worker}}  # flow
spec:
  config:
    ignition: {version: "3.1.0"}
    storage:
      files: [
        {path: /etc/motd, contents: {source: "data:,hi"}, mode: 0644},  # motd
        {path: /etc/modprobe.d/sctp-blacklist.conf, contents: {source: "data:,blacklist%20sctp%0A"}, mode: 0644, overwrite: true}
      ]  # end
    systemd: {units: [{name: chronyd.service, enabled: true}]}
"#;

const ONE_LINE: &str = r#"apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata: {name: 51-worker-one-line, labels: {machineconfiguration.openshift.io/role: worker}}
spec: {config: {ignition: {version: 3.2.0}, storage: {files: [{path: /etc/motd, contents: {source: 'data:,hi'}}]}}}  # all flow
"#;

const NULL_CONFIG: &str = "apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: 95-worker-null
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config: null  # filled in by apply
  kernelArguments:
  - nosmt
...
";

/// A document that is one flow mapping (sniffed as YAML, not JSON).
const FLOW_DOCUMENT: &str = "{apiVersion: machineconfiguration.openshift.io/v1, kind: MachineConfig, metadata: {name: 96-worker-flow, labels: {machineconfiguration.openshift.io/role: worker}}}\n";

const STREAM: &str = r#"# A stream: a ConfigMap, a worker MachineConfig, a master one without storage.
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes   # not a MachineConfig
data:
  why: |
    SCTP for the telco workloads.
--- # the worker one
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: load-sctp-module-worker
  labels: &labels
    machineconfiguration.openshift.io/role: worker
  annotations: *labels
spec:
  config:
    ignition:
      version: &v 3.2.0
    storage:
      files:
      - path: /etc/modules-load.d/sctp-load.conf
        mode: 0644
        overwrite: true
        contents:
          source: data:,sctp%0A   # a trailing newline: not the layer's 4 bytes
      - contents:
          source: data:,x
        path: /etc/x.conf
...
# between documents
---
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: load-sctp-module-master
  labels:
    machineconfiguration.openshift.io/role: master
spec:
  config:
    # only the version so far
    ignition:
      version: 3.2.0
  kernelArguments: [nosmt]   # security
"#;

const STREAM_ENTRY: [&str; 5] = [
    "      - path: /etc/modules-load.d/sctp-load.conf",
    "        mode: 0644",
    "        overwrite: true",
    "        contents:",
    "          source: data:,sctp%0A   # a trailing newline: not the layer's 4 bytes",
];

const NO_CONFIG: &str = "\u{feff}# BOM'd, no spec.config yet\n\
apiVersion: machineconfiguration.openshift.io/v1\n\
kind: MachineConfig\n\
metadata:\n\
\x20   name: 99-worker-kargs\n\
\x20   labels:\n\
\x20       machineconfiguration.openshift.io/role: worker\n\
spec:\n\
\x20   kernelArguments:   # four-space indentation\n\
\x20       - nosmt\n";

const EMPTY_FILES: &str = r#"apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: 98-worker-empty
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config:
    ignition:
      version: 3.2.0
    storage:
      files: []   # none yet
    # storage ends here
    systemd:
      units:
        - name: chronyd.service
          enabled: true
"#;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "block.yaml",
            text: BLOCK.into(),
            touched: BLOCK_ENTRY.to_vec(),
        },
        Case {
            name: "block-crlf.yaml",
            text: BLOCK.replace('\n', "\r\n"),
            touched: BLOCK_ENTRY.to_vec(),
        },
        Case {
            name: "flow.yaml",
            text: FLOW.into(),
            touched: vec![
                "        {path: /etc/modprobe.d/sctp-blacklist.conf, contents: {source: \"data:,blacklist%20sctp%0A\"}, mode: 0644, overwrite: true}",
            ],
        },
        Case {
            name: "one-line.yaml",
            text: ONE_LINE.into(),
            touched: vec![ONE_LINE.lines().nth(3).unwrap_or_default()],
        },
        Case {
            name: "stream.yaml",
            text: STREAM.into(),
            touched: STREAM_ENTRY.to_vec(),
        },
        Case {
            name: "stream-crlf.yaml",
            text: STREAM.replace('\n', "\r\n"),
            touched: STREAM_ENTRY.to_vec(),
        },
        Case {
            name: "no-config.yaml",
            text: NO_CONFIG.into(),
            touched: vec![],
        },
        Case {
            name: "flow-document.yaml",
            text: FLOW_DOCUMENT.into(),
            touched: vec![FLOW_DOCUMENT.trim_end()],
        },
        Case {
            name: "null-config.yaml",
            text: NULL_CONFIG.into(),
            touched: vec!["  config: null  # filled in by apply"],
        },
        Case {
            name: "no-final-newline.yaml",
            text: BLOCK.trim_end().into(),
            touched: BLOCK_ENTRY.to_vec(),
        },
        Case {
            name: "no-spec.yaml",
            text: "\u{feff}kind: MachineConfig  # no spec at all\napiVersion: machineconfiguration.openshift.io/v1\nmetadata: {name: 97-worker-bare, labels: {machineconfiguration.openshift.io/role: worker}}\n".into(),
            touched: vec![],
        },
        Case {
            name: "empty-files.yaml",
            text: EMPTY_FILES.into(),
            touched: vec!["      files: []   # none yet"],
        },
    ]
}

/// Lines without their endings (a leading byte order mark dropped).
fn lines(text: &str) -> Vec<&str> {
    let text = text.trim_start_matches('\u{feff}');
    text.split_inclusive('\n')
        .map(|l| l.trim_end_matches('\n').trim_end_matches('\r'))
        .collect()
}

/// Every input line not in `touched` is in the output, in order; every removed line is one of
/// `touched`.
fn check_lines(case: &Case, out: &str) {
    let (old, new) = (lines(&case.text), lines(out));
    let mut at = 0;
    for line in &old {
        if case.touched.contains(line) {
            continue;
        }
        match new[at..].iter().position(|l| l == line) {
            Some(p) => at += p + 1,
            None => panic!(
                "{}: input line {line:?} is not in the output (in order):\n{out}",
                case.name
            ),
        }
    }
    let diff = similar::TextDiff::from_slices(&old, &new);
    for change in diff.iter_all_changes() {
        if change.tag() == similar::ChangeTag::Delete {
            assert!(
                case.touched.contains(&change.value()),
                "{}: removed {:?}, which is outside the layer's entries:\n{out}",
                case.name,
                change.value()
            );
        }
    }
}

/// What the input means once the layer is applied: each MachineConfig's storage.files with the
/// layer's paths replaced where they stand and the missing ones appended (storage, files and the
/// config created where missing).
fn expected(docs: &[Value]) -> Vec<Value> {
    let mut docs = docs.to_vec();
    for d in &mut docs {
        if d["kind"] != "MachineConfig" {
            continue;
        }
        if d.get("spec").is_none() {
            d["spec"] = json!({});
        }
        if d["spec"]["config"].is_null() {
            d["spec"]["config"] = json!({"ignition": {"version": "3.2.0"}});
        }
        let config = &mut d["spec"]["config"];
        if config.get("storage").is_none() {
            config["storage"] = json!({});
        }
        if !config["storage"]["files"].is_array() {
            config["storage"]["files"] = json!([]);
        }
        let Some(files) = config["storage"]["files"].as_array_mut() else {
            unreachable!()
        };
        for entry in layer_entries() {
            match files.iter_mut().find(|f| f["path"] == entry["path"]) {
                Some(slot) => *slot = entry,
                None => files.push(entry),
            }
        }
    }
    docs
}

fn apply(path: &Path) -> Vec<u8> {
    let ran = common::run_modlayer(["apply".as_ref(), path.as_os_str()]);
    ran.unwrap_or_else(|t| panic!("{t}")).stdout
}

#[test]
fn apply_on_commented_machineconfigs_is_a_splice() {
    let have_pyyaml = common::have(Oracle::PyYaml);
    let have_validate = common::have(Oracle::IgnitionValidate);
    let dir = tempfile::tempdir().unwrap();
    for case in cases() {
        let input = dir.path().join(case.name);
        std::fs::write(&input, &case.text).unwrap();
        let out = apply(&input);
        let text = String::from_utf8(out.clone()).unwrap();
        assert_ne!(text, case.text, "{}: nothing changed", case.name);
        check_lines(&case, &text);
        assert_eq!(
            text.starts_with('\u{feff}'),
            case.text.starts_with('\u{feff}'),
            "{}: byte order mark",
            case.name
        );
        if case.text.contains("\r\n") {
            let bare = text.replace("\r\n", "").contains('\n');
            assert!(!bare, "{}: a line ends in LF alone:\n{text:?}", case.name);
        }

        // Applying again changes nothing.
        let again = dir.path().join(format!("again-{}", case.name));
        std::fs::write(&again, &out).unwrap();
        assert_eq!(
            apply(&again),
            out,
            "{}: a second apply changed bytes",
            case.name
        );

        // verify: enabled.
        let ran = common::run_modlayer(["verify".as_ref(), again.as_os_str()]);
        ran.unwrap_or_else(|t| panic!("{}: verify:\n{t}", case.name));

        if have_pyyaml {
            let before = common::yaml11_documents(&case.text).unwrap();
            let after = common::yaml11_documents(&text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                after,
                expected(&before),
                "{}: PyYAML reads:\n{text}",
                case.name
            );
            if have_validate {
                for d in after.iter().filter(|d| d["kind"] == "MachineConfig") {
                    let config = serde_json::to_vec(&d["spec"]["config"]).unwrap();
                    common::ignition_validate(&config)
                        .unwrap_or_else(|e| panic!("{}: ignition-validate: {e}", case.name));
                }
            }
        }
    }
}

#[test]
fn several_edits_in_a_stream_touch_each_document_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("s.yaml");
    std::fs::write(&input, STREAM).unwrap();
    let text = String::from_utf8(apply(&input)).unwrap();
    // The worker's wrong entry is rewritten where it stood, before /etc/x.conf; the blacklist
    // entry follows /etc/x.conf; the master gets storage after its ignition section.
    let worker = text.find("name: load-sctp-module-worker").unwrap();
    let load = text[worker..]
        .find("path: /etc/modules-load.d/sctp-load.conf")
        .unwrap();
    let x = text[worker..].find("path: /etc/x.conf").unwrap();
    let blacklist = text[worker..]
        .find("path: /etc/modprobe.d/sctp-blacklist.conf")
        .unwrap();
    assert!(load < x && x < blacklist, "{text}");
    let master = text.find("name: load-sctp-module-master").unwrap();
    let tail = &text[master..];
    assert!(
        tail.contains("      version: 3.2.0\n    storage:\n      files:\n      - path: /etc/modprobe.d/sctp-blacklist.conf\n"),
        "{text}"
    );
    assert!(
        tail.ends_with("  kernelArguments: [nosmt]   # security\n"),
        "{text}"
    );
}
