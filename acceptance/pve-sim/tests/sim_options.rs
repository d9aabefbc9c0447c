//! Networks, devices and the CPU, start-up and OS options as pve-container takes them
//! (`src/PVE/LXC/Config.pm`: `$netconf_desc`, `$dev_desc`, `$confdesc`, `update_pct_config`,
//! `print_lxc_network`, `check_type`).

mod sim_support;

use serde_json::Value;
use sim_support::TestSim;

fn without_hwaddr(net: &Value) -> String {
    net.as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.starts_with("hwaddr="))
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn several_networks_read_back_reprinted_with_every_option() {
    let t = TestSim::start().await;
    assert_eq!(
        t.create_ct(
            700,
            &[
                ("net0", "bridge=vmbr0,name=eth0,ip=10.0.0.5/24,gw=10.0.0.1,firewall=1"),
                (
                    "net1",
                    "name=eth1,bridge=vmbr1,ip=dhcp,ip6=auto,tag=40,mtu=1400,rate=12.5,hwaddr=aa:bb:cc:dd:ee:ff",
                ),
                (
                    "net7",
                    "name=storage,bridge=vmbr2,ip6=fd00::7/64,gw6=fd00::1,link_down=1",
                ),
            ],
        )
        .await,
        "OK"
    );
    let config = t.config(700).await;
    assert_eq!(
        without_hwaddr(&config["net0"]),
        "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,ip=10.0.0.5/24,type=veth"
    );
    assert!(
        config["net0"]
            .as_str()
            .is_some_and(|n| n.contains(",hwaddr=BC:24:11:")),
        "{}",
        config["net0"]
    );
    assert_eq!(
        config["net1"],
        "name=eth1,bridge=vmbr1,hwaddr=aa:bb:cc:dd:ee:ff,ip=dhcp,ip6=auto,mtu=1400,rate=12.5,tag=40,type=veth"
    );
    assert_eq!(
        without_hwaddr(&config["net7"]),
        "name=storage,bridge=vmbr2,gw6=fd00::1,ip6=fd00::7/64,link_down=1,type=veth"
    );
}

#[tokio::test]
async fn a_generated_mac_address_stays_when_the_network_is_changed_with_it() {
    let t = TestSim::start().await;
    t.create_ct(701, &[("net0", "name=eth0,bridge=vmbr0,ip=dhcp")])
        .await;
    let net0 = t.config(701).await["net0"]
        .as_str()
        .expect("net0")
        .to_string();
    let hwaddr = net0
        .split(',')
        .find_map(|p| p.strip_prefix("hwaddr="))
        .expect("generated hwaddr")
        .to_string();
    let answer = t
        .api(
            "PUT",
            "/nodes/pve/lxc/701/config",
            &[(
                "net0",
                &format!("name=eth0,bridge=vmbr0,ip=dhcp,tag=10,hwaddr={hwaddr}"),
            )],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(t.config(701).await["net0"]
        .as_str()
        .is_some_and(|n| n.contains(&format!("hwaddr={hwaddr},"))));
}

#[tokio::test]
async fn network_values_proxmox_refuses() {
    let t = TestSim::start().await;
    t.create_ct(702, &[]).await;
    let mtu = t
        .api(
            "PUT",
            "/nodes/pve/lxc/702/config",
            &[("net1", "name=eth1,bridge=vmbr0,mtu=9000")],
        )
        .await;
    assert_eq!(mtu.status, 500);
    assert_eq!(
        mtu.message(),
        "net1: MTU size '9000' is bigger than bridge MTU '1500'\n"
    );
    let slaac = t
        .api(
            "PUT",
            "/nodes/pve/lxc/702/config",
            &[("net1", "name=eth1,bridge=vmbr0,ip6=auto,host-managed=1")],
        )
        .await;
    assert_eq!(
        slaac.message(),
        "net1: SLAAC is not supported for host-managed network configuration.\n"
    );
    let index = t
        .api(
            "PUT",
            "/nodes/pve/lxc/702/config",
            &[("net32", "name=eth32,bridge=vmbr0")],
        )
        .await;
    assert_eq!(index.status, 400);
    assert_eq!(
        index.error("net32"),
        "property is not defined in schema and the schema does not allow additional properties"
    );
    let tag = t
        .api(
            "PUT",
            "/nodes/pve/lxc/702/config",
            &[("net1", "name=eth1,bridge=vmbr0,tag=4095")],
        )
        .await;
    assert_eq!(tag.status, 400, "{:?}", tag.body);
    let no_name = t
        .api(
            "PUT",
            "/nodes/pve/lxc/702/config",
            &[("net1", "bridge=vmbr0")],
        )
        .await;
    assert_eq!(no_name.status, 400, "{:?}", no_name.body);
}

#[tokio::test]
async fn cpu_startup_timezone_and_ostype_are_stored_as_given_and_typed_on_read() {
    let t = TestSim::start().await;
    assert_eq!(
        t.create_ct(
            703,
            &[
                ("cpulimit", "2"),
                ("cpuunits", "2048"),
                ("startup", "order=2,up=30,down=60"),
                ("timezone", "Europe/Berlin"),
                ("ostype", "ubuntu"),
            ],
        )
        .await,
        "OK"
    );
    let config = t.config(703).await;
    assert_eq!(config["cpulimit"], Value::from("2"));
    assert_eq!(config["cpuunits"], Value::from(2048));
    assert_eq!(config["startup"], "order=2,up=30,down=60");
    assert_eq!(config["timezone"], "Europe/Berlin");
    assert_eq!(config["ostype"], "ubuntu");
    let bad = t
        .api(
            "PUT",
            "/nodes/pve/lxc/703/config",
            &[("startup", "order=first")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.error("startup"),
        "invalid format - unable to parse startup options\n"
    );
    let fraction = t
        .api("PUT", "/nodes/pve/lxc/703/config", &[("cpuunits", "1.5")])
        .await;
    assert_eq!(fraction.status, 400);
    assert_eq!(
        fraction.error("cpuunits"),
        "type check ('integer') failed - got '1.5'"
    );
    let limit = t
        .api("PUT", "/nodes/pve/lxc/703/config", &[("cpulimit", "0.5")])
        .await;
    assert_eq!(limit.status, 200);
    assert_eq!(t.config(703).await["cpulimit"], Value::from("0.5"));
}

#[tokio::test]
async fn devices_read_back_verbatim_with_every_option() {
    let t = TestSim::start().await;
    t.create_ct(704, &[]).await;
    let answer = t
        .as_root(
            "PUT",
            "/nodes/pve/lxc/704/config",
            &[
                ("dev0", "path=/dev/dri/renderD128,mode=0666,uid=0,gid=104"),
                ("dev1", "/dev/nvidia0,deny-write=1"),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let config = t.config(704).await;
    assert_eq!(
        config["dev0"],
        "path=/dev/dri/renderD128,mode=0666,uid=0,gid=104"
    );
    assert_eq!(config["dev1"], "/dev/nvidia0,deny-write=1");
}
