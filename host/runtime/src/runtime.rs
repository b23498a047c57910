//! The runtime: loads plugins and runs attempts, each in a fresh store under its limits.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::bindings::{self, PluginPre};
use crate::cache::{ArtifactCache, sha256_hex};
use crate::egress::EgressPolicy;
use crate::engine::{EpochTicker, build_engine};
use crate::limits::Limits;
use crate::outcome::{AttemptReport, Outcome};
use crate::plugin::{LoadError, LoadedPlugin, check_manifest};
use crate::services::{SecretValue, Services};
use crate::state::{AttemptState, Grants, granted_secrets};
use crate::validate::{Checkers, validate_output};
use crate::verdict::{self, Checked};

/// Loaded plugins kept in memory before those not in use are dropped.
const LOADED_PLUGINS_CAPACITY: usize = 256;

/// How a runtime is set up. Per-attempt limits come with each [`AttemptRequest`].
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled plugins are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Attempts running at once; more wait for a slot. Sizes the instance pool.
    pub max_concurrent_attempts: u32,
    /// The most memory any attempt may be granted, whatever its overrides say. Sizes pool slots.
    pub memory_ceiling_bytes: u64,
    /// The most any attempt may be granted of every other limit (`Limits::ceilings()` by
    /// default); memory is cut to the lower of this and `memory_ceiling_bytes`.
    pub ceilings: Limits,
    /// Largest plugin file accepted.
    pub max_component_bytes: u64,
    /// Deepest wasm stack; deeper recursion traps as a stack overflow.
    pub max_wasm_stack_bytes: usize,
    /// Epoch period: the granularity of CPU accounting and of yielding to other tasks.
    pub epoch_tick: Duration,
    /// Limits for `describe` when loading, and the base for attempts.
    pub defaults: Limits,
    /// Whether plugins may reach loopback, private, link-local and other non-public addresses
    /// (checked after DNS resolution). Off in production, where a tenant's allow-list must not
    /// open the host's own network (cloud metadata, internal services); on for local
    /// development and tests, whose servers listen on 127.0.0.1.
    pub allow_private_egress: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_concurrent_attempts: 64,
            memory_ceiling_bytes: 512 << 20,
            ceilings: Limits::ceilings(),
            max_component_bytes: 32 << 20,
            max_wasm_stack_bytes: 1 << 20,
            epoch_tick: Duration::from_millis(10),
            defaults: Limits::default(),
            allow_private_egress: false,
        }
    }
}

/// Which step of which run an attempt executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepContext {
    /// Tenant of the run.
    pub tenant: String,
    /// The run.
    pub run_id: String,
    /// The step.
    pub step_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Stable per (tenant, run, step).
    pub idempotency_key: String,
}

/// One attempt to run: the operation, its input, and what the tenant grants.
#[derive(Debug, Clone)]
pub struct AttemptRequest {
    /// Where it belongs.
    pub context: StepContext,
    /// Operation name.
    pub operation: String,
    /// JSON input.
    pub input: String,
    /// The tenant's settings for this plugin.
    pub config: Arc<BTreeMap<String, String>>,
    /// The tenant's secrets; only those the plugin's manifest names are usable.
    pub secrets: Arc<BTreeMap<String, SecretValue>>,
    /// The tenant's allow-list for this plugin.
    pub egress: Arc<EgressPolicy>,
    /// Effective limits (defaults, then tenant, then step overrides).
    pub limits: Limits,
}

impl AttemptRequest {
    /// A request with no config, secrets or egress, and default limits.
    pub fn new(context: StepContext, operation: &str, input: impl Into<String>) -> Self {
        Self {
            context,
            operation: operation.to_owned(),
            input: input.into(),
            config: Arc::default(),
            secrets: Arc::default(),
            egress: Arc::default(),
            limits: Limits::default(),
        }
    }
}

/// Runs plugins. One per process; cheap to share behind an `Arc`.
pub struct Runtime {
    engine: Engine,
    linker: Linker<AttemptState>,
    cache: ArtifactCache,
    plugins: Mutex<HashMap<String, Arc<LoadedPlugin>>>,
    slots: Semaphore,
    http: reqwest::Client,
    services: Services,
    config: RuntimeConfig,
    checkers: Checkers,
    _ticker: EpochTicker,
}

/// The runtime could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the plugin runtime: {0}")]
pub struct StartError(String);

