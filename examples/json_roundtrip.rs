//! Benchmark peer: parse a JSON file into a `serde_json::Value` and serialize it again, the floor
//! for any tool that edits JSON as a value. Used by `benches/bench.sh`.

use std::io::Write;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: json_roundtrip FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let out = serde_json::to_vec(&value).unwrap_or_default();
    let _ = std::io::stdout().lock().write_all(&out);
}
