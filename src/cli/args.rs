//! Command-line definitions (also the source of completions and the man page). Values are parsed
//! once, here: releases, roles and module names arrive checked.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ignition::Spec;
use crate::layer::Layer;
use crate::mco::release::Release;
use crate::node::base::Base;
use crate::node::NodeView;
use crate::render::Variant;
use crate::targets::{base_view, Kind, Wanted};

/// A pool role as given: a label value that MachineConfigPools can select and that is safe in
/// object and file names (lowercase, since metadata.name is a DNS-1123 subdomain).
pub fn parse_role(text: &str) -> Result<String> {
    crate::mco::validate_role(text)?;
    Ok(text.to_string())
}

/// An object name as given (metadata.name: a DNS-1123 subdomain).
pub fn parse_object_name(text: &str) -> Result<String> {
    crate::node::rules::validate_object_name(text)?;
    Ok(text.to_string())
}

/// A module name as given, checked by kmod's rules (uppercase is refused with a hint).
pub fn parse_module(text: &str) -> Result<String> {
    crate::node::rules::validate_module_name(text)?;
    Ok(text.to_string())
}

/// Turn on kernel modules that Fedora CoreOS and RHEL CoreOS ship blacklisted (SCTP first), in
/// Ignition configs, MachineConfigs and OS images, offline, and verify what a node will boot with.
#[derive(Parser, Debug)]
#[command(
    name = "modlayer",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_long_help = crate::findings::codes_help()
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

/// Which layer to use, and the base state it meets.
#[derive(Args, Debug, Clone, Default)]
pub struct LayerArgs {
    /// Layer to use: a built-in name (see `modlayer layers`) or a folder holding layer.toml.
    #[arg(long, value_name = "NAME|DIR", global = true)]
    pub layer: Option<String>,
    /// Enable another module: list it in /etc/modules-load.d/NAME-load.conf and empty the file in
    /// which the base (--base) blacklists it, if any (e.g. sctp_diag; xt_u32 gets only the list).
    #[arg(long, value_name = "NAME", global = true, conflicts_with = "layer", value_parser = parse_module)]
    pub module: Option<String>,
    /// The OS the node boots, for Ignition configs, MachineConfigs and install directories (trees,
    /// archives and images are their own base), and for --module: rhcos (RHEL CoreOS: the modules
    /// of its built-in table blacklisted), fcos (Fedora CoreOS: no blacklist files; sctp and
    /// sctp_diag present in kernel-modules), none, or a real OS image: DIR, TAR or oci:IMAGE.
    /// Default: rhcos; for `apply --module` on a tree, archive or image, that target itself.
    #[arg(long, value_name = "rhcos|fcos|none|DIR|TAR|oci:IMAGE", global = true)]
    pub base: Option<Base>,
}

impl LayerArgs {
    /// The layer these arguments name and the base state for its module (`platform` picks one
    /// platform of a multi-platform base image).
    pub fn resolve(&self, platform: Option<&str>) -> Result<(Layer, NodeView)> {
        self.resolve_over(self.base.as_ref().unwrap_or(&Base::Rhcos), platform)
    }

    /// [`LayerArgs::resolve`] with the base given.
    pub fn resolve_over(&self, base: &Base, platform: Option<&str>) -> Result<(Layer, NodeView)> {
        match (&self.layer, &self.module) {
            (Some(l), _) => {
                let layer = Layer::named(l)?;
                let base = base_view(base, &layer.module, platform)?;
                Ok((layer, base))
            }
            (None, Some(m)) => {
                let base = base_view(base, m, platform)?;
                Ok((Layer::for_module(m, &base)?, base))
            }
            (None, None) => {
                let layer = Layer::builtin(crate::layer::DEFAULT_LAYER)?;
                let base = base_view(base, &layer.module, platform)?;
                Ok((layer, base))
            }
        }
    }

    /// The layer these arguments name.
    pub fn layer(&self) -> Result<Layer> {
        self.resolve(None).map(|(l, _)| l)
    }

