//! `modlayer render` and `modlayer layers`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::args::{RenderArgs, RenderWhat};
use crate::fsutil::{stdout_write, write_atomic};
use crate::ignition;
use crate::layer::Layer;
use crate::mco::release::Release;
use crate::mco::render::render_machineconfigs;

/// The roles given, or worker.
fn or_worker(roles: Vec<String>) -> Vec<String> {
    if roles.is_empty() {
        vec!["worker".to_string()]
    } else {
        roles
    }
}

/// `modlayer render`.
pub(super) fn run(args: RenderArgs) -> Result<()> {
    let layer = args.layer.layer()?;
    let text = match args.what {
        RenderWhat::Machineconfig {
            roles,
            name,
            version,
        } => {
            let spec = version.spec()?;
            render_machineconfigs(&layer, &or_worker(roles), name.as_deref(), spec)
        }
        RenderWhat::Ignition { version } => {
            let spec = version.spec()?;
            let mut s = serde_json::to_string_pretty(&ignition::layer_config(&layer, spec))?;
            s.push('\n');
            s
        }
        RenderWhat::Butane {
            variant,
            roles,
            openshift_version,
        } => {
            let release = openshift_version.unwrap_or(Release::four(13));
            let configs = crate::render::butane(&layer, variant, &or_worker(roles), release);
            return emit_butane(&args.output, &args.checksums, configs);
        }
        RenderWhat::SmokeTest {
            namespace,
            image,
            node_selector,
            port,
            network_policy,
        } => crate::render::smoke_test(&crate::render::SmokeTest {
            namespace,
            image,
            node_selector,
            port,
            network_policy,
        }),
        RenderWhat::Policy {
            selectors,
            roles,
            namespace,
            name,
            version,
        } => {
            let roles = if roles.is_empty() {
                vec!["master".to_string(), "worker".to_string()]
            } else {
                roles
            };
            let Some(dir) = &args.output else {
                anyhow::bail!("render policy writes a PolicyGenerator and its MachineConfig source CRs: give -o DIR");
            };
            let files = crate::targets::hub::render::policy(
                &layer,
                &crate::targets::hub::render::PolicyArgs {
                    name: &name,
                    namespace: &namespace,
                    selectors: &selectors,
                    roles: &roles,
                    spec: version.spec()?,
                },
                dir,
            )?;
            let mut written = Vec::new();
            for (path, bytes) in files {
                if let Some(d) = path.parent() {
                    std::fs::create_dir_all(d)
                        .with_context(|| format!("{}: cannot create", d.display()))?;
                }
                write_atomic(&path, &bytes)?;
                written.push(path);
            }
            return write_checksums(&args.checksums, &written);
        }
        RenderWhat::Tar => {
            return emit(
                &args.output,
                &args.checksums,
                &crate::tar::render_tar(&layer),
            );
        }
    };
    emit(&args.output, &args.checksums, text.as_bytes())
}

/// Write rendered bytes to a file (and its checksum list) or to standard output.
fn emit(output: &Option<PathBuf>, checksums: &Option<PathBuf>, bytes: &[u8]) -> Result<()> {
    match output {
        Some(o) => {
            write_atomic(o, bytes)?;
            write_checksums(checksums, std::slice::from_ref(o))
        }
        None => stdout_write(bytes),
    }
}

/// Write Butane configs: one to standard output or `-o FILE`; several (one per role) only as
/// files of their own in `-o DIR`, since Butane translates only the first document of a file.
fn emit_butane(
    output: &Option<PathBuf>,
    checksums: &Option<PathBuf>,
    configs: Vec<(String, String)>,
) -> Result<()> {
    if let [(_, text)] = configs.as_slice() {
        return emit(output, checksums, text.as_bytes());
    }
    let Some(dir) = output else {
        anyhow::bail!("render butane: {} roles give {} Butane configs, and Butane translates only the first YAML document of a file: give -o DIR to write one file per role", configs.len(), configs.len());
    };
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "{}: not a directory (several roles are written as one Butane file each in -o DIR)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in &configs {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    write_checksums(checksums, &written)
}

/// Write a `sha256sum -c` list (`<hex>  <path>`) of files written, read back from disk.
pub(super) fn write_checksums(list: &Option<PathBuf>, written: &[PathBuf]) -> Result<()> {
    let Some(list) = list else {
        return Ok(());
    };
    // Paths below the current directory are listed relative to it, so the list travels with them.
    let cwd = std::env::current_dir().ok();
    let mut text = String::new();
    for p in written {
        let bytes =
            std::fs::read(p).with_context(|| format!("{}: cannot read back", p.display()))?;
        let shown = cwd
            .as_deref()
            .and_then(|c| p.strip_prefix(c).ok())
            .unwrap_or(p);
        text.push_str(&format!(
            "{}  {}\n",
            crate::formats::encoding::sha256_hex(&bytes),
            shown.display()
        ));
    }
    write_atomic(list, text.as_bytes())
}

/// `modlayer layers`.
pub(super) fn layers() -> Result<()> {
    let mut s = String::new();
    for name in Layer::builtin_names() {
        let l = Layer::builtin(name)?;
        s.push_str(&format!(
            "{}\tmodule {}\t{}\n",
            l.name, l.module, l.description
        ));
        for f in &l.files {
            s.push_str(&format!(
                "\t{:04o}\t{}\t{} bytes\n",
                f.mode,
                f.path,
                f.bytes.len()
            ));
        }
    }
    stdout_write(s.as_bytes())
}
