# lab: pve-sim's lab of real LXC containers (`ralf demo --lab`). The container's address
# (198.18.100.10) comes from iac/services.hcl; 198.18.0.0/15 exists only on the lab's bridge, whose
# address 198.18.0.1 is the gateway (no NAT, no route off the machine). The install step runs
# Ansible over SSH into the container and installs the service's stand-in (iac/lab/ansible).
prefix_length = 15
gateway       = "198.18.0.1"
bridge        = "vmbr0"
template      = "local:vztmpl/debian-12-ralflab_12.0-1_amd64.tar.zst"
install_mode  = "lab"
