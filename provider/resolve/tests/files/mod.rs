//! A hosts file and, optionally, a resolv.conf in a temporary directory, and a `NameResolver`
//! reading them instead of the system's: the fixture of the resolver's tests, also included by the
//! check engine's (provider/checks/tests/checks_resolve.rs) so that both write their files alike.

#![allow(dead_code)] // each test crate uses its own part

use std::path::PathBuf;

use resolve::NameResolver;

pub struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    /// `hosts` as the hosts file; `resolv_conf` as the resolv.conf, or none at all.
    pub fn new(hosts: &str, resolv_conf: Option<&str>) -> Files {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("hosts"), hosts).expect("hosts");
        if let Some(text) = resolv_conf {
            std::fs::write(dir.path().join("resolv.conf"), text).expect("resolv.conf");
        }
        Files { dir }
    }

    /// `hosts` or `resolv.conf` in the directory (which may not exist).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn resolver(&self) -> NameResolver {
        NameResolver::from_files(self.path("hosts"), self.path("resolv.conf"))
    }
}
