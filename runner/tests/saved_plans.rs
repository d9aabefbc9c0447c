//! `--out-dir` and `--json-out-dir` with Terragrunt's layouts: `plan` saves
//! `<dir>/<unit>/tfplan.tfplan` (and `tfplan.json`), `apply --out-dir` applies exactly those plans
//! in dependency order, and a plan that is stale or missing fails its unit with a clear error.

mod common;

use common::{fixture, resource_count};
use ralf_runner::{run, UnitResult};

#[test]
fn plan_saves_binary_and_json_plans_per_unit_and_apply_applies_exactly_them() {
    let tree = fixture("saved-plans");
    let plans = tree.path("plans");
    let json = tree.path("json");
    let mut opts = tree.opts(".", "plan");
    opts.plan_out_dir = Some(plans.clone());
    opts.json_out_dir = Some(json.clone());
    let s = run(&opts).expect("plan runs");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    for unit in ["net", "app"] {
        assert!(plans.join(unit).join("tfplan.tfplan").is_file(), "{unit}");
        assert!(json.join(unit).join("tfplan.json").is_file(), "{unit}");
        assert!(!json.join(unit).join("tfplan.tfplan").exists(), "{unit}");
    }
    // Changing the code after review does not change what gets applied.
    std::fs::write(
        tree.path("app/main.tf"),
        "resource \"terraform_data\" \"app\" {\n  input = \"app-v2\"\n}\nresource \"terraform_data\" \"extra\" {}\n",
    )
    .expect("edit app");

    let mut opts = tree.opts(".", "apply");
    opts.plan_out_dir = Some(plans.clone());
    let s = run(&opts).expect("apply runs");
    assert_eq!(s.exit_code, 0, "{s:#?}");
    assert_eq!(resource_count(&tree.path("net/terraform.tfstate")), 1);
    assert_eq!(
        resource_count(&tree.path("app/terraform.tfstate")),
        1,
        "the reviewed plan (one resource) was applied, not the edited code"
    );
    let state = std::fs::read_to_string(tree.path("app/terraform.tfstate")).expect("state");
    assert!(
        state.contains("app-v1") && !state.contains("app-v2"),
        "{state}"
    );
    let (net, app) = (s.unit("net").expect("net"), s.unit("app").expect("app"));
    assert!(
        app.started.expect("app ran")
            >= net.started.expect("net ran") + net.duration.expect("net ran"),
        "app's plan is applied after net's"
    );

    // The same plans again: the state moved on, terraform refuses them, per unit.
    let s = run(&opts).expect("apply runs");
    assert_eq!(s.exit_code, 1);
    match &s.unit("net").expect("net").result {
        UnitResult::Failed { error } => assert!(error.contains("Saved plan is stale"), "{error}"),
        other => panic!("a stale plan must fail its unit, got {other:?}"),
    }
}

#[test]
fn apply_with_out_dir_fails_a_unit_whose_plan_is_missing() {
    let tree = fixture("saved-plans");
    let mut opts = tree.opts(".", "apply");
    opts.plan_out_dir = Some(tree.path("no-plans-here"));
    let s = run(&opts).expect("apply runs");
    assert_eq!(s.exit_code, 1);
    match &s.unit("net").expect("net").result {
        UnitResult::Failed { error } => {
            assert!(error.contains("no saved plan at"), "{error}");
            assert!(error.contains("no-plans-here/net/tfplan.tfplan"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.unit("app").expect("app").result,
        UnitResult::EarlyExit { .. }
    ));
    assert_eq!(resource_count(&tree.path("net/terraform.tfstate")), 0);
}
