//! The engine's operations: tenants, plugins, definitions, starting runs, signals, and the
//! operator's actions on dead letters. Each is one transaction.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use uuid::Uuid;
use weft_definition::Definition;
use weft_runtime::{LoadedPlugin, Runtime};
use weft_store::{history, plugins, runs, settings, tenants, work};

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::events::Event;
use crate::grants::GrantsCache;
use crate::group_commit::CommitQueue;
use crate::held::Held;
use crate::state::{Run, RunCore};
use weft_concepts::Clock;

/// The durable engine.
pub struct Engine {
    pub(crate) pool: PgPool,
    /// Claims and lease extensions, which need no WAL flush (see [`weft_store::relaxed_pool`]).
    pub(crate) relaxed: PgPool,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: EngineConfig,
    pub(crate) definitions: Mutex<HashMap<(String, String, i32), Arc<Definition>>>,
    pub(crate) grants: GrantsCache,
    pub(crate) commits: CommitQueue,
    /// Items this engine holds leases on (the heartbeat extends them).
    pub(crate) held: Held,
    /// Set when the worker loop stops: no more work is taken on.
    stopping: AtomicBool,
}

/// Most events one page of history holds.
pub const MAX_HISTORY_PAGE: usize = 1000;

/// One event of a run's history, with its place and time.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Its sequence number in the run's history, from 1.
    pub seq: i64,
    /// When it happened.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The event.
    pub event: Event,
}

fn decode(event: serde_json::Value) -> Result<Event, EngineError> {
    serde_json::from_value(event)
        .map_err(|e| EngineError::Internal(format!("a history event cannot be read: {e}")))
}

/// What starting a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The run.
    pub run_id: Uuid,
    /// False when a run with this business key existed already (and is returned instead).
    pub created: bool,
}

