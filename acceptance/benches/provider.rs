//! Provider benchmarks (not tests: nothing here asserts a time). Prints the figures recorded in
//! docs/PERFORMANCE.md. Run with:
//!
//!     cargo build --workspace --bins --release && cargo bench -p ralf-acceptance --bench provider
//!
//! (append `-- handshake` for the start-up figures alone, `-- lookups` for the plan of new
//! containers in a large cluster alone, `-- volumes` for the plan of applied containers with
//! mount points and two networks alone).
//!
//! 1. Time from process start to the handshake line, and the provider's memory after it, next to
//!    the Go provider hashicorp/aws 5.100.0 (protocol 5) from /opt/tf-plugins.
//! 2. `terraform plan` of 200 applied `ralf_smoke_check` vs 200 `terraform_data` (ratio).
//! 3. Apply and plan of 200 `ralf_lxc_service` against pve-sim vs 200 `terraform_data`, with the
//!    API calls per refreshed container and the provider's peak memory.
//! 4. Plan of 200 applied `ralf_lxc_service` with two volume mount points and two networks each:
//!    API calls per container and wall time.
//! 5. `terraform plan` of 200 new `ralf_lxc_service` in a cluster of 1,600 guests: wall time and
//!    API calls (the plan-time look-ups are made once per provider process, `provider/src/lookups.rs`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Sim, TfDir, UBUNTU};

const COUNT: usize = 200;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn vm_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The Go provider started next to ours: hashicorp/aws from the machine's filesystem mirror.
const GO_PROVIDER: &str =
    "/opt/tf-plugins/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5";

/// CPU time the process has run so far, summed over its live threads
/// (`/proc/<pid>/task/*/schedstat`, first field, in nanoseconds). Unlike wall time it does not
/// grow when other work shares the machine, so a start-up figure measured under load stays
/// comparable.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Medians over 20 starts, for a plugin speaking `protocol`: time from process start to the
/// handshake line, the CPU time the plugin used until then, and its peak RSS right after it.
fn time_handshake(
    binary: &std::path::Path,
    protocol: &str,
    client_cert_pem: &str,
) -> (Duration, Duration, u64) {
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let mut child = Command::new(binary)
            .env("TF_PLUGIN_MAGIC_COOKIE", tfplugin_cookie())
            .env("PLUGIN_PROTOCOL_VERSIONS", protocol)
            .env("PLUGIN_CLIENT_CERT", client_cert_pem)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("handshake");
        times.push(start.elapsed());
        cpu.push(cpu_time(child.id()));
        rss.push(vm_kib(child.id(), "VmHWM:").unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
    }
    rss.sort();
    (median(times), median(cpu), rss[rss.len() / 2])
}

fn handshake() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    // The build of this bench's profile, and RALF_BENCH_PROVIDER when it names another build
    // of ours (e.g. the static binary from a release archive), measured in the same run.
    let ours = std::iter::once(support::workspace_binary("terraform-provider-ralf"))
        .chain(std::env::var_os("RALF_BENCH_PROVIDER").map(std::path::PathBuf::from));
    for provider in ours {
        let (time, cpu, rss) = time_handshake(&provider, "6", &cert.pem());
        println!(
            "handshake ({}): median {time:?} (CPU {cpu:?}) over 20 starts; peak RSS after handshake {rss} KiB (median)",
            provider.display()
        );
    }
    let go = std::path::Path::new(GO_PROVIDER);
    assert!(
        go.is_file(),
        "{GO_PROVIDER} is missing: the start-up comparison needs hashicorp/aws 5.100.0 there"
    );
    let (time, cpu, rss) = time_handshake(go, "5", &cert.pem());
    println!(
        "handshake (Go, hashicorp/aws 5.100.0): median {time:?} (CPU {cpu:?}) over 20 starts; peak RSS after handshake {rss} KiB (median)"
    );
}

fn tfplugin_cookie() -> &'static str {
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
}

