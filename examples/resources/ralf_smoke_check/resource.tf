resource "ralf_smoke_check" "vaultwarden" {
  node        = ralf_lxc_service.vaultwarden.node
  ct_id       = ralf_lxc_service.vaultwarden.ct_id
  on_failure  = "rollback"
  rollback_to = ralf_snapshot.pre_install.name
  timeout     = "5s"

  retry {
    attempts      = 5
    initial_delay = "2s"
    multiplier    = 2
    max_delay     = "10s"
  }

  # Re-run the checks whenever the install step runs again.
  triggers = {
    install = terraform_data.install.id
  }

  ping {
    host = "10.10.30.10"
  }

  tcp {
    host = "10.10.30.10"
    port = 80
  }

  http {
    name         = "vaultwarden-alive"
    url          = "http://10.10.30.10/alive"
    status_codes = "200"
  }

  # Needs the provider's ssh settings; SKIP (with a warning) without them.
  service {
    unit = "vaultwarden.service"
  }

  depends_on = [ralf_snapshot.post_install]
}

# The install step the checks follow: replaced whenever the container is, which re-runs them.
resource "terraform_data" "install" {
  triggers_replace = [ralf_lxc_service.vaultwarden.id]
}
