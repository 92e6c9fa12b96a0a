//! Reading manifests into the inventory: files of one or more documents, `List`s, MachineConfigs
//! inside ConfigMaps, MachineConfigPools, the kinds that carry the topology, and the operators'
//! objects.

use super::*;

impl Inventory {
    pub(super) fn read_manifest(
        &mut self,
        m: &Manifest,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
    ) {
        self.read_manifest_at(m, found, pools, 0);
    }

    /// Read one manifest; `depth` counts ConfigMaps whose data carried it (one level is read:
    /// the ZTP / assisted-installer extra-manifests pattern).
    pub(super) fn read_manifest_at(
        &mut self,
        m: &Manifest,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
        depth: usize,
    ) {
        // Manifests that mention none of the kinds read here cannot hold one: skip the parse.
        let mentions = |s: &[u8]| memchr::memmem::find(&m.bytes, s).is_some();
        if !mentions(b"MachineConfig")
            && !mentions(b"Scheduler")
            && !mentions(b"install-config")
            && !mentions(b"SCTP")
            && !TOPOLOGY_KINDS.iter().any(|k| mentions(k.as_bytes()))
            && !crate::mco::operators::mentions(&m.bytes)
        {
            return;
        }
        let file = match McFile::read_at(&m.origin, &m.bytes) {
            Ok(f) => f,
            Err(e) => {
                let code = if e.downcast_ref::<template::Unrendered>().is_some() {
                    Code::TemplateUnrendered
                } else {
                    Code::ManifestUnreadable
                };
                let mut f = Finding::new(code, format!("{e:#}"));
                f.place = e.downcast_ref::<Placed>().map(|p| p.origin.clone());
                self.findings.push(f);
                return;
            }
        };
        for w in file.duplicate_warnings() {
            self.findings.push(Finding::new(Code::DuplicateKey, w));
        }
        self.read_docs(&m.origin, &file, found, pools, depth);
    }

    /// Read the documents of one manifest (at `holder`); `file` reads its MachineConfigs (with
    /// their places) when it holds any.
    pub(super) fn read_docs(
        &mut self,
        holder: &Origin,
        file: &McFile,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
        depth: usize,
    ) {
        let name = &holder.to_string();
        let mut has_mc = false;
        let mut refused: BTreeSet<(usize, String)> = BTreeSet::new();
        let docs = file.documents();
        for (doc, (at, obj)) in docs
            .iter()
            .enumerate()
            .flat_map(|(i, d)| objects(d).into_iter().map(move |o| (i, o)))
        {
            if kind_of(obj) != Some("ConfigMap") || carries_manifests(obj) {
                for r in crate::mco::objects::check(obj) {
                    let pointer = format!("{at}{}", r.pointer);
                    let place = if r.code == Code::UnknownField {
                        file.place_key(doc, &pointer)
                    } else {
                        file.place(doc, &pointer)
                    };
                    if r.code != Code::UnknownField {
                        refused.insert((doc, at.clone()));
                    }
                    self.findings
                        .push(Finding::of(r.code, &Placed::new(place, &r.message)));
                }
            }
            if refused.contains(&(doc, at.clone())) {
                // The API server refuses it: it never reaches the cluster.
                self.refused += 1;
                continue;
            }
            let taken = self.operators.add(holder, obj);
            match kind_of(obj) {
                _ if taken => {}
                Some("MachineConfig") => has_mc = true,
                Some(k) if TOPOLOGY_KINDS.contains(&k) => {
                    if let Some(t) = topology_of(name, k, obj) {
                        self.note_topology(t);
                    }
                }
                Some("MachineConfigPool") => match pool_of(obj) {
                    Ok(p) => pools.push(p),
                    Err(e) => self
                        .findings
                        .push(Finding::new(Code::PoolUnreadable, format!("{name}: {e:#}"))),
                },
                Some("Scheduler") => {
                    if let Some(s) = obj
                        .pointer("/spec/mastersSchedulable")
                        .and_then(Value::as_bool)
                    {
                        self.scheduler = Some(Schedulable {
                            masters: s,
                            why: format!("{name}: spec.mastersSchedulable: {s}"),
                        });
                    }
                }
                Some("ConfigMap") => {
                    let key_at = |key: &str, text: &str| {
                        let pointer =
                            format!("{at}/data/{}", crate::formats::json::pointer_token(key));
                        entry_at(holder, file, doc, &pointer, obj, key, text)
                    };
                    self.read_configmap(&key_at, obj, found, pools, depth)
                }
                Some(other) => {
                    self.workloads.add(name, obj);
                    *self.ignored.entry(other.to_string()).or_default() += 1
                }
                None => {}
            }
        }
        if !has_mc {
            return;
        }
        let configs =
            match file.read_configs_but(|doc, at| refused.contains(&(doc, at.to_string()))) {
                Ok(c) => c,
                Err(e) => {
                    self.findings
                        .push(Finding::new(Code::MachineconfigInvalid, format!("{e:#}")));
                    return;
                }
            };
        for mc in configs
            .iter()
            .filter(|mc| !refused.contains(&(mc.doc, mc.at.clone())))
        {
            let object = file
                .documents()
                .get(mc.doc)
                .and_then(|d| d.pointer(&mc.at))
                .cloned()
                .unwrap_or(Value::Null);
            let f = Found {
                object,
                file: holder.clone(),
                origin: begins_at(holder, file, mc.doc, &mc.at)
                    .object("MachineConfig", mc.name.as_str()),
                problems: file.problems_of(mc),
                mc: mc.clone(),
            };
            if mc.rendered_for.is_some() {
                self.rendered.insert(mc.name.clone(), f);
            } else {
                found.push(f);
            }
        }
    }

