//! Acceptance: the RALF deployment pattern (container, `pre-install` snapshot, install,
//! `post-install` snapshot, smoke checks with rollback) with the real `terraform`, `pve-sim`, and
//! a real OpenSSH server on loopback whose `pct` is the simulator's.

mod support;

use support::{Sim, SshNode, TfDir, UBUNTU};

const CT: u32 = 4010;

/// Tests run in parallel, each with its own simulator: give each guest its own loopback address.
fn next_ip() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(10);
    format!(
        "127.0.41.{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn config(
    sim: &Sim,
    ip: &str,
    ssh_block: &str,
    install_rev: u32,
    check_rev: u32,
    rollback_trigger: &str,
) -> String {
    let guests = r#"{"units":{"maddy.service":"active"},"ports":[{"port":8080,"kind":"http","status":200,"body":"maddy ok"},{"port":2525,"kind":"tcp"}]}"#;
    format!(
        r#"
terraform {{
  required_providers {{
    ralf = {{ source = "ralf-homelab/ralf" }}
  }}
}}
provider "ralf" {{
  api_token = "{token}"
{ssh_block}
}}

resource "ralf_lxc_service" "mail" {{
  ct_id    = {CT}
  hostname = "mail"
  template = "{UBUNTU}"
  network = {{
    eth0 = {{
      ip      = "{ip}/24"
      gateway = "127.0.41.1"
    }}
  }}
}}

resource "ralf_snapshot" "pre_install" {{
  ct_id            = ralf_lxc_service.mail.ct_id
  name             = "pre-install"
  description      = "before the install"
  {rollback_trigger}
}}

# Stands in for Ansible: declares the guest's services in the simulator.
resource "terraform_data" "install" {{
  triggers_replace = [ralf_snapshot.pre_install.id, "{install_rev}"]
  provisioner "local-exec" {{
    command = <<-EOT
      curl -fsSk -X PUT '{endpoint}sim/guests/{CT}' -H 'Content-Type: application/json' -d '{guests}'
    EOT
  }}
}}

resource "ralf_snapshot" "post_install" {{
  ct_id      = ralf_lxc_service.mail.ct_id
  name       = "post-install"
  depends_on = [terraform_data.install]
}}

resource "ralf_smoke_check" "mail" {{
  ct_id       = ralf_lxc_service.mail.ct_id
  on_failure  = "rollback"
  rollback_to = ralf_snapshot.pre_install.name
  triggers    = {{ install = terraform_data.install.id, run = "{check_rev}" }}
  ping {{ host = "{ip}" }}
  tcp {{
    host = "{ip}"
    port = 2525
  }}
  http {{
    url           = "http://{ip}:8080/"
    body_contains = "maddy"
  }}
  service {{ unit = "maddy.service" }}
  retry {{
    attempts      = 2
    initial_delay = "100ms"
  }}
  timeout    = "3s"
  depends_on = [ralf_snapshot.post_install]
}}

output "summary" {{ value = ralf_smoke_check.mail.summary }}
output "results" {{ value = ralf_smoke_check.mail.results }}
output "pre_parent" {{ value = ralf_snapshot.post_install.parent }}
"#,
        token = support::TOKEN,
        endpoint = sim.endpoint(),
    )
}

fn served(ip: &str, port: u16) -> bool {
    std::net::TcpStream::connect((ip, port)).is_ok()
}

