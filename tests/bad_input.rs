//! Bad input: exit 2, a message naming the file and the place, and the target left as it was.

mod common;

use std::path::Path;

fn snapshot(p: &Path) -> (Vec<u8>, std::time::SystemTime) {
    let m = std::fs::metadata(p).unwrap();
    (std::fs::read(p).unwrap(), m.modified().unwrap())
}

/// Run apply --in-place and verify on a bad file; both must exit 2 naming the file and `place`.
fn rejects(name: &str, bytes: &[u8], place: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let before = snapshot(&p);
    for cmd in ["apply", "verify"] {
        let mut c = common::modlayer();
        c.arg(cmd);
        if cmd == "apply" {
            c.arg("--in-place");
        }
        let out = c.arg(&p).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd} {name}: {err}");
        assert!(
            err.contains(name),
            "{cmd} {name}: message does not name the file: {err}"
        );
        assert!(
            err.contains(place),
            "{cmd} {name}: message does not say {place:?}: {err}"
        );
    }
    assert_eq!(snapshot(&p), before, "{name} was changed");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}

#[test]
fn truncated_json() {
    rejects(
        "t.ign",
        b"{\"ignition\": {\"version\": \"3.2.0\"},\n \"storage\": {\"files\": [",
        "t.ign:2:",
    );
}

