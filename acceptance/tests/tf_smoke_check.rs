//! Acceptance: `ralf_smoke_check` driven by the real `terraform` binary, our provider loaded
//! through a CLI configuration, against servers the tests start on loopback; and the gatekeeper's
//! checks: the `dns`, `ntp` and `tls` blocks against real servers on loopback (dnsmasq, chronyd,
//! a rustls server with a test CA, started as in the check engine's own tests), each passing,
//! failing and timing out with clear messages, and the `ralf_containers` data source behind
//! `check {}` assertions (IP drift, post-install snapshots) against pve-sim.

mod support;

#[path = "../../provider/checks/tests/servers/mod.rs"]
mod servers;

use support::{closed_port, Sim, TestHttpServer, TfDir, TOKEN, UBUNTU};

const HEADER: &str = r#"
terraform {
  required_providers {
    ralf = { source = "ralf-homelab/ralf" }
  }
}
provider "ralf" {}
"#;

/// Fast retries so failing checks do not wait for the production defaults.
const FAST_RETRY: &str = r#"
  retry {
    attempts      = 2
    initial_delay = "50ms"
    max_delay     = "100ms"
  }
  timeout = "2s"
"#;

fn web_check(server: &TestHttpServer, extra: &str) -> String {
    format!(
        r#"{HEADER}
resource "ralf_smoke_check" "web" {{
  http {{
    name          = "home"
    url           = "{url}"
    body_contains = "ok"
  }}
  tcp {{
    host = "127.0.0.1"
    port = {port}
  }}
{FAST_RETRY}
{extra}
}}
output "summary" {{ value = ralf_smoke_check.web.summary }}
output "passed" {{ value = ralf_smoke_check.web.passed }}
output "results" {{ value = ralf_smoke_check.web.results }}
"#,
        url = server.url("/health"),
        port = server.addr.port()
    )
}

