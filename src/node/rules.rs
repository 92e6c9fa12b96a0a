//! The kmod, systemd and ostree rules, each written once: which directories are read and in
//! which order, which names count, what masks, how module names compare, how modprobe.d lines
//! and kernel command lines split, where ostree keeps `/etc`.

use anyhow::{bail, Result};

/// Modules that hold a reference on themselves once loaded, so `rmmod` and `modprobe -r` fail
/// with "Module NAME is in use": sctp creates a kernel control socket in every network namespace
/// when it loads, and that socket holds the module. Seen on a booted kernel (tests/boot.rs,
/// scenario `bootmoduleconfig-rmmod`, Debian 12's 6.1: `rmmod: ERROR: Module sctp is in use`).
pub const HELD_ONCE_LOADED: &[&str] = &["sctp"];

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

/// Whether the decision reads this path's contents: a modprobe.d or modules-load.d entry, a
/// systemd unit file, drop-in or enablement link, or a preset. Readers keep these (and the
/// layer's paths) and nothing else.
pub fn is_decision_path(path: &str) -> bool {
    is_config_path(path) || unit_path(path).is_some() || is_preset_path(path)
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

pub use crate::layer::validate_module_name;

/// Check an object name as the API server does for metadata.name (a DNS-1123 subdomain): 1 to
/// 253 of `a-z0-9-.`, each dot-separated label starting and ending with a letter or digit.
pub fn validate_object_name(name: &str) -> Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        let hint = name.to_ascii_lowercase().replace('_', "-");
        bail!(
            "invalid object name {name:?}: metadata.name must be a DNS-1123 subdomain (a-z 0-9 - ., starting and ending with a letter or digit); e.g. {hint:?}"
        );
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

/// systemd unit directories, highest precedence first (a unit file in a higher directory replaces
/// the same name lower down; a `/dev/null` link there masks it).
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The targets a booting node reaches (RHEL CoreOS and Fedora CoreOS boot `multi-user.target`,
/// which pulls in basic, sysinit, local-fs and remote-fs; NetworkManager pulls in network.target):
/// a unit wanted or required by one of them is started at boot. `graphical.target` is not
/// (CoreOS's default target is multi-user); `network-online.target` only when something pulls
/// it in, which modlayer does not follow.
pub const BOOT_TARGETS: &[&str] = &[
    "sysinit.target",
    "basic.target",
    "local-fs.target",
    "remote-fs.target",
    "network.target",
    "multi-user.target",
    "default.target",
];

/// systemd preset directories, highest precedence first (`*.preset`; a name in a higher directory
/// replaces the same name lower down; all files are read in name order, the first matching line
/// decides).
pub const PRESET_DIRS: &[&str] = &[
    "/etc/systemd/system-preset",
    "/run/systemd/system-preset",
    "/usr/local/lib/systemd/system-preset",
    "/usr/lib/systemd/system-preset",
    "/lib/systemd/system-preset",
];

/// The file whose state tells systemd whether a boot is the first one.
pub const MACHINE_ID: &str = "/etc/machine-id";

/// Whether a path is a preset file, or `/etc/machine-id` (the ostree `/usr/etc` counting as `/etc`).
pub fn is_preset_path(path: &str) -> bool {
    let path = path
        .strip_prefix("/usr")
        .filter(|p| p.starts_with("/etc/"))
        .unwrap_or(path);
    if path == MACHINE_ID {
        return true;
    }
    path.rsplit_once('/').is_some_and(|(dir, name)| {
        PRESET_DIRS.contains(&dir) && name.len() > ".preset".len() && name.ends_with(".preset")
    })
}

/// Whether a boot with this `/etc/machine-id` (`None`: absent) is a first boot, at which systemd
/// applies the presets (machine-id(5): absent, or holding `uninitialized`; an empty file is not).
pub fn first_boot(machine_id: Option<&[u8]>) -> bool {
    match machine_id {
        None => true,
        Some(b) => String::from_utf8_lossy(b).trim() == "uninitialized",
    }
}

/// A shell glob as preset lines use them (`*`, `?`, `[...]` as a set of literal characters).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn m(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| m(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && m(&p[1..], &n[1..]),
            Some('[') => match p.iter().position(|c| *c == ']') {
                Some(end) if end > 1 => {
                    !n.is_empty() && p[1..end].contains(&n[0]) && m(&p[end + 1..], &n[1..])
                }
                _ => !n.is_empty() && n[0] == '[' && m(&p[1..], &n[1..]),
            },
            Some(c) => n.first() == Some(c) && m(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n)
}

/// What the first matching line of preset files says about a unit: `Some(true)` for `enable`,
/// `Some(false)` for `disable`, with where the line is; `None` when no line matches. `files` are
/// (path, text) in the order systemd reads them.
pub fn preset_for(files: &[(String, String)], unit: &str) -> Option<(bool, String)> {
    for (path, text) in files {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let mut words = l.split_whitespace();
            let (Some(verb), Some(pattern)) = (words.next(), words.next()) else {
                continue;
            };
            if !glob_match(pattern, unit) {
                continue;
            }
            match verb {
                "enable" => return Some((true, format!("{path}:{}", i + 1))),
                "disable" => return Some((false, format!("{path}:{}", i + 1))),
                _ => {}
            }
        }
    }
    None
}

