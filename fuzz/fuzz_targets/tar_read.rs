//! Tar reading (collect into a node view, with and without OCI whiteouts) and the streaming
//! rewrite: never panics.
#![no_main]
use modlayer::node::collect::LayerDelta;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(layer) = modlayer::layer::Layer::builtin("sctp") else {
        return;
    };
    for whiteouts in [false, true] {
        let mut delta = LayerDelta::new(&layer);
        let _ = modlayer::tar::collect(data, &mut delta, "fuzz", whiteouts);
    }
    let _ = modlayer::tar::rewrite(data, std::io::sink(), &layer);
});
