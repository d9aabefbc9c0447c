# functional: the real RALF network. The container's address (10.10.100.10) comes from
# iac/services.hcl; this file holds the network around it.
prefix_length = 24
gateway       = "10.10.100.1"
nameserver    = "10.10.100.1"
searchdomain  = "ralf.home.arpa"
bridge        = "vmbr0"
install_mode  = "ansible"