/// The keys whose command lines a service runs when it starts.
pub const EXEC_START_KEYS: &[&str] = &["ExecStartPre", "ExecStart", "ExecStartPost"];

/// What a path in a systemd unit directory is, for the units that can run commands (services).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitPath<'a> {
    /// `<dir>/<name>.service`: a unit file (or a `/dev/null` mask).
    File {
        /// Precedence of its directory (0 is highest).
        rank: usize,
        /// Unit name.
        name: &'a str,
    },
    /// `<dir>/<target>.wants/<name>` (or `.requires/`): the unit is enabled into `target`.
    Wants {
        /// The unit that wants it.
        target: &'a str,
        /// Unit name.
        name: &'a str,
    },
    /// `<dir>/<name>.service.d/<dropin>.conf`: a drop-in.
    Dropin {
        /// Precedence of its directory (0 is highest).
        rank: usize,
        /// Unit name.
        unit: &'a str,
        /// Drop-in file name.
        name: &'a str,
    },
}

/// Whether a unit name is a service (only services run `ExecStart=` lines).
pub fn is_service_name(name: &str) -> bool {
    name.len() > ".service".len() && name.ends_with(".service") && !name.contains('/')
}

/// Classify a node path in a systemd unit directory (the ostree `/usr/etc` counting as `/etc`).
pub fn unit_path(path: &str) -> Option<UnitPath<'_>> {
    let path = path
        .strip_prefix("/usr")
        .filter(|p| p.starts_with("/etc/"))
        .unwrap_or(path);
    for (rank, dir) in UNIT_DIRS.iter().enumerate() {
        let Some(rest) = path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        return match rest.split_once('/') {
            None => is_service_name(rest).then_some(UnitPath::File { rank, name: rest }),
            Some((sub, name)) if !name.contains('/') && is_service_name(name) => {
                let target = sub
                    .strip_suffix(".wants")
                    .or_else(|| sub.strip_suffix(".requires"))?;
                Some(UnitPath::Wants { target, name })
            }
            Some((sub, name)) if !name.contains('/') && is_config_name(name) => {
                let unit = sub.strip_suffix(".d").filter(|u| is_service_name(u))?;
                Some(UnitPath::Dropin { rank, unit, name })
            }
            Some(_) => None,
        };
    }
    None
}

/// Whether a unit directory entry is a subdirectory systemd reads (`*.wants`, `*.requires`,
/// `*.service.d`): the tree reader lists those.
pub fn is_unit_subdir(name: &str) -> bool {
    name.ends_with(".wants")
        || name.ends_with(".requires")
        || name.strip_suffix(".d").is_some_and(is_service_name)
}

