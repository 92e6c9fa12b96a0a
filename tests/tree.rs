//! The `tree` target: a directory holding an OS root file system. Every scenario runs through the
//! library (`modlayer::targets::tree`) and through the `modlayer` binary (`modlayer apply DIR`,
//! `modlayer verify DIR`); both must agree on files, bytes, modes and exit statuses.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use modlayer::node::collect::Collector;
use modlayer::targets::tree::{Tree, TreeTarget};
use modlayer::targets::{ApplyOpts, Dest, Target, VerifyOpts};

const BLACKLIST: &str = "/etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";
const MODULE: &str = "/usr/lib/modules/5.14.0-1/kernel/net/sctp/sctp.ko.xz";

/// How a scenario drives modlayer.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// `modlayer::targets::tree::TreeTarget` / `modlayer::targets::verify`.
    Lib,
    /// The `modlayer` binary.
    Cli,
}

/// What `verify` said: the exit status (0 enabled, 1 not, 2 error) and the finding codes.
#[derive(Debug)]
struct Verdict {
    status: i32,
    codes: Vec<String>,
    text: String,
}

use common::sctp;

fn p(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

fn write(root: &Path, abs: &str, bytes: &[u8], mode: u32) {
    let path = p(root, abs);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn link(root: &Path, abs: &str, target: impl AsRef<Path>) {
    let path = p(root, abs);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink(target, &path).unwrap();
}

fn ino(root: &Path, abs: &str) -> u64 {
    std::fs::symlink_metadata(p(root, abs)).unwrap().ino()
}

/// The minimal RHEL CoreOS-like tree: the RHEL blacklist (0644) and a kernel carrying sctp.
fn rhcos_tree() -> tempfile::TempDir {
    let root = common::rhcos_root();
    write(root.path(), MODULE, b"\xfd7zXZ\0module", 0o644);
    root
}

/// A tree the sctp layer was applied to (by hand, so verify scenarios do not depend on apply).
fn applied_tree() -> tempfile::TempDir {
    let root = rhcos_tree();
    std::fs::remove_file(p(root.path(), BLACKLIST)).unwrap();
    write(root.path(), BLACKLIST, b"", 0o644);
    write(root.path(), LOAD, b"sctp", 0o644);
    root
}

fn apply(via: Via, root: &Path, dry_run: bool) -> Result<Vec<String>, String> {
    let target = root.to_str().unwrap();
    match via {
        Via::Lib => {
            let opts = ApplyOpts {
                dry_run,
                ..ApplyOpts::to(Dest::Stdout)
            };
            TreeTarget::new(target)
                .apply(&sctp(), &opts)
                .map(|a| a.changes)
                .map_err(|e| format!("{e:#}"))
        }
        Via::Cli => {
            let mut cmd = common::modlayer();
            cmd.arg("apply");
            if dry_run {
                cmd.arg("--dry-run");
            }
            cmd.arg(target);
            let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
            match ran.status.code() {
                Some(0) => Ok(String::from_utf8_lossy(&ran.stdout)
                    .lines()
                    .map(str::to_string)
                    .collect()),
                Some(2) => Err(ran.transcript()),
                _ => panic!("apply must exit 0 or 2:\n{}", ran.transcript()),
            }
        }
    }
}

fn verify(via: Via, root: &Path) -> Verdict {
    let target = root.to_str().unwrap();
    match via {
        Via::Lib => {
            match modlayer::targets::verify(target, None, &sctp(), &VerifyOpts::default()) {
                Ok(reports) => Verdict {
                    status: if reports.iter().all(|r| r.enabled) {
                        0
                    } else {
                        1
                    },
                    codes: reports
                        .iter()
                        .flat_map(|r| r.findings.iter().map(|f| f.code.to_string()))
                        .collect(),
                    text: modlayer::report::to_json(&reports),
                },
                Err(e) => Verdict {
                    status: 2,
                    codes: vec![],
                    text: format!("{e:#}"),
                },
            }
        }
        Via::Cli => {
            let mut cmd = common::modlayer();
            cmd.args(["verify", "--format", "json", target]);
            let ran = common::run_with_timeout(cmd, None, common::ORACLE_TIMEOUT).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&ran.stdout)
                .unwrap_or_else(|e| panic!("{e}\n{}", ran.transcript()));
            let codes = json["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| t["findings"].as_array().cloned().unwrap_or_default())
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect();
            Verdict {
                status: ran.status.code().unwrap_or(-1),
                codes,
                text: ran.transcript(),
            }
        }
    }
}

fn assert_verdict(via: Via, root: &Path, status: i32, code: Option<&str>) {
    let v = verify(via, root);
    assert_eq!(v.status, status, "{via:?}: {}", v.text);
    if let Some(code) = code {
        assert!(
            v.codes.iter().any(|c| c == code),
            "{via:?}: no {code}: {}",
            v.text
        );
    }
}

/// Every entry under `root` (directories too): kind, mode, inode and contents or link target.
fn listing(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let rel = format!("/{}", path.strip_prefix(root).unwrap().display());
            let what = if m.is_dir() {
                walk(root, &path, out);
                "dir".to_string()
            } else if m.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else {
                format!("file {:?}", std::fs::read(&path).unwrap())
            };
            out.insert(rel, format!("{what} {:o} ino {}", m.mode(), m.ino()));
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Scenario 1: apply on a RHEL CoreOS-like tree: exactly the layer's bytes and modes, a new inode
/// for the replaced file, verify 1 before and 0 after; a second apply changes nothing.
fn apply_rhcos(via: Via) {
    let root = rhcos_tree();
    let r = root.path();
    assert_verdict(via, r, 1, Some("module-blacklisted"));
    let old_ino = ino(r, BLACKLIST);
    let changes = apply(via, r, false).unwrap();
    if let Via::Lib = via {
        assert_eq!(
            changes,
            [format!("replace {BLACKLIST}"), format!("create {LOAD}")]
        );
    }
    assert_eq!(common::file_at(r, BLACKLIST), Some((0o644, vec![])));
    assert_eq!(common::file_at(r, LOAD), Some((0o644, b"sctp".to_vec())));
    assert_ne!(
        ino(r, BLACKLIST),
        old_ino,
        "the blacklist must be a new file"
    );
    let dir = std::fs::metadata(p(r, "/etc/modules-load.d")).unwrap();
    assert_eq!(dir.mode() & 0o7777, 0o755);
    // Nothing else: no temporary files left over.
    let files: Vec<String> = common::root_files(r).into_keys().collect();
    assert_eq!(files, [BLACKLIST, LOAD, MODULE]);
    assert_verdict(via, r, 0, Some("module-listed"));
    let before = listing(r);
    let again = apply(via, r, false).unwrap();
    if let Via::Lib = via {
        assert!(again.is_empty(), "{again:?}");
    }
    assert_eq!(listing(r), before, "a second apply must change nothing");
}

/// A file with the right bytes and the wrong mode is replaced; modes are exact (no umask).
fn apply_fixes_mode(via: Via) {
    let root = applied_tree();
    let r = root.path();
    std::fs::set_permissions(p(r, LOAD), std::fs::Permissions::from_mode(0o600)).unwrap();
    let changes = apply(via, r, false).unwrap();
    if let Via::Lib = via {
        assert_eq!(changes, [format!("replace {LOAD}")]);
    }
    assert_eq!(common::file_at(r, LOAD), Some((0o644, b"sctp".to_vec())));
}

/// Scenario 2: The tree's blacklist is a hardlink to a file outside the tree: the outside file is
/// untouched.
fn hardlink_escape(via: Via) {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.conf");
    std::fs::write(&victim, common::rhel_blacklist()).unwrap();
    let root = common::rhcos_root();
    let r = root.path();
    std::fs::remove_file(p(r, BLACKLIST)).unwrap();
    std::fs::hard_link(&victim, p(r, BLACKLIST)).unwrap();
    apply(via, r, false).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), common::rhel_blacklist());
    assert_eq!(std::fs::metadata(&victim).unwrap().nlink(), 1);
    assert_eq!(common::file_at(r, BLACKLIST), Some((0o644, vec![])));
    assert_eq!(common::file_at(r, LOAD), Some((0o644, b"sctp".to_vec())));
}

/// Scenario 3a: `etc/modules-load.d` is an absolute symlink to a directory outside: the file lands
/// at `<root>/<that path>/sctp-load.conf`, as on the node, and nothing is written outside.
fn absolute_symlink_escape(via: Via) {
    let outside = tempfile::tempdir().unwrap();
    let abs = outside.path().canonicalize().unwrap();
    let root = rhcos_tree();
    let r = root.path();
    link(r, "/etc/modules-load.d", &abs);
    apply(via, r, false).unwrap();
    assert!(empty_dir(&abs), "something was written outside the tree");
    let inside = format!("{}/sctp-load.conf", abs.display());
    assert_eq!(common::file_at(r, &inside), Some((0o644, b"sctp".to_vec())));
    let dir = std::fs::metadata(p(r, abs.to_str().unwrap())).unwrap();
    assert_eq!(dir.mode() & 0o7777, 0o755);
    // The link itself is kept; verify reads through it inside the tree.
    assert_eq!(
        std::fs::read_link(p(r, "/etc/modules-load.d")).unwrap(),
        abs
    );
    assert_verdict(via, r, 0, Some("module-listed"));
}

/// Scenario 3b: `etc` is `../../../../outside`, which from the tree's real place leads to a
/// directory outside: resolution is clamped at the tree root, so everything lands in
/// `<root>/outside`.
fn relative_symlink_escape(via: Via) {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let r = base.path().join("a/b/c/root");
    std::fs::create_dir_all(&r).unwrap();
    link(&r, "/etc", "../../../../outside");
    // The link really leads outside when followed naively.
    assert_eq!(
        std::fs::canonicalize(p(&r, "/etc")).unwrap(),
        outside.canonicalize().unwrap()
    );
    write(&r, MODULE, b"module", 0o644);
    apply(via, &r, false).unwrap();
    assert!(
        empty_dir(&outside),
        "something was written outside the tree"
    );
    assert_eq!(
        common::file_at(&r, "/outside/modprobe.d/sctp-blacklist.conf"),
        Some((0o644, vec![]))
    );
    assert_eq!(
        common::file_at(&r, "/outside/modules-load.d/sctp-load.conf"),
        Some((0o644, b"sctp".to_vec()))
    );
    assert_verdict(via, &r, 0, None);
}

/// The layer path itself is a symlink to a file outside: the link is replaced, its target kept.
fn final_symlink_is_replaced(via: Via) {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.conf");
    std::fs::write(&victim, b"keep me").unwrap();
    let root = rhcos_tree();
    let r = root.path();
    link(r, LOAD, &victim);
    apply(via, r, false).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert_eq!(common::file_at(r, LOAD), Some((0o644, b"sctp".to_vec())));
}

/// verify reads symlinked configuration inside the tree, never the host's file it would name.
fn verify_symlinks_stay_inside(via: Via) {
    let outside = tempfile::tempdir().unwrap();
    let abs = outside.path().canonicalize().unwrap().join("evil.conf");
    std::fs::write(&abs, b"install sctp /bin/true\n").unwrap();
    let root = applied_tree();
    let r = root.path();
    link(r, "/usr/lib/modprobe.d/evil.conf", &abs);
    // Dangling inside the tree: ignored, as kmod on the node would.
    assert_verdict(via, r, 0, None);
    // The same path inside the tree is what counts.
    write(
        r,
        abs.to_str().unwrap(),
        b"install sctp /bin/false\n",
        0o644,
    );
    assert_verdict(via, r, 1, Some("install-override"));
}

/// Scenario 4: ostree commit layout (usr/etc, no etc): the layer goes to usr/etc, no etc is
/// created.
fn ostree_layout(via: Via) {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/usr/etc/modprobe.d/sctp-blacklist.conf",
        &common::rhel_blacklist(),
        0o644,
    );
    write(r, MODULE, b"module", 0o644);
    assert_verdict(via, r, 1, Some("module-blacklisted"));
    let changes = apply(via, r, false).unwrap();
    if let Via::Lib = via {
        assert_eq!(
            changes,
            [
                "replace /usr/etc/modprobe.d/sctp-blacklist.conf",
                "create /usr/etc/modules-load.d/sctp-load.conf"
            ]
        );
    }
    assert!(!p(r, "/etc").exists(), "etc must not be created");
    let files: Vec<String> = common::root_files(r).into_keys().collect();
    assert_eq!(
        files,
        [
            "/usr/etc/modprobe.d/sctp-blacklist.conf",
            "/usr/etc/modules-load.d/sctp-load.conf",
            MODULE,
        ]
    );
    assert_eq!(
        common::file_at(r, "/usr/etc/modules-load.d/sctp-load.conf"),
        Some((0o644, b"sctp".to_vec()))
    );
    assert_eq!(
        common::file_at(r, "/usr/etc/modprobe.d/sctp-blacklist.conf"),
        Some((0o644, vec![]))
    );
    assert_verdict(via, r, 0, None);
}

