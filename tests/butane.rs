//! Butane sources: translations checked field by field against Butane's documented spec tables
//! and published examples (Butane itself has no Debian package here), the verdicts verify gives,
//! Butane's errors (exit 2, `file:line:col`, nothing changed), and apply results that verify
//! enabled and keep every comment.

mod common;

use std::path::Path;

use modlayer::butane::{Local, Source, Translated};
use serde_json::{json, Value};

/// Files of a files directory: (name, contents).
type Files = Vec<(&'static str, &'static str)>;

/// Translate a source, with `files` written into a files directory when there are any.
fn translate(text: &str, files: &[(&str, &str)]) -> Result<Translated, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let files_dir = (!files.is_empty()).then(|| dir.path());
    let source = Source::read("t.bu", text.as_bytes()).map_err(|e| format!("{e:#}"))?;
    source
        .translate(Local::Dir(files_dir))
        .map_err(|e| format!("{e:#}"))
}

fn config(text: &str, files: &[(&str, &str)]) -> Value {
    translate(text, files)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .config
}

/// Butane's variant/version table (docs/specs.md of Butane 0.29): each stable version and the
/// Ignition spec it writes.
const SPEC_TABLE: &[(&str, &str, &str)] = &[
    ("fcos", "1.0.0", "3.0.0"),
    ("fcos", "1.1.0", "3.1.0"),
    ("fcos", "1.2.0", "3.2.0"),
    ("fcos", "1.3.0", "3.2.0"),
    ("fcos", "1.4.0", "3.3.0"),
    ("fcos", "1.5.0", "3.4.0"),
    ("fcos", "1.6.0", "3.5.0"),
    ("fcos", "1.7.0", "3.6.0"),
    ("flatcar", "1.0.0", "3.3.0"),
    ("flatcar", "1.1.0", "3.4.0"),
    ("openshift", "4.8.0", "3.2.0"),
    ("openshift", "4.9.0", "3.2.0"),
    ("openshift", "4.10.0", "3.2.0"),
    ("openshift", "4.11.0", "3.2.0"),
    ("openshift", "4.12.0", "3.2.0"),
    ("openshift", "4.13.0", "3.2.0"),
    ("openshift", "4.14.0", "3.4.0"),
    ("openshift", "4.15.0", "3.4.0"),
    ("openshift", "4.16.0", "3.4.0"),
    ("openshift", "4.17.0", "3.4.0"),
    ("openshift", "4.18.0", "3.4.0"),
    ("openshift", "4.19.0", "3.5.0"),
    ("openshift", "4.20.0", "3.5.0"),
    ("openshift", "4.21.0", "3.5.0"),
    // 3.6.0 in Butane 0.28.0, back to 3.5.0 in 0.29.0 (the 4.22 MCO does not read 3.6.0).
    ("openshift", "4.22.0", "3.5.0"),
    ("r4e", "1.0.0", "3.3.0"),
    ("r4e", "1.1.0", "3.4.0"),
    ("fiot", "1.0.0", "3.4.0"),
];

#[test]
fn every_version_writes_its_spec() {
    for (variant, version, spec) in SPEC_TABLE {
        let meta =
            "metadata:\n  name: x\n  labels:\n    machineconfiguration.openshift.io/role: worker\n";
        let meta = if *variant == "openshift" { meta } else { "" };
        let text = format!("variant: {variant}\nversion: {version}\n{meta}");
        let t = translate(&text, &[]).unwrap_or_else(|e| panic!("{variant} {version}: {e}"));
        assert_eq!(
            t.config,
            json!({"ignition": {"version": spec}}),
            "{variant} {version}"
        );
        assert_eq!(t.machineconfig.is_some(), *variant == "openshift");
    }
}

