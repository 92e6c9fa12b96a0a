//! Operators and workloads that decide a module on a node besides MachineConfigs.
//!
//! Boot-time channels become the MachineConfigs their operator renders, fed into the one pool
//! render ([`crate::mco::inventory`]); run-time channels become [`RuntimeLoader`]s, reported as
//! what they are (the module is loaded after a pod or an operator runs, not at boot).
//!
//! Facts relied on (openshift/cluster-node-tuning-operator, commit
//! d2394aa81ffe6a5411a674128995979956f40193):
//! - A PerformanceProfile `P` renders the MachineConfig `50-performance-P`
//!   (`components/machineconfig/machineconfig.go` `GetMachineConfigName`: `50-` + `performance-P`),
//!   labelled with `spec.machineConfigLabel`, or else `machineconfiguration.openshift.io/role: R`
//!   where `node-role.kubernetes.io/R` is the first key of `spec.nodeSelector`
//!   (`components/profile/profile.go` `GetMachineConfigLabel`). It carries units, files and the
//!   kernel type, no kernel arguments.
//! - The profile's kernel arguments go through the Tuned `openshift-node-performance-P`
//!   (`components/tuned/tuned.go`: priority 20, `machineConfigLabels` = the labels above;
//!   `additionalKernelArgs` joined by spaces into `cmdline_additionalArg=+...` of its `[bootloader]`
//!   section, `assets/performanceprofile/tuned/openshift-node-performance`).
//! - A Tuned recommend with `machineConfigLabels` makes the operator create the MachineConfig
//!   `50-nto-<pool>` (`pkg/operator/mc.go`: prefix `50-nto`, `GetMachineConfigNameForPools`: the
//!   first by name of the pools whose `machineConfigSelector` matches the labels), with exactly
//!   those labels and `spec.kernelArguments` = the profile's boot command line split in words
//!   (`pkg/operator/controller.go` `syncMachineConfig`); none when the command line is empty; none
//!   either when the labels match several pools ("not supported").
//! - Of the recommends that match, the lowest `priority` wins ("Highest priority is 0",
//!   `pkg/apis/tuned/v1/tuned_types.go`).
//!
//! TuneD's `[bootloader]` options whose names start with `cmdline` make the command line; a value
//! starting with `+` adds to what an included profile set under that name, `-` removes words from
//! it, anything else replaces it. TuneD's `[modules]` plugin writes module options and loads the
//! module with modprobe when the profile is applied (redhat-performance/tuned
//! `tuned/plugins/plugin_modules.py`: "Load module `netrom` with module parameter").
//!
//! The Kernel Module Management operator's `Module` (`kmm.sigs.x-k8s.io/v1beta1`) loads
//! `spec.moduleLoader.container.modprobe.moduleName` through a worker pod on the nodes
//! `spec.selector` matches, after unloading `inTreeModulesToRemove` (container level or per
//! kernel mapping; the older `inTreeModuleToRemove` string).
//!
//! Its day-1 path, the `BootModuleConfig` (`kmm.sigs.x-k8s.io/v1beta1`; rh-ecosystem-edge/
//! kernel-module-management 0419e2f0, `api/v1beta1/bootmoduleconfig_types.go`,
//! `internal/mcfg/mcfg.go`, `internal/controllers/bmc_reconciler.go`), makes the controller create
//! or patch the MachineConfig `spec.machineConfigName`: its role label becomes
//! `spec.machineConfigPoolName` and its whole `spec.config` an Ignition 3.2.0 config of KMM's
//! (units `<machineConfigName>-replace-kernel-module.service`, ordered before
//! `network-pre.target` and wanted by `multi-user.target`, and `…-pull-kernel-module-image.service`,
//! with scripts under `/usr/local/bin`). At boot, once the pull unit has fetched the image (so from
//! the boot after the first), the replace unit runs KMM's worker, which removes
//! `spec.inTreeModulesToRemove` and loads `spec.kernelModuleName` with `modprobe -d /opt` from the
//! image. modlayer renders that MachineConfig with one unit of that name whose commands are that
//! effect (`rmmod` each in-tree module, then `modprobe -d /opt NAME`), so the one evaluation judges
//! it; KMM's scripts themselves are not reproduced. A MachineConfig of that name in the input is
//! taken as KMM's output already (it is not rendered again).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::findings::{Code, Finding};
use crate::mco::file::MachineConfig;
use crate::mco::{API_VERSION, ROLE_LABEL};
use crate::node::rules::{module_command, simple_commands, ModuleAction};
use crate::node::{evaluate, Content, Entry, NodeView};
use crate::origin::Origin;
use crate::workloads::{pod_spec, pod_workload, string_map, Workload};