/// Scenario 5a: An `install sctp /bin/true` in usr/lib/modprobe.d blocks the module.
fn install_override(via: Via) {
    let root = applied_tree();
    let r = root.path();
    assert_verdict(via, r, 0, None);
    write(
        r,
        "/usr/lib/modprobe.d/x.conf",
        b"install sctp /bin/true\n",
        0o644,
    );
    assert_verdict(via, r, 1, Some("install-override"));
}

/// Scenario 5b: The load file masked by a `/dev/null` link: nothing loads the module.
fn load_file_masked(via: Via) {
    let root = applied_tree();
    let r = root.path();
    std::fs::remove_file(p(r, LOAD)).unwrap();
    link(r, LOAD, "/dev/null");
    assert_verdict(via, r, 1, Some("module-not-listed"));
}

/// Scenario 5c: A vendor load file in usr/lib masked by an etc `/dev/null` link of the same name.
fn vendor_load_file_masked(via: Via) {
    let root = applied_tree();
    let r = root.path();
    std::fs::remove_file(p(r, LOAD)).unwrap();
    write(
        r,
        "/usr/lib/modules-load.d/sctp-load.conf",
        b"sctp\n",
        0o644,
    );
    assert_verdict(via, r, 0, Some("module-listed"));
    link(r, LOAD, "/dev/null");
    assert_verdict(via, r, 1, Some("module-not-listed"));
}