fn snapshots(sim: &Sim) -> Vec<String> {
    sim.containers()
        .iter()
        .find(|c| c["vmid"] == CT)
        .map(|c| {
            c["snapshots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn status(sim: &Sim) -> String {
    sim.containers()
        .iter()
        .find(|c| c["vmid"] == CT)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

struct Setup {
    ip: String,
    sim: Sim,
    node: SshNode,
    tf: TfDir,
}

fn deployed() -> Setup {
    let sim = Sim::start();
    let node = SshNode::start(&sim);
    let ssh = node.ssh_block(&node.client_key, &node.known_hosts);
    let ip = next_ip();
    let tf = sim.tf(&config(&sim, &ip, &ssh, 1, 1, ""));
    tf.apply_ok();
    Setup { ip, sim, node, tf }
}

impl Setup {
    fn write(&self, install_rev: u32, check_rev: u32, rollback_trigger: &str) {
        let ssh = self
            .node
            .ssh_block(&self.node.client_key, &self.node.known_hosts);
        self.tf.write_main(&config(
            &self.sim,
            &self.ip,
            &ssh,
            install_rev,
            check_rev,
            rollback_trigger,
        ));
    }
}

#[test]
fn the_full_pattern_passes_ping_tcp_http_and_service_checks_and_then_plans_nothing() {
    let s = deployed();
    assert_eq!(s.tf.output("summary"), "4 OK, 0 FAIL, 0 SKIP");
    let results = s.tf.output_json("results");
    let kinds: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ping", "tcp", "http", "service"]);
    assert_eq!(snapshots(&s.sim), ["pre-install", "post-install"]);
    assert_eq!(s.tf.output("pre_parent"), "pre-install");
    assert!(served(&s.ip, 8080) && served(&s.ip, 2525));
    s.tf.assert_no_changes();
}

#[test]
fn a_broken_service_rolls_back_to_pre_install_and_a_fixed_one_passes_again() {
    let s = deployed();
    // Break the service, then re-run the checks.
    s.sim.call(
        "PUT",
        &format!("/sim/guests/{CT}"),
        Some(serde_json::json!({"units": {"maddy.service": "failed"}, "ports": []})),
    );
    s.write(1, 2, "");
    let run = s.tf.apply();
    assert_ne!(run.code, 0, "the apply must fail:\n{}", run.all());
    let text = run.flat();
    assert!(text.contains("rolled back to \"pre-install\""), "{text}");
    assert!(
        text.contains("maddy.service"),
        "the error names the failed check: {text}"
    );
    assert_eq!(
        status(&s.sim),
        "running",
        "the container runs again after the rollback"
    );
    assert!(
        !served(&s.ip, 8080) && !served(&s.ip, 2525),
        "pre-install serves nothing"
    );
    // Fix: run the install again; the checks pass.
    s.write(2, 2, "");
    s.tf.apply_ok();
    assert_eq!(s.tf.output("summary"), "4 OK, 0 FAIL, 0 SKIP");
    s.tf.assert_no_changes();
}

#[test]
fn rollback_trigger_rolls_back_on_demand_without_container_drift() {
    let s = deployed();
    assert!(served(&s.ip, 8080));
    s.write(1, 1, r#"rollback_trigger = "incident-1""#);
    s.tf.apply_ok();
    assert!(!served(&s.ip, 8080), "rolled back to pre-install");
    assert_eq!(status(&s.sim), "running");
    // The rollback itself leaves no drift on the container or the snapshot.
    let run = s.tf.plan();
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn a_snapshot_deleted_outside_terraform_is_recreated_and_one_can_be_imported() {
    let s = deployed();
    s.sim.call(
        "DELETE",
        &format!("/api2/json/nodes/pve/lxc/{CT}/snapshot/post-install"),
        Some(serde_json::json!({})),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(snapshots(&s.sim), ["pre-install"]);
    let run = s.tf.plan();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.flat()
            .contains("ralf_snapshot.post_install will be created"),
        "{}",
        run.all()
    );
    s.tf.apply_ok();
    assert_eq!(snapshots(&s.sim), ["pre-install", "post-install"]);
    // Import.
    assert_eq!(
        s.tf.run(&["state", "rm", "ralf_snapshot.post_install"])
            .code,
        0
    );
    let import = s.tf.run(&[
        "import",
        "-no-color",
        "ralf_snapshot.post_install",
        &format!("pve/{CT}/post-install"),
    ]);
    assert_eq!(import.code, 0, "{}", import.all());
    s.tf.assert_no_changes();
}

#[test]
fn destroy_removes_the_snapshots_before_the_container() {
    let s = deployed();
    s.tf.destroy_ok();
    assert!(s.sim.containers().is_empty());
    let order: Vec<String> = s
        .sim
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "DELETE")
        .map(|r| r["pattern"].as_str().unwrap().to_string())
        .collect();
    let last_snapshot = order
        .iter()
        .rposition(|p| p.contains("/snapshot/"))
        .expect("snapshot deletes");
    let container = order
        .iter()
        .position(|p| p == "/nodes/{node}/lxc/{vmid}")
        .expect("container delete");
    assert!(last_snapshot < container, "snapshots go first: {order:?}");
}

fn service_check_with(sim: &Sim, ssh_block: &str) -> TfDir {
    let body = format!(
        r#"
terraform {{
  required_providers {{
    ralf = {{ source = "ralf-homelab/ralf" }}
  }}
}}
provider "ralf" {{
  api_token = "{token}"
{ssh_block}
}}
resource "ralf_smoke_check" "svc" {{
  ct_id      = {CT}
  on_failure = "warn"
  service {{ unit = "maddy.service" }}
  retry {{ attempts = 1 }}
  timeout = "5s"
}}
output "results" {{ value = ralf_smoke_check.svc.results }}
"#,
        token = support::TOKEN
    );
    sim.tf(&body)
}

#[test]
fn ssh_failures_are_clear_failures_never_ok() {
    let s = deployed();
    let node = &s.node;
    let cases = [
        ("wrong key", node.ssh_block(&node.wrong_key, &node.known_hosts), "Permission denied"),
        ("unknown host key", node.ssh_block(&node.client_key, "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO7Fb5W1a7N3LQqH0yJ2v6ZzYk0mH8bX6f8l2tq4vS0x"), "ssh-keyscan"),
        ("unreachable node", node.ssh_block(&node.client_key, &node.known_hosts).replace(&format!("port        = {}", node.port), &format!("port        = {}", support::closed_port())), "refused"),
    ];
    for (what, block, expected) in cases {
        let tf = service_check_with(&s.sim, &block);
        let run = tf.apply_ok();
        let results = tf.output_json("results");
        assert_eq!(results[0]["status"], "FAIL", "{what}: {}", run.all());
        let message = results[0]["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{what}: expected {expected:?} in {message:?}"
        );
        assert!(
            !message.contains("PRIVATE KEY"),
            "{what}: the key never shows"
        );
    }
}

#[test]
fn bad_snapshot_names_are_refused_at_plan_time() {
    let sim = Sim::start();
    for (name, expected) in [
        ("current", "reserved"),
        ("vzdump", "reserved"),
        ("1st", "starting with a letter"),
        ("x", "2-40 characters"),
    ] {
        let tf = sim.tf(&format!(
            r#"
terraform {{
  required_providers {{
    ralf = {{ source = "ralf-homelab/ralf" }}
  }}
}}
provider "ralf" {{
  api_token = "{token}"
}}
resource "ralf_snapshot" "bad" {{
  ct_id = {CT}
  name  = "{name}"
}}
"#,
            token = support::TOKEN
        ));
        let run = tf.plan();
        assert_eq!(run.code, 1, "{name}: {}", run.all());
        let text = run.flat();
        assert!(
            text.contains("Invalid snapshot name") && text.contains(expected),
            "{name}: expected {expected:?} in {text}"
        );
    }
}

#[test]
fn snapshots_of_one_container_taken_at_once_wait_for_its_lock() {
    let sim = Sim::start();
    let mut config = format!(
        r#"
terraform {{
  required_providers {{
    ralf = {{ source = "ralf-homelab/ralf" }}
  }}
}}
provider "ralf" {{
  api_token = "{token}"
}}
"#,
        token = support::TOKEN
    );
    for ct in [4020, 4021] {
        config.push_str(&format!(
            "resource \"ralf_lxc_service\" \"c{ct}\" {{\n  ct_id = {ct}\n  hostname = \"c{ct}\"\n  template = \"{UBUNTU}\"\n}}\n"
        ));
        for name in ["one", "two", "three"] {
            config.push_str(&format!(
                "resource \"ralf_snapshot\" \"c{ct}_{name}\" {{\n  ct_id = ralf_lxc_service.c{ct}.ct_id\n  name  = \"{name}\"\n}}\n"
            ));
        }
    }
    // Slow snapshot tasks make the three snapshots of a container overlap.
    sim.call(
        "POST",
        "/sim/settings",
        Some(serde_json::json!({"task_duration_ms": 300})),
    );
    let tf = sim.tf(&config);
    let run = tf.run(&["apply", "-auto-approve", "-no-color", "-parallelism=10"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for ct in [4020u32, 4021] {
        let mut names: Vec<String> = sim
            .containers()
            .iter()
            .find(|c| c["vmid"] == ct)
            .map(|c| {
                c["snapshots"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        assert_eq!(names, ["one", "three", "two"], "container {ct}");
    }
    // Proxmox takes the lock inside the task: a snapshot that met another's lock ends in a failed
    // task, and the provider takes it again once the lock is free.
    let snapshot_posts = sim
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["pattern"] == "/nodes/{node}/lxc/{vmid}/snapshot")
        .count();
    assert!(snapshot_posts > 6, "the snapshots met the lock and were taken again ({snapshot_posts} requests for 6 snapshots)");
    tf.assert_no_changes();
}
