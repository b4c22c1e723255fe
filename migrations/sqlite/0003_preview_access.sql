-- Preview access (issue 12), SQLite dialect. Keep in step with ../postgres/0003_preview_access.sql.
--
-- preview_epoch: carried by every preview cookie of the sandbox; stop, delete, finalize and expiry
-- increment it, which revokes every cookie issued before (persisted, so a restart revives none).
ALTER TABLE sandboxes ADD COLUMN preview_epoch INTEGER NOT NULL DEFAULT 0 CHECK (preview_epoch >= 0);

-- Scoped tokens for design tools: one sandbox each. Only the SHA-256 of the token is kept; the
-- token itself is shown once, in the answer that created it. Deleting the sandbox deletes them.
CREATE TABLE sandbox_tokens (
    id         TEXT NOT NULL PRIMARY KEY,                                      -- tok_<hex>
    sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,                                           -- 64 hex digits
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX sandbox_tokens_by_sandbox ON sandbox_tokens (sandbox_id);

-- Nonces of the one-time preview links already redeemed, kept until the link would have expired
-- anyway: the primary key is what makes a link work once, across restarts and servers.
CREATE TABLE preview_link_nonces (
    nonce      TEXT NOT NULL PRIMARY KEY,
    sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX preview_link_nonces_by_expiry ON preview_link_nonces (expires_at);