/// Scenario 6: A kernel without the module blocks; the module built in is fine; modules.dep decides
/// when present; `build`/`source` symlinks are not followed.
fn kernels(via: Via) {
    let root = applied_tree();
    let r = root.path();
    std::fs::create_dir_all(p(r, "/usr/lib/modules/6.1.0/kernel/net/core")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("net/sctp")).unwrap();
    std::fs::write(outside.path().join("net/sctp/sctp.ko"), b"m").unwrap();
    link(r, "/usr/lib/modules/6.1.0/build", outside.path());
    assert_verdict(via, r, 1, Some("module-missing"));
    write(
        r,
        "/usr/lib/modules/6.1.0/modules.builtin",
        b"kernel/net/core/x.ko\nkernel/net/sctp/sctp.ko\n",
        0o644,
    );
    assert_verdict(via, r, 0, None);
    // modules.dep present: the module must be listed there (and its file exist).
    write(
        r,
        "/usr/lib/modules/5.14.0-1/modules.dep",
        b"kernel/net/core/x.ko.xz:\n",
        0o644,
    );
    assert_verdict(via, r, 1, Some("module-missing"));
    write(
        r,
        "/usr/lib/modules/5.14.0-1/modules.dep",
        b"kernel/net/core/x.ko.xz:\nkernel/net/sctp/sctp.ko.xz: kernel/lib/libcrc32c.ko.xz\n",
        0o644,
    );
    assert_verdict(via, r, 0, None);
}

