//! The strict JSON reader (positions kept, duplicate keys refused): never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modlayer::formats::json::parse_strict(data);
    let _ = modlayer::formats::json::parse_named("fuzz.json", data);
});