/// Byte strings whose presence makes a manifest worth parsing for this module.
pub const MENTIONS: &[&[u8]] = &[
    b"performance.openshift.io",
    b"tuned.openshift.io",
    b"kmm.sigs.x-k8s.io",
    b"modprobe",
    b"insmod",
    b"rmmod",
    b"privileged",
    b"SYS_MODULE",
];

/// Whether a text may hold one of the objects read here.
pub fn mentions(bytes: &[u8]) -> bool {
    MENTIONS
        .iter()
        .any(|m| memchr::memmem::find(bytes, m).is_some())
}

/// Where a run-time loader runs.
#[derive(Clone, Debug)]
pub enum Landing {
    /// Where pods of this shape can be scheduled.
    Pods(Workload),
    /// On the nodes of these pools.
    Pools(Vec<String>),
}

/// Something that loads (or removes) modules after the node has booted.
#[derive(Clone, Debug)]
pub struct RuntimeLoader {
    /// What it is, for people (`DaemonSet/ns/name container c`, `KMM Module ns/name`).
    pub who: String,
    /// The manifest it is in.
    pub file: Origin,
    /// What the command does.
    pub action: ModuleAction,
    /// The modules it acts on, as given.
    pub modules: Vec<String>,
    /// The command as one line (`modprobe sctp`).
    pub command: String,
    /// Why it can or cannot do it (privileges), when it is a container of the input.
    pub privilege: Option<(bool, String)>,
    /// Where it runs.
    pub landing: Landing,
}

/// A MachineConfig an operator renders, with the object it would create.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The MachineConfig as the render reads it.
    pub mc: MachineConfig,
    /// The object the operator would create.
    pub object: Value,
    /// The manifest of the object it comes from.
    pub file: Origin,
    /// `FILE > PerformanceProfile P > MachineConfig NAME (rendered by the Node Tuning Operator)`.
    pub origin: Origin,
}

#[derive(Clone, Debug)]
struct TunedProfile {
    /// What defines it (`Tuned ns/name (FILE)`, `PerformanceProfile P (FILE)`).
    owner: String,
    data: String,
}

#[derive(Clone, Debug)]
struct Recommend {
    profile: String,
    priority: i64,
    labels: BTreeMap<String, String>,
    owner: String,
    file: Origin,
}

/// The operators' objects and the run-time loaders of some manifests.
#[derive(Clone, Debug, Default)]
pub struct Operators {
    /// PerformanceProfiles: (name, labels, file).
    profiles: Vec<(String, BTreeMap<String, String>, Origin)>,
    tuned: BTreeMap<String, TunedProfile>,
    recommends: Vec<Recommend>,
    /// Pod-bearing objects (read once ConfigMaps are known).
    pods: Vec<(Origin, Value)>,
    kmm: Vec<(Origin, Value)>,
    /// KMM BootModuleConfigs: (file, object).
    boot_modules: Vec<(Origin, Value)>,
    /// ConfigMaps by (namespace, name): their data.
    configmaps: BTreeMap<(String, String), BTreeMap<String, String>>,
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn ns_name(obj: &Value) -> (String, String) {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    (ns.to_string(), str_at(obj, "/metadata/name").to_string())
}

impl Operators {
    /// Take one object of a manifest `file`; `true` when it is one of the kinds read here
    /// (PerformanceProfile, Tuned, KMM Module); pod-bearing objects and ConfigMaps are kept too,
    /// but the caller reads them as well (`false`).
    pub fn add(&mut self, file: &Origin, obj: &Value) -> bool {
        let kind = str_at(obj, "/kind");
        let api = str_at(obj, "/apiVersion");
        match kind {
            "PerformanceProfile" if api.starts_with("performance.openshift.io/") => {
                self.add_performance_profile(file, obj);
                true
            }
            "Tuned" if api.starts_with("tuned.openshift.io/") => {
                self.add_tuned(file, obj);
                true
            }
            "Module" if api.starts_with("kmm.sigs.x-k8s.io/") => {
                self.kmm.push((file.clone(), obj.clone()));
                true
            }
            "BootModuleConfig" if api.starts_with("kmm.sigs.x-k8s.io/") => {
                self.boot_modules.push((file.clone(), obj.clone()));
                true
            }
            "ConfigMap" => {
                let data = string_map(obj.get("data"));
                self.configmaps.insert(ns_name(obj), data);
                false
            }
            _ => {
                if pod_spec(obj).is_some() {
                    self.pods.push((file.clone(), obj.clone()));
                }
                false
            }
        }
    }

