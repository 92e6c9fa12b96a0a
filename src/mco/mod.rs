//! MachineConfigs and the Machine Config Operator: the one inventory of MachineConfigs and
//! MachineConfigPools from any source ([`inventory`]), the one pool render ([`render`]), files of
//! Kubernetes documents ([`file`](mod@file)) and the releases' Ignition specs ([`release`]).

pub mod file;
pub mod inventory;
pub mod objects;
pub mod operators;
pub mod release;
pub mod render;

use anyhow::{bail, Result};

/// `apiVersion` of MachineConfig objects.
pub const API_VERSION: &str = "machineconfiguration.openshift.io/v1";
/// The label naming a MachineConfig's pool.
pub const ROLE_LABEL: &str = "machineconfiguration.openshift.io/role";

/// Check a pool role: a label value a MachineConfigPool can select that also makes a valid object
/// name (`load-<module>-module-<role>` is a DNS-1123 subdomain) and file name: 1 to 63 of
/// `a-z 0-9 - .`, starting and ending alphanumeric.
pub fn validate_role(role: &str) -> Result<()> {
    if role.bytes().any(|b| b.is_ascii_uppercase()) {
        bail!(
            "invalid role {role:?}: roles are lowercase (object names are DNS-1123); did you mean {:?}?",
            role.to_ascii_lowercase()
        );
    }
    let ok_chars = role
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if role.is_empty()
        || role.len() > 63
        || !ok_chars
        || !alnum(role.bytes().next())
        || !alnum(role.bytes().last())
    {
        bail!("invalid role {role:?}: a role is 1 to 63 of a-z 0-9 - ., starting and ending with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_checked() {
        assert!(validate_role("infra").is_ok());
        assert!(validate_role("worker-rt.1").is_ok());
        for bad in [
            "",
            "../x",
            "a/b",
            "-a",
            "a_b",
            "Worker",
            "x".repeat(64).as_str(),
        ] {
            assert!(validate_role(bad).is_err(), "{bad:?}");
        }
        assert!(format!("{:#}", validate_role("Worker").unwrap_err()).contains("\"worker\""));
    }
}
