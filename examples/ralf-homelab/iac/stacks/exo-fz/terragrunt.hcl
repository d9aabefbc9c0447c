# exo: CT 10010, the AI group's inference cluster on the node's GPU (the catalogue's `devices`
# passes /dev/dri through). Identity (ct_id, address, port, unit) comes from iac/services.hcl
# through stack.hcl; the environment's settings from env/<RALF_ENV>.tfvars.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "stack" {
  path = find_in_parent_folders("stack.hcl")
}
