//! Boot media (issue 23): live ISOs, agent ISOs and PXE images, judged by the real programs.
//!
//! xorriso builds the test ISOs as coreos-installer's own fixtures are laid out
//! (`coreos/igninfo.json`, a zeroed 256 KiB `images/ignition.img`, `coreos/features.json`,
//! `coreos/kargs.json`); coreos-installer embeds configs into them and reads back every medium
//! modlayer writes (`iso ignition show`, `iso customize`, `pxe ignition unwrap`, `dev show iso`);
//! ignition-validate and the real Ignition judge the extracted configs.
//!
//! coreos-installer: `MODLAYER_COREOS_INSTALLER`, else `~/.cargo/bin/coreos-installer`, else on
//! PATH (CI installs it with `cargo install --locked coreos-installer`).

mod common;

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{have_program_at, run_with_timeout, Ran, ORACLE_TIMEOUT};
use serde_json::Value;

const AREA: usize = 256 << 10;
const LIVE_KARGS: &str = "coreos.liveiso=TEST ignition.firstboot ignition.platform.id=metal";
const KARG_SIZE: usize = 1139;

fn require() -> bool {
    std::env::var("MODLAYER_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

fn find(name: &str, extra: Option<PathBuf>) -> PathBuf {
    if let Some(p) = extra.filter(|p| p.is_file()) {
        return p;
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join(name).is_file() {
            return dir.join(name);
        }
    }
    PathBuf::from("/usr/bin").join(name)
}

fn coreos_installer() -> Option<PathBuf> {
    let p = std::env::var_os("MODLAYER_COREOS_INSTALLER")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            let p = PathBuf::from(home).join(".cargo/bin/coreos-installer");
            p.is_file().then_some(p)
        });
    let p = find("coreos-installer", p);
    have_program_at("coreos-installer", &p, require()).then_some(p)
}

fn xorriso() -> Option<PathBuf> {
    let p = find("xorriso", None);
    have_program_at("xorriso", &p, require()).then_some(p)
}

fn run(program: &Path, args: &[&str]) -> Ran {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let r = run_with_timeout(cmd, None, ORACLE_TIMEOUT).unwrap();
    assert!(r.success(), "{}", r.transcript());
    r
}

fn modlayer(args: &[&str]) -> Ran {
    let mut cmd = common::modlayer();
    cmd.args(args);
    run_with_timeout(cmd, None, ORACLE_TIMEOUT).unwrap()
}

fn code(r: &Ran) -> i32 {
    r.status.code().unwrap_or(-1)
}

/// A live-ISO-shaped image: igninfo.json, a zeroed Ignition area of `area` bytes, features.json
/// and one karg area in a boot config, as coreos-installer's fixtures are laid out.
fn make_iso(x: &Path, dir: &Path, name: &str, area: &[u8]) -> PathBuf {
    make_iso_with(x, dir, name, area, true)
}

/// [`make_iso`], with or without `coreos/kargs.json` (older ISOs have a `coreKarg` header in the
/// system area instead).
fn make_iso_with(x: &Path, dir: &Path, name: &str, area: &[u8], kargs_json: bool) -> PathBuf {
    let tree = dir.join(format!("{name}.tree"));
    std::fs::create_dir_all(tree.join("coreos")).unwrap();
    std::fs::create_dir_all(tree.join("images")).unwrap();
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::write(
        tree.join("coreos/igninfo.json"),
        r#"{"file": "images/ignition.img"}"#,
    )
    .unwrap();
    std::fs::write(tree.join("images/ignition.img"), area).unwrap();
    std::fs::write(
        tree.join("coreos/features.json"),
        r#"{"installer-config": true, "installer-config-directives": {"console": true}, "live-initrd-network": true}"#,
    )
    .unwrap();
    let prefix = "append initrd=/images/pxeboot/initrd.img ";
    let mut karg = format!("{LIVE_KARGS}\n").into_bytes();
    karg.resize(KARG_SIZE, b'#');
    let mut cfg = prefix.as_bytes().to_vec();
    cfg.extend(&karg);
    cfg.extend(b"\nlabel end\n");
    std::fs::write(tree.join("isolinux/isolinux.cfg"), cfg).unwrap();
    if kargs_json {
        std::fs::write(
            tree.join("coreos/kargs.json"),
            format!(
                r#"{{"default": "{LIVE_KARGS}", "files": [{{"path": "isolinux/isolinux.cfg", "offset": {}}}], "size": {KARG_SIZE}}}"#,
                prefix.len()
            ),
        )
        .unwrap();
    }
    let iso = dir.join(format!("{name}.iso"));
    run(
        x,
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-V",
            "COREOS",
            "-o",
            iso.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
    );
    iso
}

