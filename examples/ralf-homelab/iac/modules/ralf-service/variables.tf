# Identity of the service: set by Terragrunt from iac/services.hcl (see root.hcl).

variable "service" {
  description = "Service name, as in iac/services.hcl (e.g. \"vaultwarden\")."
  type        = string
}

variable "group" {
  description = "Service group, as in iac/services.hcl (e.g. \"base\"): the Ansible inventory's group of the container."
  type        = string
  default     = "ungrouped"
}

variable "ct_id" {
  description = "Proxmox container id of the service."
  type        = number
}

variable "hostname" {
  description = "Hostname of the container."
  type        = string
}

variable "address" {
  description = "Static IPv4 address of the container, without prefix length."
  type        = string
}

variable "port" {
  description = "Port the service listens on (probed by the tcp check, and by the http check when http_path is set)."
  type        = number
}

variable "port_kind" {
  description = "\"http\" when the port speaks HTTP, \"tcp\" otherwise."
  type        = string
  default     = "http"

  validation {
    condition     = contains(["http", "tcp"], var.port_kind)
    error_message = "port_kind must be \"http\" or \"tcp\"."
  }
}

variable "http_path" {
  description = "Health path probed over HTTP; null when the service speaks no HTTP."
  type        = string
  default     = null
}

variable "unit" {
  description = "systemd unit that must be active inside the container."
  type        = string
}

variable "memory" {
  description = "Memory in MiB."
  type        = number
  default     = 1024
}

variable "disk_size" {
  description = "Root disk in GiB (grows in place, never shrinks)."
  type        = number
  default     = 8
}

variable "data_volume" {
  description = "A volume of its own for the service's data, mounted at path (null: none). Removing it detaches the volume (Proxmox keeps it as unusedN); destroying the container deletes it."
  type = object({
    path    = string
    size    = number
    storage = optional(string, "local-lvm")
    backup  = optional(bool, true)
  })
  default = null
}

variable "devices" {
  description = "Host device paths passed through into the container (e.g. [\"/dev/dri\"] for a GPU). Proxmox lets only root@pam set them: with an API token, set root_only_over_ssh = true in the provider block."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Proxmox tags of the container."
  type        = set(string)
  default     = ["ralf"]
}

variable "upstreams" {
  description = "Services this one uses, name => \"host:port\" (from the stack's dependency blocks); handed to the installer."
  type        = map(string)
  default     = {}
}

# Environment: set in env/<env>.tfvars (chosen by RALF_ENV, see root.hcl).

variable "prefix_length" {
  description = "Prefix length of the container's network."
  type        = number
  default     = 24
}

variable "gateway" {
  description = "IPv4 gateway, inside the container's network; null for none."
  type        = string
  default     = null
}

variable "nameserver" {
  description = "DNS servers of the container, space separated; null to inherit the node's."
  type        = string
  default     = null
}

variable "searchdomain" {
  description = "DNS search domain of the container; null to inherit the node's."
  type        = string
  default     = null
}

variable "bridge" {
  description = "Bridge on the node."
  type        = string
  default     = "vmbr0"
}

variable "template" {
  description = "vztmpl volume id the container is created from."
  type        = string
  default     = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
}

variable "install_mode" {
  description = "How the service is installed: \"ansible\" (ansible-playbook against the container), \"sim\" (declare the service's unit and port to pve-sim) or \"lab\" (Ansible installs a stand-in service into a container of pve-sim's lab)."
  type        = string
  default     = "ansible"

  validation {
    condition     = contains(["ansible", "sim", "lab"], var.install_mode)
    error_message = "install_mode must be \"ansible\", \"sim\" or \"lab\"."
  }
}

variable "ssh_public_keys" {
  description = "SSH public keys for root in the container, installed at creation (the lab's Ansible logs in with them); null for none."
  type        = list(string)
  default     = null
}

variable "lab_broken_install" {
  description = "Lab failure drill: the stand-in installs but listens on the wrong port, so the smoke checks fail and roll back."
  type        = bool
  default     = false
}

variable "sim_endpoint" {
  description = "Base URL of pve-sim (its admin API lives under /sim/); used when install_mode = \"sim\"."
  type        = string
  default     = "https://127.0.0.1:8006"
}

variable "install_revision" {
  description = "Change it to run the install step again (for example after a rollback to pre-install)."
  type        = string
  default     = "1"
}

variable "rollback_trigger" {
  description = "Set it to a new value to roll the container back to its pre-install snapshot on the next apply."
  type        = string
  default     = null
}

variable "smoke_run" {
  description = "Change it to run the smoke checks again without changing anything else (the Smoke task templates set it)."
  type        = string
  default     = ""
}
