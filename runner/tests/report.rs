//! `run --all plan --json-out-dir DIR` and `ralf report DIR`: plan JSON per unit
//! (`DIR/<unit>/tfplan.json`), rendered into one pull-request comment, checked against an expected
//! Markdown file; failed units, drift, output changes, the destroy banner and the marker.

mod common;

use common::fixture;
use ralf_runner::report::{read_plan_dir, render_markdown, UnitPlan};
use ralf_runner::run;
use std::path::Path;

fn normalise_ids(md: &str) -> String {
    let re = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("static regex");
    re.replace_all(md, "<id>").into_owned()
}

#[test]
fn plan_out_dir_and_report_render_creates_changes_and_replacements_as_expected() {
    let tree = fixture("report");
    let s = run(&tree.opts(".", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    std::fs::copy(tree.path("app-v2.tf.txt"), tree.path("app/main.tf")).expect("switch to v2");

    let plans = tree.path("plans");
    let mut opts = tree.opts(".", "plan");
    opts.json_out_dir = Some(plans.clone());
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert!(plans.join("app/tfplan.json").is_file());
    assert!(plans.join("stable/tfplan.json").is_file());
    let app = s.unit("app").expect("app planned");
    assert_eq!(
        app.counts.map(|c| (c.add, c.change, c.destroy)),
        Some((3, 1, 1)),
        "two creates and one replacement add 3, the replacement destroys 1, one update"
    );

    let md = normalise_ids(&render_markdown(
        &read_plan_dir(&plans).expect("plans read"),
    ));
    assert!(
        !md.contains("hunter2"),
        "sensitive values must never be shown"
    );
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-expected.md");
    if std::env::var_os("RALF_UPDATE_EXPECTED").is_some() {
        std::fs::write(&expected_path, &md).expect("update expected file");
    }
    let expected = std::fs::read_to_string(&expected_path).expect("expected Markdown file");
    assert_eq!(
        md,
        expected,
        "rendered comment differs from {}",
        expected_path.display()
    );

    // The binary writes the same comment to a file.
    let out_file = tree.path("comment.md");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args([
            "report",
            &plans.display().to_string(),
            "--output",
            &out_file.display().to_string(),
        ])
        .status()
        .expect("ralf starts");
    assert!(status.success());
    let written = std::fs::read_to_string(&out_file).expect("comment written");
    assert_eq!(normalise_ids(&written), expected);
}

#[test]
fn snapshot_resources_and_rollback_triggers_are_called_out_and_sensitive_values_hidden() {
    let plan = serde_json::json!({
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "ralf_snapshot.pre_install", "mode": "managed",
                "type": "ralf_snapshot", "name": "pre_install",
                "change": {
                    "actions": ["update"],
                    "before": {"ct_id": 3010, "name": "pre-install", "rollback_trigger": "1"},
                    "after": {"ct_id": 3010, "name": "pre-install", "rollback_trigger": "2"},
                    "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}
                }
            },
            {
                "address": "ralf_lxc_service.vaultwarden", "mode": "managed",
                "type": "ralf_lxc_service", "name": "vaultwarden",
                "change": {
                    "actions": ["update"],
                    "before": {"memory": 1024, "password": "old-secret"},
                    "after": {"memory": 2048, "password": "new-secret"},
                    "after_unknown": {},
                    "before_sensitive": {"password": true},
                    "after_sensitive": {"password": true}
                }
            }
        ]
    });
    let md = render_markdown(&[UnitPlan {
        unit: "stacks/vaultwarden-fz".into(),
        plan,
    }]);
    assert!(
        md.contains("### :rotating_light: Rollbacks on apply"),
        "{md}"
    );
    assert!(
        md.contains("`ralf_snapshot.pre_install` `rollback_trigger` changes to \"2\": applying rolls container 3010 back to snapshot \"pre-install\""),
        "{md}"
    );
    assert!(
        md.contains("### :camera: Snapshot changes (`ralf_snapshot`)"),
        "{md}"
    );
    assert!(md.contains("memory: 1024 -> 2048"), "{md}");
    assert!(
        !md.contains("old-secret") && !md.contains("new-secret"),
        "{md}"
    );
    assert!(
        md.contains("password: \"(sensitive value)\" -> \"(sensitive value)\""),
        "a changed sensitive attribute is listed without its values: {md}"
    );
}

