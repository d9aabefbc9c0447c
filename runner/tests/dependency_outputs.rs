//! Dependency outputs, skip_outputs, mock outputs and the type round trip: the expectations of
//! Terragrunt's `get-output/*` fixtures (reference 1.20 rows 1, 2, 3, 7, 17), re-stated with
//! `terraform_data` units.

mod common;

use common::{fixture, output};
use ralf_runner::{run, UnitResult};
use serde_json::json;

#[test]
fn dependency_outputs_reach_the_dependent_after_run_all_apply() {
    let tree = fixture("dependency-output");
    let summary = run(&tree.opts(".", "apply")).expect("run starts");
    assert_eq!(summary.exit_code, 0, "{summary:#?}");
    assert_eq!(output(&tree.path("app3"), "z"), json!(42));
    let app3 = summary.unit("app3").expect("app3 ran");
    assert_eq!(app3.result, UnitResult::Succeeded);
    assert_eq!(app3.counts.map(|c| c.add), Some(1));
    assert!(
        app3.output.contains("ran `terraform init`"),
        "first run initialises"
    );

    // The second run needs no init and reports no changes.
    let again = run(&tree.opts(".", "plan")).expect("run starts");
    assert_eq!(again.exit_code, 0, "{again:#?}");
    for u in &again.units {
        assert!(
            !u.output.contains("ran `terraform init`"),
            "{} re-initialised",
            u.name
        );
        assert_eq!(
            u.counts.map(|c| c.add + c.change + c.destroy),
            Some(0),
            "{}",
            u.name
        );
    }
}

#[test]
fn plan_before_the_dependency_is_applied_fails_with_not_applied_yet() {
    let tree = fixture("dependency-output");
    let mut opts = tree.opts(".", "plan");
    opts.queue_include_dirs = vec!["app3".into()];
    let summary = run(&opts).expect("run starts");
    assert_eq!(summary.exit_code, 1);
    match &summary.unit("app3").expect("app3 listed").result {
        UnitResult::Failed { error } => {
            assert!(error.contains("has not been applied yet"), "{error}");
            assert!(error.contains("app1"), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn skip_outputs_lets_a_unit_plan_while_its_dependency_is_unapplied() {
    let tree = fixture("dependency-output");
    let mut opts = tree.opts(".", "plan");
    opts.queue_include_dirs = vec!["empty".into()];
    let summary = run(&opts).expect("run starts");
    assert_eq!(
        summary.unit("empty").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
    assert_eq!(summary.exit_code, 0);
}

#[test]
fn mocks_stand_in_before_apply_and_real_outputs_win_after() {
    let tree = fixture("mock-outputs");
    let mut only_dependent1 = tree.opts(".", "apply");
    only_dependent1.queue_include_dirs = vec!["dependent1".into()];
    let s = run(&only_dependent1).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert_eq!(
        output(&tree.path("dependent1"), "truth"),
        json!("The answer is 0")
    );

    let mut all = tree.opts(".", "apply");
    all.queue_exclude_dirs = vec!["dependent2".into()];
    let s = run(&all).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert_eq!(
        output(&tree.path("dependent1"), "truth"),
        json!("The answer is 42")
    );
    // skip_outputs with mocks: always the mocks, even once the source is applied.
    assert_eq!(
        output(&tree.path("dependent3"), "truth"),
        json!("The answer is 0")
    );
}

#[test]
fn mocks_allowed_only_for_validate_fail_apply_but_pass_validate() {
    let tree = fixture("mock-outputs");
    let mut apply = tree.opts(".", "apply");
    apply.queue_include_dirs = vec!["dependent2".into()];
    let s = run(&apply).expect("run starts");
    match &s.unit("dependent2").expect("listed").result {
        UnitResult::Failed { error } => {
            assert!(error.contains("has not been applied yet"), "{error}")
        }
        other => panic!("apply must fail without real outputs, got {other:?}"),
    }

    let mut validate = tree.opts(".", "validate");
    validate.queue_exclude_dirs = vec!["source".into()];
    let s = run(&validate).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert_eq!(
        s.unit("dependent2").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
}

#[test]
fn an_empty_allowed_command_list_allows_mocks_for_every_command_apply_included() {
    let tree = fixture("mock-outputs");
    let mut apply = tree.opts(".", "apply");
    apply.queue_include_dirs = vec!["dependent4".into()];
    let s = run(&apply).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert_eq!(
        output(&tree.path("dependent4"), "truth"),
        json!("The answer is 0")
    );
}

#[test]
fn outputs_keep_their_types_when_they_become_inputs() {
    let tree = fixture("type-conversion");
    let s = run(&tree.opts(".", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    let src = tree.path("source");
    let dst = tree.path("dest");
    for name in [
        "bool",
        "list_bool",
        "list_number",
        "list_string",
        "map_bool",
        "map_number",
        "map_string",
        "number",
        "float",
        "object",
        "string",
    ] {
        assert_eq!(output(&dst, name), output(&src, name), "output {name}");
    }
    assert_eq!(output(&dst, "number"), json!(42));
    assert_eq!(output(&dst, "string"), json!("a string with ${dollar}"));
    assert_eq!(
        output(&dst, "map_number"),
        json!({"bar": 12345678901234u64, "foo": 42})
    );
}

#[test]
fn external_dependencies_are_read_but_not_run() {
    let tree = fixture("external-dependency");
    // Apply the external unit on its own first, as its owners would.
    let s = run(&tree.opts("external", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    let s = run(&tree.opts("live", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    let names: Vec<&str> = s.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["app"]);
    assert_eq!(
        output(&tree.path("live/app"), "ext"),
        json!("from-external")
    );
}
