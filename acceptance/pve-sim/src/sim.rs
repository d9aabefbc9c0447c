//! The running simulator's shared state: the cluster behind a mutex, and the services that
//! follow every change (state-file persistence, guest port serving), plus statistics, faults
//! and login sessions. It must not know about HTTP routing.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::backend::{Emulated, GuestBackend};
use crate::cluster::Cluster;
use crate::config::{SimConfig, TokenCredential, UserCredential};
use crate::error::SimError;
use crate::faults::Faults;
use crate::guests::GuestPorts;
use crate::persist::Persister;
use crate::stats::Stats;
use crate::tickets::Tickets;

/// Runtime settings changeable through `POST /sim/settings`.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub task_duration: Duration,
    /// How stale `/cluster/resources` may be (Proxmox's pvestatd refreshes it about every
    /// 10 s); zero means always fresh.
    pub resources_lag: Duration,
}

/// `/cluster/resources` as rendered after one change of the cluster: rendering it walks every
/// container and storage, so it is done once per change, not once per call.
pub(crate) struct ResourcesCache {
    /// The cluster generation it was rendered from.
    pub generation: u64,
    pub rendered_at: std::time::Instant,
    pub items: Arc<Vec<serde_json::Value>>,
    /// The serialised answer per `type` filter (`""` for none), made on first use.
    pub answers: std::collections::BTreeMap<String, Arc<[u8]>>,
}

pub(crate) struct Sim {
    pub nodes: Vec<String>,
    pub tokens: Vec<TokenCredential>,
    pub users: Vec<UserCredential>,
    pub auth_failure_delay: Duration,
    pub error_message_in_body: bool,
    pub default_task_duration: Duration,
    cluster: Mutex<Cluster>,
    pub settings: Mutex<Settings>,
    pub stats: Mutex<Stats>,
    pub faults: Mutex<Faults>,
    pub tickets: Mutex<Tickets>,
    pub guests: GuestPorts,
    /// What runs the containers: emulated (default) or the lab's real LXC containers.
    pub backend: Arc<dyn GuestBackend>,
    /// Templates the nodes start (and restart on reset) without.
    pub missing_templates: Vec<String>,
    /// The last rendered `/cluster/resources` list.
    pub resources_cache: Mutex<Option<ResourcesCache>>,
    /// Counts changes of the cluster (every `mutate`), so caches know when they are stale.
    generation: AtomicU64,
    persist: Option<Persister>,
}

