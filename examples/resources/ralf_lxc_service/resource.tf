resource "ralf_lxc_service" "vaultwarden" {
  node     = "pve"
  ct_id    = 3010
  hostname = "vaultwarden"
  template = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"

  cores  = 1
  memory = 1024
  swap   = 512
  tags   = ["ralf", "vault"]

  # Nested attributes: written with `=`; every field left out takes its default, and a whole
  # attribute left out keeps what the container has.
  disk = { storage = "local-lvm", size = 8 }

  # Interfaces by their name inside the container; eth0 sits at net0.
  network = {
    eth0 = { bridge = "vmbr0", ip = "10.10.30.10/24", gateway = "10.10.30.1" }
  }

  # keyctl, fuse, bind mounts and devices need root@pam: a password login, or
  # root_only_over_ssh = true in the provider block.
  features = { nesting = true, keyctl = false }
}

resource "ralf_lxc_service" "postgresql" {
  node     = "pve"
  ct_id    = 2010
  hostname = "postgresql"
  template = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"

  cores            = 2
  cpu_limit        = 1.5
  memory           = 2048
  startup_order    = 1
  startup_up_delay = 30

  # Mount points by their path inside the container. Removing one detaches its volume
  # (Proxmox keeps it as unusedN); destroying the container deletes it.
  mount_points = {
    "/var/lib/postgresql" = { storage = "local-lvm", size = 32, backup = true }
  }

  # A second interface on the storage network: eth1 sits at net1.
  network = {
    eth0 = { ip = "10.10.20.10/24", gateway = "10.10.20.1" }
    eth1 = { bridge = "vmbr1", ip = "dhcp", ip6 = "auto", vlan = 30, mtu = 9000 }
  }
}