/// The examples of Butane's docs/examples.md, fcos 1.1.0, with the Ignition JSON Butane writes
/// (compact, Ignition's field order).
#[test]
fn published_examples_translate_byte_for_byte() {
    let hash = "sha512-4ee6a9d20cc0e6c7ee187daffa6822bdef7f4cebe109eff44b235f97e45dc3d7a5bb932efc841192e46618f48a6f4f5bc0d15fd74b1038abf46bf4b4fd409f2e";
    let cases: Vec<(String, Files, String)> = vec![
        (
            "variant: fcos\nversion: 1.1.0\nstorage:\n  files:\n    - path: /opt/file\n      contents:\n        inline: Hello, world!\n      mode: 0644\n      user:\n        id: 500\n      group:\n        id: 501\n".into(),
            vec![],
            r#"{"ignition":{"version":"3.1.0"},"storage":{"files":[{"group":{"id":501},"path":"/opt/file","user":{"id":500},"contents":{"compression":"","source":"data:,Hello%2C%20world!"},"mode":420}]}}"#.into(),
        ),
        (
            format!("variant: fcos\nversion: 1.1.0\nstorage:\n  files:\n    - path: /opt/file2\n      contents:\n        source: http://example.com/file2\n        compression: gzip\n        verification:\n          hash: {hash}\n      mode: 0644\n"),
            vec![],
            format!(r#"{{"ignition":{{"version":"3.1.0"}},"storage":{{"files":[{{"path":"/opt/file2","contents":{{"compression":"gzip","source":"http://example.com/file2","verification":{{"hash":"{hash}"}}}},"mode":420}}]}}}}"#),
        ),
        (
            "variant: fcos\nversion: 1.1.0\nstorage:\n  files:\n    - path: /opt/file3\n      contents:\n        local: local-file3\n      mode: 0644\n".into(),
            vec![("local-file3", "hello\n")],
            r#"{"ignition":{"version":"3.1.0"},"storage":{"files":[{"path":"/opt/file3","contents":{"compression":"","source":"data:,hello%0A"},"mode":420}]}}"#.into(),
        ),
        (
            "variant: fcos\nversion: 1.1.0\nsystemd:\n  units:\n    - name: serial-getty@ttyS0.service\n      dropins:\n      - name: autologin.conf\n        contents: |\n          [Service]\n          TTYVTDisallocate=no\n          ExecStart=\n          ExecStart=-/usr/sbin/agetty --autologin core --noclear %I $TERM\n".into(),
            vec![],
            r#"{"ignition":{"version":"3.1.0"},"systemd":{"units":[{"dropins":[{"contents":"[Service]\nTTYVTDisallocate=no\nExecStart=\nExecStart=-/usr/sbin/agetty --autologin core --noclear %I $TERM\n","name":"autologin.conf"}],"name":"serial-getty@ttyS0.service"}]}}"#.into(),
        ),
        (
            "variant: fcos\nversion: 1.1.0\nsystemd:\n  units:\n    - name: hello.service\n      enabled: true\n      contents: |\n        [Unit]\n        Description=A hello world unit!\n        [Service]\n        Type=oneshot\n        RemainAfterExit=yes\n        ExecStart=/usr/bin/echo \"Hello, World!\"\n        [Install]\n        WantedBy=multi-user.target\n".into(),
            vec![],
            r#"{"ignition":{"version":"3.1.0"},"systemd":{"units":[{"contents":"[Unit]\nDescription=A hello world unit!\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/echo \"Hello, World!\"\n[Install]\nWantedBy=multi-user.target\n","enabled":true,"name":"hello.service"}]}}"#.into(),
        ),
        (
            "variant: fcos\nversion: 1.5.0\nsystemd:\n  units:\n    - name: example.service\n      contents_local: example.service\n    - name: rpm-ostreed.service\n      dropins:\n        - name: proxy.conf\n          contents_local: example.conf\n".into(),
            vec![("example.service", "[Unit]\nDescription=x\n"), ("example.conf", "[Service]\nEnvironment=A=b\n")],
            r#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"contents":"[Unit]\nDescription=x\n","name":"example.service"},{"dropins":[{"contents":"[Service]\nEnvironment=A=b\n","name":"proxy.conf"}],"name":"rpm-ostreed.service"}]}}"#.into(),
        ),
        // fcos 1.0.0 escapes inline contents and writes no compression field.
        (
            "variant: fcos\nversion: 1.0.0\nstorage:\n  files:\n    - path: /opt/file\n      contents:\n        inline: Hello, world!\n      mode: 0644\n".into(),
            vec![],
            r#"{"ignition":{"version":"3.0.0"},"storage":{"files":[{"path":"/opt/file","contents":{"source":"data:,Hello%2C%20world!"},"mode":420}]}}"#.into(),
        ),
    ];
    let validate = common::have(common::Oracle::IgnitionValidate);
    for (text, files, want) in cases {
        let got = serde_json::to_string(&config(&text, &files)).unwrap();
        assert_eq!(got, want, "{text}");
        // Debian's ignition-validate reads specs up to 3.3.0.
        if validate && !got.contains("\"3.4.0\"") {
            common::ignition_validate(got.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{got}"));
        }
    }
}

/// The openshift variant's MachineConfig, field by field: Butane's published 4.15.0 output (a
/// `local` file, mode 0600) and the 4.20.0 fixture of its tests.
#[test]
fn openshift_sources_become_machineconfigs() {
    let nm = "[connection-ens192-mtu]\nmatch-device=interface-name:ens192\nethernet.mtu=8900\n";
    let text = "variant: openshift\nversion: 4.15.0\nmetadata:\n  name: 01-control-plane-interface\n  labels:\n    machineconfiguration.openshift.io/role: master\nstorage:\n  files:\n    - path: /etc/NetworkManager/conf.d/99-ens192-mtu.conf\n      contents:\n        local: mtu.conf\n      mode: 0600\n";
    let mc = translate(text, &[("mtu.conf", nm)])
        .unwrap()
        .machineconfig
        .unwrap();
    assert_eq!(
        mc,
        json!({
            "apiVersion": "machineconfiguration.openshift.io/v1",
            "kind": "MachineConfig",
            "metadata": {"labels": {"machineconfiguration.openshift.io/role": "master"},
                         "name": "01-control-plane-interface"},
            "spec": {"config": {"ignition": {"version": "3.4.0"}, "storage": {"files": [{
                "contents": {"compression": "",
                             "source": "data:,%5Bconnection-ens192-mtu%5D%0Amatch-device%3Dinterface-name%3Aens192%0Aethernet.mtu%3D8900%0A"},
                "mode": 384,
                "path": "/etc/NetworkManager/conf.d/99-ens192-mtu.conf"}]}}}
        })
    );
    let text = "variant: openshift\nversion: 4.20.0\nmetadata:\n  name: 99-worker-test\n  labels:\n    machineconfiguration.openshift.io/role: worker\n    extra: kept\nopenshift:\n  kernel_arguments: [loglevel=7]\n  extensions: [usbguard]\n  fips: false\n  kernel_type: realtime\nstorage:\n  files:\n    - path: /etc/test\n      mode: 0644\n      contents:\n        inline: hello\n";
    let mc = translate(text, &[]).unwrap().machineconfig.unwrap();
    assert_eq!(mc["metadata"]["labels"]["extra"], "kept");
    assert_eq!(mc["spec"]["config"]["ignition"]["version"], "3.5.0");
    assert_eq!(
        mc["spec"]["config"]["storage"]["files"][0],
        json!({"path": "/etc/test", "contents": {"compression": "", "source": "data:,hello"}, "mode": 420})
    );
    assert_eq!(mc["spec"]["kernelArguments"], json!(["loglevel=7"]));
    assert_eq!(mc["spec"]["extensions"], json!(["usbguard"]));
    assert_eq!(mc["spec"]["fips"], json!(false));
    assert_eq!(mc["spec"]["kernelType"], "realtime");
    // overwrite is left to Ignition's default: absent.
    assert!(mc["spec"]["config"]["storage"]["files"][0]
        .get("overwrite")
        .is_none());
}

/// `storage.trees` (Butane's docs/examples.md "Trees"): each file of the local tree an entry after
/// the listed ones, 0755 when executable else 0644; a listed entry without contents overrides
/// the mode; a tree holding the layer's files verifies enabled.
#[test]
fn trees_are_embedded_as_butane_embeds_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.conf"), "x").unwrap();
    std::fs::write(tree.join("sub/run.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        tree.join("sub/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let text = "variant: fcos\nversion: 1.1.0\nstorage:\n  trees:\n    - local: tree\n      path: /etc/files\n  files:\n    - path: /etc/files/a.conf\n      mode: 0600\n";
    let source = Source::read("t.bu", text.as_bytes()).unwrap();
    let t = source.translate(Local::Dir(Some(dir.path()))).unwrap();
    assert_eq!(
        t.config["storage"]["files"],
        json!([
            {"path": "/etc/files/a.conf", "mode": 384, "contents": {"compression": "", "source": "data:,x"}},
            {"path": "/etc/files/sub/run.sh", "contents": {"compression": "", "source": "data:,%23!%2Fbin%2Fsh%0A"}, "mode": 493}
        ])
    );
    let e = source.translate(Local::Dir(None)).unwrap_err().to_string();
    assert!(
        e.contains("t.bu:5:14: error at $.storage.trees.0.local: local file paths are relative"),
        "{e}"
    );

    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("modprobe.d")).unwrap();
    std::fs::create_dir_all(etc.join("modules-load.d")).unwrap();
    std::fs::write(etc.join("modprobe.d/sctp-blacklist.conf"), "").unwrap();
    std::fs::write(etc.join("modules-load.d/sctp-load.conf"), "sctp").unwrap();
    let text = format!("{OPENSHIFT}storage:\n  trees:\n    - local: etc\n      path: /etc\n  files:\n    - path: /etc/modprobe.d/sctp-blacklist.conf\n      overwrite: true\n    - path: /etc/modules-load.d/sctp-load.conf\n      overwrite: true\n");
    let path = dir.path().join("tree.bu");
    std::fs::write(&path, text).unwrap();
    let (status, transcript) = verify_status(&path, Some(dir.path()));
    assert_eq!(status, 0, "{transcript}");
}

/// Butane reads JSON too (YAML's flow style).
#[test]
fn json_sources_translate() {
    let text = r#"{"variant": "fcos", "version": "1.6.0", "storage": {"files": [{"path": "/x", "mode": 420, "contents": {"inline": "a b"}}]}}"#;
    assert_eq!(
        serde_json::to_string(&config(text, &[])).unwrap(),
        r#"{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/x","contents":{"compression":"","source":"data:,a%20b"},"mode":420}]}}"#
    );
}

#[test]
fn modes_are_read_as_butane_reads_yaml() {
    for (written, mode) in [
        ("0644", 420),
        ("0o644", 420),
        ("0x1a4", 420),
        ("420", 420),
        ("420.5", 420),
        ("4_20", 420),
        ("0b110100100", 420),
        ("644", 644),
        ("0600", 384),
    ] {
        let text = format!("variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /x\n      mode: {written}\n");
        assert_eq!(
            config(&text, &[])["storage"]["files"][0]["mode"],
            json!(mode),
            "{written}"
        );
    }
    // A plain scalar in a string field is its text (go-yaml v3), not YAML 1.1's number.
    let text = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /x\n      contents:\n        inline: 0644\n";
    assert_eq!(
        config(text, &[])["storage"]["files"][0]["contents"]["source"],
        "data:,0644"
    );
    // Contents long and repetitive enough are gzipped, unless the version cannot (4.8, 4.9).
    let long = "blacklist sctp\n".repeat(40);
    let inline = serde_json::to_string(&long).unwrap();
    let text = format!("variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /x\n      contents:\n        inline: {inline}\n");
    let c = &config(&text, &[])["storage"]["files"][0]["contents"];
    assert_eq!(c["compression"], "gzip");
    let url = c["source"].as_str().unwrap();
    assert!(url.starts_with("data:;base64,H4sI"), "{c}");
    let gz = modlayer::formats::encoding::decode_data_url(url).unwrap();
    let bytes = modlayer::formats::encoding::gunzip(&gz).unwrap();
    assert_eq!(bytes, long.as_bytes());
    let text = format!("variant: openshift\nversion: 4.9.0\nmetadata:\n  name: x\n  labels:\n    machineconfiguration.openshift.io/role: worker\nstorage:\n  files:\n    - path: /x\n      contents:\n        inline: {inline}\n");
    let c = &config(&text, &[])["storage"]["files"][0]["contents"];
    assert_eq!(c["compression"], "");
}

/// Butane's errors: each names the place and Butane's path; the message says what Butane says.
#[test]
fn butane_errors_name_the_place() {
    let openshift = "variant: openshift\nversion: 4.14.0\nmetadata:\n  name: x\n  labels:\n    machineconfiguration.openshift.io/role: worker\n";
    let files = |body: &str| format!("{openshift}storage:\n  files:\n{body}");
    let cases: Vec<(String, &str)> = vec![
        (
            "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /x\n      bogus: 1\n".into(),
            "t.bu:6:7: error at $.storage.files.0.bogus: unused key bogus",
        ),
        (
            "variant: fcos\nversion: 1.0.0\nstorage:\n  files:\n    - path: /x\n      contents:\n        local: f\n".into(),
            "t.bu:7:9: error at $.storage.files.0.contents.local: unused key local: fcos 1.0.0 has no such field; newer versions do",
        ),
        (
            "variant: fcos\nversion: 4.14.0\n".into(),
            "t.bu:2:10: No translator exists for variant fcos with version 4.14.0",
        ),
        (
            "variant: openshift\nversion: 4.23.0-experimental\n".into(),
            "t.bu:2:10: No translator exists for variant openshift with version 4.23.0-experimental (experimental",
        ),
        ("version: 1.5.0\nvariant: rhcos\n".into(), "t.bu:2:10: rhcos variant has been removed"),
        ("version: 1.5.0\n".into(), "t.bu:1:1: error parsing variant; must be specified"),
        ("variant: fcos\nversion: 1.5\n".into(), "t.bu:2:10: error parsing version; must be a valid semver"),
        (
            "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: etc/foo\n".into(),
            "t.bu:5:13: error at $.storage.files.0.path:",
        ),
        (
            "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /x\n      mode: '0644'\n".into(),
            "t.bu:6:13: error at $.storage.files.0.mode: cannot unmarshal !!str `0644` into int",
        ),
        (
            "variant: fcos\nversion: 1.5.0\nsystemd:\n  units:\n    - name: a.service\n      enabled: \"true\"\n".into(),
            "t.bu:6:16: error at $.systemd.units.0.enabled: cannot unmarshal !!str `true` into bool",
        ),
        (
            "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /x\n      contents:\n        local: f\n".into(),
            "t.bu:7:16: error at $.storage.files.0.contents.local: local file paths are relative to a files directory",
        ),
        (
            "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /x\n      contents:\n        inline: a\n        source: data:,b\n".into(),
            "t.bu:8:17: error at $.storage.files.0.contents.source: only one of the following can be set: inline, local, source",
        ),
        (
            files("    - path: /x\n      contents:\n        source: https://example.com/x\n"),
            "t.bu:11:17: error at $.storage.files.0.contents.source: file contents source must be data URL in this spec version",
        ),
        (
            format!("{openshift}storage:\n  directories:\n    - path: /d\n"),
            "t.bu:9:5: error at $.storage.directories: directories are not supported in this spec version",
        ),
        (
            format!("{openshift}passwd:\n  users:\n    - name: alice\n"),
            "t.bu:9:13: error at $.passwd.users.0.name: users other than \"core\" are not supported in this spec version",
        ),
        (
            format!("{openshift}kernel_arguments:\n  should_exist: [a]\n"),
            "t.bu:8:3: error at $.kernel_arguments: this section cannot be used for kernel arguments in this spec version",
        ),
        (
            "variant: openshift\nversion: 4.14.0\nmetadata:\n  labels:\n    machineconfiguration.openshift.io/role: worker\n".into(),
            "t.bu:4:3: error at $.metadata.name: metadata.name is required",
        ),
        (
            "variant: openshift\nversion: 4.14.0\nmetadata:\n  name: x\n".into(),
            "t.bu:4:3: error at $.metadata.labels: machineconfiguration.openshift.io/role label is required",
        ),
    ];
    for (text, want) in cases {
        match translate(&text, &[]) {
            Ok(t) => panic!("translated, expected {want:?}:\n{text}\n{}", t.config),
            Err(e) => assert!(e.contains(want), "got {e:?}\nwant {want:?}\n{text}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let text = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /x\n      contents:\n        local: ../outside\n";
    let source = Source::read("t.bu", text.as_bytes()).unwrap();
    let e = source.translate(Local::Dir(Some(dir.path()))).unwrap_err();
    assert!(
        e.to_string().contains("t.bu:7:16: error at $.storage.files.0.contents.local: local file path traverses outside the files directory"),
        "{e}"
    );
}

/// The command line: exit 2 naming the place, and the file left as it was.
#[test]
fn cli_errors_are_exit_2_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.bu");
    let text =
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /x\n      mod: 0644\n";
    std::fs::write(&path, text).unwrap();
    for verb in ["verify", "apply"] {
        let mut cmd = common::modlayer();
        cmd.arg(verb).arg(&path);
        if verb == "apply" {
            cmd.arg("--in-place");
        }
        let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
        assert_eq!(ran.status.code(), Some(2), "{}", ran.transcript());
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert!(
            stderr.contains("bad.bu:6:7: error at $.storage.files.0.mod: unused key mod"),
            "{}",
            ran.transcript()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}

const OPENSHIFT: &str = "variant: openshift\nversion: 4.14.0\nmetadata:\n  name: 99-worker-sctp\n  labels:\n    machineconfiguration.openshift.io/role: worker\n";

/// A verdict row: a source, files for --files-dir, and verify's exit status.
struct Verdict {
    name: &'static str,
    text: String,
    files: Vec<(&'static str, &'static str)>,
    status: i32,
}

fn verdicts() -> Vec<Verdict> {
    let layer_inline = "storage:\n  files:\n    - path: /etc/modprobe.d/sctp-blacklist.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        inline: \"\"\n    - path: /etc/modules-load.d/sctp-load.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        inline: sctp\n";
    let layer_local = "storage:\n  files:\n    - path: /etc/modprobe.d/sctp-blacklist.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        local: empty\n    - path: /etc/modules-load.d/sctp-load.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        local: load\n";
    vec![
        Verdict { name: "openshift-inline.bu", text: format!("{OPENSHIFT}{layer_inline}"), files: vec![], status: 0 },
        Verdict { name: "openshift-4.8.bu", text: format!("{}{layer_inline}", OPENSHIFT.replace("4.14.0", "4.8.0")), files: vec![], status: 0 },
        Verdict { name: "openshift-4.22.bu", text: format!("{}{layer_inline}", OPENSHIFT.replace("4.14.0", "4.22.0")), files: vec![], status: 0 },
        Verdict { name: "fcos-local.bu", text: format!("variant: fcos\nversion: 1.5.0\n{layer_local}"), files: vec![("empty", ""), ("load", "sctp")], status: 0 },
        Verdict { name: "fcos-1.0.bu", text: format!("variant: fcos\nversion: 1.0.0\n{layer_inline}"), files: vec![], status: 0 },
        Verdict { name: "flatcar.bu", text: format!("variant: flatcar\nversion: 1.1.0\n{layer_inline}"), files: vec![], status: 0 },
        Verdict {
            name: "openshift-blacklisted.bu",
            text: format!("{OPENSHIFT}{}", layer_inline.replace("inline: \"\"", "inline: \"blacklist sctp\\n\"")),
            files: vec![],
            status: 1,
        },
        Verdict {
            name: "openshift-karg.bu",
            text: format!("{OPENSHIFT}{layer_inline}openshift:\n  kernel_arguments:\n    - modprobe.blacklist=sctp\n"),
            files: vec![],
            status: 1,
        },
        Verdict { name: "fcos-nothing.bu", text: "variant: fcos\nversion: 1.6.0\n".into(), files: vec![], status: 1 },
        Verdict {
            name: "fcos-source.bu",
            text: format!("variant: fcos\nversion: 1.4.0\n{}", layer_inline.replace("inline: sctp", "source: data:,sctp")),
            files: vec![],
            status: 0,
        },
    ]
}

fn verify_status(path: &Path, files_dir: Option<&Path>) -> (i32, String) {
    let mut cmd = common::modlayer();
    cmd.arg("verify").arg(path);
    if let Some(d) = files_dir {
        cmd.arg("--files-dir").arg(d);
    }
    let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    (ran.status.code().unwrap_or(-1), ran.transcript())
}

#[test]
fn verdicts_are_those_of_the_translation() {
    let dir = tempfile::tempdir().unwrap();
    for v in verdicts() {
        let files = dir.path().join(format!("{}.d", v.name));
        std::fs::create_dir(&files).unwrap();
        for (n, b) in &v.files {
            std::fs::write(files.join(n), b).unwrap();
        }
        let path = dir.path().join(v.name);
        std::fs::write(&path, &v.text).unwrap();
        let (status, transcript) = verify_status(&path, Some(&files));
        assert_eq!(status, v.status, "{}:\n{transcript}", v.name);
        assert!(transcript.contains("(butane)"), "{transcript}");
    }
}

/// Sources to apply, commented; each must verify enabled after apply and keep every comment
/// outside the entry it replaces, and the one after that entry's first line (the rest of that
/// entry's text, comments in it included, is replaced).
fn commented_sources() -> Vec<(&'static str, String)> {
    vec![
        (
            "blacklist-local.bu",
            format!("# SCTP for the telco pool. Reviewed in git.\n{OPENSHIFT}storage:\n  files:\n    # RHEL's blacklist, copied in by someone (wrong)\n    - path: /etc/modprobe.d/sctp-blacklist.conf   # replaced where it stands\n      mode: 0644\n      contents:\n        local: sctp-blacklist.conf\n    - path: /etc/chrony.conf  # keep\n      contents:\n        inline: |\n          server ntp.example.com iburst\n  # end of files\nsystemd:\n  units:\n    # unrelated unit\n    - name: hello.service\n      enabled: true\n      contents: |\n        [Service]\n        ExecStart=/usr/bin/true\n"),
        ),
        (
            "source-fcos.bu",
            "variant: fcos   # FCOS node\nversion: 1.5.0\nstorage:\n  files:\n  # fetched at first boot: replaced by the layer's bytes\n  - path: /etc/modules-load.d/sctp-load.conf\n    contents:\n      source: https://example.com/sctp-load.conf\n    mode: 420\n".into(),
        ),
        (
            "no-storage.bu",
            "variant: fcos\nversion: 1.4.0\n# nothing stored yet\nsystemd:\n    units:\n        - name: a.service   # four spaces\n          mask: true\n".into(),
        ),
        (
            "flow.bu",
            "variant: fcos\nversion: 1.6.0\nstorage: {files: [{path: /etc/motd, contents: {inline: hi}}]}  # flow\n".into(),
        ),
        ("bom.bu", "\u{feff}# BOM, nothing else\nvariant: fcos\nversion: 1.3.0\n".into()),
        (
            "kept-blank-lines.bu",
            "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents:\n        inline: |+\n          hello\n\n# the blank line above is part of motd\n".into(),
        ),
        (
            "crlf.bu",
            format!("{OPENSHIFT}# CRLF file\nstorage:\n  files: []\n").replace('\n', "\r\n"),
        ),
    ]
}

/// The comments of a text (from `#` to the end of the line), in order.
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| {
            l.find(" #")
                .map(|i| &l[i + 1..])
                .or(l.trim_start().starts_with('#').then(|| l.trim_start()))
        })
        .map(|c| c.trim_end_matches('\r'))
        .collect()
}

#[test]
fn apply_edits_the_source_and_keeps_every_comment() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in commented_sources() {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let ran = common::run_modlayer(["apply".as_ref(), path.as_os_str()])
            .unwrap_or_else(|t| panic!("{t}"));
        let out = String::from_utf8(ran.stdout).unwrap();
        let mut at = 0;
        for c in comments(&text) {
            match out[at..].find(c) {
                Some(p) => at += p + c.len(),
                None => panic!("{name}: comment {c:?} lost:\n{out}"),
            }
        }
        let out_path = dir.path().join(format!("out-{name}"));
        std::fs::write(&out_path, &out).unwrap();
        let (status, transcript) = verify_status(&out_path, None);
        assert_eq!(status, 0, "{name}:\n{out}\n{transcript}");
        let again = common::run_modlayer(["apply".as_ref(), out_path.as_os_str()]).unwrap();
        assert_eq!(
            String::from_utf8(again.stdout).unwrap(),
            out,
            "{name}: not idempotent"
        );
        // Every other file translates as before.
        let local = [("sctp-blacklist.conf", "blacklist sctp\n")];
        let others = |text: &str| {
            let t = translate(text, &local).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut files = t.config["storage"]["files"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            files.retain(|f| !f["path"].as_str().unwrap_or("").contains("sctp"));
            (files, t.config.get("systemd").cloned())
        };
        assert_eq!(others(&out), others(&text), "{name}:\n{out}");
        // The layer's entries as apply writes them in a Butane source.
        let t = translate(&out, &[]).unwrap();
        if t.spec.minor <= 3 && common::have(common::Oracle::IgnitionValidate) {
            let config = serde_json::to_vec(&t.config).unwrap();
            common::ignition_validate(&config).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let files = t.config["storage"]["files"].as_array().unwrap();
        for (p, src) in [
            ("/etc/modprobe.d/sctp-blacklist.conf", "data:,"),
            ("/etc/modules-load.d/sctp-load.conf", "data:,sctp"),
        ] {
            let f = files.iter().find(|f| f["path"] == p).unwrap();
            assert_eq!(f["contents"]["source"], src, "{name}");
            assert_eq!(
                (f["mode"].clone(), f["overwrite"].clone()),
                (json!(420), json!(true)),
                "{name}"
            );
        }
        if text.contains("\r\n") {
            assert!(
                !out.replace("\r\n", "").contains('\n'),
                "{name}: LF alone:\n{out:?}"
            );
        } else if !name.starts_with("flow") {
            assert!(
                out.contains("      mode: 0644\n") || out.contains("    mode: 0644\n"),
                "{name}:\n{out}"
            );
            assert!(out.contains("inline: \"\""), "{name}:\n{out}");
        }
    }
}

#[test]
fn detection_by_suffix_content_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{OPENSHIFT}storage:\n  files: []\n");
    for name in ["a.bu", "a.yaml"] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let (status, transcript) = verify_status(&path, None);
        assert_eq!(status, 1, "{transcript}");
        assert!(transcript.contains("(butane)"), "{transcript}");
    }
    let json = dir.path().join("a.json");
    std::fs::write(&json, r#"{"variant": "fcos", "version": "1.5.0"}"#).unwrap();
    let (status, transcript) = verify_status(&json, None);
    assert_eq!(status, 1, "{transcript}");
    assert!(transcript.contains("(butane)"), "{transcript}");
    let path = dir.path().join("a.txt");
    std::fs::write(&path, &text).unwrap();
    let ran = common::run_modlayer([
        "verify",
        "--kind",
        "butane",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let ran = match ran {
        Ok(r) => r,
        Err(t) => {
            assert!(
                t.contains("\"kind\": \"butane\"") || t.contains("\"kind\":\"butane\""),
                "{t}"
            );
            return;
        }
    };
    panic!("verify should not say enabled: {}", ran.transcript());
}

/// `render butane` keeps its output, and what it writes reads back as the layer.
#[test]
fn render_butane_reads_back_as_the_layer() {
    let ran = common::run_modlayer(["render", "butane", "--openshift-version", "4.14"]).unwrap();
    let text = String::from_utf8(ran.stdout).unwrap();
    let mc = translate(&text, &[]).unwrap().machineconfig.unwrap();
    let files = &mc["spec"]["config"]["storage"]["files"];
    assert_eq!(files[0]["contents"]["source"], "data:,");
    assert_eq!(files[1]["contents"]["source"], "data:,sctp");
    assert_eq!(mc["spec"]["config"]["ignition"]["version"], "3.4.0");
    assert_eq!(mc["metadata"]["name"], "load-sctp-module-worker");
}

/// An openshift source is judged for the release its version names, or the one asked for.
#[test]
fn the_release_is_the_version_or_the_one_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let layer = "storage:\n  files:\n    - path: /etc/modprobe.d/sctp-blacklist.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        inline: \"\"\n    - path: /etc/modules-load.d/sctp-load.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        inline: sctp\n";
    let path = dir.path().join("r.bu");
    std::fs::write(&path, format!("{OPENSHIFT}{layer}")).unwrap();
    let mut cmd = common::modlayer();
    cmd.arg("verify")
        .arg(&path)
        .args(["--openshift-version", "4.12"]);
    let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    let out = ran.transcript();
    assert_eq!(ran.status.code(), Some(1), "{out}");
    assert!(out.contains("ignition-spec-unsupported"), "{out}");
    assert_eq!(verify_status(&path, None).0, 0);
}

/// `render butane` with several roles writes one file per role (`-o DIR`) or refuses; a file of
/// several documents is what Butane makes of it: the first one, with a warning for the others.
#[test]
fn several_roles_are_several_files_and_only_the_first_document_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::modlayer();
    cmd.args(["render", "butane", "--role", "worker", "--role", "master"]);
    let refused = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", refused.transcript());
    assert!(refused.stdout.is_empty());
    let out = dir.path().join("roles");
    let ran = common::run_modlayer([
        "render".as_ref(),
        "butane".as_ref(),
        "--role".as_ref(),
        "worker".as_ref(),
        "--role".as_ref(),
        "master".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .unwrap();
    assert!(ran.success(), "{}", ran.transcript());
    for role in ["worker", "master"] {
        let path = out.join(format!("load-sctp-module-{role}.bu"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("variant:").count(), 1, "{text}");
        let mc = translate(&text, &[]).unwrap().machineconfig.unwrap();
        assert_eq!(
            mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"],
            role
        );
        let (status, transcript) = verify_status(&path, None);
        assert_eq!(status, 0, "{transcript}");
    }

    // Butane reads the first document only: the master one below is ignored (a warning).
    let master = OPENSHIFT
        .replace("99-worker-sctp", "99-master-sctp")
        .replace("role: worker", "role: master");
    let text = format!("# two pools\n{OPENSHIFT}---\n# the master one\n{master}");
    let path = dir.path().join("two.bu");
    std::fs::write(&path, &text).unwrap();
    let (status, transcript) = verify_status(&path, None);
    assert_eq!(status, 1, "{transcript}");
    assert!(
        transcript.contains("two.bu:10:1: a YAML document after the first"),
        "{transcript}"
    );
    let applied = common::run_modlayer(["apply".as_ref(), path.as_os_str()]).unwrap();
    assert!(
        String::from_utf8_lossy(&applied.stderr)
            .contains("two.bu:10:1: a YAML document after the first"),
        "{}",
        applied.transcript()
    );
    let applied = String::from_utf8(applied.stdout).unwrap();
    let (first, rest) = applied.split_once("---\n").unwrap();
    assert!(first.contains("inline: sctp"), "{applied}");
    assert_eq!(rest, format!("# the master one\n{master}"));

    let fcos = dir.path().join("two-fcos.bu");
    std::fs::write(
        &fcos,
        "variant: fcos\nversion: 1.5.0\n---\nvariant: fcos\nversion: 9.9.9\n",
    )
    .unwrap();
    let (status, transcript) = verify_status(&fcos, None);
    assert_eq!(status, 1, "{transcript}");
    assert!(
        transcript.contains("two-fcos.bu:4:1: a YAML document after the first"),
        "{transcript}"
    );
}
