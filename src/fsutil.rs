//! File-system helpers: bounded reads and atomic writes (new file + rename in the same directory,
//! never writing through an existing file, which may be an ostree hardlink).

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::formats::json::MAX_CONFIG_BYTES;

/// Read a config file (or standard input for `-`), refusing anything over [`MAX_CONFIG_BYTES`].
pub fn read_config(target: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if target == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("<stdin>: cannot read")?;
    } else {
        let f = std::fs::File::open(target).with_context(|| format!("{target}: cannot open"))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_CONFIG_BYTES {
            bail!(
                "{target}: byte {}: the file is {len} bytes, more than the {MAX_CONFIG_BYTES} a config may be",
                MAX_CONFIG_BYTES + 1
            );
        }
        f.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("{target}: cannot read"))?;
    }
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{target}: more than the {MAX_CONFIG_BYTES} bytes a config may be");
    }
    Ok(bytes)
}

/// Replace `path` with `bytes` atomically: a temporary file in the same directory, synced, then
/// renamed over it. An existing file's permission bits are kept; a symlink is refused.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, None, |w| {
        w.write_all(bytes)
            .with_context(|| format!("{}: cannot write", path.display()))
            .map(|()| ((), true))
    })
}

/// Replace `path` atomically with what `fill` writes: a temporary file in the same directory,
/// synced, then renamed over it. The permission bits are `path`'s own, else `like`'s, else 0644;
/// a symlink or a non-regular file at `path` is refused. Nothing is renamed when `fill` fails or
/// says not to (the `bool` it returns with its result).
pub fn write_atomic_with<T>(
    path: &Path,
    like: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> Result<(T, bool)>,
) -> Result<T> {
    let shown = path.display();
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            bail!("{shown}: is a symbolic link; name the file it points to")
        }
        Ok(m) if !m.is_file() => bail!("{shown}: is not a regular file"),
        Ok(m) => Some(m),
        Err(_) => like.and_then(|l| std::fs::metadata(l).ok()),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".modlayer-")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "{shown}: cannot create a temporary file in {}",
                dir.display()
            )
        })?;
    let (out, keep) = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let out = fill(&mut w)?;
        w.flush()
            .with_context(|| format!("{shown}: cannot write"))?;
        out
    };
    if !keep {
        return Ok(out);
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{shown}: cannot write"))?;
    let perms = existing.map(|m| m.permissions()).unwrap_or_else(|| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o644)
    });
    std::fs::set_permissions(tmp.path(), perms)
        .with_context(|| format!("{shown}: cannot set permissions"))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("{shown}: cannot replace: {}", e.error))?;
    Ok(out)
}

/// Write one message line to standard error. A closed or broken standard error (EPIPE) is not
/// an error of the work: the message is dropped and the run keeps the exit status it earned
/// (`eprintln!` would panic and exit 101).
pub fn stderr_line(msg: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{msg}").and_then(|()| e.flush());
}

/// Write bytes to standard output.
pub fn stdout_write(bytes: &[u8]) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|_| o.flush())
        .context("cannot write to standard output")
}

/// A progress bar on standard error for long work; hidden when stderr is not a terminal.
pub fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || total < (64 << 20) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_breaks_hardlinks_and_keeps_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        std::fs::write(&a, b"old").unwrap();
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        write_atomic(&a, b"new").unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new");
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        assert_eq!(std::fs::metadata(&a).unwrap().mode() & 0o7777, 0o600);
        std::os::unix::fs::symlink(&b, d.path().join("l")).unwrap();
        assert!(write_atomic(&d.path().join("l"), b"x").is_err());
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
    }
}
