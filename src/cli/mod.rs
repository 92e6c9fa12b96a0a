//! The command line: clap definitions (also the source of completions and the man page) and the
//! dispatch from each command to the library.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::fsutil::{read_config, write_atomic};
use crate::ignition::{self, Spec};
use crate::layer::Layer;
use crate::mco::{self, openshift};
use crate::report::{self, TargetReport};
use crate::targets::{self, Kind};

/// Turn on kernel modules that Fedora CoreOS and RHEL CoreOS ship blacklisted (SCTP first), in
/// Ignition configs, MachineConfigs and OS images, offline, and verify what a node will boot with.
#[derive(Parser, Debug)]
#[command(
    name = "modlayer",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print only errors (no warnings).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: info findings and what was read. Repeat for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which layer to use.
#[derive(Args, Debug, Clone, Default)]
pub struct LayerArgs {
    /// Layer to use: a built-in name (see `modlayer layers`) or a folder holding layer.toml.
    #[arg(long, value_name = "NAME|DIR", global = true)]
    pub layer: Option<String>,
    /// Enable another blacklisted module with the same pattern (empty NAME-blacklist.conf,
    /// NAME-load.conf listing it), e.g. dccp.
    #[arg(long, value_name = "NAME", global = true, conflicts_with = "layer")]
    pub module: Option<String>,
}

impl LayerArgs {
    /// The layer these arguments name.
    pub fn layer(&self) -> Result<Layer> {
        match (&self.layer, &self.module) {
            (Some(l), _) => Layer::named(l),
            (None, Some(m)) => Layer::for_module(m),
            (None, None) => Layer::builtin(crate::layer::DEFAULT_LAYER),
        }
    }
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the layer as a MachineConfig, Ignition config, Butane config or tar.
    Render(RenderArgs),
    /// Patch targets so the module is loaded at boot.
    Apply(ApplyArgs),
    /// Tell whether the module will be loaded at boot, and compare each layer file byte for byte.
    Verify(VerifyArgs),
    /// List the built-in layers.
    Layers,
    /// Run as a KRM function (kustomize/kpt exec): a ResourceList on stdin, one on stdout.
    Krm,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// `render` arguments.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// What to render.
    #[command(subcommand)]
    pub what: RenderWhat,
    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,
    /// Also write a `sha256sum -c` list of the files written to FILE.
    #[arg(long, value_name = "FILE", global = true, requires = "output")]
    pub checksums: Option<PathBuf>,
    #[command(flatten)]
    layer: LayerArgs,
}

/// Ignition version choice shared by render commands.
#[derive(Args, Debug, Clone)]
pub struct VersionArgs {
    /// Ignition spec version to write (2.2.0, 3.0.0 to 3.6.0).
    #[arg(long, value_name = "V")]
    pub ignition_version: Option<String>,
    /// OpenShift release X.Y the output is for: picks the newest spec its MCO reads, and refuses an
    /// --ignition-version it cannot read.
    #[arg(long, value_name = "X.Y")]
    pub openshift_version: Option<String>,
}

impl VersionArgs {
    /// The spec to write; `default` when neither option is given.
    pub fn spec(&self, default: &str) -> Result<Spec> {
        let release = self
            .openshift_version
            .as_deref()
            .map(openshift::parse)
            .transpose()?;
        match (&self.ignition_version, release) {
            (Some(v), Some(r)) => {
                let spec = Spec::parse(v)?;
                if !openshift::reads(r, spec) {
                    bail!(
                        "OpenShift {}.{} cannot read Ignition spec {spec} (its newest is {})",
                        r.0,
                        r.1,
                        openshift::newest_spec(r)
                    );
                }
                Ok(spec)
            }
            (Some(v), None) => Spec::parse(v),
            (None, Some(r)) => Ok(openshift::newest_spec(r)),
            (None, None) => Spec::parse(default),
        }
    }
}

/// Butane variants.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Variant {
    /// OpenShift MachineConfig (butane --variant openshift).
    Openshift,
    /// Fedora CoreOS Ignition.
    Fcos,
}