/// Scenario 7: A boot loader entry with `modprobe.blacklist=sctp` blocks the module.
fn boot_entry(via: Via) {
    let root = applied_tree();
    let r = root.path();
    write(
        r,
        "/boot/loader/entries/ostree-1.conf",
        b"title RHCOS\noptions root=UUID=x rw\n",
        0o644,
    );
    assert_verdict(via, r, 0, None);
    write(
        r,
        "/boot/loader/entries/ostree-1.conf",
        b"title RHCOS\noptions root=UUID=x modprobe.blacklist=sctp\n",
        0o644,
    );
    assert_verdict(via, r, 1, Some("kernel-arg-modprobe-blacklist"));
}

/// Scenario 8: `--dry-run` writes nothing.
fn dry_run(via: Via) {
    let root = rhcos_tree();
    let r = root.path();
    let before = listing(r);
    let changes = apply(via, r, true).unwrap();
    assert!(!changes.is_empty());
    if let Via::Lib = via {
        assert_eq!(
            changes,
            [format!("replace {BLACKLIST}"), format!("create {LOAD}")]
        );
    }
    assert_eq!(listing(r), before);
}

/// Scenario 9: A directory at a layer path: refused (exit 2), nothing changed — even the other
/// file.
fn directory_refused(via: Via) {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(p(r, BLACKLIST)).unwrap();
    write(r, MODULE, b"module", 0o644);
    let before = listing(r);
    let e = apply(via, r, false).unwrap_err();
    assert!(e.contains(BLACKLIST) && e.contains("directory"), "{e}");
    assert_eq!(listing(r), before);
    // In the second file's place too (the plan is checked before anything is written).
    let root = rhcos_tree();
    let r = root.path();
    std::fs::create_dir_all(p(r, LOAD)).unwrap();
    let before = listing(r);
    let e = apply(via, r, false).unwrap_err();
    assert!(e.contains(LOAD), "{e}");
    assert_eq!(listing(r), before);
}

