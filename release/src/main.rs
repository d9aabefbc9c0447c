//! `ralf-release`: the one command that makes a release (`cargo run -p ralf-release`).
//!
//! It builds `terraform-provider-ralf`, `ralf` and `pve-sim` as static x86_64 Linux executables
//! (glibc linked in with `+crt-static`: no loader, no shared libraries, so they start on musl
//! systems such as Alpine too) and writes into `dist/` the files a provider release on the public
//! registries consists of:
//!
//! - `terraform-provider-ralf_<version>_linux_amd64.zip` holding `terraform-provider-ralf_v<version>`;
//! - `terraform-provider-ralf_<version>_manifest.json` (`protocol_versions: ["6.0"]`);
//! - `terraform-provider-ralf_<version>_SHA256SUMS` over every file it writes;
//! - `ralf_<version>_linux_amd64.zip` and `pve-sim_<version>_linux_amd64.zip`.
//!
//! Archives are deterministic (fixed entry times and modes, one entry each), so the same binaries
//! give byte-identical archives and the same `zh:` hash on every machine. Installing from these
//! files is `ralf provider install` (runner/src/install.rs). This tool knows nothing of mirrors.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};
use clap::Parser;
use sha2::{Digest, Sha256};

/// The only target this repository's toolchain builds for; see docs/guides/installing.md for
/// other targets.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Terraform's name for the same platform.
const PLATFORM: &str = "linux_amd64";
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Parser, Debug)]
#[command(
    name = "ralf-release",
    version,
    about = "Build static release binaries and write the release archives, SHA256SUMS and manifest into dist/"
)]
struct Cli {
    /// Where to write the release files (existing files of the same names are replaced).
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// Cargo profile to build with: `dist` (optimised, stripped) for releases; `dist-check`
    /// (unoptimised, stripped) is what the acceptance test uses to keep CI time bounded.
    #[arg(long, default_value = "dist")]
    profile: String,
}

/// One binary of the release and the archive it ships in.
struct Artifact {
    /// Name cargo builds.
    binary: &'static str,
    /// Archive base name (`<base>_<version>_linux_amd64.zip`).
    archive_base: &'static str,
    /// Name of the executable inside the archive.
    entry: String,
}

fn artifacts() -> Vec<Artifact> {
    vec![
        Artifact {
            binary: "terraform-provider-ralf",
            archive_base: "terraform-provider-ralf",
            // Terraform's provider naming: terraform-provider-<TYPE>_v<VERSION>.
            entry: format!("terraform-provider-ralf_v{VERSION}"),
        },
        Artifact {
            binary: "ralf",
            archive_base: "ralf",
            entry: "ralf".to_string(),
        },
        Artifact {
            binary: "pve-sim",
            archive_base: "pve-sim",
            entry: "pve-sim".to_string(),
        },
    ]
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    let out = if cli.out.is_absolute() {
        cli.out.clone()
    } else {
        std::env::current_dir()?.join(&cli.out)
    };
    let bin_dir = build(&root, &cli.profile)?;
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;

    let mut written = Vec::new();
    for artifact in artifacts() {
        let binary = bin_dir.join(artifact.binary);
        check_static(&binary)?;
        let name = format!("{}_{VERSION}_{PLATFORM}.zip", artifact.archive_base);
        write_zip(&out.join(&name), &artifact.entry, &binary)?;
        written.push(name);
    }
    let manifest = format!("terraform-provider-ralf_{VERSION}_manifest.json");
    let manifest_json = serde_json::json!({
        "version": 1,
        "metadata": { "protocol_versions": ["6.0"] }
    });
    std::fs::write(
        out.join(&manifest),
        format!("{}\n", serde_json::to_string_pretty(&manifest_json)?),
    )
    .with_context(|| format!("cannot write {manifest}"))?;
    written.push(manifest);

    let sums_name = format!("terraform-provider-ralf_{VERSION}_SHA256SUMS");
    let mut sums = String::new();
    for name in &written {
        let bytes = std::fs::read(out.join(name))?;
        sums.push_str(&format!("{:x}  {name}\n", Sha256::digest(&bytes)));
    }
    std::fs::write(out.join(&sums_name), &sums)
        .with_context(|| format!("cannot write {sums_name}"))?;
    written.push(sums_name);

    println!(
        "Release {VERSION} ({PLATFORM}, static) in {}:",
        out.display()
    );
    for name in &written {
        println!("  {name}");
    }
    println!(
        "Install it without a registry: ralf provider install --from {} --help",
        out.display()
    );
    Ok(())
}

