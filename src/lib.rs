//! modlayer: turn on kernel modules that Fedora CoreOS and RHEL CoreOS ship blacklisted (SCTP
//! first), offline, on every artifact nodes are built from, and prove what a node will boot with.
//!
//! One funnel: a [`layer::Layer`] (what must be true) meets a target ([`target::Kind`]). `apply`
//! patches the target in its own format; `verify` reads the target into a [`modstate::NodeView`],
//! which [`modstate::evaluate`] — the one place that knows kmod and systemd rules — judges, and
//! [`report`] renders.

pub mod cli;
pub mod encoding;
pub mod fsutil;
pub mod ignition;
pub mod installdir;
pub mod jsontext;
pub mod krm;
pub mod layer;
pub mod machineconfig;
pub mod modstate;
pub mod oci;
pub mod render;
pub mod report;
pub mod rootfs;
pub mod tar;
pub mod target;
pub mod tree;
pub mod yaml;