    fn add_performance_profile(&mut self, file: &Origin, obj: &Value) {
        let name = str_at(obj, "/metadata/name").to_string();
        let labels = match obj.pointer("/spec/machineConfigLabel") {
            Some(l) if l.is_object() => string_map(Some(l)),
            _ => {
                // The first key of spec.nodeSelector, `node-role.kubernetes.io/<role>`.
                let first = obj
                    .pointer("/spec/nodeSelector")
                    .and_then(Value::as_object)
                    .and_then(|m| m.keys().next().cloned())
                    .unwrap_or_default();
                let role = first.rsplit('/').next().unwrap_or("").to_string();
                BTreeMap::from([(ROLE_LABEL.to_string(), role)])
            }
        };
        let args: Vec<String> = obj
            .pointer("/spec/additionalKernelArgs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let owner = format!("PerformanceProfile {name} ({file})");
        let profile = format!("openshift-node-performance-{name}");
        let data = if args.is_empty() {
            String::new()
        } else {
            format!("[bootloader]\ncmdline_additionalArg=+{}\n", args.join(" "))
        };
        self.tuned.insert(
            profile.clone(),
            TunedProfile {
                owner: owner.clone(),
                data,
            },
        );
        self.recommends.push(Recommend {
            profile,
            priority: 20,
            labels: labels.clone(),
            owner,
            file: file.object("PerformanceProfile", name.as_str()),
        });
        self.profiles.push((name, labels, file.clone()));
    }

    fn add_tuned(&mut self, file: &Origin, obj: &Value) {
        let (ns, name) = ns_name(obj);
        let owner = format!("Tuned {ns}/{name} ({file})");
        for p in obj
            .pointer("/spec/profile")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let pname = str_at(p, "/name");
            if pname.is_empty() {
                continue;
            }
            self.tuned.insert(
                pname.to_string(),
                TunedProfile {
                    owner: owner.clone(),
                    data: str_at(p, "/data").to_string(),
                },
            );
        }
        for r in obj
            .pointer("/spec/recommend")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let labels = string_map(r.get("machineConfigLabels"));
            if labels.is_empty() || str_at(r, "/profile").is_empty() {
                // Only machineConfigLabels recommends make MachineConfigs; match rules pick
                // nodes one by one, which manifests cannot show.
                continue;
            }
            self.recommends.push(Recommend {
                profile: str_at(r, "/profile").to_string(),
                priority: r
                    .get("priority")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX),
                labels,
                owner: owner.clone(),
                file: file.object("Tuned", format!("{ns}/{name}")),
            });
        }
    }

    /// The MachineConfigs the Node Tuning Operator renders for these pools (name and the
    /// role-label values each pool's machineConfigSelector takes), except names in `existing`
    /// (the input holds the operator's own output then); the findings of the way; and the
    /// run-time loaders of the TuneD profiles chosen (their `[modules]`).
    pub fn render(
        &self,
        pools: &[(String, Vec<String>)],
        existing: &BTreeSet<String>,
    ) -> (Vec<Rendered>, Vec<Finding>, Vec<RuntimeLoader>) {
        let mut out = Vec::new();
        let mut findings = Vec::new();
        let mut loaders = Vec::new();
        for (name, labels, file) in &self.profiles {
            let mc_name = format!("50-performance-{name}");
            if existing.contains(&mc_name) {
                continue;
            }
            let origin = file
                .object("PerformanceProfile", name.as_str())
                .object("MachineConfig", mc_name.as_str())
                .with_words("(rendered by the Node Tuning Operator)");
            out.push(rendered(&mc_name, labels, Vec::new(), file, origin));
        }
        for (file, obj) in &self.boot_modules {
            match boot_module_rendered(file, obj) {
                Some(r) if !existing.contains(&r.mc.name) => out.push(r),
                Some(_) => {}
                None => findings.push(Finding::new(
                    Code::OperatorLabelsMatchNoPool,
                    format!(
                        "KMM BootModuleConfig {}/{} ({file}): no spec.machineConfigName: KMM writes no MachineConfig",
                        ns_name(obj).0,
                        ns_name(obj).1
                    ),
                )),
            }
        }
        // The pool each recommend's labels reach.
        let mut by_pool: BTreeMap<String, Vec<&Recommend>> = BTreeMap::new();
        for r in &self.recommends {
            let role = r.labels.get(ROLE_LABEL).cloned().unwrap_or_default();
            let mut matching: Vec<&str> = pools
                .iter()
                .filter(|(_, roles)| roles.contains(&role))
                .map(|(n, _)| n.as_str())
                .collect();
            if matching.is_empty() && !role.is_empty() {
                // A role no pool of the input selects: the custom pool it names.
                matching.push(role.as_str());
            }
            matching.sort();
            match matching.as_slice() {
                [] => findings.push(Finding::new(
                    Code::OperatorLabelsMatchNoPool,
                    format!(
                        "{}: profile {} has machineConfigLabels without {ROLE_LABEL}: no pool takes them, the Node Tuning Operator renders nothing",
                        r.owner, r.profile
                    ),
                )),
                [one] => by_pool.entry(one.to_string()).or_default().push(r),
                several => findings.push(Finding::new(
                    Code::OperatorLabelsMatchNoPool,
                    format!(
                        "{}: profile {}'s machineConfigLabels match pools {}: the Node Tuning Operator renders no MachineConfig for labels matching several pools (\"not supported\")",
                        r.owner,
                        r.profile,
                        several.join(", ")
                    ),
                )),
            }
        }
        for (pool, mut recs) in by_pool {
            recs.sort_by_key(|r| r.priority);
            let Some(win) = recs.first() else { continue };
            let mut chain = Vec::new();
            let resolved = self.resolve(&win.profile, &mut chain, 0);
            let args: Vec<String> = resolved
                .cmdline
                .values()
                .flatten()
                .filter(|a| !a.is_empty())
                .cloned()
                .collect();
            let with = if chain.len() > 1 {
                format!(" (with {})", chain[1..].join(", "))
            } else {
                String::new()
            };
            let from = format!("{} profile {}{with}", win.owner, win.profile);
            let mc_name = format!("50-nto-{pool}");
            if !args.is_empty() && !existing.contains(&mc_name) {
                let origin = win
                    .file
                    .inner(format!("profile {}{with}", win.profile))
                    .object("MachineConfig", mc_name.as_str())
                    .with_words("(rendered by the Node Tuning Operator)");
                out.push(rendered(&mc_name, &win.labels, args, &win.file, origin));
            }
            for (module, options) in resolved.modules {
                loaders.push(RuntimeLoader {
                    who: format!("TuneD [modules] of {from}"),
                    file: win.file.clone(),
                    action: ModuleAction::Modprobe {
                        blacklist: false,
                        install: true,
                    },
                    modules: vec![module.clone()],
                    command: format!("modprobe {module} {options}")
                        .trim_end()
                        .to_string(),
                    privilege: None,
                    landing: Landing::Pools(vec![pool.clone()]),
                });
            }
        }
        (out, findings, loaders)
    }

    /// A TuneD profile with its includes: its command line by option name, its modules.
    fn resolve(&self, name: &str, chain: &mut Vec<String>, depth: usize) -> Resolved {
        let mut r = Resolved::default();
        let Some(p) = self.tuned.get(name) else {
            return r;
        };
        if depth > 8 || chain.iter().any(|c| c.split(' ').next() == Some(name)) {
            return r;
        }
        chain.push(format!("{name} of {}", p.owner));
        let ini = parse_ini(&p.data);
        if let Some(main) = ini.get("main") {
            for (k, v) in main {
                if k == "include" {
                    for inc in v.split([',', ';']).map(str::trim) {
                        if !inc.is_empty() && !inc.contains("${") {
                            let sub = self.resolve(inc, chain, depth + 1);
                            r.merge(sub);
                        }
                    }
                }
            }
        }
        if let Some(bl) = ini.get("bootloader") {
            for (k, v) in bl {
                if !k.starts_with("cmdline") {
                    continue;
                }
                let words = |s: &str| -> Vec<String> {
                    crate::node::split_kernel_args(s.trim())
                        .into_iter()
                        .filter(|w| !w.is_empty())
                        .collect()
                };
                if let Some(add) = v.strip_prefix('+') {
                    r.cmdline.entry(k.clone()).or_default().extend(words(add));
                } else if let Some(del) = v.strip_prefix('-') {
                    let del = words(del);
                    if let Some(cur) = r.cmdline.get_mut(k) {
                        cur.retain(|w| !del.contains(w));
                    }
                } else {
                    r.cmdline.insert(k.clone(), words(v));
                }
            }
        }
        if let Some(m) = ini.get("modules") {
            for (k, v) in m {
                r.modules.insert(k.clone(), v.clone());
            }
        }
        r
    }

    /// The run-time loaders: containers of pod-bearing objects that run modprobe, insmod or
    /// rmmod (in their command, their args, or a script of a ConfigMap they mount), and KMM
    /// Modules.
    pub fn loaders(&self) -> Vec<RuntimeLoader> {
        let mut out = Vec::new();
        for (file, obj) in &self.pods {
            self.pod_loaders(file, obj, &mut out);
        }
        for (file, obj) in &self.kmm {
            kmm_loaders(file, obj, &mut out);
        }
        out
    }

    fn pod_loaders(&self, file: &Origin, obj: &Value, out: &mut Vec<RuntimeLoader>) {
        let (Some(spec), Some(workload)) = (pod_spec(obj), pod_workload(&file.to_string(), obj))
        else {
            return;
        };
        let (ns, _) = ns_name(obj);
        let volumes: Vec<&Value> = spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let volume = |name: &str| {
            volumes
                .iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
                .copied()
        };
        let host_modules = |c: &Value| {
            c.get("volumeMounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|m| {
                    volume(str_at(m, "/name")).is_some_and(|v| {
                        matches!(
                            str_at(v, "/hostPath/path").trim_end_matches('/'),
                            "/lib/modules" | "/usr/lib/modules" | "/lib" | "/usr/lib" | "/usr" | ""
                        ) && v.pointer("/hostPath").is_some()
                    })
                })
        };
        for list in ["initContainers", "containers"] {
            for c in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let argv: Vec<String> = ["command", "args"]
                    .iter()
                    .flat_map(|k| {
                        c.get(*k)
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect();
                let mut commands = simple_commands(&argv);
                // Scripts of mounted ConfigMaps that the command names.
                let joined = argv.join(" ");
                for m in c
                    .get("volumeMounts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let mount = str_at(m, "/mountPath").trim_end_matches('/');
                    let Some(v) = volume(str_at(m, "/name")) else {
                        continue;
                    };
                    let cm = str_at(v, "/configMap/name");
                    if cm.is_empty() || mount.is_empty() || !joined.contains(mount) {
                        continue;
                    }
                    let Some(data) = self.configmaps.get(&(ns.clone(), cm.to_string())) else {
                        continue;
                    };
                    for (key, text) in data {
                        if joined.contains(&format!("{mount}/{key}")) || !joined.contains('/') {
                            let script = ["sh".to_string(), "-c".to_string(), text.clone()];
                            commands.extend(simple_commands(&script));
                        }
                    }
                }
                let privileged = c.pointer("/securityContext/privileged") == Some(&json!(true));
                let sys_module = c
                    .pointer("/securityContext/capabilities/add")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter()
                            .any(|x| matches!(x.as_str(), Some("SYS_MODULE" | "CAP_SYS_MODULE")))
                    });
                let privilege = if privileged {
                    (true, "privileged".to_string())
                } else if sys_module && host_modules(c) {
                    (true, "SYS_MODULE with the host's /lib/modules".to_string())
                } else if sys_module {
                    (
                        false,
                        "SYS_MODULE but not the host's /lib/modules".to_string(),
                    )
                } else {
                    (false, "neither privileged nor SYS_MODULE".to_string())
                };
                let cname = str_at(c, "/name");
                for cmd in commands {
                    let cmd = host_command(cmd);
                    if let Some((action, modules)) = module_command(&cmd) {
                        if modules.is_empty() {
                            continue;
                        }
                        out.push(RuntimeLoader {
                            who: format!("{} container {cname}", workload.id),
                            file: file.clone(),
                            action,
                            modules,
                            command: cmd.join(" "),
                            privilege: Some(privilege.clone()),
                            landing: Landing::Pods(workload.clone()),
                        });
                    }
                }
            }
        }
    }
}

