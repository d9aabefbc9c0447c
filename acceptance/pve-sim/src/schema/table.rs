//! The parameter table itself: every API method the simulator knows, with its parameters as
//! Proxmox VE 9.1 declares them (names, types, formats, ranges, enums, required-ness).
//!
//! Notes on fidelity: the `description` parameters (CT config, snapshot create and snapshot
//! config) are included although the trimmed schema file the project compares against lacks
//! them (its trimming removed every key called `description`).

use super::MethodSchema;
use super::ParamSpec;
use super::ParamType::{Boolean, Integer, Number, String as Str};

/// The highest index of an indexed parameter family (`net[n]` → 31).
pub fn indexed_range(prefix: &str) -> u32 {
    match prefix {
        "net" => 31,
        "mp" | "unused" | "dev" => 255,
        _ => 0,
    }
}

fn node() -> ParamSpec {
    ParamSpec::new("node", Str).fmt("pve-node")
}

fn vmid() -> ParamSpec {
    ParamSpec::new("vmid", Integer)
        .fmt("pve-vmid")
        .min(100.0)
        .max(999_999_999.0)
}

fn snapname() -> ParamSpec {
    ParamSpec::new("snapname", Str)
        .fmt("pve-configid")
        .max_len(40)
}

fn storage() -> ParamSpec {
    ParamSpec::new("storage", Str).fmt("pve-storage-id")
}

fn upid() -> ParamSpec {
    ParamSpec::new("upid", Str)
}

fn volume() -> ParamSpec {
    ParamSpec::new("volume", Str)
}

fn bool_opt(name: &'static str) -> ParamSpec {
    ParamSpec::new(name, Boolean).opt()
}

const MOUNT_OPTIONS_RE: &str = r"(discard|lazytime|noatime|nodev|noexec|nosuid)(;(discard|lazytime|noatime|nodev|noexec|nosuid))*";

fn rootfs_keys() -> Vec<ParamSpec> {
    vec![
        bool_opt("acl"),
        ParamSpec::new("mountoptions", Str)
            .opt()
            .pattern(MOUNT_OPTIONS_RE),
        bool_opt("quota"),
        bool_opt("replicate"),
        bool_opt("ro"),
        bool_opt("shared"),
        ParamSpec::new("size", Str).opt().fmt("disk-size"),
        ParamSpec::new("volume", Str)
            .fmt("pve-lxc-mp-string")
            .default_key(),
    ]
}

fn mp_keys() -> Vec<ParamSpec> {
    let mut keys = rootfs_keys();
    keys.push(bool_opt("backup"));
    keys.push(bool_opt("keepattrs"));
    keys.push(ParamSpec::new("mp", Str).fmt("pve-lxc-mp-string"));
    keys.sort_by_key(|k| k.name);
    keys
}

fn net_keys() -> Vec<ParamSpec> {
    vec![
        ParamSpec::new("bridge", Str).opt().pattern(r"[-_.\w\d]+"),
        bool_opt("firewall"),
        ParamSpec::new("gw", Str).opt().fmt("ipv4"),
        ParamSpec::new("gw6", Str).opt().fmt("ipv6"),
        bool_opt("host-managed"),
        ParamSpec::new("hwaddr", Str).opt().fmt("mac-addr"),
        ParamSpec::new("ip", Str).opt().fmt("pve-ipv4-config"),
        ParamSpec::new("ip6", Str).opt().fmt("pve-ipv6-config"),
        bool_opt("link_down"),
        ParamSpec::new("mtu", Integer).opt().min(64.0).max(65535.0),
        ParamSpec::new("name", Str).pattern(r"[-_.\w\d]+"),
        ParamSpec::new("rate", Number).opt(),
        ParamSpec::new("tag", Integer).opt().min(1.0).max(4094.0),
        ParamSpec::new("trunks", Str).opt().pattern(r"\d+(?:;\d+)*"),
        ParamSpec::new("type", Str).opt().one_of(&["veth"]),
    ]
}

fn features_keys() -> Vec<ParamSpec> {
    vec![
        bool_opt("force_rw_sys"),
        bool_opt("fuse"),
        bool_opt("keyctl"),
        bool_opt("mknod"),
        ParamSpec::new("mount", Str)
            .opt()
            .pattern(r"[a-zA-Z0-9_; ]+"),
        bool_opt("nesting"),
    ]
}

fn dev_keys() -> Vec<ParamSpec> {
    vec![
        bool_opt("deny-write"),
        ParamSpec::new("gid", Integer).opt().min(0.0),
        ParamSpec::new("mode", Str).opt().pattern("0[0-7]{3}"),
        ParamSpec::new("path", Str)
            .opt()
            .fmt("pve-lxc-dev-string")
            .default_key(),
        ParamSpec::new("uid", Integer).opt().min(0.0),
    ]
}

