terraform {
  required_version = ">= 1.6"

  required_providers {
    ralf = {
      source = "ralf-homelab/ralf"
    }
  }
}

# Every argument can come from the environment instead (PROXMOX_VE_ENDPOINT,
# PROXMOX_VE_API_TOKEN, PROXMOX_VE_NODE, PROXMOX_VE_CA_CERT, PROXMOX_VE_SSH_*), which keeps
# secrets out of the configuration: `provider "ralf" {}` is enough then.
provider "ralf" {
  endpoint  = "https://pve.ralf.home.arpa:8006/"
  api_token = var.proxmox_api_token # "user@realm!tokenid=secret"
  node      = "pve"
  ca_cert   = file("${path.module}/pve-ca.pem")

  # For `service` smoke checks: `pct exec` on the node over SSH.
  ssh {
    username    = "root"
    private_key = var.proxmox_ssh_private_key
    known_hosts = file("${path.module}/pve-known-hosts")
  }
}

variable "proxmox_api_token" {
  type      = string
  sensitive = true
}

variable "proxmox_ssh_private_key" {
  type      = string
  sensitive = true
}
