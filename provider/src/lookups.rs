//! Plan-time look-ups of the cluster, made once per provider process instead of once per planned
//! resource: which guest ids are in use (`/cluster/resources`), a node's storages, the templates
//! on a storage and a node's appliance index. Each is fetched at most once per key (cluster, node,
//! or node and storage); resources planned concurrently share the one request in flight. A failed
//! look-up is remembered too, so a plan of many resources reports it without repeating it.
//!
//! Staleness rule: these answers serve plan-time checks only, which may be a little out of date
//! (Proxmox's own `/cluster/resources` lags by about 10 s). Apply never trusts them: creating a
//! container whose id was taken after the plan fails at apply with Proxmox's answer, as it did
//! before. What this process itself changes is folded in: a template this run plans to download
//! counts as present, and one it downloaded is added to the cached list.
//!
//! This module holds no Terraform values; it knows the `pve` client and nothing of resources.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use pve::aplinfo::Appliance;
use pve::{GuestLocation, PveClient, PveError, StorageInfo};

/// A look-up's answer as shared by every caller: the value, or the error it met.
pub type Shared<T> = Result<Arc<T>, Arc<PveError>>;

/// One look-up per key, fetched once; concurrent callers wait for the same fetch.
struct Keyed<K, T> {
    cells: Mutex<HashMap<K, Arc<OnceCell<Shared<T>>>>>,
}

impl<K, T> Default for Keyed<K, T> {
    fn default() -> Self {
        Keyed {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, T> Keyed<K, T> {
    async fn get<F, Fut>(&self, key: &K, fetch: F) -> Shared<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, PveError>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            cells.entry(key.clone()).or_default().clone()
        };
        cell.get_or_init(|| async { fetch().await.map(Arc::new).map_err(Arc::new) })
            .await
            .clone()
    }

    /// Changes a cached answer in place (when this process changed what it describes).
    fn update(&self, key: &K, change: impl FnOnce(&T) -> T) {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        let Some(cell) = cells.get(key) else {
            return;
        };
        if let Some(Ok(current)) = cell.get() {
            let changed = Arc::new(change(current));
            cells.insert(key.clone(), Arc::new(OnceCell::new_with(Some(Ok(changed)))));
        }
    }
}

/// The per-process cache of plan-time look-ups (held in `ProviderState`).
#[derive(Default)]
pub struct Lookups {
    guests: Keyed<(), BTreeMap<u32, GuestLocation>>,
    storages: Keyed<String, Vec<StorageInfo>>,
    /// `None`: the node has no such storage.
    templates: Keyed<(String, String), Option<BTreeSet<String>>>,
    appliances: Keyed<String, Vec<Appliance>>,
    /// `<node>/<volume id>` of templates this run plans to download (`ralf_template`).
    planned_templates: Mutex<BTreeSet<String>>,
}

impl Lookups {
    /// Where `ct_id` is in use in the cluster, if anywhere (one `/cluster/resources` per process).
    pub async fn ct_id_in_use(
        &self,
        client: &PveClient,
        ct_id: u32,
    ) -> Result<Option<GuestLocation>, Arc<PveError>> {
        let guests = self.guests.get(&(), || client.guests()).await?;
        Ok(guests.get(&ct_id).cloned())
    }

    /// The node's storages (one `GET /nodes/{node}/storage` per node and process).
    pub async fn storages(&self, client: &PveClient, node: &str) -> Shared<Vec<StorageInfo>> {
        self.storages
            .get(&node.to_string(), || client.list_storages(node))
            .await
    }

    /// Whether the template volume exists on the node, or this run plans to download it (one
    /// listing per node and storage and process). A missing storage counts as "does not exist".
    pub async fn template_exists(
        &self,
        client: &PveClient,
        node: &str,
        volid: &str,
    ) -> Result<bool, Arc<PveError>> {
        if self.template_is_planned(node, volid) {
            return Ok(true);
        }
        let Some((storage, _)) = volid.split_once(':') else {
            return Ok(false);
        };
        let volumes = self.template_volumes(client, node, storage).await?;
        Ok(volumes.as_ref().as_ref().is_some_and(|v| v.contains(volid)))
    }

    /// The template volume ids on one storage of the node (`None`: no such storage).
    pub async fn template_volumes(
        &self,
        client: &PveClient,
        node: &str,
        storage: &str,
    ) -> Shared<Option<BTreeSet<String>>> {
        self.templates
            .get(&(node.to_string(), storage.to_string()), || {
                client.template_volumes(node, storage)
            })
            .await
    }

