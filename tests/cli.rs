//! The command line as users drive it: outputs, in-place writes, dry runs, layers, completions.

mod common;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

fn ok(args: &[&str]) -> String {
    match common::run_modlayer(args) {
        Ok(r) => String::from_utf8(r.stdout).unwrap(),
        Err(t) => panic!("{t}"),
    }
}

#[test]
fn render_machineconfig_default_is_the_documented_object() {
    let out = ok(&["render", "machineconfig"]);
    assert_eq!(
        out,
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/render/machineconfig-worker.yaml"
        ))
        .unwrap()
    );
    // Stable across runs.
    assert_eq!(out, ok(&["render", "machineconfig"]));
}

#[test]
fn render_names_and_roles() {
    let out = ok(&[
        "render",
        "machineconfig",
        "--role",
        "master",
        "--role",
        "worker",
        "--name",
        "sctp",
    ]);
    assert!(
        out.contains("name: sctp-master\n") && out.contains("name: sctp-worker\n"),
        "{out}"
    );
    assert_eq!(out.matches("\n---\n").count(), 1);
    let one = ok(&[
        "render",
        "machineconfig",
        "--role",
        "infra",
        "--name",
        "99-infra-sctp",
    ]);
    assert!(
        (one.contains("name: 99-infra-sctp\n") || one.contains("name: \"99-infra-sctp\"\n"))
            && one.contains("machineconfiguration.openshift.io/role: infra\n"),
        "{one}"
    );
    let dccp = ok(&["render", "machineconfig", "--module", "dccp"]);
    assert!(
        dccp.contains("/etc/modules-load.d/dccp-load.conf")
            && dccp.contains("data:,dccp")
            && dccp.contains("name: load-dccp-module-worker"),
        "{dccp}"
    );
}

#[test]
fn render_butane() {
    let out = ok(&["render", "butane", "--openshift-version", "4.14"]);
    assert!(
        out.starts_with("variant: openshift\nversion: 4.14.0\n"),
        "{out}"
    );
    assert!(
        out.contains("mode: 0644")
            && out.contains("inline: \"sctp\"")
            && out.contains("inline: \"\""),
        "{out}"
    );
    let fcos = ok(&["render", "butane", "--variant", "fcos"]);
    assert!(
        fcos.starts_with("variant: fcos\n") && !fcos.contains("metadata"),
        "{fcos}"
    );
    if common::have(common::Oracle::PyYaml) {
        let docs = common::yaml11_documents(&out).unwrap();
        assert_eq!(docs[0]["storage"]["files"][1]["contents"]["inline"], "sctp");
        assert_eq!(docs[0]["storage"]["files"][1]["mode"], 420);
    }
}

#[test]
fn layers_lists_sctp() {
    let out = ok(&["layers"]);
    assert!(out.starts_with("sctp\tmodule sctp\t"), "{out}");
    assert!(
        out.contains("\t0644\t/etc/modules-load.d/sctp-load.conf\t4 bytes\n"),
        "{out}"
    );
    assert!(
        out.contains("\t0644\t/etc/modprobe.d/sctp-blacklist.conf\t0 bytes\n"),
        "{out}"
    );
}

#[test]
fn layer_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("layer.toml"),
        "module = \"tipc\"\n[[file]]\npath = \"/etc/modprobe.d/tipc-blacklist.conf\"\nmode = \"0644\"\ncontents = \"\"\n[[file]]\npath = \"/etc/modules-load.d/tipc.conf\"\nmode = \"0600\"\ncontents_file = \"load.conf\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("load.conf"), "tipc\n").unwrap();
    let out = ok(&[
        "render",
        "ignition",
        "--layer",
        dir.path().to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["storage"]["files"][1]["path"],
        "/etc/modules-load.d/tipc.conf"
    );
    assert_eq!(v["storage"]["files"][1]["mode"], 384);
    assert_eq!(
        v["storage"]["files"][1]["contents"]["source"],
        "data:,tipc%0A"
    );
}

#[test]
fn in_place_is_atomic_keeps_mode_and_breaks_hardlinks() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ign");
    let b = dir.path().join("b.ign");
    std::fs::write(&a, b"{\"ignition\":{\"version\":\"3.2.0\"}}\n").unwrap();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::hard_link(&a, &b).unwrap();
    let ino = std::fs::metadata(&a).unwrap().ino();
    ok(&["apply", "--in-place", a.to_str().unwrap()]);
    let m = std::fs::metadata(&a).unwrap();
    assert_ne!(m.ino(), ino, "written through the existing inode");
    assert_eq!(m.mode() & 0o7777, 0o600);
    assert_eq!(
        std::fs::read(&b).unwrap(),
        b"{\"ignition\":{\"version\":\"3.2.0\"}}\n"
    );
    let patched = std::fs::read(&a).unwrap();
    assert!(patched.ends_with(b"}\n"));
    // A second run changes nothing, not even the inode.
    let ino = m.ino();
    ok(&["apply", "--in-place", a.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&a).unwrap().ino(), ino);
    assert_eq!(std::fs::read(&a).unwrap(), patched);
}