/// The command a container runs on the host: `chroot /host CMD...` and `nsenter [OPTIONS] [--]
/// CMD...` (how privileged pods reach the host's modprobe) run CMD. An nsenter without `--` whose
/// options take values (`-t 1`) is not told apart: its command is missed, never misread.
fn host_command(cmd: Vec<String>) -> Vec<String> {
    let program = cmd.first().map(|p| p.rsplit('/').next().unwrap_or(p));
    match program {
        Some("chroot") => {
            // chroot [--userspec=U] [--groups=G] NEWROOT [COMMAND...]
            let rest: Vec<String> = cmd[1..]
                .iter()
                .skip_while(|a| a.starts_with('-'))
                .skip(1)
                .cloned()
                .collect();
            host_command(rest)
        }
        Some("nsenter") => {
            let rest = &cmd[1..];
            let start = rest
                .iter()
                .position(|a| a == "--")
                .map(|i| i + 1)
                .or_else(|| rest.iter().position(|a| !a.starts_with('-')))
                .unwrap_or(rest.len());
            host_command(rest[start..].to_vec())
        }
        _ => cmd,
    }
}

/// A KMM Module: its worker loads `moduleName` on the nodes its selector matches, after
/// removing the in-tree modules it names.
fn kmm_loaders(file: &Origin, obj: &Value, out: &mut Vec<RuntimeLoader>) {
    let (ns, name) = ns_name(obj);
    let container = obj
        .pointer("/spec/moduleLoader/container")
        .cloned()
        .unwrap_or(Value::Null);
    let pod = json!({
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "nodeSelector": obj.pointer("/spec/selector").cloned().unwrap_or(json!({})),
            "tolerations": obj.pointer("/spec/tolerations").cloned().unwrap_or(json!([])),
        },
    });
    let Some(workload) = pod_workload(&file.to_string(), &pod) else {
        return;
    };
    let who = format!("KMM Module {ns}/{name}");
    let mut remove: Vec<String> = Vec::new();
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    remove.extend(list(container.get("inTreeModulesToRemove")));
    if let Some(one) = container
        .get("inTreeModuleToRemove")
        .and_then(Value::as_str)
    {
        remove.push(one.to_string());
    }
    for km in container
        .get("kernelMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        remove.extend(list(km.get("inTreeModulesToRemove")));
        if let Some(one) = km.get("inTreeModuleToRemove").and_then(Value::as_str) {
            remove.push(one.to_string());
        }
    }
    remove.sort();
    remove.dedup();
    if !remove.is_empty() {
        out.push(RuntimeLoader {
            who: format!("{who} (inTreeModulesToRemove)"),
            file: file.clone(),
            action: ModuleAction::Remove,
            command: format!("modprobe -r {}", remove.join(" ")),
            modules: remove,
            privilege: None,
            landing: Landing::Pods(workload.clone()),
        });
    }
    let module = str_at(&container, "/modprobe/moduleName");
    if !module.is_empty() {
        out.push(RuntimeLoader {
            who: format!("{who} (its worker pod)"),
            file: file.clone(),
            action: ModuleAction::Modprobe {
                blacklist: false,
                install: true,
            },
            modules: vec![module.to_string()],
            command: format!("modprobe {module}"),
            privilege: None,
            landing: Landing::Pods(workload),
        });
    }
}

