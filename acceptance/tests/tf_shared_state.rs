//! Acceptance: the example RALF tree with shared state, chosen in root.hcl by `RALF_STATE`.
//! Real terraform and `ralf run --all` against a pve-sim in this process:
//!
//! - `pg`: Terraform's pg backend on the PostgreSQL that `.ci/run` starts on 127.0.0.1
//!   (`RALF_TEST_PG_CONN` names a database whose role may create databases; each test makes its
//!   own database);
//! - `s3`: the s3 backend with S3-native locking (`use_lockfile`) on moto's S3 server, started by
//!   the test on loopback (`moto_server`, from PyPI's `moto[server]`, which `.ci/run` installs).
//!
//! Each backend: the tree applies; a second clone that never applied reads the same state (the
//! dependencies' outputs through the backend, not from files) and plans no changes; two
//! `ralf run --all apply` started at once from two separate copies never both create a
//! container (one waits on the other's lock), and a rerun converges.
//! A missing PostgreSQL or moto is a failure saying what to start or install.

mod support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What `.ci/run` creates: role `ralf_test` (CREATEDB) and its database on 127.0.0.1.
const DEFAULT_PG_CONN: &str =
    "postgres://ralf_test:ralf-test@127.0.0.1:5432/ralf_test?sslmode=disable";

/// The tree's guests serve fixed loopback addresses: one deployment at a time in this binary.
static ONE_TREE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

use support::example_tree;

/// The network-health gatekeeper: left out of these runs (`--queue-exclude-dir`), since its
/// targets (DNS, NTP, reverse proxy) are stand-ins only `ralf demo` serves, and what is tested
/// here is where state lives. The gatekeeper itself is tested in tf_ralf_demo.rs.
const GATEKEEPER: &str = "stacks/network-health";

/// The service stacks of the tree (one unit, one container and one state each).
fn stack_count() -> usize {
    std::fs::read_dir(example_tree().join("stacks"))
        .expect("stacks/")
        .flatten()
        .filter(|e| e.path().join("terragrunt.hcl").is_file())
        .filter(|e| !example_tree().join(GATEKEEPER).ends_with(e.file_name()))
        .count()
}

/// One machine's view: a copy of the tree, a CLI configuration loading the built provider, and
/// the environment pointing it at the simulator and the shared backend.
struct Clone {
    copy: support::TreeCopy,
    env: Vec<(String, String)>,
}

impl Clone {
    fn new(sim: &support::Sim, backend_env: &[(String, String)]) -> Clone {
        let copy = support::TreeCopy::new(sim, "ralf-state-");
        let mut env = copy.env.clone();
        env.extend(backend_env.iter().cloned());
        Clone { copy, env }
    }

    fn ralf(&self, args: &[&str]) -> Command {
        support::terraform_binary();
        let mut cmd = Command::new(support::workspace_binary("ralf"));
        cmd.arg("run")
            .arg("--all")
            .arg("--working-dir")
            .arg(&self.copy.iac)
            .args(["--tf-path", "terraform"])
            .args(["--queue-exclude-dir", GATEKEEPER])
            .args(args)
            .env_remove("TF_LOG")
            .env_remove("PG_CONN_STR")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        Ran::from(self.ralf(args).output().expect("run ralf"))
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.ralf(args).spawn().expect("start ralf")
    }

    /// Local state files in the copy (there must be none with a shared backend). Terraform's
    /// `.terraform/terraform.tfstate` holds the backend's settings, not state.
    fn local_state_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    if path.file_name().is_some_and(|n| n == ".terraform") {
                        continue;
                    }
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "tfstate") {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.copy.iac, &mut out);
        out
    }
}

struct Ran {
    code: i32,
    out: String,
}

