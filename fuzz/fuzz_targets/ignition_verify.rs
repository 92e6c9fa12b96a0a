//! Verify and apply of an Ignition config: never panics, whatever the bytes. With
//! `MODLAYER_FUZZ_IGNITION_VALIDATE=/usr/bin/ignition-validate` set, also the Ignition
//! differential (issue 19): a config of spec 3.0.0-3.3.0 that modlayer calls enabled must be one
//! the real ignition-validate (2.14) accepts.
#![no_main]
use modlayer::targets::{from_file, judge, ApplyOpts, Dest, FileTarget, Kind, VerifyOpts};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(layer) = modlayer::layer::Layer::builtin("sctp") else {
        return;
    };
    let file = FileTarget::from_bytes("fuzz.ign", data.to_vec());
    let t = from_file(file, Some(Kind::Ignition));
    let verdict = judge(t.as_ref(), "fuzz.ign", &layer, &VerifyOpts::default());
    if let Some(validate) = std::env::var_os("MODLAYER_FUZZ_IGNITION_VALIDATE") {
        let enabled = matches!(&verdict, Ok(r) if r.iter().all(|r| r.enabled));
        let old_spec = modlayer::targets::ignition::read_ignition("fuzz.ign", data)
            .is_ok_and(|(_, s, _)| s.major == 3 && s.minor <= 3);
        if enabled && old_spec {
            let dir = std::env::temp_dir().join(format!("modlayer-fuzz-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            let p = dir.join("config.ign");
            if std::fs::write(&p, data).is_ok() {
                let out = std::process::Command::new(&validate).arg(&p).output();
                if let Ok(out) = out {
                    assert!(
                        out.status.success(),
                        "modlayer says enabled, ignition-validate refuses: {}",
                        String::from_utf8_lossy(&out.stdout)
                    );
                }
            }
        }
    }
    let opts = ApplyOpts::to(Dest::Buffer);
    let _ = t.apply(&layer, &opts);
});