    /// A ConfigMap: the install-config it keeps (`cluster-config-v1`), and manifests carried in
    /// its `data` (ZTP SiteConfig / ClusterInstance extra manifests), read as install-time
    /// manifests at `FILE > ConfigMap NS/NAME > data.KEY` (`key_at` gives it for a key and its
    /// text).
    pub(super) fn read_configmap(
        &mut self,
        key_at: &dyn Fn(&str, &str) -> Origin,
        obj: &Value,
        found: &mut Vec<Found>,
        pools: &mut Vec<Pool>,
        depth: usize,
    ) {
        let Some(data) = obj.get("data").and_then(Value::as_object) else {
            return;
        };
        for (key, value) in data {
            let Some(text) = value.as_str() else {
                continue;
            };
            let inner = key_at(key, text);
            let from = inner.to_string();
            if key == "install-config" {
                if let Ok(ic) = first_document(&from, text) {
                    self.install_config = Some(schedulable_from_install_config(&from, &ic));
                    self.note_install_config(&from, &ic);
                }
            } else if depth == 0
                && (text.contains("MachineConfig")
                    || (text.contains("apiVersion")
                        && text.contains("kind")
                        && crate::mco::operators::mentions(text.as_bytes())))
            {
                let carried = Manifest {
                    origin: inner,
                    bytes: text.as_bytes().to_vec(),
                };
                self.read_manifest_at(&carried, found, pools, depth + 1);
            }
        }
    }
}

/// `holder` (a manifest) beginning where the node at `pointer` of its document `doc` is written,
/// when the manifest is a file of its own (its lines are the file's).
fn begins_at(holder: &Origin, file: &McFile, doc: usize, pointer: &str) -> Origin {
    let at = file
        .position(doc, pointer)
        .and_then(|(line, col)| holder.root_position(line, Some(col)));
    match at {
        Some((line, col)) => holder.clone().at_root_line(line, col),
        None => holder.clone(),
    }
}

/// A ConfigMap's (`cm`) entry `key` at `pointer`, holding `text`, as a manifest of its own
/// ([`carried_origin`]): beginning where its text is written, and when that is a literal block
/// (`|`, as ZTP's extra manifests are written) its lines and columns are the holder's, so places
/// in it map to the user's file.
fn entry_at(
    holder: &Origin,
    file: &McFile,
    doc: usize,
    pointer: &str,
    cm: &Value,
    key: &str,
    text: &str,
) -> Origin {
    let inner = carried_origin(holder, cm, key);
    let literal = file.style(doc, pointer) == Some(crate::formats::yaml::Style::Literal)
        && !text.starts_with(['\n', '\r']);
    let at = file
        .position(doc, pointer)
        .and_then(|(line, col)| holder.root_position(line, Some(col)));
    match at {
        Some((line, col)) if literal => inner.continuing_root_at(line, col),
        Some((line, col)) => inner.at_root_line(line, col),
        None => inner,
    }
}

/// Where a ConfigMap's `data.KEY` is: `HOLDER > ConfigMap NS/NAME > data.KEY` (`HOLDER >
/// data.KEY` for a ConfigMap without a name).
pub fn carried_origin(holder: &Origin, cm: &Value, key: &str) -> Origin {
    let key = format!("data.{key}");
    let Some(name) = cm.pointer("/metadata/name").and_then(Value::as_str) else {
        return holder.inner(key);
    };
    let object = match cm.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    holder.object("ConfigMap", object).inner(key)
}

/// Whether a ConfigMap carries what modlayer reads: an install-config, or manifests holding
/// MachineConfigs in its data.
pub(super) fn carries_manifests(cm: &Value) -> bool {
    cm.get("data").and_then(Value::as_object).is_some_and(|d| {
        d.iter().any(|(k, v)| {
            k == "install-config" || v.as_str().is_some_and(|t| t.contains("MachineConfig"))
        })
    })
}

pub(super) fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind").and_then(Value::as_str)
}

/// A MachineConfigPool document as a [`Pool`]: the role values of its machineConfigSelector
/// (`matchLabels` and `matchExpressions` with operator `In`).
pub(super) fn pool_of(doc: &Value) -> Result<Pool> {
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .context("a MachineConfigPool needs metadata.name")?
        .to_string();
    let selector = doc.pointer("/spec/machineConfigSelector");
    let mut roles = Vec::new();
    if let Some(r) = selector
        .and_then(|s| s.pointer("/matchLabels"))
        .and_then(|l| l.get(ROLE_LABEL))
        .and_then(Value::as_str)
    {
        roles.push(r.to_string());
    }
    let exprs = selector
        .and_then(|s| s.get("matchExpressions"))
        .and_then(Value::as_array);
    for e in exprs.into_iter().flatten() {
        if e.get("key").and_then(Value::as_str) == Some(ROLE_LABEL)
            && e.get("operator").and_then(Value::as_str) == Some("In")
        {
            let values = e.get("values").and_then(Value::as_array);
            roles.extend(
                values
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    if roles.is_empty() {
        bail!("MachineConfigPool {name}: spec.machineConfigSelector selects no {ROLE_LABEL} value");
    }
    roles.dedup();
    let current = doc
        .pointer("/status/configuration/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let node_selector = doc
        .pointer("/spec/nodeSelector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_else(|| role_selector(&name));
    Ok(Pool {
        name,
        roles,
        current,
        node_selector,
    })
}

/// The first non-empty document of a YAML or JSON text.
pub fn first_document(name: &str, text: &str) -> Result<Value> {
    documents(name, text.as_bytes())?
        .into_iter()
        .find(|d| !d.is_null())
        .with_context(|| format!("{name}: empty"))
}
