//! tfplugin: a Terraform plugin runtime (to be filled).
