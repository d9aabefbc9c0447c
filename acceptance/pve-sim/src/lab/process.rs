//! Running the host's tools (LXC, ip, tar) for the lab, with errors worded like Proxmox's
//! `command '...' failed: exit code N`. Secrets go through standard input, never arguments.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// What a finished command printed.
pub(super) struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` to completion, feeding `stdin` if given.
pub(super) async fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<Ran, String> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run '{program}': {e}"))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .map_err(|e| format!("cannot write to '{program}': {e}"))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("cannot wait for '{program}': {e}"))?;
    Ok(Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Runs a command that must succeed.
pub(super) async fn check(program: &str, args: &[&str]) -> Result<String, String> {
    let ran = run(program, args, None).await?;
    if ran.code == Some(0) {
        return Ok(ran.stdout);
    }
    Err(failed(program, args, &ran))
}

/// Proxmox's wording of a failed command, with what it printed on stderr.
pub(super) fn failed(program: &str, args: &[&str], ran: &Ran) -> String {
    let code = ran.code.map_or("killed by a signal".to_string(), |c| {
        format!("exit code {c}")
    });
    let stderr = ran.stderr.trim();
    let mut message = format!("command '{program} {}' failed: {code}", args.join(" "));
    if !stderr.is_empty() {
        message.push_str(": ");
        message.push_str(stderr);
    }
    message
}

/// The same for blocking contexts (cleanup on exit and in `Drop`).
pub(super) fn check_blocking(program: &str, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run '{program}': {e}"))?;
    let ran = Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    if ran.code == Some(0) {
        Ok(ran.stdout)
    } else {
        Err(failed(program, args, &ran))
    }
}

/// The path of `program` on `PATH` (also the sbin directories, where `ip` lives).
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether this process runs as root (real uid 0, read from /proc).
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
