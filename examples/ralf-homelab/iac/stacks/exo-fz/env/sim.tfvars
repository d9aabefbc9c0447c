# sim: pve-sim on loopback. The container's address (127.0.100.10) comes from
# iac/services.hcl; pve-sim serves the service's port there while the container runs.
prefix_length = 8
gateway       = "127.0.0.1"
bridge        = "vmbr0"
install_mode  = "sim"