    /// The layer as the command asks for it ([`Wanted`]: `--module` without `--base` is built
    /// against each target that is its own base) and the base state for its module.
    pub fn wanted(&self, platform: Option<&str>) -> Result<(Wanted, NodeView)> {
        let (layer, base) = self.resolve(platform)?;
        let wanted = match (&self.module, &self.base) {
            (Some(m), None) => Wanted::Module {
                name: m.clone(),
                over_base: layer,
            },
            _ => Wanted::Layer(layer),
        };
        Ok((wanted, base))
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
    ///
    /// `modlayer-krm` (installed beside `modlayer`) is the same with no arguments, for
    /// kustomize's `exec: path: modlayer-krm`.
    Krm,
    /// Install modlayer as a kustomize legacy exec plugin, the route kubectl's kustomize (and
    /// Argo CD's) can run.
    KustomizePlugin {
        /// What to do.
        #[command(subcommand)]
        action: PluginAction,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Describe a finding code and its fix (`modlayer explain module-blacklisted`); without a
    /// code, list every code.
    Explain {
        /// The code, as reports print it.
        code: Option<String>,
    },
}

/// `kustomize-plugin` actions.
#[derive(Subcommand, Debug)]
pub enum PluginAction {
    /// Put the plugin in a plugin home: DIR/modlayer.dev/v1alpha1/modulelayer/ModuleLayer (and
    /// ModuleLayerCheck), for `KUSTOMIZE_PLUGIN_HOME=DIR kubectl kustomize --enable-alpha-plugins`.
    Install {
        /// The plugin home (KUSTOMIZE_PLUGIN_HOME; kustomize's default is
        /// $XDG_CONFIG_HOME/kustomize/plugin).
        dir: PathBuf,
        /// Link to this binary instead of copying it.
        #[arg(long)]
        symlink: bool,
    },
}

/// `render` arguments.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// What to render.
    #[command(subcommand)]
    pub what: RenderWhat,
    /// Write the output to FILE (atomically) instead of standard output; for `render butane` with
    /// several roles, the directory each role's Butane file is written in.
    #[arg(short, long, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,
    /// Also write a `sha256sum -c` list of the files written to FILE.
    #[arg(long, value_name = "FILE", global = true, requires = "output")]
    pub checksums: Option<PathBuf>,
    #[command(flatten)]
    pub layer: LayerArgs,
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
    pub openshift_version: Option<Release>,
}

impl VersionArgs {
    /// The spec to write; [`crate::ignition::DEFAULT_SPEC`] when neither option is given.
    pub fn spec(&self) -> Result<Spec> {
        let release = self.openshift_version;
        match (&self.ignition_version, release) {
            (Some(v), Some(r)) => {
                let spec = Spec::parse(v)?;
                if !r.reads(spec) {
                    bail!(
                        "OpenShift {r} cannot read Ignition spec {spec} (its newest is {})",
                        r.newest_spec()
                    );
                }
                Ok(spec)
            }
            (Some(v), None) => Spec::parse(v),
            (None, Some(r)) => Ok(r.newest_spec()),
            (None, None) => Ok(crate::ignition::DEFAULT_SPEC),
        }
    }
}

/// What `render` writes.
#[derive(Subcommand, Debug)]
pub enum RenderWhat {
    /// MachineConfig YAML, one document per role.
    Machineconfig {
        /// Pool role; repeat for several (default: worker).
        #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
        roles: Vec<String>,
        /// metadata.name (default: `load-<module>-module-<role>`; with several roles, a prefix); a
        /// DNS-1123 name, as the API server requires.
        #[arg(long, value_parser = parse_object_name)]
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
        #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
        roles: Vec<String>,
        /// OpenShift release X.Y for the openshift variant's version (default 4.13).
        #[arg(long, value_name = "X.Y")]
        openshift_version: Option<Release>,
    },
    /// The layer as a reproducible gzip tar (an image layer: file entries only, mtime 0, root).
    Tar,
    /// A PolicyGenerator (policy.open-cluster-management.io/v1) that delivers the layer's
    /// MachineConfig to the clusters whose labels match, with its source CR, written to `-o DIR`
    /// (`DIR/NAME.yaml`, `DIR/source-crs/machine-config/load-<module>-module-<role>.yaml`, and a
    /// `DIR/kustomization.yaml` listing the generator when the folder has none).
    Policy {
        /// A cluster label the placement requires, KEY=VALUE; repeatable (all must match).
        #[arg(long = "selector", value_name = "KEY=VALUE", value_parser = parse_key_value, required = true)]
        selectors: Vec<(String, String)>,
        /// Pool role of the MachineConfig; repeat for several (default: master and worker, so
        /// that single-node sites, which run everything on master, get it too).
        #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
        roles: Vec<String>,
        /// The policies' namespace on the hub.
        #[arg(long, default_value = "ztp-group", value_parser = parse_dns_label)]
        namespace: String,
        /// The PolicyGenerator's name (and its file's).
        #[arg(long, default_value = "load-sctp-module", value_parser = parse_object_name)]
        name: String,
        #[command(flatten)]
        version: VersionArgs,
    },
    /// The documentation's SCTP test as manifests that run air-gapped.
    ///
    /// A Namespace, the probe script in a ConfigMap, an SCTP server Pod and its ClusterIP
    /// Service, a client Job that sends a random payload through the Service and succeeds exactly
    /// when it comes back, and (--network-policy) the NetworkPolicy admitting it. Nothing is
    /// installed at run time: the image must carry perl with its core Socket module (UBI's
    /// ubi9/perl-532, the cluster's tools image, Debian- or Fedora-based images with perl).
    SmokeTest {
        /// Namespace of every object (the output creates it).
        #[arg(long, default_value = "sctp-smoke", value_parser = parse_dns_label)]
        namespace: String,
        /// Image for the server and the client (must carry perl).
        #[arg(
            long,
            default_value = "registry.access.redhat.com/ubi9/perl-532:latest"
        )]
        image: String,
        /// Node selector for both pods, KEY=VALUE; repeatable (to test one pool, e.g.
        /// node-role.kubernetes.io/worker-rt=).
        #[arg(long = "node-selector", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        node_selector: Vec<(String, String)>,
        /// The SCTP port of the Service and the server.
        #[arg(long, default_value_t = 30102, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        /// Also write a NetworkPolicy admitting SCTP on the port from the client to the server.
        #[arg(long)]
        network_policy: bool,
    },
}

