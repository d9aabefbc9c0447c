# The gatekeeper's checks against the catalogue (iac/services.hcl, passed in as var.services by
# ../terragrunt.hcl): IP drift and recovery readiness. Both are warnings, never a stop
# (docs/guides/inventory-and-ansible.md, "The gatekeeper", says why): the deploy behind the
# gatekeeper is what repairs them.
#
# The form keeps `plan` after `apply` at "No changes": the data source is a top-level one, read
# during plan like any data source whose configuration is known, and the check blocks hold only
# assertions. A data source nested in a check block would be planned as a read during apply on
# every plan (hashicorp/terraform internal/terraform/node_resource_abstract_instance.go,
# ResourceInstanceReadBecauseCheckNested), and a planned read is a change
# (internal/plans/changes_src.go, ChangesSrc.Empty), so every plan would show one.

# Every container of the node, not only those tagged "ralf": a service whose tags were edited
# by hand is still that service (its catalogue ct_id says so).
data "ralf_containers" "node" {}

locals {
  containers_by_ct_id = {
    for c in data.ralf_containers.node.containers : tostring(c.ct_id) => c
  }

  # The catalogue's services whose container exists. One that does not exist yet (the first
  # deploy, or a service not deployed so far) is neither drift nor unready: there is nothing
  # to compare.
  deployed = {
    for name, svc in var.services : name => merge(svc, {
      container = local.containers_by_ct_id[tostring(svc.ct_id)]
    }) if contains(keys(local.containers_by_ct_id), tostring(svc.ct_id))
  }

  # IP drift: a deployed service whose container is not at the catalogue's address. The
  # configured (static) addresses count; without any, what the running container reports.
  drifted = [
    for name, svc in local.deployed : {
      service  = name
      ct_id    = svc.ct_id
      expected = svc.address
      actual = (
        length(svc.container.ipv4_addresses) > 0 ? join(", ", svc.container.ipv4_addresses)
        : length(svc.container.live_ipv4_addresses) > 0 ? join(", ", svc.container.live_ipv4_addresses)
        : "no address"
      )
    }
    if !contains(
      length(svc.container.ipv4_addresses) > 0 ? svc.container.ipv4_addresses : svc.container.live_ipv4_addresses,
      svc.address
    )
  ]

  # Recovery readiness: a deployed service without its post-install snapshot has no known-good
  # state to go back to.
  unready = [
    for name, svc in local.deployed : { service = name, ct_id = svc.ct_id }
    if !contains(svc.container.snapshots, var.recovery_snapshot)
  ]
}

check "ip_drift" {
  assert {
    condition = length(local.drifted) == 0
    error_message = format(
      "IP drift against the catalogue (iac/services.hcl): %s. Apply the service's stack to put the container back at its address, or correct the catalogue if the move was meant.",
      join("; ", [for d in local.drifted : "${d.service} (CT ${d.ct_id}) expected ${d.expected}, actual ${d.actual}"])
    )
  }
}

check "recovery_readiness" {
  assert {
    condition = length(local.unready) == 0
    error_message = format(
      "Not recovery-ready, no %q snapshot: %s. Apply the service's stack to take it again (modules/ralf-service makes it after the install).",
      var.recovery_snapshot,
      join(", ", [for u in local.unready : "${u.service} (CT ${u.ct_id})"])
    )
  }
}
