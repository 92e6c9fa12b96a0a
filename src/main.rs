//! The `modlayer` command; everything lives in the library. Called as `ModuleLayer` or
//! `ModuleLayerCheck` (the names `modlayer kustomize-plugin install` gives it), it is a kustomize
//! legacy exec plugin.

fn main() {
    std::process::exit(modlayer::cli::run());
}
