# One service, deployed the RALF way: container, pre-install snapshot, install, post-install
# snapshot, smoke checks that roll back to pre-install when they fail.

locals {
  http_url = var.http_path == null ? null : format("http://%s:%d%s", var.address, var.port, var.http_path)

  # What the simulator should pretend the installer set up: the unit runs, the port answers.
  sim_guest = {
    units = { (var.unit) = "active" }
    ports = [
      var.port_kind == "http"
      ? { port = var.port, kind = "http", status = 200, body = "ok" }
      : { port = var.port, kind = "tcp", status = null, body = null }
    ]
  }

  install_command = {
    # Declares the service to pve-sim through its admin API (not part of Proxmox VE).
    # SIM_ENDPOINT comes from var.sim_endpoint; for pve-sim's self-signed certificate set
    # CURL_CA_BUNDLE to the file written by `pve-sim --cert-out`.
    sim = "curl -fsS -X PUT \"$SIM_ENDPOINT/sim/guests/${var.ct_id}\" -H 'Content-Type: application/json' -d '${jsonencode(local.sim_guest)}'"

    # Real life: the service's playbook from the Ansible project in RALF_ANSIBLE_DIR, against
    # this one container, with the addresses of the services it uses.
    ansible = "cd \"$${RALF_ANSIBLE_DIR:?set RALF_ANSIBLE_DIR to the Ansible project}\" && ansible-playbook --inventory '${var.address},' --extra-vars '${jsonencode({ ralf_service = var.service, ralf_upstreams = var.upstreams })}' 'playbooks/${var.service}.yml'"

    # pve-sim's lab: real Ansible over SSH into the real container, installing the service's
    # stand-in (a systemd unit answering on its port and health path) from iac/lab/ansible.
    # `ralf demo --lab` sets RALF_LAB_ANSIBLE_DIR, ANSIBLE_PRIVATE_KEY_FILE and ANSIBLE_SSH_ARGS.
    lab = "cd \"$${RALF_LAB_ANSIBLE_DIR:?set RALF_LAB_ANSIBLE_DIR to iac/lab/ansible}\" && ansible-playbook --inventory '${var.address},' --extra-vars '${jsonencode(local.lab_standin)}' standin.yml"
  }

  # What the lab's stand-in serves: the catalogue's unit, port and health path.
  lab_standin = {
    ralf_service   = var.service
    ralf_unit      = var.unit
    ralf_port      = var.port
    ralf_port_kind = var.port_kind
    ralf_http_path = var.http_path == null ? "" : var.http_path
    ralf_broken    = var.lab_broken_install
  }
}

resource "ralf_lxc_service" "this" {
  ct_id        = var.ct_id
  hostname     = var.hostname
  template     = var.template
  cores        = 1
  memory       = var.memory
  swap         = 512
  unprivileged = true
  started      = true
  tags         = var.tags
  description  = "RALF service ${var.service} (managed by OpenTofu; do not edit by hand)."
  nameserver   = var.nameserver
  searchdomain = var.searchdomain

  ssh_public_keys = var.ssh_public_keys

  disk = {
    storage = "local-lvm"
    size    = var.disk_size
  }

  network = {
    eth0 = {
      bridge  = var.bridge
      ip      = "${var.address}/${var.prefix_length}"
      gateway = var.gateway
    }
  }

  mount_points = var.data_volume == null ? null : {
    (var.data_volume.path) = {
      storage = var.data_volume.storage
      size    = var.data_volume.size
      backup  = var.data_volume.backup
    }
  }

  # Host devices passed through (the AI group's GPU). Root-only in Proxmox: with an API token the
  # provider needs root_only_over_ssh = true (pct set over its ssh connection).
  devices = length(var.devices) == 0 ? null : { for path in var.devices : path => {} }

  features = {
    nesting = true
    # keyctl stays off: Proxmox VE refuses every feature flag except nesting to API tokens
    # (even root@pam's). To turn it on, log in as root@pam with a password, or set
    # root_only_over_ssh = true in the provider block (pct set over its ssh connection).
    keyctl = false
  }
}

resource "ralf_snapshot" "pre_install" {
  node             = ralf_lxc_service.this.node
  ct_id            = ralf_lxc_service.this.ct_id
  name             = "pre-install"
  description      = "Before ${var.service} was installed."
  rollback_trigger = var.rollback_trigger

  lifecycle {
    # A new container (new MAC address) needs a new snapshot.
    replace_triggered_by = [ralf_lxc_service.this.mac_address]
  }
}

# The install step. Runs again when the container is replaced (it gets a new MAC address), or
# when install_mode or install_revision change.
resource "terraform_data" "install" {
  triggers_replace = [ralf_lxc_service.this.mac_address, var.install_mode, var.install_revision]

  provisioner "local-exec" {
    command = local.install_command[var.install_mode]
    environment = {
      SIM_ENDPOINT = var.sim_endpoint
    }
  }

  depends_on = [ralf_snapshot.pre_install]
}

resource "ralf_snapshot" "post_install" {
  node        = ralf_lxc_service.this.node
  ct_id       = ralf_lxc_service.this.ct_id
  name        = "post-install"
  description = "After ${var.service} was installed."

  depends_on = [terraform_data.install]

  lifecycle {
    # A new install gets a new post-install snapshot.
    replace_triggered_by = [terraform_data.install]
  }
}

resource "ralf_smoke_check" "this" {
  node        = ralf_lxc_service.this.node
  ct_id       = ralf_lxc_service.this.ct_id
  on_failure  = "rollback"
  rollback_to = ralf_snapshot.pre_install.name
  timeout     = "5s"

  retry {
    attempts      = 5
    initial_delay = "2s"
    multiplier    = 2
    max_delay     = "10s"
  }

  triggers = {
    install   = terraform_data.install.id
    snapshot  = ralf_snapshot.post_install.id
    smoke_run = var.smoke_run
  }

  ping {
    host = var.address
  }

  tcp {
    name = "${var.service}-port"
    host = var.address
    port = var.port
  }

  dynamic "http" {
    for_each = local.http_url == null ? [] : [local.http_url]
    content {
      name = "${var.service}-http"
      url  = http.value
    }
  }

  service {
    unit = var.unit
  }
}
