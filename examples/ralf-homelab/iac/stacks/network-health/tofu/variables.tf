# The gatekeeper's targets: set per environment in env/<env>.tfvars, the node's API from the
# provider's environment (see ../terragrunt.hcl).

variable "node_endpoint" {
  description = "The Proxmox VE API endpoint (PROXMOX_VE_ENDPOINT), e.g. https://pve:8006/."
  type        = string

  validation {
    condition     = can(regex("^https?://", var.node_endpoint))
    error_message = "node_endpoint must be the Proxmox VE API URL: set PROXMOX_VE_ENDPOINT (e.g. https://pve.ralf.home.arpa:8006/)."
  }
}

variable "node_ca_cert" {
  description = "PEM of the CA that signed the node's API certificate (PROXMOX_VE_CA_CERT); empty for the system's roots."
  type        = string
  default     = ""
}

variable "node_insecure" {
  description = "\"true\" to skip TLS verification of the node's API (PROXMOX_VE_INSECURE)."
  type        = string
  default     = "false"
}

variable "gateway" {
  description = "IPv4 address of the services' gateway, which must answer ping."
  type        = string
}

variable "dns_server" {
  description = "Address of the resolver the containers use."
  type        = string
}

variable "dns_port" {
  description = "Port of the resolver."
  type        = number
  default     = 53
}

variable "dns_name" {
  description = "A name the resolver must resolve (the node's)."
  type        = string
}

variable "ntp_server" {
  description = "Address of the time server the containers use."
  type        = string
}

variable "ntp_port" {
  description = "Port of the time server."
  type        = number
  default     = 123
}

variable "ntp_max_offset" {
  description = "Largest accepted offset between this machine's clock and the time server's (a duration, e.g. \"1s\")."
  type        = string
  default     = "1s"
}

variable "reverse_proxy_url" {
  description = "URL of the reverse proxy in front of the services; must answer with a status below 400."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^https?://", var.reverse_proxy_url))
    error_message = "reverse_proxy_url must be an http:// or https:// URL: set it in env/<RALF_ENV>.tfvars (in sim and lab, `ralf demo` sets it through RALF_GATEKEEPER_REVERSE_PROXY_URL, see ../terragrunt.hcl)."
  }
}

variable "observability_url" {
  description = "Health URL of the observability endpoint. A failure is a warning, not a stop: the tree deploys Prometheus itself."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^https?://", var.observability_url))
    error_message = "observability_url must be an http:// or https:// URL: set it in env/<RALF_ENV>.tfvars (in sim and lab, `ralf demo` sets it through RALF_GATEKEEPER_OBSERVABILITY_URL, see ../terragrunt.hcl)."
  }
}

variable "timeout" {
  description = "Limit of one attempt of one check."
  type        = string
  default     = "3s"
}

variable "attempts" {
  description = "Attempts per check before the gatekeeper stops the run."
  type        = number
  default     = 3
}

variable "services" {
  description = "The catalogue (iac/services.hcl) in this environment: service name => its container's ct_id and address. ../terragrunt.hcl passes it."
  type = map(object({
    ct_id   = number
    address = string
  }))

  validation {
    condition     = length(distinct([for s in var.services : s.ct_id])) == length(var.services)
    error_message = "Two services of the catalogue (iac/services.hcl) share a ct_id: give each its own."
  }
}

variable "recovery_snapshot" {
  description = "The snapshot every deployed service must have to count as recovery-ready: the one modules/ralf-service takes after the install."
  type        = string
  default     = "post-install"
}
