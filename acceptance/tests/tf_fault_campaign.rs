//! Acceptance: a bounded fault campaign. Containers with snapshots are applied by the real
//! `terraform` while `pve-sim` injects about 20% mixed faults (5xx, dropped connections,
//! config-lock timeouts, failed tasks) with a fixed seed each. Every seed converges within two
//! applies; then, with faults off, state and Proxmox agree exactly. Without failed tasks one apply
//! is enough. Bounded by seed count, not by time; the figures are in docs/PERFORMANCE.md.

mod support;

use support::{assert_state_matches_proxmox, Sim};

/// Seeds of the campaign: few, fixed, so a failure is repeatable.
const SEEDS: [u64; 3] = [11, 23, 37];
/// Containers per seed, each with one snapshot.
const CONTAINERS: u32 = 3;

fn fleet() -> String {
    support::fleet_with_snapshots(6100, CONTAINERS)
}

/// Injects faults adding up to about `total` of all calls, spread over `kinds`.
fn inject_mixed_faults(sim: &Sim, kinds: &[&str], total: f64, seed: u64) {
    let rate = total / kinds.len() as f64;
    for (i, kind) in kinds.iter().enumerate() {
        sim.call(
            "POST",
            "/sim/faults",
            Some(serde_json::json!({
                "endpoint": "*", "kind": kind, "rate": rate, "seed": seed + i as u64
            })),
        );
    }
}

/// Faults triggered so far, summed over the injected kinds.
fn faults_triggered(sim: &Sim) -> u64 {
    sim.call("GET", "/sim/faults", None)
        .as_array()
        .map(|faults| faults.iter().filter_map(|f| f["triggered"].as_u64()).sum())
        .unwrap_or(0)
}

/// One line of the campaign's figures (for docs/PERFORMANCE.md), printed with `--nocapture`.
fn report(campaign: &str, seed: u64, applies: u32, sim: &Sim) {
    eprintln!(
        "campaign {campaign}: seed {seed}: {applies} apply(s), {} faults in {} API calls",
        faults_triggered(sim),
        sim.stats()["total"]
    );
}

fn apply(tf: &support::TfDir) -> support::TfRun {
    tf.run(&["apply", "-auto-approve", "-no-color", "-parallelism=4"])
}

#[test]
fn under_twenty_percent_mixed_faults_every_seed_converges_within_two_applies() {
    for seed in SEEDS {
        let sim = Sim::start();
        inject_mixed_faults(
            &sim,
            &["http500", "http596", "drop", "lock_timeout", "task_fail"],
            0.20,
            seed,
        );
        let tf = sim.tf(&fleet());
        let first = apply(&tf);
        let mut applies = 1;
        if first.code != 0 {
            applies = 2;
            let second = apply(&tf);
            assert_eq!(
                second.code,
                0,
                "seed {seed}: the second apply must converge:\n{}\n--- first apply:\n{}",
                second.all(),
                first.all()
            );
        }
        report("mixed", seed, applies, &sim);
        sim.call("DELETE", "/sim/faults", None);
        tf.assert_no_changes();
        assert_state_matches_proxmox(&tf, &sim, &format!("seed {seed}"));
    }
}

#[test]
fn without_failed_tasks_twenty_percent_faults_converge_in_one_apply() {
    for seed in SEEDS {
        let sim = Sim::start();
        inject_mixed_faults(
            &sim,
            &["http500", "http596", "drop", "lock_timeout"],
            0.20,
            seed,
        );
        let tf = sim.tf(&fleet());
        let run = apply(&tf);
        assert_eq!(
            run.code,
            0,
            "seed {seed}: one apply converges:\n{}",
            run.all()
        );
        report("no-task-failures", seed, 1, &sim);
        sim.call("DELETE", "/sim/faults", None);
        tf.assert_no_changes();
        assert_state_matches_proxmox(&tf, &sim, &format!("seed {seed}"));
    }
}
