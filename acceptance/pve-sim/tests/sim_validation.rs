//! Parameter validation from Proxmox's schema: 400 `Parameter verification failed.` with the
//! `errors` map for unknown parameters, bad formats and out-of-range values.

mod sim_support;

use sim_support::{TestSim, UBUNTU};

#[tokio::test]
async fn invalid_parameters_get_400_with_the_errors_map() {
    let t = TestSim::start().await;
    let answer = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "400"),
                ("ostemplate", UBUNTU),
                ("cores", "0"),
                ("memory", "8"),
                ("hostname", "bad_name"),
                ("net0", "name=eth0,ip=10.0.0.5"),
                ("colour", "blue"),
                ("onboot", "true"),
                ("tags", "ok;not ok!"),
            ],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.message(), "Parameter verification failed.\n");
    assert_eq!(
        answer.error("cores"),
        "value must have a minimum value of 1"
    );
    assert_eq!(
        answer.error("memory"),
        "value must have a minimum value of 16"
    );
    assert_eq!(
        answer.error("hostname"),
        "invalid format - value does not look like a valid DNS name\n"
    );
    assert_eq!(
        answer.error("net0"),
        "invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"
    );
    assert_eq!(
        answer.error("colour"),
        "property is not defined in schema and the schema does not allow additional properties"
    );
    assert_eq!(
        answer.error("onboot"),
        "type check ('boolean') failed - got 'true'"
    );
    assert_eq!(
        answer.error("tags"),
        "invalid format - invalid characters in tag\n"
    );
}

#[tokio::test]
async fn missing_required_parameters_are_named() {
    let t = TestSim::start().await;
    let answer = t.api("POST", "/nodes/pve/lxc", &[("vmid", "401")]).await;
    assert_eq!(
        answer.error("ostemplate"),
        "property is missing and it is not optional"
    );
}

#[tokio::test]
async fn json_bodies_are_accepted_with_json_booleans() {
    let t = TestSim::start().await;
    let request = t
        .client
        .post(format!("{}api2/json/nodes/pve/lxc", t.base))
        .header("Authorization", sim_support::TOKEN)
        .json(&serde_json::json!({
            "vmid": 402, "ostemplate": UBUNTU, "rootfs": "local-lvm:8", "start": true, "cores": 2
        }));
    let answer = t.send(request).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    t.wait_task("pve", answer.data().as_str().expect("UPID"))
        .await;
    assert_eq!(t.status(402).await["status"], "running");
    assert_eq!(t.config(402).await["cores"], 2);
}
