//! Acceptance: the one-liner (`ralf demo`) over the example RALF tree against its embedded
//! pve-sim: 15 stacks behind the gatekeeper, the Ansible inventory it writes (checked with real
//! `ansible-inventory`), the failure drills (a failing service, a failing gatekeeper check), the
//! credentials pre-check, and the uniqueness of the tree's ids and addresses.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use support::example_tree;

struct DemoRun {
    code: i32,
    out: String,
}

/// The tests that deploy the tree's service stacks (the demos, the gatekeeper's) each run their
/// own pve-sim, whose guests serve the catalogue's loopback addresses: one at a time. (The
/// gatekeeper's stand-ins bind free ports and would not collide.)
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
    // The gatekeeper's catalogue checks: nothing deployed at its first apply, and after the
    // deploy all 15 services at their catalogue address with their post-install snapshot.
    for when in ["apply", "plan"] {
        assert!(
            out.contains(&format!("Gatekeeper catalogue checks ({when}): no IP drift, every deployed service has its post-install snapshot.")),
            "{out}"
        );
    }
    assert!(!out.contains("Gatekeeper warning"), "{out}");
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
    support::copy_tree(&example_tree(), &tree);
    // The reverse proxy is down: its check asks a loopback port nothing serves.
    let closed = format!("127.0.0.1:{}", support::closed_port());
    let main_tf = tree.join(GATEKEEPER).join("tofu/main.tf");
    let text = std::fs::read_to_string(&main_tf).expect("main.tf");
    let broken = text.replacen(
        "url          = var.reverse_proxy_url",
        &format!("url          = \"http://{closed}/\""),
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
        out.contains("reverse-proxy") && out.contains(&closed),
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
    assert!(
        !out.contains("Gatekeeper catalogue checks"),
        "no all-clear from a gatekeeper that failed:\n{out}"
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
    support::copy_tree(&example_tree(), &tree);
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

/// Copies a tree as a clone of the repository has it: without Terraform's working files, state,
/// or the committed lock files (they pin the release archive; these tests run the provider built
/// in target/).
#[test]
fn failure_drill_a_failing_service_rolls_back_its_dependents_exit_early_and_the_rest_is_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("iac");
    support::copy_tree(&example_tree(), &tree);
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

/// A copy of the tree for `ralf run` against a test's own pve-sim (support::TreeCopy).
struct SimTree {
    copy: support::TreeCopy,
}

impl SimTree {
    fn new(sim: &support::Sim) -> SimTree {
        SimTree {
            copy: support::TreeCopy::new(sim, "ralf-gate-"),
        }
    }

    /// `ralf run --all <args>` over the units `include` selects; (exit code, output with the
    /// `[unit]` prefixes, line breaks and box-drawing gutters removed, so that messages
    /// Terraform wrapped match as one string).
    fn ralf(&self, include: &[&str], args: &[&str]) -> (i32, String) {
        support::terraform_binary();
        let mut cmd = Command::new(support::workspace_binary("ralf"));
        cmd.args(["run", "--all", "--tf-path", "terraform", "--working-dir"])
            .arg(&self.copy.iac)
            .env_remove("TF_LOG")
            .env_remove("PG_CONN_STR")
            .env_remove("RALF_STATE");
        for unit in include {
            cmd.args(["--queue-include-dir", unit]);
        }
        cmd.args(args);
        for (k, v) in &self.copy.env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("run ralf");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let flat = text
            .lines()
            .map(|l| {
                let l = l.trim_start();
                let l = match l.strip_prefix('[') {
                    Some(rest) if rest.starts_with("stacks/") => {
                        rest.split_once("] ").map_or("", |(_, line)| line)
                    }
                    _ => l,
                };
                l.trim_start_matches(|c: char| {
                    c == '│' || c == '╷' || c == '╵' || c.is_whitespace()
                })
            })
            .collect::<Vec<_>>()
            .join(" ");
        (output.status.code().unwrap_or(-1), flat)
    }
}

/// The container's `net0` moved to another address, as someone editing it by hand would
/// (`PUT .../config`), and back.
fn set_net0_address(sim: &support::Sim, ct_id: u32, from: &str, to: &str) {
    let path = format!("/api2/json/nodes/pve/lxc/{ct_id}/config");
    let config = sim.call("GET", &path, None);
    let net0 = config["data"]["net0"].as_str().expect("net0").to_string();
    assert!(net0.contains(&format!("ip={from}/")), "{net0}");
    let moved = net0.replace(&format!("ip={from}/"), &format!("ip={to}/"));
    sim.call("PUT", &path, Some(serde_json::json!({ "net0": moved })));
    let now = sim.call("GET", &path, None);
    assert_eq!(now["data"]["net0"], moved.as_str(), "the sim took the move");
}

fn snapshot_names(sim: &support::Sim, ct_id: u32) -> Vec<String> {
    let answer = sim.call(
        "GET",
        &format!("/api2/json/nodes/pve/lxc/{ct_id}/snapshot"),
        None,
    );
    answer["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

/// The gatekeeper's catalogue checks (`stacks/network-health/tofu/catalogue.tf`) under real
/// terraform, through `ralf run` on the tree's gatekeeper unit (so the catalogue reaches it
/// through its terragrunt.hcl), against two service stacks the tree itself deployed. The
/// gatekeeper's network checks (`main.tf`) need the stand-ins `ralf demo` serves; the demo tests
/// above cover them, and this copy leaves that file out.
#[test]
fn the_gatekeeper_warns_of_ip_drift_and_missing_post_install_snapshots_naming_the_service() {
    let _turn = ONE_DEMO_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let sim = support::Sim::start();
    let mut tree = SimTree::new(&sim);
    std::fs::remove_file(tree.copy.iac.join(GATEKEEPER).join("tofu/main.tf")).expect("main.tf");
    // The HTTP targets `ralf demo` would name (the variables insist on a URL); nothing asks them
    // without main.tf.
    for var in [
        "RALF_GATEKEEPER_REVERSE_PROXY_URL",
        "RALF_GATEKEEPER_OBSERVABILITY_URL",
    ] {
        tree.copy
            .env
            .push((var.into(), "http://127.0.0.1:9/".into()));
    }
    let gate = [GATEKEEPER];
    let drift = "Check block assertion failed";

    // The first deploy: no container exists yet, which is neither drift nor unready.
    let (code, out) = tree.ralf(&gate, &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "the gatekeeper plans no changes:\n{out}");
    assert!(!out.contains(drift), "no warning before any deploy:\n{out}");
    assert!(!out.contains("IP drift"), "{out}");

    // Two services deployed by their own stacks (the gatekeeper, not selected, is left out).
    let (code, out) = tree.ralf(&["stacks/postgresql-fz", "stacks/minio-fz"], &["apply"]);
    assert_eq!(code, 0, "the two stacks apply:\n{out}");
    for ct_id in [2010, 2012] {
        assert!(
            snapshot_names(&sim, ct_id).contains(&"post-install".to_string()),
            "CT {ct_id} has the module's post-install snapshot"
        );
    }
    // Everything where the catalogue says, with its snapshot: no warning, and the second plan
    // after the gatekeeper's apply has no changes.
    let (code, out) = tree.ralf(&gate, &["apply"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains(drift),
        "a healthy deploy warns of nothing:\n{out}"
    );
    let (code, out) = tree.ralf(&gate, &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "plan after apply has no changes:\n{out}");
    assert!(out.contains("No changes."), "{out}");
    assert!(!out.contains(drift), "{out}");

    // postgresql moved by hand; minio lost its post-install snapshot.
    set_net0_address(&sim, 2010, "127.0.20.10", "127.0.20.99");
    let deleted = sim.call(
        "DELETE",
        "/api2/json/nodes/pve/lxc/2012/snapshot/post-install",
        None,
    );
    for _ in 0..100 {
        if !snapshot_names(&sim, 2012).contains(&"post-install".to_string()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !snapshot_names(&sim, 2012).contains(&"post-install".to_string()),
        "the snapshot is gone: {deleted}"
    );
    let (code, out) = tree.ralf(&gate, &["plan", "-detailed-exitcode"]);
    assert_eq!(
        code, 0,
        "warnings, not a stop, and still no changes for the gatekeeper:\n{out}"
    );
    assert!(out.contains(drift), "{out}");
    assert!(
        out.contains("IP drift against the catalogue")
            && out.contains("postgresql (CT 2010) expected 127.0.20.10, actual 127.0.20.99"),
        "the drift names the service and both addresses:\n{out}"
    );
    assert!(
        !out.contains("minio (CT 2012) expected"),
        "minio did not move:\n{out}"
    );
    assert!(
        out.contains("Not recovery-ready, no \"post-install\" snapshot: minio (CT 2012)."),
        "the missing snapshot names the service:\n{out}"
    );

    // The service's own stack repairs both, and the warnings go.
    let (code, out) = tree.ralf(&["stacks/postgresql-fz", "stacks/minio-fz"], &["apply"]);
    assert_eq!(code, 0, "the stacks repair the drift:\n{out}");
    let (code, out) = tree.ralf(&gate, &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(drift), "repaired, no warning:\n{out}");
}
