//! The `ralf` command line: `run --all` and `run-all`, terraform flags before or after `--`,
//! `TG_*`/`TERRAGRUNT_*` variables, the printed unit blocks and final table, and `ralf graph`.

mod common;

use common::{fixture, output, terraform};
use std::process::Command;

fn ralf(tree: &common::Tree, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ralf"));
    cmd.args(args)
        .current_dir(&tree.root)
        .env_remove("TF_PLUGIN_CACHE_DIR");
    for k in [
        "TG_TF_PATH",
        "TERRAGRUNT_TFPATH",
        "TG_PARALLELISM",
        "TERRAGRUNT_PARALLELISM",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in tree.env() {
        cmd.env(k, v);
    }
    cmd.output().expect("ralf binary starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_all_apply_prints_each_unit_whole_and_a_final_table() {
    let tree = fixture("dependency-output");
    let tf = terraform();
    let out = ralf(
        &tree,
        &[
            "run",
            "--all",
            "--grouped-output",
            "--tf-path",
            &tf,
            "--queue-exclude-dir",
            "empty",
            "apply",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("━━━ app3 succeeded in"), "{stdout}");
    assert!(
        stdout.contains("Run summary: apply over 4 units"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("app3 "))
        .expect("a table row for app3");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cols[..6],
        &["app3", "succeeded", "1", "0", "0", "0"],
        "{row}"
    );
    assert_eq!(output(&tree.path("app3"), "z"), serde_json::json!(42));
}

#[test]
fn off_a_terminal_each_line_streams_with_its_unit_prefix() {
    let tree = fixture("dependency-output");
    let tf = terraform();
    let out = ralf(
        &tree,
        &[
            "run",
            "--all",
            "--tf-path",
            &tf,
            "--queue-exclude-dir",
            "empty",
            "apply",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("━━━"), "no grouped blocks: {stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[app3] ") && l.contains("Apply complete!")),
        "terraform's own lines carry the unit prefix: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[app3] app3 succeeded in")),
        "{stdout}"
    );
    let before_summary = stdout
        .split("Run summary:")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .all(|l| l.starts_with('['));
    assert!(before_summary, "every unit line is prefixed: {stdout}");
}

#[test]
fn usage_errors_exit_1_not_the_changes_present_code_2() {
    let tree = fixture("dependency-output");
    let out = ralf(&tree, &["run", "--all", "--no-such-flag", "plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--no-such-flag"));
    let out = ralf(&tree, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(1));
    let out = ralf(&tree, &["--help"]);
    assert_eq!(out.status.code(), Some(0), "help is not an error");
}

#[test]
fn run_all_alias_tg_variables_and_terraform_flags_after_double_dash() {
    let tree = fixture("detailed-exitcode/changes");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ralf"));
    cmd.args(["run-all", "--", "plan", "-detailed-exitcode"])
        .current_dir(&tree.root)
        .env("TG_TF_PATH", terraform())
        .env("TERRAGRUNT_PARALLELISM", "1");
    for (k, v) in tree.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ralf starts");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("Exit code 2 (success, changes present)"));
}

#[test]
fn terraform_flags_given_before_double_dash_pass_through() {
    let tree = fixture("detailed-exitcode/changes");
    let tf = terraform();
    let out = ralf(
        &tree,
        &["run", "--all", "--tf-path", &tf, "apply", "-auto-approve"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = ralf(
        &tree,
        &[
            "run",
            "--all",
            "--tf-path",
            &tf,
            "plan",
            "-detailed-exitcode",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "no changes left: {}",
        text(&out.stdout)
    );
}

#[test]
fn a_cycle_is_reported_on_stderr_with_exit_code_one() {
    let tree = fixture("cycle/aba");
    let out = ralf(&tree, &["run", "--all", "--tf-path", "terraform", "plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Found a dependency cycle between modules: a -> b -> a"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn graph_prints_waves_as_text_dot_and_mermaid() {
    let tree = fixture("destroy-order");
    let out = ralf(&tree, &["graph"]);
    let t = text(&out.stdout);
    assert!(
        t.starts_with(
            "Wave 1: app/module-a, app/module-c\nWave 2: app/module-b, app/module-d\nWave 3: app/module-e\n"
        ),
        "{t}"
    );
    let out = ralf(&tree, &["graph", "--format", "dot"]);
    let t = text(&out.stdout);
    assert!(t.starts_with("digraph {"), "{t}");
    assert!(t.contains("\t\"app/module-b\" -> \"app/module-a\";"), "{t}");
    let out = ralf(&tree, &["graph", "--format", "mermaid"]);
    let t = text(&out.stdout);
    assert!(t.starts_with("flowchart TD\n"), "{t}");
    assert!(t.contains("subgraph wave3 [\"Wave 3\"]"), "{t}");
}

#[test]
fn help_documents_the_plan_out_dir() {
    let tree = fixture("cycle/aa");
    let out = ralf(&tree, &["run", "--help"]);
    let t = text(&out.stdout);
    assert!(t.contains("--out-dir <DIR>"), "{t}");
    assert!(t.contains("--queue-exclude-dir"), "{t}");
}

#[test]
fn report_file_lists_each_unit_with_terragrunt_result_reason_and_cause() {
    let tree = fixture("fail-fast");
    let tf = terraform();
    let report = tree.path("report.json");
    let out = ralf(
        &tree,
        &[
            "run",
            "--all",
            "--tf-path",
            &tf,
            "--report-file",
            &report.display().to_string(),
            "apply",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written"))
            .expect("JSON");
    let row = |name: &str| {
        rows.as_array()
            .and_then(|r| r.iter().find(|x| x["Name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no row for {name}: {rows}"))
    };
    assert_eq!(row("failing-unit")["Result"], "failed");
    assert_eq!(row("failing-unit")["Reason"], "run error");
    assert_eq!(row("depends-on-failing")["Result"], "early exit");
    assert_eq!(row("depends-on-failing")["Reason"], "ancestor error");
    assert_eq!(row("depends-on-failing")["Cause"], "failing-unit");
    assert_eq!(row("succeeding-unit")["Result"], "succeeded");
    assert!(row("succeeding-unit")["Started"]
        .as_str()
        .is_some_and(|s| s.contains('T')));
}