impl Runtime {
    /// Builds the engine, the linker and the HTTP client, and starts the epoch ticker.
    pub fn new(config: RuntimeConfig, services: Services) -> Result<Self, StartError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| StartError(format!("{what}: {e}"));
        let engine = build_engine(&config).map_err(|e| fail("engine", &e))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| fail("wasi", &e))?;
        bindings::Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| fail("linker", &e))?;
        // Redirects are not followed: the next hop would escape the allow-list check, with the
        // substituted secrets in its headers.
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private_egress {
            // Connections go only to addresses the resolver checked; a proxy would resolve the
            // name itself, past the check, so none is used.
            http = http
                .dns_resolver(crate::egress::address::CheckedResolver)
                .no_proxy();
        }
        let http = http.build().map_err(|e| fail("http client", &e))?;
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick)
            .map_err(|e| fail("ticker", &e))?;
        // As many checkers as cores: more could not run at once anyway.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let checkers = Checkers::start(cores).map_err(|e| fail("output checkers", &e))?;
        Ok(Self {
            checkers,
            cache: ArtifactCache::new(config.cache_dir.clone(), &engine),
            slots: Semaphore::new(config.max_concurrent_attempts as usize),
            plugins: Mutex::new(HashMap::new()),
            engine,
            linker,
            http,
            services,
            config,
            _ticker: ticker,
        })
    }

    /// Loads a plugin from its component bytes (or returns it, if already loaded): compiles it
    /// (or loads it precompiled from the cache), links it, and reads its manifest.
    pub async fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedPlugin>, LoadError> {
        let size = bytes.len() as u64;
        if size > self.config.max_component_bytes {
            return Err(LoadError::TooLarge {
                size,
                limit: self.config.max_component_bytes,
            });
        }
        let hash = sha256_hex(bytes);
        if let Some(p) = self.loaded(&hash) {
            return Ok(p);
        }
        if wasmparser_kind(bytes) == Some(WasmKind::CoreModule) {
            return Err(LoadError::Malformed(
                "this is a core WebAssembly module, not a component; build the plugin for the \
                 wasm32-wasip2 target"
                    .into(),
            ));
        }
        let (engine, cache, owned, key) = (
            self.engine.clone(),
            self.cache.clone(),
            bytes.to_vec(),
            hash.clone(),
        );
        let (component, from_cache) =
            tokio::task::spawn_blocking(move || cache.load_or_compile(&engine, &key, &owned))
                .await
                .map_err(|e| LoadError::Internal(e.to_string()))?
                .map_err(|e| LoadError::Malformed(verdict::chain(&e)))?;
        let pre = self.link(&component)?;
        let manifest = self.describe(&pre).await?;
        let (manifest, validators) = check_manifest(manifest)?;
        let plugin = Arc::new(LoadedPlugin {
            declared_secrets: manifest.capabilities.secrets.iter().cloned().collect(),
            hash: hash.clone(),
            manifest,
            pre,
            validators,
            from_cache,
        });
        if let Ok(mut map) = self.plugins.lock() {
            if map.len() >= LOADED_PLUGINS_CAPACITY {
                // Compiled code is large: keep a bound. Plugins no attempt holds go first; they
                // load again from the on-disk cache in about a millisecond when next needed.
                map.retain(|_, p| Arc::strong_count(p) > 1);
            }
            map.insert(hash, plugin.clone());
        }
        Ok(plugin)
    }

    /// The plugin with this sha256, if loaded.
    pub fn loaded(&self, hash: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins.lock().ok().and_then(|m| m.get(hash).cloned())
    }

    fn link(&self, component: &Component) -> Result<PluginPre<AttemptState>, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::Incompatible(verdict::chain(&e)))?;
        PluginPre::new(pre).map_err(|e| LoadError::Incompatible(verdict::chain(&e)))
    }

    async fn describe(
        &self,
        pre: &PluginPre<AttemptState>,
    ) -> Result<bindings::types::Manifest, LoadError> {
        let limits = self.config.defaults;
        let grants = Grants::for_describe(SystemTime::now() + limits.wall_time);
        let mut store = self.new_store(grants, limits);
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        };
        match tokio::time::timeout(limits.wall_time, call).await {
            Ok(Ok(manifest)) => Ok(manifest),
            Ok(Err(e)) => Err(LoadError::BadManifest(format!(
                "`describe` failed: {}",
                verdict::trap_outcome(store.data(), &e).describe()
            ))),
            Err(_) => Err(LoadError::BadManifest(
                "`describe` did not return in time".into(),
            )),
        }
    }

    fn new_store(&self, grants: Grants, limits: Limits) -> Store<AttemptState> {
        let state = AttemptState::new(
            grants,
            limits,
            self.services.clone(),
            self.http.clone(),
            self.config.epoch_tick,
        );
        let mut store = Store::new(&self.engine, state);
        store.data_mut().allow_private_egress = self.config.allow_private_egress;
        store.limiter(|s| s);
        store.set_epoch_deadline(1);
        // Every tick: charge the CPU budget, then yield so a looping plugin shares its thread
        // and the wall-clock timeout can fire.
        store.epoch_deadline_callback(|mut ctx| {
            ctx.data_mut().cpu.tick()?;
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Runs one attempt. Never fails: whatever the plugin does ends in one classified outcome.
    pub async fn invoke(&self, plugin: &LoadedPlugin, request: AttemptRequest) -> AttemptReport {
        let started = Instant::now();
        let mut ceilings = self.config.ceilings;
        ceilings.memory_bytes = ceilings.memory_bytes.min(self.config.memory_ceiling_bytes);
        let (limits, clamped) = request.limits.clamped(&ceilings);
        for note in &clamped {
            tracing::warn!(tenant = %request.context.tenant, run = %request.context.run_id,
                step = %request.context.step_id, "{note}");
        }
        if let Some(refusal) = verdict::refuse_early(plugin, &request, &limits) {
            return AttemptReport {
                outcome: refusal,
                logs: Vec::new(),
                logs_dropped: 0,
                http_calls: 0,
                calls: Vec::new(),
                duration: started.elapsed(),
            };
        }
        // The semaphore is never closed, so acquiring fails only if it were; run anyway then.
        let _slot = self.slots.acquire().await.ok();
        let grants = Grants {
            context: request.context.clone(),
            plugin: plugin.id(),
            config: request.config.clone(),
            secrets: granted_secrets(&plugin.declared_secrets, &request.secrets),
            egress: request.egress.clone(),
            deadline: SystemTime::now() + limits.wall_time,
            redaction: Default::default(),
        };
        let mut store = self.new_store(grants, limits);
        // The attempt's log tells the operator why it ran with less than it was given.
        for message in clamped {
            store.data_mut().logs.push(crate::LogLine {
                at: self.services.now(),
                level: crate::LogLevel::Warn,
                message: format!("host: {message}"),
            });
        }
        let call = async {
            let instance = plugin.pre.instantiate_async(&mut store).await?;
            instance
                .call_invoke(&mut store, &request.operation, &request.input)
                .await
        };
        let outcome = match tokio::time::timeout(limits.wall_time, call).await {
            Err(_) => Outcome::Timeout {
                limit: limits.wall_time,
            },
            Ok(Err(trap)) => verdict::trap_outcome(store.data(), &trap),
            Ok(Ok(Err(e))) => verdict::plugin_error(e, &store.data().grants),
            Ok(Ok(Ok(output))) => {
                match verdict::check_output(plugin, &request.operation, output, store.data()) {
                    Checked::Done(outcome) => outcome,
                    Checked::Validate {
                        output,
                        value,
                        validator,
                    } => {
                        let grants = &store.data().grants;
                        validate_output(
                            &self.checkers,
                            validator,
                            &request.operation,
                            output,
                            value,
                            limits.wall_time.saturating_sub(started.elapsed()),
                            limits.wall_time,
                            |m| grants.redact(m),
                        )
                        .await
                    }
                }
            }
        };
        let state = store.data_mut();
        state.close_refused_calls();
        AttemptReport {
            outcome,
            logs: std::mem::take(&mut state.logs.lines),
            logs_dropped: state.logs.dropped,
            http_calls: state.http_calls,
            calls: std::mem::take(&mut state.calls),
            duration: started.elapsed(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum WasmKind {
    CoreModule,
    Component,
}

/// Core modules and components share the magic number and differ in the version/layer field.
fn wasmparser_kind(bytes: &[u8]) -> Option<WasmKind> {
    match bytes.get(0..8)? {
        [0, b'a', b's', b'm', 1, 0, 0, 0] => Some(WasmKind::CoreModule),
        [0, b'a', b's', b'm', _, _, 1, 0] => Some(WasmKind::Component),
        _ => None,
    }
}
