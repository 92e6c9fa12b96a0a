//! End-to-end proof on booted machines (issue 5): a real Debian kernel, systemd and kmod boot each
//! scenario's root file system under QEMU, and a probe reports whether `sctp` was loaded at boot
//! and whether an SCTP listener/connect round trip over loopback carries data. For every scenario,
//! `modlayer verify` on the root (before boot) must agree with the machine: enabled exactly where
//! the module loads and the round trip carries data.
//!
//! - Base root: `debootstrap --variant=minbase` of Debian bookworm (the mirror apt uses here) with
//!   systemd, kmod, udev and linux-image-amd64; cached in `target/boot-cache/<key>/root` (key: a hash
//!   of suite, mirror, packages and [`CACHE_FORMAT`]; `MODLAYER_BOOT_CACHE` moves it). Built when
//!   missing, debootstrap retried three times.
//! - Each scenario is a `cp -a` of the base made RHEL CoreOS-like (the RHEL blacklist file at
//!   /etc/modprobe.d/sctp-blacklist.conf, 0644), plus the probe (`tests/boot/`), a boot loader entry
//!   `/boot/loader/entries/modlayer-boot.conf` whose `linux`, `initrd` and `options` are what QEMU
//!   boots (paths relative to /boot, as on a separate /boot partition), then the scenario's change.
//! - Each root becomes an ext4 image (`mkfs.ext4 -d`, no mount) booted as a virtio disk with
//!   `-kernel/-initrd`, serial console to a file, `-no-reboot`, no network, killed after a limit.
//!   KVM is used only when a test boot under it really starts a kernel; otherwise TCG.
//! - Needs root, debootstrap, qemu-system-x86_64, mkfs.ext4, Ignition and umoci; a missing one is a
//!   printed SKIP, or a failure with `MODLAYER_REQUIRE_ORACLES=1`.
//!
//! Serial logs of the last run are kept in `target/boot-cache/logs/<scenario>.log`.

mod common;

use std::collections::VecDeque;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{have, Oracle};

const SUITE: &str = "bookworm";
/// Packages on top of minbase: an init, kmod, udev (the initramfs needs it), a kernel. The probe
/// uses only perl-base (in minbase) besides these.
const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "udev",
    "kmod",
    "linux-image-amd64",
];
/// Bump when the base root's preparation changes, so old caches are not reused.
const CACHE_FORMAT: &str = "boot-base-1";
const FALLBACK_MIRROR: &str = "http://deb.debian.org/debian";
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(900);
const DEBOOTSTRAP_ATTEMPTS: u32 = 3;
/// Time limit of one boot (power-on to power-off); QEMU is killed after it.
const BOOT_TIMEOUT_TCG: Duration = Duration::from_secs(180);
const BOOT_TIMEOUT_KVM: Duration = Duration::from_secs(90);
const TOOL_TIMEOUT: Duration = Duration::from_secs(300);
const IMAGE_SIZE: &str = "2G";
const LOADER_ENTRY: &str = "boot/loader/entries/modlayer-boot.conf";
const BASE_OPTIONS: &str = "root=/dev/vda rw console=ttyS0 panic=-1";

const BLACKLIST: &str = "etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "etc/modules-load.d/sctp-load.conf";

// ---------------------------------------------------------------------------------------------
// Preconditions
// ---------------------------------------------------------------------------------------------

