-- The step commit is the engine's hottest statement; these make it cheaper.

-- History and work items are written only in the statement or transaction that locks and updates
-- their run, so these foreign keys checked nothing the engine does not already guarantee, at the
-- cost of one lookup of the run per inserted row (four per step). Signals keep theirs: they come
-- from outside.
alter table history drop constraint history_run_id_fkey;
alter table work_items drop constraint work_items_run_id_fkey;

-- A run's row changes at every step. With no index on a column that changes at every step and
-- room left on each page, those updates are heap-only (HOT): no index is touched. Listing runs
-- by status orders by creation instead of last change.
drop index runs_by_tenant_status;
create index runs_by_tenant_status on runs (tenant_id, status, created_at);
alter table runs set (fillfactor = 70);
