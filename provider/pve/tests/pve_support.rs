//! Shared set-up for the Proxmox client's integration tests: an embedded pve-sim, clients for it
//! (token and password), and the simulator's admin API (request counters, faults, containers).
//! Included by the `pve_*.rs` tests with `#[path]`; it has no tests of its own.
#![allow(dead_code)]

use std::time::Duration;

use pve::{
    Auth, ClientConfig, ContainerSpec, Deadline, NetworkSpec, PveClient, RetryPolicy, Secret,
};
use pve_sim::{RunningSim, SimConfig};
use serde_json::{json, Value};

pub const TEMPLATE: &str = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";
pub const TOKEN: &str = "root@pam!ralf=ralf-secret";
pub const ROOT_PASSWORD: &str = "ralf-password";

/// A running simulator plus an HTTP client for its `/sim/` admin API.
pub struct TestSim {
    pub sim: RunningSim,
    admin: reqwest::Client,
}

impl TestSim {
    pub async fn start() -> TestSim {
        TestSim::with(SimConfig::default()).await
    }

    pub async fn with(config: SimConfig) -> TestSim {
        TestSim::with_task_duration(config, Duration::from_millis(20)).await
    }

    /// A simulator whose tasks each run for `task_duration` (long enough to meet their locks).
    pub async fn with_task_duration(mut config: SimConfig, task_duration: Duration) -> TestSim {
        config.task_duration = task_duration;
        let sim = RunningSim::start(config, "127.0.0.1:0".parse().expect("socket address"))
            .await
            .expect("pve-sim starts on a free loopback port");
        let mut admin = reqwest::Client::builder();
        if let Some(pem) = sim.ca_pem() {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .expect("the simulator's CA is PEM");
            admin = admin.tls_certs_only(certs);
        }
        TestSim {
            sim,
            admin: admin.build().expect("admin client builds"),
        }
    }

    /// A client configuration for this simulator with fast retries.
    pub fn config(&self, auth: Auth) -> ClientConfig {
        let mut config = ClientConfig::new(self.sim.endpoint(), auth);
        config.ca_cert = self.sim.ca_pem();
        config.retry = RetryPolicy::fast();
        config.default_timeout = Duration::from_secs(30);
        config
    }

    pub fn token_client(&self) -> PveClient {
        let auth = Auth::from_api_token(TOKEN).expect("the test token parses");
        PveClient::new(self.config(auth)).expect("client builds")
    }

    pub fn password_client(&self) -> PveClient {
        let auth = Auth::Password {
            username: "root@pam".into(),
            password: Secret::new(ROOT_PASSWORD),
        };
        PveClient::new(self.config(auth)).expect("client builds")
    }

    fn admin_url(&self, path: &str) -> String {
        format!("{}sim/{path}", self.sim.endpoint())
    }

    async fn admin_json(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.expect("admin API answers");
        let status = response.status();
        let body = response.text().await.expect("admin API body");
        assert!(status.is_success(), "admin API said {status}: {body}");
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    pub async fn stats(&self) -> Value {
        self.admin_json(self.admin.get(self.admin_url("stats")))
            .await
    }

    /// How many requests the simulator counted for `METHOD /path/{pattern}`.
    pub async fn calls(&self, endpoint: &str) -> u64 {
        let stats = self.stats().await;
        stats["by_endpoint"][endpoint]
            .as_u64()
            .or_else(|| {
                stats["by_endpoint"][endpoint]
                    .as_str()
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or(0)
    }

    pub async fn total_calls(&self) -> u64 {
        let stats = self.stats().await;
        stats["total"].to_string().parse().unwrap_or(0)
    }

    /// Makes the next `count` calls of `endpoint` fail with `kind`.
    pub async fn inject(&self, endpoint: &str, kind: &str, count: u64) {
        self.admin_json(
            self.admin
                .post(self.admin_url("faults"))
                .json(&json!({"endpoint": endpoint, "kind": kind, "count": count})),
        )
        .await;
    }

    pub async fn clear_faults(&self) {
        self.admin_json(self.admin.delete(self.admin_url("faults")))
            .await;
    }

    pub async fn containers(&self) -> Value {
        self.admin_json(self.admin.get(self.admin_url("containers")))
            .await
    }

    pub async fn reset(&self) {
        self.admin_json(self.admin.post(self.admin_url("reset")))
            .await;
    }
}

/// A generous deadline: tests assert outcomes, never speed.
pub fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(60))
}

/// A typical RALF service container (nesting only, which any user may set).
pub fn spec(ct_id: u32, hostname: &str) -> ContainerSpec {
    let mut spec = ContainerSpec::new("pve", ct_id, hostname, TEMPLATE);
    spec.memory = 1024;
    spec.tags = ["ralf".to_string(), "svc".to_string()].into();
    spec.description = Some(format!("{hostname} service"));
    let mut net0 = NetworkSpec::new(0, "eth0", "vmbr0");
    net0.ip = Some(format!("10.10.40.{}/24", ct_id % 200 + 2));
    net0.gateway = Some("10.10.40.1".into());
    spec.networks = vec![net0];
    spec
}

/// Number of containers the simulator holds (`/sim/containers` is a list).
pub fn container_count(containers: &Value) -> usize {
    containers
        .as_array()
        .map(Vec::len)
        .expect("/sim/containers answers a list")
}
