//! Where something is inside nested artifacts, rendered one way in every message:
//! `agent.iso > ignition > /etc/assisted/extra-manifests/99-sctp.yaml` (the readers inside add
//! their own place, `:7:9` or a JSON path, after the last link).

use std::fmt;

/// What separates the links of a chain.
pub const SEP: &str = " > ";

/// A chain of places: the target as given, then each thing nested in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain(Vec<String>);

impl Chain {
    /// A chain starting at a target as the user named it.
    pub fn new(root: impl Into<String>) -> Chain {
        Chain(vec![root.into()])
    }

    /// The same chain one level deeper.
    pub fn then(&self, link: impl Into<String>) -> Chain {
        let mut c = self.clone();
        c.0.push(link.into());
        c
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(SEP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_separators() {
        let c = Chain::new("agent.iso")
            .then("ignition")
            .then("/etc/assisted/extra-manifests/99-sctp.yaml");
        assert_eq!(
            c.to_string(),
            "agent.iso > ignition > /etc/assisted/extra-manifests/99-sctp.yaml"
        );
    }
}
