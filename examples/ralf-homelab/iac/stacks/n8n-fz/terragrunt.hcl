# n8n: CT 10020. Identity (ct_id, address, port, unit) comes from iac/services.hcl
# through stack.hcl; the environment's settings from env/<RALF_ENV>.tfvars.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "stack" {
  path = find_in_parent_folders("stack.hcl")
}

# postgresql: its database.
dependency "postgresql" {
  config_path = "../postgresql-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 5432
    hostname = "postgresql"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

# netbox (platform group): n8n automates it, so it comes after it.
dependency "netbox" {
  config_path = "../netbox-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 80
    hostname = "netbox"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

# snipeit (platform group): n8n automates it, so it comes after it.
dependency "snipeit" {
  config_path = "../snipeit-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 80
    hostname = "snipeit"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  upstreams = {
    postgresql = format("%s:%d", dependency.postgresql.outputs.address, dependency.postgresql.outputs.port)
    netbox     = format("%s:%d", dependency.netbox.outputs.address, dependency.netbox.outputs.port)
    snipeit    = format("%s:%d", dependency.snipeit.outputs.address, dependency.snipeit.outputs.port)
  }
}
