//! Test support: run the *real* programs that judge modlayer's outputs ("oracles").
//!
//! Oracles (Debian packages): `ignition` (ignition-validate and the real Ignition 2.14 binary),
//! `python3-yaml` (PyYAML, a YAML 1.1 reader like kubectl's), `umoci`, `skopeo`, `jq`.
//!
//! Every test that uses an oracle starts with `if !common::have(Oracle::X) { return; }`: a missing
//! oracle is a printed SKIP, unless `MODLAYER_REQUIRE_ORACLES=1` (CI), where it is a failure.
//!
//! Every program call runs under a time limit ([`ORACLE_TIMEOUT`]) and an error always carries the
//! program's whole output (stdout and stderr), its command line and its exit status.
//!
//! Facts about Debian's Ignition 2.14 (observed, pinned by tests/oracles_selftest.rs):
//! - It reads config specs 3.0.0 through 3.3.0 only. Spec 2.x and 3.4.0 are rejected, by
//!   ignition-validate and by Ignition alike, with "unsupported config version".
//! - `overwrite: false` on a path that already exists makes the files stage FAIL
//!   ("A file exists there already and overwrite is false"); the existing file is left untouched.
//! - An entry without `contents` (overwrite absent) keeps an existing file's bytes, but still applies
//!   the entry's `mode` (and owner) to it. `overwrite: true` without a source is a validation error.
//! - `verification.hash` with `compression: gzip` is checked against the DECOMPRESSED bytes; the
//!   hash of the compressed bytes makes the files stage fail ("hash verification failed").
//! - A bad hash passes ignition-validate and fails only at apply time.
//! - It writes `/etc/.ignition-result.json` (mode 0600) into the root after a successful files stage.
//! - User/group *names* are resolved from ROOT/etc/passwd and ROOT/etc/group.
//! - It still reads the host's `/usr/lib/ignition/{base.d,base.platform.d/file,user.ign}` if
//!   present (none are on a build machine) and may try to log to the systemd journal.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Time limit for one call of an oracle program; it is killed after that.
pub const ORACLE_TIMEOUT: Duration = Duration::from_secs(60);

pub const IGNITION_VALIDATE: &str = "/usr/bin/ignition-validate";
pub const IGNITION: &str = "/usr/lib/dracut/modules.d/30ignition/ignition";
/// Debian's Python (has PyYAML); the `python3` first on PATH may be a pyenv one without it.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Files that [`ignition_apply`] may add to a root for Ignition's sake (only when absent), plus the
/// result file Ignition itself writes. [`root_files`] leaves them out.
pub const APPLY_SUPPORT_FILES: &[&str] = &[
    "/etc/selinux/config",
    "/etc/passwd",
    "/etc/group",
    "/etc/.ignition-result.json",
];

/// SHA-256 of the RHEL blacklist file shipped with the project.
pub const RHEL_BLACKLIST_SHA256: &str =
    "268695dbf23bd0170ec9a95b10e8d596205fd7436617d10101907171bf004b7c";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oracle {
    IgnitionValidate,
    Ignition,
    PyYaml,
    Umoci,
    Skopeo,
    Jq,
    /// kubectl (kustomize built in): on every machine of this kind (google-cloud-cli packages).
    Kubectl,
    /// kpt: on every machine of this kind.
    Kpt,
}

impl Oracle {
    /// The program this oracle runs.
    pub fn program(self) -> PathBuf {
        match self {
            Oracle::IgnitionValidate => PathBuf::from(IGNITION_VALIDATE),
            Oracle::Ignition => PathBuf::from(IGNITION),
            Oracle::PyYaml => PathBuf::from(SYSTEM_PYTHON),
            Oracle::Umoci => find_program("umoci"),
            Oracle::Skopeo => find_program("skopeo"),
            Oracle::Jq => find_program("jq"),
            Oracle::Kubectl => find_program("kubectl"),
            Oracle::Kpt => find_program("kpt"),
        }
    }

    /// Debian package that provides it.
    pub fn package(self) -> &'static str {
        match self {
            Oracle::IgnitionValidate | Oracle::Ignition => "ignition",
            Oracle::PyYaml => "python3-yaml",
            Oracle::Umoci => "umoci",
            Oracle::Skopeo => "skopeo",
            Oracle::Jq => "jq",
            Oracle::Kubectl => "kubectl (google-cloud-cli-kubectl)",
            Oracle::Kpt => "kpt (google-cloud-cli-kpt)",
        }
    }
}

