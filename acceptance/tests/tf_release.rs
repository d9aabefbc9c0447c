//! Acceptance: the provider as users get it. Builds the release once with `ralf-release`
//! (the `dist-check` profile: the same static binaries, unoptimised, to bound CI time), installs
//! it with the release's own static `ralf provider install` into filesystem mirrors (unpacked,
//! packed) and a network mirror served over HTTPS on loopback, and drives the real `terraform`
//! through `init` + `apply` + `plan` of a configuration that pins `ralf-homelab/ralf` by version.
//! Lock files made on one layout verify on another. Each static binary runs in an empty chroot.
//!
//! Needs: `terraform` on PATH, root or unprivileged user namespaces (for `chroot`), `ldd`.

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use sha2::Digest as _;
use support::{terraform_binary, workspace_binary, workspace_root, TfRun};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TERRAFORM_ADDRESS: &str = "registry.terraform.io/ralf-homelab/ralf";
const OPENTOFU_ADDRESS: &str = "registry.opentofu.org/ralf-homelab/ralf";
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// The release under test: `dist/` and the static binaries extracted from its archives.
struct Release {
    dist: PathBuf,
    /// Static `ralf`, `pve-sim` and `terraform-provider-ralf_v<version>` from the archives.
    bin: PathBuf,
}

fn provider_archive_name() -> String {
    format!("terraform-provider-ralf_{VERSION}_linux_amd64.zip")
}

fn provider_executable_name() -> String {
    format!("terraform-provider-ralf_v{VERSION}")
}

/// Builds the release once per test process (about one workspace build in the `dist-check`
/// profile) and unpacks its archives.
fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let root = support::bin_dir()
            .parent()
            .expect("target dir")
            .join("tf-release-test");
        let dist = root.join("dist");
        let bin = root.join("bin");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&bin).expect("create the test release dir");
        let status = Command::new(workspace_binary("ralf-release"))
            .args(["--profile", "dist-check", "--out"])
            .arg(&dist)
            .current_dir(workspace_root())
            .status()
            .expect("run ralf-release");
        assert!(
            status.success(),
            "ralf-release failed ({status}); its output is above"
        );
        for (archive, entry) in [
            (provider_archive_name(), provider_executable_name()),
            (
                format!("ralf_{VERSION}_linux_amd64.zip"),
                "ralf".to_string(),
            ),
            (
                format!("pve-sim_{VERSION}_linux_amd64.zip"),
                "pve-sim".to_string(),
            ),
        ] {
            unzip_entry(&dist.join(archive), &entry, &bin.join(&entry));
        }
        Release { dist, bin }
    })
}

