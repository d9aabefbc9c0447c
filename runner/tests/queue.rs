//! Discovery, graph and queue behaviour: cycles, missing dependencies, hidden directories, a
//! root `terragrunt.hcl`, destroy order, fail-fast and early exits, and the aggregate
//! `-detailed-exitcode` (reference 1.20 rows 6, 12, 13, 14, 15, 17).

mod common;

use common::{fixture, resource_count};
use ralf_runner::{run, RunError, UnitResult};

#[test]
fn every_kind_of_cycle_is_refused_naming_the_cycle() {
    for (case, expected) in [
        ("aa", "a -> a"),
        ("aba", "a -> b -> a"),
        ("abca", "a -> b -> c -> a"),
    ] {
        let tree = fixture(&format!("cycle/{case}"));
        match run(&tree.opts(".", "plan")) {
            Err(RunError::Graph(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("Found a dependency cycle between modules"),
                    "{msg}"
                );
                assert!(msg.contains(expected), "{case}: {msg}");
            }
            other => panic!("{case}: expected a cycle error, got {other:?}"),
        }
    }
}

#[test]
fn a_missing_dependency_path_stops_the_run_before_anything_starts() {
    let tree = fixture("missing-dependency");
    let err = run(&tree.opts(".", "plan")).expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.contains("not-there"), "{msg}");
    assert!(msg.contains("has no terragrunt.hcl"), "{msg}");
}

#[test]
fn hidden_directories_are_discovered_but_terragrunt_cache_is_not() {
    let tree = fixture("hidden-runall");
    let s = run(&tree.opts(".", "apply")).expect("run starts");
    let names: Vec<&str> = s.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        vec![".cloud/terraform/app1", ".cloud/terraform/app2"]
    );
    assert_eq!(s.exit_code, 0, "{s:#?}");
}

#[test]
fn a_root_terragrunt_hcl_excluded_with_dot_leaves_exactly_the_three_children() {
    let tree = fixture("root-terragrunt-hcl");
    let mut opts = tree.opts(".", "apply");
    opts.queue_exclude_dirs = vec![".".into()];
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    let succeeded: Vec<&str> = s
        .units
        .iter()
        .filter(|u| u.result == UnitResult::Succeeded)
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(succeeded, vec!["bar", "baz", "foo"]);
    assert!(matches!(
        s.unit(".").map(|u| &u.result),
        Some(UnitResult::Excluded { .. })
    ));
    // The root's generated backend keys the state by path_relative_to_include().
    for u in ["bar", "baz", "foo"] {
        let state = tree.path(&format!(".state/{u}/terraform.tfstate"));
        assert_eq!(
            common::state_output(&state, "from_root"),
            serde_json::json!("root")
        );
    }
}

#[test]
fn a_root_terragrunt_hcl_is_itself_a_unit_when_not_excluded_and_ralf_warns() {
    let tree = fixture("root-terragrunt-hcl");
    let s = run(&tree.opts(".", "validate")).expect("run starts");
    let names: Vec<&str> = s.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec![".", "bar", "baz", "foo"]);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains("--queue-exclude-dir=."),
        "{}",
        s.warnings[0]
    );
}

