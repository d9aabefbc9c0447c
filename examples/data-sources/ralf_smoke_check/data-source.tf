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
