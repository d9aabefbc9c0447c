# Root configuration of the RALF iac/ tree. It is named root.hcl, not terragrunt.hcl, so that
# `terragrunt run --all` (and `ralf run --all`) started in iac/ does not take iac/ itself for a
# unit. Every stack includes it:
#
#   include "root" {
#     path = find_in_parent_folders("root.hcl")
#   }
#
# Functions in this file run in the context of the including stack: get_terragrunt_dir() is the
# stack's directory and path_relative_to_include() is the stack's path below iac/
# (e.g. "stacks/vaultwarden-fz").

locals {
  # Which environment to deploy: "functional" (the real cluster, 10.10.x addresses), "sim"
  # (pve-sim on loopback, 127.0.x.y addresses) or "lab" (pve-sim's lab of real LXC containers,
  # 198.18.x.y addresses). Chooses env/<env>.tfvars and the addresses below.
  env = get_env("RALF_ENV", "functional")

  catalogue = read_terragrunt_config(find_in_parent_folders("services.hcl"))

  # The catalogue entry of the including stack, found by its directory: stacks/<name>-fz.
  by_stack = {
    for name, svc in local.catalogue.locals.services : "stacks/${name}-fz" => merge(svc, { name = name })
  }
  service = local.by_stack[path_relative_to_include()]
}

terraform {
  # Each stack's OpenTofu module lives in its tofu/ directory.
  source = "${get_terragrunt_dir()}/tofu"

  # The environment's settings for this stack (network, install mode).
  extra_arguments "env" {
    commands  = ["plan", "apply", "destroy", "refresh", "import", "console"]
    arguments = ["-var-file=${get_terragrunt_dir()}/env/${local.env}.tfvars"]
  }
}

# State stays next to each stack, one file per environment, outside .terragrunt-cache.
# For a team, replace this with a shared backend (for example the S3 API of the MinIO stack, or
# Semaphore's HTTP backend) and keep the key: format("%s/%s.tfstate", local.env, path_relative_to_include()).
remote_state {
  backend = "local"
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = {
    path = "${get_terragrunt_dir()}/${local.env}.tfstate"
  }
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
  tags      = ["ralf", local.service.group, local.env]
}
