//! The commands the node's SSH server runs: `pct exec <vmid> [--] <command>...` and
//! `pct status <vmid>`, split like a POSIX shell would. `pct exec` runs inside the real
//! container in the lab backend and is emulated from the declared guest services otherwise;
//! both check that the container exists on this node and runs, with Proxmox's messages.

use std::sync::Arc;

use serde_json::json;

use crate::pct::PctOutput;
use crate::sim::Sim;

/// Exit status of `pct` when its own command fails (Perl's `die`).
const EXIT_DIE: i32 = 255;
/// Exit status of a shell when a command does not exist.
const EXIT_NOT_FOUND: i32 = 127;

fn fail(code: i32, message: String) -> PctOutput {
    PctOutput {
        stdout: String::new(),
        stderr: format!("{}\n", message.trim_end()),
        code,
    }
}

/// Runs one command line sent over SSH on node `node`.
pub(super) async fn run(sim: &Arc<Sim>, node: &str, line: &str) -> PctOutput {
    let Some(words) = shlex::split(line) else {
        return fail(2, format!("sh: syntax error in: {line}"));
    };
    let program = words.first().map(|p| p.rsplit('/').next().unwrap_or(p));
    if program != Some("pct") {
        return fail(
            EXIT_NOT_FOUND,
            format!(
                "pve-sim's node runs only `pct exec <vmid> -- <command>` and `pct status <vmid>`, not: {line}"
            ),
        );
    }
    let usage = "USAGE: pct exec <vmid> [<extra-args>] -- <command>  |  pct status <vmid>";
    let (Some(sub), Some(vmid)) = (
        words.get(1),
        words.get(2).and_then(|v| v.parse::<u32>().ok()),
    ) else {
        return fail(EXIT_DIE, usage.to_string());
    };
    let found = sim.read(|c| {
        c.containers
            .get(&vmid)
            .filter(|ct| ct.node == node)
            .map(|ct| (ct.running, ct.guest.clone()))
    });
    let Some((running, guest)) = found else {
        return fail(
            EXIT_DIE,
            format!("Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist"),
        );
    };
    match sub.as_str() {
        "status" => PctOutput {
            stdout: format!("status: {}\n", if running { "running" } else { "stopped" }),
            stderr: String::new(),
            code: 0,
        },
        "exec" => {
            let command: Vec<String> = match words.iter().position(|w| w == "--") {
                Some(i) => words[i + 1..].to_vec(),
                None => words[3..].to_vec(),
            };
            if command.is_empty() {
                return fail(EXIT_DIE, "missing command".to_string());
            }
            if !running {
                return fail(EXIT_DIE, format!("CT {vmid} not running"));
            }
            if sim.backend.runs_real_containers() {
                match sim.backend.exec(vmid, &command).await {
                    Ok(out) => out,
                    Err(e) => fail(EXIT_DIE, e),
                }
            } else {
                let view = json!({ "units": guest.units, "running": running });
                crate::pct::exec_in_guest(&command, &view)
            }
        }
        _ => fail(EXIT_DIE, usage.to_string()),
    }
}