/// What cannot be read safely is reported as not visible (exit 1), never read: a FIFO (directly or
/// through a symlink), a configuration file over the size limit.
fn unreadable_config(via: Via) {
    let root = applied_tree();
    let r = root.path();
    let fifo = p(r, "/run/x.fifo");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    link(r, "/usr/lib/modprobe.d/fifo.conf", "/run/x.fifo");
    assert_verdict(via, r, 1, Some("content-not-visible"));
    std::fs::remove_file(p(r, "/usr/lib/modprobe.d/fifo.conf")).unwrap();
    assert_verdict(via, r, 0, None);
    write(
        r,
        "/usr/lib/modprobe.d/big.conf",
        &vec![b'#'; 2 << 20],
        0o644,
    );
    assert_verdict(via, r, 1, Some("content-not-visible"));
}

/// A target that is not a directory is refused with exit 2.
fn not_a_tree(via: Via) {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing");
    let e = apply(via, &missing, false).unwrap_err();
    assert!(e.contains("missing"), "{e}");
    assert_eq!(verify(via, &missing).status, 2);
}

// ---------------------------------------------------------------------------------------------
// The library
// ---------------------------------------------------------------------------------------------

#[test]
fn lib_apply_rhcos() {
    apply_rhcos(Via::Lib);
}
#[test]
fn lib_apply_fixes_mode() {
    apply_fixes_mode(Via::Lib);
}
#[test]
fn lib_hardlink_escape() {
    hardlink_escape(Via::Lib);
}
#[test]
fn lib_absolute_symlink_escape() {
    absolute_symlink_escape(Via::Lib);
}
#[test]
fn lib_relative_symlink_escape() {
    relative_symlink_escape(Via::Lib);
}
#[test]
fn lib_final_symlink_is_replaced() {
    final_symlink_is_replaced(Via::Lib);
}
#[test]
fn lib_verify_symlinks_stay_inside() {
    verify_symlinks_stay_inside(Via::Lib);
}
#[test]
fn lib_ostree_layout() {
    ostree_layout(Via::Lib);
}
#[test]
fn lib_install_override() {
    install_override(Via::Lib);
}
#[test]
fn lib_load_file_masked() {
    load_file_masked(Via::Lib);
}
#[test]
fn lib_vendor_load_file_masked() {
    vendor_load_file_masked(Via::Lib);
}
#[test]
fn lib_kernels() {
    kernels(Via::Lib);
}
#[test]
fn lib_boot_entry() {
    boot_entry(Via::Lib);
}
#[test]
fn lib_dry_run() {
    dry_run(Via::Lib);
}
#[test]
fn lib_directory_refused() {
    directory_refused(Via::Lib);
}
#[test]
fn lib_unreadable_config() {
    unreadable_config(Via::Lib);
}
#[test]
fn lib_not_a_tree() {
    not_a_tree(Via::Lib);
}

