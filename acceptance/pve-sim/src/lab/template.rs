//! Lab templates: Debian bookworm root filesystems built with debootstrap (systemd,
//! openssh-server and python3, so Ansible can manage them), packed as vztmpl tarballs named
//! like Proxmox's (`<os>-<release>-<flavour>_<version>_<arch>.tar.zst`) in a cache directory,
//! and reused from there once built. The flavour `ralflab` says honestly that this is not
//! Proxmox's `standard` template.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::process::{check_blocking, which};
use super::LabError;
use crate::cluster::storage::Template;

/// The file name of the lab's Debian 12 template.
pub const LAB_TEMPLATE: &str = "debian-12-ralflab_12.0-1_amd64.tar.zst";
/// The Debian mirror debootstrap uses unless told otherwise.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
/// Packages on top of debootstrap's minbase: init, SSH, Ansible's python, and the tools
/// the network setup and the smoke checks need.
const PACKAGES: &str =
    "systemd,systemd-sysv,dbus,openssh-server,python3,ifupdown,iproute2,iputils-ping,procps";

/// The templates in `dir`, as `local:vztmpl/...` volumes.
pub fn list(dir: &Path) -> Vec<Template> {
    let mut out: Vec<Template> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let packed = [".tar.zst", ".tar.gz", ".tar.xz"]
                .iter()
                .any(|ext| file.ends_with(ext));
            if !packed || file.starts_with('.') {
                return None;
            }
            let size = entry.metadata().ok()?.len();
            let ostype = file.split('-').next().unwrap_or("debian").to_string();
            Some(Template {
                volid: Cow::Owned(format!("local:vztmpl/{file}")),
                size,
                ostype: Cow::Owned(ostype),
            })
        })
        .collect();
    out.sort_by(|a, b| a.volid.cmp(&b.volid));
    out
}