fn require_oracles() -> bool {
    std::env::var("MODLAYER_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// `/usr/sbin/NAME`, `/sbin/NAME`, `/usr/bin/NAME` or the first NAME on PATH; else a path that
/// does not exist (reported as missing).
fn find_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| PathBuf::from("/usr/sbin").join(name))
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

struct Tools {
    debootstrap: PathBuf,
    qemu: PathBuf,
    mkfs: PathBuf,
    umoci: PathBuf,
}

/// Everything the harness needs, or None after a printed SKIP (a panic when oracles are required).
fn tools() -> Option<Tools> {
    let require = require_oracles();
    if effective_uid() != Some(0) {
        let reason = "oracle root unavailable: debootstrap and umoci unpack need root";
        assert!(!require, "MODLAYER_REQUIRE_ORACLES=1 but {reason}");
        eprintln!("SKIP boot: {reason}");
        return None;
    }
    let t = Tools {
        debootstrap: find_tool("debootstrap"),
        qemu: find_tool("qemu-system-x86_64"),
        mkfs: find_tool("mkfs.ext4"),
        umoci: Oracle::Umoci.program(),
    };
    let ok = common::have_program_at("debootstrap (package debootstrap)", &t.debootstrap, require)
        && common::have_program_at(
            "qemu-system-x86_64 (package qemu-system-x86)",
            &t.qemu,
            require,
        )
        && common::have_program_at("mkfs.ext4 (package e2fsprogs)", &t.mkfs, require)
        && have(Oracle::Ignition)
        && have(Oracle::Umoci);
    ok.then_some(t)
}

/// Run a command; Err(transcript) unless it exits 0 within `limit`.
fn run(mut cmd: Command, limit: Duration) -> Result<common::Ran, String> {
    cmd.env("LC_ALL", "C");
    common::run_ok(cmd, None, limit)
}

fn cmd<S: AsRef<std::ffi::OsStr>>(program: impl AsRef<std::ffi::OsStr>, args: &[S]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

// ---------------------------------------------------------------------------------------------
// The cached base root
// ---------------------------------------------------------------------------------------------

/// The Debian mirror apt uses on this machine for SUITE (deb822 `.sources` or one-line `.list`);
/// `MODLAYER_BOOT_MIRROR` overrides it; else deb.debian.org.
fn mirror() -> String {
    if let Ok(m) = std::env::var("MODLAYER_BOOT_MIRROR") {
        if !m.is_empty() {
            return m;
        }
    }
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let name = f.to_string_lossy();
        if name.ends_with(".sources") {
            for stanza in text.split("\n\n") {
                let field = |key: &str| {
                    stanza
                        .lines()
                        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                };
                let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:")) else {
                    continue;
                };
                let deb = field("Types:").is_none_or(|t| t.split_whitespace().any(|t| t == "deb"));
                if deb && suites.split_whitespace().any(|s| s == SUITE) {
                    if let Some(uri) = uris.split_whitespace().next() {
                        return uri.to_string();
                    }
                }
            }
        } else if name.ends_with(".list") {
            for line in text.lines() {
                let mut words = line.split_whitespace().filter(|w| !w.starts_with('['));
                if words.next() != Some("deb") {
                    continue;
                }
                // Options in brackets may contain spaces; take the first word that looks a URI.
                let rest: Vec<&str> = line.split_whitespace().collect();
                let Some(i) = rest.iter().position(|w| w.contains("://")) else {
                    continue;
                };
                if rest.get(i + 1) == Some(&SUITE) {
                    return rest[i].to_string();
                }
            }
        }
    }
    FALLBACK_MIRROR.to_string()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn cache_dir() -> PathBuf {
    std::env::var_os("MODLAYER_BOOT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("boot-cache"))
}

struct Base {
    root: PathBuf,
    kernel_version: String,
    /// "cached" or "built in N s".
    how: String,
}

/// The cached debootstrap root for (suite, mirror, packages), built when missing.
fn base_root(tools: &Tools) -> Result<Base, String> {
    let mirror = mirror();
    let key_text = format!(
        "{CACHE_FORMAT}\n{SUITE}\n{mirror}\nminbase\n{}",
        PACKAGES.join(",")
    );
    let key = &common::hex(&common::sha256(key_text.as_bytes()))[..16];
    let dir = cache_dir().join(format!("{SUITE}-{key}"));
    let root = dir.join("root");
    let done = dir.join("complete");
    let start = Instant::now();
    let how = if done.is_file() && root.is_dir() {
        "cached".to_string()
    } else {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("removing stale {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let tmp = dir.join("root.tmp");
        let mut errors = Vec::new();
        let mut built = false;
        for attempt in 1..=DEBOOTSTRAP_ATTEMPTS {
            if tmp.exists() {
                std::fs::remove_dir_all(&tmp)
                    .map_err(|e| format!("removing {}: {e}", tmp.display()))?;
            }
            eprintln!(
                "boot: debootstrap {SUITE} from {mirror} into {} (attempt {attempt})",
                tmp.display()
            );
            let mut c = Command::new(&tools.debootstrap);
            c.arg("--variant=minbase")
                .arg(format!("--include={}", PACKAGES.join(",")))
                .arg(SUITE)
                .arg(&tmp)
                .arg(&mirror);
            match run(c, DEBOOTSTRAP_TIMEOUT) {
                Ok(_) => {
                    built = true;
                    break;
                }
                Err(e) => {
                    let tail: Vec<&str> = e.lines().rev().take(40).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    errors.push(format!("attempt {attempt}:\n{}", tail.join("\n")));
                    std::thread::sleep(Duration::from_secs(10 * u64::from(attempt)));
                }
            }
        }
        if !built {
            return Err(format!(
                "debootstrap failed {DEBOOTSTRAP_ATTEMPTS} times:\n{}",
                errors.join("\n")
            ));
        }
        // Downloaded packages are not needed in the root; keep the cache small.
        let archives = tmp.join("var/cache/apt/archives");
        if let Ok(rd) = std::fs::read_dir(&archives) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "deb") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        std::fs::write(tmp.join("etc/hostname"), "modlayer-boot\n")
            .map_err(|e| format!("writing hostname: {e}"))?;
        std::fs::rename(&tmp, &root).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
        std::fs::write(&done, &key_text).map_err(|e| format!("writing {}: {e}", done.display()))?;
        format!("built in {} s", start.elapsed().as_secs())
    };
    let kernel_version = kernel_version(&root)?;
    Ok(Base {
        root,
        kernel_version,
        how,
    })
}

/// The one kernel version installed in a root (`boot/vmlinuz-<version>`).
fn kernel_version(root: &Path) -> Result<String, String> {
    let boot = root.join("boot");
    let rd = std::fs::read_dir(&boot).map_err(|e| format!("read_dir {}: {e}", boot.display()))?;
    let mut versions: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("vmlinuz-"))
                .map(str::to_string)
        })
        .collect();
    versions.sort();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "expected exactly one boot/vmlinuz-* in {}, found {versions:?}",
            root.display()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario roots
// ---------------------------------------------------------------------------------------------

fn write_file(root: &Path, rel: &str, bytes: &[u8], mode: u32) -> Result<(), String> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    if std::fs::symlink_metadata(&p).is_ok() {
        std::fs::remove_file(&p).map_err(|e| format!("rm {}: {e}", p.display()))?;
    }
    std::fs::write(&p, bytes).map_err(|e| format!("writing {}: {e}", p.display()))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

fn support_file(name: &str) -> Result<Vec<u8>, String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/boot")
        .join(name);
    std::fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()))
}

/// A copy of the base made RHEL CoreOS-like, with the probe and the boot loader entry.
fn scenario_root(base: &Base, dest: &Path) -> Result<(), String> {
    let mut c = Command::new("cp");
    c.arg("-a").arg("--reflink=auto").arg(&base.root).arg(dest);
    run(c, TOOL_TIMEOUT)?;
    write_file(dest, BLACKLIST, &common::rhel_blacklist(), 0o644)?;
    write_file(
        dest,
        "usr/local/sbin/modlayer-probe",
        &support_file("modlayer-probe")?,
        0o755,
    )?;
    write_file(
        dest,
        "usr/local/sbin/modlayer-sctp-roundtrip",
        &support_file("sctp-roundtrip.pl")?,
        0o755,
    )?;
    write_file(
        dest,
        "etc/systemd/system/modlayer-probe.service",
        &support_file("modlayer-probe.service")?,
        0o644,
    )?;
    let wants = dest.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).map_err(|e| format!("mkdir {}: {e}", wants.display()))?;
    symlink(
        "/etc/systemd/system/modlayer-probe.service",
        wants.join("modlayer-probe.service"),
    )
    .map_err(|e| format!("enabling the probe: {e}"))?;
    let v = &base.kernel_version;
    write_file(
        dest,
        LOADER_ENTRY,
        format!(
            "title Debian GNU/Linux 12 (modlayer boot test)\nversion {v}\nlinux /vmlinuz-{v}\n\
             initrd /initrd.img-{v}\noptions {BASE_OPTIONS}\n"
        )
        .as_bytes(),
        0o644,
    )
}

