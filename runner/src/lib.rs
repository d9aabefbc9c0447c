//! ralf runner (to be filled).
