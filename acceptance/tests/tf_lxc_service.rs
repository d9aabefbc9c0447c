//! Acceptance: `ralf_lxc_service` with the real `terraform` against an embedded `pve-sim`, one
//! named scenario per test.

mod support;

use support::{Sim, DEBIAN, ROOT_PASSWORD, UBUNTU};

const HEADER: &str = r#"
terraform {
  required_providers {
    ralf = { source = "ralf-homelab/ralf" }
  }
}
"#;

fn token_provider() -> String {
    format!(
        "{HEADER}\nprovider \"ralf\" {{\n  api_token = \"{}\"\n}}\n",
        support::TOKEN
    )
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

const VW_BODY: &str = r#"
  memory      = 1024
  cores       = 1
  tags        = ["vault", "prod"]
  description = "Vaultwarden"
  network = {
    eth0 = {
      ip      = "127.0.30.10/24"
      gateway = "127.0.30.1"
    }
  }
"#;

fn vw(body: &str) -> String {
    format!("{}{}", token_provider(), service("vaultwarden", 3010, body))
}

fn plan_text(tf: &support::TfDir) -> (i32, String) {
    let run = tf.plan();
    (run.code, run.flat())
}

#[test]
fn create_then_plan_shows_no_changes() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    let cts = sim.containers();
    assert_eq!(cts.len(), 1);
    assert_eq!(cts[0]["vmid"], 3010);
    assert_eq!(cts[0]["status"], "running");
    tf.assert_no_changes();
}

#[test]
fn memory_cores_tags_description_and_network_update_in_place() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    let changed = VW_BODY
        .replace("memory      = 1024", "memory      = 2048")
        .replace("cores       = 1", "cores       = 2")
        .replace(r#"["vault", "prod"]"#, r#"["vault", "prod", "phase2"]"#)
        .replace("\"Vaultwarden\"", "\"Vaultwarden password manager\"")
        .replace("127.0.30.10/24", "127.0.30.11/24");
    tf.write_main(&vw(&changed));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("1 to change"), "{text}");
    assert!(
        !text.contains("must be replaced"),
        "no replacement expected: {text}"
    );
    tf.apply_ok();
    tf.assert_no_changes();
    let config = sim.call("GET", "/api2/json/nodes/pve/lxc/3010/config", None);
    assert_eq!(config["data"]["memory"], 2048);
    assert_eq!(config["data"]["cores"], 2);
    assert!(config["data"]["net0"]
        .as_str()
        .unwrap()
        .contains("ip=127.0.30.11/24"));
}

#[test]
fn a_template_change_replaces_the_container() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    tf.write_main(&vw(VW_BODY).replace(UBUNTU, DEBIAN));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2);
    assert!(text.contains("must be replaced"), "{text}");
    assert!(text.contains("forces replacement"), "{text}");
    tf.apply_ok();
    tf.assert_no_changes();
    assert_eq!(sim.containers().len(), 1);
}

#[test]
fn the_disk_grows_in_place_and_never_shrinks() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(&format!("{VW_BODY}\n  disk = {{ size = 8 }}\n")));
    tf.apply_ok();
    tf.write_main(&vw(&format!("{VW_BODY}\n  disk = {{ size = 12 }}\n")));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2);
    assert!(!text.contains("must be replaced"), "{text}");
    tf.apply_ok();
    tf.assert_no_changes();
    assert_eq!(sim.count("PUT /nodes/{node}/lxc/{vmid}/resize"), 1);
    tf.write_main(&vw(&format!("{VW_BODY}\n  disk = {{ size = 10 }}\n")));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1, "shrinking must be a plan error: {text}");
    assert!(text.contains("Disk cannot shrink"), "{text}");
    assert!(
        text.contains("-replace="),
        "the error says how to recreate: {text}"
    );
}

#[test]
fn a_change_made_through_the_api_shows_as_drift() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    sim.call(
        "PUT",
        "/api2/json/nodes/pve/lxc/3010/config",
        Some(serde_json::json!({"memory": "4096"})),
    );
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("memory") && text.contains("4096 -> 1024"),
        "{text}"
    );
    assert!(text.contains("1 to change"), "{text}");
    // Exactly the attribute changed outside Terraform, nothing else ("~ name = old -> new").
    let plan = tf.plan();
    let changed: Vec<&str> = plan
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("~ ") && l.contains(" -> "))
        .filter_map(|l| l[2..].split_whitespace().next())
        .collect();
    assert_eq!(changed, ["memory"], "{}", plan.stdout);
}

#[test]
fn a_container_deleted_outside_terraform_is_planned_for_creation() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    sim.call(
        "POST",
        "/api2/json/nodes/pve/lxc/3010/status/stop",
        Some(serde_json::json!({})),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    sim.call(
        "DELETE",
        "/api2/json/nodes/pve/lxc/3010",
        Some(serde_json::json!({})),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(sim.containers().is_empty(), "setup: container deleted");
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("1 to add"), "{text}");
    tf.apply_ok();
    tf.assert_no_changes();
}