/// `/usr/bin/NAME` if it exists, else the first NAME on PATH, else `/usr/bin/NAME` (missing).
fn find_program(name: &str) -> PathBuf {
    let usr = Path::new("/usr/bin").join(name);
    if is_executable(&usr) {
        return usr;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if is_executable(&p) {
                return p;
            }
        }
    }
    usr
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn require_oracles() -> bool {
    std::env::var("MODLAYER_REQUIRE_ORACLES")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// Name of the running test (libtest names each test's thread after it).
fn test_context() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string()
}

/// Whether an oracle program is available; if not, prints "SKIP <test>: <reason>" to stderr and
/// returns false — unless MODLAYER_REQUIRE_ORACLES=1, in which case it panics with the reason.
pub fn have(oracle: Oracle) -> bool {
    check_available(
        &format!("{oracle:?}"),
        problem_with(oracle),
        require_oracles(),
    )
}

/// Why `oracle` cannot be used, or None when it can. Cached per oracle for the process.
fn problem_with(oracle: Oracle) -> Option<String> {
    use std::sync::OnceLock;
    static CACHE: [OnceLock<Option<String>>; 8] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    CACHE[oracle as usize]
        .get_or_init(|| {
            let program = oracle.program();
            if let Some(p) = program_problem(&program) {
                return Some(format!(
                    "{p} (install Debian package `{}`)",
                    oracle.package()
                ));
            }
            if oracle == Oracle::PyYaml {
                let mut cmd = Command::new(&program);
                cmd.args(["-c", "import yaml"]);
                if let Err(e) = run_ok(cmd, None, ORACLE_TIMEOUT) {
                    return Some(format!(
                        "{} cannot import yaml (install Debian package `python3-yaml`): {e}",
                        program.display()
                    ));
                }
            }
            None
        })
        .clone()
}

fn program_problem(program: &Path) -> Option<String> {
    if is_executable(program) {
        None
    } else {
        Some(format!(
            "{} is missing or not executable",
            program.display()
        ))
    }
}

/// Availability check of a program at an explicit path (what `have` does, minus the caching and the
/// environment): false plus a SKIP line when it is missing, a panic instead when `require` is set.
pub fn have_program_at(what: &str, program: &Path, require: bool) -> bool {
    check_available(what, program_problem(program), require)
}

fn check_available(what: &str, problem: Option<String>, require: bool) -> bool {
    match problem {
        None => true,
        Some(reason) => {
            let reason = format!("oracle {what} unavailable: {reason}");
            if require {
                panic!("MODLAYER_REQUIRE_ORACLES=1 but {reason}");
            }
            eprintln!("SKIP {}: {reason}", test_context());
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running programs with a time limit
// ---------------------------------------------------------------------------------------------

/// What a program did.
#[derive(Debug)]
pub struct Ran {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Command line, exit status and the whole stdout and stderr, as text.
    pub fn transcript(&self) -> String {
        let mut s = format!("$ {}\n[{}]\n", self.command, self.status);
        if !self.stdout.is_empty() {
            s.push_str("--- stdout:\n");
            s.push_str(&String::from_utf8_lossy(&self.stdout));
            if !s.ends_with('\n') {
                s.push('\n');
            }
        }
        if !self.stderr.is_empty() {
            s.push_str("--- stderr:\n");
            s.push_str(&String::from_utf8_lossy(&self.stderr));
            if !s.ends_with('\n') {
                s.push('\n');
            }
        }
        s
    }
}

fn describe(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Run `cmd` with `stdin` (or /dev/null), capturing stdout and stderr, killing it after `limit`.
/// Err when it could not be started or ran out of time (with all output it had written).
pub fn run_with_timeout(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    limit: Duration,
) -> Result<Ran, String> {
    let command = describe(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("$ {command}\ncould not start: {e}"))?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => {
            let bytes = bytes.to_vec();
            // A program that exits without reading all input gives a broken pipe: ignore it.
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            }))
        }
        _ => None,
    };
    let mut out_pipe = child.stdout.take().expect("stdout piped");
    let mut err_pipe = child.stderr.take().expect("stderr piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= limit => {
                timed_out = true;
                let _ = child.kill();
                break child
                    .wait()
                    .map_err(|e| format!("$ {command}\nwait failed: {e}"))?;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("$ {command}\nwait failed: {e}"));
            }
        }
    };
    let elapsed = start.elapsed();
    // Children of the program that keep the pipes open would block these joins; the oracles used
    // here start none that outlive them (Ignition's setfiles is waited for).
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let ran = Ran {
        command,
        status,
        stdout,
        stderr,
        elapsed,
    };
    if timed_out {
        return Err(format!(
            "TIMED OUT after {:?} (limit {:?}), killed\n{}",
            elapsed,
            limit,
            ran.transcript()
        ));
    }
    Ok(ran)
}

