//! Ignition configs: spec detection, validation, patching in the config's own spec, and the node
//! view a config produces (inline merge/replace configs folded with Ignition's merge rules).
//!
//! | file | what it holds |
//! | --- | --- |
//! | `spec.rs` | spec versions as Ignition parses them, [`Problem`] |
//! | `gojson.rs` | configs read as Go's `encoding/json` reads them into Ignition's structs |
//! | `checks.rs` | shape checks of storage entries and units, the typed check |
//! | `validate.rs` | Ignition's own `Validate()` and duplicate rules, spec by spec |
//! | `splice.rs` | the layer's entries, the plan of a patch, the patch as a text splice |
//! | `merge.rs` | merge/replace children folded, the view the files stage writes |

mod checks;
pub mod gojson;
mod merge;
mod spec;
mod splice;
pub mod validate;

pub use checks::{check, validate_typed};
pub use merge::{overlay, overlay_merged};
pub use spec::{spec_of, Problem, Spec, DEFAULT_SPEC, SPECS};
pub use splice::{
    apply_pieces, apply_text, apply_value, apply_yaml, comes_before, layer_config, layer_entry,
    plan, Edit, Plan,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layer;
    use serde_json::json;

    fn sctp() -> Layer {
        Layer::builtin("sctp").unwrap()
    }

    #[test]
    fn specs() {
        assert_eq!(Spec::parse("3.2.0").unwrap(), Spec { major: 3, minor: 2 });
        assert!(Spec::parse("3.7.0-experimental").is_err());
        assert!(Spec::parse("9.9.9").is_err());
        assert_eq!(Spec::parse("2.2.0").unwrap().to_string(), "2.2.0");
    }

    #[test]
    fn patch_compact_text_touches_only_new_bytes() {
        let text = br#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,\u003c"}}]}}"#;
        let v = crate::formats::json::parse_strict(text).unwrap();
        let p = plan(&v, Spec::parse("3.2.0").unwrap(), &sctp()).unwrap();
        let out = apply_text(text, &[], &p);
        let s = String::from_utf8(out.clone()).unwrap();
        assert!(s.starts_with(r#"{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,\u003c"}},{"path":"/etc/modprobe.d/sctp-blacklist.conf""#), "{s}");
        let mut want = v.clone();
        apply_value(&mut want, &p);
        assert_eq!(crate::formats::json::parse_strict(&out).unwrap(), want);
        // Applying again changes nothing.
        let v2 = crate::formats::json::parse_strict(&out).unwrap();
        assert!(plan(&v2, Spec::parse("3.2.0").unwrap(), &sctp())
            .unwrap()
            .edits
            .is_empty());
    }

    #[test]
    fn patch_null_storage_and_files() {
        for text in [
            &br#"{"ignition":{"version":"3.2.0"},"storage":null}"#[..],
            br#"{"ignition":{"version":"3.2.0"},"storage":{"files":null}}"#,
        ] {
            let v = crate::formats::json::parse_strict(text).unwrap();
            let p = plan(&v, Spec::parse("3.2.0").unwrap(), &sctp()).unwrap();
            let out = crate::formats::json::parse_strict(&apply_text(text, &[], &p)).unwrap();
            let mut want = v;
            apply_value(&mut want, &p);
            assert_eq!(out, want);
            assert_eq!(out["storage"]["files"].as_array().unwrap().len(), 2);
        }
    }

    #[test]
    fn patch_pretty_text_and_missing_storage() {
        let text = b"{\n  \"ignition\": {\n    \"version\": \"3.4.0\"\n  }\n}\n";
        let v = crate::formats::json::parse_strict(text).unwrap();
        let p = plan(&v, Spec::parse("3.4.0").unwrap(), &sctp()).unwrap();
        let out = String::from_utf8(apply_text(text, &[], &p)).unwrap();
        assert!(out.contains("\n  \"storage\": {\n    \"files\": [\n      {\n        \"path\": \"/etc/modprobe.d/sctp-blacklist.conf\",\n"), "{out}");
        assert!(out.ends_with("}\n"));
        let mut want = v;
        apply_value(&mut want, &p);
        assert_eq!(
            crate::formats::json::parse_strict(out.as_bytes()).unwrap(),
            want
        );
    }

    #[test]
    fn replace_where_it_stands() {
        let v = json!({"ignition":{"version":"3.2.0"},"storage":{"files":[
            {"path":"/etc/modules-load.d/sctp-load.conf","contents":{"source":"data:,sctp%0A"},"mode":420,"overwrite":true},
            {"path":"/etc/x","contents":{"source":"data:,"}}]}});
        let p = plan(&v, Spec::parse("3.2.0").unwrap(), &sctp()).unwrap();
        assert_eq!(p.edits.len(), 2);
        assert!(matches!(&p.edits[1], Edit::Replace(0, _)));
        let text = serde_json::to_vec(&v).unwrap();
        let out = crate::formats::json::parse_strict(&apply_text(&text, &[], &p)).unwrap();
        assert_eq!(
            out["storage"]["files"][0]["contents"]["source"],
            "data:,sctp"
        );
        assert_eq!(out["storage"]["files"][1]["path"], "/etc/x");
        assert_eq!(
            out["storage"]["files"][2]["path"],
            "/etc/modprobe.d/sctp-blacklist.conf"
        );
    }

    #[test]
    fn refusals() {
        let link = json!({"ignition":{"version":"3.2.0"},"storage":{"links":[{"path":"/etc/modules-load.d/sctp-load.conf","target":"/dev/null"}]}});
        assert!(plan(&link, Spec::parse("3.2.0").unwrap(), &sctp())
            .unwrap_err()
            .message
            .contains("link"));
        let app = json!({"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/modules-load.d/sctp-load.conf","append":[{"source":"data:,sctp"}]}]}});
        assert!(plan(&app, Spec::parse("3.2.0").unwrap(), &sctp())
            .unwrap_err()
            .pointer
            .ends_with("/append"));
    }

    #[test]
    fn legacy_entries() {
        let c = layer_config(&sctp(), Spec::parse("2.2.0").unwrap());
        assert_eq!(c["storage"]["files"][0]["filesystem"], "root");
        assert!(check(&c, Spec::parse("2.2.0").unwrap()).is_empty());
    }

    #[test]
    fn rendered_configs_pass_the_typed_specs() {
        // ignition-validate 2.14 (Debian) reads up to 3.3.0/3.4.0-experimental; coreos's typed
        // specs judge the rest.
        for v in [
            "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0",
        ] {
            let c = serde_json::to_vec(&layer_config(&sctp(), Spec::parse(v).unwrap())).unwrap();
            assert_eq!(validate_typed(&c).unwrap(), Vec::<String>::new(), "{v}");
        }
        let bad = br#"{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/x","mode":"0644"}]}}"#;
        assert!(validate_typed(bad).is_err());
    }

    #[test]
    fn specs_as_go_semver_reads_them() {
        assert_eq!(Spec::parse("3.03.0").unwrap(), Spec { major: 3, minor: 3 });
        assert_eq!(Spec::parse("03.1.00").unwrap(), Spec { major: 3, minor: 1 });
        for bad in [
            "3.3.0+meta",
            "v3.3.0",
            " 3.3.0",
            "3.3",
            "3.4.0-experimental",
            "+3.3.0",
        ] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_childs_file_replaces_a_parents_link() {
        // Files, directories and links share one key space in Ignition's merge.
        let child = json!({"ignition": {"version": "3.2.0"}, "storage": {"files": [
            {"path": "/etc/modules-load.d/sctp-load.conf", "contents": {"source": "data:,sctp"}, "mode": 420, "overwrite": true}]}});
        let url = crate::formats::encoding::encode_data_url(child.to_string().as_bytes());
        let parent = json!({"ignition": {"version": "3.2.0", "config": {"merge": [{"source": url}]}},
            "storage": {"files": [{"path": "/etc/modprobe.d/sctp-blacklist.conf", "contents": {"source": "data:,"}, "mode": 420, "overwrite": true}],
            "links": [{"path": "/etc/modules-load.d/sctp-load.conf", "target": "/dev/null"}]}});
        assert!(check(&parent, Spec::parse("3.2.0").unwrap()).is_empty());
        let mut view = crate::node::NodeView::rhcos("sctp");
        let mut findings = Vec::new();
        overlay(
            &parent,
            Spec::parse("3.2.0").unwrap(),
            &crate::origin::Origin::file("p.ign"),
            &mut view,
            &mut findings,
        )
        .unwrap();
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(
            view.files["/etc/modules-load.d/sctp-load.conf"].content,
            crate::node::Content::File {
                bytes: b"sctp".to_vec(),
                mode: Some(0o644)
            }
        );
    }

    #[test]
    fn validate_rules_speak_ignitions_words() {
        let v = json!({"ignition": {"version": "3.4.0"}, "storage": {
            "files": [{"path": "/etc/lnk/x", "contents": {"source": "data:,"}},
                      {"path": "/etc/systemd/system/a.service", "contents": {"source": "data:,"}}],
            "links": [{"path": "/etc/lnk", "target": "/etc/x"}]},
            "systemd": {"units": [{"name": "a.service", "contents": "[Unit]\n"}, {"name": "b", "contents": "[Unit]\n"}]}});
        let msgs: Vec<String> = check(&v, Spec::parse("3.4.0").unwrap())
            .iter()
            .map(|p| p.to_string())
            .collect();
        let all = msgs.join("\n");
        for want in [
            "$.storage.files[0]: file path includes link in config",
            "$.storage.files[1].path: path conflicts with systemd unit or dropin",
            "$.systemd.units[1].name: invalid systemd unit extension",
        ] {
            assert!(all.contains(want), "{want} not in {all}");
        }
        // 2.14 reads 3.3.0: no systemd path conflict rule there.
        let mut v33 = v.clone();
        v33["ignition"]["version"] = json!("3.3.0");
        let all = check(&v33, Spec::parse("3.3.0").unwrap())
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!all.contains("conflicts with systemd"), "{all}");
    }

    #[test]
    fn checks_report_pointers() {
        let v = json!({"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/a","mode":"0644"},{"path":"/etc/a"}]}});
        let p = check(&v, Spec::parse("3.2.0").unwrap());
        assert_eq!(p[0].pointer, "/storage/files/0/mode");
        assert_eq!(p[1].pointer, "/storage/files/1");
    }
}
