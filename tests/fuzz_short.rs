//! A short fuzz run on stable (issue 13): the same entry points as the cargo-fuzz targets in
//! `fuzz/` (JSON and YAML readers, Ignition and MachineConfig verify and apply, data URLs and
//! inline contents, tar reading and rewriting, the KRM function), fed with their seed corpora
//! (`fuzz/corpus/<target>/`) mutated by proptest, and with random bytes. None may panic; every
//! bad input is an `Err`. `PROPTEST_CASES` makes the run longer; `cargo +nightly fuzz run`
//! (README) runs the real fuzzers.

mod common;

#[path = "ignition_diff/corpus.rs"]
#[allow(dead_code)]
mod diff_corpus;

use std::path::Path;

use modlayer::formats::encoding::{decode_contents, decode_data_url, Budget};
use modlayer::node::collect::LayerDelta;
use modlayer::targets::{from_file, judge, ApplyOpts, Dest, FileTarget, Kind, VerifyOpts};
use proptest::prelude::*;

/// The seed files of one fuzz target.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{}: no seeds", dir.display());
    out
}

/// One mutation of a seed.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(vec![
        b"\"".to_vec(),
        b"{".to_vec(),
        b"[".to_vec(),
        b"\\u0000".to_vec(),
        b"%".to_vec(),
        b"data:;base64,".to_vec(),
        b"gzip".to_vec(),
        b"\n---\n".to_vec(),
        b": ".to_vec(),
        b"&a *a".to_vec(),
        b"\0\0\0\0".to_vec(),
        b"../".to_vec(),
        vec![0xff, 0xfe],
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), interesting).prop_map(|(p, b)| Edit::Insert(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, b)| Edit::Insert(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Remove(p, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..16).prop_map(|(p, n)| Edit::Repeat(p, n)),
    ]
}

fn mutate(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = b.len().max(1);
        match e {
            Edit::Flip(p, x) if !b.is_empty() => {
                let i = p % b.len();
                b[i] ^= x | 1;
            }
            Edit::Flip(..) => {}
            Edit::Insert(p, bytes) => {
                let i = p % (b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove(p, n) => {
                let i = p % len;
                let j = (i + n).min(b.len());
                if i < j {
                    b.drain(i..j);
                }
            }
            Edit::Truncate(p) => b.truncate(p % (b.len() + 1)),
            Edit::Repeat(p, n) => {
                let i = p % (b.len() + 1);
                let piece = b[i..(i + 32).min(b.len())].to_vec();
                for _ in 0..*n {
                    b.splice(i..i, piece.iter().copied());
                }
            }
        }
    }
    b
}

/// A seed of `target` mutated, or random bytes.
fn input(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(target);
    prop_oneof![
        4 => (prop::sample::select(seeds), prop::collection::vec(edit(), 0..6))
            .prop_map(|(s, e)| mutate(s, &e)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// Cases per entry point: `PROPTEST_CASES`, else 1000 (about 10 s for all seven in a debug build).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn apply_opts() -> ApplyOpts {
    ApplyOpts::to(Dest::Buffer)
}

fn verify_and_apply(name: &str, kind: Kind, data: &[u8]) {
    let layer = common::sctp();
    let file = FileTarget::from_bytes(name, data.to_vec());
    let t = from_file(file, Some(kind));
    let _ = judge(t.as_ref(), name, &layer, &VerifyOpts::default());
    if let Ok(a) = t.apply(&layer, &apply_opts()) {
        // What apply writes, verify reads.
        let out = a.output.unwrap_or_default();
        let again = from_file(FileTarget::from_bytes(name, out), Some(kind));
        let _ = judge(again.as_ref(), name, &layer, &VerifyOpts::default());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn json_reader(data in input("json")) {
        let _ = modlayer::formats::json::parse_strict(&data);
        let _ = modlayer::formats::json::parse_named("fuzz.json", &data);
    }

    #[test]
    fn yaml_reader(data in input("yaml")) {
        let text = String::from_utf8_lossy(&data);
        let _ = modlayer::formats::yaml::parse_documents(&text);
    }

    #[test]
    fn ignition_verify(data in input("ignition_verify")) {
        verify_and_apply("fuzz.ign", Kind::Ignition, &data);
    }

    #[test]
    fn machineconfig_verify(data in input("machineconfig_verify")) {
        verify_and_apply("fuzz.yaml", Kind::Machineconfig, &data);
    }

    #[test]
    fn data_urls(data in input("data_url")) {
        let text = String::from_utf8_lossy(&data);
        let _ = decode_data_url(&text);
        let budget = Budget::new(1 << 20);
        for gzip in [false, true] {
            let _ = decode_contents(&text, gzip, None, 4096, &budget);
        }
        prop_assert!(budget.used() <= (1 << 20) + (64 << 10) + text.len() as u64);
    }

    #[test]
    fn tar_reading(data in input("tar_read")) {
        let layer = common::sctp();
        for whiteouts in [false, true] {
            let mut delta = LayerDelta::new(&layer);
            let _ = modlayer::tar::collect(&data[..], &mut delta, "fuzz", whiteouts);
        }
        let _ = modlayer::tar::rewrite(&data[..], std::io::sink(), &layer);
    }

    #[test]
    fn krm_function(data in input("krm")) {
        let mut input = &data[..];
        let mut out = Vec::new();
        let _ = modlayer::krm::run(&mut input, &mut out);
    }
}

/// The differential on mutated configs (issue 19): configs of the Ignition differential corpus
/// (specs 3.0.0-3.3.0) with a few byte edits, judged by modlayer and by the real
/// ignition-validate 2.14. No config modlayer calls enabled may be one ignition-validate refuses.
/// `PROPTEST_CASES` scales it (each case runs ignition-validate once); SKIP without the program.
#[test]
fn ignition_differential_on_mutated_seeds() {
    if !common::have(common::Oracle::IgnitionValidate) {
        return;
    }
    let seeds: Vec<Vec<u8>> = diff_corpus::corpus()
        .into_iter()
        .filter(|c| c.spec < "3.4.0")
        .map(|c| c.text)
        .collect();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::sample::select(seeds),
        prop::collection::vec(edit(), 0..3),
    )
        .prop_map(|(s, e)| mutate(s, &e));
    let layer = common::sctp();
    runner
        .run(&strategy, |data| {
            let file = FileTarget::from_bytes("m.ign", data.clone());
            let t = from_file(file, Some(Kind::Ignition));
            let enabled = matches!(
                judge(t.as_ref(), "m.ign", &layer, &VerifyOpts::default()),
                Ok(r) if r.iter().all(|r| r.enabled)
            );
            let old_spec = modlayer::targets::ignition::read_ignition("m.ign", &data)
                .is_ok_and(|(_, s, _)| s.major == 3 && s.minor <= 3);
            if enabled && old_spec {
                let judged = common::ignition_validate(&data);
                prop_assert!(
                    judged.is_ok(),
                    "modlayer says enabled, ignition-validate refuses: {}\n{}",
                    String::from_utf8_lossy(&data),
                    judged.unwrap_err()
                );
            }
            Ok(())
        })
        .unwrap();
}