/// What the boot loader entry tells the boot loader: kernel, initrd (absolute host paths; entry
/// paths are relative to /boot) and the kernel command line.
fn loader_entry(root: &Path) -> Result<(PathBuf, PathBuf, String), String> {
    let p = root.join(LOADER_ENTRY);
    let text = std::fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(char::is_whitespace)?;
            (k == key).then(|| v.trim().to_string())
        })
    };
    let boot = root.join("boot");
    let path = |key: &str| -> Result<PathBuf, String> {
        let v = field(key).ok_or_else(|| format!("{}: no `{key}` line", p.display()))?;
        Ok(boot.join(v.trim_start_matches('/')))
    };
    Ok((
        path("linux")?,
        path("initrd")?,
        field("options").unwrap_or_default(),
    ))
}

fn modlayer_ok(args: &[&str]) -> Result<common::Ran, String> {
    common::run_modlayer(args)
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {}", p.display()))
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

struct Ctx<'a> {
    tools: &'a Tools,
    work: &'a Path,
}

/// Changes a prepared scenario root; returns the root to verify and boot (the OCI scenario boots
/// an unpacked image instead) and extra verify targets that must agree with the root's verdict.
type Prepare = fn(&Ctx, &Path) -> Result<(PathBuf, Vec<String>), String>;

struct Scenario {
    name: &'static str,
    what: &'static str,
    /// What verify is expected to say (a regression guard; agreement with the machine is the proof).
    expect_enabled: bool,
    /// Extra verify arguments (`--module dummy`); the probe checks that module too.
    verify_args: &'static [&'static str],
    prepare: Prepare,
}

