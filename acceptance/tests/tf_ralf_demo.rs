//! Acceptance: the one-liner (`ralf demo`) over the example RALF tree against its embedded
//! pve-sim: 15 stacks behind the gatekeeper, the Ansible inventory it writes (checked with real
//! `ansible-inventory`), the failure drills (a failing service, a failing gatekeeper check), the
//! credentials pre-check, and the uniqueness of the tree's ids and addresses.

mod support;

use std::collections::{BTreeMap, BTreeSet};
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

/// The gatekeeper unit, which every stack depends on.
const GATEKEEPER: &str = "stacks/network-health";

/// The catalogue's services: name => (group, sim address, ct_id), read from services.hcl.
fn catalogue() -> BTreeMap<String, (String, String, u64)> {
    let text = std::fs::read_to_string(example_tree().join("services.hcl")).expect("services.hcl");
    let mut services = BTreeMap::new();
    let mut current: Option<String> = None;
    let (mut group, mut sim, mut ct_id) = (String::new(), String::new(), 0);
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if let Some(name) = line.strip_suffix(" = {").filter(|n| *n != "services") {
            current = Some(name.to_string());
        } else if let Some(v) = line.strip_prefix("group") {
            group = v
                .trim_start_matches([' ', '='])
                .trim_matches('"')
                .to_string();
        } else if let Some(v) = line.strip_prefix("ct_id") {
            ct_id = v.trim_start_matches([' ', '=']).parse().expect("ct_id");
        } else if line.starts_with("address") {
            let quoted: Vec<&str> = line.split('"').collect();
            let at = quoted
                .iter()
                .position(|q| q.contains("sim ="))
                .expect("sim address");
            sim = quoted[at + 1].to_string();
        } else if line == "}" {
            if let Some(name) = current.take() {
                services.insert(name, (group.clone(), sim.clone(), ct_id));
            }
        }
    }
    services
}

#[test]
fn the_one_liner_applies_every_stack_behind_the_gatekeeper_plans_nothing_inventories_and_destroys_all(
) {
    let work = tempfile::tempdir().expect("tempdir");
    let run = demo(&example_tree(), work.path());
    assert_eq!(run.code, 0, "ralf demo failed:\n{}", run.out);
    let out = &run.out;
    let services = catalogue();
    assert_eq!(services.len(), 15, "the catalogue has 15 services");
    assert!(out.contains("Run summary: apply over 16 units"), "{out}");
    assert!(
        out.contains("16 succeeded, 0 failed, 0 early exit"),
        "{out}"
    );
    let smoke_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("stacks/") && !l.starts_with(GATEKEEPER) && l.contains(" OK, "))
        .collect();
    assert_eq!(smoke_lines.len(), 15, "one smoke summary per stack:\n{out}");
    for line in &smoke_lines {
        assert!(
            line.contains(" 0 FAIL"),
            "every stack passes its checks: {line}"
        );
    }
    for check in ["core", "dns", "reverse_proxy"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{GATEKEEPER} ({check}): ")))
            .unwrap_or_else(|| panic!("the gatekeeper's {check} checks ran:\n{out}"));
        assert!(line.contains(" 0 FAIL"), "{line}");
    }
    assert!(
        out.contains("No changes: the deployment matches the configuration."),
        "{out}"
    );
    assert!(out.contains("Cluster after destroy: 0 containers"), "{out}");

    // The inventory written after the apply, read by real Ansible.
    let inventory = work.path().join("iac/ansible/inventory");
    let hosts_yml = inventory.join("hosts.yml");
    assert!(
        hosts_yml.is_file(),
        "the demo wrote {}:\n{out}",
        hosts_yml.display()
    );
    let listed = Command::new("ansible-inventory")
        .arg("-i")
        .arg(&hosts_yml)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run ansible-inventory (apt-get install ansible-core; .ci/run installs it): {e}")
        });
    assert!(
        listed.status.success(),
        "ansible-inventory --list failed:\n{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&listed.stdout).expect("ansible-inventory prints JSON");
    for (name, (group, address, ct_id)) in &services {
        let members = listed[group]["hosts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            members.iter().any(|h| h == name),
            "{name} is in group {group}: {}",
            listed[group]
        );
        let vars = &listed["_meta"]["hostvars"][name];
        assert_eq!(vars["ansible_host"], address.as_str(), "{name}: {vars}");
        assert_eq!(vars["ralf_ct_id"], *ct_id, "{name}: {vars}");
        assert_eq!(vars["ralf_role"], name.as_str(), "{name}: {vars}");
        assert_eq!(vars["ralf_zone"], "fz", "{name}: {vars}");
    }
    let hosts: usize = listed["_meta"]["hostvars"]
        .as_object()
        .map_or(0, |h| h.len());
    assert_eq!(hosts, 15, "every service and nothing else is a host");
    let runtime = std::fs::read_to_string(inventory.join("runtime.env")).expect("runtime.env");
    assert!(
        runtime.lines().any(|l| l == "GITEA_IP=127.0.20.20"),
        "{runtime}"
    );
    assert!(runtime.lines().any(|l| l == "GITEA_PORT=3000"), "{runtime}");
    assert!(
        runtime.lines().any(|l| l == "EXO_IP=127.0.100.10"),
        "{runtime}"
    );
}

