# lab: pve-sim's lab of real LXC containers (`ralf demo --lab`). Every target is the lab bridge's
# own address 198.18.0.1 (198.18.0.0/15 exists only on that bridge: no NAT, no route off the
# machine), where `ralf demo --lab` serves the same stand-ins as in sim (runner/src/standins.rs).
gateway           = "198.18.0.1"
dns_server        = "198.18.0.1"
dns_port          = 5353
dns_name          = "pve.ralf.lab"
ntp_server        = "198.18.0.1"
ntp_port          = 1123
reverse_proxy_url = "http://198.18.0.1:8080/"
observability_url = "http://198.18.0.1:9090/-/healthy"
