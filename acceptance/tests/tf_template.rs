//! Acceptance: `ralf_template` with the real `terraform` against an embedded `pve-sim`: a
//! missing template is downloaded and a container is made from its `volume_id`; import; destroy
//! keeps the file unless asked; a failed download leaves state consistent; bad names and
//! storages are plan errors.

mod support;

use support::{Sim, DEBIAN, UBUNTU};

const DEBIAN_FILE: &str = "debian-12-standard_12.7-1_amd64.tar.zst";
const UBUNTU_FILE: &str = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst";

fn provider() -> String {
    format!(
        "terraform {{\n  required_providers {{\n    ralf = {{ source = \"ralf-homelab/ralf\" }}\n  }}\n}}\nprovider \"ralf\" {{\n  api_token = \"{}\"\n}}\n",
        support::TOKEN
    )
}

fn template(name: &str, file: &str, body: &str) -> String {
    format!("\nresource \"ralf_template\" \"{name}\" {{\n  template = \"{file}\"\n{body}}}\n")
}

const CONTAINER_FROM_DEBIAN: &str = r#"
resource "ralf_lxc_service" "app" {
  ct_id    = 3100
  hostname = "app"
  template = ralf_template.debian.volume_id
}
"#;

/// The template volume ids on `local`.
fn templates_on_local(sim: &Sim) -> Vec<String> {
    sim.call(
        "GET",
        "/api2/json/nodes/pve/storage/local/content?content=vztmpl",
        None,
    )["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v["volid"].as_str().map(str::to_string))
        .collect()
}

/// Removes the templates from the simulated node (pve-sim's `DELETE /sim/templates/{name}`), so
/// the provider has to download them.
fn set_missing(sim: &Sim, volids: &[&str]) {
    for volid in volids {
        let file = volid.rsplit('/').next().unwrap_or(volid);
        sim.call("DELETE", &format!("/sim/templates/{file}"), None);
    }
}

fn state_list(tf: &support::TfDir) -> String {
    tf.run(&["state", "list"]).stdout
}

#[test]
fn a_missing_template_is_downloaded_and_a_container_is_made_from_its_volume_id() {
    let sim = Sim::start();
    set_missing(&sim, &[DEBIAN]);
    assert!(!templates_on_local(&sim).contains(&DEBIAN.to_string()));
    let tf = sim.tf(&format!(
        "{}{}{CONTAINER_FROM_DEBIAN}",
        provider(),
        template("debian", DEBIAN_FILE, "")
    ));
    let plan = tf.plan();
    assert_eq!(plan.code, 2, "a plan with changes:\n{}", plan.all());
    assert!(
        plan.all().lines().any(|l| {
            let l = l.trim();
            l.starts_with("+ template ") && l.ends_with(&format!("= \"{DEBIAN}\""))
        }),
        "the container's template is known at plan time:\n{}",
        plan.all()
    );
    tf.apply_ok();
    assert!(templates_on_local(&sim).contains(&DEBIAN.to_string()));
    let downloads = sim
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["pattern"] == "/nodes/{node}/aplinfo")
        .count();
    assert_eq!(downloads, 1, "one download request");
    let cts = sim.containers();
    assert_eq!(cts.len(), 1);
    assert_eq!(cts[0]["vmid"], 3100);
    assert_eq!(tf.output_or_state_volume(), DEBIAN);
    tf.assert_no_changes();

    // Destroy keeps the file: other containers may use it.
    tf.destroy_ok();
    assert!(sim.containers().is_empty());
    assert!(templates_on_local(&sim).contains(&DEBIAN.to_string()));
}

/// Reads `ralf_template.debian.volume_id` from the state.
trait VolumeOfState {
    fn output_or_state_volume(&self) -> String;
}

