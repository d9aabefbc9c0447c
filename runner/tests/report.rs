//! `run --all plan --out-dir DIR` and `ralf report DIR`: plan JSON per unit, rendered into one
//! pull-request comment, checked against an expected Markdown file.

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
    opts.plan_json_dir = Some(plans.clone());
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert!(plans.join("app.json").is_file());
    assert!(plans.join("stable.json").is_file());
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
