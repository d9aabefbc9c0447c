# element: CT 4032. Identity (ct_id, address, port, unit) comes from iac/services.hcl
# through stack.hcl; the environment's settings from env/<RALF_ENV>.tfvars.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "stack" {
  path = find_in_parent_folders("stack.hcl")
}

# synapse: the Matrix homeserver it talks to.
dependency "synapse" {
  config_path = "../synapse-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 8008
    hostname = "synapse"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  upstreams = {
    synapse = format("%s:%d", dependency.synapse.outputs.address, dependency.synapse.outputs.port)
  }
}