#[test]
fn passing_http_and_tcp_checks_apply_and_the_next_plan_is_empty() {
    let server = TestHttpServer::start(200, "all ok");
    let tf = TfDir::new(&web_check(&server, r#"triggers = { release = "1" }"#));
    tf.apply_ok();
    assert_eq!(tf.output("summary"), "2 OK, 0 FAIL, 0 SKIP");
    assert_eq!(tf.output("passed"), "true");
    let results = tf.output_json("results");
    // Results list ping, tcp, http, then service checks, each kind in declaration order.
    assert_eq!(results[0]["kind"], "tcp");
    assert_eq!(
        results[0]["target"],
        format!("127.0.0.1:{}", server.addr.port())
    );
    assert_eq!(results[1]["name"], "home");
    assert_eq!(results[1]["kind"], "http");
    assert_eq!(results[1]["status"], "OK");
    tf.assert_no_changes();
    tf.destroy_ok();
}

#[test]
fn a_failing_check_fails_the_apply_and_the_next_apply_runs_it_again() {
    let server = TestHttpServer::start(503, "down");
    let tf = TfDir::new(&web_check(&server, ""));
    let run = tf.apply();
    assert_ne!(run.code, 0, "apply must fail:\n{}", run.all());
    let text = run.flat();
    assert!(
        text.contains("Smoke checks failed: 1 OK, 1 FAIL, 0 SKIP"),
        "{text}"
    );
    assert!(
        text.contains("home"),
        "the error names the failed check: {text}"
    );
    assert!(
        text.contains(&server.url("/health")),
        "the error names the target: {text}"
    );
    assert!(
        text.contains("503"),
        "the error gives the last error: {text}"
    );
    assert!(
        text.contains("2 attempts"),
        "the error gives the attempts: {text}"
    );
    // Nothing recorded hides the failure: the next plan wants to run the checks again.
    assert_eq!(tf.plan().code, 2);
    server.set(200, "ok now");
    tf.apply_ok();
    assert_eq!(tf.output("passed"), "true");
    tf.assert_no_changes();
}

#[test]
fn warn_mode_applies_with_a_warning_and_records_the_failure() {
    let server = TestHttpServer::start(500, "broken");
    let tf = TfDir::new(&web_check(&server, r#"on_failure = "warn""#));
    let run = tf.apply_ok();
    let text = run.flat();
    assert!(
        text.contains("Warning: Smoke checks failed: 1 OK, 1 FAIL, 0 SKIP"),
        "{text}"
    );
    assert_eq!(tf.output("passed"), "false");
    tf.assert_no_changes();
}

#[test]
fn changing_triggers_runs_the_checks_again() {
    let server = TestHttpServer::start(200, "ok");
    let tf = TfDir::new(&web_check(&server, r#"triggers = { release = "1" }"#));
    tf.apply_ok();
    assert_eq!(tf.output("passed"), "true");
    // The service breaks; without a trigger change nothing re-runs.
    server.set(500, "broken");
    tf.assert_no_changes();
    tf.write_main(&web_check(&server, r#"triggers = { release = "2" }"#));
    let run = tf.apply();
    assert_ne!(
        run.code,
        0,
        "re-run checks must see the broken service:\n{}",
        run.all()
    );
    assert!(run.flat().contains("Smoke checks failed"), "{}", run.all());
}

#[test]
fn the_data_source_in_a_check_block_warns_on_failure() {
    let port = closed_port();
    let config = format!(
        r#"{HEADER}
check "db_reachable" {{
  data "ralf_smoke_check" "db" {{
    tcp {{
      name = "postgres"
      host = "127.0.0.1"
      port = {port}
    }}
{FAST_RETRY}
  }}
  assert {{
    condition     = data.ralf_smoke_check.db.passed
    error_message = "database not reachable"
  }}
}}
"#
    );
    let tf = TfDir::new(&config);
    let run = tf.apply_ok();
    let text = run.flat();
    assert!(text.contains("Warning:"), "{text}");
    assert!(
        text.contains("postgres"),
        "the warning names the failed check: {text}"
    );
}

#[test]
fn a_passing_data_source_reports_its_results() {
    let server = TestHttpServer::start(200, "ok");
    let config = format!(
        r#"{HEADER}
data "ralf_smoke_check" "web" {{
  http {{ url = "{url}" }}
}}
output "summary" {{ value = data.ralf_smoke_check.web.summary }}
"#,
        url = server.url("/")
    );
    let tf = TfDir::new(&config);
    tf.apply_ok();
    assert_eq!(tf.output("summary"), "1 OK, 0 FAIL, 0 SKIP");
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
fn bad_inputs_are_refused_at_plan_time_naming_the_attribute() {
    let cases: &[(&str, &str)] = &[
        (r#"http { url = "not a url" }"#, "is not an absolute URL"),
        (r#"http { url = "ftp://x/" }"#, "only http and https"),
        (
            "http {\n url = \"http://127.0.0.1/\"\n status_codes = \"2xx\"\n}",
            "is not a status code or range",
        ),
        (
            "http {\n url = \"http://127.0.0.1/\"\n status_codes = \"299-200\"\n}",
            "is reversed",
        ),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 70000\n}",
            "port 70000 is out of range",
        ),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 0\n}",
            "port 0 is out of range",
        ),
        (r#"ping { host = "" }"#, "host is empty"),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 1\n}\nretry { attempts = 0 }",
            "at least 1 attempt",
        ),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 1\n}\nretry { initial_delay = \"5 parsecs\" }",
            "duration",
        ),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 1\n}\ntimeout = \"10\"",
            "has no unit",
        ),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 1\n}\non_failure = \"rollback\"\nct_id = 101",
            "rollback needs rollback_to",
        ),
        (
            "tcp {\n host = \"127.0.0.1\"\n port = 1\n}\non_failure = \"explode\"",
            "is not one of",
        ),
    ];
    for (body, expected) in cases {
        let text = plan_error(body);
        assert!(
            text.contains(expected),
            "for `{body}` expected {expected:?} in:\n{text}"
        );
        assert!(
            text.contains("on main.tf line"),
            "the error points at the configuration: {text}"
        );
    }
}

#[test]
fn service_checks_without_ssh_settings_are_skipped_with_the_reason() {
    let config = format!(
        r#"{HEADER}
resource "ralf_smoke_check" "svc" {{
  node  = "pve"
  ct_id = 101
  service {{ unit = "nginx.service" }}
}}
output "results" {{ value = ralf_smoke_check.svc.results }}
output "summary" {{ value = ralf_smoke_check.svc.summary }}
"#
    );
    let tf = TfDir::new(&config);
    let run = tf.apply_ok();
    assert!(run.flat().contains("Smoke checks skipped"), "{}", run.all());
    assert_eq!(tf.output("summary"), "0 OK, 0 FAIL, 1 SKIP");
    let results = tf.output_json("results");
    assert_eq!(results[0]["status"], "SKIP");
    assert!(results[0]["message"]
        .as_str()
        .unwrap()
        .contains("no SSH settings"));
}

#[test]
fn debug_mode_serves_terraform_through_tf_reattach_providers() {
    use std::io::{BufRead, BufReader};
    let server = TestHttpServer::start(200, "ok");
    let mut provider =
        std::process::Command::new(support::workspace_binary("terraform-provider-ralf"))
            .arg("--debug")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start provider in debug mode");
    let mut reattach = None;
    let mut lines = BufReader::new(provider.stdout.take().expect("stdout")).lines();
    for line in lines.by_ref().take(10) {
        let line = line.expect("line");
        if let Some(rest) = line.trim().strip_prefix("export TF_REATTACH_PROVIDERS='") {
            reattach = Some(rest.trim_end_matches('\'').to_string());
            break;
        }
    }
    let reattach = reattach.expect("the debug mode prints the TF_REATTACH_PROVIDERS line");
    let parsed: serde_json::Value = serde_json::from_str(&reattach).expect("reattach JSON");
    let entry = &parsed["registry.terraform.io/ralf-homelab/ralf"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    let tf = TfDir::new(&web_check(&server, "")).env("TF_REATTACH_PROVIDERS", &reattach);
    tf.apply_ok();
    assert_eq!(tf.output("passed"), "true");
    let _ = provider.kill();
    let _ = provider.wait();
}

#[test]
fn ctrl_c_stops_running_checks_without_a_rollback() {
    let sim = support::Sim::start();
    let port = closed_port();
    let config = format!(
        r#"{HEADER}
resource "ralf_smoke_check" "slow" {{
  node        = "pve"
  ct_id       = 4010
  on_failure  = "rollback"
  rollback_to = "pre-install"
  tcp {{
    host = "127.0.0.1"
    port = {port}
  }}
  retry {{
    attempts      = 50
    initial_delay = "1s"
    multiplier    = 1
  }}
}}
"#
    );
    let tf = sim.tf(&config.replace(
        "provider \"ralf\" {}",
        &format!(
            "provider \"ralf\" {{\n  api_token = \"{}\"\n}}",
            support::TOKEN
        ),
    ));
    let child = std::process::Command::new(support::terraform_binary())
        .args(["apply", "-auto-approve", "-no-color", "-input=false"])
        .current_dir(tf.path())
        .envs(tf.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("TF_CLI_CONFIG_FILE", tf.path().join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start terraform");
    // Wait until the checks are running, then interrupt Terraform as Ctrl-C would.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("terraform exits");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("Smoke checks interrupted"), "{text}");
    assert!(!text.contains("rolled back to"), "{text}");
    let rollbacks = sim
        .requests()
        .into_iter()
        .filter(|r| r["pattern"].as_str().unwrap_or("").ends_with("/rollback"))
        .count();
    assert_eq!(rollbacks, 0, "an interrupted run never rolls back");
}

// ---------------------------------------------------------------------------------------------
// The gatekeeper: dns, ntp and tls checks, and the containers inventory

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

/// dnsmasq on 127.0.0.1 (a free port, see servers::dnsmasq_on_a_free_port) knowing `gitea.ralf.lan` = 10.10.20.10.
fn gitea_dns() -> (servers::Server, u16) {
    servers::dnsmasq_on_a_free_port(&[("gitea.ralf.lan", "10.10.20.10")])
}

/// A `dns` block asking 127.0.0.1:`port` for `name`, expecting `expect`.
fn dns_block(name: &str, port: u16, expect: &[&str]) -> String {
    let expect: Vec<String> = expect.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "  dns {{\n    name   = {name:?}\n    server = \"127.0.0.1\"\n    port   = {port}\n    expect = [{}]\n  }}\n",
        expect.join(", ")
    )
}

/// An `ntp` block named `time` asking 127.0.0.1:`port`, with the default `max_offset` (1s).
fn ntp_block(port: u16) -> String {
    format!(
        "  ntp {{\n    name   = \"time\"\n    server = \"127.0.0.1\"\n    port   = {port}\n  }}\n"
    )
}

/// A `tls` block named `name` to 127.0.0.1:`port`, verifying `server_name` against `ca_pem`.
fn tls_block(
    name: &str,
    port: u16,
    server_name: &str,
    ca_pem: &str,
    min_days_valid: u32,
) -> String {
    format!(
        "  tls {{\n    name           = {name:?}\n    host           = \"127.0.0.1\"\n    port           = {port}\n    server_name    = {server_name:?}\n    min_days_valid = {min_days_valid}\n    ca_cert        = {}\n  }}\n",
        heredoc(ca_pem)
    )
}

/// `ralf_smoke_check.gatekeeper` with `blocks` and `settings` (retry, timeout), and its
/// `summary` and `results` as outputs.
fn gatekeeper(blocks: &[String], settings: &str) -> String {
    format!(
        "{HEADER}\nresource \"ralf_smoke_check\" \"gatekeeper\" {{\n{}{settings}}}\n\
         output \"summary\" {{ value = ralf_smoke_check.gatekeeper.summary }}\n\
         output \"results\" {{ value = ralf_smoke_check.gatekeeper.results }}\n",
        blocks.concat()
    )
}

#[test]
fn dns_ntp_and_tls_checks_pass_against_real_servers_and_the_next_plan_is_empty() {
    let (_dns, dns_port) = gitea_dns();
    let ntp_port = servers::free_udp_port();
    let _ntp = servers::chronyd(ntp_port);
    let issued = servers::issue(&["gitea.ralf.lan"], 90);
    let tls_port = servers::tls_server(&issued);
    // chronyd may call itself unsynchronised for a moment after it starts: retries cover it.
    let settings = "  retry {\n    attempts      = 20\n    initial_delay = \"250ms\"\n    multiplier    = 1\n  }\n  timeout = \"2s\"\n";
    let tf = TfDir::new(&gatekeeper(
        &[
            dns_block("gitea.ralf.lan", dns_port, &["10.10.20.10"]),
            ntp_block(ntp_port),
            tls_block("gitea-cert", tls_port, "gitea.ralf.lan", &issued.ca_pem, 30),
        ],
        settings,
    ));
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
    let (_dns, dns_port) = gitea_dns();
    let ntp_port = servers::skewed_ntp_server(3600, 2);
    let issued = servers::issue(&["gitea.ralf.lan"], 5);
    let tls_port = servers::tls_server(&issued);
    let tf = TfDir::new(&gatekeeper(
        &[
            dns_block("gitea.ralf.lan", dns_port, &["10.10.20.99"]),
            dns_block("nope.ralf.lan", dns_port, &[]),
            ntp_block(ntp_port),
            tls_block("expiring", tls_port, "gitea.ralf.lan", &issued.ca_pem, 14),
            tls_block("wrong-name", tls_port, "mail.ralf.lan", &issued.ca_pem, 1),
        ],
        ONE_ATTEMPT,
    ));
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

/// The registry example of `ralf_containers` (catalogue: gitea 10.10.20.10, minio 10.10.20.11;
/// IP drift and post-install snapshot checks), run as it is.
const INVENTORY: &str = include_str!("../../examples/data-sources/ralf_containers/data-source.tf");

#[test]
fn the_containers_data_source_backs_ip_drift_and_snapshot_assertions() {
    let sim = Sim::start();
    create_container(&sim, 2010, "gitea", "10.10.20.10", "ralf;base", true);
    create_container(&sim, 2011, "minio", "10.10.20.11", "ralf;base", false);
    create_container(&sim, 2999, "scratch", "10.10.20.99", "lab", false);
    snapshot(&sim, 2010, "post-install");
    snapshot(&sim, 2011, "post-install");

    let config = format!(
        "{}\n{INVENTORY}\noutput \"containers\" {{ value = data.ralf_containers.ralf.containers }}\n",
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
            && text
                .contains(r#"Containers not at their catalogue address: {"minio":"10.10.20.77"}"#),
        "{text}"
    );
    assert!(
        text.contains("Every service needs a post-install snapshot"),
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

#[test]
fn the_containers_data_source_fails_the_plan_for_a_node_that_does_not_exist_or_a_bad_tag() {
    let sim = Sim::start();
    let provider = format!("provider \"ralf\" {{\n  api_token = \"{TOKEN}\"\n}}");
    let tf = sim.tf(&format!(
        "{}\ndata \"ralf_containers\" \"elsewhere\" {{\n  node = \"nope\"\n}}\n",
        HEADER.replace("provider \"ralf\" {}", &provider)
    ));
    let run = tf.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let text = run.flat();
    assert!(
        text.contains("Cannot list the containers of node nope")
            && text.contains("/nodes/nope/lxc"),
        "the error names the node and the call: {text}"
    );

    let tf = sim.tf(&format!(
        "{}\ndata \"ralf_containers\" \"tagged\" {{\n  tags = [\"-bad\"]\n}}\n",
        HEADER.replace("provider \"ralf\" {}", &provider)
    ));
    let run = tf.run(&["plan", "-no-color", "-input=false"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.flat().contains("tag \"-bad\" cannot be a Proxmox tag")
            && run.flat().contains("on main.tf line"),
        "{}",
        run.all()
    );
}