impl From<Output> for Ran {
    fn from(output: Output) -> Ran {
        Ran {
            code: output.status.code().unwrap_or(-1),
            out: format!(
                "{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
}

fn assert_applied_every_stack(ran: &Ran, what: &str) {
    let stacks = stack_count();
    assert_eq!(ran.code, 0, "{what} failed:\n{}", ran.out);
    assert!(
        ran.out
            .contains(&format!("{stacks} succeeded, 0 failed, 0 early exit")),
        "{what}: every stack succeeds:\n{}",
        ran.out
    );
}

fn assert_plans_no_changes(clone: &Clone, what: &str) {
    let plan = clone.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "{what}: the plan must find no changes (exit 0; 2 means changes):\n{}",
        plan.out
    );
}

/// Exactly one container per stack, each created once.
fn assert_one_container_per_stack(sim: &support::Sim, what: &str) {
    let stacks = stack_count() as u64;
    let containers = sim.containers();
    let mut hostnames: Vec<String> = containers
        .iter()
        .filter_map(|c| c["hostname"].as_str().map(str::to_string))
        .collect();
    hostnames.sort();
    let before = hostnames.len();
    hostnames.dedup();
    assert_eq!(
        before,
        hostnames.len(),
        "{what}: no hostname twice: {containers:?}"
    );
    assert_eq!(
        containers.len() as u64,
        stacks,
        "{what}: one container per stack: {containers:?}"
    );
    assert_eq!(
        sim.count("POST /nodes/{node}/lxc"),
        stacks,
        "{what}: each container was created exactly once"
    );
}

/// Two applies of the same tree from two clones started together; both end, and whichever
/// finds a stack locked waits for it (`-lock-timeout` from root.hcl), then has nothing to do.
fn race_two_clones(sim: &support::Sim, a: &Clone, b: &Clone) {
    let first = a.spawn(&["apply"]);
    let second = b.spawn(&["apply"]);
    let first = Ran::from(first.wait_with_output().expect("wait for the first ralf"));
    let second = Ran::from(second.wait_with_output().expect("wait for the second ralf"));
    for (name, ran) in [("first", &first), ("second", &second)] {
        // One may fail, but only cleanly at a lock: never with a half-written unit.
        if ran.code != 0 {
            assert!(
                ran.out.contains("Error acquiring the state lock"),
                "the {name} concurrent apply failed other than at a lock:\n{}",
                ran.out
            );
        }
    }
    assert!(
        first.code == 0 || second.code == 0,
        "at least one concurrent apply completes:\nfirst:\n{}\nsecond:\n{}",
        first.out,
        second.out
    );
    assert_one_container_per_stack(sim, "after two concurrent applies");
    // Whoever waited or failed, a rerun from either clone converges.
    let rerun = a.run(&["apply"]);
    assert_applied_every_stack(&rerun, "the rerun after the race");
    assert_one_container_per_stack(sim, "after the rerun");
    assert_plans_no_changes(b, "the other clone after the race");
}

// ---- PostgreSQL ----------------------------------------------------------------------------

fn psql(conn: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(conn)
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run psql ({e}): install postgresql-client, as .ci/run does")
        });
    assert!(
        out.status.success(),
        "psql {sql:?} against {} failed: {}\nStart PostgreSQL and create the test role as .ci/run does, or set RALF_TEST_PG_CONN.",
        redact(conn),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The connection string without its password, for messages.
fn redact(conn: &str) -> String {
    match (conn.find("://"), conn.find('@')) {
        (Some(scheme), Some(at)) if scheme < at => match conn[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &conn[..scheme + 3], &conn[at..]),
            None => conn.to_string(),
        },
        _ => conn.to_string(),
    }
}

/// A fresh database for one test, dropped at the end.
struct PgDatabase {
    admin: String,
    name: String,
    conn: String,
}

impl PgDatabase {
    fn create(label: &str) -> PgDatabase {
        let admin = std::env::var("RALF_TEST_PG_CONN").unwrap_or_else(|_| DEFAULT_PG_CONN.into());
        let name = format!("ralf_{label}_{}", std::process::id());
        psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let conn = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        PgDatabase { admin, name, conn }
    }

    fn backend_env(&self) -> Vec<(String, String)> {
        vec![
            ("RALF_STATE".into(), "pg".into()),
            ("PG_CONN_STR".into(), self.conn.clone()),
        ]
    }

