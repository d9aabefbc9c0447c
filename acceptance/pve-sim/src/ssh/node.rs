//! The commands the node's SSH server runs, split like a POSIX shell would: `pct status
//! <vmid>`, `pct exec <vmid> [--] <command>...` and `pct set <vmid> -<option> <value>...`.
//! Parsing and the status/exec decisions are [`crate::pct`]'s, shared with the emulated `pct`;
//! here `exec` runs inside the real container in the lab backend (emulated from the declared
//! guest services otherwise), and `set` is the API's `PUT config` run as `root@pam`, the user
//! `pct` runs as on a Proxmox node.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use crate::pct::{PctCommand, PctOutput};
use crate::sim::Sim;

/// Exit status of `pct` when its own command fails (Perl's `die`).
const EXIT_DIE: i32 = 255;
/// Exit status of a shell when a command does not exist.
const EXIT_NOT_FOUND: i32 = 127;

/// Runs one command line sent over SSH on node `node`.
pub(super) async fn run(sim: &Arc<Sim>, node: &str, line: &str) -> PctOutput {
    let Some(words) = shlex::split(line) else {
        return PctOutput::fail(2, format!("sh: syntax error in: {line}"));
    };
    let program = words.first().map(|p| p.rsplit('/').next().unwrap_or(p));
    if program != Some("pct") {
        return PctOutput::fail(
            EXIT_NOT_FOUND,
            format!(
                "pve-sim's node runs only `pct exec <vmid> -- <command>`, `pct status <vmid>` and `pct set <vmid> -<option> <value>`, not: {line}"
            ),
        );
    }
    let command = match PctCommand::parse(&words[1..]) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let vmid = command.vmid();
    let found = sim.read(|c| {
        c.containers
            .get(&vmid)
            .filter(|ct| ct.node == node)
            .map(|ct| (ct.running, ct.guest.clone()))
    });
    if let Some(answer) = crate::pct::decide(&command, node, found.as_ref().map(|f| f.0)) {
        return answer;
    }
    let Some((running, guest)) = found else {
        return PctOutput::fail(EXIT_DIE, "no such container");
    };
    match command {
        PctCommand::Set(_, options) => set(sim, node, vmid, options),
        PctCommand::Exec(_, words) if sim.backend.runs_real_containers() => {
            match sim.backend.exec(vmid, &words).await {
                Ok(out) => out,
                Err(e) => PctOutput::fail(EXIT_DIE, e),
            }
        }
        PctCommand::Exec(_, words) => {
            let view = json!({ "units": guest.units, "running": running });
            crate::pct::exec_in_guest(&words, &view)
        }
        PctCommand::Status(_) => PctOutput::fail(EXIT_DIE, "status is answered by pct"),
    }
}

/// `pct set`: the options as the API's parameters (a repeated option is repeated there too),
/// checked and applied by `PUT config` as `root@pam`. Errors print as Proxmox's CLI prints
/// them: the message, and for parameter errors `<option>: <message>` per line.
fn set(sim: &Arc<Sim>, node: &str, vmid: u32, options: Vec<(String, String)>) -> PctOutput {
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in options {
        params.entry(k).or_default().push(v);
    }
    params.insert("node".to_string(), vec![node.to_string()]);
    params.insert("vmid".to_string(), vec![vmid.to_string()]);
    match crate::api::call_on_node(sim, "PUT", "/nodes/{node}/lxc/{vmid}/config", params) {
        Ok(()) => PctOutput {
            stdout: String::new(),
            stderr: String::new(),
            code: 0,
        },
        Err(e) => {
            let mut text = e.message.trim_end().to_string();
            if let Some(errors) = &e.errors {
                text = format!("{} {text}", e.status);
                for (k, v) in errors {
                    text.push_str(&format!("\n{k}: {}", v.trim_end()));
                }
            }
            PctOutput::fail(EXIT_DIE, text)
        }
    }
}
