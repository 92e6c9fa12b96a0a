//! `modlayer-krm`: the KRM function with no arguments (kustomize `exec: path: modlayer-krm`,
//! kpt `exec:`), the same as `modlayer krm`.

fn main() {
    std::process::exit(modlayer::cli::run_krm());
}