fn pristine(x: &Path, dir: &Path, name: &str) -> PathBuf {
    make_iso(x, dir, name, &vec![0u8; AREA])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const MOTD_CONFIG: &str = r#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/motd","mode":420,"overwrite":true,"contents":{"source":"data:,hello"}}]}}"#;

fn json(r: &Ran) -> Value {
    serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()))
}

fn codes(r: &Ran) -> Vec<String> {
    json(r)["targets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["findings"].as_array().unwrap().clone())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// The file of an Ignition config at `path`, decoded (data URL, gzip).
fn config_file(config: &Value, path: &str) -> Option<Vec<u8>> {
    let f = config["storage"]["files"]
        .as_array()?
        .iter()
        .rev()
        .find(|f| f["path"] == path)?;
    let src = f["contents"]["source"].as_str()?;
    let raw = modlayer::formats::encoding::decode_data_url(src).unwrap();
    if f["contents"]["compression"] == "gzip" {
        Some(modlayer::formats::encoding::gunzip(&raw).unwrap())
    } else {
        Some(raw)
    }
}

fn layer_present(config: &Value) {
    assert_eq!(
        config_file(config, "/etc/modules-load.d/sctp-load.conf").as_deref(),
        Some(&b"sctp"[..]),
        "{config:#}"
    );
    assert_eq!(
        config_file(config, "/etc/modprobe.d/sctp-blacklist.conf").as_deref(),
        Some(&b""[..])
    );
}

/// Where the Ignition area of an ISO made by [`make_iso`] is (read through the library).
fn area_of(iso: &Path) -> (u64, u64) {
    let m = modlayer::targets::iso::Medium::read(iso.to_str().unwrap()).unwrap();
    (m.area.offset, m.area.length)
}

/// Every byte outside `[at, at+len)` and the karg areas is the same.
fn same_outside(a: &Path, b: &Path, at: u64, len: u64) {
    let x = std::fs::read(a).unwrap();
    let y = std::fs::read(b).unwrap();
    assert_eq!(x.len(), y.len());
    let (s, e) = (at as usize, (at + len) as usize);
    assert!(
        x[..s] == y[..s] && x[e..] == y[e..],
        "bytes outside the area changed"
    );
    assert_ne!(x[s..e], y[s..e]);
}

#[test]
fn live_iso_embedded_by_coreos_installer_is_verified_patched_and_read_back() {
    let (Some(ci), Some(x)) = (coreos_installer(), xorriso()) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let base = pristine(&x, d.path(), "base");
    let b = base.to_str().unwrap();

    // A pristine medium: no config embedded.
    let r = modlayer(&["verify", b, "--format", "json"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    assert!(codes(&r).contains(&"no-config-embedded".to_string()));
    assert_eq!(json(&r)["targets"][0]["kind"], "iso");

    // coreos-installer embeds a config without the layer.
    let cfg = write(d.path(), "motd.ign", MOTD_CONFIG.as_bytes());
    let emb = d.path().join("embedded.iso");
    run(
        &ci,
        &[
            "iso",
            "ignition",
            "embed",
            "-i",
            cfg.to_str().unwrap(),
            "-o",
            emb.to_str().unwrap(),
            b,
        ],
    );
    let e = emb.to_str().unwrap();
    let r = modlayer(&["verify", e, "--format", "json"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    assert!(codes(&r).contains(&"module-blacklisted".to_string()));

    // Patched into a new medium: verified enabled, read back by coreos-installer.
    let out = d.path().join("patched.iso");
    let o = out.to_str().unwrap();
    let r = modlayer(&["apply", e, "-o", o]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let r = modlayer(&["verify", o, "--strict"]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let shown = run(&ci, &["iso", "ignition", "show", o]);
    let config: Value = serde_json::from_slice(&shown.stdout).unwrap();
    layer_present(&config);
    assert_eq!(
        config_file(&config, "/etc/motd").as_deref(),
        Some(&b"hello"[..])
    );
    common::ignition_validate(&shown.stdout).unwrap();
    let root = common::rhcos_root();
    common::ignition_apply(&shown.stdout, root.path()).unwrap();
    assert_eq!(
        common::file_at(root.path(), "/etc/modules-load.d/sctp-load.conf"),
        Some((0o644, b"sctp".to_vec()))
    );
    run(&ci, &["dev", "show", "iso", o]);
    let kargs = run(&ci, &["iso", "kargs", "show", o]);
    assert_eq!(String::from_utf8_lossy(&kargs.stdout).trim(), LIVE_KARGS);
    let (at, len) = area_of(&out);
    same_outside(&emb, &out, at, len);

    // Applying again changes nothing, in place.
    let before = std::fs::read(&out).unwrap();
    let r = modlayer(&["apply", o, "--in-place"]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // coreos-installer can go on customizing what modlayer wrote.
    let again = d.path().join("again.iso");
    run(
        &ci,
        &[
            "iso",
            "customize",
            "-f",
            "--live-karg-append",
            "quiet",
            "-o",
            again.to_str().unwrap(),
            o,
        ],
    );

    // A pristine medium gets a config holding the layer.
    let p2 = d.path().join("pristine-patched.iso");
    let r = modlayer(&["apply", b, "-o", p2.to_str().unwrap()]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let shown = run(&ci, &["iso", "ignition", "show", p2.to_str().unwrap()]);
    layer_present(&serde_json::from_slice(&shown.stdout).unwrap());
}

#[test]
fn dest_ignition_and_installer_kargs_decide_the_installed_system() {
    let (Some(ci), Some(x)) = (coreos_installer(), xorriso()) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let base = pristine(&x, d.path(), "base");
    let dest = write(d.path(), "dest.ign", MOTD_CONFIG.as_bytes());
    let live = write(
        d.path(),
        "live.ign",
        r#"{"ignition":{"version":"3.2.0"}}"#.as_bytes(),
    );
    let blocked = d.path().join("blocked.iso");
    run(
        &ci,
        &[
            "iso",
            "customize",
            "--dest-ignition",
            dest.to_str().unwrap(),
            "--live-ignition",
            live.to_str().unwrap(),
            "--dest-karg-append",
            "module_blacklist=sctp",
            "--dest-device",
            "/dev/vda",
            "-o",
            blocked.to_str().unwrap(),
            base.to_str().unwrap(),
        ],
    );
    let bl = blocked.to_str().unwrap();
    let r = modlayer(&["verify", bl, "--format", "json"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    let v = json(&r);
    let f = v["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "kernel-arg-module-blacklist")
        .cloned()
        .unwrap_or_else(|| panic!("{v:#}"));
    let origin =
        f["origin"].as_str().unwrap_or_default().to_string() + f["message"].as_str().unwrap();
    assert!(
        origin.contains(&format!("{bl} > ignition > /etc/coreos/installer.d/")),
        "{f:#}"
    );

    // Applied into the destination config; the installer's karg still blocks it (a warning).
    let out = d.path().join("patched.iso");
    let r = modlayer(&["apply", bl, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("module_blacklist=sctp"),
        "{}",
        r.transcript()
    );
    let r = modlayer(&["verify", out.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    assert!(codes(&r).contains(&"kernel-arg-module-blacklist".to_string()));
    assert!(
        !codes(&r).contains(&"module-blacklisted".to_string()),
        "{}",
        r.transcript()
    );

    // Without the karg: the installed system loads sctp; the live one does not (--live).
    let clean = d.path().join("clean.iso");
    run(
        &ci,
        &[
            "iso",
            "customize",
            "--dest-ignition",
            dest.to_str().unwrap(),
            "-o",
            clean.to_str().unwrap(),
            base.to_str().unwrap(),
        ],
    );
    let out2 = d.path().join("clean-patched.iso");
    let o2 = out2.to_str().unwrap();
    assert_eq!(
        code(&modlayer(&["apply", clean.to_str().unwrap(), "-o", o2])),
        0
    );
    let r = modlayer(&["verify", o2]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let r = modlayer(&["verify", o2, "--live"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());

    // The destination config coreos-installer shows: valid, and the real Ignition writes the layer.
    let shown = run(&ci, &["iso", "ignition", "show", o2]);
    let livecfg: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let destcfg = config_file(&livecfg, "/etc/coreos/dest.ign").unwrap();
    common::ignition_validate(&destcfg).unwrap();
    // Apply through nesting is apply to each level: the installed config inside the medium is
    // byte for byte what applying to that config on its own gives ...
    let before_cfg: Value = serde_json::from_slice(
        &run(&ci, &["iso", "ignition", "show", clean.to_str().unwrap()]).stdout,
    )
    .unwrap();
    let inner = config_file(&before_cfg, "/etc/coreos/dest.ign").unwrap();
    let inner_file = write(d.path(), "inner.ign", &inner);
    let alone = modlayer(&["apply", inner_file.to_str().unwrap()]);
    assert_eq!(code(&alone), 0, "{}", alone.transcript());
    assert_eq!(destcfg, alone.stdout);
    // ... and the live config around it changed in that file's entry only.
    let without_dest = |c: &Value| -> Value {
        let mut c = c.clone();
        if let Some(files) = c
            .pointer_mut("/storage/files")
            .and_then(Value::as_array_mut)
        {
            files.retain(|f| f["path"] != "/etc/coreos/dest.ign");
        }
        c
    };
    assert_eq!(without_dest(&livecfg), without_dest(&before_cfg));
    let root = common::rhcos_root();
    common::ignition_apply(&destcfg, root.path()).unwrap();
    assert_eq!(
        common::file_at(root.path(), "/etc/modprobe.d/sctp-blacklist.conf"),
        Some((0o644, Vec::new()))
    );
    // coreos-installer still customizes it.
    let more = d.path().join("more.iso");
    run(
        &ci,
        &[
            "iso",
            "customize",
            "-f",
            "--live-karg-append",
            "quiet",
            "-o",
            more.to_str().unwrap(),
            o2,
        ],
    );
}

#[test]
fn pxe_images_wrapped_by_coreos_installer() {
    let Some(ci) = coreos_installer() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let cfg = write(d.path(), "motd.ign", MOTD_CONFIG.as_bytes());
    let img = d.path().join("config.img");
    run(
        &ci,
        &[
            "pxe",
            "ignition",
            "wrap",
            "-i",
            cfg.to_str().unwrap(),
            "-o",
            img.to_str().unwrap(),
        ],
    );
    let i = img.to_str().unwrap();
    let r = modlayer(&["verify", i, "--format", "json"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    assert_eq!(json(&r)["targets"][0]["kind"], "pxe");
    let out = d.path().join("patched.img");
    let r = modlayer(&["apply", i, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let shown = run(&ci, &["pxe", "ignition", "unwrap", out.to_str().unwrap()]);
    let config: Value = serde_json::from_slice(&shown.stdout).unwrap();
    layer_present(&config);
    assert_eq!(code(&modlayer(&["verify", out.to_str().unwrap()])), 0);
    // Up to date: `-o` still writes its copy, as for an ISO and every file target.
    let again = d.path().join("again.img");
    let r = modlayer(&[
        "apply",
        out.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&out).unwrap());

    // An initramfs (a plain newc archive) with the wrapped config appended.
    let mut initrd = newc(&[("etc/hostname", b"node\n")]);
    initrd.extend(std::fs::read(&img).unwrap());
    let combined = write(d.path(), "initrd.img", &initrd);
    let c = combined.to_str().unwrap();
    assert_eq!(code(&modlayer(&["verify", c])), 1);
    let r = modlayer(&["apply", c, "--in-place"]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let after = std::fs::read(&combined).unwrap();
    let plain_len = newc(&[("etc/hostname", b"node\n")]).len();
    assert_eq!(
        after[..plain_len],
        initrd[..plain_len],
        "the initramfs before the config changed"
    );
    let shown = run(&ci, &["pxe", "ignition", "unwrap", c]);
    layer_present(&serde_json::from_slice(&shown.stdout).unwrap());
    assert_eq!(code(&modlayer(&["verify", c])), 0);

    // An initramfs larger than the window read from the end (the config found there): the same.
    let noise = common::noise(20 << 20, 0x9e37_79b9_7f4a_7c15);
    let mut big = newc(&[("usr/lib/firmware/noise.bin", &noise)]);
    let big_len = big.len();
    big.extend(std::fs::read(&img).unwrap());
    let large = write(d.path(), "large.img", &big);
    let l = large.to_str().unwrap();
    assert_eq!(code(&modlayer(&["verify", l])), 1);
    let r = modlayer(&["apply", l, "--in-place"]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let after = std::fs::read(&large).unwrap();
    assert_eq!(
        after[..big_len],
        big[..big_len],
        "the initramfs before the config changed"
    );
    let shown = run(&ci, &["pxe", "ignition", "unwrap", l]);
    layer_present(&serde_json::from_slice(&shown.stdout).unwrap());
    assert_eq!(code(&modlayer(&["verify", l])), 0);
}

/// A plain newc archive (through the library's writer, checked by cpio(1) below).
fn newc(files: &[(&str, &[u8])]) -> Vec<u8> {
    let v: Vec<(String, u32, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (n.to_string(), 0o644, b.to_vec()))
        .collect();
    modlayer::media::cpio::write_newc(&v)
}

#[test]
fn newc_archives_are_read_by_cpio() {
    let cpio = find("cpio", None);
    if !have_program_at("cpio", &cpio, require()) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let a = newc(&[("etc/a/b", b"hello"), ("config.ign", b"{}")]);
    let mut cmd = Command::new(&cpio);
    cmd.args(["-idm", "--quiet"]).current_dir(d.path());
    let r = run_with_timeout(cmd, Some(&a), ORACLE_TIMEOUT).unwrap();
    assert!(r.success(), "{}", r.transcript());
    assert_eq!(std::fs::read(d.path().join("etc/a/b")).unwrap(), b"hello");
    assert_eq!(std::fs::read(d.path().join("config.ign")).unwrap(), b"{}");
}

/// The agent installer's Ignition: the cluster manifests and extra manifests as files.
fn agent_config(workers: u64, extra: &[(&str, &str)]) -> String {
    let aci = format!(
        "apiVersion: extensions.hive.openshift.io/v1beta1\nkind: AgentClusterInstall\nmetadata:\n  name: sno\n  namespace: cluster0\nspec:\n  provisionRequirements:\n    controlPlaneAgents: {}\n    workerAgents: {workers}\n",
        if workers == 0 { 1 } else { 3 }
    );
    let mut files = vec![serde_json::json!({
        "path": "/etc/assisted/manifests/agent-cluster-install.yaml",
        "mode": 384,
        "contents": {"source": modlayer::formats::encoding::encode_data_url(aci.as_bytes())}
    })];
    for (name, text) in extra {
        files.push(serde_json::json!({
            "path": format!("/etc/assisted/extra-manifests/{name}"),
            "mode": 384,
            "contents": {"source": modlayer::formats::encoding::encode_data_url(text.as_bytes())}
        }));
    }
    serde_json::json!({"ignition": {"version": "3.2.0"}, "storage": {"files": files}}).to_string()
}

/// An agent-shaped ISO: the Ignition area holds a gzip newc cpio of config.ign, as the
/// assisted image editor writes it (openshift/assisted-image-service `pkg/isoeditor`: config.ign
/// 0644 first, no directory entries, gzip, padded to 4 bytes).
fn agent_iso(x: &Path, dir: &Path, config: &str) -> PathBuf {
    let newc = modlayer::media::cpio::write_newc_flat(&[(
        "config.ign".into(),
        0o644,
        config.as_bytes().to_vec(),
    )]);
    let mut area = modlayer::media::cpio::gzip(&newc).unwrap();
    area.resize(AREA, 0);
    make_iso(x, dir, "agent", &area)
}

const WORKER_MC: &str = "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: 99-worker-motd\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n";

#[test]
fn agent_iso_extra_manifests_rendered_per_pool() {
    let (Some(ci), Some(x)) = (coreos_installer(), xorriso()) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    // SNO: master only.
    let iso = agent_iso(
        &x,
        d.path(),
        &agent_config(0, &[("99-worker-motd.yaml", WORKER_MC)]),
    );
    let i = iso.to_str().unwrap();
    let r = modlayer(&["verify", i, "--format", "json"]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    let v = json(&r);
    assert_eq!(v["targets"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["targets"][0]["role"], "master");
    let out = d.path().join("agent-patched.iso");
    let o = out.to_str().unwrap();
    let r = modlayer(&["apply", i, "-o", o]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    let r = modlayer(&["verify", o, "--format", "json"]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
    // coreos-installer reads the gzip area back; the MachineConfig is the one `render` gives.
    let shown = run(&ci, &["iso", "ignition", "show", o]);
    let config: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let mc = config_file(
        &config,
        "/etc/assisted/extra-manifests/99_openshift-machineconfig_load-sctp-module-master.yaml",
    )
    .unwrap_or_else(|| panic!("{config:#}"));
    let rendered = modlayer(&["render", "machineconfig", "--role", "master"]);
    assert_eq!(
        String::from_utf8_lossy(&mc),
        String::from_utf8_lossy(&rendered.stdout)
    );
    assert!(config_file(
        &config,
        "/etc/assisted/manifests/agent-cluster-install.yaml"
    )
    .is_some());
    let (at, len) = area_of(&out);
    same_outside(&iso, &out, at, len);
    // The area is still gzip, as the assisted image editor wrote it.
    let area = {
        let f = std::fs::File::open(&out).unwrap();
        let mut b = vec![0u8; 2];
        f.read_exact_at(&mut b, at).unwrap();
        b
    };
    assert_eq!(area, [0x1f, 0x8b]);
    // In the editor's layout: config.ign is the first member, no directory entries before it.
    let gz = {
        let f = std::fs::File::open(&out).unwrap();
        let mut b = vec![0u8; len as usize];
        f.read_exact_at(&mut b, at).unwrap();
        b
    };
    let mut newc = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut newc).unwrap();
    assert_eq!(&newc[..6], b"070701");
    assert_eq!(&newc[110..121], b"config.ign\0");

    // A worker MachineConfig that blacklists sctp: the message names the chain and place.
    let bad_mc = "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: 99-sctp\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  kernelArguments:\n    - module_blacklist=sctp\n";
    let d2 = tempfile::tempdir().unwrap();
    let iso2 = agent_iso(&x, d2.path(), &agent_config(2, &[("99-sctp.yaml", bad_mc)]));
    let r = modlayer(&[
        "verify",
        iso2.to_str().unwrap(),
        "--role",
        "worker",
        "--format",
        "json",
    ]);
    assert_eq!(code(&r), 1, "{}", r.transcript());
    let text = String::from_utf8_lossy(&r.stdout).to_string();
    assert!(
        text.contains(&format!(
            "{} > ignition > /etc/assisted/extra-manifests/99-sctp.yaml",
            iso2.display()
        )),
        "{text}"
    );
}

#[test]
fn bad_media_are_refused_with_the_place_and_left_alone() {
    let Some(x) = xorriso() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let check = |p: &Path, want: &str| {
        let before = std::fs::read(p).unwrap();
        let pp = p.to_str().unwrap();
        for args in [
            vec!["verify", pp, "--kind", "iso"],
            vec!["apply", pp, "--kind", "iso", "--in-place"],
        ] {
            let r = modlayer(&args);
            assert_eq!(code(&r), 2, "{}", r.transcript());
            let err = String::from_utf8_lossy(&r.stderr);
            assert!(err.contains(want), "want {want:?}: {}", r.transcript());
        }
        assert_eq!(std::fs::read(p).unwrap(), before, "changed");
    };
    // Truncated.
    let iso = pristine(&x, d.path(), "t");
    let bytes = std::fs::read(&iso).unwrap();
    let trunc = write(d.path(), "trunc.iso", &bytes[..40000]);
    check(&trunc, "byte");
    // Not a cpio area.
    let junk = make_iso(&x, d.path(), "junk", &vec![b'X'; AREA]);
    check(&junk, "not a cpio archive");
    // `..` names.
    let dotdot = modlayer::media::cpio::xz_crc32(&newc(&[("../../etc/passwd", b"x")])).unwrap();
    let mut area = dotdot;
    area.resize(AREA, 0);
    let dd = make_iso(&x, d.path(), "dotdot", &area);
    check(&dd, "..");
    // A bomb: 100 MB of zeros in a few KB of xz.
    let big = vec![0u8; 100 << 20];
    let mut bomb = modlayer::media::cpio::xz_crc32(&newc(&[("config.ign", &big)])).unwrap();
    assert!(bomb.len() < AREA);
    bomb.resize(AREA, 0);
    let bo = make_iso(&x, d.path(), "bomb", &bomb);
    check(&bo, "bomb");
    // igninfo pointing outside the file.
    let out = pristine(&x, d.path(), "outside");
    let m = modlayer::targets::iso::Medium::read(out.to_str().unwrap()).unwrap();
    drop(m);
    let tree = d.path().join("outside.tree");
    std::fs::write(
        tree.join("coreos/igninfo.json"),
        r#"{"file": "images/ignition.img", "offset": 0, "length": 10000000}"#,
    )
    .unwrap();
    let o2 = d.path().join("outside2.iso");
    run(
        &x,
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            o2.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
    );
    check(&o2, "outside the file");
    // Standard input is refused.
    let r = modlayer(&["verify", "-", "--kind", "iso"]);
    assert_eq!(code(&r), 2, "{}", r.transcript());
}

#[test]
fn a_config_that_does_not_fit_is_refused_by_how_many_bytes() {
    let Some(x) = xorriso() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let iso = make_iso(&x, d.path(), "small", &[0u8; 256]);
    let before = std::fs::read(&iso).unwrap();
    let r = modlayer(&["apply", iso.to_str().unwrap(), "--in-place"]);
    assert_eq!(code(&r), 2, "{}", r.transcript());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("more than the 256-byte area"), "{err}");
    assert_eq!(std::fs::read(&iso).unwrap(), before);
}

#[test]
fn verify_reads_only_the_areas_of_a_large_iso() {
    let Some(x) = xorriso() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let iso = pristine(&x, d.path(), "big");
    // Grown to 1 GiB (sparse): the ISO's own structures are unchanged.
    let f = std::fs::OpenOptions::new().write(true).open(&iso).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let m = modlayer::targets::iso::Medium::read(iso.to_str().unwrap()).unwrap();
    let read = m.src.bytes_read();
    eprintln!("bytes read from a 1 GiB ISO: {read}");
    assert!(read < 1 << 20, "{read}");
    assert_eq!(m.area.length, AREA as u64);
    assert_eq!(m.kargs.as_ref().unwrap().args, LIVE_KARGS);
}

/// An older ISO without `coreos/kargs.json`: the live kernel arguments are found through the
/// `coreKarg` header of the system area, read as coreos-installer reads it (`iso kargs show`).
#[test]
fn legacy_karg_header_is_read() {
    let (Some(ci), Some(x)) = (coreos_installer(), xorriso()) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let iso = make_iso_with(&x, d.path(), "legacy", &vec![0u8; AREA], false);
    let mut bytes = std::fs::read(&iso).unwrap();
    let prefix = b"append initrd=/images/pxeboot/initrd.img ";
    let at = bytes
        .windows(prefix.len())
        .position(|w| w == prefix)
        .unwrap()
        + prefix.len();
    let mut header = b"coreKarg".to_vec();
    for n in [KARG_SIZE as u64, at as u64, at as u64, 0, 0, 0, 0, 0] {
        header.extend(n.to_le_bytes());
    }
    let h = 32768 - 24 - 72;
    bytes[h..h + 72].copy_from_slice(&header);
    std::fs::write(&iso, &bytes).unwrap();
    let shown = run(&ci, &["iso", "kargs", "show", iso.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout).trim(), LIVE_KARGS);
    let m = modlayer::targets::iso::Medium::read(iso.to_str().unwrap()).unwrap();
    let k = m.kargs.as_ref().unwrap();
    assert_eq!(k.args, LIVE_KARGS);
    assert_eq!(k.areas, vec![(at as u64, KARG_SIZE as u64)]);
    // A header naming an area past the end of the file is a bad medium.
    let mut bad = bytes.clone();
    bad[h + 24..h + 32].copy_from_slice(&(bytes.len() as u64 + 10).to_le_bytes());
    let b = write(d.path(), "bad.iso", &bad);
    let r = modlayer(&["verify", b.to_str().unwrap()]);
    assert_eq!(code(&r), 2, "{}", r.transcript());
}

#[test]
fn killed_in_place_applies_leave_the_old_or_the_new_medium() {
    let Some(x) = xorriso() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let iso = pristine(&x, d.path(), "k");
    // Make the copy take a while: 64 MiB of data after the image.
    {
        let mut f = std::fs::OpenOptions::new().append(true).open(&iso).unwrap();
        let chunk = vec![0x5au8; 1 << 20];
        for _ in 0..64 {
            f.write_all(&chunk).unwrap();
        }
    }
    let old = std::fs::read(&iso).unwrap();
    let reference = d.path().join("ref.iso");
    assert_eq!(
        code(&modlayer(&[
            "apply",
            iso.to_str().unwrap(),
            "-o",
            reference.to_str().unwrap()
        ])),
        0
    );
    let new = std::fs::read(&reference).unwrap();
    for delay in [5u64, 30, 80, 200] {
        let mut child = common::modlayer()
            .args(["apply", iso.to_str().unwrap(), "--in-place"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&iso).unwrap();
        assert!(
            now == old || now == new,
            "after a kill at {delay} ms the medium is neither"
        );
        if now == new {
            std::fs::write(&iso, &old).unwrap();
        }
    }
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".modlayer-"))
        .collect();
    // Named temporary files (no O_TMPFILE) of killed runs are removed by the next run.
    assert_eq!(
        code(&modlayer(&["apply", iso.to_str().unwrap(), "--in-place"])),
        0
    );
    for n in names {
        assert!(!d.path().join(&n).exists(), "{n} left behind");
    }
    assert_eq!(std::fs::read(&iso).unwrap(), new);
}

/// The same kill trials on a PXE initramfs with a config appended (64 MiB before the config, so
/// the copy takes a while): the old image or the new one, never a mix.
#[test]
fn killed_in_place_pxe_applies_leave_the_old_or_the_new_image() {
    let d = tempfile::tempdir().unwrap();
    let mut initrd = newc(&[("usr/lib/firmware/pad.bin", &vec![0x5au8; 64 << 20])]);
    initrd.resize(initrd.len().div_ceil(4) * 4, 0);
    let config = modlayer::media::cpio::write_newc(&[(
        "config.ign".into(),
        0o644,
        MOTD_CONFIG.as_bytes().to_vec(),
    )]);
    initrd.extend(modlayer::media::cpio::xz_crc32(&config).unwrap());
    let img = write(d.path(), "initrd.img", &initrd);
    let i = img.to_str().unwrap();
    let reference = d.path().join("ref.img");
    assert_eq!(
        code(&modlayer(&["apply", i, "-o", reference.to_str().unwrap()])),
        0
    );
    let new = std::fs::read(&reference).unwrap();
    assert_ne!(new, initrd);
    for delay in [5u64, 30, 80, 200] {
        let mut child = common::modlayer()
            .args(["apply", i, "--in-place"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&img).unwrap();
        assert!(
            now == initrd || now == new,
            "after a kill at {delay} ms the image is neither"
        );
        if now == new {
            std::fs::write(&img, &initrd).unwrap();
        }
    }
    assert_eq!(code(&modlayer(&["apply", i, "--in-place"])), 0);
    assert_eq!(std::fs::read(&img).unwrap(), new);
    let left: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".modlayer-"))
        .collect();
    assert!(left.is_empty(), "{left:?} left behind");
}

#[test]
fn rendered_ignition_embeds_with_coreos_installer_as_it_is() {
    let (Some(ci), Some(x)) = (coreos_installer(), xorriso()) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let base = pristine(&x, d.path(), "r");
    let rendered = modlayer(&["render", "ignition"]);
    assert!(rendered.success());
    let cfg = write(d.path(), "layer.ign", &rendered.stdout);
    let out = d.path().join("r-emb.iso");
    run(
        &ci,
        &[
            "iso",
            "ignition",
            "embed",
            "-i",
            cfg.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            base.to_str().unwrap(),
        ],
    );
    let shown = run(&ci, &["iso", "ignition", "show", out.to_str().unwrap()]);
    assert_eq!(shown.stdout, rendered.stdout);
    let r = modlayer(&["verify", out.to_str().unwrap(), "--strict"]);
    assert_eq!(code(&r), 0, "{}", r.transcript());
}
