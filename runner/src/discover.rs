//! Unit discovery: every directory under the working dir that holds a `terragrunt.hcl`, the
//! working dir itself included, hidden directories included; `.git`, `.terraform` and
//! `.terragrunt-cache` are never entered (Terragrunt's rules). Also the `--queue-include-dir` /
//! `--queue-exclude-dir` matching. This module reads directory listings only, never file contents.

use crate::config::CONFIG_FILE;
use std::path::{Path, PathBuf};

/// Directory names discovery never enters.
pub const IGNORED_DIRS: &[&str] = &[".git", ".terraform", ".terragrunt-cache"];

/// What went wrong while discovering units.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot list {}: {source}", path.display())]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("working dir {} does not exist or is not a directory", .0.display())]
    NoWorkingDir(PathBuf),
}

/// All unit directories under `working_dir`, sorted by path.
pub fn discover_units(working_dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    if !working_dir.is_dir() {
        return Err(DiscoverError::NoWorkingDir(working_dir.to_path_buf()));
    }
    let mut out = Vec::new();
    walk(working_dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DiscoverError> {
    if dir.join(CONFIG_FILE).is_file() {
        out.push(dir.to_path_buf());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| DiscoverError::List {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        let name = entry.file_name();
        if IGNORED_DIRS.iter().any(|i| name == *i) {
            continue;
        }
        subdirs.push(entry.path());
    }
    subdirs.sort();
    for sub in subdirs {
        walk(&sub, out)?;
    }
    Ok(())
}

/// A unit's path relative to the working dir, `/`-separated; `.` for the working dir itself.
pub fn rel_path(working_dir: &Path, unit_dir: &Path) -> String {
    crate::config::functions::relative_path(working_dir, unit_dir)
}

/// Whether a unit (given by its relative path) matches a `--queue-*-dir` pattern: an exact
/// relative or absolute path, or a glob with `*` (within one segment) and `**` (any depth).
pub fn dir_matches(pattern: &str, working_dir: &Path, unit_rel: &str) -> bool {
    let pat = if Path::new(pattern).is_absolute() {
        rel_path(working_dir, Path::new(pattern))
    } else {
        let cleaned = crate::config::functions::clean_path(Path::new(pattern));
        let s = cleaned.to_string_lossy().replace('\\', "/");
        if s.is_empty() {
            ".".to_string()
        } else {
            s
        }
    };
    let pat = pat.trim_end_matches('/');
    if !pat.contains(['*', '?', '[', '{']) {
        return pat == unit_rel;
    }
    glob_matcher(pat).is_some_and(|m| m.is_match(unit_rel))
}

/// A glob over `/`-separated relative paths: `*` and `?` stay within one segment, `**` spans
/// any depth (globset's `literal_separator`).
pub fn glob_matcher(pattern: &str) -> Option<globset::GlobMatcher> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_dot_matches_only_the_root_unit() {
        let wd = Path::new("/iac");
        assert!(dir_matches(".", wd, "."));
        assert!(dir_matches("./", wd, "."));
        assert!(!dir_matches(".", wd, "stacks/a"));
    }

    #[test]
    fn globs_match_within_and_across_segments() {
        let wd = Path::new("/iac");
        assert!(dir_matches("stacks/*", wd, "stacks/gitea-fz"));
        assert!(!dir_matches("stacks/*", wd, "stacks/a/b"));
        assert!(dir_matches("stacks/**", wd, "stacks/a/b"));
        assert!(dir_matches("/iac/stacks/a", wd, "stacks/a"));
    }
}
