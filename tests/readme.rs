//! The README lists every finding code, generated from the one enum (`modlayer explain` prints the
//! same descriptions).

mod common;

#[test]
fn readme_lists_every_code_as_the_enum_says() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let begin =
        "<!-- codes:begin (generated from src/findings.rs; tests/readme.rs checks it) -->\n";
    let end = "<!-- codes:end -->";
    let start = readme.find(begin).expect("codes:begin marker") + begin.len();
    let stop = readme[start..].find(end).expect("codes:end marker") + start;
    let table = modlayer::findings::markdown_table();
    if std::env::var_os("MODLAYER_WRITE_README").is_some() {
        let new = format!("{}{table}{}", &readme[..start], &readme[stop..]);
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"), new).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..stop],
        table,
        "README codes table is stale: run MODLAYER_WRITE_README=1 cargo test --test readme"
    );
    for c in modlayer::findings::Code::ALL {
        let out = common::modlayer()
            .args(["explain", c.as_str()])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(c.description()) && text.contains(c.fix()),
            "{text}"
        );
    }
    let out = common::modlayer()
        .args(["explain", "no-such-code"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------------
// Every `console` example of the README stays true: each `$ modlayer …` line runs, in the order
// the README gives them, in one sandbox that holds the files the README names (in the shapes users
// have them); it must exit 0, and where the README shows its output, print exactly that (a last
// line `…` stands for the rest). Lines of other programs (`oc`, `openshift-install`, …) need a
// cluster or a download: each such program is listed below with the reason, and a command of any
// other program fails this test until it is classified.

/// Programs of README examples that cannot run offline here, and why.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    ("oc", "needs a cluster"),
    (
        "openshift-install",
        "needs a release image and a pull secret",
    ),
    (
        "coreos-installer",
        "downloads or writes media; tested in the boot-media tests",
    ),
    ("skopeo", "copies from a registry"),
    (
        "butane",
        "real Butane is not packaged; its outputs are goldens",
    ),
    (
        "kubectl",
        "needs a cluster or a kustomization of the user's",
    ),
    ("kpt", "needs the user's package"),
    ("podman", "needs a container engine"),
    ("curl", "needs the network"),
    ("scp", "needs another machine"),
    (
        "sha256sum",
        "checks files carried to a site; nothing of modlayer's to prove",
    ),
];

/// Media the README's examples name that only other programs make (`openshift-install agent
/// create image`, `coreos-installer iso customize`, `pxe ignition wrap`): a modlayer command on
/// one of them is not run here; tests/media.rs runs the same commands on media built with xorriso
/// and coreos-installer.
const MADE_BY_OTHERS: &[&str] = &["agent.x86_64.iso", "node.iso", "node.img", "sctp.iso"];

/// One `$` line of a `console` block and the output lines the README shows under it.
struct Example {
    /// Line number in the README (1-based).
    line: usize,
    /// The command (after `$ `).
    command: String,
    /// The output shown, if any.
    output: Vec<String>,
}

fn console_examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut inside = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            inside = line.trim() == "```console";
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            // A comment between commands, or a blank line: no output of the command above.
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.push(Example {
                line: i + 1,
                command: cmd.to_string(),
                output: Vec::new(),
            });
        } else if let Some(ex) = out.last_mut() {
            ex.output.push(line.to_string());
        }
    }
    out
}

