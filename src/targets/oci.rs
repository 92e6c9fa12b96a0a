//! OCI image layouts (`oci:DIR[:TAG]`, as skopeo and umoci name them): apply appends one layer
//! holding the layer's files and moves the tag to the new manifest; verify folds every layer
//! (whiteouts, opaque directories) into the final file state and checks every blob's digest.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::findings::{Code, Finding};
use crate::fsutil::Confined;
use crate::layer::Layer;
use crate::node::collect::{Collector, LayerDelta};
use crate::report::View;
use crate::targets::{in_place_only, Applied, ApplyOpts, Kind, Start, Target, VerifyOpts};

/// The annotation naming a tag in index.json.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Largest JSON blob (manifest, config, index) read.
const MAX_JSON_BLOB: u64 = 16 << 20;

/// An `oci:DIR[:TAG]` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciRef {
    /// The layout directory.
    pub dir: PathBuf,
    /// The tag (`org.opencontainers.image.ref.name`), if given.
    pub tag: Option<String>,
}

impl OciRef {
    /// Parse `oci:DIR[:TAG]` (the first `:` after the directory separates the tag, as skopeo does).
    pub fn parse(target: &str) -> Result<OciRef> {
        let Some(rest) = target.strip_prefix("oci:") else {
            bail!("{target}: an OCI target is written oci:DIR[:TAG]");
        };
        let (dir, tag) = match rest.split_once(':') {
            Some((d, t)) if !t.is_empty() => (d, Some(t.to_string())),
            Some((d, _)) => (d, None),
            None => (rest, None),
        };
        if dir.is_empty() {
            bail!("{target}: no directory");
        }
        Ok(OciRef {
            dir: PathBuf::from(dir),
            tag,
        })
    }
}

/// A content descriptor (the JSON object, order kept) and where it sits.
#[derive(Clone, Debug)]
struct Image {
    /// Position of the top-level descriptor in index.json.
    top: usize,
    /// For a multi-platform image: the index blob and the manifest's position in it.
    parent: Option<(Value, usize)>,
    /// The manifest descriptor.
    desc: Value,
    /// `os/arch[/variant]`, when known.
    platform: Option<String>,
}

/// An opened image layout. Every file in it is opened beneath the layout directory
/// ([`Confined`]: a symlink leading out is refused), as a regular file only, never read past its
/// size.
pub struct Layout {
    target: String,
    root: Confined,
    index: Value,
}

/// Largest `oci-layout` file read.
const MAX_LAYOUT_FILE: u64 = 64 << 10;

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::formats::encoding::sha256_hex(bytes))
}

fn platform_of(desc: &Value) -> Option<String> {
    let p = desc.get("platform")?;
    let mut s = format!(
        "{}/{}",
        p.get("os")?.as_str()?,
        p.get("architecture")?.as_str()?
    );
    if let Some(v) = p.get("variant").and_then(Value::as_str) {
        s.push('/');
        s.push_str(v);
    }
    Some(s)
}

/// sha256 and byte count of everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// Read to the end and return `sha256:<hex>` and the byte count.
    fn finish(mut self) -> std::io::Result<(String, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        let hex: String = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((format!("sha256:{hex}"), self.count))
    }
}

impl Layout {
    /// Open `oci:DIR[:TAG]`: reads and checks `oci-layout` and `index.json`.
    pub fn open(target: &str) -> Result<(Layout, Option<String>)> {
        let r = OciRef::parse(target)?;
        let layout_file = r.dir.join("oci-layout");
        let root = Confined::open(&r.dir)
            .with_context(|| format!("{target}: {} is not an OCI image layout", r.dir.display()))?;
        let text = root
            .read("oci-layout", MAX_LAYOUT_FILE)
            .with_context(|| format!("{target}: {} is not an OCI image layout", r.dir.display()))?;
        let v: Value = serde_json::from_slice(&text)
            .with_context(|| format!("{}: invalid JSON", layout_file.display()))?;
        if v.get("imageLayoutVersion")
            .and_then(Value::as_str)
            .is_none()
        {
            bail!("{}: no imageLayoutVersion", layout_file.display());
        }
        let index_path = r.dir.join("index.json");
        let bytes = root.read("index.json", crate::formats::json::MAX_CONFIG_BYTES)?;
        let index = crate::formats::json::parse_strict(&bytes).map_err(|e| {
            anyhow::anyhow!("{}:{}:{}: {e}", index_path.display(), e.line(), e.column())
        })?;
        if !index.get("manifests").is_some_and(Value::is_array) {
            bail!("{}: $.manifests must be a list", index_path.display());
        }
        Ok((
            Layout {
                target: target.to_string(),
                root,
                index,
            },
            r.tag,
        ))
    }

