//! The translation of a Butane source into its Ignition config (and MachineConfig).

use serde_json::{json, Map, Value};

use super::typing::Ctx;
use super::versions::*;
use super::{Local, Source, Variant};
use crate::mco::{API_VERSION, ROLE_LABEL};

/// One translation under way.
pub(super) struct Translator<'s> {
    pub(super) src: &'s Source,
    pub(super) ctx: Ctx<'s>,
    pub(super) local: Local<'s>,
    pub(super) notes: Vec<String>,
    /// Units Butane's sugar generates (`with_mount_unit`).
    pub(super) units: Vec<Value>,
}

impl Translator<'_> {
    pub(super) fn openshift(&self) -> bool {
        self.src.variant == Variant::Openshift
    }

    /// Check the keys of the mapping at `pointer` against `fields`; whether it exists.
    pub(super) fn object(&mut self, pointer: &str, fields: &[(&str, u8)]) -> bool {
        self.ctx
            .object(pointer, fields, self.src.base, &self.src.label)
    }

    /// An error where the variant refuses a section (`directories`, `links`, `groups`).
    pub(super) fn refuse(&mut self, pointer: &str, what: &str) {
        let message = format!("{what} are not supported in this spec version");
        self.ctx.error(pointer, message);
    }

    /// The Ignition config (and, for openshift, the MachineConfig).
    pub(super) fn root(&mut self) -> (Value, Option<Value>) {
        let mut fields: Vec<(&str, u8)> = TOP.to_vec();
        if matches!(self.src.variant, Variant::Fcos | Variant::Openshift) {
            fields.extend([("boot_device", 3), ("grub", 5)]);
        }
        if self.openshift() {
            fields.extend([("metadata", 1), ("openshift", 1)]);
        }
        self.object("", &fields);
        let mut config = Map::new();
        let mut ign = Map::new();
        ign.insert("version".into(), json!(self.src.spec.to_string()));
        self.ignition(&mut ign);
        config.insert("ignition".into(), Value::Object(ign));
        if let Some(k) = self.kernel_arguments() {
            config.insert("kernelArguments".into(), k);
        }
        if let Some(p) = self.passwd() {
            config.insert("passwd".into(), p);
        }
        if let Some(s) = self.storage() {
            config.insert("storage".into(), s);
        }
        if let Some(rendered) = self.boot_device() {
            super::sugar::merge_storage(&mut config, rendered);
        }
        // Butane merges the grub sugar after boot_device's, as the parent of the rest.
        if matches!(self.src.variant, Variant::Fcos | Variant::Openshift) && self.src.base >= 5 {
            if let Some(rendered) = self.grub() {
                super::sugar::merge_storage(&mut config, rendered);
            }
        }
        let own = self.systemd();
        let generated = std::mem::take(&mut self.units);
        if !generated.is_empty() {
            let own_units = own
                .as_ref()
                .and_then(|s| s.get("units"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let units = super::sugar::merge_units(generated, own_units);
            config.insert("systemd".into(), json!({ "units": units }));
        } else if let Some(s) = own {
            config.insert("systemd".into(), s);
        }
        if let Some(layout) = self.ctx.string("/boot_device/layout") {
            let mut known = vec!["aarch64", "ppc64le", "x86_64"];
            if self.src.base >= 6 {
                known.extend(["s390x-eckd", "s390x-virt", "s390x-zfcp"]);
            }
            if !known.contains(&layout.as_str()) {
                let message = "layout must be one of: aarch64, ppc64le, s390x-eckd, s390x-virt, s390x-zfcp, x86_64";
                self.ctx.error("/boot_device/layout", message);
            }
        }
        let mut config = Value::Object(config);
        if self.openshift() && self.ctx.boolean("/openshift/fips") == Some(true) {
            super::sugar::fips_luks(&mut config);
        }
        let mc = self.openshift().then(|| self.machineconfig(&config));
        (config, mc)
    }

    pub(super) fn ignition(&mut self, out: &mut Map<String, Value>) {
        if !self.object("/ignition", IGNITION) {
            return;
        }
        if self.object("/ignition/config", IGNITION_CONFIG) {
            let mut c = Map::new();
            let merges = self.ctx.list("/ignition/config/merge");
            if self.ctx.get("/ignition/config/merge").is_some() {
                let items: Vec<Value> = merges.iter().filter_map(|p| self.resource(p)).collect();
                c.insert("merge".into(), Value::Array(items));
            }
            if let Some(r) = self.resource("/ignition/config/replace") {
                c.insert("replace".into(), r);
            }
            out.insert("config".into(), Value::Object(c));
        }
        if self.object("/ignition/timeouts", TIMEOUTS) {
            let mut t = Map::new();
            for (k, j) in [
                ("http_response_headers", "httpResponseHeaders"),
                ("http_total", "httpTotal"),
            ] {
                if let Some(n) = self.ctx.int(&format!("/ignition/timeouts/{k}")) {
                    t.insert(j.into(), json!(n));
                }
            }
            out.insert("timeouts".into(), Value::Object(t));
        }
        if self.object("/ignition/security", SECURITY) && self.object("/ignition/security/tls", TLS)
        {
            let cas = self
                .ctx
                .list("/ignition/security/tls/certificate_authorities");
            let items: Vec<Value> = cas.iter().filter_map(|p| self.resource(p)).collect();
            out.insert(
                "security".into(),
                json!({"tls": {"certificateAuthorities": items}}),
            );
        }
        if self.object("/ignition/proxy", PROXY) {
            let mut p = Map::new();
            for (k, j) in [("http_proxy", "httpProxy"), ("https_proxy", "httpsProxy")] {
                if let Some(s) = self.ctx.string(&format!("/ignition/proxy/{k}")) {
                    p.insert(j.into(), json!(s));
                }
            }
            if let Some(l) = self.ctx.strings("/ignition/proxy/no_proxy") {
                p.insert("noProxy".into(), Value::Array(l));
            }
            out.insert("proxy".into(), Value::Object(p));
        }
    }

    pub(super) fn kernel_arguments(&mut self) -> Option<Value> {
        if !self.object("/kernel_arguments", KARGS) {
            return None;
        }
        if self.openshift() {
            let message = "this section cannot be used for kernel arguments in this spec version; use openshift.kernel_arguments instead";
            self.ctx.error("/kernel_arguments", message);
        }
        let mut k = Map::new();
        for (b, j) in [
            ("should_exist", "shouldExist"),
            ("should_not_exist", "shouldNotExist"),
        ] {
            if let Some(l) = self.ctx.strings(&format!("/kernel_arguments/{b}")) {
                k.insert(j.into(), Value::Array(l));
            }
        }
        if matches!(self.src.variant, Variant::R4e | Variant::Fiot) {
            self.ctx.error(
                "/kernel_arguments",
                "kernel argument customization is not supported in this spec version",
            );
        }
        Some(Value::Object(k))
    }

    pub(super) fn passwd(&mut self) -> Option<Value> {
        if !self.object("/passwd", PASSWD) {
            return None;
        }
        let mut out = Map::new();
        if self.ctx.get("/passwd/users").is_some() {
            let mut users = Vec::new();
            for p in self.ctx.list("/passwd/users") {
                if self.object(&p, USER) {
                    users.push(self.user(&p));
                }
            }
            out.insert("users".into(), Value::Array(users));
        }
        if self.ctx.get("/passwd/groups").is_some() {
            if self.openshift() {
                self.refuse("/passwd/groups", "groups");
            }
            let mut groups = Vec::new();
            for p in self.ctx.list("/passwd/groups") {
                if self.object(&p, GROUP) {
                    groups.push(self.plain_fields(&p, GROUP));
                }
            }
            out.insert("groups".into(), Value::Array(groups));
        }
        Some(Value::Object(out))
    }

    pub(super) fn user(&mut self, p: &str) -> Value {
        if self.openshift() {
            if self.ctx.string(&format!("{p}/name")).as_deref() != Some("core") {
                self.ctx.error(
                    &format!("{p}/name"),
                    "users other than \"core\" are not supported in this spec version",
                );
            }
            let hash_ok = self.src.release >= 13;
            // Butane checks the translated user: local keys become ssh_authorized_keys.
            let allowed = |k: &str| {
                k == "name"
                    || k == "ssh_authorized_keys"
                    || k == "ssh_authorized_keys_local"
                    || (hash_ok && k == "password_hash")
            };
            let keys: Vec<String> = self
                .ctx
                .get(p)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for k in keys.iter().filter(|k| !allowed(k)) {
                self.ctx.error(&format!("{p}/{k}"), "fields other than \"name\", \"ssh_authorized_keys\", and \"password_hash\" (4.13.0+) are not supported in this spec version");
            }
        }
        let mut user = self.plain_fields(p, USER);
        if let Some(local) = self.ctx.strings(&format!("{p}/ssh_authorized_keys_local")) {
            let keys: Vec<Value> = local
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let ptr = format!("{p}/ssh_authorized_keys_local/{i}");
                    let text = self.read_local(&ptr, f.as_str().unwrap_or(""))?;
                    Some(
                        String::from_utf8_lossy(&text)
                            .lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(|l| json!(l))
                            .collect::<Vec<_>>(),
                    )
                })
                .flatten()
                .collect();
            if let Some(o) = user.as_object_mut() {
                o.remove("sshAuthorizedKeysLocal");
                let list = o.entry("sshAuthorizedKeys").or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.extend(keys);
                }
            }
        }
        user
    }

    /// A mapping whose fields are copied with their names in Ignition's camelCase, typed by
    /// what they hold (lists of strings, booleans, integers, strings).
    pub(super) fn plain_fields(&mut self, p: &str, fields: &[(&str, u8)]) -> Value {
        let mut out = Map::new();
        for (k, _) in fields {
            let ptr = format!("{p}/{k}");
            if self.ctx.get(&ptr).is_none() {
                continue;
            }
            // Typed by the field, as Butane's structs are.
            let value = match *k {
                "uid" | "gid" => self.ctx.int(&ptr).map(|n| json!(n)),
                "no_create_home" | "no_user_group" | "no_log_init" | "system" | "should_exist" => {
                    self.ctx.boolean(&ptr).map(Value::Bool)
                }
                "ssh_authorized_keys" | "groups" | "ssh_authorized_keys_local" => {
                    self.ctx.strings(&ptr).map(Value::Array)
                }
                _ => self.ctx.string(&ptr).map(Value::String),
            };
            if let Some(v) = value {
                out.insert(camel(k), v);
            }
        }
        Value::Object(out)
    }
}

