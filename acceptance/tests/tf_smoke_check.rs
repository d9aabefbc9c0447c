//! Acceptance: `ralf_smoke_check` driven by the real `terraform` binary, our provider loaded
//! through a CLI configuration, against servers the tests start on loopback.

mod support;

use support::{closed_port, TestHttpServer, TfDir};

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