fn unzip_entry(archive: &Path, entry: &str, destination: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let file =
        std::fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let mut zip = zip::ZipArchive::new(file).expect("a zip archive");
    let mut member = zip
        .by_name(entry)
        .unwrap_or_else(|e| panic!("{} lacks {entry}: {e}", archive.display()));
    assert_eq!(
        member.unix_mode().map(|m| m & 0o777),
        Some(0o755),
        "{entry} in {} must be executable",
        archive.display()
    );
    let mut bytes = Vec::new();
    member.read_to_end(&mut bytes).expect("read archive entry");
    std::fs::write(destination, bytes).expect("write extracted binary");
    std::fs::set_permissions(destination, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Runs the release's own `ralf provider install`.
fn install(layout: &str, mirror: &Path) -> String {
    let release = release();
    let output = Command::new(release.bin.join("ralf"))
        .args(["provider", "install", "--layout", layout, "--from"])
        .arg(&release.dist)
        .arg("--mirror")
        .arg(mirror)
        .output()
        .expect("run ralf provider install");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ralf provider install --layout {layout} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A Terraform working directory with its own CLI configuration (no dev_overrides).
struct Workdir {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workdir {
    fn new(provider_installation: &str, source: &str, tcp_port: u16) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("ralf-release-")
            .tempdir()
            .expect("temp dir");
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!("provider_installation {{\n{provider_installation}}}\n"),
        )
        .expect("write the CLI configuration");
        std::fs::write(
            dir.path().join("main.tf"),
            format!(
                r#"terraform {{
  required_providers {{
    ralf = {{
      source  = "{source}"
      version = "~> {VERSION}"
    }}
  }}
}}
provider "ralf" {{}}
resource "ralf_smoke_check" "port" {{
  tcp {{
    host = "127.0.0.1"
    port = {tcp_port}
  }}
  retry {{
    attempts      = 2
    initial_delay = "50ms"
    max_delay     = "100ms"
  }}
  timeout = "2s"
}}
output "summary" {{ value = ralf_smoke_check.port.summary }}
"#
            ),
        )
        .expect("write main.tf");
        Workdir { dir, env: vec![] }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> TfRun {
        let mut command = Command::new(terraform_binary());
        command
            .args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            // Terraform's implied mirrors and plugin cache stay out of the way.
            .env("HOME", self.path())
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env_remove("TF_LOG")
            .env_remove("TF_REATTACH_PROVIDERS");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let output = command.output().expect("run terraform");
        TfRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn run_ok(&self, args: &[&str]) -> TfRun {
        let run = self.run(args);
        assert_eq!(run.code, 0, "terraform {args:?} failed:\n{}", run.all());
        run
    }

    /// `init`, `apply`, then a `plan` that must show no changes.
    fn init_apply_plan(&self) {
        let init = self.run_ok(&["init", "-no-color", "-input=false"]);
        assert!(
            init.stdout.contains("Installed ")
                && init
                    .stdout
                    .contains(&format!("ralf-homelab/ralf v{VERSION}")),
            "init did not install the release:\n{}",
            init.all()
        );
        self.run_ok(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        let summary = self.run_ok(&["output", "-raw", "summary"]);
        assert_eq!(summary.stdout, "1 OK, 0 FAIL, 0 SKIP");
        let plan = self.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
        assert_eq!(
            plan.code,
            0,
            "the second plan must be empty:\n{}",
            plan.all()
        );
    }

    fn lock_file(&self) -> String {
        std::fs::read_to_string(self.path().join(".terraform.lock.hcl")).expect("a lock file")
    }
}

fn filesystem_mirror(path: &Path) -> String {
    format!(
        "  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{TERRAFORM_ADDRESS}\", \"{OPENTOFU_ADDRESS}\"]\n  }}\n  direct {{\n    exclude = [\"{TERRAFORM_ADDRESS}\", \"{OPENTOFU_ADDRESS}\"]\n  }}\n",
        path.display()
    )
}

fn network_mirror(url: &str) -> String {
    format!(
        "  network_mirror {{\n    url     = \"{url}\"\n    include = [\"{TERRAFORM_ADDRESS}\", \"{OPENTOFU_ADDRESS}\"]\n  }}\n  direct {{\n    exclude = [\"{TERRAFORM_ADDRESS}\", \"{OPENTOFU_ADDRESS}\"]\n  }}\n"
    )
}

/// The hashes recorded for our provider in a lock file.
fn locked_hashes(lock: &str) -> Vec<String> {
    lock.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"').and_then(|l| l.split('"').next()))
        .filter(|h| h.starts_with("h1:") || h.starts_with("zh:"))
        .map(str::to_string)
        .collect()
}

/// The hashes ralf's network mirror lists for the release: `[h1, zh]`.
fn published_hashes(network_mirror: &Path) -> Vec<String> {
    let listed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            network_mirror.join(format!("{TERRAFORM_ADDRESS}/{VERSION}.json")),
        )
        .expect("version file"),
    )
    .expect("JSON");
    listed["archives"]["linux_amd64"]["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| h.as_str().expect("hash string").to_string())
        .collect()
}

fn archive_zip_hash(release: &Release) -> String {
    let bytes = std::fs::read(release.dist.join(provider_archive_name())).expect("archive");
    format!("zh:{:x}", sha2::Sha256::digest(&bytes))
}

/// A loopback TCP port the smoke check connects to. Stays open while the listener lives.
fn tcp_target() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind loopback")
}

/// A minimal HTTPS file server on 127.0.0.1 for a network mirror, with a throw-away CA.
struct MirrorServer {
    url: String,
    ca_file: tempfile::NamedTempFile,
}

impl MirrorServer {
    fn start(root: &Path) -> MirrorServer {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "tf_release test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate().expect("key");
        let server_cert =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("params")
                .signed_by(&server_key, &issuer)
                .expect("server cert");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .expect("TLS config");
        let config = Arc::new(config);
        let mut ca_file = tempfile::NamedTempFile::new().expect("CA file");
        ca_file
            .write_all(ca_cert.pem().as_bytes())
            .expect("write CA");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("https://{}/", listener.local_addr().expect("addr"));
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, root) = (config.clone(), root.clone());
                std::thread::spawn(move || serve_one(config, &root, stream));
            }
        });
        MirrorServer { url, ca_file }
    }
}

