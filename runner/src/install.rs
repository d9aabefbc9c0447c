//! `ralf provider install`: puts a release of `terraform-provider-ralf` (the files `ralf-release`
//! writes into `dist/`) where Terraform and OpenTofu install it from without any registry, for
//! both `registry.terraform.io/ralf-homelab/ralf` and `registry.opentofu.org/ralf-homelab/ralf`:
//!
//! - a filesystem mirror, unpacked (`HOST/NAMESPACE/TYPE/VERSION/TARGET/terraform-provider-TYPE_vVERSION`)
//!   or packed (`HOST/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_TARGET.zip`), the two layouts
//!   of Terraform's internal/getproviders/filesystem_search.go;
//! - the static files of the provider network mirror protocol (internal/getproviders/http_mirror_source.go):
//!   `HOST/NAMESPACE/TYPE/index.json`, `HOST/NAMESPACE/TYPE/VERSION.json` listing the archive with
//!   its `h1:` and `zh:` hashes, and the archive itself, for any HTTPS server to serve.
//!
//! `ralf provider lock` writes the `.terraform.lock.hcl` entry for a release into configuration
//! directories, with both the archive's `zh:` hash and its contents' `h1:` hash. Terraform
//! records only `h1:` when it installs from a mirror (it keeps a mirror's `zh:` hashes only when
//! a registry key signed them, internal/providercache/installer.go), and `h1:` alone does not
//! let a packed mirror check the archive file itself; with both, the same lock file verifies
//! on every machine and layout that installs the same release, and `init` leaves it as it is.
//!
//! Archives are checked against the release's SHA256SUMS before anything is written. This module
//! knows the layouts and hashes only; it knows nothing about runs, units or the provider's code.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

pub const NAMESPACE: &str = "ralf-homelab";
pub const PROVIDER_TYPE: &str = "ralf";
/// The registry hostnames a configuration's `source = "ralf-homelab/ralf"` means, in Terraform
/// and in OpenTofu.
pub const HOSTNAMES: [&str; 2] = ["registry.terraform.io", "registry.opentofu.org"];

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a release directory: {reason}. Make a release with `cargo run -p ralf-release` (it writes dist/), or pass --from with the directory holding the downloaded release files", dir.display())]
    NotARelease { dir: PathBuf, reason: String },
    #[error("{} does not match its SHA256SUMS entry (expected {expected}, found {found}): the download is incomplete or altered; fetch it again", path.display())]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{} is not a provider archive: {reason}", path.display())]
    BadArchive { path: PathBuf, reason: String },
    #[error("no mirror directory: {0}")]
    NoMirror(&'static str),
    #[error("{} is not a lock file Terraform wrote: {reason}. Fix or remove it, then run `ralf provider lock` again", path.display())]
    BadLockFile { path: PathBuf, reason: String },
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io { what, path, source }
}

/// How the mirror is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// Filesystem mirror with the executable extracted (what `terraform providers mirror` does
    /// not write, but what Terraform's implied local mirror directories usually hold).
    Unpacked,
    /// Filesystem mirror holding the release archives as they are.
    Packed,
    /// Static files of the provider network mirror protocol, to serve over HTTPS.
    Network,
}

