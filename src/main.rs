//! The `modlayer` command; everything lives in the library.

fn main() {
    std::process::exit(modlayer::cli::run());
}
