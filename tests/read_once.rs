//! Every byte of an image is read at most once per command: the bytes of layer blobs and archives
//! that a command reads ([`modlayer::fsutil::image_bytes_read`]) equal their size, for verify and
//! apply, with a built-in layer and with `--module` (whose layer is built from the image itself);
//! an archive named without `--kind` also has its first 64 KiB read to tell an OS root from a
//! cluster dump. An archive applied to standard output is read twice (judged before anything is
//! written), and is not measured here.
//! One test in its own binary: the count is per process.

mod common;

use modlayer::fsutil::image_bytes_read;
use modlayer::layer::Layer;
use modlayer::node::NodeView;
use modlayer::targets::{self, ApplyOpts, Dest, VerifyOpts, Wanted};

/// The bytes of every layer blob the image's manifest names.
fn layer_bytes(img: &std::path::Path) -> u64 {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(img.join("index.json")).unwrap()).unwrap();
    let blob = |d: &serde_json::Value| {
        let digest = d["digest"].as_str().unwrap().trim_start_matches("sha256:");
        std::fs::read(img.join("blobs/sha256").join(digest)).unwrap()
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(&index["manifests"][0])).unwrap();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l).len() as u64)
        .sum()
}

/// The bytes `f` makes this process read from images and archives.
fn reads<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = image_bytes_read();
    let out = f();
    (out, image_bytes_read() - before)
}

fn module_sctp() -> Wanted {
    Wanted::Module {
        name: "sctp".into(),
        over_base: Layer::for_module("sctp", &NodeView::rhcos("sctp")).unwrap(),
    }
}

fn apply_opts() -> ApplyOpts {
    ApplyOpts::to(Dest::InPlace)
}

