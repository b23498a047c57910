-- The durable engine's state. Every row carries tenant_id; times come from the engine's clock,
-- never from now(), so that tests can drive time.

create table tenants (
    id text primary key,
    name text not null,
    created_at timestamptz not null
);

-- Content-addressed plugin components, published to a tenant.
create table plugins (
    tenant_id text not null references tenants (id),
    sha256 text not null,
    name text not null,
    version text not null,
    manifest jsonb not null,
    bytes bytea not null,
    created_at timestamptz not null,
    primary key (tenant_id, sha256)
);

-- Which version of each plugin name a tenant runs. Runs copy the pins when they start.
create table plugin_pins (
    tenant_id text not null,
    name text not null,
    sha256 text not null,
    pinned_at timestamptz not null,
    primary key (tenant_id, name),
    foreign key (tenant_id, sha256) references plugins (tenant_id, sha256)
);

-- A tenant's settings for a plugin name: config values, outbound allow-list, limit overrides.
create table plugin_settings (
    tenant_id text not null references tenants (id),
    plugin text not null,
    config jsonb not null default '{}',
    egress jsonb not null default '{"rules": []}',
    limits jsonb not null default '{}',
    primary key (tenant_id, plugin)
);

create table secrets (
    tenant_id text not null references tenants (id),
    name text not null,
    value text not null,
    updated_at timestamptz not null,
    primary key (tenant_id, name)
);

-- Immutable definition versions; the same source text maps to the same version.
create table definitions (
    tenant_id text not null references tenants (id),
    name text not null,
    version integer not null,
    source text not null,
    source_sha256 text not null,
    compiled jsonb not null,
    created_at timestamptz not null,
    primary key (tenant_id, name, version),
    unique (tenant_id, name, source_sha256)
);

create table runs (
    id uuid primary key,
    tenant_id text not null references tenants (id),
    definition text not null,
    definition_version integer not null,
    business_key text not null,
    status text not null,
    input jsonb not null,
    -- plugin name -> sha256, fixed when the run starts (or by an operator's retry)
    plugins jsonb not null,
    -- step id -> output of every completed step
    outputs jsonb not null default '{}',
    -- ids of completed call steps in order: what compensation walks back
    completed jsonb not null default '[]',
    -- ids of steps already compensated
    compensated jsonb not null default '[]',
    -- why the run failed or parked: {step, class, message, phase}
    reason jsonb,
    next_seq bigint not null default 1,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (tenant_id, definition, business_key),
    foreign key (tenant_id, definition, definition_version)
        references definitions (tenant_id, name, version)
);
create index runs_by_tenant_status on runs (tenant_id, status, updated_at);

-- Append-only: every transition of every run.
create table history (
    run_id uuid not null references runs (id),
    seq bigint not null,
    tenant_id text not null,
    at timestamptz not null,
    event jsonb not null,
    primary key (run_id, seq)
);

-- Claimable work. available_at is when the item is due, or, while it is leased, when the lease
-- runs out: one index serves both "due" and "lease expired".
create table work_items (
    id bigserial primary key,
    tenant_id text not null,
    run_id uuid not null references runs (id),
    kind text not null,
    step_id text not null,
    attempt integer not null,
    available_at timestamptz not null,
    -- for wait items: when the wait gives up (null: never)
    deadline timestamptz,
    lease_owner text,
    -- bumped on every claim: a fencing token, so a worker whose lease expired cannot commit
    claims integer not null default 0,
    created_at timestamptz not null
);
create index work_items_available on work_items (available_at);
create index work_items_by_run on work_items (run_id);

-- Signals sent to runs; consumed by the wait step they are meant for.
create table signals (
    id bigserial primary key,
    tenant_id text not null,
    run_id uuid not null references runs (id),
    name text not null,
    payload jsonb not null,
    received_at timestamptz not null,
    consumed_by text
);
create index signals_pending on signals (run_id, name) where consumed_by is null;

-- Cross-references, stored in both directions: (ref, other system) -> linked ref.
create table xref (
    tenant_id text not null references tenants (id),
    ref text not null,
    system text not null,
    target text not null,
    synced_at timestamptz not null,
    primary key (tenant_id, ref, system)
);

-- Every outbound call a plugin asked for, sent or refused. No secret values.
create table outbound_calls (
    id bigserial primary key,
    tenant_id text not null,
    run_id text not null,
    step_id text not null,
    attempt integer not null,
    plugin text not null,
    method text not null,
    url text not null,
    status integer,
    outcome jsonb not null,
    request_bytes bigint not null,
    response_bytes bigint not null,
    duration_ms bigint not null,
    at timestamptz not null
);
create index outbound_calls_by_run on outbound_calls (tenant_id, run_id);
