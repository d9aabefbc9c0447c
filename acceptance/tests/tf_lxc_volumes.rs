//! Acceptance: `ralf_lxc_service` with data volumes (mount points), several networks and devices,
//! with the real `terraform` against an embedded `pve-sim` (and, for root-only settings with a
//! token, a real OpenSSH server on loopback whose `pct` is the simulator's).

mod support;

use support::{Sim, ROOT_PASSWORD, UBUNTU};

const HEADER: &str = r#"
terraform {
  required_providers {
    ralf = { source = "ralf-homelab/ralf" }
  }
}
"#;

fn token_provider(extra: &str) -> String {
    format!(
        "{HEADER}\nprovider \"ralf\" {{\n  api_token = \"{}\"\n{extra}}}\n",
        support::TOKEN
    )
}

fn root_provider() -> String {
    format!("{HEADER}\nprovider \"ralf\" {{\n  username = \"root@pam\"\n  password = \"{ROOT_PASSWORD}\"\n}}\n")
}

fn service(body: &str) -> String {
    format!(
        r#"
resource "ralf_lxc_service" "pg" {{
  ct_id    = 4020
  hostname = "pg"
  template = "{UBUNTU}"
{body}
}}
"#
    )
}

/// Two volumes and two networks, in one order.
const PG: &str = r#"
  mount_points = {
    "/var/lib/postgresql" = { storage = "local-lvm", size = 16, backup = true }
    "/var/log/postgresql" = { storage = "local-lvm", size = 2 }
  }
  network = {
    eth0 = { ip = "127.0.50.10/24", gateway = "127.0.50.1" }
    eth1 = { bridge = "vmbr1", ip = "dhcp", mtu = 1400 }
  }
"#;

/// The same in the other order.
const PG_REORDERED: &str = r#"
  network = {
    eth1 = { mtu = 1400, ip = "dhcp", bridge = "vmbr1" }
    eth0 = { gateway = "127.0.50.1", ip = "127.0.50.10/24" }
  }
  mount_points = {
    "/var/log/postgresql" = { size = 2, storage = "local-lvm" }
    "/var/lib/postgresql" = { backup = true, size = 16, storage = "local-lvm" }
  }
"#;

fn config(sim: &Sim, vmid: u32) -> serde_json::Value {
    sim.call(
        "GET",
        &format!("/api2/json/nodes/pve/lxc/{vmid}/config"),
        None,
    )["data"]
        .clone()
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

#[test]
fn two_mount_points_and_two_networks_are_created_then_plan_no_changes() {
    let sim = Sim::start();
    let tf = sim.tf(&format!("{}{}", token_provider(""), service(PG)));
    tf.apply_ok();
    tf.assert_no_changes();
    let cfg = config(&sim, 4020);
    let data = text(&cfg["mp0"]) + &text(&cfg["mp1"]);
    assert!(data.contains("mp=/var/lib/postgresql"), "{cfg}");
    assert!(data.contains("mp=/var/log/postgresql"), "{cfg}");
    assert!(
        data.contains("size=16G") && data.contains("backup=1"),
        "{cfg}"
    );
    assert!(
        text(&cfg["net0"]).contains("name=eth0"),
        "eth0 sits at net0: {cfg}"
    );
    assert!(
        text(&cfg["net1"]).contains("name=eth1"),
        "eth1 sits at net1: {cfg}"
    );
    assert!(text(&cfg["net1"]).contains("mtu=1400"), "{cfg}");
    assert!(
        text(&cfg["net0"]).contains("hwaddr="),
        "Proxmox generated net0's MAC: {cfg}"
    );
}

#[test]
fn reordering_networks_and_mount_points_changes_nothing() {
    let sim = Sim::start();
    let tf = sim.tf(&format!("{}{}", token_provider(""), service(PG)));
    tf.apply_ok();
    let before = config(&sim, 4020);
    tf.write_main(&format!("{}{}", token_provider(""), service(PG_REORDERED)));
    tf.assert_no_changes();
    assert_eq!(config(&sim, 4020), before);
}

#[test]
fn a_mount_point_grows_in_place() {
    let sim = Sim::start();
    let tf = sim.tf(&format!("{}{}", token_provider(""), service(PG)));
    tf.apply_ok();
    let mac = text(&config(&sim, 4020)["net0"]);
    tf.write_main(&format!(
        "{}{}",
        token_provider(""),
        service(&PG.replace("size = 16", "size = 24"))
    ));
    let plan = tf.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.flat().contains("1 to change"), "{}", plan.all());
    assert!(!plan.flat().contains("must be replaced"), "{}", plan.all());
    sim.clear_stats();
    tf.apply_ok();
    tf.assert_no_changes();
    assert_eq!(sim.count("PUT /nodes/{node}/lxc/{vmid}/resize"), 1);
    let cfg = config(&sim, 4020);
    let grown = [text(&cfg["mp0"]), text(&cfg["mp1"])]
        .into_iter()
        .find(|m| m.contains("/var/lib/postgresql"))
        .unwrap_or_default();
    assert!(grown.contains("size=24G"), "{cfg}");
    assert_eq!(text(&cfg["net0"]), mac, "the network is untouched");
}

