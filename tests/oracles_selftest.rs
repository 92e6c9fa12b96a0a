//! Self-test of the oracle harness (tests/common): the real programs must accept what is right and
//! reject what is wrong, and the facts about Debian's Ignition 2.14 that modlayer relies on are
//! pinned here (see the notes at the top of tests/common/mod.rs).

mod common;

use common::{
    file_at, have, have_program_at, ignition_apply, ignition_validate, rhcos_root, rhel_blacklist,
    root_files, run_ok, run_with_timeout, yaml11_documents, Entry, Oracle,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BLACKLIST: &str = "/etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";
/// sha512("sctp")
const SHA512_SCTP: &str = "c24679d3583bd2e3f4ac978e807350ca66902116f913b6d5c10b3e9090c1daf9f19d7b496e9f8f6a689092340caba7055f9bec05b1d1b7c4a83497a24718ddb2";
/// `printf sctp | gzip -9n | base64`
const GZIP_SCTP_B64: &str = "H4sIAAAAAAACAytOLikAANloCQkEAAAA";
/// sha512 of those gzip bytes (the compressed form)
const SHA512_GZIP_SCTP: &str = "4598b709633896c501a7121a4ecfbcffce73518edb2f0c806e8098d4cca8bd4997c54bcf8eb51a1495bb886f21fb69272674727b94593f97d2d46e1dd58ad742";

fn config(version: &str, files: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "ignition": { "version": version },
        "storage": { "files": files }
    }))
    .unwrap()
}

/// The two files that turn SCTP on, in spec 3.x form.
fn sctp_files() -> Vec<Value> {
    vec![
        json!({"path": BLACKLIST, "mode": 420, "overwrite": true, "contents": {"source": "data:,"}}),
        json!({"path": LOAD, "mode": 420, "overwrite": true, "contents": {"source": "data:,sctp"}}),
    ]
}

fn good_config(version: &str) -> Vec<u8> {
    config(version, sctp_files())
}

fn expect_sctp_enabled(root: &Path) {
    let mut want = BTreeMap::new();
    want.insert(
        BLACKLIST.to_string(),
        Entry::File {
            mode: 0o644,
            bytes: Vec::new(),
        },
    );
    want.insert(
        LOAD.to_string(),
        Entry::File {
            mode: 0o644,
            bytes: b"sctp".to_vec(),
        },
    );
    assert_eq!(
        root_files(root),
        want,
        "files under the root after Ignition"
    );
    assert_eq!(file_at(root, BLACKLIST), Some((0o644, Vec::new())));
    assert_eq!(file_at(root, LOAD), Some((0o644, b"sctp".to_vec())));
}

fn expect_blacklist_untouched(root: &Path) {
    assert_eq!(file_at(root, BLACKLIST), Some((0o644, rhel_blacklist())));
}

fn apply_ok(cfg: &[u8], root: &Path) -> String {
    match ignition_apply(cfg, root) {
        Ok(log) => log,
        Err(log) => panic!("Ignition failed:\n{log}"),
    }
}

fn apply_err(cfg: &[u8], root: &Path) -> String {
    match ignition_apply(cfg, root) {
        Ok(log) => panic!("Ignition unexpectedly succeeded:\n{log}"),
        Err(log) => log,
    }
}

// ---------------------------------------------------------------- ignition-validate

#[test]
fn validate_accepts_correct_3_2_0() {
    if !have(Oracle::IgnitionValidate) {
        return;
    }
    ignition_validate(&good_config("3.2.0")).unwrap();
}

#[test]
fn validate_rejects_duplicate_path() {
    if !have(Oracle::IgnitionValidate) {
        return;
    }
    let mut files = sctp_files();
    files.push(json!({"path": LOAD, "mode": 420, "contents": {"source": "data:,sctp"}}));
    let err = ignition_validate(&config("3.2.0", files)).unwrap_err();
    assert!(err.contains("duplicate"), "{err}");
}

#[test]
fn validate_rejects_string_mode() {
    if !have(Oracle::IgnitionValidate) {
        return;
    }
    let mut files = sctp_files();
    files[1]["mode"] = json!("0644");
    let err = ignition_validate(&config("3.2.0", files)).unwrap_err();
    assert!(err.contains("mode"), "{err}");
}

#[test]
fn validate_rejects_version_9_9_9() {
    if !have(Oracle::IgnitionValidate) {
        return;
    }
    let err = ignition_validate(&good_config("9.9.9")).unwrap_err();
    assert!(err.contains("unsupported config version"), "{err}");
}

