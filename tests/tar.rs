//! Tar targets: the rendered layer tar, streaming rewrite of root filesystem archives (judged at
//! block level and by GNU tar), apply/verify of .tar.gz files, hostile archives, OCI whiteouts.
//!
//! Archives are made by Python's tarfile, GNU tar, or the small ustar builder below (which is
//! independent of src/tar.rs, so the two cannot agree on a mistake).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run_ok, ORACLE_TIMEOUT, SYSTEM_PYTHON};
use modlayer::layer::Layer;
use modlayer::report::TargetReport;

/// Verify an archive through the trait (kind tar).
fn verify_tar(target: &str, layer: &Layer) -> anyhow::Result<Vec<TargetReport>> {
    modlayer::targets::verify(
        target,
        Some(modlayer::targets::Kind::Tar),
        layer,
        &modlayer::targets::VerifyOpts::default(),
    )
}
use modlayer::node::collect::LayerDelta;
use modlayer::node::RHEL_SCTP_BLACKLIST;
use modlayer::tar::{
    apply_stream, collect, decompress, detect_compression, layer_tar, render_tar, rewrite,
    Compression,
};

use common::sctp;

// ---------------------------------------------------------------------------------------------
// An independent ustar builder and a block-level archive walker
// ---------------------------------------------------------------------------------------------

/// One ustar header (GNU tar's checksum format).
fn header(name: &str, kind: u8, size: usize, link: &str, mode: u32) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[..name.len()].copy_from_slice(name.as_bytes());
    let oct = |v: u64, w: usize| format!("{v:0w$o}\0", w = w - 1);
    b[100..108].copy_from_slice(oct(u64::from(mode), 8).as_bytes());
    b[108..116].copy_from_slice(oct(0, 8).as_bytes());
    b[116..124].copy_from_slice(oct(0, 8).as_bytes());
    b[124..136].copy_from_slice(oct(size as u64, 12).as_bytes());
    b[136..148].copy_from_slice(oct(1_700_000_000, 12).as_bytes());
    b[156] = kind;
    b[157..157 + link.len()].copy_from_slice(link.as_bytes());
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[265..269].copy_from_slice(b"root");
    b[297..301].copy_from_slice(b"root");
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|x| u32::from(*x)).sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

/// An entry for [`archive`]: name, type flag, data, link target.
struct E<'a>(&'a str, u8, &'a [u8], &'a str);

