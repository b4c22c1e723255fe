-- Studio's durable state, SQLite dialect. Keep in step with ../postgres/0001_initial.sql: both
-- dialects must describe the same tables, columns and constraints.
--
-- STRICT tables make SQLite enforce the declared column types like PostgreSQL does. Timestamps are
-- TEXT in one fixed-width UTC form (`2026-11-22T14:30:59.123456Z`, written by the store), so
-- comparing them as strings compares them as instants. Booleans are INTEGER 0/1; JSON is TEXT.

CREATE TABLE sandboxes (
    id               TEXT    NOT NULL PRIMARY KEY,          -- sb_<hex>
    kind             TEXT    NOT NULL,                      -- the create request's `type`
    repository       TEXT    NOT NULL,
    base_branch      TEXT    NOT NULL,
    branch           TEXT    NOT NULL UNIQUE,               -- design/studio-<hex>
    work_dir         TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN
                        ('starting', 'running', 'restarting', 'stopped', 'failed', 'expired', 'finalized')),

    -- configuration chosen at creation (studio_core::SandboxConfig)
    auto_commit      INTEGER NOT NULL CHECK (auto_commit IN (0, 1)),
    commit_pattern   TEXT    NOT NULL,
    timeout_secs     REAL    NOT NULL CHECK (timeout_secs >= 0),
    max_restarts     INTEGER NOT NULL CHECK (max_restarts >= 0),
    components       TEXT    NOT NULL CHECK (json_type(components) = 'array'),
    github_repo      TEXT,
    setup            TEXT    NOT NULL CHECK (json_type(setup) = 'array'),
    wrapper          TEXT,

    -- runtime state
    renderer_port    INTEGER CHECK (renderer_port BETWEEN 1 AND 65535),
    adoption         TEXT    CHECK (adoption IS NULL OR json_valid(adoption)), -- supervisor's opaque record
    restarts         INTEGER NOT NULL DEFAULT 0 CHECK (restarts >= 0),
    created_at       TEXT    NOT NULL,
    last_activity_at TEXT    NOT NULL,
    finished_at      TEXT,
    pr_url           TEXT,
    pr_number        INTEGER,

    -- The seq the next event of this sandbox gets. Incremented in the same transaction as the
    -- event insert, so sequences are gap-free per sandbox and survive restarts and pruning.
    next_event_seq   INTEGER NOT NULL DEFAULT 1 CHECK (next_event_seq >= 1)
) STRICT;

CREATE INDEX sandboxes_by_status ON sandboxes (status);

CREATE TABLE commits (
    id           INTEGER NOT NULL PRIMARY KEY,  -- insertion order: commits list oldest first
    sandbox_id   TEXT    NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    hash         TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    committed_at TEXT    NOT NULL,
    rolled_back  INTEGER NOT NULL DEFAULT 0 CHECK (rolled_back IN (0, 1)),
    UNIQUE (sandbox_id, hash)
) STRICT;

CREATE TABLE events (
    sandbox_id TEXT    NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL CHECK (json_valid(payload)),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (sandbox_id, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX events_by_age ON events (created_at);

-- The port registry. The primary key on `port` is the guarantee that no two sandboxes (of this or
-- any other Studio server sharing the database) ever hold the same port.
CREATE TABLE port_leases (
    port       INTEGER NOT NULL PRIMARY KEY CHECK (port BETWEEN 1 AND 65535),
    sandbox_id TEXT    NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    leased_at  TEXT    NOT NULL
) STRICT;

CREATE INDEX port_leases_by_sandbox ON port_leases (sandbox_id);
