//! The RALF provider (to be filled).