#[test]
fn a_failing_gatekeeper_check_stops_all_15_stacks_with_its_reason_in_the_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("iac");
    copy_dir(&example_tree(), &tree);
    // The reverse proxy is down: its check asks a port nothing serves.
    let main_tf = tree.join(GATEKEEPER).join("tofu/main.tf");
    let text = std::fs::read_to_string(&main_tf).expect("main.tf");
    let broken = text.replacen(
        "url          = var.reverse_proxy_url",
        "url          = replace(var.reverse_proxy_url, \":8080/\", \":8089/\")",
        1,
    );
    assert_ne!(
        text, broken,
        "the drill must change the reverse proxy check"
    );
    std::fs::write(&main_tf, broken).expect("write main.tf");

    let run = demo(&tree, &dir.path().join("work"));
    assert_ne!(run.code, 0, "the demo must fail:\n{}", run.out);
    let out = &run.out;
    let summary = &out[out.find("Run summary: apply").expect("an apply summary")..];
    let gate = summary
        .lines()
        .find(|l| l.starts_with(GATEKEEPER))
        .unwrap_or_else(|| panic!("no gatekeeper row:\n{summary}"));
    assert!(gate.contains("failed"), "{gate}");
    assert!(gate.contains("Smoke checks failed"), "the reason: {gate}");
    assert!(
        out.contains("reverse-proxy") && out.contains("127.0.0.80:8089"),
        "the failed check and its target are shown:\n{out}"
    );
    for name in catalogue().keys() {
        let r = row(out, "Run summary: apply", &format!("stacks/{name}-fz"));
        assert_eq!(&r[1..3], ["early", "exit"], "{name}: {r:?}");
        assert!(
            r.join(" ")
                .contains("ancestor error: stacks/network-health"),
            "{name}: {r:?}"
        );
    }
    assert!(
        summary.contains("0 succeeded, 1 failed, 15 early exit"),
        "{summary}"
    );
    let sim_state =
        std::fs::read_to_string(dir.path().join("work/pve-sim-state.json")).unwrap_or_default();
    let state: serde_json::Value = serde_json::from_str(&sim_state).unwrap_or_default();
    assert_eq!(
        state["containers"].as_object().map_or(0, |c| c.len()),
        0,
        "no container was created"
    );
}

#[test]
fn a_run_without_the_credentials_stops_before_any_unit_naming_what_to_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("iac");
    copy_dir(&example_tree(), &tree);
    let output = Command::new(support::workspace_binary("ralf"))
        .args(["run", "--all", "plan", "--tf-path", "terraform"])
        .current_dir(&tree)
        .env_remove("PROXMOX_VE_ENDPOINT")
        .env_remove("PROXMOX_VE_API_TOKEN")
        .env("RALF_ENV", "sim")
        .output()
        .expect("run ralf");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no unit was started"), "{stderr}");
    for name in ["PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN"] {
        assert!(
            stderr.contains(&format!("{name}: read with get_env")),
            "{name} is named:\n{stderr}"
        );
    }
    assert!(stderr.contains("root.hcl"), "{stderr}");
    let started: Vec<PathBuf> = std::fs::read_dir(tree.join("stacks"))
        .expect("stacks")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".terragrunt-cache").exists() || p.join(".terraform").exists())
        .collect();
    assert!(started.is_empty(), "no unit started: {started:?}");

    // A token that is set is never printed, even when something else is missing.
    let output = Command::new(support::workspace_binary("ralf"))
        .args(["run", "--all", "plan", "--tf-path", "terraform"])
        .current_dir(&tree)
        .env_remove("PROXMOX_VE_ENDPOINT")
        .env("PROXMOX_VE_API_TOKEN", "root@pam!ralf=do-not-print-me")
        .output()
        .expect("run ralf");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("PROXMOX_VE_ENDPOINT"), "{text}");
    assert!(!text.contains("do-not-print-me"), "{text}");
}

#[test]
fn every_playbook_runs_the_base_role_first_and_passes_ansible_syntax_check() {
    let ansible = example_tree().join("ansible");
    let mut playbooks = Vec::new();
    for name in catalogue().keys() {
        let playbook = ansible.join(format!("playbooks/{name}.yml"));
        let text = std::fs::read_to_string(&playbook)
            .unwrap_or_else(|e| panic!("{}: {e}", playbook.display()));
        let roles: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter_map(|l| l.strip_prefix("- role: "))
            .collect();
        assert_eq!(roles.first(), Some(&"base"), "{name}: the base role first");
        playbooks.push(playbook);
    }
    let out = Command::new("ansible-playbook")
        .arg("--syntax-check")
        .args(["-i", "localhost,"])
        .args(&playbooks)
        .current_dir(&ansible)
        .env("ANSIBLE_CONFIG", ansible.join("ansible.cfg"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run ansible-playbook (apt-get install ansible-core; .ci/run installs it): {e}")
        });
    assert!(
        out.status.success(),
        "ansible-playbook --syntax-check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
        GATEKEEPER,
        "stacks/postgresql-fz",
        "stacks/minio-fz",
        "stacks/prometheus-fz",
        "stacks/loki-fz",
        "stacks/grafana-fz",
        "stacks/exo-fz",
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
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("-fz"))
        .count();
    assert_eq!(count, stacks, "one catalogue entry per stack");
    assert_eq!(count, 15, "15 services");
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