#[test]
fn import_then_plan_shows_no_changes() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    let rm = tf.run(&["state", "rm", "ralf_lxc_service.vaultwarden"]);
    assert_eq!(rm.code, 0, "{}", rm.all());
    // The container carries this resource's ownership marker, so a plan would adopt it (issue
    // 11; a container that is not provably ours is a plan error, see tf_state_safety.rs). An
    // explicit import works all the same.
    let import = tf.run(&[
        "import",
        "-no-color",
        "ralf_lxc_service.vaultwarden",
        "pve/3010",
    ]);
    assert_eq!(import.code, 0, "{}", import.all());
    tf.assert_no_changes();
}

#[test]
fn destroy_removes_the_container_with_purge() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY));
    tf.apply_ok();
    tf.destroy_ok();
    assert!(sim.containers().is_empty());
    let deletes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "DELETE" && r["pattern"] == "/nodes/{node}/lxc/{vmid}")
        .collect();
    assert_eq!(deletes.len(), 1, "one destroy call");
    assert_eq!(deletes[0]["params"]["purge"], "1");
    assert_eq!(deletes[0]["params"]["destroy-unreferenced-disks"], "1");
}

#[test]
fn keyctl_with_a_token_is_a_plan_error_and_applies_with_a_root_pam_login() {
    let sim = Sim::start();
    let body = format!("{VW_BODY}\n  features = {{ nesting = true, keyctl = true }}\n");
    let tf = sim.tf(&vw(&body));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("keyctl needs root@pam"), "{text}");
    assert!(
        text.contains("username = \"root@pam\""),
        "the error says how to lift it: {text}"
    );
    let root = format!(
        "{HEADER}\nprovider \"ralf\" {{\n  username = \"root@pam\"\n  password = \"{ROOT_PASSWORD}\"\n}}\n{}",
        service("vaultwarden", 3010, &body)
    );
    tf.write_main(&root);
    tf.apply_ok();
    tf.assert_no_changes();
}

fn fleet(count: u32) -> String {
    let mut tf = token_provider();
    for i in 0..count {
        let body = format!(
            "  memory = 512\n  network = {{ eth0 = {{ ip = \"127.0.40.{}/24\" }} }}\n",
            10 + i
        );
        tf.push_str(&service(&format!("svc{i}"), 5000 + i, &body));
    }
    tf
}

#[test]
fn fifteen_containers_apply_with_parallelism_ten() {
    let sim = Sim::start();
    let tf = sim.tf(&fleet(15));
    let run = tf.run(&["apply", "-auto-approve", "-no-color", "-parallelism=10"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(sim.containers().len(), 15);
    tf.assert_no_changes();
}

#[test]
fn faults_in_a_fifth_of_the_calls_still_converge_in_one_apply() {
    let sim = Sim::start();
    for kind in ["http500", "http596", "drop", "lock_timeout"] {
        sim.call(
            "POST",
            "/sim/faults",
            Some(serde_json::json!({"endpoint": "*", "kind": kind, "rate": 0.05, "seed": 7})),
        );
    }
    let tf = sim.tf(&fleet(15));
    let run = tf.run(&["apply", "-auto-approve", "-no-color", "-parallelism=10"]);
    assert_eq!(
        run.code,
        0,
        "apply must converge despite faults:\n{}",
        run.all()
    );
    sim.call("DELETE", "/sim/faults", None);
    let cts = sim.containers();
    assert_eq!(cts.len(), 15, "no duplicate or orphaned container: {cts:?}");
    tf.assert_no_changes();
}

#[test]
fn refreshing_n_containers_costs_two_calls_each() {
    let sim = Sim::start();
    let tf = sim.tf(&fleet(5));
    tf.apply_ok();
    sim.clear_stats();
    let run = tf.run(&["plan", "-refresh-only", "-no-color"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(sim.count("GET /nodes/{node}/lxc/{vmid}/config"), 5);
    assert_eq!(sim.count("GET /nodes/{node}/lxc/{vmid}/status/current"), 5);
    assert_eq!(
        sim.stats()["total"],
        10,
        "nothing but the two reads per container: {}",
        sim.stats()
    );
}

#[test]
fn a_missing_template_or_an_unfit_storage_is_a_plan_error() {
    let sim = Sim::start();
    let tf = sim.tf(&vw(VW_BODY).replace(
        UBUNTU,
        "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
    ));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("Template not found") && text.contains("pveam"),
        "{text}"
    );
    tf.write_main(&vw(&format!(
        "{VW_BODY}\n  disk = {{ storage = \"local\" }}\n"
    )));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("does not hold container disks") && text.contains("local-lvm"),
        "{text}"
    );
    tf.write_main(&vw(&format!(
        "{VW_BODY}\n  disk = {{ storage = \"fast-nvme\" }}\n"
    )));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("has no storage \"fast-nvme\""), "{text}");
}

#[test]
fn bad_arguments_are_refused_at_plan_time_naming_the_attribute() {
    let sim = Sim::start();
    let cases = [
        (
            VW_BODY.replace("memory      = 1024", "memory      = 8"),
            "memory too small",
        ),
        (
            VW_BODY.replace("127.0.30.10/24", "127.0.30.10"),
            "neither an IPv4 address in CIDR notation",
        ),
        (
            VW_BODY.replace("127.0.30.1\"", "127.0.99.1\""),
            "Gateway outside the subnet",
        ),
    ];
    for (body, expected) in cases {
        let tf = sim.tf(&vw(&body));
        let (code, text) = plan_text(&tf);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains(expected), "expected {expected:?} in {text}");
        assert!(text.contains("on main.tf line"), "{text}");
    }
    let tf = sim.tf(&format!(
        "{}{}",
        token_provider(),
        service("bad_name", 3011, "")
    ));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1);
    assert!(text.contains("is not a DNS name"), "{text}");
    let tf = sim.tf(&format!("{}{}", token_provider(), service("low", 99, "")));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1);
    assert!(text.contains("ct_id out of range"), "{text}");
}