/// Answers one HTTP/1.1 request per connection (`Connection: close`) with a file under `root`.
fn serve_one(config: Arc<rustls::ServerConfig>, root: &Path, stream: std::net::TcpStream) {
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    {
        let mut reader = BufReader::new(&mut tls);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let relative = path.split('?').next().unwrap_or("").trim_start_matches('/');
        let file = (!relative.split('/').any(|part| part == ".."))
            .then(|| root.join(relative))
            .filter(|p| p.is_file())
            .and_then(|p| std::fs::read(p).ok());
        let (status, body) = match file {
            Some(body) => ("200 OK", body),
            None => ("404 Not Found", b"not found".to_vec()),
        };
        // Terraform refuses mirror JSON served under any other type.
        let content_type = if relative.ends_with(".json") {
            "application/json"
        } else {
            "application/zip"
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = tls
            .write_all(head.as_bytes())
            .and_then(|()| tls.write_all(&body))
            .and_then(|()| tls.flush());
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
}

#[test]
fn the_release_holds_a_registry_style_provider_archive_manifest_and_checksums() {
    let release = release();
    let sums = std::fs::read_to_string(
        release
            .dist
            .join(format!("terraform-provider-ralf_{VERSION}_SHA256SUMS")),
    )
    .expect("SHA256SUMS");
    let mut listed: Vec<&str> = Vec::new();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").expect("`<sha256>  <file>` lines");
        let bytes = std::fs::read(release.dist.join(name)).expect("listed file exists");
        assert_eq!(
            hash,
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            "{name}"
        );
        listed.push(name);
    }
    listed.sort();
    let manifest = format!("terraform-provider-ralf_{VERSION}_manifest.json");
    let mut expected = vec![
        provider_archive_name(),
        manifest.clone(),
        format!("ralf_{VERSION}_linux_amd64.zip"),
        format!("pve-sim_{VERSION}_linux_amd64.zip"),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(release.dist.join(manifest)).expect("manifest"),
    )
    .expect("manifest JSON");
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let archive = std::fs::File::open(release.dist.join(provider_archive_name())).expect("zip");
    let zip = zip::ZipArchive::new(archive).expect("zip");
    assert_eq!(
        zip.file_names().collect::<Vec<_>>(),
        vec![provider_executable_name().as_str()]
    );
}

#[test]
fn every_release_binary_is_static_and_reports_the_workspace_version() {
    let release = release();
    for (binary, version_line) in [
        (
            provider_executable_name(),
            format!("terraform-provider-ralf {VERSION}"),
        ),
        ("ralf".to_string(), format!("ralf {VERSION}")),
        ("pve-sim".to_string(), format!("pve-sim {VERSION}")),
    ] {
        let path = release.bin.join(&binary);
        let ldd = Command::new("ldd")
            .arg(&path)
            .output()
            .expect("ldd runs (libc-bin)");
        let ldd_text = format!(
            "{}{}",
            String::from_utf8_lossy(&ldd.stdout),
            String::from_utf8_lossy(&ldd.stderr)
        );
        assert!(
            ldd_text.contains("not a dynamic executable") || ldd_text.contains("statically linked"),
            "{binary} is linked dynamically:\n{ldd_text}"
        );
        let out = Command::new(&path)
            .arg("--version")
            .output()
            .expect("run --version");
        assert!(out.status.success(), "{binary} --version failed");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), version_line);
    }
}

/// The checkout's path must not end up in a release binary: `ralf-release` remaps it out of the
/// Rust code (`--remap-path-prefix`), so two checkouts of the same commit build byte-identical
/// archives (docs/guides/installing.md). cargo's home is remapped for Rust code too, but the
/// C asserts of aws-lc name their sources under it in the unoptimised `dist-check` build this
/// test makes (the optimised `dist` build compiles them out), so it is not checked here.
#[test]
fn the_release_binaries_embed_no_path_of_the_checkout() {
    let release = release();
    let checkout = workspace_root().display().to_string();
    for binary in [provider_executable_name(), "ralf".into(), "pve-sim".into()] {
        let bytes = std::fs::read(release.bin.join(&binary)).expect("read the release binary");
        let found = bytes
            .windows(checkout.len())
            .position(|window| window == checkout.as_bytes());
        if let Some(at) = found {
            let end = (at + 160).min(bytes.len());
            panic!(
                "{binary} embeds the checkout's path {checkout}: {:?}",
                String::from_utf8_lossy(&bytes[at..end])
            );
        }
    }
}