/// The unit that stands in for a run-time loader when asking the one evaluation whether the
/// node's blocks stop its command (it is never part of a verdict).
const PROBE_UNIT: &str = "/run/systemd/system/modlayer-runtime-probe.service";

/// What a run-time loader does to `layer`'s module on pool `pool` (whose nodes will see `node`
/// at boot; `pools` are all the pools it runs on): [`Code::RuntimeUnload`] for a removal; for a
/// load, [`Code::RuntimeLoader`] when the module is loaded at boot already, else
/// [`Code::RuntimeLoaderOnly`], saying whether the node's blocks stop its command (asked of the
/// one evaluation, with a unit running the same command standing in for it).
pub fn judge(
    l: &RuntimeLoader,
    pools: &[String],
    pool: &str,
    node: &NodeView,
    layer: &crate::layer::Layer,
) -> Finding {
    let m = &layer.module;
    let runs_on = pools.join(", ");
    if l.action == ModuleAction::Remove {
        return Finding::new(
            Code::RuntimeUnload,
            format!(
                "{} ({}) unloads {m} at run time (`{}`) on pool {pool} (it runs on: {runs_on}): after it runs, {m} is not loaded, whatever the boot loaded",
                l.who, l.file, l.command
            ),
        );
    }
    let mut probe = node.clone();
    probe.files.insert(
        PROBE_UNIT.to_string(),
        Entry {
            content: Content::File {
                bytes: format!("[Service]\nExecStart={}\n", l.command).into_bytes(),
                mode: Some(0o644),
            },
            origin: Origin::note(l.who.as_str()),
        },
    );
    probe.files.insert(
        "/run/systemd/system/multi-user.target.wants/modlayer-runtime-probe.service".to_string(),
        Entry {
            content: Content::Link(PROBE_UNIT.to_string()),
            origin: Origin::note(l.who.as_str()),
        },
    );
    let ev = evaluate(&probe, m);
    let stop = match &l.privilege {
        Some((false, why)) => format!(
            "it cannot load it: the container is {why} (loading a module needs privileged, or SYS_MODULE with the host's /lib/modules)"
        ),
        _ if ev.enabled() => {
            let ignored: Vec<String> = ev
                .notes
                .iter()
                .filter(|n| n.code == Code::BlockBypassed)
                .map(|n| {
                    n.path
                        .clone()
                        .or_else(|| n.origin.as_ref().map(Origin::to_string))
                        .unwrap_or_else(|| "?".into())
                })
                .collect();
            if ignored.is_empty() {
                "nothing on the node stops it".to_string()
            } else {
                format!(
                    "nothing on the node stops it: an explicit modprobe ignores blacklist lines and `modprobe.blacklist=` (ignored: {})",
                    ignored.join("; ")
                )
            }
        }
        _ => {
            let blocks: Vec<String> = ev
                .blocks
                .iter()
                .chain(&ev.unknown)
                .map(|b| format!("{} [{}]", b.message, b.code))
                .collect();
            format!(
                "it is stopped too: {} (`install` lines, `module_blacklist=` and a missing module stop an explicit modprobe)",
                blocks.join("; ")
            )
        }
    };
    let at_boot = crate::node::verdict(node, layer).enabled;
    if at_boot {
        Finding::new(
            Code::RuntimeLoader,
            format!(
                "{} ({}) also loads {m} at run time (`{}`) on pool {pool} (it runs on: {runs_on}); {m} is loaded at boot already; {stop}",
                l.who, l.file, l.command
            ),
        )
    } else {
        Finding::new(
            Code::RuntimeLoaderOnly,
            format!(
                "{} ({}) loads {m} only at run time (`{}`), after its pod runs on pool {pool} (it runs on: {runs_on}); {stop}; verify judges what loads {m} at boot, so pool {pool} stays NOT enabled",
                l.who, l.file, l.command
            ),
        )
    }
}