#[derive(Debug, clap::Args)]
pub struct ProviderArgs {
    #[command(subcommand)]
    pub command: ProviderCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ProviderCommand {
    /// Install a release of terraform-provider-ralf into a filesystem mirror or write the files
    /// of a network mirror, for registry.terraform.io and registry.opentofu.org, and print the
    /// CLI configuration that uses it.
    Install(InstallArgs),
    /// Write (or update) the `.terraform.lock.hcl` entry of a release in configuration
    /// directories, with the archive's `zh:` and `h1:` hashes, so that `init` verifies the same
    /// release on every machine and mirror layout.
    Lock(LockArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct LockArgs {
    /// The directory holding the release files, as for `install`.
    #[arg(long, default_value = "dist")]
    pub from: PathBuf,
    /// The release version to lock, when --from holds more than one.
    #[arg(long = "release")]
    pub release: Option<String>,
    /// The registry hostname the configuration's `source = "ralf-homelab/ralf"` means:
    /// registry.terraform.io for Terraform, registry.opentofu.org for OpenTofu.
    #[arg(long, default_value = HOSTNAMES[0])]
    pub hostname: String,
    /// The configuration's version constraint, recorded as `constraints` (omit when the
    /// configuration has none, as `init` does).
    #[arg(long)]
    pub constraints: Option<String>,
    /// Directories whose `.terraform.lock.hcl` to write (the directory `init` runs in, or a
    /// Terragrunt/ralf unit's directory, whose lock file is copied into its working directory).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {
    /// The directory holding the release files (terraform-provider-ralf_<version>_SHA256SUMS and
    /// the archives it lists), as `cargo run -p ralf-release` writes them.
    #[arg(long, default_value = "dist")]
    pub from: PathBuf,
    /// The mirror directory to write. Default: ~/.terraform.d/plugins, a directory Terraform and
    /// OpenTofu search without any CLI configuration (unpacked and packed layouts only).
    #[arg(long)]
    pub mirror: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Layout::Unpacked)]
    pub layout: Layout,
    /// The release version to install, when --from holds more than one.
    #[arg(long = "release")]
    pub release: Option<String>,
}

/// One provider archive of a release, checked against SHA256SUMS.
#[derive(Debug, Clone)]
pub struct ReleaseArchive {
    pub path: PathBuf,
    pub version: String,
    /// Terraform's platform name, e.g. `linux_amd64`.
    pub platform: String,
    /// `zh:` hash: SHA-256 of the archive file, as the public registries sign it.
    pub zip_hash: String,
    /// `h1:` hash: Terraform's hash of the archive's contents, equal for the unpacked directory.
    pub content_hash: String,
}

/// What an install wrote, for the caller to print.
#[derive(Debug)]
pub struct Installed {
    pub mirror: PathBuf,
    pub layout: Layout,
    pub archives: Vec<ReleaseArchive>,
}

/// The command's entry point: installs and prints what was done and how to use it.
pub fn run_cli(args: ProviderArgs) -> Result<i32, InstallError> {
    match args.command {
        ProviderCommand::Install(install_args) => {
            let mirror = match (&install_args.mirror, install_args.layout) {
                (Some(dir), _) => dir.clone(),
                (None, Layout::Network) => return Err(InstallError::NoMirror(
                    "--layout network needs --mirror DIR, the directory your HTTPS server serves",
                )),
                (None, _) => default_mirror_dir()?,
            };
            let installed = install(
                &install_args.from,
                &mirror,
                install_args.layout,
                install_args.release.as_deref(),
            )?;
            print!("{}", describe(&installed));
            Ok(0)
        }
        ProviderCommand::Lock(lock_args) => {
            let archives = read_release(&lock_args.from, lock_args.release.as_deref())?;
            let entry = lock_entry(
                &lock_args.hostname,
                &archives,
                lock_args.constraints.as_deref(),
            );
            for dir in &lock_args.dirs {
                let path = write_lock_entry(dir, &entry)?;
                println!("Locked {} in {}", entry.address, path.display());
            }
            Ok(0)
        }
    }
}

/// The file Terraform and OpenTofu keep provider selections and hashes in.
pub const LOCK_FILE: &str = ".terraform.lock.hcl";

/// One `provider "<address>" { ... }` block of a lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    /// `<hostname>/ralf-homelab/ralf`.
    pub address: String,
    /// The block as Terraform writes it (hclwrite's alignment, hashes sorted).
    pub block: String,
}