/// What `render` writes.
#[derive(Subcommand, Debug)]
pub enum RenderWhat {
    /// MachineConfig YAML, one document per role.
    Machineconfig {
        /// Pool role; repeat for several (default: worker).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// metadata.name (default: load-<module>-module-<role>; with several roles, a prefix).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        version: VersionArgs,
    },
    /// An Ignition config holding the layer.
    Ignition {
        #[command(flatten)]
        version: VersionArgs,
    },
    /// The equivalent Butane config.
    Butane {
        /// Butane variant.
        #[arg(long, value_enum, default_value = "openshift")]
        variant: Variant,
        /// Pool role for the openshift variant; repeat for several (default: worker).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// OpenShift release X.Y for the openshift variant's version (default 4.13).
        #[arg(long, value_name = "X.Y")]
        openshift_version: Option<String>,
    },
    /// The layer as a reproducible gzip tar (an image layer: file entries only, mtime 0, root).
    Tar,
}

/// `apply` arguments.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Targets: Ignition configs, MachineConfig files (`-` is standard input).
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Treat every target as this kind instead of detecting it.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Write the result here (one file target only).
    #[arg(short, long, value_name = "OUT", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Replace each file target atomically.
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Change nothing; print what would change.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Only MachineConfigs of this pool role; repeatable.
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// OCI targets: only this platform (os/arch[/variant]) of a multi-platform image.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// OCI targets: tag the patched image TAG instead of moving the target's tag.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Install directories: the OpenShift release X.Y (picks the Ignition spec written).
    #[arg(long, value_name = "X.Y")]
    pub openshift_version: Option<String>,
    /// Install directories after `create ignition-configs`: also patch the pointer configs
    /// master.ign and worker.ign (by default only bootstrap.ign changes).
    #[arg(long)]
    pub patch_pointers: bool,
    /// Also write a `sha256sum -c` list of every file written to FILE (for carrying into an
    /// air-gapped site).
    #[arg(long, value_name = "FILE")]
    pub checksums: Option<PathBuf>,
    #[command(flatten)]
    layer: LayerArgs,
}

/// Report formats.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object with `targets` (see the contract).
    Json,
}

/// `verify` arguments.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Targets to check (`-` is standard input).
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Treat every target as this kind instead of detecting it.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Check only these pool roles; repeatable (default: every role found).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Also fail (exit 1) when a layer file is not byte-identical.
    #[arg(long)]
    pub strict: bool,
    /// OCI targets: only this platform (os/arch[/variant]) of a multi-platform image.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Install directories: the OpenShift release X.Y (an Ignition spec it cannot read is an error).
    #[arg(long, value_name = "X.Y")]
    pub openshift_version: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    layer: LayerArgs,
}

/// Run the command line; returns the exit status.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = quiet;
            eprintln!("modlayer: error: {e:#}");
            2
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    let out = Output {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Render(args) => render(args).map(|_| 0),
        Command::Apply(args) => apply(args, &out),
        Command::Verify(args) => verify(args, &out),
        Command::Layers => layers().map(|_| 0),
        Command::Krm => {
            crate::krm::run(&mut std::io::stdin().lock(), &mut std::io::stdout().lock())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "modlayer",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .context("cannot write the man page")?;
            Ok(0)
        }
    }
}

/// Where messages go and how many.
struct Output {
    quiet: bool,
    verbose: u8,
}

impl Output {
    fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("modlayer: warning: {msg}");
        }
    }
    fn info(&self, msg: &str) {
        if self.verbose > 0 {
            eprintln!("modlayer: {msg}");
        }
    }
}

fn stdout_write(bytes: &[u8]) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|_| o.flush())
        .context("cannot write to standard output")
}