/// The template extracted once next to its tarball (`.<file>.rootfs`), the read-only lower
/// layer every container from it shares.
pub(super) async fn extracted(tarball: &Path) -> Result<PathBuf, String> {
    let file = tarball
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = tarball.parent().unwrap_or(Path::new("."));
    let target = dir.join(format!(".{file}.rootfs"));
    if target.is_dir() {
        return Ok(target);
    }
    let partial = dir.join(format!(
        ".{file}.rootfs.partial-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let (tarball_arg, partial_arg) = (tarball.display().to_string(), partial.display().to_string());
    let extracted = super::process::check(
        "tar",
        &[
            "-xpf",
            &tarball_arg,
            "--numeric-owner",
            "--xattrs",
            "-C",
            &partial_arg,
        ],
    )
    .await;
    if let Err(e) = extracted {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    if std::fs::rename(&partial, &target).is_err() {
        // Another create extracted it at the same time.
        let _ = std::fs::remove_dir_all(&partial);
    }
    if target.is_dir() {
        Ok(target)
    } else {
        Err(format!(
            "cannot extract {} to {}",
            tarball.display(),
            target.display()
        ))
    }
}

/// What `prepare` did.
#[derive(Debug)]
pub struct Prepared {
    pub path: PathBuf,
    /// Found in the cache, not built.
    pub reused: bool,
    pub duration: Duration,
    pub size: u64,
}

/// Builds the lab template in `dir` unless it is there already.
pub fn prepare(dir: &Path, mirror: &str) -> Result<Prepared, LabError> {
    let started = Instant::now();
    let path = dir.join(LAB_TEMPLATE);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LabError::Io { path, source }
    };
    if let Ok(meta) = std::fs::metadata(&path) {
        return Ok(Prepared {
            path,
            reused: true,
            duration: started.elapsed(),
            size: meta.len(),
        });
    }
    for tool in ["debootstrap", "tar", "zstd", "chroot"] {
        if which(tool).is_none() {
            return Err(LabError::ToolMissing(tool));
        }
    }
    if !super::process::is_root() {
        return Err(LabError::NotRoot);
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let build = dir.join(format!(".build-{}", std::process::id()));
    let result = build_into(&build, &path, mirror);
    let _ = std::fs::remove_dir_all(&build);
    result?;
    let size = std::fs::metadata(&path).map_err(io(&path))?.len();
    Ok(Prepared {
        path,
        reused: false,
        duration: started.elapsed(),
        size,
    })
}

fn build_into(build: &Path, target: &Path, mirror: &str) -> Result<(), LabError> {
    let rootfs = build.join("rootfs");
    std::fs::create_dir_all(&rootfs).map_err(|source| LabError::Io {
        path: rootfs.clone(),
        source,
    })?;
    let rootfs_arg = rootfs.display().to_string();
    let include = format!("--include={PACKAGES}");
    eprintln!("lab: debootstrap bookworm from {mirror} into {rootfs_arg} (about a minute)");
    let output = std::process::Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &include,
            "bookworm",
            &rootfs_arg,
            mirror,
        ])
        .output()
        .map_err(|e| LabError::Command(format!("cannot run debootstrap: {e}")))?;
    if !output.status.success() {
        let log = String::from_utf8_lossy(&output.stdout);
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        return Err(LabError::Command(format!(
            "debootstrap failed ({}); its last lines:\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    customise(&rootfs)?;
    let packed = build.join(LAB_TEMPLATE);
    let packed_arg = packed.display().to_string();
    check_blocking(
        "tar",
        &[
            "--zstd",
            "--numeric-owner",
            "--xattrs",
            "-cpf",
            &packed_arg,
            "-C",
            &rootfs_arg,
            ".",
        ],
    )
    .map_err(LabError::Command)?;
    // A rebuilt template replaces the extracted copy of the old one.
    if let (Some(dir), Some(file)) = (target.parent(), target.file_name()) {
        let _ = std::fs::remove_dir_all(dir.join(format!(".{}.rootfs", file.to_string_lossy())));
    }
    std::fs::rename(&packed, target).map_err(|source| LabError::Io {
        path: target.to_path_buf(),
        source,
    })
}

/// Makes the debootstrapped tree a template: no identity of its own (machine-id and SSH host
/// keys are made per container), no package caches, a loopback-only network config.
fn customise(rootfs: &Path) -> Result<(), LabError> {
    let write = |rel: &str, text: &str| {
        let path = rootfs.join(rel);
        std::fs::write(&path, text).map_err(|source| LabError::Io { path, source })
    };
    write("etc/machine-id", "")?;
    write("etc/hostname", "localhost\n")?;
    write(
        "etc/network/interfaces",
        "auto lo\niface lo inet loopback\n",
    )?;
    write(
        "etc/pve-sim-lab-template",
        "Debian 12 (bookworm) lab template built by `pve-sim lab prepare` with debootstrap.\n",
    )?;
    let _ = std::fs::remove_file(rootfs.join("var/lib/dbus/machine-id"));
    for dir in ["etc/ssh"] {
        for entry in std::fs::read_dir(rootfs.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        for entry in std::fs::read_dir(rootfs.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.is_file() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_listed_as_vztmpl_volumes_with_their_os() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LAB_TEMPLATE), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        std::fs::write(dir.path().join(".half-built.tar.zst"), b"x").unwrap();
        let list = list(dir.path());
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].volid,
            "local:vztmpl/debian-12-ralflab_12.0-1_amd64.tar.zst"
        );
        assert_eq!(list[0].ostype, "debian");
        assert_eq!(list[0].size, 1);
    }

    #[test]
    fn a_template_in_the_cache_is_reused_not_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LAB_TEMPLATE), b"built before").unwrap();
        let prepared = prepare(dir.path(), DEFAULT_MIRROR).unwrap();
        assert!(prepared.reused);
        assert_eq!(prepared.size, 12);
    }
}
