//! The Proxmox client against an embedded pve-sim: authentication (token and ticket), TLS,
//! the endpoint's host name, error mapping, and retries through injected faults.

#[path = "pve_support.rs"]
mod support;

use std::sync::Arc;

use pve::api::{Method, Params, Replay};
use pve::{Auth, PveClient, PveError, Secret};
use resolve::{NameResolver, ResolveError};
use support::{deadline, spec, TestSim, TEMPLATE};

#[tokio::test]
async fn api_token_login_reads_the_server_version() {
    let sim = TestSim::start().await;
    let version = sim
        .token_client()
        .version()
        .await
        .expect("version with a token");
    assert!(!version.is_empty());
}

#[tokio::test]
async fn root_pam_password_login_can_set_root_only_feature_flags() {
    let sim = TestSim::start().await;
    let client = sim.password_client();
    assert!(client.can_change_root_only_options());
    let mut wanted = spec(4010, "mail");
    wanted.features.keyctl = true;
    let created = client
        .create(&wanted, &deadline())
        .await
        .expect("create as root@pam");
    assert!(created.state.features.keyctl && created.state.features.nesting);
}

#[tokio::test]
async fn wrong_token_is_unauthorized_and_says_what_to_check() {
    let sim = TestSim::start().await;
    let auth = Auth::from_api_token("root@pam!ralf=not-the-secret").unwrap();
    let client = PveClient::new(sim.config(auth)).unwrap();
    let error = client.version().await.unwrap_err();
    assert!(matches!(error, PveError::Unauthorized { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("user@realm!tokenid=secret"), "{text}");
    assert!(
        !text.contains("not-the-secret"),
        "the secret leaked: {text}"
    );
}

#[tokio::test]
async fn wrong_password_is_unauthorized_without_echoing_it() {
    let sim = TestSim::start().await;
    let auth = Auth::Password {
        username: "root@pam".into(),
        password: Secret::new("wrong-password-123"),
    };
    let client = PveClient::new(sim.config(auth)).unwrap();
    let error = client.version().await.unwrap_err();
    assert!(matches!(error, PveError::Unauthorized { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("root@pam"), "{text}");
    assert!(!text.contains("wrong-password-123"), "{text}");
}

#[tokio::test]
async fn tls_is_verified_unless_insecure_is_set() {
    let sim = TestSim::start().await;
    let auth = Auth::from_api_token(support::TOKEN).unwrap();
    let mut config = sim.config(auth);
    config.ca_cert = None;
    let untrusted = PveClient::new(config.clone()).unwrap();
    let error = untrusted.version().await.unwrap_err();
    assert!(matches!(error, PveError::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("ca_cert"), "{error}");
    config.insecure = true;
    let insecure = PveClient::new(config).unwrap();
    insecure
        .version()
        .await
        .expect("insecure skips verification");
}

/// A client for the simulator under the host name `pve.test`, resolved through `hosts` (written to
/// a temporary directory, which holds no resolv.conf) instead of the system's files.
fn config_by_name(sim: &TestSim, hosts: &str, dir: &tempfile::TempDir) -> pve::ClientConfig {
    std::fs::write(dir.path().join("hosts"), hosts).expect("hosts file");
    let auth = Auth::from_api_token(support::TOKEN).unwrap();
    let mut config = sim.config(auth);
    config.endpoint = format!("https://pve.test:{}/", sim.sim.local_addr().port());
    config.resolver = Arc::new(NameResolver::from_files(
        dir.path().join("hosts"),
        dir.path().join("resolv.conf"),
    ));
    config
}

#[tokio::test]
async fn the_endpoint_host_name_is_resolved_from_the_hosts_file_without_nss() {
    let sim = TestSim::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = config_by_name(&sim, "# the lab\n127.0.0.1 pve.test\n", &dir);

    // The simulator's certificate names localhost only: reaching it and being refused for the
    // name shows that pve.test resolved and that TLS verifies the name the user typed.
    let verified = PveClient::new(config.clone()).unwrap();
    let error = verified.version().await.unwrap_err();
    assert!(matches!(error, PveError::Tls { .. }), "{error:?}");

    config.insecure = true;
    let client = PveClient::new(config).unwrap();
    let version = client
        .version()
        .await
        .expect("pve.test is 127.0.0.1 through the hosts file");
    assert!(!version.is_empty());
}

#[tokio::test]
async fn a_host_name_in_no_file_fails_at_once_naming_both_files_and_no_public_server() {
    let sim = TestSim::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_by_name(&sim, "127.0.0.1 other.test\n", &dir);
    let client = PveClient::new(config).unwrap();
    let error = client.version().await.unwrap_err();
    let PveError::Resolve { error: cause, .. } = &error else {
        panic!("expected a resolve error, got {error:?}");
    };
    let ResolveError::NoNameserver { host, .. } = cause.as_ref() else {
        panic!("expected a resolve error for lack of a nameserver, got {cause:?}");
    };
    assert_eq!(host, "pve.test");
    assert!(
        error.is_permanent() && !error.is_transient(),
        "no nameserver will not change on a retry: {error:?}"
    );
    let text = error.to_string();
    for expected in [
        "GET /version",
        "host name does not resolve",
        "cannot resolve \"pve.test\"",
        &dir.path().join("hosts").display().to_string(),
        &dir.path().join("resolv.conf").display().to_string(),
        "never sent to public DNS servers",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in: {text}");
    }
}

#[tokio::test]
async fn token_is_refused_root_only_feature_flags_before_any_call() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4012, "netbox");
    wanted.features.keyctl = true;
    let before = sim.total_calls().await;
    let error = client.create(&wanted, &deadline()).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("keyctl") && text.contains("root@pam"),
        "{text}"
    );
    assert_eq!(sim.total_calls().await, before, "no API call was made");
}

#[tokio::test]
async fn proxmox_root_pam_refusal_is_forbidden_with_the_way_out() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let params = Params::new()
        .num("vmid", 4014)
        .text("ostemplate", TEMPLATE)
        .text("rootfs", "local-lvm:8")
        .flag("unprivileged", true)
        .text("features", "nesting=1,keyctl=1");
    let error = client
        .call(
            Method::Post,
            "/nodes/pve/lxc",
            &params,
            Replay::Unsafe,
            &deadline(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, PveError::Forbidden { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("root@pam"), "{text}");
    assert!(text.contains("password"), "{text}");
}

#[tokio::test]
async fn reads_are_retried_through_injected_500_503_and_596() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    client
        .create(&spec(3010, "vault"), &deadline())
        .await
        .unwrap();
    for kind in ["http500", "http503", "http596"] {
        sim.inject("GET /nodes/{node}/lxc/{vmid}/config", kind, 2)
            .await;
        let state = client
            .lxc("pve", 3010)
            .read()
            .await
            .expect("read succeeds after retries");
        assert_eq!(state.expect("exists").hostname.as_deref(), Some("vault"));
    }
}

#[tokio::test]
async fn config_lock_timeout_on_create_is_retried() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    sim.inject("POST /nodes/{node}/lxc", "lock_timeout", 2)
        .await;
    let created = client.create(&spec(8010, "prometheus"), &deadline()).await;
    let created = created.expect("create succeeds once the lock is free");
    assert_eq!(created.state.hostname.as_deref(), Some("prometheus"));
    assert_eq!(sim.calls("POST /nodes/{node}/lxc").await, 3);
}

#[tokio::test]
async fn parameter_errors_name_the_parameter() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let error = client
        .call(
            Method::Post,
            "/nodes/pve/lxc",
            &Params::new()
                .text("vmid", "abc")
                .text("ostemplate", TEMPLATE),
            Replay::Unsafe,
            &deadline(),
        )
        .await
        .unwrap_err();
    match &error {
        PveError::ParameterVerification { errors, .. } => {
            assert!(errors.contains_key("vmid"), "{errors:?}")
        }
        other => panic!("expected ParameterVerification, got {other:?}"),
    }
}

#[tokio::test]
async fn a_not_implemented_answer_is_not_retried() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let error = client
        .get(
            "/nodes/pve/qemu/100/agent/ping",
            &Params::new(),
            &deadline(),
        )
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn proxmox_messages_are_read_from_the_reason_phrase_of_older_servers() {
    let config = pve_sim::SimConfig {
        error_message_in_body: false,
        ..pve_sim::SimConfig::default()
    };
    let sim = TestSim::with(config).await;
    let client = sim.token_client();
    let error = client
        .get("/nodes/pve/lxc/777/config", &Params::new(), &deadline())
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(error.to_string().contains("does not exist"), "{error}");
}