/// Observed: `overwrite: true` with no source is a validation error
/// ("overwrite must be false if source is unspecified").
#[test]
fn validate_rejects_overwrite_true_without_source() {
    if !have(Oracle::IgnitionValidate) {
        return;
    }
    let cfg = config(
        "3.2.0",
        vec![json!({"path": BLACKLIST, "mode": 420, "overwrite": true})],
    );
    let err = ignition_validate(&cfg).unwrap_err();
    assert!(
        err.contains("overwrite must be false if source is unspecified"),
        "{err}"
    );
}

// ---------------------------------------------------------------- Ignition: spec versions

fn apply_good(version: &str) {
    if !have(Oracle::Ignition) {
        return;
    }
    let root = rhcos_root();
    apply_ok(&good_config(version), root.path());
    expect_sctp_enabled(root.path());
}

#[test]
fn apply_3_0_0() {
    apply_good("3.0.0");
}

#[test]
fn apply_3_1_0() {
    apply_good("3.1.0");
}

#[test]
fn apply_3_2_0() {
    apply_good("3.2.0");
}

#[test]
fn apply_3_3_0() {
    apply_good("3.3.0");
}

/// Observed: Debian's Ignition 2.14 (and its ignition-validate) reads only spec 3.x configs; a
/// 2.2.0 config (files with "filesystem": "root") is "unsupported config version" at validation
/// and in the fetch-offline stage, and the root is left as it was. Spec 2.x output therefore
/// cannot be judged by this oracle.
#[test]
fn spec_2_2_0_is_unsupported_by_ignition_2_14() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let files: Vec<Value> = sctp_files()
        .into_iter()
        .map(|mut f| {
            f["filesystem"] = json!("root");
            f
        })
        .collect();
    let cfg = config("2.2.0", files);
    let err = ignition_validate(&cfg).unwrap_err();
    assert!(err.contains("unsupported config version"), "{err}");
    let root = rhcos_root();
    let log = apply_err(&cfg, root.path());
    assert!(log.contains("unsupported config version"), "{log}");
    expect_blacklist_untouched(root.path());
    assert_eq!(file_at(root.path(), LOAD), None);
}

/// Observed: 3.4.0 is newer than Ignition 2.14 knows: rejected like 2.2.0.
#[test]
fn spec_3_4_0_is_unsupported_by_ignition_2_14() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let cfg = good_config("3.4.0");
    let err = ignition_validate(&cfg).unwrap_err();
    assert!(err.contains("unsupported config version"), "{err}");
    let root = rhcos_root();
    let log = apply_err(&cfg, root.path());
    assert!(log.contains("unsupported config version"), "{log}");
    expect_blacklist_untouched(root.path());
}

// ---------------------------------------------------------------- Ignition: overwrite / no contents

/// Observed fact: with `overwrite: false` and the RHEL blacklist file already in the root,
/// Ignition's files stage FAILS ("A file exists there already and overwrite is false") although
/// ignition-validate accepts the config; the existing file keeps its bytes and mode.
#[test]
fn overwrite_false_on_existing_file_fails() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let files: Vec<Value> = sctp_files()
        .into_iter()
        .map(|mut f| {
            f["overwrite"] = json!(false);
            f
        })
        .collect();
    let cfg = config("3.2.0", files);
    ignition_validate(&cfg).unwrap();
    let root = rhcos_root();
    let log = apply_err(&cfg, root.path());
    assert!(
        log.contains("A file exists there already and overwrite is false"),
        "{log}"
    );
    expect_blacklist_untouched(root.path());
}

/// Observed: `overwrite: false` is fine where nothing exists yet.
#[test]
fn overwrite_false_on_new_path_succeeds() {
    if !have(Oracle::Ignition) {
        return;
    }
    let cfg = config(
        "3.2.0",
        vec![
            json!({"path": LOAD, "mode": 420, "overwrite": false, "contents": {"source": "data:,sctp"}}),
        ],
    );
    let root = rhcos_root();
    apply_ok(&cfg, root.path());
    assert_eq!(file_at(root.path(), LOAD), Some((0o644, b"sctp".to_vec())));
    expect_blacklist_untouched(root.path());
}

/// Observed fact: an entry with no `contents` and no `overwrite` leaves the existing file's bytes
/// alone, but Ignition still applies the entry's mode to it (0600 becomes 0644 here).
#[test]
fn no_contents_keeps_existing_bytes_but_applies_mode() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let cfg = config(
        "3.2.0",
        vec![
            json!({"path": BLACKLIST, "mode": 420}),
            json!({"path": LOAD, "mode": 420, "overwrite": true, "contents": {"source": "data:,sctp"}}),
        ],
    );
    ignition_validate(&cfg).unwrap();
    let root = rhcos_root();
    let bl = root.path().join(BLACKLIST.trim_start_matches('/'));
    std::fs::set_permissions(&bl, std::fs::Permissions::from_mode(0o600)).unwrap();
    apply_ok(&cfg, root.path());
    assert_eq!(
        file_at(root.path(), BLACKLIST),
        Some((0o644, rhel_blacklist()))
    );
    assert_eq!(file_at(root.path(), LOAD), Some((0o644, b"sctp".to_vec())));
}

