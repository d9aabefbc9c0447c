//! The provider's lifeline to Terraform: a plugin must not outlive the Terraform process that
//! started it. When Terraform goes away (killed, crashed), the plugin is re-parented; a watcher
//! thread notices within [`CHECK_INTERVAL`] and ends the process at once, so no new API call is
//! started on behalf of a Terraform that is no longer there.
//!
//! Parent death is seen through `getppid()` (`std::os::unix::process::parent_id`): no signal
//! set-up, no platform-specific calls. Knows nothing about any provider.

use std::time::Duration;

/// How often the parent is checked.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(200);

/// The exit code when the parent went away.
pub const PARENT_GONE_EXIT_CODE: i32 = 2;

/// Starts the watcher: once the parent process is no longer the one that started us, the
/// process exits with [`PARENT_GONE_EXIT_CODE`]. Does nothing where there is no parent id.
pub fn exit_when_parent_goes_away() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        if parent <= 1 {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("terraform-lifeline".into())
            .spawn(move || loop {
                std::thread::sleep(CHECK_INTERVAL);
                if std::os::unix::process::parent_id() != parent {
                    tracing::warn!(parent, "terraform went away; the provider exits");
                    std::process::exit(PARENT_GONE_EXIT_CODE);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot watch the parent process");
        }
    }
}