#[test]
fn destroy_and_apply_destroy_run_dependents_before_their_dependencies() {
    let tree = fixture("destroy-order");
    let s = run(&tree.opts(".", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    let started = |s: &ralf_runner::RunSummary, m: &str| {
        s.unit(&format!("app/module-{m}"))
            .and_then(|u| u.started)
            .unwrap_or_else(|| panic!("module-{m} did not start"))
    };
    assert!(started(&s, "a") < started(&s, "b"), "apply: a before b");

    for (command, args) in [("destroy", vec![]), ("apply", vec!["-destroy".to_string()])] {
        let mut opts = tree.opts(".", command);
        opts.tf_args = args;
        let s = run(&opts).expect("run starts");
        assert_eq!(s.exit_code, 0, "{s:#?}");
        assert!(started(&s, "b") < started(&s, "a"), "{command}: b before a");
        assert!(started(&s, "d") < started(&s, "c"), "{command}: d before c");
        assert!(started(&s, "e") < started(&s, "b"), "{command}: e before b");
        for m in ["a", "b", "c", "d", "e"] {
            let state = tree.path(&format!("app/module-{m}/terraform.tfstate"));
            assert_eq!(resource_count(&state), 0, "{command}: module-{m} destroyed");
        }
        // Re-create for the next round.
        let s = run(&tree.opts(".", "apply")).expect("run starts");
        assert_eq!(s.exit_code, 0, "{s:#?}");
    }
}

#[test]
fn a_failed_unit_turns_its_dependents_into_early_exits_naming_it() {
    let tree = fixture("fail-fast");
    let s = run(&tree.opts(".", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 1);
    let failing = s.unit("failing-unit").expect("listed");
    assert!(
        matches!(failing.result, UnitResult::Failed { .. }),
        "{failing:#?}"
    );
    assert!(
        failing.output.contains("not-existing-file.txt"),
        "{}",
        failing.output
    );
    assert_eq!(
        s.unit("depends-on-failing").map(|u| &u.result),
        Some(&UnitResult::EarlyExit {
            cause: "failing-unit".into()
        })
    );
    assert_eq!(
        s.unit("succeeding-unit").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
    assert_eq!(
        s.unit("depends-on-succeeding").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
}

#[test]
fn fail_fast_stops_everything_not_yet_started() {
    let tree = fixture("fail-fast");
    let mut opts = tree.opts(".", "apply");
    opts.fail_fast = true;
    opts.parallelism = Some(1);
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 1);
    assert!(matches!(
        s.unit("failing-unit").map(|u| &u.result),
        Some(UnitResult::Failed { .. })
    ));
    for u in ["depends-on-failing", "depends-on-succeeding"] {
        assert!(
            matches!(
                s.unit(u).map(|u| &u.result),
                Some(UnitResult::EarlyExit { .. })
            ),
            "{u}: {:?}",
            s.unit(u)
        );
    }
}

#[test]
fn queue_ignore_errors_runs_dependents_of_a_failed_unit() {
    let tree = fixture("fail-fast");
    let mut opts = tree.opts(".", "apply");
    opts.queue_ignore_errors = true;
    let s = run(&opts).expect("run starts");
    assert_eq!(
        s.unit("depends-on-failing").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
    assert_eq!(s.exit_code, 1, "the failure still counts");
}

#[test]
fn detailed_exitcode_aggregates_error_over_changes_over_nothing() {
    let changes = fixture("detailed-exitcode/changes");
    let mut opts = changes.opts(".", "plan");
    opts.tf_args = vec!["-detailed-exitcode".into()];
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 2, "{s:#?}");
    assert_eq!(s.unit("app").and_then(|u| u.exit_code), Some(2));

    let s = run(&changes.opts(".", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0);
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 0, "nothing left to change: {s:#?}");

    let error = fixture("detailed-exitcode/error");
    let mut opts = error.opts(".", "plan");
    opts.tf_args = vec!["-detailed-exitcode".into()];
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 1, "an error wins over changes: {s:#?}");
    let broken = s.unit("broken").expect("listed");
    assert!(
        broken.output.contains("not-existing-file.txt"),
        "{}",
        broken.output
    );
}

#[test]
fn parallelism_one_runs_units_one_at_a_time() {
    let tree = fixture("destroy-order");
    let mut opts = tree.opts(".", "apply");
    opts.parallelism = Some(1);
    let s = run(&opts).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    let mut spans: Vec<(std::time::Duration, std::time::Duration)> = s
        .units
        .iter()
        .map(|u| {
            let start = u.started.expect("started");
            (start, start + u.duration.expect("duration"))
        })
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping units: {spans:?}");
    }
}

#[test]
fn an_exclude_block_drops_the_unit_only_for_its_actions() {
    let tree = fixture("exclude-block");
    let s = run(&tree.opts(".", "apply")).expect("run starts");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert_eq!(
        s.unit("dropped").map(|u| &u.result),
        Some(&UnitResult::Excluded {
            reason: "exclude block".into()
        })
    );
    assert_eq!(
        s.unit("kept").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
    let s = run(&tree.opts(".", "plan")).expect("run starts");
    assert_eq!(
        s.unit("dropped").map(|u| &u.result),
        Some(&UnitResult::Succeeded)
    );
}
