# ralf_smoke_check cannot be imported: it records a run of checks, which exists only in
# Terraform state. Declare the resource and apply; its checks run on create.
