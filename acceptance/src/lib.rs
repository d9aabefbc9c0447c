//! pve-sim (to be filled).
