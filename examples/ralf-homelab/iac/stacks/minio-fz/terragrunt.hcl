# minio: CT 2012. Identity (ct_id, address, port, unit) comes from iac/services.hcl
# through stack.hcl; the environment's settings from env/<RALF_ENV>.tfvars.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "stack" {
  path = find_in_parent_folders("stack.hcl")
}