#[derive(Default)]
struct Resolved {
    /// `cmdline*` option -> words.
    cmdline: BTreeMap<String, Vec<String>>,
    /// `[modules]` module -> options.
    modules: BTreeMap<String, String>,
}

impl Resolved {
    fn merge(&mut self, other: Resolved) {
        for (k, v) in other.cmdline {
            self.cmdline.insert(k, v);
        }
        self.modules.extend(other.modules);
    }
}

/// A TuneD profile (INI): sections of `key=value` lines, `#` comments; section and key order kept.
fn parse_ini(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(s) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.trim().to_string();
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The MachineConfig KMM's BootModuleConfig controller writes for `obj`, its worker's effect as
/// unit commands (see the module's documentation); `None` without `spec.machineConfigName`.
fn boot_module_rendered(file: &Origin, obj: &Value) -> Option<Rendered> {
    let (ns, name) = ns_name(obj);
    let mc_name = str_at(obj, "/spec/machineConfigName");
    if mc_name.is_empty() {
        return None;
    }
    let pool = str_at(obj, "/spec/machineConfigPoolName");
    let module = str_at(obj, "/spec/kernelModuleName");
    let image = str_at(obj, "/spec/kernelModuleImage");
    let mut exec = String::new();
    for m in obj
        .pointer("/spec/inTreeModulesToRemove")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        exec.push_str(&format!("ExecStart=rmmod {m}\n"));
    }
    if !module.is_empty() {
        exec.push_str(&format!("ExecStart=modprobe -d /opt {module}\n"));
    }
    let unit = format!(
        "[Unit]\nDescription=KMM worker of BootModuleConfig {ns}/{name} (as modlayer models it): in-tree modules removed, {module} loaded from {image}\nBefore=network-pre.target\nDefaultDependencies=no\n[Service]\nType=oneshot\n{exec}[Install]\nWantedBy=multi-user.target\n"
    );
    let config = json!({
        "ignition": {"version": "3.2.0"},
        "systemd": {"units": [{
            "name": format!("{mc_name}-replace-kernel-module.service"),
            "enabled": true,
            "contents": unit,
        }]},
    });
    let spec = crate::ignition::spec_of(&config).ok()?;
    let labels: BTreeMap<String, String> = if pool.is_empty() {
        BTreeMap::new()
    } else {
        BTreeMap::from([(ROLE_LABEL.to_string(), pool.to_string())])
    };
    let origin = file
        .object("BootModuleConfig", format!("{ns}/{name}"))
        .object("MachineConfig", mc_name)
        .with_words("(rendered by KMM; its worker runs once the module image is pulled, from the boot after the first)");
    let mut r = rendered(mc_name, &labels, Vec::new(), file, origin);
    r.object["spec"] = json!({ "config": config });
    r.mc.config = Some((config, spec));
    Some(r)
}

