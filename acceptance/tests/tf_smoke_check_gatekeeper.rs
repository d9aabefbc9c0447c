//! Acceptance: the gatekeeper's checks under the real `terraform` binary. `ralf_smoke_check`'s
//! `dns`, `ntp` and `tls` blocks against real servers on loopback (dnsmasq, chronyd, a rustls
//! server with a test CA; started as in the check engine's own tests), each passing, failing and
//! timing out with clear messages; their arguments refused at plan time at their attribute; and
//! the `ralf_containers` data source behind `check {}` assertions (IP drift, post-install
//! snapshots) against pve-sim.

mod support;

#[path = "../../provider/checks/tests/servers/mod.rs"]
mod servers;

use std::net::Ipv4Addr;

use support::{Sim, TfDir, TOKEN, UBUNTU};

const HEADER: &str = r#"
terraform {
  required_providers {
    ralf = { source = "ralf-homelab/ralf" }
  }
}
provider "ralf" {}
"#;

/// One attempt, short timeout: failures and timeouts show at once.
const ONE_ATTEMPT: &str = r#"
  retry {
    attempts = 1
  }
  timeout = "2s"
"#;

/// The CA PEM as an HCL heredoc.
fn heredoc(pem: &str) -> String {
    format!("<<-EOT\n{}\n    EOT", pem.trim_end())
}

fn results_outputs(address: &str) -> String {
    format!(
        "output \"summary\" {{ value = {address}.summary }}\noutput \"results\" {{ value = {address}.results }}\n"
    )
}

