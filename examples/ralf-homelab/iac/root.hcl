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

  # The catalogue, read here only for the default S3 endpoint (the MinIO stack's address); the
  # including stack's own entry is read by stack.hcl.
  catalogue = read_terragrunt_config(find_in_parent_folders("services.hcl"))
  minio     = local.catalogue.locals.services.minio

  # Where state lives: RALF_STATE chooses "local" (the default, for sim and lab), "pg" or "s3".
  # A team, and Semaphore (where every template runs in its own clone of the repository), must use
  # a shared backend: local state in one clone is invisible to the next. Each stack keeps its own
  # state under a name made of the environment and the stack's path, whatever the backend.
  # Credentials never appear here: the pg backend reads PG_CONN_STR, the s3 backend
  # AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, from the environment.
  state_backend = get_env("RALF_STATE", "local")
  # stacks/vaultwarden-fz in env sim -> sim_vaultwarden_fz (a Postgres schema name).
  state_name = lower(replace("${local.env}_${replace(path_relative_to_include(), "stacks/", "")}", "/[^A-Za-z0-9]+/", "_"))

  state_backends = {
    # One state file per environment next to each stack, outside .terragrunt-cache.
    local = {
      path = "${get_terragrunt_dir()}/${local.env}.tfstate"
    }
    # Terraform's pg backend: one schema per environment and stack in the database that
    # PG_CONN_STR names (the database must exist). Locks are Postgres advisory locks.
    pg = {
      schema_name = local.state_name
    }
    # S3 on MinIO (or any S3 API): one object per environment and stack, locked by a
    # `<key>.tflock` object written with a conditional PUT (S3-native locking, no DynamoDB).
    # The endpoint defaults to the catalogue's MinIO; path-style addressing, and none of the
    # AWS-only checks (STS, IAM, region list, instance metadata), which MinIO does not serve.
    s3 = {
      bucket = get_env("RALF_STATE_S3_BUCKET", "ralf-state")
      key    = "${local.env}/${path_relative_to_include()}/terraform.tfstate"
      region = get_env("RALF_STATE_S3_REGION", "us-east-1")
      endpoints = {
        s3 = get_env("RALF_STATE_S3_ENDPOINT", "https://${local.minio.address[local.env]}:${local.minio.port}")
      }
      use_path_style              = true
      use_lockfile                = true
      skip_credentials_validation = true
      skip_region_validation      = true
      skip_requesting_account_id  = true
      skip_metadata_api_check     = true
      skip_s3_checksum            = true
    }
  }
}

terraform {
  # Each unit's OpenTofu module lives in its tofu/ directory.
  source = "${get_terragrunt_dir()}/tofu"

  # The environment's settings for this unit (network, install mode, gatekeeper targets).
  extra_arguments "env" {
    commands  = ["plan", "apply", "destroy", "refresh", "import", "console"]
    arguments = ["-var-file=${get_terragrunt_dir()}/env/${local.env}.tfvars"]
  }

  # With shared state two runs may reach the same stack at once: the second waits for the
  # first's lock (then finds its work done) instead of failing at once. The pg backend also
  # holds one database-wide lock while it creates a stack's first state, so first applies
  # of a pg tree wait on each other too.
  extra_arguments "state_lock" {
    commands  = ["plan", "apply", "destroy", "refresh", "import"]
    arguments = ["-lock-timeout=${get_env("RALF_STATE_LOCK_TIMEOUT", "10m")}"]
  }
}

# The backend chosen by RALF_STATE above.
remote_state {
  backend = local.state_backend
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = local.state_backends[local.state_backend]
}

# Terragrunt's default retryable errors, and one of the pg backend: the first inits of several
# stacks at once race to create its shared sequence and tables ("duplicate key value violates
# unique constraint"); the loser's init is safe to run again.
errors {
  retry "transient" {
    retryable_errors = concat(get_default_retryable_errors(), [
      "(?s).*pq: duplicate key value violates unique constraint.*",
    ])
    max_attempts       = 3
    sleep_interval_sec = 2
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