/// The lock entry of a release: every platform's `h1:` and `zh:` hashes, sorted as Terraform
/// sorts them.
pub fn lock_entry(
    hostname: &str,
    archives: &[ReleaseArchive],
    constraints: Option<&str>,
) -> LockEntry {
    let address = format!("{hostname}/{NAMESPACE}/{PROVIDER_TYPE}");
    let version = archives.first().map_or("", |a| a.version.as_str());
    let mut hashes: Vec<&str> = archives
        .iter()
        .flat_map(|a| [a.content_hash.as_str(), a.zip_hash.as_str()])
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut block = format!("provider \"{address}\" {{\n");
    match constraints {
        // hclwrite aligns the `=` of consecutive one-line attributes.
        Some(c) => block.push_str(&format!(
            "  version     = \"{version}\"\n  constraints = \"{c}\"\n"
        )),
        None => block.push_str(&format!("  version = \"{version}\"\n")),
    }
    block.push_str("  hashes = [\n");
    for hash in hashes {
        block.push_str(&format!("    \"{hash}\",\n"));
    }
    block.push_str("  ]\n}\n");
    LockEntry { address, block }
}

/// The header `terraform init` writes at the top of a lock file.
const LOCK_HEADER: &str = "# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n";

/// Writes `entry` into `dir`'s lock file, replacing an older entry for the same provider and
/// keeping the other providers' entries as they are.
pub fn write_lock_entry(dir: &Path, entry: &LockEntry) -> Result<PathBuf, InstallError> {
    let path = dir.join(LOCK_FILE);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(InstallError::Io {
                what: "read",
                path,
                source,
            })
        }
    };
    let text = merge_lock_entry(&existing, entry).map_err(|reason| InstallError::BadLockFile {
        path: path.clone(),
        reason,
    })?;
    std::fs::write(&path, text).map_err(io_error("write", &path))?;
    Ok(path)
}

/// `existing` lock file text with `entry` in place of its block for the same address, or added
/// at the end. Blocks of other providers are kept byte for byte.
fn merge_lock_entry(existing: &str, entry: &LockEntry) -> Result<String, String> {
    if existing.trim().is_empty() {
        return Ok(format!("{LOCK_HEADER}\n{}", entry.block));
    }
    hcl::parse(existing).map_err(|e| format!("it does not parse as HCL ({e})"))?;
    let opening = format!("provider \"{}\" {{", entry.address);
    let Some(start) = existing.find(&opening) else {
        let mut text = existing.trim_end().to_string();
        text.push_str("\n\n");
        text.push_str(&entry.block);
        return Ok(text);
    };
    // Terraform writes the closing brace of a provider block alone at the start of a line.
    let end = existing[start..]
        .find("\n}")
        .map(|offset| start + offset + "\n}".len())
        .ok_or_else(|| format!("its block for {} has no closing brace", entry.address))?;
    let rest = existing[end..].trim_start_matches('\n');
    let mut text = existing[..start].to_string();
    text.push_str(&entry.block);
    if !rest.is_empty() {
        text.push('\n');
        text.push_str(rest);
    }
    Ok(text)
}

/// `~/.terraform.d/plugins`: one of Terraform's implied local mirror directories on Linux.
fn default_mirror_dir() -> Result<PathBuf, InstallError> {
    let home = std::env::var_os("HOME").ok_or(InstallError::NoMirror(
        "HOME is not set: pass --mirror DIR to say where to install",
    ))?;
    Ok(PathBuf::from(home).join(".terraform.d").join("plugins"))
}

/// Installs every provider archive of the release in `from` into `mirror` with `layout`.
pub fn install(
    from: &Path,
    mirror: &Path,
    layout: Layout,
    version: Option<&str>,
) -> Result<Installed, InstallError> {
    let archives = read_release(from, version)?;
    for archive in &archives {
        for host in HOSTNAMES {
            let provider_dir = mirror.join(host).join(NAMESPACE).join(PROVIDER_TYPE);
            match layout {
                Layout::Unpacked => write_unpacked(archive, &provider_dir)?,
                Layout::Packed => copy_archive(archive, &provider_dir)?,
                Layout::Network => {
                    copy_archive(archive, &provider_dir)?;
                    write_network_index(&provider_dir, &archive.version)?;
                }
            }
        }
    }
    if layout == Layout::Network {
        for host in HOSTNAMES {
            let provider_dir = mirror.join(host).join(NAMESPACE).join(PROVIDER_TYPE);
            write_network_version(&provider_dir, &archives)?;
        }
    }
    Ok(Installed {
        mirror: mirror.to_path_buf(),
        layout,
        archives,
    })
}

