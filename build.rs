//! Embeds every `layers/<name>/layer.toml` into the binary as the built-in layers.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join("layers");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut names: Vec<String> = fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().join("layer.toml").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from(
        "/// Built-in layers: (name, layer.toml text).\npub static BUILTIN: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let manifest = root.join(name).join("layer.toml");
        println!("cargo:rerun-if-changed={}", manifest.display());
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            manifest.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("builtin_layers.rs");
    if let Err(e) = fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