#[test]
fn missing_credentials_are_a_plan_error_that_says_what_to_set() {
    let tf = support::TfDir::new(&format!(
        "{HEADER}\nprovider \"ralf\" {{\n  endpoint = \"https://127.0.0.1:1/\"\n}}\n{}",
        service("vaultwarden", 3010, "")
    ));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no credentials"), "{text}");
    assert!(
        text.contains("api_token") && text.contains("PROXMOX_VE_API_TOKEN"),
        "{text}"
    );
}

#[test]
fn a_wrong_token_is_an_error_that_never_shows_the_secret() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{HEADER}\nprovider \"ralf\" {{\n  api_token = \"root@pam!ralf=wrong-secret-value\"\n}}\n{}",
        service("vaultwarden", 3010, "")
    ));
    let run = tf.apply();
    assert_ne!(run.code, 0);
    let text = run.flat();
    assert!(text.contains("401"), "{text}");
    assert!(
        !text.contains("wrong-secret-value"),
        "the secret never appears: {text}"
    );
}

#[test]
fn a_container_created_outside_terraform_imports_without_replacement() {
    let sim = Sim::start();
    sim.call(
        "POST",
        "/api2/json/nodes/pve/lxc",
        Some(serde_json::json!({
            "vmid": "3010", "hostname": "vaultwarden", "ostemplate": UBUNTU, "memory": "1024",
            "cores": "1", "swap": "512", "unprivileged": "1", "rootfs": "local-lvm:8",
            "net0": "name=eth0,bridge=vmbr0,ip=127.0.30.10/24,gw=127.0.30.1", "onboot": "1",
            "tags": "prod;vault", "description": "Vaultwarden", "features": "nesting=1", "start": "1",
        })),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(sim.containers().len(), 1, "setup: the container exists");
    let tf = sim.tf(&vw(VW_BODY));
    let import = tf.run(&[
        "import",
        "-no-color",
        "ralf_lxc_service.vaultwarden",
        "pve/3010",
    ]);
    assert_eq!(import.code, 0, "{}", import.all());
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("update in-place") && !text.contains("must be replaced"),
        "{text}"
    );
    tf.apply_ok();
    tf.assert_no_changes();
}

#[test]
fn an_import_block_adopts_the_container_with_nothing_else_to_change() {
    let sim = Sim::start();
    let first = sim.tf(&vw(VW_BODY));
    first.apply_ok();
    // A second configuration adopts the same container through an import block.
    let tf = sim.tf(&format!(
        "{}\nimport {{\n  to = ralf_lxc_service.vaultwarden\n  id = \"pve/3010\"\n}}\n",
        vw(VW_BODY)
    ));
    let (code, text) = plan_text(&tf);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{text}"
    );
    tf.apply_ok();
    tf.assert_no_changes();
}

#[test]
fn a_node_known_only_after_apply_is_planned_as_configured() {
    let sim = Sim::start();
    let body = format!(
        "{}\nresource \"terraform_data\" \"node\" {{\n  input = \"pve\"\n}}\n{}",
        token_provider(),
        service("vaultwarden", 3010, "  node = terraform_data.node.output\n")
    );
    let tf = sim.tf(&body);
    tf.apply_ok();
    assert_eq!(sim.containers().len(), 1);
    tf.assert_no_changes();
}
