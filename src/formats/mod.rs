//! Formats: JSON and YAML readers that keep positions and support splicing (a patch changes only
//! the bytes it must), and the encodings configs carry (data URLs, gzip, hashes).

pub mod encoding;
pub mod json;
pub mod template;
pub mod yaml;
pub mod yaml_edit;