#[test]
fn each_image_is_read_once_per_command() {
    if !common::have(common::Oracle::Umoci) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let img = common::umoci_image(d.path());
    let target = format!("oci:{}:base", img.display());
    let size = layer_bytes(&img);
    assert!(size > 0);
    let sctp = Wanted::Layer(Layer::builtin("sctp").unwrap());

    // verify, with the built-in layer and with --module (the layer built from the image's own
    // blacklist files: the same read serves both).
    for wanted in [&sctp, &module_sctp()] {
        let (reports, n) = reads(|| {
            let t = targets::open(&target, None).unwrap();
            targets::judge_wanted(t.as_ref(), &target, wanted, &VerifyOpts::default()).unwrap()
        });
        assert_eq!(reports.len(), 1);
        assert!(!reports[0].enabled);
        assert_eq!(n, size, "verify read {n} bytes of a {size}-byte image");
    }

    // apply --module: the base read once (the own layer and the kernel check), the new layer
    // written, not read back.
    let (applied, n) =
        reads(|| targets::apply_wanted(&target, None, &module_sctp(), &apply_opts()));
    let applied = applied.unwrap();
    assert!(!applied.changes.is_empty());
    assert_eq!(n, size, "apply read {n} bytes of a {size}-byte image");

    // The patched image: one more layer, and verify still reads each byte once.
    let patched = layer_bytes(&img);
    assert!(patched > size);
    let (reports, n) = reads(|| {
        let t = targets::open(&target, None).unwrap();
        targets::judge_wanted(t.as_ref(), &target, &sctp, &VerifyOpts::default()).unwrap()
    });
    assert!(reports[0].enabled, "{:?}", reports[0].findings);
    assert_eq!(n, patched);

    // A root file system archive: verify reads it once.
    let tgz = d.path().join("rootfs.tar.gz");
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    // Incompressible bytes, so that a second read of the archive would show.
    let noise = common::noise(300_000, 0x9e37_79b9_7f4a_7c15);
    for (path, bytes) in [
        (
            "etc/modprobe.d/sctp-blacklist.conf",
            common::rhel_blacklist(),
        ),
        ("usr/share/noise.bin", noise),
        (
            "usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/sctp/sctp.ko.xz",
            b"\xfd7zXZ\0fake".to_vec(),
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, &bytes[..]).unwrap();
    }
    std::fs::write(&tgz, b.into_inner().unwrap().finish().unwrap()).unwrap();
    let tgz_size = std::fs::metadata(&tgz).unwrap().len();
    let name = tgz.to_str().unwrap();
    let (reports, n) = reads(|| {
        let t = targets::open(name, None).unwrap();
        targets::judge_wanted(t.as_ref(), name, &module_sctp(), &VerifyOpts::default()).unwrap()
    });
    assert!(!reports[0].enabled);
    // Once, and the head that tells an OS archive from a cluster dump.
    let sniff = modlayer::targets::manifests::SNIFF_BYTES;
    assert!(tgz_size > 2 * sniff, "{tgz_size}");
    assert!(
        (tgz_size..=tgz_size + sniff).contains(&n),
        "verify read {n} bytes of a {tgz_size}-byte archive"
    );
    // apply reads it once too: judged (the module's kernels), the layer built from its own
    // blacklist file (--module) and rewritten in the same pass; a dry run, -o and in place.
    let out = d.path().join("out.tar.gz");
    let orig = d.path().join("orig.tar.gz");
    std::fs::copy(&tgz, &orig).unwrap();
    for (wanted, dest, dry_run) in [
        (module_sctp(), Dest::InPlace, true),
        (module_sctp(), Dest::File(out.clone()), false),
        (sctp.clone(), Dest::InPlace, false),
    ] {
        let size = std::fs::metadata(&tgz).unwrap().len();
        let opts = ApplyOpts {
            dest,
            dry_run,
            ..apply_opts()
        };
        let (applied, n) = reads(|| targets::apply_wanted(name, None, &wanted, &opts));
        assert!(!applied.unwrap().changes.is_empty());
        assert!(
            (size..=size + sniff).contains(&n),
            "apply read {n} bytes of a {size}-byte archive"
        );
    }
    let (reports, _) = reads(|| {
        let t = targets::open(name, None).unwrap();
        targets::judge_wanted(t.as_ref(), name, &sctp, &VerifyOpts::default()).unwrap()
    });
    assert!(reports[0].enabled, "{:?}", reports[0].findings);

    // To standard output too (which cannot be taken back, so it is written only once the
    // archive is settled): once, and the same bytes as -o.
    let size = std::fs::metadata(&orig).unwrap().len();
    let orig_name = orig.to_str().unwrap();
    let captured = d.path().join("stdout.tar.gz");
    let file = std::fs::File::create(&captured).unwrap();
    let saved = rustix::io::dup(rustix::stdio::stdout()).unwrap();
    rustix::stdio::dup2_stdout(&file).unwrap();
    let (applied, n) = reads(|| {
        targets::apply_wanted(
            orig_name,
            None,
            &module_sctp(),
            &ApplyOpts::to(Dest::Stdout),
        )
    });
    rustix::stdio::dup2_stdout(&saved).unwrap();
    assert!(!applied.unwrap().changes.is_empty());
    assert!(
        (size..=size + sniff).contains(&n),
        "apply to standard output read {n} bytes of a {size}-byte archive"
    );
    let first = d.path().join("first.tar.gz");
    let opts = ApplyOpts {
        dest: Dest::File(first.clone()),
        ..apply_opts()
    };
    targets::apply_wanted(orig_name, None, &module_sctp(), &opts).unwrap();
    assert_eq!(
        std::fs::read(&captured).unwrap(),
        std::fs::read(&first).unwrap()
    );

    // A PXE initramfs of 24 MiB with a config appended (as `pxe ignition wrap` writes it): only
    // its end is read, for verify and for apply, and the bytes before the config stay.
    let big = common::noise(24 << 20, 0x2545_f491_4f6c_dd1d);
    let mut initrd =
        modlayer::media::cpio::write_newc(&[("usr/lib/firmware/big.bin".into(), 0o644, big)]);
    initrd.resize(initrd.len().div_ceil(4) * 4, 0);
    let before = initrd.clone();
    let config = modlayer::media::cpio::write_newc(&[(
        "config.ign".into(),
        0o644,
        br#"{"ignition":{"version":"3.2.0"}}"#.to_vec(),
    )]);
    initrd.extend(modlayer::media::cpio::xz_crc32(&config).unwrap());
    let pxe = d.path().join("initrd.img");
    std::fs::write(&pxe, &initrd).unwrap();
    let name = pxe.to_str().unwrap();
    let judge = || {
        let t = targets::open(name, None).unwrap();
        targets::judge_wanted(t.as_ref(), name, &sctp, &VerifyOpts::default()).unwrap()
    };
    let (reports, n) = reads(judge);
    assert_eq!(reports[0].kind, "pxe");
    assert!(!reports[0].enabled);
    assert!(
        n <= 16 << 20,
        "verify read {n} bytes of a {}-byte image",
        initrd.len()
    );
    let (applied, n) = reads(|| targets::apply_wanted(name, None, &sctp, &apply_opts()));
    assert!(!applied.unwrap().changes.is_empty());
    assert!(n <= 16 << 20, "apply read {n} bytes");
    let after = std::fs::read(&pxe).unwrap();
    assert_eq!(after[..before.len()], before[..]);
    let (reports, _) = reads(judge);
    assert!(reports[0].enabled, "{:?}", reports[0].findings);
}
