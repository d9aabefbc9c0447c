# netbox: CT 4012. Identity (ct_id, address, port, unit) comes from iac/services.hcl
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

# mail: sends mail.
dependency "mail" {
  config_path = "../mail-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 25
    hostname = "mail"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  upstreams = {
    postgresql = format("%s:%d", dependency.postgresql.outputs.address, dependency.postgresql.outputs.port)
    mail       = format("%s:%d", dependency.mail.outputs.address, dependency.mail.outputs.port)
  }
}
