//! The command line: clap definitions (also the source of completions and the man page) and the
//! dispatch from each command to the library.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::fsutil::{read_config, write_atomic};
use crate::ignition::{self, Spec};
use crate::layer::Layer;
use crate::machineconfig::{self, openshift};
use crate::report::{self, TargetReport};
use crate::target::{self, Kind};

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
            machineconfig::render(&layer, &roles, name.as_deref(), spec)
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
    };
    stdout_write(text.as_bytes())
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
    if args.targets.len() > 1 && !args.in_place && !args.dry_run {
        bail!("several targets need --in-place (or --dry-run)");
    }
    if args.output.is_some() && args.targets.len() > 1 {
        bail!("-o takes one target");
    }
    let mut status = 0;
    for t in &args.targets {
        if let Err(e) = apply_one(t, &args, &layer, out) {
            eprintln!("modlayer: error: {e:#}");
            status = 2;
        }
    }
    Ok(status)
}

fn apply_one(t: &str, args: &ApplyArgs, layer: &Layer, out: &Output) -> Result<()> {
    if t == "-" && args.in_place {
        bail!("-: standard input cannot be changed in place");
    }
    let bytes = read_config(t)?;
    let kind = match args.kind {
        Some(k) => k,
        None => target::detect(t, Some(&bytes))?,
    };
    let name = if t == "-" { "<stdin>" } else { t };
    let result = target::apply_file(name, kind, &bytes, layer, &args.roles)?;
    for w in &result.warnings {
        out.warn(w);
    }
    if args.dry_run {
        let mut s = String::new();
        if result.changes.is_empty() {
            s.push_str(&format!(
                "{name}: already has the layer; nothing to change\n"
            ));
        }
        for c in &result.changes {
            s.push_str(&format!("{name}: would {c}\n"));
        }
        s.push_str(&crate::render::diff(name, &bytes, &result.bytes));
        return stdout_write(s.as_bytes());
    }
    for c in &result.changes {
        out.info(&format!("{name}: {c}"));
    }
    if let Some(o) = &args.output {
        write_atomic(o, &result.bytes)
    } else if args.in_place {
        if result.changed {
            write_atomic(std::path::Path::new(t), &result.bytes)
        } else {
            Ok(())
        }
    } else {
        stdout_write(&result.bytes)
    }
}

fn verify(args: VerifyArgs, out: &Output) -> Result<i32> {
    let layer = args.layer.layer()?;
    let mut reports: Vec<TargetReport> = Vec::new();
    let mut status = 0;
    for t in &args.targets {
        let name = if t == "-" { "<stdin>" } else { t.as_str() };
        let result = read_config(t).and_then(|bytes| {
            let kind = match args.kind {
                Some(k) => k,
                None => target::detect(t, Some(&bytes))?,
            };
            target::verify_file(name, kind, &bytes, &layer, &args.roles)
        });
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
