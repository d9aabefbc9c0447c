//! Acceptance: no container falls out of state, whatever fails. The real `terraform` against an
//! embedded `pve-sim` with faults injected through its `/sim/faults` API; one named behaviour per
//! test (issue 11).

mod support;

use support::{Sim, UBUNTU};

const HEADER: &str = r#"
terraform {
  required_providers {
    ralf = { source = "ralf-homelab/ralf" }
  }
}
"#;

fn provider_with_token(token: &str) -> String {
    format!("{HEADER}\nprovider \"ralf\" {{\n  api_token = \"{token}\"\n}}\n")
}

fn service(name: &str, ct_id: u32, body: &str) -> String {
    format!(
        r#"
resource "ralf_lxc_service" "{name}" {{
  ct_id    = {ct_id}
  hostname = "{name}"
  template = "{UBUNTU}"
{body}
}}
"#
    )
}

fn one_service(body: &str) -> String {
    format!(
        "{}{}",
        provider_with_token(support::TOKEN),
        service("vault", 3110, body)
    )
}

fn state_list(tf: &support::TfDir) -> Vec<String> {
    let run = tf.run(&["state", "list"]);
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout.lines().map(str::to_string).collect()
}

fn inject(sim: &Sim, endpoint: &str, kind: &str, count: u64) {
    sim.call(
        "POST",
        "/sim/faults",
        Some(serde_json::json!({"endpoint": endpoint, "kind": kind, "count": count})),
    );
}

#[test]
fn a_container_whose_start_fails_stays_in_state_and_the_next_apply_finishes_it() {
    let sim = Sim::start();
    inject(
        &sim,
        "POST /nodes/{node}/lxc/{vmid}/status/start",
        "task_fail",
        1,
    );
    let tf = sim.tf(&one_service(""));
    let run = tf.apply();
    assert_eq!(
        run.code,
        1,
        "the failed start fails the apply:\n{}",
        run.all()
    );
    assert!(
        !run.flat().contains("unknown values"),
        "partial state must hold no unknown values:\n{}",
        run.all()
    );
    assert_eq!(state_list(&tf), vec!["ralf_lxc_service.vault"]);
    assert_eq!(sim.containers().len(), 1);
    tf.apply_ok();
    let cts = sim.containers();
    assert_eq!(cts.len(), 1, "no duplicate: {cts:?}");
    tf.assert_no_changes();
}

/// Applies, marks the container for replacement with `mark` (or the apply's own flags), and
/// checks that one apply replaces it and leaves nothing to do.
fn replaced_in_one_apply(mark: &[&str], apply_args: &[&str]) {
    let sim = Sim::start();
    let tf = sim.tf(&one_service(""));
    tf.apply_ok();
    if !mark.is_empty() {
        let run = tf.run(mark);
        assert_eq!(run.code, 0, "{}", run.all());
    }
    let run = tf.run(apply_args);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("1 added, 0 changed, 1 destroyed"),
        "{}",
        run.all()
    );
    assert_eq!(sim.containers().len(), 1);
    tf.assert_no_changes();
}

#[test]
fn a_tainted_container_with_a_fixed_ct_id_is_replaced_in_one_apply() {
    replaced_in_one_apply(
        &["taint", "ralf_lxc_service.vault"],
        &["apply", "-auto-approve", "-no-color"],
    );
}

#[test]
fn replace_of_a_container_with_a_fixed_ct_id_works_in_one_apply() {
    replaced_in_one_apply(
        &[],
        &[
            "apply",
            "-auto-approve",
            "-no-color",
            "-replace=ralf_lxc_service.vault",
        ],
    );
}

#[test]
fn a_container_created_before_its_state_was_written_is_adopted_by_the_next_apply() {
    let sim = Sim::start();
    let tf = sim.tf(&one_service("  memory = 512\n"));
    tf.apply_ok();
    // The state never reached disk (terraform was killed after the create).
    std::fs::remove_file(tf.path().join("terraform.tfstate")).expect("remove state");
    let run = tf.apply_ok();
    assert!(run.stdout.contains("1 added"), "{}", run.all());
    let cts = sim.containers();
    assert_eq!(cts.len(), 1, "adopted, not duplicated: {cts:?}");
    assert_eq!(state_list(&tf), vec!["ralf_lxc_service.vault"]);
    tf.assert_no_changes();
}

