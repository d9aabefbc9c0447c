//! `include` with `expose` and the three merge strategies, checked on the evaluated
//! configuration (reference 1.20 row 16: `include-deep`, `include-expose`, multiple includes).

mod common;

use common::fixture;
use hcl::{Map, Value};
use ralf_runner::config::eval::EvalEnv;
use ralf_runner::config::{load_full, DependencySpec, UnitConfig};
use std::path::Path;
use std::sync::Arc;

fn load(unit_dir: &Path, command: &str) -> UnitConfig {
    let env = Arc::new(EvalEnv {
        tf_command: command.into(),
        ..EvalEnv::default()
    });
    // The dependency is not applied: mocks (allowed for every command) stand in.
    let fetch = |_: &DependencySpec| Ok(Map::new());
    load_full(&unit_dir.join("terragrunt.hcl"), &env, &fetch)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", unit_dir.display()))
}

fn json(v: &Value) -> String {
    ralf_runner::value::to_json_text(v)
}

/// The input as JSON, compared as values (key order does not matter).
fn input(cfg: &UnitConfig, name: &str) -> Json {
    let text = json(cfg.inputs.get(name).unwrap_or(&Value::Null));
    Json(serde_json::from_str(&text).expect("inputs render as JSON"))
}

#[derive(Debug, PartialEq)]
struct Json(serde_json::Value);

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        serde_json::from_str::<serde_json::Value>(other).is_ok_and(|o| o == self.0)
    }
}

#[test]
fn deep_merge_concatenates_lists_merges_maps_and_shares_dependency_blocks() {
    let tree = fixture("include");
    let cfg = load(&tree.path("deep"), "plan");
    assert_eq!(input(&cfg, "list_attr"), r#"["hello","mock"]"#);
    assert_eq!(
        input(&cfg, "map_attr"),
        r#"{"a":1,"nested":{"x":"parent","y":"child"},"b":2}"#
    );
    assert_eq!(input(&cfg, "from_root"), r#""root""#);
    assert_eq!(input(&cfg, "dep_out"), r#"{"from_parent":"parent-mock"}"#);
    assert_eq!(input(&cfg, "parent_dep"), r#""parent-mock""#);
    assert_eq!(input(&cfg, "name"), r#""deep-dev""#);
    assert_eq!(input(&cfg, "region"), r#""eu-central""#);
    assert_eq!(input(&cfg, "rel"), r#""deep""#);
    let mut extra: Vec<&str> = cfg
        .extra_arguments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    extra.sort();
    assert_eq!(extra, vec!["child", "common"]);
    // The parent's dependency is an edge of the child.
    assert_eq!(cfg.partial.dependencies.len(), 1);
    assert!(cfg.partial.dependencies[0].config_path.ends_with("dep"));
}

#[test]
fn shallow_merge_lets_child_inputs_replace_parent_inputs_and_expose_shows_parent_values() {
    let tree = fixture("include");
    let cfg = load(&tree.path("shallow"), "plan");
    assert_eq!(input(&cfg, "list_attr"), r#"["mock"]"#);
    assert_eq!(input(&cfg, "map_attr"), r#"{"b":2}"#);
    assert_eq!(
        input(&cfg, "from_root"),
        r#""root""#,
        "parent-only inputs are kept"
    );
    assert_eq!(input(&cfg, "env"), r#""dev""#);
    assert_eq!(input(&cfg, "root_from"), r#""root""#);
}

#[test]
fn no_merge_keeps_only_the_child_but_still_exposes_the_parent() {
    let tree = fixture("include");
    let cfg = load(&tree.path("no-merge"), "plan");
    let mut keys: Vec<&String> = cfg.inputs.keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["env", "only_child"]);
    assert_eq!(input(&cfg, "env"), r#""dev""#);
    assert!(
        cfg.partial.dependencies.is_empty(),
        "no_merge drops the parent's dependency blocks"
    );
}

#[test]
fn an_included_file_that_includes_again_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("a/unit")).expect("mkdir");
    std::fs::write(root.join("top.hcl"), "").expect("write");
    std::fs::write(
        root.join("a/mid.hcl"),
        "include \"top\" {\n  path = \"../top.hcl\"\n}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("a/unit/terragrunt.hcl"),
        "include \"mid\" {\n  path = find_in_parent_folders(\"mid.hcl\")\n}\n",
    )
    .expect("write");
    let env = Arc::new(EvalEnv::default());
    let fetch = |_: &DependencySpec| Ok(Map::new());
    let err = load_full(&root.join("a/unit/terragrunt.hcl"), &env, &fetch)
        .expect_err("two levels must be refused");
    assert!(
        err.to_string().contains("only one level of includes"),
        "{err}"
    );
}

#[test]
fn read_terragrunt_config_and_common_functions_evaluate() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("unit")).expect("mkdir");
    std::fs::write(
        root.join("common.hcl"),
        "locals {\n  ct_ids = { vaultwarden = 3010, mail = 4010 }\n}\ninputs = { shared = \"yes\" }\n",
    )
    .expect("write");
    std::fs::write(
        root.join("unit/terragrunt.hcl"),
        r#"
locals {
  common = read_terragrunt_config(find_in_parent_folders("common.hcl"))
  ids    = local.common.locals.ct_ids
}
inputs = {
  ct_id    = lookup(local.ids, "mail", 0)
  hostname = format("%s-%d", "mail", local.ids.mail)
  tags     = jsonencode(sort(keys(local.ids)))
  merged   = merge(local.common.inputs, { extra = true })
  safe     = try(local.ids.missing, "fallback")
  home     = get_env("RALF_TEST_UNSET_VARIABLE", "default")
  dir      = basename(get_terragrunt_dir())
  upper    = upper(replace("a-b", "-", "_"))
}
"#,
    )
    .expect("write");
    let cfg = load(&root.join("unit"), "plan");
    assert_eq!(input(&cfg, "ct_id"), "4010");
    assert_eq!(input(&cfg, "hostname"), r#""mail-4010""#);
    assert_eq!(input(&cfg, "tags"), r#""[\"mail\",\"vaultwarden\"]""#);
    assert_eq!(input(&cfg, "merged"), r#"{"shared":"yes","extra":true}"#);
    assert_eq!(input(&cfg, "safe"), r#""fallback""#);
    assert_eq!(input(&cfg, "home"), r#""default""#);
    assert_eq!(input(&cfg, "dir"), r#""unit""#);
    assert_eq!(input(&cfg, "upper"), r#""A_B""#);
}