impl Translator<'_> {
    pub(super) fn systemd(&mut self) -> Option<Value> {
        if !self.object("/systemd", SYSTEMD) {
            return None;
        }
        let mut units = Vec::new();
        for p in self.ctx.list("/systemd/units") {
            if !self.object(&p, UNIT) {
                continue;
            }
            let mut u = Map::new();
            if let Some(c) = self.unit_contents(&p) {
                u.insert("contents".into(), json!(c));
            }
            if self.ctx.get(&format!("{p}/dropins")).is_some() {
                let mut dropins = Vec::new();
                for d in self.ctx.list(&format!("{p}/dropins")) {
                    if !self.object(&d, DROPIN) {
                        continue;
                    }
                    let mut o = Map::new();
                    if let Some(c) = self.unit_contents(&d) {
                        o.insert("contents".into(), json!(c));
                    }
                    if let Some(n) = self.ctx.string(&format!("{d}/name")) {
                        o.insert("name".into(), json!(n));
                    }
                    dropins.push(Value::Object(o));
                }
                u.insert("dropins".into(), Value::Array(dropins));
            }
            for k in ["enabled", "mask"] {
                if let Some(b) = self.ctx.boolean(&format!("{p}/{k}")) {
                    u.insert(k.into(), json!(b));
                }
            }
            if let Some(n) = self.ctx.string(&format!("{p}/name")) {
                u.insert("name".into(), json!(n));
            }
            units.push(Value::Object(u));
        }
        Some(json!({ "units": units }))
    }

    /// A unit's or drop-in's contents: `contents`, or the text of `contents_local`.
    pub(super) fn unit_contents(&mut self, p: &str) -> Option<String> {
        let local = format!("{p}/contents_local");
        if self.ctx.get(&local).is_some() {
            if self.ctx.get(&format!("{p}/contents")).is_some() {
                self.ctx.error(
                    &local,
                    "only one of the following can be set: contents, contents_local",
                );
                return None;
            }
            let name = self.ctx.string(&local).unwrap_or_default();
            let bytes = self.read_local(&local, &name)?;
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        self.ctx.string(&format!("{p}/contents"))
    }

    /// The MachineConfig Butane's openshift variant writes around the config.
    pub(super) fn machineconfig(&mut self, config: &Value) -> Value {
        self.object("/metadata", METADATA);
        let name = self.ctx.string("/metadata/name").filter(|n| !n.is_empty());
        if name.is_none() {
            self.ctx
                .error("/metadata/name", "metadata.name is required");
        }
        let mut labels = Map::new();
        if let Some(map) = self.ctx.get("/metadata/labels").and_then(Value::as_object) {
            for k in map.keys() {
                let ptr = format!(
                    "/metadata/labels/{}",
                    crate::formats::json::pointer_token(k)
                );
                if let Some(v) = self.ctx.string(&ptr) {
                    labels.insert(k.clone(), json!(v));
                }
            }
        }
        if labels
            .get(ROLE_LABEL)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            self.ctx.error(
                "/metadata/labels",
                format!("{ROLE_LABEL} label is required"),
            );
        }
        let mut spec = Map::new();
        spec.insert("config".into(), config.clone());
        if self.object("/openshift", OPENSHIFT) {
            if let Some(k) = self.ctx.strings("/openshift/extensions") {
                spec.insert("extensions".into(), Value::Array(k));
            }
            if let Some(f) = self.ctx.boolean("/openshift/fips") {
                spec.insert("fips".into(), json!(f));
            }
            if let Some(k) = self.ctx.strings("/openshift/kernel_arguments") {
                spec.insert("kernelArguments".into(), Value::Array(k));
            }
            if let Some(t) = self.ctx.string("/openshift/kernel_type") {
                if !matches!(t.as_str(), "" | "default" | "realtime") {
                    self.ctx.error(
                        "/openshift/kernel_type",
                        "must be empty, \"default\", or \"realtime\"",
                    );
                }
                spec.insert("kernelType".into(), json!(t));
            }
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": "MachineConfig",
            "metadata": {"labels": labels, "name": name.unwrap_or_default()},
            "spec": spec,
        })
    }
}

/// A Butane field name in Ignition's JSON spelling (`ssh_authorized_keys` -> `sshAuthorizedKeys`).
pub(super) fn camel(name: &str) -> String {
    // Ignition's spelling of Butane's `size_mib` and `start_mib`.
    if let Some(stem) = name.strip_suffix("_mib") {
        return format!("{}MiB", camel(stem));
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A value with every mapping key in Ignition's spelling.
pub(super) fn camel_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (camel(k), camel_keys(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}