/// Reads `terraform-provider-ralf_<version>_SHA256SUMS` in `from` and checks every provider
/// archive it lists.
pub fn read_release(
    from: &Path,
    version: Option<&str>,
) -> Result<Vec<ReleaseArchive>, InstallError> {
    let not_a_release = |reason: String| InstallError::NotARelease {
        dir: from.to_path_buf(),
        reason,
    };
    let prefix = format!("terraform-provider-{PROVIDER_TYPE}_");
    let entries = std::fs::read_dir(from).map_err(io_error("read the release directory", from))?;
    let mut versions: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix)?
                .strip_suffix("_SHA256SUMS")
                .map(str::to_string)
        })
        .collect();
    versions.sort();
    let version = match (version, versions.as_slice()) {
        (Some(wanted), found) if found.iter().any(|v| v == wanted) => wanted.to_string(),
        (Some(wanted), found) => {
            return Err(not_a_release(format!(
                "it has no SHA256SUMS for version {wanted} (versions found: {found:?})"
            )))
        }
        (None, [only]) => only.clone(),
        (None, []) => {
            return Err(not_a_release(format!(
                "no {prefix}<version>_SHA256SUMS file in it"
            )))
        }
        (None, many) => {
            return Err(not_a_release(format!(
                "it holds versions {many:?}: choose one with --release"
            )))
        }
    };
    let sums_path = from.join(format!("{prefix}{version}_SHA256SUMS"));
    let sums = std::fs::read_to_string(&sums_path).map_err(io_error("read", &sums_path))?;
    let archive_prefix = format!("{prefix}{version}_");
    let mut archives = Vec::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let Some((expected, name)) = line.split_once("  ") else {
            return Err(not_a_release(format!(
                "{} has a line that is not `<sha256>  <file>`: {line:?}",
                sums_path.display()
            )));
        };
        let Some(platform) = name
            .strip_prefix(&archive_prefix)
            .and_then(|rest| rest.strip_suffix(".zip"))
        else {
            continue;
        };
        let path = from.join(name);
        let bytes = std::fs::read(&path).map_err(io_error("read the archive", &path))?;
        let found = format!("{:x}", Sha256::digest(&bytes));
        if found != expected.trim().to_ascii_lowercase() {
            return Err(InstallError::ChecksumMismatch {
                path,
                expected: expected.to_string(),
                found,
            });
        }
        let content_hash = zip_content_hash(&path, &bytes, &version)?;
        archives.push(ReleaseArchive {
            path,
            version: version.clone(),
            platform: platform.to_string(),
            zip_hash: format!("zh:{found}"),
            content_hash,
        });
    }
    if archives.is_empty() {
        return Err(not_a_release(format!(
            "{} lists no {archive_prefix}<os>_<arch>.zip archive",
            sums_path.display()
        )));
    }
    Ok(archives)
}

/// The executable's name inside a provider archive and an unpacked mirror.
fn executable_name(version: &str) -> String {
    format!("terraform-provider-{PROVIDER_TYPE}_v{version}")
}

/// Terraform's `h1:` hash of an archive's contents (Go's golang.org/x/mod/sumdb/dirhash `Hash1`,
/// used by internal/getproviders/hash.go): SHA-256 over the sorted lines
/// `<hex sha256 of file>  <name>\n`, base64 with padding. Also checks that the archive holds the
/// provider executable.
fn zip_content_hash(path: &Path, bytes: &[u8], version: &str) -> Result<String, InstallError> {
    let bad = |reason: String| InstallError::BadArchive {
        path: path.to_path_buf(),
        reason,
    };
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut files = Vec::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| bad(e.to_string()))?;
        let mut contents = Vec::new();
        entry
            .read_to_end(&mut contents)
            .map_err(|e| bad(format!("entry {}: {e}", entry.name())))?;
        files.push((
            entry.name().to_string(),
            format!("{:x}", Sha256::digest(&contents)),
        ));
    }
    let executable = executable_name(version);
    if !files.iter().any(|(name, _)| *name == executable) {
        return Err(bad(format!("it does not hold {executable}")));
    }
    Ok(content_hash(files))
}