    /// The schemas holding a state row for the default workspace.
    fn states(&self) -> Vec<String> {
        let schemas = psql(
            &self.conn,
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'states' ORDER BY 1",
        );
        schemas
            .lines()
            .filter(|schema| {
                psql(
                    &self.conn,
                    &format!("SELECT count(*) FROM \"{schema}\".states WHERE name = 'default'"),
                ) == "1"
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.admin)
            .args(["-X", "-q", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

#[test]
fn pg_state_the_tree_applies_into_one_schema_per_stack_and_another_clone_plans_no_changes() {
    let _turn = ONE_TREE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let db = PgDatabase::create("tree");
    let sim = support::Sim::start();
    let first = Clone::new(&sim, &db.backend_env());
    let applied = first.run(&["apply"]);
    assert_applied_every_stack(&applied, "ralf run --all apply with pg state");
    assert_one_container_per_stack(&sim, "after the pg apply");
    assert!(
        first.local_state_files().is_empty(),
        "no local state with the pg backend: {:?}",
        first.local_state_files()
    );
    let states = db.states();
    assert_eq!(
        states.len(),
        stack_count(),
        "one schema per stack: {states:?}"
    );
    assert!(
        states.iter().all(|s| s.starts_with("sim_")),
        "schemas are named by environment and stack: {states:?}"
    );
    assert!(
        !applied.out.contains("ralf-test@") && !applied.out.contains(":ralf-test"),
        "the connection string's password never reaches the output"
    );
    // A clone that never applied sees the same deployment: state and the dependencies' outputs
    // come from PostgreSQL.
    let second = Clone::new(&sim, &db.backend_env());
    assert_plans_no_changes(&second, "a second clone with pg state");
}

#[test]
fn pg_state_two_concurrent_applies_from_two_clones_create_each_container_once_and_converge() {
    let _turn = ONE_TREE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let db = PgDatabase::create("race");
    let sim = support::Sim::start();
    let a = Clone::new(&sim, &db.backend_env());
    let b = Clone::new(&sim, &db.backend_env());
    race_two_clones(&sim, &a, &b);
    assert_eq!(db.states().len(), stack_count());
}

// ---- S3 (moto) -----------------------------------------------------------------------------

/// moto's S3 server on a free loopback port, stopped on drop.
struct S3Server {
    child: Child,
    endpoint: String,
    _log: tempfile::NamedTempFile,
}

impl S3Server {
    fn start() -> S3Server {
        let port = support::closed_port();
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("log"))
            .stderr(log.reopen().expect("log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}): install it with `python3 -m pip install 'moto[server]>=5.1'`, as .ci/run does")
            });
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            _log: log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on 127.0.0.1:{port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Creates a bucket (path-style PUT; moto accepts unsigned requests).
    fn create_bucket(&self, bucket: &str) {
        let status = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"])
            .arg(format!("{}/{bucket}", self.endpoint))
            .output()
            .expect("curl (install curl, as .ci/run does)");
        let code = String::from_utf8_lossy(&status.stdout).to_string();
        assert_eq!(code, "200", "creating bucket {bucket} on moto");
    }

    fn backend_env(&self, bucket: &str) -> Vec<(String, String)> {
        vec![
            ("RALF_STATE".into(), "s3".into()),
            ("RALF_STATE_S3_BUCKET".into(), bucket.into()),
            ("RALF_STATE_S3_ENDPOINT".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "ralf-test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "ralf-test-secret".into()),
            // Nothing may look for credentials or regions off this machine.
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn s3_state_with_lockfile_two_concurrent_applies_create_each_container_once_and_converge() {
    let _turn = ONE_TREE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let s3 = S3Server::start();
    s3.create_bucket("ralf-state");
    let sim = support::Sim::start();
    let a = Clone::new(&sim, &s3.backend_env("ralf-state"));
    let b = Clone::new(&sim, &s3.backend_env("ralf-state"));
    race_two_clones(&sim, &a, &b);
    assert!(
        a.local_state_files().is_empty() && b.local_state_files().is_empty(),
        "no local state with the s3 backend"
    );
}
