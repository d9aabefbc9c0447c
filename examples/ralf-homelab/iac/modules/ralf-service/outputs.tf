output "service" {
  description = "Service name, as in iac/services.hcl (names its playbook and Ansible role)."
  value       = var.service
}

output "group" {
  description = "Service group (the Ansible inventory's group, `ralf inventory`)."
  value       = var.group
}

output "ct_id" {
  description = "Container id of the service."
  value       = ralf_lxc_service.this.ct_id
}

output "hostname" {
  description = "Hostname of the container."
  value       = ralf_lxc_service.this.hostname
}

output "address" {
  description = "IPv4 address of the service (without prefix length)."
  value       = ralf_lxc_service.this.ipv4_address
}

output "port" {
  description = "Port the service listens on."
  value       = var.port
}

output "url" {
  description = "HTTP health URL of the service, or null."
  value       = local.http_url
}

output "snapshots" {
  description = "Ids of the pre-install and post-install snapshots."
  value = {
    pre_install  = ralf_snapshot.pre_install.id
    post_install = ralf_snapshot.post_install.id
  }
}

output "smoke_summary" {
  description = "Result of the last smoke-check run, e.g. \"4 OK, 0 FAIL, 0 SKIP\"."
  value       = ralf_smoke_check.this.summary
}
