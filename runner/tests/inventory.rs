//! `ralf inventory`: hosts.yml and runtime.env from the units' outputs in their (local) state,
//! the units that are not hosts, and the errors before anything is applied.

use std::path::Path;
use std::process::Command;

fn unit(tree: &Path, name: &str, outputs: Option<serde_json::Value>) {
    let dir = tree.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("terragrunt.hcl"), "# a unit\n").unwrap();
    if let Some(outputs) = outputs {
        let outputs: serde_json::Map<String, serde_json::Value> = outputs
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::json!({ "value": v, "type": "string" }),
                )
            })
            .collect();
        let state = serde_json::json!({
            "version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "x",
            "outputs": outputs, "resources": []
        });
        std::fs::write(dir.join("terraform.tfstate"), state.to_string()).unwrap();
    }
}

fn inventory(tree: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args(["inventory", "--working-dir"])
        .arg(tree)
        .output()
        .expect("ralf starts")
}

#[test]
fn inventory_writes_every_applied_service_into_its_group_and_skips_units_without_an_address() {
    let tree = tempfile::tempdir().unwrap();
    unit(
        tree.path(),
        "stacks/gitea-fz",
        Some(serde_json::json!({
            "address": "10.10.20.20", "hostname": "gitea", "service": "gitea",
            "group": "base", "ct_id": 2020, "port": 3000
        })),
    );
    unit(
        tree.path(),
        "stacks/exo-fz",
        Some(serde_json::json!({
            "address": "10.10.100.10", "hostname": "exo", "service": "exo",
            "group": "ai", "ct_id": 10010, "port": 52415
        })),
    );
    unit(
        tree.path(),
        "stacks/network-health",
        Some(serde_json::json!({})),
    );
    let out = inventory(tree.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("(2 hosts)"), "{stdout}");
    assert!(stdout.contains("  ai: exo\n  base: gitea\n"), "{stdout}");
    assert!(
        stdout.contains("not hosts: stacks/network-health"),
        "{stdout}"
    );

    let dir = tree.path().join("ansible/inventory");
    let hosts: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("hosts.yml")).unwrap()).unwrap();
    let exo = &hosts["all"]["children"]["ai"]["hosts"]["exo"];
    assert_eq!(exo["ansible_host"], "10.10.100.10");
    assert_eq!(exo["ralf_ct_id"], 10010);
    assert_eq!(exo["ralf_zone"], "fz");
    let env = std::fs::read_to_string(dir.join("runtime.env")).unwrap();
    assert!(
        env.contains("\nEXO_IP=10.10.100.10\nEXO_PORT=52415\nGITEA_IP=10.10.20.20\n"),
        "{env}"
    );
}

#[test]
fn inventory_before_any_apply_says_to_apply_first_and_writes_nothing() {
    let tree = tempfile::tempdir().unwrap();
    unit(tree.path(), "stacks/gitea-fz", None);
    let out = inventory(tree.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("run `ralf run --all apply` first"),
        "{stderr}"
    );
    assert!(!tree.path().join("ansible").exists());
}

#[test]
fn a_host_missing_its_group_output_is_refused_naming_the_unit() {
    let tree = tempfile::tempdir().unwrap();
    unit(
        tree.path(),
        "stacks/gitea-fz",
        Some(serde_json::json!({ "address": "10.10.20.20", "hostname": "gitea", "ct_id": 2020 })),
    );
    let out = inventory(tree.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stacks/gitea-fz") && stderr.contains("`group`"),
        "{stderr}"
    );
}
