//! Root-only container options applied on the node: `pct set` over the provider's SSH
//! connection (the `ssh` block), for logins Proxmox VE refuses them to (API tokens, users other
//! than `root@pam`). Only used when the user turns on `root_only_over_ssh`.

use std::time::Duration;

use checks::{run_on_node, shell_quote, SshSettings, SystemCommandRunner};
use pve::{RootShell, RootShellFuture};

/// How long one `pct set` may take, connection included.
const PCT_SET_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `pct set` on the node over SSH.
pub struct SshRootShell {
    settings: SshSettings,
}

impl SshRootShell {
    pub fn new(settings: SshSettings) -> SshRootShell {
        SshRootShell { settings }
    }
}

/// `pct set <ct_id> -<key> '<value>' ... [-delete '<keys>']`, every word quoted for the shell.
pub(crate) fn pct_set_command(ct_id: u32, set: &[(String, String)], delete: &[String]) -> String {
    let mut words = vec!["pct".to_string(), "set".to_string(), ct_id.to_string()];
    for (key, value) in set {
        words.push(format!("-{key}"));
        words.push(shell_quote(value));
    }
    if !delete.is_empty() {
        words.push("-delete".to_string());
        words.push(shell_quote(&delete.join(",")));
    }
    words.join(" ")
}

impl RootShell for SshRootShell {
    fn pct_set<'a>(
        &'a self,
        node: &'a str,
        ct_id: u32,
        set: &'a [(String, String)],
        delete: &'a [String],
    ) -> RootShellFuture<'a> {
        Box::pin(async move {
            let command = pct_set_command(ct_id, set, delete);
            run_on_node(
                &self.settings,
                &SystemCommandRunner,
                node,
                &command,
                PCT_SET_TIMEOUT,
            )
            .await
            .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_set_quotes_every_value_and_joins_deletes() {
        let command = pct_set_command(
            4010,
            &[
                ("features".into(), "keyctl=1,nesting=1".into()),
                ("dev0".into(), "/dev/net/tun,mode=0666".into()),
            ],
            &["dev1".into(), "mp2".into()],
        );
        assert_eq!(
            command,
            "pct set 4010 -features 'keyctl=1,nesting=1' -dev0 '/dev/net/tun,mode=0666' -delete 'dev1,mp2'"
        );
    }
}