/// A DNS-1123 label (a namespace name).
pub fn parse_dns_label(text: &str) -> Result<String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if !ok {
        bail!("invalid name {text:?}: 1 to 63 of a-z 0-9 -, starting and ending alphanumeric");
    }
    Ok(text.to_string())
}

/// `KEY=VALUE` (the value may be empty).
pub fn parse_key_value(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => bail!("expected KEY=VALUE, got {text:?}"),
    }
}

/// `apply` arguments.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Targets: Ignition configs, MachineConfig files, Butane sources, install directories, OS
    /// trees, tar archives, OCI images (`-` is standard input).
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
    #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
    pub roles: Vec<String>,
    /// OCI targets: only this platform (os/arch[/variant]) of a multi-platform image.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// OCI targets: tag the patched image TAG instead of moving the target's tag.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Install directories: the OpenShift release X.Y (picks the Ignition spec written).
    #[arg(long, value_name = "X.Y")]
    pub openshift_version: Option<Release>,
    /// Install directories after `create ignition-configs`: also patch the pointer configs
    /// master.ign and worker.ign (by default only bootstrap.ign changes).
    #[arg(long)]
    pub patch_pointers: bool,
    /// Also write a `sha256sum -c` list of every file written to FILE (for carrying into an
    /// air-gapped site).
    #[arg(long, value_name = "FILE")]
    pub checksums: Option<PathBuf>,
    /// Butane sources: the directory `local` paths are relative to (Butane's -d/--files-dir);
    /// without it, apply leaves entries given as `local` unread (and replaces one at a layer path).
    #[arg(long, value_name = "DIR")]
    pub files_dir: Option<PathBuf>,
    /// Hub repositories: add the layer as a policy entry of a PolicyGenerator (day N) instead
    /// of an extra manifest of the clusters' configMapGenerator (day 0).
    #[arg(long)]
    pub day_n: bool,
    #[command(flatten)]
    pub layer: LayerArgs,
}

/// Report formats.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object with `targets` (see the contract).
    Json,
    /// JUnit XML: a testsuite per target, a testcase per judged pool or view, a failure per
    /// finding that fails the run.
    Junit,
    /// SARIF 2.1.0: one run, a rule per finding code, a result per finding with its place.
    Sarif,
    /// GitHub workflow commands: `::error file=F,line=L,col=C,title=CODE::message` per finding.
    Github,
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
    /// Judge these pools; repeatable.
    ///
    /// By default verify judges the pools the layer is meant for: those in which some
    /// MachineConfig tries to enable the module, else worker (plus master when masters are
    /// schedulable). Other pools are reported as info and do not change the exit status.
    #[arg(long = "role", value_name = "ROLE", value_parser = parse_role)]
    pub roles: Vec<String>,
    /// Judge every pool.
    #[arg(long, conflicts_with = "roles")]
    pub all_pools: bool,
    /// Also fail (exit 1) when a layer file is not byte-identical.
    #[arg(long)]
    pub strict: bool,
    /// OCI targets: only this platform (os/arch[/variant]) of a multi-platform image.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// The OpenShift release X.Y of MachineConfigs and install directories: an Ignition spec its
    /// MCO cannot read is an error, and its render's defaults apply (from 4.12, files without
    /// `overwrite` get true). Default: the newest release modlayer knows.
    #[arg(long, value_name = "X.Y")]
    pub openshift_version: Option<Release>,
    /// Butane sources: the directory `local` paths are relative to (Butane's -d/--files-dir); a
    /// `local` without it is an error, as in Butane.
    #[arg(long, value_name = "DIR")]
    pub files_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Boot media: judge the live system (the live config and the ISO's kernel arguments) even
    /// when the medium installs another system (`iso customize --dest-ignition`), which is
    /// judged by default.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub layer: LayerArgs,
}
