# The RALF service catalogue: the one place that says which container runs which service.
#
# Every stack under stacks/<name>-fz/ takes its identity from the entry with the same <name>
# (root.hcl maps the stack's directory to it). Keep every ct_id and every address unique:
#   - ct_id: the Proxmox container id (fixed per service);
#   - address.functional: the static IPv4 on the real network (10.10.<ct_id / 100>.<ct_id % 100>);
#   - address.sim: a distinct loopback address for pve-sim (127.0.<ct_id / 100>.<ct_id % 100>);
#   - address.lab: the address in pve-sim's lab of real containers (198.18.<ct_id / 100>.<ct_id % 100>,
#     in 198.18.0.0/15, which exists only on the lab's own bridge);
#   - port / port_kind: the port the smoke checks probe ("http" or plain "tcp");
#   - http_path: the health path probed over HTTP (null when the service speaks no HTTP);
#   - unit: the systemd unit that must be active inside the container;
#   - memory (MiB) and disk (GiB): the container's size;
#   - group: the service group (Semaphore's task templates, the Ansible inventory's groups):
#     base, vault, platform, automation, communication, observability or ai;
#   - devices (optional): host device paths passed through into the container (the GPU of the
#     ai group's exo); none when left out.
#
# This file holds data only (no functions), so tools and tests can parse it as plain HCL.

locals {
  services = {
    postgresql = {
      ct_id     = 2010
      group     = "base"
      address   = { functional = "10.10.20.10", sim = "127.0.20.10", lab = "198.18.20.10" }
      port      = 5432
      port_kind = "tcp"
      http_path = null
      unit      = "postgresql.service"
      memory    = 2048
      disk      = 16
      # Data on a volume of its own (mp0): survives a root disk replacement of the template.
      data_volume = { path = "/var/lib/postgresql", size = 32 }
    }
    minio = {
      ct_id     = 2012
      group     = "base"
      address   = { functional = "10.10.20.12", sim = "127.0.20.12", lab = "198.18.20.12" }
      port      = 9000
      port_kind = "http"
      http_path = "/minio/health/live"
      unit      = "minio.service"
      memory    = 2048
      disk      = 16
      # Data on a volume of its own (mp0): survives a root disk replacement of the template.
      data_volume = { path = "/var/lib/minio", size = 32 }
    }
    gitea = {
      ct_id     = 2020
      group     = "base"
      address   = { functional = "10.10.20.20", sim = "127.0.20.20", lab = "198.18.20.20" }
      port      = 3000
      port_kind = "http"
      http_path = "/api/healthz"
      unit      = "gitea.service"
      memory    = 2048
      disk      = 16
      # Data on a volume of its own (mp0): survives a root disk replacement of the template.
      data_volume = { path = "/var/lib/gitea", size = 32 }
    }
    semaphore = {
      ct_id     = 2022
      group     = "base"
      address   = { functional = "10.10.20.22", sim = "127.0.20.22", lab = "198.18.20.22" }
      port      = 3000
      port_kind = "http"
      http_path = "/api/ping"
      unit      = "semaphore.service"
      memory    = 1024
      disk      = 8
    }
    vaultwarden = {
      ct_id     = 3010
      group     = "vault"
      address   = { functional = "10.10.30.10", sim = "127.0.30.10", lab = "198.18.30.10" }
      port      = 80
      port_kind = "http"
      http_path = "/alive"
      unit      = "vaultwarden.service"
      memory    = 1024
      disk      = 8
    }
    mail = {
      ct_id     = 4010
      group     = "communication"
      address   = { functional = "10.10.40.10", sim = "127.0.40.10", lab = "198.18.40.10" }
      port      = 25
      port_kind = "tcp"
      http_path = null
      unit      = "maddy.service"
      memory    = 1024
      disk      = 8
    }
    netbox = {
      ct_id     = 4012
      group     = "platform"
      address   = { functional = "10.10.40.12", sim = "127.0.40.12", lab = "198.18.40.12" }
      port      = 80
      port_kind = "http"
      http_path = "/login/"
      unit      = "netbox.service"
      memory    = 2048
      disk      = 16
    }
    snipeit = {
      ct_id     = 4014
      group     = "platform"
      address   = { functional = "10.10.40.14", sim = "127.0.40.14", lab = "198.18.40.14" }
      port      = 80
      port_kind = "http"
      http_path = "/login"
      unit      = "php8.3-fpm.service"
      memory    = 1024
      disk      = 8
    }
    synapse = {
      ct_id     = 4030
      group     = "communication"
      address   = { functional = "10.10.40.30", sim = "127.0.40.30", lab = "198.18.40.30" }
      port      = 8008
      port_kind = "http"
      http_path = "/health"
      unit      = "matrix-synapse.service"
      memory    = 2048
      disk      = 16
    }
    element = {
      ct_id     = 4032
      group     = "communication"
      address   = { functional = "10.10.40.32", sim = "127.0.40.32", lab = "198.18.40.32" }
      port      = 80
      port_kind = "http"
      http_path = "/"
      unit      = "nginx.service"
      memory    = 1024
      disk      = 8
    }
    prometheus = {
      ct_id     = 8010
      group     = "observability"
      address   = { functional = "10.10.80.10", sim = "127.0.80.10", lab = "198.18.80.10" }
      port      = 9090
      port_kind = "http"
      http_path = "/-/healthy"
      unit      = "prometheus.service"
      memory    = 2048
      disk      = 16
    }
    grafana = {
      ct_id     = 8012
      group     = "observability"
      address   = { functional = "10.10.80.12", sim = "127.0.80.12", lab = "198.18.80.12" }
      port      = 3000
      port_kind = "http"
      http_path = "/api/health"
      unit      = "grafana-server.service"
      memory    = 1024
      disk      = 8
    }
    loki = {
      ct_id     = 8014
      group     = "observability"
      address   = { functional = "10.10.80.14", sim = "127.0.80.14", lab = "198.18.80.14" }
      port      = 3100
      port_kind = "http"
      http_path = "/ready"
      unit      = "loki.service"
      memory    = 2048
      disk      = 16
      # Data on a volume of its own (mp0): survives a root disk replacement of the template.
      data_volume = { path = "/var/lib/loki", size = 32 }
    }
    n8n = {
      ct_id     = 10020
      group     = "automation"
      address   = { functional = "10.10.100.20", sim = "127.0.100.20", lab = "198.18.100.20" }
      port      = 5678
      port_kind = "http"
      http_path = "/healthz"
      unit      = "n8n.service"
      memory    = 2048
      disk      = 16
    }
    exo = {
      ct_id     = 10010
      group     = "ai"
      address   = { functional = "10.10.100.10", sim = "127.0.100.10", lab = "198.18.100.10" }
      port      = 52415
      port_kind = "http"
      http_path = "/v1/models"
      unit      = "exo.service"
      memory    = 4096
      disk      = 32
      # The node's GPU (render nodes under /dev/dri), passed through into the container.
      devices = ["/dev/dri"]
    }
  }
}