    /// The blob's path in the layout (`blobs/sha256/<hex>`).
    fn blob_path(&self, digest: &str) -> Result<String> {
        let Some(hex) = digest.strip_prefix("sha256:") else {
            bail!("{}: digest {digest:?} is not sha256", self.target);
        };
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            bail!("{}: digest {digest:?} is malformed", self.target);
        }
        Ok(format!("blobs/sha256/{hex}"))
    }

    /// Open the blob a descriptor names (`what` names it in errors): a regular file of the size
    /// the descriptor declares, read no further than that.
    fn open_blob<'d>(
        &self,
        desc: &'d Value,
        what: &str,
    ) -> Result<(&'d str, std::io::Take<std::fs::File>)> {
        let digest = desc
            .get("digest")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = self.blob_path(digest)?;
        let (f, size) = self
            .root
            .open_regular(&path)
            .with_context(|| format!("{}: {what} {digest}", self.target))?;
        if let Some(want) = desc.get("size").and_then(Value::as_u64) {
            if want != size {
                bail!(
                    "{}: {what} {digest} is {size} bytes, its descriptor says {want}",
                    self.target
                );
            }
        }
        Ok((digest, f.take(size)))
    }

    /// Refuse a layout that cannot be written safely, before anything is written: `index.json`
    /// must be a regular file (it is replaced), and every blob each image names (manifest,
    /// config, every layer; the index of a multi-platform image) present, regular and of the size
    /// its descriptor declares.
    fn validate(&self, images: &[Image]) -> Result<()> {
        let st = rustix::fs::statat(
            self.root.fd(),
            "index.json",
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| anyhow::anyhow!("{}: index.json: {e}", self.target))?;
        let t = rustix::fs::FileType::from_raw_mode(st.st_mode);
        if t != rustix::fs::FileType::RegularFile {
            bail!(
                "{}: index.json is {}, not a regular file; refusing to replace it",
                self.target,
                crate::fsutil::kind_name(t)
            );
        }
        for image in images {
            let manifest = self.json_blob(&image.desc)?;
            self.json_blob(manifest.get("config").unwrap_or(&Value::Null))?;
            let layers = manifest
                .get("layers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, l) in layers.iter().enumerate() {
                if l.get("size").and_then(Value::as_u64).is_none() {
                    bail!("{}: layer {i} has no size in its descriptor", self.target);
                }
                self.open_blob(l, &format!("layer {i} blob"))?;
            }
        }
        Ok(())
    }

    /// Read a JSON blob named by a descriptor, checking its size and digest.
    fn json_blob(&self, desc: &Value) -> Result<Value> {
        let (digest, f) = self.open_blob(desc, "blob")?;
        let mut bytes = Vec::new();
        f.take(MAX_JSON_BLOB + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: cannot read blob {digest}", self.target))?;
        if digest_of(&bytes) != digest {
            bail!(
                "{}: blob {digest} does not match its digest (got {})",
                self.target,
                digest_of(&bytes)
            );
        }
        if let Some(size) = desc.get("size").and_then(Value::as_u64) {
            if size != bytes.len() as u64 {
                bail!(
                    "{}: blob {digest} is {} bytes, its descriptor says {size}",
                    self.target,
                    bytes.len()
                );
            }
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: blob {digest} is not JSON", self.target))
    }

    /// The image manifests a tag (or the only image) names, one per platform.
    fn images(&self, tag: Option<&str>, platform: Option<&str>) -> Result<Vec<Image>> {
        let manifests = self.index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let picked: Vec<(usize, Value)> = manifests
            .into_iter()
            .enumerate()
            .filter(|(_, d)| match tag {
                Some(t) => {
                    d.pointer(&format!("/annotations/{}", REF_NAME.replace('/', "~1")))
                        .and_then(Value::as_str)
                        == Some(t)
                }
                None => true,
            })
            .collect();
        let (top, desc) = match (picked.len(), tag) {
            (1, _) => picked.into_iter().next().unwrap_or((0, Value::Null)),
            (0, Some(t)) => bail!("{}: no image tagged {t:?} in index.json", self.target),
            (0, None) => bail!("{}: index.json lists no image", self.target),
            (_, None) => bail!(
                "{}: index.json lists several images; name one as oci:DIR:TAG",
                self.target
            ),
            (_, Some(t)) => bail!("{}: several images are tagged {t:?}", self.target),
        };
        let media = desc
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or(OCI_MANIFEST);
        let images: Vec<Image> = if media == OCI_INDEX || media == DOCKER_LIST {
            let idx = self.json_blob(&desc)?;
            let children = idx
                .get("manifests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            children
                .into_iter()
                .enumerate()
                .filter(|(_, d)| {
                    let m = d
                        .get("mediaType")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    (m == OCI_MANIFEST || m == DOCKER_MANIFEST)
                        && platform_of(d).as_deref() != Some("unknown/unknown")
                })
                .map(|(i, d)| Image {
                    top,
                    parent: Some((idx.clone(), i)),
                    platform: platform_of(&d),
                    desc: d,
                })
                .collect()
        } else {
            vec![Image {
                top,
                parent: None,
                platform: platform_of(&desc),
                desc,
            }]
        };
        // A manifest whose descriptor names no platform (umoci's, a single-platform image) has
        // it in its config (`os`, `architecture`, `variant`), as skopeo and podman read it.
        let images: Vec<Image> = images
            .into_iter()
            .filter(|i| match (platform, &i.platform) {
                (None, _) => true,
                (Some(p), Some(own)) => own == p,
                (Some(p), None) => self.config_platform(&i.desc).as_deref() == Some(p),
            })
            .collect();
        if images.is_empty() {
            bail!(
                "{}: no image manifest for platform {}",
                self.target,
                platform.unwrap_or("any")
            );
        }
        Ok(images)
    }

    /// The platform an image manifest's config names (`os/architecture[/variant]`), if readable.
    fn config_platform(&self, manifest_desc: &Value) -> Option<String> {
        let manifest = self.json_blob(manifest_desc).ok()?;
        let config = self.json_blob(manifest.get("config")?).ok()?;
        platform_of(&json!({ "platform": config }))
    }

    /// Write a blob (if not already there), atomically, beneath the layout.
    fn put_blob(&self, bytes: &[u8]) -> Result<(String, u64)> {
        let digest = digest_of(bytes);
        let path = self.blob_path(&digest)?;
        self.root
            .write(&path, bytes, false)
            .with_context(|| self.target.clone())?;
        Ok((digest, bytes.len() as u64))
    }

    /// The layout directory joined with a path in it (for reports).
    fn shown(&self, rel: &str) -> PathBuf {
        PathBuf::from(
            self.target
                .strip_prefix("oci:")
                .and_then(|r| r.split(':').next())
                .unwrap_or(&self.target),
        )
        .join(rel)
    }

    /// Verify one image: stream every layer (in parallel), checking digests and diff_ids, and fold
    /// them into the final file state.
    fn verify_image(&self, image: &Image, layer: &Layer) -> Result<View> {
        let manifest = self.json_blob(&image.desc)?;
        let config = self.json_blob(manifest.get("config").unwrap_or(&Value::Null))?;
        let layers = manifest
            .get("layers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let diff_ids = config
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if diff_ids.len() != layers.len() {
            bail!(
                "{}: the config lists {} diff_ids for {} layers",
                self.target,
                diff_ids.len(),
                layers.len()
            );
        }
        // Links in config directories may point anywhere in the image: read again, keeping
        // their targets, while a pass finds targets it had not kept (rare: Debian's
        // modules-load.d/modules.conf -> ../modules).
        let mut wanted = std::collections::BTreeSet::new();
        let mut collector = self.collect_layers(&layers, &diff_ids, layer, &wanted)?;
        for _ in 0..3 {
            let missing = collector.missing_link_targets();
            if missing.is_empty() {
                break;
            }
            wanted.extend(missing);
            collector = self.collect_layers(&layers, &diff_ids, layer, &wanted)?;
        }
        let mut findings = Vec::new();
        if layers.is_empty() {
            findings.push(Finding::new(Code::EmptyImage, "the image has no layers"));
        }
        let mut view = View::whole(collector.finish(), findings);
        view.platform = image.platform.clone();
        Ok(view)
    }

    /// Read every layer (in parallel) and fold them in order into one collector.
    fn collect_layers(
        &self,
        layers: &[Value],
        diff_ids: &[Value],
        layer: &Layer,
        wanted: &std::collections::BTreeSet<String>,
    ) -> Result<Collector> {
        let progress = crate::fsutil::progress_bar(
            layers
                .iter()
                .filter_map(|l| l.get("size").and_then(Value::as_u64))
                .sum(),
        );
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let results = crate::pool::in_pool(layers, workers, |i, desc| {
            let want = diff_ids[i].as_str().unwrap_or_default();
            self.read_layer(i, desc, want, layer, wanted, &progress)
        });
        progress.finish_and_clear();
        let mut collector = Collector::new(layer);
        collector.want(wanted.iter().cloned());
        for delta in results {
            collector.overlay(delta?);
        }
        Ok(collector)
    }

    fn read_layer(
        &self,
        i: usize,
        desc: &Value,
        want_diff_id: &str,
        layer: &Layer,
        wanted: &std::collections::BTreeSet<String>,
        progress: &indicatif::ProgressBar,
    ) -> Result<LayerDelta> {
        let (digest, file) = self.open_blob(desc, &format!("layer {i} blob"))?;
        let mut outer = Hashing::new(progress.wrap_read(std::io::BufReader::with_capacity(
            1 << 20,
            crate::fsutil::Counted(file),
        )));
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = outer
                .read(&mut head[got..])
                .with_context(|| format!("{}: layer {i}: cannot read", self.target))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let compression = crate::tar::detect_compression(&head[..got]);
        let chained = std::io::Cursor::new(head[..got].to_vec()).chain(&mut outer);
        let mut inner = Hashing::new(crate::tar::decompress(chained, compression)?);
        let mut delta = LayerDelta::new(layer);
        delta.entries.want(wanted.iter().cloned());
        let origin = format!("layer {i} ({})", short(digest));
        crate::tar::collect(&mut inner, &mut delta, &origin, true)
            .with_context(|| format!("{}: layer {i} ({digest})", self.target))?;
        let (diff_id, _) = inner.finish().with_context(|| {
            format!("{}: layer {i} ({digest}): bad compressed data", self.target)
        })?;
        let (got_digest, size) = outer
            .finish()
            .with_context(|| format!("{}: layer {i}: cannot read", self.target))?;
        if got_digest != digest {
            bail!(
                "{}: layer {i} blob {digest} does not match its digest (got {got_digest})",
                self.target
            );
        }
        if desc
            .get("size")
            .and_then(Value::as_u64)
            .is_some_and(|s| s != size)
        {
            bail!(
                "{}: layer {i} blob {digest} is {size} bytes, its descriptor says otherwise",
                self.target
            );
        }
        if diff_id != want_diff_id {
            bail!("{}: layer {i} ({digest}) uncompresses to {diff_id}, the config's diff_id is {want_diff_id}", self.target);
        }
        Ok(delta)
    }
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// An OCI image layout target (`oci:DIR[:TAG]`, or a bare layout directory).
pub struct OciTarget {
    /// The target as given.
    given: String,
}

impl OciTarget {
    /// The target as given.
    pub fn new(target: &str) -> OciTarget {
        OciTarget {
            given: target.to_string(),
        }
    }

    /// The `oci:` name (a bare layout directory gets the prefix).
    fn oci_name(&self) -> String {
        if self.given.starts_with("oci:") {
            self.given.clone()
        } else {
            format!("oci:{}", self.given)
        }
    }
}

impl Target for OciTarget {
    fn kind(&self) -> Kind {
        Kind::Oci
    }

    fn start(&self) -> Start {
        Start::Itself
    }

    fn apply(&self, layer: &Layer, opts: &ApplyOpts) -> Result<Applied> {
        in_place_only(&self.given, opts)?;
        let done = apply_oci(
            &self.oci_name(),
            layer,
            &OciApply {
                dry_run: opts.dry_run,
                platform: opts.platform.clone(),
                new_tag: opts.tag.clone(),
            },
        )?;
        Ok(Applied {
            changes: done.changes,
            written: done.written,
            ..Applied::default()
        })
    }

    fn views(&self, layer: &Layer, opts: &VerifyOpts) -> Result<Vec<View>> {
        verify_oci(&self.oci_name(), layer, opts.platform.as_deref())
    }
}

/// `modlayer verify oci:DIR[:TAG]`: one view per platform.
fn verify_oci(target: &str, layer: &Layer, platform: Option<&str>) -> Result<Vec<View>> {
    let (layout, tag) = Layout::open(target)?;
    let images = layout.images(tag.as_deref(), platform)?;
    images
        .iter()
        .map(|i| layout.verify_image(i, layer))
        .collect()
}

/// Options of `modlayer apply oci:…`.
#[derive(Clone, Debug, Default)]
struct OciApply {
    /// Change nothing; return what would change.
    pub dry_run: bool,
    /// Only this platform of a multi-platform image.
    pub platform: Option<String>,
    /// Write the result under this tag instead of moving the target's tag.
    pub new_tag: Option<String>,
}

/// What an OCI apply did.
#[derive(Clone, Debug, Default)]
struct OciChanges {
    /// What changed (or would), for people.
    pub changes: Vec<String>,
    /// Files written (new blobs, index.json).
    pub written: Vec<PathBuf>,
}

/// `modlayer apply oci:DIR[:TAG]`: append the layer to every (or the chosen) platform's image,
/// write the new blobs and move the tag (or add `new_tag`).
fn apply_oci(target: &str, layer: &Layer, opts: &OciApply) -> Result<OciChanges> {
    let (layout, tag) = Layout::open(target)?;
    let images = layout.images(tag.as_deref(), opts.platform.as_deref())?;
    layout.validate(&images)?;
    let tar = crate::tar::layer_tar(layer);
    let diff_id = digest_of(&tar);
    let gz = crate::tar::gzip_reproducible(&tar);
    let layer_digest = digest_of(&gz);
    let mut changes = Vec::new();
    let mut written = Vec::new();
    let mut patched = 0;
    let mut index = layout.index.clone();
    let mut parent_index: Option<Value> = None;
    let top = images[0].top;
    let mut new_top_desc = index["manifests"][top].clone();
    for image in &images {
        let mut manifest = layout.json_blob(&image.desc)?;
        let top_layer = manifest
            .get("layers")
            .and_then(Value::as_array)
            .and_then(|l| l.last())
            .and_then(|d| d.get("digest"))
            .and_then(Value::as_str);
        let name = image
            .platform
            .clone()
            .unwrap_or_else(|| "image".to_string());
        if top_layer == Some(layer_digest.as_str()) {
            changes.push(format!(
                "{name}: already has the {} layer ({})",
                layer.name,
                short(&layer_digest)
            ));
            continue;
        }
        let docker = manifest.get("mediaType").and_then(Value::as_str) == Some(DOCKER_MANIFEST)
            || image.desc.get("mediaType").and_then(Value::as_str) == Some(DOCKER_MANIFEST);
        let media = if docker {
            DOCKER_LAYER_GZIP
        } else {
            OCI_LAYER_GZIP
        };
        let mut config = layout.json_blob(manifest.get("config").unwrap_or(&Value::Null))?;
        append(&mut config, "/rootfs/diff_ids", json!(diff_id))?;
        let mut history = json!({
            "created_by": format!("modlayer apply --layer {}", layer.name),
            "comment": format!("modlayer: load the {} kernel module at boot", layer.module),
        });
        history["created"] = json!(history_created(&config));
        if config.get("history").is_some_and(Value::is_array) {
            append(&mut config, "/history", history)?;
        } else if config.get("history").is_none() {
            config["history"] = json!([history]);
        }
        let config_bytes = serde_json::to_vec(&config)?;
        append(
            &mut manifest,
            "/layers",
            json!({"mediaType": media, "digest": layer_digest, "size": gz.len()}),
        )?;
        manifest["config"]["digest"] = json!(digest_of(&config_bytes));
        manifest["config"]["size"] = json!(config_bytes.len());
        let manifest_bytes = serde_json::to_vec(&manifest)?;
        changes.push(format!(
            "{name}: add layer {} ({} files), manifest {} -> {}",
            short(&layer_digest),
            layer.files.len(),
            short(
                image
                    .desc
                    .get("digest")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
            short(&digest_of(&manifest_bytes))
        ));
        patched += 1;
        if opts.dry_run {
            continue;
        }
        for blob in [&gz, &config_bytes] {
            let (d, _) = layout.put_blob(blob)?;
            written.push(layout.shown(&layout.blob_path(&d)?));
        }
        let (mdigest, msize) = layout.put_blob(&manifest_bytes)?;
        written.push(layout.shown(&layout.blob_path(&mdigest)?));
        match &image.parent {
            Some((idx, i)) => {
                let idx = parent_index.get_or_insert_with(|| idx.clone());
                idx["manifests"][*i]["digest"] = json!(mdigest);
                idx["manifests"][*i]["size"] = json!(msize);
            }
            None => {
                new_top_desc["digest"] = json!(mdigest);
                new_top_desc["size"] = json!(msize);
            }
        }
    }
    // `--tag` names the result even when the image has the layer already (as `umoci tag` and
    // `skopeo copy` leave the tag asked for); a tag already there is left as it is.
    let tagged_already = |t: &str| {
        index["manifests"].as_array().is_some_and(|ms| {
            ms.iter().any(|m| {
                m.pointer(&format!("/annotations/{}", REF_NAME.replace('/', "~1")))
                    .and_then(Value::as_str)
                    == Some(t)
                    && m.get("digest") == new_top_desc.get("digest")
            })
        })
    };
    let retag = patched == 0 && opts.new_tag.as_deref().is_some_and(|t| !tagged_already(t));
    if retag {
        if let Some(t) = &opts.new_tag {
            changes.push(format!("tag {t}"));
        }
    }
    if opts.dry_run || (patched == 0 && !retag) {
        return Ok(OciChanges { changes, written });
    }
    if let Some(idx) = parent_index {
        let (d, s) = layout.put_blob(&serde_json::to_vec(&idx)?)?;
        written.push(layout.shown(&layout.blob_path(&d)?));
        new_top_desc["digest"] = json!(d);
        new_top_desc["size"] = json!(s);
    }
    let manifests = index["manifests"]
        .as_array_mut()
        .context("index.json manifests")?;
    match &opts.new_tag {
        Some(t) => {
            let mut d = new_top_desc;
            d["annotations"][REF_NAME] = json!(t);
            manifests.retain(|m| {
                m.pointer(&format!("/annotations/{}", REF_NAME.replace('/', "~1")))
                    .and_then(Value::as_str)
                    != Some(t)
            });
            manifests.push(d);
        }
        None => manifests[top] = new_top_desc,
    }
    let mut bytes = serde_json::to_vec(&index)?;
    bytes.push(b'\n');
    layout
        .root
        .write("index.json", &bytes, true)
        .with_context(|| layout.target.clone())?;
    written.push(layout.shown("index.json"));
    Ok(OciChanges { changes, written })
}

fn append(v: &mut Value, pointer: &str, item: Value) -> Result<()> {
    match v.pointer_mut(pointer).and_then(Value::as_array_mut) {
        Some(a) => {
            a.push(item);
            Ok(())
        }
        None => bail!("{pointer} is not a list"),
    }
}

/// The `created` time of the history entry modlayer adds (umoci and others need one), made
/// reproducibly: `SOURCE_DATE_EPOCH` when given, else the newest of the base config's `created`
/// and its history entries' (so history stays in order), else the epoch.
fn history_created(config: &Value) -> String {
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        return rfc3339(epoch);
    }
    let history = config.get("history").and_then(Value::as_array);
    std::iter::once(config.get("created"))
        .chain(history.into_iter().flatten().map(|e| e.get("created")))
        .flatten()
        .filter_map(Value::as_str)
        .max()
        .map_or_else(|| rfc3339(0), str::to_string)
}

/// Seconds since the epoch as an RFC 3339 UTC time.
fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Whether a path is an OCI layout directory (for messages when `oci:` was forgotten).
pub fn is_layout(dir: &Path) -> bool {
    dir.join("oci-layout").is_file() && dir.join("index.json").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            OciRef::parse("oci:img:latest").unwrap(),
            OciRef {
                dir: "img".into(),
                tag: Some("latest".into())
            }
        );
        assert_eq!(
            OciRef::parse("oci:/a/b").unwrap(),
            OciRef {
                dir: "/a/b".into(),
                tag: None
            }
        );
        assert!(OciRef::parse("oci:").is_err());
        assert!(OciRef::parse("docker://x").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
