//! Ignition's LUKS rules (`Luks.Validate` and what it nests: Clevis custom pins, Tang servers,
//! key files, duplicate names) judged by the real ignition-validate on generated configs of specs
//! 3.2.0 and 3.3.0: modlayer refuses exactly the configs it refuses, with the same errors at the
//! same places.

mod common;

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// A small deterministic generator (xorshift), so that every run judges the same configs.
struct Rng(u64);

impl Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        &items[(self.0 % items.len() as u64) as usize]
    }
}

/// One LUKS volume around the rules: names, labels, devices, Clevis (custom pins and configs,
/// tpm2, threshold, tang servers), key files.
fn volume(r: &mut Rng) -> Value {
    let mut v = json!({});
    // Valid values most of the time, so that both verdicts are frequent.
    let name = *r.pick(&[
        Some("root"),
        Some("data"),
        Some("root"),
        Some("data"),
        Some("crypt"),
        Some("a/b"),
        None,
    ]);
    if let Some(n) = name {
        v["name"] = json!(n);
    }
    let long = "L".repeat(48);
    let label = *r.pick(&[
        None,
        Some("luks-root"),
        None,
        Some("luks-root"),
        Some(""),
        Some(long.as_str()),
    ]);
    if let Some(l) = label {
        v["label"] = json!(l);
    }
    let device = *r.pick(&[
        Some("/dev/disk/by-partlabel/root"),
        Some("/dev/vdb"),
        Some("/dev/disk/by-partlabel/root"),
        Some("/dev/vdb"),
        Some("/dev/vdc"),
        Some("dev/vdb"),
        Some("/dev//vdb"),
        Some(""),
        None,
    ]);
    if let Some(d) = device {
        v["device"] = json!(d);
    }
    let mut clevis = json!({});
    match *r.pick(&[0u8, 0, 0, 0, 1, 2, 3, 4, 5]) {
        0 => {}
        1 => clevis["custom"] = json!({}),
        2 => clevis["custom"] = json!({"pin": "tpm2", "config": "{}"}),
        3 => clevis["custom"] = json!({"pin": "bogus"}),
        4 => clevis["custom"] = json!({"config": "{}", "needsNetwork": true}),
        _ => clevis["custom"] = json!({"needsNetwork": true}),
    }
    if *r.pick(&[false, false, true]) {
        clevis["tpm2"] = json!(true);
    }
    if let Some(t) = r.pick(&[None, None, None, Some(0), Some(1), Some(2)]) {
        clevis["threshold"] = json!(t);
    }
    let tang = r
        .pick(&[
        json!(null),
        json!(null),
        json!(null),
        json!([{"url": "https://tang.example.com", "thumbprint": "x"}]),
        json!([{"url": "https://tang.example.com", "thumbprint": "x"}]),
        json!([{"url": "ftp://tang.example.com", "thumbprint": "x"}]),
        json!([{"url": "https://tang.example.com"}]),
        json!([{"url": "https://t", "thumbprint": "x"}, {"url": "https://t", "thumbprint": "y"}]),
        json!([{"url": "http://[::1", "thumbprint": "x"}]),
        ])
        .clone();
    if !tang.is_null() {
        clevis["tang"] = tang;
    }
    if clevis.as_object().is_some_and(|c| !c.is_empty()) || *r.pick(&[false, true]) {
        v["clevis"] = clevis;
    }
    let key = *r.pick(&[
        None,
        None,
        None,
        Some("data:,secret"),
        Some("data:,secret"),
        Some("bogus://x"),
        Some("https://example.com/key"),
        Some(""),
    ]);
    if let Some(k) = key {
        v["keyFile"] = json!({ "source": k });
    }
    v
}

/// Errors as `$.a.0.b: message`.
fn ours(config: &Value) -> BTreeSet<String> {
    let spec = modlayer::ignition::spec_of(config).unwrap();
    let mut out: BTreeSet<String> = modlayer::ignition::validate::validate(config, spec)
        .into_iter()
        .map(|p| format!("${}: {}", p.pointer.replace('/', "."), p.message))
        .collect();
    out.extend(
        modlayer::ignition::check(config, spec)
            .into_iter()
            .map(|p| format!("${}: {}", p.pointer.replace('/', "."), p.message)),
    );
    out
}

/// ignition-validate's errors, as `$.a.0.b: message` (its line and column dropped).
fn theirs(config: &Value) -> (bool, BTreeSet<String>) {
    let text = serde_json::to_vec(config).unwrap();
    match common::ignition_validate(&text) {
        Ok(_) => (true, BTreeSet::new()),
        Err(t) => {
            let errors = t
                .lines()
                .filter_map(|l| l.split_once("error at "))
                .map(|(_, rest)| {
                    let (path, tail) = rest.split_once(", line ").unwrap_or((rest, ""));
                    let message = tail.split_once(": ").map_or("", |(_, m)| m);
                    format!("{path}: {message}")
                })
                .collect();
            (false, errors)
        }
    }
}

#[test]
fn luks_rules_agree_with_ignition_validate() {
    if !common::have(common::Oracle::IgnitionValidate) {
        return;
    }
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let (mut judged, mut refused) = (0, 0);
    let mut failures = Vec::new();
    for i in 0..300 {
        let version = if i % 2 == 0 { "3.2.0" } else { "3.3.0" };
        let mut volumes = vec![volume(&mut r)];
        if i % 5 == 0 {
            // Two volumes: the same name twice is a duplicate key.
            let mut second = volume(&mut r);
            second["name"] = volumes[0]["name"].clone();
            volumes.push(second);
        }
        let config = json!({"ignition": {"version": version}, "storage": {"luks": volumes}});
        let (accepts, want) = theirs(&config);
        let got = ours(&config);
        judged += 1;
        if !accepts {
            refused += 1;
        }
        if got != want || accepts != got.is_empty() {
            failures.push(format!(
                "{}\n  ignition-validate: {want:?}\n  modlayer:          {got:?}",
                serde_json::to_string(&config).unwrap()
            ));
        }
    }
    eprintln!("luks: {judged} configs, {refused} refused by ignition-validate");
    assert!(
        refused > 50 && judged - refused > 20,
        "{refused} of {judged}"
    );
    assert!(
        failures.is_empty(),
        "{} of {judged} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
