//! Service checks: `pct exec <ct_id> -- systemctl is-active <unit>` on the node over SSH, with a
//! fake command runner standing in for the `ssh` program.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use checks::service::NO_SSH_SETTINGS;
use checks::{
    run_checks, CancellationToken, CheckResult, CheckSpec, CheckStatus, CommandOutput,
    CommandRunner, ContainerRef, RetryPolicy, RunContext, SshSettings, SystemCommandRunner,
};

/// Answers every run with the same output (or error) and records the arguments it got.
struct FakeSsh {
    answer: Box<dyn Fn() -> io::Result<CommandOutput> + Send + Sync>,
    calls: Mutex<Vec<(String, Vec<String>)>>,
}

impl FakeSsh {
    fn exits(code: i32, stdout: &str, stderr: &str) -> Arc<Self> {
        let output = CommandOutput {
            exit_code: Some(code),
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
        };
        Arc::new(FakeSsh {
            answer: Box::new(move || Ok(output.clone())),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn missing() -> Arc<Self> {
        Arc::new(FakeSsh {
            answer: Box::new(|| Err(io::Error::from(io::ErrorKind::NotFound))),
            calls: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl CommandRunner for FakeSsh {
    async fn run(&self, program: &str, args: &[String]) -> io::Result<CommandOutput> {
        self.calls
            .lock()
            .unwrap()
            .push((program.to_string(), args.to_vec()));
        (self.answer)()
    }
}

const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nVERYSECRETKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";

fn settings() -> SshSettings {
    SshSettings {
        private_key: Some(KEY.to_string()),
        address: Some("127.0.0.1".to_string()),
        ..SshSettings::default()
    }
}

fn context(runner: Arc<FakeSsh>, ssh: Option<SshSettings>) -> RunContext {
    RunContext {
        retry: RetryPolicy {
            attempts: 2,
            initial_delay: Duration::from_millis(1),
            multiplier: 1.0,
            max_delay: Duration::from_millis(1),
        },
        attempt_timeout: Duration::from_secs(7),
        ssh,
        container: Some(ContainerRef {
            node: "pve".to_string(),
            ct_id: 3010,
        }),
        command_runner: runner,
        ..RunContext::default()
    }
}

async fn run_service(unit: &str, ctx: &RunContext) -> CheckResult {
    run_checks(&[CheckSpec::service(unit)], ctx, &CancellationToken::new())
        .await
        .results
        .remove(0)
}

#[tokio::test]
async fn active_unit_is_ok_and_runs_pct_exec_over_ssh() {
    let runner = FakeSsh::exits(0, "active\n", "");
    let result = run_service("nginx.service", &context(runner.clone(), Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Ok);
    assert_eq!(result.name, "service:nginx.service");
    assert_eq!(result.target, "nginx.service");
    assert_eq!(result.attempts, 1);
    assert_eq!(
        result.message,
        "unit nginx.service is active in CT 3010 on node pve"
    );
    let calls = runner.calls.lock().unwrap();
    let (program, args) = &calls[0];
    assert_eq!(program, "ssh");
    let line = args.join(" ");
    for expected in [
        "-o BatchMode=yes",
        "-o StrictHostKeyChecking=yes",
        "-o ConnectTimeout=7",
        "-p 22",
        "-l root",
        "-- 127.0.0.1 pct exec 3010 -- systemctl is-active 'nginx.service'",
    ] {
        assert!(line.contains(expected), "{expected:?} missing from {line}");
    }
    assert!(line.contains(" -i "), "{line}");
    assert!(!line.contains("VERYSECRETKEYMATERIAL"), "{line}");
}

#[tokio::test]
async fn inactive_unit_fails_with_its_state_after_retries() {
    let runner = FakeSsh::exits(3, "inactive\n", "");
    let result = run_service("nginx.service", &context(runner.clone(), Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 2);
    assert_eq!(runner.calls.lock().unwrap().len(), 2);
    assert_eq!(
        result.message,
        "unit nginx.service is inactive in CT 3010 on node pve"
    );
}

#[tokio::test]
async fn failed_unit_fails_with_its_state() {
    let runner = FakeSsh::exits(3, "failed\n", "");
    let result = run_service("gitea.service", &context(runner, Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "unit gitea.service is failed in CT 3010 on node pve"
    );
}

#[tokio::test]
async fn unknown_host_key_fails_saying_how_to_trust_the_node() {
    let runner = FakeSsh::exits(
        255,
        "",
        "No ED25519 host key is known for 127.0.0.1 and you have requested strict checking.\nHost key verification failed.\n",
    );
    let result = run_service("nginx.service", &context(runner, Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "ssh to root@127.0.0.1:22 for node pve failed (exit 255): No ED25519 host key is known for 127.0.0.1 and you have requested strict checking. Host key verification failed.; \
         to trust node pve, add its host key to known_hosts in the provider's ssh block, e.g. the output of `ssh-keyscan -p 22 127.0.0.1` (check the key's fingerprint first)"
    );
}

#[tokio::test]
async fn changed_host_key_fails_with_the_fingerprint_and_how_to_replace_it() {
    let stderr = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                  @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                  @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                  IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
                  The fingerprint for the ED25519 key sent by the remote host is\n\
                  SHA256:6GpBZG7ajR/kF2TyiDAWWI9Xx+/NHONZ9yNYzZt+e/4.\n\
                  Host key verification failed.\n";
    let runner = FakeSsh::exits(255, "", stderr);
    let result = run_service("nginx.service", &context(runner, Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "ssh to root@127.0.0.1:22 for node pve failed (exit 255): the node's host key does not match known_hosts; \
         the node sent ED25519 key SHA256:6GpBZG7ajR/kF2TyiDAWWI9Xx+/NHONZ9yNYzZt+e/4; if node pve was reinstalled, \
         replace its key in known_hosts in the provider's ssh block with the output of `ssh-keyscan -p 22 127.0.0.1` \
         (check the key's fingerprint first), otherwise the connection may be intercepted"
    );
}

#[tokio::test]
async fn refused_key_fails_pointing_at_the_ssh_settings_never_showing_the_key() {
    let runner = FakeSsh::exits(255, "", "root@127.0.0.1: Permission denied (publickey).\n");
    let result = run_service("nginx.service", &context(runner, Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "ssh to root@127.0.0.1:22 for node pve failed (exit 255): root@127.0.0.1: Permission denied (publickey).; \
         the node refused user root: check username, private_key and agent in the provider's ssh block"
    );
    assert!(!result.message.contains("VERYSECRETKEYMATERIAL"));
}

#[tokio::test]
async fn unreachable_node_is_fail_never_ok() {
    let runner = FakeSsh::exits(
        255,
        "",
        "ssh: connect to host 127.0.0.1 port 22: Connection refused\n",
    );
    let result = run_service("nginx.service", &context(runner, Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "ssh to root@127.0.0.1:22 for node pve failed (exit 255): ssh: connect to host 127.0.0.1 port 22: Connection refused"
    );
}

#[tokio::test]
async fn pct_errors_are_reported_with_the_command_and_output() {
    let runner = FakeSsh::exits(2, "", "CT 3010 not running\n");
    let result = run_service("nginx.service", &context(runner, Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "`pct exec 3010 -- systemctl is-active 'nginx.service'` on node pve (root@127.0.0.1:22) exited with 2: CT 3010 not running"
    );
}

#[tokio::test]
async fn missing_ssh_program_fails_saying_to_install_openssh_client() {
    let result = run_service(
        "nginx.service",
        &context(FakeSsh::missing(), Some(settings())),
    )
    .await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "the `ssh` program was not found: install the OpenSSH client (e.g. `apt-get install openssh-client`) on the machine that runs Terraform"
    );
}

#[tokio::test]
async fn without_ssh_settings_the_check_is_skipped_with_the_reason() {
    let runner = FakeSsh::exits(0, "active\n", "");
    let result = run_service("nginx.service", &context(runner.clone(), None)).await;

    assert_eq!(result.status, CheckStatus::Skip);
    assert_eq!(result.attempts, 0);
    assert_eq!(result.message, NO_SSH_SETTINGS);
    assert_eq!(
        NO_SSH_SETTINGS,
        "no SSH settings in the provider's ssh block: service checks run `pct exec` on the node over SSH"
    );
    assert!(runner.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn node_without_any_address_fails_saying_what_to_set() {
    let runner = FakeSsh::exits(0, "active\n", "");
    let ssh = SshSettings {
        address: None,
        ..settings()
    };
    let result = run_service("nginx.service", &context(runner, Some(ssh))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 0);
    assert_eq!(
        result.message,
        "no SSH address for node \"pve\": set address, or node_addresses[\"pve\"], in the provider's ssh block"
    );
}

#[tokio::test]
async fn per_node_address_overrides_the_default_address() {
    let runner = FakeSsh::exits(0, "active\n", "");
    let mut ssh = settings();
    ssh.node_addresses
        .insert("pve".to_string(), "127.0.0.7".to_string());
    ssh.port = 2222;
    let result = run_service("nginx.service", &context(runner.clone(), Some(ssh))).await;

    assert_eq!(result.status, CheckStatus::Ok);
    let calls = runner.calls.lock().unwrap();
    let line = calls[0].1.join(" ");
    assert!(
        line.contains("-p 2222 -l root -- 127.0.0.7 pct exec"),
        "{line}"
    );
}

#[tokio::test]
async fn service_check_without_a_container_fails_saying_what_to_set() {
    let runner = FakeSsh::exits(0, "active\n", "");
    let ctx = RunContext {
        container: None,
        ..context(runner, Some(settings()))
    };
    let result = run_service("nginx.service", &ctx).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "service checks need the smoke check's node and ct_id: set both"
    );
}

#[tokio::test]
async fn a_unit_name_with_shell_characters_is_never_sent() {
    let runner = FakeSsh::exits(0, "active\n", "");
    let result = run_service("nginx; reboot", &context(runner.clone(), Some(settings()))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.attempts, 0);
    assert!(
        result
            .message
            .starts_with("invalid service check, not run: unit \"nginx; reboot\""),
        "{}",
        result.message
    );
    assert!(runner.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn system_runner_reports_a_missing_program_as_not_found() {
    let error = SystemCommandRunner
        .run("ralf-test-no-such-program", &[])
        .await
        .expect_err("the program does not exist");
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
}

#[tokio::test]
async fn system_runner_returns_exit_code_and_output() {
    let output = SystemCommandRunner
        .run(
            "sh",
            &[
                "-c".to_string(),
                "echo out; echo err >&2; exit 3".to_string(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        output,
        CommandOutput {
            exit_code: Some(3),
            stdout: "out\n".to_string(),
            stderr: "err\n".to_string(),
        }
    );
}
