//! Shared helpers for the integration tests: copy a fixture tree into a temp dir, build run
//! options that isolate terraform from the user's configuration, read a unit's outputs.
#![allow(dead_code)]

use ralf_runner::RunOptions;
use std::path::{Path, PathBuf};

/// The terraform binary the tests use. A missing binary fails the test with a clear message.
pub fn terraform() -> String {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("terraform").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "these tests need `terraform` (1.11) on PATH; install it, they run offline with terraform_data"
    );
    "terraform".to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create fixture copy dir");
    for e in std::fs::read_dir(from).expect("read fixture dir").flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy fixture file");
        }
    }
}

/// A fresh copy of `tests/fixtures/<name>` (kept alive by the returned guard).
pub struct Tree {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    tfrc: PathBuf,
}

impl Tree {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Options for `command` over `rel` (relative to the tree root), quiet, with terraform
    /// isolated from `~/.terraformrc` and the plugin cache.
    pub fn opts(&self, rel: &str, command: &str) -> RunOptions {
        let mut o = RunOptions::new(self.root.join(rel), command);
        o.tf_path = Some(terraform());
        o.quiet = true;
        o.extra_env = vec![
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_CLI_CONFIG_FILE".into(), self.tfrc.display().to_string()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
        ];
        o.env_remove = vec!["TF_PLUGIN_CACHE_DIR".into()];
        o
    }

    /// Environment for running the `ralf` binary or terraform directly in tests.
    pub fn env(&self) -> Vec<(String, String)> {
        self.opts(".", "plan").extra_env
    }
}

pub fn fixture(name: &str) -> Tree {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    assert!(src.is_dir(), "fixture {} is missing", src.display());
    let root = tmp.path().join(name.replace('/', "_"));
    copy_dir(&src, &root);
    let tfrc = tmp.path().join("terraformrc");
    std::fs::write(&tfrc, "# empty: keeps ~/.terraformrc out of the tests\n").expect("write tfrc");
    Tree {
        _tmp: tmp,
        root,
        tfrc,
    }
}

/// The output values in the local state file `state` (`null` if there is no such output).
pub fn state_output(state: &Path, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(state)
        .unwrap_or_else(|e| panic!("cannot read state {}: {e}", state.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("state is JSON");
    json.pointer(&format!("/outputs/{name}/value"))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

/// The output of a unit that runs in place with local state.
pub fn output(unit_dir: &Path, name: &str) -> serde_json::Value {
    state_output(&unit_dir.join("terraform.tfstate"), name)
}

/// Number of managed resources in a local state file.
pub fn resource_count(state: &Path) -> usize {
    let text = std::fs::read_to_string(state).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json.get("resources")
        .and_then(|r| r.as_array())
        .map(|r| r.len())
        .unwrap_or(0)
}
