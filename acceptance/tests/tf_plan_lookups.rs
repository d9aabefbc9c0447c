//! Acceptance: the plan-time look-ups of new containers (is the ct_id free, does the template
//! exist, can the storage hold the disk) are made once per provider process, whatever the number
//! of containers; and since they serve the plan only, a ct_id taken between plan and apply still
//! fails clearly at apply.

mod support;

use support::{Sim, UBUNTU};

fn config(count: u32, first_ct_id: u32) -> String {
    let mut tf = format!(
        "terraform {{\n  required_providers {{\n    ralf = {{ source = \"ralf-homelab/ralf\" }}\n  }}\n}}\nprovider \"ralf\" {{\n  api_token = \"{}\"\n}}\n",
        support::TOKEN
    );
    for i in 0..count {
        tf.push_str(&format!(
            "resource \"ralf_lxc_service\" \"s{i}\" {{\n  ct_id    = {}\n  hostname = \"s{i}\"\n  template = \"{UBUNTU}\"\n}}\n",
            first_ct_id + i
        ));
    }
    tf
}

#[test]
fn planning_many_new_containers_looks_up_the_cluster_storages_and_templates_once() {
    let sim = Sim::start();
    let tf = sim.tf(&config(12, 3300));
    sim.clear_stats();
    let run = tf.plan();
    assert_eq!(run.code, 2, "a plan with changes:\n{}", run.all());
    assert_eq!(sim.count("GET /cluster/resources"), 1);
    assert_eq!(sim.count("GET /nodes/{node}/storage"), 1);
    assert_eq!(sim.count("GET /nodes/{node}/storage/{storage}/content"), 1);
    assert_eq!(sim.stats()["total"], 3, "{}", sim.stats());
}

#[test]
fn a_ct_id_taken_between_plan_and_apply_fails_at_apply_naming_the_import() {
    let sim = Sim::start();
    let tf = sim.tf(&config(1, 3400));
    let plan = tf.run(&["plan", "-no-color", "-input=false", "-out=saved.tfplan"]);
    assert_eq!(plan.code, 0, "plan failed:\n{}", plan.all());
    // Someone else creates a container under the planned id.
    let answer = sim.call(
        "POST",
        "/api2/json/nodes/pve/lxc",
        Some(serde_json::json!({
            "vmid": "3400", "ostemplate": UBUNTU, "hostname": "someone-else",
            "rootfs": "local-lvm:8",
        })),
    );
    assert!(answer["data"].as_str().is_some(), "{answer}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sim.containers().iter().all(|c| c["vmid"] != 3400) {
        assert!(
            std::time::Instant::now() < deadline,
            "CT 3400 did not appear"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let apply = tf.run(&["apply", "-no-color", "-input=false", "saved.tfplan"]);
    assert_eq!(apply.code, 1, "the apply fails:\n{}", apply.all());
    let text = apply.flat();
    assert!(text.contains("3400"), "{text}");
    assert!(
        text.contains("terraform import"),
        "says how to adopt it: {text}"
    );
    // The other container is untouched and nothing is in state.
    let cts = sim.containers();
    assert_eq!(cts.len(), 1);
    assert_eq!(cts[0]["hostname"], "someone-else");
    assert!(tf.run(&["state", "list"]).stdout.trim().is_empty());
}
