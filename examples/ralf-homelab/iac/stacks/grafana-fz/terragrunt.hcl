# grafana: CT 8012. Identity (ct_id, address, port, unit) comes from iac/services.hcl
# through stack.hcl; the environment's settings from env/<RALF_ENV>.tfvars.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "stack" {
  path = find_in_parent_folders("stack.hcl")
}

# prometheus: metrics data source.
dependency "prometheus" {
  config_path = "../prometheus-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 9090
    hostname = "prometheus"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

# loki: logs data source.
dependency "loki" {
  config_path = "../loki-fz"

  # Only for plan and validate before the dependency exists; never for apply.
  mock_outputs = {
    address  = "127.0.0.1"
    port     = 3100
    hostname = "loki"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  upstreams = {
    prometheus = format("%s:%d", dependency.prometheus.outputs.address, dependency.prometheus.outputs.port)
    loki       = format("%s:%d", dependency.loki.outputs.address, dependency.loki.outputs.port)
  }
}
