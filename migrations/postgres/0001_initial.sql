-- Studio's durable state, PostgreSQL dialect. Keep in step with ../sqlite/0001_initial.sql: both
-- dialects must describe the same tables, columns and constraints.

CREATE TABLE sandboxes (
    id               TEXT             NOT NULL PRIMARY KEY,  -- sb_<hex>
    kind             TEXT             NOT NULL,              -- the create request's `type`
    repository       TEXT             NOT NULL,
    base_branch      TEXT             NOT NULL,
    branch           TEXT             NOT NULL UNIQUE,       -- design/studio-<hex>
    work_dir         TEXT             NOT NULL,
    status           TEXT             NOT NULL CHECK (status IN
                        ('starting', 'running', 'restarting', 'stopped', 'failed', 'expired', 'finalized')),

    -- configuration chosen at creation (studio_core::SandboxConfig)
    auto_commit      BOOLEAN          NOT NULL,
    commit_pattern   TEXT             NOT NULL,
    timeout_secs     DOUBLE PRECISION NOT NULL CHECK (timeout_secs >= 0),
    max_restarts     INTEGER          NOT NULL CHECK (max_restarts >= 0),
    components       JSONB            NOT NULL CHECK (jsonb_typeof(components) = 'array'),
    github_repo      TEXT,
    setup            JSONB            NOT NULL CHECK (jsonb_typeof(setup) = 'array'),
    wrapper          TEXT,

    -- runtime state
    renderer_port    INTEGER          CHECK (renderer_port BETWEEN 1 AND 65535),
    adoption         JSONB,           -- the supervisor's opaque re-adoption record
    restarts         INTEGER          NOT NULL DEFAULT 0 CHECK (restarts >= 0),
    created_at       TIMESTAMPTZ      NOT NULL,
    last_activity_at TIMESTAMPTZ      NOT NULL,
    finished_at      TIMESTAMPTZ,
    pr_url           TEXT,
    pr_number        BIGINT,

    -- The seq the next event of this sandbox gets. Incremented in the same transaction as the
    -- event insert (the row lock serialises appenders), so sequences are gap-free per sandbox and
    -- survive restarts and pruning. A SERIAL would leave gaps on rollback.
    next_event_seq   BIGINT           NOT NULL DEFAULT 1 CHECK (next_event_seq >= 1)
);

CREATE INDEX sandboxes_by_status ON sandboxes (status);

CREATE TABLE commits (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order
    sandbox_id   TEXT        NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    hash         TEXT        NOT NULL,
    message      TEXT        NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL,
    rolled_back  BOOLEAN     NOT NULL DEFAULT FALSE,
    UNIQUE (sandbox_id, hash)
);

CREATE TABLE events (
    sandbox_id TEXT        NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    seq        BIGINT      NOT NULL CHECK (seq >= 1),
    kind       TEXT        NOT NULL,
    payload    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sandbox_id, seq)
);

CREATE INDEX events_by_age ON events (created_at);

-- The port registry. The primary key on `port` is the guarantee that no two sandboxes (of this or
-- any other Studio server sharing the database) ever hold the same port.
CREATE TABLE port_leases (
    port       INTEGER     NOT NULL PRIMARY KEY CHECK (port BETWEEN 1 AND 65535),
    sandbox_id TEXT        NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    leased_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX port_leases_by_sandbox ON port_leases (sandbox_id);
