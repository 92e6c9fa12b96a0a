//! Findings: what verify and apply found. Every code is defined once here, with its severity, a
//! one-line description and the fix; the README's table, the man page and `modlayer explain` are
//! generated from this list.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::origin::{Origin, Placed};

/// How serious a finding is. Any `Error` means the module will not be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Worth a look; does not change the verdict.
    Warning,
    /// The module will not be loaded (or the node will not boot the config).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $sev:ident, $what:literal, $fix:literal;)*) => {
        /// A finding's stable code (kebab-case in reports).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(
                #[doc = $what]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in the order of this list.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }

            /// How serious a finding of this code is.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            /// What the finding means, in one line.
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $what),* }
            }

            /// How to fix it.
            pub fn fix(self) -> &'static str {
                match self { $(Code::$variant => $fix),* }
            }
        }
    };
}

codes! {
    ModuleBlacklisted = "module-blacklisted", Error,
        "A modprobe.d `blacklist` line names the module: systemd-modules-load skips it at boot.",
        "Empty or remove the file holding the line (the layer empties /etc/modprobe.d/<module>-blacklist.conf), or override it with a same-named file in a higher-precedence directory.";
    InstallOverride = "install-override", Error,
        "A modprobe.d `install` command runs something else (such as /bin/true) instead of loading the module.",
        "Remove the `install <module> ...` line, or mask the file holding it with a same-named empty file in /etc/modprobe.d.";
    KernelArgModuleBlacklist = "kernel-arg-module-blacklist", Error,
        "The kernel argument `module_blacklist=` names the module: the kernel refuses to load it.",
        "Remove the module from `module_blacklist=` (MachineConfig spec.kernelArguments, the boot entry, bootc kargs.d).";
    KernelArgModprobeBlacklist = "kernel-arg-modprobe-blacklist", Error,
        "The kernel argument `modprobe.blacklist=` names the module: kmod treats it as blacklisted.",
        "Remove the module from `modprobe.blacklist=` (MachineConfig spec.kernelArguments, the boot entry, bootc kargs.d).";
    NoKernel = "no-kernel", Error,
        "The image has no kernel (no `lib/modules/<version>/`).",
        "Verify the image the node boots, or a tree that holds its /usr/lib/modules.";
    ModuleMissing = "module-missing", Error,
        "An installed kernel does not carry the module.",
        "Install the package that ships the module in the image (RHEL: kernel-modules-extra holds most of the network protocols it blacklists; an out-of-tree module needs its own package, image layer or KMM Module).";
    ContentNotVisible = "content-not-visible", Error,
        "A modprobe.d or modules-load.d file cannot be read offline (remote source, unresolved link), so the verdict is unknown.",
        "Inline the file as a data: URL, or verify the artifact that holds it.";
    ModuleNotListed = "module-not-listed", Error,
        "Nothing loads the module at boot: no modules-load.d entry, no `modules-load=` argument, no enabled unit running modprobe.",
        "Add /etc/modules-load.d/<module>-load.conf holding the module name (modlayer apply does).";
    UnitRemoves = "unit-removes", Error,
        "A systemd service enabled into a boot target runs `modprobe -r` or `rmmod` on the module when it starts.",
        "Remove that command from the unit's ExecStart*= lines (or its drop-ins), or disable the unit.";
    UnitRemoveFails = "unit-remove-fails", Warning,
        "A systemd service enabled into a boot target runs `modprobe -r` or `rmmod` on a module that holds itself once loaded (sctp's control sockets): the removal fails with \"in use\" and the module stays loaded.",
        "Remove that command from the unit (it fails at every boot), or keep the module from loading instead (module_blacklist=).";
    UnitLoads = "unit-loads", Info,
        "A systemd service enabled into a boot target loads the module when it starts (`modprobe NAME`, `modprobe -b NAME`, `insmod FILE` in ExecStartPre/ExecStart/ExecStartPost).",
        "Nothing to fix.";
    UnitNotAtBoot = "unit-not-at-boot", Info,
        "A systemd service would load the module, but it is masked or not enabled into a boot target (sysinit, basic, local-fs, remote-fs, network, multi-user or default.target).",
        "Enable it (`WantedBy=multi-user.target` in [Install] and Ignition `enabled: true`, or a link in multi-user.target.wants/), if it is meant to load the module.";
    BlockBypassed = "block-bypassed", Info,
        "Something that keeps the module off some loaders does not stop the one that loads it here (an explicit `modprobe NAME` ignores blacklist lines; `insmod` ignores modprobe.d).",
        "Nothing to fix; remove the block if it is stale.";
    ModuleListed = "module-listed", Info,
        "A modules-load.d file lists the module for loading at boot.",
        "Nothing to fix.";
    InstallLoads = "install-loads", Info,
        "A modprobe.d `install` command still inserts the module.",
        "Nothing to fix.";
    KernelArgModulesLoad = "kernel-arg-modules-load", Info,
        "The kernel argument `modules-load=` has systemd-modules-load load the module.",
        "Nothing to fix.";
    AutoloadOnly = "autoload-only", Info,
        "Nothing blocks the module, so the first socket of its protocol loads it on demand; it is just not loaded at boot.",
        "List the module in /etc/modules-load.d/ to have it loaded at boot.";
    KernelNotVisible = "kernel-not-visible", Info,
        "The target carries no kernel: the OS image decides whether the module exists.",
        "Verify the OS image too (`modlayer verify oci:DIR` or a tree); the message says what RHEL CoreOS and Fedora CoreOS are known to ship of the module.";
    LayerFileDiffers = "layer-file-differs", Warning,
        "A layer file is present with other bytes or another mode than the layer's.",
        "Run `modlayer apply` on the target, or write the layer's exact bytes (`modlayer layers`).";
    LayerFileMissing = "layer-file-missing", Warning,
        "A layer file is not written on the node.",
        "Run `modlayer apply` on the target.";
    LayerFileElsewhere = "layer-file-elsewhere", Info,
        "A layer file is not written, but the module is loaded at boot by a file of another name (or another loader) and nothing blocks it.",
        "Nothing to fix; run `modlayer apply` if you want the layer's exact files (--strict asks for them).";
    LayerFileUnknown = "layer-file-unknown", Warning,
        "A layer file's content cannot be seen offline.",
        "Inline the file as a data: URL, or verify the artifact that holds it.";
    MachineconfigNoRole = "machineconfig-no-role", Error,
        "A MachineConfig has no machineconfiguration.openshift.io/role label: no pool renders it, so it reaches no node.",
        "Add the label `machineconfiguration.openshift.io/role: <pool>` to metadata.labels.";
    MachineconfigUnknownRole = "machineconfig-unknown-role", Error,
        "A MachineConfig's role is selected by no MachineConfigPool of the input: it reaches no node.",
        "Label it with a role a pool selects, or add the MachineConfigPool.";
    MachineconfigInvalid = "machineconfig-invalid", Error,
        "A MachineConfig's spec.config is not a valid Ignition config: the MCO degrades the pool.",
        "Fix the place named (a quoted mode is a string: write `mode: 0644` unquoted or 420).";
    DuplicateMachineconfig = "duplicate-machineconfig", Error,
        "Two MachineConfigs share a name with different content: only one of them can exist in the cluster.",
        "Rename one, or keep one copy.";
    ManifestUnreadable = "manifest-unreadable", Error,
        "A manifest cannot be read (bad YAML or JSON, a remote source).",
        "Fix the file at the place named.";
    ObjectInvalid = "object-invalid", Error,
        "The API server refuses the object (an invalid name, label key or value, annotation key, or a field of the wrong type): it never reaches the cluster, so the input is invalid (exit status 2).",
        "Fix the field at the place named (a documentation callout such as `<1>` copied with an example is not part of the value).";
    UnknownField = "unknown-field", Error,
        "A field the object's CRD does not have: `oc apply` (strict field validation, kubectl's default) refuses the object; the input is invalid (exit status 2).",
        "Remove or move the field (MachineConfig spec has config, extensions, fips, kernelArguments, kernelType, osImageURL, baseOSExtensionsContainerImage; a pool is chosen by the role label, not a selector).";
    UnknownFieldDropped = "unknown-field-dropped", Warning,
        "A field the object's CRD does not have, in a manifest the installer creates: the API server drops it silently.",
        "Remove or move the field; it has no effect.";
    TemplateUnrendered = "template-unrendered", Error,
        "The manifest is a template not yet rendered (Go/Helm/kube-compare `{{ ... }}`, `${VAR}`, `$(cmd)`, `<placeholder>`) where it decides or where it keeps the YAML from being read (exit status 2).",
        "Render it first (helm template, envsubst, kube-compare, or fill in the placeholder) and verify the output.";
    DuplicateKey = "duplicate-key", Warning,
        "A mapping key is written twice: kubectl and oc keep the last value (kustomize and kpt refuse the file).",
        "Keep one of the two lines.";
    PoolUnreadable = "pool-unreadable", Warning,
        "A MachineConfigPool cannot be understood (no name, a selector with no role).",
        "Give the pool metadata.name and a machineConfigSelector on machineconfiguration.openshift.io/role.";
    NoMachineconfigForRole = "no-machineconfig-for-role", Error,
        "The pool asked for has no MachineConfig in the input.",
        "Render one for that role: `modlayer render machineconfig --role <role>`.";
    CustomPoolAssumed = "custom-pool-assumed", Info,
        "A role label names a pool the input does not declare: it is rendered as a custom pool (worker configs first).",
        "Nothing to fix if the cluster has that MachineConfigPool; else add it.";
    PoolHasNoNodes = "pool-has-no-nodes", Info,
        "The install manifests kept with the input (install-config, agent-config, AgentClusterInstall, ClusterInstance) give the cluster masters only (single-node or compact): master is judged, pools without nodes are not.",
        "Nothing to fix; make sure the MachineConfig that enables the module has role master.";
    PoolNotJudged = "pool-not-judged", Info,
        "A pool the layer is not meant for: reported, not judged (it does not change the exit status).",
        "Name it with --role (or --all-pools) to judge it.";
    RolloutPending = "rollout-pending", Warning,
        "A pool's nodes run a rendered MachineConfig that differs, for the module, from what its source MachineConfigs render: a rollout is not done.",
        "Wait for the pool to finish updating (`oc get mcp`), or find why it is degraded; verify judges what the nodes run now.";
    RenderedMissing = "rendered-missing", Warning,
        "A pool's status names a rendered MachineConfig that the input does not hold.",
        "Include the rendered MachineConfigs (`oc get mc -o yaml`, or the must-gather's machineconfigs/).";
    KustomizeBuilt = "kustomize-built", Info,
        "A kustomization folder was built (the message names the command) and its output verified.",
        "Nothing to fix.";
    ObjectsIgnored = "objects-ignored", Info,
        "Objects of other kinds were read and skipped.",
        "Nothing to fix.";
    WorkloadNeedsModule = "workload-needs-module", Error,
        "A workload needs SCTP (a container port, a Service or NetworkPolicy with an SCTP port) and may land on a pool where the module will not be loaded.",
        "Add that pool's role to the MachineConfig that enables the module (`modlayer render machineconfig --role <pool>`), or constrain the workload (nodeSelector, nodeAffinity, no toleration of that pool's taint).";
    WorkloadLandsNowhere = "workload-lands-nowhere", Warning,
        "A workload needs SCTP but its pods fit no pool of the input (node selector, required affinity, taints).",
        "Check the workload's nodeSelector and affinity against the MachineConfigPools' nodeSelectors.";
    SctpSelectsNothing = "sctp-selects-nothing", Info,
        "A Service or NetworkPolicy has an SCTP port but selects no workload of the input.",
        "Nothing to fix if its pods are defined elsewhere; verify those manifests together.";
    RuntimeLoader = "runtime-loader", Info,
        "Something loads the module at run time (a KMM Module, a privileged pod running modprobe, TuneD's [modules]); the module is loaded at boot already.",
        "Nothing to fix.";
    RuntimeLoaderOnly = "runtime-loader-only", Warning,
        "Only a run-time loader (a KMM Module, a privileged pod or DaemonSet running modprobe, TuneD's [modules]) loads the module, after its pod or operator runs: nothing loads it at boot, so verify says NOT enabled.",
        "Load it at boot: `modlayer apply` (or `modlayer render machineconfig --role <pool>`) for the pools named; keep the run-time loader only if a module loaded after boot is enough.";
    RuntimeUnload = "runtime-unload", Warning,
        "A run-time channel unloads the module after boot (KMM `inTreeModulesToRemove`, `rmmod`, `modprobe -r` in a pod).",
        "Remove the module from `inTreeModulesToRemove` (or the pod's rmmod), or keep that workload off the pools that need the module.";
    OperatorLabelsMatchNoPool = "operator-labels-match-no-pool", Warning,
        "A Tuned or PerformanceProfile's machineConfigLabels match no pool, or several: the Node Tuning Operator renders no MachineConfig for them.",
        "Give the profile machineConfigLabels that exactly one MachineConfigPool's machineConfigSelector takes.";
    IgnitionSpecUnsupported = "ignition-spec-unsupported", Error,
        "A MachineConfig uses an Ignition spec that the OpenShift release's MCO cannot read: the pool degrades.",
        "Render it for the release: `--openshift-version X.Y`.";
    McoRemoteSource = "mco-remote-source", Error,
        "The MCO only accepts data: sources in MachineConfigs.",
        "Inline the contents as a data: URL.";
    McoAppend = "mco-append", Error,
        "The MCO refuses `append` in MachineConfigs.",
        "Write the whole file with contents.source.";
    McoMode = "mco-mode", Error,
        "The MCO refuses file modes above 0777.",
        "Use a mode of 0777 or less (0644 for the layer's files).";
    McoUnsupported = "mco-unsupported", Error,
        "The MCO refuses directories, links and users other than core; disks, filesystems, RAID and LUKS as day-2 changes (an install directory's manifests may set them up on the first boot).",
        "Remove that section from the MachineConfig.";
    MergeTooDeep = "merge-too-deep", Error,
        "Ignition configs merge into each other deeper than modlayer follows.",
        "Flatten the merge chain.";
    RemoteConfig = "remote-config", Warning,
        "A merged or replaced config is fetched at first boot and cannot be seen offline; it may change these files.",
        "Verify the config that URL serves too (for installer pointer configs, the cluster's rendered MachineConfigs).";
    BadChildConfig = "bad-child-config", Error,
        "An inline merged or replaced config cannot be decoded or is invalid.",
        "Fix the data: URL at the place named.";
    DuplicateEntry = "duplicate-entry", Error,
        "One path is given twice, or as different kinds of node: Ignition refuses the config.",
        "Keep one entry per path.";
    RemoteSource = "remote-source", Error,
        "A file's contents come from a remote source and cannot be seen offline.",
        "Inline the contents as a data: URL.";
    BadContents = "bad-contents", Error,
        "A file's contents cannot be decoded (data URL, compression, verification hash).",
        "Fix the contents at the place named.";
    OverwriteWithoutSource = "overwrite-without-source", Error,
        "overwrite is true but there is no contents.source: Ignition refuses the config.",
        "Give contents.source (`data:,` for an empty file).";
    OverwriteFalse = "overwrite-false", Error,
        "The image already has the file and overwrite is not true: Ignition fails the first boot (\"file exists\").",
        "Set `overwrite: true` on the entry.";
    FilesStageFails = "files-stage-fails", Error,
        "Ignition's files stage would fail at first boot: a link over an existing file without `overwrite: true`, a hard link to a missing target or a directory, an entry below a file.",
        "Fix the entry named (set `overwrite: true`, point the hard link at a file, move the entry out from under the file).";
    UnusedKey = "unused-key", Warning,
        "A key the Ignition spec does not know: Ignition ignores it.",
        "Check its spelling.";
    ButaneNotTranslated = "butane-not-translated", Info,
        "A Butane section modlayer does not translate. None is left since grub and every boot_device layout are translated; the code stays for reports that name it.",
        "Nothing to do; translate with Butane to see those parts.";
    ButaneWarning = "butane-warning", Warning,
        "Butane warns about the source (a mode that reads as decimal, special mode bits before Ignition 3.4.0); the translation goes through.",
        "Fix the value at the path named (write modes in octal with a leading zero: `mode: 0644`).";
    ButaneDocumentIgnored = "butane-document-ignored", Warning,
        "A Butane file holds more than one YAML document: Butane translates only the first and silently ignores the others.",
        "Put each Butane config in its own file (`modlayer render butane -o DIR` writes one per role).";
    EmptyImage = "empty-image", Warning,
        "The image has no layers.",
        "Verify the image the node boots.";
    NoConfigEmbedded = "no-config-embedded", Error,
        "A boot medium (live ISO, PXE image) carries no Ignition config for the system judged: its Ignition area is empty (all zeros) or holds no config.ign, so nodes boot the image as shipped.",
        "Embed one: `modlayer apply MEDIUM -o OUT` (or `coreos-installer iso ignition embed`, `iso customize --dest-ignition`).";
    HubTemplateUnresolved = "hub-template-unresolved", Warning,
        "A policy's object holds a hub template (`{{hub ... hub}}`) or a managed-cluster template (`{{ ... }}`) in a field that decides whether the module loads (a kernel argument, a file, a role label, a profile): ACM resolves it only when it propagates the policy, so the verdict takes the text as written.",
        "Check the value the template resolves to on the hub (its ConfigMap), or write the value literally.";
    ExtraManifestsMissing = "extra-manifests-missing", Error,
        "A cluster's `extraManifestsRefs` names a ConfigMap its namespace does not hold (or a SiteConfig's `extraManifestPath` or filter names files that are not there): the SiteConfig operator refuses the cluster.",
        "Add the ConfigMap (a kustomize configMapGenerator with `disableNameSuffixHash: true`), or fix the name.";
    ManifestSuppressed = "manifest-suppressed", Warning,
        "A cluster's `suppressedManifests` (SiteConfig `crSuppression`) drops a kind its install depends on: the AgentClusterInstall or ImageClusterInstall (which carries the extra manifests) or the ManagedCluster (which carries the labels policies are bound by).",
        "Remove the kind from suppressedManifests, or deliver the layer another way.";
    PolicySourceUnseen = "policy-source-unseen", Warning,
        "A policy or cluster takes manifests from a place that cannot be seen offline: a PolicyGenTemplate source CR built into the ztp-site-generate container, a SiteConfig without `extraManifests.searchPaths` (the container's predefined extra manifests), an ACM Policy's `object-templates-raw`.",
        "Copy the source CRs into the repository (`source-crs/` beside the generator), or name searchPaths.";
    BadInput = "bad-input", Error,
        "The target could not be read (exit status 2).",
        "Fix the input at the place named.";
}

