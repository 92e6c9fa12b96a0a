//! Verify and apply of an MachineConfig stream: never panics, whatever the bytes.
#![no_main]
use modlayer::targets::{from_file, judge, ApplyOpts, Dest, FileTarget, Kind, VerifyOpts};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(layer) = modlayer::layer::Layer::builtin("sctp") else {
        return;
    };
    let file = FileTarget::from_bytes("fuzz.yaml", data.to_vec());
    let t = from_file(file, Some(Kind::Machineconfig));
    let _ = judge(t.as_ref(), "fuzz.yaml", &layer, &VerifyOpts::default());
    let opts = ApplyOpts::to(Dest::Buffer);
    let _ = t.apply(&layer, &opts);
});