fn plan_with(extra: serde_json::Value) -> serde_json::Value {
    let mut plan = serde_json::json!({"format_version": "1.2", "resource_changes": []});
    if let (Some(p), Some(e)) = (plan.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    plan
}

#[test]
fn drift_and_output_changes_are_listed_with_sensitive_outputs_hidden() {
    let plan = plan_with(serde_json::json!({
        "resource_drift": [{
            "address": "ralf_lxc_service.gitea", "mode": "managed", "type": "ralf_lxc_service",
            "name": "gitea",
            "change": {"actions": ["update"], "before": {"memory": 1024}, "after": {"memory": 4096},
                       "after_unknown": {}}
        }],
        "output_changes": {
            "ip": {"actions": ["update"], "before": "10.0.0.5", "after": "10.0.0.6",
                   "after_unknown": false, "before_sensitive": false, "after_sensitive": false},
            "token": {"actions": ["update"], "before": "old-token", "after": "new-token",
                      "after_unknown": false, "before_sensitive": true, "after_sensitive": true},
            "same": {"actions": ["no-op"], "before": 1, "after": 1}
        }
    }));
    let md = render_markdown(&[UnitPlan {
        unit: "stacks/gitea".into(),
        plan,
    }]);
    assert!(
        md.contains("### :mag: Changes outside Terraform (drift)"),
        "{md}"
    );
    assert!(
        md.contains("- `stacks/gitea` `ralf_lxc_service.gitea`: update in place"),
        "{md}"
    );
    assert!(md.contains("### Output changes"), "{md}");
    assert!(
        md.contains("- `stacks/gitea` `output.ip`: \"10.0.0.5\" -> \"10.0.0.6\""),
        "{md}"
    );
    assert!(
        md.contains("`output.token`: (sensitive value) -> (sensitive value)"),
        "{md}"
    );
    assert!(
        !md.contains("old-token") && !md.contains("new-token"),
        "{md}"
    );
    assert!(!md.contains("output.same"), "{md}");
    assert!(!md.contains(":boom:"), "no banner without destroys: {md}");
}

#[test]
fn destroys_raise_a_banner_and_fail_on_destroy_exits_3_with_the_comment_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    let unit_dir = tmp.path().join("plans/stacks/old");
    std::fs::create_dir_all(&unit_dir).expect("dirs");
    let plan = plan_with(serde_json::json!({"resource_changes": [{
        "address": "terraform_data.old", "mode": "managed", "type": "terraform_data", "name": "old",
        "change": {"actions": ["delete"], "before": {"input": "x"}, "after": null, "after_unknown": {}}
    }]}));
    std::fs::write(unit_dir.join("tfplan.json"), plan.to_string()).expect("write plan");
    let comment = tmp.path().join("comment.md");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "report".to_string(),
            tmp.path().join("plans").display().to_string(),
            "--output".into(),
            comment.display().to_string(),
            "--marker".into(),
            "ralf-plan-prod".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        std::process::Command::new(env!("CARGO_BIN_EXE_ralf"))
            .args(args)
            .status()
            .expect("ralf starts")
    };
    assert_eq!(run(&[]).code(), Some(0));
    assert_eq!(run(&["--fail-on-destroy"]).code(), Some(3));
    let md = std::fs::read_to_string(&comment).expect("comment written");
    assert!(md.starts_with("<!-- ralf-plan-prod -->\n"), "{md}");
    assert!(
        md.contains("> :boom: **This plan destroys 1 resource.**"),
        "{md}"
    );
    assert!(md.contains("| `stacks/old` | 0 | 0 | 1 | 0 |"), "{md}");
}