/// The sandbox: the files the README's examples name, in the shapes users have them.
fn sandbox(dir: &std::path::Path, bin: &std::path::Path) {
    use std::fs;
    let w = |rel: &str, bytes: &[u8]| {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    };
    let run = |args: &[&str]| -> Vec<u8> {
        let out = std::process::Command::new(bin)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "modlayer {args:?}: {out:?}");
        out.stdout
    };
    // The installer's 99-worker-ssh MachineConfig as `create manifests` writes it.
    let ssh = "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  labels:\n    machineconfiguration.openshift.io/role: worker\n  name: 99-worker-ssh\nspec:\n  config:\n    ignition:\n      version: 3.2.0\n    passwd:\n      users:\n      - name: core\n        sshAuthorizedKeys:\n        - ssh-ed25519 AAAAC3Nza\n";
    // An installer bootstrap config: spec 3.2.0, files with data URLs (the manifests under
    // /opt/openshift/openshift/), a unit, the core user.
    use base64::Engine as _;
    let bootstrap = serde_json::json!({
        "ignition": {"version": "3.2.0"},
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["ssh-ed25519 AAAAC3Nza"]}]},
        "storage": {"files": [
            {"path": "/etc/hostname", "mode": 420, "overwrite": true,
             "contents": {"source": "data:,bootstrap"}},
            {"path": "/opt/openshift/openshift/99_openshift-machineconfig_99-worker-ssh.yaml",
             "mode": 420, "overwrite": true,
             "contents": {"source": format!("data:text/plain;charset=utf-8;base64,{}",
                 base64::engine::general_purpose::STANDARD.encode(ssh))}},
        ]},
        "systemd": {"units": [{"name": "bootkube.service", "enabled": true,
                               "contents": "[Unit]\nDescription=Bootstrap\n"}]},
    });
    w("bootstrap.ign", bootstrap.to_string().as_bytes());
    w("99-worker.yaml", ssh.as_bytes());
    w("configs/99-worker-ssh.yaml", ssh.as_bytes());
    w(
        "configs/50-worker-chrony.yaml",
        ssh.replace("99-worker-ssh", "50-worker-chrony").as_bytes(),
    );
    w("load-sctp-module.yaml", &run(&["render", "machineconfig"]));
    // An install directory after `openshift-install create manifests`.
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/install-dirs/standard"),
        &dir.join("cluster"),
    );
    // Butane sources: one with a local file, one detected by content.
    w("files/sctp-load.conf", b"sctp");
    w(
        "site.bu",
        b"variant: fcos\nversion: 1.5.0\n# the SCTP layer, the load list kept beside the source\nstorage:\n  files:\n    - path: /etc/modprobe.d/sctp-blacklist.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        inline: \"\"\n    - path: /etc/modules-load.d/sctp-load.conf\n      mode: 0644\n      overwrite: true\n      contents:\n        local: sctp-load.conf\n",
    );
    w(
        "config.yaml",
        &run(&[
            "render",
            "butane",
            "--variant",
            "openshift",
            "--openshift-version",
            "4.14",
        ]),
    );
    // An OS root, a rootfs archive of it, and an image (built by umoci) under srv/.
    w(
        "srv/rootfs/etc/modprobe.d/sctp-blacklist.conf",
        &common::rhel_blacklist(),
    );
    w("srv/rootfs/etc/hostname", b"node\n");
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(dir.join("rootfs.tar.gz")).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(".", dir.join("srv/rootfs")).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let img = common::umoci_image(&dir.join("umoci"));
    let tag = std::process::Command::new("umoci")
        .args(["tag", "--image", &format!("{}:base", img.display()), "4.16"])
        .output()
        .unwrap();
    assert!(tag.status.success(), "umoci tag: {tag:?}");
    fs::create_dir_all(dir.join("srv/images")).unwrap();
    fs::rename(&img, dir.join("srv/images/rhcos")).unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn readme_console_examples_run_as_shown() {
    if !common::have(common::Oracle::Umoci) {
        return;
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let examples = console_examples(&readme);
    assert!(
        examples.len() >= 20,
        "only {} examples found",
        examples.len()
    );
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_modlayer"));
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    sandbox(root, &bin);
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let srv = format!("{}/srv/", root.display());
    let mut ran = 0;
    for ex in &examples {
        let program = ex.command.split_whitespace().next().unwrap_or("");
        if program != "modlayer" {
            assert!(
                NOT_RUN_HERE.iter().any(|(p, _)| *p == program),
                "README.md:{}: `{}`: a command of `{program}`, which this test neither runs nor lists as needing more than this machine: run it here or add it to NOT_RUN_HERE with the reason",
                ex.line,
                ex.command
            );
            continue;
        }
        if let Some(m) = MADE_BY_OTHERS.iter().find(|m| ex.command.contains(*m)) {
            eprintln!(
                "README.md:{}: not run here: {m} is made by another program (tests/media.rs)",
                ex.line
            );
            continue;
        }
        let command = ex.command.replace("/srv/", &srv);
        let out = std::process::Command::new("sh")
            .args(["-c", &command])
            .current_dir(root)
            .env("PATH", &path)
            .env("MODLAYER_LOCK_TIMEOUT", "5")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "README.md:{}: `{}` exited {:?}\nstdout:\n{stdout}\nstderr:\n{}",
            ex.line,
            ex.command,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let shown: Vec<String> = ex.output.iter().map(|l| l.replace("/srv/", &srv)).collect();
        if !shown.is_empty() {
            let got: Vec<&str> = stdout.lines().collect();
            let (exact, rest) = match shown.last().map(String::as_str) {
                Some("…") => (&shown[..shown.len() - 1], true),
                _ => (&shown[..], false),
            };
            let head: Vec<&str> = got.iter().take(exact.len()).copied().collect();
            let want: Vec<&str> = exact.iter().map(String::as_str).collect();
            assert_eq!(
                head, want,
                "README.md:{}: `{}` printed otherwise than the README shows",
                ex.line, ex.command
            );
            if rest {
                assert!(
                    got.len() > exact.len(),
                    "README.md:{}: `…` but no more output",
                    ex.line
                );
            } else {
                assert_eq!(
                    got.len(),
                    exact.len(),
                    "README.md:{}: more output than shown:\n{stdout}",
                    ex.line
                );
            }
        }
        ran += 1;
    }
    assert!(ran >= 20, "only {ran} README commands ran");
}