impl Code {
    /// Whether a finding of this code makes the input invalid (exit status 2) even where the rest
    /// of it is judged: a manifest that cannot be read, a template, an object the API server
    /// refuses.
    pub fn input_invalid(self) -> bool {
        matches!(
            self,
            Code::ManifestUnreadable
                | Code::ObjectInvalid
                | Code::UnknownField
                | Code::TemplateUnrendered
        )
    }

    /// The code of a kebab-case name.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One thing verify (or apply) found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How serious (the code's severity).
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// For people.
    pub message: String,
    /// The node path or the config location involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What decided it (file and JSON path, MachineConfig, layer…), rendered as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Where in the user's files the problem is written, when that is known more closely than
    /// the origin (a line inside a MachineConfig); for reports that link to a place.
    #[serde(skip)]
    pub place: Option<Origin>,
}

impl Finding {
    /// A finding with no path or origin, at its code's severity.
    pub fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            severity: code.severity(),
            code,
            message: message.into(),
            path: None,
            origin: None,
            place: None,
        }
    }

    /// The same finding with a path.
    pub fn at(mut self, path: impl Into<String>) -> Finding {
        self.path = Some(path.into());
        self
    }

    /// The same finding, written at `place` in the user's files.
    pub fn placed(mut self, place: Origin) -> Finding {
        self.place = Some(place);
        self
    }

    /// A finding for something said of a place ([`Placed`]): its text, written there.
    pub fn of(code: Code, said: &Placed) -> Finding {
        Finding::new(code, said.text.clone()).placed(said.origin.clone())
    }

    /// The origin to show after the message: none when the message already starts with it.
    pub fn shown_origin(&self) -> Option<&Origin> {
        self.origin
            .as_ref()
            .filter(|o| !self.message.starts_with(&o.to_string()))
    }

    /// The same finding with an origin.
    pub fn with_origin(mut self, origin: impl Into<Origin>) -> Finding {
        self.origin = Some(origin.into());
        self
    }
}

/// Every code, one line each as `line` writes it.
pub fn listing(line: impl Fn(Code) -> String) -> String {
    Code::ALL.iter().map(|c| line(*c) + "\n").collect()
}

/// The finding codes as the help and the man page list them.
pub fn codes_help() -> String {
    "Finding codes (`modlayer explain CODE` for the fix):\n".to_string()
        + &listing(|c| format!("  {} ({}): {}", c.as_str(), c.severity(), c.description()))
}

/// The README's table of codes (between its markers), generated from [`Code::ALL`].
pub fn markdown_table() -> String {
    "| code | severity | what it means |\n| --- | --- | --- |\n".to_string()
        + &listing(|c| {
            format!(
                "| `{}` | {} | {} |",
                c.as_str(),
                c.severity(),
                c.description()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let n = c.as_str();
            assert!(seen.insert(n), "{n} twice");
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{n}"
            );
            assert_eq!(Code::from_name(n), Some(*c));
            assert!(!c.description().is_empty() && !c.fix().is_empty());
        }
    }
}
