//! Stopping `ralf` safely: SIGINT and SIGTERM in the middle of an apply reach every running
//! terraform, which stops gracefully and releases its state lock; units not started stay so;
//! the summary says what finished, what was interrupted and what never started; the exit code
//! is 130 or 143; a second signal kills what still runs; no process outlives ralf.

mod common;

use common::{fixture, terraform, Tree};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Upper bound for waiting on events; a bound for a hung test, not a speed assertion.
const PATIENCE: Duration = Duration::from_secs(120);

fn spawn_ralf(tree: &Tree, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ralf"));
    cmd.args(args)
        .current_dir(&tree.root)
        .env_remove("TF_PLUGIN_CACHE_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in tree.env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("ralf binary starts");
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    (child, rx)
}

/// Collects lines until one satisfies `done`; panics with everything seen after [`PATIENCE`].
fn wait_for_line(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let hit = done(&line);
            seen.push(line);
            if hit {
                return;
            }
        }
    }
    panic!(
        "the expected line never came; output so far:\n{}",
        seen.join("\n")
    );
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("ralf did not exit after the signal");
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "cannot signal ralf");
}

/// Processes whose working directory lies inside `root` (terraform, its provisioners, hooks).
fn processes_inside(root: &Path) -> Vec<String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(&root) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "pid {}: {}",
                entry.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}

/// Output lines arriving after exit; collected briefly so the summary is complete.
fn drain(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>) {
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        seen.push(line);
    }
}

fn interrupt_apply(sig: i32, expected_code: i32, name: &str) {
    let tree = fixture("interrupt");
    let tf = terraform();
    let (mut child, rx) = spawn_ralf(&tree, &["run", "--all", "--tf-path", &tf, "apply"]);
    let mut seen = Vec::new();
    let quick_done = |seen: &[String]| {
        seen.iter()
            .any(|l| l.starts_with("[quick] quick succeeded"))
    };
    let slow_running = |seen: &[String]| {
        seen.iter().any(|l| {
            l.starts_with("[slow]") && l.contains("(local-exec): slow-provisioner-running")
        })
    };
    while !(quick_done(&seen) && slow_running(&seen)) {
        wait_for_line(&rx, &mut seen, |_| true);
    }
    assert!(
        tree.path("slow/.terraform.tfstate.lock.info").exists(),
        "slow holds its state lock while applying"
    );
    signal(&child, sig);
    let status = wait_exit(&mut child);
    drain(&rx, &mut seen);
    let out = seen.join("\n");
    assert_eq!(status.code(), Some(expected_code), "{out}");
    assert!(
        out.contains(&format!(
            "Stopped by {name}: 1 finished, 1 interrupted, 1 never started"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("ralf: received {name}")), "{out}");
    assert!(
        !tree.path("slow/.terraform.tfstate.lock.info").exists(),
        "terraform released its state lock"
    );
    assert!(
        !tree.path("after-slow/terraform.tfstate").exists(),
        "a unit waiting on the interrupted one never started"
    );
    assert_eq!(processes_inside(&tree.root), Vec::<String>::new(), "{out}");
}

#[test]
fn sigint_during_apply_stops_terraform_gracefully_and_exits_130() {
    interrupt_apply(libc::SIGINT, 130, "SIGINT");
}

#[test]
fn sigterm_during_apply_stops_terraform_gracefully_and_exits_143() {
    interrupt_apply(libc::SIGTERM, 143, "SIGTERM");
}

/// A stand-in terraform that ignores SIGINT while "applying", like a provider stuck on an API.
const STUBBORN_TF: &str = r#"#!/bin/sh
case "$1" in
  init) exit 0 ;;
esac
trap 'echo "stand-in: ignoring SIGINT"' INT
echo "stand-in: applying"
while true; do sleep 1; done
"#;

#[test]
fn a_second_signal_kills_children_that_ignore_the_first() {
    let tree = fixture("interrupt");
    let stand_in = tree.root.join("stubborn-tf");
    std::fs::write(&stand_in, STUBBORN_TF).expect("write stand-in");
    std::fs::set_permissions(
        &stand_in,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod stand-in");
    let tf = stand_in.display().to_string();
    let (mut child, rx) = spawn_ralf(
        &tree,
        &[
            "run",
            "--all",
            "--tf-path",
            &tf,
            "--queue-include-dir",
            "slow",
            "apply",
        ],
    );
    let mut seen = Vec::new();
    wait_for_line(&rx, &mut seen, |l| l.contains("stand-in: applying"));
    signal(&child, libc::SIGINT);
    wait_for_line(&rx, &mut seen, |l| l.contains("stand-in: ignoring SIGINT"));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "ralf waits for its children after the first signal"
    );
    signal(&child, libc::SIGINT);
    let status = wait_exit(&mut child);
    drain(&rx, &mut seen);
    let out = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(
        out.contains("Stopped by SIGINT: 0 finished, 1 interrupted"),
        "{out}"
    );
    assert_eq!(processes_inside(&tree.root), Vec::<String>::new(), "{out}");
}
