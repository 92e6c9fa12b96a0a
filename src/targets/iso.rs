//! CoreOS live ISOs and agent ISOs: the Ignition config in the embed area (and what it carries),
//! read by position (the cost does not grow with the ISO), judged for the system it decides, and
//! patched in the area alone.
//!
//! Which system is judged: a live ISO whose config carries a destination config
//! (`coreos-installer iso customize --dest-ignition`: `/etc/coreos/dest.ign`, with installer
//! options in `/etc/coreos/installer.d/*.yaml`) decides the installed system: its config, plus
//! the installer's `append-karg`/`delete-karg`; `--live` judges the live system instead (its
//! config and the live kernel arguments of `coreos/kargs.json`). An agent ISO
//! (`openshift-install agent create image`) carries the cluster's manifests under
//! `/etc/assisted/`: its MachineConfigs are rendered per pool as at install time. A pristine
//! medium (an all-zero area) carries no config.

use std::io::Write as _;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::findings::{Code, Finding};
use crate::formats::json::MAX_CONFIG_BYTES;
use crate::ignition;
use crate::layer::{Layer, LayerFile};
use crate::mco::inventory::{first_document, Inventory, Manifest};
use crate::mco::release::Release;
use crate::media::area::{self, Area, Kargs};
use crate::media::cpio::{self, Archive, Compression};
use crate::media::iso9660::Iso;
use crate::media::Source;
use crate::node::{split_kernel_args, NodeView};
use crate::origin::Origin;
use crate::report::View;
use crate::targets::nest;
use crate::targets::{Applied, ApplyOpts, Dest, Kind, Target, VerifyOpts};

/// The member of an Ignition area (and a PXE Ignition image) holding the config.
pub const CONFIG_MEMBER: &str = "config.ign";
/// The destination config `iso customize --dest-ignition` embeds in the live config.
pub const DEST_IGN: &str = "/etc/coreos/dest.ign";
/// Where the installer reads its configuration files.
pub const INSTALLER_D: &str = "/etc/coreos/installer.d/";
/// The agent installer's cluster manifests (AgentClusterInstall, ClusterDeployment, …).
pub const AGENT_MANIFESTS: &str = "/etc/assisted/manifests/";
/// The agent installer's extra manifests (the install directory's `openshift/`).
pub const AGENT_EXTRA: &str = "/etc/assisted/extra-manifests/";

/// A live or agent ISO.
pub struct IsoTarget {
    given: String,
}

impl IsoTarget {
    /// The target as given.
    pub fn new(target: &str) -> IsoTarget {
        IsoTarget {
            given: target.to_string(),
        }
    }
}

/// What the embed areas of a medium hold.
pub struct Medium {
    /// The file, read by position.
    pub src: Source,
    /// The Ignition area.
    pub area: Area,
    /// Its bytes.
    pub area_bytes: Vec<u8>,
    /// Its archives (`None`: pristine).
    pub archives: Option<Vec<Archive>>,
    /// The live kernel arguments.
    pub kargs: Option<Kargs>,
}

impl Medium {
    /// Read a live ISO's areas (and nothing else of it).
    pub fn read(path: &str) -> Result<Medium> {
        let src = Source::open(path)?;
        let iso = Iso::open(&src)?;
        let area = area::ignition_area(&src, &iso)?;
        let kargs = area::kargs(&src, &iso)?;
        let area_bytes = src.read_at(area.offset, area.length, "the Ignition area")?;
        let shown = format!(
            "{path}: the Ignition area ({}, byte {})",
            area.found, area.offset
        );
        let archives = area::decode(&area_bytes, &shown)?;
        Ok(Medium {
            src,
            area,
            area_bytes,
            archives,
            kargs,
        })
    }

    /// The embedded config's bytes and the compression of the archive holding it.
    pub fn config(&self) -> Option<(&[u8], Compression)> {
        config_of(self.archives.as_deref()?)
    }
}

/// The config member of a stream's archives (the last one wins) and its archive's compression.
pub fn config_of(archives: &[Archive]) -> Option<(&[u8], Compression)> {
    archives.iter().rev().find_map(|a| {
        a.members
            .iter()
            .rev()
            .find(|m| m.name == CONFIG_MEMBER)
            .map(|m| (m.data.as_slice(), a.compression))
    })
}

/// The finding for a medium without a config.
pub fn no_config(chain: &Origin, why: &str) -> Finding {
    Finding::new(
        Code::NoConfigEmbedded,
        format!("{chain}: {why}: nodes boot the image as shipped"),
    )
}