/// Locks a mutex even if another thread panicked while holding it (the data stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Sim {
    pub fn new(config: &SimConfig) -> Result<Arc<Sim>, SimError> {
        config.check_nodes()?;
        let tokens = config.parsed_tokens()?;
        let users = config.parsed_users()?;
        let (cluster, persist) = match &config.state_file {
            Some(path) => {
                let persister = Persister::new(path.clone());
                let cluster = match persister.load()? {
                    Some(mut cluster) => {
                        cluster.abandon_running_tasks();
                        for node in &config.nodes {
                            if !cluster.nodes.contains(node) {
                                cluster.nodes.push(node.clone());
                            }
                        }
                        cluster
                    }
                    None => Cluster::new(config.nodes.clone()),
                };
                (cluster, Some(persister))
            }
            None => (Cluster::new(config.nodes.clone()), None),
        };
        let backend: Arc<dyn GuestBackend> = match &config.lab {
            Some(lab) => Arc::new(crate::lab::LabBackend::start(lab.clone())?),
            None => Arc::new(Emulated),
        };
        let mut cluster = cluster;
        cluster.seed_templates(&backend.templates(), &config.missing_templates);
        let sim = Sim {
            nodes: cluster.nodes.clone(),
            missing_templates: config.missing_templates.clone(),
            tokens,
            users,
            auth_failure_delay: config.auth_failure_delay,
            error_message_in_body: config.error_message_in_body,
            default_task_duration: config.task_duration,
            cluster: Mutex::new(cluster),
            settings: Mutex::new(Settings {
                task_duration: config.task_duration,
                resources_lag: Duration::ZERO,
            }),
            resources_cache: Mutex::new(None),
            generation: AtomicU64::new(0),
            stats: Mutex::new(Stats::default()),
            faults: Mutex::new(Faults::default()),
            tickets: Mutex::new(Tickets::default()),
            guests: GuestPorts::default(),
            backend,
            persist,
        };
        if let Some(p) = &sim.persist {
            p.save(&lock(&sim.cluster))?;
        }
        Ok(Arc::new(sim))
    }

    /// Reads the cluster.
    pub fn read<R>(&self, f: impl FnOnce(&Cluster) -> R) -> R {
        f(&lock(&self.cluster))
    }

    /// Changes the cluster, then persists it and updates the served guest ports.
    pub fn mutate<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        let result = f(&mut lock(&self.cluster));
        self.after_change();
        result
    }

    /// Changes the cluster without the follow-up work (for bookkeeping such as task logs,
    /// which the next `mutate` persists).
    pub fn mutate_quiet<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        f(&mut lock(&self.cluster))
    }

    /// The number of changes so far; it grows with every `mutate`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn after_change(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(p) = &self.persist {
            let serialised = {
                let cluster = lock(&self.cluster);
                serde_json::to_vec(&*cluster)
            };
            match serialised {
                Ok(bytes) => {
                    if let Err(e) = p.write(&bytes) {
                        tracing::error!("{e}");
                    }
                }
                Err(e) => tracing::error!("cannot serialise the cluster state: {e}"),
            }
        }
        self.guests
            .reconcile(|| lock(&self.cluster).desired_guest_ports());
    }

    pub fn task_duration(&self) -> Duration {
        lock(&self.settings).task_duration
    }

    /// Empties the cluster (removing the lab's containers) and resets statistics, faults and
    /// settings.
    pub fn reset(&self) {
        self.backend.clean_up();
        self.mutate(|c| {
            let nodes = c.nodes.clone();
            *c = Cluster::new(nodes);
            c.seed_templates(&self.backend.templates(), &self.missing_templates);
        });
        *lock(&self.stats) = Stats::default();
        *lock(&self.faults) = Faults::default();
        *lock(&self.settings) = Settings {
            task_duration: self.default_task_duration,
            resources_lag: Duration::ZERO,
        };
        *lock(&self.resources_cache) = None;
    }

    /// Starts an asynchronous task: registers it (so its UPID is visible at once) and runs
    /// `work` on the runtime. `work` returns the task's error text on failure.
    pub fn spawn_task<F, Fut>(
        self: &Arc<Self>,
        node: &str,
        ty: &str,
        id: &str,
        user: &str,
        work: F,
    ) -> String
    where
        F: FnOnce(TaskCtx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let upid = self.mutate(|c| c.new_task(node, ty, id, user));
        let ctx = TaskCtx {
            sim: Arc::clone(self),
            upid: upid.clone(),
        };
        tokio::spawn(async move {
            let sim = Arc::clone(&ctx.sim);
            let upid = ctx.upid.clone();
            let result = work(ctx).await;
            sim.mutate(|c| c.finish_task(&upid, result));
        });
        upid
    }

    /// Closes everything the simulator serves besides the API listener.
    pub fn shutdown(&self) {
        self.guests.close_all();
        self.backend.close();
    }
}

/// What a running task may use.
pub(crate) struct TaskCtx {
    pub sim: Arc<Sim>,
    pub upid: String,
}

impl TaskCtx {
    pub fn log(&self, line: impl Into<String>) {
        let line = line.into();
        self.sim.mutate_quiet(|c| c.task_log(&self.upid, line));
    }

    /// Waits for the configured task duration.
    pub async fn work(&self) {
        let d = self.sim.task_duration();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}