/// A program from PATH or the sbin directories, failing the test with what to install.
fn system_program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` not found: the empty-root test needs it (Debian: coreutils for chroot, util-linux for unshare)"))
}

/// `chroot ROOT PROGRAM ARGS` as root, or in a user namespace otherwise.
fn chroot_command(root: &Path, program: &str) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let chroot = system_program("chroot");
    let mut command = if is_root {
        Command::new(chroot)
    } else {
        let mut c = Command::new(system_program("unshare"));
        c.args(["--user", "--map-root-user"]).arg(chroot);
        c
    };
    command.arg(root).arg(program).env_clear();
    command
}

#[test]
fn the_static_binaries_start_in_an_empty_root() {
    let release = release();
    let root = tempfile::tempdir().expect("chroot dir");
    for binary in [
        provider_executable_name(),
        "ralf".to_string(),
        "pve-sim".to_string(),
    ] {
        std::fs::copy(release.bin.join(&binary), root.path().join(&binary)).expect("copy binary");
    }
    // The provider's one documented need: a writable directory for its unix socket (TMPDIR,
    // /tmp by default, or PLUGIN_UNIX_SOCKET_DIR).
    std::fs::create_dir(root.path().join("tmp")).expect("tmp");

    let ralf = chroot_command(root.path(), "/ralf")
        .arg("--version")
        .output()
        .expect("chroot");
    assert!(
        ralf.status.success(),
        "ralf --version in an empty root failed: {}",
        String::from_utf8_lossy(&ralf.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ralf.stdout).trim(),
        format!("ralf {VERSION}")
    );

    let sim = chroot_command(root.path(), "/pve-sim")
        .arg("--help")
        .output()
        .expect("chroot");
    assert!(
        sim.status.success(),
        "pve-sim --help in an empty root failed: {}",
        String::from_utf8_lossy(&sim.stderr)
    );
    assert!(String::from_utf8_lossy(&sim.stdout).contains("Proxmox VE API simulator"));

    let client_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("key");
    let client_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&client_key)
        .expect("client cert");
    let mut provider = chroot_command(root.path(), &format!("/{}", provider_executable_name()))
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", client_cert.pem())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the provider in the chroot");
    let mut line = String::new();
    BufReader::new(provider.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the handshake line");
    let _ = provider.kill();
    let output = provider.wait_with_output().expect("provider exits");
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert!(
        fields.len() == 6
            && fields[..3] == ["1", "6", "unix"]
            && fields[3].starts_with("/tmp/")
            && fields[4] == "grpc"
            && !fields[5].is_empty(),
        "expected the handshake line `1|6|unix|/tmp/...|grpc|<cert>`, got {line:?}; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn unpacked_and_packed_filesystem_mirrors_install_the_release_for_both_hostnames() {
    let target = tcp_target();
    let port = target.local_addr().expect("addr").port();

    let unpacked = tempfile::tempdir().expect("mirror");
    let printed = install("unpacked", unpacked.path());
    assert!(
        printed.contains("filesystem_mirror"),
        "install prints the CLI configuration:\n{printed}"
    );
    let work = Workdir::new(
        &filesystem_mirror(unpacked.path()),
        "ralf-homelab/ralf",
        port,
    );
    work.init_apply_plan();

    let packed = tempfile::tempdir().expect("mirror");
    install("packed", packed.path());
    // OpenTofu's hostname, spelled out, installs from the same mirror.
    let work = Workdir::new(&filesystem_mirror(packed.path()), OPENTOFU_ADDRESS, port);
    work.init_apply_plan();
    // The h1: hash Terraform computes from the packed archive is the one ralf publishes.
    let network = tempfile::tempdir().expect("mirror");
    install("network", network.path());
    let published = published_hashes(network.path())[0].clone();
    assert!(
        locked_hashes(&work.lock_file()).contains(&published),
        "Terraform's lock {:?} lacks ralf's h1 hash {published}",
        locked_hashes(&work.lock_file())
    );
}

#[test]
fn a_network_mirror_over_https_installs_the_release_and_its_lock_file_verifies_elsewhere() {
    let release = release();
    let target = tcp_target();
    let port = target.local_addr().expect("addr").port();
    let files = tempfile::tempdir().expect("mirror files");
    install("network", files.path());
    let server = MirrorServer::start(files.path());
    let ssl_cert_file = server.ca_file.path().display().to_string();

    let mut work = Workdir::new(&network_mirror(&server.url), "ralf-homelab/ralf", port);
    work.env
        .push(("SSL_CERT_FILE".into(), ssl_cert_file.clone()));
    work.init_apply_plan();

    // A lock file made with `terraform providers lock` from the mirror holds the h1: hash ralf
    // publishes for the archive's contents: the same on every machine with the same release.
    // (Terraform records a mirror's zh: hashes only when a registry key signed them; see
    // internal/providercache/installer.go.)
    let mut locker = Workdir::new(&network_mirror(&server.url), "ralf-homelab/ralf", port);
    locker.env.push(("SSL_CERT_FILE".into(), ssl_cert_file));
    let net_mirror = format!("-net-mirror={}", server.url);
    locker.run_ok(&[
        "providers",
        "lock",
        "-no-color",
        "-platform=linux_amd64",
        &net_mirror,
    ]);
    let lock = locker.lock_file();
    let published = published_hashes(files.path());
    assert_eq!(
        locked_hashes(&lock),
        vec![published[0].clone()],
        "lock:\n{lock}"
    );
    assert!(
        published.contains(&archive_zip_hash(release)),
        "V.json lists the archive's zh: hash"
    );

    // The same lock file verifies on another machine's unpacked filesystem mirror.
    let unpacked = tempfile::tempdir().expect("mirror");
    install("unpacked", unpacked.path());
    let elsewhere = Workdir::new(
        &filesystem_mirror(unpacked.path()),
        "ralf-homelab/ralf",
        port,
    );
    std::fs::write(elsewhere.path().join(".terraform.lock.hcl"), &lock).expect("copy lock");
    elsewhere.init_apply_plan();
    assert_eq!(
        elsewhere.lock_file(),
        lock,
        "init must not need to change a lock that verifies"
    );
}

#[test]
fn a_lock_file_for_a_different_build_fails_init_with_a_checksum_error() {
    let target = tcp_target();
    let port = target.local_addr().expect("addr").port();
    let packed = tempfile::tempdir().expect("mirror");
    install("packed", packed.path());
    let work = Workdir::new(&filesystem_mirror(packed.path()), "ralf-homelab/ralf", port);
    let other_build = "zh:0000000000000000000000000000000000000000000000000000000000000000";
    std::fs::write(
        work.path().join(".terraform.lock.hcl"),
        format!(
            "provider \"{TERRAFORM_ADDRESS}\" {{\n  version     = \"{VERSION}\"\n  constraints = \"~> {VERSION}\"\n  hashes = [\n    \"{other_build}\",\n  ]\n}}\n"
        ),
    )
    .expect("write lock");
    let init = work.run(&["init", "-no-color", "-input=false"]);
    assert_ne!(
        init.code,
        0,
        "init must refuse a package the lock file does not list:\n{}",
        init.all()
    );
    assert!(
        init.flat().contains("checksum"),
        "the error names the checksum mismatch:\n{}",
        init.all()
    );
}

#[test]
fn a_lock_file_from_ralf_provider_lock_holds_both_hashes_and_verifies_unchanged_on_packed_and_unpacked_mirrors(
) {
    let release = release();
    let target = tcp_target();
    let port = target.local_addr().expect("addr").port();
    let packed = tempfile::tempdir().expect("mirror");
    install("packed", packed.path());
    let unpacked = tempfile::tempdir().expect("mirror");
    install("unpacked", unpacked.path());

    // Written once, in a directory that has never run init.
    let locked = tempfile::tempdir().expect("lock dir");
    let constraint = format!("~> {VERSION}");
    let output = Command::new(release.bin.join("ralf"))
        .args(["provider", "lock", "--constraints", &constraint, "--from"])
        .arg(&release.dist)
        .arg(locked.path())
        .output()
        .expect("run ralf provider lock");
    assert!(
        output.status.success(),
        "ralf provider lock failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lock = std::fs::read_to_string(locked.path().join(".terraform.lock.hcl")).expect("lock");
    let network_files = tempfile::tempdir().expect("network files");
    install("network", network_files.path());
    let published = published_hashes(network_files.path());
    assert_eq!(
        locked_hashes(&lock),
        published,
        "the lock holds the h1: and zh: hashes the release publishes:\n{lock}"
    );
    assert!(locked_hashes(&lock).contains(&archive_zip_hash(release)));

    // Each layout's init verifies it (the packed one checks the archive's zh: too) and leaves
    // it byte for byte as it was.
    for (layout, mirror) in [("packed", packed.path()), ("unpacked", unpacked.path())] {
        let work = Workdir::new(&filesystem_mirror(mirror), "ralf-homelab/ralf", port);
        std::fs::write(work.path().join(".terraform.lock.hcl"), &lock).expect("copy lock");
        work.init_apply_plan();
        assert_eq!(
            work.lock_file(),
            lock,
            "init from the {layout} mirror must verify the lock file without changing it"
        );
    }
}
