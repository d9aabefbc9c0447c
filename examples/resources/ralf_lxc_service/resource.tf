resource "ralf_lxc_service" "vaultwarden" {
  node     = "pve"
  ct_id    = 3010
  hostname = "vaultwarden"
  template = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"

  cores  = 1
  memory = 1024
  swap   = 512
  tags   = ["ralf", "vault"]

  disk {
    storage = "local-lvm"
    size    = 8
  }

  network {
    bridge  = "vmbr0"
    ip      = "10.10.30.10/24"
    gateway = "10.10.30.1"
  }

  features {
    nesting = true
    # true needs a root@pam password login (username/password), never an API token.
    keyctl = false
  }
}