fn unused_keys() -> Vec<ParamSpec> {
    vec![ParamSpec::new("volume", Str)
        .fmt("pve-volume-id")
        .default_key()]
}

const LOCKS: &[&str] = &[
    "backup",
    "create",
    "destroyed",
    "disk",
    "fstrim",
    "migrate",
    "mounted",
    "rollback",
    "snapshot",
    "snapshot-delete",
];

const OSTYPES: &[&str] = &[
    "debian",
    "devuan",
    "ubuntu",
    "centos",
    "fedora",
    "opensuse",
    "archlinux",
    "alpine",
    "gentoo",
    "nixos",
    "unmanaged",
];

/// No control characters besides tab (pve-container `src/PVE/LXC/Config.pm`, `entrypoint`).
const CTRL_CHARS_FREE: &str = r"[^\x00-\x08\x0a-\x1F\x7F]+";
const ENV_RE: &str = r"(?:\w+=[^\x00-\x08\x0a-\x1F\x7F]*)(?:\x00\w+=[^\x00-\x08\x0a-\x1F\x7F]*)*";

/// The options shared by container create and config update.
fn ct_options() -> Vec<ParamSpec> {
    vec![
        ParamSpec::new("arch", Str)
            .opt()
            .one_of(&["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]),
        ParamSpec::new("cmode", Str)
            .opt()
            .one_of(&["shell", "console", "tty"]),
        bool_opt("console"),
        ParamSpec::new("cores", Integer).opt().min(1.0).max(8192.0),
        ParamSpec::new("cpulimit", Number)
            .opt()
            .min(0.0)
            .max(8192.0),
        ParamSpec::new("cpuunits", Integer)
            .opt()
            .min(0.0)
            .max(500000.0),
        bool_opt("debug"),
        ParamSpec::new("description", Str).opt().max_len(8192),
        ParamSpec::new("dev[n]", Str).opt().props(dev_keys()),
        ParamSpec::new("entrypoint", Str)
            .opt()
            .pattern(CTRL_CHARS_FREE),
        ParamSpec::new("env", Str).opt().pattern(ENV_RE),
        ParamSpec::new("features", Str).opt().props(features_keys()),
        ParamSpec::new("hookscript", Str).opt().fmt("pve-volume-id"),
        ParamSpec::new("hostname", Str)
            .opt()
            .fmt("dns-name")
            .max_len(255),
        ParamSpec::new("lock", Str).opt().one_of(LOCKS),
        ParamSpec::new("memory", Integer).opt().min(16.0),
        ParamSpec::new("mp[n]", Str).opt().props(mp_keys()),
        ParamSpec::new("nameserver", Str)
            .opt()
            .fmt("lxc-ip-with-ll-iface-list"),
        ParamSpec::new("net[n]", Str).opt().props(net_keys()),
        bool_opt("onboot"),
        ParamSpec::new("ostype", Str).opt().one_of(OSTYPES),
        bool_opt("protection"),
        ParamSpec::new("rootfs", Str).opt().props(rootfs_keys()),
        ParamSpec::new("searchdomain", Str)
            .opt()
            .fmt("dns-name-list"),
        ParamSpec::new("startup", Str)
            .opt()
            .fmt("pve-startup-order"),
        ParamSpec::new("swap", Integer).opt().min(0.0),
        ParamSpec::new("tags", Str).opt().fmt("pve-tag-list"),
        bool_opt("template"),
        ParamSpec::new("timezone", Str).opt().fmt("pve-ct-timezone"),
        ParamSpec::new("tty", Integer).opt().min(0.0).max(6.0),
        bool_opt("unprivileged"),
        ParamSpec::new("unused[n]", Str).opt().props(unused_keys()),
    ]
}

fn create_params() -> Vec<ParamSpec> {
    let mut params = ct_options();
    params.extend([
        node(),
        vmid(),
        ParamSpec::new("bwlimit", Number).opt().min(0.0),
        bool_opt("force"),
        bool_opt("ha-managed"),
        bool_opt("ignore-unpack-errors"),
        ParamSpec::new("ostemplate", Str).max_len(255),
        ParamSpec::new("password", Str).opt().min_len(5),
        ParamSpec::new("pool", Str).opt().fmt("pve-poolid"),
        bool_opt("restore"),
        ParamSpec::new("ssh-public-keys", Str).opt(),
        bool_opt("start"),
        storage().opt(),
        bool_opt("unique").requires("restore"),
    ]);
    params
}

fn update_params() -> Vec<ParamSpec> {
    let mut params = ct_options();
    params.extend([
        node(),
        vmid(),
        ParamSpec::new("delete", Str).opt().fmt("pve-configid-list"),
        ParamSpec::new("digest", Str).opt().max_len(40),
        ParamSpec::new("revert", Str).opt().fmt("pve-configid-list"),
    ]);
    params
}

fn m(method: &'static str, path: &'static str, params: Vec<ParamSpec>) -> MethodSchema {
    MethodSchema {
        method,
        path,
        allow_token: true,
        params,
    }
}

/// Builds the table.
pub fn build() -> Vec<MethodSchema> {
    let mut ticket = m(
        "POST",
        "/access/ticket",
        vec![
            bool_opt("new-format"),
            ParamSpec::new("otp", Str).opt(),
            ParamSpec::new("password", Str),
            ParamSpec::new("path", Str)
                .opt()
                .max_len(64)
                .requires("privs"),
            ParamSpec::new("privs", Str)
                .opt()
                .fmt("pve-priv-list")
                .max_len(64)
                .requires("path"),
            ParamSpec::new("realm", Str)
                .opt()
                .fmt("pve-realm")
                .max_len(32),
            ParamSpec::new("tfa-challenge", Str).opt(),
            ParamSpec::new("username", Str).max_len(64),
        ],
    );
    ticket.allow_token = false;
    vec![
        m("GET", "/access/ticket", vec![]),
        ticket,
        m("GET", "/cluster/nextid", vec![vmid().opt()]),
        m(
            "GET",
            "/cluster/resources",
            vec![ParamSpec::new("type", Str)
                .opt()
                .one_of(&["vm", "storage", "node", "sdn"])],
        ),
        m("GET", "/nodes", vec![]),
        m("GET", "/nodes/{node}", vec![node()]),
        m("GET", "/nodes/{node}/aplinfo", vec![node()]),
        m(
            "POST",
            "/nodes/{node}/aplinfo",
            vec![
                node(),
                storage(),
                ParamSpec::new("template", Str).max_len(255),
            ],
        ),
        m("GET", "/nodes/{node}/lxc", vec![node()]),
        m("POST", "/nodes/{node}/lxc", create_params()),
        m(
            "DELETE",
            "/nodes/{node}/lxc/{vmid}",
            vec![
                bool_opt("destroy-unreferenced-disks"),
                bool_opt("force"),
                node(),
                bool_opt("purge"),
                vmid(),
            ],
        ),
        m("GET", "/nodes/{node}/lxc/{vmid}", vec![node(), vmid()]),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/config",
            vec![
                bool_opt("current"),
                node(),
                ParamSpec::new("snapshot", Str)
                    .opt()
                    .fmt("pve-configid")
                    .max_len(40),
                vmid(),
            ],
        ),
        m("PUT", "/nodes/{node}/lxc/{vmid}/config", update_params()),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/interfaces",
            vec![node(), vmid()],
        ),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/pending",
            vec![node(), vmid()],
        ),
        m(
            "PUT",
            "/nodes/{node}/lxc/{vmid}/resize",
            vec![
                ParamSpec::new("digest", Str).opt().max_len(40),
                ParamSpec::new("disk", Str).one_of(disk_names()),
                node(),
                ParamSpec::new("size", Str).pattern(r"\+?\d+(\.\d+)?[KMGT]?"),
                vmid(),
            ],
        ),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/snapshot",
            vec![node(), vmid()],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/snapshot",
            vec![
                ParamSpec::new("description", Str).opt(),
                node(),
                snapname(),
                vmid(),
            ],
        ),
        m(
            "DELETE",
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
            vec![bool_opt("force"), node(), snapname(), vmid()],
        ),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
            vec![node(), snapname(), vmid()],
        ),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config",
            vec![node(), snapname(), vmid()],
        ),
        m(
            "PUT",
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config",
            vec![
                ParamSpec::new("description", Str).opt(),
                node(),
                snapname(),
                vmid(),
            ],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback",
            vec![node(), snapname(), bool_opt("start"), vmid()],
        ),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/status",
            vec![node(), vmid()],
        ),
        m(
            "GET",
            "/nodes/{node}/lxc/{vmid}/status/current",
            vec![node(), vmid()],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/reboot",
            vec![
                node(),
                ParamSpec::new("timeout", Integer).opt().min(0.0),
                vmid(),
            ],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/resume",
            vec![node(), vmid()],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/shutdown",
            vec![
                bool_opt("forceStop"),
                node(),
                ParamSpec::new("timeout", Integer).opt().min(0.0),
                vmid(),
            ],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/start",
            vec![bool_opt("debug"), node(), bool_opt("skiplock"), vmid()],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/stop",
            vec![
                node(),
                bool_opt("overrule-shutdown"),
                bool_opt("skiplock"),
                vmid(),
            ],
        ),
        m(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/suspend",
            vec![node(), vmid()],
        ),
        m("GET", "/nodes/{node}/status", vec![node()]),
        m(
            "POST",
            "/nodes/{node}/status",
            vec![
                ParamSpec::new("command", Str).one_of(&["reboot", "shutdown"]),
                node(),
            ],
        ),
        m(
            "GET",
            "/nodes/{node}/storage",
            vec![
                ParamSpec::new("content", Str)
                    .opt()
                    .fmt("pve-storage-content-list"),
                bool_opt("enabled"),
                bool_opt("format"),
                node(),
                storage().opt(),
                ParamSpec::new("target", Str).opt().fmt("pve-node"),
            ],
        ),
        m(
            "GET",
            "/nodes/{node}/storage/{storage}",
            vec![node(), storage()],
        ),
        m(
            "GET",
            "/nodes/{node}/storage/{storage}/content",
            vec![
                ParamSpec::new("content", Str)
                    .opt()
                    .fmt("pve-storage-content"),
                node(),
                storage(),
                vmid().opt(),
            ],
        ),
        m(
            "POST",
            "/nodes/{node}/storage/{storage}/content",
            vec![
                ParamSpec::new("filename", Str),
                ParamSpec::new("format", Str)
                    .opt()
                    .one_of(&["raw", "qcow2", "subvol", "vmdk"])
                    .requires("size"),
                node(),
                ParamSpec::new("size", Str).pattern(r"\d+[MG]?"),
                storage(),
                vmid(),
            ],
        ),
        m(
            "DELETE",
            "/nodes/{node}/storage/{storage}/content/{volume}",
            vec![
                ParamSpec::new("delay", Integer).opt().min(1.0).max(30.0),
                node(),
                storage().opt(),
                volume(),
            ],
        ),
        m(
            "GET",
            "/nodes/{node}/storage/{storage}/content/{volume}",
            vec![node(), storage().opt(), volume()],
        ),
        m(
            "POST",
            "/nodes/{node}/storage/{storage}/content/{volume}",
            vec![
                node(),
                storage().opt(),
                ParamSpec::new("target", Str),
                ParamSpec::new("target_node", Str).opt().fmt("pve-node"),
                volume(),
            ],
        ),
        m(
            "PUT",
            "/nodes/{node}/storage/{storage}/content/{volume}",
            vec![
                node(),
                ParamSpec::new("notes", Str).opt(),
                bool_opt("protected"),
                storage().opt(),
                volume(),
            ],
        ),
        m(
            "GET",
            "/nodes/{node}/storage/{storage}/status",
            vec![node(), storage()],
        ),
        m(
            "GET",
            "/nodes/{node}/tasks",
            vec![
                bool_opt("errors"),
                ParamSpec::new("limit", Integer).opt().min(0.0),
                node(),
                ParamSpec::new("since", Integer).opt(),
                ParamSpec::new("source", Str)
                    .opt()
                    .one_of(&["archive", "active", "all"]),
                ParamSpec::new("start", Integer).opt().min(0.0),
                ParamSpec::new("statusfilter", Str)
                    .opt()
                    .fmt("pve-task-status-type-list"),
                ParamSpec::new("typefilter", Str).opt(),
                ParamSpec::new("until", Integer).opt(),
                ParamSpec::new("userfilter", Str).opt(),
                vmid().opt(),
            ],
        ),
        m("DELETE", "/nodes/{node}/tasks/{upid}", vec![node(), upid()]),
        m("GET", "/nodes/{node}/tasks/{upid}", vec![node(), upid()]),
        m(
            "GET",
            "/nodes/{node}/tasks/{upid}/log",
            vec![
                bool_opt("download"),
                ParamSpec::new("limit", Integer).opt().min(0.0),
                node(),
                ParamSpec::new("start", Integer).opt().min(0.0),
                upid(),
            ],
        ),
        m(
            "GET",
            "/nodes/{node}/tasks/{upid}/status",
            vec![node(), upid()],
        ),
        m("GET", "/version", vec![]),
    ]
}

fn disk_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = vec!["rootfs"];
        for i in 0..=255u32 {
            names.push(Box::leak(format!("mp{i}").into_boxed_str()));
        }
        names
    })
}
