# sim: pve-sim on loopback. `ralf demo` serves these stand-ins on 127.0.0.x beside its embedded
# pve-sim (runner/src/standins.rs): a DNS responder, an SNTP responder and two HTTP endpoints.
# Unprivileged ports, so the demo needs no root.
gateway           = "127.0.0.1"
dns_server        = "127.0.0.53"
dns_port          = 5353
dns_name          = "pve.ralf.sim"
ntp_server        = "127.0.0.123"
ntp_port          = 1123
reverse_proxy_url = "http://127.0.0.80:8080/"
observability_url = "http://127.0.0.90:9090/-/healthy"
