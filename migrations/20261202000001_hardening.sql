-- Claims given back on purpose (a wait going back to sleep, a stopping worker) do not count
-- towards the engine's max_claims: only claims since the last release do.
alter table work_items add column released_claims int not null default 0;

-- A run's outputs are read from its history's step-completed events instead of a column that
-- every step commit rewrote whole (O(steps²) bytes written per run). This index finds them.
create index history_step_outputs on history (run_id, seq)
    where event->>'type' = 'step-completed';
alter table runs drop column outputs;

-- A signal may carry its sender's id (a webhook delivery id): a repeat is taken once.
alter table signals add column dedup_id text;
create unique index signals_dedup on signals (run_id, dedup_id) where dedup_id is not null;
