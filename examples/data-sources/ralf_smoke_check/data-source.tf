# Runs on every plan and apply: in a check block, a failure is a warning, never an error.
check "vaultwarden_health" {
  data "ralf_smoke_check" "vaultwarden" {
    on_failure = "warn"
    timeout    = "5s"

    retry {
      attempts = 1
    }

    tcp {
      host = "10.10.30.10"
      port = 80
    }

    http {
      url = "http://10.10.30.10/alive"
    }
  }

  assert {
    condition     = data.ralf_smoke_check.vaultwarden.passed
    error_message = "Vaultwarden is unhealthy: ${data.ralf_smoke_check.vaultwarden.summary}"
  }
}

# The gatekeeper's network health: DNS, NTP and the reverse proxy's certificate.
check "network_health" {
  data "ralf_smoke_check" "network" {
    timeout = "3s"

    retry {
      attempts = 2
    }

    dns {
      name   = "gitea.ralf.lan"
      server = "10.10.0.53"
      expect = ["10.10.20.10"]
    }

    ntp {
      name       = "time"
      server     = "10.10.0.1"
      max_offset = "500ms"
    }

    tls {
      name           = "proxy-cert"
      host           = "10.10.0.80"
      server_name    = "gitea.ralf.lan"
      min_days_valid = 14
    }
  }

  assert {
    condition     = data.ralf_smoke_check.network.passed
    error_message = "Network health: ${data.ralf_smoke_check.network.summary}"
  }
}
