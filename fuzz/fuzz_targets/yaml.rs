//! The YAML 1.1 document reader: never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = modlayer::formats::yaml::parse_documents(text);
    }
});