/// `/lib -> usr/lib`: one kernel, not two; the tree API reports the layout.
#[test]
fn lib_merged_usr_counts_each_kernel_once() {
    let root = applied_tree();
    let r = root.path();
    link(r, "/lib", "usr/lib");
    let tree = Tree::open(r).unwrap();
    assert_eq!(tree.etc_dir().unwrap(), "/etc");
    let mut c = Collector::new(&sctp());
    tree.collect(&mut c).unwrap();
    let kernels = c.finish().kernels.unwrap();
    assert_eq!(kernels.len(), 1, "{kernels:?}");
    assert_eq!(
        kernels[0].module.as_deref(),
        Some(MODULE.trim_start_matches('/'))
    );
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

#[test]
fn cli_apply_rhcos() {
    apply_rhcos(Via::Cli);
}
#[test]
fn cli_apply_fixes_mode() {
    apply_fixes_mode(Via::Cli);
}
#[test]
fn cli_hardlink_escape() {
    hardlink_escape(Via::Cli);
}
#[test]
fn cli_absolute_symlink_escape() {
    absolute_symlink_escape(Via::Cli);
}
#[test]
fn cli_relative_symlink_escape() {
    relative_symlink_escape(Via::Cli);
}
#[test]
fn cli_final_symlink_is_replaced() {
    final_symlink_is_replaced(Via::Cli);
}
#[test]
fn cli_verify_symlinks_stay_inside() {
    verify_symlinks_stay_inside(Via::Cli);
}
#[test]
fn cli_ostree_layout() {
    ostree_layout(Via::Cli);
}
#[test]
fn cli_install_override() {
    install_override(Via::Cli);
}
#[test]
fn cli_load_file_masked() {
    load_file_masked(Via::Cli);
}
#[test]
fn cli_vendor_load_file_masked() {
    vendor_load_file_masked(Via::Cli);
}
#[test]
fn cli_kernels() {
    kernels(Via::Cli);
}
#[test]
fn cli_boot_entry() {
    boot_entry(Via::Cli);
}
#[test]
fn cli_dry_run() {
    dry_run(Via::Cli);
}
#[test]
fn cli_directory_refused() {
    directory_refused(Via::Cli);
}
#[test]
fn cli_unreadable_config() {
    unreadable_config(Via::Cli);
}
#[test]
fn cli_not_a_tree() {
    not_a_tree(Via::Cli);
}

/// bootc images carry kernel arguments in /usr/lib/bootc/kargs.d/*.toml.
#[test]
fn bootc_kargs_are_kernel_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/lib/bootc/kargs.d")).unwrap();
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::write(
        root.join("etc/modprobe.d/sctp-blacklist.conf"),
        common::rhel_blacklist(),
    )
    .unwrap();
    let run = |args: &[&str]| common::modlayer().args(args).arg(root).output().unwrap();
    assert!(run(&["apply"]).status.success());
    assert_eq!(run(&["verify"]).status.code(), Some(0));
    std::fs::write(
        root.join("usr/lib/bootc/kargs.d/10-hardening.toml"),
        "kargs = [\"module_blacklist=sctp,dccp\"]\n",
    )
    .unwrap();
    let out = run(&["verify", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kernel-arg-module-blacklist") && text.contains("10-hardening.toml"),
        "{text}"
    );
}
