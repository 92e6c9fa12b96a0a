//! Text renderings that are not a target's own format: Butane configs and dry-run diffs.

use clap::ValueEnum;

use crate::layer::Layer;
use crate::mco::release::Release;
use crate::mco::render::machineconfig_name;
use crate::mco::ROLE_LABEL;

/// Butane variants.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Variant {
    /// OpenShift MachineConfig (butane --variant openshift).
    Openshift,
    /// Fedora CoreOS Ignition.
    Fcos,
}

/// Butane configs equivalent to the layer, each with the file name it is written as with
/// `render butane -o DIR`: one for fcos (`sctp.bu`), one per role for openshift
/// (`load-sctp-module-worker.bu`). Butane translates only the first YAML document of a file, so
/// each config is a file of its own.
pub fn butane(
    layer: &Layer,
    variant: Variant,
    roles: &[String],
    release: Release,
) -> Vec<(String, String)> {
    let mut files = String::from("storage:\n  files:\n");
    for f in &layer.files {
        let inline = serde_json::to_string(&String::from_utf8_lossy(&f.bytes)).unwrap_or_default();
        files.push_str(&format!(
            "    - path: {}\n      mode: {:04o}\n      overwrite: true\n      contents:\n        inline: {inline}\n",
            f.path, f.mode
        ));
    }
    match variant {
        Variant::Fcos => vec![(
            format!("{}.bu", layer.name),
            format!("variant: fcos\nversion: 1.5.0\n{files}"),
        )],
        Variant::Openshift => roles
            .iter()
            .map(|role| {
                let name = machineconfig_name(layer, role);
                let text = format!(
                    "variant: openshift\nversion: {release}.0\nmetadata:\n  name: {name}\n  labels:\n    {ROLE_LABEL}: {role}\n{files}",
                );
                (format!("{name}.bu"), text)
            })
            .collect(),
    }
}

/// A unified diff of a file's old and new bytes; lines longer than 400 characters are shortened
/// (a compact Ignition config is one line of megabytes).
pub fn diff(name: &str, old: &[u8], new: &[u8]) -> String {
    if old == new {
        return String::new();
    }
    let shorten = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .split_inclusive('\n')
            .map(|l| {
                if l.len() > 400 {
                    let cut = (0..=200)
                        .rev()
                        .find(|i| l.is_char_boundary(*i))
                        .unwrap_or(0);
                    format!("{}… ({} bytes)\n", &l[..cut], l.len())
                } else {
                    l.to_string()
                }
            })
            .collect()
    };
    let (a, b) = (shorten(old), shorten(new));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (patched)"))
        .to_string()
}

/// The SCTP probe both the boot proof and `render smoke-test` run (perl and its core Socket
/// module only: nothing is installed at run time).
pub const SCTP_PROBE: &str = include_str!("probe/sctp-probe.pl");

/// What `render smoke-test` writes.
#[derive(Clone, Debug)]
pub struct SmokeTest {
    /// Namespace of every object (created by the output).
    pub namespace: String,
    /// Image with perl (its core Socket module), for the server and the client.
    pub image: String,
    /// Node selector of both pods (`key=value`), to test one pool.
    pub node_selector: Vec<(String, String)>,
    /// The SCTP port.
    pub port: u16,
    /// Also a NetworkPolicy admitting SCTP on the port from the client to the server.
    pub network_policy: bool,
}

/// A YAML double-quoted scalar (JSON's string syntax is one).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The documentation's SCTP verification as manifests that run air-gapped: a Namespace, the probe
/// in a ConfigMap, an SCTP server Pod and its ClusterIP Service, a client Job that sends a random
/// payload through the Service and succeeds exactly when it comes back, and optionally the
/// NetworkPolicy that admits it. Pods run as non-root with no privileges (the restricted pod
/// security level).
pub fn smoke_test(t: &SmokeTest) -> String {
    let ns = &t.namespace;
    let image = quoted(&t.image);
    let port = t.port;
    let script: String = SCTP_PROBE.lines().map(|l| format!("    {l}\n")).collect();
    // A pod spec, its lines at column 0 (indented where it is placed).
    let pod_spec = |indent: &str, command: &str, restart: &str, port_name: &str| {
        let mut body = format!("restartPolicy: {restart}\n");
        if !t.node_selector.is_empty() {
            body.push_str("nodeSelector:\n");
            for (k, v) in &t.node_selector {
                body.push_str(&format!("  {}: {}\n", quoted(k), quoted(v)));
            }
        }
        body.push_str(&format!(
            "containers:
  - name: probe
    image: {image}
    command: {command}
    ports:
      - containerPort: {port}
        name: {port_name}
        protocol: SCTP
    securityContext:
      allowPrivilegeEscalation: false
      runAsNonRoot: true
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
      - name: probe
        mountPath: /probe
        readOnly: true
volumes:
  - name: probe
    configMap:
      name: sctp-probe
"
        ));
        body.lines()
            .map(|l| format!("{indent}{l}\n"))
            .collect::<String>()
    };
    let server = pod_spec(
        "  ",
        &format!("[perl, /probe/sctp-probe.pl, server, \"{port}\"]"),
        "Always",
        "sctp-server",
    );
    let client = pod_spec(
        "      ",
        &format!("[perl, /probe/sctp-probe.pl, client, sctp-server.{ns}.svc, \"{port}\"]"),
        "Never",
        "sctp-client",
    );
    let mut out = format!(
        "# modlayer render smoke-test: the SCTP listener/client test, air-gapped. The Job succeeds
# exactly when a random payload crossed the Service and came back.
#   oc apply -f smoke.yaml && oc wait -n {ns} --for=condition=complete job/sctp-client --timeout=5m
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: sctp-probe
  namespace: {ns}
data:
  sctp-probe.pl: |
{script}---
apiVersion: v1
kind: Pod
metadata:
  name: sctp-server
  namespace: {ns}
  labels:
    app: sctp-server
spec:
{server}---
apiVersion: v1
kind: Service
metadata:
  name: sctp-server
  namespace: {ns}
spec:
  type: ClusterIP
  selector:
    app: sctp-server
  ports:
    - name: sctp
      protocol: SCTP
      port: {port}
      targetPort: {port}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: sctp-client
  namespace: {ns}
spec:
  backoffLimit: 3
  activeDeadlineSeconds: 600
  template:
    metadata:
      labels:
        app: sctp-client
    spec:
{client}"
    );
    if t.network_policy {
        out.push_str(&format!(
            "---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-sctp-smoke
  namespace: {ns}
spec:
  podSelector:
    matchLabels:
      app: sctp-server
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: sctp-client
      ports:
        - protocol: SCTP
          port: {port}
"
        ));
    }
    out
}
