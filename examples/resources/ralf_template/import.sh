# A template is imported by <node>/<storage>/<template>.
terraform import ralf_template.debian_12 pve/local/debian-12-standard_12.7-1_amd64.tar.zst