/// Like [`run_with_timeout`], but a non-zero exit is an Err too (with the transcript).
pub fn run_ok(cmd: Command, stdin: Option<&[u8]>, limit: Duration) -> Result<Ran, String> {
    let ran = run_with_timeout(cmd, stdin, limit)?;
    if ran.success() {
        Ok(ran)
    } else {
        Err(ran.transcript())
    }
}

// ---------------------------------------------------------------------------------------------
// Ignition
// ---------------------------------------------------------------------------------------------

/// Run ignition-validate on these bytes; Ok(stdout+stderr text) when it accepts, Err(text) when it
/// rejects (or could not be run).
pub fn ignition_validate(config: &[u8]) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let path = dir.path().join("config.ign");
    std::fs::write(&path, config).map_err(|e| format!("writing {}: {e}", path.display()))?;
    let mut cmd = Command::new(IGNITION_VALIDATE);
    cmd.arg(&path);
    let ran = run_with_timeout(cmd, None, ORACLE_TIMEOUT)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    if ran.success() {
        Ok(text)
    } else {
        Err(format!(
            "ignition-validate rejected the config:\n{}",
            ran.transcript()
        ))
    }
}

/// Apply a config with the real Ignition onto `root` (which the caller prepared, e.g. with an
/// existing /etc/modprobe.d/sctp-blacklist.conf), as a booting node would:
///
/// ```text
/// IGNITION_CONFIG_FILE=W/config.ign PATH=W/bin:$PATH \
///   ignition -platform file -stage fetch-offline -config-cache W/cache.json \
///            -state-file W/state -neednet W/neednet -log-to-stdout
/// IGNITION_CONFIG_FILE=W/config.ign PATH=W/bin:$PATH \
///   ignition -platform file -stage files -root ROOT -config-cache W/cache.json \
///            -state-file W/state -neednet W/neednet -log-to-stdout
/// ```
/// where W is a scratch dir outside the root and W/bin/setfiles is a fake that reads its stdin and
/// exits 0 (the files stage relabels with SELinux at the end).
///
/// Adds to the root only what is absent of: etc/selinux/config (`SELINUX=disabled`,
/// `SELINUXTYPE=targeted`), etc/passwd and etc/group (root only; Ignition resolves user/group
/// names there). Removes nothing the caller put there. Ok(log of both stages) when both stages
/// succeed, Err(log) otherwise.
pub fn ignition_apply(config: &[u8], root: &Path) -> Result<String, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("root {}: {e}", root.display()))?;
    assert!(
        root != Path::new("/"),
        "ignition_apply refuses to apply a config onto the real /"
    );
    prepare_root(&root)?;

    let work = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let w = work.path();
    let config_path = w.join("config.ign");
    std::fs::write(&config_path, config).map_err(|e| format!("writing config: {e}"))?;
    let bin = w.join("bin");
    std::fs::create_dir(&bin).map_err(|e| format!("mkdir {}: {e}", bin.display()))?;
    let setfiles = bin.join("setfiles");
    std::fs::write(
        &setfiles,
        "#!/bin/sh\n# fake setfiles for tests: no SELinux here\ncat >/dev/null\nexit 0\n",
    )
    .map_err(|e| format!("writing fake setfiles: {e}"))?;
    std::fs::set_permissions(&setfiles, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod fake setfiles: {e}"))?;
    let path_var = match std::env::var_os("PATH") {
        Some(p) => {
            let mut dirs = vec![bin.clone()];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).map_err(|e| format!("PATH: {e}"))?
        }
        None => bin.clone().into_os_string(),
    };

    let stage = |stage: &str| {
        let mut cmd = Command::new(IGNITION);
        cmd.env("IGNITION_CONFIG_FILE", &config_path)
            .env("PATH", &path_var)
            .args(["-platform", "file", "-stage", stage]);
        if stage == "files" {
            cmd.arg("-root").arg(&root);
        }
        cmd.arg("-config-cache")
            .arg(w.join("cache.json"))
            .arg("-state-file")
            .arg(w.join("state"))
            .arg("-neednet")
            .arg(w.join("neednet"))
            .arg("-log-to-stdout");
        cmd
    };

    let mut log = String::new();
    for name in ["fetch-offline", "files"] {
        match run_with_timeout(stage(name), None, ORACLE_TIMEOUT) {
            Ok(ran) => {
                log.push_str(&ran.transcript());
                if !ran.success() {
                    return Err(format!("Ignition stage {name} failed\n{log}"));
                }
            }
            Err(e) => {
                log.push_str(&e);
                return Err(format!("Ignition stage {name} failed\n{log}"));
            }
        }
    }
    Ok(log)
}

