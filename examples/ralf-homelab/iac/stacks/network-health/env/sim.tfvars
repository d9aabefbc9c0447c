# sim: pve-sim on loopback. `ralf demo` serves these stand-ins on 127.0.0.x beside its embedded
# pve-sim (runner/src/standins.rs): a DNS responder on dns_server, an SNTP responder on
# ntp_server, and the reverse proxy's and the observability endpoint's HTTP on the gateway's
# address. It picks free ports when it starts, so two demos on one machine never collide, and
# passes them, with the two URLs, through RALF_GATEKEEPER_* (../terragrunt.hcl): dns_port,
# ntp_port, reverse_proxy_url and observability_url are not set here.
gateway    = "127.0.0.1"
dns_server = "127.0.0.53"
dns_name   = "pve.ralf.sim"
ntp_server = "127.0.0.123"