#[test]
fn dns_ntp_and_tls_checks_pass_against_real_servers_and_the_next_plan_is_empty() {
    let dns_port = servers::free_udp_port();
    let _dns = servers::dnsmasq(
        Ipv4Addr::LOCALHOST,
        dns_port,
        &[("gitea.ralf.lan", "10.10.20.10")],
    );
    let ntp_port = servers::free_udp_port();
    let _ntp = servers::chronyd(ntp_port);
    let issued = servers::issue(&["gitea.ralf.lan"], 90);
    let tls_port = servers::tls_server(&issued);
    let config = format!(
        r#"{HEADER}
resource "ralf_smoke_check" "gatekeeper" {{
  dns {{
    name   = "gitea.ralf.lan"
    server = "127.0.0.1"
    port   = {dns_port}
    expect = ["10.10.20.10"]
  }}
  ntp {{
    name       = "time"
    server     = "127.0.0.1"
    port       = {ntp_port}
    max_offset = "1s"
  }}
  tls {{
    name           = "gitea-cert"
    host           = "127.0.0.1"
    port           = {tls_port}
    server_name    = "gitea.ralf.lan"
    min_days_valid = 30
    ca_cert        = {ca}
  }}
  # chronyd may call itself unsynchronised for a moment after it starts.
  retry {{
    attempts      = 20
    initial_delay = "250ms"
    multiplier    = 1
  }}
  timeout = "2s"
}}
{outputs}"#,
        ca = heredoc(&issued.ca_pem),
        outputs = results_outputs("ralf_smoke_check.gatekeeper"),
    );
    let tf = TfDir::new(&config);
    tf.apply_ok();
    assert_eq!(tf.output("summary"), "3 OK, 0 FAIL, 0 SKIP");
    let results = tf.output_json("results");
    assert_eq!(results[0]["kind"], "dns");
    assert_eq!(
        results[0]["name"],
        format!("dns:gitea.ralf.lan A @127.0.0.1:{dns_port}")
    );
    assert!(
        results[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("= 10.10.20.10"),
        "{results}"
    );
    assert_eq!(results[1]["name"], "time");
    assert!(
        results[1]["message"]
            .as_str()
            .unwrap()
            .contains("(within 1s), stratum 8"),
        "{results}"
    );
    assert_eq!(results[2]["name"], "gitea-cert");
    assert_eq!(
        results[2]["target"],
        format!("127.0.0.1:{tls_port} (gitea.ralf.lan)")
    );
    assert!(
        results[2]["message"]
            .as_str()
            .unwrap()
            .contains("certificate for \"gitea.ralf.lan\" verifies; valid until"),
        "{results}"
    );
    tf.assert_no_changes();
}

#[test]
fn failing_dns_ntp_and_tls_checks_fail_the_apply_each_saying_why() {
    let dns_port = servers::free_udp_port();
    let _dns = servers::dnsmasq(
        Ipv4Addr::LOCALHOST,
        dns_port,
        &[("gitea.ralf.lan", "10.10.20.10")],
    );
    let ntp_port = servers::skewed_ntp_server(3600, 2);
    let issued = servers::issue(&["gitea.ralf.lan"], 5);
    let tls_port = servers::tls_server(&issued);
    let config = format!(
        r#"{HEADER}
resource "ralf_smoke_check" "gatekeeper" {{
  dns {{
    name   = "gitea.ralf.lan"
    server = "127.0.0.1"
    port   = {dns_port}
    expect = ["10.10.20.99"]
  }}
  dns {{
    name   = "nope.ralf.lan"
    server = "127.0.0.1"
    port   = {dns_port}
  }}
  ntp {{
    name   = "time"
    server = "127.0.0.1"
    port   = {ntp_port}
  }}
  tls {{
    name        = "expiring"
    host        = "127.0.0.1"
    port        = {tls_port}
    server_name = "gitea.ralf.lan"
    ca_cert     = {ca}
  }}
  tls {{
    name        = "wrong-name"
    host        = "127.0.0.1"
    port        = {tls_port}
    server_name = "mail.ralf.lan"
    ca_cert     = {ca}
    min_days_valid = 1
  }}
{ONE_ATTEMPT}
}}
"#,
        ca = heredoc(&issued.ca_pem),
    );
    let tf = TfDir::new(&config);
    let run = tf.apply();
    assert_ne!(run.code, 0, "apply must fail:\n{}", run.all());
    let text = run.flat();
    for expected in [
        "Smoke checks failed: 0 OK, 5 FAIL, 0 SKIP",
        "= 10.10.20.10; expected 10.10.20.99 is missing",
        "nope.ralf.lan A via 127.0.0.1:",
        "the name does not exist",
        "more than the allowed 1s",
        "fewer than the 14 days required; renew it",
        "certificate not valid for name \"mail.ralf.lan\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Nothing recorded: the next plan runs the checks again.
    assert_eq!(tf.plan().code, 2);
}

#[test]
fn silent_servers_time_out_with_clear_messages_as_warnings_in_a_check_block() {
    let (_silent_dns, dns_port) = servers::silent_udp();
    let (_silent_ntp, ntp_port) = servers::silent_udp();
    let tls_port = servers::silent_tcp();
    let ca = servers::issue(&["gitea.ralf.lan"], 90).ca_pem;
    let config = format!(
        r#"{HEADER}
check "gatekeeper" {{
  data "ralf_smoke_check" "network" {{
    dns {{
      name   = "gitea.ralf.lan"
      server = "127.0.0.1"
      port   = {dns_port}
    }}
    ntp {{
      server = "127.0.0.1"
      port   = {ntp_port}
    }}
    tls {{
      host        = "127.0.0.1"
      port        = {tls_port}
      server_name = "gitea.ralf.lan"
      ca_cert     = {ca}
    }}
    retry {{
      attempts = 1
    }}
    timeout = "300ms"
  }}
  assert {{
    condition     = data.ralf_smoke_check.network.passed
    error_message = "network health: ${{data.ralf_smoke_check.network.summary}}"
  }}
}}
"#,
        ca = heredoc(&ca),
    );
    let tf = TfDir::new(&config);
    let run = tf.apply_ok();
    let text = run.flat();
    for expected in [
        "Warning: Smoke checks failed: 0 OK, 3 FAIL, 0 SKIP",
        "no DNS answer within the 300ms per-attempt timeout",
        "no NTP answer within the 300ms per-attempt timeout",
        "no TLS handshake within the 300ms per-attempt timeout",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

fn plan_error(body: &str) -> String {
    let tf = TfDir::new(&format!(
        "{HEADER}\nresource \"ralf_smoke_check\" \"bad\" {{\n{body}\n}}\n"
    ));
    let run = tf.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(run.code, 1, "plan must fail for:\n{body}\n{}", run.all());
    run.flat()
}

#[test]
fn bad_dns_ntp_and_tls_arguments_are_refused_at_plan_time_at_their_attribute() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "dns {\n name = \"gitea.ralf.lan\"\n server = \"dns.ralf.lan\"\n}",
            "is not an IP address",
            "server = \"dns.ralf.lan\"",
        ),
        (
            "dns {\n name = \"gitea ralf\"\n server = \"10.10.0.53\"\n}",
            "contains spaces",
            "name = \"gitea ralf\"",
        ),
        (
            "dns {\n name = \"gitea.ralf.lan\"\n server = \"10.10.0.53\"\n type = \"MX\"\n}",
            "dns type \"MX\" is not supported",
            "type = \"MX\"",
        ),
        (
            "dns {\n name = \"gitea.ralf.lan\"\n server = \"10.10.0.53\"\n expect = [\"fd00::1\"]\n}",
            "cannot be in an answer to an A question",
            "expect = [\"fd00::1\"]",
        ),
        (
            "dns {\n name = \"gitea.ralf.lan\"\n server = \"10.10.0.53\"\n port = 0\n}",
            "port 0 is out of range",
            "port = 0",
        ),
        (
            "ntp {\n server = \"10.10.0.1\"\n max_offset = \"1\"\n}",
            "has no unit",
            "max_offset = \"1\"",
        ),
        (
            "ntp {\n server = \"ntp://pool\"\n}",
            "looks like a URL",
            "server = \"ntp://pool\"",
        ),
        (
            "tls {\n host = \"10.10.0.5\"\n min_days_valid = -1\n}",
            "min_days_valid -1 is not a whole number",
            "min_days_valid = -1",
        ),
        (
            "tls {\n host = \"10.10.0.5\"\n server_name = \"not a name\"\n}",
            "is not a DNS name or IP address",
            "server_name = \"not a name\"",
        ),
        (
            "tls {\n host = \"10.10.0.5\"\n ca_cert = \"not a pem\"\n}",
            "is not a PEM certificate",
            "ca_cert = \"not a pem\"",
        ),
    ];
    for (body, expected, line) in cases {
        let text = plan_error(body);
        assert!(
            text.contains(expected),
            "for `{body}` expected {expected:?} in:\n{text}"
        );
        assert!(
            text.contains("on main.tf line") && text.contains(line),
            "the error points at {line:?}: {text}"
        );
    }
}

/// A container created through the API, as someone outside Terraform would.
fn create_container(sim: &Sim, ct_id: u32, hostname: &str, ip: &str, tags: &str, start: bool) {
    sim.call(
        "POST",
        "/api2/json/nodes/pve/lxc",
        Some(serde_json::json!({
            "vmid": ct_id.to_string(), "hostname": hostname, "ostemplate": UBUNTU,
            "rootfs": "local-lvm:8", "tags": tags,
            "net0": format!("name=eth0,bridge=vmbr0,ip={ip}/24,gw=10.10.20.1"),
            "start": if start { "1" } else { "0" },
        })),
    );
    wait_until_unlocked(sim, ct_id);
}

fn snapshot(sim: &Sim, ct_id: u32, name: &str) {
    sim.call(
        "POST",
        &format!("/api2/json/nodes/pve/lxc/{ct_id}/snapshot"),
        Some(serde_json::json!({ "snapname": name })),
    );
    wait_until_unlocked(sim, ct_id);
}

/// Waits until the container's task is over (no lock in its status).
fn wait_until_unlocked(sim: &Sim, ct_id: u32) {
    for _ in 0..100 {
        let status = sim.call(
            "GET",
            &format!("/api2/json/nodes/pve/lxc/{ct_id}/status/current"),
            None,
        );
        if status["data"].is_object() && status["data"].get("lock").is_none() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("container {ct_id} stayed locked");
}

const INVENTORY: &str = r#"
locals {
  catalogue = { gitea = "10.10.20.10", minio = "10.10.20.11" }
  seen      = data.ralf_containers.ralf.ipv4_by_hostname
  drifted   = { for h, ip in local.catalogue : h => lookup(local.seen, h, "none") if lookup(local.seen, h, "") != ip }
}

data "ralf_containers" "ralf" {
  tags = ["ralf"]
}

check "ip_drift" {
  assert {
    condition     = length(local.drifted) == 0
    error_message = "IP drift against the catalogue: ${jsonencode(local.drifted)}"
  }
}

check "post_install_snapshots" {
  assert {
    condition     = alltrue([for h in keys(local.catalogue) : contains(lookup(data.ralf_containers.ralf.snapshots_by_hostname, h, []), "post-install")])
    error_message = "a service has no post-install snapshot"
  }
}

output "containers" { value = data.ralf_containers.ralf.containers }
"#;

#[test]
fn the_containers_data_source_backs_ip_drift_and_snapshot_assertions() {
    let sim = Sim::start();
    create_container(&sim, 2010, "gitea", "10.10.20.10", "ralf;base", true);
    create_container(&sim, 2011, "minio", "10.10.20.11", "ralf;base", false);
    create_container(&sim, 2999, "scratch", "10.10.20.99", "lab", false);
    snapshot(&sim, 2010, "post-install");
    snapshot(&sim, 2011, "post-install");

    let config = format!(
        "{}\n{INVENTORY}",
        HEADER.replace(
            "provider \"ralf\" {}",
            &format!("provider \"ralf\" {{\n  api_token = \"{TOKEN}\"\n}}")
        )
    );
    let tf = sim.tf(&config);
    sim.clear_stats();
    let run = tf.apply_ok();
    assert!(
        !run.flat().contains("Check block assertion failed"),
        "{}",
        run.all()
    );
    let containers = tf.output_json("containers");
    let containers = containers.as_array().expect("a list");
    assert_eq!(
        containers.len(),
        2,
        "the tag filter leaves scratch out: {containers:?}"
    );
    assert_eq!(containers[0]["ct_id"], 2010);
    assert_eq!(containers[0]["hostname"], "gitea");
    assert_eq!(containers[0]["status"], "running");
    assert_eq!(containers[0]["tags"], serde_json::json!(["base", "ralf"]));
    assert_eq!(
        containers[0]["ipv4_addresses"],
        serde_json::json!(["10.10.20.10"])
    );
    assert_eq!(
        containers[0]["live_ipv4_addresses"],
        serde_json::json!(["10.10.20.10"])
    );
    assert_eq!(
        containers[0]["snapshots"],
        serde_json::json!(["post-install"])
    );
    assert_eq!(containers[1]["status"], "stopped");
    assert_eq!(containers[1]["live_ipv4_addresses"], serde_json::json!([]));
    // The cost the docs state, per read: one list, config and snapshots per kept container,
    // interfaces for the running one. (Apply reads it once in its plan and once more.)
    let reads = sim.count("GET /nodes/{node}/lxc");
    assert!(reads >= 1, "{}", sim.stats());
    assert_eq!(sim.count("GET /nodes/{node}/lxc/{vmid}/config"), 2 * reads);
    assert_eq!(
        sim.count("GET /nodes/{node}/lxc/{vmid}/snapshot"),
        2 * reads
    );
    assert_eq!(sim.count("GET /nodes/{node}/lxc/{vmid}/interfaces"), reads);

    // Someone moves minio to another address and drops gitea's snapshot: both checks warn.
    sim.call(
        "PUT",
        "/api2/json/nodes/pve/lxc/2011/config",
        Some(
            serde_json::json!({ "net0": "name=eth0,bridge=vmbr0,ip=10.10.20.77/24,gw=10.10.20.1" }),
        ),
    );
    sim.call(
        "DELETE",
        "/api2/json/nodes/pve/lxc/2010/snapshot/post-install",
        None,
    );
    wait_until_unlocked(&sim, 2010);
    let plan = tf.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(
        plan.code,
        0,
        "check blocks warn, they do not fail:\n{}",
        plan.all()
    );
    let text = plan.flat();
    assert!(
        text.contains("Warning: Check block assertion failed")
            && text.contains(r#"IP drift against the catalogue: {"minio":"10.10.20.77"}"#),
        "{text}"
    );
    assert!(
        text.contains("a service has no post-install snapshot"),
        "{text}"
    );
}

#[test]
fn the_containers_data_source_without_an_endpoint_says_how_to_configure_one() {
    let tf = TfDir::new(&format!(
        "{HEADER}\ndata \"ralf_containers\" \"all\" {{}}\n"
    ));
    let run = tf.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.flat().contains("No Proxmox VE endpoint configured"),
        "{}",
        run.all()
    );
}
