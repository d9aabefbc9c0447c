//! Helpers for pve-sim's integration tests: an embedded simulator and a plain reqwest client
//! that speaks to it over real HTTPS (or HTTP), with token or ticket authentication.
#![allow(dead_code)]

use std::time::Duration;

use pve_sim::{RunningSim, SimConfig};
use serde_json::Value;

pub const TOKEN: &str = "PVEAPIToken=root@pam!ralf=ralf-secret";
pub const UBUNTU: &str = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";

pub struct TestSim {
    pub sim: RunningSim,
    pub client: reqwest::Client,
    pub base: String,
}

/// An HTTP answer: status and parsed JSON body (Null when not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// The body as text (empty when there was none).
    pub text: String,
    pub content_type: Option<String>,
    pub connection: Option<String>,
}

impl Answer {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
    pub fn error(&self, param: &str) -> &str {
        self.body["errors"][param].as_str().unwrap_or("")
    }
}

pub fn client_for(sim: &RunningSim) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(20));
    if let Some(pem) = sim.ca_pem() {
        let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("simulator CA PEM parses");
        builder = builder.tls_certs_only([cert]);
    }
    builder.build().expect("client builds")
}

impl TestSim {
    pub async fn start() -> TestSim {
        Self::start_with(SimConfig {
            task_duration: Duration::from_millis(20),
            ..SimConfig::default()
        })
        .await
    }

    /// A simulator serving plain HTTP (for raw requests).
    pub async fn start_plain() -> TestSim {
        Self::start_with(SimConfig {
            plain_http: true,
            task_duration: Duration::from_millis(20),
            ..SimConfig::default()
        })
        .await
    }

    pub async fn start_with(config: SimConfig) -> TestSim {
        let sim = RunningSim::start(config, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("simulator starts");
        let client = client_for(&sim);
        let base = sim.endpoint();
        TestSim { sim, client, base }
    }

    /// Sends `request` (a whole HTTP/1.1 request, `Connection: close` added) over plain TCP
    /// and returns the raw answer; the simulator must serve plain HTTP.
    pub async fn raw(&self, request: &str) -> String {
        use std::io::{Read, Write};
        assert!(
            self.sim.ca_pem().is_none(),
            "raw() needs a plain-HTTP simulator"
        );
        let addr = self.sim.local_addr();
        let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
        let request = format!("{head}\r\nConnection: close\r\n\r\n{body}");
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            stream.write_all(request.as_bytes()).expect("write");
            let mut out = String::new();
            stream.read_to_string(&mut out).expect("read");
            out
        })
        .await
        .expect("join")
    }

    /// `POST /access/ticket` without other credentials.
    pub async fn login(&self, username: &str, password: &str) -> Answer {
        let request = self
            .client
            .post(self.url("api2/json/access/ticket"))
            .form(&[("username", username), ("password", password)]);
        self.send(request).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the simulator");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let connection = header("connection");
        let bytes = response.bytes().await.expect("body reads");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(&bytes).to_string();
        Answer {
            status,
            body,
            text,
            content_type,
            connection,
        }
    }

    /// A Proxmox API call with the default token; `form` goes into the query for GET/DELETE
    /// and into a form body otherwise.
    pub async fn api(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let url = self.url(&format!("api2/json{path}"));
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method.clone(), url)
            .header("Authorization", TOKEN);
        request = if method == reqwest::Method::GET || method == reqwest::Method::DELETE {
            request.query(form)
        } else {
            request.form(form)
        };
        self.send(request).await
    }

    /// A call as `root@pam` with a ticket (and its CSRF token): the user Proxmox lets set
    /// root-only options.
    pub async fn as_root(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let login = self.login("root@pam", "ralf-password").await;
        assert_eq!(login.status, 200, "root login: {:?}", login.body);
        let ticket = login.data()["ticket"].as_str().expect("ticket");
        let csrf = login.data()["CSRFPreventionToken"].as_str().expect("csrf");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let request = self
            .client
            .request(method, self.url(&format!("api2/json{path}")))
            .header("Cookie", format!("PVEAuthCookie={ticket}"))
            .header("CSRFPreventionToken", csrf)
            .form(form);
        self.send(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.api("GET", path, &[]).await
    }

    /// An admin call under /sim/ with an optional JSON body.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Polls a task until it stops and returns its status object.
    pub async fn wait_task(&self, node: &str, upid: &str) -> Value {
        let path = format!("/nodes/{node}/tasks/{}/status", urlencode(upid));
        for _ in 0..500 {
            let answer = self.get(&path).await;
            assert_eq!(
                answer.status, 200,
                "task status of {upid}: {:?}",
                answer.body
            );
            if answer.data()["status"] == "stopped" {
                return answer.data().clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("task {upid} did not finish within 5 s");
    }

    /// Runs a task-starting call and returns the task's exitstatus.
    pub async fn run_task(&self, method: &str, path: &str, form: &[(&str, &str)]) -> String {
        let answer = self.api(method, path, form).await;
        assert_eq!(
            answer.status, 200,
            "{method} {path} should start a task: {:?}",
            answer.body
        );
        let upid = answer.data().as_str().expect("UPID string").to_string();
        let node = upid.split(':').nth(1).expect("node in UPID").to_string();
        let status = self.wait_task(&node, &upid).await;
        status["exitstatus"].as_str().unwrap_or("").to_string()
    }

    /// Creates a container on `pve` with sensible defaults plus `extra` and waits for it.
    pub async fn create_ct(&self, vmid: u32, extra: &[(&str, &str)]) -> String {
        self.create_ct_on("pve", vmid, extra).await
    }

    pub async fn create_ct_on(&self, node: &str, vmid: u32, extra: &[(&str, &str)]) -> String {
        let vmid = vmid.to_string();
        let mut form: Vec<(&str, &str)> = vec![
            ("vmid", vmid.as_str()),
            ("ostemplate", UBUNTU),
            ("rootfs", "local-lvm:8"),
        ];
        for (k, v) in extra {
            form.retain(|(key, _)| key != k);
            form.push((k, v));
        }
        self.run_task("POST", &format!("/nodes/{node}/lxc"), &form)
            .await
    }

    pub async fn config(&self, vmid: u32) -> Value {
        let answer = self.get(&format!("/nodes/pve/lxc/{vmid}/config")).await;
        assert_eq!(answer.status, 200, "config of {vmid}: {:?}", answer.body);
        answer.data().clone()
    }

    pub async fn status(&self, vmid: u32) -> Value {
        let answer = self
            .get(&format!("/nodes/pve/lxc/{vmid}/status/current"))
            .await;
        assert_eq!(answer.status, 200, "status of {vmid}: {:?}", answer.body);
        answer.data().clone()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A free TCP port on a 127.0.0.0/8 address.
pub fn free_port(ip: &str) -> u16 {
    let listener = std::net::TcpListener::bind((ip, 0)).expect("bind to find a free port");
    listener.local_addr().expect("local addr").port()
}
