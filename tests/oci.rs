//! OCI image layouts, judged by the real tools: images built by umoci are patched, the result opens
//! in skopeo inspect and umoci unpack holds exactly the layer's bytes and modes; whiteouts made by
//! umoci in a later layer are honoured; hostile layouts are refused with nothing changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have, Oracle};
use serde_json::{json, Value};

const BL: &str = "/etc/modprobe.d/sctp-blacklist.conf";
const LOAD: &str = "/etc/modules-load.d/sctp-load.conf";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A JSON file of the layout.
fn json_at(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The blob file a descriptor's digest names.
fn blob(img: &Path, desc: &Value) -> PathBuf {
    let digest = desc["digest"].as_str().unwrap();
    img.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// The manifest the first entry of index.json names.
fn top_manifest(img: &Path) -> Value {
    json_at(&blob(
        img,
        &json_at(&img.join("index.json"))["manifests"][0],
    ))
}

fn umoci() -> Command {
    Command::new("umoci")
}

/// An RHCOS-like image built by umoci: the RHEL blacklist, a kernel carrying sctp.
fn base_image(dir: &Path) -> PathBuf {
    let img = dir.join("img");
    let root = dir.join("rootfs");
    for (p, bytes) in [
        (BL, common::rhel_blacklist()),
        (
            "/etc/os-release",
            b"NAME=\"Red Hat Enterprise Linux CoreOS\"\n".to_vec(),
        ),
        (
            "/usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/sctp/sctp.ko.xz",
            b"\xfd7zXZ\0fake".to_vec(),
        ),
    ] {
        let full = root.join(&p[1..]);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, bytes).unwrap();
    }
    run(umoci().args(["init", "--layout"]).arg(&img));
    run(umoci()
        .args(["new", "--image"])
        .arg(format!("{}:base", img.display())));
    run(umoci()
        .args(["insert", "--image"])
        .arg(format!("{}:base", img.display()))
        .arg(root.join("etc"))
        .arg("/etc"));
    run(umoci()
        .args(["insert", "--image"])
        .arg(format!("{}:base", img.display()))
        .arg(root.join("usr"))
        .arg("/usr"));
    img
}

fn modlayer(args: &[&str]) -> (i32, String, String) {
    let out = common::modlayer().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn oci(img: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", img.display())
}

/// Every file below a directory with its bytes (to prove nothing changed).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn unpack(img: &Path, tag: &str, dir: &Path) -> PathBuf {
    let bundle = dir.join(format!("bundle-{tag}"));
    run(umoci()
        .args(["unpack", "--image"])
        .arg(format!("{}:{tag}", img.display()))
        .arg(&bundle));
    bundle.join("rootfs")
}

#[test]
fn patch_an_umoci_image() {
    if !have(Oracle::Umoci) || !have(Oracle::Skopeo) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = base_image(dir.path());
    let (code, out, err) = modlayer(&["verify", "--format", "json", &oci(&img, "base")]);
    assert_eq!(code, 1, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["targets"][0]["kind"], "oci");
    assert!(out.contains("module-blacklisted"), "{out}");

    let layers_before = serde_json::from_str::<Value>(&run(
        Command::new("skopeo").args(["inspect", &oci(&img, "base")])
    ))
    .unwrap()["Layers"]
        .as_array()
        .unwrap()
        .len();
    let (code, _, err) = modlayer(&["apply", &oci(&img, "base"), "--tag", "patched"]);
    assert_eq!(code, 0, "{err}");
    // skopeo opens the result; it has exactly one more layer.
    let inspect: Value = serde_json::from_str(&run(
        Command::new("skopeo").args(["inspect", &oci(&img, "patched")])
    ))
    .unwrap();
    assert_eq!(
        inspect["Layers"].as_array().unwrap().len(),
        layers_before + 1
    );
    // umoci unpack of it holds exactly the layer's bytes and modes.
    let rootfs = unpack(&img, "patched", dir.path());
    assert_eq!(common::file_at(&rootfs, BL), Some((0o644, Vec::new())));
    assert_eq!(
        common::file_at(&rootfs, LOAD),
        Some((0o644, b"sctp".to_vec()))
    );
    assert_eq!(
        std::fs::read(rootfs.join("etc/os-release")).unwrap(),
        b"NAME=\"Red Hat Enterprise Linux CoreOS\"\n"
    );
    // The patched image verifies; the original image, still there, does not.
    let (code, out, err) = modlayer(&["verify", "--strict", &oci(&img, "patched")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(modlayer(&["verify", &oci(&img, "base")]).0, 1);
    // A later layer made by umoci that deletes sctp-load.conf (a whiteout): not enabled.
    run(umoci()
        .args(["insert", "--image"])
        .arg(format!("{}:patched", img.display()))
        .args(["--whiteout", LOAD]));
    let (code, out, _) = modlayer(&["verify", "--format", "json", &oci(&img, "patched")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("module-not-listed"), "{out}");
}

#[test]
fn apply_moves_the_tag_and_is_idempotent() {
    if !have(Oracle::Umoci) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = base_image(dir.path());
    let before = json_at(&img.join("index.json"));
    assert_eq!(modlayer(&["apply", &oci(&img, "base")]).0, 0);
    let after = json_at(&img.join("index.json"));
    assert_eq!(after["manifests"].as_array().unwrap().len(), 1);
    assert_ne!(
        after["manifests"][0]["digest"],
        before["manifests"][0]["digest"]
    );
    // Old blobs are left in place.
    assert!(blob(&img, &before["manifests"][0]).is_file());
    // Applying again changes nothing at all.
    let snap = snapshot(&img);
    let (code, out, err) = modlayer(&["apply", &oci(&img, "base")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(snapshot(&img), snap);
    assert_eq!(modlayer(&["verify", &oci(&img, "base")]).0, 0);
    // A dry run on a fresh image writes nothing.
    let img2 = base_image(&dir.path().join("second"));
    let snap = snapshot(&img2);
    let (code, out, _) = modlayer(&["apply", "--dry-run", &oci(&img2, "base")]);
    assert_eq!(code, 0);
    assert!(out.contains("would"), "{out}");
    assert_eq!(snapshot(&img2), snap);
}

#[test]
fn the_new_layer_is_reproducible() {
    if !have(Oracle::Umoci) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = base_image(&dir.path().join("a"));
    let b = base_image(&dir.path().join("b"));
    assert_eq!(modlayer(&["apply", &oci(&a, "base")]).0, 0);
    assert_eq!(modlayer(&["apply", &oci(&b, "base")]).0, 0);
    let top = |img: &Path| -> Value {
        top_manifest(img)["layers"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone()
    };
    assert_eq!(top(&a), top(&b));
    assert_eq!(
        top(&a)["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let rendered = common::run_modlayer(["render", "tar"]).unwrap().stdout;
    let digest = format!("sha256:{}", common::hex(&common::sha256(&rendered)));
    assert_eq!(
        top(&a)["digest"],
        json!(digest),
        "the layer is `modlayer render tar`"
    );
}

#[test]
fn hostile_layouts_are_refused_with_nothing_changed() {
    if !have(Oracle::Umoci) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A layer blob whose bytes do not match its digest: verify exit 2.
    let img = base_image(dir.path());
    let index = json_at(&img.join("index.json"));
    let manifest_path = blob(&img, &index["manifests"][0]);
    let manifest = json_at(&manifest_path);
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let layer_path = img.join("blobs/sha256").join(&layer);
    let mut bytes = std::fs::read(&layer_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer_path, &bytes).unwrap();
    let (code, _, err) = modlayer(&["verify", &oci(&img, "base")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&layer[..12]), "{err}");
    // A manifest blob that does not match: apply exit 2, nothing changed.
    let mut mbytes = std::fs::read(&manifest_path).unwrap();
    mbytes.push(b' ');
    std::fs::write(&manifest_path, &mbytes).unwrap();
    let snap = snapshot(&img);
    let (code, _, err) = modlayer(&["apply", &oci(&img, "base")]);
    assert_eq!(code, 2, "{err}");
    // The size is checked first (before any byte is read), then the digest.
    assert!(err.contains("its descriptor says"), "{err}");
    assert_eq!(snapshot(&img), snap);
    // index.json naming a missing blob.
    std::fs::remove_file(&manifest_path).unwrap();
    let snap = snapshot(&img);
    for cmd in ["apply", "verify"] {
        let (code, _, err) = modlayer(&[cmd, &oci(&img, "base")]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains("missing"), "{cmd}: {err}");
    }
    assert_eq!(snapshot(&img), snap);
    // No such tag; not a layout.
    assert_eq!(modlayer(&["verify", &oci(&img, "nope")]).0, 2);
    assert_eq!(
        modlayer(&[
            "verify",
            &format!("oci:{}", dir.path().join("none").display())
        ])
        .0,
        2
    );
}

#[test]
fn multi_platform_index() {
    if !have(Oracle::Umoci) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = base_image(dir.path());
    // Turn the image into a two-platform index (both platforms share the manifest's layers).
    let desc = json_at(&img.join("index.json"))["manifests"][0].clone();
    let mut amd = desc.clone();
    amd.as_object_mut().unwrap().remove("annotations");
    amd["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let mut arm = amd.clone();
    arm["platform"] = json!({"os": "linux", "architecture": "arm64"});
    let child = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [amd, arm]})).unwrap();
    let digest = common::hex(&common::sha256(&child));
    std::fs::write(img.join("blobs/sha256").join(&digest), &child).unwrap();
    let top = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{digest}"), "size": child.len(), "annotations": {"org.opencontainers.image.ref.name": "multi"}}]});
    std::fs::write(img.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    let (code, out, err) = modlayer(&["verify", "--format", "json", &oci(&img, "multi")]);
    assert_eq!(code, 1, "{out}{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["targets"].as_array().unwrap().len(), 2);
    assert_eq!(r["targets"][1]["platform"], "linux/arm64");
    // Patch one platform only: arm64 enabled, amd64 still not.
    let (code, _, err) = modlayer(&["apply", "--platform", "linux/arm64", &oci(&img, "multi")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        modlayer(&["verify", "--platform", "linux/arm64", &oci(&img, "multi")]).0,
        0
    );
    assert_eq!(
        modlayer(&["verify", "--platform", "linux/amd64", &oci(&img, "multi")]).0,
        1
    );
    // Then every platform.
    assert_eq!(modlayer(&["apply", &oci(&img, "multi")]).0, 0);
    let (code, out, err) = modlayer(&["verify", &oci(&img, "multi")]);
    assert_eq!(code, 0, "{out}{err}");
    if have(Oracle::Skopeo) {
        run(Command::new("skopeo").args(["inspect", "--raw", &oci(&img, "multi")]));
    }
}

/// A layout holding a Docker schema 2 image (as `skopeo copy --format v2s2` makes): the new layer
/// takes the Docker gzip media type.
#[test]
fn docker_media_types_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    let blobs = img.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> (String, usize) {
        let hex = common::hex(&common::sha256(bytes));
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    // One base layer: the RHEL blacklist, made with GNU tar.
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::write(
        root.join("etc/modprobe.d/sctp-blacklist.conf"),
        common::rhel_blacklist(),
    )
    .unwrap();
    let made = Command::new("tar")
        .args(["-cf", "layer.tar", "-C", "root", "etc"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    let tar = std::fs::read(dir.path().join("layer.tar")).unwrap();
    let gz = Command::new("gzip")
        .args(["-n", "-c", "layer.tar"])
        .current_dir(dir.path())
        .output()
        .unwrap()
        .stdout;
    let (layer_digest, layer_size) = put(&gz);
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", common::hex(&common::sha256(&tar)))]},
        "history": [{"created_by": "base"}]})).unwrap();
    let (config_digest, config_size) = put(&config);
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer_digest, "size": layer_size}]})).unwrap();
    let (m_digest, m_size) = put(&manifest);
    std::fs::write(img.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(img.join("index.json"), serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": m_digest, "size": m_size,
         "annotations": {"org.opencontainers.image.ref.name": "v1"}}]})).unwrap()).unwrap();
    assert_eq!(modlayer(&["verify", &oci(&img, "v1")]).0, 1);
    let (code, _, err) = modlayer(&["apply", &oci(&img, "v1")]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = modlayer(&["verify", "--strict", &oci(&img, "v1")]);
    assert_eq!(code, 0, "{out}{err}");
    let index = json_at(&img.join("index.json"));
    assert_eq!(
        index["manifests"][0]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let manifest = top_manifest(&img);
    assert_eq!(
        manifest["layers"][1]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    let config = json_at(&blob(&img, &manifest["config"]));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(config["history"].as_array().unwrap().len(), 2);
    assert!(config["history"][1]["created_by"]
        .as_str()
        .unwrap()
        .contains("modlayer"));
}

/// `umoci insert DIR /` writes the root itself as an entry named `/`: that is no escape.
#[test]
fn a_layer_holding_the_root_entry_is_read() {
    if !have(Oracle::Umoci) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::write(
        root.join("etc/modprobe.d/sctp-blacklist.conf"),
        common::rhel_blacklist(),
    )
    .unwrap();
    run(umoci().args(["init", "--layout"]).arg(&img));
    run(umoci()
        .args(["new", "--image"])
        .arg(format!("{}:base", img.display())));
    run(umoci()
        .args(["insert", "--image"])
        .arg(format!("{}:base", img.display()))
        .arg(&root)
        .arg("/"));
    let (code, out, err) = modlayer(&["verify", "--format", "json", &oci(&img, "base")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("module-blacklisted"), "{out}");
    assert_eq!(modlayer(&["apply", &oci(&img, "base")]).0, 0);
    assert_eq!(modlayer(&["verify", &oci(&img, "base")]).0, 0);
}
