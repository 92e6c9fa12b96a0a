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
