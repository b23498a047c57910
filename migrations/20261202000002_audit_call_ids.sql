-- Each outbound call has a stable id. The host writes the call's record before the request leaves
-- (outcome in-flight) and the attempt's commit overwrites it with the outcome: one row per call,
-- kept even when the attempt never commits (its host was killed, its commit failed).
alter table outbound_calls add column call_id uuid not null default gen_random_uuid();
-- Rows from now on carry the host's id; the default only filled the rows written before.
alter table outbound_calls alter column call_id drop default;
create unique index outbound_calls_by_call on outbound_calls (call_id);
