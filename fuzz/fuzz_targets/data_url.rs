//! Data URLs and inline contents (gzip, hashes) under a small budget: never panics, never
//! decodes past the budget.
#![no_main]
use modlayer::formats::encoding::{decode_contents, decode_data_url, Budget};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_data_url(text);
    let budget = Budget::new(1 << 20);
    for gzip in [false, true] {
        let _ = decode_contents(text, gzip, None, 4096, &budget);
    }
    assert!(budget.used() <= (1 << 20) + (64 << 10) + text.len() as u64);
});
