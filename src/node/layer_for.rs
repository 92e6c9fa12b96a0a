//! The layer a module needs on a base: built from what the base ships (the node's rules decide
//! which of its modprobe.d files blacklist the module). Here and not in `layer`, so that layers
//! stay plain data and `node` is the only one of the two that knows the other.

use anyhow::Result;

use crate::findings::Code;
use crate::layer::{validate_module_name, Layer, LayerFile, MODPROBE_ETC, MODULES_LOAD_ETC};
use crate::node::evaluate;
use crate::node::rules::MODPROBE_DIRS;
use crate::node::NodeView;

impl Layer {
    /// The layer for a module, following the base state `base` (what the OS image ships): each
    /// modprobe.d file in which the base blacklists the module is emptied (by a file of the same
    /// name in `/etc/modprobe.d`, which replaces it), and `/etc/modules-load.d/<m>-load.conf`
    /// lists the module; both 0644. A module the base does not blacklist gets only the list.
    /// For sctp on RHEL CoreOS this is exactly the built-in `sctp` layer.
    pub fn for_module(module: &str, base: &NodeView) -> Result<Layer> {
        validate_module_name(module)?;
        let mut files: Vec<LayerFile> = Vec::new();
        // Each modprobe.d file of the base on its own, shadowed or not (so the layer stays the
        // same once applied, when the emptied /etc file hides the vendor one; and a blacklist the
        // base already bypasses with a unit of its own is still emptied).
        let mut names: Vec<&str> = Vec::new();
        for (p, e) in &base.files {
            let Some((dir, name)) = p.rsplit_once('/') else {
                continue;
            };
            if !MODPROBE_DIRS.contains(&dir) || names.contains(&name) {
                continue;
            }
            let one = NodeView {
                files: [(p.clone(), e.clone())].into_iter().collect(),
                ..NodeView::default()
            };
            if evaluate(&one, module)
                .blocks
                .iter()
                .any(|f| f.code == Code::ModuleBlacklisted)
            {
                names.push(name);
            }
        }
        for name in names {
            let path = format!("{MODPROBE_ETC}/{name}");
            if !files.iter().any(|g| g.path == path) {
                files.push(LayerFile {
                    path,
                    mode: 0o644,
                    bytes: Vec::new(),
                });
            }
        }
        files.push(LayerFile {
            path: format!("{MODULES_LOAD_ETC}/{module}-load.conf"),
            mode: 0o644,
            bytes: module.as_bytes().to_vec(),
        });
        Ok(Layer {
            name: module.to_string(),
            module: module.to_string(),
            description: format!("load the {module} kernel module at boot"),
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_for_a_module_follows_the_base() {
        let l = Layer::builtin("sctp").unwrap();
        assert_eq!(
            Layer::for_module("sctp", &NodeView::rhcos("sctp"))
                .unwrap()
                .files,
            l.files
        );
        // A module RHEL CoreOS does not blacklist: only the load list.
        let x = Layer::for_module("xt_u32", &NodeView::rhcos("xt_u32")).unwrap();
        assert_eq!(
            x.files,
            vec![LayerFile {
                path: "/etc/modules-load.d/xt_u32-load.conf".into(),
                mode: 0o644,
                bytes: b"xt_u32".to_vec()
            }]
        );
        // sctp_diag is blacklisted in its own file; with no base, sctp gets only the list.
        let d = Layer::for_module("sctp_diag", &NodeView::rhcos("sctp_diag")).unwrap();
        assert_eq!(d.files[0].path, "/etc/modprobe.d/sctp_diag-blacklist.conf");
        let n = Layer::for_module("sctp", &NodeView::default()).unwrap();
        assert_eq!(n.files.len(), 1);
        // A base that already loads it with a unit of its own still has its blacklist emptied.
        let mut b = NodeView::rhcos("sctp");
        for (path, bytes) in [
            (
                "/usr/lib/systemd/system/s.service",
                &b"[Service]\nExecStart=modprobe sctp\n"[..],
            ),
            ("/usr/lib/modprobe.d/zz.conf", b"blacklist sctp\n"),
        ] {
            b.files.insert(
                path.into(),
                crate::node::Entry {
                    content: crate::node::Content::File {
                        bytes: bytes.to_vec(),
                        mode: None,
                    },
                    origin: "test".into(),
                },
            );
        }
        b.files.insert(
            "/usr/lib/systemd/system/multi-user.target.wants/s.service".into(),
            crate::node::Entry {
                content: crate::node::Content::Link("/usr/lib/systemd/system/s.service".into()),
                origin: "test".into(),
            },
        );
        let paths: Vec<String> = Layer::for_module("sctp", &b)
            .unwrap()
            .files
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            paths,
            [
                "/etc/modprobe.d/sctp-blacklist.conf",
                "/etc/modprobe.d/zz.conf",
                "/etc/modules-load.d/sctp-load.conf"
            ]
        );
    }

    #[test]
    fn object_names_are_checked() {
        use crate::node::rules::validate_object_name;
        assert!(validate_object_name("load-xt-u32-module-worker").is_ok());
        for bad in ["load-SCTP-module-worker", "load_x", "-a", "a-", "", "a..b"] {
            assert!(validate_object_name(bad).is_err(), "{bad:?}");
        }
    }
}
