# network-health: the gatekeeper. Not a catalogue service and no container: only checks, run on
# every plan and apply, that the network the platform stands on is healthy. Every service stack
# depends on it (stack.hcl), so a failing check stops the whole run here, with the failed check
# in ralf's (and Terragrunt's) summary and every stack an early exit.
#
# Targets per environment are in env/<RALF_ENV>.tfvars; the node's API is the provider's own
# endpoint and CA, from the environment.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

inputs = {
  node_endpoint = get_env("PROXMOX_VE_ENDPOINT", "")
  node_ca_cert  = get_env("PROXMOX_VE_CA_CERT", "")
  node_insecure = get_env("PROXMOX_VE_INSECURE", "false")
}
