//! Tar reading, rewriting and writing against GNU tar, Python's tarfile and hostile archives.

use super::*;

#[test]
fn numbers_and_checksums() {
    let mut f = [0u8; 12];
    put_num(&mut f, 0o644);
    assert_eq!(&f, b"00000000644\0");
    assert_eq!(field_num(&f), Some(0o644));
    let mut small = [0u8; 8];
    put_num(&mut small, 1 << 40);
    assert_eq!(small[0] & 0x80, 0x80);
    assert_eq!(field_num(&small), Some(1 << 40));
    assert_eq!(field_num(b"   644 \0"), Some(0o644));
    let b = ustar_block(b"", b"a", &Meta::root(0o644), 3, b'0');
    assert!(checksum_ok(&b));
}

#[test]
fn long_names_split_or_use_pax() {
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
    assert!(split_ustar_name(long.as_bytes()).is_some());
    let longer = format!("{}/{}", "d".repeat(200), "f".repeat(120));
    let bytes = entry_bytes(longer.as_bytes(), &Meta::root(0o644), b'0', b"x");
    assert_eq!(bytes[156], b'x');
    assert_eq!(pax_record("path", b"abc"), b"12 path=abc\n");
    assert_eq!(pax_record("k", &[b'v'; 4]), b"9 k=vvvv\n");
    assert!(pax_record("k", &[b'v'; 93]).starts_with(b"99 "));
    let r = pax_record("k", &[b'v'; 94]);
    assert_eq!(r.len(), 101);
    assert!(r.starts_with(b"101 "));
}

#[test]
fn whiteout_names() {
    assert_eq!(
        whiteout("/etc/modprobe.d/.wh..wh..opq"),
        Some(("/etc/modprobe.d".into(), None))
    );
    assert_eq!(
        whiteout("/etc/.wh.x"),
        Some(("/etc".into(), Some("/etc/x".into())))
    );
    assert_eq!(whiteout("/.wh.etc").map(|w| w.1), Some(Some("/etc".into())));
    assert_eq!(whiteout("/etc/x"), None);
}
