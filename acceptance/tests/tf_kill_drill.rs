//! Acceptance: a kill drill. An apply of containers with snapshots is interrupted by SIGKILL of
//! `terraform`, and separately of the provider, at several points (after the first container
//! exists, after the first snapshot exists). One more apply converges: no import, no duplicate,
//! no stale lock, and state and Proxmox agree exactly. A provider whose terraform is killed
//! exits by itself. Bounded by the number of kill points.

mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{assert_state_matches_proxmox, Sim};

const CONTAINERS: u32 = 3;

fn fleet() -> String {
    support::fleet_with_snapshots(6200, CONTAINERS)
}

/// Where in the apply the kill lands.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    FirstContainerExists,
    FirstSnapshotExists,
}

impl KillPoint {
    fn reached(self, sim: &Sim) -> bool {
        let cts = sim.containers();
        match self {
            KillPoint::FirstContainerExists => !cts.is_empty(),
            KillPoint::FirstSnapshotExists => cts
                .iter()
                .any(|c| c["snapshots"].as_array().is_some_and(|s| !s.is_empty())),
        }
    }
}

/// Which process is killed.
#[derive(Debug, Clone, Copy)]
enum Victim {
    Terraform,
    Provider,
}

/// The pids of the provider processes that `parent` started (from /proc).
fn provider_children(parent: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some(after_comm) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let ppid = after_comm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && stat.contains("(terraform-provi") {
            pids.push(pid);
        }
    }
    pids
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn sigkill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("the `kill` program (procps) is needed for the kill drill");
    assert!(status.success(), "kill -9 {pid} failed");
}

/// Polls `done` every 20 ms for at most `limit` (a bound against hanging, not a speed check).
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn drill(point: KillPoint, victim: Victim) {
    let sim = Sim::start();
    // Slow tasks so that the kill lands in the middle of the apply.
    sim.call(
        "POST",
        "/sim/settings",
        Some(serde_json::json!({"task_duration_ms": 300})),
    );
    let tf = sim.tf(&fleet());
    let mut apply: Child = tf
        .command(&["apply", "-auto-approve", "-no-color", "-parallelism=2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start terraform");
    let terraform = apply.id();
    assert!(
        wait_for(Duration::from_secs(120), || point.reached(&sim)),
        "{point:?} never reached"
    );
    let providers = provider_children(terraform);
    let snapshots_at_kill: usize = sim
        .containers()
        .iter()
        .map(|c| c["snapshots"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(
        snapshots_at_kill < CONTAINERS as usize,
        "{point:?}: the kill must land mid-apply ({snapshots_at_kill} snapshots already)"
    );
    assert!(
        !providers.is_empty(),
        "{point:?}: no provider process found"
    );
    match victim {
        Victim::Terraform => {
            let _ = apply.kill();
            let _ = apply.wait();
            for pid in &providers {
                assert!(
                    wait_for(Duration::from_secs(10), || !alive(*pid)),
                    "{point:?}: the provider {pid} outlived its killed terraform"
                );
            }
        }
        Victim::Provider => {
            for pid in &providers {
                sigkill(*pid);
            }
            let _ = apply.wait();
        }
    }
    // Let tasks the killed process started run out in the simulator.
    wait_for(Duration::from_secs(30), || {
        sim.containers().iter().all(|c| c["lock"].is_null())
    });
    let run = tf.apply();
    eprintln!(
        "kill drill {point:?}/{victim:?}: {snapshots_at_kill} snapshot(s) at the kill; recovery apply exit {}",
        run.code
    );
    assert_eq!(
        run.code,
        0,
        "{point:?}/{victim:?}: one more apply converges without import:\n{}",
        run.all()
    );
    tf.assert_no_changes();
    assert_state_matches_proxmox(&tf, &sim, &format!("{point:?}/{victim:?}"));
    assert_eq!(sim.containers().len(), CONTAINERS as usize);
}

#[test]
fn sigkill_of_terraform_after_the_first_container_is_recovered_by_one_more_apply() {
    drill(KillPoint::FirstContainerExists, Victim::Terraform);
}

#[test]
fn sigkill_of_terraform_after_the_first_snapshot_is_recovered_by_one_more_apply() {
    drill(KillPoint::FirstSnapshotExists, Victim::Terraform);
}

#[test]
fn sigkill_of_the_provider_after_the_first_container_is_recovered_by_one_more_apply() {
    drill(KillPoint::FirstContainerExists, Victim::Provider);
}

#[test]
fn sigkill_of_the_provider_after_the_first_snapshot_is_recovered_by_one_more_apply() {
    drill(KillPoint::FirstSnapshotExists, Victim::Provider);
}