/// Watches every `terraform-provider-ralf` process and keeps the highest VmHWM seen.
struct PeakMemory {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakMemory {
    fn start() -> PeakMemory {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(dir) = std::fs::read_dir("/proc") {
                    for entry in dir.flatten() {
                        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                            continue;
                        };
                        let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                            .unwrap_or_default();
                        if cmd.contains("terraform-provider-ralf") {
                            if let Some(kib) = vm_kib(pid, "VmHWM:") {
                                p.fetch_max(kib, Ordering::Relaxed);
                            }
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        PeakMemory {
            stop,
            peak,
            thread: Some(thread),
        }
    }
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// CPU time (user + system) of this process's waited-for children so far, from
/// `/proc/self/stat` (`cutime` and `cstime`, in clock ticks of 10 ms on Linux): a `terraform`
/// run's CPU including its provider processes, which it waits for. Under a shared machine's load
/// this is steadier than wall time.
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the parenthesised command name come fields 3 (state) onwards; cutime and cstime are
    // fields 16 and 17 (proc(5)).
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> u64 { fields.get(n - 3).and_then(|f| f.parse().ok()).unwrap_or(0) };
    let ticks = field(16) + field(17);
    Duration::from_millis(ticks * 10)
}

/// Median wall time and median CPU time (terraform and its providers) of three runs of `args`.
fn timed_cpu(tf: &TfDir, args: &[&str]) -> (Duration, Duration) {
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let before = children_cpu();
        walls.push(timed(tf, args));
        cpus.push(children_cpu().saturating_sub(before));
    }
    (median(walls), median(cpus))
}

fn timed(tf: &TfDir, args: &[&str]) -> Duration {
    let start = Instant::now();
    let run = tf.run(args);
    let elapsed = start.elapsed();
    assert!(
        run.code == 0 || run.code == 2,
        "terraform {args:?} failed:\n{}",
        run.all()
    );
    elapsed
}

fn header() -> &'static str {
    "terraform {\n  required_providers {\n    ralf = { source = \"ralf-homelab/ralf\" }\n  }\n}\nprovider \"ralf\" {}\n"
}

/// The header with a provider block that logs in with the simulator's token.
fn token_header() -> String {
    header().replace(
        "provider \"ralf\" {}",
        &format!(
            "provider \"ralf\" {{\n  api_token = \"{}\"\n}}",
            support::TOKEN
        ),
    )
}

fn data_config() -> String {
    let mut s = String::new();
    for i in 0..COUNT {
        s.push_str(&format!(
            "resource \"terraform_data\" \"d{i}\" {{\n  input = \"{i}\"\n}}\n"
        ));
    }
    s
}

fn plan_ratio(label: &str, ours: &TfDir, baseline: &TfDir) {
    let plan = ["plan", "-no-color", "-input=false"];
    let ours_t = median((0..3).map(|_| timed(ours, &plan)).collect());
    let base_t = median((0..3).map(|_| timed(baseline, &plan)).collect());
    println!(
        "{label}: terraform plan median of 3: ours {ours_t:?}, terraform_data {base_t:?}, ratio {:.2}",
        ours_t.as_secs_f64() / base_t.as_secs_f64()
    );
}

fn smoke_checks() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || for _ in listener.incoming() {});
    let mut cfg = header().to_string();
    for i in 0..COUNT {
        cfg.push_str(&format!("resource \"ralf_smoke_check\" \"c{i}\" {{\n  tcp {{\n    host = \"127.0.0.1\"\n    port = {port}\n  }}\n}}\n"));
    }
    let ours = TfDir::new(&cfg);
    let baseline = TfDir::new(&data_config());
    timed(&ours, &["apply", "-auto-approve", "-no-color"]);
    timed(&baseline, &["apply", "-auto-approve", "-no-color"]);
    plan_ratio("200 ralf_smoke_check (applied)", &ours, &baseline);
}

fn containers() {
    let sim = Sim::start();
    let mut cfg = format!("{}\n", token_header());
    for i in 0..COUNT {
        cfg.push_str(&format!(
            "resource \"ralf_lxc_service\" \"s{i}\" {{\n  ct_id = {}\n  hostname = \"svc{i}\"\n  template = \"{UBUNTU}\"\n  memory = 512\n}}\n",
            10000 + i
        ));
    }
    let ours = sim.tf(&cfg);
    let baseline = TfDir::new(&data_config());
    let peak = PeakMemory::start();
    let apply = timed(
        &ours,
        &["apply", "-auto-approve", "-no-color", "-parallelism=10"],
    );
    let peak_kib = peak.finish();
    let base_apply = timed(&baseline, &["apply", "-auto-approve", "-no-color"]);
    println!(
        "200 ralf_lxc_service apply (pve-sim, 20 ms tasks, -parallelism=10): {apply:?}; terraform_data apply {base_apply:?}; ratio {:.2}; provider peak RSS {peak_kib} KiB",
        apply.as_secs_f64() / base_apply.as_secs_f64()
    );
    sim.clear_stats();
    timed(&ours, &["plan", "-refresh-only", "-no-color"]);
    let total = sim.stats()["total"].as_u64().unwrap_or(0);
    println!(
        "refresh of {COUNT} containers: {total} API calls ({:.1} per container)",
        total as f64 / COUNT as f64
    );
    sim.clear_stats();
    timed(&ours, &["plan", "-no-color"]);
    let total = sim.stats()["total"].as_u64().unwrap_or(0);
    println!(
        "plan of {COUNT} applied containers: {total} API calls ({:.1} per container)",
        total as f64 / COUNT as f64
    );
    plan_ratio("200 ralf_lxc_service (applied, pve-sim)", &ours, &baseline);
}