/// One `Key=value` line of a unit file's section, continuation lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitLine {
    /// 1-based line number where it starts.
    pub line: usize,
    /// Section name (`Service`).
    pub section: String,
    /// Key (`ExecStart`).
    pub key: String,
    /// Value, trimmed.
    pub value: String,
}

/// Parse a unit file (systemd.syntax): `[Section]` headers, `#`/`;` comment lines, a trailing `\`
/// continues a line.
pub fn unit_lines(text: &str) -> Vec<UnitLine> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut logical) = match pending.take() {
            Some((start, mut acc)) => {
                let t = raw.trim();
                if t.starts_with('#') || t.starts_with(';') {
                    pending = Some((start, acc));
                    continue;
                }
                acc.push_str(raw.trim_start());
                (start, acc)
            }
            None => {
                let t = raw.trim();
                if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                    continue;
                }
                if t.starts_with('[') && t.ends_with(']') {
                    section = t[1..t.len() - 1].to_string();
                    continue;
                }
                (i + 1, t.to_string())
            }
        };
        if logical.ends_with('\\') {
            // The backslash becomes a space and the next line is appended.
            logical.pop();
            logical.push(' ');
            pending = Some((start, logical));
            continue;
        }
        if let Some((k, v)) = logical.split_once('=') {
            out.push(UnitLine {
                line: start,
                section: section.clone(),
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            });
        }
    }
    if let Some((start, logical)) = pending {
        if let Some((k, v)) = logical.split_once('=') {
            out.push(UnitLine {
                line: start,
                section,
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            });
        }
    }
    out
}

/// The targets a unit's `[Install]` section enables it into (`WantedBy=`, `RequiredBy=`;
/// an empty value resets the list), as `systemctl enable` and presets read it.
pub fn install_targets(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in unit_lines(text) {
        if l.section != "Install" || !(l.key == "WantedBy" || l.key == "RequiredBy") {
            continue;
        }
        if l.value.is_empty() {
            out.clear();
        }
        out.extend(l.value.split_whitespace().map(str::to_string));
    }
    out
}

/// Split a unit's command line into words as systemd does: whitespace separates, double and
/// single quotes group, a backslash escapes the next character. The special prefixes
/// (`-`, `@`, `:`, `+`, `!`) before the program are removed; with `@` the second word is only
/// the program's argv\[0\] and is dropped.
pub fn split_command(value: &str) -> Vec<String> {
    let trimmed = value
        .trim_start()
        .trim_start_matches(['-', '@', ':', '+', '!']);
    let at = value.trim_start()[..value.trim_start().len() - trimmed.len()].contains('@');
    let mut words = split_words(trimmed);
    if at && words.len() > 1 {
        words.remove(1);
    }
    words
}

/// Split words as systemd does (see [`split_command`]), without prefix handling.
fn split_words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// How a command that names a module treats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleAction {
    /// Loads it through kmod's modprobe: `blacklist` says whether blacklist lines (and
    /// `modprobe.blacklist=`) apply (`-b`), `install` whether `install` commands do (not with `-i`).
    Modprobe {
        /// `-b` / `--use-blacklist`.
        blacklist: bool,
        /// Without `-i` / `--ignore-install`.
        install: bool,
    },
    /// Inserts a module file directly (`insmod FILE`): no modprobe.d rule applies.
    Insmod,
    /// Removes it (`modprobe -r`, `rmmod`).
    Remove,
}

/// The program's base name (`/usr/sbin/modprobe` → `modprobe`).
fn program_name(argv0: &str) -> &str {
    argv0.rsplit('/').next().unwrap_or(argv0)
}

/// modprobe options that take a value (short and long forms).
const MODPROBE_VALUE_SHORT: &[char] = &['C', 'd', 'S'];
const MODPROBE_VALUE_LONG: &[&str] = &["--config", "--dirname", "--set-version"];
/// modprobe options with which nothing is inserted.
const MODPROBE_NO_LOAD_SHORT: &[char] = &['n', 'D', 'c', 'R'];
const MODPROBE_NO_LOAD_LONG: &[&str] = &[
    "--dry-run",
    "--show",
    "--show-depends",
    "--showconfig",
    "--show-config",
    "--resolve-alias",
    "--show-modversions",
    "--dump-modversions",
    "--show-exports",
];