#[test]
fn invalid_utf8() {
    // Ignition reads invalid UTF-8 in a string as U+FFFD (Go's encoding/json): verify reads the
    // config as Ignition does; apply refuses to patch it, naming the place.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.ign");
    let bytes = b"{\"ignition\": {\"version\": \"3.2.0\"}, \"x\": \"\xff\xfe\"}";
    std::fs::write(&p, bytes).unwrap();
    let out = common::modlayer()
        .args(["apply", "--in-place"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("u.ign:1:41: invalid UTF-8 (read as U+FFFD): Ignition reads this config only"),
        "{err}"
    );
    assert_eq!(std::fs::read(&p).unwrap(), bytes);
    let out = common::modlayer().arg("verify").arg(&p).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rejects(
        "u.yaml",
        b"apiVersion: v1\nkind: MachineConfig\nx: \xff\n",
        "u.yaml:3:4",
    );
}

#[test]
fn unknown_spec_version() {
    rejects(
        "v.ign",
        br#"{"ignition": {"version": "9.9.9"}}"#,
        "$.ignition.version",
    );
    rejects(
        "x.ign",
        br#"{"ignition": {"version": "3.7.0-experimental"}}"#,
        "$.ignition.version",
    );
    rejects(
        "n.ign",
        br#"{"ignition": {"version": 3}}"#,
        "$.ignition.version",
    );
}

#[test]
fn deep_nesting() {
    let deep = format!(
        "{{\"ignition\": {{\"version\": \"3.2.0\"}}, \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    rejects("deep.ign", deep.as_bytes(), "deep.ign:1:");
    let yaml = format!(
        "apiVersion: v1\nkind: MachineConfig\nx: {}\n",
        "[".repeat(100_000)
    );
    rejects("deep.yaml", yaml.as_bytes(), "deep.yaml:3:");
}

#[test]
fn duplicate_keys() {
    // Go's encoding/json keeps the last duplicate, as Ignition reads it: here the second
    // `ignition`, which has no version.
    rejects(
        "d.ign",
        b"{\"ignition\": {\"version\": \"3.2.0\"},\n\"ignition\": {}}",
        "$.ignition.version",
    );
    // YAML manifests: kubectl and oc keep the last value (issue 21), so verify warns
    // (duplicate-key) and judges; apply refuses to patch such a file and changes nothing.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/doc-machineconfig.yaml"),
    )
    .unwrap()
    .replacen(
        "kind: MachineConfig\n",
        "kind: MachineConfig\nkind: MachineConfig\n",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.yaml");
    std::fs::write(&p, &doc).unwrap();
    let out = common::modlayer()
        .args(["apply", "--in-place"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("d.yaml:3:1: key \"kind\" is written twice"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), doc);
    let out = common::modlayer()
        .args(["verify", "-v"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("warning[duplicate-key]: "), "{text}");
}

#[test]
fn bad_data_url() {
    let t = br#"{"ignition": {"version": "3.2.0"}, "storage": {"files": [{"path": "/etc/x", "contents": {"source": "data:;base64,@@@"}}]}}"#;
    rejects("b.ign", t, "$.storage.files[0].contents.source");
}

#[test]
fn not_a_config() {
    rejects("a.ign", b"[1, 2]", "a.ign");
    // A stream of Kubernetes objects without a MachineConfig (a lone Service) is judged against
    // the base by verify now (issue 22: exit 1, module-not-listed; tests/operators.rs); apply
    // still has nothing to patch, and text holding no Kubernetes object at all is refused.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.yaml");
    for (bytes, cmd, code, says) in [
        (
            &b"apiVersion: v1\nkind: Service\n"[..],
            "apply",
            2,
            "no MachineConfig found",
        ),
        (
            &b"apiVersion: v1\nkind: Service\n"[..],
            "verify",
            1,
            "module-not-listed",
        ),
        (
            &b"apiVersion: v1\nspec: {}\n"[..],
            "verify",
            2,
            "no Kubernetes object found",
        ),
    ] {
        std::fs::write(&p, bytes).unwrap();
        let out = common::modlayer().arg(cmd).arg(&p).output().unwrap();
        let all = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{cmd}: {all}");
        assert!(all.contains(says) && all.contains("s.yaml"), "{cmd}: {all}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }
    rejects("t.yaml", b"kind: MachineConfig\napiVersion: machineconfiguration.openshift.io/v1\nmetadata:\n\tname: x\n", "t.yaml:4:");
}

#[test]
fn a_one_gigabyte_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.ign");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(1 << 30).unwrap(); // sparse: costs no disk
    drop(f);
    let start = std::time::Instant::now();
    let out = common::modlayer()
        .args(["apply", "--in-place"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("huge.ign") && err.contains("byte 268435457"),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 1 << 30);
}

#[test]
fn one_bad_target_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ign");
    let bad = dir.path().join("bad.ign");
    std::fs::write(&good, br#"{"ignition":{"version":"3.2.0"}}"#).unwrap();
    std::fs::write(&bad, br#"{"ignition":{"version":"3.2.0"}"#).unwrap();
    let out = common::modlayer()
        .args(["apply", "--in-place"])
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read(&bad).unwrap(),
        br#"{"ignition":{"version":"3.2.0"}"#
    );
    let patched = std::fs::read_to_string(&good).unwrap();
    assert!(patched.contains("sctp-load.conf"), "{patched}");
}

#[test]
fn layer_conflicts_are_refused() {
    let link = br#"{"ignition":{"version":"3.2.0"},"storage":{"links":[{"path":"/etc/modules-load.d/sctp-load.conf","target":"/dev/null"}]}}"#;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("l.ign");
    std::fs::write(&p, link).unwrap();
    let out = common::modlayer()
        .args(["apply", "-i"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("$.storage.links[0]") && err.contains("link"),
        "{err}"
    );
    assert_eq!(std::fs::read(&p).unwrap(), link);
    let append = br#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/modules-load.d/sctp-load.conf","append":[{"source":"data:,sctp"}]}]}}"#;
    std::fs::write(&p, append).unwrap();
    let out = common::modlayer()
        .args(["apply", "-i"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("$.storage.files[0].append"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["render", "machineconfig", "--ignition-version", "3.9.0"],
        vec!["render", "machineconfig", "--openshift-version", "five"],
        vec!["apply", "--module", "bad name", "-"],
        vec!["nonsense"],
    ] {
        let out = common::modlayer().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}
