//! Container templates from Proxmox's appliance index (what `pveam available` and `pveam
//! download` use): the node's index (`GET /nodes/{node}/aplinfo`), downloading one appliance to a
//! storage (`POST /nodes/{node}/aplinfo`, a `download` task, pve-manager `PVE/API2/Nodes.pm`
//! `apl_download`), and removing a template volume (`DELETE
//! /nodes/{node}/storage/{storage}/content/{volume}`, an `imgdel` task, pve-storage
//! `src/PVE/API2/Storage/Content.pm`). This module knows nothing about Terraform.

use serde_json::Value;

use super::api::{segment, Method, Params, PveClient, Replay};
use super::error::PveError;
use super::normalise::value_text;
use super::retry::Deadline;
use super::task::TaskOutcome;

/// One entry of the appliance index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appliance {
    /// The file name, e.g. `debian-12-standard_12.7-1_amd64.tar.zst`: what `template` names.
    pub template: String,
    /// `debian-12-standard`.
    pub package: String,
    pub os: Option<String>,
    /// `lxc` (or `openvz`): the types Proxmox can download as container templates.
    pub kind: String,
    pub headline: Option<String>,
}

/// The volume id a template gets on a storage: `local:vztmpl/<template>`.
pub fn template_volume_id(storage: &str, template: &str) -> String {
    format!("{storage}:vztmpl/{template}")
}

/// The appliances whose names are closest to `wanted` (at most `limit`, closest first): the
/// same package in another version first, then names that are spelled nearly alike.
pub fn closest_templates<'a>(
    wanted: &str,
    appliances: &'a [Appliance],
    limit: usize,
) -> Vec<&'a str> {
    let wanted_package = wanted.split('_').next().unwrap_or(wanted);
    let mut scored: Vec<(f64, &str)> = appliances
        .iter()
        .map(|a| {
            let mut score = strsim::jaro_winkler(wanted, &a.template);
            if a.package == wanted_package {
                score += 1.0;
            }
            (score, a.template.as_str())
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(limit).map(|(_, t)| t).collect()
}

fn appliance_from_api(item: &Value) -> Option<Appliance> {
    let template = item.get("template").and_then(value_text)?;
    Some(Appliance {
        package: item
            .get("package")
            .and_then(value_text)
            .unwrap_or_else(|| template.split('_').next().unwrap_or(&template).to_string()),
        template,
        os: item.get("os").and_then(value_text),
        kind: item
            .get("type")
            .and_then(value_text)
            .unwrap_or_else(|| "lxc".into()),
        headline: item.get("headline").and_then(value_text),
    })
}

impl PveClient {
    /// The node's appliance index (container templates Proxmox can download).
    pub async fn appliances(&self, node: &str) -> Result<Vec<Appliance>, PveError> {
        let data = self
            .get(
                &format!("/nodes/{}/aplinfo", segment(node)),
                &Params::new(),
                &self.default_deadline(),
            )
            .await?;
        Ok(data
            .as_array()
            .map(|items| items.iter().filter_map(appliance_from_api).collect())
            .unwrap_or_default())
    }

    /// Downloads appliance `template` to `storage` on the node and waits for the `download`
    /// task. Sending it again is harmless (the file is written anew), so it is retried like a
    /// read.
    pub async fn download_appliance(
        &self,
        node: &str,
        storage: &str,
        template: &str,
        deadline: &Deadline,
    ) -> Result<TaskOutcome, PveError> {
        let path = format!("/nodes/{}/aplinfo", segment(node));
        let params = Params::new()
            .text("storage", storage)
            .text("template", template);
        let outcome = self
            .run_task(Method::Post, &path, &params, Replay::Safe, deadline, |_| {
                false
            })
            .await?;
        Ok(outcome.unwrap_or(TaskOutcome {
            upid: String::new(),
            warnings: Vec::new(),
        }))
    }

    /// Removes volume `volid` from `storage` on the node and waits for the task. A volume that
    /// is not there counts as removed.
    pub async fn delete_volume(
        &self,
        node: &str,
        storage: &str,
        volid: &str,
        deadline: &Deadline,
    ) -> Result<(), PveError> {
        let path = format!(
            "/nodes/{}/storage/{}/content/{}",
            segment(node),
            segment(storage),
            segment(volid)
        );
        self.delete_task(&path, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index() -> Vec<Appliance> {
        [
            "debian-12-standard_12.7-1_amd64.tar.zst",
            "debian-11-standard_11.7-1_amd64.tar.zst",
            "ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
            "alpine-3.20-default_20240908_amd64.tar.xz",
        ]
        .iter()
        .map(|t| appliance_from_api(&json!({ "template": t, "type": "lxc" })).unwrap())
        .collect()
    }

    #[test]
    fn an_older_version_of_a_package_suggests_the_current_one_first() {
        let list = index();
        let near = closest_templates("debian-12-standard_12.2-1_amd64.tar.zst", &list, 3);
        assert_eq!(near[0], "debian-12-standard_12.7-1_amd64.tar.zst");
        assert!(near.contains(&"debian-11-standard_11.7-1_amd64.tar.zst"));
        assert!(!near.contains(&"alpine-3.20-default_20240908_amd64.tar.xz"));
    }

    #[test]
    fn a_misspelt_name_suggests_what_it_looks_like_and_nonsense_suggests_nothing() {
        let list = index();
        let near = closest_templates("ubuntu-24.04-standrd_24.04-2_amd64.tar.zst", &list, 3);
        assert_eq!(near[0], "ubuntu-24.04-standard_24.04-2_amd64.tar.zst");
        assert!(closest_templates("windows-xp.iso", &list, 3).len() < list.len());
    }

    #[test]
    fn the_package_defaults_to_the_name_before_the_version() {
        let a =
            appliance_from_api(&json!({ "template": "debian-12-standard_12.7-1_amd64.tar.zst" }))
                .unwrap();
        assert_eq!(a.package, "debian-12-standard");
        assert_eq!(a.kind, "lxc");
        assert_eq!(
            template_volume_id("local", &a.template),
            "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
        );
    }
}
