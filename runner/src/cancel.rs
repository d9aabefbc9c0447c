//! Stopping a run safely. Every child process `ralf` starts (terraform, tofu, hooks) is spawned
//! through [`spawn`], in a process group of its own, and tracked until it is reaped. The first
//! SIGINT or SIGTERM is forwarded to every tracked child (terraform then stops gracefully and
//! releases its state lock) and no new child is started; a second one kills each child's whole
//! process group (the child and the providers it started). The run then finishes what it was
//! waiting for, reports, and the binary exits with 128 + the first signal (130, 143).
//!
//! Signals are process-wide, so this state is too. This module knows nothing of units or
//! terraform: only of processes.

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// The first stop signal received (0: none).
static FIRST_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Tracked children and how many stop requests arrived. One lock makes spawning and stopping
/// exclusive, so a child is either started before a stop (and gets the signal exactly once) or
/// not started at all.
static STATE: Mutex<Tracked> = Mutex::new(Tracked {
    children: BTreeSet::new(),
    requests: 0,
});

struct Tracked {
    children: BTreeSet<u32>,
    requests: u32,
}

fn state() -> std::sync::MutexGuard<'static, Tracked> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts a thread that turns SIGINT and SIGTERM into [`request_stop`]. Call once, from a binary.
pub fn install_signal_handlers() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("ralf-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                request_stop(signal);
            }
        })?;
    Ok(())
}

/// Asks the run to stop as if `signal` had arrived: the first request forwards `signal` to every
/// running child; any later one kills their process groups.
pub fn request_stop(signal: i32) {
    let mut st = state();
    st.requests += 1;
    if st.requests == 1 {
        FIRST_SIGNAL.store(signal, Ordering::SeqCst);
        for &pid in &st.children {
            send(pid as i32, signal);
        }
    } else {
        for &pid in &st.children {
            send(-(pid as i32), libc::SIGKILL);
        }
    }
}

/// The signal that stopped the run, if one did.
pub fn stop_signal() -> Option<i32> {
    match FIRST_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The conventional exit status after a stop signal: 128 + its number (130 for SIGINT, 143 for
/// SIGTERM).
pub fn exit_code() -> Option<i32> {
    stop_signal().map(|s| 128 + s)
}

/// A signal's usual name (`SIGINT`), for messages.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGKILL => "SIGKILL".into(),
        other => format!("signal {other}"),
    }
}

fn send(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory effects; a pid that is gone yields ESRCH, which is fine.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// A child started through [`spawn`]; it stays tracked until [`TrackedChild::wait`] reaps it.
pub struct TrackedChild {
    pub child: Child,
}

impl TrackedChild {
    /// Waits for the child and stops tracking it. After a stop request, whatever is left in its
    /// process group (a provider that outlived terraform) is killed, so nothing outlives ralf.
    pub fn wait(mut self) -> std::io::Result<std::process::ExitStatus> {
        let status = self.child.wait();
        let pid = self.child.id();
        let mut st = state();
        st.children.remove(&pid);
        if st.requests > 0 {
            send(-(pid as i32), libc::SIGKILL);
        }
        status
    }
}

/// Spawns `cmd` in a process group of its own (so a terminal's Ctrl-C reaches ralf alone, and
/// ralf decides what each child gets) and tracks it. Refused once a stop was requested.
pub fn spawn(cmd: &mut Command) -> std::io::Result<TrackedChild> {
    use std::os::unix::process::CommandExt;
    let mut st = state();
    if st.requests > 0 {
        let signal = stop_signal().map(signal_name).unwrap_or_default();
        return Err(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            format!("ralf received {signal} and starts nothing new"),
        ));
    }
    cmd.process_group(0);
    let child = cmd.spawn()?;
    st.children.insert(child.id());
    Ok(TrackedChild { child })
}

/// How many children are running now.
pub fn running_children() -> usize {
    state().children.len()
}
