//! `modlayer verify`: open each target, take its views through the trait, judge each one and
//! print the reports.

use anyhow::Result;

use crate::cli::args::{Format, VerifyArgs};
use crate::cli::Output;
use crate::fsutil::stdout_write;
use crate::mco::inventory::PoolChoice;
use crate::report::{self, TargetReport};
use crate::targets::{self, Kind, VerifyOpts};

/// `modlayer verify`: exit 0 when every judged view is enabled (and, with `--strict`,
/// byte-identical), 1 when one is not, 2 when a target cannot be read.
pub(super) fn run(args: VerifyArgs, out: &Output) -> Result<i32> {
    let (layer, base) = args.layer.resolve(args.platform.as_deref())?;
    let opts = VerifyOpts {
        base: Some(base),
        pools: PoolChoice {
            roles: args.roles.clone(),
            all: args.all_pools,
        },
        platform: args.platform.clone(),
        release: args.openshift_version,
        files_dir: args.files_dir.clone(),
        live: args.live,
    };
    let mut reports: Vec<TargetReport> = Vec::new();
    let mut status = 0;
    for t in &args.targets {
        let kind = args.kind.or_else(|| targets::detect(t));
        if args.layer.base.is_some() && matches!(kind, Some(Kind::Tree | Kind::Tar | Kind::Oci)) {
            out.warn(&format!(
                "{t}: --base does not apply to a tree, archive or image: it is its own base"
            ));
        }
        let own = match (&args.layer.module, &args.layer.base, kind) {
            (Some(m), None, Some(k @ (Kind::Tree | Kind::Tar | Kind::Oci))) => {
                targets::image_views(t, Some(k), m, args.platform.as_deref())
                    .and_then(|views| super::own_layer(&args.layer, t, &views, &layer))
            }
            _ => Ok(layer.clone()),
        };
        match own.and_then(|layer| targets::verify(t, args.kind, &layer, &opts)) {
            Ok(rs) => {
                for r in &rs {
                    if !(r.enabled && (!args.strict || r.identical)) {
                        status = status.max(1);
                    }
                }
                reports.extend(rs);
            }
            Err(e) => {
                status = 2;
                let msg = format!("{e:#}");
                if args.format == Format::Text {
                    crate::fsutil::stderr_line(&format!("modlayer: error: {msg}"));
                }
                reports.push(TargetReport::failed(t, &layer, msg));
            }
        }
    }
    let text = match args.format {
        Format::Json => report::to_json(&reports),
        Format::Text if out.quiet => String::new(),
        Format::Text => report::to_text(&reports, out.verbose > 0),
    };
    stdout_write(text.as_bytes())?;
    Ok(status)
}
