//! `ralf inventory`: the Ansible inventory of a deployed tree, from its units' outputs. Writes
//! `hosts.yml` (a YAML inventory: one group per service group, per host `ansible_host`,
//! `ralf_zone`, `ralf_role`, `ralf_ct_id`) and `runtime.env` (`<SERVICE>_IP`, `<SERVICE>_PORT`)
//! into `<tree>/ansible/inventory/`, after a successful apply.
//!
//! Outputs are read the way `dependency` blocks read them ([`crate::tf::TfEnv::fetch_outputs`]:
//! local state directly, any other backend through `output -json`). A unit is a host when it
//! has an `address` output; the others (the gatekeeper) are not. Knows nothing of Proxmox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl::Value;

use crate::config::eval::EvalEnv;
use crate::tf::TfEnv;

/// Where the files go below the tree, unless told otherwise.
pub const DEFAULT_DIR: &str = "ansible/inventory";

#[derive(Debug, Clone)]
pub struct InventoryOptions {
    /// The tree (the directory `ralf run --all` runs in).
    pub working_dir: PathBuf,
    /// Where hosts.yml and runtime.env go; `None`: `<working_dir>/ansible/inventory`.
    pub out_dir: Option<PathBuf>,
    pub tf_path: Option<String>,
    /// Set for the units' configuration and for `output -json`.
    pub extra_env: Vec<(String, String)>,
}

/// One container of the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The inventory host name: the container's hostname.
    pub name: String,
    /// The service group (Ansible group): base, vault, ...
    pub group: String,
    pub address: String,
    pub port: Option<u64>,
    pub ct_id: u64,
    /// The stack's zone: what follows the last `-` of its directory (`fz` for `gitea-fz`).
    pub zone: String,
    /// The service, which names its playbook and role.
    pub role: String,
    /// The unit it comes from, e.g. `stacks/gitea-fz`.
    pub unit: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error("cannot read the outputs of {unit}: {message}")]
    Outputs { unit: String, message: String },
    #[error("{unit} has an `address` output but no usable `{output}` output ({why}): apply it with the current module, then run `ralf inventory` again")]
    MissingOutput {
        unit: String,
        output: &'static str,
        why: &'static str,
    },
    #[error("no unit under {} has outputs yet: run `ralf run --all apply` first, then `ralf inventory`", .0.display())]
    NothingDeployed(PathBuf),
    #[error("{first} and {second} both name host {host:?}: hostnames must be unique")]
    DuplicateHost {
        host: String,
        first: String,
        second: String,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `ralf inventory` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub hosts_yml: PathBuf,
    pub runtime_env: PathBuf,
    pub hosts: Vec<Host>,
    /// Units with no `address` output (not hosts, or not applied), by name.
    pub skipped: Vec<String>,
}

/// Reads every unit's outputs and turns those with an address into hosts, sorted by group and
/// name. Returns the hosts and the units that are not hosts.
pub fn collect(options: &InventoryOptions) -> Result<(Vec<Host>, Vec<String>), InventoryError> {
    let working_dir = crate::run::absolute(&options.working_dir);
    let env = Arc::new(EvalEnv {
        tf_command: "output".to_string(),
        extra_env: options.extra_env.clone(),
        ..EvalEnv::default()
    });
    let (graph, partials) = crate::run::load_graph(&working_dir, &env)?;
    let tf = TfEnv {
        tf_path: options
            .tf_path
            .clone()
            .unwrap_or_else(crate::tf::default_tf_path),
        extra_env: options.extra_env.clone(),
        env_remove: Vec::new(),
    };
    let mut hosts: Vec<Host> = Vec::new();
    let mut skipped = Vec::new();
    let mut any_outputs = false;
    for i in graph.internal() {
        let node = &graph.nodes[i];
        let Some(partial) = partials.get(&node.dir) else {
            continue;
        };
        let outputs = tf
            .fetch_outputs(partial)
            .map_err(|message| InventoryError::Outputs {
                unit: node.name.clone(),
                message,
            })?;
        any_outputs |= !outputs.is_empty();
        match host_from_outputs(&node.name, &outputs)? {
            Some(host) => {
                if let Some(other) = hosts.iter().find(|h| h.name == host.name) {
                    return Err(InventoryError::DuplicateHost {
                        host: host.name,
                        first: other.unit.clone(),
                        second: node.name.clone(),
                    });
                }
                hosts.push(host);
            }
            None => skipped.push(node.name.clone()),
        }
    }
    if !any_outputs {
        return Err(InventoryError::NothingDeployed(working_dir));
    }
    hosts.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
    Ok((hosts, skipped))
}