/// The simple commands a unit's command line runs: the line itself, or, for a shell run with
/// `-c SCRIPT` (`sh`, `bash`, `dash`, any path), each command of the script (split at `;`, `&&`,
/// `||`, `|`, `&` and newlines; no loops or substitutions are followed).
pub fn simple_commands(argv: &[String]) -> Vec<Vec<String>> {
    let shell = argv
        .first()
        .is_some_and(|p| matches!(program_name(p), "sh" | "bash" | "dash"));
    let script = argv
        .iter()
        .position(|a| a == "-c" || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('c')))
        .and_then(|i| argv.get(i + 1));
    match (shell, script) {
        (true, Some(script)) => script
            .split(['\n', ';', '&', '|'])
            .map(split_words)
            .map(|words| {
                // `exec modprobe …`, `command modprobe …`
                let skip = words
                    .iter()
                    .take_while(|w| matches!(w.as_str(), "exec" | "command" | "sudo"))
                    .count();
                words[skip..].to_vec()
            })
            .filter(|w| !w.is_empty())
            .collect(),
        _ => vec![argv.to_vec()],
    }
}

/// What a command line does to modules: the action and the module names it acts on (as given),
/// or `None` when it is not `modprobe`, `insmod` or `rmmod` inserting or removing something.
/// `modprobe NAME [PARAMS]`, `modprobe -a NAME...`, `modprobe -r NAME...`, any path to the
/// program, grouped short options (`-ab`), `--` ending options.
pub fn module_command(argv: &[String]) -> Option<(ModuleAction, Vec<String>)> {
    let (program, args) = argv.split_first()?;
    match program_name(program) {
        "modprobe" => {
            // GNU getopt permutes: options count wherever they stand, until `--`.
            let (mut all, mut blacklist, mut install, mut remove) = (false, false, true, false);
            let mut positional = Vec::new();
            let mut it = args.iter();
            let mut options = true;
            while let Some(a) = it.next() {
                if options && a == "--" {
                    options = false;
                } else if options && a.starts_with("--") {
                    let key = a.split_once('=').map_or(a.as_str(), |(k, _)| k);
                    match key {
                        "--all" => all = true,
                        "--use-blacklist" => blacklist = true,
                        "--ignore-install" => install = false,
                        "--remove" => remove = true,
                        k if MODPROBE_NO_LOAD_LONG.contains(&k) => return None,
                        k if MODPROBE_VALUE_LONG.contains(&k) && !a.contains('=') => {
                            it.next();
                        }
                        _ => {}
                    }
                } else if options && a.len() > 1 && a.starts_with('-') {
                    for (i, c) in a.char_indices().skip(1) {
                        match c {
                            'a' => all = true,
                            'b' => blacklist = true,
                            'i' => install = false,
                            'r' => remove = true,
                            c if MODPROBE_NO_LOAD_SHORT.contains(&c) => return None,
                            c if MODPROBE_VALUE_SHORT.contains(&c) => {
                                if i + 1 == a.len() {
                                    it.next();
                                }
                                break;
                            }
                            _ => {}
                        }
                    }
                } else {
                    positional.push(a.clone());
                }
            }
            if !(all || remove) {
                // `modprobe NAME [PARAM=VALUE...]`: the rest are module parameters.
                positional.truncate(1);
            }
            let action = if remove {
                ModuleAction::Remove
            } else {
                ModuleAction::Modprobe { blacklist, install }
            };
            Some((action, positional))
        }
        "insmod" => {
            let file = args.iter().find(|a| !a.starts_with('-'))?;
            let base = program_name(file);
            let name = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
                .iter()
                .find_map(|s| base.strip_suffix(s))
                .unwrap_or(base);
            Some((ModuleAction::Insmod, vec![name.to_string()]))
        }
        "rmmod" => Some((
            ModuleAction::Remove,
            args.iter()
                .filter(|a| !a.starts_with('-'))
                .cloned()
                .collect(),
        )),
        _ => None,
    }
}

