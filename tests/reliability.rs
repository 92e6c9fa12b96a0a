//! Reliability (issue 13): closed pipes, decoded-content budgets, hostile OCI layouts, all-or-nothing
//! writes, temporary files after kill -9, concurrent applies.

mod common;

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn broken_pipe() -> OwnedFd {
    let (r, w) = rustix::pipe::pipe().expect("pipe");
    drop(r);
    w
}

/// Run a command with stdout and/or stderr a broken pipe; its exit code.
fn run_broken(mut c: Command, stdout: bool, stderr: bool) -> Option<i32> {
    c.stdin(Stdio::null());
    c.stdout(if stdout {
        Stdio::from(broken_pipe())
    } else {
        Stdio::null()
    });
    c.stderr(if stderr {
        Stdio::from(broken_pipe())
    } else {
        Stdio::null()
    });
    c.status().expect("spawn").code()
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn closed_pipes_never_panic() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.ign");
    let out = common::run_modlayer(["render", "ignition"]).unwrap();
    write(&good, &out.stdout);
    let bad = d.path().join("bad.ign");
    write(&bad, b"{\"ignition\": ");
    let cases: Vec<(Vec<&str>, bool, bool, i32)> = vec![
        // An error message to a closed stderr: still exit 2, not 101.
        (vec!["verify", bad.to_str().unwrap()], false, true, 2),
        (vec!["apply", bad.to_str().unwrap()], false, true, 2),
        (vec!["verify", "/nonexistent/x.ign"], false, true, 2),
        // Success with messages (-v) on a closed stderr: the status earned, 0.
        (vec!["-v", "verify", good.to_str().unwrap()], false, true, 0),
        (
            vec!["-v", "apply", "--dry-run", good.to_str().unwrap()],
            false,
            true,
            0,
        ),
        // stdout closed (output lost: an I/O failure, 2) with stderr closed too.
        (vec!["verify", good.to_str().unwrap()], true, true, 2),
        (vec!["render", "ignition"], true, true, 2),
        (vec!["completions", "bash"], true, false, 2),
        (vec!["man"], true, true, 2),
        (vec!["explain"], true, true, 2),
        // A usage error on a closed stderr.
        (vec!["--no-such-flag"], false, true, 2),
    ];
    for (args, so, se, want) in cases {
        let mut c = common::modlayer();
        c.args(&args);
        let code = run_broken(c, so, se);
        assert_eq!(
            code,
            Some(want),
            "modlayer {args:?} (stdout closed: {so}, stderr closed: {se})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Decoded-content budget (gzip bombs): generated at test time.

/// A gzip data URL that decompresses to `mib` MiB of zeros (concatenated gzip members of 1 MiB
/// each, as Ignition's reader accepts).
fn bomb_url(mib: usize) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = z.finish().unwrap();
    let all: Vec<u8> = member.repeat(mib);
    format!(
        "data:;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(all)
    )
}

/// Run `modlayer ARGS` under /usr/bin/time (when present) and a 4 GiB address-space limit:
/// exit code, stderr, peak RSS in KiB (0 when /usr/bin/time is missing).
fn run_measured(args: &[&str]) -> (Option<i32>, String, u64) {
    let d = tempfile::tempdir().unwrap();
    let rss = d.path().join("rss");
    let bin = env!("CARGO_BIN_EXE_modlayer");
    let timed = Path::new("/usr/bin/time").exists();
    let mut c = Command::new("sh");
    let script = if timed {
        "ulimit -v 4194304; exec /usr/bin/time -f %M -o \"$0\" \"$@\""
    } else {
        "ulimit -v 4194304; shift; exec \"$@\""
    };
    c.arg("-c").arg(script).arg(&rss).arg(bin).args(args);
    let out = c.output().unwrap();
    let kib = std::fs::read_to_string(&rss)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    let mut err = String::from_utf8_lossy(&out.stderr).into_owned();
    if timed {
        // /usr/bin/time adds "Command exited with non-zero status N".
        err = err
            .lines()
            .filter(|l| !l.starts_with("Command exited"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    (out.status.code(), err, kib)
}

fn bomb_config(files: usize, appends: usize, dir: &str, mib: usize) -> String {
    let url = bomb_url(mib);
    let res = |u: &str| serde_json::json!({"source": u, "compression": "gzip"});
    let mut entries = Vec::new();
    for i in 0..files {
        let mut f = serde_json::json!({
            "path": format!("{dir}/bomb{i}.conf"),
            "mode": 420,
            "overwrite": true,
            "contents": res(&url),
        });
        if appends > 0 {
            f["append"] = (0..appends).map(|_| res(&url)).collect();
        }
        entries.push(f);
    }
    serde_json::json!({"ignition": {"version": "3.2.0"}, "storage": {"files": entries}}).to_string()
}

fn machineconfig_of(config: &str) -> String {
    format!(
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: bombs\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  config: {config}\n"
    )
}

#[test]
fn many_gzip_bombs_stop_at_the_budget() {
    let d = tempfile::tempdir().unwrap();
    // 40 files of 250 MiB each (each under the 256 MiB per-file cap): 10 GB decoded in all.
    let files = bomb_config(40, 0, "/opt/bombs", 250);
    // One file made of 40 append parts of 250 MiB.
    let appends = bomb_config(1, 40, "/etc/modules-load.d", 250);
    // Five MachineConfigs in one stream, each 500 MiB (each under the budget alone): the budget
    // is one for the whole target.
    let two = bomb_config(2, 0, "/opt/bombs", 250);
    let split: String = (0..5)
        .map(|i| machineconfig_of(&two).replace("name: bombs", &format!("name: bombs-{i}")))
        .collect::<Vec<_>>()
        .join("---\n");
    let cases = [
        ("files.ign", files.clone()),
        ("appends.ign", appends),
        ("files-mc.yaml", machineconfig_of(&files)),
        ("split-mc.yaml", split),
    ];
    for (name, text) in &cases {
        let p = d.path().join(name);
        write(&p, text.as_bytes());
        let started = std::time::Instant::now();
        let (code, err, kib) = run_measured(&["verify", p.to_str().unwrap()]);
        println!(
            "{name}: {} bytes of config, exit {code:?}, peak RSS {kib} KiB, {:?}",
            text.len(),
            started.elapsed()
        );
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("add up to more than"), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        if kib > 0 {
            assert!(kib < 600 << 10, "{name}: peak RSS {kib} KiB");
        }
    }
}

#[test]
fn large_decoded_contents_are_not_held() {
    let d = tempfile::tempdir().unwrap();
    // Three 250 MiB files at configuration paths: under the total budget, so verify judges the
    // config; the contents are streamed (seen as not visible), never held.
    let text = bomb_config(3, 0, "/etc/modprobe.d", 250);
    let p = d.path().join("three.ign");
    write(&p, text.as_bytes());
    let (code, err, kib) = run_measured(&["verify", "--format", "json", p.to_str().unwrap()]);
    println!("three.ign: exit {code:?}, peak RSS {kib} KiB");
    assert_eq!(code, Some(1), "{err}");
    if kib > 0 {
        assert!(
            kib < 300 << 10,
            "peak RSS {kib} KiB: decoded contents were held"
        );
    }
    let out = common::modlayer()
        .args(["verify", "--format", "json", p.to_str().unwrap()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("262144000 bytes, larger than modlayer reads"),
        "{text}"
    );
    // 900 files of 1 MiB at paths no verdict reads (900 MiB decoded, under the budget): none of
    // them is held.
    let many = bomb_config(900, 0, "/opt/many", 1);
    let p = d.path().join("many.ign");
    write(&p, many.as_bytes());
    let (code, err, kib) = run_measured(&["verify", p.to_str().unwrap()]);
    println!("many.ign: exit {code:?}, peak RSS {kib} KiB");
    assert_eq!(code, Some(1), "{err}");
    if kib > 0 {
        assert!(
            kib < 300 << 10,
            "peak RSS {kib} KiB: decoded contents were held"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile OCI layouts: confined, regular files only, validated before anything is written.

/// `modlayer ARGS` with a 30 s limit (a hang is a failure, not a stuck CI job).
fn modlayer_limited(args: &[&str]) -> (Option<i32>, String) {
    let mut c = common::modlayer();
    c.args(args).env_remove("SOURCE_DATE_EPOCH");
    match common::run_with_timeout(c, None, std::time::Duration::from_secs(30)) {
        Ok(r) => (
            r.status.code(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        ),
        Err(e) => panic!("modlayer {args:?} did not finish: {e}"),
    }
}

fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        p,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
}

/// The blob path of the first layer of the image's manifest (a lower layer).
fn lower_layer_blob(img: &Path) -> std::path::PathBuf {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(img.join("index.json")).unwrap()).unwrap();
    let mdigest = index["manifests"][0]["digest"].as_str().unwrap();
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(img.join("blobs/sha256").join(&mdigest[7..])).unwrap(),
    )
    .unwrap();
    let l = m["layers"][0]["digest"].as_str().unwrap();
    img.join("blobs/sha256").join(&l[7..])
}

/// Each hostile change to a fresh image: apply and verify exit 2 (without hanging), and neither
/// the layout nor anything outside it changes.
#[test]
fn hostile_oci_layouts_change_nothing() {
    if !common::have(common::Oracle::Umoci) {
        return;
    }
    type Spoil = fn(&Path, &Path);
    let cases: &[(&str, Spoil, &str)] = &[
        (
            "blobs/ a symlink leading out",
            |img, out| {
                let o = out.join("blobs");
                std::fs::rename(img.join("blobs"), &o).unwrap();
                std::os::unix::fs::symlink(&o, img.join("blobs")).unwrap();
            },
            "leads out",
        ),
        (
            "blobs/sha256 a relative symlink leading out",
            |img, out| {
                let o = out.join("sha256");
                std::fs::rename(img.join("blobs/sha256"), &o).unwrap();
                let rel = Path::new("../..")
                    .join(out.file_name().unwrap())
                    .join("sha256");
                std::os::unix::fs::symlink(rel, img.join("blobs/sha256")).unwrap();
            },
            "leads out",
        ),
        (
            "oci-layout linked to /dev/zero",
            |img, _| {
                std::fs::remove_file(img.join("oci-layout")).unwrap();
                std::os::unix::fs::symlink("/dev/zero", img.join("oci-layout")).unwrap();
            },
            "oci-layout",
        ),
        (
            "oci-layout a FIFO",
            |img, _| mkfifo(&img.join("oci-layout")),
            "FIFO",
        ),
        (
            "index.json a FIFO",
            |img, _| mkfifo(&img.join("index.json")),
            "FIFO",
        ),
        (
            "a layer blob a FIFO",
            |img, _| mkfifo(&lower_layer_blob(img)),
            "FIFO",
        ),
        (
            "a layer blob linked to /dev/zero",
            |img, _| {
                let b = lower_layer_blob(img);
                std::fs::remove_file(&b).unwrap();
                std::os::unix::fs::symlink("/dev/zero", &b).unwrap();
            },
            "leads out",
        ),
        (
            "a layer blob linked to ../../../../../../dev/zero",
            |img, _| {
                let b = lower_layer_blob(img);
                std::fs::remove_file(&b).unwrap();
                std::os::unix::fs::symlink("../../../../../../../../dev/zero", &b).unwrap();
            },
            "leads out",
        ),
        (
            "index.json a symlink (inside the layout)",
            |img, _| {
                std::fs::rename(img.join("index.json"), img.join("index-real.json")).unwrap();
                std::os::unix::fs::symlink("index-real.json", img.join("index.json")).unwrap();
            },
            "index.json",
        ),
        (
            "a lower layer blob missing",
            |img, _| std::fs::remove_file(lower_layer_blob(img)).unwrap(),
            "missing",
        ),
        (
            "a lower layer blob of the wrong size",
            |img, _| {
                let b = lower_layer_blob(img);
                let mut bytes = std::fs::read(&b).unwrap();
                bytes.extend_from_slice(b"extra");
                std::fs::write(&b, bytes).unwrap();
            },
            "descriptor says",
        ),
    ];
    for (what, spoil, says) in cases {
        let d = tempfile::tempdir().unwrap();
        let img = common::umoci_image(d.path());
        let out = d.path().join("outside");
        std::fs::create_dir(&out).unwrap();
        spoil(&img, &out);
        let before = (common::tree_snapshot(&img), common::tree_snapshot(&out));
        let target = format!("oci:{}:base", img.display());
        for cmd in ["apply", "verify"] {
            if *what == "index.json a symlink (inside the layout)" && cmd == "verify" {
                continue; // reading through a link inside the layout is fine
            }
            let (code, err) = modlayer_limited(&[cmd, &target]);
            assert_eq!(code, Some(2), "{what}: {cmd}: {err}");
            assert!(err.contains(says), "{what}: {cmd}: says {says:?}: {err}");
        }
        let after = (common::tree_snapshot(&img), common::tree_snapshot(&out));
        assert!(before == after, "{what}: something changed");
    }
}

/// umoci reads every image modlayer patched: the new history entry has `created` (the base
/// config's, or SOURCE_DATE_EPOCH's when given).
#[test]
fn umoci_stat_reads_patched_images() {
    if !common::have(common::Oracle::Umoci) {
        return;
    }
    for epoch in [None, Some("1700000000")] {
        let d = tempfile::tempdir().unwrap();
        let img = common::umoci_image(d.path());
        let target = format!("oci:{}:base", img.display());
        let mut c = common::modlayer();
        c.args(["apply", &target]).env_remove("SOURCE_DATE_EPOCH");
        if let Some(e) = epoch {
            c.env("SOURCE_DATE_EPOCH", e);
        }
        common::run_ok(c, None, common::ORACLE_TIMEOUT).unwrap();
        let mut stat = Command::new("umoci");
        stat.args(["stat", "--json", "--image"])
            .arg(format!("{}:base", img.display()));
        let ran = common::run_ok(stat, None, common::ORACLE_TIMEOUT)
            .unwrap_or_else(|e| panic!("epoch {epoch:?}: umoci stat: {e}"));
        let v: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
        let history = v["history"].as_array().unwrap();
        let last = history.last().unwrap();
        let created = last["created"].as_str().unwrap_or_default();
        match epoch {
            Some(_) => assert!(created.starts_with("2023-11-14T22:13:20"), "{last}"),
            None => {
                let newest = history[..history.len() - 1]
                    .iter()
                    .filter_map(|h| h["created"].as_str())
                    .max()
                    .unwrap_or_default();
                assert!(!created.is_empty(), "{last}");
                assert_eq!(created, newest, "{last}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// All-or-nothing directory writes; install-dir and tar refusals.

/// A tmpfs mounted for a test, unmounted on drop.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Mount a tmpfs with `opts` at `dir`; None (with the reason printed) where that is not allowed.
fn tmpfs(dir: &Path, opts: &str) -> Option<Mount> {
    std::fs::create_dir_all(dir).unwrap();
    match Command::new("mount")
        .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
        .arg(dir)
        .output()
    {
        Ok(o) if o.status.success() => Some(Mount(dir.to_path_buf())),
        Ok(o) => {
            println!(
                "SKIP: cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            println!("SKIP: cannot run mount: {e}");
            None
        }
    }
}

/// An RHCOS-like tree at `root`: the RHEL blacklist, no modules-load.d (the apply creates it).
fn small_tree(root: &Path) {
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    write(
        &root.join("etc/modprobe.d/sctp-blacklist.conf"),
        &common::rhel_blacklist(),
    );
}

fn temp_files_below(dir: &Path) -> Vec<String> {
    common::tree_snapshot(dir)
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .filter(|p| p.contains(".modlayer-"))
        .collect()
}

/// Apply on a tree where the write must fail part way: exit 2, the tree exactly as it was.
fn refused_unchanged(tree: &Path, what: &str) {
    let before = common::tree_snapshot(tree);
    let (code, err) = modlayer_limited(&["apply", tree.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{what}: {err}");
    assert!(err.contains("nothing was changed"), "{what}: {err}");
    assert!(
        before == common::tree_snapshot(tree),
        "{what}: the tree changed: {:?}",
        common::tree_snapshot(tree)
    );
}

#[test]
fn tree_apply_is_all_or_nothing_on_a_full_file_system() {
    let d = tempfile::tempdir().unwrap();
    // No inode left after the first staged file: the second cannot be staged.
    {
        let m = d.path().join("inodes");
        let Some(_mount) = tmpfs(&m, "size=4m,nr_inodes=64") else {
            return;
        };
        let tree = m.join("tree");
        small_tree(&tree);
        std::fs::create_dir(m.join("fill")).unwrap();
        let mut n = 0;
        while std::fs::write(m.join("fill").join(n.to_string()), b"").is_ok() {
            n += 1;
        }
        std::fs::remove_file(m.join("fill").join((n - 1).to_string())).unwrap();
        refused_unchanged(&tree, "one inode free");
    }
    // No block left: the empty blacklist stages, the 4-byte load file cannot be written.
    {
        let m = d.path().join("blocks");
        let Some(_mount) = tmpfs(&m, "size=256k") else {
            return;
        };
        let tree = m.join("tree");
        small_tree(&tree);
        std::fs::create_dir_all(tree.join("etc/modules-load.d")).unwrap();
        let mut f = std::fs::File::create(m.join("fill")).unwrap();
        use std::io::Write;
        while f.write_all(&[0u8; 4096]).is_ok() {}
        let _ = f.sync_all();
        refused_unchanged(&tree, "no block free");
        // With room again, the apply goes through and leaves no temporary file.
        drop(f);
        std::fs::remove_file(m.join("fill")).unwrap();
        let (code, err) = modlayer_limited(&["apply", tree.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{err}");
        assert!(temp_files_below(&tree).is_empty());
        assert_eq!(
            std::fs::read(tree.join("etc/modules-load.d/sctp-load.conf")).unwrap(),
            b"sctp"
        );
    }
}

#[test]
fn tree_apply_is_all_or_nothing_with_an_immutable_directory() {
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("tree");
    small_tree(&tree);
    let locked = tree.join("etc/modules-load.d");
    std::fs::create_dir_all(&locked).unwrap();
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&locked)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        println!("SKIP: chattr +i is not allowed on this file system");
        return;
    }
    struct Unlock(std::path::PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        }
    }
    let _unlock = Unlock(locked.clone());
    refused_unchanged(&tree, "etc/modules-load.d immutable");
}

#[test]
fn install_dir_refuses_an_openshift_symlink_leading_out() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/install-dirs/compact");
    for absolute in [true, false] {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("install");
        let out = d.path().join("elsewhere");
        std::fs::create_dir_all(dir.join("manifests")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        for e in std::fs::read_dir(src.join("manifests")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join("manifests").join(e.file_name())).unwrap();
        }
        for e in std::fs::read_dir(src.join("openshift")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), out.join(e.file_name())).unwrap();
        }
        let link: std::path::PathBuf = if absolute {
            out.clone()
        } else {
            "../elsewhere".into()
        };
        std::os::unix::fs::symlink(&link, dir.join("openshift")).unwrap();
        let before = (common::tree_snapshot(&dir), common::tree_snapshot(&out));
        let (code, err) =
            modlayer_limited(&["apply", "--kind", "install-dir", dir.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{link:?}: {err}");
        assert!(err.contains("leads out"), "{err}");
        let after = (common::tree_snapshot(&dir), common::tree_snapshot(&out));
        assert!(before == after, "{link:?}: something changed");
    }
}

/// A tar whose etc/modules-load.d is a symlink: apply refuses (exit 2, nothing written) rather
/// than add a file beneath the link, which GNU tar cannot extract; with a real directory the
/// result extracts with GNU tar.
#[test]
fn tar_with_a_symlinked_config_dir() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    small_tree(&root);
    std::fs::create_dir_all(root.join("usr/lib/modules-load.d")).unwrap();
    std::os::unix::fs::symlink("../usr/lib/modules-load.d", root.join("etc/modules-load.d"))
        .unwrap();
    let tarball = d.path().join("root.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["-cf"])
        .arg(&tarball)
        .args(["etc", "usr"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let before = std::fs::read(&tarball).unwrap();
    for args in [
        vec!["apply", "--in-place"],
        vec!["apply", "--dry-run"],
        vec!["apply", "-o"],
    ] {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = d.path().join("out.tar");
        if args.contains(&"-o") {
            a.push(out.display().to_string());
        }
        a.push(tarball.display().to_string());
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, err) = modlayer_limited(&refs);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("symbolic link"), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: wrote {out:?}");
        assert!(temp_files_below(d.path()).is_empty());
    }
    assert_eq!(std::fs::read(&tarball).unwrap(), before);
    // With a real directory the patched archive extracts with GNU tar.
    std::fs::remove_file(root.join("etc/modules-load.d")).unwrap();
    std::fs::create_dir(root.join("etc/modules-load.d")).unwrap();
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["-cf"])
        .arg(&tarball)
        .args(["etc", "usr"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let (code, err) = modlayer_limited(&["apply", "--in-place", tarball.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let x = d.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let out = Command::new("tar")
        .arg("-C")
        .arg(&x)
        .arg("-xf")
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(x.join("etc/modules-load.d/sctp-load.conf")).unwrap(),
        b"sctp"
    );
}

// ---------------------------------------------------------------------------------------------
// Temporary files: stale ones removed, none left by a killed run; concurrent applies both land.

/// A small deterministic pseudo-random sequence (no dependency; the seed is printed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

fn seed() -> u64 {
    let s = std::env::var("MODLAYER_TRIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("seed {s} (MODLAYER_TRIAL_SEED)");
    s
}

fn set_old_mtime(p: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(old).unwrap();
}

#[test]
fn stale_temp_files_of_dead_runs_are_removed() {
    let d = tempfile::tempdir().unwrap();
    let out = common::run_modlayer(["render", "ignition"]).unwrap();
    let ign = d.path().join("config.ign");
    write(&ign, br#"{"ignition": {"version": "3.2.0"}}"#);
    let _ = out;
    // A dead run's file (no such pid), an old unnamed-by-pid one (older tools), and a live run's
    // (this test's own pid): the first two go, the live one stays.
    let dead = d.path().join(".modlayer-999999999-0-0");
    let legacy = d.path().join(".modlayer-Ab3xYz");
    let live = d
        .path()
        .join(format!(".modlayer-{}-7-0", std::process::id()));
    let fresh = d.path().join(".modlayer-999999998-0-0");
    for p in [&dead, &legacy, &live] {
        write(p, b"partial");
        set_old_mtime(p);
    }
    let (code, err) = modlayer_limited(&["apply", "--in-place", ign.to_str().unwrap()]);
    // A file created after the run started is not stale yet (written by a run that began later).
    write(&fresh, b"x");
    assert_eq!(code, Some(0), "{err}");
    assert!(!dead.exists(), "a dead run's temporary file is left");
    assert!(!legacy.exists(), "an old temporary file is left");
    assert!(live.exists(), "a live run's temporary file was removed");
    assert!(fresh.exists());
    // The same in an OCI layout's blobs/sha256 (where umoci gc trips over them).
    if common::have(common::Oracle::Umoci) {
        let img = common::umoci_image(d.path());
        let dead = img.join("blobs/sha256/.modlayer-999999999-1-0");
        write(&dead, b"partial");
        set_old_mtime(&dead);
        let target = format!("oci:{}:base", img.display());
        let (code, err) = modlayer_limited(&["apply", &target]);
        assert_eq!(code, Some(0), "{err}");
        assert!(!dead.exists(), "a dead run's blob temporary file is left");
        let gc = Command::new("umoci")
            .args(["gc", "--layout"])
            .arg(&img)
            .output()
            .unwrap();
        assert!(
            gc.status.success(),
            "{}",
            String::from_utf8_lossy(&gc.stderr)
        );
    }
}

/// What one kill -9 trial kind needs: a fresh target, the argument naming it, the files to
/// compare and the directories that must hold no temporary file afterwards.
struct KillKind {
    name: &'static str,
    make: fn(&Path) -> std::path::PathBuf,
    arg: fn(&Path) -> String,
    extra: &'static [&'static str],
}

fn make_ign(d: &Path) -> std::path::PathBuf {
    // A config of a few MB, so the write takes long enough to be interrupted.
    let big: Vec<serde_json::Value> = (0..2000)
        .map(|i| {
            serde_json::json!({
                "path": format!("/opt/data/{i}"),
                "contents": {"source": format!("data:,{}", "x".repeat(1000))},
                "mode": 420
            })
        })
        .collect();
    let p = d.join("config.ign");
    write(
        &p,
        serde_json::json!({"ignition": {"version": "3.2.0"}, "storage": {"files": big}})
            .to_string()
            .as_bytes(),
    );
    p
}

fn make_mc(d: &Path) -> std::path::PathBuf {
    let ign = make_ign(d);
    let text = machineconfig_of(&std::fs::read_to_string(&ign).unwrap());
    std::fs::remove_file(&ign).unwrap();
    let p = d.join("mc.yaml");
    write(&p, text.as_bytes());
    p
}

fn make_tgz(d: &Path) -> std::path::PathBuf {
    let root = d.join("root");
    small_tree(&root);
    // Incompressible data so that the rewrite takes a while.
    let mut r = Lcg(42);
    let noise: Vec<u8> = (0..(24 << 20)).map(|_| r.next(256) as u8).collect();
    write(&root.join("usr/lib/noise"), &noise);
    let p = d.join("root.tar.gz");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-czf")
        .arg(&p)
        .args(["etc", "usr"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    std::fs::remove_dir_all(&root).unwrap();
    p
}

fn make_oci(d: &Path) -> std::path::PathBuf {
    let img = common::umoci_image(d);
    std::fs::remove_dir_all(d.join("rootfs")).unwrap();
    img
}

/// Every file below `dir` (paths relative to it) with its bytes.
fn files_of(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    common::tree_snapshot(dir)
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(dir).unwrap_or(&p).to_path_buf(), b))
        .collect()
}

#[test]
fn kill_9_leaves_old_or_new_and_no_temp_files() {
    let trials: u64 = std::env::var("MODLAYER_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = Lcg(seed());
    let mut kinds = vec![
        KillKind {
            name: "ignition",
            make: make_ign,
            arg: |p| p.display().to_string(),
            extra: &["--in-place"],
        },
        KillKind {
            name: "machineconfig",
            make: make_mc,
            arg: |p| p.display().to_string(),
            extra: &["--in-place"],
        },
        KillKind {
            name: "tar.gz",
            make: make_tgz,
            arg: |p| p.display().to_string(),
            extra: &["--in-place"],
        },
    ];
    if common::have(common::Oracle::Umoci) {
        kinds.push(KillKind {
            name: "oci",
            make: make_oci,
            arg: |p| format!("oci:{}:base", p.display()),
            extra: &[],
        });
    }
    let bin = env!("CARGO_BIN_EXE_modlayer");
    for k in &kinds {
        // The old and new states, and how long a whole apply takes. Every trial starts from a
        // copy of one fixture (`cp -a`), so that old and new are the same bytes each time.
        let template = tempfile::tempdir().unwrap();
        let made = (k.make)(template.path());
        let rel = made.strip_prefix(template.path()).unwrap().to_path_buf();
        let copy = |to: &Path| {
            let ok = Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", template.path().display()))
                .arg(to)
                .status()
                .unwrap()
                .success();
            assert!(ok, "cp -a");
            to.join(&rel)
        };
        let d = tempfile::tempdir().unwrap();
        let target = copy(d.path());
        let old = files_of(d.path());
        let started = std::time::Instant::now();
        let st = Command::new(bin)
            .arg("apply")
            .args(k.extra)
            .arg((k.arg)(&target))
            .env_remove("SOURCE_DATE_EPOCH")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "{}: a clean apply failed", k.name);
        let took = started.elapsed();
        let new = files_of(d.path());
        assert!(old != new, "{}: the apply changed nothing", k.name);
        let mut outcomes = [0u32; 3]; // old, new, killed before start or after end
        for _ in 0..trials {
            let t = tempfile::tempdir().unwrap();
            let target = copy(t.path());
            assert!(
                files_of(t.path()) == old,
                "{}: fixtures are not reproducible",
                k.name
            );
            let mut child = Command::new(bin)
                .arg("apply")
                .args(k.extra)
                .arg((k.arg)(&target))
                .env_remove("SOURCE_DATE_EPOCH")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let at = rng.next(took.as_micros() as u64 * 12 / 10 + 1);
            std::thread::sleep(std::time::Duration::from_micros(at));
            let _ = child.kill();
            let _ = child.wait();
            let now: Vec<_> = files_of(t.path())
                .into_iter()
                .filter(|(p, _)| !p.to_string_lossy().contains(".modlayer-"))
                .collect();
            if now == old {
                outcomes[0] += 1;
            } else if now == new {
                outcomes[1] += 1;
            } else {
                // For an OCI layout, blobs may be written before index.json moves: the image
                // the index names is still the old one, byte for byte.
                let index = |v: &[(std::path::PathBuf, Vec<u8>)]| {
                    v.iter()
                        .find(|(p, _)| p.ends_with("index.json"))
                        .map(|x| x.1.clone())
                };
                let old_blobs_kept = old.iter().all(|e| now.contains(e));
                assert!(
                    k.name == "oci" && index(&now) == index(&old) && old_blobs_kept,
                    "{}: killed after {at} µs: the target is neither the old nor the new version",
                    k.name
                );
                outcomes[2] += 1;
            }
            // The next run completes and leaves no temporary file.
            let st = Command::new(bin)
                .arg("apply")
                .args(k.extra)
                .arg((k.arg)(&target))
                .env_remove("SOURCE_DATE_EPOCH")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "{}: the run after a kill failed", k.name);
            assert!(
                files_of(t.path()) == new,
                "{}: the run after a kill did not give the new version",
                k.name
            );
            let left = temp_files_below(t.path());
            assert!(
                left.is_empty(),
                "{}: temporary files left: {left:?}",
                k.name
            );
        }
        println!(
            "{}: {trials} trials (apply takes {took:?}): old {}, new {}, blobs only {}",
            k.name, outcomes[0], outcomes[1], outcomes[2]
        );
    }
}

/// Two applies with different layers (sctp and dccp) at once on one file and on one OCI layout:
/// both land (the second waits for the first's lock and reads what it wrote).
#[test]
fn concurrent_applies_both_land() {
    let bin = env!("CARGO_BIN_EXE_modlayer");
    let trials = 8;
    for i in 0..trials {
        let d = tempfile::tempdir().unwrap();
        let ign = make_ign(d.path());
        let run = |module: Option<&str>, target: String, extra: &[&str]| {
            let mut c = Command::new(bin);
            c.arg("apply").args(extra);
            if let Some(m) = module {
                c.args(["--module", m]);
            }
            c.arg(target)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let a = run(None, ign.display().to_string(), &["--in-place"]);
        let b = run(Some("dccp"), ign.display().to_string(), &["--in-place"]);
        for c in [a, b] {
            let o = c.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "trial {i}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let text = std::fs::read_to_string(&ign).unwrap();
        assert!(
            text.contains("/etc/modules-load.d/sctp-load.conf"),
            "trial {i}: sctp lost"
        );
        assert!(
            text.contains("/etc/modules-load.d/dccp-load.conf"),
            "trial {i}: dccp lost"
        );
        if common::have(common::Oracle::Umoci) && i < 4 {
            let img = make_oci(d.path());
            let layers = |img: &Path| -> usize {
                let index: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(img.join("index.json")).unwrap())
                        .unwrap();
                let m = index["manifests"][0]["digest"].as_str().unwrap();
                let m: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(img.join("blobs/sha256").join(&m[7..])).unwrap(),
                )
                .unwrap();
                m["layers"].as_array().unwrap().len()
            };
            let before = layers(&img);
            let target = format!("oci:{}:base", img.display());
            let a = run(None, target.clone(), &[]);
            let b = run(Some("dccp"), target, &[]);
            for c in [a, b] {
                let o = c.wait_with_output().unwrap();
                assert!(
                    o.status.success(),
                    "trial {i}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            assert_eq!(
                layers(&img),
                before + 2,
                "trial {i}: an OCI update was lost"
            );
        }
    }
}

/// A lock another process holds is waited for up to MODLAYER_LOCK_TIMEOUT, then exit 2 with
/// nothing changed.
#[test]
fn a_held_lock_times_out() {
    let d = tempfile::tempdir().unwrap();
    let ign = d.path().join("config.ign");
    write(&ign, br#"{"ignition": {"version": "3.2.0"}}"#);
    let f = std::fs::File::open(&ign).unwrap();
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let started = std::time::Instant::now();
    let mut c = common::modlayer();
    c.args(["apply", "--in-place", ign.to_str().unwrap()])
        .env("MODLAYER_LOCK_TIMEOUT", "1");
    let r = common::run_with_timeout(c, None, std::time::Duration::from_secs(30)).unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("holds its lock"), "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(
        std::fs::read(&ign).unwrap(),
        br#"{"ignition": {"version": "3.2.0"}}"#
    );
    drop(f);
    let (code, err) = modlayer_limited(&["apply", "--in-place", ign.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
}

/// `modlayer apply <(…)`: a pipe as the target (read, printed to standard output) takes no lock.
#[test]
fn a_pipe_target_is_read_without_a_lock() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("config.ign");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(&fifo, br#"{"ignition": {"version": "3.2.0"}}"#).unwrap();
        })
    };
    let mut c = common::modlayer();
    c.args(["apply", fifo.to_str().unwrap()]);
    let r = common::run_with_timeout(c, None, std::time::Duration::from_secs(30));
    // Release the writer if modlayer never opened the pipe.
    let _reader = rustix::fs::open(
        &fifo,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
        rustix::fs::Mode::empty(),
    );
    writer.join().unwrap();
    let r = r.unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(out.contains("/etc/modules-load.d/sctp-load.conf"), "{out}");
}
