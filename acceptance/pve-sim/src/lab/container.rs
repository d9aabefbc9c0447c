//! One lab container on disk and in LXC: `<dir>/<vmid>/config` (the LXC config written from
//! the Proxmox config before every start, as `pct start` does), `<dir>/<vmid>/rootfs` (the
//! extracted template) and `<dir>/<vmid>/snapshots/<name>/` (copies of rootfs and config).
//! What Proxmox's `PVE::LXC::Setup::Debian` writes inside a container (hostname, hosts,
//! network interfaces, resolv.conf, SSH keys, root password, fresh SSH host keys and
//! machine-id) is written the same way here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::network::LabNetwork;
use super::process::{check, check_blocking, run};
use crate::backend::{CreateSpec, StopMode};
use crate::cluster::config::property_value;
use crate::pct::PctOutput;

/// How long a `shutdown` waits for the container's init before it is killed.
const SHUTDOWN_TIMEOUT_S: &str = "30";
/// How long `start` waits for LXC to report the container running.
const START_TIMEOUT_S: &str = "20";
/// The PATH commands run with inside a container.
const CONTAINER_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One `net[n]` option, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Net {
    /// `net0`, ...
    pub key: String,
    /// The interface name inside (`name=`).
    pub name: String,
    pub hwaddr: Option<String>,
    /// Static IPv4 address and prefix length.
    pub ip: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
}

/// Parses every `net[n]` of a config; refuses what the lab cannot give (DHCP, IPv6).
pub(super) fn parse_nets(conf: &BTreeMap<String, String>) -> Result<Vec<Net>, String> {
    let mut nets = Vec::new();
    for (key, value) in conf {
        let Some(n) = key.strip_prefix("net") else {
            continue;
        };
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let name = property_value(value, "name").unwrap_or_else(|| format!("eth{n}"));
        let ip = match property_value(value, "ip").as_deref() {
            None | Some("manual") => None,
            Some("dhcp") => {
                return Err(format!(
                    "{key}: ip=dhcp needs a DHCP server, and the lab has none: give a static address from the lab range"
                ))
            }
            Some(cidr) => {
                let (addr, prefix) = cidr
                    .split_once('/')
                    .ok_or_else(|| format!("{key}: ip '{cidr}' has no prefix length"))?;
                let addr: Ipv4Addr = addr
                    .parse()
                    .map_err(|_| format!("{key}: ip '{cidr}' is not an IPv4 address"))?;
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| *p <= 32)
                    .ok_or_else(|| format!("{key}: ip '{cidr}' has an invalid prefix length"))?;
                Some((addr, prefix))
            }
        };
        if property_value(value, "ip6").is_some_and(|v| v != "manual") {
            return Err(format!(
                "{key}: the lab gives containers IPv4 addresses only (remove ip6)"
            ));
        }
        let gateway = match property_value(value, "gw") {
            Some(gw) => Some(
                gw.parse()
                    .map_err(|_| format!("{key}: gw '{gw}' is not an IPv4 address"))?,
            ),
            None => None,
        };
        nets.push(Net {
            key: key.clone(),
            name,
            hwaddr: property_value(value, "hwaddr"),
            ip,
            gateway,
        });
    }
    Ok(nets)
}

pub(super) struct LabContainer {
    /// The LXC path (`lxc-start -P`).
    lxc_path: PathBuf,
    name: String,
    dir: PathBuf,
}

impl LabContainer {
    pub fn new(lxc_path: &Path, vmid: u32) -> LabContainer {
        let name = vmid.to_string();
        LabContainer {
            lxc_path: lxc_path.to_path_buf(),
            dir: lxc_path.join(&name),
            name,
        }
    }

    /// The container's own layer of its root filesystem (overlayfs upper directory over the
    /// shared, read-only extracted template): everything it changed, and all a snapshot copies.
    fn rootfs(&self) -> PathBuf {
        self.dir.join("delta")
    }

    /// The extracted template under the container's layer (recorded at create).
    fn lower(&self) -> Result<PathBuf, String> {
        let file = self.dir.join("lower");
        std::fs::read_to_string(&file)
            .map(|s| PathBuf::from(s.trim()))
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("config")
    }

