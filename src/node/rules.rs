//! The kmod, systemd and ostree rules, each written once: which directories are read and in
//! which order, which names count, what masks, how module names compare, how modprobe.d lines
//! and kernel command lines split, where ostree keeps `/etc`.

use anyhow::{bail, Result};

/// modprobe.d directories, highest precedence first (kmod).
pub const MODPROBE_DIRS: &[&str] = &[
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];

/// modules-load.d directories, highest precedence first (systemd-modules-load).
pub const MODULES_LOAD_DIRS: &[&str] = &[
    "/etc/modules-load.d",
    "/run/modules-load.d",
    "/usr/local/lib/modules-load.d",
    "/usr/lib/modules-load.d",
    "/lib/modules-load.d",
];

/// The ostree commit layout keeps the default `/etc` here.
pub const OSTREE_ETC: &str = "/usr/etc";

/// The directory a node path is in.
pub fn parent_dir(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(d, _)| d)
}

/// Whether a file name is read from a modprobe.d or modules-load.d directory: `*.conf`, with a
/// name before the suffix.
pub fn is_config_name(name: &str) -> bool {
    name.len() > ".conf".len() && name.ends_with(".conf")
}

/// Whether a node path is a configuration directory entry that kmod or systemd-modules-load
/// reads (the ostree `/usr/etc` counting as `/etc`).
pub fn is_config_path(path: &str) -> bool {
    let Some((dir, name)) = path.rsplit_once('/') else {
        return false;
    };
    let dir = dir
        .strip_prefix("/usr")
        .filter(|d| d.starts_with("/etc"))
        .unwrap_or(dir);
    (MODPROBE_DIRS.contains(&dir) || MODULES_LOAD_DIRS.contains(&dir)) && is_config_name(name)
}

/// Whether a symlink at `path` with this target masks: it leads to `/dev/null` (exactly, or
/// lexically, e.g. `../../dev/null`).
pub fn is_mask(path: &str, target: &str) -> bool {
    resolve_link(path, target) == "/dev/null"
}

/// `/etc/x` → `/usr/etc/x` when `etc` is `/usr/etc`; other paths unchanged.
pub fn map_etc(path: &str, etc: &str) -> String {
    match path.strip_prefix("/etc/") {
        Some(rest) if etc != "/etc" => format!("{etc}/{rest}"),
        _ => path.to_string(),
    }
}

/// The `/etc` path an ostree commit's `/usr/etc` path stands for.
pub fn ostree_etc_path(path: &str) -> Option<String> {
    path.strip_prefix("/usr/etc/")
        .map(|rest| format!("/etc/{rest}"))
}

/// Normalise an archive or tree path to an absolute, clean node path (`./etc/x` → `/etc/x`).
/// Returns `None` for a path that climbs out of the root (`..`), which callers treat as hostile.
pub fn node_path(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Where a symlink at `path` with this target points, as an absolute node path (clamped at the
/// root, as the kernel resolves inside a chroot).
pub fn resolve_link(path: &str, target: &str) -> String {
    let base = if target.starts_with('/') {
        String::new()
    } else {
        path.rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default()
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in base.split('/').chain(target.split('/')) {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Check a kernel module name as kmod accepts it: 1–55 characters of `A-Za-z0-9_-`.
pub fn validate_module_name(name: &str) -> Result<()> {
    // MODULE_NAME_LEN is 64 - sizeof(unsigned long), including the terminating NUL.
    if name.is_empty() || name.len() > 55 {
        bail!("invalid module name {name:?}: must be 1 to 55 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        bail!("invalid module name {name:?}: character {c:?} is not allowed (use A-Z a-z 0-9 _ -)");
    }
    Ok(())
}

/// Normalise a module name as kmod compares them (`-` and `_` are the same).
pub fn normalize_module(name: &str) -> String {
    name.replace('-', "_")
}

/// Whether a kernel argument keeps the module off (`module_blacklist=`, `modprobe.blacklist=`).
pub fn kernel_arg_blocks(arg: &str, module: &str) -> bool {
    let Some((key, value)) = arg.split_once('=') else {
        return false;
    };
    let blocking = matches!(
        key.replace('-', "_").as_str(),
        "module_blacklist" | "modprobe.blacklist"
    );
    blocking
        && value
            .split(',')
            .any(|m| normalize_module(m) == normalize_module(module))
}

/// A logical modprobe.d line: its 1-based starting line number and its text with continuations joined.
pub fn modprobe_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, raw) in text.split('\n').enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            current.push_str(head);
            continue;
        }
        current.push_str(raw);
        out.push((start, std::mem::take(&mut current)));
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// Split kernel arguments as the kernel does: on whitespace, keeping double-quoted values together.
pub fn split_kernel_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_names() {
        assert!(is_mask("/etc/modules-load.d/x.conf", "/dev/null"));
        assert!(is_mask("/etc/modules-load.d/x.conf", "../../dev/null"));
        assert!(!is_mask("/etc/modules-load.d/x.conf", "../dev/null"));
        assert!(
            is_config_name("a.conf")
                && !is_config_name(".conf")
                && !is_config_name("a.conf.rpmsave")
        );
        assert!(is_config_path("/usr/etc/modprobe.d/a.conf"));
        assert!(!is_config_path("/etc/modprobe.d/a.toml"));
        assert_eq!(
            map_etc("/etc/modprobe.d/x.conf", OSTREE_ETC),
            "/usr/etc/modprobe.d/x.conf"
        );
        assert_eq!(
            map_etc("/etc/modprobe.d/x.conf", "/etc"),
            "/etc/modprobe.d/x.conf"
        );
        assert_eq!(map_etc("/usr/lib/x.conf", OSTREE_ETC), "/usr/lib/x.conf");
        assert_eq!(ostree_etc_path("/usr/etc/a").as_deref(), Some("/etc/a"));
        assert!(kernel_arg_blocks("modprobe.blacklist=dccp,sctp", "sctp"));
        assert!(kernel_arg_blocks("module-blacklist=sctp", "sctp"));
        assert!(!kernel_arg_blocks("modules-load=sctp", "sctp"));
        assert_eq!(
            split_kernel_args(r#"a=1  b="x y" c"#),
            vec!["a=1", "b=x y", "c"]
        );
    }
}