impl VolumeOfState for support::TfDir {
    fn output_or_state_volume(&self) -> String {
        let run = self.run(&["show", "-json", "-no-color"]);
        let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("show -json");
        shown["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .find(|r| r["type"] == "ralf_template")
            .and_then(|r| r["values"]["volume_id"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

#[test]
fn a_template_already_on_the_storage_is_imported_and_then_plans_no_changes() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{}{}",
        provider(),
        template("ubuntu", UBUNTU_FILE, "")
    ));
    let run = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "ralf_template.ubuntu",
        &format!("pve/local/{UBUNTU_FILE}"),
    ]);
    assert_eq!(run.code, 0, "import failed:\n{}", run.all());
    assert_eq!(tf.output_or_state_volume(), UBUNTU);
    tf.assert_no_changes();
    // An import id of the wrong shape says what to write.
    let bad = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "ralf_template.ubuntu",
        "pve/local",
    ]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.flat().contains("<node>/<storage>/<template>"),
        "{}",
        bad.all()
    );
}

#[test]
fn a_failed_download_names_the_task_log_and_leaves_nothing_in_state() {
    let sim = Sim::start();
    set_missing(&sim, &[DEBIAN]);
    sim.call(
        "POST",
        "/sim/faults",
        Some(serde_json::json!({ "endpoint": "POST /nodes/{node}/aplinfo", "kind": "task_fail", "count": 1 })),
    );
    let tf = sim.tf(&format!(
        "{}{}",
        provider(),
        template("debian", DEBIAN_FILE, "")
    ));
    let run = tf.apply();
    assert_eq!(run.code, 1, "the apply fails:\n{}", run.all());
    let text = run.flat();
    assert!(text.contains("Unable to download template"), "{text}");
    assert!(text.contains("download failed"), "Proxmox's reason: {text}");
    assert!(
        text.contains("pvenode task log UPID:pve:"),
        "names the task log: {text}"
    );
    assert!(state_list(&tf).trim().is_empty(), "nothing in state");
    assert!(!templates_on_local(&sim).contains(&DEBIAN.to_string()));
    // With the fault gone, the next apply downloads it and the plan is empty.
    tf.apply_ok();
    assert!(templates_on_local(&sim).contains(&DEBIAN.to_string()));
    tf.assert_no_changes();
}

#[test]
fn an_unknown_template_is_a_plan_error_naming_near_matches() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{}{}",
        provider(),
        template("debian", "debian-12-standard_12.2-1_amd64.tar.zst", "")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "plan error:\n{}", run.all());
    let text = run.flat();
    assert!(text.contains("Unknown template"), "{text}");
    assert!(
        text.contains(DEBIAN_FILE),
        "the near match is named: {text}"
    );
    assert!(
        text.contains("ralf_template.debian"),
        "at its resource: {text}"
    );
}

#[test]
fn a_storage_without_template_content_is_a_plan_error() {
    let sim = Sim::start();
    let tf = sim.tf(&format!(
        "{}{}",
        provider(),
        template("debian", DEBIAN_FILE, "  storage = \"local-lvm\"\n")
    ));
    let run = tf.plan();
    assert_eq!(run.code, 1, "plan error:\n{}", run.all());
    let text = run.flat();
    assert!(text.contains("Storage cannot hold templates"), "{text}");
    assert!(
        text.contains("\"local\""),
        "names a storage that can: {text}"
    );
}

#[test]
fn delete_on_destroy_removes_the_file_and_a_template_deleted_outside_is_downloaded_again() {
    let sim = Sim::start();
    set_missing(&sim, &[DEBIAN]);
    let tf = sim.tf(&format!(
        "{}{}",
        provider(),
        template("debian", DEBIAN_FILE, "  delete_on_destroy = true\n")
    ));
    tf.apply_ok();
    assert!(templates_on_local(&sim).contains(&DEBIAN.to_string()));
    // Removed behind Terraform's back: refresh drops it, apply downloads it again.
    set_missing(&sim, &[DEBIAN]);
    let plan = tf.plan();
    assert_eq!(plan.code, 2, "the plan recreates it:\n{}", plan.all());
    tf.apply_ok();
    assert!(templates_on_local(&sim).contains(&DEBIAN.to_string()));
    tf.destroy_ok();
    assert!(!templates_on_local(&sim).contains(&DEBIAN.to_string()));
}