    fn snapshot_dir(&self, name: &str) -> Result<PathBuf, String> {
        super::child(&self.dir.join("snapshots"), name)
    }

    fn lxc_args<'a>(&'a self, path: &'a str) -> [&'a str; 4] {
        ["-P", path, "-n", &self.name]
    }

    /// Makes the container's layer over the extracted template and applies the create-only
    /// settings inside (through a temporary overlay mount).
    pub async fn create(&self, lower: &Path, spec: &CreateSpec) -> Result<(), String> {
        if self.dir.exists() {
            return Err(format!("directory {} exists already", self.dir.display()));
        }
        for dir in [self.rootfs(), self.dir.join("olwork"), self.dir.join("mnt")] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        write_file(&self.dir.join("lower"), &lower.display().to_string())?;
        let mnt = self.dir.join("mnt");
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            self.rootfs().display(),
            self.dir.join("olwork").display()
        );
        let mnt_arg = mnt.display().to_string();
        check(
            "mount",
            &["-t", "overlay", "overlay", "-o", &options, &mnt_arg],
        )
        .await?;
        let inside = self.create_inside(&mnt, spec).await;
        let unmounted = check("umount", &[&mnt_arg]).await;
        let _ = std::fs::remove_dir(&mnt);
        inside?;
        unmounted?;
        let nets = parse_nets(&spec.conf)?;
        self.setup_inside(&spec.conf, &nets)
    }

    /// The create-only settings, written into the mounted root filesystem `rootfs`.
    async fn create_inside(&self, rootfs: &Path, spec: &CreateSpec) -> Result<(), String> {
        let rootfs_arg = rootfs.display().to_string();
        // Fresh identity per container, as Proxmox gives every new container.
        write_file(
            &rootfs.join("etc/machine-id"),
            &format!("{}\n", machine_id()),
        )?;
        for entry in std::fs::read_dir(rootfs.join("etc/ssh"))
            .into_iter()
            .flatten()
        {
            let entry = entry.map_err(|e| e.to_string())?;
            if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        // New host keys (ed25519 and ecdsa; RSA would add seconds to every create).
        for (kind, file) in [
            ("ed25519", "ssh_host_ed25519_key"),
            ("ecdsa", "ssh_host_ecdsa_key"),
        ] {
            let key = format!("/etc/ssh/{file}");
            check(
                "chroot",
                &[
                    &rootfs_arg,
                    "/usr/bin/ssh-keygen",
                    "-q",
                    "-t",
                    kind,
                    "-N",
                    "",
                    "-f",
                    &key,
                ],
            )
            .await?;
        }
        if let Some(keys) = &spec.ssh_public_keys {
            let ssh_dir = rootfs.join("root/.ssh");
            std::fs::create_dir_all(&ssh_dir)
                .map_err(|e| format!("cannot create {}: {e}", ssh_dir.display()))?;
            set_mode(&ssh_dir, 0o700)?;
            let file = ssh_dir.join("authorized_keys");
            let mut text = keys.trim_end().to_string();
            text.push('\n');
            write_file(&file, &text)?;
            set_mode(&file, 0o600)?;
        }
        if let Some(password) = &spec.password {
            let ran = run(
                "chroot",
                &[&rootfs_arg, "/usr/sbin/chpasswd"],
                Some(&format!("root:{password}\n")),
            )
            .await?;
            if ran.code != Some(0) {
                // The password itself is never part of the message.
                return Err(format!(
                    "setting the root password failed: {}",
                    ran.stderr.trim()
                ));
            }
        }
        Ok(())
    }

    /// Writes the LXC config from the Proxmox config (before every start).
    pub fn write_config(
        &self,
        conf: &BTreeMap<String, String>,
        nets: &[Net],
        network: &LabNetwork,
    ) -> Result<(), String> {
        let mut text = String::new();
        let hostname = hostname(conf, &self.name);
        let _ = writeln!(
            text,
            "# Written by pve-sim's lab from the container's Proxmox config."
        );
        let _ = writeln!(
            text,
            "lxc.include = /usr/share/lxc/config/debian.common.conf"
        );
        let _ = writeln!(text, "lxc.apparmor.profile = unconfined");
        let _ = writeln!(text, "lxc.arch = amd64");
        let _ = writeln!(text, "lxc.uts.name = {hostname}");
        let _ = writeln!(
            text,
            "lxc.rootfs.path = overlay:{}:{}",
            self.lower()?.display(),
            self.rootfs().display()
        );
        // systemd powers off on SIGRTMIN+3 (lxc-stop's default, SIGPWR, does not).
        let _ = writeln!(text, "lxc.signal.halt = SIGRTMIN+3");
        for (i, net) in nets.iter().enumerate() {
            let n = net.key.trim_start_matches("net");
            let _ = writeln!(text, "lxc.net.{i}.type = veth");
            let _ = writeln!(text, "lxc.net.{i}.link = {}", network.bridge);
            let _ = writeln!(text, "lxc.net.{i}.flags = up");
            let _ = writeln!(text, "lxc.net.{i}.name = {}", net.name);
            // Proxmox names the host side veth<vmid>i<n>.
            let _ = writeln!(text, "lxc.net.{i}.veth.pair = veth{}i{n}", self.name);
            if let Some(hwaddr) = &net.hwaddr {
                let _ = writeln!(text, "lxc.net.{i}.hwaddr = {hwaddr}");
            }
        }
        write_file(&self.config_path(), &text)
    }

    /// Writes hostname, hosts, network interfaces and DNS inside, as Proxmox's Debian setup
    /// does before every start.
    pub fn setup_inside(
        &self,
        conf: &BTreeMap<String, String>,
        nets: &[Net],
    ) -> Result<(), String> {
        let rootfs = self.rootfs();
        let hostname = hostname(conf, &self.name);
        write_file(&rootfs.join("etc/hostname"), &format!("{hostname}\n"))?;
        let mut hosts =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        match nets.iter().find_map(|n| n.ip) {
            Some((addr, _)) => {
                let _ = writeln!(hosts, "{addr}\t{hostname}");
            }
            None => {
                let _ = writeln!(hosts, "127.0.1.1\t{hostname}");
            }
        }
        write_file(&rootfs.join("etc/hosts"), &hosts)?;
        let mut interfaces = String::from("auto lo\niface lo inet loopback\n");
        for net in nets {
            match net.ip {
                Some((addr, prefix)) => {
                    let _ = write!(
                        interfaces,
                        "\nauto {name}\niface {name} inet static\n\taddress {addr}/{prefix}\n",
                        name = net.name
                    );
                    if let Some(gw) = net.gateway {
                        let _ = writeln!(interfaces, "\tgateway {gw}");
                    }
                }
                None => {
                    let _ = write!(
                        interfaces,
                        "\nauto {name}\niface {name} inet manual\n",
                        name = net.name
                    );
                }
            }
        }
        write_file(&rootfs.join("etc/network/interfaces"), &interfaces)?;
        let mut resolv = String::new();
        if let Some(domain) = conf.get("searchdomain") {
            let _ = writeln!(resolv, "search {domain}");
        }
        for server in conf
            .get("nameserver")
            .into_iter()
            .flat_map(|s| s.split_whitespace())
        {
            let _ = writeln!(resolv, "nameserver {server}");
        }
        if !resolv.is_empty() {
            let path = rootfs.join("etc/resolv.conf");
            let _ = std::fs::remove_file(&path);
            write_file(&path, &resolv)?;
        }
        Ok(())
    }

    pub async fn start(&self) -> Result<(), String> {
        let path = self.lxc_path.display().to_string();
        let args = self.lxc_args(&path);
        check("lxc-start", &args).await?;
        let mut wait = args.to_vec();
        wait.extend(["-s", "RUNNING", "-t", START_TIMEOUT_S]);
        check("lxc-wait", &wait).await?;
        Ok(())
    }

    /// Whether LXC reports the container running.
    async fn running(&self) -> bool {
        let path = self.lxc_path.display().to_string();
        let mut args = self.lxc_args(&path).to_vec();
        args.extend(["-s", "-H"]);
        matches!(check("lxc-info", &args).await, Ok(out) if out.contains("RUNNING"))
    }

    /// Stops the container; a container that is not running is left alone.
    pub async fn stop(&self, mode: StopMode) -> Result<(), String> {
        if !self.dir.exists() || !self.running().await {
            return Ok(());
        }
        let path = self.lxc_path.display().to_string();
        let mut args = self.lxc_args(&path).to_vec();
        match mode {
            StopMode::Kill => args.push("-k"),
            StopMode::Shutdown => args.extend(["-t", SHUTDOWN_TIMEOUT_S]),
        }
        check("lxc-stop", &args).await.map(|_| ())
    }

    /// Deletes the container's directory (it must be stopped).
    pub async fn remove(&self) {
        if let Err(e) = remove_dir(&self.dir).await {
            tracing::error!("lab: {e}");
        }
    }

    /// Copies rootfs and config to `snapshots/<name>/`.
    pub async fn snapshot(&self, name: &str) -> Result<(), String> {
        let target = self.snapshot_dir(name)?;
        if target.exists() {
            remove_dir(&target).await?;
        }
        std::fs::create_dir_all(&target)
            .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
        copy_tree(&self.rootfs(), &target.join("delta")).await?;
        if self.config_path().is_file() {
            std::fs::copy(self.config_path(), target.join("config"))
                .map_err(|e| format!("cannot copy the config to {}: {e}", target.display()))?;
        }
        Ok(())
    }

    /// Replaces rootfs and config by the snapshot's copies (the container is stopped).
    pub async fn rollback(&self, name: &str) -> Result<(), String> {
        let source = self.snapshot_dir(name)?;
        if !source.join("delta").is_dir() {
            return Err(format!(
                "the lab holds no root filesystem for snapshot '{name}'"
            ));
        }
        remove_dir(&self.rootfs()).await?;
        copy_tree(&source.join("delta"), &self.rootfs()).await?;
        if source.join("config").is_file() {
            std::fs::copy(source.join("config"), self.config_path())
                .map_err(|e| format!("cannot restore the config: {e}"))?;
        }
        Ok(())
    }

    pub async fn delete_snapshot(&self, name: &str) -> Result<(), String> {
        let dir = self.snapshot_dir(name)?;
        if dir.exists() {
            remove_dir(&dir).await?;
        }
        Ok(())
    }

    /// `pct exec`: `lxc-attach` with a clean environment.
    pub async fn exec(&self, command: &[String]) -> Result<PctOutput, String> {
        if command.is_empty() {
            return Err("missing command".to_string());
        }
        if !self.running().await {
            return Err(format!("CT {} not running", self.name));
        }
        let path = self.lxc_path.display().to_string();
        let mut args = self.lxc_args(&path).to_vec();
        args.extend(["--clear-env", "--set-var", CONTAINER_PATH, "--"]);
        args.extend(command.iter().map(String::as_str));
        let ran = run("lxc-attach", &args, None).await?;
        Ok(PctOutput {
            stdout: ran.stdout,
            stderr: ran.stderr,
            code: ran.code.unwrap_or(255),
        })
    }
}

