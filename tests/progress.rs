//! Progress bars on long work, as skopeo and coreos-installer show them: on standard error, only
//! when it is a terminal, only for archives over 100 MB (and folders over 1,000 files), never with
//! `-q` or a `--format` other than text.

mod common;

use std::path::Path;
use std::process::Command;

/// Run `modlayer ARGS` with standard error on a pseudo-terminal (Python's `pty`); what the
/// terminal received, and the exit status.
fn on_a_terminal(args: &[&str], dir: &Path) -> (String, i32) {
    let script = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
code = p.wait()
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(code)
"#;
    let out = Command::new(common::SYSTEM_PYTHON)
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_modlayer"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// A rootfs archive of about 160 MB: the RHEL blacklist and a large file.
fn big_archive(dir: &Path) {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::create_dir_all(root.join("usr/share")).unwrap();
    std::fs::write(
        root.join("etc/modprobe.d/sctp-blacklist.conf"),
        common::rhel_blacklist(),
    )
    .unwrap();
    let mut blob = Vec::with_capacity(160 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while blob.len() < 160 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        blob.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(root.join("usr/share/blob"), blob).unwrap();
    let mut tar = tar::Builder::new(std::fs::File::create(dir.join("rootfs.tar")).unwrap());
    tar.append_dir_all(".", &root).unwrap();
    tar.into_inner().unwrap();
}

#[test]
fn a_bar_only_on_a_terminal_and_only_when_asked_for_text() {
    let d = tempfile::tempdir().unwrap();
    big_archive(d.path());
    // Text on a terminal: a bar (it counts bytes), then cleared.
    let (tty, code) = on_a_terminal(&["verify", "rootfs.tar"], d.path());
    assert_eq!(code, 1, "{tty}");
    assert!(
        tty.contains("MiB"),
        "no progress bar on the terminal: {tty:?}"
    );
    // -q and machine formats: nothing but what the run itself says.
    for args in [
        &["-q", "verify", "rootfs.tar"][..],
        &["verify", "--format", "json", "rootfs.tar"][..],
        &["verify", "--format", "sarif", "rootfs.tar"][..],
    ] {
        let (tty, code) = on_a_terminal(args, d.path());
        assert_eq!(code, 1, "{args:?}: {tty}");
        assert!(!tty.contains("MiB"), "{args:?} drew a bar: {tty:?}");
    }
    // Standard error not a terminal: no bar.
    let out = common::modlayer()
        .args(["verify", "rootfs.tar"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("MiB"));
    // A small archive on a terminal: no bar.
    std::fs::remove_file(d.path().join("root/usr/share/blob")).unwrap();
    let mut tar = tar::Builder::new(std::fs::File::create(d.path().join("small.tar")).unwrap());
    tar.append_dir_all(".", d.path().join("root")).unwrap();
    tar.into_inner().unwrap();
    let (tty, _) = on_a_terminal(&["verify", "small.tar"], d.path());
    assert!(!tty.contains("MiB"), "{tty:?}");
}
