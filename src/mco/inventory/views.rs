//! The pool rule and the render: which pools are judged, and what each pool's nodes will see
//! (the one render over the base, workloads and run-time loaders folded in).

use super::*;

impl Inventory {
    /// Whether some MachineConfig of the pool tries to enable the module: writes one of the
    /// layer's paths, or loads the module (a modules-load.d entry, a `modules-load=` argument).
    pub(super) fn tries_to_enable(&self, pool: &Pool, layer: &Layer) -> Result<bool> {
        let mut members = self.members(pool);
        members.extend(self.current_rendered(pool));
        for f in members {
            let mut own = Vec::new();
            let view = render_pool_at(
                &[(&f.mc, &f.origin)],
                &NodeView::default(),
                None,
                &mut own,
                &self.budget,
                self.install_time,
            )?;
            if layer.files.iter().any(|l| view.files.contains_key(&l.path))
                || !evaluate(&view, &layer.module).loads.is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The pools to judge, with why each of the others is not. `loading`: the pools where a
    /// run-time loader of the input loads the module (it tries to enable it there too).
    pub(super) fn judged(
        &self,
        layer: &Layer,
        choice: &PoolChoice,
        loading: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        if choice.all {
            return Ok(self.pools.iter().map(|p| p.name.clone()).collect());
        }
        if !choice.roles.is_empty() {
            let mut out = BTreeSet::new();
            for r in &choice.roles {
                if self.pool(r).is_none() {
                    bail!(
                        "no pool named {r} (pools: {})",
                        self.pools
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                out.insert(r.clone());
            }
            return Ok(out);
        }
        let mut trying = loading.clone();
        for p in &self.pools {
            if self.tries_to_enable(p, layer)? {
                trying.insert(p.name.clone());
            }
        }
        if trying.is_empty() {
            trying = self.default_roles().0.into_iter().collect();
        }
        // Single-node and compact clusters: only masters have nodes; the layer must reach them.
        if self.topology.as_ref().is_some_and(|t| !t.workers) {
            trying.retain(|p| p == "master");
            trying.insert("master".to_string());
        }
        Ok(trying)
    }

    /// Whether a pool has nodes, as far as the install manifests tell (with no workers, only
    /// master has).
    pub(super) fn has_nodes(&self, pool: &Pool) -> bool {
        self.topology.as_ref().is_none_or(|t| t.workers) || pool.name == "master"
    }

    /// Render every pool over `base` and say which are judged: one view per pool, in pool order.
    pub fn views(
        &self,
        layer: &Layer,
        base: &NodeView,
        choice: &PoolChoice,
        release: Option<Release>,
    ) -> Result<Vec<View>> {
        let masters = self.schedulable().masters;
        // Run-time loaders of the module, and the pools they run on.
        let module = normalize_module(&layer.module);
        let loaders: Vec<(&RuntimeLoader, Vec<String>)> = self
            .loaders
            .iter()
            .filter(|l| l.modules.iter().any(|m| normalize_module(m) == module))
            .map(|l| {
                let on: Vec<String> = self
                    .pools
                    .iter()
                    .filter(|p| match &l.landing {
                        Landing::Pods(w) => w.lands_on(&p.nodes(masters)),
                        Landing::Pools(names) => names.contains(&p.name),
                    })
                    .map(|p| p.name.clone())
                    .collect();
                (l, on)
            })
            .collect();
        // A pool where something loads the module after boot is one where the module is wanted.
        let loading: BTreeSet<String> = loaders
            .iter()
            .filter(|(l, _)| l.action != ModuleAction::Remove)
            .flat_map(|(_, on)| on.iter().cloned())
            .collect();
        let mut judged = self.judged(layer, choice, &loading)?;
        let needing = if normalize_module(&layer.module) == "sctp" {
            self.workloads.needing_sctp()
        } else {
            Vec::new()
        };
        let landing: Vec<Vec<&Workload>> = self
            .pools
            .iter()
            .map(|p| {
                if !self.has_nodes(p) {
                    return Vec::new();
                }
                let nodes = p.nodes(masters);
                needing.iter().filter(|w| w.lands_on(&nodes)).collect()
            })
            .collect();
        // A pool where SCTP workloads can land is judged, whatever else says.
        for (p, l) in self.pools.iter().zip(&landing) {
            if !l.is_empty() {
                judged.insert(p.name.clone());
            }
        }
        let mut general = Vec::new();
        for w in &needing {
            if !landing.iter().any(|l| l.iter().any(|x| x.id == w.id)) {
                general.push(Finding::new(
                    Code::WorkloadLandsNowhere,
                    format!(
                        "{} ({}) needs SCTP but its pods fit no pool of the input (node selector, affinity or taints)",
                        w.id, w.file
                    ),
                ));
            }
        }
        for s in self.workloads.unmatched_selectors() {
            general.push(Finding::new(
                Code::SctpSelectsNothing,
                format!("{s} has an SCTP port but selects no workload of the input"),
            ));
        }
        let ignored = (!self.ignored.is_empty()).then(|| {
            let kinds: Vec<String> = self
                .ignored
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            Finding::new(
                Code::ObjectsIgnored,
                format!(
                    "objects of other kinds read and skipped: {}",
                    kinds.join(", ")
                ),
            )
        });
        self.pools
            .iter()
            .zip(&landing)
            .map(|(p, lands)| {
                let mut v = self.pool_view(layer, base, p, release)?;
                v.judged = judged.contains(&p.name);
                if let Some(t) = self.topology.as_ref().filter(|t| !t.workers && p.name == "master") {
                    v.findings.push(Finding::new(
                        Code::PoolHasNoNodes,
                        format!("{}: the cluster's nodes are all masters, so pool master is judged and the other pools, which have no nodes, are not", t.why),
                    ));
                }
                v.findings.extend(ignored.clone());
                v.findings.extend(general.iter().cloned());
                v.workloads = lands.iter().map(|w| (*w).clone()).collect();
                for (l, on) in &loaders {
                    if on.contains(&p.name) {
                        let f = crate::mco::operators::judge(l, on, &p.name, &v.node, layer);
                        v.findings.push(f);
                    }
                }
                if !lands.is_empty() && !crate::node::verdict(&v.node, layer).enabled {
                    for w in lands {
                        v.findings.push(Finding::new(
                            Code::WorkloadNeedsModule,
                            format!(
                                "{} ({}) needs SCTP ({}) and may land on pool {}, where {} will not be loaded: add role {} to the MachineConfig that enables it, or constrain the workload (nodeSelector, affinity) to pools that load it",
                                w.id, w.file, w.why.join("; "), p.name, layer.module, p.name
                            ),
                        ));
                    }
                }
                Ok(v)
            })
            .collect()
    }

    /// The rendered MachineConfig a pool's nodes run now: the one its status names, else (with
    /// no source MachineConfigs to render from) the only one rendered for it.
    pub(super) fn current_rendered(&self, pool: &Pool) -> Option<&Found> {
        if let Some(name) = &pool.current {
            return self.rendered.get(name);
        }
        let mut mine = self
            .rendered
            .values()
            .filter(|f| f.mc.rendered_for.as_deref() == Some(pool.name.as_str()));
        match (mine.next(), mine.next()) {
            (Some(only), None) if self.members(pool).is_empty() => Some(only),
            _ => None,
        }
    }

    pub(super) fn pool_view(
        &self,
        layer: &Layer,
        base: &NodeView,
        pool: &Pool,
        release: Option<Release>,
    ) -> Result<View> {
        let sources = self.sources_view(layer, base, pool, release)?;
        let Some(current) = self.current_rendered(pool) else {
            let mut v = sources;
            if let Some(name) = &pool.current {
                v.findings.push(Finding::new(
                    Code::RenderedMissing,
                    format!(
                        "pool {}: its status names {name}, which the input does not hold: judged from the source MachineConfigs",
                        pool.name
                    ),
                ));
            }
            return Ok(v);
        };
        let mut findings: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.code != Code::NoMachineconfigForRole)
            .cloned()
            .collect();
        for p in &current.problems {
            findings.push(Finding::of(Code::MachineconfigInvalid, p).with_origin(&current.origin));
        }
        spec_findings(current, release, &mut findings);
        let node = render_pool_at(
            &[(&current.mc, &current.origin)],
            base,
            release,
            &mut findings,
            &self.budget,
            self.install_time,
        )?;
        if !self.members(pool).is_empty() {
            let now = crate::node::verdict(&node, layer);
            let then = crate::node::verdict(&sources.node, layer);
            let seen = |v: &crate::node::Verdict| {
                v.files
                    .iter()
                    .map(|c| (c.status, c.actual_sha256.clone(), c.actual_mode.clone()))
                    .collect::<Vec<_>>()
            };
            if now.enabled != then.enabled || seen(&now) != seen(&then) {
                let say = |e: bool| if e { "enabled" } else { "NOT enabled" };
                findings.push(Finding::new(
                    Code::RolloutPending,
                    format!(
                        "pool {}: nodes run {} ({} {}), but the source MachineConfigs render {} {}: a rollout is not done; judged: what the nodes run now",
                        pool.name,
                        current.mc.name,
                        layer.module,
                        say(now.enabled),
                        layer.module,
                        say(then.enabled),
                    ),
                ));
            }
        }
        Ok(View {
            pool: Some(pool.name.clone()),
            node,
            findings,
            judged: true,
            ..View::default()
        })
    }

    /// A pool rendered from its source MachineConfigs, as the MCO will.
    pub(super) fn sources_view(
        &self,
        layer: &Layer,
        base: &NodeView,
        pool: &Pool,
        release: Option<Release>,
    ) -> Result<View> {
        let members = self.members(pool);
        let mut findings = self.findings.clone();
        let mut problems = BTreeSet::new();
        for f in &members {
            for p in &f.problems {
                if problems.insert(p.text.clone()) {
                    findings
                        .push(Finding::of(Code::MachineconfigInvalid, p).with_origin(&f.origin));
                }
            }
            spec_findings(f, release, &mut findings);
        }
        // With no MachineConfig in the input at all, the pools render the base alone: the
        // verdict (module-not-listed) says it.
        if members.is_empty()
            && self.refused == 0
            && !(self.found.is_empty() && self.rendered.is_empty())
        {
            findings.push(Finding::new(
                Code::NoMachineconfigForRole,
                format!(
                    "pool {}: no MachineConfig of the input renders into it",
                    pool.name
                ),
            ));
        }
        let pairs: Vec<(&MachineConfig, &Origin)> =
            members.iter().map(|f| (&f.mc, &f.origin)).collect();
        let node = render_pool_at(
            &pairs,
            base,
            release,
            &mut findings,
            &self.budget,
            self.install_time,
        )?;
        let _ = layer;
        Ok(View {
            pool: Some(pool.name.clone()),
            node,
            findings,
            judged: true,
            ..View::default()
        })
    }
}

/// An Ignition spec the release cannot read (what else the MCO refuses, the render reports).
pub(super) fn spec_findings(f: &Found, release: Option<Release>, findings: &mut Vec<Finding>) {
    let (Some((_, spec)), Some(r)) = (&f.mc.config, release) else {
        return;
    };
    if !r.reads(*spec) {
        findings.push(
            Finding::new(
                Code::IgnitionSpecUnsupported,
                format!(
                    "MachineConfig {} ({}) uses Ignition spec {spec}, which the MCO of OpenShift {r} cannot read (newest {}): the pool degrades",
                    f.mc.name, f.file, r.newest_spec()
                ),
            )
            .with_origin(&f.origin),
        );
    }
}
