# The gatekeeper's network checks. Data sources, so they run on every plan and apply and leave
# nothing in state; on_failure = "fail" makes a failed check an error, which fails this unit and
# so stops every stack behind it. Categories (docs/guides/inventory-and-ansible.md, "The
# gatekeeper"): core connectivity, DNS, NTP, reverse proxy (hard: they stop the run) and the
# observability endpoint (soft: a warning, since the tree deploys it itself). IP drift and
# recovery readiness, checked against the catalogue, are in catalogue.tf (warnings).

locals {
  # GET /access/ticket answers without credentials (proxmox/pve-access-control
  # src/PVE/API2/AccessControl.pm: permissions "world"),
  # so the check needs no secret and meets no 401 delay.
  node_api_url = format("%s/api2/json/access/ticket", trimsuffix(var.node_endpoint, "/"))
}

# Core connectivity: the gateway answers, and the node's API answers over verified TLS.
data "ralf_smoke_check" "core" {
  on_failure = "fail"
  timeout    = var.timeout

  retry {
    attempts      = var.attempts
    initial_delay = "1s"
    max_delay     = "4s"
  }

  ping {
    name = "gateway"
    host = var.gateway
  }

  http {
    name         = "node-api"
    url          = local.node_api_url
    status_codes = "200"
    ca_cert      = var.node_ca_cert == "" ? null : var.node_ca_cert
    insecure_tls = lower(var.node_insecure) == "true"
  }
}

# DNS: the resolver the containers use answers for the node's name with the expected address.
data "ralf_smoke_check" "dns" {
  on_failure = "fail"
  timeout    = var.timeout

  retry {
    attempts      = var.attempts
    initial_delay = "1s"
    max_delay     = "4s"
  }

  dns {
    name   = var.dns_name
    server = var.dns_server
    port   = var.dns_port
    type   = "A"
    expect = [var.gateway]
  }
}

# NTP: the time server answers an SNTP query and this machine's clock is close to it.
data "ralf_smoke_check" "ntp" {
  on_failure = "fail"
  timeout    = var.timeout

  retry {
    attempts      = var.attempts
    initial_delay = "1s"
    max_delay     = "4s"
  }

  ntp {
    name       = "time"
    server     = var.ntp_server
    port       = var.ntp_port
    max_offset = var.ntp_max_offset
  }
}

# Reverse proxy: answers in front of the services.
data "ralf_smoke_check" "reverse_proxy" {
  on_failure = "fail"
  timeout    = var.timeout

  retry {
    attempts      = var.attempts
    initial_delay = "1s"
    max_delay     = "4s"
  }

  http {
    name         = "reverse-proxy"
    url          = var.reverse_proxy_url
    status_codes = "200-399"
  }
}

# Observability endpoint: a warning only (on_failure = "warn"), so the first deploy, which
# brings Prometheus up, is not blocked by its absence. Not a check {} block: Terraform reads a
# check block's data source during apply, so every plan would show it as a change.
data "ralf_smoke_check" "observability" {
  on_failure = "warn"
  timeout    = var.timeout

  retry {
    attempts = 1
  }

  http {
    name = "observability"
    url  = var.observability_url
  }
}
