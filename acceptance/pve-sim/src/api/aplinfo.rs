//! The appliance list of a node (pve-manager `PVE/API2/Nodes.pm`, `aplinfo` and
//! `apl_download`): `GET` lists what can be downloaded; `POST` downloads one appliance to a
//! storage in a `download` task, after which it is a `vztmpl` volume there.

use serde_json::Value;

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::cluster::appliances::{Appliance, APPLIANCES};

/// Where a directory storage keeps its templates (pve-storage `get_vztmpl_dir`).
fn vztmpl_dir(storage: &str) -> String {
    if storage == "local" {
        "/var/lib/vz/template/cache".to_string()
    } else {
        format!("/mnt/pve/{storage}/template/cache")
    }
}

pub(super) fn list(_call: &Call) -> Result<Reply, ApiError> {
    Ok(Value::Array(APPLIANCES.iter().copied().map(Appliance::to_json).collect()).into())
}

/// `apl_download`: the appliance must be listed (`no such template`, a parameter error), the
/// storage must exist and hold `vztmpl` content; then a `download` task with the template as
/// its id fetches the file. A file already there with the right checksum is not fetched again.
pub(super) fn download(call: &Call) -> Result<Reply, ApiError> {
    let node = call.node().to_string();
    let storage = call.get("storage").unwrap_or_default().to_string();
    let template = call.get("template").unwrap_or_default().to_string();
    let Some(appliance) = Appliance::find(&template) else {
        return Err(ApiError::param("template", "no such template"));
    };
    let def = call
        .sim
        .read(|c| c.storage(&storage))
        .ok_or_else(|| ApiError::internal(format!("storage '{storage}' does not exist")))?;
    if !def.content.contains(&"vztmpl") {
        return Err(ApiError::internal(format!(
            "storage '{storage}' does not support templates"
        )));
    }
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "download",
        &template,
        call.user(),
        move |ctx| async move {
            let dest = format!("{}/{}", vztmpl_dir(&storage), appliance.template);
            let location = appliance.location();
            ctx.log(format!("downloading {location} to {dest}"));
            let target = appliance.as_template(&storage);
            if ctx.sim.read(|c| c.template(&node, &target.volid).is_some()) {
                ctx.log("calculating checksum of existing file...OK, got correct file already, no need to download");
                return Ok(());
            }
            ctx.work().await;
            if fail {
                return Err(format!(
                    "download failed: command 'wget --progress=dot:giga -O {dest}.tmp_dwnl.{} {location}' failed: exit code 8",
                    std::process::id()
                ));
            }
            ctx.log("calculating checksum...OK, checksum verified");
            ctx.sim.mutate(|c| c.add_template(&node, target));
            ctx.log(format!("download of '{location}' to '{dest}' finished"));
            Ok(())
        },
    );
    Ok(Value::String(upid).into())
}
