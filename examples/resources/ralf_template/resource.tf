# Makes sure the Debian 12 template is on `local`, downloading it from Proxmox's appliance index
# (as `pveam download local ...` does) when it is missing.
resource "ralf_template" "debian_12" {
  node     = "pve"
  storage  = "local"
  template = "debian-12-standard_12.7-1_amd64.tar.zst"

  # Destroy keeps the file by default (other containers may use it); true removes it.
  delete_on_destroy = false
}

# A container made from it: `volume_id` is `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`.
resource "ralf_lxc_service" "debian_app" {
  node     = "pve"
  ct_id    = 3020
  hostname = "debian-app"
  template = ralf_template.debian_12.volume_id
}
