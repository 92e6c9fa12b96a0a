//! The inventory and the pool rule on small manifests.

use super::*;

fn mc(name: &str, role: Option<&str>) -> Manifest {
    let labels = role
        .map(|r| format!("  labels:\n    {ROLE_LABEL}: {r}\n"))
        .unwrap_or_default();
    Manifest {
            origin: Origin::file(format!("openshift/{name}.yaml")),
            bytes: format!(
                "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: {name}\n{labels}spec:\n  config:\n    ignition:\n      version: 3.2.0\n"
            )
            .into_bytes(),
        }
}

fn infra_pool() -> Manifest {
    Manifest {
            origin: Origin::file("openshift/infra-pool.yaml"),
            bytes: format!("apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata:\n  name: infra\nspec:\n  machineConfigSelector:\n    matchExpressions:\n      - key: {ROLE_LABEL}\n        operator: In\n        values: [worker, infra]\n").into_bytes(),
        }
}

#[test]
fn documentation_machineconfig_verifies() {
    let layer = Layer::builtin("sctp").unwrap();
    let text = include_str!("../../../testdata/doc-machineconfig.yaml");
    let inv = Inventory::read(&[Manifest {
        origin: Origin::file("doc.yaml"),
        bytes: text.as_bytes().to_vec(),
    }]);
    let views = inv
        .views(
            &layer,
            &NodeView::rhcos(&layer.module),
            &PoolChoice::default(),
            None,
        )
        .unwrap();
    let judged: Vec<_> = views.into_iter().filter(|v| v.judged).collect();
    assert_eq!(judged.len(), 1);
    assert_eq!(judged[0].pool.as_deref(), Some("worker"));
    let r = crate::report::assess("doc.yaml", "machineconfig", judged[0].clone(), &layer);
    assert!(r.enabled, "{:?}", r.findings);
    assert!(r.identical);
    let quoted = text.replacen("mode: 0644", "mode: '0644'", 1);
    let inv = Inventory::read(&[Manifest {
        origin: Origin::file("q.yaml"),
        bytes: quoted.into_bytes(),
    }]);
    let v = inv
        .views(
            &layer,
            &NodeView::rhcos(&layer.module),
            &PoolChoice::default(),
            None,
        )
        .unwrap()
        .into_iter()
        .find(|v| v.judged)
        .unwrap();
    assert!(!crate::report::assess("q.yaml", "machineconfig", v, &layer).enabled);
}

#[test]
fn custom_pools_render_worker_configs_first() {
    let inv = Inventory::read(&[
        mc("00-infra", Some("infra")),
        mc("99-worker", Some("worker")),
        mc("50-master", Some("master")),
        infra_pool(),
    ]);
    assert_eq!(inv.render_order("infra"), ["99-worker", "00-infra"]);
    assert_eq!(inv.render_order("worker"), ["99-worker"]);
    assert_eq!(inv.render_order("master"), ["50-master"]);
    assert!(inv.findings.is_empty(), "{:?}", inv.findings);
}

#[test]
fn roles_no_pool_renders_are_errors_and_undeclared_pools_are_assumed() {
    let inv = Inventory::read(&[mc("a", None), mc("b", Some("infra"))]);
    let codes: Vec<&str> = inv.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["machineconfig-no-role", "custom-pool-assumed"]);
    assert_eq!(inv.render_order("infra"), ["b"]);
    let mut declared = infra_pool();
    declared.bytes = String::from_utf8(declared.bytes)
        .unwrap()
        .replace("[worker, infra]", "[infra-x]")
        .into_bytes();
    let inv = Inventory::read(&[mc("b", Some("infra")), declared]);
    let codes: Vec<&str> = inv.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["machineconfig-unknown-role"]);
}

#[test]
fn duplicates_with_different_content_name_both_files() {
    let a = mc("x", Some("worker"));
    let mut b = mc("x", Some("master"));
    b.origin = Origin::file("manifests/other.yaml");
    let inv = Inventory::read(&[a.clone(), b]);
    let f = &inv.findings[0];
    assert_eq!(f.code, "duplicate-machineconfig");
    assert!(f.message.contains("openshift/x.yaml") && f.message.contains("manifests/other.yaml"));
    let same = Inventory::read(&[a.clone(), a]);
    assert!(same.findings.is_empty());
}

#[test]
fn topology_comes_from_the_install_manifests_and_workers_win() {
    let m = |name: &str, text: &str| Manifest {
        origin: Origin::file(name),
        bytes: text.as_bytes().to_vec(),
    };
    let sno = m("sno/aci.yaml", "apiVersion: extensions.hive.openshift.io/v1beta1\nkind: AgentClusterInstall\nmetadata:\n  name: sno\nspec:\n  provisionRequirements:\n    controlPlaneAgents: 1\n");
    let inv = Inventory::read(std::slice::from_ref(&sno));
    assert_eq!(inv.topology().map(|t| t.workers), Some(false));
    assert!(inv.schedulable().masters);
    let big = m("big/ci.yaml", "apiVersion: siteconfig.open-cluster-management.io/v1alpha1\nkind: ClusterInstance\nmetadata:\n  name: big\nspec:\n  nodes:\n  - hostName: a\n  - hostName: b\n    role: worker\n");
    let inv = Inventory::read(&[big.clone(), sno.clone()]);
    assert_eq!(inv.topology().map(|t| t.workers), Some(true));
    let inv = Inventory::read(&[sno, big]);
    assert_eq!(inv.topology().map(|t| t.workers), Some(true));
    // agent-config: hosts without a role get one from the installer: nothing concluded.
    let mut inv = Inventory::read(&[]);
    let ac = first_document(
        "ac",
        "kind: AgentConfig\nhosts:\n- hostname: a\n  role: master\n- hostname: b\n",
    )
    .unwrap();
    inv.set_agent_config("agent-config.yaml", &ac);
    assert_eq!(inv.topology(), None);
    let ac = first_document(
        "ac",
        "kind: AgentConfig\nhosts:\n- hostname: a\n  role: master\n",
    )
    .unwrap();
    inv.set_agent_config("agent-config.yaml", &ac);
    assert_eq!(inv.topology().map(|t| t.workers), Some(false));
}

#[test]
fn worker_counts_follow_installer_defaults() {
    let v = |t: &str| first_document("ic", t).unwrap();
    assert_eq!(
        compute_replicas(&v("compute:\n- name: worker\n  replicas: 0\n")),
        0
    );
    assert_eq!(compute_replicas(&v("compute:\n- name: worker\n")), 3);
    assert_eq!(compute_replicas(&v("baseDomain: x\n")), 3);
}

#[test]
fn schedulable_masters_come_from_the_scheduler_or_the_install_config() {
    let sched = Manifest {
            origin: Origin::file("manifests/cluster-scheduler-02-config.yml"),
            bytes: b"apiVersion: config.openshift.io/v1\nkind: Scheduler\nmetadata:\n  name: cluster\nspec:\n  mastersSchedulable: true\n".to_vec(),
        };
    assert_eq!(
        Inventory::read(&[sched]).default_roles().0,
        ["worker", "master"]
    );
    let cm = Manifest {
            origin: Origin::file("manifests/cluster-config.yaml"),
            bytes: b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-config-v1\ndata:\n  install-config: |\n    compute:\n    - name: worker\n      replicas: 0\n".to_vec(),
        };
    assert_eq!(
        Inventory::read(&[cm]).default_roles().0,
        ["worker", "master"]
    );
    assert_eq!(Inventory::read(&[]).default_roles().0, ["worker"]);
}