/// 200 applied containers with two volume mount points and two networks each: the API calls of
/// one `terraform plan` (refresh included) and its wall time (median of 3). Nested attributes,
/// maps of mount points and networks change nothing in what a refresh reads: `config` and
/// `status/current` per container.
fn containers_with_volumes_and_two_networks() {
    let sim = Sim::start();
    let mut cfg = token_header();
    for i in 0..COUNT {
        cfg.push_str(&format!(
            r#"
resource "ralf_lxc_service" "v{i}" {{
  ct_id    = {ct_id}
  hostname = "vol{i}"
  template = "{UBUNTU}"
  memory   = 512
  mount_points = {{
    "/srv/data" = {{ storage = "local-lvm", size = 4, backup = true }}
    "/srv/logs" = {{ storage = "local-lvm", size = 1 }}
  }}
  network = {{
    eth0 = {{ ip = "127.60.0.{host}/24", gateway = "127.60.0.1" }}
    eth1 = {{ bridge = "vmbr1", ip = "dhcp", mtu = 1400 }}
  }}
}}
"#,
            ct_id = 30000 + i,
            host = 10 + i,
        ));
    }
    let tf = sim.tf(&cfg);
    let apply = timed(
        &tf,
        &["apply", "-auto-approve", "-no-color", "-parallelism=10"],
    );
    println!("200 ralf_lxc_service with 2 mount points and 2 networks: apply {apply:?}");
    let plan = ["plan", "-no-color", "-input=false", "-detailed-exitcode"];
    sim.clear_stats();
    let first = tf.run(&plan);
    assert_eq!(
        first.code,
        0,
        "the plan after the apply is empty:\n{}",
        first.all()
    );
    let stats = sim.stats();
    let total = stats["total"].as_u64().unwrap_or(0);
    let (time, cpu) = timed_cpu(&tf, &plan);
    println!(
        "plan of {COUNT} applied containers with 2 mount points and 2 networks: median of 3 {time:?} (CPU of terraform and provider {cpu:?}); {total} API calls in one plan ({:.1} per container): {}",
        total as f64 / COUNT as f64,
        stats["by_endpoint"]
    );
}

/// Guests the cluster holds before the plan of new containers.
const SEEDED_GUESTS: u32 = 1600;

/// Creates `count` containers directly through the simulator's API (tasks of 0 ms).
fn seed_guests(sim: &Sim, count: u32) {
    sim.call(
        "POST",
        "/sim/settings",
        Some(serde_json::json!({ "task_duration_ms": 0 })),
    );
    for i in 0..count {
        let vmid = 20000 + i;
        let answer = sim.call(
            "POST",
            "/api2/json/nodes/pve/lxc",
            Some(serde_json::json!({
                "vmid": vmid.to_string(), "ostemplate": UBUNTU, "hostname": format!("guest{vmid}"),
                "memory": "512", "rootfs": "local-lvm:8", "unprivileged": "1",
            })),
        );
        assert!(
            answer["data"]
                .as_str()
                .is_some_and(|d| d.starts_with("UPID:")),
            "seeding CT {vmid} failed: {answer}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while sim.containers().len() < count as usize {
        assert!(
            Instant::now() < deadline,
            "the seeded containers did not appear"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sim.call(
        "POST",
        "/sim/settings",
        Some(serde_json::json!({ "task_duration_ms": 20 })),
    );
}

/// `terraform plan` of 200 new containers in a cluster of 1,600 guests: wall time (median of
/// 3) and the API calls of one plan, by endpoint.
fn new_containers_in_a_large_cluster() {
    let sim = Sim::start();
    seed_guests(&sim, SEEDED_GUESTS);
    let mut cfg = token_header();
    for i in 0..COUNT {
        cfg.push_str(&format!(
            "resource \"ralf_lxc_service\" \"n{i}\" {{\n  ct_id = {}\n  hostname = \"new{i}\"\n  template = \"{UBUNTU}\"\n}}\n",
            40000 + i
        ));
    }
    let tf = sim.tf(&cfg);
    let plan = ["plan", "-no-color", "-input=false"];
    sim.clear_stats();
    let first = timed(&tf, &plan);
    let stats = sim.stats();
    let total = stats["total"].as_u64().unwrap_or(0);
    let (time, cpu) = timed_cpu(&tf, &plan);
    println!(
        "plan of {COUNT} new ralf_lxc_service in a cluster of {SEEDED_GUESTS} guests: first {first:?}, median of 3 more {time:?} (CPU of terraform and provider {cpu:?}); {total} API calls in one plan: {}",
        stats["by_endpoint"]
    );
    // Terraform's own floor for planning 200 new resources: `terraform_data`, built in.
    let baseline = TfDir::new(&data_config());
    let (base, base_cpu) = timed_cpu(&baseline, &plan);
    println!(
        "plan of {COUNT} new terraform_data: median of 3 {base:?} (CPU {base_cpu:?}); ratio {:.2}",
        time.as_secs_f64() / base.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    support::terraform_binary();
    println!("binaries from {}", support::bin_dir().display());
    // `-- lookups`: only the plan of new containers in a large cluster.
    if std::env::args().skip(1).any(|a| a == "lookups") {
        new_containers_in_a_large_cluster();
        return;
    }
    // `-- volumes`: only the plan of applied containers with mount points and two networks.
    if std::env::args().skip(1).any(|a| a == "volumes") {
        containers_with_volumes_and_two_networks();
        return;
    }
    handshake();
    // `-- handshake`: only the start-up figures (docs/PERFORMANCE.md, "Start-up").
    if std::env::args().skip(1).any(|a| a == "handshake") {
        return;
    }
    smoke_checks();
    containers();
    containers_with_volumes_and_two_networks();
    new_containers_in_a_large_cluster();
}
