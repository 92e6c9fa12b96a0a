//! modlayer: turn on kernel modules that Fedora CoreOS and RHEL CoreOS ship blacklisted (SCTP
//! first), offline, on every artifact nodes are built from, and prove what a node will boot with.
//!
//! One funnel: `CLI -> Target -> View -> evaluate -> Report`.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`cli`] | the command line: clap definitions, one file per command |
//! | [`layer`] | what must be true: the files that switch a module on |
//! | [`targets`] | one module per target kind behind the [`targets::Target`] trait |
//! | [`mco`] | the one inventory of MachineConfigs and pools, and the one pool render |
//! | [`butane`] | Butane sources translated as Butane does (variants, versions, errors) |
//! | [`ignition`] | Ignition configs: specs, checks, the layer's entries, merge |
//! | [`node`] | the view of a booted node, the kmod/systemd rules and the one evaluation |
//! | [`origin`] | where something came from through nested artifacts, rendered one way everywhere |
//! | [`findings`] | the finding codes, each with its severity and description |
//! | [`report`] | a view judged into a report, as text or JSON |
//! | [`krm`] | the KRM function (kustomize, kpt) and the kustomize legacy exec plugin |
//! | [`render`] | renderings that are no target's own format: Butane, the smoke test, diffs |
//! | [`workloads`] | the workloads that need SCTP and the pools their pods can land on |
//! | [`formats`] | JSON and YAML readers that keep positions; data URLs, gzip, hashes |
//! | [`tar`] | tar archives: read, write, rewrite, compress |
//! | [`media`] | boot media: ISO9660 lookups, embed areas, cpio archives (read by position) |
//! | [`fsutil`] | reading inputs and writing outputs atomically |
//! | `targets::hub` | fleets: a hub repository's clusters, their day-0 manifests and bound policies |
//! | `targets::nest` | nesting: files an Ignition config holds, in and out (ConfigMaps' data: the inventory) |

pub mod butane;
pub mod cli;
pub mod findings;
pub mod formats;
pub mod fsutil;
pub mod ignition;
pub mod krm;
mod krm_text;
pub mod layer;
pub mod mco;
pub mod media;
pub mod node;
pub mod origin;
pub mod pool;
pub mod render;
pub mod report;
pub mod tar;
pub mod targets;
pub mod workloads;
