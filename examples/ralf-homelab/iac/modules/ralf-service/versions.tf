terraform {
  required_version = ">= 1.6"

  required_providers {
    ralf = {
      source = "ralf-homelab/ralf"
    }
  }
}

# Everything comes from the environment, so the same module runs against a real cluster and
# against pve-sim: PROXMOX_VE_ENDPOINT, PROXMOX_VE_API_TOKEN (or PROXMOX_VE_USERNAME and
# PROXMOX_VE_PASSWORD), PROXMOX_VE_NODE, PROXMOX_VE_CA_CERT (or PROXMOX_VE_INSECURE), and for
# `service` checks PROXMOX_VE_SSH_USERNAME / PROXMOX_VE_SSH_PRIVATE_KEY.
provider "ralf" {}
