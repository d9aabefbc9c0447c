//! The `--state` file: the cluster as JSON, written atomically (temporary file in the same
//! directory, then rename) after every change, and read back on start. An unreadable file is
//! an error that names it; the file is then left untouched.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::cluster::Cluster;
use crate::error::SimError;
use crate::sim::lock;

pub(crate) struct Persister {
    path: PathBuf,
    /// Serialises writers so that renames happen in change order.
    write_lock: Mutex<()>,
}

impl Persister {
    pub fn new(path: PathBuf) -> Persister {
        Persister {
            path,
            write_lock: Mutex::new(()),
        }
    }

    /// The saved cluster, `None` when the file does not exist yet.
    pub fn load(&self) -> Result<Option<Cluster>, SimError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(SimError::StateUnreadable {
                    path: self.path.clone(),
                    reason: e.to_string(),
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SimError::StateUnreadable {
                path: self.path.clone(),
                reason: format!("not a pve-sim state file ({e})"),
            })
    }

    pub fn save(&self, cluster: &Cluster) -> Result<(), SimError> {
        let bytes = serde_json::to_vec(cluster).map_err(|e| SimError::StateWrite {
            path: self.path.clone(),
            error: std::io::Error::other(e),
        })?;
        self.write(&bytes)
    }

    pub fn write(&self, bytes: &[u8]) -> Result<(), SimError> {
        let _guard = lock(&self.write_lock);
        let err = |error| SimError::StateWrite {
            path: self.path.clone(),
            error,
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(err)?;
        tmp.write_all(bytes).map_err(err)?;
        tmp.flush().map_err(err)?;
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        Ok(())
    }
}