#[test]
fn output_file_stdin_and_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.ign");
    let out = dir.path().join("out.ign");
    let text = b"{\"ignition\":{\"version\":\"3.2.0\"}}";
    std::fs::write(&src, text).unwrap();
    ok(&["apply", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&src).unwrap(), text);
    let written = std::fs::read(&out).unwrap();
    let mut child = common::modlayer()
        .args(["apply", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(piped.stdout, written);
    let dry = ok(&["apply", "--dry-run", src.to_str().unwrap()]);
    assert!(
        dry.contains("would add /etc/modules-load.d/sctp-load.conf"),
        "{dry}"
    );
    assert!(dry.contains("+{\"ignition\""), "{dry}");
    assert_eq!(std::fs::read(&src).unwrap(), text);
    let dry2 = ok(&["apply", "--dry-run", out.to_str().unwrap()]);
    assert!(dry2.contains("nothing to change"), "{dry2}");
}

#[test]
fn several_targets_need_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ign");
    std::fs::write(&a, b"{\"ignition\":{\"version\":\"3.2.0\"}}").unwrap();
    let out = common::modlayer()
        .arg("apply")
        .arg(&a)
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--in-place"));
}

#[test]
fn verify_json_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ign");
    let bad = dir.path().join("bad.ign");
    std::fs::write(&good, ok(&["render", "ignition"])).unwrap();
    std::fs::write(&bad, b"{\"ignition\":{\"version\":\"3.2.0\"}}").unwrap();
    let out = common::modlayer()
        .args(["verify", "--format", "json"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = v["targets"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["target"], good.to_str().unwrap());
    assert_eq!(t[0]["kind"], "ignition");
    assert_eq!(t[0]["enabled"], true);
    assert_eq!(t[1]["enabled"], false);
    for f in t[1]["findings"].as_array().unwrap() {
        assert!(["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()));
        let code = f["code"].as_str().unwrap();
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{code}"
        );
        assert!(f["message"].is_string());
    }
    let strict = dir.path().join("strict.ign");
    std::fs::write(&strict, br#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/modprobe.d/sctp-blacklist.conf","contents":{"source":"data:,"},"mode":420,"overwrite":true},{"path":"/etc/modules-load.d/sctp-load.conf","contents":{"source":"data:,sctp%0A"},"mode":420,"overwrite":true}]}}"#).unwrap();
    assert_eq!(
        common::modlayer()
            .arg("verify")
            .arg(&strict)
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        common::modlayer()
            .args(["verify", "--strict"])
            .arg(&strict)
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn completions_and_man_page() {
    let bash = ok(&["completions", "bash"]);
    assert!(
        bash.contains("modlayer") && bash.contains("--ignition-version"),
        "bash completion"
    );
    let man = ok(&["man"]);
    assert!(
        man.contains(".TH modlayer") && man.contains("verify"),
        "{man}"
    );
    // Every finding code is in the man page (roff escapes `-`).
    for c in modlayer::findings::Code::ALL {
        assert!(
            man.contains(&c.as_str().replace('-', "\\-")),
            "{} missing from the man page",
            c.as_str()
        );
    }
}

#[test]
fn pointer_configs_are_patched_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("worker.ign");
    let text = r#"{"ignition":{"config":{"merge":[{"source":"https://api-int.example.com:22623/config/worker"}]},"security":{"tls":{"certificateAuthorities":[{"source":"data:text/plain;charset=utf-8;base64,LS0tLS1CRUdJTg=="}]}},"version":"3.2.0"}}"#;
    std::fs::write(&p, text).unwrap();
    let out = common::modlayer()
        .args(["apply", "--in-place"])
        .arg(&p)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning") && err.contains("pointer config") && err.contains("first boot"),
        "{err}"
    );
    let patched = std::fs::read_to_string(&p).unwrap();
    assert!(patched.starts_with(&text[..text.len() - 1]), "{patched}");
    let quiet = common::modlayer()
        .args(["-q", "apply"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(quiet.stderr.is_empty(), "-q still warns");
}

#[test]
fn checksums_lists_every_file_written_for_sha256sum() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.ign"), b"{\"ignition\":{\"version\":\"3.2.0\"}}").unwrap();
    std::fs::write(d.join("b.ign"), b"{\"ignition\":{\"version\":\"3.4.0\"}}").unwrap();
    std::fs::create_dir_all(d.join("root/etc/modprobe.d")).unwrap();
    let sums = |name: &str, args: &[&str]| -> String {
        let out = common::modlayer()
            .current_dir(d)
            .args(args)
            .args(["--checksums", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let check = std::process::Command::new("sha256sum")
            .arg("-c")
            .arg(name)
            .current_dir(d)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&check.stdout).into_owned();
        assert!(check.status.success(), "{report}");
        std::fs::read_to_string(d.join(name)).unwrap()
    };
    let list = sums("ign.sha256", &["apply", "--in-place", "a.ign", "b.ign"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.contains("  a.ign\n") && list.contains("  b.ign\n"),
        "{list}"
    );
    let list = sums("tree.sha256", &["apply", "root"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.contains("root/etc/modules-load.d/sctp-load.conf"),
        "{list}"
    );
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/install-dirs/standard");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(d.join("cluster"))
        .status()
        .unwrap();
    assert!(copied.success());
    let list = sums("dir.sha256", &["apply", "cluster"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.contains(
            "  cluster/openshift/99_openshift-machineconfig_load-sctp-module-worker.yaml\n"
        ),
        "{list}"
    );
    let list = sums(
        "render.sha256",
        &["render", "machineconfig", "-o", "mc.yaml"],
    );
    assert_eq!(list.lines().count(), 1, "{list}");
    // A second apply writes nothing, so lists nothing.
    let out = common::modlayer()
        .current_dir(d)
        .args([
            "apply",
            "--in-place",
            "a.ign",
            "--checksums",
            "again.sha256",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(d.join("again.sha256")).unwrap(), "");
}

#[test]
fn rootfs_archive_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("root/etc/modprobe.d")).unwrap();
    std::fs::write(
        d.join("root/etc/modprobe.d/sctp-blacklist.conf"),
        common::rhel_blacklist(),
    )
    .unwrap();
    std::fs::write(d.join("root/etc/hostname"), b"node\n").unwrap();
    let made = std::process::Command::new("tar")
        .args(["-czf", "rootfs.tar.gz", "-C", "root", "."])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(made.success());
    let run = |args: &[&str]| {
        common::modlayer()
            .current_dir(d)
            .args(args)
            .output()
            .unwrap()
    };
    assert_eq!(run(&["verify", "rootfs.tar.gz"]).status.code(), Some(1));
    let before = std::fs::read(d.join("rootfs.tar.gz")).unwrap();
    let dry = run(&["apply", "--dry-run", "rootfs.tar.gz"]);
    assert!(dry.status.success());
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("would"),
        "{}",
        String::from_utf8_lossy(&dry.stdout)
    );
    assert_eq!(std::fs::read(d.join("rootfs.tar.gz")).unwrap(), before);
    assert!(run(&["apply", "--in-place", "rootfs.tar.gz"])
        .status
        .success());
    assert_eq!(
        run(&["verify", "--strict", "rootfs.tar.gz"]).status.code(),
        Some(0)
    );
    std::fs::create_dir(d.join("out")).unwrap();
    let x = std::process::Command::new("tar")
        .args(["-xzf", "rootfs.tar.gz", "-C", "out"])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(x.success());
    assert_eq!(
        common::file_at(&d.join("out"), "/etc/modprobe.d/sctp-blacklist.conf"),
        Some((0o644, Vec::new()))
    );
    assert_eq!(
        common::file_at(&d.join("out"), "/etc/modules-load.d/sctp-load.conf"),
        Some((0o644, b"sctp".to_vec()))
    );
    assert_eq!(
        std::fs::read(d.join("out/etc/hostname")).unwrap(),
        b"node\n"
    );
    // Applying again leaves the archive byte-identical.
    let patched = std::fs::read(d.join("rootfs.tar.gz")).unwrap();
    assert!(run(&["apply", "--in-place", "rootfs.tar.gz"])
        .status
        .success());
    assert_eq!(std::fs::read(d.join("rootfs.tar.gz")).unwrap(), patched);
}

/// A config over the size that is mapped instead of read (4 MiB): standard output, `-o` and
/// `--in-place` give the same bytes, which differ from the input only by the inserted entries,
/// and ignition-validate accepts them.
#[test]
fn large_config_written_in_pieces() {
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 6 << 20]);
    let input = format!(
        r#"{{"ignition":{{"version":"3.2.0"}},"storage":{{"files":[{{"path":"/opt/blob","contents":{{"source":"data:;base64,{blob}"}},"mode":420}}]}}}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.ign");
    std::fs::write(&src, &input).unwrap();
    let src_s = src.to_str().unwrap();
    let stdout = common::run_modlayer(["apply", src_s]).unwrap().stdout;
    let out = dir.path().join("out.ign");
    common::run_modlayer(["apply", src_s, "-o", out.to_str().unwrap()]).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), stdout);
    common::run_modlayer(["apply", "--in-place", src_s]).unwrap();
    assert_eq!(std::fs::read(&src).unwrap(), stdout);
    // Only the layer's entries were inserted, after the existing one.
    let cut = input.rfind("]}}").unwrap();
    assert!(stdout.starts_with(&input.as_bytes()[..cut]));
    assert!(stdout.ends_with(&input.as_bytes()[cut..]));
    let middle =
        String::from_utf8_lossy(&stdout[cut..stdout.len() + cut - input.len()]).into_owned();
    assert!(
        middle.contains("/etc/modprobe.d/sctp-blacklist.conf"),
        "{middle}"
    );
    assert!(
        middle.contains("/etc/modules-load.d/sctp-load.conf"),
        "{middle}"
    );
    if common::have(common::Oracle::IgnitionValidate) {
        common::ignition_validate(&stdout).unwrap();
    }
}