#[test]
fn a_container_the_provider_cannot_prove_is_its_own_is_a_plan_error_with_the_import_command() {
    let sim = Sim::start();
    let tf = sim.tf(&one_service(""));
    tf.apply_ok();
    std::fs::remove_file(tf.path().join("terraform.tfstate")).expect("remove state");
    // Same ct_id, another hostname: not the container this configuration created.
    tf.write_main(&format!(
        "{}{}",
        provider_with_token(support::TOKEN),
        service("other", 3110, "")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "{}", run.all());
    let text = run.flat();
    assert!(text.contains("ct_id 3110 is already used"), "{text}");
    assert!(
        text.contains("terraform import <address> pve/3110"),
        "{text}"
    );
}

#[test]
fn inputs_proxmox_would_refuse_fail_at_plan_naming_the_attribute() {
    let sim = Sim::start();
    let cases = [
        ("  swap = -1\n", "swap out of range"),
        ("  startup_order = -1\n", "startup_order out of range"),
        ("  memory = 1024.5\n", "memory must be a whole number"),
        ("  tags = [\"two words\"]\n", "Invalid tag"),
        ("  tags = [\"a;b\"]\n", "Invalid tag"),
        ("  nameserver = \"dns.example\"\n", "Invalid nameserver"),
        ("  password = \"abc\"\n", "password too short"),
        (
            "  network = {\n    eth0 = { bridge = \"vm br0\" }\n  }\n",
            "Invalid bridge",
        ),
        (
            "  timeouts {\n    create = \"soon\"\n  }\n",
            "Invalid timeout",
        ),
    ];
    for (body, expected) in cases {
        let tf = sim.tf(&one_service(body));
        let run = tf.plan();
        let text = run.flat();
        assert_eq!(run.code, 1, "{body}: {text}");
        assert!(
            text.contains(expected),
            "{body}: expected {expected:?} in {text}"
        );
        assert!(text.contains("on main.tf line"), "{body}: {text}");
    }
    let tf = sim.tf(&format!(
        "{}{}",
        provider_with_token(support::TOKEN),
        service("half", 100, "").replace("ct_id    = 100", "ct_id    = 100.5")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.flat().contains("ct_id must be a whole number"),
        "{}",
        run.all()
    );
    assert!(sim.containers().is_empty());
}

#[test]
fn a_wrong_token_is_a_plan_error_not_a_warning() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{}{}",
        provider_with_token("root@pam!ralf=wrong-secret"),
        service("vault", 3110, "")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.flat().contains("api_token"),
        "says what to fix: {}",
        run.all()
    );
}

#[test]
fn an_unknown_node_fails_the_plan_at_once_without_retries() {
    let sim = Sim::start();
    let tf = sim.tf(&one_service("  node = \"no-such-node\"\n"));
    sim.clear_stats();
    let run = tf.plan();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.flat().contains("does not exist in this cluster"),
        "{}",
        run.all()
    );
    let storage_calls = sim.count("GET /nodes/{node}/storage");
    assert!(
        storage_calls <= 1,
        "a permanent error is not retried ({storage_calls} calls): {}",
        sim.stats()
    );
}

#[test]
fn a_failed_create_task_leaves_nothing_behind_and_the_next_apply_creates_the_container() {
    let sim = Sim::start();
    inject(&sim, "POST /nodes/{node}/lxc", "task_fail", 1);
    let tf = sim.tf(&one_service(""));
    let run = tf.apply();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(state_list(&tf).is_empty(), "nothing in state");
    assert!(sim.containers().is_empty(), "nothing left in Proxmox");
    tf.apply_ok();
    assert_eq!(sim.containers().len(), 1);
    tf.assert_no_changes();
}

#[test]
fn a_snapshot_not_taken_by_this_configuration_is_a_plan_error_with_the_import_command() {
    let sim = Sim::start();
    let tf = sim.tf(&one_service(""));
    tf.apply_ok();
    sim.call(
        "POST",
        "/api2/json/nodes/pve/lxc/3110/snapshot",
        Some(serde_json::json!({"snapname": "base", "description": "by hand"})),
    );
    tf.write_main(&format!(
        "{}\nresource \"ralf_snapshot\" \"base\" {{\n  ct_id = ralf_lxc_service.vault.ct_id\n  name  = \"base\"\n}}\n",
        one_service("")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "{}", run.all());
    let text = run.flat();
    assert!(text.contains("Snapshot \"base\" already exists"), "{text}");
    assert!(
        text.contains("terraform import <address> pve/3110/base"),
        "{text}"
    );
}

#[test]
fn rollback_to_a_snapshot_that_does_not_exist_is_a_plan_error() {
    let sim = Sim::start();
    let tf = sim.tf(&one_service(""));
    tf.apply_ok();
    tf.write_main(&format!(
        "{}\nresource \"ralf_smoke_check\" \"vault\" {{\n  ct_id       = ralf_lxc_service.vault.ct_id\n  on_failure  = \"rollback\"\n  rollback_to = \"never-taken\"\n  ping {{ host = \"127.0.0.1\" }}\n}}\n",
        one_service("")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "{}", run.all());
    let text = run.flat();
    assert!(
        text.contains("Snapshot \"never-taken\" does not exist"),
        "{text}"
    );
    assert!(text.contains("rollback_to"), "{text}");
}

#[test]
fn provider_settings_that_cannot_work_fail_at_plan_at_their_own_attribute() {
    let sim = Sim::start();
    let cases = [
        ("  insecure = \"maybe\"\n", "insecure"),
        ("  ca_cert = \"not a certificate\"\n", "Invalid ca_cert"),
        (
            "  ssh {\n    private_key = \"not a key\"\n  }\n",
            "Invalid SSH private key",
        ),
        (
            "  ssh {\n    known_hosts = \"just-a-host\"\n  }\n",
            "Invalid known_hosts",
        ),
    ];
    for (settings, expected) in cases {
        let provider = format!(
            "{HEADER}\nprovider \"ralf\" {{\n  api_token = \"{}\"\n{settings}}}\n",
            support::TOKEN
        );
        let tf = sim.tf(&format!("{provider}{}", service("vault", 3110, "")));
        let run = tf.plan();
        let text = run.flat();
        assert_eq!(run.code, 1, "{settings}: {text}");
        assert!(
            text.contains(expected),
            "{settings}: expected {expected:?} in {text}"
        );
    }
}