/// A ustar archive of these entries, with two end blocks.
fn archive(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for E(name, kind, data, link) in entries {
        out.extend_from_slice(&header(name, *kind, data.len(), link, 0o644));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// An archive split into entries: (effective name, raw bytes of its extension headers, header,
/// data and padding), plus the tail from the first zero block on.
struct Walked {
    entries: Vec<(String, Vec<u8>)>,
    tail: Vec<u8>,
}

fn octal(field: &[u8]) -> usize {
    let t = String::from_utf8_lossy(field);
    let t = t.trim_matches(|c| c == ' ' || c == '\0');
    usize::from_str_radix(t, 8).unwrap_or(0)
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn walk(bytes: &[u8]) -> Walked {
    let mut entries = Vec::new();
    let mut pos = 0;
    let mut raw = Vec::new();
    let mut long: Option<String> = None;
    while pos + 512 <= bytes.len() {
        let h = &bytes[pos..pos + 512];
        if h.iter().all(|b| *b == 0) {
            assert!(raw.is_empty(), "extension header before the end");
            return Walked {
                entries,
                tail: bytes[pos..].to_vec(),
            };
        }
        let size = octal(&h[124..136]);
        let end = pos + 512 + size.div_ceil(512) * 512;
        let data = &bytes[pos + 512..pos + 512 + size];
        raw.extend_from_slice(&bytes[pos..end]);
        match h[156] {
            b'x' => {
                for rec in String::from_utf8_lossy(data).split('\n') {
                    if let Some((_, kv)) = rec.split_once(' ') {
                        if let Some(p) = kv.strip_prefix("path=") {
                            long = Some(p.to_string());
                        }
                    }
                }
            }
            b'L' => long = Some(cstr(data)),
            b'g' | b'K' => {}
            _ => {
                let name = long.take().unwrap_or_else(|| {
                    let (n, p) = (cstr(&h[..100]), cstr(&h[345..500]));
                    if p.is_empty() || &h[257..263] != b"ustar\0" {
                        n
                    } else {
                        format!("{p}/{n}")
                    }
                });
                entries.push((name, std::mem::take(&mut raw)));
            }
        }
        pos = end;
    }
    panic!("no end-of-archive block");
}

fn python() -> Option<PathBuf> {
    let p = Path::new(SYSTEM_PYTHON);
    if p.exists() {
        return Some(p.to_path_buf());
    }
    Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| PathBuf::from("python3"))
}

fn have_gnu_tar() -> bool {
    Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GNU tar"))
}

const LONG: &str = "usr/share/doc/a-package-with-a-rather-long-name-0.1.2/examples/configurations/nested/deeper/still-deeper/README.long-file-name.txt";

/// A PAX root filesystem tar made by Python's tarfile: directories, a long path (> 100 bytes), an
/// SELinux xattr, a symlink, a hardlink, a FIFO, a kernel module, the RHEL blacklist file; `big`
/// adds a 6 MiB compressible file (several gzip members).
fn python_rootfs(dir: &Path, big: bool) -> Option<PathBuf> {
    let py = python()?;
    let out = dir.join("rootfs.tar");
    let bl = dir.join("blacklist");
    std::fs::write(&bl, RHEL_SCTP_BLACKLIST).unwrap();
    let script = r##"
import io, sys, tarfile
out, bl, big, long = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
blacklist = open(bl, "rb").read()
def add(tf, name, kind=tarfile.REGTYPE, data=None, mode=0o644, link="", pax=None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = kind, mode, 1700000000, 0, 0
    ti.uname = ti.gname = "root"
    ti.linkname = link
    if pax:
        ti.pax_headers = pax
    if data is None:
        tf.addfile(ti)
    else:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
D = tarfile.DIRTYPE
se = lambda t: {"SCHILY.xattr.security.selinux": "system_u:object_r:%s:s0" % t}
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf, "etc", D, mode=0o755)
    add(tf, "etc/modprobe.d", D, mode=0o755, pax=se("modules_conf_t"))
    add(tf, "etc/modprobe.d/sctp-blacklist.conf", data=blacklist, pax=se("modules_conf_t"))
    add(tf, "etc/modprobe.d/other.conf", data=b"options foo bar=1\n", pax=se("modules_conf_t"))
    add(tf, "etc/modules-load.d", D, mode=0o755)
    add(tf, "etc/localtime", tarfile.SYMTYPE, link="../usr/share/zoneinfo/UTC", mode=0o777)
    add(tf, "run", D, mode=0o755)
    add(tf, "run/initctl", tarfile.FIFOTYPE, mode=0o600)
    add(tf, "usr/bin/orig", data=b"#!/bin/sh\necho hi\n", mode=0o755)
    add(tf, "usr/bin/hardlinked", tarfile.LNKTYPE, link="usr/bin/orig", mode=0o755)
    add(tf, long, data=b"long name\n")
    add(tf, "usr/lib/modules/5.14.0-427.el9.x86_64", D, mode=0o755)
    add(tf, "usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/sctp/sctp.ko.xz", data=bytes(range(256)) * 40)
    if big:
        add(tf, "usr/share/big.txt", data=b"".join(b"line %08d of a compressible file\n" % i for i in range(180000)))
"##;
    let mut cmd = Command::new(py);
    cmd.arg("-c")
        .arg(script)
        .arg(&out)
        .arg(&bl)
        .arg(if big { "1" } else { "0" })
        .arg(LONG);
    run_ok(cmd, None, ORACLE_TIMEOUT).unwrap();
    Some(out)
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn rewritten(input: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::new();
    let changes = rewrite(input, &mut out, &sctp()).unwrap();
    (out, changes)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).unwrap();
    out
}

// ---------------------------------------------------------------------------------------------
// 1. render tar
// ---------------------------------------------------------------------------------------------

#[test]
fn render_tar_is_reproducible_and_exact() {
    let a = render_tar(&sctp());
    assert_eq!(a, render_tar(&sctp()));
    assert_eq!(&a[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(a[3], 0, "no FNAME (or any other) gzip flag");
    assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip mtime 0");
    let tar = gunzip(&a);
    assert_eq!(tar, layer_tar(&sctp()));
    let mut archive = tar::Archive::new(&tar[..]);
    let mut seen = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        assert_eq!(h.entry_type(), tar::EntryType::Regular);
        assert!(h.as_ustar().is_some(), "ustar format");
        assert_eq!(h.mode().unwrap(), 0o644);
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(h.mtime().unwrap(), 0);
        assert_eq!(h.username().unwrap(), Some("root"));
        assert_eq!(h.groupname().unwrap(), Some("root"));
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        seen.push((h.path().unwrap().to_string_lossy().into_owned(), data));
    }
    assert_eq!(
        seen,
        vec![
            ("etc/modprobe.d/sctp-blacklist.conf".to_string(), vec![]),
            (
                "etc/modules-load.d/sctp-load.conf".to_string(),
                b"sctp".to_vec()
            ),
        ]
    );
    if have_gnu_tar() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("l.tar.gz"), &a).unwrap();
        let listing = run(Command::new("tar")
            .arg("-tvzf")
            .arg(d.path().join("l.tar.gz")));
        assert_eq!(listing.lines().count(), 2, "{listing}");
        assert!(
            listing
                .lines()
                .all(|l| l.starts_with("-rw-r--r-- root/root")),
            "{listing}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. rewrite of a Python-made PAX rootfs
// ---------------------------------------------------------------------------------------------

#[test]
fn rewrite_keeps_every_other_entry_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let Some(path) = python_rootfs(d.path(), false) else {
        eprintln!("SKIP rewrite_keeps_every_other_entry_byte_for_byte: no python3");
        return;
    };
    let input = std::fs::read(&path).unwrap();
    let (output, changes) = rewritten(&input);
    assert_eq!(
        changes,
        [
            "replace etc/modprobe.d/sctp-blacklist.conf",
            "add etc/modules-load.d/sctp-load.conf"
        ]
    );
    let (a, b) = (walk(&input), walk(&output));
    assert_eq!(a.tail, b.tail, "end blocks and record padding kept");
    assert_eq!(b.entries.len(), a.entries.len() + 1);
    let bl = "etc/modprobe.d/sctp-blacklist.conf";
    for (i, (name, raw)) in a.entries.iter().enumerate() {
        assert_eq!(&b.entries[i].0, name, "entry {i} in place");
        if name != bl {
            assert!(b.entries[i].1 == *raw, "entry {i} ({name}) changed");
        }
    }
    assert!(a.entries.iter().any(|(n, _)| n == LONG), "long name read");
    let i = a.entries.iter().position(|(n, _)| n == bl).unwrap();
    let new = &b.entries[i].1;
    assert_eq!(new.len(), 512, "ustar header, no PAX header, no data");
    assert_eq!(&new[257..263], b"ustar\0");
    assert_eq!(octal(&new[100..108]), 0o644);
    assert_eq!(octal(&new[124..136]), 0);
    assert_eq!(octal(&new[136..148]), 1_700_000_000, "old mtime kept");
    assert_eq!(cstr(&new[265..297]), "root");
    let (last, raw) = b.entries.last().unwrap();
    assert_eq!(last, "etc/modules-load.d/sctp-load.conf");
    assert_eq!(&raw[512..516], b"sctp");
    assert_eq!(octal(&raw[100..108]), 0o644);

    // Idempotent: a second pass changes nothing.
    let (again, changes) = rewritten(&output);
    assert!(changes.is_empty(), "{changes:?}");
    assert!(again == output, "second rewrite changed bytes");

    if !have_gnu_tar() {
        eprintln!("SKIP GNU tar part: no GNU tar");
        return;
    }
    let out_path = d.path().join("out.tar");
    std::fs::write(&out_path, &output).unwrap();
    let listing = run(Command::new("tar").arg("-tvf").arg(&out_path));
    assert_eq!(listing.lines().count(), b.entries.len(), "{listing}");
    let x = d.path().join("x");
    std::fs::create_dir(&x).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&out_path)
        .arg("-C")
        .arg(&x));
    assert_eq!(std::fs::read(x.join(bl)).unwrap(), b"");
    assert_eq!(
        std::fs::read(x.join("etc/modules-load.d/sctp-load.conf")).unwrap(),
        b"sctp"
    );
    assert_eq!(std::fs::read(x.join(LONG)).unwrap(), b"long name\n");
    assert_eq!(
        std::fs::read(x.join("usr/bin/hardlinked")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(
        std::fs::read_link(x.join("etc/localtime")).unwrap(),
        Path::new("../usr/share/zoneinfo/UTC")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(x.join(bl)).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o644);
}

// ---------------------------------------------------------------------------------------------
// 3. .tar.gz through apply_stream, verify before and after
// ---------------------------------------------------------------------------------------------

#[test]
fn tar_gz_apply_and_verify() {
    let d = tempfile::tempdir().unwrap();
    let Some(path) = python_rootfs(d.path(), true) else {
        eprintln!("SKIP tar_gz_apply_and_verify: no python3");
        return;
    };
    let plain = std::fs::read(&path).unwrap();
    let gz_path = d.path().join("rootfs.tar.gz");
    let gz = Command::new("gzip").arg("-1").arg("-c").arg(&path).output();
    let gz = match gz {
        Ok(o) if o.status.success() => o.stdout,
        _ => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &plain).unwrap();
            e.finish().unwrap()
        }
    };
    std::fs::write(&gz_path, &gz).unwrap();
    let target = gz_path.to_str().unwrap();

    let before = verify_tar(target, &sctp()).unwrap();
    assert_eq!(before.len(), 1);
    assert!(!before[0].enabled);
    assert_eq!(before[0].kind, "tar");
    assert!(
        before[0]
            .findings
            .iter()
            .any(|f| f.code == "module-blacklisted"),
        "{:?}",
        before[0].findings
    );

    let mut out = Vec::new();
    let changes = apply_stream(&gz_path, &mut out, &sctp()).unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(detect_compression(&out), Compression::Gzip);
    assert_eq!(&out[4..8], &[0, 0, 0, 0]);
    let members = out.windows(4).filter(|w| w == &[0x1f, 0x8b, 8, 0]).count();
    assert!(members >= 2, "{members} gzip members for > 4 MiB");
    let (expected, _) = rewritten(&plain);
    assert!(gunzip(&out) == expected, "gzip output != plain rewrite");
    let mut again = Vec::new();
    apply_stream(&gz_path, &mut again, &sctp()).unwrap();
    assert!(again == out, "apply_stream output is not reproducible");
    if Command::new("gzip").arg("--version").output().is_ok() {
        let p = d.path().join("check.tar.gz");
        std::fs::write(&p, &out).unwrap();
        let o = Command::new("gzip").arg("-dc").arg(&p).output().unwrap();
        assert!(o.status.success());
        assert!(o.stdout == expected, "gzip -d disagrees");
    }

    let out_path = d.path().join("out.tar.gz");
    std::fs::write(&out_path, &out).unwrap();
    let after = verify_tar(out_path.to_str().unwrap(), &sctp()).unwrap();
    assert!(after[0].enabled, "{:?}", after[0].findings);
    assert!(after[0].identical);
    let mut none = Vec::new();
    assert!(apply_stream(&out_path, &mut none, &sctp())
        .unwrap()
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// 4. hostile archives
// ---------------------------------------------------------------------------------------------

/// rewrite and collect both fail, naming the entry.
fn refused(bytes: &[u8], wants: &[&str]) {
    let e = format!(
        "{:#}",
        rewrite(bytes, std::io::sink(), &sctp()).unwrap_err()
    );
    let mut delta = LayerDelta::new(&sctp());
    let c = format!("{:#}", collect(bytes, &mut delta, "t", false).unwrap_err());
    for msg in [&e, &c] {
        for w in wants {
            assert!(msg.contains(w), "{msg:?} lacks {w:?}");
        }
    }
}

#[test]
fn hostile_archives_are_refused() {
    refused(
        &archive(&[E("../evil", b'0', b"x", "")]),
        &["entry 1 (../evil)", ".."],
    );
    refused(
        &archive(&[E("etc/ok", b'0', b"", ""), E("/etc/passwd", b'0', b"x", "")]),
        &["entry 2 (/etc/passwd)", "absolute"],
    );
    refused(
        &archive(&[E("etc/a", b'0', b"a", ""), E("etc/x", b'1', b"", "../../x")]),
        &["entry 2 (etc/x)", "../../x"],
    );
    refused(
        &archive(&[E("etc/x", b'1', b"", "/etc/shadow")]),
        &["entry 1 (etc/x)", "absolute"],
    );
    let blob: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let good = archive(&[
        E("etc/hosts", b'0', b"127.0.0.1 localhost\n", ""),
        E("usr/bin/blob", b'0', &blob, ""),
    ]);
    // Truncated inside the data, and inside a header.
    refused(
        &good[..1024 + 512 + 30_000],
        &["entry 2 (usr/bin/blob)", "truncated"],
    );
    refused(&good[..1024 + 100], &["entry 2", "truncated"]);
    refused(
        &good[..1024 + 512 + blob.len().div_ceil(512) * 512],
        &["end-of-archive"],
    );
    // Corrupt header checksum.
    let mut bad = good.clone();
    bad[1024 + 3] ^= 0x20;
    refused(&bad, &["entry 2", "checksum"]);
    refused(
        b"this is not a tar archive at all",
        &["entry 1", "truncated"],
    );

    // Truncated gzip, through apply_stream and verify_tar.
    let d = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &good).unwrap();
    let gz = enc.finish().unwrap();
    let p = d.path().join("cut.tar.gz");
    std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    let e = format!(
        "{:#}",
        apply_stream(&p, &mut Vec::new(), &sctp()).unwrap_err()
    );
    assert!(
        e.contains("cut.tar.gz") && e.contains("usr/bin/blob"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        verify_tar(p.to_str().unwrap(), &sctp()).unwrap_err()
    );
    assert!(
        e.contains("cut.tar.gz") && e.contains("usr/bin/blob"),
        "{e}"
    );
    // Only the trailer missing: still an error, not a silent success.
    std::fs::write(&p, &gz[..gz.len() - 4]).unwrap();
    assert!(verify_tar(p.to_str().unwrap(), &sctp()).is_err());

    // A directory where the layer writes a file.
    let dir = archive(&[E("etc/modprobe.d/sctp-blacklist.conf/", b'5', b"", "")]);
    let e = format!(
        "{:#}",
        rewrite(&dir[..], std::io::sink(), &sctp()).unwrap_err()
    );
    assert!(e.contains("entry 1") && e.contains("directory"), "{e}");
}

#[test]
fn zstd_is_read_but_not_written() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("x.tar.zst");
    std::fs::write(&p, [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]).unwrap();
    let e = format!(
        "{:#}",
        apply_stream(&p, &mut Vec::new(), &sctp()).unwrap_err()
    );
    assert!(e.contains("zstd"), "{e}");
    if Command::new("zstd").arg("--version").output().is_err() {
        eprintln!("SKIP zstd round trip: no zstd program");
        return;
    }
    let tar = archive(&[E(
        "etc/modprobe.d/sctp-blacklist.conf",
        b'0',
        RHEL_SCTP_BLACKLIST,
        "",
    )]);
    // Two frames (pzstd and zstd -T write several) with a skippable frame between them.
    let mut zst = zstd(&tar[..700]);
    zst.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    zst.extend(zstd(&tar[700..]));
    assert_eq!(detect_compression(&zst), Compression::Zstd);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut decompress(&zst[..], Compression::Zstd).unwrap(),
        &mut plain,
    )
    .unwrap();
    assert!(plain == tar, "zstd frames decoded wrong");
    std::fs::write(&p, &zst).unwrap();
    let r = verify_tar(p.to_str().unwrap(), &sctp()).unwrap();
    assert!(r[0].findings.iter().any(|f| f.code == "module-blacklisted"));
}

/// Compress with the zstd program.
fn zstd(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-q", "-c", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, bytes).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

// ---------------------------------------------------------------------------------------------
// 5. OCI whiteouts
// ---------------------------------------------------------------------------------------------

#[test]
fn collect_reads_whiteouts() {
    let layer_bytes = archive(&[
        E("etc/modules-load.d/.wh.sctp-load.conf", b'0', b"", ""),
        E("etc/modprobe.d/.wh..wh..opq", b'0', b"", ""),
        E("etc/modprobe.d/other.conf", b'0', b"blacklist sctp\n", ""),
    ]);
    let mut delta = LayerDelta::new(&sctp());
    collect(&layer_bytes[..], &mut delta, "layer 1", true).unwrap();
    assert_eq!(delta.whiteouts, ["/etc/modules-load.d/sctp-load.conf"]);
    assert_eq!(delta.opaque, ["/etc/modprobe.d"]);
    let view = delta.entries.finish();
    assert_eq!(
        view.files.keys().collect::<Vec<_>>(),
        ["/etc/modprobe.d/other.conf"]
    );
    assert_eq!(
        view.files["/etc/modprobe.d/other.conf"].origin.to_string(),
        "layer 1"
    );
    // Without whiteouts (a plain rootfs), they are ordinary names.
    let mut plain = LayerDelta::new(&sctp());
    collect(&layer_bytes[..], &mut plain, "t", false).unwrap();
    assert!(plain.whiteouts.is_empty() && plain.opaque.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Links at and to layer paths, GNU tar's `./` names, collect details
// ---------------------------------------------------------------------------------------------

#[test]
fn links_at_and_to_layer_paths() {
    let bl = "etc/modprobe.d/sctp-blacklist.conf";
    // A hardlink AT the layer path becomes the layer's file; its target keeps its bytes.
    let at = archive(&[
        E(
            "usr/etc/modprobe.d/sctp-blacklist.conf",
            b'0',
            RHEL_SCTP_BLACKLIST,
            "",
        ),
        E(bl, b'1', b"", "usr/etc/modprobe.d/sctp-blacklist.conf"),
        E("etc/modules-load.d/sctp-load.conf", b'2', b"", "/dev/null"),
    ]);
    let (out, changes) = rewritten(&at);
    assert_eq!(changes.len(), 2, "{changes:?}");
    let w = walk(&out);
    assert_eq!(w.entries[0].1, walk(&at).entries[0].1);
    assert_eq!(w.entries[1].1[156], b'0');
    assert_eq!(
        w.entries[2].1[156], b'0',
        "symlink mask replaced by the file"
    );
    assert_eq!(&w.entries[2].1[512..516], b"sctp");

    // A hardlink TO the replaced file keeps the old bytes as a file of its own.
    let to = archive(&[
        E(bl, b'0', RHEL_SCTP_BLACKLIST, ""),
        E("usr/etc/modprobe.d/sctp-blacklist.conf", b'1', b"", bl),
    ]);
    let (out, changes) = rewritten(&to);
    assert!(
        changes.iter().any(|c| c.starts_with("copy ")),
        "{changes:?}"
    );
    let w = walk(&out);
    let copy = &w.entries[1].1;
    assert_eq!(copy[156], b'0');
    assert_eq!(octal(&copy[124..136]), RHEL_SCTP_BLACKLIST.len());
    assert_eq!(
        &copy[512..512 + RHEL_SCTP_BLACKLIST.len()],
        RHEL_SCTP_BLACKLIST
    );

    // collect resolves hardlinks to kept entries and sees the mask.
    let mut delta = LayerDelta::new(&sctp());
    collect(&at[..], &mut delta, "t", false).unwrap();
    let v = delta.entries.finish();
    assert!(matches!(
        &v.files["/etc/modprobe.d/sctp-blacklist.conf"].content,
        modlayer::node::Content::File { bytes, .. } if bytes == RHEL_SCTP_BLACKLIST
    ));
    assert_eq!(
        v.files["/etc/modules-load.d/sctp-load.conf"].content,
        modlayer::node::Content::Mask
    );
}

#[test]
fn gnu_tar_archive_with_dot_slash_names() {
    if !have_gnu_tar() {
        eprintln!("SKIP gnu_tar_archive_with_dot_slash_names: no GNU tar");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::create_dir_all(root.join("usr/etc/modprobe.d")).unwrap();
    let bl = root.join("etc/modprobe.d/sctp-blacklist.conf");
    std::fs::write(&bl, RHEL_SCTP_BLACKLIST).unwrap();
    std::fs::hard_link(&bl, root.join("usr/etc/modprobe.d/sctp-blacklist.conf")).unwrap();
    let long_dir = root.join("d".repeat(90)).join("e".repeat(90));
    std::fs::create_dir_all(&long_dir).unwrap();
    std::fs::write(long_dir.join("f".repeat(60)), b"gnu long name\n").unwrap();
    let t = d.path().join("gnu.tar");
    run(Command::new("tar")
        .args([
            "--format=gnu",
            "--sort=name",
            "--owner=0",
            "--group=0",
            "-cf",
        ])
        .arg(&t)
        .arg("-C")
        .arg(&root)
        .arg("."));
    let input = std::fs::read(&t).unwrap();
    let (output, changes) = rewritten(&input);
    assert_eq!(changes.len(), 3, "{changes:?}");
    let w = walk(&output);
    assert_eq!(
        w.entries.last().unwrap().0,
        "./etc/modules-load.d/sctp-load.conf"
    );
    let o = d.path().join("out.tar");
    std::fs::write(&o, &output).unwrap();
    let x = d.path().join("x");
    std::fs::create_dir(&x).unwrap();
    run(Command::new("tar").arg("-xf").arg(&o).arg("-C").arg(&x));
    assert_eq!(
        std::fs::read(x.join("etc/modprobe.d/sctp-blacklist.conf")).unwrap(),
        b""
    );
    assert_eq!(
        std::fs::read(x.join("usr/etc/modprobe.d/sctp-blacklist.conf")).unwrap(),
        RHEL_SCTP_BLACKLIST
    );
    assert_eq!(
        std::fs::read(
            x.join("d".repeat(90))
                .join("e".repeat(90))
                .join("f".repeat(60))
        )
        .unwrap(),
        b"gnu long name\n"
    );
    let (again, changes) = rewritten(&output);
    assert!(changes.is_empty() && again == output, "{changes:?}");
}

// ---------------------------------------------------------------------------------------------
// Bench helpers (benches/tar-bench.sh)
// ---------------------------------------------------------------------------------------------

/// `MODLAYER_TAR_BENCH=IN.tar.gz MODLAYER_TAR_BENCH_OUT=OUT.tar.gz`: apply_stream, timed.
#[test]
#[ignore]
fn bench_apply_stream() {
    let Ok(input) = std::env::var("MODLAYER_TAR_BENCH") else {
        eprintln!("set MODLAYER_TAR_BENCH");
        return;
    };
    let out = std::env::var("MODLAYER_TAR_BENCH_OUT").unwrap_or_else(|_| format!("{input}.out"));
    let start = std::time::Instant::now();
    let f = std::fs::File::create(&out).unwrap();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let changes = apply_stream(Path::new(&input), &mut w, &sctp()).unwrap();
    std::io::Write::flush(&mut w).unwrap();
    println!(
        "apply_stream {:.3} s {changes:?}",
        start.elapsed().as_secs_f64()
    );
}

/// `MODLAYER_TAR_BENCH=IN.tar.gz`: verify_tar, timed.
#[test]
#[ignore]
fn bench_verify_tar() {
    let Ok(input) = std::env::var("MODLAYER_TAR_BENCH") else {
        eprintln!("set MODLAYER_TAR_BENCH");
        return;
    };
    let start = std::time::Instant::now();
    let r = verify_tar(&input, &sctp()).unwrap();
    println!(
        "verify_tar {:.3} s enabled={}",
        start.elapsed().as_secs_f64(),
        r[0].enabled
    );
}

/// umoci 0.4 writes image layers that stop right after the last entry's data (no padding, no
/// end-of-archive blocks). Image layers are read leniently there; a plain rootfs archive is not;
/// an end inside the data is refused either way.
#[test]
fn image_layers_may_end_after_the_last_data() {
    let full = archive(&[E("etc/modprobe.d/x.conf", b'0', b"blacklist sctp\n", "")]);
    let cut = &full[..512 + 15];
    let mut delta = LayerDelta::new(&sctp());
    collect(cut, &mut delta, "layer", true).unwrap();
    assert!(delta
        .entries
        .finish()
        .files
        .contains_key("/etc/modprobe.d/x.conf"));
    let mut plain = LayerDelta::new(&sctp());
    assert!(collect(cut, &mut plain, "rootfs", false).is_err());
    let mut short = LayerDelta::new(&sctp());
    let err = collect(&full[..512 + 10], &mut short, "layer", true).unwrap_err();
    assert!(format!("{err:#}").contains("truncated"), "{err:#}");
}

/// Debian's kmod ships /etc/modules-load.d/modules.conf -> ../modules: verify reads the target.
#[test]
fn links_in_config_directories_are_followed_inside_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = archive(&[
        E("etc/modprobe.d/sctp-blacklist.conf", b'0', b"", ""),
        E("etc/modules-load.d/modules.conf", b'2', b"", "../modules"),
        E("etc/modules", b'0', b"# loaded at boot\nsctp\n", ""),
    ]);
    let p = dir.path().join("root.tar");
    std::fs::write(&p, &bytes).unwrap();
    let r = verify_tar(p.to_str().unwrap(), &sctp()).unwrap();
    assert!(r[0].enabled, "{:?}", r[0].findings);
    let listed = r[0]
        .findings
        .iter()
        .find(|f| f.code == "module-listed")
        .unwrap();
    assert!(
        listed
            .origin
            .as_ref()
            .is_some_and(|o| o.to_string().contains("a link to /etc/modules")),
        "{listed:?}"
    );
    // The same link to a file the archive lacks is skipped, as kmod and systemd skip it.
    let dangling = archive(&[
        E("etc/modprobe.d/sctp-blacklist.conf", b'0', b"", ""),
        E("etc/modules-load.d/modules.conf", b'2', b"", "../modules"),
    ]);
    std::fs::write(&p, &dangling).unwrap();
    let r = verify_tar(p.to_str().unwrap(), &sctp()).unwrap();
    assert!(!r[0].enabled);
    assert!(
        r[0].findings.iter().any(|f| f.code == "module-not-listed"),
        "{:?}",
        r[0].findings
    );
    assert!(
        !r[0]
            .findings
            .iter()
            .any(|f| f.code == "content-not-visible"),
        "{:?}",
        r[0].findings
    );
}

// ---------------------------------------------------------------------------------------------
// One pass: apply reads the archive once (judged, layer built, rewritten)
// ---------------------------------------------------------------------------------------------

use modlayer::node::NodeView;
use modlayer::targets::{Applied, ApplyOpts, Dest, Wanted};

/// `apply --module MODULE`'s layer as the CLI asks for it.
fn module(name: &str) -> Wanted {
    Wanted::Module {
        name: name.into(),
        over_base: Layer::for_module(name, &NodeView::rhcos(name)).unwrap(),
    }
}

/// Apply through the trait, as the CLI does.
fn apply_wanted(
    target: &Path,
    wanted: &Wanted,
    dest: Dest,
    dry_run: bool,
) -> anyhow::Result<Applied> {
    let opts = ApplyOpts {
        dry_run,
        ..ApplyOpts::to(dest)
    };
    modlayer::targets::apply_wanted(target.to_str().unwrap(), None, wanted, &opts)
}

/// The CLI's standard output for these arguments (it must succeed).
fn cli_stdout(args: &[&str]) -> Vec<u8> {
    let o = common::modlayer().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

#[test]
fn one_pass_apply_writes_what_the_stream_rewrite_writes() {
    let d = tempfile::tempdir().unwrap();
    let Some(path) = python_rootfs(d.path(), false) else {
        eprintln!("SKIP one_pass_apply_writes_what_the_stream_rewrite_writes: no python3");
        return;
    };
    let input = std::fs::read(&path).unwrap();
    let (expected, changes) = rewritten(&input);
    let out = d.path().join("out.tar");
    let a = apply_wanted(
        &path,
        &Wanted::Layer(sctp()),
        Dest::File(out.clone()),
        false,
    )
    .unwrap();
    assert_eq!(a.changes, changes);
    assert!(
        std::fs::read(&out).unwrap() == expected,
        "-o differs from rewrite"
    );
    // The same through gzip, and to standard output.
    let gz = d.path().join("rootfs.tar.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &input).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let out_gz = d.path().join("out.tar.gz");
    apply_wanted(
        &gz,
        &Wanted::Layer(sctp()),
        Dest::File(out_gz.clone()),
        false,
    )
    .unwrap();
    assert!(gunzip(&std::fs::read(&out_gz).unwrap()) == expected);
    let piped = cli_stdout(&["apply", "--layer", "sctp", gz.to_str().unwrap()]);
    assert!(
        piped == std::fs::read(&out_gz).unwrap(),
        "stdout differs from -o"
    );
    // A dry run says the same and writes nothing.
    let before = std::fs::read(&gz).unwrap();
    let dry = apply_wanted(&gz, &Wanted::Layer(sctp()), Dest::InPlace, true).unwrap();
    assert_eq!(dry.changes, changes);
    assert!(dry.written.is_empty());
    assert!(std::fs::read(&gz).unwrap() == before);
}

#[test]
fn module_apply_holds_modprobe_entries_back() {
    let d = tempfile::tempdir().unwrap();
    let Some(path) = python_rootfs(d.path(), false) else {
        eprintln!("SKIP module_apply_holds_modprobe_entries_back: no python3");
        return;
    };
    let input = std::fs::read(&path).unwrap();
    let out = d.path().join("out.tar");
    let a = apply_wanted(&path, &module("sctp"), Dest::File(out.clone()), false).unwrap();
    assert_eq!(
        a.changes,
        [
            "replace etc/modprobe.d/sctp-blacklist.conf",
            "add etc/modules-load.d/sctp-load.conf"
        ]
    );
    let output = std::fs::read(&out).unwrap();
    let (a, b) = (walk(&input), walk(&output));
    assert_eq!(a.tail, b.tail);
    // Every entry outside /etc/modprobe.d stays, in its order and byte for byte; the entries in
    // it follow them (as they were, or replaced), then the layer's new file.
    let held = |n: &str| n.starts_with("etc/modprobe.d/") && n != "etc/modprobe.d/";
    let others: Vec<_> = a.entries.iter().filter(|(n, _)| !held(n)).collect();
    let modprobe: Vec<_> = a.entries.iter().filter(|(n, _)| held(n)).collect();
    assert_eq!(modprobe.len(), 2);
    assert_eq!(b.entries.len(), a.entries.len() + 1);
    for (i, e) in others.iter().enumerate() {
        assert!(b.entries[i] == **e, "entry {i} ({}) moved or changed", e.0);
    }
    let tail = &b.entries[others.len()..];
    assert_eq!(tail[0].0, "etc/modprobe.d/sctp-blacklist.conf");
    assert_eq!(tail[0].1.len(), 512, "emptied: a ustar header and no data");
    assert!(tail[1] == *modprobe[1], "other.conf kept byte for byte");
    assert_eq!(tail[2].0, "etc/modules-load.d/sctp-load.conf");
    // Standard output and a gzip archive carry the same entries.
    let piped = cli_stdout(&["apply", "--module", "sctp", path.to_str().unwrap()]);
    assert!(piped == output, "stdout differs from -o");
    // The result is what a node needs, and applying again changes nothing.
    let r = verify_tar(out.to_str().unwrap(), &sctp()).unwrap();
    assert!(r[0].enabled, "{:?}", r[0].findings);
    let again = apply_wanted(&out, &module("sctp"), Dest::InPlace, false).unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert!(again.written.is_empty());
    assert!(std::fs::read(&out).unwrap() == output);
    if !have_gnu_tar() {
        eprintln!("SKIP GNU tar part: no GNU tar");
        return;
    }
    let x = d.path().join("x");
    std::fs::create_dir(&x).unwrap();
    run(Command::new("tar").arg("-xf").arg(&out).arg("-C").arg(&x));
    assert_eq!(
        std::fs::read(x.join("etc/modprobe.d/sctp-blacklist.conf")).unwrap(),
        b""
    );
    assert_eq!(
        std::fs::read(x.join("etc/modprobe.d/other.conf")).unwrap(),
        b"options foo bar=1\n"
    );
    assert_eq!(
        std::fs::read(x.join("etc/modules-load.d/sctp-load.conf")).unwrap(),
        b"sctp"
    );

    // A vendor blacklist (/usr/lib/modprobe.d) read after an /etc entry: the layer's emptied
    // /etc file is new, the /etc entry is held back and kept.
    let vendor = archive(&[
        E(
            "etc/modprobe.d/other.conf",
            b'0',
            b"options foo bar=1\n",
            "",
        ),
        E(
            "usr/lib/modprobe.d/sctp-blacklist.conf",
            b'0',
            RHEL_SCTP_BLACKLIST,
            "",
        ),
        E("usr/bin/true", b'0', b"#!/bin/sh\n", ""),
    ]);
    let p = d.path().join("vendor.tar");
    std::fs::write(&p, &vendor).unwrap();
    let a = apply_wanted(&p, &module("sctp"), Dest::InPlace, false).unwrap();
    assert_eq!(
        a.changes,
        [
            "add etc/modprobe.d/sctp-blacklist.conf",
            "add etc/modules-load.d/sctp-load.conf"
        ]
    );
    let names: Vec<String> = walk(&std::fs::read(&p).unwrap())
        .entries
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        names,
        [
            "usr/lib/modprobe.d/sctp-blacklist.conf",
            "usr/bin/true",
            "etc/modprobe.d/other.conf",
            "etc/modprobe.d/sctp-blacklist.conf",
            "etc/modules-load.d/sctp-load.conf"
        ]
    );
    let r = verify_tar(p.to_str().unwrap(), &sctp()).unwrap();
    assert!(r[0].enabled, "{:?}", r[0].findings);
}

#[test]
fn one_pass_gives_way_where_it_cannot_settle_the_archive() {
    use modlayer::tar::{rewrite_collecting, Once, Plan};
    let bare = Layer::bare("sctp").unwrap();
    let first = Layer::for_module("sctp", &NodeView::default()).unwrap();
    let plan = Plan::Module {
        probe: &bare,
        first: &first,
    };
    let pass = |bytes: &[u8]| {
        rewrite_collecting(bytes, std::io::sink(), plan, "t.tar", |n: &NodeView| {
            Layer::for_module("sctp", n)
        })
        .unwrap()
    };
    let blacklist = RHEL_SCTP_BLACKLIST;
    // A blacklist reached through a link to a file read before it.
    let linked = archive(&[
        E("usr/share/bl.conf", b'0', blacklist, ""),
        E(
            "etc/modprobe.d/sctp-blacklist.conf",
            b'2',
            b"",
            "../../usr/share/bl.conf",
        ),
    ]);
    // A hardlink to an entry held back.
    let hardlinked = archive(&[
        E("etc/modprobe.d/sctp-blacklist.conf", b'0', blacklist, ""),
        E(
            "usr/share/copy.conf",
            b'1',
            b"",
            "etc/modprobe.d/sctp-blacklist.conf",
        ),
    ]);
    let plain = archive(&[E("etc/modprobe.d/sctp-blacklist.conf", b'0', blacklist, "")]);
    assert!(matches!(pass(&linked), Once::Again(w) if w.contains("/usr/share/bl.conf")));
    assert!(matches!(pass(&hardlinked), Once::Again(w) if w.contains("hardlink")));
    assert!(matches!(pass(&plain), Once::Done { .. }));
    // Apply still does it right, reading twice.
    let d = tempfile::tempdir().unwrap();
    for (name, bytes) in [("linked.tar", &linked), ("hardlinked.tar", &hardlinked)] {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let a = apply_wanted(&p, &module("sctp"), Dest::InPlace, false).unwrap();
        assert!(
            a.changes
                .contains(&"replace etc/modprobe.d/sctp-blacklist.conf".to_string()),
            "{name}: {:?}",
            a.changes
        );
        let r = verify_tar(p.to_str().unwrap(), &sctp()).unwrap();
        assert!(r[0].enabled, "{name}: {:?}", r[0].findings);
        let order: Vec<String> = walk(&std::fs::read(&p).unwrap())
            .entries
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(
            order[..2],
            [bytes_names(bytes)[0].clone(), bytes_names(bytes)[1].clone()],
            "{name}: in place"
        );
    }
}

/// The entry names of an archive, in order.
fn bytes_names(bytes: &[u8]) -> Vec<String> {
    walk(bytes).entries.into_iter().map(|e| e.0).collect()
}

#[test]
fn refusals_come_before_anything_is_written() {
    let d = tempfile::tempdir().unwrap();
    // A kernel without the module.
    let bytes = archive(&[
        E(
            "etc/modprobe.d/sctp-blacklist.conf",
            b'0',
            RHEL_SCTP_BLACKLIST,
            "",
        ),
        E("usr/lib/modules/5.14.0-427.el9.x86_64/", b'5', b"", ""),
        E(
            "usr/lib/modules/5.14.0-427.el9.x86_64/kernel/net/dccp/dccp.ko.xz",
            b'0',
            b"x",
            "",
        ),
    ]);
    let p = d.path().join("root.tar");
    std::fs::write(&p, &bytes).unwrap();
    let out = d.path().join("out.tar");
    for wanted in [module("sctp"), Wanted::Layer(sctp())] {
        for dest in [Dest::InPlace, Dest::File(out.clone())] {
            let err = apply_wanted(&p, &wanted, dest, false).unwrap_err();
            let text = format!("{err:#}");
            assert!(
                text.contains(
                    "no installed kernel carries a sctp module (kernels: 5.14.0-427.el9.x86_64)"
                ),
                "{text}"
            );
            assert!(std::fs::read(&p).unwrap() == bytes, "changed");
            assert!(!out.exists(), "-o written");
        }
    }
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "a temporary file left: {names:?}");
    let o = common::modlayer()
        .args(["apply", "--module", "sctp", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "{} bytes on stdout", o.stdout.len());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no installed kernel carries"));
}
