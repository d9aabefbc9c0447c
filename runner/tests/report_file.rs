//! `--report-file`: valid against Terragrunt's run report v4 schema
//! (tests/fixtures/terragrunt-run-report-v4.schema.json, from gruntwork-io/terragrunt
//! `docs/public/schemas/run/report/v4/schema.json`, MIT), CSV as Terragrunt writes it; and
//! `ralf report --report-file` putting failed and early-exit units in the comment with their error.

mod common;

use common::{fixture, terraform, Tree};
use std::path::Path;
use std::process::Command;

fn ralf(tree: &Tree, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ralf"));
    cmd.args(args)
        .current_dir(&tree.root)
        .env_remove("TF_PLUGIN_CACHE_DIR");
    for (k, v) in tree.env() {
        cmd.env(k, v);
    }
    cmd.output().expect("ralf binary starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A plan over fail-fast (one failing unit, one waiting on it) with one unit excluded, writing
/// plan JSON and a report.
fn failing_plan(tree: &Tree, report: &Path) -> std::process::Output {
    let tf = terraform();
    ralf(
        tree,
        &[
            "run",
            "--all",
            "--tf-path",
            &tf,
            "--json-out-dir",
            "plans",
            "--queue-exclude-dir",
            "depends-on-succeeding",
            "--report-file",
            &report.display().to_string(),
            "plan",
        ],
    )
}

#[test]
fn the_json_report_validates_against_terragrunts_v4_schema() {
    let tree = fixture("fail-fast");
    let report = tree.path("report.json");
    let out = failing_plan(&tree, &report);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terragrunt-run-report-v4.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema")).expect("JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    let errors: Vec<String> = validator
        .iter_errors(&rows)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{rows:#}");
    let results: Vec<(&str, &str)> = rows
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["Name"].as_str().unwrap_or_default(),
                r["Result"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("depends-on-failing", "early exit"),
            ("depends-on-succeeding", "excluded"),
            ("failing-unit", "failed"),
            ("succeeding-unit", "succeeded"),
        ]
    );
}

#[test]
fn the_csv_report_has_terragrunts_columns_and_quotes_errors() {
    let tree = fixture("fail-fast");
    let report = tree.path("report.csv");
    let out = failing_plan(&tree, &report);
    assert_eq!(out.status.code(), Some(1));
    let csv = std::fs::read_to_string(&report).expect("report");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Name,Started,Ended,Result,Reason,Cause"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("CSV row")).collect();
    assert_eq!(rows.len(), 4);
    let failing = rows
        .iter()
        .find(|r| &r[0] == "failing-unit")
        .expect("failing row");
    assert_eq!(&failing[3], "failed");
    assert_eq!(&failing[4], "run error");
    assert!(
        failing[5].contains("plan exited with code 1"),
        "{failing:?}"
    );
}

#[test]
fn report_shows_failed_and_early_exit_units_with_their_error() {
    let tree = fixture("fail-fast");
    let report = tree.path("report.json");
    failing_plan(&tree, &report);
    let out = ralf(
        &tree,
        &[
            "report",
            "plans",
            "--report-file",
            &report.display().to_string(),
        ],
    );
    let md = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(md.starts_with("<!-- ralf-report -->\n"), "{md}");
    assert!(
        md.contains("3 units, 1 with changes, 1 failed, 1 not run"),
        "{md}"
    );
    assert!(md.contains("### :x: Failed and not run"), "{md}");
    let failing = md
        .lines()
        .find(|l| l.starts_with("- `failing-unit` failed: "))
        .unwrap_or_else(|| panic!("no line for the failed unit: {md}"));
    assert!(failing.contains("Error:"), "{failing}");
    assert!(
        md.contains("- `depends-on-failing` early exit: a unit it needs failed: `failing-unit`"),
        "{md}"
    );
    assert!(md.contains("| `failing-unit` | failed |"), "{md}");
}

#[test]
fn report_with_only_failed_units_still_writes_a_comment() {
    let tree = fixture("fail-fast");
    let report = tree.path("report.json");
    let tf = terraform();
    ralf(
        &tree,
        &[
            "run",
            "--all",
            "--tf-path",
            &tf,
            "--json-out-dir",
            "plans",
            "--queue-include-dir",
            "failing-unit",
            "--report-file",
            &report.display().to_string(),
            "plan",
        ],
    );
    let out = ralf(
        &tree,
        &[
            "report",
            "plans",
            "--report-file",
            &report.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("- `failing-unit` failed: "));
}