    /// The node's appliance index (one `GET /nodes/{node}/aplinfo` per node and process).
    pub async fn appliances(&self, client: &PveClient, node: &str) -> Shared<Vec<Appliance>> {
        self.appliances
            .get(&node.to_string(), || client.appliances(node))
            .await
    }

    /// Notes that this run plans to download template `volid` to `node`: containers planned
    /// after it may name it before it exists.
    pub fn note_planned_template(&self, node: &str, volid: &str) {
        if let Ok(mut planned) = self.planned_templates.lock() {
            planned.insert(format!("{node}/{volid}"));
        }
    }

    fn template_is_planned(&self, node: &str, volid: &str) -> bool {
        self.planned_templates
            .lock()
            .is_ok_and(|planned| planned.contains(&format!("{node}/{volid}")))
    }

    /// Records that template `volid` now exists on `node` (this process downloaded it).
    pub fn note_template_downloaded(&self, node: &str, volid: &str) {
        let Some((storage, _)) = volid.split_once(':') else {
            return;
        };
        self.templates
            .update(&(node.to_string(), storage.to_string()), |volumes| {
                let mut volumes = volumes.clone().unwrap_or_default();
                volumes.insert(volid.to_string());
                Some(volumes)
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn not_found() -> PveError {
        PveError::NotFound {
            call: pve::error::Call::new("GET", "/cluster/resources"),
            message: "boom".into(),
        }
    }

    #[tokio::test]
    async fn concurrent_callers_of_one_key_share_one_fetch() {
        let keyed: Keyed<String, u32> = Keyed::default();
        let fetches = AtomicU32::new(0);
        let counter = &fetches;
        let fetch = move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(7)
        };
        let key = "pve".to_string();
        let calls: Vec<_> = (0..50).map(|_| keyed.get(&key, fetch)).collect();
        let answers = join_all(calls).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(answers.len(), 50);
        assert!(answers.iter().all(|a| **a.as_ref().unwrap() == 7));
    }

    /// A minimal join_all (the provider does not depend on `futures`).
    async fn join_all<Fut: std::future::Future>(futures: Vec<Fut>) -> Vec<Fut::Output> {
        let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
        let mut results: Vec<Option<Fut::Output>> = (0..pinned.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (i, f) in pinned.iter_mut().enumerate() {
                if results[i].is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => results[i] = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        results.into_iter().flatten().collect()
    }

    #[tokio::test]
    async fn each_key_is_fetched_once_and_keys_apart() {
        let keyed: Keyed<String, String> = Keyed::default();
        let fetches = AtomicU32::new(0);
        for node in ["pve", "pve2", "pve", "pve2", "pve"] {
            let counter = &fetches;
            let answer = keyed
                .get(&node.to_string(), move || async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(format!("storages of {node}"))
                })
                .await;
            assert_eq!(*answer.unwrap(), format!("storages of {node}"));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_look_up_is_remembered_not_repeated() {
        let keyed: Keyed<(), u32> = Keyed::default();
        let fetches = AtomicU32::new(0);
        for _ in 0..3 {
            let counter = &fetches;
            let answer = keyed
                .get(&(), move || async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Err(not_found())
                })
                .await;
            assert!(answer.unwrap_err().is_not_found());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_template_planned_in_this_run_counts_as_present_on_its_node_only() {
        let lookups = Lookups::default();
        lookups.note_planned_template("pve", "local:vztmpl/debian.tar.zst");
        assert!(lookups.template_is_planned("pve", "local:vztmpl/debian.tar.zst"));
        assert!(!lookups.template_is_planned("pve2", "local:vztmpl/debian.tar.zst"));
        assert!(!lookups.template_is_planned("pve", "local:vztmpl/ubuntu.tar.zst"));
    }

    #[tokio::test]
    async fn a_downloaded_template_joins_the_cached_listing() {
        let lookups = Lookups::default();
        let key = ("pve".to_string(), "local".to_string());
        let first = lookups
            .templates
            .get(&key, || async {
                Ok(Some(BTreeSet::from(["local:vztmpl/a.tar.zst".to_string()])))
            })
            .await
            .unwrap();
        assert!(!first
            .as_ref()
            .as_ref()
            .unwrap()
            .contains("local:vztmpl/b.tar.zst"));
        lookups.note_template_downloaded("pve", "local:vztmpl/b.tar.zst");
        let after = lookups
            .templates
            .get(&key, || async { panic!("must not fetch again") })
            .await
            .unwrap();
        let after = after.as_ref().as_ref().unwrap();
        assert!(
            after.contains("local:vztmpl/a.tar.zst") && after.contains("local:vztmpl/b.tar.zst")
        );
    }
}
