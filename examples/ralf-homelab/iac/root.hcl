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
        s3 = get_env("RALF_STATE_S3_ENDPOINT", "https://${local.by_stack["stacks/minio-fz"].address[local.env]}:${local.by_stack["stacks/minio-fz"].port}")
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
  # Each stack's OpenTofu module lives in its tofu/ directory.
  source = "${get_terragrunt_dir()}/tofu"

  # The environment's settings for this stack (network, install mode).
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
  tags      = ["ralf", local.service.group, local.env]
}
