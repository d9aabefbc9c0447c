# network-health: the gatekeeper. Not a catalogue service and no container: only checks, run on
# every plan and apply, that the network the platform stands on is healthy and that the
# deployed services match the catalogue. Every service stack depends on it (stack.hcl), so a
# failing check stops the whole run here, with the failed check in ralf's (and Terragrunt's)
# summary and every stack an early exit.
#
# Targets per environment are in env/<RALF_ENV>.tfvars; the node's API is the provider's own
# endpoint and CA, from the environment; the catalogue is iac/services.hcl.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

locals {
  # The same variable and default as root.hcl's `env`.
  env       = get_env("RALF_ENV", "functional")
  catalogue = read_terragrunt_config(find_in_parent_folders("services.hcl"))

  # In sim and lab, `ralf demo` serves these targets itself, on ports it picks free when it
  # starts (runner/src/standins.rs), and names them in these variables. Unset ones are not
  # passed; env/<env>.tfvars sets them for a real network (and a value there wins over one here).
  standins = {
    dns_port          = get_env("RALF_GATEKEEPER_DNS_PORT", "")
    ntp_port          = get_env("RALF_GATEKEEPER_NTP_PORT", "")
    reverse_proxy_url = get_env("RALF_GATEKEEPER_REVERSE_PROXY_URL", "")
    observability_url = get_env("RALF_GATEKEEPER_OBSERVABILITY_URL", "")
  }
}

inputs = merge(
  {
    node_endpoint = get_env("PROXMOX_VE_ENDPOINT", "")
    node_ca_cert  = get_env("PROXMOX_VE_CA_CERT", "")
    node_insecure = get_env("PROXMOX_VE_INSECURE", "false")

    # What IP drift and recovery readiness are checked against (tofu/catalogue.tf): every
    # service's container id and its address in this environment.
    services = {
      for name, svc in local.catalogue.locals.services : name => {
        ct_id   = svc.ct_id
        address = svc.address[local.env]
      }
    }
  },
  { for name, value in local.standins : name => value if value != "" },
)
