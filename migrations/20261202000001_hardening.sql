-- Claims given back on purpose (a wait going back to sleep, a stopping worker) do not count
-- towards the engine's max_claims: only claims since the last release do.
alter table work_items add column released_claims int not null default 0;
