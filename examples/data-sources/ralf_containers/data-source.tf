# The services' containers, by the tag every RALF container carries.
data "ralf_containers" "ralf" {
  tags = ["ralf"]
}

locals {
  # The catalogue: hostname => address (in the RALF tree, from services.hcl).
  catalogue = {
    gitea = "10.10.20.10"
    minio = "10.10.20.11"
  }
  found   = data.ralf_containers.ralf.ipv4_by_hostname
  drifted = { for host, ip in local.catalogue : host => lookup(local.found, host, "missing") if lookup(local.found, host, "") != ip }
}

check "ip_drift" {
  assert {
    condition     = length(local.drifted) == 0
    error_message = "Containers not at their catalogue address: ${jsonencode(local.drifted)}"
  }
}

check "post_install_snapshots" {
  assert {
    condition = alltrue([
      for host in keys(local.catalogue) :
      contains(lookup(data.ralf_containers.ralf.snapshots_by_hostname, host, []), "post-install")
    ])
    error_message = "Every service needs a post-install snapshot before it counts as deployed."
  }
}
