//! `terraform-provider-ralf`: the plugin binary Terraform and OpenTofu start. Thin glue: the
//! provider lives in the library, the plugin runtime in `tfplugin`.

use std::sync::Arc;

fn main() {
    let options = tfplugin::serve::ServeOptions {
        provider_address: ralf_provider::PROVIDER_ADDRESS.to_string(),
        binary_name: "terraform-provider-ralf".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        log_targets: ralf_provider::LOG_TARGETS
            .iter()
            .map(|t| t.to_string())
            .collect(),
    };
    std::process::exit(tfplugin::serve::main_entry(
        Arc::new(ralf_provider::RalfProvider::new()),
        options,
    ));
}