fn hostname(conf: &BTreeMap<String, String>, vmid: &str) -> String {
    conf.get("hostname")
        .cloned()
        .unwrap_or_else(|| format!("CT{vmid}"))
}

/// Stops and removes every container under `lxc_path` (blocking; for reset and exit). All are
/// killed first, so every address goes silent at once; then their directories (rootfs and
/// snapshots, hundreds of MiB each) are removed on one thread per container.
pub(super) fn remove_all(lxc_path: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(lxc_path) else {
        return Vec::new();
    };
    let containers: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let path = lxc_path.display().to_string();
    std::thread::scope(|scope| {
        for (name, _) in &containers {
            let path = &path;
            scope.spawn(move || {
                let _ = check_blocking("lxc-stop", &["-P", path, "-n", name, "-k"]);
            });
        }
    });
    std::thread::scope(|scope| {
        for (_, dir) in &containers {
            scope.spawn(move || {
                if let Err(e) = std::fs::remove_dir_all(dir) {
                    tracing::error!("lab: cannot remove {}: {e}", dir.display());
                }
            });
        }
    });
    containers
        .into_iter()
        .map(|(name, _)| format!("container {name}"))
        .collect()
}

async fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let (from, to) = (from.display().to_string(), to.display().to_string());
    check("cp", &["-a", "--reflink=auto", &from, &to])
        .await
        .map(|_| ())
}