/// The host a unit's outputs describe, `None` when they have no `address`.
pub fn host_from_outputs(
    unit: &str,
    outputs: &hcl::Map<String, Value>,
) -> Result<Option<Host>, InventoryError> {
    let Some(address) = outputs.get("address").and_then(Value::as_str) else {
        return Ok(None);
    };
    let missing = |output, why| InventoryError::MissingOutput {
        unit: unit.to_string(),
        output,
        why,
    };
    let text = |name: &'static str| {
        outputs
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let number = |name: &str| outputs.get(name).and_then(Value::as_u64);
    let name = text("hostname").ok_or_else(|| missing("hostname", "a non-empty string"))?;
    let group = text("group").ok_or_else(|| missing("group", "a non-empty string"))?;
    if !is_ansible_name(&group) {
        return Err(missing(
            "group",
            "letters, digits and _ only, not starting with a digit (an Ansible group name)",
        ));
    }
    let ct_id = number("ct_id").ok_or_else(|| missing("ct_id", "a number"))?;
    let role = text("service").unwrap_or_else(|| name.clone());
    let dir_name = unit.rsplit('/').next().unwrap_or(unit);
    let zone = dir_name
        .rsplit_once('-')
        .map(|(_, z)| z.to_string())
        .unwrap_or_default();
    Ok(Some(Host {
        name,
        group,
        address: address.to_string(),
        port: number("port"),
        ct_id,
        zone,
        role,
        unit: unit.to_string(),
    }))
}

fn is_ansible_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `hosts.yml`: Ansible's YAML inventory (`all.children.<group>.hosts.<host>`).
pub fn render_hosts_yml(hosts: &[Host]) -> String {
    let mut groups: BTreeMap<&str, serde_yaml_ng::Mapping> = BTreeMap::new();
    for host in hosts {
        let mut vars = serde_yaml_ng::Mapping::new();
        vars.insert("ansible_host".into(), host.address.clone().into());
        vars.insert("ralf_zone".into(), host.zone.clone().into());
        vars.insert("ralf_role".into(), host.role.clone().into());
        vars.insert("ralf_ct_id".into(), host.ct_id.into());
        if let Some(port) = host.port {
            vars.insert("ralf_port".into(), port.into());
        }
        groups
            .entry(host.group.as_str())
            .or_default()
            .insert(host.name.clone().into(), vars.into());
    }
    let mut children = serde_yaml_ng::Mapping::new();
    for (group, members) in groups {
        let mut g = serde_yaml_ng::Mapping::new();
        g.insert("hosts".into(), members.into());
        children.insert(group.into(), g.into());
    }
    let mut all = serde_yaml_ng::Mapping::new();
    all.insert("children".into(), children.into());
    let mut root = serde_yaml_ng::Mapping::new();
    root.insert("all".into(), all.into());
    let yaml = serde_yaml_ng::to_string(&root).unwrap_or_default();
    format!(
        "# Written by `ralf inventory` from the stacks' outputs after an apply; do not edit (it is\n\
         # rewritten). Groups are the service groups; playbooks: ../playbooks/<service>.yml.\n{yaml}"
    )
}