/// `h1:` over `(name, hex sha256)` pairs.
fn content_hash(mut files: Vec<(String, String)>) -> String {
    files.sort();
    let mut summary = Sha256::new();
    for (name, file_hash) in &files {
        summary.update(format!("{file_hash}  {name}\n"));
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    )
}

fn write_unpacked(archive: &ReleaseArchive, provider_dir: &Path) -> Result<(), InstallError> {
    let target_dir = provider_dir.join(&archive.version).join(&archive.platform);
    std::fs::create_dir_all(&target_dir).map_err(io_error("create", &target_dir))?;
    let bytes = std::fs::read(&archive.path).map_err(io_error("read", &archive.path))?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        InstallError::BadArchive {
            path: archive.path.clone(),
            reason: e.to_string(),
        }
    })?;
    // Extract to the target directory; it holds exactly what the archive holds, which is what
    // makes its `h1:` hash equal to the archive's.
    zip.extract(&target_dir)
        .map_err(|e| InstallError::BadArchive {
            path: archive.path.clone(),
            reason: format!("cannot extract into {}: {e}", target_dir.display()),
        })?;
    let executable = target_dir.join(executable_name(&archive.version));
    set_executable(&executable)
}

fn set_executable(path: &Path) -> Result<(), InstallError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(io_error("make executable", path))
}

fn copy_archive(archive: &ReleaseArchive, provider_dir: &Path) -> Result<(), InstallError> {
    std::fs::create_dir_all(provider_dir).map_err(io_error("create", provider_dir))?;
    let name = archive_name(archive);
    let destination = provider_dir.join(&name);
    std::fs::copy(&archive.path, &destination)
        .map_err(io_error("copy the archive to", &destination))?;
    Ok(())
}

fn archive_name(archive: &ReleaseArchive) -> String {
    format!(
        "terraform-provider-{PROVIDER_TYPE}_{}_{}.zip",
        archive.version, archive.platform
    )
}

/// `index.json`: `{"versions": {"<version>": {}}}`, keeping versions installed earlier.
fn write_network_index(provider_dir: &Path, version: &str) -> Result<(), InstallError> {
    let path = provider_dir.join("index.json");
    let mut versions = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|index| index.get("versions").and_then(|v| v.as_object()).cloned())
        .unwrap_or_default();
    versions.insert(version.to_string(), serde_json::json!({}));
    let index = serde_json::json!({ "versions": versions });
    write_json(&path, &index)
}

/// `<version>.json`: each platform's archive, by URL relative to this file, with its hashes.
fn write_network_version(
    provider_dir: &Path,
    archives: &[ReleaseArchive],
) -> Result<(), InstallError> {
    let Some(version) = archives.first().map(|a| a.version.clone()) else {
        return Ok(());
    };
    let platforms: serde_json::Map<String, serde_json::Value> = archives
        .iter()
        .map(|archive| {
            (
                archive.platform.clone(),
                serde_json::json!({
                    "url": archive_name(archive),
                    "hashes": [archive.content_hash, archive.zip_hash],
                }),
            )
        })
        .collect();
    let path = provider_dir.join(format!("{version}.json"));
    write_json(&path, &serde_json::json!({ "archives": platforms }))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), InstallError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    std::fs::write(path, format!("{text}\n")).map_err(io_error("write", path))
}

