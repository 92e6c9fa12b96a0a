//! The command line: [`args`] holds the clap definitions; each command is a thin file that opens
//! targets, calls the [`crate::targets::Target`] trait and prints.

mod apply;
pub mod args;
mod render;
mod verify;

use std::io::Write;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

use crate::findings::Code;
use crate::fsutil::{stderr_line, stdout_write};
pub use args::Cli;
use args::Command;

/// Run the command line; returns the exit status. Called as `ModuleLayer` or
/// `ModuleLayerCheck` (a kustomize legacy exec plugin: the config file as the one argument,
/// resources on standard input and output), it is the plugin.
pub fn run() -> i32 {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let called = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if crate::krm::PLUGIN_KINDS.contains(&called.as_str()) {
        return run_plugin();
    }
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            stderr_line(&format!("modlayer: error: {e:#}"));
            2
        }
    }
}

/// `modlayer-krm`: the KRM function, no arguments.
pub fn run_krm() -> i32 {
    finish(crate::krm::run(
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    ))
}

/// The kustomize legacy exec plugin: `ModuleLayer CONFIG-FILE`.
fn run_plugin() -> i32 {
    let Some(config) = std::env::args_os().nth(1) else {
        let _ = writeln!(
            std::io::stderr(),
            "modlayer: error: as a kustomize plugin, the plugin's config file is the one argument"
        );
        return 2;
    };
    finish(crate::krm::run_plugin(
        std::path::Path::new(&config),
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    ))
}

/// The exit status of a result; an error is printed (exit 2).
fn finish(r: Result<i32>) -> i32 {
    r.unwrap_or_else(|e| {
        let _ = writeln!(std::io::stderr(), "modlayer: error: {e:#}");
        2
    })
}

fn dispatch(cli: Cli) -> Result<i32> {
    let out = Output {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let machine_output =
        matches!(&cli.command, Command::Verify(v) if v.format != args::Format::Text);
    crate::fsutil::set_progress(!cli.quiet && !machine_output);
    match cli.command {
        Command::Render(args) => render::run(args).map(|_| 0),
        Command::Apply(args) => apply::run(args, &out),
        Command::Verify(args) => verify::run(args, &out),
        Command::Layers => render::layers().map(|_| 0),
        Command::Krm => {
            crate::krm::run(&mut std::io::stdin().lock(), &mut std::io::stdout().lock())
        }
        Command::KustomizePlugin {
            action: args::PluginAction::Install { dir, symlink },
        } => {
            for p in crate::krm::install_plugin(&dir, symlink)? {
                out.info(&format!("installed {}", p.display()));
            }
            Ok(0)
        }
        Command::Explain { code } => explain(code.as_deref()),
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics when its writer fails (a closed pipe).
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "modlayer", &mut buf);
            stdout_write(&buf)?;
            Ok(0)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .context("cannot write the man page")?;
            stdout_write(&buf)?;
            Ok(0)
        }
    }
}

/// `modlayer explain [CODE]`.
fn explain(code: Option<&str>) -> Result<i32> {
    let Some(name) = code else {
        let s = crate::findings::listing(|c| {
            format!("{:<32} {:<8} {}", c.as_str(), c.severity(), c.description())
        });
        stdout_write(s.as_bytes())?;
        return Ok(0);
    };
    let Some(c) = Code::from_name(name) else {
        anyhow::bail!("no finding code {name:?} (`modlayer explain` lists them)");
    };
    stdout_write(
        format!(
            "{} ({})\n\n{}\n\nFix: {}\n",
            c.as_str(),
            c.severity(),
            c.description(),
            c.fix()
        )
        .as_bytes(),
    )?;
    Ok(0)
}

/// Where messages go and how many.
struct Output {
    quiet: bool,
    verbose: u8,
}

impl Output {
    fn warn(&self, msg: &str) {
        if !self.quiet {
            stderr_line(&format!("modlayer: warning: {msg}"));
        }
    }
    fn info(&self, msg: &str) {
        if self.verbose > 0 {
            stderr_line(&format!("modlayer: {msg}"));
        }
    }
}
