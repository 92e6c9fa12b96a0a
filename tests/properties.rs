//! Properties on generated configs: applying twice equals applying once, and verify after apply
//! says enabled with every layer file identical.

use modlayer::layer::Layer;
use modlayer::report::TargetReport;
use modlayer::targets::{from_file, judge, ApplyOpts, Dest, FileTarget, Kind, VerifyOpts};

fn file(name: &str, bytes: &[u8]) -> FileTarget {
    FileTarget::from_bytes(name, bytes.to_vec())
}

/// Apply through the trait; the new bytes.
fn apply_bytes(name: &str, kind: Kind, bytes: &[u8], layer: &Layer) -> Vec<u8> {
    let opts = ApplyOpts::to(Dest::Buffer);
    from_file(file(name, bytes), Some(kind))
        .apply(layer, &opts)
        .unwrap()
        .output
        .unwrap()
}

fn verify_bytes(name: &str, kind: Kind, bytes: &[u8], layer: &Layer) -> Vec<TargetReport> {
    let t = from_file(file(name, bytes), Some(kind));
    judge(t.as_ref(), name, layer, &VerifyOpts::default()).unwrap()
}
use proptest::prelude::*;
use serde_json::{json, Value};

const LAYER_PATHS: &[&str] = &[
    "/etc/modprobe.d/sctp-blacklist.conf",
    "/etc/modules-load.d/sctp-load.conf",
];

fn version() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "2.2.0", "2.4.0", "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0", "3.6.0",
    ])
}

fn source() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("data:,".to_string()),
        "[a-z0-9 %]{0,12}"
            .prop_map(|s| format!("data:,{}", s.replace('%', "%25").replace(' ', "%20"))),
        "[a-zA-Z0-9+/]{0,8}".prop_map(|s| format!("data:;base64,{}", base64_of(&s))),
    ]
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A file entry: at a layer path (sometimes) or elsewhere, with random contents, mode and overwrite.
fn entry(legacy: bool) -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            prop::sample::select(LAYER_PATHS.to_vec()).prop_map(str::to_string),
            "/(etc|opt|usr/local)/[a-z]{1,8}(\\.conf)?".prop_map(|s| s)
        ],
        source(),
        prop::option::of(prop::sample::select(vec![0o644u32, 0o600, 0o755, 0o400])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(move |(path, src, mode, overwrite)| {
            let mut m = serde_json::Map::new();
            if legacy {
                m.insert("filesystem".into(), json!("root"));
            }
            m.insert("path".into(), json!(path));
            m.insert("contents".into(), json!({"source": src}));
            if let Some(mode) = mode {
                m.insert("mode".into(), json!(mode));
            }
            if let Some(o) = overwrite {
                m.insert("overwrite".into(), json!(o));
            }
            Value::Object(m)
        })
}

fn config() -> impl Strategy<Value = (Value, bool)> {
    (version(), any::<bool>(), any::<bool>()).prop_flat_map(|(v, pretty, with_storage)| {
        let legacy = v.starts_with('2');
        (
            prop::collection::vec(entry(legacy), 0..6),
            Just(v),
            Just(pretty),
            Just(with_storage),
        )
            .prop_map(|(files, v, pretty, with_storage)| {
                // Ignition refuses duplicate paths: keep the first entry for each.
                let mut seen = std::collections::HashSet::new();
                let files: Vec<Value> = files
                    .into_iter()
                    .filter(|f| seen.insert(f["path"].to_string()))
                    .collect();
                let mut c = json!({"ignition": {"version": v}});
                if with_storage {
                    c["storage"] = json!({"files": files});
                }
                c["systemd"] = json!({"units": [{"name": "x.service", "enabled": true}]});
                (c, pretty)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn apply_is_idempotent_and_verifies((config, pretty) in config()) {
        let layer = Layer::builtin("sctp").unwrap();
        let text = if pretty { serde_json::to_vec_pretty(&config).unwrap() } else { serde_json::to_vec(&config).unwrap() };
        let once = apply_bytes("gen.ign", Kind::Ignition, &text, &layer);
        let twice = apply_bytes("gen.ign", Kind::Ignition, &once, &layer);
        prop_assert_eq!(&twice, &once);
        let reports = verify_bytes("gen.ign", Kind::Ignition, &once, &layer);
        prop_assert!(reports[0].enabled, "{:?}", reports[0].findings);
        prop_assert!(reports[0].identical, "{:?}", reports[0].files);
        // Only the layer's entries changed.
        let mut after: Value = serde_json::from_slice(&once).unwrap();
        let mut before = config.clone();
        for v in [&mut after, &mut before] {
            if let Some(f) = v.pointer_mut("/storage/files").and_then(Value::as_array_mut) {
                f.retain(|f| !LAYER_PATHS.contains(&f["path"].as_str().unwrap_or("")));
            }
        }
        if config.get("storage").is_none() {
            after.as_object_mut().unwrap().remove("storage");
        }
        prop_assert_eq!(after, before);
    }

    #[test]
    fn machineconfig_apply_is_idempotent_and_verifies((config, _pretty) in config()) {
        let layer = Layer::builtin("sctp").unwrap();
        let mc = json!({
            "apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": "gen", "labels": {"machineconfiguration.openshift.io/role": "worker"}},
            "spec": {"config": config},
        });
        use modlayer::formats::yaml::{parse_documents, to_flow, to_yaml, Indents};
        // Block style as oc writes it, and all of it in flow style on one line.
        for text in [to_yaml(&mc), format!("{}\n", to_flow(&mc, &Indents::KUBECTL))] {
            let once = apply_bytes("gen.yaml", Kind::Machineconfig, text.as_bytes(), &layer);
            let twice = apply_bytes("gen.yaml", Kind::Machineconfig, &once, &layer);
            prop_assert_eq!(&twice, &once);
            let reports = verify_bytes("gen.yaml", Kind::Machineconfig, &once, &layer);
            prop_assert!(reports[0].enabled, "{:?}", reports[0].findings);
            // Only the layer's entries changed (and storage/files where there were none).
            let once = String::from_utf8(once).unwrap();
            let mut after = parse_documents(&once).unwrap().remove(0).value;
            let mut before = mc.clone();
            for v in [&mut after, &mut before] {
                if let Some(f) = v.pointer_mut("/spec/config/storage/files").and_then(Value::as_array_mut) {
                    f.retain(|f| !LAYER_PATHS.contains(&f["path"].as_str().unwrap_or("")));
                }
            }
            if config.get("storage").is_none() {
                after["spec"]["config"].as_object_mut().unwrap().remove("storage");
            } else if config["storage"].get("files").is_none() {
                after["spec"]["config"]["storage"].as_object_mut().unwrap().remove("files");
            }
            prop_assert_eq!(after, before, "{}", once);
        }
    }
}
