resource "ralf_snapshot" "pre_install" {
  node        = ralf_lxc_service.vaultwarden.node
  ct_id       = ralf_lxc_service.vaultwarden.ct_id
  name        = "pre-install"
  description = "Before Vaultwarden was installed."

  # Set to a new value (e.g. -var rollback=2024-06-01) to roll the container back to this
  # snapshot on the next apply; null never rolls back.
  rollback_trigger = var.rollback
}

variable "rollback" {
  type    = string
  default = null
}

# The state after the install step, which smoke checks can wait for.
resource "ralf_snapshot" "post_install" {
  node       = ralf_lxc_service.vaultwarden.node
  ct_id      = ralf_lxc_service.vaultwarden.ct_id
  name       = "post-install"
  depends_on = [terraform_data.install]
}