impl Engine {
    /// An engine on `pool` (migrated), running plugins in `runtime`.
    pub fn new(
        pool: PgPool,
        runtime: Arc<Runtime>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        Self {
            relaxed: weft_store::relaxed_pool(&pool, 2),
            pool,
            runtime,
            clock,
            config,
            definitions: Mutex::new(HashMap::new()),
            grants: GrantsCache::default(),
            commits: CommitQueue::default(),
            held: Held::default(),
            stopping: AtomicBool::new(false),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Stops taking on work: workers finish what they hold and claim nothing more.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Creates a tenant (no-op if it exists).
    pub async fn create_tenant(&self, id: &str, name: &str) -> Result<(), EngineError> {
        let mut conn = self.pool.acquire().await?;
        tenants::ensure(&mut conn, id, name, self.clock.now()).await?;
        Ok(())
    }

    pub(crate) async fn require_tenant(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant: &str,
    ) -> Result<(), EngineError> {
        if !tenants::exists(conn, tenant).await? {
            return Err(EngineError::NotFound(format!("tenant `{tenant}`")));
        }
        Ok(())
    }

    /// Publishes a plugin to a tenant after loading it (a file the runtime refuses is never
    /// stored); returns its sha256. `pin` makes it the version the tenant runs.
    pub async fn publish_plugin(
        &self,
        tenant: &str,
        bytes: &[u8],
        pin: bool,
    ) -> Result<String, EngineError> {
        let loaded = self.runtime.load(bytes).await?;
        let mut tx = self.pool.begin().await?;
        self.require_tenant(&mut tx, tenant).await?;
        let now = self.clock.now();
        plugins::publish(
            &mut tx,
            tenant,
            loaded.hash(),
            loaded.manifest(),
            bytes,
            now,
        )
        .await?;
        if pin {
            plugins::pin(&mut tx, tenant, loaded.hash(), now).await?;
        }
        tx.commit().await?;
        Ok(loaded.hash().to_owned())
    }

    /// Pins a published plugin version for the tenant.
    pub async fn pin_plugin(&self, tenant: &str, sha256: &str) -> Result<(), EngineError> {
        let mut conn = self.pool.acquire().await?;
        plugins::pin(&mut conn, tenant, sha256, self.clock.now()).await?;
        Ok(())
    }

    /// Replaces the tenant's settings for a plugin.
    pub async fn set_plugin_settings(
        &self,
        tenant: &str,
        plugin: &str,
        s: &crate::PluginSettings,
    ) -> Result<(), EngineError> {
        let mut conn = self.pool.acquire().await?;
        self.require_tenant(&mut conn, tenant).await?;
        settings::set_plugin_settings(&mut conn, tenant, plugin, s).await?;
        self.grants.invalidate(tenant, Some(plugin));
        Ok(())
    }

    /// Sets a tenant's secret.
    pub async fn set_secret(
        &self,
        tenant: &str,
        name: &str,
        value: &str,
    ) -> Result<(), EngineError> {
        let mut conn = self.pool.acquire().await?;
        self.require_tenant(&mut conn, tenant).await?;
        settings::set_secret(&mut conn, tenant, name, value, self.clock.now()).await?;
        self.grants.invalidate(tenant, None);
        Ok(())
    }

    /// Appends events, saves the run and schedules work, inside `tx`. `wake` notifies idle
    /// workers at commit; workers themselves do not (they claim again as soon as they finish,
    /// and a `NOTIFY` per step would serialize commits on its global lock).
    pub(crate) async fn write(
        &self,
        conn: &mut sqlx::PgConnection,
        run: &mut Run,
        events: Vec<(chrono::DateTime<chrono::Utc>, Event)>,
        work_items: Vec<work::NewWork>,
        wake: bool,
    ) -> Result<(), EngineError> {
        let first_seq = run.next_seq;
        let bodies = self.record(run, events)?;
        history::append(conn, &run.tenant, run.id, first_seq, &bodies).await?;
        runs::save(conn, &run.to_row()?).await?;
        let now = self.clock.now();
        work::enqueue(conn, &run.tenant, run.id, &work_items, now).await?;
        if wake && work_items.iter().any(|w| w.available_at <= now) {
            work::notify(conn).await?;
        }
        Ok(())
    }

    /// Serializes `events` for the history and counts them into `run` (its next sequence number
    /// and last change), ready to be saved with them.
    pub(crate) fn record(
        &self,
        run: &mut Run,
        events: Vec<(chrono::DateTime<chrono::Utc>, Event)>,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, serde_json::Value)>, EngineError> {
        let bodies = events
            .into_iter()
            .map(|(at, e)| serde_json::to_value(e).map(|v| (at, v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        run.next_seq += bodies.len() as i64;
        run.updated_at = self.clock.now();
        Ok(bodies)
    }

    /// A run of the tenant.
    pub async fn run(&self, tenant: &str, run_id: Uuid) -> Result<Run, EngineError> {
        let mut conn = self.pool.acquire().await?;
        Ok(Run::from_row(runs::get(&mut conn, tenant, run_id).await?)?)
    }

    /// A run's history.
    pub async fn history(&self, tenant: &str, run_id: Uuid) -> Result<Vec<Event>, EngineError> {
        let mut conn = self.pool.acquire().await?;
        runs::get(&mut conn, tenant, run_id).await?;
        history::list(&mut conn, run_id)
            .await?
            .into_iter()
            .map(|h| decode(h.event))
            .collect()
    }

    /// Up to `limit` (at most [`MAX_HISTORY_PAGE`]) events of a run's history after sequence
    /// number `after` (0 for the start), each with its number and time.
    pub async fn history_page(
        &self,
        tenant: &str,
        run_id: Uuid,
        after: i64,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, EngineError> {
        let limit = i64::try_from(limit.clamp(1, MAX_HISTORY_PAGE)).unwrap_or(1);
        let mut conn = self.pool.acquire().await?;
        runs::get(&mut conn, tenant, run_id).await?;
        history::page(&mut conn, run_id, after, limit)
            .await?
            .into_iter()
            .map(|h| {
                Ok(HistoryEntry {
                    seq: h.seq,
                    at: h.at,
                    event: decode(h.event)?,
                })
            })
            .collect()
    }

    /// The run's state rebuilt from its history (must equal [`Engine::run`]'s core).
    pub async fn replay(&self, tenant: &str, run_id: Uuid) -> Result<RunCore, EngineError> {
        let run = self.run(tenant, run_id).await?;
        let mut conn = self.pool.acquire().await?;
        let def = self
            .definition(&mut conn, tenant, &run.definition, run.version)
            .await?;
        Ok(crate::state::replay(
            &def,
            &self.history(tenant, run_id).await?,
        ))
    }

    /// The plugin with this hash, loaded (from the store on first use).
    pub(crate) async fn plugin(
        &self,
        tenant: &str,
        sha256: &str,
    ) -> Result<Arc<LoadedPlugin>, EngineError> {
        if let Some(p) = self.runtime.loaded(sha256) {
            return Ok(p);
        }
        let mut conn = self.pool.acquire().await?;
        let bytes = plugins::bytes(&mut conn, tenant, sha256).await?;
        Ok(self.runtime.load(&bytes).await?)
    }
}