#[test]
fn removing_a_mount_point_detaches_its_volume_as_unused() {
    let sim = Sim::start();
    let tf = sim.tf(&format!("{}{}", token_provider(""), service(PG)));
    tf.apply_ok();
    let cfg = config(&sim, 4020);
    let (key, logs) = ["mp0", "mp1"]
        .into_iter()
        .map(|k| (k, text(&cfg[k])))
        .find(|(_, v)| v.contains("/var/log/postgresql"))
        .expect("the log volume");
    let volume = logs.split(',').next().unwrap_or_default().to_string();
    let without_logs = PG.replace(
        "    \"/var/log/postgresql\" = { storage = \"local-lvm\", size = 2 }\n",
        "",
    );
    tf.write_main(&format!("{}{}", token_provider(""), service(&without_logs)));
    let plan = tf.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(!plan.flat().contains("must be replaced"), "{}", plan.all());
    tf.apply_ok();
    tf.assert_no_changes();
    let cfg = config(&sim, 4020);
    assert!(cfg.get(key).is_none(), "{key} is gone: {cfg}");
    let unused: Vec<String> = cfg
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("unused"))
        .map(|(_, v)| text(v))
        .collect();
    assert_eq!(unused, vec![volume], "the volume stays as unusedN: {cfg}");
}

#[test]
fn a_device_and_keyctl_with_a_token_apply_through_ssh() {
    // pve-sim's own node SSH server: `pct set` there runs as root on the node, as on Proxmox.
    let (sim, node) = Sim::start_with_node_ssh();
    let ssh = node.ssh_block();
    let body = r#"
  features = { nesting = true, keyctl = true }
  devices  = { "/dev/net/tun" = { mode = "0666" } }
"#;
    // Without the opt-in, the plan fails and names the three ways out.
    let tf = sim.tf(&format!("{}{}", token_provider(&ssh), service(body)));
    let plan = tf.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    let flat = plan.flat();
    assert!(flat.contains("keyctl needs root@pam"), "{flat}");
    assert!(flat.contains("Device passthrough needs root@pam"), "{flat}");
    assert!(
        flat.contains("username = \"root@pam\"")
            && flat.contains("root_only_over_ssh")
            && flat.contains("remove the setting"),
        "{flat}"
    );
    let opted_in = format!("  root_only_over_ssh = true\n{ssh}");
    tf.write_main(&format!("{}{}", token_provider(&opted_in), service(body)));
    tf.apply_ok();
    tf.assert_no_changes();
    let cfg = config(&sim, 4020);
    assert_eq!(text(&cfg["features"]), "keyctl=1,nesting=1", "{cfg}");
    assert!(text(&cfg["dev0"]).starts_with("/dev/net/tun"), "{cfg}");
    assert!(text(&cfg["dev0"]).contains("mode=0666"), "{cfg}");
}

/// Everything the container has, every default written out.
const FULL_WITH_DEFAULTS: &str = r#"
  cores         = 1
  memory        = 1024
  swap          = 512
  unprivileged  = true
  started       = true
  start_on_boot = true
  protection    = false
  disk          = { storage = "local-lvm", size = 8 }
  features      = { nesting = true, keyctl = false, fuse = false }
  mount_points = {
    "/srv/data" = { storage = "local-lvm", size = 4, read_only = false, backup = false, quota = false, shared = false, replicate = true }
  }
  network = {
    eth0 = { bridge = "vmbr0", ip = "127.0.50.20/24", gateway = "127.0.50.1", firewall = false }
    eth1 = { bridge = "vmbr1", ip = "dhcp", firewall = false }
  }
  devices = { "/dev/net/tun" = { mode = "0666" } }
  delete_detached_volumes = false
"#;

/// The same container, with the defaults left out.
const FULL_WITHOUT_DEFAULTS: &str = r#"
  mount_points = { "/srv/data" = { storage = "local-lvm", size = 4 } }
  network = {
    eth0 = { ip = "127.0.50.20/24", gateway = "127.0.50.1" }
    eth1 = { bridge = "vmbr1", ip = "dhcp" }
  }
  devices = { "/dev/net/tun" = { mode = "0666" } }
"#;

#[test]
fn an_import_plans_no_changes_whether_the_configuration_writes_the_defaults_or_not() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{}{}",
        root_provider(),
        service(FULL_WITHOUT_DEFAULTS)
    ));
    tf.apply_ok();
    for body in [FULL_WITH_DEFAULTS, FULL_WITHOUT_DEFAULTS] {
        let rm = tf.run(&["state", "rm", "ralf_lxc_service.pg"]);
        assert_eq!(rm.code, 0, "{}", rm.all());
        tf.write_main(&format!("{}{}", root_provider(), service(body)));
        let import = tf.run(&["import", "-no-color", "ralf_lxc_service.pg", "pve/4020"]);
        assert_eq!(import.code, 0, "{}", import.all());
        tf.assert_no_changes();
    }
}