/// Create what Ignition needs inside `root`, only where absent.
fn prepare_root(root: &Path) -> Result<(), String> {
    let put = |rel: &str, text: &str| -> Result<(), String> {
        let p = root.join(rel);
        if std::fs::symlink_metadata(&p).is_ok() {
            return Ok(());
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
        }
        std::fs::write(&p, text).map_err(|e| format!("writing {}: {e}", p.display()))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| format!("chmod {}: {e}", p.display()))
    };
    put(
        "etc/selinux/config",
        "SELINUX=disabled\nSELINUXTYPE=targeted\n",
    )?;
    put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")?;
    put("etc/group", "root:x:0:\n")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// YAML 1.1 (PyYAML)
// ---------------------------------------------------------------------------------------------

const PYYAML_SCRIPT: &str = r#"
import json, sys, yaml
try:
    docs = list(yaml.safe_load_all(sys.stdin.buffer.read().decode('utf-8')))
except yaml.YAMLError as e:
    sys.stderr.write('YAML error: %s\n' % e)
    sys.exit(3)
json.dump(docs, sys.stdout, allow_nan=False, default=str)
"#;

/// Read a YAML stream with PyYAML (`yaml.safe_load_all`, YAML 1.1 like kubectl) and return each
/// document as JSON. Values JSON lacks become strings (timestamps, binary); non-string keys become
/// strings (as `json.dump` does); an empty document is `null`.
pub fn yaml11_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.args(["-c", PYYAML_SCRIPT]);
    let ran = run_with_timeout(cmd, Some(text.as_bytes()), ORACLE_TIMEOUT)?;
    if !ran.success() {
        return Err(format!("PyYAML rejected the stream:\n{}", ran.transcript()));
    }
    match serde_json::from_slice::<serde_json::Value>(&ran.stdout) {
        Ok(serde_json::Value::Array(docs)) => Ok(docs),
        Ok(other) => Err(format!(
            "PyYAML helper printed a non-list: {other}\n{}",
            ran.transcript()
        )),
        Err(e) => Err(format!(
            "PyYAML helper printed bad JSON: {e}\n{}",
            ran.transcript()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The binary under test and the project's reference data
// ---------------------------------------------------------------------------------------------

/// The modlayer binary under test as a Command (environment inherited, MODLAYER_* left alone).
pub fn modlayer() -> Command {
    match option_env!("CARGO_BIN_EXE_modlayer") {
        Some(path) => Command::new(path),
        None => panic!(
            "CARGO_BIN_EXE_modlayer is not set at compile time: this test crate has no `modlayer` \
             binary target (run the test from the modlayer package)"
        ),
    }
}

/// Run `modlayer ARGS` with a time limit; Err(transcript) on non-zero exit.
pub fn run_modlayer<I, S>(args: I) -> Result<Ran, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = modlayer();
    cmd.args(args);
    run_ok(cmd, None, ORACLE_TIMEOUT)
}

/// The RHEL blacklist file shipped with the project (sha256 268695db…4b7c, asserted).
pub fn rhel_blacklist() -> Vec<u8> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../shared/reference/rhel-sctp-blacklist.conf");
    let path = if shared.is_file() {
        shared
    } else {
        manifest.join("testdata/rhel-sctp-blacklist.conf")
    };
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("reading RHEL blacklist {}: {e}", path.display()));
    let sum = hex(&sha256(&bytes));
    assert_eq!(
        sum,
        RHEL_BLACKLIST_SHA256,
        "{} is not the RHEL sctp blacklist file",
        path.display()
    );
    bytes
}