fn render(args: RenderArgs) -> Result<()> {
    let layer = args.layer.layer()?;
    let text = match args.what {
        RenderWhat::Machineconfig {
            roles,
            name,
            version,
        } => {
            let roles = if roles.is_empty() {
                vec!["worker".to_string()]
            } else {
                roles
            };
            let spec = version.spec("3.2.0")?;
            mco::render(&layer, &roles, name.as_deref(), spec)
        }
        RenderWhat::Ignition { version } => {
            let spec = version.spec("3.2.0")?;
            let mut s = serde_json::to_string_pretty(&ignition::layer_config(&layer, spec))?;
            s.push('\n');
            s
        }
        RenderWhat::Butane {
            variant,
            roles,
            openshift_version,
        } => {
            let roles = if roles.is_empty() {
                vec!["worker".to_string()]
            } else {
                roles
            };
            let release = openshift::parse(openshift_version.as_deref().unwrap_or("4.13"))?;
            crate::render::butane(&layer, variant, &roles, release)
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

/// Write a `sha256sum -c` list (`<hex>  <path>`) of files written, read back from disk.
fn write_checksums(list: &Option<PathBuf>, written: &[PathBuf]) -> Result<()> {
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

fn layers() -> Result<()> {
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

fn apply(args: ApplyArgs, out: &Output) -> Result<i32> {
    let layer = args.layer.layer()?;
    if args.output.is_some() && args.targets.len() > 1 {
        bail!("-o takes one target");
    }
    let mut status = 0;
    let mut written = Vec::new();
    for t in &args.targets {
        match apply_one(t, &args, &layer, out) {
            Ok(w) => written.extend(w),
            Err(e) => {
                eprintln!("modlayer: error: {e:#}");
                status = 2;
            }
        }
    }
    if !args.dry_run {
        write_checksums(&args.checksums, &written)?;
    }
    Ok(status)
}

/// Print what an apply changed (or, in a dry run, would change).
fn report_changes(name: &str, changes: &[String], dry_run: bool, out: &Output) -> Result<()> {
    if dry_run {
        let mut s = String::new();
        if changes.is_empty() {
            s.push_str(&format!(
                "{name}: already has the layer; nothing to change\n"
            ));
        }
        for c in changes {
            s.push_str(&format!("{name}: would {c}\n"));
        }
        return stdout_write(s.as_bytes());
    }
    for c in changes {
        out.info(&format!("{name}: {c}"));
    }
    Ok(())
}

/// Apply to one target; returns the files written.
fn apply_one(t: &str, args: &ApplyArgs, layer: &Layer, out: &Output) -> Result<Vec<PathBuf>> {
    let kind = args.kind.or_else(|| targets::detect_by_name(t));
    let is_file = matches!(
        kind,
        None | Some(Kind::Ignition | Kind::Machineconfig | Kind::Tar)
    );
    if is_file && args.targets.len() > 1 && !args.in_place && !args.dry_run {
        bail!("{t}: several file targets need --in-place (or --dry-run)");
    }
    if !is_file && args.output.is_some() {
        bail!("{t}: -o is for file targets; directories and images are changed in place");
    }
    match kind {
        Some(Kind::Tree) => {
            let written = crate::targets::tree::apply_tree(t, layer, args.dry_run)?;
            let changes: Vec<String> = written.iter().map(|w| w.what.clone()).collect();
            report_changes(t, &changes, args.dry_run, out)?;
            if args.dry_run {
                return Ok(Vec::new());
            }
            let root = std::path::Path::new(t);
            return Ok(written
                .iter()
                .map(|w| root.join(w.path.trim_start_matches('/')))
                .collect());
        }
        Some(Kind::Oci) => {
            let opts = crate::targets::oci::OciApply {
                dry_run: args.dry_run,
                platform: args.platform.clone(),
                new_tag: args.tag.clone(),
            };
            let done = crate::targets::oci::apply_oci(&targets::oci_name(t), layer, &opts)?;
            report_changes(t, &done.changes, args.dry_run, out)?;
            return Ok(done.written);
        }
        Some(Kind::Tar) => return apply_tar(t, args, layer, out),
        Some(Kind::InstallDir) => {
            if args.in_place {
                bail!("{t}: an install directory is changed in place; --in-place is for files");
            }
            let opts = crate::targets::installdir::DirApply {
                roles: args.roles.clone(),
                dry_run: args.dry_run,
                patch_pointers: args.patch_pointers,
                openshift_version: args
                    .openshift_version
                    .as_deref()
                    .map(openshift::parse)
                    .transpose()?,
            };
            let ch = crate::targets::installdir::apply_dir(std::path::Path::new(t), layer, &opts)?;
            for w in &ch.warnings {
                out.warn(w);
            }
            let shown: Vec<String> = ch
                .written
                .iter()
                .map(|p| format!("write {}", p.display()))
                .collect();
            report_changes(t, &shown, args.dry_run, out)?;
            for n in &ch.notes {
                out.info(&format!("{t}: {n}"));
            }
            return Ok(if args.dry_run { Vec::new() } else { ch.written });
        }
        _ => {}
    }
    if t == "-" && args.in_place {
        bail!("-: standard input cannot be changed in place");
    }
    let bytes = read_config(t)?;
    let kind = kind.unwrap_or_else(|| targets::sniff(&bytes));
    let name = if t == "-" { "<stdin>" } else { t };
    let result = targets::apply_file(name, kind, &bytes, layer, &args.roles)?;
    for w in &result.warnings {
        out.warn(w);
    }
    if args.dry_run {
        report_changes(name, &result.changes, true, out)?;
        stdout_write(crate::render::diff(name, &bytes, &result.bytes).as_bytes())?;
        return Ok(Vec::new());
    }
    report_changes(name, &result.changes, false, out)?;
    if let Some(o) = &args.output {
        write_atomic(o, &result.bytes)?;
        Ok(vec![o.clone()])
    } else if args.in_place {
        if result.changed {
            write_atomic(std::path::Path::new(t), &result.bytes)?;
            Ok(vec![PathBuf::from(t)])
        } else {
            Ok(Vec::new())
        }
    } else {
        stdout_write(&result.bytes)?;
        Ok(Vec::new())
    }
}

/// Apply to a rootfs archive: stream it to a temporary file beside the destination (or to
/// standard output), renaming only once the whole archive went through.
fn apply_tar(t: &str, args: &ApplyArgs, layer: &Layer, out: &Output) -> Result<Vec<PathBuf>> {
    let src = std::path::Path::new(t);
    let dest = match (&args.output, args.in_place) {
        _ if args.dry_run => None,
        (Some(o), _) => Some(o.clone()),
        (None, true) => Some(src.to_path_buf()),
        (None, false) => None,
    };
    let changes = match &dest {
        None if args.dry_run => crate::tar::plan_stream(src, layer)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            crate::tar::apply_stream(src, &mut stdout, layer)?
        }
        Some(d) => {
            let dir = match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".modlayer-")
                .tempfile_in(&dir)
                .with_context(|| format!("{}: cannot create a temporary file", d.display()))?;
            let changes = {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
                let c = crate::tar::apply_stream(src, &mut w, layer)?;
                w.flush()
                    .with_context(|| format!("{}: cannot write", d.display()))?;
                c
            };
            let unchanged = changes.is_empty() && d.as_path() == src;
            if unchanged {
                return report_changes(t, &changes, args.dry_run, out).map(|_| Vec::new());
            }
            tmp.as_file()
                .sync_all()
                .with_context(|| format!("{}: cannot write", d.display()))?;
            let perms = std::fs::metadata(src).map(|m| m.permissions())?;
            std::fs::set_permissions(tmp.path(), perms)?;
            tmp.persist(d)
                .map_err(|e| anyhow::anyhow!("{}: cannot replace: {}", d.display(), e.error))?;
            changes
        }
    };
    report_changes(t, &changes, args.dry_run, out)?;
    Ok(dest.into_iter().collect())
}

fn verify(args: VerifyArgs, out: &Output) -> Result<i32> {
    let layer = args.layer.layer()?;
    let mut reports: Vec<TargetReport> = Vec::new();
    let mut status = 0;
    for t in &args.targets {
        let name = if t == "-" { "<stdin>" } else { t.as_str() };
        let result = match args.kind.or_else(|| targets::detect_by_name(t)) {
            Some(Kind::Tree) => crate::targets::tree::verify_tree(t, &layer),
            Some(Kind::Tar) => crate::tar::verify_tar(t, &layer),
            Some(Kind::Oci) => crate::targets::oci::verify_oci(
                &targets::oci_name(t),
                &layer,
                args.platform.as_deref(),
            ),
            Some(Kind::InstallDir) => args
                .openshift_version
                .as_deref()
                .map(openshift::parse)
                .transpose()
                .and_then(|v| crate::targets::installdir::verify_dir(t, &layer, &args.roles, v)),
            kind => read_config(t).and_then(|bytes| {
                let kind = kind.unwrap_or_else(|| targets::sniff(&bytes));
                targets::verify_file(name, kind, &bytes, &layer, &args.roles)
            }),
        };
        match result {
            Ok(rs) => {
                for r in &rs {
                    let ok = r.enabled && (!args.strict || r.identical);
                    if !ok {
                        status = status.max(1);
                    }
                }
                reports.extend(rs);
            }
            Err(e) => {
                status = 2;
                let msg = format!("{e:#}");
                if args.format == Format::Text {
                    eprintln!("modlayer: error: {msg}");
                }
                reports.push(TargetReport::failed(t, &layer, msg));
            }
        }
    }
    let text = match args.format {
        Format::Json => report::to_json(&reports),
        Format::Text => {
            let text = report::to_text(&reports, out.verbose > 0);
            if out.quiet {
                String::new()
            } else {
                text
            }
        }
    };
    stdout_write(text.as_bytes())?;
    Ok(status)
}
