//! `modlayer apply`: open each target, apply the layer through the trait, print what changed.

use anyhow::{bail, Result};

use crate::cli::args::ApplyArgs;
use crate::cli::render::write_checksums;
use crate::cli::Output;
use crate::fsutil::stdout_write;
use crate::targets::{self, Applied, ApplyOpts, Dest};

/// `modlayer apply`: one bad target changes nothing of itself and is reported; the others still
/// go through; the exit status is the worst.
pub(super) fn run(args: ApplyArgs, out: &Output) -> Result<i32> {
    let (wanted, _) = args.layer.wanted(args.platform.as_deref())?;
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
        day_n: args.day_n,
    };
    let mut status = 0;
    let mut written = Vec::new();
    // Each file is synced before its rename; each directory once, after all of its renames.
    let batch = crate::fsutil::Batch::start();
    let results = crate::pool::in_pool(&args.targets, WORKERS, |_, t| {
        targets::apply_wanted(t, args.kind, &wanted, &opts)
    });
    for (t, done) in args.targets.iter().zip(results) {
        match done.and_then(|a| report(t, &a, &opts, out).map(|_| a)) {
            Ok(a) => written.extend(a.written),
            Err(e) => {
                crate::fsutil::stderr_line(&format!("modlayer: error: {e:#}"));
                status = 2;
            }
        }
    }
    if let Err(e) = batch.finish() {
        crate::fsutil::stderr_line(&format!("modlayer: error: {e:#}"));
        status = 2;
    }
    if !args.dry_run {
        write_checksums(&args.checksums, &written)?;
    }
    Ok(status)
}

/// How many targets are applied at once: a thousand small configs are bound by the `fsync` each
/// makes before its rename, which a few threads overlap (the file system commits them together).
const WORKERS: usize = 8;

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