/// The files an Ignition config writes under a directory, named by chain.
fn files_under(chain: &Origin, config: &Value, dir: &str) -> Result<(Vec<Manifest>, Vec<Finding>)> {
    nest::ignition_files(chain, config, |p| p.starts_with(dir))
}

/// The installer's options from `/etc/coreos/installer.d/*.yaml` (in name order, lists added
/// up): kernel arguments appended and deleted, the destination config file or URL.
#[derive(Debug, Default)]
pub struct InstallerOpts {
    /// `append-karg`, each with the file it came from.
    pub append: Vec<(String, Origin)>,
    /// `delete-karg`.
    pub delete: Vec<String>,
    /// `ignition-file`.
    pub ignition_file: Option<String>,
    /// `ignition-url`.
    pub ignition_url: Option<String>,
    /// Whether any installer config is there (the installer runs).
    pub present: bool,
}

fn installer_opts(chain: &Origin, config: &Value) -> Result<InstallerOpts> {
    let (files, _) = files_under(chain, config, INSTALLER_D)?;
    let mut o = InstallerOpts::default();
    for m in files {
        let name = m.name();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        o.present = true;
        let text = String::from_utf8_lossy(&m.bytes).into_owned();
        let doc = first_document(&name, &text).unwrap_or(Value::Null);
        let list = |k: &str| -> Vec<String> {
            match doc.get(k) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        for a in list("append-karg") {
            o.append.push((a, m.origin.clone()));
        }
        o.delete.extend(list("delete-karg"));
        if let Some(f) = doc.get("ignition-file").and_then(Value::as_str) {
            o.ignition_file = Some(f.to_string());
        }
        if let Some(u) = doc.get("ignition-url").and_then(Value::as_str) {
            o.ignition_url = Some(u.to_string());
        }
    }
    Ok(o)
}

/// Whether a config is an agent ISO's (it carries `/etc/assisted/` manifests).
fn is_agent(config: &Value) -> bool {
    config
        .pointer("/storage/files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("path").and_then(Value::as_str))
        .any(|p| p.starts_with(AGENT_MANIFESTS) || p.starts_with(AGENT_EXTRA))
}

/// Lay the installer's kernel arguments over a view.
fn installer_kargs(node: &mut NodeView, o: &InstallerOpts) {
    for (a, from) in &o.append {
        for arg in split_kernel_args(a) {
            node.kernel_args
                .push((arg, from.clone().with_words("append-karg")));
        }
    }
    for d in &o.delete {
        node.kernel_args.retain(|(a, _)| a != d);
    }
}

/// Judge a config the medium holds (live or installed) as an Ignition target of its own, laid
/// over `node` (the base with the kernel arguments the medium gives).
fn config_view(
    chain: &Origin,
    bytes: &[u8],
    node: NodeView,
    findings: Vec<Finding>,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    let mut views = nest::inner_views(chain, bytes, Kind::Ignition, layer, node, opts)?;
    for v in &mut views {
        v.findings.splice(0..0, findings.iter().cloned());
    }
    Ok(views)
}

/// The views of a medium's config: live (with its kernel arguments), installed (dest config and
/// installer kargs) or agent (pools). `live_kargs` are the medium's own (ISO) kernel arguments.
pub fn config_views(
    root: &Origin,
    config: Option<&[u8]>,
    live_kargs: Option<(&str, Origin)>,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    let ign = root.inner("ignition");
    let mut node = opts.base_for(layer);
    let Some(bytes) = config else {
        let f = no_config(
            root,
            "no Ignition config is embedded (the area is all zeros, or no archive holds config.ign)",
        );
        return Ok(vec![View::whole(node, vec![f])]);
    };
    let name = ign.to_string();
    let (value, _, _) = crate::targets::ignition::read_ignition(&name, bytes)?;
    if is_agent(&value) {
        return agent_views(&ign, &value, layer, opts);
    }
    let mut findings = Vec::new();
    let inst = installer_opts(&ign, &value)?;
    let dest = match &inst.ignition_file {
        Some(f) => nest::ignition_file(&ign, &value, f)?.map(|b| (f.clone(), b)),
        None => nest::ignition_file(&ign, &value, DEST_IGN)?.map(|b| (DEST_IGN.to_string(), b)),
    };
    if opts.live || !inst.present {
        if let Some((args, origin)) = live_kargs {
            for a in split_kernel_args(args) {
                node.kernel_args.push((a, origin.clone()));
            }
        }
        return config_view(&ign, bytes, node, findings, layer, opts);
    }
    installer_kargs(&mut node, &inst);
    match (dest, &inst.ignition_url) {
        (Some((path, d)), _) => {
            return config_view(&ign.inner(path), &d, node, findings, layer, opts)
        }
        (None, Some(url)) => findings.push(Finding::new(
            Code::RemoteConfig,
            format!("{ign}: the installer fetches the installed system's config from {url}: it cannot be seen offline (judged without it)"),
        )),
        (None, None) => findings.push(no_config(
            &ign,
            "the installer runs but is given no config for the installed system (no ignition-file, no ignition-url)",
        )),
    }
    Ok(vec![View::whole(node, findings)])
}

/// An agent ISO: the MachineConfigs of the extra manifests, rendered per pool; SNO and compact
/// clusters (no worker agents) judge the master pool by default.
fn agent_views(
    ign: &Origin,
    config: &Value,
    layer: &Layer,
    opts: &VerifyOpts,
) -> Result<Vec<View>> {
    // The one inventory judges master only when the AgentClusterInstall says there are no
    // workers (single-node or compact), as for an install directory.
    agent_inventory(ign, config)?
        .views(layer, &opts.base_for(layer), &opts.pools, opts.release)
        .map_err(|e| anyhow::anyhow!("{ign}: {e}"))
}

/// The agent manifests read by the one inventory: the extra manifests' MachineConfigs, and the
/// cluster manifests for the topology (the AgentClusterInstall's `provisionRequirements`).
fn agent_inventory(ign: &Origin, config: &Value) -> Result<Inventory> {
    let (cluster, mut findings) = files_under(ign, config, AGENT_MANIFESTS)?;
    let (mut manifests, f2) = files_under(ign, config, AGENT_EXTRA)?;
    findings.extend(f2);
    manifests.extend(cluster);
    let mut inv = Inventory::read(&manifests);
    inv.findings.extend(findings);
    Ok(inv)
}

/// What applying a layer to a medium's config gives.
#[derive(Clone, Debug, Default)]
pub struct Patched {
    /// The new config bytes (`None`: unchanged).
    pub config: Option<Vec<u8>>,
    /// What changed.
    pub changes: Vec<String>,
    /// Things worth a look.
    pub warnings: Vec<String>,
}

/// Apply a layer to a medium's config (`None`: there is none yet).
pub fn patch_config(
    root: &Origin,
    config: Option<&[u8]>,
    layer: &Layer,
    opts: &ApplyOpts,
) -> Result<Patched> {
    let ign = root.inner("ignition");
    let name = ign.to_string();
    let Some(bytes) = config else {
        let spec = opts
            .release
            .map(Release::newest_spec)
            .unwrap_or(ignition::DEFAULT_SPEC);
        let mut text = serde_json::to_vec_pretty(&ignition::layer_config(layer, spec))?;
        text.push(b'\n');
        return Ok(Patched {
            config: Some(text),
            changes: vec![format!("embed a new config holding layer {}", layer.name)],
            warnings: Vec::new(),
        });
    };
    let (value, _, _) = crate::targets::ignition::read_ignition(&name, bytes)?;
    let (inner, what): (Layer, String) = if is_agent(&value) {
        let inv = agent_inventory(&ign, &value)?;
        let roles: Vec<String> = if !opts.roles.is_empty() {
            opts.roles.clone()
        } else if inv.topology().is_some_and(|t| !t.workers) {
            vec!["master".into()]
        } else {
            inv.default_roles().0
        };
        let spec = opts
            .release
            .map(Release::newest_spec)
            .unwrap_or(ignition::DEFAULT_SPEC);
        let files = nest::layer_manifests(&ign, &value, AGENT_EXTRA, layer, &roles, spec, opts)?;
        (
            Layer {
                name: format!("{}-machineconfigs", layer.name),
                module: layer.module.clone(),
                description: format!("MachineConfigs of layer {}", layer.name),
                files,
            },
            format!("the agent extra manifests (roles {})", roles.join(", ")),
        )
    } else {
        let inst = installer_opts(&ign, &value)?;
        let dest_path = inst.ignition_file.clone().unwrap_or(DEST_IGN.to_string());
        match nest::ignition_file(&ign, &value, &dest_path)? {
            Some(d) if inst.present => {
                // The installed system's config is a target of its own, inside the live one.
                let dchain = ign.inner(&dest_path);
                let nest::InnerApplied {
                    bytes: new_dest,
                    changes,
                    warnings,
                } = nest::apply_inner(&dchain, &d, Kind::Ignition, layer, opts)?;
                let Some(nd) = new_dest else {
                    return Ok(Patched {
                        warnings,
                        ..Patched::default()
                    });
                };
                let mut blocks = Vec::new();
                for (a, from) in &inst.append {
                    if crate::node::kernel_arg_blocks(a, &layer.module) {
                        blocks.push(format!("{from}: append-karg {a} blocks {} on the installed system: remove it (coreos-installer iso customize --dest-karg-delete)", layer.module));
                    }
                }
                let mut w = warnings;
                w.extend(blocks);
                // The installed system's config goes back into the live one, as the installer
                // reads it (0600).
                let dest = LayerFile {
                    path: dest_path.clone(),
                    mode: 0o600,
                    bytes: nd,
                };
                let (nb, _, w2) = nest::put_ignition_files(&ign, bytes, &layer.module, vec![dest])?;
                w.extend(w2);
                return Ok(Patched {
                    config: Some(nb),
                    changes,
                    warnings: w,
                });
            }
            _ => (layer.clone(), "the live config".into()),
        }
    };
    let applied = nest::apply_inner(&ign, bytes, Kind::Ignition, &inner, opts)?;
    let warnings = applied.warnings;
    let Some(nb) = applied.bytes else {
        return Ok(Patched {
            warnings,
            ..Patched::default()
        });
    };
    let changes = applied
        .changes
        .into_iter()
        .map(|c| format!("{c} ({what})"))
        .collect();
    Ok(Patched {
        config: Some(nb),
        changes,
        warnings,
    })
}

/// A new archive stream holding the members of `archives` with the config replaced (or added),
/// compressed as the tool that made it did (`compression`; xz with CRC32 for a pristine area).
pub fn reencode(
    archives: Option<&[Archive]>,
    config: Vec<u8>,
    compression: Compression,
) -> Result<Vec<u8>> {
    let others: Vec<(String, u32, Vec<u8>)> = archives
        .map(cpio::merged)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.name != CONFIG_MEMBER)
        .map(|m| (m.name.clone(), m.mode & 0o7777, m.data.clone()))
        .collect();
    match compression {
        // The assisted image editor's layout: config.ign (0644) first, no directories, gzip,
        // zero padding to a multiple of 4 bytes.
        Compression::Gzip => {
            let mut files = vec![(CONFIG_MEMBER.to_string(), 0o644, config)];
            files.extend(others);
            let mut out = cpio::gzip(&cpio::write_newc_flat(&files))?;
            out.resize(out.len().div_ceil(4) * 4, 0);
            Ok(out)
        }
        // coreos-installer's: parent directories first, config.ign 0600, xz with CRC32.
        _ => {
            let mut files = others;
            files.push((CONFIG_MEMBER.to_string(), 0o600, config));
            let newc = cpio::write_newc(&files);
            if compression == Compression::None {
                Ok(newc)
            } else {
                cpio::xz_crc32(&newc)
            }
        }
    }
}

/// A medium whose config is up to date: with `-o OUT`, OUT is still written (a copy), as for every
/// file target; in place or in a dry run, nothing is.
pub fn unchanged_to(src: &Source, opts: &ApplyOpts, applied: &mut Applied) -> Result<()> {
    if let Dest::File(o) = &opts.dest {
        if !opts.dry_run {
            write_patched(src, o, &[], None)?;
            applied.written.push(o.clone());
        }
    }
    Ok(())
}

/// Write a copy of `input` with `patches` (offset, bytes) laid over it to `out` atomically: a new
/// file beside `out` (cloned with FICLONE where the file system can, else copied in the kernel),
/// patched, synced when it replaces a file, then renamed into place; a killed run leaves the old
/// file or the new one.
pub fn write_patched(
    input: &Source,
    out: &Path,
    patches: &[(u64, &[u8])],
    new_len: Option<u64>,
) -> Result<()> {
    let shown = out.display().to_string();
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(fname) = out.file_name() else {
        bail!("{shown}: not a file name");
    };
    let existing = std::fs::symlink_metadata(out).ok();
    if let Some(m) = &existing {
        if m.file_type().is_symlink() || !m.is_file() {
            bail!("{shown}: not a regular file; refused");
        }
    }
    // Replacing a file (in place, or `-o` over one) syncs the new one before the rename, so that
    // the old one is never lost; a new output file is not synced, as `cp` and coreos-installer's
    // own `-o` leave it (its input is untouched, and a killed run still leaves no partial file).
    let durable = existing.is_some();
    let dir_fd = rustix::fs::open(
        &dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| anyhow::anyhow!("{shown}: cannot open the directory {}: {e}", dir.display()))?;
    crate::fsutil::clean_stale(&dir_fd);
    let mut staged = crate::fsutil::Staged::new(&dir_fd)
        .map_err(|e| anyhow::anyhow!("{shown}: cannot create a file beside it: {e}"))?;
    let result = (|| -> Result<()> {
        let f = &mut staged.file;
        if rustix::fs::ioctl_ficlone(&*f, input.file()).is_err() {
            copy_all(input, f).with_context(|| format!("{shown}: cannot copy {}", input.name))?;
        }
        for (at, bytes) in patches {
            f.write_all_at(bytes, *at)
                .with_context(|| format!("{shown}: cannot write at byte {at}"))?;
        }
        if let Some(n) = new_len {
            f.set_len(n)
                .with_context(|| format!("{shown}: cannot set the length"))?;
        }
        f.flush()?;
        let mode = std::fs::metadata(&input.name)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o7777
            })
            .unwrap_or(0o644);
        rustix::fs::fchmod(&*f, rustix::fs::Mode::from_raw_mode(mode))
            .map_err(|e| anyhow::anyhow!("{shown}: cannot set the mode: {e}"))?;
        if durable {
            f.sync_all()
                .with_context(|| format!("{shown}: cannot sync"))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        staged.discard(&dir_fd);
        return Err(e);
    }
    staged
        .commit(&dir_fd, fname, true)
        .map_err(|e| anyhow::anyhow!("{shown}: cannot put in place: {e}"))?;
    if durable {
        let _ = rustix::fs::fsync(&dir_fd);
    }
    Ok(())
}

/// Copy the whole of `input` to the start of `out` by offset (the input's file position is not
/// used): `copy_file_range` (in-kernel, sharing extents where the file system can), else reads
/// and writes in 1 MiB chunks.
fn copy_all(input: &Source, out: &std::fs::File) -> Result<()> {
    let mut off_in: u64 = 0;
    let mut off_out: u64 = 0;
    while off_in < input.len {
        let want = (input.len - off_in).min(1 << 30) as usize;
        match rustix::fs::copy_file_range(
            input.file(),
            Some(&mut off_in),
            out,
            Some(&mut off_out),
            want,
        ) {
            Ok(0) => bail!("copied {off_in} of {} bytes", input.len),
            Ok(_) => {}
            Err(_) if off_in == 0 => break,
            Err(e) => bail!("{e}"),
        }
    }
    let mut buf = vec![0u8; 1 << 20];
    while off_in < input.len {
        let n = buf.len().min((input.len - off_in) as usize);
        input.file().read_exact_at(&mut buf[..n], off_in)?;
        out.write_all_at(&buf[..n], off_in)?;
        off_in += n as u64;
    }
    Ok(())
}

impl Target for IsoTarget {
    fn kind(&self) -> Kind {
        Kind::Iso
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        let given = &self.given;
        let out = match &opts.dest {
            Dest::File(o) => o.clone(),
            Dest::InPlace => PathBuf::from(given),
            Dest::Stdout if !opts.dry_run => bail!(
                "{given}: an ISO is written with -o OUT (a new medium) or --in-place, not to standard output"
            ),
            _ => PathBuf::from(given),
        };
        let m = Medium::read(given)?;
        let root = Origin::file(given.as_str());
        let config = m.config();
        let Patched {
            config: new,
            changes,
            warnings,
        } = patch_config(&root, config.map(|c| c.0), layer, opts)?;
        let mut applied = Applied {
            changes,
            warnings,
            ..Applied::default()
        };
        let Some(new) = new else {
            applied
                .notes
                .push(format!("{given}: the embedded config is up to date"));
            unchanged_to(&m.src, opts, &mut applied)?;
            return Ok(applied);
        };
        if new.len() as u64 > MAX_CONFIG_BYTES {
            bail!("{given}: the new config is more than {MAX_CONFIG_BYTES} bytes");
        }
        let compression = config.map(|c| c.1).unwrap_or(Compression::Xz);
        let stream = reencode(m.archives.as_deref(), new, compression)?;
        let shown = format!("{given}: the Ignition area ({})", m.area.found);
        let bytes = area::fill(&m.area, stream, &shown)?;
        applied.notes.push(format!(
            "{given}: Ignition area at byte {} ({} bytes, {}), re-encoded as {compression} cpio",
            m.area.offset, m.area.length, m.area.found
        ));
        if opts.dry_run {
            return Ok(applied);
        }
        write_patched(&m.src, &out, &[(m.area.offset, &bytes)], None)?;
        applied.written.push(out);
        Ok(applied)
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        let m = Medium::read(&self.given)?;
        let root = Origin::file(self.given.as_str());
        let kargs = m
            .kargs
            .as_ref()
            .map(|k| (k.args.as_str(), root.inner("coreos/kargs.json")));
        config_views(&root, m.config().map(|c| c.0), kargs, layer, opts)
    }
}