/// The shell-style name of a service's variables: `snipe-it` => `SNIPE_IT`.
fn env_name(service: &str) -> String {
    service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `runtime.env`: `<SERVICE>_IP=...` and `<SERVICE>_PORT=...` per host, for `source` or
/// systemd's `EnvironmentFile=`.
pub fn render_runtime_env(hosts: &[Host]) -> String {
    let mut lines = vec![
        "# Written by `ralf inventory` from the stacks' outputs after an apply; do not edit."
            .to_string(),
    ];
    let mut sorted: Vec<&Host> = hosts.iter().collect();
    sorted.sort_by(|a, b| a.role.cmp(&b.role));
    for host in sorted {
        let name = env_name(&host.role);
        lines.push(format!("{name}_IP={}", host.address));
        if let Some(port) = host.port {
            lines.push(format!("{name}_PORT={port}"));
        }
    }
    lines.join("\n") + "\n"
}

/// Collects the hosts and writes both files.
pub fn write(options: &InventoryOptions) -> Result<Written, InventoryError> {
    let (hosts, skipped) = collect(options)?;
    let dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| crate::run::absolute(&options.working_dir).join(DEFAULT_DIR));
    let write_file = |path: PathBuf, text: String| -> Result<PathBuf, InventoryError> {
        write_atomically(&path, &text).map_err(|source| InventoryError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    std::fs::create_dir_all(&dir).map_err(|source| InventoryError::Write {
        path: dir.clone(),
        source,
    })?;
    let hosts_yml = write_file(dir.join("hosts.yml"), render_hosts_yml(&hosts))?;
    let runtime_env = write_file(dir.join("runtime.env"), render_runtime_env(&hosts))?;
    Ok(Written {
        hosts_yml,
        runtime_env,
        hosts,
        skipped,
    })
}

/// What was written, for the terminal: the files, then one line per group with its hosts.
pub fn summary(written: &Written) -> String {
    let mut out = format!(
        "Wrote {} and {} ({} hosts).\n",
        written.hosts_yml.display(),
        written.runtime_env.display(),
        written.hosts.len()
    );
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for host in &written.hosts {
        groups.entry(&host.group).or_default().push(&host.name);
    }
    for (group, names) in groups {
        out.push_str(&format!("  {group}: {}\n", names.join(", ")));
    }
    if !written.skipped.is_empty() {
        out.push_str(&format!("  (not hosts: {})\n", written.skipped.join(", ")));
    }
    out
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(pairs: &[(&str, Value)]) -> hcl::Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn gitea() -> hcl::Map<String, Value> {
        outputs(&[
            ("address", Value::from("10.10.20.20")),
            ("hostname", Value::from("gitea")),
            ("service", Value::from("gitea")),
            ("group", Value::from("base")),
            ("ct_id", Value::from(2020)),
            ("port", Value::from(3000)),
        ])
    }

    #[test]
    fn a_unit_with_an_address_is_a_host_in_its_group_and_zone() {
        let host = host_from_outputs("stacks/gitea-fz", &gitea())
            .unwrap()
            .unwrap();
        assert_eq!(host.group, "base");
        assert_eq!(host.zone, "fz");
        assert_eq!(host.role, "gitea");
        assert_eq!(host.ct_id, 2020);
        assert_eq!(host.port, Some(3000));
    }

    #[test]
    fn a_unit_without_an_address_is_not_a_host() {
        assert_eq!(
            host_from_outputs("stacks/network-health", &outputs(&[])).unwrap(),
            None
        );
    }

    #[test]
    fn a_host_without_a_group_is_an_error_naming_the_unit_and_the_output() {
        let mut o = gitea();
        o.shift_remove("group");
        let err = host_from_outputs("stacks/gitea-fz", &o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("stacks/gitea-fz") && err.contains("`group`"),
            "{err}"
        );
        let mut o = gitea();
        o.insert("group".into(), Value::from("my group"));
        let err = host_from_outputs("stacks/gitea-fz", &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Ansible group name"), "{err}");
    }

    #[test]
    fn hosts_yml_groups_hosts_with_their_variables_and_runtime_env_names_ip_and_port() {
        let mut other = gitea();
        other.insert("hostname".into(), Value::from("snipe-it"));
        other.insert("service".into(), Value::from("snipe-it"));
        other.insert("group".into(), Value::from("platform"));
        other.shift_remove("port");
        let hosts = vec![
            host_from_outputs("stacks/gitea-fz", &gitea())
                .unwrap()
                .unwrap(),
            host_from_outputs("stacks/snipe-it-fz", &other)
                .unwrap()
                .unwrap(),
        ];
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&render_hosts_yml(&hosts)).unwrap();
        let gitea = &yaml["all"]["children"]["base"]["hosts"]["gitea"];
        assert_eq!(gitea["ansible_host"], "10.10.20.20");
        assert_eq!(gitea["ralf_zone"], "fz");
        assert_eq!(gitea["ralf_role"], "gitea");
        assert_eq!(gitea["ralf_ct_id"], 2020);
        assert!(yaml["all"]["children"]["platform"]["hosts"]["snipe-it"].is_mapping());
        assert_eq!(
            render_runtime_env(&hosts)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [
                "GITEA_IP=10.10.20.20",
                "GITEA_PORT=3000",
                "SNIPE_IT_IP=10.10.20.20"
            ]
        );
    }
}
