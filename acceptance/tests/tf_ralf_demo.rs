//! Acceptance: the one-liner (`ralf demo`) over the example RALF tree against its embedded
//! pve-sim, the failure drill, and the uniqueness of the tree's ids and addresses.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn example_tree() -> PathBuf {
    support::workspace_root().join("examples/ralf-homelab/iac")
}

struct DemoRun {
    code: i32,
    out: String,
}

/// Both demos deploy the same tree, whose guests serve the same loopback addresses: one at a time.
static ONE_DEMO_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn demo(tree: &Path, work: &Path) -> DemoRun {
    let _turn = ONE_DEMO_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    support::terraform_binary();
    let output = Command::new(support::workspace_binary("ralf"))
        .args([
            "demo",
            "--task-ms",
            "50",
            "--tf-path",
            "terraform",
            "--tree",
        ])
        .arg(tree)
        .arg("--work-dir")
        .arg(work)
        .env_remove("PROXMOX_VE_ENDPOINT")
        .env_remove("TF_CLI_CONFIG_FILE")
        .output()
        .expect("run ralf demo");
    DemoRun {
        code: output.status.code().unwrap_or(-1),
        out: format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// The table row of one unit: (result, add, change, destroy).
fn row<'a>(out: &'a str, table_after: &str, unit: &str) -> Vec<&'a str> {
    let start = out
        .find(table_after)
        .unwrap_or_else(|| panic!("no {table_after:?} in:\n{out}"));
    out[start..]
        .lines()
        .find(|l| l.starts_with(unit) && l.split_whitespace().next() == Some(unit))
        .unwrap_or_else(|| panic!("no row for {unit} after {table_after:?}:\n{out}"))
        .split_whitespace()
        .collect()
}

#[test]
fn the_one_liner_applies_every_stack_passes_its_smoke_checks_plans_nothing_and_destroys_all() {
    let work = tempfile::tempdir().expect("tempdir");
    let run = demo(&example_tree(), work.path());
    assert_eq!(run.code, 0, "ralf demo failed:\n{}", run.out);
    let out = &run.out;
    assert!(out.contains("Run summary: apply over 14 units"), "{out}");
    assert!(
        out.contains("14 succeeded, 0 failed, 0 early exit"),
        "{out}"
    );
    let smoke_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("stacks/") && l.contains(" OK, "))
        .collect();
    assert_eq!(smoke_lines.len(), 14, "one smoke summary per stack:\n{out}");
    for line in &smoke_lines {
        assert!(
            line.contains(" 0 FAIL"),
            "every stack passes its checks: {line}"
        );
    }
    assert!(
        out.contains("No changes: the deployment matches the configuration."),
        "{out}"
    );
    assert!(out.contains("Cluster after destroy: 0 containers"), "{out}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn failure_drill_a_failing_service_rolls_back_its_dependents_exit_early_and_the_rest_is_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("iac");
    copy_dir(&example_tree(), &tree);
    // Break the mail install: it declares no ports, so mail's tcp check fails.
    let main_tf = tree.join("stacks/mail-fz/tofu/main.tf");
    let text = std::fs::read_to_string(&main_tf).expect("main.tf");
    let broken = text.replacen(
        "ports = [",
        "ports = [] # broken install\n    unused_ports = [",
        1,
    );
    assert_ne!(text, broken, "the drill must change the mail install");
    std::fs::write(&main_tf, broken).expect("write main.tf");
    // Fast retries for the drill (the tree's own are production-like).
    let text = std::fs::read_to_string(&main_tf).expect("main.tf");
    std::fs::write(
        &main_tf,
        text.replace("attempts      = 5", "attempts      = 2")
            .replace("initial_delay = \"2s\"", "initial_delay = \"200ms\""),
    )
    .expect("write");

    let run = demo(&tree, &dir.path().join("work"));
    assert_ne!(run.code, 0, "the demo must fail:\n{}", run.out);
    let out = &run.out;
    assert!(
        out.contains("rolled back to \"pre-install\""),
        "the failed stack rolled back:\n{out}"
    );
    assert_eq!(
        row(out, "Run summary: apply", "stacks/mail-fz")[1],
        "failed"
    );
    for dependent in [
        "stacks/gitea-fz",
        "stacks/vaultwarden-fz",
        "stacks/netbox-fz",
        "stacks/snipeit-fz",
        "stacks/synapse-fz",
        "stacks/element-fz",
        "stacks/n8n-fz",
    ] {
        let r = row(out, "Run summary: apply", dependent);
        assert_eq!(
            &r[1..3],
            ["early", "exit"],
            "{dependent} depends on mail: {r:?}"
        );
    }
    for independent in [
        "stacks/postgresql-fz",
        "stacks/minio-fz",
        "stacks/prometheus-fz",
        "stacks/loki-fz",
        "stacks/grafana-fz",
    ] {
        assert_eq!(
            row(out, "Run summary: apply", independent)[1],
            "succeeded",
            "{independent}"
        );
    }
    assert!(out.contains("the apply failed for"), "{out}");
    assert!(out.contains("stacks/mail-fz"), "{out}");
}

#[test]
fn every_stack_has_a_unique_ct_id_and_unique_addresses() {
    let catalogue =
        std::fs::read_to_string(example_tree().join("services.hcl")).expect("services.hcl");
    let mut ids = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    let mut count = 0;
    for line in catalogue
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
    {
        if let Some(id) = line
            .strip_prefix("ct_id")
            .and_then(|r| r.trim().strip_prefix('='))
        {
            count += 1;
            assert!(
                ids.insert(id.trim().to_string()),
                "ct_id {id} is used twice"
            );
        }
        if line.starts_with("address") {
            for quoted in line.split('"').skip(1).step_by(2) {
                assert!(
                    addresses.insert(quoted.to_string()),
                    "address {quoted} is used twice"
                );
            }
        }
    }
    let stacks = std::fs::read_dir(example_tree().join("stacks"))
        .expect("stacks")
        .count();
    assert_eq!(count, stacks, "one catalogue entry per stack");
    assert_eq!(
        addresses.len(),
        3 * count,
        "a functional, a sim and a lab address per service"
    );
    for spec_id in [
        "3010", "4010", "4012", "4014", "4030", "4032", "8010", "8012", "8014", "10020",
    ] {
        assert!(
            ids.contains(spec_id),
            "SPEC's CT id {spec_id} is in the tree"
        );
    }
}
