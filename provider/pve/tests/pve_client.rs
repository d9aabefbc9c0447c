//! The Proxmox client against an embedded pve-sim: authentication (token and ticket), TLS,
//! error mapping, and retries through injected faults.

#[path = "pve_support.rs"]
mod support;

use pve::api::{Method, Params, Replay};
use pve::{Auth, PveClient, PveError, Secret};
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