async fn remove_dir(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return Ok(());
    }
    let dir = dir.display().to_string();
    check("rm", &["-rf", "--one-file-system", &dir])
        .await
        .map(|_| ())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    // A symlink inside the rootfs must not redirect the write onto the host.
    if path.is_symlink() {
        std::fs::remove_file(path)
            .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))
}

fn machine_id() -> String {
    (0..16)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn net0_gives_name_address_gateway_and_mac() {
        let nets = parse_nets(&conf(&[(
            "net0",
            "name=eth0,bridge=vmbr0,gw=198.18.0.1,hwaddr=BC:24:11:00:00:01,ip=198.18.20.20/15,type=veth",
        )]))
        .unwrap();
        assert_eq!(
            nets,
            vec![Net {
                key: "net0".into(),
                name: "eth0".into(),
                hwaddr: Some("BC:24:11:00:00:01".into()),
                ip: Some((Ipv4Addr::new(198, 18, 20, 20), 15)),
                gateway: Some(Ipv4Addr::new(198, 18, 0, 1)),
            }]
        );
    }

    #[test]
    fn dhcp_and_ipv6_are_refused_with_what_to_do() {
        let err = parse_nets(&conf(&[("net0", "name=eth0,bridge=vmbr0,ip=dhcp")])).unwrap_err();
        assert!(err.contains("DHCP server"), "{err}");
        let err = parse_nets(&conf(&[(
            "net0",
            "name=eth0,bridge=vmbr0,ip=198.18.0.5/15,ip6=auto",
        )]))
        .unwrap_err();
        assert!(err.contains("IPv4 addresses only"), "{err}");
    }

    #[test]
    fn setup_writes_hostname_hosts_interfaces_and_dns_like_proxmox() {
        let dir = tempfile::tempdir().unwrap();
        let ct = LabContainer::new(dir.path(), 2020);
        let conf = conf(&[
            ("hostname", "gitea"),
            ("nameserver", "198.18.0.1"),
            ("searchdomain", "lab.arpa"),
            (
                "net0",
                "name=eth0,bridge=vmbr0,gw=198.18.0.1,ip=198.18.20.20/15",
            ),
        ]);
        let nets = parse_nets(&conf).unwrap();
        ct.setup_inside(&conf, &nets).unwrap();
        let read =
            |p: &str| std::fs::read_to_string(dir.path().join("2020/delta").join(p)).unwrap();
        assert_eq!(read("etc/hostname"), "gitea\n");
        assert!(read("etc/hosts").contains("198.18.20.20\tgitea\n"));
        assert_eq!(
            read("etc/network/interfaces"),
            "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n\taddress 198.18.20.20/15\n\tgateway 198.18.0.1\n"
        );
        assert_eq!(
            read("etc/resolv.conf"),
            "search lab.arpa\nnameserver 198.18.0.1\n"
        );
    }

    #[test]
    fn the_lxc_config_joins_every_net_to_the_lab_bridge() {
        let dir = tempfile::tempdir().unwrap();
        let ct = LabContainer::new(dir.path(), 2020);
        let conf = conf(&[
            ("hostname", "gitea"),
            (
                "net0",
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=198.18.20.20/15",
            ),
        ]);
        let nets = parse_nets(&conf).unwrap();
        std::fs::create_dir_all(dir.path().join("2020")).unwrap();
        std::fs::write(dir.path().join("2020/lower"), "/cache/.t.rootfs").unwrap();
        ct.write_config(&conf, &nets, &LabNetwork::default())
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("2020/config")).unwrap();
        assert!(text.contains("lxc.uts.name = gitea\n"), "{text}");
        assert!(text.contains("lxc.net.0.link = pvesimlab0\n"), "{text}");
        assert!(
            text.contains("lxc.net.0.veth.pair = veth2020i0\n"),
            "{text}"
        );
        assert!(
            text.contains("lxc.net.0.hwaddr = BC:24:11:00:00:01\n"),
            "{text}"
        );
        assert!(
            !text.contains("ipv4"),
            "addresses are set inside, not by LXC:\n{text}"
        );
    }
}
