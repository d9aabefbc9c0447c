# Included by every service stack (stacks/<name>-fz), beside root.hcl; not by the gatekeeper.
#
#   include "stack" {
#     path = find_in_parent_folders("stack.hcl")
#   }
#
# It finds the including stack's entry in the catalogue (services.hcl) by its directory
# (stacks/<name>-fz, from path_relative_to_include()), passes it as `inputs`, and puts the stack
# behind the gatekeeper: no service is planned, applied or destroyed before stacks/network-health
# has passed (a failing gatekeeper check ends the run there, every stack an early exit).

locals {
  # The same variable and default as root.hcl's `env`.
  env = get_env("RALF_ENV", "functional")

  catalogue = read_terragrunt_config(find_in_parent_folders("services.hcl"))

  # The catalogue entry of the including stack, found by its directory: stacks/<name>-fz.
  by_stack = {
    for name, svc in local.catalogue.locals.services : "stacks/${name}-fz" => merge(svc, { name = name })
  }
  service = local.by_stack[path_relative_to_include()]
}

# The gatekeeper (network-health) first. Ordering only: it has no outputs. Paths are relative to
# the including stack, a sibling of the gatekeeper under stacks/.
dependencies {
  paths = ["../network-health"]
}

# The stack's identity from the catalogue; stacks add `upstreams` from their dependencies.
inputs = {
  service   = local.service.name
  ct_id     = local.service.ct_id
  hostname  = local.service.name
  address   = local.service.address[local.env]
  port      = local.service.port
  port_kind = local.service.port_kind
  http_path = local.service.http_path
  unit      = local.service.unit
  memory    = local.service.memory
  disk_size = local.service.disk
  # Services that keep their data on a volume of their own (postgresql, minio, loki, gitea).
  data_volume = try(local.service.data_volume, null)
  # Device passthrough is root-only in Proxmox. The sim and lab run with an API token and no
  # root-only SSH path in the tree, and the lab's node has no GPU: only the functional
  # environment passes the catalogue's devices (its provider needs root_only_over_ssh = true).
  devices   = local.env == "functional" ? try(local.service.devices, []) : []
  group     = local.service.group
  tags      = ["ralf", local.service.group, local.env]
}
