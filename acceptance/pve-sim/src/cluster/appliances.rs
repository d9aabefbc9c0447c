//! The appliance list a node offers for download (`pveam available`, `GET
//! /nodes/{node}/aplinfo`): a few entries of Proxmox's `system` and `turnkeylinux` sections
//! shaped as pve-manager `PVE/APLInfo.pm` (`read_aplinfo_from_fh`) records them, and the
//! template each becomes once downloaded. It must not know about HTTP.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::storage::Template;

/// The repository the `system` section comes from (pve-manager `PVE/APLInfo.pm`).
const SYSTEM_SOURCE: &str = "http://download.proxmox.com/images";
/// The TurnKey Linux repository.
const TURNKEY_SOURCE: &str = "https://releases.turnkeylinux.org/pve";

/// One appliance record.
#[derive(Debug, Clone, Copy)]
pub struct Appliance {
    pub package: &'static str,
    pub version: &'static str,
    /// `os` as the record gives it (`debian-12`).
    pub os: &'static str,
    pub section: &'static str,
    pub architecture: &'static str,
    /// The file name, which is the `template` key of the list.
    pub template: &'static str,
    pub headline: &'static str,
    pub description: &'static str,
    /// The size of the file once downloaded, in bytes.
    pub size: u64,
}

pub const APPLIANCES: &[Appliance] = &[
    Appliance {
        package: "debian-12-standard",
        version: "12.7-1",
        os: "debian-12",
        section: "system",
        architecture: "amd64",
        template: "debian-12-standard_12.7-1_amd64.tar.zst",
        headline: "Debian 12 Bookworm (standard)",
        description: "A small Debian Bookworm system including all standard packages.",
        size: 126_009_484,
    },
    Appliance {
        package: "debian-13-standard",
        version: "13.1-2",
        os: "debian-13",
        section: "system",
        architecture: "amd64",
        template: "debian-13-standard_13.1-2_amd64.tar.zst",
        headline: "Debian 13 Trixie (standard)",
        description: "A small Debian Trixie system including all standard packages.",
        size: 129_354_752,
    },
    Appliance {
        package: "ubuntu-22.04-standard",
        version: "22.04-1",
        os: "ubuntu-22.04",
        section: "system",
        architecture: "amd64",
        template: "ubuntu-22.04-standard_22.04-1_amd64.tar.zst",
        headline: "Ubuntu 22.04 Jammy (standard)",
        description: "A small Ubuntu 22.04 Jammy Jellyfish system including all standard packages.",
        size: 129_824_858,
    },
    Appliance {
        package: "ubuntu-24.04-standard",
        version: "24.04-2",
        os: "ubuntu-24.04",
        section: "system",
        architecture: "amd64",
        template: "ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
        headline: "Ubuntu 24.04 Noble (standard)",
        description: "A small Ubuntu 24.04 Noble Numbat system including all standard packages.",
        size: 141_589_318,
    },
    Appliance {
        package: "alpine-3.22-default",
        version: "20250617",
        os: "alpine-3.22",
        section: "system",
        architecture: "amd64",
        template: "alpine-3.22-default_20250617_amd64.tar.xz",
        headline: "Alpine Linux 3.22 (default)",
        description: "A small Alpine Linux 3.22 system.",
        size: 3_126_480,
    },
    Appliance {
        package: "turnkey-gitea",
        version: "18.0-1",
        os: "debian-12",
        section: "turnkeylinux",
        architecture: "amd64",
        template: "debian-12-turnkey-gitea_18.0-1_amd64.tar.gz",
        headline: "TurnKey Gitea",
        description: "Gitea - Git with a cup of tea. A painless self-hosted Git service.",
        size: 262_455_705,
    },
];

impl Appliance {
    /// The record by its file name (`apl_download` looks it up as `$list->{all}->{$template}`).
    pub fn find(template: &str) -> Option<&'static Appliance> {
        APPLIANCES.iter().find(|a| a.template == template)
    }

    fn source(&self) -> &'static str {
        if self.section == "turnkeylinux" {
            TURNKEY_SOURCE
        } else {
            SYSTEM_SOURCE
        }
    }

    /// Where the file is downloaded from (`$source/$section/$template` for the system section).
    pub fn location(&self) -> String {
        format!("{}/{}/{}", self.source(), self.section, self.template)
    }

    /// The record as `GET aplinfo` gives it: the record's keys lower-cased, plus `source`,
    /// `template` and `headline`.
    pub fn to_json(self) -> Value {
        json!({
            "package": self.package,
            "version": self.version,
            "type": "lxc",
            "os": self.os,
            "section": self.section,
            "architecture": self.architecture,
            "maintainer": if self.section == "turnkeylinux" {
                "Turnkey Linux <feedback@turnkeylinux.org>"
            } else {
                "Proxmox Support Team <support@proxmox.com>"
            },
            "infopage": if self.section == "turnkeylinux" {
                format!("https://www.turnkeylinux.org/{}", self.package.trim_start_matches("turnkey-"))
            } else {
                "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions".to_string()
            },
            "location": self.location(),
            "source": self.source(),
            "template": self.template,
            "headline": self.headline,
            "description": self.description,
        })
    }

    /// The template this appliance becomes on `storage`.
    pub fn as_template(&self, storage: &str) -> Template {
        let ostype = self.os.split('-').next().unwrap_or(self.os).to_string();
        Template {
            volid: Cow::Owned(format!("{storage}:vztmpl/{}", self.template)),
            size: self.size,
            ostype: Cow::Owned(ostype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_the_templates_the_examples_use() {
        for name in [
            "debian-12-standard_12.7-1_amd64.tar.zst",
            "ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
        ] {
            assert!(Appliance::find(name).is_some(), "{name}");
        }
    }

    #[test]
    fn a_downloaded_appliance_is_a_vztmpl_volume_with_its_os() {
        let t = Appliance::find("debian-12-standard_12.7-1_amd64.tar.zst")
            .expect("listed")
            .as_template("local");
        assert_eq!(
            t.volid,
            "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
        );
        assert_eq!(t.ostype, "debian");
    }

    #[test]
    fn system_appliances_come_from_the_proxmox_images_repository() {
        let a = Appliance::find("ubuntu-24.04-standard_24.04-2_amd64.tar.zst").expect("listed");
        assert_eq!(
            a.location(),
            "http://download.proxmox.com/images/system/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
        );
    }
}
