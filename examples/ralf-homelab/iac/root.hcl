# Root configuration of the RALF iac/ tree. It is named root.hcl, not terragrunt.hcl, so that
# `terragrunt run --all` (and `ralf run --all`) started in iac/ does not take iac/ itself for a
# unit. Every unit includes it, the gatekeeper (stacks/network-health) and every service stack:
#
#   include "root" {
#     path = find_in_parent_folders("root.hcl")
#   }
#
# The service stacks also include stack.hcl, which adds their identity from services.hcl and
# their dependency on the gatekeeper.
#
# Functions in this file run in the context of the including unit: get_terragrunt_dir() is the
# unit's directory and path_relative_to_include() is its path below iac/
# (e.g. "stacks/vaultwarden-fz").

locals {
  # Which environment to deploy: "functional" (the real cluster, 10.10.x addresses), "sim"
  # (pve-sim on loopback, 127.0.x.y addresses) or "lab" (pve-sim's lab of real LXC containers,
  # 198.18.x.y addresses). Chooses env/<env>.tfvars and the state file below (stack.hcl reads
  # the same variable with the same default for the addresses).
  env = get_env("RALF_ENV", "functional")
}

terraform {
  # Each unit's OpenTofu module lives in its tofu/ directory.
  source = "${get_terragrunt_dir()}/tofu"

  # The environment's settings for this unit (network, install mode, gatekeeper targets).
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

# Credentials every unit's provider reads from the environment. get_env without a default makes
# each one required: `ralf run` checks them all before it starts any unit and names every one
# that is missing (Terragrunt stops at the first unit reading it). Only whether they are set
# travels on (the modules declare no such variable); the values stay in the environment. With a
# password login (root@pam, for keyctl) instead of a token, replace PROXMOX_VE_API_TOKEN below
# with PROXMOX_VE_PASSWORD.
inputs = {
  ralf_credentials_set = get_env("PROXMOX_VE_ENDPOINT") != "" && get_env("PROXMOX_VE_API_TOKEN") != ""
}