/// What keeps a module from loading, by the loaders it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// A modprobe.d `blacklist` line or `modprobe.blacklist=`: stops systemd-modules-load
    /// (modules-load.d, `modules-load=`) and `modprobe -b`; an explicit `modprobe NAME` and
    /// `insmod` ignore it.
    Blacklist,
    /// A modprobe.d `install` command that does not insert the module: stops every kmod load
    /// (systemd-modules-load, modprobe) except `modprobe -i` and `insmod`.
    Install,
    /// The kernel refuses it (`module_blacklist=`), no kernel carries it, or a boot unit removes
    /// it: nothing loads it.
    Kernel,
}

/// How a module gets loaded at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loader {
    /// systemd-modules-load (modules-load.d lists, `modules-load=`): kmod with
    /// KMOD_PROBE_APPLY_BLACKLIST, install commands run.
    ModulesLoad,
    /// A unit's command ([`ModuleAction::Modprobe`] or [`ModuleAction::Insmod`]).
    Unit(ModuleAction),
}

impl Loader {
    /// Whether a block of this kind keeps this loader from loading the module.
    pub fn stopped_by(self, block: BlockKind) -> bool {
        match (block, self) {
            (BlockKind::Kernel, _) => true,
            (_, Loader::ModulesLoad) => true,
            (BlockKind::Blacklist, Loader::Unit(ModuleAction::Modprobe { blacklist, .. })) => {
                blacklist
            }
            (BlockKind::Install, Loader::Unit(ModuleAction::Modprobe { install, .. })) => install,
            (_, Loader::Unit(_)) => false,
        }
    }
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

    fn cmd(line: &str) -> Option<(ModuleAction, Vec<String>)> {
        module_command(&split_command(line))
    }