fn apply_tree(root: &Path) -> Result<(), String> {
    modlayer_ok(&["apply", path_str(root)?]).map(drop)
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "unpatched",
            what: "RHEL blacklist, nothing else",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| Ok((r.to_path_buf(), vec![])),
        },
        Scenario {
            name: "apply-tree",
            what: "`modlayer apply ROOT`",
            expect_enabled: true,
            verify_args: &[],
            prepare: |_, r| {
                apply_tree(r)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "ignition",
            what: "`modlayer render ignition` (3.3.0) applied by the real Ignition",
            expect_enabled: true,
            verify_args: &[],
            prepare: |_, r| {
                let config = modlayer_ok(&["render", "ignition", "--ignition-version", "3.3.0"])?;
                common::ignition_apply(&config.stdout, r)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "install-true",
            what: "applied + `install sctp /bin/true` in /usr/lib/modprobe.d",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                apply_tree(r)?;
                write_file(
                    r,
                    "usr/lib/modprobe.d/sctp-install.conf",
                    b"install sctp /bin/true\n",
                    0o644,
                )?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "karg-blacklist",
            what: "applied + `modprobe.blacklist=sctp` in the boot entry's options",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                apply_tree(r)?;
                let entry = std::fs::read_to_string(r.join(LOADER_ENTRY))
                    .map_err(|e| format!("reading the loader entry: {e}"))?;
                let entry = entry.replace(
                    &format!("options {BASE_OPTIONS}"),
                    &format!("options {BASE_OPTIONS} modprobe.blacklist=sctp"),
                );
                write_file(r, LOADER_ENTRY, entry.as_bytes(), 0o644)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "masked-etc",
            what: "applied, then /etc/modules-load.d/sctp-load.conf -> /dev/null",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                apply_tree(r)?;
                mask_load(r)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "masked-modules-load-service",
            what: "applied, then /etc/systemd/system/systemd-modules-load.service -> /dev/null",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                apply_tree(r)?;
                let p = r.join("etc/systemd/system/systemd-modules-load.service");
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
                }
                symlink("/dev/null", &p).map_err(|e| format!("symlink {}: {e}", p.display()))?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "masked-vendor",
            what: "applied, load entry moved to /usr/lib/modules-load.d, masked from /etc",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                apply_tree(r)?;
                let from = r.join(LOAD);
                let to = r.join("usr/lib/modules-load.d/sctp-load.conf");
                std::fs::create_dir_all(to.parent().unwrap_or(r))
                    .map_err(|e| format!("mkdir usr/lib/modules-load.d: {e}"))?;
                std::fs::rename(&from, &to).map_err(|e| format!("moving the load entry: {e}"))?;
                mask_load(r)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "load-only",
            what: "RHEL blacklist kept + /etc/modules-load.d/sctp-load.conf (half a fix)",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                write_file(r, LOAD, b"sctp\n", 0o644)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "unit-modprobe",
            what: "RHEL blacklist kept + enabled unit `ExecStart=/usr/sbin/modprobe sctp`",
            expect_enabled: true,
            verify_args: &[],
            prepare: |_, r| {
                enable_unit(r, "/usr/sbin/modprobe sctp")?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "unit-modprobe-b",
            what: "RHEL blacklist kept + enabled unit `ExecStart=/usr/sbin/modprobe -b sctp`",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                enable_unit(r, "/usr/sbin/modprobe -b sctp")?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "unit-install-true",
            what: "enabled unit `modprobe sctp` + `install sctp /bin/true` in /usr/lib/modprobe.d",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                enable_unit(r, "/usr/sbin/modprobe sctp")?;
                write_file(
                    r,
                    "usr/lib/modprobe.d/sctp-install.conf",
                    b"install sctp /bin/true\n",
                    0o644,
                )?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "unit-modprobe-karg-blacklist",
            what: "enabled unit `modprobe sctp` + `modprobe.blacklist=sctp` in the boot entry's options",
            expect_enabled: true,
            verify_args: &[],
            prepare: |_, r| {
                enable_unit(r, "/usr/sbin/modprobe sctp")?;
                add_kernel_arg(r, "modprobe.blacklist=sctp")?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "unit-modprobe-module-blacklist",
            what: "enabled unit `modprobe sctp` + `module_blacklist=sctp` in the boot entry's options",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                enable_unit(r, "/usr/sbin/modprobe sctp")?;
                add_kernel_arg(r, "module_blacklist=sctp")?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "karg-modules-load-blacklisted",
            what: "RHEL blacklist kept + `modules-load=sctp` in the boot entry's options",
            expect_enabled: false,
            verify_args: &[],
            prepare: |_, r| {
                add_kernel_arg(r, "modules-load=sctp")?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "karg-modules-load",
            what: "blacklist emptied + `modules-load=sctp` in the boot entry's options",
            expect_enabled: true,
            verify_args: &[],
            prepare: |_, r| {
                write_file(r, BLACKLIST, b"", 0o644)?;
                add_kernel_arg(r, "modules-load=sctp")?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "dummy-load",
            what: "`dummy` (no blacklist anywhere) in /etc/modules-load.d/dummy-load.conf, `verify --module dummy`",
            expect_enabled: true,
            verify_args: &["--module", "dummy"],
            prepare: |_, r| {
                write_file(r, "etc/modules-load.d/dummy-load.conf", b"dummy\n", 0o644)?;
                write_file(r, PROBE_MODULE, b"dummy\n", 0o644)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "dummy-unlisted",
            what: "`dummy` listed nowhere, `verify --module dummy`",
            expect_enabled: false,
            verify_args: &["--module", "dummy"],
            prepare: |_, r| {
                write_file(r, PROBE_MODULE, b"dummy\n", 0o644)?;
                Ok((r.to_path_buf(), vec![]))
            },
        },
        Scenario {
            name: "machineconfig-unit",
            what: "a MachineConfig's config (3.2.0) with an enabled unit running `modprobe sctp`, applied by the real Ignition; RHEL blacklist kept",
            expect_enabled: true,
            verify_args: &[],
            prepare: prepare_machineconfig_unit,
        },
        Scenario {
            name: "runtime-loader",
            what: "a unit running `modprobe sctp` that nothing starts at boot (the stand-in for a privileged DaemonSet's pod, started by the kubelet after boot); RHEL blacklist kept; the DaemonSet's manifests verified too",
            expect_enabled: false,
            verify_args: &[],
            prepare: prepare_runtime_loader,
        },
        Scenario {
            name: "performanceprofile-blacklist",
            what: "the layer's MachineConfig (3.2.0) applied by the real Ignition + `module_blacklist=sctp`, the kernelArguments of the MachineConfig 50-nto-worker the Node Tuning Operator renders from a PerformanceProfile's additionalKernelArgs",
            expect_enabled: false,
            verify_args: &[],
            prepare: prepare_performance_profile,
        },
        Scenario {
            name: "bootmoduleconfig-rmmod",
            what: "applied + enabled unit `ExecStart=/usr/sbin/rmmod sctp` (what a KMM BootModuleConfig with `inTreeModulesToRemove: [sctp]` renders to; the removal fails, sctp is in use); the BootModuleConfig's manifests verified too",
            expect_enabled: true,
            verify_args: &[],
            prepare: prepare_boot_module_config,
        },
        Scenario {
            name: "oci",
            what: "root in an umoci image, `modlayer apply oci:IMG:TAG`, umoci unpack",
            expect_enabled: true,
            verify_args: &[],
            prepare: prepare_oci,
        },
    ]
}

/// The file naming the module the probe checks (default sctp).
const PROBE_MODULE: &str = "etc/modlayer-probe-module";
/// The unit the unit scenarios enable.
const UNIT_NAME: &str = "modlayer-load-sctp.service";

/// A oneshot service running `exec`, WantedBy multi-user.target, ordered before the probe.
fn unit_text(exec: &str) -> String {
    format!(
        "[Unit]\nDescription=modlayer boot test: load a module from a unit\nBefore=modlayer-probe.service\n\n\
         [Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart={exec}\n\n[Install]\nWantedBy=multi-user.target\n"
    )
}

/// Write the unit to /etc/systemd/system and enable it as `systemctl enable` does (a link in
/// multi-user.target.wants).
fn enable_unit(r: &Path, exec: &str) -> Result<(), String> {
    write_file(
        r,
        &format!("etc/systemd/system/{UNIT_NAME}"),
        unit_text(exec).as_bytes(),
        0o644,
    )?;
    let wants = r.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).map_err(|e| format!("mkdir {}: {e}", wants.display()))?;
    symlink(
        format!("/etc/systemd/system/{UNIT_NAME}"),
        wants.join(UNIT_NAME),
    )
    .map_err(|e| format!("enabling {UNIT_NAME}: {e}"))
}

/// Append a kernel argument to the boot loader entry's options.
fn add_kernel_arg(r: &Path, arg: &str) -> Result<(), String> {
    let entry = std::fs::read_to_string(r.join(LOADER_ENTRY))
        .map_err(|e| format!("reading the loader entry: {e}"))?;
    let entry = entry.replace(
        &format!("options {BASE_OPTIONS}"),
        &format!("options {BASE_OPTIONS} {arg}"),
    );
    write_file(r, LOADER_ENTRY, entry.as_bytes(), 0o644)
}

/// A worker MachineConfig whose config (3.2.0: Debian's Ignition 2.14 reads it) enables a unit
/// running `modprobe sctp`; the real Ignition applies that config to the root. Ignition records
/// `enabled: true` as a preset (/etc/systemd/system-preset/20-ignition.preset), which systemd
/// applies at a node's first boot (CoreOS boots with an uninitialized machine-id); the Debian
/// root is not at its first boot, so the harness does that one step offline with
/// `systemctl --root ROOT preset UNIT`. verify of the MachineConfig file must agree too.
fn prepare_machineconfig_unit(ctx: &Ctx, r: &Path) -> Result<(PathBuf, Vec<String>), String> {
    let config = serde_json::json!({
        "ignition": {"version": "3.2.0"},
        "systemd": {"units": [{
            "name": UNIT_NAME,
            "enabled": true,
            "contents": unit_text("/usr/sbin/modprobe sctp"),
        }]},
    });
    let mc = serde_json::json!({
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfig",
        "metadata": {
            "name": "99-worker-load-sctp",
            "labels": {"machineconfiguration.openshift.io/role": "worker"},
        },
        "spec": {"config": config},
    });
    let mc_path = ctx.work.join("99-worker-load-sctp.json");
    std::fs::write(&mc_path, mc.to_string())
        .map_err(|e| format!("writing {}: {e}", mc_path.display()))?;
    common::ignition_apply(config.to_string().as_bytes(), r)?;
    let preset = r.join("etc/systemd/system-preset/20-ignition.preset");
    let text = std::fs::read_to_string(&preset)
        .map_err(|e| format!("Ignition wrote no {}: {e}", preset.display()))?;
    if !text
        .lines()
        .any(|l| l.trim() == format!("enable {UNIT_NAME}"))
    {
        return Err(format!(
            "{}: no `enable {UNIT_NAME}`:\n{text}",
            preset.display()
        ));
    }
    let mut c = Command::new("systemctl");
    c.arg(format!("--root={}", path_str(r)?))
        .args(["preset", UNIT_NAME]);
    run(c, TOOL_TIMEOUT)?;
    Ok((r.to_path_buf(), vec![path_str(&mc_path)?.to_string()]))
}

/// A run-time loader: the unit a privileged DaemonSet's pod stands for (`modprobe sctp`), in
/// /etc/systemd/system but linked into no boot target: on a node the kubelet starts the pod after
/// boot. verify of the root and of the DaemonSet's manifests (testdata/operators/daemonset) must
/// both say NOT enabled, and the probe must find sctp not loaded at boot.
fn prepare_runtime_loader(_: &Ctx, r: &Path) -> Result<(PathBuf, Vec<String>), String> {
    write_file(
        r,
        &format!("etc/systemd/system/{UNIT_NAME}"),
        unit_text("/usr/sbin/modprobe sctp").as_bytes(),
        0o644,
    )?;
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/operators/daemonset");
    Ok((r.to_path_buf(), vec![path_str(&ds)?.to_string()]))
}

/// `module_blacklist=sctp` through the Node Tuning Operator: a PerformanceProfile for the worker
/// pool with `additionalKernelArgs: [module_blacklist=sctp]`, beside the layer's MachineConfig.
/// The layer's config is applied by the real Ignition; the kernel arguments of the MachineConfig
/// the operator renders (`50-nto-worker`) go into the boot entry, as the MCO puts them on the
/// node's command line. verify of the folder (the PerformanceProfile and the MachineConfig) must
/// agree with verify of the root.
fn prepare_performance_profile(ctx: &Ctx, r: &Path) -> Result<(PathBuf, Vec<String>), String> {
    let ign = modlayer_ok(&["render", "ignition", "--ignition-version", "3.2.0"])?;
    common::ignition_apply(&ign.stdout, r)?;
    add_kernel_arg(r, "module_blacklist=sctp")?;
    let dir = ctx.work.join("manifests");
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let mc = modlayer_ok(&["render", "machineconfig", "--role", "worker"])?;
    std::fs::write(dir.join("load-sctp-module-worker.yaml"), &mc.stdout)
        .map_err(|e| format!("writing the MachineConfig: {e}"))?;
    let pp = "apiVersion: performance.openshift.io/v2\nkind: PerformanceProfile\nmetadata:\n  name: worker-profile\nspec:\n  additionalKernelArgs:\n    - module_blacklist=sctp\n  cpu:\n    isolated: \"2-3\"\n    reserved: \"0-1\"\n  nodeSelector:\n    node-role.kubernetes.io/worker: \"\"\n";
    std::fs::write(dir.join("performanceprofile.yaml"), pp)
        .map_err(|e| format!("writing the PerformanceProfile: {e}"))?;
    Ok((r.to_path_buf(), vec![path_str(&dir)?.to_string()]))
}

/// KMM's day-1 path: a BootModuleConfig whose worker removes the in-tree sctp. Its effect at boot
/// is an enabled unit removing the module after systemd-modules-load loaded it (modlayer renders
/// the BootModuleConfig into that), which fails: sctp holds itself once loaded. The layer applied. verify of the folder (the
/// BootModuleConfig and the layer's MachineConfig) must agree with verify of the root.
fn prepare_boot_module_config(ctx: &Ctx, r: &Path) -> Result<(PathBuf, Vec<String>), String> {
    apply_tree(r)?;
    enable_unit(r, "/usr/sbin/rmmod sctp")?;
    let dir = ctx.work.join("bmc-manifests");
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let mc = modlayer_ok(&["render", "machineconfig", "--role", "worker"])?;
    std::fs::write(dir.join("load-sctp-module-worker.yaml"), &mc.stdout)
        .map_err(|e| format!("writing the MachineConfig: {e}"))?;
    let bmc =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/operators/kmm/bootmoduleconfig.yaml");
    std::fs::copy(&bmc, dir.join("bootmoduleconfig.yaml"))
        .map_err(|e| format!("copying {}: {e}", bmc.display()))?;
    Ok((r.to_path_buf(), vec![path_str(&dir)?.to_string()]))
}

/// Replace /etc/modules-load.d/sctp-load.conf with a symlink to /dev/null: a mask, which systemd
/// honours for the same name in every lower directory (/run, /usr/local/lib, /usr/lib, /lib).
fn mask_load(r: &Path) -> Result<(), String> {
    let p = r.join(LOAD);
    if std::fs::symlink_metadata(&p).is_ok() {
        std::fs::remove_file(&p).map_err(|e| format!("rm {}: {e}", p.display()))?;
    }
    symlink("/dev/null", &p).map_err(|e| format!("symlink {}: {e}", p.display()))
}

/// Put the prepared root into an OCI image with umoci, patch the image with modlayer, unpack it.
///
/// The image is built the way umoci builds an image from a whole root file system: unpack the
/// empty image, fill its rootfs, `umoci repack`. (`umoci insert ROOT /` would do it in one step,
/// but writes the root directory as a tar entry named `/`, which modlayer's OCI reader refuses as
/// an absolute name: see the README section "Proof on a booted machine".)
fn prepare_oci(ctx: &Ctx, r: &Path) -> Result<(PathBuf, Vec<String>), String> {
    let img = ctx.work.join("oci-image");
    let build = ctx.work.join("oci-build");
    let bundle = ctx.work.join("oci-bundle");
    let image_ref = format!("{}:rhcos", path_str(&img)?);
    let umoci = &ctx.tools.umoci;
    run(
        cmd(umoci, &["init", "--layout", path_str(&img)?]),
        TOOL_TIMEOUT,
    )?;
    run(cmd(umoci, &["new", "--image", &image_ref]), TOOL_TIMEOUT)?;
    run(
        cmd(umoci, &["unpack", "--image", &image_ref, path_str(&build)?]),
        TOOL_TIMEOUT,
    )?;
    let mut c = Command::new("cp");
    c.arg("-a")
        .arg("--reflink=auto")
        .arg(r.join("."))
        .arg(build.join("rootfs"));
    run(c, TOOL_TIMEOUT)?;
    // The source tree is no longer needed; free its space.
    std::fs::remove_dir_all(r).map_err(|e| format!("rm {}: {e}", r.display()))?;
    run(
        cmd(umoci, &["repack", "--image", &image_ref, path_str(&build)?]),
        TOOL_TIMEOUT,
    )?;
    std::fs::remove_dir_all(&build).map_err(|e| format!("rm {}: {e}", build.display()))?;
    let target = format!("oci:{image_ref}");
    // Before the patch the image must verify as not enabled (the RHEL blacklist is in it).
    let before = verify(&target, &[])?;
    if before.enabled {
        return Err(format!(
            "{target} verifies as enabled before modlayer apply:\n{}",
            before.findings
        ));
    }
    modlayer_ok(&["apply", &target])?;
    run(
        cmd(
            umoci,
            &["unpack", "--image", &image_ref, path_str(&bundle)?],
        ),
        TOOL_TIMEOUT,
    )?;
    Ok((bundle.join("rootfs"), vec![target]))
}

// ---------------------------------------------------------------------------------------------
// verify and boot
// ---------------------------------------------------------------------------------------------

/// What `modlayer verify --format json TARGET` said: targets[0].enabled (checked against the exit
/// status) and its findings, one "severity[code]: message" line each.
struct Verdict {
    enabled: bool,
    findings: String,
}

fn verify(target: &str, args: &[&str]) -> Result<Verdict, String> {
    let mut c = common::modlayer();
    c.args(["verify", "--format", "json"])
        .args(args)
        .arg(target);
    let ran = common::run_with_timeout(c, None, TOOL_TIMEOUT)?;
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout)
        .map_err(|e| format!("verify printed no JSON: {e}\n{}", ran.transcript()))?;
    let targets = json["targets"].as_array().map(Vec::len).unwrap_or(0);
    let t = &json["targets"][0];
    let enabled = t["enabled"]
        .as_bool()
        .ok_or_else(|| format!("no targets[0].enabled\n{}", ran.transcript()))?;
    let status = ran.status.code();
    if targets != 1 || status != Some(if enabled { 0 } else { 1 }) {
        return Err(format!(
            "verify: {targets} targets, enabled={enabled} but exit {status:?}\n{}",
            ran.transcript()
        ));
    }
    let findings = t["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "  {}[{}]: {}",
                f["severity"].as_str().unwrap_or("?"),
                f["code"].as_str().unwrap_or("?"),
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Verdict { enabled, findings })
}

#[derive(Clone, Copy, Debug)]
enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    fn args(self) -> &'static [&'static str] {
        match self {
            Accel::Kvm => &["-enable-kvm", "-cpu", "host"],
            Accel::Tcg => &["-accel", "tcg"],
        }
    }
    /// The time limit of one boot; `MODLAYER_BOOT_TIMEOUT` (seconds) raises it on a loaded
    /// machine (TCG boots took over 180 s with a load average of 13 on 2 cores).
    fn timeout(self) -> Duration {
        let given = std::env::var("MODLAYER_BOOT_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map(Duration::from_secs);
        given.unwrap_or(match self {
            Accel::Kvm => BOOT_TIMEOUT_KVM,
            Accel::Tcg => BOOT_TIMEOUT_TCG,
        })
    }
}

fn qemu(
    tools: &Tools,
    accel: Accel,
    kernel: &Path,
    initrd: Option<&Path>,
    options: &str,
    disk: Option<&Path>,
    serial: &Path,
) -> Command {
    let mut c = Command::new(&tools.qemu);
    c.args(accel.args())
        .args(["-m", "1024", "-smp", "1", "-nographic", "-no-reboot"])
        .args(["-monitor", "none", "-nic", "none"])
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-kernel")
        .arg(kernel);
    if let Some(i) = initrd {
        c.arg("-initrd").arg(i);
    }
    c.arg("-append").arg(options);
    if let Some(d) = disk {
        c.arg("-drive")
            .arg(format!("file={},if=virtio,format=raw", d.display()));
    }
    c
}

/// KVM when /dev/kvm is there and a kernel really starts under it (boots to its "no root" panic),
/// else TCG. Returns the choice and why.
fn choose_accel(tools: &Tools, base: &Base, work: &Path) -> (Accel, String) {
    if std::env::var("MODLAYER_BOOT_ACCEL").is_ok_and(|v| v == "tcg") {
        return (Accel::Tcg, "MODLAYER_BOOT_ACCEL=tcg".into());
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return (Accel::Tcg, "no usable /dev/kvm".into());
    }
    let serial = work.join("kvm-check.log");
    let kernel = base
        .root
        .join(format!("boot/vmlinuz-{}", base.kernel_version));
    let c = qemu(
        tools,
        Accel::Kvm,
        &kernel,
        None,
        "console=ttyS0 panic=-1",
        None,
        &serial,
    );
    let result = common::run_with_timeout(c, None, Duration::from_secs(20));
    let log = std::fs::read_to_string(&serial).unwrap_or_default();
    match result {
        Ok(ran) if ran.success() && log.contains("Linux version") => {
            (Accel::Kvm, "KVM test boot started a kernel".into())
        }
        Ok(ran) => (
            Accel::Tcg,
            format!(
                "KVM test boot did not start a kernel: {}",
                String::from_utf8_lossy(&ran.stderr)
                    .lines()
                    .next()
                    .unwrap_or("(no message)")
            ),
        ),
        Err(_) => (
            Accel::Tcg,
            "KVM test boot hung (no kernel within 20 s)".into(),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    loaded: bool,
    /// The SCTP round trip (`None`: skipped, for a module other than sctp).
    roundtrip: Option<bool>,
}

impl Probe {
    /// What the machine says: the module loaded at boot (and, for sctp, the round trip works).
    fn enabled(self) -> bool {
        self.loaded && self.roundtrip.unwrap_or(true)
    }
}

/// The last `MODLAYER-PROBE loaded=… roundtrip=…` report in a serial log.
fn parse_probe(log: &str) -> Option<Probe> {
    log.lines().rev().find_map(|line| {
        let at = line.find("MODLAYER-PROBE loaded=")?;
        let mut loaded = None;
        let mut roundtrip = None;
        for word in line[at..].split_whitespace().skip(1) {
            match word.split_once('=') {
                Some(("loaded", "yes")) => loaded = Some(true),
                Some(("loaded", "no")) => loaded = Some(false),
                Some(("roundtrip", "ok")) => roundtrip = Some(Some(true)),
                Some(("roundtrip", "fail")) => roundtrip = Some(Some(false)),
                Some(("roundtrip", "skip")) => roundtrip = Some(None),
                _ => {}
            }
        }
        Some(Probe {
            loaded: loaded?,
            roundtrip: roundtrip?,
        })
    })
}

fn log_tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Build the ext4 image of `root`, boot it as its loader entry says, return the probe's report.
fn boot(
    tools: &Tools,
    accel: Accel,
    root: &Path,
    dir: &Path,
    serial: &Path,
) -> Result<Probe, String> {
    let (kernel, initrd, options) = loader_entry(root)?;
    let image = dir.join("root.img");
    let mut mk = Command::new(&tools.mkfs);
    mk.args(["-q", "-F", "-L", "root", "-d"])
        .arg(root)
        .arg(&image)
        .arg(IMAGE_SIZE);
    run(mk, TOOL_TIMEOUT)?;
    let _ = std::fs::remove_file(serial);
    let c = qemu(
        tools,
        accel,
        &kernel,
        Some(&initrd),
        &options,
        Some(&image),
        serial,
    );
    let result = common::run_with_timeout(c, None, accel.timeout());
    let _ = std::fs::remove_file(&image);
    let log = std::fs::read(serial)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let qemu_said = match &result {
        Ok(ran) if ran.success() => String::new(),
        Ok(ran) => ran.transcript(),
        Err(e) => e.clone(),
    };
    match parse_probe(&log) {
        Some(p) if qemu_said.is_empty() => Ok(p),
        Some(_) => Err(format!(
            "probe reported but QEMU did not power off cleanly:\n{qemu_said}"
        )),
        None => Err(format!(
            "no MODLAYER-PROBE report on the serial console ({}); last lines:\n{}\n{qemu_said}",
            serial.display(),
            log_tail(&log, 60)
        )),
    }
}

struct Outcome {
    name: &'static str,
    what: &'static str,
    expect_enabled: bool,
    verify: Option<bool>,
    probe: Option<Probe>,
    boot_secs: u64,
    error: Option<String>,
    serial: PathBuf,
    findings: String,
    /// verify of the image the booted root was unpacked from (OCI scenario), or of the
    /// MachineConfig whose config Ignition applied.
    image_verify: Option<bool>,
    /// What that other target is (`image`, `MachineConfig`).
    other_kind: &'static str,
    image_mismatch: Option<String>,
}

fn run_scenario(ctx: &Ctx, accel: Accel, base: &Base, s: &Scenario, logs: &Path) -> Outcome {
    let mut out = Outcome {
        name: s.name,
        what: s.what,
        expect_enabled: s.expect_enabled,
        verify: None,
        probe: None,
        boot_secs: 0,
        error: None,
        serial: logs.join(format!("{}.log", s.name)),
        findings: String::new(),
        image_verify: None,
        other_kind: "image",
        image_mismatch: None,
    };
    let dir = ctx.work.join(s.name);
    let result = (|| -> Result<(), String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let root = dir.join("root");
        scenario_root(base, &root)?;
        let sctx = Ctx {
            tools: ctx.tools,
            work: &dir,
        };
        let (root, others) = (s.prepare)(&sctx, &root)?;
        let verdict = verify(path_str(&root)?, s.verify_args)?;
        let enabled = verdict.enabled;
        out.verify = Some(enabled);
        out.findings = verdict.findings;
        for t in others {
            // Recorded, not returned: the machine is booted anyway, to show who is right.
            let v = verify(&t, s.verify_args)?;
            out.image_verify = Some(v.enabled);
            if !t.starts_with("oci:") {
                out.other_kind = if Path::new(&t).is_dir() {
                    "manifests"
                } else {
                    "MachineConfig"
                };
            }
            if v.enabled != enabled {
                out.image_mismatch = Some(format!(
                    "verify {t} says enabled={} but verify of the root made from it (the root \
                     booted) says enabled={enabled}\n{t}:\n{}\nbooted root:\n{}",
                    v.enabled, v.findings, out.findings
                ));
            }
        }
        let start = Instant::now();
        let probe = boot(ctx.tools, accel, &root, &dir, &out.serial);
        out.boot_secs = start.elapsed().as_secs();
        out.probe = Some(probe?);
        Ok(())
    })();
    out.error = result.err();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn yes_no(b: Option<bool>, yes: &str, no: &str) -> String {
    match b {
        Some(true) => yes.into(),
        Some(false) => no.into(),
        None => "-".into(),
    }
}

fn table(outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "| scenario | change | verify | loaded at boot | SCTP round trip | agree | boot s |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for o in outcomes {
        let agree = match (o.verify, o.probe) {
            (Some(v), Some(p)) => {
                let machine = p.enabled();
                if v == machine && o.image_verify.is_none_or(|i| i == machine) {
                    "yes"
                } else {
                    "NO"
                }
            }
            _ => "-",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            o.name,
            o.what,
            yes_no(o.verify, "enabled", "not enabled")
                + &o.image_verify
                    .map(|i| {
                        format!(
                            " ({}: {})",
                            o.other_kind,
                            yes_no(Some(i), "enabled", "not enabled")
                        )
                    })
                    .unwrap_or_default(),
            yes_no(o.probe.map(|p| p.loaded), "yes", "no"),
            match o.probe.map(|p| p.roundtrip) {
                Some(None) => "n/a".to_string(),
                Some(r) => yes_no(r, "ok", "fail"),
                None => "-".to_string(),
            },
            agree,
            o.boot_secs,
        ));
    }
    s
}

#[test]
fn verify_agrees_with_booted_machines() {
    let Some(tools) = tools() else {
        return;
    };
    let start = Instant::now();
    let base = base_root(&tools).unwrap_or_else(|e| panic!("building the base root: {e}"));
    eprintln!(
        "boot: base root {} (kernel {}, {})",
        base.root.display(),
        base.kernel_version,
        base.how
    );
    let logs = cache_dir().join("logs");
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("mkdir {}: {e}", logs.display()));
    let work = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(cache_dir())
        .unwrap_or_else(|e| panic!("tempdir in {}: {e}", cache_dir().display()));
    let (accel, why) = choose_accel(&tools, &base, work.path());
    eprintln!("boot: accelerator {accel:?} ({why})");

    let jobs: usize = std::env::var("MODLAYER_BOOT_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2);
    // MODLAYER_BOOT_ONLY=a,b boots only those scenarios (for working on one; the proof is all).
    let only: Option<Vec<String>> = std::env::var("MODLAYER_BOOT_ONLY")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(str::to_string).collect());
    let list: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.iter().any(|n| n == s.name)))
        .collect();
    // The OCI scenario takes longest (image build, gzip): start it first.
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_by_key(|&i| list[i].name != "oci");
    let queue = Mutex::new(order.into_iter().collect::<VecDeque<usize>>());
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    let ctx = Ctx {
        tools: &tools,
        work: work.path(),
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(list.len()) {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(i) = next else { break };
                let o = run_scenario(&ctx, accel, &base, &list[i], &logs);
                eprintln!(
                    "boot: {} verify={} probe={:?} ({} s boot){}",
                    o.name,
                    yes_no(o.verify, "enabled", "not-enabled"),
                    o.probe,
                    o.boot_secs,
                    o.error
                        .as_ref()
                        .map(|e| format!(" ERROR: {}", log_tail(e, 3)))
                        .unwrap_or_default()
                );
                if let Ok(mut r) = results.lock() {
                    r.push((i, o));
                }
            });
        }
    });
    let mut outcomes = results.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|(i, _)| *i);
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
    let table = table(&outcomes);
    eprintln!(
        "\nboot: {accel:?}, base {}, {} scenarios in {} s\n{table}",
        base.how,
        outcomes.len(),
        start.elapsed().as_secs()
    );

    let mut failures = Vec::new();
    if outcomes.len() != list.len() {
        failures.push(format!(
            "{} of {} scenarios reported",
            outcomes.len(),
            list.len()
        ));
    }
    for o in &outcomes {
        if let Some(e) = &o.error {
            failures.push(format!(
                "{}: {e}\n(serial log: {})",
                o.name,
                o.serial.display()
            ));
            continue;
        }
        if let Some(m) = &o.image_mismatch {
            failures.push(format!("{}: {m}", o.name));
        }
        let (Some(v), Some(p)) = (o.verify, o.probe) else {
            failures.push(format!("{}: no verdict", o.name));
            continue;
        };
        if v != p.enabled() {
            failures.push(format!(
                "{}: verify says enabled={v} but the booted machine has loaded={} roundtrip={:?} \
                 (serial log: {})\nverify findings:\n{}",
                o.name,
                p.loaded,
                p.roundtrip,
                o.serial.display(),
                o.findings
            ));
        }
        if v != o.expect_enabled {
            failures.push(format!(
                "{}: verify says enabled={v}, the scenario expects {}\nverify findings:\n{}",
                o.name, o.expect_enabled, o.findings
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}\n\n{table}",
        failures.len(),
        failures.join("\n\n")
    );
}
