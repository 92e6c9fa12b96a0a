//! The KRM function: a ResourceList in, one out; never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let mut out = Vec::new();
    let _ = modlayer::krm::run(&mut input, &mut out);
});