    #[test]
    fn module_commands() {
        let load = ModuleAction::Modprobe {
            blacklist: false,
            install: true,
        };
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            cmd("/usr/sbin/modprobe sctp"),
            Some((load, names(&["sctp"])))
        );
        assert_eq!(
            cmd("-/sbin/modprobe sctp foo=1 bar"),
            Some((load, names(&["sctp"])))
        );
        assert_eq!(
            cmd("modprobe -a sctp dummy"),
            Some((load, names(&["sctp", "dummy"])))
        );
        assert_eq!(
            cmd("modprobe -qb sctp"),
            Some((
                ModuleAction::Modprobe {
                    blacklist: true,
                    install: true
                },
                names(&["sctp"])
            ))
        );
        assert_eq!(
            cmd("modprobe --use-blacklist --ignore-install sctp"),
            Some((
                ModuleAction::Modprobe {
                    blacklist: true,
                    install: false
                },
                names(&["sctp"])
            ))
        );
        assert_eq!(
            cmd("modprobe -C /etc/x.conf -S 6.1.0 sctp"),
            Some((load, names(&["sctp"])))
        );
        assert_eq!(
            cmd("modprobe sctp -r"),
            Some((ModuleAction::Remove, names(&["sctp"])))
        );
        assert_eq!(
            cmd("rmmod -f sctp"),
            Some((ModuleAction::Remove, names(&["sctp"])))
        );
        assert_eq!(
            cmd("insmod /lib/modules/6.1.0/kernel/net/sctp/sctp.ko.xz"),
            Some((ModuleAction::Insmod, names(&["sctp"])))
        );
        assert_eq!(cmd("modprobe -n sctp"), None);
        assert_eq!(
            cmd("@/usr/sbin/modprobe modprobe sctp"),
            Some((load, names(&["sctp"])))
        );
        assert_eq!(cmd("modprobe --show-depends sctp"), None);
        assert_eq!(cmd("/bin/sh -c 'modprobe sctp'"), None);
        let shell = |line: &str| {
            simple_commands(&split_command(line))
                .iter()
                .filter_map(|c| module_command(c))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            shell("/bin/bash -c 'exec /usr/sbin/modprobe sctp && echo ok'"),
            vec![(load, names(&["sctp"]))]
        );
        assert_eq!(
            shell("/bin/sh -ec \"modprobe -r sctp; rmmod dummy\""),
            vec![
                (ModuleAction::Remove, names(&["sctp"])),
                (ModuleAction::Remove, names(&["dummy"]))
            ]
        );
        assert!(shell("/usr/bin/env true").is_empty());
        assert_eq!(
            cmd("\"/usr/sbin/modprobe\" -- -weird"),
            Some((load, names(&["-weird"])))
        );
        assert!(Loader::ModulesLoad.stopped_by(BlockKind::Blacklist));
        assert!(!Loader::Unit(load).stopped_by(BlockKind::Blacklist));
        assert!(Loader::Unit(load).stopped_by(BlockKind::Install));
        assert!(!Loader::Unit(ModuleAction::Insmod).stopped_by(BlockKind::Install));
        assert!(Loader::Unit(ModuleAction::Insmod).stopped_by(BlockKind::Kernel));
    }

    #[test]
    fn unit_files() {
        let text = "[Unit]\nDescription=x\n# ExecStart=/bin/false\n[Service]\nExecStart=/usr/sbin/modprobe \\\n  sctp\n; note\nExecStartPost=\n[Install]\nWantedBy=multi-user.target\nWantedBy=\nWantedBy=basic.target default.target\n";
        let lines = unit_lines(text);
        assert_eq!(lines[1].key, "ExecStart");
        assert_eq!(
            split_command(&lines[1].value),
            ["/usr/sbin/modprobe", "sctp"]
        );
        assert_eq!(lines[1].line, 5);
        assert_eq!(lines[2].value, "");
        assert_eq!(install_targets(text), ["basic.target", "default.target"]);
        assert_eq!(
            unit_path("/etc/systemd/system/multi-user.target.wants/a.service"),
            Some(UnitPath::Wants {
                target: "multi-user.target",
                name: "a.service"
            })
        );
        assert_eq!(
            unit_path("/usr/etc/systemd/system/a.service"),
            Some(UnitPath::File {
                rank: 0,
                name: "a.service"
            })
        );
        assert_eq!(
            unit_path("/usr/lib/systemd/system/a.service.d/10-x.conf"),
            Some(UnitPath::Dropin {
                rank: 3,
                unit: "a.service",
                name: "10-x.conf"
            })
        );
        assert_eq!(unit_path("/etc/systemd/system/a.timer"), None);
        assert_eq!(unit_path("/etc/systemd/system/a.service.d/x.txt"), None);
        assert_eq!(unit_path("/etc/systemd/system.conf"), None);
        assert!(is_preset_path(
            "/usr/lib/systemd/system-preset/90-default.preset"
        ));
        assert!(is_preset_path("/usr/etc/machine-id"));
        assert!(!is_preset_path("/usr/lib/systemd/system-preset/x.conf"));
        assert!(first_boot(None) && first_boot(Some(b"uninitialized\n")));
        assert!(!first_boot(Some(b"")) && !first_boot(Some(b"6c64990ad09e4798bfa6fb84b288fcd1\n")));
        assert!(glob_match("*", "a.service") && glob_match("load-*.service", "load-sctp.service"));
        assert!(
            glob_match("getty@.service", "getty@.service")
                && !glob_match("a?.service", "a.service")
        );
        assert!(
            glob_match("[ab].service", "b.service") && !glob_match("[ab].service", "c.service")
        );
        let files = vec![
            (
                "/etc/systemd/system-preset/10-x.preset".to_string(),
                "# c\nenable load-*.service\n".to_string(),
            ),
            (
                "/usr/lib/systemd/system-preset/99-default.preset".to_string(),
                "disable *\n".to_string(),
            ),
        ];
        assert_eq!(
            preset_for(&files, "load-sctp.service"),
            Some((true, "/etc/systemd/system-preset/10-x.preset:2".into()))
        );
        assert_eq!(
            preset_for(&files, "other.service").map(|p| p.0),
            Some(false)
        );
    }
}
