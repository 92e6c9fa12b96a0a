//! Reliability (issue 13): closed pipes, decoded-content budgets, hostile OCI layouts, all-or-nothing
//! writes, temporary files after kill -9, concurrent applies.

mod common;

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn broken_pipe() -> OwnedFd {
    let (r, w) = rustix::pipe::pipe().expect("pipe");
    drop(r);
    w
}

/// Run a command with stdout and/or stderr a broken pipe; its exit code.
fn run_broken(mut c: Command, stdout: bool, stderr: bool) -> Option<i32> {
    c.stdin(Stdio::null());
    c.stdout(if stdout {
        Stdio::from(broken_pipe())
    } else {
        Stdio::null()
    });
    c.stderr(if stderr {
        Stdio::from(broken_pipe())
    } else {
        Stdio::null()
    });
    c.status().expect("spawn").code()
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn closed_pipes_never_panic() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.ign");
    let out = common::run_modlayer(["render", "ignition"]).unwrap();
    write(&good, &out.stdout);
    let bad = d.path().join("bad.ign");
    write(&bad, b"{\"ignition\": ");
    let cases: Vec<(Vec<&str>, bool, bool, i32)> = vec![
        // An error message to a closed stderr: still exit 2, not 101.
        (vec!["verify", bad.to_str().unwrap()], false, true, 2),
        (vec!["apply", bad.to_str().unwrap()], false, true, 2),
        (vec!["verify", "/nonexistent/x.ign"], false, true, 2),
        // Success with messages (-v) on a closed stderr: the status earned, 0.
        (vec!["-v", "verify", good.to_str().unwrap()], false, true, 0),
        (
            vec!["-v", "apply", "--dry-run", good.to_str().unwrap()],
            false,
            true,
            0,
        ),
        // stdout closed (output lost: an I/O failure, 2) with stderr closed too.
        (vec!["verify", good.to_str().unwrap()], true, true, 2),
        (vec!["render", "ignition"], true, true, 2),
        (vec!["completions", "bash"], true, false, 2),
        (vec!["man"], true, true, 2),
        (vec!["explain"], true, true, 2),
        // A usage error on a closed stderr.
        (vec!["--no-such-flag"], false, true, 2),
    ];
    for (args, so, se, want) in cases {
        let mut c = common::modlayer();
        c.args(&args);
        let code = run_broken(c, so, se);
        assert_eq!(
            code,
            Some(want),
            "modlayer {args:?} (stdout closed: {so}, stderr closed: {se})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Decoded-content budget (gzip bombs): generated at test time.

/// A gzip data URL that decompresses to `mib` MiB of zeros (concatenated gzip members of 1 MiB
/// each, as Ignition's reader accepts).
fn bomb_url(mib: usize) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = z.finish().unwrap();
    let all: Vec<u8> = member.repeat(mib);
    format!(
        "data:;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(all)
    )
}

/// Run `modlayer ARGS` under /usr/bin/time (when present) and a 4 GiB address-space limit:
/// exit code, stderr, peak RSS in KiB (0 when /usr/bin/time is missing).
fn run_measured(args: &[&str]) -> (Option<i32>, String, u64) {
    let d = tempfile::tempdir().unwrap();
    let rss = d.path().join("rss");
    let bin = env!("CARGO_BIN_EXE_modlayer");
    let timed = Path::new("/usr/bin/time").exists();
    let mut c = Command::new("sh");
    let script = if timed {
        "ulimit -v 4194304; exec /usr/bin/time -f %M -o \"$0\" \"$@\""
    } else {
        "ulimit -v 4194304; shift; exec \"$@\""
    };
    c.arg("-c").arg(script).arg(&rss).arg(bin).args(args);
    let out = c.output().unwrap();
    let kib = std::fs::read_to_string(&rss)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    let mut err = String::from_utf8_lossy(&out.stderr).into_owned();
    if timed {
        // /usr/bin/time adds "Command exited with non-zero status N".
        err = err
            .lines()
            .filter(|l| !l.starts_with("Command exited"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    (out.status.code(), err, kib)
}

fn bomb_config(files: usize, appends: usize, dir: &str, mib: usize) -> String {
    let url = bomb_url(mib);
    let res = |u: &str| serde_json::json!({"source": u, "compression": "gzip"});
    let mut entries = Vec::new();
    for i in 0..files {
        let mut f = serde_json::json!({
            "path": format!("{dir}/bomb{i}.conf"),
            "mode": 420,
            "overwrite": true,
            "contents": res(&url),
        });
        if appends > 0 {
            f["append"] = (0..appends).map(|_| res(&url)).collect();
        }
        entries.push(f);
    }
    serde_json::json!({"ignition": {"version": "3.2.0"}, "storage": {"files": entries}}).to_string()
}

fn machineconfig_of(config: &str) -> String {
    format!(
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: bombs\n  labels:\n    machineconfiguration.openshift.io/role: worker\nspec:\n  config: {config}\n"
    )
}

#[test]
fn many_gzip_bombs_stop_at_the_budget() {
    let d = tempfile::tempdir().unwrap();
    // 40 files of 250 MiB each (each under the 256 MiB per-file cap): 10 GB decoded in all.
    let files = bomb_config(40, 0, "/opt/bombs", 250);
    // One file made of 40 append parts of 250 MiB.
    let appends = bomb_config(1, 40, "/etc/modules-load.d", 250);
    let cases = [
        ("files.ign", files.clone()),
        ("appends.ign", appends),
        ("files-mc.yaml", machineconfig_of(&files)),
    ];
    for (name, text) in &cases {
        let p = d.path().join(name);
        write(&p, text.as_bytes());
        let started = std::time::Instant::now();
        let (code, err, kib) = run_measured(&["verify", p.to_str().unwrap()]);
        println!(
            "{name}: {} bytes of config, exit {code:?}, peak RSS {kib} KiB, {:?}",
            text.len(),
            started.elapsed()
        );
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("add up to more than"), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        if kib > 0 {
            assert!(kib < 600 << 10, "{name}: peak RSS {kib} KiB");
        }
    }
}

#[test]
fn large_decoded_contents_are_not_held() {
    let d = tempfile::tempdir().unwrap();
    // Three 250 MiB files at configuration paths: under the total budget, so verify judges the
    // config; the contents are streamed (seen as not visible), never held.
    let text = bomb_config(3, 0, "/etc/modprobe.d", 250);
    let p = d.path().join("three.ign");
    write(&p, text.as_bytes());
    let (code, err, kib) = run_measured(&["verify", "--format", "json", p.to_str().unwrap()]);
    println!("three.ign: exit {code:?}, peak RSS {kib} KiB");
    assert_eq!(code, Some(1), "{err}");
    if kib > 0 {
        assert!(
            kib < 300 << 10,
            "peak RSS {kib} KiB: decoded contents were held"
        );
    }
    let out = common::modlayer()
        .args(["verify", "--format", "json", p.to_str().unwrap()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("262144000 bytes, larger than modlayer reads"),
        "{text}"
    );
}