#[test]
fn values_that_do_not_fit_are_plan_errors_at_their_attribute() {
    let sim = Sim::start();
    let cases = [
        (
            r#"  mount_points = { "/data" = { storage = "local-lvm", size = 1.5 } }"#,
            "mount point size must be a whole number",
        ),
        (
            r#"  mount_points = { "/data" = { storage = "local-lvm", size = -4 } }"#,
            "mount point size out of range",
        ),
        (
            r#"  mount_points = {
    "/data"  = { storage = "local-lvm", size = 4 }
    "/data/" = { storage = "local-lvm", size = 4 }
  }"#,
            "Duplicate mount path",
        ),
        (
            r#"  network = { eth0 = { index = 32, ip = "dhcp" } }"#,
            "network index out of range",
        ),
        (
            r#"  disk = { size = 8.5 }"#,
            "disk size must be a whole number",
        ),
    ];
    for (body, expected) in cases {
        let tf = sim.tf(&format!("{}{}", token_provider(""), service(body)));
        let plan = tf.plan();
        assert_eq!(plan.code, 1, "{body}: {}", plan.all());
        let flat = plan.flat();
        assert!(
            flat.contains(expected),
            "{body}: expected {expected:?} in {flat}"
        );
        assert!(
            flat.contains("ralf_lxc_service.pg"),
            "{body}: the error points at the resource: {flat}"
        );
    }
    // A shrink needs a container to shrink.
    let tf = sim.tf(&format!("{}{}", token_provider(""), service(PG)));
    tf.apply_ok();
    tf.write_main(&format!(
        "{}{}",
        token_provider(""),
        service(&PG.replace("size = 16", "size = 8"))
    ));
    let plan = tf.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.flat().contains("cannot shrink"), "{}", plan.all());
    assert!(
        plan.flat().contains("/var/lib/postgresql"),
        "{}",
        plan.all()
    );
}

#[test]
fn root_only_over_ssh_without_an_ssh_block_is_a_plan_error_at_that_attribute() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{}{}",
        token_provider("  root_only_over_ssh = true\n"),
        service("")
    ));
    let plan = tf.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    let flat = plan.flat();
    assert!(
        flat.contains("root_only_over_ssh needs the ssh block"),
        "{flat}"
    );
    // Terraform quotes the configuration line of the attribute the error names (`10:   x = y`
    // after `in provider "ralf":`); an error on the whole block would quote `provider "ralf" {`.
    let quoted = flat
        .split_once("in provider \"ralf\": ")
        .map(|(_, rest)| rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':'))
        .map(str::trim_start)
        .unwrap_or_default();
    assert!(
        quoted.starts_with("root_only_over_ssh = true"),
        "the error points at root_only_over_ssh: {flat}"
    );
    assert!(
        flat.contains("Add one (with username = \"root\" and a private_key or agent)")
            && flat.contains("or remove root_only_over_ssh"),
        "the error says what to add: {flat}"
    );
    assert!(sim.containers().is_empty(), "nothing was created");
}

/// `count` containers with two volume mount points and two networks each, from CT 4100 on.
fn fleet_with_volumes_and_two_networks(count: u32) -> String {
    let mut tf = token_provider("");
    for i in 0..count {
        tf.push_str(&format!(
            r#"
resource "ralf_lxc_service" "s{i}" {{
  ct_id    = {ct_id}
  hostname = "s{i}"
  template = "{UBUNTU}"
  mount_points = {{
    "/srv/data" = {{ storage = "local-lvm", size = 4 }}
    "/srv/logs" = {{ storage = "local-lvm", size = 1 }}
  }}
  network = {{
    eth0 = {{ ip = "127.0.51.{host}/24", gateway = "127.0.51.1" }}
    eth1 = {{ bridge = "vmbr1", ip = "dhcp" }}
  }}
}}
"#,
            ct_id = 4100 + i,
            host = 10 + i,
        ));
    }
    tf
}

#[test]
fn planning_applied_containers_with_volumes_and_two_networks_costs_two_calls_each() {
    let sim = Sim::start();
    let tf = sim.tf(&fleet_with_volumes_and_two_networks(4));
    tf.apply_ok();
    sim.clear_stats();
    let plan = tf.plan();
    assert_eq!(plan.code, 0, "no changes:\n{}", plan.all());
    assert_eq!(sim.count("GET /nodes/{node}/lxc/{vmid}/config"), 4);
    assert_eq!(sim.count("GET /nodes/{node}/lxc/{vmid}/status/current"), 4);
    assert_eq!(
        sim.stats()["total"],
        8,
        "nothing but the two reads per container: {}",
        sim.stats()
    );
}