fn rendered(
    name: &str,
    labels: &BTreeMap<String, String>,
    args: Vec<String>,
    file: &Origin,
    origin: Origin,
) -> Rendered {
    let object = json!({
        "apiVersion": API_VERSION,
        "kind": "MachineConfig",
        "metadata": {"name": name, "labels": labels},
        "spec": {"kernelArguments": args},
    });
    Rendered {
        mc: MachineConfig {
            doc: 0,
            at: String::new(),
            rendered_for: None,
            name: name.to_string(),
            role: labels.get(ROLE_LABEL).cloned(),
            config: None,
            kernel_args: args,
        },
        object,
        file: file.clone(),
        origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_commands_are_unwrapped() {
        let v = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            host_command(v("chroot /host modprobe sctp")),
            v("modprobe sctp")
        );
        assert_eq!(
            host_command(v("nsenter -t 1 -m -- /usr/sbin/modprobe sctp")),
            v("/usr/sbin/modprobe sctp")
        );
        assert_eq!(host_command(v("modprobe sctp")), v("modprobe sctp"));
    }

    #[test]
    fn tuned_cmdline_merges_by_option_name() {
        let mut o = Operators::default();
        o.add(
            &Origin::file("pp.yaml"),
            &json!({"apiVersion":"performance.openshift.io/v2","kind":"PerformanceProfile","metadata":{"name":"p"},"spec":{"nodeSelector":{"node-role.kubernetes.io/worker-cnf":""},"additionalKernelArgs":["module_blacklist=sctp","nohz=on"]}}),
        );
        o.add(
            &Origin::file("t.yaml"),
            &json!({"apiVersion":"tuned.openshift.io/v1","kind":"Tuned","metadata":{"name":"patch","namespace":"openshift-cluster-node-tuning-operator"},"spec":{"profile":[{"name":"patch","data":"[main]\ninclude=openshift-node-performance-p\n[bootloader]\ncmdline_additionalArg=-nohz=on\ncmdline_crash=nohz_full=2-3\n[modules]\nsctp=\n"}],"recommend":[{"profile":"patch","priority":19,"machineConfigLabels":{"machineconfiguration.openshift.io/role":"worker-cnf"}}]}}),
        );
        let pools = vec![
            ("worker".to_string(), vec!["worker".to_string()]),
            (
                "worker-cnf".to_string(),
                vec!["worker".to_string(), "worker-cnf".to_string()],
            ),
        ];
        let (mcs, findings, loaders) = o.render(&pools, &BTreeSet::new());
        assert!(findings.is_empty(), "{findings:?}");
        let names: Vec<&str> = mcs.iter().map(|r| r.mc.name.as_str()).collect();
        assert_eq!(names, ["50-performance-p", "50-nto-worker-cnf"]);
        assert_eq!(
            mcs[1].mc.kernel_args,
            ["module_blacklist=sctp", "nohz_full=2-3"]
        );
        assert_eq!(
            mcs[1].origin.to_string(),
            "t.yaml > Tuned openshift-cluster-node-tuning-operator/patch > profile patch (with openshift-node-performance-p of PerformanceProfile p (pp.yaml)) > MachineConfig 50-nto-worker-cnf (rendered by the Node Tuning Operator)"
        );
        assert_eq!(
            mcs[1].origin.object_named("MachineConfig"),
            Some("50-nto-worker-cnf")
        );
        assert_eq!(loaders.len(), 1);
        assert_eq!(loaders[0].modules, ["sctp"]);
        // Labels matching two pools: nothing rendered.
        let both = vec![
            ("infra".to_string(), vec!["worker-cnf".to_string()]),
            ("worker-cnf".to_string(), vec!["worker-cnf".to_string()]),
        ];
        let (mcs, findings, _) = o.render(&both, &BTreeSet::new());
        assert_eq!(mcs.len(), 1);
        assert_eq!(findings.len(), 2);
    }
}