/// A fresh RHCOS-like root in a tempdir: etc/modprobe.d/sctp-blacklist.conf holding
/// rhel_blacklist(), mode 0644.
pub fn rhcos_root() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("modlayer-root-")
        .tempdir()
        .expect("tempdir");
    let d = dir.path().join("etc/modprobe.d");
    std::fs::create_dir_all(&d).expect("mkdir etc/modprobe.d");
    let f = d.join("sctp-blacklist.conf");
    std::fs::write(&f, rhel_blacklist()).expect("write blacklist");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod blacklist");
    dir
}

/// Mode bits (& 0o7777) and bytes of the regular file at `abs_path` under `root` (symlinks are not
/// followed: None for a symlink, a directory or nothing).
pub fn file_at(root: &Path, abs_path: &str) -> Option<(u32, Vec<u8>)> {
    let p = root.join(abs_path.trim_start_matches('/'));
    let meta = std::fs::symlink_metadata(&p).ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = std::fs::read(&p).ok()?;
    Some((meta.permissions().mode() & 0o7777, bytes))
}

/// A non-directory entry under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { mode: u32, bytes: Vec<u8> },
    Symlink { target: PathBuf },
    Other,
}

/// Every non-directory entry under `root` by absolute path ("/etc/…"), except the
/// [`APPLY_SUPPORT_FILES`]. For "the root holds exactly these files" assertions.
pub fn root_files(root: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            let rel = format!("/{}", p.strip_prefix(root).unwrap().display());
            if meta.is_dir() {
                walk(root, &p, out);
                continue;
            }
            if APPLY_SUPPORT_FILES.contains(&rel.as_str()) {
                continue;
            }
            let entry = if meta.is_file() {
                Entry::File {
                    mode: meta.permissions().mode() & 0o7777,
                    bytes: std::fs::read(&p).expect("read"),
                }
            } else if meta.file_type().is_symlink() {
                Entry::Symlink {
                    target: std::fs::read_link(&p).expect("readlink"),
                }
            } else {
                Entry::Other
            };
            out.insert(rel, entry);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Small helpers without extra dependencies
// ---------------------------------------------------------------------------------------------

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` bytes no compressor shrinks (xorshift64 from `seed`), for images whose reads must show.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// SHA-256 (FIPS 180-4), so this module needs no crypto crate.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(chunk[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The built-in sctp layer.
pub fn sctp() -> modlayer::layer::Layer {
    modlayer::layer::Layer::builtin("sctp").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Shared fixtures for reliability tests.

/// An RHCOS-like OCI image built by umoci in `dir/img` (tag `base`): the RHEL blacklist in one
/// layer, a kernel carrying sctp in another. Panics (with umoci's output) when umoci fails.
pub fn umoci_image(dir: &Path) -> PathBuf {
    let img = dir.join("img");
    let root = dir.join("rootfs");
    for (p, bytes) in [
        ("etc/modprobe.d/sctp-blacklist.conf", rhel_blacklist()),
        (
            "usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/sctp/sctp.ko.xz",
            b"\xfd7zXZ\0fake".to_vec(),
        ),
        // A second module the kernel carries (concurrent applies of two layers).
        (
            "usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/dccp/dccp.ko.xz",
            b"\xfd7zXZ\0fake".to_vec(),
        ),
    ] {
        let full = root.join(p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, bytes).unwrap();
    }
    let image = format!("{}:base", img.display());
    let steps: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["init".into(), "--layout".into(), img.clone().into()],
        vec!["new".into(), "--image".into(), image.clone().into()],
        vec![
            "insert".into(),
            "--image".into(),
            image.clone().into(),
            root.join("etc").into(),
            "/etc".into(),
        ],
        vec![
            "insert".into(),
            "--image".into(),
            image.clone().into(),
            root.join("usr").into(),
            "/usr".into(),
        ],
    ];
    for args in steps {
        let mut c = Command::new("umoci");
        c.args(&args);
        if let Err(e) = run_ok(c, None, ORACLE_TIMEOUT) {
            panic!("{e}");
        }
    }
    img
}

/// Every file below a directory (symlinks not followed) with its bytes or link target.
pub fn tree_snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.push((p.clone(), t.to_string_lossy().as_bytes().to_vec()));
            } else if m.is_dir() {
                out.push((p.clone(), b"<dir>".to_vec()));
                stack.push(p);
            } else if m.is_file() {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            } else {
                out.push((p.clone(), b"<special>".to_vec()));
            }
        }
    }
    out.sort();
    out
}
