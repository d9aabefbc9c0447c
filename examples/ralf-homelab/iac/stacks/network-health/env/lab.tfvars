# lab: pve-sim's lab of real LXC containers (`ralf demo --lab`). Every target is the lab bridge's
# own address 198.18.0.1 (198.18.0.0/15 exists only on that bridge: no NAT, no route off the
# machine), where `ralf demo --lab` serves the same stand-ins as in sim (runner/src/standins.rs),
# on ports it picks free and passes through RALF_GATEKEEPER_* (../terragrunt.hcl): dns_port,
# ntp_port, reverse_proxy_url and observability_url are not set here.
gateway    = "198.18.0.1"
dns_server = "198.18.0.1"
dns_name   = "pve.ralf.lab"
ntp_server = "198.18.0.1"