/// What was installed, the hashes, and the CLI configuration that uses the mirror.
pub fn describe(installed: &Installed) -> String {
    let mut text = String::new();
    for archive in &installed.archives {
        text.push_str(&format!(
            "Installed terraform-provider-{PROVIDER_TYPE} {} ({}) for {} into {} ({:?} layout)\n  {}\n  {}\n",
            archive.version,
            archive.platform,
            HOSTNAMES.join(" and "),
            installed.mirror.display(),
            installed.layout,
            archive.content_hash,
            archive.zip_hash,
        ));
    }
    let includes = HOSTNAMES
        .iter()
        .map(|h| format!("\"{h}/{NAMESPACE}/{PROVIDER_TYPE}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let source = match installed.layout {
        Layout::Network => format!(
            "  network_mirror {{\n    url     = \"https://YOUR-SERVER/\" # serving {}\n    include = [{includes}]\n  }}\n",
            installed.mirror.display()
        ),
        _ => format!(
            "  filesystem_mirror {{\n    path    = \"{}\"\n    include = [{includes}]\n  }}\n",
            installed.mirror.display()
        ),
    };
    text.push_str(&format!(
        "\nUse it with this CLI configuration (~/.terraformrc, ~/.tofurc, or a file named by TF_CLI_CONFIG_FILE):\n\n\
         provider_installation {{\n{source}  direct {{\n    exclude = [{includes}]\n  }}\n}}\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// Writes a release directory the way ralf-release does, with `contents` as the executable.
    fn release_dir(version: &str, contents: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("terraform-provider-ralf_{version}_linux_amd64.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(dir.path().join(&name)).unwrap());
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        zip.start_file(executable_name(version), options).unwrap();
        zip.write_all(contents).unwrap();
        zip.finish().unwrap();
        let bytes = std::fs::read(dir.path().join(&name)).unwrap();
        std::fs::write(
            dir.path()
                .join(format!("terraform-provider-ralf_{version}_SHA256SUMS")),
            format!("{:x}  {name}\n", Sha256::digest(&bytes)),
        )
        .unwrap();
        dir
    }

    #[test]
    fn content_hash_equals_the_h1_hash_terraform_records() {
        // `terraform providers lock -fs-mirror` (Terraform 1.11.4) over a packed mirror whose
        // archive holds one entry, terraform-provider-ralf_v1.2.3, containing "x", recorded
        // exactly this hash.
        let release = release_dir("1.2.3", b"x");
        let archives = read_release(release.path(), None).unwrap();
        assert_eq!(
            archives[0].content_hash,
            "h1:jq2LiOmVmcFtU+NtHtWb2UjS8sv+wEiZbbvNtkcwZ3s="
        );
    }

    #[test]
    fn unpacked_install_writes_the_executable_for_both_hostnames() {
        let release = release_dir("1.2.3", b"#!/bin/true\n");
        let mirror = tempfile::tempdir().unwrap();
        let installed = install(release.path(), mirror.path(), Layout::Unpacked, None).unwrap();
        for host in HOSTNAMES {
            let exe = mirror.path().join(format!(
                "{host}/ralf-homelab/ralf/1.2.3/linux_amd64/terraform-provider-ralf_v1.2.3"
            ));
            assert_eq!(std::fs::read(&exe).unwrap(), b"#!/bin/true\n");
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&exe).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        assert!(installed.archives[0].zip_hash.starts_with("zh:"));
        assert!(describe(&installed).contains("filesystem_mirror"));
    }

    #[test]
    fn packed_install_copies_the_archive_under_its_registry_name() {
        let release = release_dir("1.2.3", b"x");
        let mirror = tempfile::tempdir().unwrap();
        install(release.path(), mirror.path(), Layout::Packed, None).unwrap();
        for host in HOSTNAMES {
            assert!(mirror
                .path()
                .join(format!(
                    "{host}/ralf-homelab/ralf/terraform-provider-ralf_1.2.3_linux_amd64.zip"
                ))
                .is_file());
        }
    }

    #[test]
    fn network_layout_lists_the_version_and_both_hashes() {
        let release = release_dir("1.2.3", b"x");
        let mirror = tempfile::tempdir().unwrap();
        let installed = install(release.path(), mirror.path(), Layout::Network, None).unwrap();
        let dir = mirror
            .path()
            .join("registry.opentofu.org/ralf-homelab/ralf");
        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap())
                .unwrap();
        assert_eq!(index, serde_json::json!({"versions": {"1.2.3": {}}}));
        let version: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("1.2.3.json")).unwrap())
                .unwrap();
        let archive = &installed.archives[0];
        assert_eq!(
            version,
            serde_json::json!({"archives": {"linux_amd64": {
                "url": "terraform-provider-ralf_1.2.3_linux_amd64.zip",
                "hashes": [archive.content_hash, archive.zip_hash],
            }}})
        );
        assert!(dir
            .join("terraform-provider-ralf_1.2.3_linux_amd64.zip")
            .is_file());
    }

    #[test]
    fn an_archive_that_does_not_match_sha256sums_is_refused_before_anything_is_written() {
        let release = release_dir("1.2.3", b"x");
        std::fs::write(
            release
                .path()
                .join("terraform-provider-ralf_1.2.3_linux_amd64.zip"),
            b"truncated",
        )
        .unwrap();
        let mirror = tempfile::tempdir().unwrap();
        let error = install(release.path(), mirror.path(), Layout::Unpacked, None).unwrap_err();
        assert!(
            matches!(error, InstallError::ChecksumMismatch { .. }),
            "{error}"
        );
        assert_eq!(std::fs::read_dir(mirror.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_lock_entry_holds_both_hashes_sorted_as_terraform_writes_them() {
        let release = release_dir("1.2.3", b"x");
        let archives = read_release(release.path(), None).unwrap();
        let entry = lock_entry("registry.terraform.io", &archives, None);
        assert_eq!(
            entry.block,
            format!(
                "provider \"registry.terraform.io/ralf-homelab/ralf\" {{\n  version = \"1.2.3\"\n  hashes = [\n    \"h1:jq2LiOmVmcFtU+NtHtWb2UjS8sv+wEiZbbvNtkcwZ3s=\",\n    \"{}\",\n  ]\n}}\n",
                archives[0].zip_hash
            )
        );
        let constrained = lock_entry("registry.opentofu.org", &archives, Some("~> 1.2"));
        assert!(constrained
            .block
            .contains("  version     = \"1.2.3\"\n  constraints = \"~> 1.2\"\n"));
    }

    #[test]
    fn locking_replaces_our_entry_and_keeps_other_providers() {
        let release = release_dir("1.2.3", b"x");
        let archives = read_release(release.path(), None).unwrap();
        let entry = lock_entry("registry.terraform.io", &archives, None);
        let other = "provider \"registry.terraform.io/hashicorp/null\" {\n  version = \"3.2.1\"\n  hashes = [\n    \"h1:abc=\",\n  ]\n}\n";
        let stale = "provider \"registry.terraform.io/ralf-homelab/ralf\" {\n  version = \"1.0.0\"\n  hashes = [\n    \"h1:old=\",\n  ]\n}\n";
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(LOCK_FILE),
            format!("{LOCK_HEADER}\n{stale}\n{other}"),
        )
        .unwrap();
        write_lock_entry(dir.path(), &entry).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(text, format!("{LOCK_HEADER}\n{}\n{other}", entry.block));
        // Locking again changes nothing.
        write_lock_entry(dir.path(), &entry).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            text
        );
    }

    #[test]
    fn a_lock_file_that_is_not_hcl_is_left_alone_with_a_reason() {
        let release = release_dir("1.2.3", b"x");
        let archives = read_release(release.path(), None).unwrap();
        let entry = lock_entry("registry.terraform.io", &archives, None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "provider {{{").unwrap();
        let error = write_lock_entry(dir.path(), &entry).unwrap_err();
        assert!(matches!(error, InstallError::BadLockFile { .. }), "{error}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            "provider {{{"
        );
    }

    #[test]
    fn a_directory_without_a_release_says_how_to_make_one() {
        let empty = tempfile::tempdir().unwrap();
        let mirror = tempfile::tempdir().unwrap();
        let error = install(empty.path(), mirror.path(), Layout::Packed, None).unwrap_err();
        assert!(
            error.to_string().contains("cargo run -p ralf-release"),
            "{error}"
        );
    }

    #[test]
    fn asking_for_a_version_the_release_directory_lacks_names_the_versions_found() {
        let release = release_dir("1.2.3", b"x");
        let mirror = tempfile::tempdir().unwrap();
        let error =
            install(release.path(), mirror.path(), Layout::Packed, Some("9.9.9")).unwrap_err();
        assert!(error.to_string().contains("1.2.3"), "{error}");
    }
}