/// Observed: with neither contents nor mode the existing file stays exactly as it was.
#[test]
fn no_contents_no_mode_leaves_existing_file_as_is() {
    if !have(Oracle::Ignition) {
        return;
    }
    let cfg = config("3.2.0", vec![json!({"path": BLACKLIST})]);
    let root = rhcos_root();
    let bl = root.path().join(BLACKLIST.trim_start_matches('/'));
    std::fs::set_permissions(&bl, std::fs::Permissions::from_mode(0o600)).unwrap();
    apply_ok(&cfg, root.path());
    assert_eq!(
        file_at(root.path(), BLACKLIST),
        Some((0o600, rhel_blacklist()))
    );
}

// ---------------------------------------------------------------- Ignition: verification hashes

fn load_with(contents: Value) -> Vec<u8> {
    config(
        "3.2.0",
        vec![json!({"path": LOAD, "mode": 420, "overwrite": true, "contents": contents})],
    )
}

#[test]
fn right_hash_applies() {
    if !have(Oracle::Ignition) {
        return;
    }
    let cfg = load_with(
        json!({"source": "data:,sctp", "verification": {"hash": format!("sha512-{SHA512_SCTP}")}}),
    );
    let root = rhcos_root();
    apply_ok(&cfg, root.path());
    assert_eq!(file_at(root.path(), LOAD), Some((0o644, b"sctp".to_vec())));
}

/// A wrong hash is well-formed, so ignition-validate passes; only applying catches it.
#[test]
fn wrong_hash_validates_but_fails_to_apply() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let wrong = SHA512_SCTP.replacen('c', "d", 1);
    let cfg = load_with(
        json!({"source": "data:,sctp", "verification": {"hash": format!("sha512-{wrong}")}}),
    );
    ignition_validate(&cfg).unwrap();
    let root = rhcos_root();
    let log = apply_err(&cfg, root.path());
    assert!(log.contains("hash verification failed"), "{log}");
    assert_eq!(file_at(root.path(), LOAD), None);
}

/// Observed fact: with `compression: gzip`, Ignition 2.14 verifies the hash of the DECOMPRESSED
/// bytes.
#[test]
fn gzip_hash_is_over_decompressed_bytes() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let cfg = load_with(json!({
        "source": format!("data:;base64,{GZIP_SCTP_B64}"),
        "compression": "gzip",
        "verification": {"hash": format!("sha512-{SHA512_SCTP}")}
    }));
    ignition_validate(&cfg).unwrap();
    let root = rhcos_root();
    apply_ok(&cfg, root.path());
    assert_eq!(file_at(root.path(), LOAD), Some((0o644, b"sctp".to_vec())));
}

/// ... and the hash of the compressed bytes fails.
#[test]
fn gzip_hash_over_compressed_bytes_fails() {
    if !have(Oracle::IgnitionValidate) || !have(Oracle::Ignition) {
        return;
    }
    let cfg = load_with(json!({
        "source": format!("data:;base64,{GZIP_SCTP_B64}"),
        "compression": "gzip",
        "verification": {"hash": format!("sha512-{SHA512_GZIP_SCTP}")}
    }));
    ignition_validate(&cfg).unwrap();
    let root = rhcos_root();
    let log = apply_err(&cfg, root.path());
    assert!(log.contains("hash verification failed"), "{log}");
}

// ---------------------------------------------------------------- Ignition: the harness itself

/// ignition_apply adds only absent support files and removes nothing of the caller's; user and
/// group names resolve against ROOT/etc/passwd and ROOT/etc/group.
#[test]
fn apply_keeps_callers_files_and_resolves_root_user() {
    if !have(Oracle::Ignition) {
        return;
    }
    let root = rhcos_root();
    let etc = root.path().join("etc");
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/bash\ncore:x:1000:1000::/home/core:/bin/bash\n",
    )
    .unwrap();
    std::fs::write(etc.join("hostname"), "node-1\n").unwrap();
    let mut files = sctp_files();
    files[1]["user"] = json!({"name": "root"});
    files[1]["group"] = json!({"name": "root"});
    apply_ok(&config("3.2.0", files), root.path());
    assert_eq!(
        std::fs::read_to_string(etc.join("passwd")).unwrap(),
        "root:x:0:0:root:/root:/bin/bash\ncore:x:1000:1000::/home/core:/bin/bash\n"
    );
    assert_eq!(
        std::fs::read_to_string(etc.join("hostname")).unwrap(),
        "node-1\n"
    );
    assert_eq!(
        std::fs::read_to_string(etc.join("group")).unwrap(),
        "root:x:0:\n"
    );
    assert!(std::fs::read_to_string(etc.join("selinux/config"))
        .unwrap()
        .contains("SELINUX=disabled"));
    assert_eq!(file_at(root.path(), LOAD), Some((0o644, b"sctp".to_vec())));
    assert_eq!(file_at(root.path(), BLACKLIST), Some((0o644, Vec::new())));
    assert!(file_at(root.path(), "/etc/.ignition-result.json").is_some());
}

