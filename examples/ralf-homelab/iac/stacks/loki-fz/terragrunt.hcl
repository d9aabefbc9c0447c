# loki: CT 8014. Identity (ct_id, address, port, unit) comes from iac/services.hcl
# through stack.hcl; the environment's settings from env/<RALF_ENV>.tfvars.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "stack" {
  path = find_in_parent_folders("stack.hcl")
}

# minio: object storage for chunks.
dependency "minio" {
  config_path = "../minio-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 9000
    hostname = "minio"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  upstreams = {
    minio = format("%s:%d", dependency.minio.outputs.address, dependency.minio.outputs.port)
  }
}