/// The workspace root: this crate lives in `<root>/release`.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Builds the three binaries statically and returns the directory holding them.
///
/// `--target` is given explicitly so that the static-linking flags reach only the target
/// artifacts, not build scripts and proc-macros (which cannot be static). Paths of the workspace
/// and of cargo's registry are remapped, so binaries built from the same sources with the same
/// toolchain do not differ by where they were built.
fn build(root: &Path, profile: &str) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut rustflags = vec![
        "-C target-feature=+crt-static".to_string(),
        format!("--remap-path-prefix={}=/ralf", root.display()),
    ];
    if let Some(home) = cargo_home {
        rustflags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    let env_name = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        TARGET.to_uppercase().replace('-', "_")
    );
    let status = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "--target",
            TARGET,
            "--profile",
            profile,
        ])
        .args([
            "-p",
            "terraform-provider-ralf",
            "-p",
            "ralf-runner",
            "-p",
            "pve-sim",
        ])
        .arg("--bins")
        .env(&env_name, rustflags.join(" "))
        .status()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    if !status.success() {
        bail!("the static release build failed ({status}); see cargo's output above");
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir.join(TARGET).join(profile))
}

/// Fails unless `binary` is an ELF executable without a program interpreter (`PT_INTERP`), i.e.
/// one the kernel starts without a dynamic loader or shared libraries.
fn check_static(binary: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(binary)
        .with_context(|| format!("cannot read the built binary {}", binary.display()))?;
    match elf_has_interpreter(&bytes) {
        Some(false) => Ok(()),
        Some(true) => bail!(
            "{} needs a dynamic loader: it was not linked statically (is RUSTFLAGS set in the \
             environment? it overrides the target's static-linking flags)",
            binary.display()
        ),
        None => bail!("{} is not a 64-bit ELF executable", binary.display()),
    }
}

/// Whether a 64-bit little-endian ELF file has a `PT_INTERP` program header; `None` when the
/// bytes are not such a file.
fn elf_has_interpreter(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    for index in 0..phnum {
        if u32_at(phoff + index * phentsize)? == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

/// Writes a zip holding one executable entry with a fixed time (zip's epoch, 1980-01-01) and
/// mode 0755, so equal binaries give equal archives.
fn write_zip(path: &Path, entry: &str, binary: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(binary)
        .with_context(|| format!("cannot read the built binary {}", binary.display()))?;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    zip.start_file(entry, options)
        .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
        .and_then(|()| zip.finish().map(drop))
        .with_context(|| format!("cannot write the archive {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamically_linked_executable_is_recognised_by_its_interpreter() {
        // The test binary itself is linked dynamically (the default for this target).
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_has_interpreter(&bytes), Some(true));
    }

    #[test]
    fn a_file_that_is_not_elf_is_refused() {
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(elf_has_interpreter(b"\x7fELF\x02\x01"), None);
    }

    #[test]
    fn archives_of_the_same_binary_are_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let binary = dir.join("bin");
        std::fs::write(&binary, b"not really a binary").unwrap();
        write_zip(&dir.join("a.zip"), "entry", &binary).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write_zip(&dir.join("b.zip"), "entry", &binary).unwrap();
        assert_eq!(
            std::fs::read(dir.join("a.zip")).unwrap(),
            std::fs::read(dir.join("b.zip")).unwrap()
        );
    }
}