#[test]
#[should_panic(expected = "refuses")]
fn apply_refuses_the_real_root() {
    let _ = ignition_apply(&good_config("3.2.0"), Path::new("/"));
}

// ---------------------------------------------------------------- PyYAML

#[test]
fn yaml11_unquoted_octal_is_an_integer() {
    if !have(Oracle::PyYaml) {
        return;
    }
    assert_eq!(
        yaml11_documents("mode: 0644\n").unwrap(),
        vec![json!({"mode": 420})]
    );
}

#[test]
fn yaml11_quoted_octal_is_a_string() {
    if !have(Oracle::PyYaml) {
        return;
    }
    assert_eq!(
        yaml11_documents("mode: '0644'\n").unwrap(),
        vec![json!({"mode": "0644"})]
    );
}

#[test]
fn yaml11_multi_document_stream() {
    if !have(Oracle::PyYaml) {
        return;
    }
    let docs = yaml11_documents("---\na: 1\n---\nb: [x, yes]\n---\n").unwrap();
    // YAML 1.1: `yes` is a boolean; an empty trailing document is null.
    assert_eq!(
        docs,
        vec![json!({"a": 1}), json!({"b": ["x", true]}), Value::Null]
    );
}

#[test]
fn yaml11_rejects_malformed_yaml() {
    if !have(Oracle::PyYaml) {
        return;
    }
    let err = yaml11_documents("a: [1, 2\n").unwrap_err();
    assert!(err.contains("YAML error"), "{err}");
}

// ---------------------------------------------------------------- have() and process helpers

#[test]
fn have_returns_false_for_missing_program() {
    assert!(!have_program_at(
        "Missing",
        Path::new("/nonexistent/modlayer-no-such-oracle"),
        false
    ));
}

#[test]
#[should_panic(expected = "MODLAYER_REQUIRE_ORACLES=1")]
fn have_panics_for_missing_program_when_required() {
    have_program_at(
        "Missing",
        Path::new("/nonexistent/modlayer-no-such-oracle"),
        true,
    );
}

#[test]
fn have_returns_true_for_present_program() {
    assert!(have_program_at("sh", Path::new("/bin/sh"), true));
}

#[test]
fn run_with_timeout_kills_a_hung_program() {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "echo started; exec sleep 30"]);
    let t = std::time::Instant::now();
    let err = run_with_timeout(cmd, None, Duration::from_millis(500)).unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        err.contains("TIMED OUT") && err.contains("started"),
        "{err}"
    );
}

#[test]
fn run_ok_reports_whole_output_and_status() {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "cat; echo to-stdout; echo to-stderr >&2; exit 3"]);
    let err = run_ok(cmd, Some(b"from-stdin\n"), Duration::from_secs(60)).unwrap_err();
    for part in ["from-stdin", "to-stdout", "to-stderr", "3"] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
}

#[test]
fn rhel_blacklist_and_rhcos_root() {
    let bl = rhel_blacklist();
    assert!(
        bl.ends_with(b"blacklist sctp\n"),
        "{}",
        String::from_utf8_lossy(&bl)
    );
    let root = rhcos_root();
    assert_eq!(file_at(root.path(), BLACKLIST), Some((0o644, bl.clone())));
    let mut want = BTreeMap::new();
    want.insert(
        BLACKLIST.to_string(),
        Entry::File {
            mode: 0o644,
            bytes: bl,
        },
    );
    assert_eq!(root_files(root.path()), want);
    assert_eq!(file_at(root.path(), LOAD), None);
    assert_eq!(
        file_at(root.path(), "/etc/modprobe.d"),
        None,
        "a directory is not a file"
    );
}

#[test]
fn sha256_known_answers() {
    assert_eq!(
        common::hex(&common::sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        common::hex(&common::sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let long = vec![b'a'; 1000];
    assert_eq!(
        common::hex(&common::sha256(&long)),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
    // 56 bytes: the length no longer fits in the first block.
    assert_eq!(
        common::hex(&common::sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}
