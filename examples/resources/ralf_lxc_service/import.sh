# A container is imported by <node>/<ct_id>.
terraform import ralf_lxc_service.vaultwarden pve/3010
