//! `modlayer verify`: open each target, take its views through the trait, judge each one and
//! print the reports.

use anyhow::Result;

use crate::cli::args::{Format, VerifyArgs};
use crate::cli::Output;
use crate::fsutil::stdout_write;
use crate::mco::inventory::PoolChoice;
use crate::report::{self, TargetReport};
use crate::targets::{self, Start, VerifyOpts};

/// `modlayer verify`: exit 0 when every judged view is enabled (and, with `--strict`,
/// byte-identical), 1 when one is not, 2 when a target cannot be read.
pub(super) fn run(args: VerifyArgs, out: &Output) -> Result<i32> {
    let (wanted, base) = args.layer.wanted(args.platform.as_deref())?;
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
        let name = if t == "-" { "<stdin>" } else { t.as_str() };
        let judged = targets::open(t, args.kind).and_then(|target| {
            if args.layer.base.is_some() && target.start() == Start::Itself {
                out.warn(&format!(
                    "{t}: --base does not apply to a tree, archive or image: it is its own base"
                ));
            }
            targets::judge_wanted(target.as_ref(), name, &wanted, &opts)
        });
        match judged {
            Ok(rs) => {
                for r in &rs {
                    if !(r.enabled && (!args.strict || r.identical)) {
                        status = status.max(1);
                    }
                    // Judged, but part of the input is invalid (an unreadable manifest, a
                    // template, an object the API server refuses): exit 2 as `oc apply` fails.
                    if r.findings.iter().any(|f| f.code.input_invalid()) {
                        status = 2;
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
                let mut failed = TargetReport::failed(t, wanted.layer(), msg);
                // Where the input is bad, for reports that link to the place.
                let place = e.downcast_ref::<crate::origin::Placed>();
                for f in &mut failed.findings {
                    f.place = place.map(|p| p.origin.clone());
                }
                reports.push(failed);
            }
        }
    }
    let text = match args.format {
        Format::Json => report::to_json(&reports),
        Format::Junit => report::ci::to_junit(&reports, args.strict),
        Format::Sarif => report::ci::to_sarif(&reports),
        Format::Github => report::ci::to_github(&reports),
        Format::Text if out.quiet => String::new(),
        Format::Text => report::to_text(&reports, out.verbose > 0),
    };
    stdout_write(text.as_bytes())?;
    Ok(status)
}
