# A snapshot is imported by <node>/<ct_id>/<name>.
terraform import ralf_snapshot.pre_install pve/3010/pre-install
