//! `modlayer apply`: open each target, apply the layer through the trait, print what changed.

use anyhow::{bail, Result};

use crate::cli::args::ApplyArgs;
use crate::cli::render::write_checksums;
use crate::cli::Output;
use crate::fsutil::stdout_write;
use crate::layer::Layer;
use crate::targets::{self, Applied, ApplyOpts, Dest, Kind};

/// `modlayer apply`: one bad target changes nothing of itself and is reported; the others still
/// go through; the exit status is the worst.
pub(super) fn run(args: ApplyArgs, out: &Output) -> Result<i32> {
    let layer = args.layer.layer()?;
    if args.output.is_some() && args.targets.len() > 1 {
        bail!("-o takes one target");
    }
    let opts = ApplyOpts {
        dest: match (&args.output, args.in_place) {
            (Some(o), _) => Dest::File(o.clone()),
            (None, true) => Dest::InPlace,
            (None, false) => Dest::Stdout,
        },
        several: args.targets.len() > 1,
        dry_run: args.dry_run,
        roles: args.roles.clone(),
        platform: args.platform.clone(),
        tag: args.tag.clone(),
        release: args.openshift_version,
        patch_pointers: args.patch_pointers,
        files_dir: args.files_dir.clone(),
    };
    let mut status = 0;
    let mut written = Vec::new();
    for t in &args.targets {
        let done = layer_for(&args, t, &layer)
            .and_then(|layer| targets::apply(t, args.kind, &layer, &opts));
        match done.and_then(|a| report(t, &a, &opts, out).map(|_| a)) {
            Ok(a) => written.extend(a.written),
            Err(e) => {
                crate::fsutil::stderr_line(&format!("modlayer: error: {e:#}"));
                status = 2;
            }
        }
    }
    if !args.dry_run {
        write_checksums(&args.checksums, &written)?;
    }
    Ok(status)
}

/// The layer for one target. A tree, archive or image is its own base: with `--module` (and no
/// `--base`) the layer empties the file in which that target blacklists the module; and a module
/// that none of its installed kernels carries is refused, with the kernels named.
fn layer_for(args: &ApplyArgs, target: &str, layer: &Layer) -> Result<Layer> {
    let kind = args.kind.or_else(|| targets::detect(target));
    if !matches!(kind, Some(Kind::Tree | Kind::Tar | Kind::Oci)) {
        return Ok(layer.clone());
    }
    let views = targets::image_views(target, kind, &layer.module, args.platform.as_deref())?;
    for own in &views {
        let Some(kernels) = own.kernels.as_ref().filter(|k| !k.is_empty()) else {
            continue;
        };
        if kernels.iter().all(|k| k.module.is_none()) {
            let list: Vec<&str> = kernels.iter().map(|k| k.version.as_str()).collect();
            bail!(
                "{target}: no installed kernel carries a {} module (kernels: {}); check the module name",
                layer.module,
                list.join(", ")
            );
        }
    }
    super::own_layer(&args.layer, target, &views, layer)
}

/// Print what an apply changed (or, in a dry run, would change).
fn report(target: &str, a: &Applied, opts: &ApplyOpts, out: &Output) -> Result<()> {
    let name = if target == "-" { "<stdin>" } else { target };
    for w in &a.warnings {
        out.warn(w);
    }
    if opts.dry_run {
        let mut s = String::new();
        if a.changes.is_empty() {
            s.push_str(&format!(
                "{name}: already has the layer; nothing to change\n"
            ));
        }
        for c in &a.changes {
            s.push_str(&format!("{name}: would {c}\n"));
        }
        if let Some(d) = &a.diff {
            s.push_str(d);
        }
        stdout_write(s.as_bytes())?;
    } else {
        for c in &a.changes {
            out.info(&format!("{name}: {c}"));
        }
    }
    for n in &a.notes {
        out.info(&format!("{name}: {n}"));
    }
    Ok(())
}
