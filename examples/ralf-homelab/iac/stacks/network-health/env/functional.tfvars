# functional: the real RALF network's shared services, as every service stack's
# env/functional.tfvars uses them (the group gateways double as resolvers and time servers).
gateway           = "10.10.20.1"
dns_server        = "10.10.20.1"
dns_port          = 53
dns_name          = "pve.ralf.home.arpa"
ntp_server        = "10.10.20.1"
ntp_port          = 123
reverse_proxy_url = "https://proxy.ralf.home.arpa/"
observability_url = "http://10.10.80.10:9090/-/healthy"
